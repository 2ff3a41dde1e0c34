"""Tests of jaxloss.generative.gan and .vae against independent float64 NumPy/SciPy references."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads
from scipy import integrate, stats

import jaxloss
from jaxloss import LossInputError, LossTypeError

RNG = np.random.default_rng(0)


def softplus(x):
  return np.logaddexp(0.0, x)


# ------------------------------------------------------------------ GAN losses


def ref_d(r, f, kind):
  r, f = np.asarray(r, np.float64), np.asarray(f, np.float64)
  if kind in ("minimax", "non_saturating"):
    return -np.log(1 / (1 + np.exp(-r))) - np.log(1 - 1 / (1 + np.exp(-f)))
  if kind == "least_squares":
    return 0.5 * (r - 1) ** 2 + 0.5 * f ** 2
  if kind == "hinge":
    return np.maximum(0, 1 - r) + np.maximum(0, 1 + f)
  if kind == "wasserstein":
    return f - r
  sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
  return -np.log(sig(r - f.mean())) - np.log(1 - sig(f - r.mean()))


def ref_g(f, r, kind):
  f, r = np.asarray(f, np.float64), np.asarray(r, np.float64)
  sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
  return {"minimax": np.log(1 - sig(f)), "non_saturating": -np.log(sig(f)),
          "least_squares": 0.5 * (f - 1) ** 2, "hinge": -f, "wasserstein": -f,
          "relativistic_average": -np.log(sig(f - r.mean())) - np.log(1 - sig(r - f.mean()))
          }[kind]


@pytest.mark.parametrize("kind", jaxloss.GAN_KINDS)
def test_gan_losses_match_reference(kind):
  r = RNG.normal(1.0, 2.0, (6, 3)).astype(np.float32)
  f = RNG.normal(-1.0, 2.0, (6, 3)).astype(np.float32)
  d = jaxloss.gan_discriminator_loss(r, f, kind=kind, reduction="none")
  g = jaxloss.gan_generator_loss(f, real_logits=r, kind=kind, reduction="none")
  np.testing.assert_allclose(d, ref_d(r, f, kind), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(g, ref_g(f, r, kind), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(jaxloss.gan_discriminator_loss(r, f, kind=kind),
                             ref_d(r, f, kind).mean(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["minimax", "non_saturating", "relativistic_average"])
def test_gan_saturated_logits_finite(kind):
  r, f = jnp.array([1e4, -1e4, 30.0]), jnp.array([-1e4, 1e4, -30.0])
  vd, gd = jax.value_and_grad(
      lambda r, f: jaxloss.gan_discriminator_loss(r, f, kind=kind), argnums=(0, 1))(r, f)
  vg, gg = jax.value_and_grad(
      lambda f: jaxloss.gan_generator_loss(f, real_logits=r, kind=kind))(f)
  chex.assert_tree_all_finite((vd, gd, vg, gg))
  if kind == "non_saturating":
    # softplus(-f): f = -1e4 gives exactly 1e4 with gradient -1 (not inf/nan).
    np.testing.assert_allclose(jaxloss.gan_generator_loss(jnp.array([-1e4])), 1e4)
    np.testing.assert_allclose(jax.grad(jaxloss.gan_generator_loss)(jnp.array([-1e4])), [-1.0])


def test_relativistic_where_uses_unmasked_means():
  r, f = RNG.normal(size=6).astype(np.float32), RNG.normal(size=6).astype(np.float32)
  where = np.array([1, 1, 0, 1, 0, 1], bool)
  got = jaxloss.gan_discriminator_loss(r, f, kind="relativistic_average", where=where)
  want = ref_d(r[where], f[where], "relativistic_average").mean()
  np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("kind", ["minimax", "least_squares", "hinge", "wasserstein"])
def test_gan_vmap_per_example(kind):
  r, f = RNG.normal(size=(5, 2)).astype(np.float32), RNG.normal(size=(5, 2)).astype(np.float32)
  batched = jaxloss.gan_discriminator_loss(r, f, kind=kind, reduction="none")
  mapped = jax.vmap(lambda a, b: jaxloss.gan_discriminator_loss(
      a, b, kind=kind, reduction="none"))(r, f)
  np.testing.assert_allclose(batched, mapped, rtol=1e-6)


def test_gan_errors():
  with pytest.raises(LossInputError, match="gan_discriminator_loss: fake_logits has shape"):
    jaxloss.gan_discriminator_loss(jnp.zeros(3), jnp.zeros(4))
  with pytest.raises(LossInputError, match="kind must be one of"):
    jaxloss.gan_generator_loss(jnp.zeros(3), kind="vanilla")
  with pytest.raises(LossInputError, match="needs real_logits"):
    jaxloss.gan_generator_loss(jnp.zeros(3), kind="relativistic_average")
  with pytest.raises(LossTypeError, match="real_logits must be a floating"):
    jaxloss.gan_discriminator_loss(jnp.zeros(3, int), jnp.zeros(3))


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=2, max_size=6))
def test_gan_properties(xs):
  x = jnp.asarray(xs, jnp.float32)
  assert float(jaxloss.gan_discriminator_loss(x, -x, kind="hinge")) >= 0
  assert float(jaxloss.gan_discriminator_loss(x, x, kind="non_saturating")) > 0
  # LSGAN is 0 exactly at the optimum D(real) = 1, D(fake) = 0.
  assert float(jaxloss.gan_discriminator_loss(jnp.ones_like(x), jnp.zeros_like(x),
                                              kind="least_squares")) == 0.0
  # Wasserstein is antisymmetric in (real, fake).
  np.testing.assert_allclose(jaxloss.gan_discriminator_loss(x, -x, kind="wasserstein"),
                             -jaxloss.gan_discriminator_loss(-x, x, kind="wasserstein"),
                             atol=1e-5)


def test_conditional_gan_same_losses_on_conditioned_discriminator():
  """A projection discriminator D(x, c): the losses and R1 take its logits/callable as is."""
  k = jax.random.split(jax.random.key(0), 4)
  params = {"w": jax.random.normal(k[0], (3, 4)), "emb": jax.random.normal(k[1], (5, 4)),
            "v": jax.random.normal(k[2], (4,))}

  def D(p, x, c):  # noqa: N802
    h = jnp.tanh(x @ p["w"])
    return h @ p["v"] + jnp.sum(p["emb"][c] * h, axis=-1)

  real, fake = jax.random.normal(k[3], (6, 3)), jnp.zeros((6, 3))
  c = jnp.array([0, 1, 2, 3, 4, 0])

  def d_loss(p):
    return jaxloss.gan_discriminator_loss(D(p, real, c), D(p, fake, c), kind="hinge")

  g = jax.grad(d_loss)(params)
  assert float(jnp.abs(g["emb"]).sum()) > 0     # the condition embedding is trained
  r1_c = jaxloss.r1_penalty(real, discriminator_fn=D, params=params, condition=c)
  r1_closure = jaxloss.r1_penalty(real, discriminator_fn=lambda x: D(params, x, c))
  np.testing.assert_allclose(r1_c, r1_closure, rtol=1e-5)
  # Another condition changes the penalty: the condition really reaches D.
  assert abs(float(jaxloss.r1_penalty(real, discriminator_fn=D, params=params,
                                      condition=(c + 1) % 5)) - float(r1_c)) > 1e-6


# ------------------------------------------------------------------ penalties


def critic(p, x):
  return jnp.tanh(x @ p["w"]) @ p["v"]


def ref_critic_grad(p, x):
  w, v = np.asarray(p["w"], np.float64), np.asarray(p["v"], np.float64)
  h = np.tanh(np.asarray(x, np.float64) @ w)
  return ((1 - h ** 2) * v) @ w.T       # d/dx sum_k v_k tanh(x w_k)


def _params(d=3, h=5, seed=1):
  r = np.random.default_rng(seed)
  return {"w": jnp.asarray(r.normal(size=(d, h)) * 0.7, jnp.float32),
          "v": jnp.asarray(r.normal(size=h), jnp.float32)}


def test_gradient_penalty_matches_reference():
  p = _params()
  real = RNG.normal(size=(7, 3)).astype(np.float32)
  fake = RNG.normal(size=(7, 3)).astype(np.float32)
  alpha = RNG.uniform(size=7).astype(np.float32)
  got = jaxloss.gradient_penalty(real, fake, discriminator_fn=critic, params=p, alpha=alpha,
                                 reduction="none")
  x_hat = alpha[:, None] * real + (1 - alpha[:, None]) * fake
  want = (np.linalg.norm(ref_critic_grad(p, x_hat), axis=-1) - 1.0) ** 2
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  # With a key: alpha ~ U[0, 1] per example, as jax.random.uniform(key, (B,)).
  key = jax.random.key(3)
  a = np.asarray(jax.random.uniform(key, (7,)))
  x_hat = a[:, None] * real + (1 - a[:, None]) * fake
  want = ((np.linalg.norm(ref_critic_grad(p, x_hat), axis=-1) - 1.0) ** 2).mean()
  np.testing.assert_allclose(
      jaxloss.gradient_penalty(real, fake, discriminator_fn=critic, params=p, key=key), want,
      rtol=1e-5)
  # Another target norm.
  want = ((np.linalg.norm(ref_critic_grad(p, x_hat), axis=-1) - 0.5) ** 2).mean()
  np.testing.assert_allclose(
      jaxloss.gradient_penalty(real, fake, discriminator_fn=critic, params=p, key=key,
                               target_norm=0.5), want, rtol=1e-5)


def test_r1_r2_match_reference_and_norm_over_all_axes():
  p = _params()
  x = RNG.normal(size=(4, 3)).astype(np.float32)
  want = np.sum(ref_critic_grad(p, x) ** 2, axis=-1)
  np.testing.assert_allclose(jaxloss.r1_penalty(x, discriminator_fn=critic, params=p,
                                                reduction="none"), want, rtol=1e-5)
  np.testing.assert_allclose(jaxloss.r2_penalty(x, discriminator_fn=critic, params=p), want.mean(),
                             rtol=1e-5)
  # [B, 2, 3] inputs: the norm runs over both non-batch axes (a frequent GP bug).
  c = jnp.asarray(RNG.normal(size=(2, 3)), jnp.float32)
  lin = lambda x: jnp.sum(x * c, axis=(1, 2))  # noqa: E731
  x3 = jnp.ones((3, 2, 3))
  np.testing.assert_allclose(jaxloss.r1_penalty(x3, discriminator_fn=lin, reduction="none"),
                             np.full(3, np.sum(np.asarray(c, np.float64) ** 2)), rtol=1e-5)
  gp = jaxloss.gradient_penalty(x3, x3, discriminator_fn=lin, alpha=jnp.full(3, 0.5),
                                reduction="none")
  np.testing.assert_allclose(gp, np.full(3, (np.linalg.norm(np.asarray(c)) - 1) ** 2), rtol=1e-5)


def test_penalties_double_backprop_finite_differences():
  with jax.enable_x64(True):
    p = {k: jnp.asarray(v, jnp.float64) for k, v in _params().items()}
    real = jnp.asarray(RNG.normal(size=(4, 3)))
    fake = jnp.asarray(RNG.normal(size=(4, 3)))
    alpha = jnp.asarray(RNG.uniform(size=4))

    @jax.jit
    def gp(p):
      return jaxloss.gradient_penalty(real, fake, discriminator_fn=critic, params=p, alpha=alpha)

    @jax.jit
    def r1(p):
      return jaxloss.r1_penalty(real, discriminator_fn=critic, params=p)

    check_grads(gp, (p,), order=1, modes=["rev"])
    check_grads(r1, (p,), order=1, modes=["rev"])
    assert jax.grad(gp)(p)["w"].dtype == jnp.float64


def flat(p, x):
  return jnp.sum(x * 0.0, axis=-1) + p["v"][0]


def test_penalties_zero_input_gradient_are_finite():
  p = _params()
  x = jnp.ones((3, 3))
  v, g = jax.value_and_grad(lambda p: jaxloss.gradient_penalty(
      x, -x, discriminator_fn=flat, params=p, key=jax.random.key(0)))(p)
  assert float(v) == 1.0               # (0 - 1)^2
  chex.assert_tree_all_finite(g)
  v, g = jax.value_and_grad(lambda p: jaxloss.r1_penalty(x, discriminator_fn=flat, params=p))(p)
  assert float(v) == 0.0
  chex.assert_tree_all_finite(g)
  gx = jax.grad(lambda x: jaxloss.gradient_penalty(x, x, discriminator_fn=flat, params=p,
                                                   alpha=jnp.ones(3)))(x)
  chex.assert_tree_all_finite(gx)


def test_penalties_scan_based_critic_grad_of_grad_under_jit():
  ws = jnp.asarray(RNG.normal(size=(3, 4, 4)) * 0.5, jnp.float32)

  def scan_critic(ws, x):
    h, _ = jax.lax.scan(lambda h, w: (jnp.tanh(h @ w), None), x, ws)
    return jnp.sum(h, axis=-1)

  def unrolled(ws, x):
    for i in range(3):
      x = jnp.tanh(x @ ws[i])
    return jnp.sum(x, axis=-1)

  x = jnp.asarray(RNG.normal(size=(5, 4)), jnp.float32)
  f = jax.jit(jax.grad(lambda ws, fn: jaxloss.gradient_penalty(
      x, -x, discriminator_fn=fn, params=ws, alpha=jnp.full(5, 0.3)), argnums=0),
      static_argnums=1)
  g_scan, g_unrolled = f(ws, scan_critic), f(ws, unrolled)
  chex.assert_tree_all_finite(g_scan)
  np.testing.assert_allclose(g_scan, g_unrolled, rtol=1e-4, atol=1e-6)


def test_penalty_errors_and_no_retrace():
  x = jnp.ones((3, 2))
  with pytest.raises(LossInputError, match="gradient_penalty: needs key"):
    jaxloss.gradient_penalty(x, x, discriminator_fn=critic)
  with pytest.raises(LossInputError, match="gradient_penalty: fake has shape"):
    jaxloss.gradient_penalty(x, x[:2], discriminator_fn=critic, key=jax.random.key(0))
  with pytest.raises(LossInputError, match="r1_penalty: x must have rank >= 1"):
    jaxloss.r1_penalty(jnp.float32(1.0), discriminator_fn=critic)
  p = _params(d=2)
  jaxloss.r1_penalty(x, discriminator_fn=critic, params=p)
  n = jaxloss.r1_penalty._jitted._cache_size()
  jaxloss.r1_penalty(x + 1, discriminator_fn=critic, params=_params(d=2, seed=5))
  assert jaxloss.r1_penalty._jitted._cache_size() == n   # new params: no retrace


# ------------------------------------------------------------------ feature matching


def test_feature_matching_reference_and_pytrees():
  f1, r1 = RNG.normal(size=(4, 3)), RNG.normal(size=(6, 3))
  f2, r2 = RNG.normal(size=(4, 2, 2)), RNG.normal(size=(6, 2, 2))
  want = np.mean((f1.mean(0) - r1.mean(0)) ** 2) + 0.5 * np.mean((f2.mean(0) - r2.mean(0)) ** 2)
  fake = {"a": jnp.asarray(f1, jnp.float32), "b": jnp.asarray(f2, jnp.float32)}
  real = {"a": jnp.asarray(r1, jnp.float32), "b": jnp.asarray(r2, jnp.float32)}
  np.testing.assert_allclose(jaxloss.feature_matching_loss(fake, real, layer_weights=(1, 0.5)),
                             want, rtol=1e-5)
  want_l1 = np.mean(np.abs(f1.mean(0) - r1.mean(0)))
  np.testing.assert_allclose(jaxloss.feature_matching_loss(
      [jnp.asarray(f1, jnp.float32)], [jnp.asarray(r1, jnp.float32)], distance="l1"),
      want_l1, rtol=1e-5)
  with pytest.raises(LossInputError, match="structure"):
    jaxloss.feature_matching_loss([fake["a"]], [real["a"], real["a"]])
  with pytest.raises(LossInputError, match="layer_weights has shape"):
    jaxloss.feature_matching_loss(fake, real, layer_weights=(1.0,))


# ------------------------------------------------------------------ VAE


def test_gaussian_kl_matches_numerical_integration():
  m1, lv1 = RNG.normal(size=3), RNG.normal(size=3) * 0.5
  m2, lv2 = RNG.normal(size=3), RNG.normal(size=3) * 0.5
  want = 0.0
  for k in range(3):
    p = stats.norm(m1[k], np.exp(lv1[k] / 2))
    q = stats.norm(m2[k], np.exp(lv2[k] / 2))
    want += integrate.quad(lambda z, p=p, q=q: p.pdf(z) * (p.logpdf(z) - q.logpdf(z)),
                           -30, 30, limit=200)[0]
  f32 = lambda a: jnp.asarray(a[None], jnp.float32)  # noqa: E731
  got = jaxloss.gaussian_kl(f32(m1), f32(lv1), prior_mean=f32(m2), prior_log_var=f32(lv2))
  np.testing.assert_allclose(got, want, rtol=1e-5)
  # Standard-normal prior: the VAE formula -0.5 sum(1 + lv - m^2 - e^lv).
  m, lv = RNG.normal(size=(5, 4)), RNG.normal(size=(5, 4))
  want = -0.5 * np.sum(1 + lv - m ** 2 - np.exp(lv), axis=-1)
  np.testing.assert_allclose(jaxloss.gaussian_kl(jnp.asarray(m, jnp.float32),
                                                 jnp.asarray(lv, jnp.float32), reduction="none"),
                             want, rtol=1e-5)
  # axis=0 sums the first axis instead.
  np.testing.assert_allclose(
      jaxloss.gaussian_kl(jnp.asarray(m.T, jnp.float32), jnp.asarray(lv.T, jnp.float32), axis=0,
                          reduction="none"), want, rtol=1e-5)


def test_gaussian_kl_edges_and_grads():
  m = jnp.asarray(RNG.normal(size=(3, 2)), jnp.float32)
  lv = jnp.asarray(RNG.normal(size=(3, 2)), jnp.float32)
  assert float(jaxloss.gaussian_kl(m, lv, prior_mean=m, prior_log_var=lv)) == 0.0
  assert float(jaxloss.gaussian_kl(jnp.zeros((2, 2)), jnp.zeros((2, 2)))) == 0.0
  g = jax.grad(jaxloss.gaussian_kl, argnums=(0, 1))(jnp.zeros((2, 2)), jnp.zeros((2, 2)))
  chex.assert_trees_all_close(g, (jnp.zeros((2, 2)), jnp.zeros((2, 2))))
  with jax.enable_x64(True):
    m64, lv64 = jnp.asarray(RNG.normal(size=(3, 2))), jnp.asarray(RNG.normal(size=(3, 2)))
    pm, plv = jnp.asarray(RNG.normal(size=(3, 2))), jnp.asarray(RNG.normal(size=(3, 2)))
    check_grads(lambda a, b, c, d: jaxloss.gaussian_kl(a, b, prior_mean=c, prior_log_var=d),
                (m64, lv64, pm, plv), order=1, modes=["rev"])
  with pytest.raises(LossInputError, match="gaussian_kl: log_var has shape"):
    jaxloss.gaussian_kl(m, lv[:, :1])
  with pytest.raises(LossInputError, match="prior_mean has shape"):
    jaxloss.gaussian_kl(m, lv, prior_mean=jnp.zeros(5))


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=4, max_size=4),
       st.lists(st.floats(-4, 4), min_size=4, max_size=4))
def test_gaussian_kl_nonnegative(ms, lvs):
  m, lv = jnp.asarray(ms, jnp.float32)[None], jnp.asarray(lvs, jnp.float32)[None]
  assert float(jaxloss.gaussian_kl(m, lv)) >= -1e-6
  assert float(jaxloss.gaussian_kl(m, lv, prior_mean=m[:, ::-1], prior_log_var=lv)) >= -1e-6


def _vae_inputs():
  lg = RNG.normal(size=(4, 2, 3)).astype(np.float32) * 2
  x = (RNG.uniform(size=(4, 2, 3)) > 0.5).astype(np.float32)
  m = RNG.normal(size=(4, 3)).astype(np.float32)
  lv = RNG.normal(size=(4, 3)).astype(np.float32) * 0.5
  return lg, x, m, lv


def test_vae_loss_matches_reference():
  lg, x, m, lv = _vae_inputs()
  kl = -0.5 * np.sum(1 + lv - m.astype(np.float64) ** 2 - np.exp(lv), axis=-1)
  bce = np.sum(softplus(lg.astype(np.float64)) - x * lg, axis=(1, 2))
  total, parts = jaxloss.vae_loss(lg, x, m, lv, kl_weight=2.0, reduction="none",
                                  return_components=True)
  np.testing.assert_allclose(parts["reconstruction"], bce, rtol=1e-5)
  np.testing.assert_allclose(parts["kl"], kl, rtol=1e-5)
  np.testing.assert_allclose(total, bce + 2.0 * kl, rtol=1e-5)
  total, parts = jaxloss.vae_loss(lg, x, m, lv, return_components=True)
  np.testing.assert_allclose(total, (bce + kl).mean(), rtol=1e-5)
  # Gaussian decoder with log-variance s: full NLL including log(2 pi).
  s = -0.7
  nll = np.sum(0.5 * ((x - lg.astype(np.float64)) ** 2 * np.exp(-s) + s + np.log(2 * np.pi)),
               axis=(1, 2))
  total = jaxloss.vae_loss(lg, x, m, lv, likelihood="gaussian", decoder_log_var=s,
                           reduction="none")
  np.testing.assert_allclose(total, nll + kl, rtol=1e-5)


def test_vae_free_bits():
  lg, x, m, lv = _vae_inputs()
  kl_dims = 0.5 * (np.exp(lv) + m.astype(np.float64) ** 2 - 1 - lv)
  fb = 0.4
  total, parts = jaxloss.vae_loss(lg, x, m, lv, free_bits=fb, reduction="none",
                                  return_components=True)
  bce = np.sum(softplus(lg.astype(np.float64)) - x * lg, axis=(1, 2))
  np.testing.assert_allclose(total, bce + np.maximum(kl_dims, fb).sum(-1), rtol=1e-5)
  np.testing.assert_allclose(parts["kl"], kl_dims.sum(-1), rtol=1e-5)   # raw KL reported
  # Below the floor the KL gives no gradient to the posterior.
  small_m = jnp.full((1, 3), 0.01)
  g = jax.grad(lambda m: jaxloss.vae_loss(lg[:1], x[:1], m, jnp.zeros((1, 3)),
                                          free_bits=fb))(small_m)
  np.testing.assert_array_equal(g, np.zeros((1, 3)))


def test_vae_loss_grads_parts_and_errors():
  lg, x, m, lv = _vae_inputs()
  (v, parts), g = jax.value_and_grad(
      lambda lg, m, lv: jaxloss.vae_loss(lg, x, m, lv, return_components=True),
      argnums=(0, 1, 2), has_aux=True)(
          lg, m, lv)
  assert set(parts) == {"reconstruction", "kl"}
  chex.assert_tree_all_finite(g)
  with jax.enable_x64(True):
    args = tuple(jnp.asarray(a, jnp.float64) for a in (lg, m, lv))
    check_grads(lambda a, b, c: jaxloss.vae_loss(a, jnp.asarray(x, jnp.float64), b, c,
                                                 kl_weight=0.5),
                args, order=1, modes=["rev"])
  with pytest.raises(LossInputError, match="vae_loss: targets has shape"):
    jaxloss.vae_loss(lg, x[:, :1], m, lv)
  with pytest.raises(LossInputError, match="same batch size"):
    jaxloss.vae_loss(lg, x, m[:2], lv[:2])
  with pytest.raises(LossInputError, match="kl_weight must be >= 0"):
    jaxloss.vae_loss(lg, x, m, lv, kl_weight=-1.0)
  with pytest.raises(LossInputError, match="likelihood must be one of"):
    jaxloss.vae_loss(lg, x, m, lv, likelihood="poisson")


def test_vae_loss_per_example():
  lg, x, m, lv = _vae_inputs()
  full = jaxloss.vae_loss(lg, x, m, lv, reduction="none")
  for i in range(2):
    one = jaxloss.vae_loss(lg[i:i + 1], x[i:i + 1], m[i:i + 1], lv[i:i + 1],
                           reduction="none")
    np.testing.assert_allclose(full[i], one[0], rtol=1e-6)


def test_vae_loss_components_are_the_unweighted_terms():
  lg, x, m, lv = _vae_inputs()
  # The default returns the total only; the parts are the single-part losses.
  plain = jaxloss.vae_loss(lg, x, m, lv, kl_weight=3.0)
  assert not isinstance(plain, tuple)
  for reduction in ("mean", "sum", "none"):
    total, parts = jaxloss.vae_loss(lg, x, m, lv, kl_weight=3.0, reduction=reduction,
                                    return_components=True)
    np.testing.assert_allclose(parts["kl"], jaxloss.gaussian_kl(m, lv, reduction=reduction),
                               rtol=1e-6)
    rec = jaxloss.reconstruction_loss(lg, x, kind="bernoulli", reduction="none").sum((1, 2))
    rec = {"mean": rec.mean(), "sum": rec.sum(), "none": rec}[reduction]
    np.testing.assert_allclose(parts["reconstruction"], rec, rtol=1e-6)
    np.testing.assert_allclose(total, parts["reconstruction"] + 3.0 * parts["kl"], rtol=1e-6)
    np.testing.assert_allclose(
        total, jaxloss.vae_loss(lg, x, m, lv, kl_weight=3.0, reduction=reduction), rtol=1e-6)
