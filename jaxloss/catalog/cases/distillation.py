"""Cases of the distillation and router losses: example inputs, edge cases, bad inputs and flags."""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case

# --------------------------------------------------------------------------
# Student/teacher logit losses (jaxloss/distillation/logits.py).
# --------------------------------------------------------------------------


def _pair_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (4, 3, 7), 2.0), ex.normal(k2, (4, 3, 7), 2.0)), {}


def _pair_edges(key, **kw):
  (s, t), _ = _pair_example(key)
  onehot = jax.nn.one_hot(jnp.argmax(t, -1), 7)
  return [
      ((s, s), kw),                                        # teacher == student
      ((onehot * 1e4, onehot * 1e4), kw),                  # saturated, agreeing
      ((onehot * 1e4, -onehot * 1e4), kw),                 # saturated, disagreeing
      ((s * 1e4, t * 1e4), kw),                            # logits ~ +-1e4
      ((s, jnp.where(onehot > 0, t, -jnp.inf)), kw),       # teacher -inf outside its argmax
      ((jnp.zeros_like(s), t), kw),                        # constant student rows
      ((s, t), {**kw, "temperature": 1e-3}),
      ((s, t), {**kw, "temperature": 1e3}),
  ]


def _jsd_edges(key):
  (s, t), _ = _pair_example(key)
  out = _pair_edges(key)
  for beta in (0.0, 1.0, 1e-6, 1.0 - 1e-6):
    out += [((s, t), {"beta": beta}), ((s, s), {"beta": beta}),
            ((s * 1e4, t * 1e4), {"beta": beta})]
  return out


def _dkd_example(key):
  (s, t), _ = _pair_example(key)
  labels = jax.random.randint(jax.random.fold_in(key, 1), (4, 3), 0, 7)
  return (s, t, labels), {}


def _dkd_edges(key):
  (s, t, y), _ = _dkd_example(key)
  onehot = jax.nn.one_hot(y, 7)
  return [
      ((s, s, y), {}),                                     # teacher == student
      ((onehot * 1e4, onehot * 1e4, y), {}),               # p_y rounds to 1 on both sides
      ((onehot * 1e4, -onehot * 1e4, y), {}),
      ((s * 1e4, t * 1e4, y), {}),
      (((1 - onehot) * 1e4, onehot * 1e4, y), {}),
      ((s, t, y), {"temperature": 1e-3}),
      ((s, t, y), {"temperature": 1e3}),
      ((s[..., :1], t[..., :1], jnp.zeros_like(y)), {}),   # a single class: no non-target part
      ((s[..., :2], t[..., :2], y % 2), {}),               # two classes: a one-class NCKD
  ]


case("distillation_loss", _pair_example, edge_cases=_pair_edges, grad_argnums=(0, 1))
case("generalized_jsd_loss", _pair_example, edge_cases=_jsd_edges, grad_argnums=(0, 1))
case("dkd_loss", _dkd_example, edge_cases=_dkd_edges, grad_argnums=(0, 1),
     components_total=lambda parts, kw: (kw.get("alpha", 1.0) * parts["tckd"]
                                         + kw.get("beta", 8.0) * parts["nckd"]))
case("logit_standardized_kd", _pair_example,
     # Not the -inf teacher of _pair_edges: a z-score of -inf logits is undefined.
     edge_cases=lambda key: [e for k, e in enumerate(_pair_edges(key)) if k != 4] + [
         ((jnp.ones((4, 3, 7)), jnp.ones((4, 3, 7))), {}),             # zero spread
         ((jnp.ones((4, 3, 7)), jnp.ones((4, 3, 7))), {"eps": 0.0}),
         ((jnp.ones((4, 3, 1)), jnp.ones((4, 3, 1))), {})],            # a single class
     grad_argnums=(0, 1))

# --------------------------------------------------------------------------
# Router auxiliaries (jaxloss/distillation/moe.py).
# --------------------------------------------------------------------------


def _router_example(key):
  return (ex.normal(key, (4, 6, 8), 2.0),), {}


def _router_edges(key):
  (x,), _ = _router_example(key)
  return [((x * 1e4,), {}), ((jnp.zeros((4, 6, 1)),), {}),          # +-1e4; one expert
          ((jnp.where(x >= jnp.max(x, -1, keepdims=True) - 1.0, x, -jnp.inf),), {}),  # excluded
          ((x,), {"where": jnp.zeros((4, 6), bool)})]


def _lb_example(key):
  x = ex.normal(key, (4, 6, 8), 2.0)
  probs = jax.nn.softmax(x, axis=-1)
  return (probs, jax.lax.top_k(probs, 2)[1]), {"num_experts": 8}


def _lb_edges(key):
  (p, idx), kw = _lb_example(key)
  onehot = jax.nn.one_hot(idx[..., 0], 8)
  return [((onehot, idx[..., 0]), kw),                                 # 0/1 probabilities, top-1
          ((jnp.ones((4, 6, 1)), jnp.zeros((4, 6), jnp.int32)), {"num_experts": 1}),
          ((p, idx), {**kw, "where": jnp.zeros((4, 6), bool)}),        # every token masked
          ((p, idx), {**kw, "where": jnp.arange(6) < 3})]              # padding


case("router_z_loss", _router_example, edge_cases=_router_edges,
     bad_input=lambda key: ((jnp.float32(1.0),), {}))


def _lb_bad(key):
  # Not the default (the last axis of (B, S, K) indices shortened is valid top-(K-1) routing).
  (p, idx), kw = _lb_example(key)
  return (p, idx[:, :-1]), kw


case("load_balancing_loss", _lb_example, edge_cases=_lb_edges, bad_input=_lb_bad,
     per_example=False, where_shape=lambda args, kwargs: args[0].shape[:-1])  # token mask
