"""Tests of the image family against independent float64 NumPy/SciPy references.

The references below are written from the papers and the peer formulas
(Wang et al. 2004/2003 with pytorch-msssim's pooling, piq's PSNR, kornia's
total variation, Jiang et al.'s FFL, Liu et al.'s hole/valid L1); they never
call jaxloss.
"""

import chex
import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxloss

WANG = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


# --------------------------------------------------------------------------
# References (float64).
# --------------------------------------------------------------------------


def _gauss2d(size=11, sigma=1.5):
  c = np.arange(size, dtype=np.float64) - size // 2
  g = np.exp(-c ** 2 / (2 * sigma ** 2))
  g /= g.sum()
  return np.outer(g, g)


def _filt(a, win, padding):
  if padding == "valid":
    return scipy.signal.correlate2d(a, win, mode="valid")
  # kornia's reflect border (edge not repeated) is scipy's "mirror".
  return scipy.ndimage.correlate(a, win, mode="mirror")


def ref_ssim_maps(x, y, L, padding="valid", size=11, sigma=1.5, k1=0.01, k2=0.03):
  """Per-channel SSIM and cs maps of one (H, W, C) image pair."""
  win = _gauss2d(size, sigma)
  c1, c2 = (k1 * L) ** 2, (k2 * L) ** 2
  smaps, csmaps = [], []
  for c in range(x.shape[-1]):
    a, b = x[..., c], y[..., c]
    mx, my = _filt(a, win, padding), _filt(b, win, padding)
    sxx = _filt(a * a, win, padding) - mx * mx
    syy = _filt(b * b, win, padding) - my * my
    sxy = _filt(a * b, win, padding) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    smaps.append((2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1) * cs)
    csmaps.append(cs)
  return np.stack(smaps, -1), np.stack(csmaps, -1)


def ref_ssim(x, y, L, **kw):
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  return np.array([ref_ssim_maps(a, b, L, **kw)[0].mean() for a, b in zip(x, y, strict=True)])


def _torch_avg_pool2(a):
  """torch avg_pool2d(kernel 2, stride 2, padding=side % 2, count_include_pad=True)."""
  ph, pw = a.shape[0] % 2, a.shape[1] % 2
  ap = np.pad(a, ((ph, ph), (pw, pw), (0, 0)))
  ho = (a.shape[0] + 2 * ph - 2) // 2 + 1
  wo = (a.shape[1] + 2 * pw - 2) // 2 + 1
  out = np.zeros((ho, wo, a.shape[2]))
  for i in range(ho):
    for j in range(wo):
      out[i, j] = ap[2 * i:2 * i + 2, 2 * j:2 * j + 2].sum(axis=(0, 1)) / 4.0
  return out


def ref_ms_ssim(x, y, L, weights=WANG):
  out = []
  for a, b in zip(np.asarray(x, np.float64), np.asarray(y, np.float64), strict=True):
    val = np.ones(a.shape[-1])
    for level, w in enumerate(weights):
      s, cs = ref_ssim_maps(a, b, L)
      if level < len(weights) - 1:
        val *= np.maximum(cs.mean(axis=(0, 1)), 0) ** w
        a, b = _torch_avg_pool2(a), _torch_avg_pool2(b)
      else:
        val *= np.maximum(s.mean(axis=(0, 1)), 0) ** w
    out.append(val.mean())
  return np.array(out)


def ref_psnr(x, y, L, eps=1e-8):
  x, y = np.asarray(x, np.float64) / L, np.asarray(y, np.float64) / L
  return -10 * np.log10(((x - y) ** 2).mean(axis=(1, 2, 3)) + eps)


def ref_tv(x, mode="anisotropic", normalize=False):
  x = np.asarray(x, np.float64)
  out = []
  for img in x:
    h, w, c = img.shape
    if mode == "anisotropic":
      dh = np.abs(np.diff(img, axis=0))
      dw = np.abs(np.diff(img, axis=1))
      out.append(dh.mean() + dw.mean() if normalize else dh.sum() + dw.sum())
    else:
      tot = 0.0
      for i in range(h):
        for j in range(w):
          gh = img[i + 1, j] - img[i, j] if i + 1 < h else np.zeros(c)
          gw = img[i, j + 1] - img[i, j] if j + 1 < w else np.zeros(c)
          tot += np.sqrt(gh ** 2 + gw ** 2).sum()
      out.append(tot / (h * w * c) if normalize else tot)
  return np.array(out)


def ref_gradient_loss(p, t):
  p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
  gh = np.abs(np.diff(p, axis=1) - np.diff(t, axis=1)).mean(axis=(1, 2, 3))
  gw = np.abs(np.diff(p, axis=2) - np.diff(t, axis=2)).mean(axis=(1, 2, 3))
  return gh + gw


def _ffl_spectra(x, pf):
  """(B, P, C, h, w) orthonormal spectra of the patches, official patch order."""
  b, h, w, c = x.shape
  ph, pw = h // pf, w // pf
  pat = [x[:, i * ph:(i + 1) * ph, j * pw:(j + 1) * pw, :] for i in range(pf) for j in range(pf)]
  y = np.stack(pat, 1).transpose(0, 1, 4, 2, 3)
  return np.fft.fft2(y, norm="ortho")


def ref_ffl_parts(p, t, alpha=1.0, pf=1, log_matrix=False, batch_matrix=False):
  """Per-image FFL and the (frozen) weight matrix."""
  fp = _ffl_spectra(np.asarray(p, np.float64), pf)
  ft = _ffl_spectra(np.asarray(t, np.float64), pf)
  dist = np.abs(fp - ft) ** 2
  wm = np.sqrt(dist) ** alpha
  if log_matrix:
    wm = np.log(wm + 1.0)
  peak = wm.max() if batch_matrix else wm.max(axis=(-2, -1), keepdims=True)
  with np.errstate(invalid="ignore", divide="ignore"):
    wm = wm / peak
  wm[np.isnan(wm)] = 0.0
  wm = np.clip(wm, 0.0, 1.0)
  return (wm * dist).mean(axis=(1, 2, 3, 4)), wm


def ref_masked(p, t, m, hole_w=6.0, valid_w=1.0):
  p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
  m = np.broadcast_to(np.asarray(m, np.float64), p.shape)
  err = np.abs(p - t)
  hole = ((1 - m) * err).sum() / p.size
  valid = (m * err).sum() / p.size
  return hole_w * hole + valid_w * valid, hole, valid


def _images(seed, shape, noise=0.2):
  rng = np.random.default_rng(seed)
  t = rng.uniform(0, 1, shape)
  p = np.clip(t + noise * rng.normal(size=shape), 0, 1)
  return p.astype(np.float32), t.astype(np.float32)


# --------------------------------------------------------------------------
# SSIM.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("L", [1.0, 255.0])
def test_ssim_matches_reference(padding, L):
  p, t = _images(0, (3, 24, 21, 2))
  p, t = p * L, t * L
  got = jaxloss.ssim(p, t, data_range=L, padding=padding, reduction="none")
  want = ref_ssim(p, t, L, padding=padding)
  # float32 moments E[x^2] - mu^2 lose ~1e-7 relative of the data range^2;
  # the SSIM index is accurate to ~1e-6 absolute.
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)
  loss = jaxloss.ssim_loss(p, t, data_range=L, padding=padding, reduction="none")
  np.testing.assert_allclose(loss, 1 - want, rtol=1e-5, atol=2e-6)
  np.testing.assert_allclose(jaxloss.ssim_loss(p, t, data_range=L, padding=padding),
                             np.mean(1 - want), rtol=1e-5, atol=2e-6)


def test_ssim_options_match_reference():
  p, t = _images(1, (2, 20, 20, 1))
  got = jaxloss.ssim(p, t, data_range=1.0, kernel_size=7, kernel_sigma=1.0, k1=0.02,
                     k2=0.05, reduction="none")
  want = ref_ssim(p, t, 1.0, size=7, sigma=1.0, k1=0.02, k2=0.05)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)


def test_ssim_single_image_and_extra_batch_axes():
  p, t = _images(2, (2, 3, 16, 16, 1))
  full = jaxloss.ssim(p, t, data_range=1.0, reduction="none")
  chex.assert_shape(full, (2, 3))
  single = jaxloss.ssim(p[1, 2], t[1, 2], data_range=1.0, reduction="none")
  chex.assert_shape(single, ())
  np.testing.assert_allclose(single, ref_ssim(p[1, 2][None], t[1, 2][None], 1.0)[0], rtol=1e-5)


def test_ssim_identical_is_exactly_one_with_finite_grad():
  _, t = _images(3, (2, 20, 18, 3))
  t = jnp.asarray(t)
  for padding in ("valid", "same"):
    assert float(jaxloss.ssim(t, t, data_range=1.0, padding=padding)) == 1.0
    assert float(jaxloss.ssim_loss(t, t, data_range=1.0, padding=padding)) == 0.0
    g = jax.grad(lambda a, padding=padding: jaxloss.ssim_loss(
        a, t, data_range=1.0, padding=padding))(t)
    chex.assert_tree_all_finite(g)
    np.testing.assert_allclose(g, 0.0, atol=1e-6)


def test_ssim_edges_finite():
  p, t = _images(4, (2, 16, 16, 1))
  p, t = jnp.asarray(p), jnp.asarray(t)
  zeros = jnp.zeros_like(t)
  cases = [(zeros, zeros, 1.0), (jnp.ones_like(t), jnp.ones_like(t), 1.0),
           (jnp.full_like(t, 0.3), t, 1.0), (1.0 - t, t, 1.0), (t + 1e-7, t, 1.0)]
  vg = jax.jit(jax.value_and_grad(lambda a, b: jaxloss.ssim_loss(a, b, data_range=1.0)))
  for a, b, _ in cases:
    chex.assert_tree_all_finite(vg(a, b))
  # Constant identical images: variances are 0, SSIM is exactly 1.
  assert float(jaxloss.ssim(zeros, zeros, data_range=1.0)) == 1.0
  # A round-off level difference must not push the index above 1.
  s = jaxloss.ssim(t + 1e-7, t, data_range=1.0, reduction="none")
  assert np.all(np.asarray(s) <= 1.0)
  # Negative structure: x vs 1 - x has negative SSIM.
  np.testing.assert_allclose(jaxloss.ssim(1.0 - t, t, data_range=1.0, reduction="none"),
                             ref_ssim(1.0 - np.asarray(t, np.float64), t, 1.0), rtol=1e-5,
                             atol=2e-6)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_ssim_low_precision_finite(dtype):
  p, t = _images(5, (2, 16, 16, 3))
  p, t = jnp.asarray(p, dtype), jnp.asarray(t, dtype)
  for L, scale in ((1.0, 1.0), (255.0, 255.0)):
    a, b = (p * scale).astype(dtype), (t * scale).astype(dtype)
    v, g = jax.value_and_grad(lambda a, b=b, L=L: jaxloss.ssim_loss(a, b, data_range=L))(a)
    assert v.dtype == jnp.float32
    chex.assert_tree_all_finite((v, g))
    want = ref_ssim(np.asarray(a, np.float64), np.asarray(b, np.float64), L).mean()
    np.testing.assert_allclose(v, 1 - want, atol=1e-4)
    assert float(jaxloss.ssim(b, b, data_range=L)) == 1.0


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_ssim_grad_matches_finite_differences(padding):
  p, t = _images(6, (2, 14, 13, 2))
  with jax.enable_x64(True):
    p64, t64 = jnp.asarray(p, jnp.float64), jnp.asarray(t, jnp.float64)
    f = lambda a, b: jaxloss.ssim_loss(a, b, data_range=1.0, padding=padding)
    check_grads(f, (p64, t64), order=1, modes=["rev"])
    assert jaxloss.ssim_loss(p64, t64, data_range=1.0).dtype == jnp.float64


def test_ssim_matches_dm_pix():
  dm_pix = pytest.importorskip("dm_pix")
  p, t = _images(7, (3, 32, 30, 3))
  np.testing.assert_allclose(jaxloss.ssim(p, t, data_range=1.0, reduction="none"),
                             dm_pix.ssim(jnp.asarray(p), jnp.asarray(t)), rtol=1e-5, atol=1e-6)


def test_ssim_errors():
  p, t = _images(8, (2, 16, 16, 1))
  with pytest.raises(ValueError, match=r"^ssim_loss: targets has shape"):
    jaxloss.ssim_loss(p, t[..., :8, :], data_range=1.0)
  with pytest.raises(ValueError, match=r"ssim: predictions must have rank >= 3"):
    jaxloss.ssim(p[0, ..., 0], t[0, ..., 0], data_range=1.0)
  with pytest.raises(ValueError, match=r"too small for kernel_size=11"):
    jaxloss.ssim_loss(p[:, :8], t[:, :8], data_range=1.0)
  with pytest.raises(ValueError, match=r"kernel_size must be odd"):
    jaxloss.ssim_loss(p, t, data_range=1.0, kernel_size=10)
  with pytest.raises(ValueError, match=r"data_range must be > 0"):
    jaxloss.ssim_loss(p, t, data_range=0.0)
  with pytest.raises(ValueError, match=r"padding must be one of"):
    jaxloss.ssim_loss(p, t, data_range=1.0, padding="reflect")
  with pytest.raises(TypeError, match=r"predictions must be a floating array"):
    jaxloss.ssim_loss(np.zeros((1, 16, 16, 1), np.int32), t[:1], data_range=1.0)
  with pytest.raises(TypeError, match="data_range"):
    jaxloss.ssim_loss(p, t)  # data_range is required (no silent 255 / 1 default)


# --------------------------------------------------------------------------
# MS-SSIM and the L1 mix.
# --------------------------------------------------------------------------


def test_ms_ssim_matches_reference_odd_sizes():
  # 165 x 171: odd sides at several scales exercise the counted zero padding.
  p, t = _images(10, (2, 165, 171, 2), noise=0.1)
  got = jaxloss.ms_ssim(p, t, data_range=1.0, reduction="none")
  want = ref_ms_ssim(p, t, 1.0)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)
  np.testing.assert_allclose(jaxloss.ms_ssim_loss(p, t, data_range=1.0), np.mean(1 - want),
                             rtol=1e-5, atol=2e-6)


def test_ms_ssim_custom_scales_and_negative_terms():
  p, t = _images(11, (2, 48, 50, 1))
  w = (0.2, 0.3, 0.5)
  got = jaxloss.ms_ssim(p, t, data_range=1.0, scale_weights=w, reduction="none")
  np.testing.assert_allclose(got, ref_ms_ssim(p, t, 1.0, w), rtol=1e-5, atol=2e-6)
  # x vs 1 - x: negative contrast-structure terms are clamped at 0 (relu);
  # the value is 0 and the gradient finite (pytorch-msssim gives NaN here).
  neg = 1.0 - t
  v = jaxloss.ms_ssim(neg, t, data_range=1.0, scale_weights=w, reduction="none")
  np.testing.assert_allclose(v, ref_ms_ssim(neg, t, 1.0, w), atol=1e-6)
  g = jax.grad(lambda a: jaxloss.ms_ssim_loss(a, t, data_range=1.0, scale_weights=w))(
      jnp.asarray(neg))
  chex.assert_tree_all_finite(g)


def test_ms_ssim_identical_and_constant():
  _, t = _images(12, (1, 176, 176, 1))
  t = jnp.asarray(t)
  assert float(jaxloss.ms_ssim(t, t, data_range=1.0)) == 1.0
  z = jnp.zeros_like(t)
  vg = jax.jit(jax.value_and_grad(lambda a, b: jaxloss.ms_ssim_loss(a, b, data_range=1.0)))
  for a, b in ((t, t), (z, z), (jnp.full_like(t, 0.5), t), (t + 1e-7, t)):
    v, g = vg(a, b)
    chex.assert_tree_all_finite((v, g))
    assert float(v) >= 0.0


def test_ms_ssim_grad_matches_finite_differences():
  p, t = _images(13, (1, 46, 44, 1), noise=0.1)
  with jax.enable_x64(True):
    f = lambda a: jaxloss.ms_ssim_loss(a, jnp.asarray(t, jnp.float64), data_range=1.0,
                                       scale_weights=(0.3, 0.3, 0.4))
    check_grads(f, (jnp.asarray(p, jnp.float64),), order=1, modes=["rev"])


def test_ms_ssim_too_small_error():
  p, t = _images(14, (1, 160, 200, 1))
  with pytest.raises(ValueError, match=r"^ms_ssim_loss: .*too small for 5 scales.*min\(H, W\) > 160"):
    jaxloss.ms_ssim_loss(p, t, data_range=1.0)
  with pytest.raises(ValueError, match=r"^ms_ssim: .*too small for 3 scales"):
    jaxloss.ms_ssim(p[:, :40, :40], t[:, :40, :40], data_range=1.0, scale_weights=(1., 1., 1.))
  with pytest.raises(ValueError, match=r"^l1_ssim_loss: .*too small"):
    jaxloss.l1_ssim_loss(p, t, data_range=1.0)
  with pytest.raises(ValueError, match=r"scale_weights must be a 1-D"):
    jaxloss.ms_ssim(p, t, data_range=1.0, scale_weights=jnp.ones((2, 2)))


def test_l1_ssim_loss_parts():
  # Three scales on small images (the default five are covered above).
  w = (0.2, 0.3, 0.5)
  p, t = _images(15, (2, 45, 50, 1), noise=0.1)
  total, parts = jaxloss.l1_ssim_loss(p, t, data_range=1.0, scale_weights=w,
                                      return_components=True)
  ms = np.mean(1 - ref_ms_ssim(p, t, 1.0, w))
  l1 = np.mean(np.abs(np.asarray(p, np.float64) - t))
  # float32 moment cancellation compounds over the scales: ~4e-6 absolute.
  np.testing.assert_allclose(parts["ssim"], ms, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(parts["l1"], l1, rtol=1e-5)
  np.testing.assert_allclose(total, 0.84 * ms + 0.16 * l1, rtol=1e-5, atol=1e-5)
  # data_range normalises the L1 part; the MS-SSIM part is scale-invariant.
  total255, parts255 = jaxloss.l1_ssim_loss(255 * p, 255 * t, data_range=255.0,
                                            ssim_weight=0.5, l1_weight=0.5, scale_weights=w,
                                            return_components=True)
  np.testing.assert_allclose(parts255["l1"], l1, rtol=1e-5)
  np.testing.assert_allclose(total255, 0.5 * ms + 0.5 * l1, rtol=1e-4, atol=1e-5)
  # has_aux works with the parts.
  (v, aux), g = jax.value_and_grad(
      lambda a: jaxloss.l1_ssim_loss(a, t, data_range=1.0, scale_weights=w,
                                     return_components=True),
      has_aux=True)(jnp.asarray(p))
  chex.assert_tree_all_finite((v, aux, g))
  with pytest.raises(ValueError, match=r"ssim_weight must be >= 0"):
    jaxloss.l1_ssim_loss(p, t, data_range=1.0, ssim_weight=-0.5)


def test_l1_ssim_loss_components_are_the_single_losses():
  w = (0.2, 0.3, 0.5)
  p, t = _images(16, (3, 45, 50, 1), noise=0.1)
  kw = dict(data_range=2.0, scale_weights=w)
  mask = jnp.array([True, False, True])
  weights = jnp.array([0.5, 2.0, 1.5])
  plain = jaxloss.l1_ssim_loss(p, t, **kw)
  assert not isinstance(plain, tuple)   # the total only, by default
  for reduction in ("mean", "sum", "none"):
    total, parts = jaxloss.l1_ssim_loss(p, t, ssim_weight=0.3, l1_weight=0.7,
                                        reduction=reduction, return_components=True, **kw)
    np.testing.assert_allclose(parts["ssim"],
                               jaxloss.ms_ssim_loss(p, t, reduction=reduction, **kw), rtol=1e-6)
    l1 = jaxloss.reconstruction_loss(p, t, kind="l1", reduction="none").mean((1, 2, 3)) / 2.0
    l1 = {"mean": l1.mean(), "sum": l1.sum(), "none": l1}[reduction]
    np.testing.assert_allclose(parts["l1"], l1, rtol=1e-6)
    np.testing.assert_allclose(total, 0.3 * parts["ssim"] + 0.7 * parts["l1"], rtol=1e-6)
    # where and weights act per image, on the total and on every part alike.
    mt, mparts = jaxloss.l1_ssim_loss(p, t, where=mask, weights=weights, reduction=reduction,
                                      return_components=True, **kw)
    np.testing.assert_allclose(mparts["ssim"], jaxloss.ms_ssim_loss(
        p, t, where=mask, weights=weights, reduction=reduction, **kw), rtol=1e-6)
    np.testing.assert_allclose(mt, 0.84 * mparts["ssim"] + 0.16 * mparts["l1"], rtol=1e-6)
  # "mean" over equal-sized images is the former global mean of the L1 term.
  _, parts = jaxloss.l1_ssim_loss(p, t, return_components=True, **kw)
  np.testing.assert_allclose(parts["l1"], np.mean(np.abs(np.asarray(p, np.float64) - t)) / 2.0,
                             rtol=1e-5)


# --------------------------------------------------------------------------
# PSNR.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("L", [1.0, 255.0])
def test_psnr_matches_reference(L):
  p, t = _images(20, (4, 9, 7, 3))
  p, t = p * L, t * L
  want = ref_psnr(p, t, L)
  np.testing.assert_allclose(jaxloss.psnr(p, t, data_range=L, reduction="none"), want, rtol=1e-5)
  np.testing.assert_allclose(jaxloss.psnr_loss(p, t, data_range=L), -want.mean(), rtol=1e-5)


def test_psnr_identical():
  _, t = _images(21, (2, 8, 8, 1))
  np.testing.assert_allclose(jaxloss.psnr(t, t, data_range=1.0), 80.0, rtol=1e-6)
  assert np.isinf(float(jaxloss.psnr(t, t, data_range=1.0, eps=0.0)))
  g = jax.grad(lambda a: jaxloss.psnr_loss(a, t, data_range=1.0))(jnp.asarray(t))
  chex.assert_tree_all_finite(g)
  np.testing.assert_allclose(g, 0.0)


def test_psnr_grad_matches_finite_differences():
  p, t = _images(22, (2, 6, 5, 2))
  with jax.enable_x64(True):
    f = lambda a, b: jaxloss.psnr_loss(a, b, data_range=1.0)
    check_grads(f, (jnp.asarray(p, jnp.float64), jnp.asarray(t, jnp.float64)), order=1,
                modes=["rev"])


# --------------------------------------------------------------------------
# Total variation and gradient loss.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["anisotropic", "isotropic"])
@pytest.mark.parametrize("normalize", [False, True])
def test_total_variation_matches_reference(mode, normalize):
  x, _ = _images(30, (3, 7, 6, 2))
  got = jaxloss.total_variation_loss(x, mode=mode, normalize=normalize, reduction="none")
  np.testing.assert_allclose(got, ref_tv(x, mode, normalize), rtol=1e-5)


def test_total_variation_kornia_convention():
  # kornia.losses.total_variation(reduction="sum") on one channel: sum of |dh| + |dw|.
  x = np.array([[0., 2., 2.], [1., 1., 5.]], np.float32).reshape(1, 2, 3, 1)
  # |dh|: 1, 1, 3 ; |dw|: 2, 0, 0, 4
  assert float(jaxloss.total_variation_loss(x)) == 11.0
  # normalize: mean per direction (5/3 + 6/4).
  np.testing.assert_allclose(jaxloss.total_variation_loss(x, normalize=True), 5 / 3 + 1.5,
                             rtol=1e-6)


def test_total_variation_flat_image_grad_is_finite():
  z = jnp.zeros((2, 5, 5, 1))
  for mode in ("anisotropic", "isotropic"):
    v, g = jax.value_and_grad(lambda a, mode=mode: jaxloss.total_variation_loss(a, mode=mode))(z)
    assert float(v) == 0.0
    chex.assert_tree_all_finite(g)


def test_total_variation_grad_matches_finite_differences():
  x, _ = _images(31, (2, 5, 4, 2))
  with jax.enable_x64(True):
    for mode in ("anisotropic", "isotropic"):
      f = lambda a, mode=mode: jaxloss.total_variation_loss(a, mode=mode)
      check_grads(f, (jnp.asarray(x, jnp.float64),), order=1, modes=["rev"], eps=1e-6)


def test_total_variation_errors():
  with pytest.raises(ValueError, match=r"^total_variation_loss: predictions must have rank >= 3"):
    jaxloss.total_variation_loss(jnp.zeros((4, 4)))
  with pytest.raises(ValueError, match=r"mode must be one of"):
    jaxloss.total_variation_loss(jnp.zeros((1, 4, 4, 1)), mode="l2")


def test_gradient_loss_matches_reference():
  p, t = _images(40, (3, 8, 9, 2))
  np.testing.assert_allclose(jaxloss.gradient_loss(p, t, reduction="none"),
                             ref_gradient_loss(p, t), rtol=1e-5)
  # Blind to a constant offset, zero at a perfect prediction.
  assert float(jaxloss.gradient_loss(t + 3.0, t)) == pytest.approx(0.0, abs=1e-6)
  with jax.enable_x64(True):
    check_grads(lambda a: jaxloss.gradient_loss(a, jnp.asarray(t, jnp.float64)),
                (jnp.asarray(p, jnp.float64),), order=1, modes=["rev"], eps=1e-6)
  with pytest.raises(ValueError, match=r"^gradient_loss: targets has shape"):
    jaxloss.gradient_loss(p, t[..., :1])


# --------------------------------------------------------------------------
# Focal frequency loss.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [
    {}, {"alpha": 2.0}, {"patch_factor": 2}, {"log_matrix": True},
    {"batch_matrix": True}, {"patch_factor": 2, "alpha": 0.5, "log_matrix": True}])
def test_focal_frequency_loss_matches_reference(kw):
  p, t = _images(50, (3, 8, 12, 2))
  ref_kw = {"alpha": kw.get("alpha", 1.0), "pf": kw.get("patch_factor", 1),
            "log_matrix": kw.get("log_matrix", False),
            "batch_matrix": kw.get("batch_matrix", False)}
  want, _ = ref_ffl_parts(p, t, **ref_kw)
  got = jaxloss.focal_frequency_loss(p, t, reduction="none", **kw)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(jaxloss.focal_frequency_loss(p, t, **kw), want.mean(), rtol=1e-5)


def test_focal_frequency_loss_gradient_uses_frozen_weights():
  # The weight matrix is not differentiated (official .detach()): the
  # gradient equals finite differences of the loss with the weights frozen.
  p, t = _images(51, (1, 4, 6, 1))
  p64, t64 = np.asarray(p, np.float64), np.asarray(t, np.float64)
  _, w0 = ref_ffl_parts(p64, t64, pf=2)

  def frozen(a):
    fa, ft = _ffl_spectra(a, 2), _ffl_spectra(t64, 2)
    return (w0 * np.abs(fa - ft) ** 2).mean()

  with jax.enable_x64(True):
    g = np.asarray(jax.grad(lambda a: jaxloss.focal_frequency_loss(
        a, jnp.asarray(t64), patch_factor=2))(jnp.asarray(p64)))
  rng = np.random.default_rng(0)
  for _ in range(3):
    v = rng.normal(size=p64.shape)
    h = 1e-6
    fd = (frozen(p64 + h * v) - frozen(p64 - h * v)) / (2 * h)
    np.testing.assert_allclose(np.sum(g * v), fd, rtol=1e-6, atol=1e-9)


def test_focal_frequency_loss_identical_and_errors():
  _, t = _images(52, (2, 8, 8, 1))
  t = jnp.asarray(t)
  v, g = jax.value_and_grad(lambda a: jaxloss.focal_frequency_loss(a, t))(t)
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)
  with pytest.raises(ValueError, match=r"^focal_frequency_loss: .*divisible by patch_factor=3"):
    jaxloss.focal_frequency_loss(t, t, patch_factor=3)


# --------------------------------------------------------------------------
# Inpainting.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mask_shape", ["full", "channel1", "nochannel", "bool"])
def test_masked_reconstruction_matches_reference(mask_shape):
  p, t = _images(60, (2, 6, 5, 3))
  rng = np.random.default_rng(1)
  m = (rng.uniform(size=(2, 6, 5, 1)) > 0.4).astype(np.float32)
  if mask_shape == "full":
    m = np.broadcast_to(m, p.shape).copy()
  arg = {"full": m, "channel1": m, "nochannel": m[..., 0], "bool": m[..., 0] > 0.5}[mask_shape]
  total, parts = jaxloss.masked_reconstruction_loss(p, t, arg, return_components=True)
  want_total, want_hole, want_valid = ref_masked(p, t, m)
  np.testing.assert_allclose(parts["hole"], want_hole, rtol=1e-5)
  np.testing.assert_allclose(parts["valid"], want_valid, rtol=1e-5)
  np.testing.assert_allclose(total, want_total, rtol=1e-5)
  total2 = jaxloss.masked_reconstruction_loss(p, t, arg, hole_weight=1.0, valid_weight=0.5)
  np.testing.assert_allclose(total2, want_hole + 0.5 * want_valid, rtol=1e-5)


def test_masked_reconstruction_edges_and_errors():
  p, t = _images(61, (2, 6, 5, 3))
  ones = np.ones((2, 6, 5, 1), np.float32)
  total = jaxloss.masked_reconstruction_loss(t, t, ones)
  assert float(total) == 0.0
  total, parts = jaxloss.masked_reconstruction_loss(p, t, 0 * ones,  # all hole
                                                    return_components=True)
  assert float(parts["valid"]) == 0.0
  np.testing.assert_allclose(total, 6 * np.abs(p - t.astype(np.float64)).mean(), rtol=1e-5)
  g = jax.grad(lambda a: jaxloss.masked_reconstruction_loss(a, t, ones))(jnp.asarray(t))
  chex.assert_tree_all_finite(g)
  with pytest.raises(ValueError, match=r"^masked_reconstruction_loss: mask has shape \(2, 6, 4\)"):
    jaxloss.masked_reconstruction_loss(p, t, ones[:, :, :4, 0])


def test_masked_reconstruction_components_are_weighted_l1_losses():
  p, t = _images(62, (3, 6, 5, 3))
  m = (np.random.default_rng(2).uniform(size=(3, 6, 5, 1)) > 0.4).astype(np.float32)
  per_image = p[0].size
  hole_sum = jaxloss.reconstruction_loss(p, t, kind="l1", weights=1 - m, reduction="none")
  valid_sum = jaxloss.reconstruction_loss(p, t, kind="l1", weights=m, reduction="none")
  hole = np.asarray(hole_sum).sum((1, 2, 3)) / per_image
  valid = np.asarray(valid_sum).sum((1, 2, 3)) / per_image
  assert not isinstance(jaxloss.masked_reconstruction_loss(p, t, m), tuple)
  for reduction in ("mean", "sum", "none"):
    total, parts = jaxloss.masked_reconstruction_loss(p, t, m, reduction=reduction,
                                                      return_components=True)
    red = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    np.testing.assert_allclose(parts["hole"], red(hole), rtol=1e-5)
    np.testing.assert_allclose(parts["valid"], red(valid), rtol=1e-5)
    np.testing.assert_allclose(total, 6.0 * parts["hole"] + parts["valid"], rtol=1e-6)
  # "mean" over images is the paper's mean over every element of the batch.
  want_total, _, _ = ref_masked(p, t, m)
  np.testing.assert_allclose(jaxloss.masked_reconstruction_loss(p, t, m), want_total, rtol=1e-5)
  # An excluded image (even with a NaN mask) changes nothing.
  where = np.array([True, False, True])
  m_nan = m.copy()
  m_nan[1] = np.nan
  got = jaxloss.masked_reconstruction_loss(p, t, m_nan, where=where, reduction="none")
  np.testing.assert_allclose(got, np.where(where, 6.0 * hole + valid, 0.0), rtol=1e-5)


# --------------------------------------------------------------------------
# Properties.
# --------------------------------------------------------------------------

_img = hnp.arrays(np.float32, (1, 12, 12, 1),
                  elements=st.floats(0, 1, width=32, allow_nan=False))


@settings(max_examples=15, deadline=None)
@given(_img, _img)
def test_ssim_symmetric_and_bounded(a, b):
  s_ab = float(jaxloss.ssim(a, b, data_range=1.0))
  s_ba = float(jaxloss.ssim(b, a, data_range=1.0))
  assert s_ab == pytest.approx(s_ba, abs=1e-6)
  assert -1.0 <= s_ab <= 1.0
  assert float(jaxloss.ssim(a, a, data_range=1.0)) == 1.0


@settings(max_examples=15, deadline=None)
@given(_img)
def test_total_variation_isotropic_le_anisotropic(a):
  iso = float(jaxloss.total_variation_loss(a, mode="isotropic"))
  aniso = float(jaxloss.total_variation_loss(a))
  assert 0.0 <= iso <= aniso * (1 + 1e-6) + 1e-6
  # Shifting all intensities changes neither TV nor the gradient loss to zero target.
  assert float(jaxloss.total_variation_loss(a + 2.0)) == pytest.approx(aniso, rel=1e-4, abs=1e-4)


@settings(max_examples=15, deadline=None)
@given(_img, _img)
def test_nonnegative_and_zero_at_perfect(a, b):
  for fn in (jaxloss.gradient_loss, jaxloss.focal_frequency_loss):
    assert float(fn(a, b)) >= 0.0
    assert float(fn(a, a)) == 0.0
  assert float(jaxloss.ssim_loss(a, b, data_range=1.0)) >= 0.0


def test_ssim_custom_filter_vjp_matches_finite_differences_in_sigma():
  # The separable filter has a hand-written VJP; check it w.r.t. the images
  # (above) and w.r.t. a traced kernel_sigma, under vmap as well.
  p, t = _images(70, (2, 12, 12, 1))
  with jax.enable_x64(True):
    p64, t64 = jnp.asarray(p, jnp.float64), jnp.asarray(t, jnp.float64)
    f = lambda s: jaxloss.ssim_loss(p64, t64, data_range=1.0, kernel_sigma=s)
    check_grads(f, (jnp.asarray(1.5, jnp.float64),), order=1, modes=["rev"])
    g = jax.vmap(jax.grad(lambda a, b: jaxloss.ssim_loss(a, b, data_range=1.0)))(p64, t64)
    g_batched = jax.grad(lambda a: jaxloss.ssim_loss(a, t64, data_range=1.0,
                                                     reduction="sum"))(p64)
    np.testing.assert_allclose(g, g_batched, rtol=1e-10, atol=1e-12)
