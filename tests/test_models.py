"""jaxloss.models: output shapes and that every model trains (loss goes down)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jaxloss import models

fwd = nnx.jit(lambda m, *a: m(*a))

CASES = [
    (lambda r: models.MLP(5, 3, (8,), rngs=r), (jnp.ones((4, 5)),), (4, 3)),
    (lambda r: models.CNNClassifier(1, 10, width=8, rngs=r), (jnp.ones((2, 8, 8, 1)),), (2, 10)),
    (lambda r: models.BoxRegressor(1, width=4, image_size=16, rngs=r),
     (jnp.ones((2, 16, 16, 1)),), (2, 4)),
    (lambda r: models.EmbeddingNet(6, dim=4, hidden=8, rngs=r), (jnp.ones((3, 6)),), (3, 4)),
    (lambda r: models.Denoiser(1, width=8, time_dim=8, rngs=r),
     (jnp.ones((2, 8, 8, 1)), jnp.array([0, 7])), (2, 8, 8, 1)),
    (lambda r: models.Generator(latent=4, width=8, rngs=r), (jnp.ones((2, 4)),), (2, 8, 8, 1)),
    (lambda r: models.Discriminator(width=8, rngs=r), (jnp.ones((2, 8, 8, 1)),), (2,)),
]


@pytest.mark.parametrize("build,args,shape", CASES,
                         ids=["mlp", "cnn", "box", "embed", "denoiser", "gen", "disc"])
def test_output_shapes(build, args, shape):
  out = fwd(build(nnx.Rngs(0)), *args)
  assert out.shape == shape and bool(jnp.isfinite(out).all())


def test_box_regressor_outputs_valid_boxes():
  m = models.BoxRegressor(1, width=4, image_size=16, rngs=nnx.Rngs(1))
  b = np.asarray(fwd(m, jax.random.normal(jax.random.key(0), (8, 16, 16, 1)) * 10))
  assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()


def test_embeddings_are_unit_norm_and_proxies_are_params():
  m = models.EmbeddingNet(6, dim=4, hidden=8, num_classes=3, rngs=nnx.Rngs(0))
  z = fwd(m, jax.random.normal(jax.random.key(0), (5, 6)))
  np.testing.assert_allclose(jnp.linalg.norm(z, axis=-1), 1.0, rtol=1e-5)
  assert isinstance(m.proxies, nnx.Param) and m.proxies[...].shape == (3, 4)


def test_forecaster_and_vae_outputs():
  loc, scale = fwd(models.Forecaster(12, 3, width=4, rngs=nnx.Rngs(0)), jnp.ones((2, 12)))
  assert loc.shape == scale.shape == (2, 3) and bool((scale > 0).all())
  vae = models.VAE((8, 8, 1), latent=3, hidden=16, rngs=nnx.Rngs(0))
  r, m, lv = fwd(vae, jnp.zeros((2, 8, 8, 1)), jax.random.key(0))
  assert r.shape == (2, 8, 8, 1) and m.shape == lv.shape == (2, 3)
  assert float(jnp.abs(r).max()) <= 1.0


def test_gan_player_parameters_are_disjoint():
  gan = models.GAN(latent=4, width=8, rngs=nnx.Rngs(0))
  g = nnx.state(gan, nnx.All(nnx.Param, nnx.PathContains("generator")))
  d = nnx.state(gan, nnx.All(nnx.Param, nnx.PathContains("discriminator")))
  n = lambda s: sum(x.size for x in jax.tree.leaves(s))
  assert n(g) > 0 and n(d) > 0 and n(g) + n(d) == n(nnx.state(gan, nnx.Param))


@pytest.mark.slow
def test_unet_learns_a_pixel_task():
  """Loss must drop on a trivial segmentation (label = pixel > 0)."""
  x = jax.random.normal(jax.random.key(0), (8, 8, 8, 1))
  y = (x[..., 0] > 0).astype(jnp.int32)
  model = models.UNet(1, 2, width=4, rngs=nnx.Rngs(0))
  opt = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

  @nnx.jit
  def step(model, opt):
    def f(m):
      lp = jax.nn.log_softmax(m(x))
      return -jnp.mean(jnp.take_along_axis(lp, y[..., None], -1))
    loss, g = nnx.value_and_grad(f)(model)
    opt.update(model, g)
    return loss

  losses = [float(step(model, opt)) for _ in range(30)]
  assert losses[-1] < 0.5 * losses[0]
  assert fwd(model, x).shape == (8, 8, 8, 2)
