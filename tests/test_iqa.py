"""Tests of the piq image-quality losses against independent float64 NumPy/SciPy references.

The references are written from the papers and piq 0.8's formulas (NCHW there;
here one (H, W, C) image at a time with SciPy filters); they never call
jaxloss or torch.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
import scipy.signal

import jaxloss

YIQ = np.array([[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]])
PREWITT = np.array([[-1.0, 0.0, 1.0]] * 3) / 3.0


# --------------------------------------------------------------------------
# References (float64, one (H, W, C) image).
# --------------------------------------------------------------------------


def _pool(a):
  """piq: pad bottom/right by max(H % 2, W % 2) zeros, 2x2 mean, floor."""
  h, w = a.shape[:2]
  p = max(h % 2, w % 2)
  a = np.pad(a, [(0, p), (0, p)] + [(0, 0)] * (a.ndim - 2))
  h2, w2 = a.shape[0] // 2, a.shape[1] // 2
  out = np.zeros((h2, w2) + a.shape[2:])
  for i in range(h2):
    for j in range(w2):
      out[i, j] = a[2 * i:2 * i + 2, 2 * j:2 * j + 2].mean(axis=(0, 1))
  return out


def _grad_mag(a):
  gx = scipy.ndimage.correlate(a, PREWITT, mode="constant")
  gy = scipy.ndimage.correlate(a, PREWITT.T, mode="constant")
  return np.sqrt(gx ** 2 + gy ** 2)


def _gms(a, b, t, alpha=0.0):
  ga, gb = _grad_mag(a), _grad_mag(b)
  return ((2 - alpha) * ga * gb + t) / (ga ** 2 + gb ** 2 - alpha * ga * gb + t)


def ref_gmsd(x, y, L=1.0, t=170 / 255 ** 2):
  x, y = np.asarray(x, np.float64) / L, np.asarray(y, np.float64) / L
  if x.shape[-1] == 3:
    x, y = x @ YIQ[0], y @ YIQ[0]
  else:
    x, y = x[..., 0], y[..., 0]
  return np.std(_gms(_pool(x), _pool(y), t))


def ref_ms_gmsd(x, y, L=1.0, scale_weights=(0.096, 0.596, 0.289, 0.019), chromatic=False,
                alpha=0.5, beta1=0.01, beta2=0.32, beta3=15.0, t=170.0):
  x, y = np.asarray(x, np.float64) * 255 / L, np.asarray(y, np.float64) * 255 / L
  if x.shape[-1] == 3:
    x, y = x @ YIQ.T, y @ YIQ.T
  w = np.asarray(scale_weights, np.float64)
  w = w / w.sum()
  total = 0.0
  for j in range(len(w)):
    if j:
      x, y = _pool(x), _pool(y)
    total += w[j] * np.var(_gms(x[..., 0], y[..., 0], t, alpha))
  d = np.sqrt(total)
  if not chromatic:
    return d
  rmse = np.sqrt(sum(np.mean((x[..., c] - y[..., c]) ** 2) for c in (1, 2)))
  g = 2 / (1 + beta2 * np.exp(-beta3 * d)) - 1
  return g * d + (1 - g) * beta1 * rmse


def _batch(ref, preds, targs, **kw):
  return np.array([ref(a, b, **kw)
                   for a, b in zip(np.asarray(preds), np.asarray(targs), strict=True)])


def _images(shape, seed=0, noise=0.2):
  rng = np.random.default_rng(seed)
  t = rng.uniform(size=shape)
  p = np.clip(t + noise * rng.normal(size=shape), 0.0, 1.0)
  return jnp.asarray(p, jnp.float32), jnp.asarray(t, jnp.float32)


def _close(got, want, rtol=1e-5, atol=1e-6):
  np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=rtol, atol=atol)


def _finite_grads(f, *pairs):
  """The gradient in both images is finite at every pair (one compile per call)."""
  grad = jax.jit(jax.grad(f, argnums=(0, 1)))
  for p, t in pairs:
    for g in grad(p, t):
      assert np.all(np.isfinite(np.asarray(g)))


# --------------------------------------------------------------------------
# GMSD.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 32, 32, 3), (2, 17, 20, 1), (1, 16, 15, 3)])
def test_gmsd_matches_reference(shape):
  p, t = _images(shape)
  want = _batch(ref_gmsd, p, t)
  _close(jaxloss.gmsd_loss(p, t, reduction="none"), want)
  _close(jaxloss.gmsd_loss(p, t), want.mean())
  _close(jaxloss.gmsd_loss(p, t, reduction="sum"), want.sum())


def test_gmsd_data_range_and_t():
  p, t = _images((2, 20, 22, 3), seed=1)
  _close(jaxloss.gmsd_loss(255 * p, 255 * t, data_range=255.0, reduction="none"),
         _batch(ref_gmsd, p, t), rtol=1e-4)
  _close(jaxloss.gmsd_loss(p, t, t=0.01, reduction="none"), _batch(ref_gmsd, p, t, t=0.01))


def test_gmsd_identical_and_gradients():
  p, t = _images((2, 16, 16, 3), seed=2)
  assert float(jaxloss.gmsd_loss(t, t)) == 0.0
  _finite_grads(jaxloss.gmsd_loss, (t, t), (jnp.zeros_like(t), jnp.zeros_like(t)))
  out = jaxloss.gmsd_loss(p.astype(jnp.bfloat16), t.astype(jnp.bfloat16))
  assert out.dtype == jnp.float32 and np.isfinite(float(out))
  assert abs(float(out) - float(jaxloss.gmsd_loss(p, t))) < 2e-2


def test_gmsd_gradient_matches_finite_differences():
  p, t = _images((1, 8, 8, 1), seed=3)
  p64, t64 = np.asarray(p, np.float64), np.asarray(t, np.float64)
  g = np.asarray(jax.jit(jax.grad(jaxloss.gmsd_loss))(p, t))[0]
  eps = 1e-4
  for (i, j) in [(0, 0), (3, 4), (7, 5)]:
    e = np.zeros_like(p64)
    e[0, i, j, 0] = eps
    fd = (ref_gmsd((p64 + e)[0], t64[0]) - ref_gmsd((p64 - e)[0], t64[0])) / (2 * eps)
    assert abs(g[i, j, 0] - fd) < 1e-3 * max(1.0, abs(fd))


@pytest.mark.parametrize("shape", [(2, 16, 16, 2), (2, 16, 16, 4), (16, 16)])
def test_gmsd_rejects_bad_channels_and_rank(shape):
  x = jnp.zeros(shape)
  with pytest.raises(jaxloss.LossInputError, match="gmsd_loss"):
    jaxloss.gmsd_loss(x, x)


def test_gmsd_rejects_too_small():
  x = jnp.zeros((2, 1, 16, 3))
  with pytest.raises(jaxloss.LossInputError, match=r"H, W >= 2"):
    jaxloss.gmsd_loss(x, x)


# --------------------------------------------------------------------------
# MS-GMSD.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape,chromatic", [((2, 32, 32, 3), False), ((2, 33, 30, 3), True),
                                             ((2, 20, 17, 1), False)])
def test_ms_gmsd_matches_reference(shape, chromatic):
  p, t = _images(shape, seed=4)
  want = _batch(ref_ms_gmsd, p, t, chromatic=chromatic)
  _close(jaxloss.ms_gmsd_loss(p, t, chromatic=chromatic, reduction="none"), want)
  _close(jaxloss.ms_gmsd_loss(p, t, chromatic=chromatic), want.mean())


def test_ms_gmsd_options():
  p, t = _images((2, 24, 24, 3), seed=5)
  kw = dict(scale_weights=(1.0, 3.0), alpha=0.2, beta1=0.1, beta2=0.5, beta3=5.0, t=100.0)
  _close(jaxloss.ms_gmsd_loss(255 * p, 255 * t, data_range=255.0, chromatic=True,
                              reduction="none", **kw),
         _batch(ref_ms_gmsd, p, t, chromatic=True, **kw), rtol=1e-4)
  _close(jaxloss.ms_gmsd_loss(p, t, scale_weights=jnp.array([1.0, 3.0]), reduction="none"),
         _batch(ref_ms_gmsd, p, t, scale_weights=(1.0, 3.0)))


def test_ms_gmsd_identical_and_gradients():
  _, t = _images((2, 17, 17, 3), seed=6)
  assert float(jaxloss.ms_gmsd_loss(t, t)) == 0.0
  _finite_grads(lambda a, b: jaxloss.ms_gmsd_loss(a, b, chromatic=True), (t, t),
                (jnp.zeros_like(t), jnp.zeros_like(t)))


def test_ms_gmsd_errors():
  x = jnp.zeros((2, 16, 40, 3))
  with pytest.raises(jaxloss.LossInputError, match=r"H, W >= 17"):
    jaxloss.ms_gmsd_loss(x, x)
  jaxloss.ms_gmsd_loss(x, x, scale_weights=(0.5, 0.5))  # 2 scales need 5
  g = jnp.zeros((2, 20, 20, 1))
  with pytest.raises(jaxloss.LossInputError, match="3"):
    jaxloss.ms_gmsd_loss(g, g, chromatic=True)
  with pytest.raises(jaxloss.LossInputError, match="at least one"):
    jaxloss.ms_gmsd_loss(g, g, scale_weights=())


# --------------------------------------------------------------------------
# MDSI.
# --------------------------------------------------------------------------

LHM = np.array([[0.2989, 0.587, 0.114], [0.3, 0.04, -0.35], [0.34, -0.6, 0.17]])


def _sim(a, b, c):
  return (2 * a * b + c) / (a ** 2 + b ** 2 + c)


def ref_mdsi(x, y, L=1.0, c1=140.0, c2=55.0, c3=550.0, combination="sum", alpha=0.6, beta=0.1,
             gamma=0.2, rho=1.0, q=0.25, o=0.25):
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  if x.shape[-1] == 1:
    x, y = np.repeat(x, 3, -1), np.repeat(y, 3, -1)
  x, y = x * 255 / L, y * 255 / L
  k = max(1, round(min(x.shape[:2]) / 256))
  if k > 1:
    pads = [((k - 1) // 2, k // 2)] * 2 + [(0, 0)]
    x, y = np.pad(x, pads), np.pad(y, pads)
    h2, w2 = x.shape[0] // k, x.shape[1] // k
    x = x[:h2 * k, :w2 * k].reshape(h2, k, w2, k, 3).mean(axis=(1, 3))
    y = y[:h2 * k, :w2 * k].reshape(h2, k, w2, k, 3).mean(axis=(1, 3))
  x, y = x @ LHM.T, y @ LHM.T
  gx, gy, ga = _grad_mag(x[..., 0]), _grad_mag(y[..., 0]), _grad_mag((x[..., 0] + y[..., 0]) / 2)
  gs = _sim(gx, gy, c1) + _sim(gx, ga, c2) - _sim(gy, ga, c2)
  cs = ((2 * (x[..., 1] * y[..., 1] + x[..., 2] * y[..., 2]) + c3)
        / (x[..., 1] ** 2 + y[..., 1] ** 2 + x[..., 2] ** 2 + y[..., 2] ** 2 + c3))
  cpow = lambda v, p: np.power(v.astype(complex), p)  # noqa: E731 - principal branch
  if combination == "sum":
    z = cpow(alpha * gs + (1 - alpha) * cs, q)
  else:
    a, b = cpow(gs, gamma), cpow(cs, beta)
    z = cpow(a.real * b.real + 1j * (a.imag + b.imag), q)  # piq's combination
  dev = np.abs(z - z.mean())
  return np.mean(dev ** rho) ** (o / rho)


@pytest.mark.parametrize("shape,combination", [((2, 32, 32, 3), "sum"), ((2, 21, 26, 1), "sum"),
                                               ((2, 32, 30, 3), "mult")])
def test_mdsi_matches_reference(shape, combination):
  p, t = _images(shape, seed=7, noise=0.4)
  want = _batch(ref_mdsi, p, t, combination=combination)
  _close(jaxloss.mdsi_loss(p, t, combination=combination, reduction="none"), want)
  _close(jaxloss.mdsi_loss(p, t, combination=combination), want.mean())


def test_mdsi_negative_gcs_and_options():
  # Inverted images drive GCS negative somewhere: the complex branch is exercised.
  _, t = _images((2, 24, 24, 3), seed=8)
  p = 1.0 - t
  kw = dict(c1=100.0, c2=40.0, c3=300.0, alpha=0.3, rho=2.0, q=0.5, o=0.3)
  for comb in ("sum", "mult"):
    _close(jaxloss.mdsi_loss(255 * p, 255 * t, data_range=255.0, combination=comb,
                             reduction="none", **kw),
           _batch(ref_mdsi, p, t, combination=comb, **kw), rtol=1e-4)


def test_mdsi_pools_large_images():
  p, t = _images((1, 384, 390, 1), seed=9)  # k = round(384 / 256) = 2
  _close(jaxloss.mdsi_loss(p, t, reduction="none"), _batch(ref_mdsi, p, t), rtol=1e-4)


def test_mdsi_identical_and_gradients():
  p, t = _images((2, 16, 16, 3), seed=10)
  assert float(jaxloss.mdsi_loss(t, t)) == 0.0
  _finite_grads(jaxloss.mdsi_loss, (t, t), (1.0 - t, t))
  _finite_grads(lambda a, b: jaxloss.mdsi_loss(a, b, combination="mult"), (t, t), (1.0 - t, t))
  out = jaxloss.mdsi_loss(p.astype(jnp.bfloat16), t.astype(jnp.bfloat16))
  assert out.dtype == jnp.float32 and np.isfinite(float(out))
  with pytest.raises(jaxloss.LossInputError, match="mdsi_loss"):
    jaxloss.mdsi_loss(p[..., :2], t[..., :2])


# --------------------------------------------------------------------------
# HaarPSI.
# --------------------------------------------------------------------------


def _haar(a, k):
  """piq's Haar responses: +-1/k kernels, zero padding k/2 - 1 before and k/2 after."""
  kern = np.ones((k, k)) / k
  kern[k // 2:] *= -1
  ap = np.pad(a, [(k // 2 - 1, k // 2)] * 2)
  return (scipy.signal.correlate2d(ap, kern, mode="valid"),
          scipy.signal.correlate2d(ap, kern.T, mode="valid"))


def ref_haarpsi_loss(x, y, L=1.0, subsample=True, c=30.0, alpha=4.2):
  x, y = np.asarray(x, np.float64) * 255 / L, np.asarray(y, np.float64) * 255 / L
  rgb = x.shape[-1] == 3
  if rgb:
    x, y = x @ YIQ.T, y @ YIQ.T
  if subsample:
    x, y = _pool(x), _pool(y)
  hx = [_haar(x[..., 0], 2 ** (s + 1)) for s in range(3)]
  hy = [_haar(y[..., 0], 2 ** (s + 1)) for s in range(3)]
  sims = [(_sim(abs(hx[0][o]), abs(hy[0][o]), c) + _sim(abs(hx[1][o]), abs(hy[1][o]), c)) / 2
          for o in range(2)]
  wts = [np.maximum(abs(hx[2][o]), abs(hy[2][o])) for o in range(2)]
  if rgb:
    box = np.ones((2, 2)) / 4
    ch = lambda v: abs(scipy.signal.correlate2d(np.pad(v, [(0, 1), (0, 1)]), box, "valid"))  # noqa: E731
    sims.append((_sim(ch(x[..., 1]), ch(y[..., 1]), c) + _sim(ch(x[..., 2]), ch(y[..., 2]), c)) / 2)
    wts.append((wts[0] + wts[1]) / 2)
  sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
  eps = np.finfo(np.float32).eps
  r = (sum(np.sum(sig(alpha * s) * w) for s, w in zip(sims, wts, strict=True)) + eps) / (
      sum(np.sum(w) for w in wts) + eps)
  return 1 - (np.log(r / (1 - r)) / alpha) ** 2


@pytest.mark.parametrize("shape,subsample", [((2, 32, 32, 3), True), ((2, 17, 23, 1), True),
                                             ((1, 20, 16, 3), False)])
def test_haarpsi_matches_reference(shape, subsample):
  p, t = _images(shape, seed=11)
  want = _batch(ref_haarpsi_loss, p, t, subsample=subsample)
  _close(jaxloss.haarpsi_loss(p, t, subsample=subsample, reduction="none"), want, atol=1e-5)
  _close(jaxloss.haarpsi_loss(p, t, subsample=subsample), want.mean(), atol=1e-5)


def test_haarpsi_options():
  p, t = _images((2, 24, 24, 3), seed=12)
  _close(jaxloss.haarpsi_loss(255 * p, 255 * t, data_range=255.0, c=10.0, alpha=3.0,
                              reduction="none"),
         _batch(ref_haarpsi_loss, p, t, c=10.0, alpha=3.0), atol=1e-5)


def test_haarpsi_identical_blank_and_gradients():
  p, t = _images((2, 16, 16, 3), seed=13)
  assert abs(float(jaxloss.haarpsi_loss(t, t))) < 1e-6
  z = jnp.zeros_like(t)
  assert float(jaxloss.haarpsi_loss(z, z)) == 0.0  # piq: -inf (logit of eps / eps)
  _finite_grads(jaxloss.haarpsi_loss, (t, t), (z, z), (p, t))
  assert float(jaxloss.haarpsi_loss(p, t)) > 0.0
  out = jaxloss.haarpsi_loss(p.astype(jnp.bfloat16), t.astype(jnp.bfloat16))
  assert out.dtype == jnp.float32 and np.isfinite(float(out))
  with pytest.raises(jaxloss.LossInputError, match=r"H, W >= 16"):
    jaxloss.haarpsi_loss(p[:, :15], t[:, :15])


# --------------------------------------------------------------------------
# VIF.
# --------------------------------------------------------------------------


def ref_vif(x, y, L=1.0, sigma_n_sq=2.0):
  """vifp_mscale (Sheikh & Bovik's reference code) as piq: y is the reference."""
  eps = 1e-8
  x, y = np.asarray(x, np.float64) * 255 / L, np.asarray(y, np.float64) * 255 / L
  x = x @ YIQ[0] if x.shape[-1] == 3 else x[..., 0]
  y = y @ YIQ[0] if y.shape[-1] == 3 else y[..., 0]
  num = den = 0.0
  for j in range(4):
    n = 2 ** (4 - j) + 1
    c = np.arange(n) - (n - 1) / 2
    win = np.exp(-(c[:, None] ** 2 + c[None] ** 2) / (2 * (n / 5) ** 2))
    win /= win.sum()
    f = lambda a, win=win: scipy.signal.correlate2d(a, win, mode="valid")  # noqa: E731
    if j:
      x, y = f(x)[::2, ::2], f(y)[::2, ::2]
    mx, my = f(x), f(y)
    sxx = np.maximum(f(x * x) - mx ** 2, 0)
    syy = np.maximum(f(y * y) - my ** 2, 0)
    sxy = f(x * y) - mx * my
    g = sxy / (syy + eps)
    sv = sxx - g * sxy
    g[syy < eps], sv[syy < eps] = 0, sxx[syy < eps]
    syy[syy < eps] = 0
    g[sxx < eps], sv[sxx < eps] = 0, 0
    sv[g < 0] = sxx[g < 0]
    g[g < 0] = 0
    sv[sv <= eps] = eps
    num += np.sum(np.log10(1 + g ** 2 * syy / (sv + sigma_n_sq)))
    den += np.sum(np.log10(1 + syy / sigma_n_sq))
  return (num + eps) / (den + eps)


def ref_vif_loss(x, y, **kw):
  return 1 - np.clip(ref_vif(x, y, **kw), 0, 1)


@pytest.mark.parametrize("shape", [(2, 48, 48, 3), (1, 41, 45, 1)])
def test_vif_matches_reference(shape):
  p, t = _images(shape, seed=14)
  want = _batch(ref_vif_loss, p, t)
  _close(jaxloss.vif_loss(p, t, reduction="none"), want, rtol=1e-4, atol=1e-5)
  _close(jaxloss.vif_loss(p, t), want.mean(), rtol=1e-4, atol=1e-5)


def test_vif_options_asymmetry_and_clip():
  p, t = _images((2, 44, 41, 1), seed=15)
  _close(jaxloss.vif_loss(255 * p, 255 * t, data_range=255.0, sigma_n_sq=0.5, reduction="none"),
         _batch(ref_vif_loss, p, t, sigma_n_sq=0.5), rtol=1e-4, atol=1e-5)
  assert abs(float(jaxloss.vif_loss(p, t)) - float(jaxloss.vif_loss(t, p))) > 1e-3
  # More contrast than the reference: VIF > 1, clipped, loss 0 with a zero gradient.
  q = 0.5 + 1.5 * (t - 0.5)
  assert ref_vif(np.asarray(q[0]), np.asarray(t[0])) > 1
  assert float(jaxloss.vif_loss(q, t)) == 0.0
  assert float(jnp.abs(jax.jit(jax.grad(jaxloss.vif_loss))(q, t)).max()) == 0.0


def test_vif_identical_and_gradients():
  p, t = _images((1, 41, 41, 3), seed=16)
  assert abs(float(jaxloss.vif_loss(t, t))) < 1e-4
  z = jnp.zeros_like(t)
  _finite_grads(jaxloss.vif_loss, (t, t), (z, z), (p, t), (jnp.full_like(t, 0.5), t))
  out = jaxloss.vif_loss(p.astype(jnp.bfloat16), t.astype(jnp.bfloat16))
  assert out.dtype == jnp.float32 and np.isfinite(float(out))
  with pytest.raises(jaxloss.LossInputError, match=r"H, W >= 41"):
    jaxloss.vif_loss(p[:, :40], t[:, :40])


# --------------------------------------------------------------------------
# FSIM.
# --------------------------------------------------------------------------


def _log_gabor_bank(h, w, scales=4, orientations=4, min_length=6, mult=2, sigma_f=0.55,
                    delta_theta=1.2):
  """Kovesi's log-Gabor bank (O, S, H, W), DC at [0, 0], from the FSIM/phasecong code."""
  def coords(n):  # normalised frequencies, odd sizes spanning [-0.5, 0.5]
    return (np.arange(n) - n // 2) / (n - 1 if n % 2 else n)
  u, v = np.meshgrid(coords(h), coords(w), indexing="ij")
  r = np.fft.ifftshift(np.hypot(u, v))
  th = np.fft.ifftshift(np.arctan2(-v, u))
  lp = 1 / (1 + (r / 0.45) ** 30)
  r[0, 0] = 1
  bank = np.zeros((orientations, scales, h, w))
  for o in range(orientations):
    a = o * np.pi / orientations
    dth = np.abs(np.angle(np.exp(1j * (th - a))))  # wrapped angular distance
    spread = np.exp(-dth ** 2 / (2 * (np.pi / orientations / delta_theta) ** 2))
    for s in range(scales):
      f0 = 1 / (min_length * mult ** s)
      lg = np.exp(-np.log(r / f0) ** 2 / (2 * np.log(sigma_f) ** 2)) * lp
      lg[0, 0] = 0
      bank[o, s] = spread * lg
  return bank


def _pc(img, bank, k=2.0):
  o_n, s_n, h, w = bank.shape
  eps = np.finfo(np.float32).eps
  eo = np.fft.ifft2(np.fft.fft2(img)[None, None] * bank)      # (O, S, H, W)
  spatial = np.fft.ifft2(bank).real * np.sqrt(h * w)
  energy_sum, amp_sum = 0.0, np.abs(eo).sum(axis=(0, 1))
  for o in range(o_n):
    se, so = eo[o].real.sum(0), eo[o].imag.sum(0)
    mag = np.hypot(se, so) + eps
    me, mo = se / mag, so / mag
    e = sum(eo[o, s].real * me + eo[o, s].imag * mo - np.abs(eo[o, s].real * mo - eo[o, s].imag * me)
            for s in range(s_n))
    a2 = np.sort((np.abs(eo[o, 0]) ** 2).ravel())
    med = a2[(a2.size - 1) // 2]                 # torch.median: the lower median
    noise = (-med / np.log(0.5)) / np.sum(bank[o, 0] ** 2)
    an2 = np.sum(spatial[o] ** 2)
    aiaj = sum(np.sum(spatial[o, i] * spatial[o, j]) for i in range(s_n) for j in range(i + 1, s_n))
    tau = np.sqrt((2 * noise * an2 + 4 * noise * aiaj) / 2)
    thr = (tau * np.sqrt(np.pi / 2) + k * np.sqrt(2 - np.pi / 2) * tau) / 1.7
    energy_sum = energy_sum + np.maximum(e - thr, 0)
  return (energy_sum + eps) / (amp_sum + eps)


def _scharr(a):
  kx = np.array([[-3.0, 0, 3], [-10, 0, 10], [-3, 0, 3]]) / 16
  return np.hypot(scipy.ndimage.correlate(a, kx, mode="constant"),
                  scipy.ndimage.correlate(a, kx.T, mode="constant"))


def ref_fsim_loss(x, y, L=1.0, chromatic=True, **kw):
  x, y = np.asarray(x, np.float64) * 255 / L, np.asarray(y, np.float64) * 255 / L
  p = max(1, round(min(x.shape[:2]) / 256))
  if p > 1:
    h2, w2 = x.shape[0] // p, x.shape[1] // p
    x = x[:h2 * p, :w2 * p].reshape(h2, p, w2, p, -1).mean(axis=(1, 3))
    y = y[:h2 * p, :w2 * p].reshape(h2, p, w2, p, -1).mean(axis=(1, 3))
  if x.shape[-1] == 3:
    x, y = x @ YIQ.T, y @ YIQ.T
  k = kw.pop("k", 2.0)
  bank = _log_gabor_bank(*x.shape[:2], **kw)
  pcx, pcy = _pc(x[..., 0], bank, k), _pc(y[..., 0], bank, k)
  pcm = np.maximum(pcx, pcy)
  score = _sim(pcx, pcy, 0.85) * _sim(_scharr(x[..., 0]), _scharr(y[..., 0]), 160.0) * pcm
  if chromatic:
    score *= np.abs(_sim(x[..., 1], y[..., 1], 200.0) * _sim(x[..., 2], y[..., 2], 200.0)) ** 0.03
  return 1 - np.clip(score.sum() / pcm.sum(), 0, 1)


@pytest.mark.parametrize("shape,chromatic", [((2, 32, 32, 3), True), ((2, 21, 26, 1), False),
                                             ((1, 24, 27, 3), False)])
def test_fsim_matches_reference(shape, chromatic):
  p, t = _images(shape, seed=17)
  want = _batch(ref_fsim_loss, p, t, chromatic=chromatic)
  _close(jaxloss.fsim_loss(p, t, chromatic=chromatic, reduction="none"), want, atol=1e-5)
  _close(jaxloss.fsim_loss(p, t, chromatic=chromatic), want.mean(), atol=1e-5)


def test_fsim_options():
  p, t = _images((2, 24, 20, 3), seed=18)
  kw = dict(scales=3, orientations=6, min_length=4, mult=2.5, sigma_f=0.6, delta_theta=1.5, k=1.0)
  _close(jaxloss.fsim_loss(255 * p, 255 * t, data_range=255.0, reduction="none", **kw),
         _batch(ref_fsim_loss, p, t, **kw), atol=1e-5)


def test_fsim_identical_and_gradients():
  p, t = _images((2, 16, 16, 3), seed=19)
  assert abs(float(jaxloss.fsim_loss(t, t))) < 1e-6
  z = jnp.zeros_like(t)
  _finite_grads(jaxloss.fsim_loss, (t, t), (z, z), (p, t))
  out = jaxloss.fsim_loss(p.astype(jnp.bfloat16), t.astype(jnp.bfloat16))
  assert out.dtype == jnp.float32 and np.isfinite(float(out))
  with pytest.raises(jaxloss.LossInputError, match="chromatic=False"):
    jaxloss.fsim_loss(p[..., :1], t[..., :1])


# --------------------------------------------------------------------------
# Properties shared by the family.
# --------------------------------------------------------------------------

_ALL = {"gmsd_loss": (2, 20, 20, 3), "ms_gmsd_loss": (2, 20, 20, 3),
        "mdsi_loss": (2, 20, 20, 3), "haarpsi_loss": (2, 20, 20, 3),
        "vif_loss": (2, 41, 41, 1), "fsim_loss": (2, 20, 20, 3)}


@pytest.mark.parametrize("name", sorted(_ALL))
def test_range_order_and_batch_axes(name):
  f = getattr(jaxloss, name)
  p, t = _images(_ALL[name], seed=20, noise=0.1)
  far, _ = _images(_ALL[name], seed=20, noise=0.4)  # same targets, more noise
  near, worse = f(p, t, reduction="none"), f(far, t, reduction="none")
  assert np.all(np.asarray(near) >= 0) and np.all(np.asarray(near) <= 1)
  assert np.all(np.asarray(near) < np.asarray(worse))     # more noise, larger loss
  # any leading axes are batch axes; one unbatched image works
  _close(f(p.reshape((1, 2) + p.shape[1:]), t.reshape((1, 2) + t.shape[1:]), reduction="none"),
         np.asarray(near)[None])
  _close(f(p[0], t[0]), np.asarray(near)[0])


@pytest.mark.parametrize("name", ["gmsd_loss", "ms_gmsd_loss", "haarpsi_loss", "fsim_loss"])
def test_symmetric_measures(name):
  f = getattr(jaxloss, name)
  p, t = _images(_ALL[name], seed=21)
  _close(f(p, t, reduction="none"), np.asarray(f(t, p, reduction="none")), atol=1e-6)


def test_haarpsi_gradient_matches_finite_differences():
  # HaarPSI runs through the hand-written VJP of the separable filter.
  from jax.test_util import check_grads
  with jax.enable_x64(True):
    p, t = (jnp.asarray(a, jnp.float64) for a in _images((1, 16, 16, 1), seed=22))
    check_grads(lambda a: jaxloss.haarpsi_loss(a, t), (p,), order=1, modes=("rev",),
                atol=1e-4, rtol=1e-4)
