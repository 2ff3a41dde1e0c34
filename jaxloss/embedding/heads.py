"""Margin-softmax heads for face recognition / re-ID (ArcFace, sub-center ArcFace, CosFace,
SphereFace) and centre loss.

The class-centre matrix ``centers`` ``(C, D)`` (the margin heads' class weight
matrix, or the centre loss's centres) is an explicit argument -- in
pytorch-metric-learning it is a parameter hidden inside the loss module -- so
these losses stay pure functions: the caller owns the parameter and optimises
it with the rest of the model. Every sample's loss depends on itself and the
centres only; the catalog marks them ``per_example=False`` because the
contract's vmap maps over *every* positional argument (the centres included);
use ``jax.vmap(..., in_axes=(0, 0, None))`` to map them per example.

Angles are in RADIANS (``arcface_loss(margin=0.5)``); pytorch-metric-learning's
``ArcFaceLoss`` takes degrees (``margin=28.6``, converted with
``np.radians``), insightface takes radians.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    check_integer,
    check_rank,
    debug_check_labels,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import register
from jaxloss.embedding._common import _PML

__all__ = ["arcface_loss", "center_loss", "cosface_loss", "sphereface_loss",
           "subcenter_arcface_loss", "update_centers"]


def _check_head(embeddings, labels, centers):
  check_floating("embeddings", embeddings)
  check_rank("embeddings", embeddings, 2, "[N, D]")
  check_integer("labels", labels)
  n, d = embeddings.shape
  if tuple(jnp.shape(labels)) != (n,):
    raise LossInputError(
        f"labels has shape {tuple(jnp.shape(labels))}; expected ({n},) "
        f"(embeddings has shape {tuple(embeddings.shape)})")
  check_floating("centers", centers)
  if len(jnp.shape(centers)) != 2 or centers.shape[1] != d:
    raise LossInputError(
        f"centers has shape {tuple(jnp.shape(centers))}; expected (C, {d})")
  debug_check_labels(labels, centers.shape[0])
  dtype = nx.compute_dtype(embeddings, centers)
  return embeddings.astype(dtype), centers.astype(dtype)


def _check_multi_head(embeddings, labels, centers, k: int, k_name: str):
  """Validates ``K`` centres per class: ``centers`` ``(C * K, D)`` or ``(C, K, D)``.

  Returns ``(x, w)`` with ``w`` of shape ``(C, K, D)``. A 2-D matrix is split
  as pytorch-metric-learning splits its weight matrix (``view(-1, C, K)`` of
  the ``[N, C*K]`` cosines): rows ``c*K .. c*K + K - 1`` belong to class ``c``.
  """
  if k < 1:
    raise LossInputError(f"{k_name} must be >= 1, got {k}")
  check_floating("embeddings", embeddings)
  check_rank("embeddings", embeddings, 2, "[N, D]")
  d = embeddings.shape[1]
  shape = tuple(jnp.shape(centers))
  if len(shape) == 2 and shape[1] == d and shape[0] % k == 0 and shape[0] > 0:
    c2 = jnp.reshape(centers, (shape[0] // k, k, d))
  elif len(shape) == 3 and shape[1:] == (k, d):
    c2 = centers
  else:
    raise LossInputError(
        f"centers has shape {shape}; expected (C * {k_name}, {d}) or (C, {k_name}, {d}) "
        f"with {k_name}={k}")
  x, _ = _check_head(embeddings, labels, c2[:, 0])
  return x, c2.astype(x.dtype)


def _sin_of_angle(cos):
  """``sin(arccos(c)) = sqrt(1 - c^2)`` with a finite gradient at ``|c| >= 1``.

  The true derivative ``-c / sqrt(1 - c^2)`` is infinite at ``c = +-1`` (an
  embedding on its class centre); there (and where round-off makes ``|c|``
  exceed 1) the value is 0 and the gradient is masked to 0 (double where).
  Elsewhere it is exact, so no clamp shifts the value as ``arccos(clip(c, -1 +
  eps, 1 - eps))`` would (by ``sqrt(2 eps)`` in angle, 0.014 in a scale-64 logit
  at eps = 1e-7).
  """
  s2 = 1.0 - cos * cos
  ok = s2 > 0
  return jnp.where(ok, jnp.sqrt(jnp.where(ok, s2, 1.0)), 0.0)


def _clamp_cos(cos):
  """``cos`` clamped to [-1, 1] (PML's ``torch.clamp``); gradient 1 at exactly +-1 (clip: 1/2)."""
  return jnp.where(cos > 1.0, 1.0, jnp.where(cos < -1.0, -1.0, cos))


def _arcface_target(cos, margin):
  """pytorch-metric-learning's ArcFace target logit (insightface ``easy_margin=False``).

  ``cos(theta + m)`` while ``theta <= pi - m``; beyond, ``cos(theta) - m sin(m)``
  keeps the logit monotonically decreasing in ``theta`` (``cos(theta + m)``
  would rise again past ``pi``). ``cos(theta + m) = c cos m - sin(theta) sin m``
  needs no arccos; ``theta <= pi - m`` is ``c >= cos(pi - m) = -cos m``.
  """
  cos_m, sin_m = jnp.cos(margin), jnp.sin(margin)
  cos_t = _clamp_cos(cos)
  plus_margin = cos_t * cos_m - _sin_of_angle(cos) * sin_m
  return jnp.where(cos_t >= -cos_m, plus_margin, cos_t - margin * sin_m)


def _chebyshev(c, m: int):
  """``T_m(c) = cos(m arccos c)`` by the three-term recurrence (a polynomial: finite gradient)."""
  t_prev, t = jnp.ones_like(c), c
  if m == 0:
    return t_prev
  for _ in range(m - 1):
    t_prev, t = t, 2.0 * c * t - t_prev
  return t


def _margin_softmax(x, labels, w, target_fn, scale, where, weights, reduction,
                    scale_by_norm=False):
  """Cross-entropy of ``scale * logits`` where the target logit is ``target_fn(cos)``.

  ``w`` is ``[C, D]``, or ``[C, K, D]`` (sub-centres): then a class's cosine is
  the largest over its ``K`` sub-centres (gradient to the arg-max, as
  ``torch.max(dim)``).
  """
  x = nx.mask_fill(x, where, trailing=1)
  xn = nx.l2_normalize(x)
  if w.ndim == 3:
    cos = nx.max_select(jnp.einsum("nd,ckd->nck", xn, nx.l2_normalize(w)), axis=-1)
  else:
    cos = xn @ nx.l2_normalize(w).T                          # [N, C]
  onehot = jax.nn.one_hot(labels, w.shape[0], dtype=bool)
  cos_t = nx.take_along_last(cos, labels)
  logits = jnp.where(onehot, target_fn(cos_t)[:, None], cos)
  if scale_by_norm:
    logits = logits * nx.safe_norm(x, keepdims=True)
  logits = scale * logits
  values = jax.nn.logsumexp(logits, axis=-1) - nx.take_along_last(logits, labels)
  return reduce_loss(values, reduction, where=where, weights=weights)


_TASKS = ("face recognition", "re-identification", "metric learning", "image retrieval")


@register(tasks=_TASKS, peer="pytorch_metric_learning.losses.ArcFaceLoss (margin in degrees); "
                             "insightface ArcFace, easy_margin=False (radians)",
          references=("Deng et al., ArcFace: Additive Angular Margin Loss for Deep Face "
                      "Recognition, CVPR 2019", _PML),
          input_kind="embeddings")
@loss_function(ranges={"scale": "> 0"})
def arcface_loss(embeddings, labels, centers, *, margin=0.5, scale=64.0, weights=None,
                 where=None, reduction="mean"):
  r"""ArcFace: additive angular margin on the target class.

  .. math::
    \ell_i = -\log\frac{e^{s\,\phi(\theta_{y_i})}}
      {e^{s\,\phi(\theta_{y_i})} + \sum_{j \ne y_i} e^{s\cos\theta_j}},\qquad
    \phi(\theta) = \begin{cases}\cos(\theta + m) & \theta \le \pi - m\\
      \cos\theta - m \sin m & \theta > \pi - m\end{cases},\qquad
    \cos\theta_j = \hat x_i \cdot \hat c_j

  Past ``theta = pi - m``, ``cos(theta + m)`` would rise again (the target
  logit would reward moving *away* from the centre); the second branch keeps
  it monotonically decreasing in ``theta``. ``cos(theta + m)`` is computed as
  ``c cos m - sqrt(1 - c^2) sin m`` (no arccos), with the square root's
  infinite derivative at ``c = +-1`` (an embedding on its centre, or
  opposite) masked to 0: value exact, gradient finite.

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]`` in ``[0, C)``.
    centers: floating ``[C, D]`` class centres, the head's weight matrix
      (normalised inside).
    margin: additive angle in RADIANS (default 0.5 = 28.6 degrees); may be
      traced.
    scale: logit scale ``s`` > 0 (default 64.0); may be traced.
    weights: optional per-example weights ``[N]``.
    where: optional boolean ``[N]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[N]`` for "none".

  Raises:
    LossInputError: inconsistent shapes.

  Notes:
    Equals pytorch-metric-learning 2.9's ``ArcFaceLoss`` with
    ``margin=np.degrees(margin)`` (PML takes DEGREES, default 28.6) and its
    weight matrix ``W`` (``[D, C]``) passed transposed as ``centers``,
    including its ``theta + m > pi`` branch (``angles <= pi - m``, else
    ``cos(theta) - m sin(m)``). That branch is insightface's
    ``easy_margin=False`` setting (thresholds ``th = cos(pi - m)``,
    ``mm = sin(pi - m) m``) of its ArcFace / ``CombinedMarginLoss`` head
    (arcface_torch until Dec 2022; the current arcface_torch head applies
    plain ``cos(theta + m)``). ``easy_margin=True`` (margin only where
    ``cos theta > 0``) is not offered.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> w = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.arcface_loss(w, jnp.array([0, 1]), w, margin=0.5, scale=1.0))
    0.347685
  """
  x, w = _check_head(embeddings, labels, centers)
  return _margin_softmax(x, labels, w, lambda c: _arcface_target(c, margin), scale,
                         where, weights, reduction)


@register(tasks=_TASKS, peer="pytorch_metric_learning.losses.SubCenterArcFaceLoss "
                             "(margin in degrees)",
          references=("Deng et al., Sub-center ArcFace: Boosting Face Recognition by "
                      "Large-scale Noisy Web Faces, ECCV 2020", _PML),
          input_kind="embeddings")
@loss_function(static=("sub_centers",), ranges={"scale": "> 0"})
def subcenter_arcface_loss(embeddings, labels, centers, *, margin=0.5, scale=64.0, sub_centers=3,
                           weights=None, where=None, reduction="mean"):
  r"""Sub-center ArcFace: ArcFace on the closest of ``K`` sub-centres per class.

  .. math::
    \cos\theta_j = \max_{k} \hat x_i \cdot \hat c_{jk},\qquad
    \ell_i = -\log\frac{e^{s\,\phi(\theta_{y_i})}}
      {e^{s\,\phi(\theta_{y_i})} + \sum_{j \ne y_i} e^{s\cos\theta_j}}

  with ``phi`` the ArcFace target of :func:`arcface_loss` (``cos(theta + m)``
  while ``theta <= pi - m``, else ``cos(theta) - m sin m``): the same code
  path, with each class cosine the maximum over its sub-centres (the gradient
  goes to the arg-max sub-centre, as ``torch.max(dim)``). With
  ``sub_centers=1`` it is :func:`arcface_loss`.

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]`` in ``[0, C)``.
    centers: floating sub-centres, ``[C * K, D]`` (rows ``c*K .. c*K + K - 1``
      are class ``c``'s, the layout of pytorch-metric-learning's weight matrix
      ``W`` ``[D, C*K]`` transposed) or ``[C, K, D]``; ``K = sub_centers``.
      Normalised inside.
    margin: additive angle in RADIANS (default 0.5, as :func:`arcface_loss`);
      may be traced.
    scale: logit scale ``s`` > 0 (default 64.0); may be traced.
    sub_centers: ``K`` >= 1 sub-centres per class (default 3), static.
    weights: optional per-example weights ``[N]``.
    where: optional boolean ``[N]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[N]`` for "none".

  Raises:
    LossInputError: inconsistent shapes (``centers`` neither ``[C*K, D]`` nor
      ``[C, K, D]``).

  Notes:
    Equals pytorch-metric-learning 2.9's ``SubCenterArcFaceLoss(num_classes=C,
    sub_centers=K, margin=np.degrees(margin), scale=scale)`` with ``W.T`` as
    ``centers`` (default reducer: the mean over the batch). PML takes the
    margin in DEGREES, default 28.6 = 0.49916 rad; the default here is 0.5 rad
    (28.65 degrees), the papers' and :func:`arcface_loss`'s -- pass
    ``margin=np.radians(28.6)`` for PML's default exactly. PML's
    ``get_outliers`` (dropping samples far from the dominant sub-centre, for
    cleaning a data set between trainings) is not a loss and is not provided.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> w = jnp.array([[[1., 0.], [0.6, 0.8]], [[0., 1.], [-1., 0.]]])
    >>> x = jnp.array([[0.6, 0.8], [0., 1.]])
    >>> print(round(float(jaxloss.subcenter_arcface_loss(x, jnp.array([0, 1]), w,
    ...                                                   sub_centers=2, scale=1.0)), 4))
    0.6551
  """
  x, w = _check_multi_head(embeddings, labels, centers, int(sub_centers), "sub_centers")
  return _margin_softmax(x, labels, w, lambda c: _arcface_target(c, margin), scale,
                         where, weights, reduction)


@register(tasks=_TASKS, peer="pytorch_metric_learning.losses.CosFaceLoss",
          references=("Wang et al., CosFace: Large Margin Cosine Loss for Deep Face "
                      "Recognition, CVPR 2018", _PML),
          input_kind="embeddings")
@loss_function(ranges={"scale": "> 0"})
def cosface_loss(embeddings, labels, centers, *, margin=0.35, scale=64.0, weights=None,
                 where=None, reduction="mean"):
  r"""CosFace (large-margin cosine loss): additive cosine margin on the target.

  .. math::
    \ell_i = -\log\frac{e^{s(\cos\theta_{y_i} - m)}}
      {e^{s(\cos\theta_{y_i} - m)} + \sum_{j \ne y_i} e^{s\cos\theta_j}}

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]`` in ``[0, C)``.
    centers: floating ``[C, D]`` class centres, the head's weight matrix
      (normalised inside).
    margin: cosine margin (default 0.35); may be traced.
    scale: > 0 (default 64.0); may be traced.
    weights: optional per-example weights ``[N]``.
    where: optional boolean ``[N]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[N]`` for "none".

  Raises:
    LossInputError: inconsistent shapes.

  Notes:
    Equals pytorch-metric-learning 2.9's ``CosFaceLoss(margin=0.35,
    scale=64)`` (same defaults; the margin acts on the cosine, so there is no
    angle to correct as in ArcFace); its weight matrix ``W`` (``[D, C]``) is
    ``centers`` transposed.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> w = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.cosface_loss(w, jnp.array([0, 1]), w, scale=1.0))
    0.420055
  """
  x, w = _check_head(embeddings, labels, centers)
  return _margin_softmax(x, labels, w, lambda c: c - margin, scale, where, weights, reduction)


@register(tasks=_TASKS, peer="pytorch_metric_learning.losses.SphereFaceLoss",
          references=("Liu et al., SphereFace: Deep Hypersphere Embedding for Face "
                      "Recognition, CVPR 2017", _PML),
          input_kind="embeddings")
@loss_function(static=("margin",), ranges={"margin": ">= 1", "scale": "> 0"})
def sphereface_loss(embeddings, labels, centers, *, margin=4, scale=1.0, weights=None,
                    where=None, reduction="mean"):
  r"""SphereFace (A-Softmax): multiplicative angular margin on the target.

  .. math::
    \ell_i = -\log\frac{e^{s\|x_i\|\psi(\theta_{y_i})}}
      {e^{s\|x_i\|\psi(\theta_{y_i})} + \sum_{j\ne y_i} e^{s\|x_i\|\cos\theta_j}},\quad
    \psi(\theta) = (-1)^k\cos(m\theta) - 2k,\ k = \lfloor m\theta/\pi \rfloor

  The class centres (the head's weight rows) are normalised, embeddings are
  not (their norm scales the logits). ``cos(m theta)`` is the Chebyshev
  polynomial ``T_m(cos theta)`` (the paper's multiple-angle formula, Eq. 7),
  so the differentiated path has no arccos and the gradient is exact and
  finite at ``cos theta = +-1``; ``k`` (piecewise constant) uses arccos
  without a gradient. ``psi`` is continuous and decreasing on ``[0, pi]``.

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]`` in ``[0, C)``.
    centers: floating ``[C, D]`` class centres, the head's weight matrix
      (normalised inside).
    margin: integer angular multiplier ``m`` >= 1 (default 4), static.
    scale: extra logit scale (default 1.0); may be traced.
    weights: optional per-example weights ``[N]``.
    where: optional boolean ``[N]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[N]`` for "none".

  Raises:
    LossInputError: inconsistent shapes.

  Notes:
    Equals pytorch-metric-learning 2.9's ``SphereFaceLoss(margin=4, scale=1)``
    (its ``LargeMarginSoftmaxLoss`` with normalised weights: the same
    binomial form of ``cos(m theta)``, ``k = floor(theta / (pi / m))`` from
    the cosine clamped to [-1, 1], no gradient through ``k``); its weight
    matrix ``W`` (``[D, C]``) is ``centers`` transposed.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> w = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.sphereface_loss(w, jnp.array([0, 1]), w))
    0.313262
  """
  x, w = _check_head(embeddings, labels, centers)
  m = int(margin)

  def psi(c):
    # k is piecewise constant (no gradient), computed as PML does.
    theta = jnp.arccos(_clamp_cos(jax.lax.stop_gradient(c)))
    k = jnp.floor(theta / (jnp.pi / m))
    sign = 1.0 - 2.0 * jnp.mod(k, 2.0)
    return sign * _chebyshev(c, m) - 2.0 * k

  return _margin_softmax(x, labels, w, psi, scale, where, weights, reduction,
                         scale_by_norm=True)


@register(tasks=("face recognition", "re-identification", "metric learning"),
          input_kind="embeddings", peer="pytorch_metric_learning CenterLoss-style regularizer "
                                        "(Wen et al. reference code: 1/2 ||x - c_y||^2)",
          references=("Wen et al., A Discriminative Feature Learning Approach for Deep Face "
                      "Recognition, ECCV 2016",))
@loss_function
def center_loss(embeddings, labels, centers, *, weights=None, where=None, reduction="mean"):
  r"""Centre loss (Wen et al. 2016): squared distance to the class centre.

  .. math::
    \ell_i = \tfrac12 \|x_i - c_{y_i}\|_2^2

  The centres are an explicit argument. In the paper they are not learned by
  the optimiser but moved towards the batch means by :func:`update_centers`
  (call it outside the gradient, e.g. ``centers = update_centers(x, y,
  centers, alpha=0.5)`` after each step, with ``jax.lax.stop_gradient``
  applied to the centres inside the loss if they should receive no gradient).
  Usually added to softmax cross-entropy with a weight lambda.

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]`` in ``[0, C)``.
    centers: floating ``[C, D]``.
    weights: optional per-example weights ``[N]``.
    where: optional boolean ``[N]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[N]`` for "none". (The paper's ``L_C`` is the
    "sum".)

  Raises:
    LossInputError: inconsistent shapes.

  Notes:
    Wen et al.'s Eq. 2.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> c = jnp.array([[0., 0.], [1., 1.]])
    >>> print(jaxloss.center_loss(jnp.array([[3., 4.], [1., 1.]]), jnp.array([0, 1]), c,
    ...                           reduction="none"))
    [12.5  0. ]
  """
  x, c = _check_head(embeddings, labels, centers)
  x = nx.mask_fill(x, where, trailing=1)
  diff = x - c[jnp.clip(labels, 0, c.shape[0] - 1)]
  diff = nx.mask_fill(diff, where, trailing=1)
  values = 0.5 * jnp.sum(diff * diff, axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


@jax.jit
def _update_centers(embeddings, labels, centers, alpha, valid):
  c = centers.shape[0]
  onehot = jax.nn.one_hot(labels, c, dtype=centers.dtype) * valid[:, None]
  counts = jnp.sum(onehot, axis=0)
  # delta_j = sum_i [y_i = j] (c_j - x_i) / (1 + n_j)        (Wen et al., Eq. 4)
  delta = (counts[:, None] * centers - onehot.T @ embeddings) / (1.0 + counts[:, None])
  return centers - alpha * delta


def update_centers(embeddings, labels, centers, *, alpha=0.5, where=None):
  r"""The centre update of Wen et al. (Eq. 4) as a pure function.

  .. math::
    \Delta c_j = \frac{\sum_i [y_i = j](c_j - x_i)}{1 + \sum_i [y_i = j]},\qquad
    c_j \leftarrow c_j - \alpha \Delta c_j

  Classes absent from the batch keep their centre. No gradient flows
  (``stop_gradient`` on the inputs).

  Args:
    embeddings: ``[N, D]``.
    labels: integer ``[N]``.
    centers: ``[C, D]``.
    alpha: centre learning rate (default 0.5); may be traced.
    where: optional boolean ``[N]``; False rows are ignored.

  Returns:
    The new centres ``[C, D]``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> c = jnp.zeros((2, 2))
    >>> print(jaxloss.update_centers(jnp.array([[2., 2.]]), jnp.array([1]), c, alpha=1.0))
    [[0. 0.]
     [1. 1.]]
  """
  dtype = nx.compute_dtype(embeddings, centers)
  x = jax.lax.stop_gradient(jnp.asarray(embeddings).astype(dtype))
  c = jax.lax.stop_gradient(jnp.asarray(centers).astype(dtype))
  n = x.shape[0]
  valid = jnp.ones((n,), dtype) if where is None else jnp.asarray(where, dtype)
  x = jnp.where(valid[:, None] > 0, x, 0.0)
  return _update_centers(x, labels, c, jnp.asarray(alpha, dtype), valid)
