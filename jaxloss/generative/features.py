"""Translation and feature-space objectives: cycle, reconstruction, perceptual, style, contextual.

Conventions of this module:

* ``predictions`` and ``targets`` are images (or any arrays) ``[B, ...]`` of
  the same shape, channels last (NHWC).
* The feature-space losses take an optional **static** feature extractor
  ``feature_fn``: ``feature_fn(x)`` or, with ``params=``, ``feature_fn(params,
  x)``, returning one feature map or a list/dict/pytree of them (one per
  layer, each ``[B, ..., C]``). Pass the same object every step (it is part of
  the jit cache key); keep weights in ``params`` so they are traced, not baked
  in. :func:`jaxloss.generative.vgg.vgg16_feature_fn` builds such a pair for
  the bundled VGG-16. With ``feature_fn=None`` the inputs *are* the features.
* The unreduced loss of the feature-space losses is one value per example
  (``[B]``), the per-layer terms summed with ``layer_weights``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  check_min_rank,
  loss_function,
  paired_inputs,
  reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.generative import _common as cm

__all__ = [
    "contextual_loss", "cycle_consistency_loss", "gram_matrix", "perceptual_loss",
    "reconstruction_loss", "style_loss", "text_image_matching_loss",
]

_CYCLEGAN = ("Zhu et al., Unpaired Image-to-Image Translation using Cycle-Consistent "
             "Adversarial Networks, ICCV 2017")
_JOHNSON = ("Johnson et al., Perceptual Losses for Real-Time Style Transfer and "
            "Super-Resolution, ECCV 2016")
_GATYS = "Gatys et al., Image Style Transfer Using Convolutional Neural Networks, CVPR 2016"
_MECHREZ = ("Mechrez et al., The Contextual Loss for Image Transformation with Non-Aligned "
            "Data, ECCV 2018")


def _pair(predictions, targets, where):
  return paired_inputs(predictions, targets, where, min_rank=1, what="a leading batch axis")


@register(tasks=("image-to-image translation", "unpaired image translation"),
          input_kind="images",
          peer="CycleGAN criterionCycle = torch.nn.L1Loss() on (F(G(x)), x)",
          references=(_CYCLEGAN + ", Eq. 2", SURVEY))
@loss_function(static=("distance",), choices={"distance": ("l1", "l2")})
def cycle_consistency_loss(predictions, targets, *, distance="l1", weights=None, where=None,
                           reduction="mean"):
  r"""Cycle-consistency loss (CycleGAN): distance between :math:`F(G(x))` and :math:`x`.

  .. math::
    \ell_i = |F(G(x))_i - x_i| \quad (\text{or } (F(G(x))_i - x_i)^2 \text{ for "l2"})

  Call it once per direction (``F(G(x))`` vs ``x`` and ``G(F(y))`` vs ``y``) and
  multiply by :math:`\lambda` (10 in the paper).

  Args:
    predictions: floating array, the round trip :math:`F(G(x))`.
    targets: the original :math:`x`, same shape.
    distance: "l1" (default, the paper's) | "l2".
    weights: optional per-entry weights, broadcastable to the inputs.
    where: optional boolean mask, broadcastable to the inputs.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``targets.shape`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions`` shape.

  Notes:
    The survey's "Cycle Consistency Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.cycle_consistency_loss(jnp.array([0.5, 1.]), jnp.array([0., 1.])))
    0.25
  """
  p, t = _pair(predictions, targets, where)
  d = p - t
  values = jnp.abs(d) if distance == "l1" else d * d
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("image-to-image translation", "image inpainting", "autoencoders",
                 "image reconstruction"),
          peer="torch.nn.functional.l1_loss / mse_loss / binary_cross_entropy_with_logits",
          input_kind="images", references=(SURVEY,))
@loss_function(static=("kind",), choices={"kind": ("l1", "l2", "bernoulli")})
def reconstruction_loss(predictions, targets, *, kind="l1", weights=None, where=None,
                        reduction="mean"):
  r"""Pixel-wise reconstruction loss: L1, L2, or Bernoulli NLL from logits.

  .. math::
    \ell_i = |p_i - t_i|,\quad (p_i - t_i)^2,\quad
      \text{or } \operatorname{softplus}(p_i) - t_i p_i \ (p \text{ logits})

  Args:
    predictions: floating array; logits for ``kind="bernoulli"``.
    targets: same shape (in [0, 1] for Bernoulli).
    kind: "l1" (default) | "l2" | "bernoulli".
    weights: optional per-entry weights, broadcastable to the inputs.
    where: optional boolean mask, broadcastable to the inputs (e.g. the hole
      of an inpainting mask).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions`` shape.

  Notes:
    The survey's "Reconstruction Loss"; elementwise, it is
    ``torch.nn.functional.l1_loss``, ``mse_loss`` and
    ``binary_cross_entropy_with_logits``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.reconstruction_loss(jnp.array([0., 0.]), jnp.array([1., 0.]),
    ...                                   kind="bernoulli", reduction="none"))
    [0.693147 0.693147]
  """
  p, t = _pair(predictions, targets, where)
  if kind == "l1":
    values = jnp.abs(p - t)
  elif kind == "l2":
    values = (p - t) ** 2
  else:
    values = jax.nn.softplus(p) - t * p
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Feature-space losses.
# --------------------------------------------------------------------------


def gram_matrix(features):
  r"""Gram matrices :math:`G = F^\top F / (N C)` of ``[B, ..., C]`` feature maps.

  ``N`` is the number of positions (the product of the middle axes); the
  normalisation is Johnson et al.'s :math:`1/(C H W)`.

  >>> print(gram_matrix(jnp.ones((1, 2, 2, 2))))
  [[[0.5 0.5]
    [0.5 0.5]]]
  """
  check_min_rank("features", features, 3, "[B, ..., C]")
  f = features.reshape(features.shape[0], -1, features.shape[-1])
  n, c = f.shape[1], f.shape[2]
  return jnp.einsum("bnc,bnd->bcd", f, f) / (n * c)


def _layers(feature_fn, params, p, t, layer_weights):
  fp = cm.feature_list(feature_fn, params, p)
  ft = cm.feature_list(feature_fn, params, t)
  return list(zip(fp, ft, strict=True)), cm.layer_weights_of(layer_weights, len(fp))


def _weighted_sum(terms, lw):
  total = terms[0] * lw[0]
  for term, w in zip(terms[1:], lw[1:], strict=True):
    total = total + term * w
  return total


_FEATURE = dict(input_kind="images (or features)")


@register(tasks=("image super-resolution", "style transfer", "image-to-image translation",
                 "image inpainting"),
          peer="Johnson et al. feature reconstruction loss (mean squared feature error "
               "per layer); pix2pixHD VGGLoss with distance='l1'",
          references=(_JOHNSON + ", Eq. 2", SURVEY),
          **_FEATURE)
@loss_function(static=("feature_fn", "distance"), choices={"distance": ("l2", "l1")})
def perceptual_loss(predictions, targets, *, feature_fn=None, params=None, layer_weights=None,
                    distance="l2", weights=None, where=None, reduction="mean"):
  r"""Perceptual (feature reconstruction) loss over a user-supplied feature extractor.

  .. math::
    \ell_i = \sum_l w_l\, \frac{1}{C_l H_l W_l}
      \big\lVert \phi_l(\hat y_i) - \phi_l(y_i) \big\rVert_p^p, \quad p \in \{2, 1\}

  Args:
    predictions: floating array ``[B, ...]`` (e.g. generated images, NHWC).
    targets: array of the same shape.
    feature_fn: static callable returning a feature map or a pytree of them
      (see the module docstring); None uses the inputs as features.
    params: optional parameters of ``feature_fn`` (traced).
    layer_weights: optional per-layer weights (default 1 each).
    distance: "l2" (default, Johnson et al.) | "l1".
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions`` shape, or
      ``layer_weights`` has the wrong length.

  Notes:
    Johnson et al.'s Eq. 2 is the loss of one layer; here the layers are
    summed with ``layer_weights``. Targets are not detached: wrap them in
    ``jax.lax.stop_gradient`` if needed. The survey's "Perceptual Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> feats = lambda x: [x, 2.0 * x]     # two "layers"
    >>> p, t = jnp.ones((2, 2, 2, 1)), jnp.zeros((2, 2, 2, 1))
    >>> print(jaxloss.perceptual_loss(p, t, feature_fn=feats, layer_weights=(1.0, 0.5)))
    3.0
  """
  p, t = _pair(predictions, targets, cm.example_mask(where, predictions))
  pairs, lw = _layers(feature_fn, params, p, t, layer_weights)
  terms = []
  for fp, ft in pairs:
    d = fp.astype(p.dtype) - ft.astype(p.dtype)
    terms.append(cm.per_example_mean(jnp.abs(d) if distance == "l1" else d * d))
  return reduce_loss(_weighted_sum(terms, lw), reduction, where=where, weights=weights)


@register(tasks=("style transfer", "image-to-image translation", "image inpainting"),
          peer="Johnson et al. style reconstruction loss (squared Frobenius norm of Gram "
               "differences, Gram / (C H W))",
          references=(_GATYS, _JOHNSON + ", Eq. 3-4", SURVEY),
          **_FEATURE)
@loss_function(static=("feature_fn",))
def style_loss(predictions, targets, *, feature_fn=None, params=None, layer_weights=None,
               weights=None, where=None, reduction="mean"):
  r"""Style loss: distance between Gram matrices of features (Gatys et al.).

  .. math::
    \ell_i = \sum_l w_l \big\lVert G_l(\hat y_i) - G_l(y_i) \big\rVert_F^2, \quad
    G_l(x) = \frac{1}{C_l H_l W_l}\, \phi_l(x)^\top \phi_l(x)

  Args:
    predictions: floating array ``[B, ..., C]`` (images, NHWC).
    targets: array of the same shape (the style image, broadcast to the batch).
    feature_fn: static feature extractor (see the module docstring); None uses
      the inputs as features. Each feature map must be ``[B, ..., C]``.
    params: optional parameters of ``feature_fn`` (traced).
    layer_weights: optional per-layer weights (default 1 each).
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions`` shape, or a
      feature map has rank < 3.

  Notes:
    The Gram normalisation and squared Frobenius distance are Johnson et
    al.'s (Eq. 3–4); Gatys' :math:`1/(4N^2M^2)` differs by a constant factor
    per layer.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p, t = jnp.ones((1, 2, 2, 1)), jnp.zeros((1, 2, 2, 1))
    >>> print(jaxloss.style_loss(p, t))
    1.0
  """
  p, t = _pair(predictions, targets, cm.example_mask(where, predictions))
  pairs, lw = _layers(feature_fn, params, p, t, layer_weights)
  terms = []
  for fp, ft in pairs:
    d = gram_matrix(fp.astype(p.dtype)) - gram_matrix(ft.astype(p.dtype))
    terms.append(jnp.sum(d * d, axis=(-2, -1)))
  return reduce_loss(_weighted_sum(terms, lw), reduction, where=where, weights=weights)


def _contextual_term(x, y, band_width):
  """``-log CX(x, y)`` per example for ``[B, ..., C]`` feature maps (log domain)."""
  x = x.reshape(x.shape[0], -1, x.shape[-1])
  y = y.reshape(y.shape[0], -1, y.shape[-1])
  mu = jnp.mean(y, axis=1, keepdims=True)
  xn = nx.l2_normalize(x - mu, axis=-1)
  yn = nx.l2_normalize(y - mu, axis=-1)
  d = jnp.maximum(1.0 - jnp.einsum("bnc,bmc->bnm", xn, yn), 0.0)
  d_rel = d / (nx.min_select(d, axis=-1, keepdims=True) + 1e-5)
  logits = (1.0 - d_rel) / band_width
  log_cx = logits - jax.nn.logsumexp(logits, axis=-1, keepdims=True)   # normalise over j
  log_cx_j = nx.max_select(log_cx, axis=1)                             # max over i: [B, M]
  m = log_cx_j.shape[-1]
  return -(jax.nn.logsumexp(log_cx_j, axis=-1) - math.log(m))


@register(tasks=("image-to-image translation", "style transfer", "image inpainting",
                 "non-aligned image restoration"),
          peer="S-aiueo32/contextual_loss contextual_loss(x, y, band_width=0.5, "
               "loss_type='cosine')",
          references=(_MECHREZ + ", Eq. 1-5", SURVEY),
          **_FEATURE)
@loss_function(static=("feature_fn",), ranges={"band_width": "> 0"})
def contextual_loss(predictions, targets, *, feature_fn=None, params=None, layer_weights=None,
                    band_width=0.5, weights=None, where=None, reduction="mean"):
  r"""Contextual loss (Mechrez et al. 2018): feature similarity without spatial alignment.

  With features :math:`x_i` (prediction) and :math:`y_j` (target), centred by
  the target mean and L2-normalised, :math:`d_{ij} = 1 - \cos(x_i, y_j)`:

  .. math::
    \tilde d_{ij} = \frac{d_{ij}}{\min_k d_{ik} + 10^{-5}},\quad
    CX_{ij} = \frac{e^{(1 - \tilde d_{ij})/h}}{\sum_k e^{(1 - \tilde d_{ik})/h}},\quad
    \ell = -\log\Big(\frac1M \sum_j \max_i CX_{ij}\Big)

  computed in log space (log-softmax, then log-mean-exp of the maxima), so it
  needs no epsilon inside the log.

  Args:
    predictions: floating array ``[B, ..., C]`` (images, NHWC).
    targets: array of the same shape.
    feature_fn: static feature extractor (see the module docstring); None uses
      the inputs as features (each position's channel vector is a feature).
    params: optional parameters of ``feature_fn`` (traced).
    layer_weights: optional per-layer weights (default 1 each).
    band_width: the bandwidth :math:`h` (default 0.5), > 0; may be traced.
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions`` shape, or a
      concrete ``band_width <= 0``.

  Notes:
    Two deliberate differences from S-aiueo32/contextual_loss (cosine): (a)
    features are centred by each target image's own mean (the peer averages
    over the batch too, which couples examples) and (b) the log is taken
    exactly instead of ``-log(cx + 1e-5)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[[1., 0.], [0., 1.], [1., 1.]]])
    >>> print(jaxloss.contextual_loss(x, x) < jaxloss.contextual_loss(x, x[:, ::-1] * -1))
    True
  """
  p, t = _pair(predictions, targets, cm.example_mask(where, predictions))
  pairs, lw = _layers(feature_fn, params, p, t, layer_weights)
  h = jnp.asarray(band_width, p.dtype)
  terms = []
  for fp, ft in pairs:
    check_min_rank("features", fp, 3, "[B, ..., C]")
    terms.append(_contextual_term(fp.astype(p.dtype), ft.astype(p.dtype), h))
  return reduce_loss(_weighted_sum(terms, lw), reduction, where=where, weights=weights)


@register(tasks=("text-to-image generation", "image-text retrieval"),
          input_kind="embeddings",
          peer="jaxloss.clip_loss (OpenCLIP ClipLoss on one device)",
          references=("Radford et al., Learning Transferable Visual Models From Natural Language "
                      "Supervision (CLIP), ICML 2021",
                      "Xu et al., AttnGAN (DAMSM text-image matching loss), CVPR 2018"))
@loss_function(static=("normalize",), ranges={"temperature": "> 0"})
def text_image_matching_loss(x1, x2, *, temperature=0.07, normalize=True, weights=None,
                             where=None, reduction="mean"):
  r"""Text-image matching loss for text-to-image generation: CLIP's symmetric InfoNCE.

  .. math::
    \ell_i = \tfrac12\big[-\log\operatorname{softmax}_j(z_{ij})_i
      - \log\operatorname{softmax}_j(z_{ji})_i\big],\qquad
    z_{ij} = \frac{\hat x_i \cdot \hat t_j}{\tau}

  The survey's "text-image matching loss" of text-to-image generators
  (AttnGAN's DAMSM, CLIP-guided generators): embed the *generated* images and
  their captions with paired encoders and score how well each image matches
  its own caption against the other captions in the batch. This is
  :func:`jaxloss.clip_loss` (one implementation, reused); the name exists so
  the generative family reads as the survey does.

  Args:
    x1: ``[N, D]`` embeddings of the generated images.
    x2: ``[N, D]`` embeddings of their captions.
    temperature: > 0 (default 0.07); may be traced (learned).
    normalize: L2-normalise both (default True), static.
    weights: optional per-pair weights ``[N]``.
    where: optional boolean ``[N]``; False pairs are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: scalar for "mean"/"sum"; ``[N]`` per pair for "none".

  Raises:
    LossInputError: shapes differ.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> e = jnp.eye(3)
    >>> print(jaxloss.text_image_matching_loss(e, e, temperature=1.0))
    0.5514
  """
  from jaxloss.embedding import clip_loss

  return clip_loss(x1, x2, temperature=temperature, normalize=normalize, weights=weights,
                   where=where, reduction=reduction)
