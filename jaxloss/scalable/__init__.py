"""Scalable losses: memory-efficient large-vocabulary cross-entropy and sharded losses.

Two kinds of scalability (survey: "Interpretability and Scalability of Loss
Functions"; user-pitfalls section 3):

* **Memory.** :func:`linear_cross_entropy` computes the cross-entropy of
  ``hidden @ weight.T (+ bias)`` in token tiles x vocabulary chunks with an
  online log-sum-exp, so the ``(N, V)`` logits never exist; its
  ``custom_vjp`` recomputes each block of logits in the backward pass
  (temporary memory about ``max_temp_bytes``, default 16 MiB, instead of
  ``O(N * V)``).
  :func:`chunked_cross_entropy` runs the same online algorithm over logits
  that already exist, with a backward pass that writes the gradient in one
  fused elementwise pass (no extra ``N x V`` buffers). The same token x
  vocabulary tiling (one internal engine, ``_tiling``) gives the fused
  linear-head versions of distillation and preference losses:
  :func:`linear_distillation_loss` (Hinton KD of two LM heads, two online
  log-sum-exps and the teacher-weighted cross term),
  :func:`linear_generalized_jsd_loss` (GKD; two vocabulary passes per token
  tile) and :func:`linear_dpo_loss` (DPO and TRL's variants from the
  policy's hidden states; completion log-probabilities through
  :func:`linear_cross_entropy`).
* **Devices.** Losses whose value depends on the whole batch give the
  *global* answer when the batch is sharded over a :class:`jax.sharding.Mesh`
  axis: :func:`sharded_clip_loss` (all-gather of the other devices'
  embeddings, "local loss" of OpenCLIP), :func:`sharded_siglip_loss` (ring
  exchange of text chunks with ``ppermute``, as in the SigLIP paper),
  :func:`sharded_dice_loss` / :func:`sharded_tversky_loss` (batch statistics
  summed with ``psum``), and :func:`global_masked_mean` for use inside a
  user's own ``shard_map``. Plain per-example losses (``jaxloss.mse`` ...)
  need nothing special: under :func:`jax.jit` with sharded inputs XLA inserts
  the collectives for the reduction.

Conventions: integer ``labels`` hold class ids with torch's
``ignore_index=-100`` (the cross-entropies; the sharded region losses take
``ignore_index=None``, as :func:`jaxloss.dice_loss`); excluded rows
(``ignore_index`` or ``where=False``) contribute nothing and leave the
``"mean"`` denominator, and a NaN in them reaches neither value nor gradient. bfloat16/float16
inputs are computed and accumulated in float32 and return float32.
"""

from jaxloss.scalable.chunked import chunked_cross_entropy, linear_cross_entropy
from jaxloss.scalable.fused import (
    linear_distillation_loss,
    linear_dpo_loss,
    linear_generalized_jsd_loss,
)
from jaxloss.scalable.sharded import (
    global_masked_mean,
    sharded_clip_loss,
    sharded_dice_loss,
    sharded_siglip_loss,
    sharded_tversky_loss,
)

__all__ = [
    "chunked_cross_entropy",
    "global_masked_mean",
    "linear_cross_entropy",
    "linear_distillation_loss",
    "linear_dpo_loss",
    "linear_generalized_jsd_loss",
    "sharded_clip_loss",
    "sharded_dice_loss",
    "sharded_siglip_loss",
    "sharded_tversky_loss",
]
