"""Cases of the generative losses: example inputs, edge cases, bad inputs and contract flags."""

import functools

import jax
import jax.numpy as jnp

import jaxloss
from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case
from jaxloss.generative import GAN_KINDS

# --------------------------------------------------------------------------
# Variational.
# --------------------------------------------------------------------------


def _kl_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 4)), ex.normal(k2, (8, 4), 0.5)), {}


def _kl_edges(key):
  (m, lv), _ = _kl_example(key)
  z = jnp.zeros_like(m)
  return [((z, z), {}),                                               # posterior == prior
          ((m, lv), {"prior_mean": m, "prior_log_var": lv}),          # identical Gaussians
          ((m * 100.0, lv * 40.0), {}),                               # far and very (un)sure
          ((m, lv), {"prior_mean": z + 1.0, "prior_log_var": z - 20.0})]


case("gaussian_kl", _kl_example, edge_cases=_kl_edges, grad_argnums=(0, 1))


def _vae_example(key):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  x = jax.random.bernoulli(k1, 0.4, (6, 3, 3)).astype(jnp.float32)
  return ((ex.normal(k2, (6, 3, 3), 2.0), x, ex.normal(k3, (6, 2)), ex.normal(k4, (6, 2), 0.5)),
          {})


def _vae_edges(key):
  (lg, x, m, lv), kw = _vae_example(key)
  z = jnp.zeros_like(m)
  return [((lg * 1e4, x, z, z), kw),
          ((x, x, m, lv), {**kw, "likelihood": "gaussian", "free_bits": 0.5, "kl_weight": 4.0}),
          ((lg, x, z, z), {**kw, "free_bits": 0.1})]


case("vae_loss", _vae_example, edge_cases=_vae_edges, grad_argnums=(0, 2, 3), per_example=False,
     # With free_bits=0 (the example's) the total is the weighted sum of the raw parts.
     components_total=lambda parts, kw: (parts["reconstruction"]
                                         + kw.get("kl_weight", 1.0) * parts["kl"]))

# --------------------------------------------------------------------------
# Adversarial.
# --------------------------------------------------------------------------


def _gan_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8,), 2.0) + 1.0, ex.normal(k2, (8,), 2.0) - 1.0), {}


def _gan_edges(key):
  r, f = _gan_example(key)[0]
  # Saturated logits (and exact zeros for the piecewise kinds' kinks).
  return ([((r * 1e4, f * 1e4), {"kind": kind}) for kind in GAN_KINDS]
          + [((jnp.zeros(8), jnp.zeros(8)), {"kind": "hinge"})])


case("gan_discriminator_loss", _gan_example, edge_cases=_gan_edges, grad_argnums=(0, 1))


def _gen_example(key):
  (r, f), _ = _gan_example(key)
  return (f,), {"real_logits": r}


def _gen_edges(key):
  (r, f), _ = _gan_example(key)
  return [((f * 1e4,), {"real_logits": r * 1e4, "kind": kind}) for kind in GAN_KINDS]


def _gen_bad(key):
  (f,), kw = _gen_example(key)
  return (f,), {"real_logits": kw["real_logits"][:-1], "kind": "relativistic_average"}


case("gan_generator_loss", _gen_example, edge_cases=_gen_edges, bad_input=_gen_bad)


def _toy_critic(params, x):
  """A tiny per-example critic: ``[B, D] -> [B]`` (static: one object for every call)."""
  return jnp.tanh(x @ params["w"]) @ params["v"]


def _flat_critic(params, x):
  """A critic whose input gradient is exactly zero (the norm-0 edge case)."""
  return jnp.sum(x * 0.0, axis=-1) + params["v"][0]


def _critic_params(key, d=4, h=6):
  k1, k2 = jax.random.split(key)
  return {"w": ex.normal(k1, (d, h), 0.5), "v": ex.normal(k2, (h,))}


def _gp_example(key):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  return ((ex.normal(k1, (8, 4)), ex.normal(k2, (8, 4))),
          {"discriminator_fn": _toy_critic, "key": k3, "params": _critic_params(k4)})


def _gp_edges(key):
  args, kw = _gp_example(key)
  return [(args, {**kw, "discriminator_fn": _flat_critic}),    # zero input gradient
          ((args[0], args[0]), kw)]                            # identical real and fake


case("gradient_penalty", _gp_example, edge_cases=_gp_edges, grad_argnums=(0, 1),
     per_example=False)


def _r_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 4)),), {"discriminator_fn": _toy_critic,
                                    "params": _critic_params(k2)}


def _r_edges(key):
  args, kw = _r_example(key)
  return [(args, {**kw, "discriminator_fn": _flat_critic}), ((args[0] * 1e3,), kw)]


def _r_bad(key):
  args, kw = _r_example(key)
  return (args[0][0, 0],), kw


for _name in ("r1_penalty", "r2_penalty"):
  case(_name, _r_example, edge_cases=_r_edges, bad_input=_r_bad, grad_argnums=(0,),
       per_example=False)


def _fm_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 5)), ex.normal(k2, (8, 5)) + 0.5), {}


def _fm_edges(key):
  (f, r), _ = _fm_example(key)
  return [((r, r), {}), (([f, f[:, :2]], [r, r[:, :2]]), {"distance": "l1"})]


case("feature_matching_loss", _fm_example, edge_cases=_fm_edges, per_example=False)

# --------------------------------------------------------------------------
# Pixel and feature space.
# --------------------------------------------------------------------------


def _image_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.uniform(k1, (4, 5, 5, 3)), ex.uniform(k2, (4, 5, 5, 3))), {}


def _image_edges(key):
  (p, t), _ = _image_example(key)
  return [((t, t), {}), ((jnp.zeros_like(p), jnp.zeros_like(t)), {}), ((p * 1e3, t), {})]


for _name in ("cycle_consistency_loss", "reconstruction_loss"):
  case(_name, _image_example, edge_cases=_image_edges, grad_argnums=(0, 1))

for _name in ("perceptual_loss", "style_loss"):
  case(_name, _image_example, edge_cases=_image_edges, grad_argnums=(0, 1), per_example=False)


def _small_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.uniform(k1, (3, 3, 3, 2)), ex.uniform(k2, (3, 3, 3, 2))), {}


def _small_edges(key):
  (p, t), _ = _small_example(key)
  return [((t, t), {}), ((jnp.zeros_like(p), jnp.zeros_like(t)), {})]


case("contextual_loss", _small_example, edge_cases=_small_edges, grad_argnums=(0, 1),
     per_example=False)


def _tim_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 16)), ex.normal(k2, (8, 16))), {}


def _tim_edges(key):
  (a, b), _ = _tim_example(key)
  return [((a, a), {}), ((a * 1e3, b), {"temperature": 0.01}), ((jnp.zeros_like(a), b), {})]


case("text_image_matching_loss", _tim_example, edge_cases=_tim_edges, per_example=False)

# --------------------------------------------------------------------------
# Diffusion.
# --------------------------------------------------------------------------


@functools.cache
def _example_schedule():
  return jaxloss.cosine_schedule(50).alphas_cumprod


def _diff_example(key):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  x0 = ex.normal(k1, (6, 4, 2))
  return ((ex.normal(k2, (6, 4, 2)), x0, ex.normal(k3, (6, 4, 2)),
           jax.random.randint(k4, (6,), 0, 50)),
          {"alphas_cumprod": _example_schedule(), "weighting": "min_snr"})


def _diff_edges(key):
  (p, x0, n, t), kw = _diff_example(key)
  ends = jnp.array([0, 49, 0, 49, 0, 49])
  out = []
  for pt in ("epsilon", "x0", "v"):
    out.append(((p, x0, n, ends), {**kw, "prediction_type": pt}))
    out.append(((n, x0, n, t), {**kw, "prediction_type": pt, "weighting": None}))
  return out


case("diffusion_loss", _diff_example, edge_cases=_diff_edges, per_example=False)

# --------------------------------------------------------------------------
# Flow matching and EDM.
# --------------------------------------------------------------------------


def _flow_example(key):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  return ((ex.normal(k1, (6, 4, 2)), ex.normal(k2, (6, 4, 2)), ex.normal(k3, (6, 4, 2)),
           ex.uniform(k4, (6,), 0.05, 0.95)), {"weighting": "cosmap"})


def _flow_edges(key):
  (p, x0, n, _), kw = _flow_example(key)
  ends = jnp.array([0.0, 1.0, 0.0, 1.0, 1e-7, 1.0 - 1e-7])
  out = []
  for path in ("rectified", "cosine", "vp"):
    for weighting in (None, "sigma_sqrt", "cosmap"):
      out.append(((p, x0, n, ends), {"path": path, "weighting": weighting}))
  out.append(((n - x0, x0, n, ends), {}))     # perfect rectified-flow prediction
  return out


def _flow_bad(key):
  (p, x0, n, t), kw = _flow_example(key)
  return (p, x0, n, t[:-1]), kw


case("flow_matching_loss", _flow_example, edge_cases=_flow_edges, bad_input=_flow_bad,
     grad_argnums=(0, 1, 2), per_example=False)   # x0 is [B, ...] with one t per example


def _edm_example(key):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  return ((ex.normal(k1, (6, 4, 2)), ex.normal(k2, (6, 4, 2)), ex.normal(k3, (6, 4, 2)),
           jaxloss.sample_edm_sigmas(k4, 6)), {})


def _edm_edges(key):
  (p, x0, n, _), kw = _edm_example(key)
  sig = jnp.array([1e-4, 1e-3, 0.5, 80.0, 1e3, 1e4])
  return [((p, x0, n, sig), {}), ((p, x0, n, sig), {"prediction_type": "x0"}),
          ((x0, x0, n, sig), {"prediction_type": "x0"}),
          ((p * 0.0, x0 * 0.0, n * 0.0, sig), {"sigma_data": 1e-3})]


def _edm_bad(key):
  (p, x0, n, s), kw = _edm_example(key)
  return (p, x0, n, s[:-1]), kw


case("edm_loss", _edm_example, edge_cases=_edm_edges, bad_input=_edm_bad,
     grad_argnums=(0, 1, 2), per_example=False)   # x0 is [B, ...] with one sigma per example
