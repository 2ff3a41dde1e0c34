"""Logit distillation: Hinton KD, generalized JSD (GKD), decoupled KD and logit-standardized KD.

Every loss here compares a student's and a teacher's logits of the same shape
``(..., V)`` (classes or vocabulary last); the unreduced loss has one value per
token/example, ``logits.shape[:-1]``, and ``where``/``weights`` have that shape
(broadcastable). "mean" is the mean over the unmasked tokens: torch's
``KLDivLoss(reduction="batchmean")`` for 2-D ``(N, V)`` logits (sum over the
vocabulary, average over the rows), and TRL's ``"batchmean"`` with ``labels``
(sum over the vocabulary, average over the non-ignored tokens).

Numerics: all distributions are formed with ``log_softmax`` in float32 (float64
under x64), so logits of ±1e4 and temperatures from 1e-3 to 1e3 stay finite; a
zero teacher probability contributes 0 with a zero gradient
(:func:`jaxloss._numerics.mul_log`), also for ``-inf`` logits. The teacher is
differentiable like the student (as in the torch peers); wrap it in
``jax.lax.stop_gradient`` to freeze it explicitly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    check_integer,
    debug_check_labels,
    loss_function,
    paired_inputs,
    reduce_loss,
    shape_of,
)
from jaxloss.catalog import register

__all__ = ["distillation_loss", "dkd_loss", "generalized_jsd_loss", "logit_standardized_kd"]

_HINTON = ("Hinton, Vinyals & Dean, Distilling the Knowledge in a Neural Network, "
           "arXiv:1503.02531, 2015")
_GKD = ("Agarwal et al., On-Policy Distillation of Language Models: Learning from "
        "Self-Generated Mistakes (GKD), ICLR 2024, arXiv:2306.13649")
_DKD = "Zhao et al., Decoupled Knowledge Distillation, CVPR 2022, arXiv:2203.08679"
_LSKD = "Sun et al., Logit Standardization in Knowledge Distillation, CVPR 2024, arXiv:2403.01427"


# --------------------------------------------------------------------------
# Shared internals.
# --------------------------------------------------------------------------


def _logit_pair(student_logits, teacher_logits, where):
  """Validated ``(student, teacher)`` in the compute dtype, masked tokens zero-filled."""
  check_floating("teacher_logits", teacher_logits)
  return paired_inputs(student_logits, teacher_logits, where,
                       names=("student_logits", "teacher_logits"), min_rank=1,
                       what="(..., V) with the classes/vocabulary last", trailing=1)


def _kl_terms(log_p, log_q):
  """Per-class ``p (log p - log q)`` with ``p = exp(log p)``; 0 with a zero gradient at ``p = 0``.

  The difference is sanitised where ``p == 0`` (so ``-inf - -inf`` is never
  differentiated); a class where ``q = 0`` but ``p > 0`` gives ``+inf``, the
  true value.
  """
  p = jnp.exp(log_p)
  return nx.mul_log(p, jnp.where(p > 0, log_p - log_q, 0.0))


def _kl(log_p, log_q):
  """``KL(p || q)`` over the last axis from log-probabilities."""
  return jnp.sum(_kl_terms(log_p, log_q), axis=-1)


def _temperature(temperature, dtype):
  return jnp.asarray(temperature, dtype)


# --------------------------------------------------------------------------
# Hinton KD.
# --------------------------------------------------------------------------


@register(tasks=("knowledge distillation", "model compression", "language modelling",
                 "image classification"),
          input_kind="logits",
          peer="torch.nn.KLDivLoss(reduction='batchmean')(log_softmax(s / T), softmax(t / T)) "
               "* T**2 (mdistiller kd_loss; the soft term of torchdistill KDLoss)",
          references=(_HINTON,))
@loss_function(ranges={"temperature": "> 0"})
def distillation_loss(student_logits, teacher_logits, *, temperature=1.0, weights=None,
                      where=None, reduction="mean"):
  r"""Hinton's knowledge-distillation loss: :math:`T^2\,KL(p^t_T \,\|\, p^s_T)` per token.

  .. math::
    \ell_i = T^2 \sum_{c} p^t_{i,c} \big(\log p^t_{i,c} - \log p^s_{i,c}\big),
    \qquad p^s_i = \operatorname{softmax}(z^s_i / T),\ p^t_i = \operatorname{softmax}(z^t_i / T)

  summed over the vocabulary, one value per token. The :math:`T^2` factor
  keeps the gradient's scale independent of the temperature (Hinton et al.,
  section 2), so the loss can be mixed with a hard-label cross-entropy at a
  fixed weight. 0 when the teacher equals the student.

  Args:
    student_logits: floating ``(..., V)`` student logits.
    teacher_logits: floating ``(..., V)`` teacher logits, same shape.
    temperature: :math:`T > 0` (default 1.0); may be traced.
    weights: optional per-token weights, broadcastable to ``(...)``.
    where: optional boolean mask over the tokens, broadcastable to ``(...)``
      (e.g. ``labels != -100`` or an attention mask).
    reduction: "mean" (default: mean over the unmasked tokens, torch's
      ``"batchmean"``) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``student_logits.shape[:-1]`` for "none"
    (masked tokens are 0). The mean over zero tokens is 0 with a zero gradient.

  Raises:
    LossInputError: shapes differ, no vocabulary axis, or a concrete
      ``temperature <= 0``.
    LossTypeError: non-floating logits.

  Notes:
    Equals ``F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1),
    reduction="batchmean") * T**2`` on 2-D logits, i.e. mdistiller's
    ``kd_loss`` (``kl_div(reduction="none").sum(1).mean() * T**2``) and the
    soft term of torchdistill's ``KDLoss``. Liger's
    ``LigerFusedLinearDistillationBase`` divides the logits by :math:`T` but
    has no :math:`T^2` factor; TRL's ``generalized_jsd_loss(beta=0)`` likewise
    (use :func:`generalized_jsd_loss` for those). The hard-label term of
    Hinton's recipe is not included: add ``cross_entropy(student_logits,
    labels)`` with your own weight, as mdistiller does. For 3-D ``(B, S, V)``
    logits torch's ``"batchmean"`` divides by ``B`` only; ours divides by
    the number of (unmasked) tokens.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> s = jnp.array([[1., 0., -1.], [0., 2., 0.]])
    >>> t = jnp.array([[2., 0., -2.], [0., 2., 0.]])
    >>> print(jaxloss.distillation_loss(s, t, temperature=2.0, reduction="none"))
    [0.241076 0.      ]
  """
  s, t = _logit_pair(student_logits, teacher_logits, where)
  temp = _temperature(temperature, s.dtype)
  values = temp * temp * _kl(jax.nn.log_softmax(t / temp, axis=-1),
                             jax.nn.log_softmax(s / temp, axis=-1))
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Generalized JSD (GKD).
# --------------------------------------------------------------------------


def _generalized_jsd(log_s, log_t, beta):
  """Per-token generalized JSD; ``beta`` 0 / 1 are the forward / reverse KL (TRL).

  With :math:`d = \\log p_t - \\log p_s` and :math:`m = \\beta p_t + (1 - \\beta) p_s`,
  the log-ratios to the mixture are written from the *larger* of the two
  probabilities, so ``expm1`` only sees non-positive arguments and nothing
  overflows; at :math:`d = 0` both are exactly 0, so teacher == student gives
  exactly 0. The three branches are selected with a double where (the
  unselected branches see a safe ``beta`` and a zero ``d``), so a traced
  ``beta`` works and no branch leaks a NaN into the gradient.
  """
  dtype = log_s.dtype
  beta = jnp.asarray(beta, dtype)
  p_s, p_t = jnp.exp(log_s), jnp.exp(log_t)
  both_zero = jnp.isneginf(log_s) & jnp.isneginf(log_t)
  d = jnp.where(both_zero, 0.0, log_t - log_s)
  is_fwd, is_rev = beta == 0, beta == 1
  # Forward KL(t || s) at beta = 0, reverse KL(s || t) at beta = 1 (TRL's endpoints).
  d_f = jnp.where(is_fwd, d, 0.0)
  d_r = jnp.where(is_rev, d, 0.0)
  fkl = jnp.sum(nx.mul_log(p_t, jnp.where(p_t > 0, d_f, 0.0)), axis=-1)
  rkl = jnp.sum(nx.mul_log(p_s, jnp.where(p_s > 0, -d_r, 0.0)), axis=-1)
  b = jnp.where(is_fwd | is_rev, jnp.asarray(0.5, dtype), beta)
  d_j = jnp.where(is_fwd | is_rev, 0.0, d)
  neg = d_j <= 0
  d_neg = jnp.where(neg, d_j, 0.0)
  d_pos = jnp.where(neg, 0.0, d_j)
  # p_t <= p_s: log(p_s / m) = -log1p(b expm1(d));  p_t > p_s: log(p_t / m) = -log1p((1-b) expm1(-d)).
  ls_m_neg = -jnp.log1p(b * jnp.expm1(d_neg))
  lt_m_pos = -jnp.log1p((1.0 - b) * jnp.expm1(-d_pos))
  log_t_m = jnp.where(neg, d_neg + ls_m_neg, lt_m_pos)
  log_s_m = jnp.where(neg, ls_m_neg, lt_m_pos - d_pos)
  jsd = jnp.sum(b * nx.mul_log(p_t, log_t_m) + (1.0 - b) * nx.mul_log(p_s, log_s_m), axis=-1)
  return jnp.where(is_fwd, fkl, jnp.where(is_rev, rkl, jsd))


@register(tasks=("knowledge distillation", "language modelling", "on-policy distillation"),
          input_kind="logits",
          peer="trl GKDTrainer.generalized_jsd_loss (TRL 1.x); liger_kernel LigerJSD / "
               "LigerFusedLinearJSDLoss (Liger >= 0.5.6)",
          references=(_GKD,))
@loss_function(ranges={"beta": "[0, 1]", "temperature": "> 0"})
def generalized_jsd_loss(student_logits, teacher_logits, *, beta=0.5, temperature=1.0,
                         weights=None, where=None, reduction="mean"):
  r"""Generalized Jensen--Shannon divergence of GKD between teacher and student tokens.

  .. math::
    \ell_i = \beta\, KL\big(p^t_i \,\|\, m_i\big) + (1 - \beta)\, KL\big(p^s_i \,\|\, m_i\big),
    \qquad m_i = \beta\, p^t_i + (1 - \beta)\, p^s_i

  with :math:`p = \operatorname{softmax}(z / T)`, summed over the vocabulary;
  at the endpoints (as TRL defines them) :math:`\beta = 0` is the forward KL
  :math:`KL(p^t \| p^s)` and :math:`\beta = 1` the reverse KL
  :math:`KL(p^s \| p^t)` -- the limits of :math:`\ell / \beta` and
  :math:`\ell / (1 - \beta)`, not of :math:`\ell`, which tends to 0 there.
  :math:`\beta = 0.5` is the ordinary JSD (bounded by :math:`\log 2`). 0
  exactly when the teacher equals the student. No :math:`T^2` factor.

  Args:
    student_logits: floating ``(..., V)`` student logits.
    teacher_logits: floating ``(..., V)`` teacher logits, same shape.
    beta: :math:`\beta \in [0, 1]` (default 0.5), the teacher's weight in the
      mixture; may be traced (0 and 1 select the KL endpoints).
    temperature: :math:`T > 0` (default 1.0); may be traced.
    weights: optional per-token weights, broadcastable to ``(...)``.
    where: optional boolean token mask, broadcastable to ``(...)`` (TRL's
      ``labels != -100``).
    reduction: "mean" (default: mean over unmasked tokens) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``student_logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: shapes differ; concrete ``beta`` outside [0, 1] or
      ``temperature <= 0``.
    LossTypeError: non-floating logits.

  Notes:
    Matches TRL's ``GKDTrainer.generalized_jsd_loss(student_logits,
    teacher_logits, labels, beta, temperature)`` (TRL 1.x,
    ``trl/experimental/gkd``): its mixture is
    ``logsumexp([log p_s + log(1 - beta), log p_t + log(beta)])``, its loss
    ``beta * kl_div(m, t) + (1 - beta) * kl_div(m, s)`` and its endpoints
    ``kl_div(s, t)`` (beta = 0) / ``kl_div(t, s)`` (beta = 1) -- torch's
    ``kl_div(input, target)`` is :math:`KL(target \| input)`. Our "mean" is
    TRL's ``"batchmean"`` *with* labels (sum / number of non-ignored tokens);
    without labels TRL divides a ``(B, S, V)`` sum by ``B`` only. TRL's
    "mean" also averages over the vocabulary and its "none" keeps the
    vocabulary axis; ours are per token. Liger's ``LigerJSD`` (log-prob inputs)
    and ``LigerFusedLinearJSDLoss`` use the same :math:`\beta` convention since
    0.5.6 (PR #609); before it Liger's chunked loss mixed with
    :math:`m = \beta p_s + (1-\beta) p_t` while weighting the KLs as above, so
    old Liger and TRL disagree for :math:`\beta \ne 0.5`.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> s = jnp.log(jnp.array([[0.5, 0.5], [0.9, 0.1]]))
    >>> t = jnp.log(jnp.array([[0.9, 0.1], [0.9, 0.1]]))
    >>> print(jaxloss.generalized_jsd_loss(s, t, reduction="none"))
    [0.101749 0.      ]
    >>> print(jaxloss.generalized_jsd_loss(s, t, beta=0.0, reduction="none"))  # KL(t || s)
    [0.368064 0.      ]
  """
  s, t = _logit_pair(student_logits, teacher_logits, where)
  temp = _temperature(temperature, s.dtype)
  values = _generalized_jsd(jax.nn.log_softmax(s / temp, axis=-1),
                            jax.nn.log_softmax(t / temp, axis=-1), beta)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Decoupled KD.
# --------------------------------------------------------------------------


def _target_labels(labels, logits):
  check_integer("labels", labels)
  labels = jnp.asarray(labels)
  if shape_of(labels) != shape_of(logits)[:-1]:
    raise LossInputError(
        f"labels has shape {shape_of(labels)} but student_logits has shape {shape_of(logits)}; "
        f"expected integer class ids of shape {shape_of(logits)[:-1]}")
  debug_check_labels(labels, logits.shape[-1])
  return labels


def _decoupled(z_s, z_t, gt):
  """(TCKD, NCKD) per token from temperature-scaled logits and the one-hot ``gt`` mask."""
  others = ~gt
  lse_s, lse_t = nx.logsumexp(z_s), nx.logsumexp(z_t)
  rest_s = nx.logsumexp(z_s, where=others)   # -inf with a single class
  rest_t = nx.logsumexp(z_t, where=others)
  # Binary (target, rest) distributions: log b and log(1 - b) in log space, so
  # log(1 - b) stays finite when b rounds to 1 (mdistiller takes torch.log of
  # the summed probabilities).
  gt_s = jnp.sum(jnp.where(gt, z_s, 0.0), axis=-1)
  gt_t = jnp.sum(jnp.where(gt, z_t, 0.0), axis=-1)
  tckd = (_kl_terms(gt_t - lse_t, gt_s - lse_s)
          + _kl_terms(rest_t - lse_t, rest_s - lse_s))
  # Non-target distributions: softmax over the classes other than the target,
  # with the target excluded exactly (probability 0, zero gradient).
  log_q_s = z_s - rest_s[..., None]
  log_q_t = z_t - rest_t[..., None]
  q_t = jnp.where(gt, 0.0, jnp.exp(jnp.where(gt, 0.0, log_q_t)))
  nckd = jnp.sum(nx.mul_log(q_t, jnp.where(gt, 0.0, log_q_t - log_q_s)), axis=-1)
  return tckd, nckd


@register(tasks=("knowledge distillation", "image classification", "model compression"),
          input_kind="logits",
          peer="mdistiller dkd_loss (megvii-research/mdistiller, DKD.py)",
          references=(_DKD,), components=("tckd", "nckd"))
@loss_function(static=("return_components",),
               ranges={"alpha": ">= 0", "beta": ">= 0", "temperature": "> 0"})
def dkd_loss(student_logits, teacher_logits, labels, *, alpha=1.0, beta=8.0, temperature=4.0,
             weights=None, where=None, reduction="mean", return_components=False):
  r"""Decoupled knowledge distillation: target-class KD plus non-target-class KD.

  .. math::
    \ell_i = \alpha\, T^2\, KL\big(b^t_i \,\|\, b^s_i\big)
           + \beta\, T^2\, KL\big(\hat p^t_i \,\|\, \hat p^s_i\big)

  with :math:`p = \operatorname{softmax}(z / T)`, the binary distribution
  :math:`b = (p_{y}, 1 - p_{y})` of the target class :math:`y` against the
  rest (TCKD), and :math:`\hat p_c = p_c / (1 - p_y)` for :math:`c \ne y`, the
  distribution among the non-target classes (NCKD). Hinton's KD is
  :math:`TCKD + (1 - p^t_y)\, NCKD`; DKD decouples the two weights.

  Args:
    student_logits: floating ``(..., C)`` student logits.
    teacher_logits: floating ``(..., C)`` teacher logits, same shape.
    labels: integer ``(...)`` target class ids in ``[0, C)``.
    alpha: TCKD weight (default 1.0, mdistiller's ``DKD.ALPHA``); may be traced.
    beta: NCKD weight (default 8.0, mdistiller's ``DKD.BETA``); may be traced.
    temperature: :math:`T > 0` (default 4.0, mdistiller's ``DKD.T``).
    weights: optional per-example weights, broadcastable to ``(...)``.
    where: optional boolean mask, broadcastable to ``(...)``.
    reduction: "mean" (default: mean over unmasked examples, mdistiller's
      ``sum / batch``) | "sum" | "none".
    return_components: static; also return the unweighted parts (default False).

  Returns:
    A scalar for "mean"/"sum"; ``student_logits.shape[:-1]`` for "none". With
    ``return_components=True``, ``(total, {"tckd": ..., "nckd": ...})``, each
    part including its :math:`T^2` and reduced like the total, so
    ``total = alpha * tckd + beta * nckd``.

  Raises:
    LossInputError: logits shapes differ or ``labels`` is not ``(...)``.
    LossTypeError: non-floating logits or non-integer labels. Under chexify:
      labels outside ``[0, C)``.

  Notes:
    Matches mdistiller's ``dkd_loss(logits_student, logits_teacher, target,
    alpha, beta, temperature)``: both parts carry :math:`T^2` and are
    ``kl_div(..., size_average=False) / batch`` (sum over classes, mean over
    examples). mdistiller's warm-up factor ``min(epoch / 20, 1)`` and its CE
    term are training-loop concerns, not part of the loss. Deliberate
    differences: mdistiller masks the target class out of the non-target
    softmax by subtracting ``1000.0`` from its scaled logit; we exclude it
    exactly. The two agree to float rounding while
    :math:`(z_y - \max_{c \ne y} z_c)/T` stays below about 980; beyond that
    (logits ~1e4 apart at :math:`T = 4`) mdistiller's "non-target"
    distribution is dominated by the target class, ours is not. mdistiller
    also takes ``torch.log`` of the summed binary probabilities, which is
    ``-inf`` once :math:`p_y` rounds to 1; ours stays finite (log space).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> s = jnp.array([[2., 1., 0.]])
    >>> t = jnp.array([[3., 0., 1.]])
    >>> total, parts = jaxloss.dkd_loss(s, t, jnp.array([0]), temperature=1.0,
    ...                                 return_components=True)
    >>> print(total, parts["tckd"], parts["nckd"])
    3.778492 0.081555 0.462117
  """
  s, t = _logit_pair(student_logits, teacher_logits, where)
  labels = _target_labels(labels, s)
  temp = _temperature(temperature, s.dtype)
  gt = labels[..., None] == jnp.arange(s.shape[-1])
  tckd, nckd = _decoupled(s / temp, t / temp, gt)
  t2 = temp * temp
  tckd, nckd = t2 * tckd, t2 * nckd
  alpha = jnp.asarray(alpha, s.dtype)
  beta = jnp.asarray(beta, s.dtype)
  total = reduce_loss(alpha * tckd + beta * nckd, reduction, where=where, weights=weights)
  if not return_components:
    return total
  return total, {"tckd": reduce_loss(tckd, reduction, where=where, weights=weights),
                 "nckd": reduce_loss(nckd, reduction, where=where, weights=weights)}


# --------------------------------------------------------------------------
# Logit-standardized KD.
# --------------------------------------------------------------------------


def _standardize(z, eps):
  """Per-row z-score with torch's unbiased ``std`` (``(z - mean) / (eps + std)``).

  A constant row (zero spread) standardises to 0 with a zero gradient through
  the standard deviation (``safe_sqrt``), also with ``eps = 0``.
  """
  n = z.shape[-1]
  centred = z - jnp.mean(z, axis=-1, keepdims=True)
  var = jnp.sum(centred * centred, axis=-1, keepdims=True) / max(n - 1, 1)
  return nx.safe_div(centred, eps + nx.safe_sqrt(var))


@register(tasks=("knowledge distillation", "image classification", "model compression"),
          input_kind="logits",
          peer="sunshangquan/logit-standardization-KD kd_loss(..., logit_stand=True) "
               "(--base-temp 2)",
          references=(_LSKD, _HINTON))
@loss_function(ranges={"temperature": "> 0", "eps": ">= 0"})
def logit_standardized_kd(student_logits, teacher_logits, *, temperature=2.0, eps=1e-7,
                          weights=None, where=None, reduction="mean"):
  r"""KD on z-scored logits (logit standardization, Sun et al. 2024).

  .. math::
    \ell_i = T^2\, KL\Big(\operatorname{softmax}\big(\mathcal Z(z^t_i)/T\big) \,\Big\|\,
                          \operatorname{softmax}\big(\mathcal Z(z^s_i)/T\big)\Big),
    \qquad \mathcal Z(z) = \frac{z - \bar z}{\epsilon + \sigma(z)}

  with :math:`\bar z` and :math:`\sigma` the mean and the unbiased (``n - 1``)
  standard deviation of each row over the classes. Standardising gives each
  model its own effective temperature :math:`\sigma T`, so the student has to
  match the teacher's logit *relations*, not their scale: the loss is
  invariant to shifting or (positively) rescaling either model's logits.

  Args:
    student_logits: floating ``(..., C)`` student logits.
    teacher_logits: floating ``(..., C)`` teacher logits, same shape.
    temperature: base temperature :math:`T > 0` (default 2.0, the official
      ``--base-temp``); may be traced.
    eps: :math:`\epsilon \ge 0` added to the standard deviation (default 1e-7,
      the official code's); may be traced.
    weights: optional per-example weights, broadcastable to ``(...)``.
    where: optional boolean mask, broadcastable to ``(...)``.
    reduction: "mean" (default: mean over unmasked examples) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``student_logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: shapes differ; a concrete ``temperature <= 0`` or
      ``eps < 0``.
    LossTypeError: non-floating logits.

  Notes:
    Matches the official code's ``kd_loss(logits_student, logits_teacher,
    temperature, logit_stand=True)`` (``mdistiller/distillers/KD.py`` of
    sunshangquan/logit-standardization-KD): ``normalize`` with
    ``torch.std`` (unbiased) and ``1e-7``, ``log_softmax``/``softmax`` at
    :math:`T`, ``kl_div(reduction="none").sum(1).mean() * T**2``. It is the
    KD term only -- the standardized KD *replaces* vanilla KD, no
    unstandardized KD is added; the hard-label CE and the KD weight (9 in
    the paper's CIFAR runs, ``--kd-weight``) are applied outside, as in the
    official trainer. The default temperature is the official
    ``--base-temp 2`` used with ``--logit-stand`` (mdistiller's vanilla KD
    uses 4). A constant row standardises to 0 (torch: 0 with ``eps > 0``,
    NaN with ``eps = 0``); a single class (``C = 1``) gives 0 (torch: NaN).
    The logits must be finite: the z-score of a row holding ``-inf`` is
    undefined (NaN, as in the official code).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> s = jnp.array([[1., 2., 3.]])
    >>> print(jaxloss.logit_standardized_kd(s, 10.0 * s + 5.0))   # same relations
    0.0
    >>> print(jaxloss.logit_standardized_kd(s, jnp.array([[3., 2., 1.]])))
    1.280626
  """
  s, t = _logit_pair(student_logits, teacher_logits, where)
  temp = _temperature(temperature, s.dtype)
  eps = jnp.asarray(eps, s.dtype)
  values = temp * temp * _kl(jax.nn.log_softmax(_standardize(t, eps) / temp, axis=-1),
                             jax.nn.log_softmax(_standardize(s, eps) / temp, axis=-1))
  return reduce_loss(values, reduction, where=where, weights=weights)
