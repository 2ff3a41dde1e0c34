"""Tiny end-to-end checks: a few optax steps on Flax NNX models move the generative losses."""

import jax
import jax.numpy as jnp
import optax
from flax import nnx

import jaxloss


class MLP(nnx.Module):
  def __init__(self, din, dhidden, dout, *, rngs):
    self.l1 = nnx.Linear(din, dhidden, rngs=rngs)
    self.l2 = nnx.Linear(dhidden, dout, rngs=rngs)

  def __call__(self, x):
    return self.l2(jnp.tanh(self.l1(x)))


def test_gan_discriminator_and_generator_losses_move_as_expected():
  key = jax.random.key(0)
  real = 2.0 + 0.3 * jax.random.normal(key, (32, 2))
  z = jax.random.normal(jax.random.key(1), (32, 2))
  disc = MLP(2, 8, 1, rngs=nnx.Rngs(0))
  gen = nnx.Linear(2, 2, rngs=nnx.Rngs(1))
  d_opt = nnx.Optimizer(disc, optax.adam(1e-2), wrt=nnx.Param)
  g_opt = nnx.Optimizer(gen, optax.adam(5e-2), wrt=nnx.Param)

  def d_loss_fn(disc, gen):
    fake = jax.lax.stop_gradient(gen(z))
    loss = jaxloss.gan_discriminator_loss(disc(real)[:, 0], disc(fake)[:, 0])
    # R1 through the NNX state: double backprop w.r.t. the discriminator's parameters.
    graphdef, state = nnx.split(disc)
    r1 = jaxloss.r1_penalty(real, discriminator_fn=_Apply(graphdef), params=state)
    return loss + 0.05 * r1, loss

  def g_loss_fn(gen, disc):
    return jaxloss.gan_generator_loss(disc(gen(z))[:, 0])

  @nnx.jit
  def d_step(disc, gen, opt):
    (_, loss), grads = nnx.value_and_grad(d_loss_fn, has_aux=True)(disc, gen)
    opt.update(disc, grads)
    return loss

  @nnx.jit
  def g_step(gen, disc, opt):
    loss, grads = nnx.value_and_grad(g_loss_fn)(gen, disc)
    opt.update(gen, grads)
    return loss

  d_losses = [float(d_step(disc, gen, d_opt)) for _ in range(25)]
  assert d_losses[-1] < 0.6 * d_losses[0]            # D learns to separate real from fake
  assert float(jnp.mean(disc(real))) > float(jnp.mean(disc(gen(z))))
  d_before = float(d_loss_fn(disc, gen)[1])
  g_losses = [float(g_step(gen, disc, g_opt)) for _ in range(15)]
  assert g_losses[-1] < g_losses[0]                  # G fools the fixed D more and more
  assert float(d_loss_fn(disc, gen)[1]) > d_before   # ... so D's loss goes back up


class _Apply:
  """Static, hashable ``(state, x) -> logits`` for a discriminator graph definition."""

  def __init__(self, graphdef):
    self.graphdef = graphdef

  def __call__(self, state, x):
    return nnx.merge(self.graphdef, state)(x)[:, 0]

  def __hash__(self):
    return hash(self.graphdef)

  def __eq__(self, other):
    return isinstance(other, _Apply) and other.graphdef == self.graphdef


class VAE(nnx.Module):
  def __init__(self, *, rngs):
    self.enc = MLP(8, 16, 4, rngs=rngs)
    self.dec = MLP(2, 16, 8, rngs=rngs)

  def __call__(self, x, key):
    h = self.enc(x)
    mean, log_var = h[:, :2], h[:, 2:]
    z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)
    return self.dec(z), mean, log_var


def test_vae_elbo_improves():
  k1, k2 = jax.random.split(jax.random.key(2))
  protos = jnp.array([[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]], jnp.float32)
  idx = jax.random.bernoulli(k1, 0.5, (64,)).astype(jnp.int32)
  flips = jax.random.bernoulli(k2, 0.05, (64, 8))
  x = jnp.where(flips, 1 - protos[idx], protos[idx])
  model = VAE(rngs=nnx.Rngs(0))
  opt = nnx.Optimizer(model, optax.adam(2e-2), wrt=nnx.Param)

  def loss_fn(model, key):
    logits, mean, log_var = model(x, key)
    return jaxloss.vae_loss(logits, x, mean, log_var, kl_weight=1.0, return_components=True)

  @nnx.jit
  def step(model, opt, key):
    (loss, parts), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, key)
    opt.update(model, grads)
    return loss, parts

  eval_key = jax.random.key(99)
  before, parts0 = loss_fn(model, eval_key)
  for i in range(60):
    step(model, opt, jax.random.fold_in(jax.random.key(3), i))
  after, parts1 = loss_fn(model, eval_key)
  assert float(after) < 0.7 * float(before)          # negative ELBO falls: ELBO improves
  assert float(parts1["reconstruction"]) < float(parts0["reconstruction"])


def test_diffusion_loss_falls():
  ac = jaxloss.cosine_schedule(50).alphas_cumprod
  angles = jax.random.uniform(jax.random.key(4), (128,), maxval=2 * jnp.pi)
  x0 = jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=-1)
  model = MLP(3, 32, 2, rngs=nnx.Rngs(0))
  opt = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

  def loss_fn(model, key):
    k1, k2 = jax.random.split(key)
    noise = jax.random.normal(k1, x0.shape)
    t = jax.random.randint(k2, (x0.shape[0],), 0, 50)
    xt = jaxloss.q_sample(x0, noise, t, ac)
    pred = model(jnp.concatenate([xt, t[:, None] / 50.0], axis=-1))
    return jaxloss.diffusion_loss(pred, x0, noise, t, alphas_cumprod=ac,
                                  prediction_type="epsilon", weighting="min_snr")

  @nnx.jit
  def step(model, opt, key):
    loss, grads = nnx.value_and_grad(loss_fn)(model, key)
    opt.update(model, grads)
    return loss

  eval_key = jax.random.key(7)
  before = float(loss_fn(model, eval_key))
  for i in range(80):
    step(model, opt, jax.random.fold_in(jax.random.key(5), i))
  after = float(loss_fn(model, eval_key))
  assert after < 0.8 * before
