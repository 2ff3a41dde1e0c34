"""Tests of jaxloss.segmentation against independent float64 NumPy/SciPy references.

The references are written from the papers' / peers' formulas (MONAI DiceLoss,
GeneralizedDiceLoss, TverskyLoss, HausdorffDTLoss; Berman et al.'s Lovász
code; Kervadec et al.'s one_hot2dist), channel-first style with explicit
loops, and never call jaxloss.
"""

import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads
from scipy.ndimage import distance_transform_edt

import jaxloss
from jaxloss import LossInputError, LossTypeError

RTOL = 1e-5


def _rand(seed, shape, c, scale=2.0):
  rng = np.random.default_rng(seed)
  logits = rng.normal(size=shape + (c,)) * scale
  labels = rng.integers(0, c, size=shape)
  return logits.astype(np.float32), labels.astype(np.int32)


# ----------------------------------------------------------------------------
# References (float64 NumPy).
# ----------------------------------------------------------------------------


def np_softmax(x):
  x = np.asarray(x, np.float64)
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def np_probs_targets(logits, labels, act="softmax", bg=True):
  x = np.asarray(logits, np.float64)
  c = x.shape[-1]
  p = {"softmax": np_softmax, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
       None: lambda v: v}[act](x)
  labels = np.asarray(labels)
  if labels.dtype.kind in "iu":
    g = (labels[..., None] == 1).astype(float) if c == 1 else np.eye(c)[labels]
  else:
    g = labels.astype(np.float64)
  # MONAI is channel-first: move the class axis to position 1.
  p, g = np.moveaxis(p, -1, 1), np.moveaxis(g, -1, 1)
  if not bg and c > 1:
    p, g = p[:, 1:], g[:, 1:]
  return p, g


def ref_dice(logits, labels, act="softmax", bg=True, squared=False, jaccard=False, nr=1e-5,
             dr=1e-5, batch=False, weight=None):
  p, g = np_probs_targets(logits, labels, act, bg)
  axes = tuple(range(2, p.ndim))
  if batch:
    axes = (0,) + axes
  inter = (p * g).sum(axes)
  if squared:
    den = (p ** 2).sum(axes) + (g ** 2).sum(axes)
  else:
    den = p.sum(axes) + g.sum(axes)
  if jaccard:
    den = 2.0 * (den - inter)
  f = 1.0 - (2.0 * inter + nr) / (den + dr)
  if weight is not None:
    f = f * np.asarray(weight)
  return f


def ref_gdice(logits, labels, act="softmax", w_type="square", nr=1e-5, dr=1e-5, batch=False):
  p, g = np_probs_targets(logits, labels, act)
  axes = tuple(range(2, p.ndim))
  if batch:
    axes = (0,) + axes
  inter = (p * g).sum(axes)
  den = p.sum(axes) + g.sum(axes)
  vol = g.sum(axes)
  with np.errstate(divide="ignore"):
    w = {"square": 1 / vol ** 2, "simple": 1 / vol, "uniform": np.ones_like(vol)}[w_type]
  w = np.atleast_2d(w)
  infs = np.isinf(w)
  w[infs] = 0.0
  w = w + infs * w.max(axis=1, keepdims=True)
  w = w.reshape(inter.shape)
  return 1 - (2 * (w * inter).sum(-1) + nr) / ((w * den).sum(-1) + dr)


def ref_tversky(logits, labels, alpha=0.5, beta=0.5, act="softmax", nr=1e-5, dr=1e-5,
                batch=False):
  p, g = np_probs_targets(logits, labels, act)
  axes = tuple(range(2, p.ndim))
  if batch:
    axes = (0,) + axes
  tp = (p * g).sum(axes)
  fp = alpha * (p * (1 - g)).sum(axes)
  fn = beta * ((1 - p) * g).sum(axes)
  return 1 - (tp + nr) / (tp + fp + fn + dr)


def ref_lovasz_grad(gt_sorted):
  gts = gt_sorted.sum()
  inter = gts - np.cumsum(gt_sorted)
  union = gts + np.cumsum(1 - gt_sorted)
  jac = 1 - inter / union
  jac[1:] = jac[1:] - jac[:-1].copy()
  return jac


def ref_lovasz_softmax_flat(probs, labels, classes="present"):
  # probs (N, C), labels (N,) — Berman et al.'s lovasz_softmax_flat.
  if probs.shape[0] == 0:
    return 0.0
  losses = []
  cls = range(probs.shape[1]) if classes in ("present", "all") else classes
  for c in cls:
    fg = (labels == c).astype(float)
    if classes == "present" and fg.sum() == 0:
      continue
    err = np.abs(fg - probs[:, c])
    order = np.argsort(-err, kind="stable")
    losses.append(np.dot(err[order], ref_lovasz_grad(fg[order])))
  return float(np.mean(losses)) if losses else 0.0


def ref_lovasz_softmax(logits, labels, classes="present", per_image=False, ignore=None):
  probs = np_softmax(logits)
  c = probs.shape[-1]

  def flat(p, y):
    p, y = p.reshape(-1, c), y.reshape(-1)
    if ignore is not None:
      keep = y != ignore
      p, y = p[keep], y[keep]
    return ref_lovasz_softmax_flat(p, y, classes)

  if per_image:
    return np.array([flat(p, y) for p, y in zip(probs, labels, strict=True)])
  return flat(probs, labels)


def ref_lovasz_hinge_flat(logits, labels):
  if len(labels) == 0:
    return 0.0
  signs = 2.0 * labels - 1.0
  err = 1.0 - logits * signs
  order = np.argsort(-err, kind="stable")
  return float(np.dot(np.maximum(err[order], 0), ref_lovasz_grad(labels[order].astype(float))))


def ref_lovasz_hinge(logits, labels, per_image=True, ignore=None):
  logits = np.asarray(logits, np.float64)

  def flat(x, y):
    x, y = x.reshape(-1), y.reshape(-1)
    if ignore is not None:
      keep = y != ignore
      x, y = x[keep], y[keep]
    return ref_lovasz_hinge_flat(x, y)

  if per_image:
    return np.array([flat(x, y) for x, y in zip(logits, labels, strict=True)])
  return flat(logits, labels)


def ref_sdm(labels, c):
  # Kervadec et al.'s one_hot2dist, per image (all-fg classes have no boundary -> 0).
  out = np.zeros(labels.shape + (c,))
  for b in range(labels.shape[0]):
    for k in range(c):
      pos = labels[b] == k
      if pos.any() and not pos.all():
        neg = ~pos
        out[b, ..., k] = (distance_transform_edt(neg) * neg
                          - (distance_transform_edt(pos) - 1) * pos)
  return out


def ref_field(mask):
  if mask.any() and not mask.all():
    return distance_transform_edt(mask) + distance_transform_edt(~mask)
  return np.zeros(mask.shape)


def ref_hausdorff(logits, labels, act="softmax", bg=False, alpha=2.0):
  p, g = np_probs_targets(logits, labels, act, bg)
  out = np.zeros(p.shape[:2])
  for b, c in itertools.product(range(p.shape[0]), range(p.shape[1])):
    d = ref_field(p[b, c] > 0.5) ** alpha + ref_field(g[b, c] > 0.5) ** alpha
    out[b, c] = np.mean((p[b, c] - g[b, c]) ** 2 * d)
  return out


# ----------------------------------------------------------------------------
# Region losses.
# ----------------------------------------------------------------------------

DICE_CASES = [
    {}, {"include_background": False}, {"squared_pred": True}, {"jaccard": True},
    {"batch": True}, {"smooth_nr": 0.0, "smooth_dr": 1e-6}, {"smooth_nr": 1.0, "smooth_dr": 1.0},
]


@pytest.mark.parametrize("kw", DICE_CASES, ids=str)
def test_dice_matches_monai_formula(kw):
  logits, labels = _rand(0, (3, 6, 5), 4)
  got = jaxloss.dice_loss(logits, labels, reduction="none", **kw)
  want = ref_dice(logits, labels, bg=kw.get("include_background", True),
                  squared=kw.get("squared_pred", False), jaccard=kw.get("jaccard", False),
                  nr=kw.get("smooth_nr", 1e-5), dr=kw.get("smooth_dr", 1e-5),
                  batch=kw.get("batch", False))
  np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)
  np.testing.assert_allclose(jaxloss.dice_loss(logits, labels, **kw), want.mean(), rtol=RTOL)


def test_dice_one_hot_soft_sigmoid_and_3d():
  logits, labels = _rand(1, (2, 3, 4, 5), 3)          # 3-D volumes
  onehot = np.eye(3, dtype=np.float32)[labels]
  a = jaxloss.dice_loss(logits, labels, reduction="none")
  b = jaxloss.dice_loss(logits, onehot, reduction="none")
  np.testing.assert_allclose(a, b, rtol=1e-6)
  np.testing.assert_allclose(a, ref_dice(logits, labels), rtol=RTOL)
  soft = np_softmax(np.random.default_rng(2).normal(size=logits.shape)).astype(np.float32)
  np.testing.assert_allclose(jaxloss.dice_loss(logits, soft, reduction="none"),
                             ref_dice(logits, soft), rtol=RTOL)
  # Binary, C = 1, sigmoid, integer 0/1 labels.
  bl, by = logits[..., :1], (labels > 0).astype(np.int32)
  np.testing.assert_allclose(jaxloss.dice_loss(bl, by, activation="sigmoid", reduction="none"),
                             ref_dice(bl, by, act="sigmoid"), rtol=RTOL)
  # Probabilities in (activation=None) under jit.
  p = np_softmax(logits).astype(np.float32)
  f = jax.jit(lambda p: jaxloss.dice_loss(p, labels, activation=None))
  np.testing.assert_allclose(f(p), ref_dice(p, labels, act=None).mean(), rtol=RTOL)


def test_dice_class_weights_ignore_index_and_where():
  logits, labels = _rand(3, (2, 6, 6), 3)
  w = np.array([0.2, 1.0, 3.0], np.float32)
  got = jaxloss.dice_loss(logits, labels, class_weights=w)
  np.testing.assert_allclose(got, ref_dice(logits, labels, weight=w).mean(), rtol=RTOL)
  # ignore_index: same as removing those pixels from both sums.
  ign = labels.copy()
  ign[:, :2] = 255
  got = jaxloss.dice_loss(logits, ign, ignore_index=255, reduction="none")
  want = ref_dice(logits[:, 2:], labels[:, 2:])
  np.testing.assert_allclose(got, want, rtol=RTOL)
  # where: excluding absent classes from the mean.
  present = np.eye(3)[labels].any(axis=(1, 2))
  present[0, 1] = False
  got = jaxloss.dice_loss(logits, labels, where=present)
  np.testing.assert_allclose(got, ref_dice(logits, labels)[present].mean(), rtol=RTOL)


def test_dice_where_excluded_image_nan_free():
  logits, labels = _rand(4, (2, 5, 5), 3)
  bad = logits.copy()
  bad[1] = np.nan
  where = np.array([[True, True, True], [False, False, False]])
  f = lambda x: jaxloss.dice_loss(x, labels, where=where)
  v1, g1 = jax.value_and_grad(f)(logits)
  v2, g2 = jax.value_and_grad(f)(bad)
  np.testing.assert_allclose(v1, v2, rtol=1e-6)
  np.testing.assert_allclose(g1, g2, rtol=1e-6, atol=1e-8)
  chex.assert_tree_all_finite(g2)


def test_jaccard_and_log_cosh_dice():
  logits, labels = _rand(5, (2, 7, 3), 4)
  np.testing.assert_allclose(jaxloss.jaccard_loss(logits, labels, reduction="none"),
                             ref_dice(logits, labels, jaccard=True), rtol=RTOL)
  d = ref_dice(logits, labels)
  np.testing.assert_allclose(jaxloss.log_cosh_dice_loss(logits, labels, reduction="none"),
                             np.log(np.cosh(d)), rtol=RTOL)
  # Tiny losses: log cosh x ~ x^2 / 2 without cancellation.
  x = np.float32(1e-3)
  p = np.eye(4, dtype=np.float32)[labels]
  small = jaxloss.log_cosh_dice_loss(p, labels, activation=None, smooth_nr=0.0,
                                     smooth_dr=0.0)
  assert float(small) == 0.0
  np.testing.assert_allclose(jaxloss.segmentation.overlap._log_cosh(jnp.float32(x)),
                             np.log(np.cosh(np.float64(x))), rtol=1e-6)


@pytest.mark.parametrize("w_type", ["square", "simple", "uniform"])
@pytest.mark.parametrize("batch", [False, True])
def test_generalized_dice_matches_monai(w_type, batch):
  logits, labels = _rand(6, (3, 6, 6), 4)
  labels[0][labels[0] == 2] = 0          # class 2 absent from image 0
  got = jaxloss.generalized_dice_loss(logits, labels, w_type=w_type, batch=batch,
                                      reduction="none")
  want = ref_gdice(logits, labels, w_type=w_type, batch=batch)
  np.testing.assert_allclose(got, np.reshape(want, np.shape(got)), rtol=RTOL)


def test_generalized_dice_class_absent_from_batch_and_all_empty():
  logits, labels = _rand(7, (2, 5, 5), 3)
  labels[labels == 1] = 0
  f = lambda x: jaxloss.generalized_dice_loss(x, labels)
  v, g = jax.value_and_grad(f)(logits)
  np.testing.assert_allclose(v, ref_gdice(logits, labels).mean(), rtol=RTOL)
  chex.assert_tree_all_finite(g)
  # No class present in the target at all (sigmoid, C = 1, empty masks): weights 0,
  # the loss is 1 - nr/dr = 0 with a finite gradient.
  v, g = jax.value_and_grad(lambda x: jaxloss.generalized_dice_loss(
      x, np.zeros((2, 5, 5), np.int32), activation="sigmoid"))(logits[..., :1])
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)


@pytest.mark.parametrize("alpha,beta", [(0.5, 0.5), (0.3, 0.7), (1.0, 0.0), (1.0, 1.0)])
def test_tversky_matches_monai(alpha, beta):
  logits, labels = _rand(8, (2, 4, 4, 3), 3)
  got = jaxloss.tversky_loss(logits, labels, alpha=alpha, beta=beta, reduction="none")
  np.testing.assert_allclose(got, ref_tversky(logits, labels, alpha, beta), rtol=RTOL)
  if alpha == beta == 0.5:
    np.testing.assert_allclose(got, jaxloss.dice_loss(logits, labels, reduction="none"),
                               rtol=1e-5)


def test_tversky_alpha_is_false_positive_weight():
  # MONAI convention (Keras swaps them): alpha = 1, beta = 0, one extra positive.
  g = np.array([[1, 1, 0, 0]], np.int32)
  extra = np.array([[[0, 1], [0, 1], [0, 1], [1, 0]]], np.float32)   # FP at pixel 2
  missed = np.array([[[0, 1], [1, 0], [1, 0], [1, 0]]], np.float32)  # FN at pixel 1
  kw = dict(activation=None, alpha=1.0, beta=0.0, smooth_nr=0.0, smooth_dr=0.0,
            include_background=False)
  np.testing.assert_allclose(jaxloss.tversky_loss(extra, g, **kw), 1 / 3, rtol=1e-6)
  np.testing.assert_allclose(jaxloss.tversky_loss(missed, g, **kw), 0.0, atol=1e-7)


def test_focal_tversky():
  logits, labels = _rand(9, (2, 6, 5), 3)
  for gamma in (4 / 3, 1.0, 0.5):
    got = jaxloss.focal_tversky_loss(logits, labels, gamma=gamma, reduction="none")
    want = ref_tversky(logits, labels, 0.3, 0.7) ** (1 / gamma)
    np.testing.assert_allclose(got, want, rtol=RTOL)
  # Perfect prediction: loss 0 and a finite (zero) gradient despite x^(3/4).
  p = np.eye(3, dtype=np.float32)[labels]
  v, g = jax.value_and_grad(lambda p: jaxloss.focal_tversky_loss(
      p, labels, activation=None, smooth_nr=0.0, smooth_dr=0.0))(p)
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)
  # gamma may be traced.
  gg = jax.grad(lambda gm: jaxloss.focal_tversky_loss(logits, labels, gamma=gm))(1.5)
  assert np.isfinite(gg) and gg != 0


OVERLAP = [jaxloss.dice_loss, jaxloss.jaccard_loss, jaxloss.log_cosh_dice_loss,
           jaxloss.tversky_loss, jaxloss.focal_tversky_loss]


@pytest.mark.parametrize("fn", OVERLAP, ids=lambda f: f.__name__)
def test_overlap_edges(fn):
  p_empty = np.zeros((1, 4, 4, 1), np.float32)
  y_empty = np.zeros((1, 4, 4), np.int32)
  kw = dict(activation=None)
  # Both empty: 0 (not NaN, not 1), finite gradient.
  v, g = jax.value_and_grad(lambda p: fn(p, y_empty, **kw))(p_empty)
  np.testing.assert_allclose(v, 0.0, atol=1e-6)
  chex.assert_tree_all_finite(g)
  # Empty target, one false-positive pixel: ~1 (smoothing 1e-5).
  fp = p_empty.copy()
  fp[0, 1, 1, 0] = 1.0
  worst = 0.43 if fn is jaxloss.log_cosh_dice_loss else 0.99   # log cosh(1) = 0.4338
  assert float(fn(fp, y_empty, **kw)) > worst
  # Empty prediction on a non-empty target: ~1; perfect: 0.
  y = y_empty.copy()
  y[0, :2] = 1
  assert float(fn(p_empty, y, **kw)) > worst
  perfect = y[..., None].astype(np.float32)
  np.testing.assert_allclose(fn(perfect, y, **kw), 0.0, atol=1e-6)
  np.testing.assert_allclose(fn(perfect, y, smooth_nr=0.0, smooth_dr=0.0, **kw), 0.0, atol=1e-7)
  # Saturated logits: finite value and gradient.
  logits, labels = _rand(10, (2, 4, 4), 3)
  v, g = jax.value_and_grad(lambda x: fn(x, labels))(logits * 1e4)
  chex.assert_tree_all_finite((v, g))


def test_dice_worst_prediction_is_one_without_smoothing():
  y = np.array([[0, 1, 1, 0]], np.int32)
  p = np.stack([y, 1 - y], -1).astype(np.float32)      # everything swapped
  np.testing.assert_allclose(
      jaxloss.dice_loss(p, y, activation=None, smooth_nr=0.0, smooth_dr=0.0), 1.0)


@pytest.mark.parametrize("b", [1, 8])
def test_batch_vs_image_wise(b):
  logits, labels = _rand(11, (b, 5, 5), 3)
  img = jaxloss.dice_loss(logits, labels, reduction="none")
  bat = jaxloss.dice_loss(logits, labels, batch=True, reduction="none")
  chex.assert_shape(img, (b, 3))
  chex.assert_shape(bat, (3,))
  np.testing.assert_allclose(bat, ref_dice(logits, labels, batch=True), rtol=RTOL)
  if b == 1:
    np.testing.assert_allclose(img[0], bat, rtol=1e-6)
  # Image-wise losses are per example: f(x)[i] == f(x[i:i+1])[0].
  for i in range(min(b, 3)):
    np.testing.assert_allclose(
        img[i], jaxloss.dice_loss(logits[i:i + 1], labels[i:i + 1], reduction="none")[0],
        rtol=1e-6)


def test_background_only_batch():
  logits, _ = _rand(12, (2, 4, 4), 3)
  y = np.zeros((2, 4, 4), np.int32)
  for fn in (*OVERLAP, jaxloss.generalized_dice_loss):
    v, g = jax.value_and_grad(lambda x, fn=fn: fn(x, y))(logits)
    chex.assert_tree_all_finite((v, g))
  np.testing.assert_allclose(jaxloss.dice_loss(logits, y, include_background=False,
                                               reduction="none"),
                             ref_dice(logits, y, bg=False), rtol=RTOL)


def test_vmap_over_outer_axis_and_bf16():
  logits, labels = _rand(13, (3, 2, 4, 4), 3)   # (G, B, H, W, C)
  for fn in (*OVERLAP, jaxloss.generalized_dice_loss, jaxloss.hausdorff_dt_loss):
    mapped = jax.vmap(lambda x, y, fn=fn: fn(x, y, reduction="none"))(logits, labels)
    each = np.stack([fn(logits[i], labels[i], reduction="none") for i in range(3)])
    np.testing.assert_allclose(mapped, each, rtol=1e-5, atol=1e-6)
  out = jaxloss.dice_loss(jnp.asarray(logits[0], jnp.bfloat16), labels[0])
  assert out.dtype == jnp.float32


def test_overlap_gradients_fd():
  logits, labels = _rand(14, (2, 3, 3), 3, scale=1.0)
  soft = np_softmax(np.random.default_rng(0).normal(size=logits.shape))
  with jax.enable_x64(True):
    x = jnp.asarray(logits, jnp.float64)
    for fn, kw in [(jaxloss.dice_loss, {"squared_pred": True}), (jaxloss.jaccard_loss, {}),
                   (jaxloss.log_cosh_dice_loss, {}), (jaxloss.generalized_dice_loss, {}),
                   (jaxloss.tversky_loss, {"alpha": 0.3, "beta": 0.7}),
                   (jaxloss.focal_tversky_loss, {}), (jaxloss.dice_loss, {"batch": True})]:
      check_grads(lambda x, fn=fn, kw=kw: fn(x, labels, **kw), (x,), order=1, modes=["rev"])
    check_grads(lambda x: jaxloss.dice_loss(x, jnp.asarray(soft)), (x,), order=1,
                modes=["rev"])


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([1, 2, 3]))
def test_overlap_properties(seed, c):
  rng = np.random.default_rng(seed)
  p = rng.uniform(size=(2, 4, 3, c)).astype(np.float32)
  q = rng.uniform(size=(2, 4, 3, c)).astype(np.float32)
  for fn in OVERLAP:
    v = np.asarray(fn(p, q, activation=None, reduction="none"))
    assert np.all(v >= -1e-6) and np.all(v <= 1 + 1e-6)
  # Dice is symmetric in prediction and target (activation=None, soft targets).
  np.testing.assert_allclose(jaxloss.dice_loss(p, q, activation=None),
                             jaxloss.dice_loss(q, p, activation=None), rtol=1e-5)
  # Zero at a perfect hard prediction.
  y = rng.integers(0, max(c, 2), size=(2, 4, 3)).astype(np.int32)
  hard = (y[..., None] == 1).astype(np.float32) if c == 1 else np.eye(c, dtype=np.float32)[
      np.minimum(y, c - 1)]
  yy = y if c == 1 else np.minimum(y, c - 1).astype(np.int32)
  if c == 1:
    yy = (y == 1).astype(np.int32)
  for fn in OVERLAP:
    np.testing.assert_allclose(fn(hard, yy, activation=None), 0.0, atol=1e-6)


def test_overlap_errors():
  logits, labels = _rand(15, (2, 4, 4), 3)
  with pytest.raises(LossInputError, match=r"dice_loss: labels has shape .*expected integer"):
    jaxloss.dice_loss(logits, labels[:, :3])
  with pytest.raises(LossInputError, match="dice_loss: activation='softmax' needs"):
    jaxloss.dice_loss(logits[..., :1], labels)
  with pytest.raises(LossInputError, match="dice_loss: class_weights has shape"):
    jaxloss.dice_loss(logits, labels, class_weights=jnp.ones(2))
  with pytest.raises(LossInputError, match="tversky_loss: ignore_index needs integer"):
    jaxloss.tversky_loss(logits, np.eye(3, dtype=np.float32)[labels], ignore_index=0)
  with pytest.raises(LossInputError, match="smooth_nr must be >= 0"):
    jaxloss.dice_loss(logits, labels, smooth_nr=-1.0)
  with pytest.raises(LossInputError, match="w_type must be one of"):
    jaxloss.generalized_dice_loss(logits, labels, w_type="log")
  with pytest.raises(LossInputError, match="gamma must be > 0"):
    jaxloss.focal_tversky_loss(logits, labels, gamma=0.0)
  with pytest.raises(LossTypeError, match="dice_loss: logits must be a floating"):
    jaxloss.dice_loss(labels[..., None], labels)
  with pytest.raises(LossInputError, match="logits must have rank >= 3"):
    jaxloss.dice_loss(logits[0, 0], labels[0, 0])


# ----------------------------------------------------------------------------
# Lovász.
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("classes", ["present", "all", (0, 2)])
@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_softmax_matches_berman(classes, per_image):
  logits, labels = _rand(20, (3, 5, 4), 4)
  labels[1][labels[1] == 3] = 1            # class 3 absent from image 1
  got = jaxloss.lovasz_softmax_loss(logits, labels, classes=classes, per_image=per_image,
                                    reduction="none")
  want = ref_lovasz_softmax(logits, labels, classes=classes, per_image=per_image)
  np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)


def test_lovasz_softmax_ignore_and_all_ignored():
  logits, labels = _rand(21, (2, 6, 5), 3)
  ign = labels.copy()
  ign[0, :3] = 255
  for per_image in (False, True):
    got = jaxloss.lovasz_softmax_loss(logits, ign, ignore_index=255, per_image=per_image,
                                      reduction="none")
    want = ref_lovasz_softmax(logits, ign, per_image=per_image, ignore=255)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)
  # All pixels ignored: 0 with a zero gradient.
  all_ign = np.full_like(labels, 255)
  for fn in (jaxloss.lovasz_softmax_loss, jaxloss.lovasz_hinge_loss):
    x = logits if fn is jaxloss.lovasz_softmax_loss else logits[..., 0]
    v, g = jax.value_and_grad(lambda x, fn=fn: fn(x, all_ign, ignore_index=255))(x)
    assert float(v) == 0.0
    assert np.all(np.asarray(g) == 0)


@pytest.mark.parametrize("per_image", [True, False])
def test_lovasz_hinge_matches_berman(per_image):
  rng = np.random.default_rng(22)
  logits = rng.normal(size=(3, 5, 6)).astype(np.float32) * 2
  labels = (rng.uniform(size=(3, 5, 6)) < 0.4).astype(np.int32)
  labels[2] = 0                           # an image without foreground
  got = jaxloss.lovasz_hinge_loss(logits, labels, per_image=per_image, reduction="none")
  np.testing.assert_allclose(got, ref_lovasz_hinge(logits, labels, per_image), rtol=RTOL,
                             atol=1e-6)
  ign = labels.copy()
  ign[0, :2] = 255
  got = jaxloss.lovasz_hinge_loss(logits, ign, per_image=per_image, ignore_index=255,
                                  reduction="none")
  np.testing.assert_allclose(got, ref_lovasz_hinge(logits, ign, per_image, ignore=255),
                             rtol=RTOL, atol=1e-6)
  # Float 0/1 labels and a trailing channel of size 1 give the same.
  np.testing.assert_allclose(
      jaxloss.lovasz_hinge_loss(logits[..., None], labels[..., None].astype(np.float32),
                                per_image=per_image, reduction="none"),
      ref_lovasz_hinge(logits, labels, per_image), rtol=RTOL, atol=1e-6)


def _jaccard_set_loss(mask, gt):
  # Delta_J of a set of mispredicted pixels (Berman et al., eq. 3).
  inter = np.sum(gt & ~mask)
  union = np.sum(gt | mask)
  return 1.0 - inter / union if union > 0 else 0.0


def _lovasz_extension(m, gt):
  # The Lovász extension by its definition: sum over the sorted chain of sets.
  order = np.argsort(-m, kind="stable")
  total, prev, sel = 0.0, 0.0, np.zeros(len(m), bool)
  for i in order:
    sel[i] = True
    cur = _jaccard_set_loss(sel, gt)
    total += m[i] * (cur - prev)
    prev = cur
  return total


def test_lovasz_equals_extension_definition_and_fd_gradient():
  rng = np.random.default_rng(23)
  logits = rng.normal(size=(1, 3, 4)) * 2
  labels = (rng.uniform(size=(1, 3, 4)) < 0.5).astype(np.int32)
  m = np.maximum(1 - logits * (2 * labels - 1), 0).reshape(-1)
  want = _lovasz_extension(m, labels.reshape(-1).astype(bool))
  np.testing.assert_allclose(jaxloss.lovasz_hinge_loss(logits.astype(np.float32), labels),
                             want, rtol=RTOL)
  with jax.enable_x64(True):
    x = jnp.asarray(logits)
    check_grads(lambda x: jaxloss.lovasz_hinge_loss(x, labels), (x,), order=1, modes=["rev"],
                eps=1e-6)
    xs = jnp.asarray(rng.normal(size=(2, 3, 3, 3)))
    ys = rng.integers(0, 3, size=(2, 3, 3)).astype(np.int32)
    for per_image in (False, True):
      check_grads(lambda x, pi=per_image: jaxloss.lovasz_softmax_loss(x, ys, per_image=pi),
                  (xs,), order=1, modes=["rev"], eps=1e-6)


def test_lovasz_ties_deterministic_and_value_order_free():
  # All errors tie: the value equals the extension (order-independent); the
  # gradient follows the flat pixel order, identically on every call.
  logits = np.zeros((1, 6), np.float32)
  labels = np.array([[1, 0, 1, 0, 0, 1]], np.int32)
  v = jaxloss.lovasz_hinge_loss(logits, labels)
  np.testing.assert_allclose(v, _lovasz_extension(np.ones(6), labels[0].astype(bool)),
                             rtol=1e-6)
  g1 = jax.grad(lambda x: jaxloss.lovasz_hinge_loss(x, labels))(logits)
  g2 = jax.grad(lambda x: jaxloss.lovasz_hinge_loss(x, labels))(logits)
  np.testing.assert_array_equal(g1, g2)
  # Stable order: the Jaccard increments in index order.
  gt = labels[0].astype(float)
  want = -(2 * gt - 1) * ref_lovasz_grad(gt)
  np.testing.assert_allclose(g1[0], want, rtol=1e-6)


def _ref_lovasz_grad_errors(err, fg):
  # d(extension)/d(errors) of one set: the Jaccard increments at the stable
  # decreasing order (ties by flat index), scattered back to the pixels.
  order = np.argsort(-err, kind="stable")
  out = np.zeros_like(err)
  out[order] = ref_lovasz_grad(fg[order])
  return out


def ref_lovasz_softmax_grad(logits, labels, classes="present", per_image=False, ignore=None,
                            activation="softmax"):
  # Gradient of ref_lovasz_softmax w.r.t. the logits (float64, chain rule by hand);
  # w.r.t. the probabilities with activation=None.
  logits = np.asarray(logits, np.float64)
  probs = np_softmax(logits) if activation == "softmax" else logits
  c = probs.shape[-1]
  dp = np.zeros_like(probs)
  sets = [(slice(i, i + 1)) for i in range(len(labels))] if per_image else [slice(None)]
  for sl in sets:
    p, y, d = probs[sl].reshape(-1, c), labels[sl].reshape(-1), np.zeros(probs[sl].shape)
    d = d.reshape(-1, c)
    keep = np.ones(len(y), bool) if ignore is None else y != ignore
    cls = range(c) if classes in ("present", "all") else classes
    used = [k for k in cls if classes != "present" or np.any(y[keep] == k)]
    for k in used:
      fg = (y[keep] == k).astype(float)
      ge = _ref_lovasz_grad_errors(np.abs(fg - p[keep, k]), fg)
      d[keep, k] += ge * np.sign(p[keep, k] - fg) / len(used)
    dp[sl] = d.reshape(dp[sl].shape) / (len(sets) if per_image else 1)
  if activation is None:
    return dp
  return probs * (dp - np.sum(dp * probs, axis=-1, keepdims=True))


@pytest.mark.parametrize("classes", ["present", "all", (0, 2)])
@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_softmax_float32_gradient_matches_float64_reference(classes, per_image):
  # The float32 path (packed sort keys + custom JVP) against a float64 NumPy
  # gradient of Berman's formula, with ignored pixels.
  logits, labels = _rand(25, (3, 6, 5), 4)
  labels[0, :2] = 255
  labels[1][labels[1] == 3] = 1
  f = lambda x: jaxloss.lovasz_softmax_loss(x, labels, classes=classes, per_image=per_image,
                                            ignore_index=255)
  v, g = jax.value_and_grad(f)(logits)
  want = ref_lovasz_softmax(logits, labels, classes=classes, per_image=per_image, ignore=255)
  np.testing.assert_allclose(v, np.mean(want), rtol=RTOL, atol=1e-6)
  np.testing.assert_allclose(g, ref_lovasz_softmax_grad(logits, labels, classes, per_image,
                                                        ignore=255), rtol=1e-4, atol=1e-6)
  # Forward mode agrees with reverse mode (the custom rule is a JVP).
  t = np.random.default_rng(0).normal(size=logits.shape).astype(np.float32)
  _, jt = jax.jvp(f, (logits,), (t,))
  np.testing.assert_allclose(jt, np.sum(np.asarray(g) * t), rtol=1e-4, atol=1e-6)


def test_lovasz_softmax_ties_follow_the_flat_index():
  # Uniform logits: every class error ties across pixels; the gradient follows
  # the stable (flat index) order of the reference, identically on every call.
  logits = np.zeros((2, 3, 4, 3), np.float32)
  labels = np.random.default_rng(26).integers(0, 3, size=(2, 3, 4)).astype(np.int32)
  for per_image in (False, True):
    f = jax.jit(jax.grad(lambda x, pi=per_image: jaxloss.lovasz_softmax_loss(
        x, labels, per_image=pi)))
    g1, g2 = f(logits), f(logits)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_allclose(g1, ref_lovasz_softmax_grad(logits, labels, per_image=per_image),
                               rtol=1e-5, atol=1e-7)
  # Probabilities of 0.5 (activation=None): foreground and background errors
  # all tie at 0.5, interleaved, so the Jaccard increments depend on the order.
  probs = np.full((2, 3, 4, 2), 0.5, np.float32)
  y2 = labels % 2
  for per_image in (False, True):
    g = jax.grad(lambda p, pi=per_image: jaxloss.lovasz_softmax_loss(
        p, y2, activation=None, per_image=pi))(probs)
    want = ref_lovasz_softmax_grad(probs, y2, per_image=per_image, activation=None)
    assert np.ptp(want[..., 0]) > 1e-3   # the order matters here
    np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("per_image", [True, False])
def test_lovasz_hinge_float32_gradient_matches_float64_reference(per_image):
  rng = np.random.default_rng(27)
  logits = (rng.normal(size=(3, 4, 5)) * 2).astype(np.float32)
  labels = (rng.uniform(size=(3, 4, 5)) < 0.4).astype(np.int32)
  labels[1, 0] = 255
  g = jax.grad(lambda x: jaxloss.lovasz_hinge_loss(x, labels, per_image=per_image,
                                                   ignore_index=255))(logits)
  x, y = logits.astype(np.float64), labels
  want = np.zeros_like(x)
  sets = [np.s_[i] for i in range(3)] if per_image else [np.s_[:]]
  for sl in sets:
    xs, ys = x[sl].reshape(-1), y[sl].reshape(-1)
    keep = ys != 255
    s = 2.0 * ys[keep] - 1.0
    err = 1.0 - xs[keep] * s
    ge = _ref_lovasz_grad_errors(err, ys[keep].astype(float)) * (err > 0)
    d = np.zeros_like(xs)
    d[keep] = -s * ge / (3 if per_image else 1)
    want[sl] = d.reshape(x[sl].shape)
  np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7)


def test_lovasz_errors_and_edges():
  logits, labels = _rand(24, (2, 4, 4), 3)
  with pytest.raises(LossTypeError, match="lovasz_softmax_loss: labels must be an integer"):
    jaxloss.lovasz_softmax_loss(logits, np.eye(3, dtype=np.float32)[labels])
  with pytest.raises(LossInputError, match="lovasz_softmax_loss: logits has shape .* C >= 2"):
    jaxloss.lovasz_softmax_loss(logits[..., :1], labels)
  with pytest.raises(LossInputError, match="lovasz_hinge_loss: labels has shape"):
    jaxloss.lovasz_hinge_loss(logits[..., 0], labels[:, :2])
  with pytest.raises(LossInputError, match="classes must be"):
    jaxloss.lovasz_softmax_loss(logits, labels, classes="some")
  # Perfect hinge prediction (margin >= 1 everywhere): exactly 0.
  signs = 2.0 * (labels > 0) - 1.0
  np.testing.assert_allclose(jaxloss.lovasz_hinge_loss(2 * signs, (labels > 0) * 1), 0.0)
  # Background-only batch: only class 0 present.
  v, g = jax.value_and_grad(lambda x: jaxloss.lovasz_softmax_loss(
      x, np.zeros_like(labels)))(logits)
  np.testing.assert_allclose(v, ref_lovasz_softmax(logits, np.zeros_like(labels)), rtol=RTOL)
  chex.assert_tree_all_finite(g)


# ----------------------------------------------------------------------------
# Distance maps, boundary and Hausdorff losses.
# ----------------------------------------------------------------------------


def test_signed_distance_map_matches_scipy_2d_and_3d():
  rng = np.random.default_rng(30)
  for shape in [(3, 9, 7), (2, 4, 5, 6)]:
    labels = rng.integers(0, 3, size=shape).astype(np.int32)
    labels[0] = 0                          # classes 1, 2 absent; class 0 fills the image
    got = jaxloss.signed_distance_map(labels, 3)
    np.testing.assert_allclose(got, ref_sdm(labels, 3), rtol=1e-6, atol=1e-6)
  masks = np.eye(3, dtype=np.float32)[labels]
  np.testing.assert_allclose(jaxloss.signed_distance_map(masks), ref_sdm(labels, 3),
                             rtol=1e-6, atol=1e-6)
  sdm = jax.jit(jaxloss.signed_distance_map, static_argnums=1)(labels, 3)
  assert sdm.shape == labels.shape + (3,)
  with pytest.raises(LossInputError, match="need num_classes"):
    jaxloss.signed_distance_map(labels)
  with pytest.raises(LossTypeError, match="num_classes is only for integer"):
    jaxloss.signed_distance_map(masks, 3)


def test_boundary_loss():
  logits, labels = _rand(31, (2, 8, 6), 3)
  sdm = np.asarray(ref_sdm(labels, 3), np.float32)
  got = jaxloss.boundary_loss(logits, sdm, reduction="none")
  p = np_softmax(logits)
  want = (p[..., 1:] * sdm[..., 1:]).mean(axis=(1, 2))
  np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)
  # The authors' SurfaceLoss: mean over all pixels and the kept classes.
  np.testing.assert_allclose(jaxloss.boundary_loss(logits, sdm),
                             (p[..., 1:] * sdm[..., 1:]).mean(), rtol=RTOL)
  np.testing.assert_allclose(
      jaxloss.boundary_loss(logits, sdm, include_background=True, reduction="none"),
      (p * sdm).mean(axis=(1, 2)), rtol=RTOL, atol=1e-6)
  # Minimal at the perfect prediction: lower than any random one.
  perfect = 1e3 * (2 * np.eye(3, dtype=np.float32)[labels] - 1)
  assert float(jaxloss.boundary_loss(perfect, sdm)) < float(jaxloss.boundary_loss(logits, sdm))
  with jax.enable_x64(True):
    check_grads(lambda x: jaxloss.boundary_loss(x, jnp.asarray(sdm, jnp.float64)),
                (jnp.asarray(logits, jnp.float64),), order=1, modes=["rev"])
  with pytest.raises(LossInputError, match="boundary_loss: distance_maps has shape"):
    jaxloss.boundary_loss(logits, sdm[..., :2])


@pytest.mark.parametrize("kw", [{}, {"include_background": True}, {"alpha": 1.0},
                                {"batch": True}], ids=str)
def test_hausdorff_dt_matches_monai(kw):
  logits, labels = _rand(32, (2, 7, 6), 3)
  got = jaxloss.hausdorff_dt_loss(logits, labels, reduction="none", **kw)
  want = ref_hausdorff(logits, labels, bg=kw.get("include_background", False),
                       alpha=kw.get("alpha", 2.0))
  if kw.get("batch"):
    want = want.mean(0)
  np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)


def test_hausdorff_dt_3d_binary_and_grad():
  rng = np.random.default_rng(33)
  logits = rng.normal(size=(2, 3, 4, 5, 1)).astype(np.float32)
  labels = (rng.uniform(size=(2, 3, 4, 5)) < 0.5).astype(np.int32)
  got = jaxloss.hausdorff_dt_loss(logits, labels, activation="sigmoid", reduction="none")
  np.testing.assert_allclose(got, ref_hausdorff(logits, labels, act="sigmoid"), rtol=RTOL)
  with jax.enable_x64(True):
    check_grads(lambda x: jaxloss.hausdorff_dt_loss(x, labels, activation="sigmoid"),
                (jnp.asarray(logits, jnp.float64),), order=1, modes=["rev"])


def _ref_band(labels, width):
  band = np.zeros(labels.shape, bool)
  h, w = labels.shape[1:]
  for b, i, j in itertools.product(range(labels.shape[0]), range(h), range(w)):
    win = labels[b, max(i - width, 0):i + width + 1, max(j - width, 0):j + width + 1]
    band[b, i, j] = len(np.unique(win)) > 1
  return band


def _mean_or_zero(x):
  return x.mean() if x.size else 0.0


@pytest.mark.parametrize("width", [1, 2])
def test_boundary_aware_loss(width):
  # Piecewise-constant label maps (3 x 3 blocks of 4 x 4 pixels, plus one
  # noisy image): both the band and the interior are non-empty. (With i.i.d.
  # random labels every pixel is in the band and the interior is empty,
  # which the loss scores 0 -- checked below.)
  logits, noise = _rand(34, (2, 12, 12), 3)
  blocks = np.random.default_rng(35).integers(0, 3, size=(2, 3, 3))
  labels = np.kron(blocks, np.ones((4, 4), np.int32)).astype(np.int32)
  labels[1, :3, :3] = noise[1, :3, :3]
  total, parts = jaxloss.boundary_aware_loss(logits, labels, width=width, boundary_weight=2.0,
                                             return_components=True)
  logp = np.log(np_softmax(logits))
  ce = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
  band = _ref_band(labels, width)
  assert band.any() and (~band).any()
  np.testing.assert_allclose(parts["boundary"], ce[band].mean(), rtol=RTOL)
  np.testing.assert_allclose(parts["interior"], ce[~band].mean(), rtol=RTOL)
  np.testing.assert_allclose(total, ce[~band].mean() + 2 * ce[band].mean(), rtol=RTOL)
  # All band: the empty interior contributes 0 (not NaN).
  t_all, p_all = jaxloss.boundary_aware_loss(logits, noise, width=2, return_components=True)
  assert _ref_band(noise, 2).all()
  assert float(p_all["interior"]) == 0.0
  np.testing.assert_allclose(t_all, _mean_or_zero(
      -np.take_along_axis(logp, noise[..., None], -1)[..., 0]), rtol=RTOL)
  np.testing.assert_allclose(parts["per_class"],
                             [ce[labels == c].mean() for c in range(3)], rtol=RTOL)
  # has_aux use, pixel where mask that drops NaN pixels, ignore_index.
  where = np.ones(labels.shape, bool)
  where[0, 0] = False
  bad = logits.copy()
  bad[0, 0] = np.nan
  f = lambda x: jaxloss.boundary_aware_loss(x, labels, where=where, return_components=True)
  (v1, _), g1 = jax.value_and_grad(f, has_aux=True)(logits)
  (v2, _), g2 = jax.value_and_grad(f, has_aux=True)(bad)
  np.testing.assert_allclose(v1, v2, rtol=1e-6)
  np.testing.assert_allclose(g1, g2, rtol=1e-6)
  ign = np.where(where, labels, -1).astype(np.int32)
  v3 = jaxloss.boundary_aware_loss(logits, ign, ignore_index=-1)
  assert np.isfinite(v3)
  # Uniform label map: no band; boundary part 0.
  _, parts = jaxloss.boundary_aware_loss(logits, np.zeros_like(labels), return_components=True)
  assert float(parts["boundary"]) == 0.0
  onehot = np.eye(3, dtype=np.float32)[labels]
  t2 = jaxloss.boundary_aware_loss(logits, onehot, width=width, boundary_weight=2.0)
  np.testing.assert_allclose(t2, total, rtol=1e-6)


def test_boundary_aware_loss_total_sum_and_parts():
  logits, _ = _rand(36, (2, 12, 12), 3)
  blocks = np.random.default_rng(37).integers(0, 3, size=(2, 3, 3))
  labels = np.kron(blocks, np.ones((4, 4), np.int32)).astype(np.int32)
  logp = np.log(np_softmax(logits))
  ce = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
  band = _ref_band(labels, 1)
  kw = dict(boundary_weight=2.0, interior_weight=0.5)
  # Default: the total alone (a scalar array, not a tuple).
  total = jaxloss.boundary_aware_loss(logits, labels, **kw)
  assert isinstance(total, jax.Array) and total.shape == ()
  np.testing.assert_allclose(total, 0.5 * ce[~band].mean() + 2.0 * ce[band].mean(), rtol=RTOL)
  # "sum": the summed cross-entropy of each part; with unit weights, the pixel-wise CE sum.
  t_sum, p_sum = jaxloss.boundary_aware_loss(logits, labels, reduction="sum",
                                             return_components=True, **kw)
  np.testing.assert_allclose(p_sum["boundary"], ce[band].sum(), rtol=RTOL)
  np.testing.assert_allclose(p_sum["interior"], ce[~band].sum(), rtol=RTOL)
  np.testing.assert_allclose(t_sum, 0.5 * ce[~band].sum() + 2.0 * ce[band].sum(), rtol=RTOL)
  np.testing.assert_allclose(p_sum["per_class"], [ce[labels == c].sum() for c in range(3)],
                             rtol=RTOL)
  np.testing.assert_allclose(jaxloss.boundary_aware_loss(logits, labels, reduction="sum"),
                             jaxloss.cross_entropy(logits, labels, reduction="sum"), rtol=RTOL)
  with pytest.raises(ValueError, match="boundary_aware_loss: reduction"):
    jaxloss.boundary_aware_loss(logits, labels, reduction="none")
  # float64 (x64): the band's integer windows stay int32.
  with jax.enable_x64(True):
    v64 = jaxloss.boundary_aware_loss(jnp.asarray(logits, jnp.float64), labels, **kw)
  np.testing.assert_allclose(v64, 0.5 * ce[~band].mean() + 2.0 * ce[band].mean(), rtol=1e-6)
