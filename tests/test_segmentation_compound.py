"""Compound segmentation losses and per-pixel weight maps vs float64 references.

The references follow MONAI's DiceCELoss / DiceFocalLoss (torch's
CrossEntropyLoss weighted-mean and label-smoothing rule, BCEWithLogitsLoss
pos_weight, MONAI's sigmoid focal loss and its "sum" rule) and Taghanaki et
al.'s Combo loss, written channel-first with NumPy in float64; they never call
jaxloss.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxloss
from jaxloss import LossInputError

RTOL = 2e-5


def _rand(seed, shape=(2, 5, 6), c=3, scale=2.0):
  rng = np.random.default_rng(seed)
  logits = (rng.normal(size=shape + (c,)) * scale).astype(np.float32)
  labels = rng.integers(0, c, size=shape).astype(np.int32)
  return logits, labels


# ----------------------------------------------------------------------------
# References.
# ----------------------------------------------------------------------------


def _softmax(x):
  e = np.exp(x - x.max(1, keepdims=True))
  return e / e.sum(1, keepdims=True)


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _cf(logits, labels, ignore=None):
  """Channel-first float64 logits, one-hot targets and the kept pixels."""
  x = np.moveaxis(np.asarray(logits, np.float64), -1, 1)
  c = x.shape[1]
  labels = np.asarray(labels)
  keep = np.ones(labels.shape[:1] + x.shape[2:], bool)
  if labels.dtype.kind in "iu":
    if ignore is not None:
      keep = labels != ignore
    lab = np.where(keep, labels, 0)
    t = (lab == 1)[:, None].astype(float) if c == 1 else np.moveaxis(np.eye(c)[lab], -1, 1)
    t = t * keep[:, None]
  else:
    t = np.moveaxis(np.asarray(labels, np.float64), -1, 1)
  return x, t, keep


def ref_dice(x, t, keep, act="softmax", bg=True, weight=None, nr=1e-5, dr=1e-5, reduction="mean"):
  p = _softmax(x) if act == "softmax" else _sigmoid(x)
  p = p * keep[:, None]
  if not bg and p.shape[1] > 1:
    p, t = p[:, 1:], t[:, 1:]
  axes = tuple(range(2, p.ndim))
  f = 1.0 - (2.0 * (p * t).sum(axes) + nr) / (p.sum(axes) + t.sum(axes) + dr)
  if weight is not None and f.shape[1] > 1:
    f = f * np.asarray(weight)
  return f.mean() if reduction == "mean" else f.sum()


def ref_ce(x, labels, keep, weight=None, eps=0.0, wmap=None, reduction="mean"):
  """torch.nn.functional.cross_entropy (weighted mean, label smoothing)."""
  c = x.shape[1]
  logp = x - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)) \
      - x.max(1, keepdims=True)
  w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
  lab = np.where(keep, labels, 0)
  logp_y = np.take_along_axis(logp, lab[:, None], 1)[:, 0]
  w_y = w[lab] * keep
  wshape = (1, c) + (1,) * (x.ndim - 2)
  per = (1 - eps) * w_y * -logp_y + eps / c * (-(logp * w.reshape(wshape)).sum(1)) * keep
  if wmap is not None:
    per = per * wmap
  return per.sum() / w_y.sum() if reduction == "mean" else per.sum()


def ref_bce(x, t, keep, pos_weight=None, wmap=None, reduction="mean"):
  pw = 1.0 if pos_weight is None else np.asarray(pos_weight).reshape((1, -1) + (1,) * (x.ndim - 2))
  log_sig = -np.logaddexp(0, -x)
  log_1m = -np.logaddexp(0, x)
  per = -(pw * t * log_sig + (1 - t) * log_1m)
  if wmap is not None:
    per = per * wmap[:, None]
  per = per * keep[:, None]
  n = keep.sum() * x.shape[1]
  return per.sum() / n if reduction == "mean" else per.sum()


def ref_focal(x, t, keep, gamma=2.0, alpha=None, bg=True, weight=None, wmap=None,
              reduction="mean"):
  """MONAI FocalLoss(use_softmax=False): sigmoid focal, mean / spatial-mean sum."""
  if not bg and x.shape[1] > 1:
    x, t = x[:, 1:], t[:, 1:]
  bce = x - x * t + np.logaddexp(0, -x)
  inv = -np.logaddexp(0, x * (t * 2 - 1))
  loss = np.exp(inv * gamma) * bce
  if alpha is not None:
    loss = (t * alpha + (1 - t) * (1 - alpha)) * loss
  if weight is not None and x.shape[1] > 1:
    loss = loss * np.asarray(weight).reshape((1, -1) + (1,) * (x.ndim - 2))
  if wmap is not None:
    loss = loss * wmap[:, None]
  m = np.broadcast_to(keep[:, None], loss.shape)
  loss = loss * m
  if reduction == "mean":
    return loss.sum() / m.sum()
  axes = tuple(range(2, loss.ndim))
  return (loss.sum(axes) / m.sum(axes)).sum()


def ref_combo(x, t, keep, alpha=0.5, beta=0.5, act="softmax", bg=True, reduction="mean"):
  p = _softmax(x) if act == "softmax" else _sigmoid(x)
  dice = ref_dice(x, t, keep, act=act, bg=bg, reduction=reduction)
  if not bg and p.shape[1] > 1:
    p, t = p[:, 1:], t[:, 1:]
  per = -(beta * t * np.log(p) + (1 - beta) * (1 - t) * np.log1p(-p))
  m = np.broadcast_to(keep[:, None], per.shape)
  per = per * m
  wce = per.sum() / m.sum() if reduction == "mean" else per.sum()
  return alpha * wce + (1 - alpha) * dice


# ----------------------------------------------------------------------------
# Values.
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("bg", [True, False])
def test_dice_ce_softmax(reduction, bg):
  logits, labels = _rand(0)
  w = np.array([0.5, 2.0, 1.5])
  x, t, keep = _cf(logits, labels)
  got = jaxloss.dice_ce_loss(logits, labels, include_background=bg, class_weights=w,
                             label_smoothing=0.1, dice_weight=0.7, ce_weight=1.3,
                             reduction=reduction)
  want = (0.7 * ref_dice(x, t, keep, bg=bg, weight=w if bg else w[1:], reduction=reduction)
          + 1.3 * ref_ce(x, labels, keep, weight=w, eps=0.1, reduction=reduction))
  np.testing.assert_allclose(got, want, rtol=RTOL)


def test_dice_ce_soft_targets_and_3d():
  logits, _ = _rand(1, shape=(2, 3, 4, 5), c=4)
  soft = _softmax(np.moveaxis(np.random.default_rng(2).normal(size=logits.shape), -1, 1))
  soft = np.moveaxis(soft, 1, -1).astype(np.float32)
  x, t, keep = _cf(logits, soft)
  got = jaxloss.dice_ce_loss(logits, soft)
  # torch's probability-target CE: mean over pixels of -sum_c t log p.
  logp = x - np.log(np.exp(x).sum(1, keepdims=True))
  want = ref_dice(x, t, keep) + (-(t * logp).sum(1)).mean()
  np.testing.assert_allclose(got, want, rtol=RTOL)


def test_dice_ce_sigmoid_binary_pos_weight():
  logits, labels = _rand(3, c=1)
  labels = (labels % 2).astype(np.int32)
  labels = np.random.default_rng(4).integers(0, 2, size=labels.shape).astype(np.int32)
  x, t, keep = _cf(logits, labels)
  got = jaxloss.dice_ce_loss(logits, labels, activation="sigmoid", class_weights=np.array([3.0]))
  want = ref_dice(x, t, keep, act="sigmoid") + ref_bce(x, t, keep, pos_weight=[3.0])
  np.testing.assert_allclose(got, want, rtol=RTOL)


def test_dice_ce_sigmoid_multilabel_is_per_channel_bce():
  logits, _ = _rand(5, c=3)
  multi = np.random.default_rng(6).integers(0, 2, size=logits.shape).astype(np.float32)
  x, t, keep = _cf(logits, multi)
  got = jaxloss.dice_ce_loss(logits, multi, activation="sigmoid")
  want = ref_dice(x, t, keep, act="sigmoid") + ref_bce(x, t, keep)
  np.testing.assert_allclose(got, want, rtol=RTOL)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("bg", [True, False])
def test_dice_focal(reduction, bg):
  logits, labels = _rand(7, c=4)
  w = np.array([0.5, 2.0, 1.5, 1.0])[(0 if bg else 1):]
  x, t, keep = _cf(logits, labels)
  got = jaxloss.dice_focal_loss(logits, labels, include_background=bg, class_weights=w,
                                gamma=1.5, alpha=0.3, focal_weight=2.0, reduction=reduction)
  want = (ref_dice(x, t, keep, bg=bg, weight=w, reduction=reduction)
          + 2.0 * ref_focal(x, t, keep, gamma=1.5, alpha=0.3, bg=bg, weight=w,
                            reduction=reduction))
  np.testing.assert_allclose(got, want, rtol=RTOL)


@pytest.mark.parametrize("act", ["softmax", "sigmoid"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_combo(act, reduction):
  logits, labels = _rand(8)
  x, t, keep = _cf(logits, labels)
  got = jaxloss.combo_loss(logits, labels, activation=act, ce_weight=0.3, dice_weight=0.7,
                           beta=0.7, include_background=False, reduction=reduction)
  want = ref_combo(x, t, keep, alpha=0.3, beta=0.7, act=act, bg=False, reduction=reduction)
  np.testing.assert_allclose(got, want, rtol=RTOL)


# ----------------------------------------------------------------------------
# Pixel masks, ignore_index and weight maps.
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dice_ce_loss", "dice_focal_loss", "combo_loss"])
def test_ignore_index_matches_reference(name):
  logits, labels = _rand(9)
  ign = labels.copy()
  ign[0, :2] = 255
  x, t, keep = _cf(logits, ign, ignore=255)
  got = getattr(jaxloss, name)(logits, ign, ignore_index=255)
  want = {"dice_ce_loss": lambda: ref_dice(x, t, keep) + ref_ce(x, ign, keep),
          "dice_focal_loss": lambda: ref_dice(x, t, keep) + ref_focal(x, t, keep),
          "combo_loss": lambda: ref_combo(x, t, keep)}[name]()
  np.testing.assert_allclose(got, want, rtol=RTOL)


@pytest.mark.parametrize("name", ["dice_ce_loss", "dice_focal_loss", "combo_loss"])
def test_where_is_a_pixel_mask_that_stops_nans(name):
  fn = getattr(jaxloss, name)
  logits, labels = _rand(10)
  keep = np.random.default_rng(11).random(labels.shape) > 0.3
  ign = np.where(keep, labels, 255).astype(np.int32)
  poisoned = np.where(keep[..., None], logits, np.nan).astype(np.float32)
  v_ref, g_ref = jax.value_and_grad(lambda z: fn(z, ign, ignore_index=255))(logits)
  v, g = jax.value_and_grad(lambda z: fn(z, labels, where=keep))(poisoned)
  chex.assert_tree_all_finite((v, g))
  np.testing.assert_allclose(v, v_ref, rtol=1e-6)
  np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-7)
  assert np.all(np.asarray(g)[~keep] == 0)


def test_pixel_weights_scale_the_pixelwise_part():
  logits, labels = _rand(12)
  wmap = np.random.default_rng(13).uniform(0.5, 5.0, size=labels.shape).astype(np.float32)
  x, t, keep = _cf(logits, labels)
  got = jaxloss.dice_ce_loss(logits, labels, weights=wmap, class_weights=np.array([1., 2., 3.]))
  want = ref_dice(x, t, keep, weight=[1., 2., 3.]) + ref_ce(x, labels, keep,
                                                             weight=[1., 2., 3.], wmap=wmap)
  np.testing.assert_allclose(got, want, rtol=RTOL)
  got = jaxloss.dice_focal_loss(logits, labels, weights=wmap)
  np.testing.assert_allclose(got, ref_dice(x, t, keep) + ref_focal(x, t, keep, wmap=wmap),
                             rtol=RTOL)


def test_pixelwise_weights_equal_flattened_call():
  """The pixel-wise CE/BCE/focal call with pixel weights equals the flattened call (issue 3)."""
  logits, labels = _rand(14, shape=(2, 4, 5), c=3)
  wmap = np.random.default_rng(15).uniform(0.1, 3.0, size=labels.shape).astype(np.float32)
  flat_l, flat_y, flat_w = logits.reshape(-1, 3), labels.reshape(-1), wmap.reshape(-1)
  for fn in (jaxloss.cross_entropy, jaxloss.focal_loss):
    np.testing.assert_allclose(fn(logits, labels, weights=wmap),
                               fn(flat_l, flat_y, weights=flat_w), rtol=1e-6)
    np.testing.assert_allclose(fn(logits, labels, weights=wmap, reduction="none"),
                               fn(flat_l, flat_y, weights=flat_w, reduction="none")
                               .reshape(labels.shape), rtol=1e-6)
  b = (labels == 1).astype(np.float32)
  np.testing.assert_allclose(
      jaxloss.binary_cross_entropy(logits[..., 0], b, weights=wmap),
      jaxloss.binary_cross_entropy(logits[..., 0].reshape(-1), b.reshape(-1), weights=flat_w),
      rtol=1e-6)
  # U-Net: weighted mean with the unweighted count (sum(w * l) / N).
  x, _, keep = _cf(logits, labels)
  np.testing.assert_allclose(jaxloss.cross_entropy(logits, labels, weights=wmap),
                             ref_ce(x, labels, keep, wmap=wmap), rtol=RTOL)


# ----------------------------------------------------------------------------
# Parts (return_components): the unweighted terms, equal to the public losses.
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("bg", [True, False])
def test_dice_ce_parts_are_dice_loss_and_cross_entropy(reduction, bg):
  logits, labels = _rand(30)
  w = jnp.array([0.5, 2.0, 1.5])
  kw = dict(include_background=bg, class_weights=w, reduction=reduction)
  total, parts = jaxloss.dice_ce_loss(logits, labels, label_smoothing=0.1, dice_weight=0.7,
                                      ce_weight=1.3, return_components=True, **kw)
  assert set(parts) == {"dice", "ce"}
  dice = jaxloss.dice_loss(logits, labels, include_background=bg,
                           class_weights=w if bg else w[1:], reduction=reduction)
  ce = jaxloss.cross_entropy(logits, labels, class_weights=w, label_smoothing=0.1,
                             reduction=reduction)
  np.testing.assert_allclose(parts["dice"], dice, rtol=1e-6)
  np.testing.assert_allclose(parts["ce"], ce, rtol=1e-6)
  np.testing.assert_allclose(total, 0.7 * dice + 1.3 * ce, rtol=1e-6)
  plain = jaxloss.dice_ce_loss(logits, labels, label_smoothing=0.1, dice_weight=0.7,
                               ce_weight=1.3, **kw)
  assert plain.shape == () and float(plain) == float(total)


def test_dice_ce_sigmoid_parts_are_dice_loss_and_bce():
  logits, _ = _rand(31, c=3)
  multi = np.random.default_rng(32).integers(0, 2, size=logits.shape).astype(np.float32)
  _, parts = jaxloss.dice_ce_loss(logits, multi, activation="sigmoid",
                                  class_weights=jnp.array([1., 2., 3.]), return_components=True)
  np.testing.assert_allclose(parts["dice"], jaxloss.dice_loss(
      logits, multi, activation="sigmoid", class_weights=jnp.array([1., 2., 3.])), rtol=1e-6)
  np.testing.assert_allclose(parts["ce"], jaxloss.binary_cross_entropy(
      logits, multi, pos_weight=jnp.array([1., 2., 3.])), rtol=1e-6)


def test_dice_focal_parts_are_dice_loss_and_sigmoid_focal():
  logits, labels = _rand(33, c=4)
  total, parts = jaxloss.dice_focal_loss(logits, labels, gamma=1.5, dice_weight=0.4,
                                         focal_weight=2.0, return_components=True)
  assert set(parts) == {"dice", "focal"}
  np.testing.assert_allclose(parts["dice"], jaxloss.dice_loss(logits, labels), rtol=1e-6)
  # MONAI's focal factor equals torchvision's (1 - p_t)^gamma for hard targets.
  onehot = jax.nn.one_hot(labels, 4)
  np.testing.assert_allclose(parts["focal"], jaxloss.sigmoid_focal_loss(
      logits, onehot, alpha=None, gamma=1.5), rtol=1e-5)
  np.testing.assert_allclose(total, 0.4 * parts["dice"] + 2.0 * parts["focal"], rtol=1e-6)
  x, t, keep = _cf(logits, labels)
  _, parts = jaxloss.dice_focal_loss(logits, labels, reduction="sum", return_components=True)
  np.testing.assert_allclose(parts["focal"], ref_focal(x, t, keep, reduction="sum"), rtol=RTOL)


@pytest.mark.parametrize("act", ["softmax", "sigmoid"])
def test_combo_parts_and_weights(act):
  logits, labels = _rand(34)
  x, t, keep = _cf(logits, labels)
  total, parts = jaxloss.combo_loss(logits, labels, activation=act, ce_weight=0.3,
                                    dice_weight=0.7, beta=0.7, return_components=True)
  assert set(parts) == {"ce", "dice"}
  # The Dice part is the Dice *loss* (1 - coefficient), entering with a plus sign.
  np.testing.assert_allclose(parts["dice"], jaxloss.dice_loss(logits, labels, activation=act),
                             rtol=1e-6)
  np.testing.assert_allclose(parts["ce"], ref_combo(x, t, keep, alpha=1.0, beta=0.7, act=act),
                             rtol=RTOL)
  np.testing.assert_allclose(total, 0.3 * parts["ce"] + 0.7 * parts["dice"], rtol=1e-6)
  # The paper's alpha: ce_weight = alpha, dice_weight = 1 - alpha (the former ``alpha``).
  np.testing.assert_allclose(total, ref_combo(x, t, keep, alpha=0.3, beta=0.7, act=act),
                             rtol=RTOL)
  # Defaults: 0.5 / 0.5, the former alpha=0.5.
  np.testing.assert_allclose(jaxloss.combo_loss(logits, labels, activation=act),
                             ref_combo(x, t, keep, act=act), rtol=RTOL)
  # Independent weights: not a convex combination.
  v = jaxloss.combo_loss(logits, labels, activation=act, ce_weight=2.0, dice_weight=3.0,
                         beta=0.7)
  np.testing.assert_allclose(v, 2.0 * parts["ce"] + 3.0 * parts["dice"], rtol=1e-6)


@pytest.mark.parametrize("name,part", [("dice_ce_loss", "ce"), ("dice_focal_loss", "focal"),
                                       ("combo_loss", "ce")])
def test_pixel_weights_scale_only_the_pixelwise_part(name, part):
  fn = getattr(jaxloss, name)
  logits, labels = _rand(35)
  wmap = np.random.default_rng(36).uniform(0.5, 5.0, size=labels.shape).astype(np.float32)
  _, plain = fn(logits, labels, return_components=True)
  _, weighted = fn(logits, labels, weights=wmap, return_components=True)
  np.testing.assert_allclose(weighted["dice"], plain["dice"], rtol=1e-6)
  assert not np.allclose(weighted[part], plain[part])
  # Uniform weights c scale the pixel-wise part by c.
  _, doubled = fn(logits, labels, weights=2.0, return_components=True)
  np.testing.assert_allclose(doubled[part], 2.0 * plain[part], rtol=1e-6)


@pytest.mark.parametrize("name", ["dice_ce_loss", "dice_focal_loss", "combo_loss"])
def test_return_components_value_and_grad_has_aux(name):
  fn = getattr(jaxloss, name)
  logits, labels = _rand(37)
  (v, parts), g = jax.value_and_grad(lambda z: fn(z, labels, return_components=True),
                                     has_aux=True)(logits)
  v0, g0 = jax.value_and_grad(lambda z: fn(z, labels))(logits)
  np.testing.assert_allclose(v, v0, rtol=1e-6)
  np.testing.assert_allclose(g, g0, rtol=1e-6, atol=1e-8)
  chex.assert_tree_all_finite(parts)


# ----------------------------------------------------------------------------
# Gradients, edges, errors.
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name,kw", [
    ("dice_ce_loss", {"label_smoothing": 0.1, "class_weights": jnp.array([1., 2., 0.5])}),
    ("dice_ce_loss", {"activation": "sigmoid"}),
    ("dice_focal_loss", {"gamma": 1.5, "alpha": 0.25}),
    ("combo_loss", {"beta": 0.7}),
    ("combo_loss", {"activation": "sigmoid", "include_background": False}),
])
def test_gradients_match_finite_differences(name, kw):
  logits, labels = _rand(16, shape=(1, 3, 4))
  fn = getattr(jaxloss, name)
  with jax.enable_x64(True):
    check_grads(lambda z: fn(z, jnp.asarray(labels), **kw), (jnp.asarray(logits, jnp.float64),),
                order=1, modes=["rev"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["dice_ce_loss", "dice_focal_loss", "combo_loss"])
def test_perfect_and_saturated_predictions(name):
  fn = getattr(jaxloss, name)
  _, labels = _rand(17)
  perfect = 1e4 * (2.0 * jax.nn.one_hot(labels, 3) - 1.0)
  for z, low in ((perfect, True), (-perfect, False)):
    v, g = jax.value_and_grad(lambda z: fn(z, labels))(z)
    chex.assert_tree_all_finite((v, g))
    if low:
      assert float(v) < 1e-4
    else:
      assert float(v) > 1.0
  for z in (perfect.astype(jnp.bfloat16), perfect.astype(jnp.float16)):
    v = fn(z, labels)
    assert v.dtype == jnp.float32 and np.isfinite(float(v))


def test_combo_log1m_softmax_is_finite_when_the_wrong_class_saturates():
  # p -> 1 for a class whose target is 0: log(1 - p) = -2e4, not -inf.
  labels = jnp.zeros((1, 1, 1), jnp.int32)
  z = jnp.array([[[[-1e4, 1e4, -1e4]]]])
  v = jaxloss.combo_loss(z, labels, ce_weight=1.0, dice_weight=0.0)
  # -[beta log p_0 + (1-beta) log(1 - p_1)] / 3 = (0.5 * 2e4 + 0.5 * (2e4 - log 2)) / 3
  np.testing.assert_allclose(v, (0.5 * 2e4 + 0.5 * (2e4 - np.log(2.0))) / 3.0, rtol=1e-5)


def test_errors():
  logits, labels = _rand(18)
  with pytest.raises(ValueError, match="dice_ce_loss: reduction"):
    jaxloss.dice_ce_loss(logits, labels, reduction="none")
  with pytest.raises(LossInputError, match="dice_ce_loss: class_weights has shape"):
    jaxloss.dice_ce_loss(logits, labels, class_weights=jnp.ones(2))
  with pytest.raises(LossInputError, match="dice_focal_loss: weights"):
    jaxloss.dice_focal_loss(logits, labels, weights=jnp.ones((2, 5, 7)))
  with pytest.raises(LossInputError, match="combo_loss: where"):
    jaxloss.combo_loss(logits, labels, where=jnp.ones((2, 4, 6), bool))
  with pytest.raises(ValueError, match="combo_loss: activation"):
    jaxloss.combo_loss(logits, labels, activation=None)
  with pytest.raises(ValueError, match="beta"):
    jaxloss.combo_loss(logits, labels, beta=1.5)
  with pytest.raises(ValueError, match="ce_weight"):
    jaxloss.dice_ce_loss(logits, labels, ce_weight=-1.0)
  with pytest.raises(LossInputError, match="cross_entropy: weights"):
    jaxloss.cross_entropy(logits, labels, weights=jnp.ones((3, 5, 6)))


def ref_unet_weights(inst, w0=10.0, sigma=5.0, cw=(1.0, 1.0)):
  from scipy.ndimage import distance_transform_edt
  out = np.empty(inst.shape)
  for b in range(inst.shape[0]):
    ids = [k for k in np.unique(inst[b]) if k > 0]
    d = np.stack([distance_transform_edt(inst[b] != k) for k in ids]) if ids else None
    w = np.where(inst[b] == 0, cw[0], cw[1]).astype(float)
    if d is not None and len(ids) >= 2:
      d.sort(axis=0)
      w = w + w0 * np.exp(-(d[0] + d[1]) ** 2 / (2 * sigma ** 2)) * (inst[b] == 0)
    out[b] = w
  return out


def test_unet_weight_map_matches_scipy_edt():
  rng = np.random.default_rng(20)
  inst = np.zeros((3, 20, 24), np.int32)
  for b in range(2):
    for k in range(1, 5):
      y, x = rng.integers(0, 17), rng.integers(0, 21)
      inst[b, y:y + rng.integers(2, 5), x:x + rng.integers(2, 5)] = k
  inst[2, 3:6, 3:6] = 7                       # a single object: no border term
  got = jaxloss.unet_weight_map(inst, w0=10.0, sigma=3.0, class_weights=[0.5, 2.0],
                                max_instances=8)
  np.testing.assert_allclose(got, ref_unet_weights(inst, 10.0, 3.0, (0.5, 2.0)), rtol=1e-5)
  # Used as pixel weights: U-Net's weighted pixel-wise cross-entropy.
  logits, _ = _rand(21, shape=(3, 20, 24), c=2)
  v = jaxloss.cross_entropy(logits, (inst > 0).astype(np.int32), weights=got)
  assert np.isfinite(float(v))
  with pytest.raises(LossInputError, match="class_weights"):
    jaxloss.unet_weight_map(inst, class_weights=[1.0, 2.0, 3.0])
  with pytest.raises(jaxloss.LossTypeError, match="integer"):
    jaxloss.unet_weight_map(inst.astype(np.float32))
