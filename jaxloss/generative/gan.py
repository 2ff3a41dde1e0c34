"""Adversarial objectives: GAN loss pairs, gradient penalties, feature matching.

Conventions of this module:

* The losses take **discriminator logits** (the critic's raw score for
  Wasserstein/hinge), never probabilities; the log-likelihood kinds are
  computed with ``softplus`` so logits of +-1e4 give finite values and
  gradients.
* ``real_logits`` and ``fake_logits`` have the same shape (``[B]``, ``[B, 1]``
  or a PatchGAN map ``[B, H, W, 1]``); the unreduced loss has that shape and
  entry ``i`` holds the real term of entry ``i`` plus the fake term of entry
  ``i``, so ``"mean"`` is :math:`\\mathbb{E}_{real}[\\cdot] + \\mathbb{E}_{fake}[\\cdot]`.
* A conditional GAN uses the same losses on the logits of a conditioned
  discriminator ``D(x, c)``; the penalties take ``condition=`` for it.
* The penalties are pure functions of a discriminator callable and its inputs.
  The callable is a static argument (hashable; pass the same object every step)
  and is called as ``discriminator_fn(x)`` or, with ``params=``, as
  ``discriminator_fn(params, x)`` (plus ``condition`` last when given); the
  result is differentiable w.r.t. ``params`` (double backprop) and the inputs.
  They assume a per-example discriminator (no batch statistics), so that the
  gradient of ``sum(D(x))`` w.r.t. ``x_i`` is the gradient of ``D(x_i)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    broadcast_mask,
    check_floating,
    check_min_rank,
    check_same_shape,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.generative import _common as cm

__all__ = [
    "GAN_KINDS", "feature_matching_loss", "gan_discriminator_loss", "gan_generator_loss",
    "gradient_penalty", "r1_penalty", "r2_penalty",
]

GAN_KINDS = ("minimax", "non_saturating", "least_squares", "hinge", "wasserstein",
             "relativistic_average")

_GOODFELLOW = "Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014"
_LSGAN = "Mao et al., Least Squares Generative Adversarial Networks, ICCV 2017"
_HINGE = "Lim & Ye, Geometric GAN, arXiv:1705.02894, 2017; Miyato et al., SN-GAN, ICLR 2018"
_WGAN = "Arjovsky et al., Wasserstein GAN, ICML 2017"
_RAGAN = ("Jolicoeur-Martineau, The relativistic discriminator: a key element missing "
          "from standard GAN, ICLR 2019")
_WGANGP = "Gulrajani et al., Improved Training of Wasserstein GANs, NeurIPS 2017"
_R1 = "Mescheder et al., Which Training Methods for GANs do actually Converge?, ICML 2018"


def _masked_mean(x, where):
  if where is None:
    return jnp.mean(x)
  mask = broadcast_mask("where", where, x.shape, "unreduced loss")
  return nx.safe_div(jnp.sum(jnp.where(mask, x, 0.0)), jnp.sum(mask, dtype=x.dtype))


def _logits(name, x, where):
  check_floating(name, x)
  x = x.astype(nx.compute_dtype(x))
  return nx.mask_fill(x, where)


# --------------------------------------------------------------------------
# Generator / discriminator loss pairs.
# --------------------------------------------------------------------------


_GAN_PEERS = ("torchgan.losses (MinimaxDiscriminatorLoss, LeastSquaresDiscriminatorLoss, "
              "WassersteinDiscriminatorLoss, ...); hinge as in SN-GAN/BigGAN; RaSGAN as "
              "in Jolicoeur-Martineau's reference code")


@register(tasks=("image generation", "image-to-image translation", "text-to-image generation",
                 "image inpainting"),
          input_kind="logits", peer=_GAN_PEERS,
          references=(_GOODFELLOW, _LSGAN, _HINGE, _WGAN, _RAGAN, SURVEY))
@loss_function(static=("kind",), choices={"kind": GAN_KINDS})
def gan_discriminator_loss(real_logits, fake_logits, *, kind="non_saturating", weights=None,
                           where=None, reduction="mean"):
  r"""Discriminator (critic) loss of a GAN, from logits on real and fake data.

  With :math:`r = D(x)`, :math:`f = D(G(z))` (logits) and :math:`\sigma` the
  sigmoid, entry :math:`i` of the unreduced loss is

  .. math::
    \begin{aligned}
    \text{minimax, non\_saturating}: &\ -\log\sigma(r_i) - \log(1 - \sigma(f_i))
      = \operatorname{softplus}(-r_i) + \operatorname{softplus}(f_i) \\
    \text{least\_squares}: &\ \tfrac12 (r_i - 1)^2 + \tfrac12 f_i^2 \\
    \text{hinge}: &\ \max(0, 1 - r_i) + \max(0, 1 + f_i) \\
    \text{wasserstein}: &\ f_i - r_i \\
    \text{relativistic\_average}: &\ \operatorname{softplus}(-(r_i - \bar f))
      + \operatorname{softplus}(f_i - \bar r)
    \end{aligned}

  where :math:`\bar r, \bar f` are the means over the (unmasked) batch.

  Args:
    real_logits: floating array ``[B, ...]``, discriminator logits on real data.
    fake_logits: array of the same shape, logits on generated data.
    kind: one of :data:`GAN_KINDS` (default ``"non_saturating"``; its
      discriminator loss is the minimax one).
    weights: optional per-entry weights, broadcastable to the logits.
    where: optional boolean mask, broadcastable to the logits.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; the logits' shape for "none". Entries of the
    relativistic kind depend on the whole batch (through the means).

  Raises:
    LossInputError: ``fake_logits`` shape differs from ``real_logits`` shape,
      or an unknown ``kind``.
    LossTypeError: non-floating logits.

  Notes:
    ``least_squares`` is LSGAN with a=0, b=c=1 and the 1/2 of torchgan's
    ``LeastSquaresDiscriminatorLoss``; ``hinge`` is Lim & Ye's; ``wasserstein``
    is the WGAN critic, to be combined with a Lipschitz constraint such as
    :func:`gradient_penalty`; ``relativistic_average`` is RaSGAN. The survey's
    "Adversarial Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> real, fake = jnp.array([2., 0.5]), jnp.array([-1., 1.])
    >>> print(jaxloss.gan_discriminator_loss(real, fake, kind="hinge"))
    1.25
  """
  r = _logits("real_logits", real_logits, where)
  check_same_shape("real_logits", real_logits, "fake_logits", fake_logits)
  f = _logits("fake_logits", fake_logits, where)
  if kind in ("minimax", "non_saturating"):
    values = jax.nn.softplus(-r) + jax.nn.softplus(f)
  elif kind == "least_squares":
    values = 0.5 * (r - 1.0) ** 2 + 0.5 * f * f
  elif kind == "hinge":
    values = jax.nn.relu(1.0 - r) + jax.nn.relu(1.0 + f)
  elif kind == "wasserstein":
    values = f - r
  else:
    values = (jax.nn.softplus(-(r - _masked_mean(f, where)))
              + jax.nn.softplus(f - _masked_mean(r, where)))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("image generation", "image-to-image translation", "text-to-image generation",
                 "image inpainting"),
          input_kind="logits", peer=_GAN_PEERS.replace("Discriminator", "Generator"),
          references=(_GOODFELLOW, _LSGAN, _HINGE, _WGAN, _RAGAN, SURVEY))
@loss_function(static=("kind",), choices={"kind": GAN_KINDS})
def gan_generator_loss(fake_logits, *, real_logits=None, kind="non_saturating", weights=None,
                       where=None, reduction="mean"):
  r"""Generator loss of a GAN, from discriminator logits on generated data.

  With :math:`f = D(G(z))` and :math:`r = D(x)` (logits), entry :math:`i` is

  .. math::
    \begin{aligned}
    \text{minimax}: &\ \log(1 - \sigma(f_i)) = -\operatorname{softplus}(f_i) \\
    \text{non\_saturating}: &\ -\log\sigma(f_i) = \operatorname{softplus}(-f_i) \\
    \text{least\_squares}: &\ \tfrac12 (f_i - 1)^2 \\
    \text{hinge}, \text{wasserstein}: &\ -f_i \\
    \text{relativistic\_average}: &\ \operatorname{softplus}(-(f_i - \bar r))
      + \operatorname{softplus}(r_i - \bar f)
    \end{aligned}

  The minimax loss is negative and saturates when the discriminator is
  confident (Goodfellow et al.); the non-saturating one is the usual choice.

  Args:
    fake_logits: floating array ``[B, ...]``, discriminator logits on
      generated data.
    real_logits: logits on real data, same shape; required (only) for
      ``kind="relativistic_average"``.
    kind: one of :data:`GAN_KINDS` (default ``"non_saturating"``).
    weights: optional per-entry weights, broadcastable to the logits.
    where: optional boolean mask, broadcastable to the logits.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; the logits' shape for "none".

  Raises:
    LossInputError: ``real_logits`` missing or of another shape for the
      relativistic kind, or an unknown ``kind``.
    LossTypeError: non-floating logits.

  Notes:
    As torchgan's generator losses: ``MinimaxGeneratorLoss`` is
    :math:`\log(1 - D(G(z)))`, ``LeastSquaresGeneratorLoss`` has the factor
    1/2. The survey's "Adversarial Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.gan_generator_loss(jnp.array([0., 0.]), kind="non_saturating"))
    0.693147
  """
  f = _logits("fake_logits", fake_logits, where)
  if kind == "minimax":
    values = -jax.nn.softplus(f)
  elif kind == "non_saturating":
    values = jax.nn.softplus(-f)
  elif kind == "least_squares":
    values = 0.5 * (f - 1.0) ** 2
  elif kind in ("hinge", "wasserstein"):
    values = -f
  else:
    if real_logits is None:
      raise LossInputError(
          "kind='relativistic_average' needs real_logits= of the fake_logits shape "
          f"{f.shape}")
    check_same_shape("fake_logits", fake_logits, "real_logits", real_logits)
    r = _logits("real_logits", real_logits, where)
    values = (jax.nn.softplus(-(f - _masked_mean(r, where)))
              + jax.nn.softplus(r - _masked_mean(f, where)))
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Gradient penalties (double backprop).
# --------------------------------------------------------------------------


def _input_grad_norm(discriminator_fn, params, x, condition):
  """Per-example L2 norm of dD/dx over all non-batch axes, safe at 0."""

  def total(y):
    return jnp.sum(cm.call(discriminator_fn, params, y, condition))

  g = jax.grad(total)(x)
  return nx.safe_norm(g.reshape(g.shape[0], -1), axis=-1)


def _check_inputs(name, x):
  check_floating(name, x)
  check_min_rank(name, x, 1, "a leading batch axis")


@register(tasks=("image generation", "WGAN-GP critic regularisation"),
          input_kind="discriminator and samples",
          peer="WGAN-GP reference code (Gulrajani et al.); torchgan WassersteinGradientPenalty",
          references=(_WGANGP,))
@loss_function(static=("discriminator_fn",))
def gradient_penalty(real, fake, *, discriminator_fn, key=None, alpha=None, params=None,
                     condition=None, target_norm=1.0, weights=None, where=None,
                     reduction="mean"):
  r"""WGAN-GP gradient penalty on random interpolates of real and fake samples.

  .. math::
    \hat x_i = \alpha_i x_i + (1 - \alpha_i) \tilde x_i,\ \alpha_i \sim U[0, 1],
    \qquad \ell_i = \big(\lVert \nabla_{\hat x} D(\hat x_i) \rVert_2 - t\big)^2

  The norm runs over **all** non-batch axes (a common bug is one axis only);
  it is a safe norm, so a critic with a zero input-gradient gives the finite
  value :math:`t^2` and a finite gradient. Multiply by :math:`\lambda`
  (10 in the paper) yourself.

  Args:
    real: floating array ``[B, ...]`` of real samples.
    fake: array of the same shape, generated samples.
    discriminator_fn: static callable ``D(x)``, or ``D(params, x)`` when
      ``params`` is given (``D(..., condition)`` when ``condition`` is given),
      returning one logit per example (any shape ``[B, ...]``; it is summed).
    key: PRNG key for :math:`\alpha` (one uniform per example). Required
      unless ``alpha`` is given.
    alpha: optional explicit interpolation weights, shape ``[B]``.
    params: optional pytree of discriminator parameters (traced; the penalty
      is differentiable w.r.t. it).
    condition: optional conditioning input passed to the discriminator.
    target_norm: the target norm :math:`t` (default 1.0).
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` for "none".

  Raises:
    LossInputError: ``fake`` shape differs from ``real`` shape, ``real`` has
      no batch axis, or neither ``key`` nor ``alpha`` is given.

  Notes:
    As the paper's reference implementation: uniform per-example
    interpolation, the 2-norm over all non-batch axes.

  Examples:
    >>> import jax, jax.numpy as jnp, jaxloss
    >>> critic = lambda x: jnp.sum(3.0 * x, axis=-1)   # |grad| = 3 * sqrt(2)
    >>> x = jnp.ones((4, 2))
    >>> print(jaxloss.gradient_penalty(x, -x, discriminator_fn=critic, key=jax.random.key(0)))
    10.514717
  """
  _check_inputs("real", real)
  check_same_shape("real", real, "fake", fake)
  if key is None and alpha is None:
    raise LossInputError("needs key= (a PRNG key) or alpha= of shape (B,)")
  dtype = nx.compute_dtype(real, fake)
  x_r = cm.batch_mask_fill(real.astype(dtype), where)
  x_f = cm.batch_mask_fill(fake.astype(dtype), where)
  if alpha is None:
    alpha = jax.random.uniform(key, real.shape[:1], dtype)
  else:
    if jnp.shape(alpha) != real.shape[:1]:
      raise LossInputError(f"alpha has shape {jnp.shape(alpha)}; expected {real.shape[:1]}")
  a = jnp.asarray(alpha, dtype).reshape(real.shape[:1] + (1,) * (real.ndim - 1))
  x_hat = a * x_r + (1.0 - a) * x_f
  norm = _input_grad_norm(discriminator_fn, params, x_hat, condition)
  values = (norm - jnp.asarray(target_norm, dtype)) ** 2
  return reduce_loss(values, reduction, where=where, weights=weights)


def _r_penalty(discriminator_fn, x, params, condition, weights, where, reduction):
  _check_inputs("x", x)
  x = cm.batch_mask_fill(x.astype(nx.compute_dtype(x)), where)

  # The squared norm is smooth everywhere; no sqrt (and no safe norm) needed.
  def total(y):
    return jnp.sum(cm.call(discriminator_fn, params, y, condition))

  g = jax.grad(total)(x)
  values = jnp.sum((g * g).reshape(g.shape[0], -1), axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


_R_COMMON = dict(tasks=("image generation", "GAN discriminator regularisation"),
                 input_kind="discriminator and samples")


@register(peer="StyleGAN2 r1_penalty (r1_grads.square().sum(non-batch axes)); "
          "Mescheder et al. reference code", references=(_R1,), **_R_COMMON)
@loss_function(static=("discriminator_fn",))
def r1_penalty(real, *, discriminator_fn, params=None, condition=None, weights=None,
               where=None, reduction="mean"):
  r"""R1 penalty: squared input-gradient norm of the discriminator on real data.

  .. math::
    \ell_i = \lVert \nabla_x D(x_i) \rVert_2^2, \quad x_i \text{ real}

  Mescheder et al. add :math:`\tfrac{\gamma}{2}\,\mathbb{E}[\ell_i]` to the
  discriminator loss; multiply by ``gamma / 2`` yourself.

  Args:
    real: floating array ``[B, ...]`` of real samples.
    discriminator_fn: static callable ``D(x)`` or ``D(params, x)`` (plus
      ``condition`` last when given), one logit per example.
    params: optional pytree of discriminator parameters (traced).
    condition: optional conditioning input passed to the discriminator.
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` for "none".

  Raises:
    LossInputError: ``real`` has no batch axis (shape ``()``).

  Notes:
    As StyleGAN2's ``r1_penalty``: the sum of squared input gradients over
    all non-batch axes, before the ``gamma / 2``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> critic = lambda x: jnp.sum(x * x, axis=-1)       # grad = 2x
    >>> print(jaxloss.r1_penalty(jnp.array([[1., 0.], [0., 2.]]), discriminator_fn=critic))
    10.0
  """
  return _r_penalty(discriminator_fn, real, params, condition, weights, where, reduction)


@register(peer="Mescheder et al. reference code (R2 on fake samples)",
          references=(_R1 + " (R2 regulariser, Sec. 4.1)",), **_R_COMMON)
@loss_function(static=("discriminator_fn",))
def r2_penalty(fake, *, discriminator_fn, params=None, condition=None, weights=None,
               where=None, reduction="mean"):
  r"""R2 penalty: squared input-gradient norm of the discriminator on fake data.

  .. math::
    \ell_i = \lVert \nabla_x D(\tilde x_i) \rVert_2^2, \quad \tilde x_i = G(z_i)

  The same as :func:`r1_penalty` evaluated on generated samples (pass them
  with ``stop_gradient`` if the generator must not receive this gradient).

  Args:
    fake: floating array ``[B, ...]`` of generated samples.
    discriminator_fn: static callable ``D(x)`` or ``D(params, x)`` (plus
      ``condition`` last when given), one logit per example.
    params: optional pytree of discriminator parameters (traced).
    condition: optional conditioning input passed to the discriminator.
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` for "none".

  Raises:
    LossInputError: ``fake`` has no batch axis (shape ``()``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> critic = lambda x: jnp.sum(x * x, axis=-1)
    >>> fake = jnp.array([[1., 0.], [0., 2.]])
    >>> print(jaxloss.r2_penalty(fake, discriminator_fn=critic, reduction="none"))
    [ 4. 16.]
  """
  return _r_penalty(discriminator_fn, fake, params, condition, weights, where, reduction)


# --------------------------------------------------------------------------
# Feature matching.
# --------------------------------------------------------------------------


@register(tasks=("image generation", "semi-supervised GAN"),
          input_kind="features",
          peer="Salimans et al. improved-gan code: mean((mean_b f(G(z)) - mean_b f(x))^2)",
          references=("Salimans et al., Improved Techniques for Training GANs, NeurIPS 2016, "
                      "Sec. 3.1",))
@loss_function(static=("distance",), choices={"distance": ("l2", "l1")})
def feature_matching_loss(fake_features, real_features, *, distance="l2", layer_weights=None):
  r"""Feature matching (Salimans et al. 2016): match the discriminator's feature means.

  .. math::
    \mathcal{L} = \sum_l w_l\, \operatorname{mean}_k
      \big| \mathbb{E}_{z} f_l(G(z))_k - \mathbb{E}_{x} f_l(x)_k \big|^p,
    \quad p = 2 \text{ ("l2") or } 1 \text{ ("l1")}

  Each layer's features are averaged over the batch (axis 0), so the two
  batches may have different sizes.

  Args:
    fake_features: a floating array ``[B, ...]`` or a list/pytree of arrays
      (one per layer) of discriminator features on generated data.
    real_features: the same structure, on real data (batch size may differ).
    distance: "l2" (default, the paper's) | "l1".
    layer_weights: optional per-layer weights (sequence or array of length
      the number of layers); default 1 each.

  Returns:
    A scalar (set-level: the batch means couple all examples).

  Raises:
    LossInputError: the two feature pytrees differ in structure or in the
      shape of a layer beyond the batch axis.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> fake, real = jnp.zeros((2, 3)), jnp.ones((4, 3))
    >>> print(jaxloss.feature_matching_loss([fake, fake], [real, 2 * real]))
    5.0
  """
  fl, ft = jax.tree.flatten(fake_features)
  rl, rt = jax.tree.flatten(real_features)
  if ft != rt:
    raise LossInputError(
        f"real_features has structure {rt} but fake_features has structure {ft}; "
        "expected the same layers (shape mismatch)")
  weights = cm.layer_weights_of(layer_weights, len(fl))
  total = jnp.zeros((), nx.compute_dtype(*fl, *rl))
  for i, (f, r) in enumerate(zip(fl, rl, strict=True)):
    check_floating("fake_features", f)
    check_min_rank("fake_features", f, 1, "a leading batch axis")
    if jnp.shape(f)[1:] != jnp.shape(r)[1:]:
      raise LossInputError(
          f"real_features layer {i} has shape {jnp.shape(r)} but fake_features has "
          f"shape {jnp.shape(f)}; expected equal shapes beyond the batch axis")
    d = jnp.mean(f.astype(total.dtype), axis=0) - jnp.mean(r.astype(total.dtype), axis=0)
    d = jnp.abs(d) if distance == "l1" else d * d
    total = total + weights[i] * jnp.mean(d)
  return total
