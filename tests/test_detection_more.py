"""Wing / Adaptive Wing, Seesaw and GHM losses against independent float64 NumPy references.

The references are written from the papers and from the published formulas of mmpose 1.x
(``WingLoss``, ``AdaptiveWingLoss``) and mmdetection 3.x (``seesaw_loss.py``,
``ghm_loss.py``): explicit ratio matrices, per-bin loops over the bin edges and an
explicit moving average where mmdet has them, not from jaxloss.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxloss
from jaxloss import LossInputError, LossTypeError


def close(a, b, rtol=1e-5, atol=1e-6):
  np.testing.assert_allclose(np.asarray(a, np.float64), b, rtol=rtol, atol=atol)


def f32(x):
  return jnp.asarray(np.asarray(x, np.float32))


def sig(x):
  return 1.0 / (1.0 + np.exp(-x))


def log_softmax(x):
  m = x.max(-1, keepdims=True)
  return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


# ---------------------------------------------------------------------------
# References.
# ---------------------------------------------------------------------------


def ref_wing(p, t, omega=10.0, epsilon=2.0):
  delta = np.abs(t - p)
  c = omega * (1.0 - np.log(1.0 + omega / epsilon))
  return np.where(delta < omega, omega * np.log(1.0 + delta / epsilon), delta - c)


def ref_awing(p, y, alpha=2.1, omega=14.0, epsilon=1.0, theta=0.5):
  delta = np.abs(y - p)
  r = theta / epsilon
  a = omega * (1 / (1 + r ** (alpha - y))) * (alpha - y) * r ** (alpha - y - 1) / epsilon
  c = theta * a - omega * np.log(1 + r ** (alpha - y))
  return np.where(delta < theta, omega * np.log(1 + (delta / epsilon) ** (alpha - y)),
                  a * delta - c)


def ref_seesaw_ce(x, labels, cum, p=0.8, q=2.0, eps=1e-2):
  """mmdet's seesaw_ce_loss, per sample (ratio matrix, pow and index masks as mmdet)."""
  n, c = x.shape
  onehot = np.eye(c)[labels]
  w = np.ones((n, c))
  if p > 0:
    ratio = np.maximum(cum, 1)[None, :] / np.maximum(cum, 1)[:, None]
    idx = (ratio < 1.0).astype(float)
    w = w * (ratio ** p * idx + (1 - idx))[labels]
  if q > 0:
    s = np.exp(log_softmax(x))
    self_s = s[np.arange(n), labels]
    sm = s / np.maximum(self_s, eps)[:, None]
    idx = (sm > 1.0).astype(float)
    w = w * (sm ** q * idx + (1 - idx))
  z = x + np.log(w) * (1 - onehot)
  return -log_softmax(z)[np.arange(n), labels]


def ref_seesaw(x, labels, cum, **kw):
  """mmdet's SeesawLoss (C + 2 logits) per sample: classes on foreground + objectness CE."""
  c = x.shape[1] - 2
  fg = labels < c
  classes = np.zeros(len(labels))
  if fg.any():
    classes[fg] = ref_seesaw_ce(x[fg, :c], labels[fg], cum[:c], **kw)
  obj = -log_softmax(x[:, c:])[np.arange(len(labels)), (labels == c).astype(int)]
  return classes, obj


def ref_ghm_weights(g, valid, bins, mmt=0.0, acc=None, last_edge=1.0 + 1e-6):
  """mmdet's loop over bins: weights and the new accumulator."""
  edges = np.arange(bins + 1) / bins
  edges[-1] = last_edge
  acc = np.zeros(bins) if acc is None else np.array(acc, float)
  w = np.zeros_like(g)
  tot = max(valid.sum(), 1.0)
  n = 0
  for i in range(bins):
    inds = (g >= edges[i]) & (g < edges[i + 1]) & valid
    num = inds.sum()
    if num > 0:
      if mmt > 0:
        acc[i] = mmt * acc[i] + (1 - mmt) * num
        w[inds] = tot / acc[i]
      else:
        w[inds] = tot / num
      n += 1
  if n > 0:
    w = w / n
  return w, tot, acc


def ref_ghmc(x, y, valid=None, bins=10, mmt=0.0, acc=None):
  valid = np.ones(x.shape, bool) if valid is None else valid
  g = np.abs(sig(x) - y)
  w, tot, acc = ref_ghm_weights(g, valid, bins, mmt, acc)
  bce = np.logaddexp(0, x) - x * y      # stable BCE with logits
  return (bce * w).sum() / tot, acc, w


def ref_ghmr(p, t, valid=None, mu=0.02, bins=10, mmt=0.0, acc=None):
  valid = np.ones(p.shape, bool) if valid is None else valid
  d = p - t
  loss = np.sqrt(d * d + mu * mu) - mu
  g = np.abs(d / np.sqrt(mu * mu + d * d))
  w, tot, acc = ref_ghm_weights(g, valid, bins, mmt, acc, last_edge=1e3)
  return (loss * w).sum() / tot, acc, w


RNG = np.random.default_rng(0)

# ---------------------------------------------------------------------------
# Wing and Adaptive Wing.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("omega,epsilon", [(10.0, 2.0), (5.0, 0.5)])
def test_wing_matches_reference(omega, epsilon):
  p = RNG.normal(0, 8, (4, 5, 2))
  t = RNG.normal(0, 8, (4, 5, 2))
  out = jaxloss.wing_loss(f32(p), f32(t), omega=omega, epsilon=epsilon, reduction="none")
  close(out, ref_wing(p, t, omega, epsilon), rtol=1e-5, atol=1e-5)
  # mmpose's value: sum over keypoints and coordinates, mean over the batch.
  mm = ref_wing(p, t, omega, epsilon).sum((1, 2)).mean()
  close(jaxloss.wing_loss(f32(p), f32(t), omega=omega, epsilon=epsilon, reduction="sum") / 4,
        mm, rtol=1e-5)


def test_wing_continuous_at_omega_and_grad():
  eps = 1e-4
  t = jnp.zeros(2)
  lo, hi = jaxloss.wing_loss(jnp.array([10.0 - eps, 10.0 + eps]), t, reduction="none")
  assert abs(float(hi - lo)) < 1e-2
  with jax.enable_x64(True):
    p64 = jnp.asarray(RNG.normal(0, 8, (6,)))
    t64 = jnp.asarray(RNG.normal(0, 8, (6,)))
    check_grads(lambda a: jaxloss.wing_loss(a, t64), (p64,), order=1, modes=("rev",))
  g = jax.grad(lambda a: jaxloss.wing_loss(a, jnp.zeros(3), reduction="sum"))(
      jnp.array([0.0, 1e-3, 50.0]))
  chex.assert_tree_all_finite(g)
  close(g[1:], [10.0 / (2.0 + 1e-3), 1.0], rtol=1e-4)


@pytest.mark.parametrize("kw", [{}, {"alpha": 2.5, "omega": 10.0, "epsilon": 0.5, "theta": 0.3}])
def test_adaptive_wing_matches_reference(kw):
  y = RNG.uniform(0, 1, (2, 6, 6, 3))
  y[0, 1, 1, 0] = 1.0
  p = y + RNG.normal(0, 0.4, y.shape)
  out = jaxloss.adaptive_wing_loss(f32(p), f32(y), reduction="none", **kw)
  close(out, ref_awing(p, y, **kw), rtol=1e-5, atol=1e-5)
  # mmpose's value is the mean over every pixel: our default.
  close(jaxloss.adaptive_wing_loss(f32(p), f32(y), **kw), ref_awing(p, y, **kw).mean(),
        rtol=1e-5)


def test_adaptive_wing_smooth_at_theta_and_grads():
  y = jnp.array([0.0, 0.5, 1.0])
  for s in (1.0, -1.0):
    lo = jaxloss.adaptive_wing_loss(y + s * (0.5 - 1e-4), y, reduction="none")
    hi = jaxloss.adaptive_wing_loss(y + s * (0.5 + 1e-4), y, reduction="none")
    assert np.max(np.abs(np.asarray(hi - lo))) < 5e-3
  # perfect prediction: zero loss, zero (finite) gradient in both arguments
  v, (gp, gy) = jax.value_and_grad(
      lambda a, b: jaxloss.adaptive_wing_loss(a, b), argnums=(0, 1))(y, y)
  assert float(v) == 0.0
  chex.assert_tree_all_finite((gp, gy))
  close(gp, [0.0, 0.0, 0.0])
  with jax.enable_x64(True):
    y64 = jnp.asarray(RNG.uniform(0, 1, (8,)))
    p64 = y64 + jnp.asarray(RNG.normal(0, 0.5, (8,)))
    check_grads(lambda a, b: jaxloss.adaptive_wing_loss(a, b), (p64, y64), order=1,
                modes=("rev",))


def test_landmarks_edges_and_bad_inputs():
  big = jnp.array([1e4, -1e4, 3.0])
  for fn in (jaxloss.wing_loss, jaxloss.adaptive_wing_loss):
    v, g = jax.value_and_grad(lambda a, fn=fn: fn(a, jnp.array([0.0, 1.0, 0.5])))(big)
    chex.assert_tree_all_finite((v, g))
    out = fn(big.astype(jnp.bfloat16), jnp.array([0.0, 1.0, 0.5], jnp.bfloat16))
    assert out.dtype == jnp.float32
    with pytest.raises(LossInputError, match=f"^{fn.__name__}: .*shape"):
      fn(jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(LossTypeError):
      fn(jnp.zeros(3, jnp.int32), jnp.zeros(3))
  with pytest.raises(LossInputError, match="omega must be > 0"):
    jaxloss.wing_loss(jnp.zeros(3), jnp.zeros(3), omega=0.0)
  with pytest.raises(LossInputError, match="alpha must be > 1"):
    jaxloss.adaptive_wing_loss(jnp.zeros(3), jnp.zeros(3), alpha=1.0)


def test_landmarks_where():
  p = RNG.normal(0, 5, (4, 3))
  t = RNG.normal(0, 5, (4, 3))
  m = RNG.uniform(size=(4, 3)) < 0.6
  pn = np.where(m, p, np.nan)
  out = jaxloss.wing_loss(f32(pn), f32(t), where=jnp.asarray(m))
  close(out, ref_wing(p, t)[m].mean(), rtol=1e-5)


# ---------------------------------------------------------------------------
# Seesaw.
# ---------------------------------------------------------------------------


def _seesaw_data(n=12, c=5, objectness=True, seed=1):
  r = np.random.default_rng(seed)
  k = c + 2 if objectness else c
  x = r.normal(0, 2, (n, k))
  labels = r.integers(0, c + 1 if objectness else c, n)
  cum = r.integers(0, 300, c).astype(float)
  cum[1] = 0.0     # a never-seen class (clamped to 1)
  return x, labels, cum


@pytest.mark.parametrize("p,q,eps", [(0.8, 2.0, 1e-2), (0.0, 2.0, 1e-2), (0.8, 0.0, 1e-2),
                                     (1.5, 1.0, 0.2)])
def test_seesaw_matches_mmdet(p, q, eps):
  x, labels, cum = _seesaw_data()
  total, parts = jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), f32(cum), p=p, q=q, eps=eps,
                                     reduction="none", return_components=True)
  classes, obj = ref_seesaw(x, labels, cum, p=p, q=q, eps=eps)
  close(parts["classes"], classes, rtol=1e-5, atol=1e-5)
  close(parts["objectness"], obj, rtol=1e-5, atol=1e-6)
  close(total, classes + obj, rtol=1e-5, atol=1e-5)
  # mmdet's BBoxHead: avg_factor = number of samples with positive weight -> our mean.
  close(jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), f32(cum), p=p, q=q, eps=eps),
        (classes.sum() + obj.sum()) / len(labels), rtol=1e-5)


def test_seesaw_without_objectness_is_seesaw_ce():
  x, labels, cum = _seesaw_data(objectness=False)
  out = jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), f32(cum), objectness=False,
                            reduction="none")
  close(out, ref_seesaw_ce(x, labels, cum), rtol=1e-5, atol=1e-5)
  # p = q = 0: plain softmax cross-entropy
  plain = jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), f32(cum), objectness=False, p=0.0,
                              q=0.0, reduction="none")
  close(plain, -log_softmax(x)[np.arange(len(labels)), labels], rtol=1e-5, atol=1e-6)


def test_seesaw_gradient_treats_factors_as_constants():
  # mmdet detaches the compensation scores; the counts are data: the gradient of the CE
  # w.r.t. the logits is softmax(x + log S) - onehot.
  x, labels, cum = _seesaw_data(objectness=False)
  g = jax.grad(lambda a: jaxloss.seesaw_loss(a, jnp.asarray(labels), f32(cum),
                                             objectness=False, reduction="sum"))(f32(x))
  n, c = x.shape
  onehot = np.eye(c)[labels]
  ce = ref_seesaw_ce(x, labels, cum)
  # log S recovered from the reference's adjusted logits
  s = np.exp(log_softmax(x))
  ratio = np.maximum(cum, 1)[None, :] / np.maximum(cum, 1)[:, None]
  mit = np.where(ratio < 1, ratio ** 0.8, 1.0)[labels]
  sm = s / np.maximum(s[np.arange(n), labels], 1e-2)[:, None]
  comp = np.where(sm > 1, sm ** 2.0, 1.0)
  z = x + np.log(mit * comp) * (1 - onehot)
  close(g, np.exp(log_softmax(z)) - onehot, rtol=1e-4, atol=1e-5)
  assert np.isfinite(ce).all()


def test_seesaw_counts_state_and_mmdet_buffer():
  x, labels, cum = _seesaw_data()
  c = 5
  buf = np.concatenate([cum, [1234.0]])   # mmdet's (C + 1,) buffer: background last, ignored
  a = jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), f32(cum))
  b = jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), f32(buf))
  close(a, float(b), rtol=1e-6)
  counts = jaxloss.update_class_counts(jnp.zeros(c + 1), jnp.asarray(labels))
  close(counts, np.bincount(labels, minlength=c + 1), rtol=0)
  m = np.arange(len(labels)) % 2 == 0
  counts = jaxloss.update_class_counts(jnp.zeros(c + 1, jnp.int32), jnp.asarray(labels),
                                       where=jnp.asarray(m))
  assert counts.dtype == jnp.int32
  close(counts, np.bincount(labels[m], minlength=c + 1), rtol=0)
  with pytest.raises(LossTypeError, match="^update_class_counts: labels must be an integer"):
    jaxloss.update_class_counts(jnp.zeros(3), jnp.zeros(3))
  # ids outside the counts are not counted
  close(jaxloss.update_class_counts(jnp.zeros(3), jnp.array([-1, 0, 3, 2])), [1, 0, 1], rtol=0)


def test_seesaw_vmap_over_samples_with_shared_counts():
  x, labels, cum = _seesaw_data()
  batched = jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), f32(cum), reduction="none")
  mapped = jax.vmap(lambda a, b: jaxloss.seesaw_loss(a, b, f32(cum), reduction="none"))(
      f32(x), jnp.asarray(labels))
  close(mapped, np.asarray(batched), rtol=1e-6)


def test_seesaw_edges():
  x, labels, cum = _seesaw_data()
  c = 5
  fg = labels < c
  perfect = np.where(np.eye(c + 2)[np.where(fg, labels, c + 1)].astype(bool), 1e4, -1e4)
  perfect[:, c] = np.where(fg, 1e4, -1e4)           # objectness: foreground logit
  perfect[~fg, c + 1] = 1e4
  v, g = jax.value_and_grad(lambda a: jaxloss.seesaw_loss(a, jnp.asarray(labels), f32(cum)))(
      f32(perfect))
  assert abs(float(v)) < 1e-6
  chex.assert_tree_all_finite(g)
  for xs in (x * 1e4, -x * 1e4):
    v, g = jax.value_and_grad(lambda a: jaxloss.seesaw_loss(a, jnp.asarray(labels), f32(cum)))(
        f32(xs))
    chex.assert_tree_all_finite((v, g))
  # no foreground at all: only the objectness term (mmdet: loss_cls_classes = 0)
  bg = jnp.full(labels.shape, c)
  total, parts = jaxloss.seesaw_loss(f32(x), bg, jnp.zeros(c), return_components=True)
  assert float(parts["classes"]) == 0.0
  close(total, float(parts["objectness"]), rtol=1e-6)
  # bfloat16 logits: float32 result, close
  lo = jaxloss.seesaw_loss(f32(x).astype(jnp.bfloat16), jnp.asarray(labels), f32(cum))
  assert lo.dtype == jnp.float32
  close(lo, float(jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), f32(cum))), rtol=3e-2)


def test_seesaw_where_and_weights():
  x, labels, cum = _seesaw_data()
  m = np.arange(len(labels)) % 3 != 0
  w = RNG.uniform(0.5, 2.0, len(labels))
  xn = np.where(m[:, None], x, np.nan)
  out = jaxloss.seesaw_loss(f32(xn), jnp.asarray(labels), f32(cum), where=jnp.asarray(m),
                            weights=f32(w))
  classes, obj = ref_seesaw(x, labels, cum)
  close(out, ((classes + obj) * w)[m].sum() / m.sum(), rtol=1e-5)


def test_seesaw_bad_inputs():
  x, labels, cum = _seesaw_data()
  with pytest.raises(LossInputError, match="^seesaw_loss: cum_samples has shape"):
    jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), jnp.zeros(7))
  with pytest.raises(LossInputError, match="^seesaw_loss: labels has shape"):
    jaxloss.seesaw_loss(f32(x), jnp.asarray(labels[:-1]), f32(cum))
  with pytest.raises(LossTypeError, match="labels must be an integer"):
    jaxloss.seesaw_loss(f32(x), f32(labels), f32(cum))
  with pytest.raises(LossInputError, match="C \\+ 2"):
    jaxloss.seesaw_loss(jnp.zeros((3, 2)), jnp.zeros(3, jnp.int32), jnp.zeros(1))
  with pytest.raises(LossInputError, match="p must be >= 0"):
    jaxloss.seesaw_loss(f32(x), jnp.asarray(labels), f32(cum), p=-1.0)


# ---------------------------------------------------------------------------
# GHM-C and GHM-R.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bins", [10, 4, 30])
def test_ghmc_matches_mmdet(bins):
  x = RNG.normal(0, 3, (16, 5))
  y = (RNG.uniform(size=(16, 5)) < 0.3).astype(float)
  ref, _, w = ref_ghmc(x, y, bins=bins)
  close(jaxloss.ghm_c_loss(f32(x), f32(y), bins=bins), ref, rtol=1e-5)
  bce = np.logaddexp(0, x) - x * y
  close(jaxloss.ghm_c_loss(f32(x), f32(y), bins=bins, reduction="none"), bce * w, rtol=1e-5,
        atol=1e-6)


def test_ghmc_integer_labels_are_one_hot_with_background():
  x = RNG.normal(0, 2, (10, 4))
  labels = RNG.integers(0, 5, 10)           # 4: background (all-negative row)
  y = np.eye(5)[labels][:, :4]
  close(jaxloss.ghm_c_loss(f32(x), jnp.asarray(labels)), ref_ghmc(x, y)[0], rtol=1e-5)


def test_ghmc_gradient_has_detached_weights():
  x = RNG.normal(0, 3, (16, 5))
  y = (RNG.uniform(size=(16, 5)) < 0.3).astype(float)
  _, tot, w = (lambda r: (r[0], x.size, r[2]))(ref_ghmc(x, y))
  g = jax.grad(lambda a: jaxloss.ghm_c_loss(a, f32(y)))(f32(x))
  close(g, w * (sig(x) - y) / tot, rtol=1e-4, atol=1e-7)


def test_ghm_momentum_state_matches_mmdet_buffer():
  r = np.random.default_rng(3)
  acc_ref = np.zeros(10)
  acc = jnp.zeros(10)
  for _ in range(3):     # three steps of the moving average, as mmdet's buffer evolves
    x = r.normal(0, 3, (12, 3))
    y = (r.uniform(size=(12, 3)) < 0.4).astype(float)
    ref, acc_ref, _ = ref_ghmc(x, y, mmt=0.75, acc=acc_ref)
    out, acc = jaxloss.ghm_c_loss(f32(x), f32(y), momentum=0.75, acc_sum=acc,
                                  return_acc_sum=True)
    close(out, ref, rtol=1e-5)
    close(acc, acc_ref, rtol=1e-5)
  acc_ref = np.zeros(10)
  acc = jnp.zeros(10)
  for _ in range(2):
    p = r.normal(0, 0.1, (8, 4))
    t = r.normal(0, 0.1, (8, 4))
    ref, acc_ref, _ = ref_ghmr(p, t, mmt=0.5, acc=acc_ref)
    out, acc = jaxloss.ghm_r_loss(f32(p), f32(t), momentum=0.5, acc_sum=acc,
                                  return_acc_sum=True)
    close(out, ref, rtol=1e-5)
    close(acc, acc_ref, rtol=1e-5)
  # momentum = 0: the accumulator is this batch's counts and does not change the loss
  out0 = jaxloss.ghm_r_loss(f32(p), f32(t), acc_sum=jnp.full(10, 7.0))
  close(out0, ref_ghmr(p, t)[0], rtol=1e-5)


@pytest.mark.parametrize("mu,bins", [(0.02, 10), (0.5, 5)])
def test_ghmr_matches_mmdet(mu, bins):
  p = RNG.normal(0, 0.2, (16, 4))
  t = RNG.normal(0, 0.2, (16, 4))
  ref, _, w = ref_ghmr(p, t, mu=mu, bins=bins)
  close(jaxloss.ghm_r_loss(f32(p), f32(t), mu=mu, bins=bins), ref, rtol=1e-5)
  d = p - t
  asl1 = np.sqrt(d * d + mu * mu) - mu
  close(jaxloss.ghm_r_loss(f32(p), f32(t), mu=mu, bins=bins, reduction="none"), asl1 * w,
        rtol=1e-4, atol=1e-7)
  g = jax.grad(lambda a: jaxloss.ghm_r_loss(a, f32(t), mu=mu, bins=bins))(f32(p))
  close(g, w * d / np.sqrt(d * d + mu * mu) / d.size, rtol=1e-4, atol=1e-7)


def test_ghm_where_masks_density_and_loss():
  x = RNG.normal(0, 3, (8, 4))
  y = (RNG.uniform(size=(8, 4)) < 0.3).astype(float)
  m = RNG.uniform(size=(8, 4)) < 0.6
  xn = np.where(m, x, np.nan)
  close(jaxloss.ghm_c_loss(f32(xn), f32(y), where=jnp.asarray(m)), ref_ghmc(x, y, m)[0],
        rtol=1e-5)
  p = RNG.normal(0, 0.1, (8, 4))
  t = RNG.normal(0, 0.1, (8, 4))
  close(jaxloss.ghm_r_loss(f32(np.where(m, p, np.inf)), f32(t), where=jnp.asarray(m)),
        ref_ghmr(p, t, m)[0], rtol=1e-5)
  # nothing unmasked: 0, finite gradient
  v, g = jax.value_and_grad(lambda a: jaxloss.ghm_c_loss(a, f32(y), where=jnp.zeros((8, 4),
                                                                                     bool)))(f32(x))
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)


def test_ghm_edges():
  y = (RNG.uniform(size=(8, 4)) < 0.3).astype(float)
  perfect = np.where(y > 0, 1e4, -1e4)
  for xs in (perfect, -perfect, RNG.normal(0, 1, (8, 4)) * 1e4):
    v, g = jax.value_and_grad(lambda a: jaxloss.ghm_c_loss(a, f32(y)))(f32(xs))
    chex.assert_tree_all_finite((v, g))
  # no positive at all, and every entry in one bin
  v, g = jax.value_and_grad(lambda a: jaxloss.ghm_c_loss(a, jnp.zeros((8, 4))))(f32(perfect))
  chex.assert_tree_all_finite((v, g))
  x = RNG.normal(0, 2, (8, 4))
  close(jaxloss.ghm_c_loss(f32(x), jnp.zeros((8, 4))), ref_ghmc(x, np.zeros((8, 4)))[0],
        rtol=1e-5)
  # every entry in one bin: the loss is the mean BCE
  v = jaxloss.ghm_c_loss(f32(perfect), f32(y))
  assert abs(float(v)) < 1e-6
  t = RNG.normal(0, 1, (8, 4))
  for p in (t, t + 1e4, t + 1e20, t + 1e-8):
    v, g = jax.value_and_grad(lambda a: jaxloss.ghm_r_loss(a, f32(t)))(f32(p))
    chex.assert_tree_all_finite((v, g))
  assert float(jaxloss.ghm_r_loss(f32(t), f32(t))) == 0.0
  # bfloat16 inputs: float32 result
  out = jaxloss.ghm_c_loss(f32(perfect).astype(jnp.bfloat16), f32(y).astype(jnp.bfloat16))
  assert out.dtype == jnp.float32


def test_ghm_bad_inputs():
  with pytest.raises(LossInputError, match="^ghm_c_loss: bins must be a positive int"):
    jaxloss.ghm_c_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), bins=0)
  with pytest.raises(LossInputError, match="^ghm_c_loss: acc_sum has shape"):
    jaxloss.ghm_c_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), momentum=0.5, acc_sum=jnp.zeros(3))
  with pytest.raises(LossInputError, match="momentum must be"):
    jaxloss.ghm_c_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), momentum=1.0)
  with pytest.raises(LossInputError, match="^ghm_c_loss: labels has shape"):
    jaxloss.ghm_c_loss(jnp.zeros((2, 3)), jnp.zeros((2, 2)))
  with pytest.raises(LossInputError, match="^ghm_r_loss: targets has shape"):
    jaxloss.ghm_r_loss(jnp.zeros((2, 3)), jnp.zeros((2, 2)))
  with pytest.raises(LossInputError, match="mu must be > 0"):
    jaxloss.ghm_r_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), mu=0.0)
