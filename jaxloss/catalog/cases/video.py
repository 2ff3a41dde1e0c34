"""Cases of the video losses: example inputs, edge cases, bad inputs and contract flags."""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case
from jaxloss.regression import huber_loss

# --------------------------------------------------------------------------
# Optical flow.
# --------------------------------------------------------------------------


def _frames(key, shape=(2, 8, 10, 3), scale=1.5):
  k1, k2, k3 = jax.random.split(key, 3)
  a = ex.uniform(k1, shape)
  b = jnp.clip(a + 0.1 * ex.normal(k2, shape), 0.0, 1.0)
  return a, b, ex.normal(k3, shape[:-1] + (2,), scale)


def _photo_example(key):
  # "ssim_l1", the compound penalty, so that the contract also checks its parts.
  return _frames(key), {"penalty": "ssim_l1"}


def _photo_edges(key):
  a, b, f = _frames(key)
  far = 1e4 * jnp.sign(f)
  integer = jnp.round(f)
  return [((a, b, far), {}),                                   # every sample outside
          ((a, b, f), {}),                                     # the default penalty, L1
          ((a, a, integer), {"penalty": "charbonnier"}),       # exact integer coordinates
          ((a, b, f), {"penalty": "ssim_l1", "occlusion": "fb", "flow_bw": -f})]


def _photo_bad(key):
  a, b, f = _frames(key)
  return (a, b, f[..., :1]), {}


case("photometric_loss", _photo_example, edge_cases=_photo_edges, grad_argnums=(0, 1, 2),
     bad_input=_photo_bad,
     components_total=lambda parts, kw: (kw.get("ssim_weight", 0.85) * parts["ssim"]
                                         + kw.get("l1_weight", 0.15) * parts["l1"]))


def _smooth_example(key):
  _, _, f = _frames(key)
  return (f,), {}


def _smooth_edges(key):
  a, _, f = _frames(key)
  return [((jnp.zeros_like(f),), {"image": a}),               # constant flow: 0, kink of |.|
          ((1e4 * f,), {"image": a, "order": 2, "edge_weight": 150.0})]


def _smooth_bad(key):
  a, _, f = _frames(key)
  return (f,), {"image": a[..., :-1, :, :]}


case("flow_smoothness_loss", _smooth_example, edge_cases=_smooth_edges, bad_input=_smooth_bad)


def _temporal_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  shape = (2, 8, 10, 1)
  p = jax.nn.sigmoid(ex.normal(k1, shape, 2.0))
  q = jax.nn.sigmoid(ex.normal(k2, shape, 2.0))
  return (p, q, ex.normal(k3, shape[:-1] + (2,), 1.5)), {}


def _temporal_edges(key):
  (p, q, f), _ = _temporal_example(key)
  return [((p, q, 1e4 * jnp.sign(f)), {}),
          ((p, p, jnp.round(f)), {"penalty": "charbonnier"})]


def _temporal_bad(key):
  (p, q, f), _ = _temporal_example(key)
  return (p, q, f[..., :1]), {}


case("temporal_consistency_loss", _temporal_example, edge_cases=_temporal_edges,
     grad_argnums=(0, 1, 2), bad_input=_temporal_bad)

# --------------------------------------------------------------------------
# Iterative refinement.
# --------------------------------------------------------------------------


def _seq_example(key):
  k1, k2 = jax.random.split(key)
  targets = ex.normal(k1, (2, 6, 6, 2), 3.0)
  preds = targets[None] + ex.normal(k2, (3, 2, 6, 6, 2))
  return (preds, targets), {}


def _seq_edges(key):
  (preds, targets), _ = _seq_example(key)
  return [((jnp.broadcast_to(targets, preds.shape), targets), {}),   # converged: |.| kink
          ((preds * 1e4, targets), {"gamma": 1.0, "loss_fn": huber_loss})]


case("sequence_loss", _seq_example, edge_cases=_seq_edges, per_example=False)

# --------------------------------------------------------------------------
# Attention maps.
# --------------------------------------------------------------------------


def _attn_example(key):
  k1, k2 = jax.random.split(key)
  attn = ex.normal(k1, (4, 3, 16), 2.0)                       # (batch, heads, patches)
  mask = jax.random.bernoulli(k2, 0.3, (4, 3, 16)).astype(jnp.float32)
  return (attn, mask), {}


def _attn_edges(key):
  (a, t), _ = _attn_example(key)
  probs = jax.nn.softmax(a, -1)
  return [((a * 1e4, t), {}),                                  # saturated logits
          ((a, jnp.zeros_like(t)), {}),                        # empty target
          ((probs.at[..., 0].set(0.0), t), {"activation": None, "divergence": "mse"})]


case("attention_target_loss", _attn_example, edge_cases=_attn_edges)


def _rank_example(key):
  k1, k2 = jax.random.split(key)
  teacher = jax.nn.softmax(ex.normal(k1, (4, 3, 10), 2.0), -1)
  student = teacher + 0.05 * ex.normal(k2, teacher.shape)
  return (student, teacher), {"margin": 0.01}


def _rank_edges(key):
  (s, t), kw = _rank_example(key)
  return [((t, t), {}),                                         # same order, margin 0: 0
          ((s, jnp.full_like(t, 0.1)), kw)]                     # all ties: no pairs


case("rank_preservation_loss", _rank_example, edge_cases=_rank_edges)
