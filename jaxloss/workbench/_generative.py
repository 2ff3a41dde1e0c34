"""Objectives, evaluation and pictures of the generative tasks (VAE, GAN, diffusion)."""

from __future__ import annotations

import inspect
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxloss import data, models, training
from jaxloss.workbench._binding import _as_objective_value, bind_loss
from jaxloss.workbench._supervised import _logits
from jaxloss.workbench.task import _info_of, _predict_batches, _xy

# --- generative: shared sample-quality score -------------------------------------------------

_SCORER: dict[int, Any] = {}
SCORER_STEPS = 250   # training steps of the sample-quality classifier


def _scorer(seed):
  """A CNN classifier trained on the digit images (cached per seed)."""
  if seed not in _SCORER:
    split = data.digit_images(seed)
    clf = models.CNNClassifier(1, 10, width=16, rngs=nnx.Rngs(seed + 123))
    opt = training.make_optimizer(clf, optax.adam(3e-3))

    def obj(m, b):
      lp = jax.nn.log_softmax(m(b["x"]))
      return -jnp.mean(jnp.take_along_axis(lp, b["y"][:, None], -1))

    training.fit(clf, opt, training.make_train_step(obj), _xy(split), steps=SCORER_STEPS,
                 batch_size=64,
                 seed=seed)
    acc = float(np.mean(_predict_batches(_logits, clf, split.x_test).argmax(-1) == split.y_test))
    _SCORER[seed] = (clf, acc)
  return _SCORER[seed]


def _sample_quality(samples, seed):
  """Inception-style score from the digit classifier: ``exp(E KL(p(y|x) || p(y)))``
  (1 = useless, 10 = confident and class-diverse), plus mean confidence."""
  clf, _ = _scorer(seed)
  p = jax.nn.softmax(_predict_batches(_logits, clf, np.asarray(samples)), -1)
  p = np.asarray(p, np.float64)
  py = p.mean(0, keepdims=True)
  kl = np.sum(p * (np.log(p + 1e-12) - np.log(py + 1e-12)), -1)
  return {"sample_score": float(np.exp(kl.mean())), "confidence": float(p.max(-1).mean())}


def _picture_samples(samples, plt, title):
  s = np.asarray(samples[:32, ..., 0])
  fig, axes = plt.subplots(4, 8, figsize=(8, 4.3))
  for img, ax in zip(s, axes.ravel(), strict=False):
    ax.imshow(img, cmap="gray", vmin=-1, vmax=1)
    ax.set_axis_off()
  fig.suptitle(title)
  return fig


# --- VAE ------------------------------------------------------------------------------------


def _vae_objective(loss_fn, split):
  """A VAE loss over (recon, x, mean, logvar) if the loss takes them; otherwise
  the loss is the reconstruction term and the task adds the Gaussian KL."""
  names = [p.name for p in inspect.signature(loss_fn).parameters.values()]
  full = any(n in names for n in ("mean", "mu", "logvar", "log_var"))
  parts = "return_components" in names   # e.g. vae_loss: log its parts

  def obj(model, batch):
    recon, mean, logvar = model(batch["x"], batch["key"])
    extras = {"mean": mean, "mu": mean, "logvar": logvar, "log_var": logvar}
    loss, aux = _as_objective_value(bind_loss(loss_fn, recon, batch["x"], extras,
                                              {"return_components": True} if parts else None))
    if full:
      return loss, aux
    kl = 0.5 * jnp.sum(jnp.exp(logvar) + mean ** 2 - 1 - logvar, axis=-1)
    # per-pixel reconstruction mean -> per-image sum, so the KL has its usual weight
    pixels = math.prod(batch["x"].shape[1:])
    rec = loss * pixels
    return rec + jnp.mean(kl), {"reconstruction": rec, "kl": jnp.mean(kl)}

  return [training.Phase(obj, has_aux=True)]


_vae_call = nnx.jit(lambda m, x, k: m(x, k))
_vae_sample = nnx.jit(lambda m, k: m.sample(k, 256))


def _eval_vae(model, split, seed):
  recon, mean, logvar = jax.device_get(_vae_call(model, jnp.asarray(split.x_test),
                                                 jax.random.key(seed)))
  mse = float(np.mean((recon - split.x_test) ** 2))
  kl = float(np.mean(0.5 * np.sum(np.exp(logvar) + mean ** 2 - 1 - logvar, -1)))
  # ELBO of a Gaussian decoder with sigma = 0.1 (pixels in [-1, 1])
  sigma = 0.1
  pixels = split.x_test[0].size
  nll = np.mean(np.sum((recon - split.x_test) ** 2, axis=(1, 2, 3))) / (2 * sigma ** 2) + \
      pixels * math.log(sigma * math.sqrt(2 * math.pi))
  out = {"recon_mse": mse, "kl": kl, "elbo": float(-(nll + kl))}
  out.update(_sample_quality(_vae_sample(model, jax.random.key(seed + 1)), seed))
  return out


def _picture_vae(model, split, seed, path, plt):
  return _picture_samples(_vae_sample(model, jax.random.key(seed + 1)), plt, "VAE samples")


# --- GAN ------------------------------------------------------------------------------------


def _gan_objective(loss_fn, split):
  """Adversarial objectives built from a catalog loss on discriminator logits:
  ``binary_cross_entropy``-like losses (logits, {0,1} labels) give the
  standard / non-saturating GAN; ``mse``-like losses (values, targets) give
  least-squares GAN; ``hinge_loss``-like losses (scores, ±1 labels) give the
  hinge GAN's generator and discriminator terms."""
  info = _info_of(loss_fn)
  pm1 = info is not None and ("hinge" in info.name or "logistic" in info.name)
  pos, neg = (1.0, -1.0) if pm1 else (1.0, 0.0)

  def fakes(model, batch):
    n = batch["x"].shape[0]
    z = jax.random.normal(batch["key"], (n, model.latent))
    return model.generator(z)

  def d_obj(model, batch):
    real = model.discriminator(batch["x"])
    fake = model.discriminator(jax.lax.stop_gradient(fakes(model, batch)))
    lr, _ = _as_objective_value(bind_loss(loss_fn, real, jnp.full_like(real, pos)))
    lf, _ = _as_objective_value(bind_loss(loss_fn, fake, jnp.full_like(fake, neg)))
    return lr + lf

  def g_obj(model, batch):
    fake = model.discriminator(fakes(model, batch))
    loss, _ = _as_objective_value(bind_loss(loss_fn, fake, jnp.full_like(fake, pos)))
    return loss

  return [training.Phase(d_obj, wrt=nnx.All(nnx.Param, nnx.PathContains("discriminator")),
                         name="loss_d"),
          training.Phase(g_obj, wrt=nnx.All(nnx.Param, nnx.PathContains("generator")),
                         name="loss")]


def _gan_optimizers(model, lr):
  tx = lambda: optax.adam(lr, b1=0.5)
  return (training.make_optimizer(model, tx(), nnx.All(nnx.Param,
                                                       nnx.PathContains("discriminator"))),
          training.make_optimizer(model, tx(), nnx.All(nnx.Param, nnx.PathContains("generator"))))


_gan_sample = nnx.jit(lambda m, k: m.sample(k, 256))


def _eval_gan(model, split, seed):
  return _sample_quality(_gan_sample(model, jax.random.key(seed + 1)), seed)


def _picture_gan(model, split, seed, path, plt):
  return _picture_samples(_gan_sample(model, jax.random.key(seed + 1)), plt, "GAN samples")


# --- diffusion ------------------------------------------------------------------------------

_T = 100


def _schedule():
  betas = jnp.linspace(1e-4, 0.2, _T)
  return betas, jnp.cumprod(1 - betas)


def _diffusion_objective(loss_fn, split):
  """DDPM noise prediction: ``loss(eps_hat, eps)`` on ``x_t = sqrt(a_t) x +
  sqrt(1 - a_t) eps`` with uniformly drawn ``t`` (a linear beta schedule, 100 steps).
  A loss whose second argument is ``x0`` (:func:`jaxloss.diffusion_loss`) gets
  the clean images, the noise, the timesteps and the schedule itself."""
  params = list(inspect.signature(loss_fn).parameters)
  takes_x0 = len(params) > 1 and params[1] == "x0"

  def obj(model, batch):
    x = batch["x"]
    k1, k2 = jax.random.split(batch["key"])
    t = jax.random.randint(k1, (x.shape[0],), 0, _T)
    eps = jax.random.normal(k2, x.shape)
    _, abar = _schedule()
    a = abar[t][:, None, None, None]
    xt = jnp.sqrt(a) * x + jnp.sqrt(1 - a) * eps
    if takes_x0:   # jaxloss.diffusion_loss(prediction, x0, noise, timesteps, ...)
      out = bind_loss(loss_fn, model(xt, t), x,
                      {"noise": eps, "timesteps": t, "alphas_cumprod": abar})
    else:
      out = bind_loss(loss_fn, model(xt, t), eps)
    return _as_objective_value(out)

  return [training.Phase(obj, has_aux=True)]


@nnx.jit
def _diffusion_sample(model, key):
  betas, abar = _schedule()
  alphas = 1 - betas
  k0, key = jax.random.split(key)
  x = jax.random.normal(k0, (256, 8, 8, 1))

  def body(i, carry):
    x, key = carry
    t = _T - 1 - i
    key, k = jax.random.split(key)
    eps = model(x, jnp.full((x.shape[0],), t))
    mean = (x - betas[t] / jnp.sqrt(1 - abar[t]) * eps) / jnp.sqrt(alphas[t])
    noise = jnp.where(t > 0, 1.0, 0.0) * jnp.sqrt(betas[t]) * jax.random.normal(k, x.shape)
    return mean + noise, key

  x, _ = jax.lax.fori_loop(0, _T, body, (x, key))
  return jnp.clip(x, -1, 1)


def _eval_diffusion(model, split, seed):
  return _sample_quality(_diffusion_sample(model, jax.random.key(seed + 1)), seed)


def _picture_diffusion(model, split, seed, path, plt):
  return _picture_samples(_diffusion_sample(model, jax.random.key(seed + 1)), plt,
                          "diffusion samples")
