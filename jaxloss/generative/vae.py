"""Variational objectives: closed-form Gaussian KL and the VAE negative ELBO.

Conventions of this module:

* Gaussians are diagonal and given by ``mean`` and ``log_var`` (log of the
  variance), the parametrisation encoders output; the KL is computed from the
  log-variances (``exp(lv1 - lv2)``) without forming variances and dividing.
* The latent axis (default last) is summed; the unreduced loss is one value
  per example.
* The VAE loss is the *negative* ELBO per example (sum over data and latent
  dimensions), so a mean over the batch is the usual minibatch estimate.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_broadcastable,
    check_floating,
    check_min_rank,
    check_same_shape,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.generative import _common as cm

__all__ = ["gaussian_kl", "vae_loss"]

_KINGMA = "Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014"
_BETA = "Higgins et al., beta-VAE, ICLR 2017"
_FREE_BITS = "Kingma et al., Improved Variational Inference with Inverse Autoregressive Flow, NeurIPS 2016"


def _kl_per_dim(m, lv, pm, plv):
  """Elementwise KL(N(m, e^lv) || N(pm, e^plv)); the prior is N(0, 1) when pm is None."""
  if pm is None and plv is None:
    return 0.5 * (jnp.exp(lv) + m * m - 1.0 - lv)
  pm = jnp.zeros_like(m) if pm is None else pm
  plv = jnp.zeros_like(lv) if plv is None else plv
  d = m - pm
  return 0.5 * (plv - lv + jnp.exp(lv - plv) + d * d * jnp.exp(-plv) - 1.0)


@register(tasks=("variational autoencoders", "image generation"),
          input_kind="Gaussian parameters",
          peer="torch.distributions.kl_divergence(Normal, Normal).sum(-1); PyTorch VAE "
               "example KLD = -0.5 * sum(1 + logvar - mu^2 - exp(logvar))",
          references=(_KINGMA + ", Appendix B", SURVEY))
@loss_function(static=("axis",))
def gaussian_kl(mean, log_var, *, prior_mean=None, prior_log_var=None, axis=-1, weights=None,
                where=None, reduction="mean"):
  r"""KL divergence between diagonal Gaussians, from means and log-variances.

  .. math::
    \mathrm{KL}\big(\mathcal N(\mu, e^{v}) \,\|\, \mathcal N(\mu_p, e^{v_p})\big)
      = \tfrac12 \sum_k \Big(v_{p,k} - v_k + e^{v_k - v_{p,k}}
        + (\mu_k - \mu_{p,k})^2 e^{-v_{p,k}} - 1\Big)

  With no prior given it is the KL to the standard normal,
  :math:`\tfrac12 \sum_k (e^{v_k} + \mu_k^2 - 1 - v_k)`.

  Args:
    mean: floating array ``[..., Z]``, the posterior mean.
    log_var: array of the same shape, the posterior log-variance.
    prior_mean: optional prior mean, broadcastable to ``mean`` (default 0).
    prior_log_var: optional prior log-variance, broadcastable (default 0).
    axis: the latent axis that is summed (default -1).
    weights: optional weights, broadcastable to the unreduced loss.
    where: optional boolean mask, broadcastable to the unreduced loss.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``mean.shape`` without ``axis`` for "none".

  Raises:
    LossInputError: ``log_var`` shape differs from ``mean`` shape, or a
      prior does not broadcast to it.
    LossTypeError: non-floating ``mean``.

  Notes:
    The survey's "KL Divergence Loss" and the KL term of its "Variational
    Autoencoder Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.gaussian_kl(jnp.array([[1., 0.]]), jnp.zeros((1, 2))))
    0.5
  """
  check_floating("mean", mean)
  check_min_rank("mean", mean, 1, "a latent axis")
  check_same_shape("mean", mean, "log_var", log_var)
  dtype = nx.compute_dtype(mean, log_var)
  m = jnp.moveaxis(mean.astype(dtype), axis, -1)
  lv = jnp.moveaxis(jnp.asarray(log_var).astype(dtype), axis, -1)
  pm = plv = None
  shape = jnp.shape(mean)
  if prior_mean is not None:
    check_broadcastable("prior_mean", prior_mean, shape, "mean")
    pm = jnp.moveaxis(jnp.broadcast_to(jnp.asarray(prior_mean, dtype), shape), axis, -1)
    pm = nx.mask_fill(pm, where, trailing=1)
  if prior_log_var is not None:
    check_broadcastable("prior_log_var", prior_log_var, shape, "mean")
    plv = jnp.moveaxis(jnp.broadcast_to(jnp.asarray(prior_log_var, dtype), shape), axis, -1)
    plv = nx.mask_fill(plv, where, trailing=1)
  m = nx.mask_fill(m, where, trailing=1)
  lv = nx.mask_fill(lv, where, trailing=1)
  values = jnp.sum(_kl_per_dim(m, lv, pm, plv), axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("variational autoencoders", "image generation"),
          input_kind="logits (Bernoulli) or means (Gaussian) and Gaussian parameters",
          peer="PyTorch examples/vae loss_function (BCE sum + KLD), per example",
          references=(_KINGMA, _BETA, _FREE_BITS + " (free bits)", SURVEY),
          components=("reconstruction", "kl"))
@loss_function(static=("likelihood", "return_components"),
               choices={"likelihood": ("bernoulli", "gaussian")},
               ranges={"kl_weight": ">= 0", "free_bits": ">= 0"})
def vae_loss(predictions, targets, mean, log_var, *, likelihood="bernoulli", kl_weight=1.0,
             free_bits=0.0, decoder_log_var=0.0, return_components=False, weights=None,
             where=None, reduction="mean"):
  r"""Negative ELBO of a VAE: reconstruction NLL plus (weighted) KL to N(0, I).

  .. math::
    \ell_i = -\log p(x_i \mid z_i)
      + \beta \sum_k \max\big(\lambda, \mathrm{KL}_k(q(z \mid x_i) \,\|\, \mathcal N(0, 1))\big)

  with :math:`-\log p` the Bernoulli NLL from decoder logits
  (:math:`\operatorname{softplus}(l) - x l`, summed) or the Gaussian NLL
  :math:`\tfrac12 \sum ((x - \hat x)^2 e^{-s} + s + \log 2\pi)` with decoder
  log-variance :math:`s`, and :math:`\lambda` the free bits (nats per latent
  dimension; 0 disables it) and :math:`\beta` the ``kl_weight`` (beta-VAE
  uses :math:`\beta > 1`).

  Free bits are applied per example and latent dimension; Kingma et al.
  (2016) clamp the minibatch-averaged KL of groups of dimensions instead —
  the two agree for a batch of one.

  Args:
    predictions: floating array ``[B, ...]``: decoder logits
      (``likelihood="bernoulli"``) or means (``"gaussian"``).
    targets: the data, same shape (values in [0, 1] for Bernoulli).
    mean: ``[B, Z]`` posterior means.
    log_var: ``[B, Z]`` posterior log-variances.
    likelihood: "bernoulli" (default) | "gaussian".
    kl_weight: weight :math:`\beta` of the KL term (default 1.0; beta-VAE
      uses > 1); may be traced.
    free_bits: KL floor per latent dimension in nats (default 0.0).
    decoder_log_var: Gaussian decoder log-variance, broadcastable to
      ``targets`` (default 0.0, unit variance).
    return_components: also return the unweighted parts
      ``{"reconstruction", "kl"}`` (default False), static.
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none" (applied to every part).

  Returns:
    ``total``: a scalar for "mean"/"sum", ``[B]`` for "none"; with
    ``return_components=True`` the pair ``(total, {"reconstruction": ...,
    "kl": ...})``, the parts reduced the same way. ``"kl"`` is the raw KL
    (before the free bits and the weight), so the reconstruction-vs-KL
    balance is visible; ``total = reconstruction + kl_weight * kl`` when
    ``free_bits=0``.

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions``, or
      ``log_var`` from ``mean``, or the batch sizes differ.

  Notes:
    The survey's "Variational Autoencoder Loss". With the defaults it is the
    PyTorch VAE example's ``BCE(sum) + KLD``, per example.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> total, parts = jaxloss.vae_loss(jnp.zeros((1, 2)), jnp.ones((1, 2)),
    ...                                 jnp.zeros((1, 1)), jnp.zeros((1, 1)),
    ...                                 return_components=True)
    >>> print(total, parts["kl"])
    1.386294 0.0
  """
  check_floating("predictions", predictions)
  check_min_rank("predictions", predictions, 1, "a leading batch axis")
  check_same_shape("predictions", predictions, "targets", targets)
  check_min_rank("mean", mean, 2, "[B, Z]")
  check_same_shape("mean", mean, "log_var", log_var)
  if jnp.shape(mean)[0] != jnp.shape(predictions)[0]:
    raise LossInputError(
        f"mean has shape {jnp.shape(mean)} but predictions has shape "
        f"{jnp.shape(predictions)}; expected the same batch size")
  dtype = nx.compute_dtype(predictions, targets, mean, log_var)
  rec = cm.batch_mask_fill(predictions.astype(dtype), where)
  x = cm.batch_mask_fill(jnp.asarray(targets).astype(dtype), where)
  m = cm.batch_mask_fill(mean.astype(dtype), where)
  lv = cm.batch_mask_fill(jnp.asarray(log_var).astype(dtype), where)
  if likelihood == "bernoulli":
    nll = jax.nn.softplus(rec) - x * rec
  else:
    s = jnp.asarray(decoder_log_var, dtype)
    d = x - rec
    nll = 0.5 * (d * d * jnp.exp(-s) + s + math.log(2.0 * math.pi))
  recon = cm.per_example_sum(nll)
  kl_dims = _kl_per_dim(m, lv, None, None)
  fb = jnp.asarray(free_bits, dtype)
  # Select, not max: below the floor the KL gets no gradient (the free bits).
  kl_obj = jnp.sum(jnp.where(kl_dims > fb, kl_dims, fb), axis=-1)
  total = recon + jnp.asarray(kl_weight, dtype) * kl_obj
  out = reduce_loss(total, reduction, where=where, weights=weights)
  if not return_components:
    return out
  parts = {"reconstruction": reduce_loss(recon, reduction, where=where, weights=weights),
           "kl": reduce_loss(jnp.sum(kl_dims, axis=-1), reduction, where=where,
                             weights=weights)}
  return out, parts
