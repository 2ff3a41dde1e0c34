"""``ignore_index`` across the dense classification, segmentation and scalable losses.

Issue 19 items 7 and 8: every loss that takes integer class ids takes
``ignore_index`` (torch's semantics: ignored entries are excluded from the value,
the gradient and the "mean" denominator), and an ignored entry is excluded as
exactly as ``where=`` excludes it -- a NaN in its logits reaches neither the
value nor the gradient. The references are independent float64 NumPy/SciPy
code that drops the ignored entries (pixels) before computing the loss; they
never call jaxloss.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import f32
from scipy.ndimage import distance_transform_edt
from scipy.optimize import brentq
from scipy.special import expit, log_expit, logsumexp, softmax

import jaxloss
from jaxloss import LossInputError

IGN = 255


def _logp(z):
  return z - logsumexp(z, axis=-1, keepdims=True)


def _at(a, y):
  return np.take_along_axis(a, y[..., None], axis=-1)[..., 0]


# ----------------------------------------------------------------------------
# Per-entry classification references: (x float64 (N, ...), safe ids (N,), kept (N,))
# -> per-entry losses (N,). ``x`` is the loss's first argument.
# ----------------------------------------------------------------------------


def r_ce(z, y, keep):
  return -_at(_logp(z), y)


def r_nll(lp, y, keep):
  return -_at(lp, y)


_WCE_W = np.array([0.5, 1.0, 2.0, 1.5, 0.25])


def r_wce(z, y, keep):
  return -_WCE_W[y] * _at(_logp(z), y)


def r_balanced(z, y, keep):
  counts = np.bincount(y[keep], minlength=z.shape[-1]).astype(float)
  present = counts > 0
  w = np.where(present, counts.sum() / (present.sum() * np.where(present, counts, 1)), 0.0)
  return -w[y] * _at(_logp(z), y)


def _balanced_norm(z, y, keep):
  counts = np.bincount(y[keep], minlength=z.shape[-1]).astype(float)
  present = counts > 0
  w = np.where(present, counts.sum() / (present.sum() * np.where(present, counts, 1)), 0.0)
  return w[y]


def r_focal(z, y, keep, gamma=2.0):
  lp = _at(_logp(z), y)
  return -((1 - np.exp(lp)) ** gamma) * lp


def r_poly1(z, y, keep, eps=2.0):
  lp = _at(_logp(z), y)
  return -lp + eps * (1 - np.exp(lp))


def r_zero_one(z, y, keep):
  return (np.argmax(z, -1) != y).astype(float)


def r_gce(z, y, keep, q=0.5):
  return (1 - np.exp(_at(_logp(z), y)) ** q) / q


def r_sce(z, y, keep):
  lp = _at(_logp(z), y)
  # ce_weight 0.1 * CE + rce_weight 1 * (-A)(1 - p_y), A = -4 (Wang et al. Eq. 5-6).
  return 0.1 * -lp + 4.0 * (1 - np.exp(lp))


def _tempered_softmax(a, t):
  def exp_t(u):
    with np.errstate(divide="ignore"):
      return np.maximum(1 + (1 - t) * u, 0) ** (1 / (1 - t))
  out = []
  for row in a:
    lam = brentq(lambda lam, row=row: exp_t(row - lam).sum() - 1, row.max() - 50,
                 row.max() + 50, xtol=1e-14)
    out.append(exp_t(row - lam))
  return np.array(out)


def r_bitemp(z, y, keep, t1=0.8, t2=1.4):
  def log_t(u, t):
    return (u ** (1 - t) - 1) / (1 - t)
  p = _tempered_softmax(z, t2)
  yy = np.eye(z.shape[-1])[y]
  ylogy = np.where(yy > 0, yy * log_t(np.where(yy > 0, yy, 1.0), t1), 0.0)
  return np.sum(ylogy - yy * log_t(p, t1) - yy ** (2 - t1) / (2 - t1)
                + p ** (2 - t1) / (2 - t1), -1)


_PARENTS = (0, 0, 1, 1, 2)


def r_hier(z, y, keep):
  lp = _logp(z)
  parents = np.asarray(_PARENTS)
  glp = np.stack([logsumexp(lp[:, parents == g], axis=-1) for g in range(3)], -1)
  return -_at(lp, y) - _at(glp, parents[y])


def r_mhinge(z, y, keep):
  c = z.shape[-1]
  h = np.maximum(0, 1 - _at(z, y)[:, None] + z)
  h[np.arange(len(y)), y] = 0
  return h.sum(-1) / c


_W_LIN = np.random.default_rng(11).normal(size=(5, 3))


def r_linear(h, y, keep):
  return r_ce(h @ _W_LIN.T, y, keep)


def _cls(fn, ref, norm=None, **kw):
  return dict(fn=fn, ref=ref, norm=norm, kw=kw)


def _wy(z, y, keep):
  return _WCE_W[y]


CLS = {
    "cross_entropy": _cls(jaxloss.cross_entropy, r_ce),
    "nll_loss": _cls(jaxloss.nll_loss, r_nll),
    "weighted_cross_entropy": _cls(jaxloss.weighted_cross_entropy, r_wce, _wy,
                                   class_weights=jnp.asarray(_WCE_W, jnp.float32)),
    "balanced_cross_entropy": _cls(jaxloss.balanced_cross_entropy, r_balanced, _balanced_norm),
    "focal_loss": _cls(jaxloss.focal_loss, r_focal),
    "poly1_cross_entropy": _cls(jaxloss.poly1_cross_entropy, r_poly1),
    "zero_one_loss": _cls(jaxloss.zero_one_loss, r_zero_one),
    "generalized_cross_entropy": _cls(jaxloss.generalized_cross_entropy, r_gce),
    "symmetric_cross_entropy": _cls(jaxloss.symmetric_cross_entropy, r_sce),
    "bi_tempered_logistic_loss": _cls(jaxloss.bi_tempered_logistic_loss, r_bitemp, t1=0.8,
                                      t2=1.4, num_iters=40),
    "hierarchical_cross_entropy": _cls(jaxloss.hierarchical_cross_entropy, r_hier,
                                       parents=_PARENTS),
    "multiclass_hinge_loss": _cls(jaxloss.multiclass_hinge_loss, r_mhinge),
    "chunked_cross_entropy": _cls(jaxloss.chunked_cross_entropy, r_ce, chunk_size=2),
    "linear_cross_entropy": _cls(
        lambda h, y, **kw: jaxloss.linear_cross_entropy(h, f32(_W_LIN), y, **kw), r_linear,
        chunk_size=2),
}


def _cls_data(name, seed=0, n=12, c=5):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, 3 if name == "linear_cross_entropy" else c)) * 2
  if name == "nll_loss":
    x = _logp(x)
  y = rng.integers(0, c, size=n)
  y[[1, 4, 7, 10]] = IGN
  return x.astype(np.float32).astype(np.float64), y


def _cls_expected(spec, x, y, where=None, weights=None, reduction="mean"):
  keep = y != IGN
  if where is not None:
    keep = keep & where
  ids = np.where(keep, y, 0)
  vals = spec["ref"](x, ids, keep)
  w = np.ones(len(y)) if weights is None else weights
  vals = np.where(keep, w * vals, 0.0)
  if reduction == "none":
    return vals
  if reduction == "sum":
    return vals.sum()
  norm = np.ones(len(y)) if spec["norm"] is None else spec["norm"](x, ids, keep)
  den = np.sum(np.where(keep, norm, 0.0))
  return vals.sum() / den if den else 0.0


def _call_cls(name, x, y, **extra):
  spec = CLS[name]
  return spec["fn"](x, jnp.asarray(y), ignore_index=IGN, **spec["kw"], **extra)


@pytest.mark.parametrize("name", sorted(CLS))
def test_classification_ignore_index_matches_reference(name):
  x, y = _cls_data(name)
  for reduction in ("none", "sum", "mean"):
    got = _call_cls(name, f32(x), y, reduction=reduction)
    np.testing.assert_allclose(got, _cls_expected(CLS[name], x, y, reduction=reduction),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CLS))
def test_classification_ignore_index_with_where_and_weights(name):
  x, y = _cls_data(name, seed=1)
  rng = np.random.default_rng(2)
  where = rng.random(len(y)) < 0.7
  where[[0, 1]] = True, False
  weights = rng.uniform(0.5, 2.0, size=len(y))
  for reduction in ("sum", "mean"):
    got = _call_cls(name, f32(x), y, where=jnp.asarray(where), weights=f32(weights),
                    reduction=reduction)
    ref = _cls_expected(CLS[name], x, y, where=where, weights=weights, reduction=reduction)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CLS))
def test_classification_all_ignored_is_zero_with_zero_gradient(name):
  x, y = _cls_data(name)
  y = np.full_like(y, IGN)
  v, g = jax.value_and_grad(lambda a: _call_cls(name, a, y))(f32(x))
  assert float(v) == 0.0
  assert np.all(np.asarray(g) == 0.0)


@pytest.mark.parametrize("name", sorted(CLS))
def test_classification_nan_in_ignored_rows_is_excluded_exactly(name):
  # Issue 19 item 8: as where= does, ignore_index keeps a NaN out of value and gradient.
  x, y = _cls_data(name, seed=3)
  ignored = y == IGN
  poisoned = np.where(ignored[:, None], np.nan, x)
  f = jax.jit(jax.value_and_grad(lambda a: _call_cls(name, a, y)))
  v, g = f(f32(poisoned))
  v_clean, g_clean = f(f32(x))
  np.testing.assert_allclose(v, _cls_expected(CLS[name], x, y), rtol=1e-5, atol=1e-6)
  g = np.asarray(g)
  assert np.all(g[ignored] == 0.0)
  assert np.all(np.isfinite(g))
  np.testing.assert_allclose(g, g_clean, rtol=1e-6, atol=1e-7)


def test_issue_example_cross_entropy_nan_row_has_zero_gradient():
  logits = jnp.array([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0], [jnp.nan, 0.0, 1.0], [3.0, 0.0, -2.0]])
  labels = jnp.array([0, 1, 255, 2])
  g = jax.grad(lambda l: jaxloss.cross_entropy(l, labels, ignore_index=255))(logits)
  assert np.all(np.asarray(g)[2] == 0.0) and np.all(np.isfinite(np.asarray(g)))
  v = jaxloss.focal_loss(logits, labels, ignore_index=255)   # used to raise TypeError
  assert np.isfinite(float(v))


@pytest.mark.parametrize("ignore", [-100, -1, 5, 255])
def test_any_ignore_value_outside_or_at_the_class_range(ignore):
  x, y = _cls_data("focal_loss", seed=4)
  y = np.where(y == IGN, ignore, y)
  got = jaxloss.focal_loss(f32(x), jnp.asarray(y), ignore_index=ignore, reduction="none")
  keep = y != ignore
  ref = np.where(keep, r_focal(x, np.where(keep, y, 0), keep), 0.0)
  np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["focal_loss", "poly1_cross_entropy", "zero_one_loss",
                                  "generalized_cross_entropy", "symmetric_cross_entropy",
                                  "multiclass_hinge_loss"])
def test_ignore_index_needs_class_ids(name):
  x, y = _cls_data(name)
  onehot = f32(np.eye(5)[np.where(y == IGN, 0, y)])
  with pytest.raises(LossInputError, match=f"^{name}: ignore_index"):
    getattr(jaxloss, name)(f32(x), onehot, ignore_index=IGN)
  with pytest.raises(LossInputError, match="ignore_index must be an int"):
    getattr(jaxloss, name)(f32(x), jnp.asarray(y), ignore_index=2.5)


# ----------------------------------------------------------------------------
# Segmentation: references over the kept pixels (float64, channel-last).
# ----------------------------------------------------------------------------

B, H, W, C = 2, 4, 5, 3


def _seg_data(seed=0, c=C, binary=False):
  rng = np.random.default_rng(seed)
  x = (rng.normal(size=(B, H, W) + (() if binary else (c,))) * 2)
  y = rng.integers(0, 2 if binary else c, size=(B, H, W))
  ign = rng.random((B, H, W)) < 0.25
  ign[:, 0, 0], ign[:, 1, 1] = True, False
  y = np.where(ign, IGN, y)
  return x.astype(np.float32).astype(np.float64), y


def _probs_targets(x, y, keep, act="softmax"):
  """p, g (B, H, W, C) with the excluded pixels zeroed (they drop out of every sum)."""
  p = softmax(x, -1) if act == "softmax" else expit(x)
  g = np.eye(x.shape[-1])[np.where(keep, y, 0)]
  return p * keep[..., None], g * keep[..., None]


def _overlap_sums(x, y, keep):
  p, g = _probs_targets(x, y, keep)
  return (p * g).sum((1, 2)), p.sum((1, 2)), g.sum((1, 2)), (p * (1 - g)).sum((1, 2)), \
      ((1 - p) * g).sum((1, 2))


def _per_bc_mean(values, where=None, weights=None):
  w = np.ones_like(values) if weights is None else np.broadcast_to(weights, values.shape)
  m = np.ones(values.shape, bool) if where is None else where
  return np.sum(np.where(m, w * values, 0)) / max(m.sum(), 1)


def ref_dice_family(kind):
  def ref(x, y, where=None, weights=None):
    keep = y != IGN
    i, ps, gs, fp, fn = _overlap_sums(x, y, keep)
    nr = dr = 1e-5
    if kind == "dice":
      v = 1 - (2 * i + nr) / (ps + gs + dr)
    elif kind == "jaccard":
      v = 1 - (2 * i + nr) / (2 * (ps + gs - i) + dr)
    elif kind == "log_cosh_dice":
      v = np.log(np.cosh(1 - (2 * i + nr) / (ps + gs + dr)))
    elif kind == "tversky":
      v = 1 - (i + nr) / (i + 0.5 * fp + 0.5 * fn + dr)
    else:   # focal Tversky, the paper's defaults alpha 0.3 (FP), beta 0.7 (FN), gamma 4/3
      v = (1 - (i + nr) / (i + 0.3 * fp + 0.7 * fn + dr)) ** 0.75
    return _per_bc_mean(v, where, weights)
  return ref


def ref_generalized_dice(x, y, where=None, weights=None):
  keep = y != IGN
  i, ps, gs, _, _ = _overlap_sums(x, y, keep)
  with np.errstate(divide="ignore"):
    w = 1 / gs ** 2
  inf = np.isinf(w)
  w[inf] = 0
  w = w + inf * w.max(axis=1, keepdims=True)
  v = 1 - (2 * (w * i).sum(-1) + 1e-5) / ((w * (ps + gs)).sum(-1) + 1e-5)
  return _per_bc_mean(v, where)


def _lovasz_grad(gt_sorted):
  gts = gt_sorted.sum()
  inter = gts - np.cumsum(gt_sorted)
  union = gts + np.cumsum(1 - gt_sorted)
  jac = 1 - inter / union
  jac[1:] = jac[1:] - jac[:-1].copy()
  return jac


def _lovasz_softmax_flat(p, y):
  losses = []
  for c in range(p.shape[1]):
    fg = (y == c).astype(float)
    if fg.sum() == 0:
      continue
    err = np.abs(fg - p[:, c])
    order = np.argsort(-err, kind="stable")
    losses.append(np.dot(err[order], _lovasz_grad(fg[order])))
  return float(np.mean(losses)) if losses else 0.0


def ref_lovasz_softmax(x, y, where=None, weights=None):
  # per_image=True: one value per image over its kept pixels, averaged over the kept images.
  vals = []
  for b in range(B):
    keep = y[b] != IGN
    vals.append(_lovasz_softmax_flat(softmax(x[b], -1)[keep], y[b][keep]))
  return _per_bc_mean(np.array(vals), where)


def ref_lovasz_hinge(x, y, where=None, weights=None):
  vals = []
  for b in range(B):
    keep = y[b] != IGN
    xs, ys = x[b][keep], y[b][keep].astype(float)
    if len(ys) == 0:
      vals.append(0.0)
      continue
    err = 1 - xs * (2 * ys - 1)
    order = np.argsort(-err, kind="stable")
    vals.append(float(np.dot(np.maximum(err[order], 0), _lovasz_grad(ys[order]))))
  return _per_bc_mean(np.array(vals), where)


def _field(mask, valid):
  """Distance from each pixel to the nearest *valid* pixel of the other kind (0 if none)."""
  fg, bg = mask & valid, ~mask & valid
  if not fg.any() or not bg.any():
    return np.zeros(mask.shape)
  return np.where(mask, distance_transform_edt(~bg), distance_transform_edt(~fg))


def ref_hausdorff(x, y, where=None, weights=None):
  keep = y != IGN
  p, g = _probs_targets(x, y, keep)
  out = np.zeros((B, C - 1))
  for b, c in itertools.product(range(B), range(1, C)):
    d = _field(p[b, ..., c] > 0.5, keep[b]) ** 2 + _field(g[b, ..., c] > 0.5, keep[b]) ** 2
    k = keep[b]
    out[b, c - 1] = np.sum(((p[b, ..., c] - g[b, ..., c]) ** 2 * d)[k]) / max(k.sum(), 1)
  return _per_bc_mean(out, where)


def _band(y, width=1):
  out = np.zeros(y.shape, bool)
  for b, i, j in itertools.product(range(B), range(H), range(W)):
    win = y[b, max(i - width, 0):i + width + 1, max(j - width, 0):j + width + 1]
    out[b, i, j] = len(np.unique(win)) > 1
  return out


def ref_boundary_aware(x, y, where=None, weights=None):
  keep = y != IGN
  if where is not None:
    keep = keep & where
  ce = -_at(_logp(x), np.where(keep, y, 0))
  band = _band(y)
  part = [ce[keep & m].mean() if (keep & m).any() else 0.0 for m in (band, ~band)]
  return part[0] + part[1]


def _dice_mean(x, y, keep, act="softmax"):
  p, g = _probs_targets(x, y, keep, act)
  i = (p * g).sum((1, 2))
  return np.mean(1 - (2 * i + 1e-5) / (p.sum((1, 2)) + g.sum((1, 2)) + 1e-5))


def ref_dice_ce(x, y, where=None, weights=None):
  keep = y != IGN
  if where is not None:
    keep = keep & where
  w = np.ones(y.shape) if weights is None else weights
  ce = -_at(_logp(x), np.where(keep, y, 0))
  return _dice_mean(x, y, keep) + np.sum((w * ce)[keep]) / keep.sum()


def ref_dice_focal(x, y, where=None, weights=None):
  keep = y != IGN
  if where is not None:
    keep = keep & where
  w = np.ones(y.shape) if weights is None else weights
  t = np.eye(C)[np.where(keep, y, 0)]
  # MONAI's sigmoid focal of every channel: BCE * sigmoid(-x (2t - 1))^gamma, gamma = 2.
  bce = -(t * log_expit(x) + (1 - t) * log_expit(-x))
  focal = expit(-x * (2 * t - 1)) ** 2 * bce * w[..., None]
  return _dice_mean(x, y, keep) + np.sum(focal[keep]) / (keep.sum() * C)


def ref_combo(x, y, where=None, weights=None):
  keep = y != IGN
  if where is not None:
    keep = keep & where
  w = np.ones(y.shape) if weights is None else weights
  t = np.eye(C)[np.where(keep, y, 0)]
  p = softmax(x, -1)
  wce = -(0.5 * t * np.log(p) + 0.5 * (1 - t) * np.log1p(-p)) * w[..., None]
  return 0.5 * np.sum(wce[keep]) / (keep.sum() * C) + 0.5 * _dice_mean(x, y, keep)


def ref_sharded(kind):
  def ref(x, y, where=None, weights=None):
    keep = y != IGN
    p, g = _probs_targets(x, y, keep)
    tp, fp, fn = ((p * g).sum((0, 1, 2)), (p * (1 - g)).sum((0, 1, 2)),
                  ((1 - p) * g).sum((0, 1, 2)))
    if kind == "dice":
      return np.mean(1 - (2 * tp + 1e-5) / (2 * tp + fp + fn + 1e-5))
    return np.mean(1 - (tp + 1e-5) / (tp + 0.5 * fp + 0.5 * fn + 1e-5))
  return ref


_MESH = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))

# name -> (reference, extra kwargs, where shape ("bc" | "b" | "pixels" | None),
#          weights kind ("class" | "pixels" | None), binary logits)
SEG = {
    "dice_loss": (ref_dice_family("dice"), {}, "bc", "class", False),
    "jaccard_loss": (ref_dice_family("jaccard"), {}, "bc", "class", False),
    "log_cosh_dice_loss": (ref_dice_family("log_cosh_dice"), {}, "bc", "class", False),
    "tversky_loss": (ref_dice_family("tversky"), {}, "bc", "class", False),
    "focal_tversky_loss": (ref_dice_family("focal_tversky"), {}, "bc", "class", False),
    "generalized_dice_loss": (ref_generalized_dice, {}, "b", None, False),
    "lovasz_softmax_loss": (ref_lovasz_softmax, {"per_image": True}, "b", None, False),
    "lovasz_hinge_loss": (ref_lovasz_hinge, {}, "b", None, True),
    "hausdorff_dt_loss": (ref_hausdorff, {}, "bc", None, False),
    "boundary_aware_loss": (ref_boundary_aware, {}, "pixels", None, False),
    "dice_ce_loss": (ref_dice_ce, {}, "pixels", "pixels", False),
    "dice_focal_loss": (ref_dice_focal, {}, "pixels", "pixels", False),
    "combo_loss": (ref_combo, {}, "pixels", "pixels", False),
    "sharded_dice_loss": (ref_sharded("dice"), {"mesh": _MESH}, None, None, False),
    "sharded_tversky_loss": (ref_sharded("tversky"), {"mesh": _MESH}, None, None, False),
}


def _call_seg(name, x, y, **extra):
  return getattr(jaxloss, name)(x, jnp.asarray(y), ignore_index=IGN, **SEG[name][1], **extra)


def _seg_inputs(name, seed=0):
  return _seg_data(seed, binary=SEG[name][4])


@pytest.mark.parametrize("name", sorted(SEG))
def test_segmentation_ignore_index_matches_reference(name):
  x, y = _seg_inputs(name)
  np.testing.assert_allclose(_call_seg(name, f32(x), y), SEG[name][0](x, y), rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize("name", sorted(n for n in SEG if SEG[n][2] is not None))
def test_segmentation_ignore_index_with_where_and_weights(name):
  ref, _, where_kind, weights_kind, _ = SEG[name]
  x, y = _seg_inputs(name, seed=1)
  rng = np.random.default_rng(5)
  shape = {"bc": (B, C - 1 if name == "hausdorff_dt_loss" else C), "b": (B,),
           "pixels": (B, H, W)}[where_kind]
  where = rng.random(shape) < 0.7
  where.flat[0], where.flat[-1] = True, False
  extra, weights = {"where": jnp.asarray(where)}, None
  if weights_kind == "class":
    weights = rng.uniform(0.5, 2.0, size=C)
    extra["class_weights"] = f32(weights)
  elif weights_kind == "pixels":
    weights = rng.uniform(0.5, 2.0, size=(B, H, W))
    extra["weights"] = f32(weights)
  np.testing.assert_allclose(_call_seg(name, f32(x), y, **extra),
                             ref(x, y, where=where, weights=weights), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SEG))
def test_segmentation_all_ignored_is_zero_with_zero_gradient(name):
  x, y = _seg_inputs(name)
  y = np.full_like(y, IGN)
  v, g = jax.value_and_grad(lambda a: _call_seg(name, a, y))(f32(x))
  assert float(v) == 0.0
  assert np.all(np.asarray(g) == 0.0)


@pytest.mark.parametrize("name", sorted(SEG))
def test_segmentation_nan_in_ignored_pixels_is_excluded_exactly(name):
  x, y = _seg_inputs(name, seed=2)
  ignored = y == IGN
  poisoned = np.where(ignored if x.ndim == 3 else ignored[..., None], np.nan, x)
  f = jax.jit(jax.value_and_grad(lambda a: _call_seg(name, a, y)))
  v, g = f(f32(poisoned))
  v_clean, g_clean = f(f32(x))
  np.testing.assert_allclose(v, SEG[name][0](x, y), rtol=1e-5, atol=1e-6)
  g = np.asarray(g)
  assert np.all(g[ignored] == 0.0)
  assert np.all(np.isfinite(g))
  np.testing.assert_allclose(g, g_clean, rtol=1e-6, atol=1e-7)


def test_hausdorff_ignore_index_needs_class_ids():
  x, y = _seg_data()
  with pytest.raises(LossInputError, match="^hausdorff_dt_loss: ignore_index needs integer"):
    jaxloss.hausdorff_dt_loss(f32(x), f32(np.eye(C)[np.where(y == IGN, 0, y)]),
                              ignore_index=IGN)
