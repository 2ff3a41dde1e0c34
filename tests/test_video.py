"""Tests of the video family against independent float64 NumPy/SciPy references.

The references are written from the papers and the peer code's formulas
(bilinear sampling via ``scipy.ndimage.map_coordinates``, UnFlow's Charbonnier
and forward-backward test, Monodepth2's 3x3 SSIM and smoothness, RAFT's
sequence weights, Liu et al.'s pairwise ranking hinge); they never call
jaxloss.
"""

import chex
import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.ndimage
from conftest import f32s
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxloss

RNG = np.random.default_rng(0)


# --------------------------------------------------------------------------
# References (float64).
# --------------------------------------------------------------------------


def np_warp(image, flow):
  """Bilinear backward warp with zero padding, one channel at a time (SciPy)."""
  b, h, w, c = image.shape
  gy, gx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                       indexing="ij")
  out = np.zeros_like(image, dtype=np.float64)
  valid = np.zeros((b, h, w), bool)
  for i in range(b):
    y = gy + flow[i, ..., 1]
    x = gx + flow[i, ..., 0]
    for ch in range(c):
      out[i, ..., ch] = scipy.ndimage.map_coordinates(
          image[i, ..., ch].astype(np.float64), [y, x], order=1, mode="grid-constant", cval=0.0)
    valid[i] = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
  return out, valid


def np_penalty(d, penalty, eps=1e-3, alpha=0.45):
  if penalty == "l1":
    return np.abs(d)
  if penalty == "l2":
    return d * d
  return (d * d + eps * eps) ** alpha


def np_ssim_dissim(x, y, data_range=1.0):
  """Monodepth2's SSIM module: reflection pad 1, 3x3 average pool, clip((1-SSIM)/2)."""
  def pool(a):
    p = np.pad(a, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    h, w = a.shape[1:3]
    return sum(p[:, i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0
  c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
  mx, my = pool(x), pool(y)
  sx, sy, sxy = pool(x * x) - mx ** 2, pool(y * y) - my ** 2, pool(x * y) - mx * my
  n = (2 * mx * my + c1) * (2 * sxy + c2)
  d = (mx ** 2 + my ** 2 + c1) * (sx + sy + c2)
  return np.clip((1 - n / d) / 2, 0, 1)


def np_fb_visible(fw, bw, a1=0.01, a2=0.5):
  bw_w, _ = np_warp(bw, fw)
  diff = fw + bw_w
  sq = lambda v: np.sum(v * v, -1)  # noqa: E731
  return sq(diff) < a1 * (sq(fw) + sq(bw_w)) + a2


def np_photometric(i1, i2, flow, penalty="l1", ssim_weight=0.85, flow_bw=None):
  warped, valid = np_warp(i2, flow)
  d = i1 - warped
  if penalty == "ssim_l1":
    per = (ssim_weight * np_ssim_dissim(i1, warped).mean(-1)
           + (1 - ssim_weight) * np.abs(d).mean(-1))
  else:
    per = np_penalty(d, penalty).mean(-1)
  mask = valid if flow_bw is None else valid & np_fb_visible(flow, flow_bw)
  return per * mask  # per pixel; UnFlow normalises by all pixels


def np_smoothness(flow, image=None, order=1, edge_weight=1.0, penalty="l1"):
  out = []
  for axis in (2, 1):  # x then y
    n = flow.shape[axis]
    take = lambda a, s, e, n=n, axis=axis: np.take(a, np.arange(s, n + e), axis=axis)  # noqa: E731
    if order == 1:
      d = take(flow, 1, 0) - take(flow, 0, -1)
    else:
      d = take(flow, 0, -2) - 2 * take(flow, 1, -1) + take(flow, 2, 0)
    p = np_penalty(d, penalty)
    if image is not None:
      g = np.abs(np.diff(image, axis=axis)).mean(-1, keepdims=True)
      if order == 2:
        g = np.take(g, np.arange(1, g.shape[axis]), axis=axis)
      p = p * np.exp(-edge_weight * g)
    out.append(p.mean(axis=(1, 2, 3)))
  return out[0] + out[1]


def _frames(shape=(2, 7, 9, 3), flow_scale=1.5, seed=0):
  rng = np.random.default_rng(seed)
  a = rng.uniform(size=shape)
  b = np.clip(a + 0.1 * rng.normal(size=shape), 0, 1)
  f = flow_scale * rng.normal(size=shape[:-1] + (2,))
  return a, b, f


# --------------------------------------------------------------------------
# warp.
# --------------------------------------------------------------------------


def test_warp_matches_scipy_bilinear_including_outside_points():
  a, _, f = _frames(flow_scale=3.0)
  out, valid = jaxloss.warp(*f32s(a, f))
  ref, ref_valid = np_warp(a, f)
  assert (~ref_valid).sum() > 5 and ref_valid.sum() > 5
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(valid, ref_valid)


def test_warp_unbatched_and_convention():
  img = np.zeros((5, 6, 1))
  img[2, 4, 0] = 1.0  # row 2 (y), column 4 (x)
  flow = np.zeros((5, 6, 2))
  flow[2, 1] = (3.0, 0.0)        # x displacement first
  flow[0, 4] = (0.0, 2.0)        # y displacement second
  out, _ = jaxloss.warp(*f32s(img, flow))
  assert out[2, 1, 0] == 1.0 and out[0, 4, 0] == 1.0
  assert float(jnp.sum(out)) == 3.0  # the two moved samples and the pixel itself


def test_warp_gradients_match_finite_differences():
  a, _, f = _frames(shape=(1, 5, 6, 2), flow_scale=1.0, seed=1)
  f = np.round(f) + 0.3  # keep sample points away from the integer kinks
  with jax.enable_x64(True):
    check_grads(lambda i, fl: jnp.sum(jnp.sin(jaxloss.warp(i, fl)[0])),
                (jnp.asarray(a), jnp.asarray(f)), order=1, modes=["rev"])


@pytest.mark.parametrize("scale", [1e4, -1e4, jnp.inf])
def test_warp_far_outside_is_zero_and_finite(scale):
  a, _, f = _frames(shape=(1, 4, 5, 2))
  flow = jnp.full(f.shape, scale, jnp.float32)
  out, grads = jax.value_and_grad(lambda fl: jnp.sum(jaxloss.warp(jnp.asarray(a, jnp.float32),
                                                                  fl)[0]))(flow)
  assert float(out) == 0.0
  chex.assert_tree_all_finite(grads)
  assert float(jnp.abs(grads).sum()) == 0.0


def test_warp_integer_coordinates_exact_with_one_sided_gradient():
  a, _, _ = _frames(shape=(1, 4, 5, 1))
  flow = jnp.zeros((1, 4, 5, 2)).at[..., 0].set(1.0)
  out, valid = jaxloss.warp(*f32s(a), flow)
  np.testing.assert_allclose(out[0, :, :-1], a[0, :, 1:], rtol=1e-6)
  assert not bool(valid[0, 0, -1]) and bool(valid[0, 0, -2])
  g = jax.grad(lambda fl: jnp.sum(jaxloss.warp(*f32s(a), fl)[0]))(flow)
  chex.assert_tree_all_finite(g)
  # d/dx at an exact integer point is the forward difference I[x+2] - I[x+1].
  np.testing.assert_allclose(g[0, :, :-2, 0], a[0, :, 2:, 0] - a[0, :, 1:-1, 0], atol=1e-6)


def test_fb_consistency_mask_matches_reference():
  _, _, fw = _frames(flow_scale=2.0, seed=3)
  bw = -fw + 0.6 * np.random.default_rng(4).normal(size=fw.shape)
  got = jaxloss.fb_consistency_mask(*f32s(fw, bw))
  ref = np_fb_visible(fw, bw)
  assert 0 < ref.sum() < ref.size
  assert np.mean(np.asarray(got) == ref) > 0.98  # float32 ties at the threshold only


# --------------------------------------------------------------------------
# photometric_loss.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("penalty", ["l1", "charbonnier", "ssim_l1"])
def test_photometric_matches_reference(penalty):
  a, b, f = _frames()
  got = jaxloss.photometric_loss(*f32s(a, b, f), penalty=penalty, reduction="none")
  ref = np_photometric(a, b, f, penalty)
  np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
  mean = jaxloss.photometric_loss(*f32s(a, b, f), penalty=penalty)
  np.testing.assert_allclose(mean, ref.mean(), rtol=1e-5)


def test_photometric_ssim_l1_components_are_the_unweighted_terms():
  a, b, f = f32s(*_frames(seed=3))
  bw = -f
  for reduction in ("mean", "sum", "none"):
    kw = dict(occlusion="fb", flow_bw=bw, reduction=reduction)
    total, parts = jaxloss.photometric_loss(a, b, f, penalty="ssim_l1", ssim_weight=0.6,
                                            l1_weight=0.4, return_components=True, **kw)
    assert set(parts) == {"ssim", "l1"}
    # The L1 part is the "l1" penalty; the SSIM part is "ssim_l1" with all weight on SSIM.
    np.testing.assert_allclose(parts["l1"], jaxloss.photometric_loss(a, b, f, penalty="l1", **kw),
                               rtol=1e-6)
    np.testing.assert_allclose(
        parts["ssim"],
        jaxloss.photometric_loss(a, b, f, penalty="ssim_l1", ssim_weight=1.0, l1_weight=0.0,
                                 **kw), rtol=1e-6)
    np.testing.assert_allclose(total, 0.6 * parts["ssim"] + 0.4 * parts["l1"], rtol=1e-5,
                               atol=1e-7)
  np.testing.assert_allclose(
      jaxloss.photometric_loss(x1=a, x2=b, flow=f, penalty="ssim_l1", return_components=True)[0],
      jaxloss.photometric_loss(a, b, f, penalty="ssim_l1"), rtol=0)
  with pytest.raises(ValueError, match="return_components=True needs penalty='ssim_l1'"):
    jaxloss.photometric_loss(a, b, f, return_components=True)


def test_photometric_fb_occlusion_matches_reference():
  a, b, f = _frames(seed=5)
  bw = -f + 0.5 * np.random.default_rng(6).normal(size=f.shape)
  got = jaxloss.photometric_loss(*f32s(a, b, f), occlusion="fb", flow_bw=jnp.asarray(bw),
                                 penalty="charbonnier", reduction="none")
  ref = np_photometric(a, b, f, "charbonnier", flow_bw=bw)
  close = np.isclose(np.asarray(got), ref, rtol=1e-5, atol=1e-6)
  assert close.mean() > 0.98  # pixels at the occlusion threshold may flip in float32


def test_photometric_gradients_match_finite_differences():
  a, b, f = _frames(shape=(1, 5, 6, 2), seed=7)
  f = np.round(f) + 0.35
  with jax.enable_x64(True):
    for penalty in ("charbonnier", "ssim_l1"):
      check_grads(lambda x, y, fl, p=penalty: jaxloss.photometric_loss(x, y, fl, penalty=p),
                  (jnp.asarray(a), jnp.asarray(b), jnp.asarray(f)), order=1, modes=["rev"],
                  atol=1e-4, rtol=1e-4)


def test_photometric_finite_at_flows_far_outside():
  a, b, f = _frames()
  for flow, penalty in ((1e4 * np.sign(f), "ssim_l1"), (np.full(f.shape, -1e4), "charbonnier")):
    v, g = jax.value_and_grad(
        lambda x, y, fl, p=penalty: jaxloss.photometric_loss(x, y, fl, penalty=p),
        argnums=(0, 1, 2))(*f32s(a, b, flow))
    chex.assert_tree_all_finite((v, g))
    assert float(v) == 0.0  # every pixel leaves the image: masked


def _gaussians(shift=(0.0, 0.0), size=32):
  y, x = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64),
                     indexing="ij")
  centres = [(10.0, 12.0, 3.0), (20.0, 18.0, 4.0), (14.0, 23.0, 2.5), (22.0, 8.0, 3.5)]
  img = sum(np.exp(-((x - cx - shift[0]) ** 2 + (y - cy - shift[1]) ** 2) / (2 * s * s))
            for cx, cy, s in centres)
  return img[None, ..., None]


@pytest.mark.parametrize("penalty", ["charbonnier", "l1"])
def test_minimising_photometric_over_constant_flow_recovers_shift(penalty):
  true = np.array([3.0, -2.0])                     # (dx, dy) from frame 1 to frame 2
  frame1, frame2 = f32s(_gaussians(), _gaussians(tuple(true)))
  opt = optax.adam(optax.exponential_decay(0.3, 100, 0.5))

  def loss(v):
    flow = jnp.broadcast_to(v, (1, 32, 32, 2))
    return jaxloss.photometric_loss(frame1, frame2, flow, penalty=penalty)

  @jax.jit
  def run(v):
    def step(carry, _):
      v, state = carry
      g = jax.grad(loss)(v)
      updates, state = opt.update(g, state)
      return (optax.apply_updates(v, updates), state), None
    (v, _), _ = jax.lax.scan(step, (v, opt.init(v)), None, length=400)
    return v

  v = run(jnp.zeros(2))
  np.testing.assert_allclose(v, true, atol=0.1)


# --------------------------------------------------------------------------
# flow_smoothness_loss.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("with_image", [False, True])
def test_smoothness_matches_reference(order, with_image):
  img, _, f = _frames(seed=8)
  image = jnp.asarray(img, jnp.float32) if with_image else None
  got = jaxloss.flow_smoothness_loss(*f32s(f), image=image, order=order, edge_weight=10.0,
                                     reduction="none")
  ref = np_smoothness(f, img if with_image else None, order, 10.0)
  np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_smoothness_charbonnier_and_monodepth2_disparity():
  img, _, f = _frames(seed=9)
  got = jaxloss.flow_smoothness_loss(*f32s(f), penalty="charbonnier", reduction="none")
  np.testing.assert_allclose(got, np_smoothness(f, penalty="charbonnier"), rtol=1e-5)
  disp = f[..., :1]  # Monodepth2: (B, H, W, 1) disparity, weight exp(-|dI|)
  got = jaxloss.flow_smoothness_loss(*f32s(disp), image=jnp.asarray(img, jnp.float32))
  np.testing.assert_allclose(got, np_smoothness(disp, img).mean(), rtol=1e-5)


def test_smoothness_gradients_and_affine_flow():
  img, _, f = _frames(shape=(1, 5, 6, 3), seed=10)
  with jax.enable_x64(True):
    check_grads(lambda fl, im: jaxloss.flow_smoothness_loss(fl, image=im, order=2,
                                                            penalty="charbonnier"),
                (jnp.asarray(f), jnp.asarray(img)), order=1, modes=["rev"])
  y, x = np.meshgrid(np.arange(5.0), np.arange(6.0), indexing="ij")
  affine = np.stack([0.5 * x - 0.2 * y, 0.1 * x + y], -1)[None]
  assert float(jaxloss.flow_smoothness_loss(*f32s(affine), order=2)) < 1e-6


# --------------------------------------------------------------------------
# temporal_consistency_loss.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("penalty", ["l1", "l2", "charbonnier"])
def test_temporal_matches_reference_with_occlusion_mask(penalty):
  p, q, f = _frames(shape=(2, 7, 9, 2), seed=11)
  visible = np.random.default_rng(12).uniform(size=p.shape[:-1]) > 0.3
  got = jaxloss.temporal_consistency_loss(*f32s(p, q, f), penalty=penalty,
                                          visible=jnp.asarray(visible))
  warped, valid = np_warp(q, f)
  per = np_penalty(p - warped, penalty).mean(-1) * valid
  np.testing.assert_allclose(got, per[visible].sum() / visible.sum(), rtol=1e-5)


def test_temporal_gradients_and_perfect_motion():
  p, q, f = _frames(shape=(1, 5, 6, 1), seed=13)
  f = np.round(f) + 0.25
  with jax.enable_x64(True):
    check_grads(lambda a, b, fl: jaxloss.temporal_consistency_loss(a, b, fl,
                                                                   penalty="charbonnier"),
                (jnp.asarray(p), jnp.asarray(q), jnp.asarray(f)), order=1, modes=["rev"])
  frame = _gaussians()
  moved = _gaussians((2.0, 1.0))
  flow = np.zeros(frame.shape[:-1] + (2,))
  flow[...] = (2.0, 1.0)
  assert float(jaxloss.temporal_consistency_loss(*f32s(frame, moved, flow))) < 1e-7


# --------------------------------------------------------------------------
# sequence_loss.
# --------------------------------------------------------------------------


def test_sequence_loss_matches_raft_weights():
  rng = np.random.default_rng(14)
  gt = rng.normal(size=(2, 4, 5, 2))
  preds = gt[None] + rng.normal(size=(6, 2, 4, 5, 2))
  n = preds.shape[0]
  ref = sum(0.8 ** (n - i - 1) * np.abs(preds[i] - gt).mean() for i in range(n))
  np.testing.assert_allclose(jaxloss.sequence_loss(*f32s(preds, gt)), ref, rtol=1e-5)
  as_list = [jnp.asarray(p, jnp.float32) for p in preds]
  np.testing.assert_allclose(jaxloss.sequence_loss(as_list, jnp.asarray(gt, jnp.float32)),
                             ref, rtol=1e-5)
  # Any per-step loss; a valid mask per pixel (RAFT's valid[:, None]).
  valid = rng.uniform(size=gt.shape[:-1] + (1,)) > 0.4
  got = jaxloss.sequence_loss(*f32s(preds, gt), gamma=0.5, loss_fn=jaxloss.mse,
                              where=jnp.asarray(valid))
  sq = sum(0.5 ** (n - i - 1) * (preds[i] - gt) ** 2 for i in range(n))
  m = np.broadcast_to(valid, gt.shape)
  np.testing.assert_allclose(got, sq[m].sum() / m.sum(), rtol=1e-5)


def test_sequence_loss_gradient_and_traced_gamma():
  rng = np.random.default_rng(15)
  gt, preds = rng.normal(size=(3, 2)), rng.normal(size=(4, 3, 2))
  with jax.enable_x64(True):
    check_grads(lambda p, g: jaxloss.sequence_loss(p, jnp.asarray(gt), gamma=g,
                                                   loss_fn=jaxloss.mse),
                (jnp.asarray(preds), jnp.asarray(0.7)), order=1, modes=["rev"])


# --------------------------------------------------------------------------
# attention_target_loss and rank_preservation_loss.
# --------------------------------------------------------------------------


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("divergence", ["kl", "mse"])
@pytest.mark.parametrize("activation", ["softmax", None])
def test_attention_target_matches_reference(divergence, activation):
  rng = np.random.default_rng(16)
  scores = rng.normal(size=(3, 4, 10))
  mask = (rng.uniform(size=(3, 1, 10)) > 0.6).astype(float)
  mask[0] = 0.0  # an empty target: contributes 0
  if activation == "softmax":
    attn, p = scores, _softmax(scores)
  else:  # non-negative, unnormalised weights (a CAM); away from 0 for finite differences
    attn = _softmax(scores) * 3.0 + 0.5
    p = attn / attn.sum(-1, keepdims=True)
  t = np.broadcast_to(mask / np.maximum(mask.sum(-1, keepdims=True), 1e-30), p.shape)
  if divergence == "kl":
    ref = np.sum(np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - np.log(p)), 0), -1)
  else:
    ref = np.mean((p - t) ** 2, -1)
  ref[0] = 0.0
  got = jaxloss.attention_target_loss(*f32s(attn, mask), divergence=divergence,
                                      activation=activation, reduction="none")
  np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-7)
  with jax.enable_x64(True):
    check_grads(lambda a: jaxloss.attention_target_loss(a, jnp.asarray(mask),
                                                        divergence=divergence,
                                                        activation=activation),
                (jnp.asarray(attn),), order=1, modes=["rev"])


def np_rank_preservation(s, t, margin):
  out = np.zeros(s.shape[:-1])
  for idx in np.ndindex(*s.shape[:-1]):
    terms = [max(0.0, margin - (s[idx][i] - s[idx][j]) * np.sign(t[idx][i] - t[idx][j]))
             for i in range(s.shape[-1]) for j in range(i + 1, s.shape[-1])
             if t[idx][i] != t[idx][j]]
    out[idx] = np.mean(terms) if terms else 0.0
  return out


def test_rank_preservation_matches_reference():
  rng = np.random.default_rng(17)
  t = _softmax(rng.normal(size=(2, 3, 8)))
  t[0, 0, :4] = t[0, 0, 4]  # ties: skipped
  s = t + 0.05 * rng.normal(size=t.shape)
  got = jaxloss.rank_preservation_loss(*f32s(s, t), margin=0.01, reduction="none")
  np.testing.assert_allclose(got, np_rank_preservation(s, t, 0.01), rtol=1e-5, atol=1e-7)
  with jax.enable_x64(True):
    check_grads(lambda a: jaxloss.rank_preservation_loss(a, jnp.asarray(t), margin=0.01),
                (jnp.asarray(s),), order=1, modes=["rev"])
  g = jax.grad(lambda b: jaxloss.rank_preservation_loss(*f32s(s), b))(jnp.asarray(t,
                                                                                jnp.float32))
  assert float(jnp.abs(g).sum()) == 0.0  # the teacher receives no gradient


# --------------------------------------------------------------------------
# The survey's multi-task motion loss is jaxloss.combine, not a new loss.
# --------------------------------------------------------------------------


def test_combine_builds_motion_plus_background_objective():
  rng = np.random.default_rng(18)
  frames = jnp.asarray(rng.uniform(size=(3, 6, 7, 1)), jnp.float32)   # T frames
  fg = jnp.asarray(rng.uniform(size=(3, 6, 7, 1)) > 0.7, jnp.float32)  # moving-object masks
  flow = jnp.asarray(rng.normal(size=(2, 6, 7, 2)), jnp.float32)     # t -> t+1
  preds = {"mask_logits": jnp.asarray(rng.normal(size=(3, 6, 7, 1)), jnp.float32),
           "background": jnp.asarray(rng.uniform(size=(6, 7, 1)), jnp.float32)}
  targets = {"mask": fg, "frames": frames, "flow": flow}

  def motion(p, t):
    return jaxloss.binary_cross_entropy(p["mask_logits"], t["mask"])

  def background(p, t):  # reconstruct the static pixels of every frame
    bg = jnp.broadcast_to(p["background"], t["frames"].shape)
    return jaxloss.mae(bg, t["frames"], where=t["mask"] < 0.5)

  def consistency(p, t):
    m = jax.nn.sigmoid(p["mask_logits"])
    return jaxloss.temporal_consistency_loss(m[:-1], m[1:], t["flow"])

  objective = jaxloss.combine({"motion": motion, "background": (background, 0.5),
                               "consistency": (consistency, 0.1)})
  (total, parts), grads = jax.value_and_grad(objective, has_aux=True)(preds, targets)
  expect = parts["motion"] + 0.5 * parts["background"] + 0.1 * parts["consistency"]
  np.testing.assert_allclose(total, expect, rtol=1e-6)
  np.testing.assert_allclose(parts["consistency"],
                             jaxloss.temporal_consistency_loss(
                                 jax.nn.sigmoid(preds["mask_logits"][:-1]),
                                 jax.nn.sigmoid(preds["mask_logits"][1:]), flow), rtol=1e-6)
  chex.assert_tree_all_finite(grads)
  assert float(jnp.abs(grads["background"]).sum()) > 0


# --------------------------------------------------------------------------
# Errors.
# --------------------------------------------------------------------------


def test_errors():
  a, b, f = f32s(*_frames())
  with pytest.raises(ValueError, match=r"^photometric_loss: flow has shape .*expected"):
    jaxloss.photometric_loss(a, b, f[..., :1])
  with pytest.raises(ValueError, match=r"^photometric_loss: x2 has shape"):
    jaxloss.photometric_loss(a, b[:, :-1], f)
  with pytest.raises(ValueError, match="flow_bw"):
    jaxloss.photometric_loss(a, b, f, occlusion="fb")
  with pytest.raises(ValueError, match="H, W >= 2"):
    jaxloss.photometric_loss(a[:, :1], b[:, :1], f[:, :1], penalty="ssim_l1")
  with pytest.raises(ValueError, match="penalty must be one of"):
    jaxloss.photometric_loss(a, b, f, penalty="l3")
  with pytest.raises(ValueError, match=r"^warp: flow has shape"):
    jaxloss.warp(a, f[:, :-1])
  with pytest.raises(ValueError, match=r"^fb_consistency_mask: flow_bw has shape"):
    jaxloss.fb_consistency_mask(f, f[:, :-1])
  with pytest.raises(ValueError, match=r"^flow_smoothness_loss: image has shape"):
    jaxloss.flow_smoothness_loss(f, image=a[:, :-1])
  with pytest.raises(ValueError, match="order=2 needs H, W >= 3"):
    jaxloss.flow_smoothness_loss(f[:, :2], order=2)
  with pytest.raises(ValueError, match=r"^temporal_consistency_loss: flow has shape"):
    jaxloss.temporal_consistency_loss(a, b, f[..., :1])
  with pytest.raises(ValueError, match=r"^sequence_loss: predictions has shape"):
    jaxloss.sequence_loss(jnp.stack([a, a]), b[..., :1])
  with pytest.raises(ValueError, match="empty"):
    jaxloss.sequence_loss([], b)
  with pytest.raises(ValueError, match="gamma must be > 0"):
    jaxloss.sequence_loss(jnp.stack([a]), b, gamma=0.0)
  with pytest.raises(ValueError, match=r"^attention_target_loss: targets has shape"):
    jaxloss.attention_target_loss(jnp.zeros((2, 5)), jnp.zeros((2, 4)))
  with pytest.raises(ValueError, match=r"^rank_preservation_loss: targets has shape"):
    jaxloss.rank_preservation_loss(jnp.zeros((2, 5)), jnp.zeros((2, 4)))
  with pytest.raises(TypeError, match="floating"):
    jaxloss.photometric_loss(jnp.zeros((1, 3, 3, 1), jnp.int32), b, f)


# --------------------------------------------------------------------------
# Properties.
# --------------------------------------------------------------------------

_IMG = hnp.arrays(np.float32, (1, 4, 5, 2), elements=st.floats(0, 1, width=32))
_FLOW = hnp.arrays(np.float32, (1, 4, 5, 2), elements=st.floats(-6, 6, width=32))


@settings(max_examples=20, deadline=None)
@given(_IMG, _IMG, _FLOW)
def test_photometric_and_temporal_nonnegative_and_zero_when_identical(x, y, f):
  assert float(jaxloss.photometric_loss(x, y, f)) >= 0.0
  assert float(jaxloss.temporal_consistency_loss(x, y, f)) >= 0.0
  assert float(jaxloss.photometric_loss(x, x, jnp.zeros_like(f))) == 0.0
  assert float(jaxloss.temporal_consistency_loss(x, x, jnp.zeros_like(f))) == 0.0


@settings(max_examples=20, deadline=None)
@given(_FLOW, st.floats(-5, 5))
def test_smoothness_shift_invariant_and_zero_for_constant(f, c):
  f = jnp.asarray(f)
  np.testing.assert_allclose(jaxloss.flow_smoothness_loss(f + c),
                             jaxloss.flow_smoothness_loss(f), rtol=1e-4, atol=1e-4)
  assert float(jaxloss.flow_smoothness_loss(jnp.full_like(f, c))) == 0.0


@settings(max_examples=20, deadline=None)
@given(hnp.arrays(np.float32, (2, 6), elements=st.floats(-5, 5, width=32)),
       hnp.arrays(np.float32, (2, 6), elements=st.floats(0, 1, width=32)))
def test_attention_kl_nonnegative_and_rank_zero_for_same_order(a, m):
  assert float(jaxloss.attention_target_loss(a, m)) >= -1e-6
  # Any strictly increasing map of the teacher keeps its order: no hinge violated.
  assert float(jaxloss.rank_preservation_loss(2.0 * a + 1.0, a)) == 0.0
