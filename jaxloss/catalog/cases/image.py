"""Cases of the image losses: example inputs, edge cases, bad inputs and contract flags."""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case


def _images_example(key, shape=(3, 24, 20, 2)):
  k1, k2 = jax.random.split(key)
  t = ex.uniform(k1, shape)
  p = jnp.clip(t + 0.2 * ex.normal(k2, shape), 0.0, 1.0)
  return p, t


# --------------------------------------------------------------------------
# SSIM and PSNR.
# --------------------------------------------------------------------------


def _ssim_example(key):
  p, t = _images_example(key)
  return (p, t), {"data_range": 1.0}


def _ssim_edges(key):
  p, t = _images_example(key)
  kw = {"data_range": 1.0}
  return [((t, t), kw),                                        # identical
          ((jnp.zeros_like(t), jnp.zeros_like(t)), kw),        # constant, zero variance
          ((jnp.full_like(t, 0.5), t), kw),                    # one constant image
          ((1.0 - t, t), kw),                                  # negative structure
          ((t + 1e-7, t), kw),                                 # round-off level difference
          ((255.0 * p, 255.0 * t), {"data_range": 255.0}),
          ((p, t), {"data_range": 1.0, "padding": "same"})]


for _name in ("ssim", "ssim_loss"):
  case(_name, _ssim_example, edge_cases=_ssim_edges, grad_argnums=(0, 1))


def _psnr_edges(key):
  p, t = _images_example(key)
  kw = {"data_range": 1.0}
  return [((t, t), kw), ((t + 1e-7, t), kw), ((255.0 * p, 255.0 * t), {"data_range": 255.0})]


for _name in ("psnr", "psnr_loss"):
  case(_name, _ssim_example, edge_cases=_psnr_edges, grad_argnums=(0, 1))

# --------------------------------------------------------------------------
# MS-SSIM and the MS-SSIM + L1 mix.
# --------------------------------------------------------------------------

# Three scales keep the example small (the contract tests compile it many
# times); tests/test_image.py covers the default five scales.
_MS_EXAMPLE_SCALES = (0.2, 0.3, 0.5)


def _ms_example(key):
  p, t = _images_example(key, (2, 45, 50, 1))
  return (p, t), {"data_range": 1.0, "scale_weights": _MS_EXAMPLE_SCALES}


def _ms_edges(key):
  p, t = _images_example(key, (2, 45, 50, 1))
  kw = {"data_range": 1.0, "scale_weights": _MS_EXAMPLE_SCALES}
  return [((t, t), kw), ((jnp.zeros_like(t), jnp.zeros_like(t)), kw),
          ((1.0 - t, t), kw), ((t + 1e-7, t), kw),
          ((jnp.full_like(t, 0.5), t), kw)]


def _ms_bad(key):
  p, t = _images_example(key, (2, 64, 64, 1))  # too small for the default 5 scales
  return (p, t), {"data_range": 1.0}


for _name in ("ms_ssim", "ms_ssim_loss"):
  case(_name, _ms_example, edge_cases=_ms_edges, bad_input=_ms_bad, grad_argnums=(0, 1))

case("l1_ssim_loss", _ms_example, edge_cases=_ms_edges, bad_input=_ms_bad, grad_argnums=(0, 1),
     components_total=lambda parts, kw: (kw.get("ssim_weight", 0.84) * parts["ssim"]
                                         + kw.get("l1_weight", 0.16) * parts["l1"]))

# --------------------------------------------------------------------------
# Smoothness, gradients, spectrum.
# --------------------------------------------------------------------------


def _single_example(key):
  return (ex.uniform(key, (3, 12, 10, 2)),), {}


def _single_edges(key):
  x = ex.uniform(key, (3, 12, 10, 2))
  return [((jnp.zeros_like(x),), {}),                       # constant: sqrt at 0
          ((jnp.zeros_like(x),), {"mode": "isotropic"}),
          ((x,), {"mode": "isotropic"}),
          ((x * 1e4,), {"mode": "isotropic", "normalize": True})]


def _single_bad(key):
  return (ex.uniform(key, (12, 10)),), {}


case("total_variation_loss", _single_example, edge_cases=_single_edges, bad_input=_single_bad)


def _grad_example(key):
  p, t = _images_example(key, (3, 12, 10, 2))
  return (p, t), {}


def _grad_edges(key):
  p, t = _images_example(key, (3, 12, 10, 2))
  return [((t, t), {}), ((p + 5.0, p), {}), ((p * 1e4, t), {})]


case("gradient_loss", _grad_example, edge_cases=_grad_edges, grad_argnums=(0, 1))


def _ffl_example(key):
  p, t = _images_example(key, (3, 8, 12, 2))
  return (p, t), {}


def _ffl_edges(key):
  p, t = _images_example(key, (3, 8, 12, 2))
  return [((t, t), {}), ((p, t), {"patch_factor": 2, "log_matrix": True}),
          ((p, t), {"alpha": 0.0}), ((t, t), {"batch_matrix": True}),
          ((p * 1e3, t), {"alpha": 2.0})]


case("focal_frequency_loss", _ffl_example, edge_cases=_ffl_edges, grad_argnums=(0, 1))

# --------------------------------------------------------------------------
# Inpainting.
# --------------------------------------------------------------------------


def _inpaint_example(key):
  k1, k2 = jax.random.split(key)
  p, t = _images_example(k1, (3, 12, 10, 3))
  mask = jax.random.bernoulli(k2, 0.7, (3, 12, 10, 1)).astype(jnp.float32)
  return (p, t, mask), {}


def _inpaint_edges(key):
  (p, t, m), _ = _inpaint_example(key)
  return [((t, t, m), {}), ((p, t, jnp.zeros_like(m)), {}), ((p, t, jnp.ones_like(m)), {}),
          ((p, t, m[..., 0] > 0.5), {"hole_weight": 0.0})]


case("masked_reconstruction_loss", _inpaint_example, edge_cases=_inpaint_edges,
     grad_argnums=(0,),
     components_total=lambda parts, kw: (kw.get("hole_weight", 6.0) * parts["hole"]
                                         + kw.get("valid_weight", 1.0) * parts["valid"]))

# --------------------------------------------------------------------------
# Full-reference image quality (piq): GMSD, MS-GMSD, MDSI, HaarPSI, VIF.
# --------------------------------------------------------------------------


def _iqa_example(key, shape=(2, 20, 18, 3)):
  p, t = _images_example(key, shape)
  return (p, t), {}


def _iqa_edges(key, shape=(2, 20, 18, 3), **kw):
  p, t = _images_example(key, shape)
  return [((t, t), kw),                                        # identical
          ((jnp.zeros_like(t), jnp.zeros_like(t)), kw),        # flat, zero gradients
          ((jnp.full_like(t, 0.5), t), kw),                    # one flat image
          ((1.0 - t, t), kw),                                  # inverted
          ((t + 1e-7, t), kw),                                 # round-off level difference
          ((255.0 * p, 255.0 * t), {**kw, "data_range": 255.0})]


def _iqa_bad_channels(key, shape=(2, 20, 18, 2)):
  p, t = _images_example(key, shape)  # two channels: neither grey nor RGB
  return (p, t), {}


case("gmsd_loss", _iqa_example, edge_cases=_iqa_edges, bad_input=_iqa_bad_channels,
     grad_argnums=(0, 1))


def _ms_gmsd_edges(key):
  p, t = _images_example(key, (2, 20, 18, 3))
  return _iqa_edges(key) + [((p, t), {"chromatic": True}), ((t, t), {"chromatic": True}),
                            ((p[..., :1], t[..., :1]), {"scale_weights": (1.0, 2.0)})]


def _ms_gmsd_bad(key):
  p, t = _images_example(key, (2, 16, 18, 3))  # needs H, W >= 17 for 4 scales
  return (p, t), {}


case("ms_gmsd_loss", _iqa_example, edge_cases=_ms_gmsd_edges, bad_input=_ms_gmsd_bad,
     grad_argnums=(0, 1))


def _mdsi_edges(key):
  p, t = _images_example(key, (2, 20, 18, 3))
  return _iqa_edges(key) + [((p, t), {"combination": "mult"}), ((t, t), {"combination": "mult"}),
                            ((p[..., :1], t[..., :1]), {"rho": 2.0})]


case("mdsi_loss", _iqa_example, edge_cases=_mdsi_edges, bad_input=_iqa_bad_channels,
     grad_argnums=(0, 1))


def _haarpsi_edges(key):
  p, t = _images_example(key, (2, 20, 18, 3))
  return _iqa_edges(key) + [((p, t), {"subsample": False}),
                            ((p[..., :1], t[..., :1]), {"c": 5.0, "alpha": 2.0})]


def _haarpsi_bad(key):
  p, t = _images_example(key, (2, 15, 18, 3))  # needs H, W >= 16
  return (p, t), {}


case("haarpsi_loss", _iqa_example, edge_cases=_haarpsi_edges, bad_input=_haarpsi_bad,
     grad_argnums=(0, 1))

_VIF_SHAPE = (2, 41, 44, 3)


def _vif_example(key):
  return _iqa_example(key, _VIF_SHAPE)


def _vif_edges(key):
  p, t = _images_example(key, _VIF_SHAPE)
  return _iqa_edges(key, _VIF_SHAPE) + [((t, p), {"sigma_n_sq": 0.5}),
                                        ((1.5 * t, t), {}),         # contrast up: VIF > 1
                                        ((p[..., :1], t[..., :1]), {})]


def _vif_bad(key):
  p, t = _images_example(key, (2, 40, 44, 3))  # needs H, W >= 41
  return (p, t), {}


case("vif_loss", _vif_example, edge_cases=_vif_edges, bad_input=_vif_bad, grad_argnums=(0, 1))


def _fsim_edges(key):
  p, t = _images_example(key, (2, 20, 18, 3))
  return _iqa_edges(key) + [((p[..., :1], t[..., :1]), {"chromatic": False}),
                            ((p, t), {"scales": 2, "orientations": 3, "k": 0.5})]


def _fsim_bad(key):
  p, t = _images_example(key, (2, 20, 18, 1))  # greyscale with the default chromatic=True
  return (p, t), {}


case("fsim_loss", _iqa_example, edge_cases=_fsim_edges, bad_input=_fsim_bad, grad_argnums=(0, 1))


# --------------------------------------------------------------------------
# LPIPS (random backbone and heads: the contract is about the computation).
# --------------------------------------------------------------------------


def _lpips_example(key):
  from jaxloss.image.lpips import random_lpips_params

  k1, k2 = jax.random.split(key)
  p, t = _images_example(k1, (2, 32, 32, 3))
  return (p, t), {"params": random_lpips_params(k2), "normalize": True}


def _lpips_edges(key):
  (p, t), kw = _lpips_example(key)
  return [((t, t), kw),                                           # identical: exactly 0
          ((jnp.zeros_like(t), jnp.ones_like(t)), kw),            # saturated
          ((jnp.zeros_like(t), jnp.zeros_like(t)), kw),           # constant, identical
          ((2.0 * p - 1.0, 2.0 * t - 1.0), {**kw, "normalize": False}),
          ((t + 1e-7, t), kw)]


def _lpips_bad(key):
  (p, t), kw = _lpips_example(key)
  return (p[:, :16, :16], t[:, :16, :16]), kw   # below AlexNet's 31 x 31


case("lpips_loss", _lpips_example, edge_cases=_lpips_edges, bad_input=_lpips_bad,
     grad_argnums=(0, 1))
