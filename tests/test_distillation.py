"""Distillation and router losses against independent float64 NumPy references.

The references are written from the papers' formulas and the peers' published
code paths (torch's ``KLDivLoss(reduction="batchmean")`` recipe, TRL's
``generalized_jsd_loss``, mdistiller's ``dkd_loss`` with its ``1000.0`` mask,
the official logit-standardization ``kd_loss``, transformers' Switch/Mixtral
router losses), in float64, never from jaxloss.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import close, f32, rng
from jax.test_util import check_grads
from scipy.spatial.distance import jensenshannon
from scipy.special import log_softmax, logsumexp, softmax

import jaxloss
from jaxloss import LossInputError, LossTypeError

# --------------------------------------------------------------------------
# float64 references.
# --------------------------------------------------------------------------


def _kl_rows(p, log_p, log_q):
  """sum_c p (log p - log q) with 0 log 0 = 0 (torch's kl_div convention)."""
  return np.where(p > 0, p * (log_p - np.where(p > 0, log_q, 0.0)), 0.0).sum(-1)


def ref_kd(s, t, temperature):
  """Per-token KLDivLoss(log_softmax(s/T), softmax(t/T)) summed over classes, times T^2."""
  log_s = log_softmax(np.float64(s) / temperature, -1)
  log_t = log_softmax(np.float64(t) / temperature, -1)
  return temperature**2 * _kl_rows(np.exp(log_t), log_t, log_s)


def ref_gjsd(s, t, beta, temperature=1.0):
  """TRL's generalized_jsd_loss per token (reduction='none' summed over the vocabulary)."""
  log_s = log_softmax(np.float64(s) / temperature, -1)
  log_t = log_softmax(np.float64(t) / temperature, -1)
  if beta == 0:
    return _kl_rows(np.exp(log_t), log_t, log_s)          # kl_div(s, t) = KL(t || s)
  if beta == 1:
    return _kl_rows(np.exp(log_s), log_s, log_t)          # kl_div(t, s) = KL(s || t)
  log_m = logsumexp(np.stack([log_s + np.log1p(-beta), log_t + np.log(beta)]), axis=0)
  return (beta * _kl_rows(np.exp(log_t), log_t, log_m)
          + (1 - beta) * _kl_rows(np.exp(log_s), log_s, log_m))


def ref_dkd_mdistiller(s, t, y, alpha, beta, temperature):
  """mdistiller's dkd_loss on 2-D logits: (total, tckd, nckd), each a batch mean with T^2."""
  s, t = np.float64(s) / temperature, np.float64(t) / temperature
  n, c = s.shape
  gt = np.eye(c, dtype=bool)[y]
  p_s, p_t = softmax(s, -1), softmax(t, -1)
  b_s = np.stack([(p_s * gt).sum(1), (p_s * ~gt).sum(1)], 1)
  b_t = np.stack([(p_t * gt).sum(1), (p_t * ~gt).sum(1)], 1)
  tckd = _kl_rows(b_t, np.log(b_t), np.log(b_s)).sum() * temperature**2 / n
  q_t = softmax(t - 1000.0 * gt, -1)
  log_q_s = log_softmax(s - 1000.0 * gt, -1)
  nckd = _kl_rows(q_t, np.log(np.where(q_t > 0, q_t, 1.0)), log_q_s).sum() * temperature**2 / n
  return alpha * tckd + beta * nckd, tckd, nckd


def ref_nckd_exact(s, t, y, temperature):
  """Per-example NCKD with the target class removed (the paper's p-hat), times T^2."""
  out = []
  for si, ti, yi in zip(np.float64(s) / temperature, np.float64(t) / temperature, y,
                        strict=True):
    keep = np.arange(si.size) != yi
    ls, lt = log_softmax(si[keep]), log_softmax(ti[keep])
    out.append(_kl_rows(np.exp(lt), lt, ls))
  return np.array(out) * temperature**2


def ref_lskd(s, t, temperature, eps=1e-7):
  """The official kd_loss(..., logit_stand=True): unbiased std, eps added, T^2, per example."""
  def z(x):
    x = np.float64(x)
    return (x - x.mean(-1, keepdims=True)) / (eps + x.std(-1, ddof=1, keepdims=True))
  return ref_kd(z(s), z(t), temperature)


def ref_router_z(x):
  """transformers' router_z_loss_func on (G, S, E) logits."""
  g, s, _ = x.shape
  return np.sum(logsumexp(np.float64(x), -1) ** 2) / (g * s)


def ref_mixtral(gate_logits, num_experts, top_k, attention_mask=None):
  """transformers' Mixtral load_balancing_loss_func on the concatenated (L*B*S, E) gate logits."""
  w = softmax(np.float64(gate_logits), -1)
  sel = np.argsort(-w, -1, kind="stable")[:, :top_k]
  mask = np.eye(num_experts)[sel]                                   # (T, K, E)
  if attention_mask is None:
    tokens_per_expert = mask.mean(0)
    prob_per_expert = w.mean(0)
  else:
    b, s = attention_mask.shape
    layers = gate_logits.shape[0] // (b * s)
    am = np.broadcast_to(attention_mask[None], (layers, b, s)).reshape(-1).astype(np.float64)
    tokens_per_expert = (mask * am[:, None, None]).sum(0) / am.sum()
    prob_per_expert = (w * am[:, None]).sum(0) / am.sum()
  return np.sum(tokens_per_expert * prob_per_expert[None]) * num_experts, sel


def ref_switch(router_probs, expert_indices):
  """transformers' SwitchTransformers load_balancing_loss_func on (G, S, E) probabilities."""
  e = router_probs.shape[-1]
  idx = expert_indices[..., None] if expert_indices.ndim == 2 else expert_indices
  expert_mask = np.eye(e)[idx].max(-2)                               # (G, S, E)
  return np.mean(expert_mask.mean(-2) * np.float64(router_probs).mean(-2)) * e**2


def _logits(seed, shape, scale=2.0):
  return rng(seed).normal(size=shape) * scale


# --------------------------------------------------------------------------
# distillation_loss.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.5, 1.0, 4.0])
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 11)])
def test_distillation_loss_matches_batchmean_recipe(temperature, shape):
  s, t = _logits(0, shape), _logits(1, shape)
  per_token = ref_kd(s, t, temperature)
  close(jaxloss.distillation_loss(f32(s), f32(t), temperature=temperature, reduction="none"),
        per_token)
  # "mean" is torch's batchmean for 2-D logits: sum over everything / number of rows (tokens).
  close(jaxloss.distillation_loss(f32(s), f32(t), temperature=temperature),
        per_token.sum() / per_token.size)
  close(jaxloss.distillation_loss(f32(s), f32(t), temperature=temperature, reduction="sum"),
        per_token.sum(), rtol=1e-5, atol=1e-5)


def test_distillation_loss_where_and_weights():
  s, t = _logits(2, (3, 4, 6)), _logits(3, (3, 4, 6))
  mask = rng(4).random((3, 4)) < 0.6
  w = rng(5).random((3, 4))
  per_token = ref_kd(s, t, 2.0)
  close(jaxloss.distillation_loss(f32(s), f32(t), temperature=2.0, where=jnp.asarray(mask)),
        per_token[mask].mean())
  close(jaxloss.distillation_loss(f32(s), f32(t), temperature=2.0, weights=f32(w),
                                  where=jnp.asarray(mask), reduction="sum"),
        (w * per_token)[mask].sum(), rtol=1e-5, atol=1e-5)
  # Attention-mask style: a (B, 1) row mask broadcasts over the sequence.
  rows = jnp.asarray([[True], [False], [True]])
  close(jaxloss.distillation_loss(f32(s), f32(t), temperature=2.0, where=rows),
        per_token[[0, 2]].mean())


def test_distillation_loss_gradient_is_t_times_softmax_difference():
  # d/dz_s [T^2 KL(p_t || p_s)] = T (p_s - p_t): the reason for the T^2 factor.
  s, t = _logits(6, (5, 7)), _logits(7, (5, 7))
  for temperature in (1.0, 3.0, 10.0):
    g_s, g_t = jax.grad(lambda a, b, temp=temperature: jaxloss.distillation_loss(
        a, b, temperature=temp, reduction="sum"), argnums=(0, 1))(f32(s), f32(t))
    expected = temperature * (softmax(s / temperature, -1) - softmax(t / temperature, -1))
    close(g_s, expected, rtol=1e-4, atol=1e-6)
    assert np.all(np.isfinite(np.asarray(g_t)))
  with jax.enable_x64(True):
    a, b = jnp.asarray(s), jnp.asarray(t)
    check_grads(lambda x, y: jaxloss.distillation_loss(x, y, temperature=2.0), (a, b), order=1,
                modes=["rev"])


def test_distillation_losses_are_zero_when_teacher_equals_student():
  s = f32(_logits(8, (4, 9), 5.0))
  y = jnp.asarray(rng(9).integers(0, 9, 4))
  for value in (jaxloss.distillation_loss(s, s, temperature=3.0),
                jaxloss.generalized_jsd_loss(s, s), jaxloss.generalized_jsd_loss(s, s, beta=0.0),
                jaxloss.generalized_jsd_loss(s, s, beta=1.0),
                jaxloss.generalized_jsd_loss(s, s, beta=0.3),
                jaxloss.dkd_loss(s, s, y), jaxloss.logit_standardized_kd(s, s)):
    assert float(value) == 0.0
  g = jax.grad(lambda a: jaxloss.generalized_jsd_loss(a, s, beta=0.3))(s)
  chex.assert_trees_all_close(g, jnp.zeros_like(g), atol=1e-7)


# --------------------------------------------------------------------------
# generalized_jsd_loss.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_generalized_jsd_matches_trl(beta, temperature):
  s, t = _logits(10, (2, 5, 13)), _logits(11, (2, 5, 13))
  per_token = ref_gjsd(s, t, beta, temperature)
  close(jaxloss.generalized_jsd_loss(f32(s), f32(t), beta=beta, temperature=temperature,
                                     reduction="none"), per_token, rtol=1e-5, atol=2e-6)
  # TRL "batchmean" with labels: sum / number of non-ignored tokens.
  labels = rng(12).integers(-1, 13, (2, 5))
  keep = labels != -1
  close(jaxloss.generalized_jsd_loss(f32(s), f32(t), beta=beta, temperature=temperature,
                                     where=jnp.asarray(keep)),
        per_token[keep].sum() / keep.sum(), rtol=1e-5, atol=2e-6)


def test_generalized_jsd_endpoints_are_forward_and_reverse_kl():
  s, t = _logits(13, (6, 8)), _logits(14, (6, 8))
  fkl = (softmax(t, -1) * (log_softmax(t, -1) - log_softmax(s, -1))).sum(-1)
  rkl = (softmax(s, -1) * (log_softmax(s, -1) - log_softmax(t, -1))).sum(-1)
  close(jaxloss.generalized_jsd_loss(f32(s), f32(t), beta=0.0, reduction="none"), fkl)
  close(jaxloss.generalized_jsd_loss(f32(s), f32(t), beta=1.0, reduction="none"), rkl)
  # beta = 0 is Hinton's KD without the T^2 factor.
  close(jaxloss.generalized_jsd_loss(f32(s), f32(t), beta=0.0, temperature=2.0),
        ref_kd(s, t, 2.0).mean() / 4.0)
  # The endpoints are the limits of JSD / beta and JSD / (1 - beta) (GKD paper).
  eps = 1e-6
  with jax.enable_x64(True):
    near0 = jaxloss.generalized_jsd_loss(jnp.asarray(s), jnp.asarray(t), beta=eps,
                                         reduction="none")
    near1 = jaxloss.generalized_jsd_loss(jnp.asarray(s), jnp.asarray(t), beta=1 - eps,
                                         reduction="none")
  np.testing.assert_allclose(np.asarray(near0) / eps, fkl, rtol=2e-2)
  np.testing.assert_allclose(np.asarray(near1) / eps, rkl, rtol=2e-2)
  # A traced beta selects the same endpoints inside jit.
  f = jax.jit(lambda b: jaxloss.generalized_jsd_loss(f32(s), f32(t), beta=b, reduction="none"))
  close(f(0.0), fkl)
  close(f(1.0), rkl)
  close(f(0.5), ref_gjsd(s, t, 0.5), atol=2e-6)


def test_generalized_jsd_half_is_scipy_jensenshannon_squared():
  s, t = _logits(15, (5, 6)), _logits(16, (5, 6))
  expected = np.array([jensenshannon(p, q) ** 2 for p, q in
                       zip(softmax(s, -1), softmax(t, -1), strict=True)])
  close(jaxloss.generalized_jsd_loss(f32(s), f32(t), reduction="none"), expected, atol=2e-6)


def test_generalized_jsd_gradients():
  s, t = _logits(17, (3, 6)), _logits(18, (3, 6))
  with jax.enable_x64(True):
    a, b = jnp.asarray(s), jnp.asarray(t)
    for beta in (0.0, 0.2, 0.5, 0.8, 1.0):
      check_grads(lambda x, y, be=beta: jaxloss.generalized_jsd_loss(x, y, beta=be,
                                                                     temperature=1.5),
                  (a, b), order=1, modes=["rev"])
    # d/d beta, where beta is interior (the loss is smooth in it).
    check_grads(lambda be: jaxloss.generalized_jsd_loss(a, b, beta=be), (jnp.float64(0.3),),
                order=1, modes=["rev"])


def test_generalized_jsd_with_zero_probabilities():
  # The student puts no mass where the teacher has some: the JSD is finite (the mixture has
  # the teacher's mass), only the forward KL is infinite.
  s = np.array([[0.0, -np.inf, 1.0]])
  t = np.array([[0.5, 0.0, -np.inf]])
  for beta in (0.1, 0.5, 0.9):
    value, grads = jax.value_and_grad(
        lambda a, b, be=beta: jaxloss.generalized_jsd_loss(a, b, beta=be),
        argnums=(0, 1))(f32(s), f32(t))
    ps, pt = softmax(s, -1), softmax(t, -1)
    m = beta * pt + (1 - beta) * ps
    expected = (beta * np.where(pt > 0, pt * np.log(np.where(pt > 0, pt, 1) / m), 0).sum()
                + (1 - beta) * np.where(ps > 0, ps * np.log(np.where(ps > 0, ps, 1) / m),
                                        0).sum())
    close(value, expected)
    chex.assert_tree_all_finite(grads)
  assert np.isinf(float(jaxloss.generalized_jsd_loss(f32(s), f32(t), beta=0.0)))


# --------------------------------------------------------------------------
# dkd_loss.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_dkd_matches_mdistiller(temperature):
  s, t = _logits(20, (8, 10)), _logits(21, (8, 10))
  y = rng(22).integers(0, 10, 8)
  total, tckd, nckd = ref_dkd_mdistiller(s, t, y, 1.0, 8.0, temperature)
  out, parts = jaxloss.dkd_loss(f32(s), f32(t), jnp.asarray(y), temperature=temperature,
                                return_components=True)
  close(out, total)
  close(parts["tckd"], tckd)
  close(parts["nckd"], nckd)
  # Other weights; the defaults are mdistiller's alpha=1, beta=8, T=4.
  close(jaxloss.dkd_loss(f32(s), f32(t), jnp.asarray(y), alpha=2.0, beta=0.5,
                         temperature=temperature),
        ref_dkd_mdistiller(s, t, y, 2.0, 0.5, temperature)[0])
  if temperature == 4.0:
    close(jaxloss.dkd_loss(f32(s), f32(t), jnp.asarray(y)), total)


def test_dkd_decomposes_hinton_kd():
  # Zhao et al., Eq. (1): KD = TCKD + (1 - p^t_y) NCKD, per example.
  s, t = _logits(23, (7, 6)), _logits(24, (7, 6))
  y = rng(25).integers(0, 6, 7)
  _, parts = jaxloss.dkd_loss(f32(s), f32(t), jnp.asarray(y), temperature=2.0,
                              reduction="none", return_components=True)
  p_ty = softmax(t / 2.0, -1)[np.arange(7), y]
  close(parts["tckd"] + (1 - p_ty) * parts["nckd"], ref_kd(s, t, 2.0), atol=2e-6)
  close(parts["nckd"], ref_nckd_exact(s, t, y, 2.0), atol=2e-6)


def test_dkd_exact_target_mask_where_mdistillers_offset_stops_masking():
  # Logits 1e4 apart at T = 4: mdistiller's "- 1000" leaves the target class dominant in its
  # non-target softmax; ours removes it exactly (the paper's definition).
  s = np.array([[1e4, 0.0, 10.0, -5.0]])
  t = np.array([[1e4, 3.0, 0.0, 1.0]])
  y = np.array([0])
  with np.errstate(divide="ignore", invalid="ignore"):   # mdistiller's TCKD: log(0) here
    mdistiller_nckd = ref_dkd_mdistiller(s, t, y, 1.0, 8.0, 4.0)[2]
  out = jaxloss.dkd_loss(f32(s), f32(t), jnp.asarray(y), reduction="none",
                         return_components=True)[1]["nckd"]
  close(out, ref_nckd_exact(s, t, y, 4.0), rtol=1e-5, atol=1e-5)
  assert mdistiller_nckd < 1e-6 < float(out[0])


def test_dkd_where_labels_and_edges():
  s, t = _logits(26, (3, 4, 5)), _logits(27, (3, 4, 5))
  y = rng(28).integers(0, 5, (3, 4))
  mask = rng(29).random((3, 4)) < 0.5
  per = jaxloss.dkd_loss(f32(s), f32(t), jnp.asarray(y), reduction="none")
  flat = ref_dkd_mdistiller(s.reshape(12, 5), t.reshape(12, 5), y.reshape(12), 1.0, 8.0, 4.0)
  close(np.sum(per), flat[0] * 12, rtol=1e-5, atol=1e-5)
  close(jaxloss.dkd_loss(f32(s), f32(t), jnp.asarray(y), where=jnp.asarray(mask)),
        np.asarray(per)[mask].mean())
  # A single class: no non-target distribution, both parts 0.
  assert float(jaxloss.dkd_loss(f32(s[..., :1]), f32(t[..., :1]), jnp.zeros((3, 4), int))) == 0
  # Saturated logits: p_y rounds to 1 (mdistiller: log(0) on the "rest" entry).
  onehot = np.eye(5)[y] * 1e4
  v, g = jax.value_and_grad(lambda a: jaxloss.dkd_loss(a, f32(onehot), jnp.asarray(y)))(
      f32(onehot))
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)
  with pytest.raises(LossTypeError, match="^dkd_loss: labels must be an integer"):
    jaxloss.dkd_loss(f32(s), f32(t), f32(y))
  with pytest.raises(LossInputError, match=r"^dkd_loss: labels has shape \(3, 3\)"):
    jaxloss.dkd_loss(f32(s), f32(t), jnp.asarray(y[:, :3]))


def test_dkd_gradients_finite_differences():
  s, t = _logits(30, (4, 6)), _logits(31, (4, 6))
  y = jnp.asarray(rng(32).integers(0, 6, 4))
  with jax.enable_x64(True):
    check_grads(lambda a, b: jaxloss.dkd_loss(a, b, y), (jnp.asarray(s), jnp.asarray(t)),
                order=1, modes=["rev"])


# --------------------------------------------------------------------------
# logit_standardized_kd.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_logit_standardized_kd_matches_official_code(temperature):
  s, t = _logits(40, (6, 10), 3.0), _logits(41, (6, 10), 0.5)
  per = ref_lskd(s, t, temperature)
  close(jaxloss.logit_standardized_kd(f32(s), f32(t), temperature=temperature,
                                      reduction="none"), per, rtol=1e-4, atol=1e-6)
  close(jaxloss.logit_standardized_kd(f32(s), f32(t), temperature=temperature), per.mean(),
        rtol=1e-4, atol=1e-6)
  if temperature == 2.0:   # the official --base-temp default
    close(jaxloss.logit_standardized_kd(f32(s), f32(t)), per.mean(), rtol=1e-4, atol=1e-6)


def test_logit_standardized_kd_is_invariant_to_logit_shift_and_scale():
  s, t = _logits(42, (5, 8)), _logits(43, (5, 8))
  base = jaxloss.logit_standardized_kd(f32(s), f32(t), reduction="none")
  moved = jaxloss.logit_standardized_kd(f32(3.0 * s - 7.0), f32(0.2 * t + 100.0),
                                        reduction="none")
  close(moved, np.asarray(base, np.float64), rtol=1e-4, atol=1e-6)
  # Vanilla KD is not: the teacher's scale changes it.
  assert abs(float(jaxloss.distillation_loss(f32(s), f32(t)))
             - float(jaxloss.distillation_loss(f32(s), f32(0.2 * t)))) > 1e-2


def test_logit_standardized_kd_edges():
  ones = jnp.ones((3, 5))
  for eps in (1e-7, 0.0):
    v, g = jax.value_and_grad(lambda a, e=eps: jaxloss.logit_standardized_kd(a, ones, eps=e))(
        ones)
    assert float(v) == 0.0
    chex.assert_tree_all_finite(g)
  v, g = jax.value_and_grad(lambda a: jaxloss.logit_standardized_kd(a, a[::-1] * 3.0))(
      f32(_logits(44, (3, 1))))
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)
  with jax.enable_x64(True):
    check_grads(lambda a, b: jaxloss.logit_standardized_kd(a, b),
                (jnp.asarray(_logits(45, (3, 6))), jnp.asarray(_logits(46, (3, 6)))),
                order=1, modes=["rev"])


# --------------------------------------------------------------------------
# Shared edges of the logit losses.
# --------------------------------------------------------------------------

_LOGIT_LOSSES = {
    "distillation_loss": lambda s, t, **kw: jaxloss.distillation_loss(s, t, **kw),
    "generalized_jsd_loss": lambda s, t, **kw: jaxloss.generalized_jsd_loss(s, t, **kw),
    "dkd_loss": lambda s, t, **kw: jaxloss.dkd_loss(
        s, t, jnp.arange(s[..., 0].size).reshape(s.shape[:-1]) % s.shape[-1], **kw),
    "logit_standardized_kd": lambda s, t, **kw: jaxloss.logit_standardized_kd(s, t, **kw),
}


@pytest.mark.parametrize("name", list(_LOGIT_LOSSES))
def test_logit_losses_finite_at_edges(name):
  fn = _LOGIT_LOSSES[name]
  s, t = f32(_logits(50, (4, 6))), f32(_logits(51, (4, 6)))
  # One compilation: the temperature is traced.
  value_and_grad = jax.jit(jax.value_and_grad(
      lambda x, y, temp: fn(x, y, temperature=temp), argnums=(0, 1)))
  cases = [(s * 5e3, t * 5e3, 1.0), (jnp.sign(s) * 1e4, -jnp.sign(s) * 1e4, 1.0),
           (s, t, 1e-3), (s, t, 1e3), (s * 1e4, t, 1e-3), (s * 1e4, t * 1e4, 1e3)]
  for a, b, temp in cases:
    chex.assert_tree_all_finite(value_and_grad(a, b, temp))
  # Every token masked: 0 with a zero gradient, NaN inputs there included.
  nan = jnp.full_like(s, jnp.nan)
  v, g = jax.value_and_grad(lambda x: fn(x, nan, where=jnp.zeros(4, bool)))(nan)
  assert float(v) == 0.0
  chex.assert_trees_all_close(g, jnp.zeros_like(g))


@pytest.mark.parametrize("name", list(_LOGIT_LOSSES))
def test_logit_losses_bfloat16(name):
  fn = _LOGIT_LOSSES[name]
  s, t = _logits(52, (4, 3, 8)), _logits(53, (4, 3, 8))
  low = fn(jnp.asarray(s, jnp.bfloat16), jnp.asarray(t, jnp.bfloat16))
  assert low.dtype == jnp.float32
  rounded = fn(jnp.asarray(s, jnp.bfloat16).astype(jnp.float32),
               jnp.asarray(t, jnp.bfloat16).astype(jnp.float32))
  chex.assert_trees_all_close(low, rounded, rtol=1e-6, atol=1e-6)
  close(low, np.asarray(fn(f32(s), f32(t)), np.float64), rtol=3e-2, atol=3e-2)


def test_temperature_and_beta_are_range_checked():
  s = f32(_logits(54, (2, 3)))
  with pytest.raises(LossInputError, match="^distillation_loss: temperature must be > 0"):
    jaxloss.distillation_loss(s, s, temperature=0.0)
  with pytest.raises(LossInputError, match=r"^generalized_jsd_loss: beta must be \[0, 1\]"):
    jaxloss.generalized_jsd_loss(s, s, beta=1.5)
  with pytest.raises(LossInputError, match="^distillation_loss: teacher_logits has shape"):
    jaxloss.distillation_loss(s, s[:, :2])
  with pytest.raises(LossTypeError, match="^generalized_jsd_loss: teacher_logits must be"):
    jaxloss.generalized_jsd_loss(s, jnp.ones((2, 3), jnp.int32))


# --------------------------------------------------------------------------
# router_z_loss.
# --------------------------------------------------------------------------


def test_router_z_loss_matches_transformers():
  x = _logits(60, (3, 5, 8), 3.0)
  close(jaxloss.router_z_loss(f32(x)), ref_router_z(x))
  close(jaxloss.router_z_loss(f32(x), reduction="none"), logsumexp(x, -1) ** 2, rtol=1e-5)
  mask = rng(61).random((3, 5)) < 0.5
  close(jaxloss.router_z_loss(f32(x), where=jnp.asarray(mask)),
        (logsumexp(x, -1) ** 2)[mask].mean())
  # Gradient 2 log Z softmax(x) / N.
  g = jax.grad(lambda a: jaxloss.router_z_loss(a))(f32(x))
  close(g, 2 * logsumexp(x, -1, keepdims=True) * softmax(x, -1) / 15, rtol=1e-4, atol=1e-7)


def test_router_z_loss_edges():
  x = f32(_logits(62, (2, 4, 6)))
  top = jnp.where(x >= jnp.max(x, -1, keepdims=True) - 1.0, x, -jnp.inf)   # excluded experts
  for a in (x * 1e4, jnp.zeros((2, 4, 1)), top):
    v, g = jax.value_and_grad(lambda z: jaxloss.router_z_loss(z))(a)
    chex.assert_tree_all_finite((v, g))
  assert float(jaxloss.router_z_loss(jnp.zeros((2, 4, 1)))) == 0.0    # one expert: log Z = 0
  low = jaxloss.router_z_loss(x.astype(jnp.bfloat16))
  assert low.dtype == jnp.float32
  close(low, float(jaxloss.router_z_loss(x)), rtol=3e-2)
  with pytest.raises(LossInputError, match="^router_z_loss: router_logits must have rank"):
    jaxloss.router_z_loss(jnp.float32(1.0))


# --------------------------------------------------------------------------
# load_balancing_loss.
# --------------------------------------------------------------------------


def _top_k(probs, k):
  return jax.lax.top_k(jnp.asarray(probs), k)[1]


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_load_balancing_matches_mixtral(top_k):
  layers, b, s, e = 2, 3, 5, 6
  gate = _logits(70, (layers * b * s, e))
  expected, sel = ref_mixtral(gate, e, top_k)
  probs = softmax(gate, -1)
  idx = jnp.asarray(sel)
  close(jaxloss.load_balancing_loss(f32(probs), idx, e), expected)
  assert np.array_equal(np.asarray(_top_k(f32(probs), top_k)), sel)
  # Attention mask: padding tokens leave both means (the layers are stacked on a leading axis).
  am = (rng(71).random((b, s)) < 0.7).astype(int)
  am[0, 0] = 1
  expected, sel = ref_mixtral(gate, e, top_k, am)
  where = jnp.asarray(np.broadcast_to(am[None], (layers, b, s)).astype(bool))
  close(jaxloss.load_balancing_loss(f32(probs.reshape(layers, b, s, e)),
                                    jnp.asarray(sel.reshape(layers, b, s, top_k)), e,
                                    where=where), expected)
  # The mask broadcasts from the (B, S) attention mask.
  close(jaxloss.load_balancing_loss(f32(probs.reshape(layers, b, s, e)),
                                    jnp.asarray(sel.reshape(layers, b, s, top_k)), e,
                                    where=jnp.asarray(am.astype(bool))), expected)


def test_load_balancing_matches_switch():
  g, s, e = 3, 7, 4
  probs = softmax(_logits(72, (g, s, e)), -1)
  idx = probs.argmax(-1)
  # One group: identical.
  close(jaxloss.load_balancing_loss(f32(probs[:1]), jnp.asarray(idx[:1]), e),
        ref_switch(probs[:1], idx[:1]))
  # Several groups: Switch averages the per-group losses (vmap + mean).
  per_group = jax.vmap(lambda p, i: jaxloss.load_balancing_loss(p, i, e))(
      f32(probs), jnp.asarray(idx))
  close(jnp.mean(per_group), ref_switch(probs, idx))


def test_load_balancing_closed_forms_and_gradient():
  n, e, k = 12, 4, 2
  # Balanced: every expert gets n k / e slots and probability 1/e -> K.
  idx = jnp.asarray(np.stack([np.arange(n) % e, (np.arange(n) + 1) % e], -1))
  close(jaxloss.load_balancing_loss(jnp.full((n, e), 1.0 / e), idx, e), float(k))
  # Collapsed: everything on expert 0 with probability 1 (top-1) -> E.
  collapsed = jnp.zeros((n, e)).at[:, 0].set(1.0)
  close(jaxloss.load_balancing_loss(collapsed, jnp.zeros(n, int), e), float(e))
  # One expert: 1.
  close(jaxloss.load_balancing_loss(jnp.ones((n, 1)), jnp.zeros(n, int), 1), 1.0)
  # dL/dp_{i,e} = E f_e / N, a constant in the dispatch.
  probs = softmax(_logits(73, (n, e)), -1)
  idx = np.asarray(_top_k(f32(probs), k))
  f = np.eye(e)[idx].sum(1).mean(0)
  g = jax.grad(lambda p: jaxloss.load_balancing_loss(p, jnp.asarray(idx), e))(f32(probs))
  close(g, np.broadcast_to(e * f / n, (n, e)), rtol=1e-6)


def test_load_balancing_masking_edges_and_errors():
  probs = softmax(_logits(74, (2, 5, 4)), -1)
  idx = np.asarray(_top_k(f32(probs), 2))
  mask = np.array([[True] * 5, [True, True, False, False, False]])
  poisoned = np.where(mask[..., None], probs, np.nan)
  junk_idx = np.where(mask[..., None], idx, 99)
  clean = jaxloss.load_balancing_loss(f32(probs), jnp.asarray(idx), 4, where=jnp.asarray(mask))
  v, g = jax.value_and_grad(lambda p: jaxloss.load_balancing_loss(
      p, jnp.asarray(junk_idx), 4, where=jnp.asarray(mask)))(f32(poisoned))
  close(v, float(clean))
  close(v, ref_mixtral(np.log(probs).reshape(10, 4), 4, 2, mask.astype(int))[0])
  chex.assert_tree_all_finite(g)
  assert np.all(np.asarray(g)[~mask] == 0)
  v, g = jax.value_and_grad(lambda p: jaxloss.load_balancing_loss(
      p, jnp.asarray(idx), 4, where=jnp.zeros((2, 5), bool)))(f32(poisoned))
  assert float(v) == 0.0
  chex.assert_trees_all_close(g, jnp.zeros_like(g))
  low = jaxloss.load_balancing_loss(jnp.asarray(probs, jnp.bfloat16), jnp.asarray(idx), 4)
  assert low.dtype == jnp.float32
  close(low, float(jaxloss.load_balancing_loss(f32(probs), jnp.asarray(idx), 4)), rtol=2e-2)
  with pytest.raises(LossInputError, match=r"^load_balancing_loss: router_probs has shape "
                                           r"\(2, 5, 4\) but num_experts is 3"):
    jaxloss.load_balancing_loss(f32(probs), jnp.asarray(idx), 3)
  with pytest.raises(LossInputError, match=r"^load_balancing_loss: expert_indices has shape"):
    jaxloss.load_balancing_loss(f32(probs), jnp.asarray(idx[:, :4]), 4)
  with pytest.raises(LossTypeError, match="^load_balancing_loss: expert_indices must be an "
                                          "integer"):
    jaxloss.load_balancing_loss(f32(probs), f32(idx), 4)
  with pytest.raises(LossInputError, match="^load_balancing_loss: where has shape"):
    jaxloss.load_balancing_loss(f32(probs), jnp.asarray(idx), 4, where=jnp.ones((3,), bool))
