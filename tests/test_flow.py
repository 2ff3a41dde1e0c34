"""Tests of jaxloss.generative.flow against independent float64 NumPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import LossInputError, LossTypeError

RNG = np.random.default_rng(7)
PATHS = ("rectified", "cosine", "vp")


def _batch(shape=(6, 3, 2)):
  x0 = RNG.normal(size=shape)
  n = RNG.normal(size=shape)
  t = RNG.uniform(0.02, 0.98, shape[0])
  return x0, n, t


def ref_interpolant(path, t, x0, n):
  """x_t written in each source's own convention, float64."""
  tb = t.reshape((-1,) + (1,) * (x0.ndim - 1))
  if path == "rectified":  # diffusers SD3: (1 - sigma) x + sigma noise
    return (1 - tb) * x0 + tb * n
  ts = 1.0 - tb  # SiT: data at ts = 1, x_t = alpha(ts) data + sigma(ts) noise
  if path == "cosine":  # GVPCPlan
    return np.sin(ts * np.pi / 2) * x0 + np.cos(ts * np.pi / 2) * n
  lmc = -0.25 * (1 - ts) ** 2 * (20.0 - 0.1) - 0.5 * (1 - ts) * 0.1  # VPCPlan
  a = np.exp(lmc)
  return a * x0 + np.sqrt(1 - a * a) * n


def ref_velocity(path, t, x0, n, h=1e-6):
  """d x_t / dt by central differences of the reference interpolant."""
  return (ref_interpolant(path, t + h, x0, n) - ref_interpolant(path, t - h, x0, n)) / (2 * h)


def ref_flow_loss(pred, x0, n, t, path, weighting=None):
  d = pred - ref_velocity(path, t, x0, n)
  v = np.mean((d * d).reshape(len(t), -1), axis=1)
  if weighting == "sigma_sqrt":
    s = ref_interpolant(path, t, np.zeros(1), np.ones(1))  # sigma_t
    v = v / np.maximum(s, 1e-3) ** 2
  elif weighting == "cosmap":
    s = ref_interpolant(path, t, np.zeros(1), np.ones(1))
    v = v * 2 / (np.pi * (1 - 2 * s + 2 * s * s))
  return v


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("weighting", [None, "sigma_sqrt", "cosmap"])
def test_flow_matching_matches_reference(path, weighting):
  x0, n, t = _batch()
  pred = RNG.normal(size=x0.shape)
  f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
  got = jaxloss.flow_matching_loss(f32(pred), f32(x0), f32(n), f32(t), path=path,
                                   weighting=weighting, reduction="none")
  np.testing.assert_allclose(got, ref_flow_loss(pred, x0, n, t, path, weighting), rtol=2e-5)


def test_rectified_target_is_noise_minus_data_sd3():
  x0, n, t = _batch()
  f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
  # The SD3 script's target (noise - model_input) has zero loss.
  out = jaxloss.flow_matching_loss(f32(n - x0), f32(x0), f32(n), f32(t), reduction="none")
  np.testing.assert_allclose(out, 0.0, atol=1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_flow_model_fn_sees_the_interpolant(path):
  x0, n, t = _batch()
  w = RNG.normal(size=x0.shape[1:])
  f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731

  def model(params, x, tt, cond):
    return params * x * tt[:, None, None] + cond

  got = jaxloss.flow_matching_loss(model, f32(x0), f32(n), f32(t), path=path, params=f32(w),
                                   condition=f32(1.5), reduction="none")
  xt = ref_interpolant(path, t, x0, n)
  pred = w * xt * t[:, None, None] + 1.5
  np.testing.assert_allclose(got, ref_flow_loss(pred, x0, n, t, path), rtol=2e-5)


@pytest.mark.parametrize("path", PATHS)
def test_flow_finite_at_the_ends_and_bf16(path):
  x0, n, _ = _batch()
  t = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-7])
  pred = RNG.normal(size=x0.shape)
  for weighting in (None, "sigma_sqrt", "cosmap"):
    def fn(p, a, b, weighting=weighting):
      return jaxloss.flow_matching_loss(p, a, b, jnp.asarray(t, jnp.float32), path=path,
                                        weighting=weighting)

    args = [jnp.asarray(a, jnp.float32) for a in (pred, x0, n)]
    v, g = jax.value_and_grad(fn, argnums=(0, 1, 2))(*args)
    assert np.isfinite(v) and all(np.all(np.isfinite(gi)) for gi in g)
  bf = [jnp.asarray(a, jnp.bfloat16) for a in (pred, x0, n)]
  lo = jaxloss.flow_matching_loss(*bf, jnp.asarray(t, jnp.bfloat16), path=path)
  hi = jaxloss.flow_matching_loss(*[a.astype(jnp.float32) for a in bf],
                                  jnp.asarray(t, jnp.bfloat16).astype(jnp.float32), path=path)
  assert lo.dtype == jnp.float32
  np.testing.assert_allclose(lo, hi, rtol=1e-6)


def test_flow_where_and_bad_inputs():
  x0, n, t = (jnp.asarray(a, jnp.float32) for a in _batch())
  p = jnp.zeros_like(x0)
  keep = jnp.array([True, False, True, True, False, True])
  full = jaxloss.flow_matching_loss(p, x0, n, t, reduction="none")
  got = jaxloss.flow_matching_loss(p.at[1].set(jnp.nan), x0, n, t, where=keep)
  np.testing.assert_allclose(got, np.mean(np.asarray(full)[np.asarray(keep)]), rtol=1e-6)
  with pytest.raises(LossInputError, match="flow_matching_loss: t has shape"):
    jaxloss.flow_matching_loss(p, x0, n, t[:-1])
  with pytest.raises(LossTypeError, match="t"):
    jaxloss.flow_matching_loss(p, x0, n, jnp.arange(6))
  with pytest.raises(LossInputError, match="path"):
    jaxloss.flow_matching_loss(p, x0, n, t, path="linear")


def test_flow_weighting_matches_diffusers_formulas():
  s = np.array([0.1, 0.5, 0.9])
  np.testing.assert_allclose(jaxloss.flow_weighting(jnp.asarray(s), "sigma_sqrt"), s ** -2.0,
                             rtol=1e-6)
  np.testing.assert_allclose(jaxloss.flow_weighting(jnp.asarray(s), "cosmap"),
                             2 / (np.pi * (1 - 2 * s + 2 * s ** 2)), rtol=1e-6)
  np.testing.assert_allclose(jaxloss.flow_weighting(jnp.asarray(s)), 1.0)


def test_sample_timesteps_densities():
  key = jax.random.key(3)
  n = 40000
  u = np.asarray(jaxloss.sample_timesteps(key, n))
  assert u.shape == (n,) and u.min() >= 0 and u.max() <= 1
  assert abs(u.mean() - 0.5) < 0.01
  ln = np.asarray(jaxloss.sample_timesteps(key, n, density="logit_normal", logit_mean=0.5,
                                           logit_std=0.8), np.float64)
  z = np.log(ln / (1 - ln))
  assert abs(z.mean() - 0.5) < 0.02 and abs(z.std() - 0.8) < 0.02
  # mode (SD3 Eq. 20): E[t] = integral_0^1 (1 - u - s (cos^2(pi u / 2) - 1 + u)) du.
  s = 1.29
  grid = (np.arange(200000) + 0.5) / 200000
  expected = np.mean(1 - grid - s * (np.cos(np.pi * grid / 2) ** 2 - 1 + grid))
  m = np.asarray(jaxloss.sample_timesteps(key, n, density="mode", mode_scale=s))
  assert abs(m.mean() - expected) < 0.01 and m.min() >= 0 and m.max() <= 1
  with pytest.raises(LossInputError, match="density"):
    jaxloss.sample_timesteps(key, 4, density="cosmap")


def test_sample_edm_sigmas_is_log_normal():
  s = np.asarray(jaxloss.sample_edm_sigmas(jax.random.key(0), 40000), np.float64)
  assert abs(np.log(s).mean() + 1.2) < 0.03 and abs(np.log(s).std() - 1.2) < 0.03


# --------------------------------------------------------------------------
# EDM.
# --------------------------------------------------------------------------


def ref_edm(x0, n, sigma, sd=0.5, raw=None, denoised=None):
  """NVlabs/edm: D = c_skip x + c_out F, loss = lambda (D - y)^2, float64."""
  sb = sigma.reshape((-1,) + (1,) * (x0.ndim - 1))
  x = x0 + sb * n
  c_skip = sd ** 2 / (sb ** 2 + sd ** 2)
  c_out = sb * sd / np.sqrt(sb ** 2 + sd ** 2)
  d = denoised if denoised is not None else c_skip * x + c_out * raw
  lam = (sigma ** 2 + sd ** 2) / (sigma * sd) ** 2
  return lam * np.mean(((d - x0) ** 2).reshape(len(sigma), -1), axis=1)


def test_edm_matches_reference():
  x0, n, _ = _batch()
  sigma = np.exp(RNG.normal(-1.2, 1.2, x0.shape[0]))
  f = RNG.normal(size=x0.shape)
  f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
  got = jaxloss.edm_loss(f32(f), f32(x0), f32(n), f32(sigma), reduction="none")
  np.testing.assert_allclose(got, ref_edm(x0, n, sigma, raw=f), rtol=2e-5)
  got = jaxloss.edm_loss(f32(f), f32(x0), f32(n), f32(sigma), sigma_data=1.3, reduction="none")
  np.testing.assert_allclose(got, ref_edm(x0, n, sigma, sd=1.3, raw=f), rtol=2e-5)
  d = x0 + 0.1 * f
  got = jaxloss.edm_loss(f32(d), f32(x0), f32(n), f32(sigma), prediction_type="x0",
                         reduction="none")
  np.testing.assert_allclose(got, ref_edm(x0, n, sigma, denoised=d), rtol=2e-5)


def test_edm_model_fn_gets_preconditioned_inputs():
  x0, n, _ = _batch()
  sigma = np.exp(RNG.normal(-1.2, 1.2, x0.shape[0]))
  f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731

  def net(x_in, c_noise):
    return jnp.tanh(x_in) * c_noise[:, None, None]

  got = jaxloss.edm_loss(net, f32(x0), f32(n), f32(sigma), reduction="none")
  sb = sigma[:, None, None]
  f = np.tanh((x0 + sb * n) / np.sqrt(sb ** 2 + 0.25)) * (np.log(sigma) / 4)[:, None, None]
  np.testing.assert_allclose(got, ref_edm(x0, n, sigma, raw=f), rtol=5e-5)


def test_edm_tiny_and_huge_sigma():
  x0, n, _ = _batch()
  sigma = np.array([1e-4, 1e-3, 0.5, 80.0, 1e3, 1e4])
  f = RNG.normal(size=x0.shape)
  f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
  fn = lambda p: jaxloss.edm_loss(p, f32(x0), f32(n), f32(sigma), reduction="none")  # noqa: E731
  np.testing.assert_allclose(fn(f32(f)), ref_edm(x0, n, sigma, raw=f), rtol=1e-4)
  g = jax.grad(lambda p: jnp.sum(fn(p)))(f32(f))
  assert np.all(np.isfinite(g))
  lo = jaxloss.edm_loss(jnp.asarray(f, jnp.bfloat16), jnp.asarray(x0, jnp.bfloat16),
                        jnp.asarray(n, jnp.bfloat16), jnp.asarray(sigma, jnp.bfloat16))
  assert lo.dtype == jnp.float32 and np.isfinite(lo)


def test_edm_where_and_bad_inputs():
  x0, n, _ = (jnp.asarray(a, jnp.float32) for a in _batch())
  sigma = jnp.array([0.5, 0.0, 1.0, 2.0, 0.1, 3.0])
  keep = sigma > 0
  p = jnp.zeros_like(x0)
  v, g = jax.value_and_grad(lambda p: jaxloss.edm_loss(p, x0, n, sigma, where=keep))(p)
  assert np.isfinite(v) and np.all(np.isfinite(g)) and np.all(np.asarray(g)[1] == 0)
  with pytest.raises(LossInputError, match="edm_loss: sigma has shape"):
    jaxloss.edm_loss(p, x0, n, sigma[:3])
  with pytest.raises(LossInputError, match="sigma_data"):
    jaxloss.edm_loss(p, x0, n, sigma, sigma_data=0.0)
  with pytest.raises(LossInputError, match="x0 has shape"):
    jaxloss.edm_loss(p[:, :2], x0, n, sigma + 1)
