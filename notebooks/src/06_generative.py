# %% [markdown]
# # Generative objectives: GAN losses, the VAE β trade-off, ε- vs v-prediction diffusion
#
# Three small experiments a practitioner can run on a laptop CPU, each isolating one choice of
# loss in a generative model:
#
# 1. **GAN objective** on a 2-D mixture of 8 Gaussians — how many modes does each objective cover?
# 2. **VAE β** on digit images — reconstruction quality against how many latent dimensions are used.
# 3. **Diffusion parametrisation** on the same 2-D mixture — ε-prediction against v-prediction.

# %%
import os
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

import jaxloss
import jaxloss.data
import jaxloss.models

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (9, 3)})
T0 = time.perf_counter()
SEED = int(os.environ.get("JAXLOSS_NB_SEED", 0))  # scripts/notebook_seeds.py reruns this notebook with seeds 0-4
FAST = os.environ.get("JAXLOSS_NB_FAST") == "1"   # set by tests/test_notebooks.py: smaller sizes, fewer steps

MODES = 2.0 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], -1)
STD = 0.05

def sample_ring(key, n):
  k1, k2 = jax.random.split(key)
  return jnp.asarray(MODES, jnp.float32)[jax.random.randint(k1, (n,), 0, 8)] + STD * jax.random.normal(k2, (n, 2))

def mode_stats(samples, radius=4 * STD):
  """Modes holding at least 1% of the samples within `radius`, and the fraction of samples
  that are within `radius` of some mode ("high quality")."""
  d = np.linalg.norm(np.asarray(samples)[:, None] - MODES[None], axis=-1)
  near = d.min(1) < radius
  hits = np.bincount(d.argmin(1)[near], minlength=8)
  return int((hits >= 0.01 * len(samples)).sum()), float(near.mean())

# %% [markdown]
# ## 1. GAN objectives on a ring of 8 Gaussians
# Generator and discriminator are `jaxloss.models.MLP`s (2 hidden layers of 64); one jitted step
# updates the discriminator with `jaxloss.gan_discriminator_loss` and then the generator with
# `jaxloss.gan_generator_loss` of the same `kind`; 2,000 steps with Adam(1e-3, β1 = 0.5), batch 256.

# %%
def train_gan(kind, steps=800 if FAST else 2000, seed=SEED, bs=256):
  rngs = nnx.Rngs(seed)
  gdef, gp = nnx.split(jaxloss.models.MLP(8, 2, hidden=(64, 64), rngs=rngs))
  ddef, dp = nnx.split(jaxloss.models.MLP(2, 1, hidden=(64, 64), rngs=rngs))
  opt = optax.adam(1e-3, b1=0.5)
  G = lambda p, z: nnx.merge(gdef, p)(z)
  D = lambda p, x: nnx.merge(ddef, p)(x)[:, 0]

  def step(carry, key):
    gp, dp, gs, ds = carry
    kx, kz = jax.random.split(key)
    real, z = sample_ring(kx, bs), jax.random.normal(kz, (bs, 8))
    fake = G(gp, z)
    gd = jax.grad(lambda dp: jaxloss.gan_discriminator_loss(D(dp, real), D(dp, fake), kind=kind))(dp)
    u, ds = opt.update(gd, ds, dp); dp = optax.apply_updates(dp, u)
    gg = jax.grad(lambda gp: jaxloss.gan_generator_loss(D(dp, G(gp, z)), real_logits=D(dp, real), kind=kind))(gp)
    u, gs = opt.update(gg, gs, gp); gp = optax.apply_updates(gp, u)
    return (gp, dp, gs, ds), None

  @jax.jit
  def run(gp, dp):
    carry = (gp, dp, opt.init(gp), opt.init(dp))
    return jax.lax.scan(step, carry, jax.random.split(jax.random.key(seed), steps))[0][0]

  gp = run(gp, dp)
  return G(gp, jax.random.normal(jax.random.key(1000 + seed), (2000, 8)))

gan_samples, gan_stats = {}, {}
for kind in ("non_saturating", "least_squares", "hinge"):
  t = time.perf_counter(); gan_samples[kind] = train_gan(kind)
  gan_stats[kind] = mode_stats(gan_samples[kind])
  print(f"{kind:15s} modes covered {gan_stats[kind][0]}/8, high-quality samples {gan_stats[kind][1]:.0%} ({time.perf_counter() - t:.1f} s)")

# %% [markdown]
# **Samples of each objective** (2,000 points, blue) over the 8 true modes (red). GAN training
# is chaotic, and on this small benchmark the seed moves mode coverage as much as the objective
# does. Over seeds 0-4 (`JAXLOSS_NB_SEED`, jax 0.10.2, CPU) the non-saturating objective covered
# 3-5 modes, least-squares 3-6 and hinge 5-6; the best objective covered 5 or 6 modes and the
# worst 3 or 4. Hinge was the most consistent; the non-saturating (cross-entropy) objective had
# the fewest modes at 2 of the 5 seeds and tied for fewest at 2 more -- the mode dropping reported by Metz et al. (2017) and
# Mao et al. (2017) -- but not always. (A run on another CPU, whose float rounding differs, can
# land anywhere in these ranges.)

# %%
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for a, (kind, s) in zip(axes, gan_samples.items()):
  s = np.asarray(s)
  a.scatter(s[:, 0], s[:, 1], s=1, alpha=0.4); a.scatter(MODES[:, 0], MODES[:, 1], c="r", s=12, marker="x")
  a.set(xlim=(-3, 3), ylim=(-3, 3), title=f"{kind}\n{gan_stats[kind][0]}/8 modes, {gan_stats[kind][1]:.0%} HQ")
  a.set_xticks([]); a.set_yticks([])
plt.tight_layout(); plt.show()

# %% [markdown]
# ## 2. The VAE β trade-off on digits
# `jaxloss.models.VAE` (8 latent dimensions) on the 8x8 digit images in [-1, 1], trained with
# `jaxloss.vae_loss(likelihood="gaussian", kl_weight=β)` (unit decoder variance). Large β buys a
# posterior close to the prior at the price of blurry reconstructions; the number of *active*
# latent dimensions (average KL above 0.05 nats) drops as β grows — the unused ones carry no
# information at all ("posterior collapse"); at β = 8 every dimension is unused and the decoder
# outputs the same average digit for every input.

# %%
digits = jaxloss.data.digit_images(seed=SEED)
xtr, xte = jnp.asarray(digits.x_train), jnp.asarray(digits.x_test)

def train_vae(beta, steps=150 if FAST else 300, seed=SEED):
  gdef, params = nnx.split(jaxloss.models.VAE(latent=8, hidden=128, rngs=nnx.Rngs(seed)))
  opt = optax.adam(2e-3)

  def loss(p, key):
    recon, mean, logvar = nnx.merge(gdef, p)(xtr, key)
    return jaxloss.vae_loss(recon, xtr, mean, logvar, likelihood="gaussian",
                            decoder_log_var=0.0, kl_weight=beta)

  @jax.jit
  def run(params):
    def step(carry, key):
      p, s = carry
      u, s = opt.update(jax.grad(loss)(p, key), s, p)
      return (optax.apply_updates(p, u), s), None
    return jax.lax.scan(step, (params, opt.init(params)), jax.random.split(jax.random.key(seed), steps))[0][0]

  vae = nnx.merge(gdef, run(params))
  mean, logvar = vae.encode(xte)
  kl_per_dim = np.asarray(jaxloss.gaussian_kl(mean[..., None], logvar[..., None], reduction="none")).mean(0)
  recon = vae.decode(mean)
  return vae, float(jnp.mean((recon - xte) ** 2)), int((kl_per_dim > 0.05).sum()), recon

vae_res = {}
for beta in (0.1, 1.0, 8.0):
  t = time.perf_counter(); vae_res[beta] = train_vae(beta)
  print(f"β = {beta:4}: test reconstruction MSE {vae_res[beta][1]:.4f}, active latent dimensions {vae_res[beta][2]}/8 ({time.perf_counter() - t:.1f} s)")

# %% [markdown]
# **Reconstructions** of six test digits (top row: originals; then one row per β) — sharper at
# small β, blurrier and more "average" at large β.

# %%
fig, axes = plt.subplots(4, 6, figsize=(5, 3.6))
rows = [("data", xte)] + [(f"β={b}", r[3]) for b, r in vae_res.items()]
for i, (label, imgs) in enumerate(rows):
  for j in range(6):
    axes[i, j].imshow(np.asarray(imgs[j, ..., 0]), cmap="gray", vmin=-1, vmax=1)
    axes[i, j].set_xticks([]); axes[i, j].set_yticks([])
  axes[i, 0].set_ylabel(label, fontsize=8)
plt.tight_layout(); plt.show()

# %% [markdown]
# ## 3. A tiny diffusion model: ε- vs v-prediction
# An MLP denoiser (input: the noisy point and a sinusoidal embedding of t) trained with
# `jaxloss.diffusion_loss` on the 8-Gaussian ring, T = 100, cosine schedule
# (`jaxloss.cosine_schedule`), once predicting the noise ε and once predicting
# `v = √ᾱ ε − √(1−ᾱ) x0`. Sampling is deterministic DDIM over all 100 steps; both outputs are
# turned into (x0, ε) with `jaxloss.convert_prediction`. Near t = T, ᾱ ≈ 0: the ε-model's
# estimate of x0 = (x_t − √(1−ᾱ) ε)/√ᾱ divides by almost zero, the v-model's
# x0 = √ᾱ x_t − √(1−ᾱ) v does not.

# %%
TT = 100
ac = jaxloss.cosine_schedule(TT).alphas_cumprod

class TinyDenoiser(nnx.Module):
  def __init__(self, hidden=64, *, rngs):
    self.net = jaxloss.models.MLP(2 + 16, 2, hidden=(hidden, hidden, hidden), rngs=rngs)

  def __call__(self, x, t):
    freqs = jnp.exp(-jnp.log(1000.0) * jnp.arange(8) / 8)
    emb = t.astype(jnp.float32)[:, None] * freqs
    return self.net(jnp.concatenate([x, jnp.sin(emb), jnp.cos(emb)], -1))

def train_diffusion(prediction_type, steps=600 if FAST else 1500, bs=256, seed=SEED):
  gdef, params = nnx.split(TinyDenoiser(rngs=nnx.Rngs(seed)))
  opt = optax.adam(2e-3)

  def loss(p, key):
    k1, k2, k3 = jax.random.split(key, 3)
    x0, noise = sample_ring(k1, bs), jax.random.normal(k2, (bs, 2))
    t = jax.random.randint(k3, (bs,), 0, TT)
    x_t = jaxloss.q_sample(x0, noise, t, ac)
    pred = nnx.merge(gdef, p)(x_t, t)
    return jaxloss.diffusion_loss(pred, x0, noise, t, alphas_cumprod=ac, prediction_type=prediction_type)

  @jax.jit
  def run(params):
    def step(carry, key):
      p, s = carry
      l, g = jax.value_and_grad(loss)(p, key)
      u, s = opt.update(g, s, p)
      return (optax.apply_updates(p, u), s), l
    return jax.lax.scan(step, (params, opt.init(params)), jax.random.split(jax.random.key(seed), steps))

  (params, _), losses = run(params)
  model = nnx.merge(gdef, params)

  @jax.jit
  def ddim(x):
    def body(x, t):
      tt = jnp.full((x.shape[0],), t)
      out = model(x, tt)
      x0 = jaxloss.convert_prediction(out, x, tt, ac, source=prediction_type, target="x0")
      eps = jaxloss.convert_prediction(out, x, tt, ac, source=prediction_type, target="epsilon")
      a_prev = jnp.where(t > 0, ac[jnp.maximum(t - 1, 0)], 1.0)
      return jnp.sqrt(a_prev) * x0 + jnp.sqrt(1 - a_prev) * eps, None
    return jax.lax.scan(body, x, jnp.arange(TT - 1, -1, -1))[0]

  return ddim(jax.random.normal(jax.random.key(1000 + seed), (2000, 2))), np.asarray(losses)

diff_samples, diff_stats = {}, {}
for ptype in ("epsilon", "v"):
  t = time.perf_counter(); diff_samples[ptype], _ = train_diffusion(ptype)
  diff_stats[ptype] = mode_stats(diff_samples[ptype])
  print(f"{ptype:8s}-prediction: modes covered {diff_stats[ptype][0]}/8, high-quality samples {diff_stats[ptype][1]:.0%} ({time.perf_counter() - t:.1f} s)")

# %% [markdown]
# **DDIM samples** of the two models. The v-model covered all eight modes at every seed we tried
# (0-4); the ε-model's samples are smeared along the ring and off it — the error made in the
# first, high-noise sampling steps — and it covered only 5-8 of the modes, while the v-model's
# samples stay on the modes.

# %%
fig, axes = plt.subplots(1, 2, figsize=(6, 3))
for a, (ptype, s) in zip(axes, diff_samples.items()):
  s = np.asarray(s)
  a.scatter(s[:, 0], s[:, 1], s=1, alpha=0.4); a.scatter(MODES[:, 0], MODES[:, 1], c="r", s=12, marker="x")
  a.set(xlim=(-3, 3), ylim=(-3, 3), title=f"{ptype}-prediction: {diff_stats[ptype][1]:.0%} HQ")
  a.set_xticks([]); a.set_yticks([])
plt.tight_layout(); plt.show()

# %% [markdown]
# ## Checks
# The best GAN objective covers at least 4 of the 8 modes and every objective at least 2 — one
# mode below the worst of seeds 0-4, since mode counts of a chaotic GAN are not reproducible
# across machines; the VAE's reconstruction error grows with β while its number of active latent
# dimensions shrinks; the v-prediction diffusion model covers at least 7 modes and has at least 5
# points more high-quality samples than ε-prediction. With `JAXLOSS_NB_FAST=1` (GAN 800 steps,
# VAE 150, diffusion 600) the GAN bounds are 3 and 1.

# %%
modes = [v[0] for v in gan_stats.values()]
print("ASSERTED:", {**{f"GAN modes {k}": v[0] for k, v in gan_stats.items()}, **{f"GAN HQ {k}": round(v[1], 4) for k, v in gan_stats.items()},
                    **{f"VAE MSE beta={b}": round(r[1], 4) for b, r in vae_res.items()}, **{f"VAE active beta={b}": r[2] for b, r in vae_res.items()},
                    **{f"diffusion modes {k}": v[0] for k, v in diff_stats.items()}, "diffusion HQ v - eps": round(diff_stats["v"][1] - diff_stats["epsilon"][1], 4)})
# trained outcomes: each held at seeds 0-4 on jax 0.10.2 (full size / fast mode), worst seed noted
# GAN, best / worst objective: worst seed 5 / 3 modes full (5-6 / 3-4), 4 / 2 fast (4 / 2-3)
assert max(modes) >= (3 if FAST else 4) and min(modes) >= (1 if FAST else 2), gan_stats
b_lo, b_mid, b_hi = vae_res[0.1], vae_res[1.0], vae_res[8.0]
# test MSE at beta 0.1 / 1 / 8: 0.058-0.062 / 0.123-0.135 / 0.359-0.376 full, 0.072-0.076 / 0.141-0.155 / 0.454-0.468 fast
assert b_lo[1] < b_mid[1] < b_hi[1], "reconstruction error grows with beta"
assert b_hi[2] < b_lo[2], "fewer active latent dimensions at large beta"  # 0 vs 8 at every seed, both modes
# v-prediction: 8 modes at every seed (ε: 5-8 full, 3-6 fast); HQ gain: worst 0.32 full (0.32-0.67), 0.13 fast (0.13-0.28)
assert diff_stats["v"][0] >= 7, diff_stats
assert diff_stats["v"][1] > diff_stats["epsilon"][1] + 0.05, diff_stats
print(f"all checks passed in {time.perf_counter() - T0:.1f} s ({time.process_time():.0f} s CPU in this kernel)")
