"""Robust losses: label noise, curricula and adversarial perturbations.

The survey's "robust loss functions" direction (Elharrouss et al. 2025):

* noisy labels — :func:`generalized_cross_entropy` (Zhang & Sabuncu 2018),
  :func:`symmetric_cross_entropy` (Wang et al. 2019),
  :func:`bi_tempered_logistic_loss` (Amid et al. 2019);
* curricula — :func:`self_paced_weights` and :func:`curriculum_threshold`;
* adversarial perturbations — :func:`fgsm_perturbation`,
  :func:`pgd_perturbation`, :func:`adversarial_training_loss` (Madry et al.
  2018) and :func:`trades_loss` (Zhang et al. 2019), built on a user-supplied
  model function (a closure over parameters, so ``jax.grad`` w.r.t. the
  parameters works).

Classification conventions as in :mod:`jaxloss.classification`: logits
``[..., C]``, labels integer ``[...]`` or one-hot/soft ``[..., C]``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    class_labels,
    debug_check_labels,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import register

__all__ = [
    "adversarial_training_loss", "bi_tempered_logistic_loss", "curriculum_threshold",
    "fgsm_perturbation", "generalized_cross_entropy", "pgd_perturbation",
    "self_paced_weights", "symmetric_cross_entropy", "trades_loss",
]


def _targets(fn_name, logits, labels, dtype):
  """Dense float targets from integer ids or one-hot/soft labels."""
  kind = class_labels(fn_name, logits, labels)
  if kind == "int":
    debug_check_labels(labels, logits.shape[-1])
    return jax.nn.one_hot(labels, logits.shape[-1], dtype=dtype)
  return labels.astype(dtype)


def _cls_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  return (logits, labels), {}


def _cls_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  onehot = jax.nn.one_hot(labels, 5)
  return [((logits * 1e4, labels), {}),
          ((jnp.where(onehot > 0, 1e4, -1e4), labels), {}),      # perfect, saturated
          ((jnp.where(onehot > 0, -1e4, 1e4), labels), {}),      # confidently wrong
          ((logits, jax.nn.softmax(logits)), {})]


_CLS = dict(family="adaptive", input_kind="logits", example=_cls_example,
            edge_cases=_cls_edges, where_trailing=1)


@register(tasks=("image classification", "learning with noisy labels"),
          peer="keras.losses.CategoricalGeneralizedCrossEntropy (from logits)",
          references=("Zhang & Sabuncu, Generalized Cross Entropy Loss for Training Deep "
                      "Neural Networks with Noisy Labels, NeurIPS 2018",),
          efficiency=("high", "one log-softmax"),
          complexity=("low", "one exponent q"),
          stability=("high", "bounded loss (<= 1/q) and gradient"), **_CLS)
@loss_function(ranges={"q": "[0, 1]"})
def generalized_cross_entropy(logits, labels, *, q=0.5, weights=None, where=None,
                              reduction="mean"):
  r"""Generalized cross-entropy :math:`L_q`, robust to label noise.

  .. math::
    \ell = \sum_c y_c \frac{1 - p_c^{\,q}}{q}, \qquad p = \operatorname{softmax}(z)

  ``q -> 0`` is the cross-entropy, ``q = 1`` the (noise-robust) MAE on
  probabilities. Computed as ``-expm1(q log p) / q`` from the log-softmax, so
  it is exact for tiny ``q`` and finite for saturated logits; ``q = 0`` is
  the cross-entropy exactly.

  Args:
    logits: ``[..., C]``.
    labels: integer ``[...]`` or one-hot/soft ``[..., C]``.
    q: in [0, 1] (default 0.5, Keras'; the paper uses 0.7); may be traced.
    weights: optional per-example weights over ``[...]``.
    where: optional boolean mask over ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: label shape mismatch; concrete ``q`` outside [0, 1].

  References:
    Zhang & Sabuncu 2018, Eq. 6. Matches Keras
    ``CategoricalGeneralizedCrossEntropy(q)`` (which takes probabilities).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.log(jnp.array([[0.25, 0.75]]))
    >>> print(jaxloss.generalized_cross_entropy(logits, jnp.array([1]), q=0.5))
    0.2679
  """
  check_floating("logits", logits)
  dtype = nx.compute_dtype(logits)
  y = _targets("generalized_cross_entropy", logits, labels, dtype)
  x = nx.mask_fill(logits.astype(dtype), where, trailing=1)
  logp = jax.nn.log_softmax(x, axis=-1)
  q = jnp.asarray(q, dtype)
  safe_q = jnp.where(q > 0, q, 1.0)
  per_class = jnp.where(q > 0, -jnp.expm1(safe_q * logp) / safe_q, -logp)
  values = jnp.sum(y * per_class, axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("image classification", "learning with noisy labels"),
          peer="Wang et al. 2019 reference implementation (A = -4)",
          references=("Wang et al., Symmetric Cross Entropy for Robust Learning with Noisy "
                      "Labels, ICCV 2019",),
          efficiency=("high", "one log-softmax"),
          complexity=("medium", "alpha, beta and the log-zero clamp A"),
          stability=("high", "reverse term is bounded"), **_CLS)
@loss_function
def symmetric_cross_entropy(logits, labels, *, alpha=0.1, beta=1.0, log_zero=-4.0,
                            weights=None, where=None, reduction="mean"):
  r"""Symmetric cross-entropy: CE plus the reverse CE of labels given predictions.

  .. math::
    \ell = \alpha\Big(-\sum_c y_c \log p_c\Big) + \beta\Big(-\sum_c p_c \max(\log y_c, A)\Big)

  The reverse term treats the (possibly noisy) label as the prediction;
  ``log 0`` is clamped to ``A = log_zero`` (-4 in the paper), so for a
  one-hot label it equals ``-A (1 - p_y)``.

  Args:
    logits: ``[..., C]``.
    labels: integer ``[...]`` or one-hot/soft ``[..., C]``.
    alpha: weight of the CE term (default 0.1, the paper's CIFAR-10 value).
    beta: weight of the reverse CE (default 1.0).
    log_zero: the clamp ``A`` of ``log 0`` (default -4).
    weights: optional per-example weights over ``[...]``.
    where: optional boolean mask over ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: label shape mismatch.

  References:
    Wang et al. 2019, Eq. 5–6.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.log(jnp.array([[0.25, 0.75]]))
    >>> print(jaxloss.symmetric_cross_entropy(logits, jnp.array([1])))
    1.0287682
  """
  check_floating("logits", logits)
  dtype = nx.compute_dtype(logits)
  y = _targets("symmetric_cross_entropy", logits, labels, dtype)
  x = nx.mask_fill(logits.astype(dtype), where, trailing=1)
  logp = jax.nn.log_softmax(x, axis=-1)
  ce = -jnp.sum(y * logp, axis=-1)
  log_y = jnp.maximum(nx.safe_log(y), log_zero)
  rce = -jnp.sum(jnp.exp(logp) * log_y, axis=-1)
  return reduce_loss(alpha * ce + beta * rce, reduction, where=where, weights=weights)


def _log_t(u, t):
  """Tempered log ``(u^{1-t} - 1)/(1 - t)``; ``log`` at ``t = 1``."""
  one = jnp.abs(1.0 - t) < 1e-6
  s = jnp.where(one, 0.5, 1.0 - t)
  u = jnp.maximum(u, nx.tiny(u.dtype))
  return jnp.where(one, jnp.log(u), (u ** s - 1.0) / s)


def _exp_t(u, t):
  """Tempered exp ``[1 + (1-t) u]_+^{1/(1-t)}``; ``exp`` at ``t = 1``."""
  one = jnp.abs(1.0 - t) < 1e-6
  s = jnp.where(one, 0.5, 1.0 - t)
  base = jnp.maximum(1.0 + s * jnp.where(one, 0.0, u), 0.0)
  # base ** (1/s) with a zero base and 1/s < 0 (t > 1) is +inf; for t > 1 the
  # base is >= 1 whenever u >= 0 and the normalisation keeps u <= 0 there.
  safe_base = jnp.where(base > 0, base, 1.0)
  powed = jnp.where(base > 0, safe_base ** (1.0 / s), 0.0)
  return jnp.where(one, jnp.exp(jnp.where(one, u, 0.0)), powed)


def _tempered_softmax(x, t, num_iters):
  """Normalised ``exp_t(x - lambda(x))`` for ``t >= 1`` by Amid et al.'s fixed point."""
  mu = nx.max_select(x, axis=-1, keepdims=True)
  a0 = x - mu

  def body(_, a):
    z = jnp.sum(_exp_t(a, t), axis=-1, keepdims=True)
    return a0 * z ** (1.0 - t)

  a = jax.lax.fori_loop(0, num_iters, body, a0)
  z = jnp.sum(_exp_t(a, t), axis=-1, keepdims=True)
  lam = -_log_t(1.0 / z, t) + mu
  return _exp_t(x - lam, t)


def _bt_example(key):
  (logits, labels), _ = _cls_example(key)
  return (logits, labels), {"t1": 0.8, "t2": 1.2}


def _bt_edges(key):
  return [(a, {**kw, "t1": 0.8, "t2": 1.2}) for a, kw in _cls_edges(key)] + [
      (_bt_example(key)[0], {"t1": 1.0, "t2": 1.0})]


@register(family="adaptive", input_kind="logits",
          tasks=("image classification", "learning with noisy labels"),
          peer="google/bi-tempered-loss bi_tempered_logistic_loss (t2 >= 1 branch)",
          references=("Amid et al., Robust Bi-Tempered Logistic Loss Based on Bregman "
                      "Divergences, NeurIPS 2019",),
          efficiency=("medium", "a fixed number of normalisation iterations"),
          complexity=("high", "two temperatures and an iterative normaliser"),
          stability=("medium", "bounded for t1 < 1; the fixed point needs t2 >= 1"),
          example=_bt_example, edge_cases=_bt_edges, where_trailing=1)
@loss_function(static=("num_iters",), ranges={"t1": "[0, 1]", "t2": "[1, 4]",
                                              "label_smoothing": "[0, 1]"})
def bi_tempered_logistic_loss(logits, labels, *, t1, t2, label_smoothing=0.0, num_iters=5,
                              weights=None, where=None, reduction="mean"):
  r"""Bi-tempered logistic loss (Amid et al. 2019), robust to label noise.

  .. math::
    \hat y = \exp_{t_2}(z - \lambda_{t_2}(z)), \quad
    \ell = \sum_c \Big[y_c(\log_{t_1} y_c - \log_{t_1}\hat y_c)
      - \tfrac{1}{2 - t_1}\big(y_c^{2 - t_1} - \hat y_c^{2 - t_1}\big)\Big]

  with :math:`\log_t u = (u^{1-t} - 1)/(1-t)` and
  :math:`\exp_t u = [1 + (1-t)u]_+^{1/(1-t)}`. ``t1 < 1`` bounds the loss
  (robust to outliers far from the boundary); ``t2 > 1`` gives the tempered
  softmax heavier tails (robust to noise near it). The normaliser
  :math:`\lambda` is found by the paper's fixed-point iteration, run for a
  fixed ``num_iters`` steps with ``lax.fori_loop`` (jit-friendly; gradients by
  autodiff through the iterations). ``t1 = t2 = 1`` is the cross-entropy.

  Args:
    logits: ``[..., C]`` activations.
    labels: integer ``[...]`` or one-hot/soft ``[..., C]``.
    t1: temperature of the log, in [0, 1]; may be traced.
    t2: temperature of the exp, in [1, 4] (the fixed-point normaliser needs
      ``t2 >= 1``); may be traced.
    label_smoothing: in [0, 1] (default 0), ``y <- (1 - s) y + s / C`` — the
      paper's smoothing (``s C/(C-1)`` of the reference code's convention is
      *not* applied).
    num_iters: static number of normalisation iterations (default 5).
    weights: optional per-example weights over ``[...]``.
    where: optional boolean mask over ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: label shape mismatch; concrete temperatures out of range.

  References:
    Amid, Warmuth, Anil & Koren 2019, Eq. 8 and Algorithm 1. The reference
    implementation adds 1e-10 to the labels before the tempered log; here the
    ``y log_t y`` term uses the ``0 log 0 = 0`` limit instead.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.log(jnp.array([[0.25, 0.75]]))
    >>> print(jaxloss.bi_tempered_logistic_loss(logits, jnp.array([1]), t1=1.0, t2=1.0))
    0.2877
  """
  check_floating("logits", logits)
  dtype = nx.compute_dtype(logits)
  y = _targets("bi_tempered_logistic_loss", logits, labels, dtype)
  num_classes = logits.shape[-1]
  y = (1.0 - label_smoothing) * y + label_smoothing / num_classes
  x = nx.mask_fill(logits.astype(dtype), where, trailing=1)
  t1 = jnp.asarray(t1, dtype)
  t2 = jnp.asarray(t2, dtype)
  p = _tempered_softmax(x, t2, num_iters)
  two = 2.0 - t1
  # y log_t1(y) with the 0 * log 0 = 0 limit (double where on y = 0).
  pos = y > 0
  y_safe = jnp.where(pos, y, 1.0)
  ylogy = jnp.where(pos, y * _log_t(y_safe, t1), 0.0)
  values = (ylogy - y * _log_t(p, t1) - y ** two / two + p ** two / two)
  return reduce_loss(jnp.sum(values, axis=-1), reduction, where=where, weights=weights)


def self_paced_weights(losses, *, threshold, mode="hard"):
  r"""Self-paced learning weights from per-example losses and a threshold.

  .. math::
    v_i = \mathbb 1[\ell_i < \lambda] \ (\text{hard}), \qquad
    v_i = \max(0, 1 - \ell_i / \lambda) \ (\text{linear})

  Easy examples (loss below the threshold ``lambda``) are trained on first;
  raise ``lambda`` over training with :func:`curriculum_threshold` so harder
  examples enter. The weights carry no gradient; use them as ``weights=`` of
  any loss.

  Args:
    losses: per-example losses, any shape.
    threshold: ``lambda > 0``, a scalar (may be traced, e.g. from a schedule).
    mode: "hard" (Kumar et al. 2010) | "linear" (Jiang et al. 2015).

  Returns:
    Weights of ``losses.shape`` in [0, 1].

  Raises:
    LossInputError: unknown ``mode``.

  References:
    Kumar, Packer & Koller, Self-Paced Learning for Latent Variable Models,
    NeurIPS 2010; Jiang et al., Self-Paced Curriculum Learning, AAAI 2015.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.self_paced_weights(jnp.array([0.1, 0.5, 2.0]), threshold=1.0,
    ...                                  mode="linear"))
    [0.9 0.5 0. ]
  """
  if mode not in ("hard", "linear"):
    raise LossInputError(f"self_paced_weights: mode must be 'hard' or 'linear', got {mode!r}")
  losses = jax.lax.stop_gradient(jnp.asarray(losses, nx.compute_dtype(losses)))
  lam = jax.lax.stop_gradient(jnp.asarray(threshold, losses.dtype))
  if mode == "hard":
    return (losses < lam).astype(losses.dtype)
  return jnp.clip(1.0 - nx.safe_div(losses, lam, fallback=jnp.inf), 0.0, 1.0)


def curriculum_threshold(step, *, initial, final, num_steps, schedule="linear"):
  """The self-paced threshold at ``step``: ``initial`` -> ``final`` over ``num_steps``.

  ``schedule`` is "linear" or "exponential" (geometric interpolation, both
  ends > 0); constant at ``final`` after ``num_steps``. Traced ``step`` is
  fine (use the optimizer's step counter).

  Examples:
    >>> import jaxloss
    >>> print(jaxloss.curriculum_threshold(5, initial=1.0, final=3.0, num_steps=10))
    2.0
  """
  if schedule not in ("linear", "exponential"):
    raise LossInputError(
        f"curriculum_threshold: schedule must be 'linear' or 'exponential', got {schedule!r}")
  frac = jnp.clip(jnp.asarray(step, jnp.float32) / max(num_steps, 1), 0.0, 1.0)
  if schedule == "linear":
    return initial + (final - initial) * frac
  if initial <= 0 or final <= 0:
    raise LossInputError("curriculum_threshold: exponential schedule needs initial, final > 0")
  return initial * (final / initial) ** frac


# --------------------------------------------------------------------------
# Adversarial perturbations and training objectives.
# --------------------------------------------------------------------------


def _check_norm(fn, norm):
  if norm not in ("linf", "l2"):
    raise LossInputError(f"{fn}: norm must be 'linf' or 'l2', got {norm!r}")


def _per_example_norm(v):
  axes = tuple(range(1, v.ndim))
  return nx.safe_sqrt(jnp.sum(v * v, axis=axes, keepdims=True))


def _step(grad, norm):
  if norm == "linf":
    return jnp.sign(grad)
  return nx.safe_div(grad, _per_example_norm(grad))


def _project(delta, epsilon, norm):
  if norm == "linf":
    return jnp.clip(delta, -epsilon, epsilon)
  n = _per_example_norm(delta)
  return delta * jnp.minimum(1.0, nx.safe_div(epsilon, n, fallback=1.0))


def _clip(x, clip_range):
  lo, hi = clip_range
  if lo is not None or hi is not None:
    x = jnp.clip(x, lo, hi)
  return x


def fgsm_perturbation(loss_fn: Callable, x, *, epsilon, norm="linf", clip_range=(None, None)):
  r"""Fast gradient (sign) method: one ascent step on ``loss_fn`` of size ``epsilon``.

  .. math::
    x' = x + \epsilon\, \operatorname{sign}(\nabla_x L(x)) \ (L_\infty), \qquad
    x' = x + \epsilon\, \nabla_x L / \|\nabla_x L\|_2 \ (L_2,\ \text{per example})

  Args:
    loss_fn: ``loss_fn(x) -> scalar`` (close over the model and labels).
    x: ``[B, ...]`` inputs (axis 0 is the batch for the L2 norm).
    epsilon: step size / ball radius; may be traced.
    norm: "linf" (default, Goodfellow et al.) | "l2".
    clip_range: optional ``(min, max)`` valid input range (e.g. ``(0, 1)``).

  Returns:
    The perturbed inputs, with no gradient to ``x`` (``stop_gradient``).

  References:
    Goodfellow, Shlens & Szegedy, Explaining and Harnessing Adversarial
    Examples, ICLR 2015.
  """
  _check_norm("fgsm_perturbation", norm)
  x = jax.lax.stop_gradient(x)
  g = jax.grad(loss_fn)(x)
  return jax.lax.stop_gradient(_clip(x + epsilon * _step(g, norm), clip_range))


def pgd_perturbation(loss_fn: Callable, x, *, epsilon, step_size, steps, key=None,
                     norm="linf", random_start=True, clip_range=(None, None)):
  r"""Projected gradient descent (ascent) inside an Lp ball (Madry et al. 2018).

  .. math::
    x^{k+1} = \Pi_{B_\epsilon(x)}\big(x^k + \eta\, s(\nabla_x L(x^k))\big)

  ``steps`` iterations of :func:`fgsm_perturbation`-style steps of size
  ``step_size``, each projected back onto the ``epsilon`` ball around ``x``
  (and into ``clip_range``), run with ``lax.fori_loop`` (jit-able, one trace).

  Args:
    loss_fn: ``loss_fn(x) -> scalar``.
    x: ``[B, ...]`` inputs.
    epsilon: ball radius; step_size: ascent step; steps: static count.
    key: PRNG key for the random start (required if ``random_start``).
    norm: "linf" (default) | "l2".
    random_start: start from a uniform point in the ball (L-inf) or a random
      direction scaled into it (L2).
    clip_range: optional ``(min, max)`` valid input range.

  Returns:
    The adversarial inputs (no gradient to ``x``).

  Raises:
    LossInputError: unknown ``norm``; ``random_start`` without ``key``.

  References:
    Madry et al., Towards Deep Learning Models Resistant to Adversarial
    Attacks, ICLR 2018.
  """
  _check_norm("pgd_perturbation", norm)
  if random_start and key is None:
    raise LossInputError("pgd_perturbation: random_start=True needs a PRNG key")
  x = jax.lax.stop_gradient(x)
  delta = jnp.zeros_like(x)
  if random_start:
    if norm == "linf":
      delta = jax.random.uniform(key, x.shape, x.dtype, -1.0, 1.0) * epsilon
    else:
      d = jax.random.normal(key, x.shape, x.dtype)
      delta = _project(d * epsilon, epsilon, "l2") * jax.random.uniform(
          jax.random.fold_in(key, 1), (x.shape[0],) + (1,) * (x.ndim - 1), x.dtype)
  grad = jax.grad(loss_fn)

  def body(_, delta):
    g = grad(x + delta)
    delta = _project(delta + step_size * _step(g, norm), epsilon, norm)
    return _clip(x + delta, clip_range) - x

  delta = jax.lax.fori_loop(0, steps, body, _clip(x + delta, clip_range) - x)
  return jax.lax.stop_gradient(x + delta)


def _softmax_ce(logits, labels):
  logp = jax.nn.log_softmax(logits.astype(nx.compute_dtype(logits)), axis=-1)
  return -jnp.mean(nx.take_along_last(logp, labels))


def adversarial_training_loss(model_fn: Callable, x, labels, *, key, epsilon, step_size,
                              steps, norm="linf", loss_fn: Callable | None = None,
                              clip_range=(None, None)):
  r"""Madry et al.'s adversarial training objective: the loss at PGD examples.

  .. math::
    \min_\theta\ \mathbb E\Big[\max_{\|\delta\| \le \epsilon} L(f_\theta(x + \delta), y)\Big]

  The inner maximisation is :func:`pgd_perturbation` (no gradient flows
  through it, Danskin's theorem); the returned value is the loss at the
  adversarial inputs, differentiable w.r.t. whatever ``model_fn`` closes over.

  Args:
    model_fn: ``model_fn(x) -> logits``.
    x: ``[B, ...]`` inputs; labels: ``[B]`` integer labels.
    key: PRNG key for PGD's random start.
    epsilon, step_size, steps, norm, clip_range: as :func:`pgd_perturbation`.
    loss_fn: ``loss_fn(logits, labels) -> scalar`` (default: mean softmax
      cross-entropy).

  Returns:
    The scalar adversarial loss.

  References:
    Madry et al. 2018.
  """
  loss_fn = _softmax_ce if loss_fn is None else loss_fn
  x_adv = pgd_perturbation(lambda z: loss_fn(model_fn(z), labels), x, key=key, epsilon=epsilon,
                           step_size=step_size, steps=steps, norm=norm, clip_range=clip_range)
  return loss_fn(model_fn(x_adv), labels)


def trades_loss(model_fn: Callable, x, labels, *, key, beta=6.0, epsilon=0.031,
                step_size=0.007, steps=10, norm="linf", clip_range=(None, None)):
  r"""TRADES: natural cross-entropy plus a KL robustness regulariser (Zhang et al. 2019).

  .. math::
    L = \operatorname{CE}(f(x), y) + \beta\, \frac1B \sum_i
        \operatorname{KL}\big(p(x_i)\,\|\,p(x'_i)\big), \quad
    x' = \arg\max_{\|x' - x\| \le \epsilon} \operatorname{KL}(p(x)\,\|\,p(x'))

  ``x'`` is found by PGD on the KL starting from ``x + 0.001 N(0, 1)``, with
  the clean distribution held fixed, as in the paper's code; defaults are the
  paper's CIFAR-10 settings.

  Args:
    model_fn: ``model_fn(x) -> logits``.
    x: ``[B, ...]``; labels: ``[B]`` integer labels.
    key: PRNG key (the small random start).
    beta: trade-off (default 6.0); epsilon (0.031), step_size (0.007), steps
      (10), norm ("linf"), clip_range: the inner PGD.

  Returns:
    ``(total, {"natural": CE, "robust": KL term})``.

  References:
    Zhang et al., Theoretically Principled Trade-off between Robustness and
    Accuracy, ICML 2019 (Eq. 5 and Algorithm 1).
  """
  logits = model_fn(x)
  logp_clean = jax.nn.log_softmax(logits.astype(nx.compute_dtype(logits)), axis=-1)
  target = jax.lax.stop_gradient(logp_clean)

  def kl_to(z):
    lq = jax.nn.log_softmax(model_fn(z).astype(target.dtype), axis=-1)
    return jnp.sum(jnp.exp(target) * (target - lq)) / x.shape[0]

  start = jax.lax.stop_gradient(x) + 0.001 * jax.random.normal(key, x.shape, x.dtype)
  x_adv = pgd_perturbation(kl_to, start, epsilon=epsilon, step_size=step_size, steps=steps,
                           norm=norm, random_start=False, clip_range=clip_range)
  # Project the small random start too: the ball is around the clean x.
  x_adv = jax.lax.stop_gradient(x + _project(x_adv - x, epsilon, norm))
  natural = -jnp.mean(nx.take_along_last(logp_clean, labels))
  lq = jax.nn.log_softmax(model_fn(x_adv).astype(logp_clean.dtype), axis=-1)
  robust = jnp.sum(jnp.exp(logp_clean) * (logp_clean - lq)) / x.shape[0]
  return natural + beta * robust, {"natural": natural, "robust": robust}

