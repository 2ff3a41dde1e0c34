"""Tests of jaxloss.generative.diffusion against independent float64 NumPy references."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxloss
from jaxloss import LossInputError, LossTypeError

RNG = np.random.default_rng(1)
T = 40


def ref_cosine(T, s=0.008):
  f = lambda t: np.cos((t / T + s) / (1 + s) * np.pi / 2) ** 2  # noqa: E731
  betas = np.array([min(1 - f(i + 1) / f(i), 0.999) for i in range(T)])
  return betas, np.cumprod(1 - betas)


def test_schedules_match_reference():
  lin = jaxloss.linear_schedule(T)
  betas = np.linspace(1e-4, 0.02, T)
  np.testing.assert_allclose(lin.betas, betas, rtol=1e-6)
  np.testing.assert_allclose(lin.alphas_cumprod, np.cumprod(1 - betas), rtol=1e-5)
  b, ac = ref_cosine(T)
  cos = jaxloss.cosine_schedule(T)
  np.testing.assert_allclose(cos.betas, b, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(cos.alphas_cumprod, ac, rtol=1e-5, atol=1e-7)
  # Sigmoid (Chen 2023, Alg. 1 gamma(t)): abar(t) normalised to abar(0) = 1.
  sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
  t = np.arange(T + 1) / T
  g = (sig(3.0) - sig(t * 6 - 3)) / (sig(3.0) - sig(-3.0))
  b = np.clip(1 - g[1:] / g[:-1], 0, 0.999)
  s = jaxloss.sigmoid_schedule(T)
  np.testing.assert_allclose(s.alphas_cumprod, np.cumprod(1 - b), rtol=1e-5, atol=1e-7)
  for sch in (lin, cos, s):
    assert np.all(np.diff(np.asarray(sch.alphas_cumprod)) < 0)
  with pytest.raises(LossInputError, match="num_timesteps"):
    jaxloss.linear_schedule(0)


def _batch(shape=(5, 3, 2)):
  x0 = RNG.normal(size=shape).astype(np.float32)
  eps = RNG.normal(size=shape).astype(np.float32)
  t = RNG.integers(0, T, shape[0]).astype(np.int32)
  return x0, eps, t


def test_q_sample_and_snr():
  ac = np.asarray(jaxloss.cosine_schedule(T).alphas_cumprod, np.float64)
  x0, eps, t = _batch()
  a = ac[t].reshape(-1, 1, 1)
  np.testing.assert_allclose(jaxloss.q_sample(x0, eps, t, ac.astype(np.float32)),
                             np.sqrt(a) * x0 + np.sqrt(1 - a) * eps, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(jaxloss.snr(t, ac.astype(np.float32)), ac[t] / (1 - ac[t]),
                             rtol=1e-4)


def test_conversions_round_trip():
  ac = jaxloss.cosine_schedule(T).alphas_cumprod
  x0, eps, t = _batch()
  xt = jaxloss.q_sample(x0, eps, t, ac)
  a = np.sqrt(np.asarray(ac)[t]).reshape(-1, 1, 1)
  b = np.sqrt(1 - np.asarray(ac)[t]).reshape(-1, 1, 1)
  v = a * eps - b * x0
  truth = {"epsilon": eps, "x0": x0, "v": v}
  for src in truth:
    for dst in truth:
      got = jaxloss.convert_prediction(truth[src], xt, t, ac, source=src, target=dst)
      np.testing.assert_allclose(got, truth[dst], rtol=1e-4, atol=1e-4)


def ref_diffusion(pred, x0, eps, t, ac, ptype, gamma=None):
  ac = np.asarray(ac, np.float64)
  a = np.sqrt(ac[t]).reshape(-1, *([1] * (x0.ndim - 1)))
  b = np.sqrt(1 - ac[t]).reshape(a.shape)
  target = {"epsilon": eps, "x0": x0, "v": a * eps - b * x0}[ptype]
  mse = ((pred.astype(np.float64) - target) ** 2).reshape(len(t), -1).mean(-1)
  if gamma is None:
    return mse
  snr = ac[t] / (1 - ac[t])
  # diffusers train_text_to_image.py: min(snr, gamma) / snr (eps), / (snr + 1) (v).
  w = {"epsilon": np.minimum(snr, gamma) / snr, "x0": np.minimum(snr, gamma),
       "v": np.minimum(snr, gamma) / (snr + 1)}[ptype]
  return mse * w


@pytest.mark.parametrize("ptype", ["epsilon", "x0", "v"])
@pytest.mark.parametrize("weighting", [None, "min_snr"])
def test_diffusion_loss_matches_reference(ptype, weighting):
  ac = jaxloss.cosine_schedule(T).alphas_cumprod
  x0, eps, t = _batch()
  pred = RNG.normal(size=x0.shape).astype(np.float32)
  got = jaxloss.diffusion_loss(pred, x0, eps, t, alphas_cumprod=ac, prediction_type=ptype,
                               weighting=weighting, snr_gamma=5.0, reduction="none")
  want = ref_diffusion(pred, x0, eps, t, ac, ptype, 5.0 if weighting else None)
  np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


def test_three_parametrisations_agree():
  """One model output, converted between parametrisations, gives the same min-SNR loss."""
  ac = jaxloss.cosine_schedule(T).alphas_cumprod
  x0, eps, t = _batch()
  xt = jaxloss.q_sample(x0, eps, t, ac)
  eps_hat = eps + 0.3 * RNG.normal(size=x0.shape).astype(np.float32)
  preds = {p: jaxloss.convert_prediction(eps_hat, xt, t, ac, source="epsilon", target=p)
           for p in ("epsilon", "x0", "v")}
  losses = {p: jaxloss.diffusion_loss(preds[p], x0, eps, t, alphas_cumprod=ac,
                                      prediction_type=p, weighting="min_snr", reduction="none")
            for p in preds}
  np.testing.assert_allclose(losses["x0"], losses["epsilon"], rtol=1e-3, atol=1e-6)
  np.testing.assert_allclose(losses["v"], losses["epsilon"], rtol=1e-3, atol=1e-6)
  # Unweighted: the epsilon loss is SNR times the x0 loss.
  raw = {p: jaxloss.diffusion_loss(preds[p], x0, eps, t, alphas_cumprod=ac, prediction_type=p,
                                   reduction="none") for p in ("epsilon", "x0")}
  np.testing.assert_allclose(raw["epsilon"], jaxloss.snr(t, ac) * raw["x0"], rtol=1e-3)


def denoiser(params, xt, t):
  return jnp.tanh(xt * params["a"] + params["b"] * t[:, None, None] / T)


def test_model_fn_path_equals_prediction_path_and_no_retrace():
  ac = jaxloss.linear_schedule(T).alphas_cumprod
  x0, eps, t = _batch()
  params = {"a": jnp.float32(0.7), "b": jnp.float32(-0.2)}
  xt = jaxloss.q_sample(x0, eps, t, ac)
  want = jaxloss.diffusion_loss(denoiser(params, xt, t), x0, eps, t, alphas_cumprod=ac,
                                prediction_type="v", weighting="min_snr")
  got = jaxloss.diffusion_loss(denoiser, x0, eps, t, alphas_cumprod=ac, params=params,
                               prediction_type="v", weighting="min_snr")
  np.testing.assert_allclose(got, want, rtol=1e-5)
  closure = jaxloss.diffusion_loss(lambda xt, t: denoiser(params, xt, t), x0, eps, t,
                                   alphas_cumprod=ac, prediction_type="v", weighting="min_snr")
  np.testing.assert_allclose(closure, want, rtol=1e-5)
  n = jaxloss.diffusion_loss._jitted._cache_size()
  jaxloss.diffusion_loss(denoiser, x0 + 1, eps, t, alphas_cumprod=ac, prediction_type="v",
                         weighting="min_snr", params={"a": jnp.float32(2.0), "b": jnp.float32(1)})
  assert jaxloss.diffusion_loss._jitted._cache_size() == n
  g = jax.grad(lambda p: jaxloss.diffusion_loss(denoiser, x0, eps, t, alphas_cumprod=ac,
                                                params=p))(params)
  assert float(jnp.abs(g["a"])) > 0


def test_diffusion_grads_and_edges():
  with jax.enable_x64(True):
    ac = jnp.asarray(jaxloss.cosine_schedule(T).alphas_cumprod, jnp.float64)
    x0, eps, t = _batch()
    pred = jnp.asarray(RNG.normal(size=x0.shape))
    check_grads(lambda p, x: jaxloss.diffusion_loss(p, x, jnp.asarray(eps, jnp.float64), t,
                                                    alphas_cumprod=ac, prediction_type="v",
                                                    weighting="min_snr"),
                (pred, jnp.asarray(x0, jnp.float64)), order=1, modes=["rev"])
  # abar = 1 (SNR = inf) and abar = 0 (SNR = 0): weights stay finite.
  ac = jnp.array([1.0, 0.5, 0.0])
  x0, eps, _ = _batch((3, 2))
  t = jnp.array([0, 1, 2])
  for ptype in ("epsilon", "x0", "v"):
    v, g = jax.value_and_grad(lambda p, ptype=ptype: jaxloss.diffusion_loss(
        p, x0, eps, t, alphas_cumprod=ac, prediction_type=ptype, weighting="min_snr"))(
            jnp.zeros_like(x0))
    chex.assert_tree_all_finite((v, g))
  assert float(jaxloss.diffusion_loss(eps, x0, eps, t, alphas_cumprod=ac)) == 0.0


def test_diffusion_errors():
  ac = jaxloss.linear_schedule(T).alphas_cumprod
  x0, eps, t = _batch()
  with pytest.raises(LossTypeError, match="diffusion_loss: timesteps must be an integer"):
    jaxloss.diffusion_loss(x0, x0, eps, t.astype(np.float32), alphas_cumprod=ac)
  with pytest.raises(LossInputError, match="timesteps has shape"):
    jaxloss.diffusion_loss(x0, x0, eps, t[:2], alphas_cumprod=ac)
  with pytest.raises(LossInputError, match="diffusion_loss: x0 has shape .* but model_fn_or"):
    jaxloss.diffusion_loss(x0[:, :1], x0, eps, t, alphas_cumprod=ac)
  with pytest.raises(LossInputError, match="prediction_type must be one of"):
    jaxloss.diffusion_loss(x0, x0, eps, t, alphas_cumprod=ac, prediction_type="score")
  with pytest.raises(LossInputError, match="alphas_cumprod must have rank 1"):
    jaxloss.diffusion_loss(x0, x0, eps, t, alphas_cumprod=ac[None])
  # Out-of-range timesteps: a value check that fires under chex.chexify.
  checked = chex.chexify(lambda t: jaxloss.diffusion_loss(x0, x0, eps, t, alphas_cumprod=ac))
  with pytest.raises(Exception, match=r"timesteps must be in \[0, 40\)"):
    checked(t + T)
    chex.block_until_chexify_assertions_complete()


def test_loss_per_timestep_and_per_example():
  ac = jaxloss.linear_schedule(T).alphas_cumprod
  x0, eps, t = _batch((8, 3))
  pred = RNG.normal(size=x0.shape).astype(np.float32)
  per = jaxloss.diffusion_loss(pred, x0, eps, t, alphas_cumprod=ac, reduction="none")
  means, counts = jaxloss.loss_per_timestep(per, t, T, num_bins=4)
  per_np, bins = np.asarray(per, np.float64), (t * 4) // T
  for k in range(4):
    sel = bins == k
    assert counts[k] == sel.sum()
    np.testing.assert_allclose(means[k], per_np[sel].mean() if sel.any() else 0.0, rtol=1e-5)
  one = jaxloss.diffusion_loss(pred[2:3], x0[2:3], eps[2:3], t[2:3], alphas_cumprod=ac,
                               reduction="none")
  np.testing.assert_allclose(one[0], per[2], rtol=1e-6)
