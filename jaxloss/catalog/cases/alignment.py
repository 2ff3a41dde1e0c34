"""Cases of the alignment losses: example inputs, edge cases, bad inputs and contract flags.

Preference losses (``jaxloss.alignment.preference``) take per-sequence log-probabilities of
chosen and rejected completions; policy-gradient losses (``jaxloss.alignment.policy``)
per-token ``(B, T)`` log-probabilities with a boolean completion mask.
"""

import jax
import jax.numpy as jnp

from jaxloss.alignment.preference import DPO_LOSS_TYPES
from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case

B, T = 8, 6

# --------------------------------------------------------------------------
# Preference losses.
# --------------------------------------------------------------------------


def _summed_logps(key, n=4, shape=(B,)):
  """``n`` arrays of summed completion log-probabilities in [-40, -5]."""
  return tuple(ex.uniform(k, shape, -40.0, -5.0) for k in jax.random.split(key, n))


def _mean_logps(key, shape=(B,)):
  """Per-token mean log-probabilities of a chosen and a rejected completion, in [-3, -0.05]."""
  k1, k2 = jax.random.split(key)
  return ex.uniform(k1, shape, -3.0, -0.05), ex.uniform(k2, shape, -3.0, -0.05)


def _extreme_pairs():
  """Pairs at the edges: identical chosen/rejected, log-ratios of +-1e4, a certain chosen."""
  pc = jnp.array([-5.0, 0.0, -1e4, 0.0, -5.0, -1e4])
  pr = jnp.array([-5.0, -1e4, 0.0, -30.0, -5.0, -1e4])
  rc = jnp.array([-5.0, -1e4, 0.0, -3.0, -5.0, 0.0])
  rr = jnp.array([-5.0, 0.0, -1e4, -3.0, -5.0, 0.0])
  return pc, pr, rc, rr


def _dpo_example(key):
  return _summed_logps(key), {}


def _dpo_edges(key):
  edges = []
  for lt in DPO_LOSS_TYPES:
    kw = {"loss_type": lt}
    if lt in ("robust", "exo_pair"):
      kw["label_smoothing"] = 0.1
    edges.append((_extreme_pairs(), kw))
  lengths = jnp.array([0.0, 1.0, 3.0, 7.0, 100.0, 2.0])   # 0 is clamped to 1, as TRL
  edges += [(_extreme_pairs(), {"loss_type": "ipo", "chosen_lengths": lengths,
                                "rejected_lengths": lengths[::-1]}),
            (_extreme_pairs(), {"loss_type": "exo_pair"}),     # label_smoothing 0
            (_extreme_pairs(), {"label_smoothing": 0.3}),
            (_summed_logps(key), {"beta": 1e3})]
  return edges


case("dpo_loss", _dpo_example, edge_cases=_dpo_edges, grad_argnums=(0, 1),
     components_total=lambda parts, kw: parts["preference"])


def _kto_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  pc, rc = _summed_logps(k1, 2, (5,))
  pr, rr = _summed_logps(k2, 2, (3,))
  pk, rk = _summed_logps(k3, 2, (B,))
  return (pc, pr, rc, rr), {"policy_kl_logps": pk, "reference_kl_logps": rk,
                            "desirable_weight": 1.0, "undesirable_weight": 1.33}


def _kto_edges(key):
  pc, pr, rc, rr = _extreme_pairs()
  (_, kw) = _kto_example(key)
  empty = jnp.zeros((0,))
  return [((pc, pr, rc, rr), kw),
          ((pc, pr, rc, rr), {"policy_kl_logps": pc, "reference_kl_logps": rc}),  # kl 1e4
          ((pc, pr, rc, rr), {"loss_type": "apo_zero_unpaired"}),
          ((pc, empty, rc, empty), kw),                 # no undesirable completions
          ((empty, pr, empty, rr), {})]                 # no desirable ones


def _kto_bad(key):
  (pc, pr, rc, rr), kw = _kto_example(key)
  return (pc, pr, rc[:-1], rr), kw


case("kto_loss", _kto_example, edge_cases=_kto_edges, bad_input=_kto_bad, grad_argnums=(0, 1),
     per_example=False,
     components_total=lambda parts, kw: parts["desirable"] + parts["undesirable"])


def _orpo_example(key):
  return _mean_logps(key), {}


def _reference_free_edges(key):
  c, r = _mean_logps(key)
  return [((jnp.zeros_like(c), r), {}),                        # a certain chosen completion
          ((c, jnp.zeros_like(r)), {}),
          ((c, c), {}),                                          # identical chosen/rejected
          ((jnp.full_like(c, -1e4), r), {}),
          ((c, jnp.full_like(r, -1e4)), {}),
          ((c * 100, r * 100), {"chosen_lengths": jnp.full(c.shape, 100.0),
                                "rejected_lengths": jnp.zeros(r.shape)})]


case("orpo_loss", _orpo_example, edge_cases=_reference_free_edges, grad_argnums=(0, 1),
     components_total=lambda parts, kw: parts["nll"] + parts["odds_ratio"])


def _simpo_edges(key):
  return [*_reference_free_edges(key),
          ((jnp.full((B,), -1e4), jnp.zeros((B,))), {"loss_type": "hinge"}),
          ((jnp.zeros((B,)), jnp.full((B,), -1e4)), {"label_smoothing": 0.2})]


case("simpo_loss", _orpo_example, edge_cases=_simpo_edges, grad_argnums=(0, 1),
     components_total=lambda parts, kw: parts["preference"])


def _cpo_example(key):
  return _summed_logps(key, 2), {"nll_weight": 0.5}


def _cpo_edges(key):
  c, r = _summed_logps(key, 2)
  pc, pr, _, _ = _extreme_pairs()
  return [*_reference_free_edges(key),
          ((pc, pr), {}), ((pc, pr), {"loss_type": "hinge"}), ((pc, pr), {"loss_type": "ipo"}),
          ((c, r), {"loss_type": "ipo", "chosen_lengths": jnp.full(c.shape, 10.0),
                    "rejected_lengths": jnp.full(r.shape, 12.0)})]


case("cpo_loss", _cpo_example, edge_cases=_cpo_edges, grad_argnums=(0, 1),
     components_total=lambda parts, kw: (parts["preference"]
                                         + kw.get("nll_weight", 1.0) * parts["nll"]))

# --------------------------------------------------------------------------
# Policy-gradient losses.
# --------------------------------------------------------------------------


def _token_logps(key, shape=(B, T)):
  """Per-token log-probabilities of the sampled tokens, in [log 0.02, 0]."""
  return jnp.log(ex.uniform(key, shape, 0.02, 1.0))


def _completion_mask(key, shape=(B, T)):
  """Right-padded completion masks of lengths 1..T."""
  lengths = jax.random.randint(key, (shape[0], 1), 1, shape[1] + 1)
  return jnp.arange(shape[1])[None, :] < lengths


def _policy_inputs(key):
  k1, k2, k3, k4, k5 = jax.random.split(key, 5)
  logps = _token_logps(k1)
  old = logps + ex.normal(k2, logps.shape, 0.3)
  ref = logps + ex.normal(k3, logps.shape, 0.3)
  adv = ex.normal(k4, (B,))
  return logps, old, ref, adv, _completion_mask(k5)


def _policy_example(key):
  logps, old, ref, adv, mask = _policy_inputs(key)
  return (logps, old, adv, mask), {"ref_logps": ref, "beta": 0.04}


def _policy_edges(key):
  logps, old, ref, adv, mask = _policy_inputs(key)
  big = jnp.where(jnp.arange(T) % 2 == 0, 1e4, -1e4) * jnp.ones((B, 1))
  kw = {"ref_logps": ref, "beta": 0.04}
  edges = [((logps, old, adv, jnp.zeros_like(mask)), kw),                  # all masked
           ((logps, old, jnp.zeros_like(adv), mask), kw),                  # advantages 0
           ((logps, old - big, adv, mask), {"ref_logps": ref - big, "beta": 0.04}),
           ((logps, old + big, adv, mask), {"ref_logps": ref + big, "beta": 0.04}),
           ((logps, old - big, adv, mask), {"importance_level": "sequence", "delta": 2.0}),
           ((logps, old + big, -adv, mask), {"importance_level": "sequence"}),
           ((logps, logps, adv, mask), {"ref_logps": logps, "beta": 0.1})]  # on-policy
  for lt in ("grpo", "dr_grpo", "bnpo"):
    edges.append(((logps, old - big, adv, mask), {**kw, "loss_type": lt}))
  edges.append(((logps, old, jnp.broadcast_to(adv[:, None], (B, T)), mask),
                {"loss_type": "grpo", "max_completion_length": 16}))
  return edges


case("clipped_policy_loss", _policy_example, edge_cases=_policy_edges, per_example=False,
     components_total=lambda parts, kw: parts["policy"] + kw.get("beta", 0.0) * parts["kl"])


def _kl_example(key):
  logps, _, ref, _, _ = _policy_inputs(key)
  return (logps, ref), {}


def _kl_edges(key):
  logps, _, ref, _, mask = _policy_inputs(key)
  big = jnp.where(jnp.arange(T) % 2 == 0, 1e4, -1e4) * jnp.ones((B, 1))
  return [((logps, logps + big), {"estimator": e, "where": mask}) for e in ("k1", "k2", "k3")] + [
      ((logps, logps), {}), ((logps, ref), {"where": jnp.zeros_like(mask)})]


case("kl_penalty", _kl_example, edge_cases=_kl_edges)


def _value_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  v = ex.normal(k1, (B, T))
  return (v, v + ex.normal(k2, (B, T), 0.3), v + ex.normal(k3, (B, T))), {}


def _value_edges(key):
  (v, old, ret), _ = _value_example(key)
  return [((v, v, v), {}), ((v, old, ret + 1e4), {}), ((v, old - 1e4, ret), {"clip": 0.0}),
          ((v, old, ret), {"clip": None})]


case("value_loss", _value_example, edge_cases=_value_edges)
