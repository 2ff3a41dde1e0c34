"""Tests for jaxloss.alignment: preference optimisation and policy-gradient losses.

References are independent float64 NumPy implementations written from the papers' equations
and from the formulas of TRL's trainers (DPOTrainer, KTOTrainer, ORPOTrainer, CPOTrainer,
GRPOTrainer, PPOTrainer, TRL 1.9.0), not from jaxloss: the clipped policy loss, in
particular, is re-derived with explicit loops over completions and tokens.
"""

import pathlib
import subprocess
import sys
import warnings

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import close, f32, f32s, host_devices_env, rng
from scipy.special import expit, softmax

import jaxloss
from jaxloss import LossInputError, LossTypeError
from jaxloss.alignment.preference import DPO_LOSS_TYPES


def logsig(x):
  return -np.logaddexp(0.0, -x)


def _pairs(seed, b=12, lo=-40.0, hi=-5.0):
  """Summed log-probabilities (pc, pr, rc, rr) as float32-representable float64 arrays."""
  x = rng(seed).uniform(lo, hi, (4, b)).astype(np.float32).astype(np.float64)
  return tuple(x)


# ------------------------------------------------------------------------ DPO references


def ref_dpo(pc, pr, rc, rr, *, beta=0.1, eps=0.0, loss_type="sigmoid", tau=0.05,
            nc=None, nr=None):
  """The per-pair losses of each TRL loss_type, from its paper's equation."""
  rho_w, rho_l = pc - rc, pr - rr          # log pi/pi_ref of the chosen / rejected completion
  h = rho_w - rho_l
  if loss_type == "sigmoid":               # DPO eq. 7; cDPO: expected loss under flip prob eps
    return (1 - eps) * -logsig(beta * h) + eps * -logsig(-beta * h)
  if loss_type == "hinge":                 # SLiC-HF calibration loss, margin 1/beta
    return np.maximum(0.0, 1 - beta * h)
  if loss_type in ("ipo", "sigmoid_norm"):
    nw = 1.0 if nc is None else np.maximum(nc, 1.0)
    nl = 1.0 if nr is None else np.maximum(nr, 1.0)
    hbar = rho_w / nw - rho_l / nl
    if loss_type == "ipo":                 # IPO eq. 17 with tau = beta, per-token log-ratios
      return (hbar - 1 / (2 * beta)) ** 2
    return -logsig(beta * hbar)
  if loss_type == "robust":                # rDPO: unbiased loss under flip probability eps
    loss_w, loss_l = -logsig(beta * h), -logsig(-beta * h)
    return ((1 - eps) * loss_w - eps * loss_l) / (1 - 2 * eps)
  if loss_type == "bco_pair":              # BCO: chosen as class 1, rejected as class 0
    return -logsig(beta * rho_w) - logsig(-beta * rho_l)
  if loss_type == "sppo_hard":             # SPPO eq. 4.7, P(win) = 1, P(lose) = 0, eta = 1/beta
    eta = 1 / beta
    return (rho_w - eta * (1 - 0.5)) ** 2 + (rho_l - eta * (0 - 0.5)) ** 2
  if loss_type == "nca_pair":              # NCA, K = 2
    rw, rl = beta * rho_w, beta * rho_l
    return -logsig(rw) - 0.5 * (logsig(-rw) + logsig(-rl))
  if loss_type == "apo_zero":              # APO eq. 7
    return 1 - expit(beta * rho_w) + expit(beta * rho_l)
  if loss_type == "apo_down":              # APO eq. 8
    return expit(beta * rho_w) + 1 - expit(beta * (rho_w - rho_l))
  if loss_type == "exo_pair":              # EXO eq. 16: KL(p_f || p_rh) over {chosen, rejected}
    p_f = softmax(beta * np.stack([rho_w, rho_l]), axis=0)
    p_rh = np.array([1 - eps, eps])[:, None]
    return np.sum(p_f * (np.log(p_f) - np.log(p_rh)), axis=0)
  if loss_type == "discopop":              # DiscoPOP / LRML eq. 5
    z = beta * h
    mix = expit(z / tau)
    return (1 - mix) * -logsig(z) + mix * np.exp(-z)
  raise ValueError(loss_type)


def _fd_grad(f, x, h=1e-6):
  g = np.zeros_like(x)
  for i in range(x.size):
    e = np.zeros_like(x)
    e.flat[i] = h
    g.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
  return g


@pytest.mark.parametrize("loss_type", DPO_LOSS_TYPES)
def test_dpo_loss_types_match_their_papers(loss_type):
  pc, pr, rc, rr = _pairs(0)
  kw = {"beta": 0.1}
  if loss_type in ("robust", "exo_pair"):
    kw["label_smoothing"] = 0.2
  lengths = {}
  if loss_type in ("ipo", "sigmoid_norm"):
    n = rng(1).integers(0, 30, (2, pc.size)).astype(np.float64)   # 0 is clamped to 1
    lengths = {"chosen_lengths": f32(n[0]), "rejected_lengths": f32(n[1])}
  out = jaxloss.dpo_loss(*f32s(pc, pr, rc, rr), loss_type=loss_type, reduction="none",
                         **kw, **lengths)
  ref = ref_dpo(pc, pr, rc, rr, loss_type=loss_type, beta=kw["beta"],
                eps=kw.get("label_smoothing", 0.0),
                nc=n[0] if lengths else None, nr=n[1] if lengths else None)
  close(out, ref, rtol=1e-5, atol=1e-5)
  close(jaxloss.dpo_loss(*f32s(pc, pr, rc, rr), loss_type=loss_type, **kw, **lengths),
        np.mean(ref), rtol=1e-5, atol=1e-5)
  # Gradients w.r.t. the policy log-probabilities against finite differences of the
  # float64 reference; the reference inputs get none.
  sel = slice(0, 4)
  args = f32s(pc[sel], pr[sel], rc[sel], rr[sel])
  ln = {k: v[sel] for k, v in lengths.items()}
  g = jax.grad(lambda a, b, c, d: jaxloss.dpo_loss(a, b, c, d, loss_type=loss_type, **kw, **ln),
               argnums=(0, 1, 2, 3))(*args)
  nn = {"nc": n[0][sel], "nr": n[1][sel]} if lengths else {}
  eps = kw.get("label_smoothing", 0.0)
  fw = lambda x: np.mean(ref_dpo(x, pr[sel], rc[sel], rr[sel], loss_type=loss_type,  # noqa: E731
                                 beta=0.1, eps=eps, **nn))
  fl = lambda x: np.mean(ref_dpo(pc[sel], x, rc[sel], rr[sel], loss_type=loss_type,  # noqa: E731
                                 beta=0.1, eps=eps, **nn))
  close(g[0], _fd_grad(fw, pc[sel]), rtol=1e-4, atol=1e-6)
  close(g[1], _fd_grad(fl, pr[sel]), rtol=1e-4, atol=1e-6)
  assert not np.any(np.asarray(g[2])) and not np.any(np.asarray(g[3]))


def test_dpo_sigmoid_is_dpo_and_label_smoothing_is_cdpo():
  pc, pr, rc, rr = _pairs(2)
  h = (pc - rc) - (pr - rr)
  close(jaxloss.dpo_loss(*f32s(pc, pr, rc, rr), beta=0.5, reduction="none"),
        np.log1p(np.exp(-0.5 * h)), rtol=1e-5, atol=1e-6)
  # cDPO: the expected DPO loss when each label is flipped with probability eps.
  eps = 0.25
  exp_loss = (1 - eps) * np.log1p(np.exp(-0.5 * h)) + eps * np.log1p(np.exp(0.5 * h))
  close(jaxloss.dpo_loss(*f32s(pc, pr, rc, rr), beta=0.5, label_smoothing=eps),
        np.mean(exp_loss), rtol=1e-5)


def test_dpo_identical_chosen_and_rejected():
  x = f32([-7.0, -3.0, -20.0])
  out, g = jax.value_and_grad(lambda a: jaxloss.dpo_loss(a, x, x, x, beta=0.2))(x)
  close(out, np.log(2.0))
  close(g, np.full(3, -0.2 * 0.5 / 3))   # d/dpc of -log sigmoid(beta * h) at h = 0, / B


def test_dpo_components_are_trls_metrics():
  pc, pr, rc, rr = _pairs(3)
  beta = 0.3
  loss, parts = jaxloss.dpo_loss(*f32s(pc, pr, rc, rr), beta=beta, return_components=True)
  cr, rj = beta * (pc - rc), beta * (pr - rr)
  close(parts["chosen_rewards"], np.mean(cr), rtol=1e-5)
  close(parts["rejected_rewards"], np.mean(rj), rtol=1e-5)
  close(parts["reward_accuracy"], np.mean(cr > rj))
  close(parts["reward_margin"], np.mean(cr - rj), rtol=1e-5)
  close(parts["preference"], float(loss))
  none, parts_none = jaxloss.dpo_loss(*f32s(pc, pr, rc, rr), beta=beta, reduction="none",
                                      return_components=True)
  chex.assert_shape([none, *parts_none.values()], [(pc.size,)] * 6)
  # value_and_grad with has_aux: the metrics carry no gradient.
  g = jax.grad(lambda a: jaxloss.dpo_loss(a, *f32s(pr, rc, rr), return_components=True)[1][
      "reward_margin"])(f32(pc))
  assert not np.any(np.asarray(g))


def test_dpo_where_weights_and_lengths():
  pc, pr, rc, rr = _pairs(4, b=6)
  where = np.array([True, False, True, True, False, True])
  w = rng(5).uniform(0.5, 2, 6)
  n = rng(6).integers(1, 9, (2, 6)).astype(np.float64)
  bad = [np.where(where, a, np.nan) for a in (pc, pr, rc, rr)]
  for lt in ("ipo", "sigmoid_norm", "sigmoid"):
    ref = ref_dpo(pc, pr, rc, rr, loss_type=lt, nc=n[0], nr=n[1])
    kw = dict(loss_type=lt, chosen_lengths=f32(n[0]), rejected_lengths=f32(n[1]),
              weights=f32(w), where=jnp.asarray(where))
    f = lambda *a, kw=kw: jaxloss.dpo_loss(*a, **kw)  # noqa: E731
    close(f(*f32s(*bad)), np.sum((w * ref)[where]) / where.sum(), rtol=1e-5)
    v, g = jax.value_and_grad(f, argnums=(0, 1))(*f32s(*bad))
    chex.assert_tree_all_finite((v, g))
    assert not np.any(np.asarray(g[0])[~where])
  # Without lengths, "ipo" takes its inputs as per-token means already.
  close(jaxloss.dpo_loss(*f32s(pc, pr, rc, rr), loss_type="ipo", reduction="none"),
        ref_dpo(pc, pr, rc, rr, loss_type="ipo"), rtol=1e-5)


@pytest.mark.parametrize("loss_type", DPO_LOSS_TYPES)
def test_dpo_finite_at_extreme_log_ratios(loss_type):
  big = 1e4
  pc = f32([0.0, -big, -5.0, 0.0])
  pr = f32([-big, 0.0, -5.0, -big])
  rc = f32([-big, 0.0, -5.0, 0.0])
  rr = f32([0.0, -big, -5.0, -big])
  kw = {"label_smoothing": 1e-3} if loss_type in ("exo_pair", "robust") else {}
  for beta in (0.1, 10.0):
    v, g = jax.value_and_grad(
        lambda a, b, beta=beta: jaxloss.dpo_loss(a, b, rc, rr, loss_type=loss_type, beta=beta,
                                                 **kw),
        argnums=(0, 1))(pc, pr)
    chex.assert_tree_all_finite((v, g))


def test_dpo_exo_pair_without_smoothing_and_discopop_tail_stay_finite():
  pc, pr, rc, rr = f32s([-1e3, 0.0], [0.0, -1e3], [0.0, 0.0], [0.0, 0.0])
  for kw in ({"loss_type": "exo_pair"}, {"loss_type": "discopop"},
             {"loss_type": "discopop", "discopop_tau": 2.0}):
    v, g = jax.value_and_grad(lambda a, kw=kw: jaxloss.dpo_loss(a, pr, rc, rr, **kw))(pc)
    chex.assert_tree_all_finite((v, g))
  # DiscoPOP's exp(-z) * sigmoid(z / tau) is 0 * inf in the naive form at z << 0.
  z = np.array([-200.0, -20.0, 3.0])
  pcz = f32(z / 0.1)
  ref = ref_dpo(z / 0.1, np.zeros(3), np.zeros(3), np.zeros(3), loss_type="discopop")
  out = jaxloss.dpo_loss(pcz, *f32s(np.zeros(3), np.zeros(3), np.zeros(3)),
                         loss_type="discopop", reduction="none")
  close(out[1:], ref[1:], rtol=1e-5)
  assert np.isfinite(float(out[0]))


# ----------------------------------------------------------------------------------- KTO


def ref_kto(pc, pr, rc, rr, pk=None, rk=None, *, beta=0.1, wd=1.0, wu=1.0, loss_type="kto"):
  """KTO eq. 8 (TRL's sigmoid value function), reference point from mismatched pairs."""
  z0 = 0.0 if pk is None else max(0.0, np.mean(pk - rk))
  rw, rl = pc - rc, pr - rr
  if loss_type == "kto":
    lw, ll = 1 - expit(beta * (rw - z0)), 1 - expit(beta * (z0 - rl))
  else:
    lw, ll = 1 - expit(beta * rw), expit(beta * rl)
  return np.concatenate([wd * lw, wu * ll]), z0


def test_kto_matches_paper_and_trl():
  r = rng(7)
  pc, rc = r.uniform(-40, -5, (2, 5))
  pr, rr = r.uniform(-40, -5, (2, 3))
  pk, rk = r.uniform(-40, -5, (2, 8))
  pk = pk + 2.0          # a positive reference point
  for lt in ("kto", "apo_zero_unpaired"):
    ref, z0 = ref_kto(pc, pr, rc, rr, pk, rk, beta=0.2, wd=1.0, wu=1.5, loss_type=lt)
    kw = dict(policy_kl_logps=f32(pk), reference_kl_logps=f32(rk), beta=0.2,
              undesirable_weight=1.5, loss_type=lt)
    out = jaxloss.kto_loss(*f32s(pc, pr, rc, rr), reduction="none", **kw)
    close(out, ref, rtol=1e-5, atol=1e-6)
    loss, parts = jaxloss.kto_loss(*f32s(pc, pr, rc, rr), return_components=True, **kw)
    close(loss, np.mean(ref), rtol=1e-5)
    close(parts["desirable"] + parts["undesirable"], np.mean(ref), rtol=1e-5)
    close(parts["desirable"], np.sum(ref[:5]) / 8, rtol=1e-5)
    close(parts["kl"], z0, rtol=1e-5)
    close(parts["chosen_rewards"], np.mean(0.2 * (pc - rc)), rtol=1e-5)
    close(parts["rejected_rewards"], np.mean(0.2 * (pr - rr)), rtol=1e-5)
  # The reference point is clamped at 0, and without the KL arrays it is 0.
  ref0, _ = ref_kto(pc, pr, rc, rr)
  close(jaxloss.kto_loss(*f32s(pc, pr, rc, rr), reduction="none"), ref0, rtol=1e-5)
  close(jaxloss.kto_loss(*f32s(pc, pr, rc, rr), policy_kl_logps=f32(rk - 3),
                         reference_kl_logps=f32(rk), reduction="none"), ref0, rtol=1e-5)


def test_kto_gradients_and_masks():
  r = rng(8)
  pc, rc = r.uniform(-40, -5, (2, 4))
  pr, rr = r.uniform(-40, -5, (2, 3))
  pk, rk = r.uniform(-10, -5, (2, 6))
  kw = dict(policy_kl_logps=f32(pk), reference_kl_logps=f32(rk), beta=0.3)
  g = jax.grad(lambda a, b, k: jaxloss.kto_loss(a, b, *f32s(rc, rr), **{
      **kw, "policy_kl_logps": k}), argnums=(0, 1, 2))(*f32s(pc, pr, pk))
  fd = _fd_grad(lambda x: np.mean(ref_kto(x, pr, rc, rr, pk, rk, beta=0.3)[0]), pc)
  close(g[0], fd, rtol=1e-4, atol=1e-7)
  fd = _fd_grad(lambda x: np.mean(ref_kto(pc, x, rc, rr, pk, rk, beta=0.3)[0]), pr)
  close(g[1], fd, rtol=1e-4, atol=1e-7)
  assert not np.any(np.asarray(g[2]))      # the reference point has no gradient (TRL detaches)
  where = np.array([True, False, True, True, True, False, True])
  ref, _ = ref_kto(pc, pr, rc, rr, pk, rk, beta=0.3)
  bad_c, bad_r = np.where(where[:4], pc, np.nan), np.where(where[4:], pr, np.nan)
  out = jaxloss.kto_loss(*f32s(bad_c, bad_r, rc, rr), where=jnp.asarray(where), **kw)
  close(out, np.mean(ref[where]), rtol=1e-5)
  # Unpaired: no desirable (or no undesirable) completions at all.
  e = f32(np.zeros(0))
  close(jaxloss.kto_loss(e, *f32s(pr), e, *f32s(rr), **kw),
        np.mean(ref_kto(np.zeros(0), pr, np.zeros(0), rr, pk, rk, beta=0.3)[0]), rtol=1e-5)


# ------------------------------------------------------------------- ORPO, SimPO, CPO


def test_orpo_matches_the_odds_ratio_definition():
  r = rng(9)
  c, l = r.uniform(-3, -0.05, (2, 10))   # noqa: E741 - chosen / losing
  n = r.integers(1, 20, (2, 10)).astype(np.float64)
  beta = 0.25

  def ref(c, l):
    odds = lambda lp: np.exp(lp) / (1 - np.exp(lp))  # noqa: E731 - odds = P / (1 - P)
    log_or = np.log(odds(c) / odds(l))
    return -c, -beta * logsig(log_or), log_or

  nll, ratio, log_or = ref(c, l)
  close(jaxloss.orpo_loss(*f32s(c, l), beta=beta, reduction="none"), nll + ratio, rtol=1e-5)
  loss, parts = jaxloss.orpo_loss(*f32s(c * n[0], l * n[1]), beta=beta,
                                  chosen_lengths=f32(n[0]), rejected_lengths=f32(n[1]),
                                  return_components=True)
  close(loss, np.mean(nll + ratio), rtol=1e-5)
  close(parts["nll"], np.mean(nll), rtol=1e-5)
  close(parts["odds_ratio"], np.mean(ratio), rtol=1e-5)
  close(parts["log_odds"], np.mean(log_or), rtol=1e-4)
  close(parts["reward_margin"], np.mean(beta * (c - l)), rtol=1e-5)
  g = jax.grad(lambda a: jaxloss.orpo_loss(a, f32(l), beta=beta))(f32(c))
  close(g, _fd_grad(lambda x: np.mean(sum(ref(x, l)[:2])), c), rtol=1e-4, atol=1e-7)
  # A log-probability of exactly 0 (a certain completion): finite value and gradient.
  v, gs = jax.value_and_grad(lambda a, b: jaxloss.orpo_loss(a, b), argnums=(0, 1))(
      f32([0.0, -1.0, 0.0]), f32([-1.0, 0.0, 0.0]))
  chex.assert_tree_all_finite((v, gs))


def test_simpo_matches_paper():
  r = rng(10)
  sw, sl = r.uniform(-60, -5, (2, 10))            # summed log-probabilities
  n = r.integers(1, 30, (2, 10)).astype(np.float64)
  beta, ratio = 2.5, 0.4
  gamma = ratio * beta
  # SimPO eq. 6: -log sigmoid(beta/|y_w| log pi(y_w) - beta/|y_l| log pi(y_l) - gamma)
  u = beta * sw / n[0] - beta * sl / n[1] - gamma
  kw = dict(beta=beta, gamma_beta_ratio=ratio, reduction="none")
  close(jaxloss.simpo_loss(*f32s(sw, sl), chosen_lengths=f32(n[0]),
                           rejected_lengths=f32(n[1]), **kw), -logsig(u), rtol=1e-5)
  close(jaxloss.simpo_loss(*f32s(sw / n[0], sl / n[1]), **kw), -logsig(u), rtol=1e-5)
  close(jaxloss.simpo_loss(*f32s(sw / n[0], sl / n[1]), loss_type="hinge", **kw),
        np.maximum(0, 1 - u), rtol=1e-5, atol=1e-6)
  close(jaxloss.simpo_loss(*f32s(sw / n[0], sl / n[1]), label_smoothing=0.1, **kw),
        -0.9 * logsig(u) - 0.1 * logsig(-u), rtol=1e-5)
  # The defaults are the SimPO reference implementation's: beta 2.0, gamma/beta 0.25.
  c, l = sw / n[0], sl / n[1]
  close(jaxloss.simpo_loss(*f32s(c, l)), np.mean(-logsig(2.0 * (c - l) - 0.5)), rtol=1e-5)


def test_cpo_matches_trl():
  r = rng(11)
  sw, sl = r.uniform(-60, -5, (2, 10))
  n = r.integers(1, 30, (2, 10)).astype(np.float64)
  beta, alpha = 0.2, 0.7
  z = beta * (sw - sl)
  for lt, pref in (("sigmoid", -logsig(z)), ("hinge", np.maximum(0, 1 - z))):
    out = jaxloss.cpo_loss(*f32s(sw, sl), beta=beta, nll_weight=alpha, loss_type=lt,
                           reduction="none")
    close(out, pref - alpha * sw, rtol=1e-5)
  ipo = (sw / n[0] - sl / n[1] - 1 / (2 * beta)) ** 2
  loss, parts = jaxloss.cpo_loss(*f32s(sw, sl), beta=beta, nll_weight=alpha, loss_type="ipo",
                                 chosen_lengths=f32(n[0]), rejected_lengths=f32(n[1]),
                                 return_components=True)
  close(loss, np.mean(ipo - alpha * sw / n[0]), rtol=1e-5)
  close(parts["preference"], np.mean(ipo), rtol=1e-5)
  close(parts["nll"], np.mean(-sw / n[0]), rtol=1e-5)
  close(parts["chosen_rewards"], np.mean(beta * sw), rtol=1e-5)


def test_reference_free_losses_finite_at_edges():
  c = f32([0.0, -1e4, -2.0, -1e-8])
  l = f32([-1e4, 0.0, -2.0, -1e-8])  # noqa: E741
  for fn, kws in ((jaxloss.orpo_loss, [{}]),
                  (jaxloss.simpo_loss, [{}, {"loss_type": "hinge"}]),
                  (jaxloss.cpo_loss, [{}, {"loss_type": "hinge"}, {"loss_type": "ipo"}])):
    for kw in kws:
      v, g = jax.value_and_grad(lambda a, b, fn=fn, kw=kw: fn(a, b, **kw), argnums=(0, 1))(c, l)
      chex.assert_tree_all_finite((v, g))


# ------------------------------------------------------------------ clipped policy loss


def ref_policy(logps, old, adv, mask, *, ref=None, beta=0.0, el=0.2, eh=0.2, delta=None,
               loss_type="dapo", level="token", max_len=None):
  """TRL's GRPO loss, re-derived with explicit loops over completions and tokens."""
  b, t = logps.shape
  adv = np.asarray(adv, np.float64)
  a_of = (lambda i, j: adv[i]) if adv.ndim == 1 else (lambda i, j: adv[i, j])
  per_tok = np.zeros((b, t))
  policy_tok, kl_tok = np.zeros((b, t)), np.zeros((b, t))
  clipped = np.zeros((b, t))
  for i in range(b):
    toks = [j for j in range(t) if mask[i, j]]
    if level == "sequence":    # GSPO: exp of the mean token log-ratio of the completion
      seq = np.exp(np.mean([logps[i, j] - old[i, j] for j in toks])) if toks else 1.0
    for j in toks:
      r = np.exp(logps[i, j] - old[i, j]) if level == "token" else seq
      a = a_of(i, j)
      unclipped = min(r, delta) if delta is not None else r
      surrogate = min(unclipped * a, min(max(r, 1 - el), 1 + eh) * a)
      policy_tok[i, j] = -surrogate
      clipped[i, j] = (r < 1 - el and a < 0) or (unclipped > 1 + eh and a > 0)
      if ref is not None:      # Schulman's k3 = pi_ref/pi - log(pi_ref/pi) - 1
        x = ref[i, j] - logps[i, j]
        kl_tok[i, j] = np.exp(x) - x - 1
      per_tok[i, j] = policy_tok[i, j] + beta * kl_tok[i, j]

  def agg(x):
    n_i = mask.sum(1)
    if loss_type == "grpo":    # sequence mean, then batch mean (empty completions count 0)
      return np.mean([x[i].sum() / max(n_i[i], 1) for i in range(b)])
    if loss_type == "dr_grpo":   # a constant: B * max_completion_length
      return x.sum() / (b * (t if max_len is None else max_len))
    return x.sum() / max(mask.sum(), 1)   # dapo, bnpo: token mean over the batch

  return agg(per_tok), agg(policy_tok), agg(kl_tok), clipped


def _policy_data(seed, b=5, t=7):
  r = rng(seed)
  logps = np.log(r.uniform(0.02, 1.0, (b, t)))
  old = logps + r.normal(0, 0.4, (b, t))
  ref = logps + r.normal(0, 0.3, (b, t))
  adv = r.uniform(0.3, 1.5, b) * np.array([1, -1, 1, -1, 1])[:b]
  lengths = np.array([t, 3, 5, 0, 6])[:b]
  mask = np.arange(t)[None, :] < lengths[:, None]
  cast = lambda x: x.astype(np.float32).astype(np.float64)  # noqa: E731
  return cast(logps), cast(old), cast(ref), cast(adv), mask


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "dr_grpo", "bnpo"])
@pytest.mark.parametrize("level", ["token", "sequence"])
def test_clipped_policy_loss_matches_trl(loss_type, level):
  logps, old, ref, adv, mask = _policy_data(12)
  # The data reach every region: below 1 - epsilon_low with A < 0, between the two upper
  # bounds and above 1 + epsilon_high with A > 0 (so swapping the epsilons would show).
  ratio, a = np.exp(logps - old)[mask], np.broadcast_to(adv[:, None], mask.shape)[mask]
  assert np.any((ratio < 0.85) & (a < 0)) and np.any((ratio > 1.35) & (a > 0))
  assert np.any((ratio > 1.15) & (ratio < 1.35) & (a > 0))
  kw = dict(loss_type=loss_type, importance_level=level, beta=0.05, epsilon_low=0.15,
            epsilon_high=0.35)
  total, pol, kl, _ = ref_policy(logps, old, adv, mask, ref=ref, beta=0.05, el=0.15, eh=0.35,
                                 loss_type=loss_type, level=level)
  loss, parts = jaxloss.clipped_policy_loss(*f32s(logps, old, adv), jnp.asarray(mask),
                                            ref_logps=f32(ref), return_components=True, **kw)
  close(loss, total, rtol=1e-5, atol=1e-6)
  close(parts["policy"], pol, rtol=1e-5, atol=1e-6)
  close(parts["kl"], kl, rtol=1e-5, atol=1e-6)
  # "none" gives per-completion contributions whose mean is the loss.
  none = jaxloss.clipped_policy_loss(*f32s(logps, old, adv), jnp.asarray(mask),
                                     ref_logps=f32(ref), reduction="none", **kw)
  chex.assert_shape(none, (5,))
  close(np.mean(none), total, rtol=1e-5, atol=1e-6)
  # Gradient w.r.t. logps against finite differences of the float64 loop reference.
  g = jax.grad(lambda lp: jaxloss.clipped_policy_loss(lp, *f32s(old, adv), jnp.asarray(mask),
                                                      ref_logps=f32(ref), **kw))(f32(logps))
  fd = _fd_grad(lambda x: ref_policy(x, old, adv, mask, ref=ref, beta=0.05, el=0.15, eh=0.35,
                                     loss_type=loss_type, level=level)[0], logps)
  close(g, fd, rtol=1e-4, atol=1e-6)


def test_clipped_policy_options_and_clip_fraction():
  logps, old, ref, adv, mask = _policy_data(13)
  old = old + np.where(np.arange(7) % 2 == 0, 0.5, -0.5)    # push many ratios out of range
  adv_tok = np.repeat(adv[:, None], 7, 1) * rng(14).uniform(0.5, 1.5, (5, 7))
  m = jnp.asarray(mask)
  for kw, rkw in ((dict(delta=1.5), dict(delta=1.5)),
                  (dict(loss_type="dr_grpo", max_completion_length=16),
                   dict(loss_type="dr_grpo", max_len=16)),
                  (dict(epsilon_low=0.1, epsilon_high=0.3), dict(el=0.1, eh=0.3))):
    for a in (adv, adv_tok):
      total, _, _, clipped = ref_policy(logps, old, a, mask, **rkw)
      loss, parts = jaxloss.clipped_policy_loss(*f32s(logps, old, a), m,
                                                return_components=True, **kw)
      close(loss, total, rtol=1e-5, atol=1e-6)
      close(parts["clip_fraction"], clipped[mask].mean(), rtol=1e-5)
      assert float(parts["kl"]) == 0.0
  # GSPO with one advantage per completion: the fraction of completions clipped (TRL).
  _, _, _, clipped = ref_policy(logps, old, adv, mask, level="sequence")
  seq = clipped.max(axis=1)
  _, parts = jaxloss.clipped_policy_loss(*f32s(logps, old, adv), m, importance_level="sequence",
                                         return_components=True)
  close(parts["clip_fraction"], seq.mean())


def test_clipped_policy_on_policy_gradient_is_the_policy_gradient():
  # old_logps = logps (num_iterations=1): ratio 1, and the gradient is -A / N per token
  # (dapo), because old_logps is treated as a constant.
  logps, _, _, adv, mask = _policy_data(15)
  lp = f32(logps)
  g = jax.grad(lambda x: jaxloss.clipped_policy_loss(x, x, f32(adv), jnp.asarray(mask)))(lp)
  close(g, np.where(mask, -adv[:, None] / mask.sum(), 0.0), rtol=1e-5, atol=1e-7)
  g = jax.grad(lambda x: jaxloss.clipped_policy_loss(x, x, f32(adv), jnp.asarray(mask),
                                                     loss_type="grpo"))(lp)
  n = np.maximum(mask.sum(1, keepdims=True), 1)
  close(g, np.where(mask, -adv[:, None] / n / 5, 0.0), rtol=1e-5, atol=1e-7)


def test_clipped_policy_edges():
  logps, old, ref, adv, mask = _policy_data(16)
  m = jnp.asarray(mask)
  f = lambda lp, o, a, mk, **kw: jaxloss.clipped_policy_loss(  # noqa: E731
      lp, o, a, mk, ref_logps=f32(ref), beta=0.1, **kw)
  # All tokens masked: 0, with zero gradients.
  v, g = jax.value_and_grad(f)(*f32s(logps, old, adv), jnp.zeros_like(m))
  assert float(v) == 0.0 and not np.any(np.asarray(g))
  # Advantages all zero, on-policy, ref == policy: 0 and zero gradient.
  v, g = jax.value_and_grad(lambda x: jaxloss.clipped_policy_loss(
      x, x, f32(np.zeros(5)), m, ref_logps=x, beta=0.1))(f32(logps))
  assert float(v) == 0.0
  close(g, np.zeros_like(logps), atol=1e-7)
  # Log-ratios of +-1e4 (and the KL term's): finite value and gradient for every loss type.
  big = np.where(np.arange(7) % 2 == 0, 1e4, -1e4)
  for lt in ("grpo", "dapo", "dr_grpo"):
    for lvl in ("token", "sequence"):
      for sgn in (1, -1):
        v, g = jax.value_and_grad(lambda x, lt=lt, lvl=lvl, sgn=sgn: jaxloss.clipped_policy_loss(
            x, f32(old + sgn * big), f32(adv), m, ref_logps=f32(ref - sgn * big), beta=0.1,
            loss_type=lt, importance_level=lvl))(f32(logps))
        chex.assert_tree_all_finite((v, g))
  # Masked tokens are excluded exactly: a NaN there changes neither value nor gradient.
  nan = lambda x: np.where(mask, x, np.nan)  # noqa: E731
  adv_tok = np.repeat(adv[:, None], 7, 1)
  for lvl in ("token", "sequence"):
    args = [f32s(logps, old, adv_tok, ref), f32s(nan(logps), nan(old), nan(adv_tok), nan(ref))]
    outs = [jax.value_and_grad(lambda x, o, a, r, lvl=lvl: jaxloss.clipped_policy_loss(
        x, o, a, m, ref_logps=r, beta=0.1, importance_level=lvl))(*a)
        for a in args]
    chex.assert_tree_all_finite(outs)
    chex.assert_trees_all_close(outs[0], outs[1])


def test_exp_below_the_cap_is_exact():
  # The linear continuation of exp starts at a log-ratio of 50; below it the ratio is exp.
  lp = f32([[0.0, 0.0]])
  old = f32([[-40.0, 40.0]])
  loss = jaxloss.clipped_policy_loss(lp, old, f32([-1.0]), jnp.ones((1, 2), bool),
                                     reduction="none")
  # Token 1: ratio e^40 with A < 0, unclipped; token 2: ratio e^-40, clipped at 0.8.
  close(loss, [(np.exp(40.0) + 0.8) / 2], rtol=1e-5)
  # Above the cap the continuation is linear: exp(50) * (1 + x - 50), finite with its slope.
  v, g = jax.value_and_grad(lambda x: jaxloss.kl_penalty(x, f32([60.0]), reduction="sum"))(
      f32([0.0]))
  close(v, np.exp(50.0) * 11 - 60 - 1, rtol=1e-5)
  close(g, [-np.exp(50.0) + 1], rtol=1e-5)


# ------------------------------------------------------------------ KL, value, advantages


def test_kl_penalty_estimators():
  r = rng(17)
  lp = np.log(r.uniform(0.05, 1, (4, 6))).astype(np.float32).astype(np.float64)
  ref = np.log(r.uniform(0.05, 1, (4, 6))).astype(np.float32).astype(np.float64)
  where = r.random((4, 6)) < 0.7
  logr = ref - lp            # log(pi_ref / pi) at tokens sampled from pi
  refs = {"k1": -logr, "k2": 0.5 * logr ** 2, "k3": np.exp(logr) - 1 - logr}
  for est, val in refs.items():
    close(jaxloss.kl_penalty(*f32s(lp, ref), estimator=est, reduction="none"), val,
          rtol=1e-5, atol=1e-6)
    close(jaxloss.kl_penalty(*f32s(lp, ref), estimator=est, where=jnp.asarray(where)),
          val[where].mean(), rtol=1e-5, atol=1e-6)
    g = jax.grad(lambda x, est=est: jaxloss.kl_penalty(x, f32(ref), estimator=est,
                                                       reduction="sum"), )(f32(lp))
    d = {"k1": np.ones_like(lp), "k2": -logr, "k3": 1 - np.exp(logr)}[est]
    close(g, d, rtol=1e-5, atol=1e-6)
  assert np.all(np.asarray(jaxloss.kl_penalty(*f32s(lp, ref), reduction="none")) >= 0)
  # Exactly the GRPO per-token KL; finite at log-ratios of +-1e4.
  big = f32(np.where(np.arange(6) % 2 == 0, 1e4, -1e4) * np.ones((4, 1)))
  for est in ("k1", "k2", "k3"):
    v, g = jax.value_and_grad(lambda x, est=est: jaxloss.kl_penalty(x, x + big,
                                                                    estimator=est))(f32(lp))
    chex.assert_tree_all_finite((v, g))


def test_value_loss_matches_ppo():
  r = rng(18)
  v, old, ret = r.normal(size=(3, 6, 5))
  old = v + r.normal(0, 0.4, v.shape)
  where = r.random(v.shape) < 0.8
  c = 0.2

  def ref(v):
    vc = np.clip(v, old - c, old + c)
    return 0.5 * np.maximum((v - ret) ** 2, (vc - ret) ** 2)

  close(jaxloss.value_loss(*f32s(v, old, ret), reduction="none"), ref(v), rtol=1e-5, atol=1e-7)
  close(jaxloss.value_loss(*f32s(v, old, ret), where=jnp.asarray(where)), ref(v)[where].mean(),
        rtol=1e-5)
  close(jaxloss.value_loss(*f32s(v, old, ret), clip=None), np.mean(0.5 * (v - ret) ** 2),
        rtol=1e-5)
  g = jax.grad(lambda x: jaxloss.value_loss(x, *f32s(old, ret), reduction="sum"))(f32(v))
  close(g, _fd_grad(lambda x: ref(x).sum(), v), rtol=1e-4, atol=1e-6)


def ref_advantages(rewards, g, scale="group", valid=None):
  """TRL: group mean (nanmean), Bessel std (nanstd), 1e-4, nan_to_num."""
  r = np.where(valid if valid is not None else True, rewards, np.nan).reshape(-1, g)
  with np.errstate(all="ignore"), warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)   # nanstd of < 2 values is NaN, as in TRL
    mean = np.nanmean(r, axis=1, keepdims=True)
    adv = r - mean
    if scale != "none":
      if scale == "group":
        std = np.nanstd(r, axis=1, keepdims=True, ddof=1) if g > 1 else np.zeros_like(r)
      else:
        std = np.nanstd(r, ddof=1) if r.size > 1 else 0.0
      adv = adv / (std + 1e-4)
  return np.nan_to_num(adv.reshape(-1), nan=0.0)


def test_grpo_advantages_match_trl():
  r = rng(19)
  rewards = r.normal(size=12)
  rewards[3:6] = 1.0         # a group with zero spread
  valid = r.random(12) < 0.8
  valid[6:9] = [True, False, False]   # one scored completion left
  for scale, mode in ((True, "group"), ("group", "group"), ("batch", "batch"),
                      (False, "none"), ("none", "none")):
    close(jaxloss.grpo_advantages(f32(rewards), 3, scale_rewards=scale),
          ref_advantages(rewards, 3, mode), rtol=1e-4, atol=1e-5)
    close(jaxloss.grpo_advantages(f32(rewards), 3, scale_rewards=scale,
                                  where=jnp.asarray(valid)),
          ref_advantages(rewards, 3, mode, valid), rtol=1e-4, atol=1e-5)
  close(jaxloss.grpo_advantages(f32(rewards), 1), np.zeros(12))
  with pytest.raises(LossInputError, match="grpo_advantages: rewards has shape"):
    jaxloss.grpo_advantages(f32(rewards), 5)


# --------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call, match", [
    (lambda: jaxloss.dpo_loss(*f32s([1.0, 2], [1.0, 2], [1.0], [1.0, 2])),
     "dpo_loss: reference_chosen_logps has shape"),
    (lambda: jaxloss.dpo_loss(*f32s([1.0], [1.0], [1.0], [1.0]), chosen_lengths=f32([1.0])),
     "dpo_loss: chosen_lengths and rejected_lengths"),
    (lambda: jaxloss.dpo_loss(*f32s([1.0], [1.0], [1.0], [1.0]), loss_type="aot"),
     "dpo_loss: loss_type must be one of"),
    (lambda: jaxloss.dpo_loss(*f32s([1.0], [1.0], [1.0], [1.0]), beta=0.0),
     "dpo_loss: beta must be > 0"),
    (lambda: jaxloss.dpo_loss(*f32s([1.0], [1.0], [1.0], [1.0]), where=jnp.ones(1)),
     "dpo_loss: where must be a boolean"),
    (lambda: jaxloss.kto_loss(*f32s([1.0, 2], [1.0], [1.0], [1.0])),
     "kto_loss: reference_chosen_logps has shape"),
    (lambda: jaxloss.kto_loss(*f32s([1.0], [1.0], [1.0], [1.0]), where=jnp.ones(3, bool)),
     "kto_loss: where has shape"),
    (lambda: jaxloss.kto_loss(*f32s([1.0], [1.0], [1.0], [1.0]), policy_kl_logps=f32([1.0])),
     "kto_loss: policy_kl_logps and reference_kl_logps"),
    (lambda: jaxloss.orpo_loss(*f32s([-1.0, -2], [-1.0])),
     "orpo_loss: policy_rejected_logps has shape"),
    (lambda: jaxloss.simpo_loss(*f32s([-1.0], [-1.0]), loss_type="ipo"),
     "simpo_loss: loss_type must be one of"),
    (lambda: jaxloss.cpo_loss(jnp.ones(2, jnp.int32), jnp.ones(2, jnp.int32)),
     "cpo_loss: policy_chosen_logps must be a floating"),
    (lambda: jaxloss.clipped_policy_loss(*f32s(np.zeros((2, 3)), np.zeros((2, 3)), [1.0, 2]),
                                         jnp.ones((2, 3))),
     "clipped_policy_loss: mask must be a boolean"),
    (lambda: jaxloss.clipped_policy_loss(*f32s(np.zeros((2, 3)), np.zeros((2, 3)), [1.0]),
                                         jnp.ones((2, 3), bool)),
     "clipped_policy_loss: advantages has shape"),
    (lambda: jaxloss.clipped_policy_loss(*f32s(np.zeros(3), np.zeros(3), [1.0]),
                                         jnp.ones(3, bool)),
     "clipped_policy_loss: logps must have rank 2"),
    (lambda: jaxloss.clipped_policy_loss(*f32s(np.zeros((2, 3)), np.zeros((2, 3)), [1.0, 2]),
                                         jnp.ones((2, 3), bool), importance_level="seq"),
     "clipped_policy_loss: importance_level must be one of"),
    (lambda: jaxloss.kl_penalty(*f32s([1.0], [1.0]), estimator="k4"),
     "kl_penalty: estimator must be one of"),
    (lambda: jaxloss.value_loss(*f32s([1.0], [1.0], [1.0, 2])),
     "value_loss: returns has shape"),
    (lambda: jaxloss.value_loss(*f32s([1.0], [1.0], [1.0]), clip=-0.1),
     "value_loss: clip must be >= 0"),
])
def test_errors_name_the_loss_and_argument(call, match):
  with pytest.raises((LossInputError, LossTypeError), match=match):
    call()


# ------------------------------------------------------------------------ multi-device


@pytest.mark.slow
def test_alignment_losses_on_8_device_mesh():
  root = pathlib.Path(__file__).resolve().parents[1]
  env = host_devices_env(8)
  proc = subprocess.run([sys.executable, str(root / "tests" / "_alignment_multidevice.py")],
                        env=env, capture_output=True, text=True, timeout=600, check=False)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert "ALL PASSED" in proc.stdout, proc.stdout
