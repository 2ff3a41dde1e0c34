"""Lovász losses: the exact Lovász extension of the Jaccard loss (Berman et al.).

The Jaccard loss :math:`\\Delta_J` is a submodular set function of the
mispredicted pixels; its Lovász extension is the piecewise-linear convex
surrogate

.. math::
  \\bar\\Delta_J(m) = \\sum_{i=1}^{N} m_{\\pi(i)}\\, g_i(m),\\quad
  g_i = \\Delta_J(\\{\\pi(1), \\dots, \\pi(i)\\}) - \\Delta_J(\\{\\pi(1), \\dots, \\pi(i-1)\\})

with :math:`\\pi` sorting the errors :math:`m` in decreasing order. The
permutation is computed without gradient; the loss is then an ordinary dot
product, so its autodiff gradient is the extension's (sub)gradient ``g``.
Ties are broken by the pixel's flat index (a stable sort), so the gradient
is deterministic; the value does not depend on the order of ties (tied
errors are equal, so any order of them gives the same sum).

For float32 errors the sort is one ascending sort of a uint64 key per pixel
packing the error's bits, the flat index and the foreground bit
(:func:`_pack_keys`): the sorted keys give back the sorted errors exactly,
the foreground bits and the permutation, with no argsort and no gathers, and
all classes (and images) are sorted in one batched call. The gradient is a
custom JVP (the Jaccard increments scattered back through the permutation).
Float64 errors take the argsort path (:func:`_lovasz_flat`); both give the
same value and the same gradient, ties included.

Pixels are ignored (``ignore_index``) by sorting them after every valid
pixel with a zero error and zero target, which leaves the extension over the
valid pixels unchanged, so shapes stay static under ``jit``; their scores are
zero-filled before the softmax, so a NaN there reaches neither the value nor
the gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    check_integer,
    check_min_rank,
    debug_check_in_set,
    debug_check_labels,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.segmentation import _common as cm

__all__ = ["lovasz_hinge_loss", "lovasz_softmax_loss"]

_BERMAN = ("Berman, Rannen Triki & Blaschko, The Lovász-Softmax loss: A tractable surrogate "
           "for the optimization of the intersection-over-union measure in neural networks, "
           "CVPR 2018")


def _lovasz_flat(errors, fg, valid):
  """Lovász extension of the Jaccard loss over one flat set of pixels (reference path).

  ``errors``, ``fg`` (0/1 floats) and ``valid`` (bool) have shape ``(N,)``;
  the result is ``sum_i errors_sorted[i] * grad[i]`` over the valid pixels.
  Used for float64 errors and sets of more than ``2**31`` pixels, where the
  errors and the index do not fit one 64-bit sort key (:func:`_lovasz_sets`).
  """
  key = jnp.where(valid, errors, -jnp.inf)
  perm = jnp.argsort(-jax.lax.stop_gradient(key), stable=True)
  e = jnp.where(valid, errors, 0.0)[perm]
  g = fg[perm]
  v = valid[perm].astype(e.dtype)
  gts = jnp.sum(g)
  inter = gts - jnp.cumsum(g)
  union = gts + jnp.cumsum((1.0 - g) * v)
  jac = 1.0 - nx.safe_div(inter, union)
  grad = jnp.concatenate([jac[:1], jac[1:] - jac[:-1]])
  return jnp.sum(e * jax.lax.stop_gradient(grad * v))


# ---- fast path: one packed 64-bit key per pixel ---------------------------
#
# XLA:CPU sorts a single operand of a primitive type with a plain std::sort,
# but a sort with payloads (argsort, or keys plus values) goes through a
# generic comparator callback and is 5-10x slower. So each pixel's error, its
# flat index and its foreground bit are packed into ONE uint64 key
#
#   key = (0x7FFFFFFF - bits(error)) << 32 | index << 1 | fg     (valid pixel)
#   key = 0xFFFFFFFF << 32 | index << 1 | fg                      (ignored pixel)
#
# For a non-negative float32 the bit pattern is monotone in the value, so an
# ascending sort of the keys orders the pixels by decreasing error, ties by
# increasing flat index (exactly the stable argsort of the reference path),
# with ignored pixels last. The sorted key alone gives back the sorted errors
# (exactly: a bit pattern), the foreground bits and the permutation, so no
# gather is needed; the gradient (a custom JVP, linear in the tangent) gathers
# the tangents through the permutation, which transposes to one scatter.


def _pack_keys(errors, fg, valid):
  """uint64 keys for float32 ``errors`` / bool ``fg`` / bool ``valid`` of shape (S, N)."""
  bits = jax.lax.bitcast_convert_type(errors, jnp.uint32) & jnp.uint32(0x7FFFFFFF)
  hi = jnp.where(valid, jnp.uint32(0x7FFFFFFF) - bits, jnp.uint32(0xFFFFFFFF))
  lo = (jax.lax.broadcasted_iota(jnp.uint32, errors.shape, errors.ndim - 1) << 1) \
      | fg.astype(jnp.uint32)
  # uint64 needs the x64 switch while tracing; nothing 64-bit leaves this block.
  with jax.enable_x64(True):
    key = (hi.astype(jnp.uint64) << jnp.uint64(32)) | lo.astype(jnp.uint64)
    key = jax.lax.sort(key, dimension=errors.ndim - 1, is_stable=False)   # keys are unique
    hi_s = (key >> jnp.uint64(32)).astype(jnp.uint32)
    lo_s = key.astype(jnp.uint32)
  return hi_s, lo_s


def _lovasz_weights(errors, fg, valid):
  """Sorted errors, Jaccard increments (0 at ignored pixels) and permutation, per row."""
  hi_s, lo_s = _pack_keys(errors, fg, valid)
  v_s = hi_s < jnp.uint32(0x80000000)
  e_s = jnp.where(v_s, jax.lax.bitcast_convert_type(jnp.uint32(0x7FFFFFFF) - hi_s,
                                                    jnp.float32), 0.0)
  g_s = (lo_s & jnp.uint32(1)).astype(jnp.int32)
  perm = (lo_s >> 1).astype(jnp.int32)
  # Ignored pixels sort last, so among the first r + 1 sorted pixels of a row
  # with r < (valid count) there are cumfg foreground and r + 1 - cumfg others:
  # one exact integer cumsum instead of two float ones.
  cumfg = jnp.cumsum(g_s, axis=-1)
  rank = jax.lax.broadcasted_iota(jnp.int32, g_s.shape, g_s.ndim - 1) + 1
  gts = cumfg[..., -1:]
  inter = (gts - cumfg).astype(jnp.float32)
  union = (gts + rank - cumfg).astype(jnp.float32)
  jac = 1.0 - nx.safe_div(inter, union)
  prev = jnp.concatenate([jnp.zeros_like(jac[..., :1]), jac[..., :-1]], axis=-1)
  w = jnp.where(v_s, jac - prev, 0.0)
  return e_s, w, perm


@jax.custom_jvp
def _lovasz_sets(errors, fg, valid):
  """The extension of each row of float32 ``errors`` (S, N); ``fg``, ``valid`` bool (S, N)."""
  e_s, w, _ = _lovasz_weights(errors, fg, valid)
  return jnp.sum(e_s * w, axis=-1)


@_lovasz_sets.defjvp
def _lovasz_sets_jvp(primals, tangents):
  errors, fg, valid = primals
  e_s, w, perm = _lovasz_weights(errors, fg, valid)
  # Linear in the tangent: under grad this transposes to one scatter of w.
  t = jnp.take_along_axis(tangents[0], perm, axis=-1, mode="promise_in_bounds")
  return jnp.sum(e_s * w, axis=-1), jnp.sum(t * w, axis=-1)


def _lovasz_rows(errors, fg, valid):
  """Extension of each row of ``errors`` (S, N) (``fg`` 0/1 floats, ``valid`` bool)."""
  if errors.dtype == jnp.float32 and errors.shape[-1] < 2**31:
    return _lovasz_sets(errors, (fg > 0) & valid, valid)
  return jax.vmap(_lovasz_flat)(errors, fg, valid)


def _mask_images(x, where, per_image):
  if where is None or not per_image:
    return x if where is None else nx.mask_fill(x, where, trailing=x.ndim)
  return nx.mask_fill(x, where, trailing=x.ndim - 1)


@register(tasks=cm.TASKS, input_kind="logits",
          peer="Berman et al. lovasz_softmax; segmentation_models_pytorch LovaszLoss "
               "(multiclass)",
          references=(_BERMAN, SURVEY))
@loss_function(static=("activation", "classes", "per_image", "ignore_index"),
               choices={"activation": ("softmax", None)})
def lovasz_softmax_loss(logits, labels, *, activation="softmax", classes="present",
                        per_image=False, ignore_index=None, where=None, reduction="mean"):
  r"""Lovász-softmax loss: the Lovász extension of the per-class Jaccard loss.

  For each class :math:`c`, with errors :math:`m_i(c) = |[y_i = c] - p_{ic}|`:

  .. math::
    \ell = \frac{1}{|\mathcal{C}|} \sum_{c \in \mathcal{C}}
           \bar\Delta_{J_c}\big(m(c)\big)

  over the pixels of the whole batch (``per_image=False``) or of each image
  (``per_image=True``, then averaged over images). :math:`\mathcal{C}` is the
  classes present in the (valid pixels of the) set (``"present"``), all
  classes (``"all"``), or a given tuple of class ids. A set with no valid
  pixel, or no present class, scores 0 with a zero gradient.

  A surrogate of the per-class IoU itself, so rare classes weigh as much as
  frequent ones under class imbalance.

  Args:
    logits: ``(B, *spatial, C)`` scores, ``C >= 2`` (probabilities with
      ``activation=None``).
    labels: integer ``(B, *spatial)`` class ids.
    activation: "softmax" (default) | None.
    classes: "present" (default) | "all" | static tuple of class ids.
    per_image: one loss per image, averaged (default False: one over the batch).
    ignore_index: label whose pixels are excluded (Berman's ``ignore``).
    where: boolean mask over the unreduced loss: ``(B,)`` images with
      ``per_image``; a scalar otherwise.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; for "none", ``(B,)`` with ``per_image`` and a
    scalar otherwise.

  Raises:
    LossInputError: labels not of shape ``logits.shape[:-1]``; ``C < 2``.
    LossTypeError: logits not floating or labels not integer.

  Notes:
    Equals the authors' ``lovasz_softmax(probas, labels, classes, per_image,
    ignore)`` applied to softmax probabilities, and segmentation_models_pytorch
    ``LovaszLoss(mode="multiclass")``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]]])   # (1, 3, 2)
    >>> print(jaxloss.lovasz_softmax_loss(p, jnp.array([[0, 1, 1]]), activation=None))
    0.5
  """
  check_floating("logits", logits)
  check_integer("labels", labels)
  check_min_rank("logits", logits, 2, "(B, *spatial, C)")
  if labels.shape != logits.shape[:-1]:
    raise LossInputError(
        f"labels has shape {labels.shape} but logits has shape {logits.shape}; expected "
        f"integer labels of shape {logits.shape[:-1]}")
  num = logits.shape[-1]
  if num < 2:
    raise LossInputError(f"logits has shape {logits.shape}; expected C >= 2 classes "
                         "(use lovasz_hinge_loss for binary segmentation)")
  if isinstance(classes, str):
    if classes not in ("present", "all"):
      raise LossInputError(f"classes must be 'present', 'all' or a tuple, got {classes!r}")
    cls = tuple(range(num))
  else:
    cls = tuple(int(c) for c in classes)
  debug_check_labels(labels, num, ignore_index)
  dtype = nx.compute_dtype(logits)
  valid, ids = nx.class_ids(labels, ignore_index)
  # Ignored pixels' scores are zero-filled before the softmax (double where).
  x = nx.mask_fill(_mask_images(logits.astype(dtype), where, per_image), valid, trailing=1)
  probs = x if activation is None else jax.nn.softmax(x, axis=-1)
  valid = jnp.ones(labels.shape, bool) if valid is None else valid
  idx = jnp.asarray(cls)
  fg = ((ids[..., None] == idx) & valid[..., None]).astype(dtype)
  errors = jnp.abs(fg - probs[..., idx])

  k = len(cls)
  b = logits.shape[0] if per_image else 1
  # Sets (per image or the whole batch) x classes as rows: (b, K, n), one
  # batched sort over all of them.
  err = jnp.moveaxis(errors.reshape(b, -1, k), 1, 2)
  f = jnp.moveaxis(fg.reshape(b, -1, k), 1, 2)
  v = jnp.broadcast_to(valid.reshape(b, 1, -1), err.shape)
  per_class = _lovasz_rows(err.reshape(b * k, -1), f.reshape(b * k, -1),
                           v.reshape(b * k, -1)).reshape(b, k)
  if classes == "present":
    use = jnp.any(f > 0, axis=-1).astype(dtype)
    values = nx.safe_div(jnp.sum(per_class * use, axis=-1), jnp.sum(use, axis=-1))
  else:
    values = jnp.mean(per_class, axis=-1)
  if not per_image:
    values = values[0]
  return reduce_loss(values, reduction, where=where)


@register(tasks=("binary segmentation", *cm.TASKS),
          input_kind="logits",
          peer="Berman et al. lovasz_hinge; segmentation_models_pytorch LovaszLoss (binary)",
          references=(_BERMAN, SURVEY))
@loss_function(static=("per_image", "ignore_index"))
def lovasz_hinge_loss(logits, labels, *, per_image=True, ignore_index=None, where=None,
                      reduction="mean"):
  r"""Lovász hinge loss for binary segmentation (foreground Jaccard).

  With signs :math:`s_i = 2 y_i - 1` and hinge errors
  :math:`m_i = \max(0, 1 - s_i x_i)`:

  .. math::
    \ell = \bar\Delta_J(m)

  over each image (``per_image=True``, then averaged over images) or the
  whole batch. An image with no valid pixel scores 0 with a zero gradient.

  Args:
    logits: ``(B, *spatial)`` foreground scores (a trailing channel of size 1
      is just another axis).
    labels: 0/1 labels of the same shape (integer, or floating 0/1).
    per_image: one loss per image, averaged (default True, as Berman et al.).
    ignore_index: label whose pixels are excluded.
    where: boolean mask over the unreduced loss: ``(B,)`` images with
      ``per_image``; a scalar otherwise.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; for "none", ``(B,)`` with ``per_image`` and a
    scalar otherwise.

  Raises:
    LossInputError: labels shape differs from logits shape.
    LossTypeError: logits not floating.

  Notes:
    Equals the authors' ``lovasz_hinge(logits, labels, per_image, ignore)``
    and segmentation_models_pytorch ``LovaszLoss(mode="binary")``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[2., -1., 0.5, -3.]])
    >>> print(jaxloss.lovasz_hinge_loss(logits, jnp.array([[1, 0, 0, 0]])))
    0.75
  """
  check_floating("logits", logits)
  check_min_rank("logits", logits, 2, "(B, *spatial)")
  if labels.shape != logits.shape:
    raise LossInputError(
        f"labels has shape {labels.shape} but logits has shape {logits.shape}; expected "
        f"labels of shape {logits.shape}")
  dtype = nx.compute_dtype(logits)
  valid, ids = nx.class_ids(labels, ignore_index)
  debug_check_in_set("labels", ids, (0, 1))
  x = nx.mask_fill(_mask_images(logits.astype(dtype), where, per_image), valid)
  valid = jnp.ones(labels.shape, bool) if valid is None else valid
  y = ids.astype(dtype)
  errors = jax.nn.relu(1.0 - x * (2.0 * y - 1.0))
  b = logits.shape[0] if per_image else 1
  values = _lovasz_rows(errors.reshape(b, -1), y.reshape(b, -1), valid.reshape(b, -1))
  if not per_image:
    values = values[0]
  return reduce_loss(values, reduction, where=where)
