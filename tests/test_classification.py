"""Tests of jaxloss.classification against independent float64 NumPy/SciPy references.

The references below are written from the papers and from the peers' documented
formulas / kernels (torch LossNLL.cpp, LossMultiMargin.cpp, torchvision
sigmoid_focal_loss, MONAI softmax_focal_loss), never from jaxloss.
"""

import chex
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental import checkify
from jax.test_util import check_grads
from scipy import special
from scipy.spatial import distance

import jaxloss
from jaxloss import LossInputError, LossTypeError

RNG = np.random.default_rng(0)
F32 = dict(rtol=1e-5, atol=1e-6)


def _logits(shape, scale=2.0, seed=0):
  return np.random.default_rng(seed).normal(size=shape) * scale


def _labels(shape, c, seed=1):
  return np.random.default_rng(seed).integers(0, c, size=shape)


# --------------------------------------------------------------------------
# NumPy references (float64).
# --------------------------------------------------------------------------


def ref_ce_int(z, y, w=None, ignore=-100, eps=0.0, reduction="mean"):
  """torch.nn.functional.cross_entropy, integer targets, classes last."""
  c = z.shape[-1]
  logp = special.log_softmax(z, axis=-1)
  w = np.ones(c) if w is None else np.asarray(w, np.float64)
  keep = y != ignore
  yc = np.where(keep, y, 0)
  wy = w[yc] * keep
  nll = -np.take_along_axis(logp, yc[..., None], -1)[..., 0] * wy
  smooth = -(logp * w).sum(-1) * keep
  if reduction == "none":
    return (1 - eps) * nll + eps / c * smooth
  if reduction == "sum":
    return (1 - eps) * nll.sum() + eps / c * smooth.sum()
  return ((1 - eps) * nll.sum() + eps / c * smooth.sum()) / wy.sum()


def ref_ce_soft(z, t, w=None, eps=0.0, reduction="mean"):
  c = z.shape[-1]
  logp = special.log_softmax(z, axis=-1)
  t = t * (1 - eps) + eps / c
  w = np.ones(c) if w is None else w
  loss = -(logp * t * w).sum(-1)
  return {"none": loss, "sum": loss.sum(), "mean": loss.sum() / loss.size}[reduction]


def ref_bce_logits(x, y, pw=None):
  pw = 1.0 if pw is None else pw
  lw = (pw - 1) * y + 1
  return (1 - y) * x + lw * (np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0))


def ref_sigmoid_focal(x, y, alpha=0.25, gamma=2.0):
  p = special.expit(x)
  ce = ref_bce_logits(x, y)
  p_t = p * y + (1 - p) * (1 - y)
  loss = ce * (1 - p_t) ** gamma
  if alpha >= 0:
    loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
  return loss


def ref_softmax_focal(z, onehot, gamma=2.0, alpha=None):
  """MONAI softmax_focal_loss (classes last), summed over classes."""
  ls = special.log_softmax(z, axis=-1)
  loss = -(1 - np.exp(ls)) ** gamma * ls * onehot
  if alpha is not None:
    a = np.asarray(alpha, np.float64)
    if a.ndim == 0:
      a = np.array([1 - a] + [a] * (z.shape[-1] - 1))
    loss = a * loss
  return loss.sum(-1)


def ref_multi_margin(x, y, p=1, margin=1.0, w=None):
  n, c = x.shape
  out = np.zeros(n)
  for i in range(n):
    s = 0.0
    for d in range(c):
      if d == y[i]:
        continue
      zz = margin - x[i, y[i]] + x[i, d]
      if zz > 0:
        h = zz if p == 1 else zz * zz
        if w is not None:
          h *= w[y[i]]
        s += h
    out[i] = s / c
  return out


def _f64(x):
  return np.asarray(x, np.float64)


# --------------------------------------------------------------------------
# cross_entropy / nll_loss / weighted / balanced.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.15])
@pytest.mark.parametrize("with_ignore", [False, True])
def test_cross_entropy_matches_torch_rule(weighted, eps, with_ignore):
  z = _logits((12, 5))
  y = _labels((12,), 5)
  if with_ignore:
    y[[1, 4, 7]] = -100
  w = np.array([0.3, 1.0, 2.5, 0.7, 1.2]) if weighted else None
  kw = dict(label_smoothing=eps, class_weights=None if w is None else jnp.asarray(w, jnp.float32))
  for red in ("none", "sum", "mean"):
    got = jaxloss.cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y), reduction=red, **kw)
    np.testing.assert_allclose(got, ref_ce_int(z, y, w, eps=eps, reduction=red), **F32)
  # weighted_cross_entropy is the same function with required class weights.
  if weighted:
    got = jaxloss.weighted_cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y), **kw)
    np.testing.assert_allclose(got, ref_ce_int(z, y, w, eps=eps), **F32)


def ref_z_loss_rows(z, c):
  """PaLM / t5x z-loss per entry: c * logsumexp(z)^2 (float64)."""
  return c * special.logsumexp(np.asarray(z, np.float64), axis=-1) ** 2


@pytest.mark.parametrize("soft", [False, True])
def test_cross_entropy_z_loss_matches_reference(soft):
  z = _logits((12, 5)) + 3.0   # an offset, so log Z is far from 0
  y = _labels((12,), 5)
  y[[2, 5]] = -100
  t = special.softmax(_logits((12, 5), seed=3), axis=-1)
  w = np.array([0.3, 1.0, 2.5, 0.7, 1.2])
  c = 1e-2
  keep = y != -100
  for red in ("none", "sum", "mean"):
    if soft:
      got = jaxloss.cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(t, jnp.float32),
                                  z_loss=c, reduction=red, return_components=True)
      ce, zr = ref_ce_soft(z, t, reduction="none"), ref_z_loss_rows(z, c)
      den = z.shape[0]
    else:
      got = jaxloss.cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y),
                                  class_weights=jnp.asarray(w, jnp.float32), z_loss=c,
                                  reduction=red, return_components=True)
      ce = ref_ce_int(z, y, w, reduction="none")
      zr = np.where(keep, ref_z_loss_rows(z, c), 0.0)
      den = w[np.where(keep, y, 0)][keep].sum()   # torch's weighted-mean denominator
    red_fn = {"none": lambda x: x, "sum": np.sum, "mean": lambda x, den=den: np.sum(x) / den}[red]
    total, parts = got
    np.testing.assert_allclose(total, red_fn(ce + zr), **F32)
    np.testing.assert_allclose(parts["cross_entropy"], red_fn(ce), **F32)
    np.testing.assert_allclose(parts["z_loss"], red_fn(zr), **F32)


def test_cross_entropy_z_loss_gradient_and_default_path():
  z = jnp.asarray(_logits((6, 4)) + 2.0, jnp.float32)
  y = jnp.asarray(_labels((6,), 4))
  c = 0.05
  # d/dz [c L^2] = 2 c L softmax(z): added to the CE gradient.
  g = jax.grad(lambda x: jaxloss.cross_entropy(x, y, z_loss=c, reduction="sum"))(z)
  g0 = jax.grad(lambda x: jaxloss.cross_entropy(x, y, reduction="sum"))(z)
  zz = np.asarray(z, np.float64)
  lse = special.logsumexp(zz, axis=-1, keepdims=True)
  np.testing.assert_allclose(g - g0, 2 * c * lse * special.softmax(zz, -1), rtol=1e-4, atol=1e-6)
  check_grads(lambda x: jaxloss.cross_entropy(x, y, z_loss=c), (z,), order=1,
              modes=["rev"], atol=1e-2, rtol=1e-2)
  # Traced z_loss (under jit, even 0.0) gives the same as the untraced default.
  f = jax.jit(lambda x, c: jaxloss.cross_entropy(x, y, z_loss=c))
  np.testing.assert_allclose(f(z, 0.0), jaxloss.cross_entropy(z, y), rtol=1e-6)
  # The untraced default traces no z-loss arithmetic (fewer equations than a traced 0.0).
  def count(jaxpr):
    return sum(1 + sum(count(j) for j in jax.extend.core.jaxprs_in_params(e.params))
               for e in jaxpr.eqns)
  n_default = count(jax.make_jaxpr(lambda x: jaxloss.cross_entropy(x, y))(z).jaxpr)
  n_traced = count(jax.make_jaxpr(lambda x: jaxloss.cross_entropy(x, y, z_loss=0.0))(z).jaxpr)
  assert n_default < n_traced, (n_default, n_traced)
  # The linear (fused) cross-entropy has the same z-loss.
  h = jnp.asarray(_logits((6, 3), seed=5), jnp.float32)
  wt = jnp.asarray(_logits((4, 3), seed=6), jnp.float32)
  np.testing.assert_allclose(
      jaxloss.linear_cross_entropy(h, wt, y, z_loss=c),
      jaxloss.cross_entropy(h @ wt.T, y, z_loss=c), rtol=1e-5)
  with pytest.raises(LossInputError, match="z_loss"):
    jaxloss.cross_entropy(z, y, z_loss=-1.0)


def test_weighted_mean_differs_from_plain_mean_and_batch_of_one():
  z, y = _logits((6, 3)), _labels((6,), 3)
  w = jnp.array([1.0, 5.0, 0.2])
  none = jaxloss.cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y), class_weights=w,
                               reduction="none")
  mean = jaxloss.cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y), class_weights=w)
  np.testing.assert_allclose(mean, np.sum(none) / np.sum(np.asarray(w)[y]), rtol=1e-5)
  assert abs(float(mean) - float(np.mean(none))) > 1e-3
  # Batch of one: the class weight cancels (torch's documented behaviour).
  one = jaxloss.cross_entropy(jnp.asarray(z[:1], jnp.float32), jnp.asarray(y[:1]), class_weights=w)
  plain = jaxloss.cross_entropy(jnp.asarray(z[:1], jnp.float32), jnp.asarray(y[:1]))
  np.testing.assert_allclose(one, plain, rtol=1e-6)


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_soft_targets_with_class_weights(eps):
  z = _logits((7, 4))
  t = special.softmax(_logits((7, 4), seed=3), axis=-1)
  w = np.array([0.5, 2.0, 1.0, 0.1])
  for red in ("none", "sum", "mean"):
    got = jaxloss.cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(t, jnp.float32),
                                class_weights=jnp.asarray(w, jnp.float32), label_smoothing=eps,
                                reduction=red)
    np.testing.assert_allclose(got, ref_ce_soft(z, t, w, eps, red), **F32)


def test_one_hot_equals_integer_labels():
  z, y = _logits((9, 6)), _labels((9,), 6)
  zi = jnp.asarray(z, jnp.float32)
  a = jaxloss.cross_entropy(zi, jnp.asarray(y), label_smoothing=0.1, reduction="none")
  b = jaxloss.cross_entropy(zi, jax.nn.one_hot(y, 6), label_smoothing=0.1, reduction="none")
  np.testing.assert_allclose(a, b, **F32)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 2, 3, 2, 4)])
def test_pixelwise_equals_flattened(shape):
  c = shape[-1]
  z = jnp.asarray(_logits(shape), jnp.float32)
  y = _labels(shape[:-1], c)
  y.flat[[0, 5]] = -100
  w = jnp.linspace(0.5, 2.0, c)
  kw = dict(class_weights=w, label_smoothing=0.1)
  full = jaxloss.cross_entropy(z, jnp.asarray(y), reduction="none", **kw)
  assert full.shape == shape[:-1]
  flat = jaxloss.cross_entropy(z.reshape(-1, c), jnp.asarray(y).reshape(-1), reduction="none",
                               **kw)
  np.testing.assert_allclose(full.reshape(-1), flat, **F32)
  np.testing.assert_allclose(
      jaxloss.cross_entropy(z, jnp.asarray(y), **kw),
      jaxloss.cross_entropy(z.reshape(-1, c), jnp.asarray(y).reshape(-1), **kw), rtol=1e-6)
  np.testing.assert_allclose(jaxloss.cross_entropy(z, jnp.asarray(y), **kw),
                             ref_ce_int(_f64(z), y, _f64(w), eps=0.1), **F32)


def test_pixel_weight_map_is_weights():
  """A per-pixel weight map (formerly ``weight_map=``) is ``weights``, shape (B, H, W)."""
  z = _logits((2, 3, 4, 5))
  y = _labels((2, 3, 4), 5)
  y.flat[[0, 7]] = -100
  wmap = np.random.default_rng(3).uniform(0.1, 3.0, size=(2, 3, 4))
  cw = np.array([0.3, 1.0, 2.5, 0.7, 1.2])
  zj, yj, wj = jnp.asarray(z, jnp.float32), jnp.asarray(y), jnp.asarray(wmap, jnp.float32)
  # Integer labels: the map scales each pixel; torch's weighted-mean denominator
  # sum_i w_{y_i} is unchanged (U-Net's sum(w * l) / N without class weights).
  keep = y != -100
  wy = cw[np.where(keep, y, 0)] * keep
  got = jaxloss.cross_entropy(zj, yj, class_weights=jnp.asarray(cw, jnp.float32), weights=wj)
  np.testing.assert_allclose(got, np.sum(wmap * ref_ce_int(z, y, cw, reduction="none"))
                             / wy.sum(), **F32)
  np.testing.assert_allclose(jaxloss.cross_entropy(zj, yj, weights=wj, reduction="none"),
                             wmap * ref_ce_int(z, y, reduction="none"), **F32)
  np.testing.assert_allclose(jaxloss.cross_entropy(zj, yj, weights=wj),
                             np.sum(wmap * ref_ce_int(z, y, reduction="none")) / keep.sum(),
                             **F32)
  # Soft (B, H, W, C) targets take the same (B, H, W) map.
  t = special.softmax(_logits((2, 3, 4, 5), seed=4), -1)
  tj = jnp.asarray(t, jnp.float32)
  np.testing.assert_allclose(jaxloss.cross_entropy(zj, tj, weights=wj),
                             np.mean(wmap * ref_ce_soft(z, t, reduction="none")), **F32)
  # A per-image weight times the pixel map (what weights= and weight_map= together gave).
  per_image = np.array([0.5, 2.0])[:, None, None]
  np.testing.assert_allclose(
      jaxloss.cross_entropy(zj, yj, weights=jnp.asarray(per_image * wmap, jnp.float32)),
      np.sum(per_image * wmap * ref_ce_int(z, y, reduction="none")) / keep.sum(), **F32)
  # Focal loss, integer and soft labels.
  yf = _labels((2, 3, 4), 5, seed=5)
  for lab, dense in ((jnp.asarray(yf), np.eye(5)[yf]), (tj, t)):
    np.testing.assert_allclose(jaxloss.focal_loss(zj, lab, weights=wj),
                               np.mean(wmap * ref_softmax_focal(z, dense)), **F32)
  # Sigmoid BCE on (B, H, W) logits.
  x, b = z[..., 0], (yf == 1).astype(np.float64)
  np.testing.assert_allclose(
      jaxloss.binary_cross_entropy(jnp.asarray(x, jnp.float32), jnp.asarray(b, jnp.float32),
                                   weights=wj),
      np.mean(wmap * ref_bce_logits(x, b)), **F32)
  # The old name is gone (no deprecated aliases); a map of the wrong shape is named.
  with pytest.raises(TypeError, match="weight_map"):
    jaxloss.cross_entropy(zj, yj, weight_map=wj)
  with pytest.raises(LossInputError, match="focal_loss: weights has shape"):
    jaxloss.focal_loss(zj, yj, weights=jnp.ones((2, 3, 5)))


def test_class_axis_option_nchw():
  z = jnp.asarray(_logits((2, 4, 3, 3)), jnp.float32)   # N, C, H, W
  y = jnp.asarray(_labels((2, 3, 3), 4))
  a = jaxloss.cross_entropy(z, y, axis=1, reduction="none")
  b = jaxloss.cross_entropy(jnp.moveaxis(z, 1, -1), y, reduction="none")
  np.testing.assert_allclose(a, b, rtol=1e-6)


def test_where_equals_filtering():
  z, y = _logits((10, 4)), _labels((10,), 4)
  keep = RNG.random(10) > 0.4
  w = jnp.array([1.0, 2.0, 3.0, 0.5])
  got = jaxloss.cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y), where=keep,
                              class_weights=w)
  np.testing.assert_allclose(got, ref_ce_int(z[keep], y[keep], np.asarray(w)), **F32)


def test_nll_loss_matches_reference():
  z, y = _logits((8, 5)), _labels((8,), 5)
  y[2] = -100
  w = np.array([1.0, 0.5, 2.0, 1.5, 0.7])
  logp = jnp.asarray(special.log_softmax(z, -1), jnp.float32)
  for red in ("none", "sum", "mean"):
    got = jaxloss.nll_loss(logp, jnp.asarray(y), class_weights=jnp.asarray(w, jnp.float32),
                           reduction=red)
    np.testing.assert_allclose(got, ref_ce_int(z, y, w, reduction=red), **F32)


def test_balanced_weights_are_sklearn_balanced():
  z, y = _logits((20, 4)), _labels((20,), 3)   # class 3 absent
  y[0] = -100
  keep = y != -100
  counts = np.bincount(y[keep], minlength=4).astype(float)
  present = counts > 0
  w = np.where(present, keep.sum() / (present.sum() * np.maximum(counts, 1)), 0.0)
  got = jaxloss.balanced_cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y),
                                       reduction="none")
  np.testing.assert_allclose(got, ref_ce_int(z, y, w, reduction="none"), **F32)
  # sum_i w_{y_i} = N: torch's weighted mean is the plain mean over kept entries.
  mean = jaxloss.balanced_cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y))
  np.testing.assert_allclose(mean, np.sum(got) / keep.sum(), rtol=1e-5)


def test_balanced_binary_is_proportional_to_beta_form():
  z, y = _logits((16, 2)), (RNG.random(16) < 0.25).astype(int)
  beta = np.mean(y == 0)            # weight of positives (Xie & Tu 2015)
  ref = ref_ce_int(z, y, np.array([1 - beta, beta]), reduction="none")
  got = np.asarray(jaxloss.balanced_cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y),
                                                  reduction="none"))
  ratio = got / ref
  np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)


def test_balanced_gradient_treats_weights_as_constants():
  with jax.enable_x64(True):
    z, y = jnp.asarray(_logits((10, 3))), jnp.asarray(_labels((10,), 3))
    check_grads(lambda a: jaxloss.balanced_cross_entropy(a, y), (z,), order=1, modes=["rev"])
    t = jax.nn.softmax(jnp.asarray(_logits((10, 3), seed=5)))
    check_grads(lambda a: jaxloss.balanced_cross_entropy(a, t), (z,), order=1, modes=["rev"])


# --------------------------------------------------------------------------
# Softmax CE hard cases (user-pitfalls).
# --------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [1e6, -1e6, 1e8])
def test_uniform_logits_at_huge_offsets_give_log_c(offset):
  z = jnp.full((3, 7), offset, jnp.float32)
  y = jnp.array([0, 3, 6])
  out = jaxloss.cross_entropy(z, y, reduction="none")
  np.testing.assert_allclose(out, np.log(7.0), rtol=2e-7)
  g = jax.grad(lambda a: jaxloss.cross_entropy(a, y))(z)
  chex.assert_tree_all_finite(g)


def test_offset_invariance_of_value_and_grad():
  z = jnp.asarray(_logits((4, 5)), jnp.float32)
  y = jnp.asarray(_labels((4,), 5))
  f = lambda a: jaxloss.cross_entropy(a, y)
  np.testing.assert_allclose(f(z + 1e3), f(z), rtol=1e-3)
  np.testing.assert_allclose(jax.grad(f)(z + 1e3), jax.grad(f)(z), atol=1e-3)


def test_neg_inf_non_target_logits():
  z = jnp.array([[2.0, -jnp.inf, 0.0], [-jnp.inf, 1.0, -jnp.inf]])
  y = jnp.array([0, 1])
  for labels in (y, jax.nn.one_hot(y, 3)):
    v, g = jax.value_and_grad(lambda a, lab=labels: jaxloss.cross_entropy(a, lab))(z)
    ref = (np.log(np.exp(2.0) + 1.0) - 2.0 + 0.0) / 2
    np.testing.assert_allclose(v, ref, rtol=1e-6)
    chex.assert_tree_all_finite(g)
    assert float(g[0, 1]) == 0.0
  # Focal and poly-1 too.
  for fn in (jaxloss.focal_loss, jaxloss.poly1_cross_entropy):
    v, g = jax.value_and_grad(lambda a, f=fn: f(a, jax.nn.one_hot(y, 3)))(z)
    chex.assert_tree_all_finite((v, g))


def test_all_ignored_is_zero_with_zero_gradient():
  z = jnp.asarray(_logits((5, 3)), jnp.float32)
  y = jnp.full((5,), -100)
  for kw in ({}, {"class_weights": jnp.array([1.0, 2.0, 3.0]), "label_smoothing": 0.1}):
    v, g = jax.value_and_grad(lambda a, k=kw: jaxloss.cross_entropy(a, y, **k))(z)
    assert float(v) == 0.0
    assert np.all(np.asarray(g) == 0.0)
  v, g = jax.value_and_grad(lambda a: jaxloss.balanced_cross_entropy(a, y))(z)
  assert float(v) == 0.0 and np.all(np.asarray(g) == 0.0)


def test_label_smoothing_ignore_index_and_weights_together():
  z, y = _logits((9, 4)), _labels((9,), 4)
  y[[0, 3]] = -100
  w = np.array([2.0, 0.5, 1.0, 3.0])
  got = jaxloss.cross_entropy(jnp.asarray(z, jnp.float32), jnp.asarray(y), label_smoothing=0.3,
                              class_weights=jnp.asarray(w, jnp.float32), reduction="none")
  np.testing.assert_allclose(got, ref_ce_int(z, y, w, eps=0.3, reduction="none"), **F32)
  assert float(got[0]) == 0.0 and float(got[3]) == 0.0


def test_bfloat16_logits_are_not_quantised():
  # Loss ~36: the bf16 grid there is 0.25 wide; we compute in float32.
  z = jnp.zeros((2, 4), jnp.float32).at[:, 0].set(-36.0)
  y = jnp.array([0, 0])
  out = jaxloss.cross_entropy(z.astype(jnp.bfloat16), y, reduction="none")
  assert out.dtype == jnp.float32
  ref = ref_ce_int(np.asarray(z, np.float64), np.asarray(y), reduction="none")
  np.testing.assert_allclose(out, ref, rtol=1e-6)
  z2 = jnp.asarray(_logits((6, 5), 200.0), jnp.bfloat16)   # |logit| up to ~640
  v, g = jax.value_and_grad(lambda a: jaxloss.cross_entropy(a, jnp.arange(6) % 5))(z2)
  chex.assert_tree_all_finite((v, g))
  np.testing.assert_allclose(v, ref_ce_int(_f64(z2.astype(jnp.float32)), np.arange(6) % 5),
                             rtol=1e-5)


def test_out_of_range_label_raises_under_checkify():
  z = jnp.zeros((2, 3))
  f = checkify.checkify(lambda y: jaxloss.cross_entropy(z, y), errors=checkify.user_checks)
  err, _ = f(jnp.array([0, 3]))
  with pytest.raises(checkify.JaxRuntimeError, match="labels must be class ids"):
    err.throw()
  err, _ = f(jnp.array([0, -100]))
  err.throw()   # ignore_index is fine


def test_cross_entropy_gradients_finite_differences():
  with jax.enable_x64(True):
    z = jnp.asarray(_logits((6, 4)))
    y = jnp.asarray(_labels((6,), 4)).at[1].set(-100)
    w = jnp.array([0.5, 1.0, 2.0, 1.5])
    check_grads(lambda a: jaxloss.cross_entropy(a, y, class_weights=w, label_smoothing=0.2),
                (z,), order=1, modes=["rev"])
    t = jax.nn.softmax(jnp.asarray(_logits((6, 4), seed=9)))
    check_grads(lambda a, b: jaxloss.cross_entropy(a, b, class_weights=w), (z, t), order=1,
                modes=["rev"])
    logp = jax.nn.log_softmax(z)
    check_grads(lambda a: jaxloss.nll_loss(a, y, class_weights=w), (logp,), order=1,
                modes=["rev"])


# --------------------------------------------------------------------------
# Focal / poly-1.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("alpha", [None, 0.25, "vector"])
def test_softmax_focal_matches_monai_formula(gamma, alpha):
  z, y = _logits((10, 4)), _labels((10,), 4)
  a = np.array([0.1, 0.4, 0.3, 0.2]) if alpha == "vector" else alpha
  ref = ref_softmax_focal(z, np.eye(4)[y], gamma, a)
  ja = None if a is None else jnp.asarray(a, jnp.float32)
  zi = jnp.asarray(z, jnp.float32)
  got = jaxloss.focal_loss(zi, jnp.asarray(y), gamma=gamma, alpha=ja, reduction="none")
  np.testing.assert_allclose(got, ref, **F32)
  t = special.softmax(_logits((10, 4), seed=4), -1)
  got = jaxloss.focal_loss(zi, jnp.asarray(t, jnp.float32), gamma=gamma, alpha=ja,
                           reduction="none")
  np.testing.assert_allclose(got, ref_softmax_focal(z, t, gamma, a), **F32)


def test_focal_gamma_zero_is_cross_entropy():
  z, y = jnp.asarray(_logits((6, 3)), jnp.float32), jnp.asarray(_labels((6,), 3))
  np.testing.assert_allclose(jaxloss.focal_loss(z, y, gamma=0.0), jaxloss.cross_entropy(z, y),
                             rtol=1e-6)


@pytest.mark.parametrize("gamma", [0, 0.0, 0.5, 2])
def test_focal_saturated_gradients_are_finite(gamma):
  y = jnp.array([0, 1, 2])
  perfect = jax.nn.one_hot(y, 3) * 1e4
  for z in (perfect, -perfect):
    for lab in (y, jax.nn.one_hot(y, 3)):
      v, g = jax.value_and_grad(lambda a, lab=lab: jaxloss.focal_loss(a, lab, gamma=gamma))(z)
      chex.assert_tree_all_finite((v, g))
  v, g = jax.value_and_grad(lambda a: jaxloss.focal_loss(a, y, gamma=gamma))(perfect)
  assert float(v) == 0.0
  # int 0 and float 0.0 give the same value and gradient (optax#1267).
  g0 = jax.grad(lambda a: jaxloss.focal_loss(a, y, gamma=0))(perfect * 1e-3)
  g00 = jax.grad(lambda a: jaxloss.focal_loss(a, y, gamma=0.0))(perfect * 1e-3)
  np.testing.assert_array_equal(g0, g00)


def test_focal_gradients_finite_differences():
  with jax.enable_x64(True):
    z, y = jnp.asarray(_logits((5, 4))), jnp.asarray(_labels((5,), 4))
    for gamma in (0.5, 2.0):
      check_grads(lambda a, g=gamma: jaxloss.focal_loss(a, y, gamma=g, alpha=0.3), (z,), order=1,
                  modes=["rev"])
    t = jax.nn.softmax(jnp.asarray(_logits((5, 4), seed=2)))
    check_grads(lambda a: jaxloss.focal_loss(a, t, gamma=1.5), (z,), order=1, modes=["rev"])
    check_grads(lambda a: jaxloss.poly1_cross_entropy(a, y), (z,), order=1, modes=["rev"])


def test_poly1_matches_optax_definition():
  z, y = _logits((8, 5)), _labels((8,), 5)
  oh = np.eye(5)[y]
  ref = ref_ce_soft(z, oh, reduction="none") + 2.0 * (1 - (oh * special.softmax(z, -1)).sum(-1))
  zi = jnp.asarray(z, jnp.float32)
  np.testing.assert_allclose(jaxloss.poly1_cross_entropy(zi, jnp.asarray(y), reduction="none"),
                             ref, **F32)
  np.testing.assert_allclose(
      jaxloss.poly1_cross_entropy(zi, jnp.asarray(oh, jnp.float32), epsilon=-0.5,
                                  reduction="none"),
      ref - 2.5 * (1 - (oh * special.softmax(z, -1)).sum(-1)), **F32)


# --------------------------------------------------------------------------
# Binary losses.
# --------------------------------------------------------------------------


def test_binary_cross_entropy_with_pos_weight():
  x = _logits((6, 3))
  y = RNG.random((6, 3))
  y[:3] = np.round(y[:3])
  pw = np.array([1.0, 3.0, 0.5])
  got = jaxloss.binary_cross_entropy(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32),
                                     pos_weight=jnp.asarray(pw, jnp.float32), reduction="none")
  np.testing.assert_allclose(got, ref_bce_logits(x, y, pw), **F32)
  np.testing.assert_allclose(
      jaxloss.binary_cross_entropy(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)),
      ref_bce_logits(x, y).mean(), **F32)


@pytest.mark.parametrize("big", [100.0, 1e4, np.inf])
def test_bce_and_sigmoid_focal_saturated(big):
  y = jnp.array([1.0, 0.0])
  correct = jnp.array([big, -big], jnp.float32)
  for fn in (jaxloss.binary_cross_entropy, jaxloss.sigmoid_focal_loss):
    v, g = jax.value_and_grad(lambda a, f=fn: f(a, y, reduction="sum"))(correct)
    assert float(v) == 0.0
    np.testing.assert_array_equal(g, 0.0)
    wrong = jaxloss.binary_cross_entropy(-correct, y, reduction="none")
    assert not np.any(np.isnan(np.asarray(wrong)))
  if np.isfinite(big):
    np.testing.assert_allclose(jaxloss.binary_cross_entropy(-correct, y, reduction="none"), big)


@pytest.mark.parametrize("alpha", [0.25, -1.0, None])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_sigmoid_focal_matches_torchvision(alpha, gamma):
  x = _logits((5, 4))
  y = RNG.random((5, 4))
  y[:3] = np.round(y[:3])
  got = jaxloss.sigmoid_focal_loss(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32),
                                   alpha=alpha, gamma=gamma, reduction="none")
  ref = ref_sigmoid_focal(x, y, -1.0 if alpha is None else alpha, gamma)
  np.testing.assert_allclose(got, ref, **F32)


@pytest.mark.parametrize("gamma", [0, 0.0, 0.5, 2.0])
def test_sigmoid_focal_gamma_at_saturation(gamma):
  y = jnp.array([1.0, 0.0, 1.0, 0.0])
  x = jnp.array([1e3, -1e3, -1e3, 1e3])
  v, g = jax.value_and_grad(lambda a: jaxloss.sigmoid_focal_loss(a, y, gamma=gamma))(x)
  chex.assert_tree_all_finite((v, g))


def test_binary_gradients_finite_differences():
  with jax.enable_x64(True):
    x = jnp.asarray(_logits((4, 3)))
    y = jnp.asarray(RNG.random((4, 3)))
    pw = jnp.array([1.0, 2.0, 0.5])
    check_grads(lambda a: jaxloss.binary_cross_entropy(a, y, pos_weight=pw), (x,), order=1,
                modes=["rev"])
    for gamma in (0.5, 2.0):
      check_grads(lambda a, g=gamma: jaxloss.sigmoid_focal_loss(a, y, gamma=g), (x,), order=1,
                  modes=["rev"])
    p = jax.nn.sigmoid(x)
    check_grads(lambda a: jaxloss.binary_cross_entropy_from_probs(a, y), (p,), order=1,
                modes=["rev"], eps=1e-6)
    s = jnp.where(y > 0.5, 1.0, -1.0)
    check_grads(lambda a: jaxloss.logistic_loss(a, s), (x,), order=1, modes=["rev"])


def test_from_probs_matches_torch_and_clamp():
  p = RNG.uniform(0.01, 0.99, (5, 3))
  y = RNG.random((5, 3))
  ref = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))
  got = jaxloss.binary_cross_entropy_from_probs(jnp.asarray(p, jnp.float32),
                                                jnp.asarray(y, jnp.float32), reduction="none")
  np.testing.assert_allclose(got, ref, **F32)
  assert jaxloss.log_loss is jaxloss.binary_cross_entropy_from_probs
  edge_p = jnp.array([0.0, 1.0, 0.0, 1.0])
  edge_y = jnp.array([1.0, 0.0, 0.0, 1.0])
  v, g = jax.value_and_grad(lambda a: jaxloss.log_loss(a, edge_y, reduction="sum"))(edge_p)
  np.testing.assert_allclose(v, 200.0)
  chex.assert_tree_all_finite(g)
  # Same as BCE on logits away from the clamp.
  x = jnp.asarray(_logits((8,)), jnp.float32)
  yy = jnp.asarray(RNG.random(8), jnp.float32)
  np.testing.assert_allclose(jaxloss.log_loss(jax.nn.sigmoid(x), yy),
                             jaxloss.binary_cross_entropy(x, yy), rtol=1e-5)


def test_from_probs_value_check_under_checkify():
  f = checkify.checkify(lambda p: jaxloss.log_loss(p, jnp.ones(2)), errors=checkify.user_checks)
  err, _ = f(jnp.array([0.5, 1.5]))
  with pytest.raises(checkify.JaxRuntimeError, match="probabilities"):
    err.throw()


def test_logistic_and_hinge_family():
  s = _logits((6, 3))
  y = np.where(RNG.random((6, 3)) > 0.5, 1.0, -1.0)
  sj, yj = jnp.asarray(s, jnp.float32), jnp.asarray(y, jnp.float32)
  np.testing.assert_allclose(jaxloss.logistic_loss(sj, yj, reduction="none"),
                             np.logaddexp(0, -y * s), **F32)
  np.testing.assert_allclose(jaxloss.logistic_loss(sj, yj),
                             jaxloss.binary_cross_entropy(sj, (yj + 1) / 2), rtol=1e-6)
  hinge = np.maximum(0, 1 - y * s)
  np.testing.assert_allclose(jaxloss.hinge_loss(sj, yj, reduction="none"), hinge, **F32)
  np.testing.assert_allclose(jaxloss.squared_hinge_loss(sj, yj, reduction="none"), hinge ** 2,
                             **F32)
  f = checkify.checkify(lambda lab: jaxloss.hinge_loss(sj, lab), errors=checkify.user_checks)
  err, _ = f(jnp.abs(yj) * 0.0)
  with pytest.raises(checkify.JaxRuntimeError, match="labels must take values"):
    err.throw()


def test_shared_argument_names():
  """Scores are ``logits`` and probabilities ``probabilities``, by keyword too."""
  s = jnp.asarray(_logits((6, 3)), jnp.float32)
  y = jnp.where(s > 0.3, 1.0, -1.0)
  for fn in (jaxloss.hinge_loss, jaxloss.squared_hinge_loss, jaxloss.logistic_loss):
    np.testing.assert_allclose(fn(logits=s, labels=y), fn(s, y), rtol=1e-6)
    with pytest.raises(TypeError, match="scores"):
      fn(scores=s, labels=y)
  ids = jnp.asarray(_labels((6,), 3))
  np.testing.assert_allclose(jaxloss.multiclass_hinge_loss(logits=s, labels=ids),
                             jaxloss.multiclass_hinge_loss(s, ids), rtol=1e-6)
  p, b = jax.nn.sigmoid(s), (y + 1) / 2
  np.testing.assert_allclose(jaxloss.binary_cross_entropy_from_probs(probabilities=p, labels=b),
                             jaxloss.log_loss(p, b), rtol=1e-6)
  with pytest.raises(TypeError, match="probs"):
    jaxloss.log_loss(probs=p, labels=b)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_multiclass_hinge_matches_torch_kernel(p, weighted):
  x, y = _logits((9, 5), 0.7), _labels((9,), 5)
  w = np.array([1.0, 0.5, 2.0, 1.5, 0.3]) if weighted else None
  ref = ref_multi_margin(x, y, p, 0.8, w)
  got = jaxloss.multiclass_hinge_loss(jnp.asarray(x, jnp.float32), jnp.asarray(y), p=p,
                                      margin=0.8, reduction="none",
                                      class_weights=None if w is None else jnp.asarray(w))
  np.testing.assert_allclose(got, ref, **F32)
  mean = jaxloss.multiclass_hinge_loss(jnp.asarray(x, jnp.float32), jnp.asarray(y), p=p,
                                       margin=0.8,
                                       class_weights=None if w is None else jnp.asarray(w))
  np.testing.assert_allclose(mean, ref.mean(), **F32)   # plain mean, not weighted mean


def test_margin_gradients_finite_differences():
  with jax.enable_x64(True):
    # Away from the kinks: margins bounded away from 0.
    x = jnp.array([[3.0, 0.2, -0.5], [0.1, 2.5, 0.4]])
    y = jnp.array([0, 1])
    check_grads(lambda a: jaxloss.multiclass_hinge_loss(a, y, p=2), (x,), order=1, modes=["rev"])
    check_grads(lambda a: jaxloss.multiclass_hinge_loss(a, y, margin=2.0), (x,), order=1,
                modes=["rev"])
    s = jnp.array([0.3, -0.2, 2.0])
    lab = jnp.array([1.0, 1.0, -1.0])
    check_grads(lambda a: jaxloss.hinge_loss(a, lab), (s,), order=1, modes=["rev"])
    check_grads(lambda a: jaxloss.squared_hinge_loss(a, lab), (s,), order=1, modes=["rev"])


# --------------------------------------------------------------------------
# KL / JS / Gini / zero-one.
# --------------------------------------------------------------------------


def test_kl_matches_scipy_and_log_prob_equivalence():
  z = _logits((6, 5))
  t = special.softmax(_logits((6, 5), seed=7), -1)
  t[0, 2] = 0.0
  t /= t.sum(-1, keepdims=True)
  ref = special.rel_entr(t, special.softmax(z, -1)).sum(-1)
  zj, tj = jnp.asarray(z, jnp.float32), jnp.asarray(t, jnp.float32)
  np.testing.assert_allclose(jaxloss.kl_divergence(zj, tj, reduction="none"), ref, **F32)
  np.testing.assert_allclose(jaxloss.kl_divergence(zj, tj), ref.mean(), **F32)  # batchmean
  # log-probabilities as logits and log-targets give the same result.
  np.testing.assert_allclose(jaxloss.kl_divergence(jax.nn.log_softmax(zj), tj, reduction="none"),
                             ref, **F32)
  np.testing.assert_allclose(
      jaxloss.kl_divergence(zj, jnp.log(tj), log_targets=True, reduction="none"), ref, **F32)


def test_kl_zero_probability_edge_values():
  logq = jnp.log(jnp.array([[0.5, 0.5, 0.0]]))
  assert float(jaxloss.kl_divergence(logq, jnp.array([[0.5, 0.5, 0.0]]))) == 0.0
  assert float(jaxloss.kl_divergence(logq, jnp.array([[0.3, 0.3, 0.4]]))) == np.inf
  t = jnp.array([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
  z = jnp.array([[1.0, 0.0, -jnp.inf], [-jnp.inf, 2.0, 3.0]])
  for log_targets, tt in ((False, t), (True, jnp.log(t))):
    v, g = jax.value_and_grad(
        lambda a, b, lt=log_targets: jaxloss.kl_divergence(a, b, log_targets=lt),
        argnums=(0, 1))(z, tt)
    chex.assert_tree_all_finite((v, g))
    v, g = jax.value_and_grad(
        lambda a, b, lt=log_targets: jaxloss.js_divergence(a, b, log_targets=lt),
        argnums=(0, 1))(z, tt)
    chex.assert_tree_all_finite((v, g))


def test_js_matches_scipy():
  z = _logits((6, 4))
  t = special.softmax(_logits((6, 4), seed=8), -1)
  t[1, 0] = 0.0
  t /= t.sum(-1, keepdims=True)
  p = special.softmax(z, -1)
  ref = np.array([distance.jensenshannon(p[i], t[i]) ** 2 for i in range(6)])
  got = jaxloss.js_divergence(jnp.asarray(z, jnp.float32), jnp.asarray(t, jnp.float32),
                              reduction="none")
  np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
  disjoint = jaxloss.js_divergence(jnp.log(jnp.array([[1.0, 0.0]])), jnp.array([[0.0, 1.0]]))
  np.testing.assert_allclose(disjoint, np.log(2.0), rtol=1e-6)


def test_divergence_gradients_finite_differences():
  with jax.enable_x64(True):
    z = jnp.asarray(_logits((4, 3)))
    # Targets bounded away from 0: d^3/dt^3 (t log t) = -1/t^2 makes the
    # finite-difference truncation error blow up near t = 0.
    t = jax.nn.softmax(jnp.asarray(_logits((4, 3), 0.5, seed=6)))
    check_grads(jaxloss.kl_divergence, (z, t), order=1, modes=["rev"], eps=1e-6)
    check_grads(jaxloss.js_divergence, (z, t), order=1, modes=["rev"], eps=1e-6)
    check_grads(jaxloss.gini_impurity, (z,), order=1, modes=["rev"])


def test_gini_impurity():
  z = _logits((5, 4))
  p = special.softmax(z, -1)
  got = jaxloss.gini_impurity(jnp.asarray(z, jnp.float32), reduction="none")
  np.testing.assert_allclose(got, 1 - (p ** 2).sum(-1), **F32)
  probs = jnp.array([[0.5, 0.5], [1.0, 0.0], [0.25, 0.75]])
  np.testing.assert_allclose(jaxloss.gini_impurity(probs, activation=None, reduction="none"),
                             [0.5, 0.0, 0.375], rtol=1e-6)
  np.testing.assert_allclose(jaxloss.gini_impurity(jnp.zeros((1, 4))), 0.75, rtol=1e-6)


def test_zero_one_loss_value_and_zero_gradient():
  z = jnp.array([[2.0, 0.0, 1.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0]])
  y = jnp.array([0, 2, 2])
  np.testing.assert_allclose(jaxloss.zero_one_loss(z, y), 1 / 3, rtol=1e-6)
  np.testing.assert_allclose(jaxloss.zero_one_loss(z, jax.nn.one_hot(y, 3), reduction="none"),
                             [0.0, 1.0, 0.0])
  g = jax.grad(lambda a: jaxloss.zero_one_loss(a, y))(z)
  np.testing.assert_array_equal(g, 0.0)


# --------------------------------------------------------------------------
# Errors.
# --------------------------------------------------------------------------


def test_errors():
  z = jnp.zeros((4, 3))
  with pytest.raises(LossInputError, match=r"cross_entropy: labels has shape \(4, 2\)"):
    jaxloss.cross_entropy(z, jnp.zeros((4, 2)))
  with pytest.raises(LossInputError, match="class_weights has shape"):
    jaxloss.cross_entropy(z, jnp.zeros(4, int), class_weights=jnp.ones(4))
  with pytest.raises(LossInputError, match="label_smoothing must be"):
    jaxloss.cross_entropy(z, jnp.zeros(4, int), label_smoothing=1.5)
  with pytest.raises(LossTypeError, match="logits must be a floating"):
    jaxloss.cross_entropy(jnp.zeros((4, 3), int), jnp.zeros(4, int))
  with pytest.raises(LossTypeError, match=r"labels has shape \(4,\), one axis fewer .* must be "
                                         r"integer, got dtype bool"):
    jaxloss.cross_entropy(z, jnp.zeros(4, bool))
  with pytest.raises(LossInputError, match="nll_loss: .*expects integer labels"):
    jaxloss.nll_loss(z, jnp.zeros((4, 3)))
  with pytest.raises(LossInputError, match="gamma must be >= 0"):
    jaxloss.focal_loss(z, jnp.zeros(4, int), gamma=-1.0)
  with pytest.raises(LossInputError, match="alpha has shape"):
    jaxloss.focal_loss(z, jnp.zeros(4, int), alpha=jnp.ones(2))
  with pytest.raises(LossInputError, match="alpha must be <= 1"):
    jaxloss.sigmoid_focal_loss(z, z, alpha=2.0)
  with pytest.raises(LossInputError, match="p must be one of"):
    jaxloss.multiclass_hinge_loss(z, jnp.zeros(4, int), p=3)
  with pytest.raises(LossInputError, match="pos_weight has shape"):
    jaxloss.binary_cross_entropy(z, z, pos_weight=jnp.ones(5))
  with pytest.raises(LossInputError, match="epsilon must be"):
    jaxloss.poly1_cross_entropy(z, jnp.zeros(4, int), epsilon=-2.0)
  with pytest.raises(LossInputError, match="kl_divergence: targets has shape"):
    jaxloss.kl_divergence(z, jnp.zeros((4, 2)))
  with pytest.raises(LossInputError, match="activation must be one of"):
    jaxloss.gini_impurity(z, activation="sigmoid")
  with pytest.raises(LossInputError, match="where has shape"):
    jaxloss.cross_entropy(z, jnp.zeros(4, int), where=jnp.ones((4, 3), bool))
  with pytest.raises(TypeError):
    jaxloss.weighted_cross_entropy(z, jnp.zeros(4, int))   # class_weights is required


# --------------------------------------------------------------------------
# Properties.
# --------------------------------------------------------------------------

_rows = st.lists(st.floats(-20, 20), min_size=4, max_size=4)


@settings(max_examples=20, deadline=None)
@given(st.lists(_rows, min_size=2, max_size=2), st.lists(_rows, min_size=2, max_size=2))
def test_properties_of_divergences(a, b):
  z = jnp.asarray(a, jnp.float32)
  t = jax.nn.softmax(jnp.asarray(b, jnp.float32))
  kl = jaxloss.kl_divergence(z, t, reduction="none")
  js = jaxloss.js_divergence(z, t, reduction="none")
  assert np.all(np.asarray(kl) >= -1e-5)
  assert np.all((np.asarray(js) >= 0) & (np.asarray(js) <= np.log(2) + 1e-6))
  # Symmetry of JS; zero at identical distributions.
  js_swap = jaxloss.js_divergence(jnp.log(t), jax.nn.softmax(z), reduction="none")
  np.testing.assert_allclose(js, js_swap, atol=1e-5)
  np.testing.assert_allclose(jaxloss.kl_divergence(jnp.log(t), t, reduction="none"), 0.0,
                             atol=1e-5)
  g = jaxloss.gini_impurity(z, reduction="none")
  assert np.all((np.asarray(g) >= -1e-6) & (np.asarray(g) <= 0.75 + 1e-6))


@settings(max_examples=20, deadline=None)
@given(st.lists(_rows, min_size=3, max_size=3), st.lists(st.integers(0, 3), min_size=3,
                                                         max_size=3))
def test_properties_of_softmax_losses(a, y):
  z, lab = jnp.asarray(a, jnp.float32), jnp.asarray(y)
  ce = jaxloss.cross_entropy(z, lab, reduction="none")
  fl = jaxloss.focal_loss(z, lab, reduction="none")
  assert np.all(np.asarray(ce) >= 0)
  assert np.all(np.asarray(fl) >= 0) and np.all(np.asarray(fl) <= np.asarray(ce) + 1e-6)
  perfect = jax.nn.one_hot(lab, 4) * 100.0
  assert float(jaxloss.cross_entropy(perfect, lab)) == 0.0
  assert float(jaxloss.focal_loss(perfect, lab)) == 0.0
  assert float(jaxloss.multiclass_hinge_loss(perfect, lab)) == 0.0


def test_parity_with_optax():
  optax = pytest.importorskip("optax")
  z = jnp.asarray(_logits((6, 4)), jnp.float32)
  y = jnp.asarray(_labels((6,), 4))
  oh = jax.nn.one_hot(y, 4)
  t = jax.nn.softmax(jnp.asarray(_logits((6, 4), seed=3), jnp.float32))
  x = jnp.asarray(_logits((6, 4), seed=5), jnp.float32)
  b = jnp.asarray(RNG.random((6, 4)), jnp.float32)
  s = jnp.where(b > 0.5, 1.0, -1.0)
  pairs = [
      (jaxloss.cross_entropy(z, y, reduction="none"),
       optax.losses.softmax_cross_entropy_with_integer_labels(z, y)),
      (jaxloss.cross_entropy(z, oh, label_smoothing=0.1, reduction="none"),
       optax.losses.softmax_cross_entropy(z, optax.smooth_labels(oh, 0.1))),
      (jaxloss.poly1_cross_entropy(z, oh, reduction="none"),
       optax.losses.poly_loss_cross_entropy(z, oh)),
      (jaxloss.binary_cross_entropy(x, b, reduction="none"),
       optax.losses.sigmoid_binary_cross_entropy(x, b)),
      (jaxloss.sigmoid_focal_loss(x, b, reduction="none"),
       optax.losses.sigmoid_focal_loss(x, b, alpha=0.25)),
      (jaxloss.kl_divergence(z, t, reduction="none"),
       optax.losses.kl_divergence(jax.nn.log_softmax(z), t)),
      (jaxloss.hinge_loss(x, s, reduction="none"), optax.losses.hinge_loss(x, s)),
  ]
  for ours, theirs in pairs:
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)


def test_cross_entropy_forward_and_reverse_mode_agree_with_float64_reference():
  """The fused custom-JVP path: jacfwd == jacrev == the float64 analytic gradient
  ``(A p - a onehot - s) / norm``, and a Hessian-vector product is finite, with class
  weights, label smoothing and an ignored row."""
  rng = np.random.default_rng(0)
  x = rng.normal(size=(5, 4)).astype(np.float32)
  y = np.array([0, 3, 1, -100, 2])
  w = np.array([1.0, 2.0, 0.5, 1.5], np.float32)
  eps = 0.1
  f = lambda z: jaxloss.cross_entropy(z, jnp.asarray(y), class_weights=jnp.asarray(w),
                                      label_smoothing=eps)
  g_rev = jax.jacrev(f)(jnp.asarray(x))
  g_fwd = jax.jacfwd(f)(jnp.asarray(x))
  xd = x.astype(np.float64)
  p = np.exp(xd - xd.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  keep = y != -100
  ys = np.where(keep, y, 0)
  a = (1 - eps) * w[ys]
  s = eps / 4 * w
  norm = np.sum(w[ys][keep])
  onehot = np.eye(4)[ys]
  ref = ((a + s.sum())[:, None] * p - a[:, None] * onehot - s) * keep[:, None] / norm
  np.testing.assert_allclose(np.asarray(g_rev), ref, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(np.asarray(g_fwd), ref, rtol=1e-5, atol=1e-7)
  hvp = jax.jvp(jax.grad(f), (jnp.asarray(x),), (jnp.ones_like(jnp.asarray(x)),))[1]
  assert np.isfinite(np.asarray(hvp)).all()
