"""Metric-learning and contrastive losses: pairs, triplets, mined batches.

The family is a package; every public name is re-exported here:
:mod:`~jaxloss.embedding.pairs` (pairs, triplets, batch triplet mining, re-ID),
:mod:`~jaxloss.embedding.mined` (lifted structure, multi-similarity, circle,
N-pair, proxy-anchor), :mod:`~jaxloss.embedding.contrastive` (InfoNCE,
NT-Xent, SupCon, CLIP, SigLIP), :mod:`~jaxloss.embedding.heads` (ArcFace,
sub-center ArcFace, CosFace, SphereFace, centre loss),
:mod:`~jaxloss.embedding.proxies` (ProxyNCA, SoftTriple),
:mod:`~jaxloss.embedding.average_precision` (FastAP, Smooth-AP),
:mod:`~jaxloss.embedding.ranking`
(RankNet, ListNet, ListMLE) and :mod:`~jaxloss.embedding.retrieval`
(sentence-transformers' MNRL, CoSENT, MarginMSE, Matryoshka).

Conventions:

* Pair/triplet losses over explicit tuples (``contrastive_loss``,
  ``triplet_margin_loss``, ``margin_ranking_loss``, ``hinge_embedding_loss``)
  are per-example: the unreduced loss has one entry per pair/triplet.
* Batch losses (``triplet_loss``, ``circle_loss``, ``multi_similarity_loss``,
  ...) take ``embeddings [N, D]`` and integer ``labels [N]`` and build every
  positive/negative relation from ONE pairwise distance or similarity matrix
  with boolean masks -- no Python loop over the batch, so they jit to a few
  matrix products. They are *set-level* (``per_example=False`` in the
  catalog): an anchor's loss depends on the whole batch. Their unreduced loss
  is one value per anchor, ``"mean"`` averages over the anchors that have the
  relations the loss needs (a positive and/or a negative), and a batch with no
  valid anchor gives 0 with a zero gradient (never 0/0).
* ``where [N]`` on a batch loss removes samples from the batch entirely (as
  anchors, positives and negatives); a NaN in a removed row cannot reach the
  value or gradient.
* ``normalize=True`` L2-normalises embeddings first, as every
  pytorch-metric-learning distance does by default.
* Distances come from the Gram matrix with a clamped, safe square root: the
  gradient is finite (zero) at identical embeddings, where ``jnp.linalg.norm``
  gives NaN.
* bfloat16/float16 inputs are computed in float32 and return float32.
"""

from jaxloss.embedding._common import pairwise_distances
from jaxloss.embedding.average_precision import fast_ap_loss, smooth_ap_loss
from jaxloss.embedding.contrastive import (
    clip_loss,
    infonce_loss,
    nt_xent_loss,
    siglip_loss,
    supcon_loss,
)
from jaxloss.embedding.heads import (
    arcface_loss,
    center_loss,
    cosface_loss,
    sphereface_loss,
    subcenter_arcface_loss,
    update_centers,
)
from jaxloss.embedding.mined import (
    circle_loss,
    lifted_structure_loss,
    multi_similarity_loss,
    npair_loss,
    proxy_anchor_loss,
)
from jaxloss.embedding.pairs import (
    contrastive_loss,
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    reid_loss,
    triplet_loss,
    triplet_margin_loss,
)
from jaxloss.embedding.proxies import proxy_nca_loss, soft_triple_loss
from jaxloss.embedding.ranking import listmle_loss, listnet_loss, ranknet_loss
from jaxloss.embedding.retrieval import (
    cosent_loss,
    gist_loss,
    margin_mse_loss,
    matryoshka_loss,
    multiple_negatives_ranking_loss,
)

__all__ = [
    "arcface_loss",
    "center_loss",
    "circle_loss",
    "clip_loss",
    "contrastive_loss",
    "cosent_loss",
    "gist_loss",
    "cosface_loss",
    "cosine_embedding_loss",
    "fast_ap_loss",
    "hinge_embedding_loss",
    "infonce_loss",
    "lifted_structure_loss",
    "listmle_loss",
    "listnet_loss",
    "margin_mse_loss",
    "margin_ranking_loss",
    "matryoshka_loss",
    "multi_similarity_loss",
    "multiple_negatives_ranking_loss",
    "npair_loss",
    "nt_xent_loss",
    "pairwise_distances",
    "proxy_anchor_loss",
    "proxy_nca_loss",
    "ranknet_loss",
    "reid_loss",
    "siglip_loss",
    "smooth_ap_loss",
    "soft_triple_loss",
    "sphereface_loss",
    "subcenter_arcface_loss",
    "supcon_loss",
    "triplet_loss",
    "triplet_margin_loss",
    "update_centers",
]
