"""Landmark and heatmap regression losses: Wing loss and Adaptive Wing loss.

Both match mmpose 1.x (``mmpose.models.losses.WingLoss`` in ``regression_loss.py`` and
``mmpose.models.losses.AdaptiveWingLoss`` in ``heatmap_loss.py``); mmdetection has neither.
They are elementwise: ``reduction="none"`` returns one value per coordinate (or heatmap
pixel); differences from mmpose's normalisation are listed in each docstring's ``Notes``.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import debug_check_probabilities, loss_function, paired_inputs, reduce_loss
from jaxloss.catalog import register

__all__ = ["adaptive_wing_loss", "wing_loss"]

_WING = ("Feng et al., Wing Loss for Robust Facial Landmark Localisation with Convolutional "
         "Neural Networks, CVPR 2018")
_AWING = ("Wang, Bo & Fuxin, Adaptive Wing Loss for Robust Face Alignment via Heatmap "
          "Regression, ICCV 2019")
_TASKS = ("keypoint detection", "facial landmark localisation")


@register(tasks=_TASKS + ("bounding-box regression",), input_kind="values",
          peer="mmpose.models.losses.WingLoss (mmpose 1.x)", references=(_WING,))
@loss_function(ranges={"omega": "> 0", "epsilon": "> 0"})
def wing_loss(predictions, targets, *, omega=10.0, epsilon=2.0, weights=None, where=None,
              reduction="mean"):
  r"""Wing loss: logarithmic for small and medium errors, L1 for large ones.

  .. math::
    \ell = \begin{cases}
      \omega \log(1 + |d| / \epsilon) & |d| < \omega\\
      |d| - C & |d| \ge \omega
    \end{cases},\qquad C = \omega - \omega\log(1 + \omega/\epsilon),\ d = \hat y - y

  :math:`C` joins the two pieces continuously. Near 0 the gradient is
  :math:`\omega/\epsilon` (amplifying small errors, unlike L1/L2); beyond
  :math:`\omega` it is 1.

  Args:
    predictions: floating landmark coordinates (or any values), any shape,
      e.g. ``(N, K, 2)``.
    targets: targets of the same shape.
    omega: width of the logarithmic part > 0 (default 10.0); may be traced.
    epsilon: curvature of the logarithmic part > 0 (default 2.0); may be traced.
    weights: optional per-entry weights, broadcastable to ``predictions``.
    where: optional boolean mask, broadcastable to ``predictions``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` (per coordinate) for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``omega`` or ``epsilon`` not > 0.
    LossTypeError: ``predictions`` not floating.

  Notes:
    Matches ``mmpose.models.losses.WingLoss`` (same
    formula and defaults). Normalisation differs: mmpose sums over keypoints
    and coordinates and averages over the batch; that is ``reduction="sum"``
    divided by ``N`` here (our ``"mean"`` averages over every coordinate).
    mmpose's ``use_target_weight`` multiplies predictions and targets by the
    weight before the loss; our ``weights`` scale the loss values (use
    ``where`` to drop invisible keypoints).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> d = jnp.array([0.0, 1.0, 5.0, 20.0]); t = jnp.zeros(4)
    >>> print([round(v, 4) for v in jaxloss.wing_loss(d, t, reduction="none").tolist()])
    [0.0, 4.0547, 12.5276, 27.9176]
  """
  p, t = paired_inputs(predictions, targets, where)
  omega = jnp.asarray(omega, p.dtype)
  epsilon = jnp.asarray(epsilon, p.dtype)
  diff = jnp.abs(p - t)
  c = omega - omega * jnp.log1p(omega / epsilon)
  values = jnp.where(diff < omega, omega * jnp.log1p(diff / epsilon), diff - c)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_TASKS + ("dense prediction",), input_kind="values",
          peer="mmpose.models.losses.AdaptiveWingLoss (mmpose 1.x)", references=(_AWING,))
@loss_function(ranges={"alpha": "> 1", "omega": "> 0", "epsilon": "> 0", "theta": "> 0"})
def adaptive_wing_loss(predictions, targets, *, alpha=2.1, omega=14.0, epsilon=1.0, theta=0.5,
                       weights=None, where=None, reduction="mean"):
  r"""Adaptive Wing loss for heatmap regression: a Wing loss whose exponent adapts to the target.

  .. math::
    \ell = \begin{cases}
      \omega \log\!\big(1 + (|d|/\epsilon)^{\alpha - y}\big) & |d| < \theta\\
      A|d| - C & |d| \ge \theta
    \end{cases}

  with :math:`d = \hat y - y`, :math:`r = \theta/\epsilon`,
  :math:`A = \omega\,\frac{(\alpha - y)\, r^{\alpha - y - 1}}{\epsilon\,(1 + r^{\alpha - y})}`
  and :math:`C = \theta A - \omega\log(1 + r^{\alpha - y})`, which make the
  two pieces meet with a continuous value and slope at :math:`|d| = \theta`.
  On foreground pixels (:math:`y \to 1`, exponent :math:`\alpha - 1 \approx 1.1`)
  small errors keep a large gradient; on background (:math:`y = 0`, exponent
  2.1) the loss behaves like a squared error near 0.

  Args:
    predictions: floating predicted heatmaps, any shape (e.g. ``(N, H, W, K)``).
    targets: target heatmaps in [0, 1] of the same shape.
    alpha: exponent offset > 1 (default 2.1) so that :math:`\alpha - y > 1`
      for every target in [0, 1] (a smooth, zero-slope minimum); may be traced.
    omega: scale of the nonlinear part > 0 (default 14.0); may be traced.
    epsilon: error scale > 0 (default 1.0); may be traced.
    theta: threshold between the nonlinear and linear parts > 0 (default
      0.5); may be traced.
    weights: optional per-entry weights, broadcastable to ``predictions``.
    where: optional boolean mask, broadcastable to ``predictions``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` (per pixel) for "none".

  Raises:
    LossInputError: shape mismatch; a concrete hyperparameter out of range.
    LossTypeError: ``predictions`` not floating.

  Notes:
    Matches ``mmpose.models.losses.AdaptiveWingLoss`` (same formula and defaults, and
    its ``"mean"`` over every pixel). mmpose's ``use_target_weight`` multiplies
    heatmaps and targets by the keypoint weight before the loss; here
    ``weights`` scale the loss values and ``where`` drops entries. The
    gradient also flows into ``targets`` through the exponent, as in mmpose.
    The paper's weighted loss map (``W = 10`` on dilated foreground) is not
    built in: pass it as ``weights``. Targets are checked to lie in [0, 1]
    under ``jaxloss.set_checks``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([0.0, 0.1, 0.9, 0.2]); y = jnp.array([0.0, 0.0, 1.0, 1.0])
    >>> print([round(v, 4) for v in jaxloss.adaptive_wing_loss(p, y, reduction="none").tolist()])
    [0.0, 0.1108, 1.0701, 8.2998]
  """
  p, y = paired_inputs(predictions, targets, where)
  debug_check_probabilities("targets", y)
  dt = p.dtype
  alpha, omega, epsilon, theta = (jnp.asarray(v, dt) for v in (alpha, omega, epsilon, theta))
  diff = jnp.abs(p - y)
  expo = alpha - y
  r_pow = nx.safe_pow(theta / epsilon, expo)
  a = omega * expo * nx.safe_pow(theta / epsilon, expo - 1.0) / (epsilon * (1.0 + r_pow))
  c = theta * a - omega * jnp.log1p(r_pow)
  # safe_pow: (|d|/eps)^(alpha - y) has a finite (zero) gradient at d = 0. Double where:
  # the untaken power of a huge |d| would overflow and poison the gradient.
  small = diff < theta
  inner = omega * jnp.log1p(nx.safe_pow(jnp.where(small, diff, 0.0) / epsilon, expo))
  values = jnp.where(small, inner, a * diff - c)
  return reduce_loss(values, reduction, where=where, weights=weights)
