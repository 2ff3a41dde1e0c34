"""Preference-optimisation losses on per-sequence log-probabilities: DPO and variants, KTO,
ORPO, SimPO, CPO.

Every loss here takes the per-sequence log-probabilities a model assigns to a chosen
(preferred) and a rejected completion, ``(B,)`` arrays (any shape works: the losses are
elementwise over pairs, so ``jax.vmap`` and data-parallel sharding need nothing special),
and matches the formulas of the TRL trainers named in each docstring. Reference-model
inputs are constants: they pass through ``jax.lax.stop_gradient`` (TRL computes them under
``torch.no_grad``), so passing a traced array there cannot leak a gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._api import (
    LossInputError,
    check_floating,
    check_rank,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.alignment._common import (
    PREFERENCE_TASKS,
    TRL,
    capped_exp,
    check_where,
    debug_check,
    lengths,
    log1mexp,
    log_sigmoid,
    per_token,
    reward_metrics,
    sequence_inputs,
)
from jaxloss.catalog import register

__all__ = ["cpo_loss", "dpo_loss", "kto_loss", "orpo_loss", "simpo_loss"]

_DPO = ("Rafailov et al., Direct Preference Optimization: Your Language Model is Secretly a "
        "Reward Model, NeurIPS 2023, arXiv:2305.18290")
_PAIR_NAMES = ("policy_chosen_logps", "policy_rejected_logps")
_REF_NAMES = ("reference_chosen_logps", "reference_rejected_logps")
_METRICS = ("chosen_rewards", "rejected_rewards", "reward_accuracy", "reward_margin")

DPO_LOSS_TYPES = ("sigmoid", "hinge", "ipo", "robust", "bco_pair", "sppo_hard", "nca_pair",
                  "apo_zero", "apo_down", "exo_pair", "discopop", "sigmoid_norm")


def _pair_lengths(chosen_lengths, rejected_lengths, shape, dtype, where):
  if (chosen_lengths is None) != (rejected_lengths is None):
    raise LossInputError("chosen_lengths and rejected_lengths are given together or not at all")
  return (lengths("chosen_lengths", chosen_lengths, shape, dtype, where),
          lengths("rejected_lengths", rejected_lengths, shape, dtype, where))


def _smoothed_sigmoid(z, eps):
  """cDPO's label-smoothed logistic loss ``-(1 - eps) log s(z) - eps log s(-z)``."""
  return -(1 - eps) * log_sigmoid(z) - eps * log_sigmoid(-z)


# --------------------------------------------------------------------------
# DPO and its TRL variants.
# --------------------------------------------------------------------------


@register(
    tasks=PREFERENCE_TASKS, input_kind="log-probabilities",
    peer=f"trl.DPOTrainer ({TRL}, the loss_type branches of DPOTrainer._compute_loss)",
    references=(
        _DPO,
        "Mitchell, A note on DPO with noisy preferences and relationship to IPO, 2023 (cDPO)",
        "Zhao et al., SLiC-HF: Sequence Likelihood Calibration with Human Feedback, "
        "arXiv:2305.10425",
        "Azar et al., A General Theoretical Paradigm to Understand Learning from Human "
        "Preferences, AISTATS 2024, arXiv:2310.12036 (IPO)",
        "Chowdhury et al., Provably Robust DPO, ICML 2024, arXiv:2403.00409",
        "Jung et al., Binary Classifier Optimization for LLM Alignment, arXiv:2404.04656",
        "Wu et al., Self-Play Preference Optimization, arXiv:2405.00675",
        "Chen et al., Noise Contrastive Alignment of Language Models with Explicit Rewards, "
        "arXiv:2402.05369",
        "D'Oosterlinck et al., Anchored Preference Optimization and Contrastive Revisions, "
        "arXiv:2408.06266",
        "Ji et al., Towards Efficient and Exact Optimization of Language Model Alignment, "
        "ICML 2024, arXiv:2402.00856 (EXO)",
        "Lu et al., Discovering Preference Optimization Algorithms with and for Large "
        "Language Models, arXiv:2406.08414 (DiscoPOP)"),
    components=("preference", *_METRICS))
@loss_function(static=("loss_type", "return_components"),
               ranges={"beta": "> 0", "label_smoothing": "[0, 1]", "discopop_tau": "> 0"},
               choices={"loss_type": DPO_LOSS_TYPES})
def dpo_loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
             reference_rejected_logps, *, beta=0.1, label_smoothing=0.0, loss_type="sigmoid",
             discopop_tau=0.05, chosen_lengths=None, rejected_lengths=None, weights=None,
             where=None, reduction="mean", return_components=False):
  r"""Direct Preference Optimization and TRL's variants of it (``loss_type``).

  With the log-ratios :math:`\rho_w = \log\pi_\theta(y_w) - \log\pi_{ref}(y_w)`,
  :math:`\rho_l` likewise for the rejected completion, :math:`\Delta = \rho_w - \rho_l`,
  :math:`z = \beta\Delta`, :math:`\varepsilon` = ``label_smoothing`` and
  :math:`\log\sigma` the log-sigmoid, the per-pair loss is

  .. math::
    \begin{array}{ll}
    \text{sigmoid (DPO; cDPO if } \varepsilon > 0) &
      -(1-\varepsilon)\log\sigma(z) - \varepsilon\log\sigma(-z) \\
    \text{hinge (SLiC)} & \max(0, 1 - z) \\
    \text{ipo} & (\bar\Delta - 1/(2\beta))^2,\quad
      \bar\Delta = \rho_w/n_w - \rho_l/n_l \\
    \text{robust} & \big(-(1-\varepsilon)\log\sigma(z)
      + \varepsilon\log\sigma(-z)\big)/(1 - 2\varepsilon) \\
    \text{bco\_pair} & -\log\sigma(\beta\rho_w) - \log\sigma(-\beta\rho_l) \\
    \text{sppo\_hard} & (\rho_w - 1/(2\beta))^2 + (\rho_l + 1/(2\beta))^2 \\
    \text{nca\_pair} & -\log\sigma(\beta\rho_w) - \tfrac12\log\sigma(-\beta\rho_w)
      - \tfrac12\log\sigma(-\beta\rho_l) \\
    \text{apo\_zero} & 1 - \sigma(\beta\rho_w) + \sigma(\beta\rho_l) \\
    \text{apo\_down} & \sigma(\beta\rho_w) + 1 - \sigma(z) \\
    \text{exo\_pair} & \sigma(z)\big(\log\sigma(z) - \log(1-\varepsilon)\big)
      + \sigma(-z)\big(\log\sigma(-z) - \log\varepsilon\big) \\
    \text{discopop} & -\log\sigma(z)\,(1 - \sigma(z/\tau)) + e^{-z}\sigma(z/\tau) \\
    \text{sigmoid\_norm} & -\log\sigma(\beta\bar\Delta)
    \end{array}

  Args:
    policy_chosen_logps: floating ``(B,)``, the policy's summed log-probability of each
      chosen completion (any shape: the loss is elementwise over pairs).
    policy_rejected_logps: the same for the rejected completions, same shape.
    reference_chosen_logps: the reference model's, same shape (no gradient).
    reference_rejected_logps: the reference model's, same shape (no gradient).
    beta: the KL strength (default 0.1, TRL's); for "ipo" the regulariser :math:`\tau`.
      May be traced.
    label_smoothing: :math:`\varepsilon`, the assumed preference-flip probability, in
      [0, 1] (default 0): cDPO for "sigmoid", rDPO for "robust" (needs < 0.5), the target
      smoothing of "exo_pair" (needs > 0; the EXO paper uses 1e-3). May be traced.
    loss_type: one of "sigmoid" (default), "hinge", "ipo", "robust", "bco_pair",
      "sppo_hard", "nca_pair", "apo_zero", "apo_down", "exo_pair", "discopop",
      "sigmoid_norm".
    discopop_tau: DiscoPOP's temperature :math:`\tau` (default 0.05, TRL's).
    chosen_lengths: optional completion token counts :math:`n_w`, broadcastable to
      ``(B,)``; "ipo" and "sigmoid_norm" divide the log-ratios by them (clamped at 1), as
      TRL does with its completion mask. Without them those two loss types take the
      inputs as already per-token means. Ignored by the other loss types.
    rejected_lengths: :math:`n_l`, likewise (given together with ``chosen_lengths``).
    weights: optional per-pair weights, broadcastable to ``(B,)`` (e.g. WPO's).
    where: optional boolean mask over pairs, broadcastable to ``(B,)``.
    reduction: "mean" (default, over the unmasked pairs) | "sum" | "none".
    return_components: also return TRL's logged metrics.

  Returns:
    A scalar for "mean"/"sum"; ``(B,)`` for "none". With ``return_components=True``,
    ``(loss, parts)``: ``"preference"`` (the loss itself), ``"chosen_rewards"``
    :math:`\beta\rho_w`, ``"rejected_rewards"`` :math:`\beta\rho_l`, ``"reward_accuracy"``
    (the fraction of pairs with :math:`\rho_w > \rho_l`) and ``"reward_margin"``
    :math:`\beta\Delta`, each without gradient and reduced like the loss (unweighted).

  Raises:
    LossInputError: shape mismatch; only one of the two lengths; concrete ``beta <= 0``,
      ``label_smoothing`` outside [0, 1], unknown ``loss_type``.
    LossTypeError: non-floating inputs, a non-boolean ``where``.

  Notes:
    Matches the ``loss_type`` branches of ``DPOTrainer._compute_loss`` in TRL 1.9.0 with
    the default ``f_divergence_type="reverse_kl"``, except for "sigmoid" with
    ``label_smoothing > 0``: TRL up to 0.28 applied cDPO's smoothing there (as here),
    TRL 0.29+ ignores ``label_smoothing`` for "sigmoid" (the two agree at the default 0).
    "bco_pair" is TRL 1.x's (no running-mean reward shift; TRL 0.x subtracted one).
    For "exo_pair" a ``label_smoothing`` of 0 (TRL raises) is taken as the dtype's
    smallest normal number, so the loss stays finite, and is reported under ``checkify``;
    for "robust", ``label_smoothing >= 0.5`` is reported under ``checkify`` (TRL warns).
    DiscoPOP's :math:`e^{-z}\sigma(z/\tau)` is computed as
    :math:`\exp(-z + \log\sigma(z/\tau))`, finite where TRL's product gives
    ``inf * 0``. Not included: TRL's sort-based "aot"/"aot_unpaired" (not per-pair), "sft"
    (needs logits), lists of loss types (add the calls) and the f-divergence options.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> pc, pr = jnp.array([-10., -12.]), jnp.array([-11., -10.])
    >>> rc, rr = jnp.array([-10.5, -11.]), jnp.array([-10.5, -11.])
    >>> print(jaxloss.dpo_loss(pc, pr, rc, rr, reduction="none"))
    [0.644397 0.798139 ]
    >>> loss, parts = jaxloss.dpo_loss(pc, pr, rc, rr, loss_type="ipo",
    ...                                return_components=True)
    >>> print(loss, parts["reward_accuracy"])
    32.5 0.5
  """
  pc, pr, rc, rr = sequence_inputs(
      (*_PAIR_NAMES, *_REF_NAMES),
      (policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
       reference_rejected_logps), where)
  rc, rr = jax.lax.stop_gradient(rc), jax.lax.stop_gradient(rr)
  dtype, shape = pc.dtype, pc.shape
  nc, nr = _pair_lengths(chosen_lengths, rejected_lengths, shape, dtype, where)
  beta = jnp.asarray(beta, dtype)
  eps = jnp.asarray(label_smoothing, dtype)
  rho_c, rho_r = pc - rc, pr - rr
  z = beta * (rho_c - rho_r)

  if loss_type == "sigmoid":
    values = _smoothed_sigmoid(z, eps)
  elif loss_type == "hinge":
    values = jax.nn.relu(1 - z)
  elif loss_type == "ipo":
    values = (per_token(rho_c, nc) - per_token(rho_r, nr) - 1 / (2 * beta)) ** 2
  elif loss_type == "robust":
    debug_check(eps < 0.5, "dpo_loss: loss_type='robust' needs label_smoothing < 0.5")
    values = (-(1 - eps) * log_sigmoid(z) + eps * log_sigmoid(-z)) / (1 - 2 * eps)
  elif loss_type == "bco_pair":
    values = -log_sigmoid(beta * rho_c) - log_sigmoid(-beta * rho_r)
  elif loss_type == "sppo_hard":
    values = (rho_c - 0.5 / beta) ** 2 + (rho_r + 0.5 / beta) ** 2
  elif loss_type == "nca_pair":
    values = (-log_sigmoid(beta * rho_c) - 0.5 * log_sigmoid(-beta * rho_c)
              - 0.5 * log_sigmoid(-beta * rho_r))
  elif loss_type == "apo_zero":
    values = 1 - jax.nn.sigmoid(beta * rho_c) + jax.nn.sigmoid(beta * rho_r)
  elif loss_type == "apo_down":
    values = jax.nn.sigmoid(beta * rho_c) + 1 - jax.nn.sigmoid(z)
  elif loss_type == "exo_pair":
    debug_check(eps > 0, "dpo_loss: loss_type='exo_pair' needs label_smoothing > 0")
    tiny = jnp.finfo(dtype).tiny
    e = jnp.clip(eps, tiny, 1 - jnp.finfo(dtype).epsneg)
    lw, ll = log_sigmoid(z), log_sigmoid(-z)
    values = jnp.exp(lw) * (lw - jnp.log1p(-e)) + jnp.exp(ll) * (ll - jnp.log(e))
  elif loss_type == "discopop":
    tau = jnp.asarray(discopop_tau, dtype)
    # e^{-z} * sigmoid(z / tau) in log space: the product is 0 * inf in TRL's form for z << 0.
    values = (-log_sigmoid(z) * jax.nn.sigmoid(-z / tau)
              + capped_exp(-z + log_sigmoid(z / tau)))
  else:  # sigmoid_norm
    values = -log_sigmoid(beta * (per_token(rho_c, nc) - per_token(rho_r, nr)))

  loss = reduce_loss(values, reduction, where=where, weights=weights)
  if not return_components:
    return loss
  return loss, {"preference": loss,
                **reward_metrics(beta * rho_c, beta * rho_r, reduction, where)}


# --------------------------------------------------------------------------
# KTO.
# --------------------------------------------------------------------------


@register(
    tasks=PREFERENCE_TASKS, input_kind="log-probabilities",
    peer=f"trl.KTOTrainer ({TRL}, KTOTrainer._compute_loss; TRL 0.x's KTOTrainer.kto_loss)",
    references=("Ethayarajh et al., KTO: Model Alignment as Prospect Theoretic "
                "Optimization, ICML 2024, arXiv:2402.01306",
                "D'Oosterlinck et al., Anchored Preference Optimization and Contrastive "
                "Revisions, arXiv:2408.06266 (apo_zero_unpaired)"),
    components=("desirable", "undesirable", "kl"))
@loss_function(static=("loss_type", "return_components"),
               ranges={"beta": "> 0", "desirable_weight": ">= 0", "undesirable_weight": ">= 0"},
               choices={"loss_type": ("kto", "apo_zero_unpaired")})
def kto_loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
             reference_rejected_logps, *, policy_kl_logps=None, reference_kl_logps=None,
             beta=0.1, desirable_weight=1.0, undesirable_weight=1.0, loss_type="kto",
             where=None, reduction="mean", return_components=False):
  r"""Kahneman-Tversky Optimization on unpaired desirable and undesirable completions.

  With :math:`\rho = \log\pi_\theta(y) - \log\pi_{ref}(y)` and the reference point
  :math:`z_0` (no gradient),

  .. math::
    \ell_{\text{desirable}} = \lambda_D\big(1 - \sigma(\beta(\rho - z_0))\big),\qquad
    \ell_{\text{undesirable}} = \lambda_U\big(1 - \sigma(\beta(z_0 - \rho))\big),

  .. math::
    z_0 = \max\Big(0,\ \tfrac1K\sum_k \log\pi_\theta(y'_k) - \log\pi_{ref}(y'_k)\Big)

  where :math:`y'_k` are the mismatched completions TRL builds by pairing each prompt
  with another example's completion (``policy_kl_logps``, ``reference_kl_logps``).
  ``loss_type="apo_zero_unpaired"`` uses :math:`1 - \sigma(\beta\rho)` and
  :math:`\sigma(\beta\rho)` instead (no reference point).

  Args:
    policy_chosen_logps: floating ``(Nd,)``, the policy's summed log-probability of each
      desirable completion.
    policy_rejected_logps: ``(Nu,)``, the undesirable ones; ``Nu`` may differ from ``Nd``
      (KTO is unpaired; either may be 0).
    reference_chosen_logps: ``(Nd,)``, the reference model's (no gradient).
    reference_rejected_logps: ``(Nu,)``, the reference model's (no gradient).
    policy_kl_logps: optional ``(K,)`` policy log-probabilities of the mismatched
      completions; with ``reference_kl_logps`` they give :math:`z_0` as TRL computes it
      (mean log-ratio, clamped at 0, no gradient). Without them :math:`z_0 = 0` (TRL's
      ``calculate_KL=False``).
    reference_kl_logps: optional ``(K,)``, the reference model's for the same completions.
    beta: default 0.1 (TRL's). May be traced.
    desirable_weight: :math:`\lambda_D` (default 1.0). May be traced.
    undesirable_weight: :math:`\lambda_U` (default 1.0). May be traced.
    loss_type: "kto" (default) | "apo_zero_unpaired".
    where: optional boolean mask of shape ``(Nd + Nu,)`` (desirable first, the order of
      the unreduced loss).
    reduction: "mean" (default: over the ``Nd + Nu`` unmasked completions, TRL's
      ``losses.nanmean()``) | "sum" | "none".
    return_components: also return the parts.

  Returns:
    A scalar for "mean"/"sum"; ``(Nd + Nu,)`` for "none" (the weighted desirable losses,
    then the undesirable ones, as TRL concatenates them). With ``return_components=True``,
    ``(loss, parts)``: ``"desirable"`` and ``"undesirable"`` (each half's share of the
    loss, so they add up to it; ``(Nd,)`` and ``(Nu,)`` for "none"), ``"kl"``
    (:math:`z_0`), ``"chosen_rewards"`` and ``"rejected_rewards"`` (:math:`\beta\rho`,
    reduced over their own half, no gradient).

  Raises:
    LossInputError: non-1-D inputs, a reference array of another shape than its policy
      array, only one of the two KL arrays, a ``where`` of another shape.
    LossTypeError: non-floating inputs, a non-boolean ``where``.

  Notes:
    Matches ``KTOTrainer._compute_loss`` of TRL 1.9.0 (and ``kto_loss`` of TRL 0.x): the
    same reference point, the same concatenation and mean. TRL also averages :math:`z_0`
    over processes; under ``jax.jit`` with a sharded batch the mean here is already over
    the global batch. The KL arrays are not masked by ``where``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> loss = jaxloss.kto_loss(jnp.array([-9., -11.]), jnp.array([-12.]),
    ...                         jnp.array([-10., -10.]), jnp.array([-11.]),
    ...                         policy_kl_logps=jnp.array([-20., -20.5]),
    ...                         reference_kl_logps=jnp.array([-20.5, -20.5]))
    >>> print(loss)
    0.493753
  """
  pc, rc = _kto_half("policy_chosen_logps", policy_chosen_logps,
                     "reference_chosen_logps", reference_chosen_logps)
  pr, rr = _kto_half("policy_rejected_logps", policy_rejected_logps,
                     "reference_rejected_logps", reference_rejected_logps)
  nd, nu = pc.shape[0], pr.shape[0]
  check_where(where, (nd + nu,))
  if where is not None and shape_of(where) != (nd + nu,):
    raise LossInputError(f"where has shape {shape_of(where)}; expected ({nd + nu},), one "
                         "entry per desirable then per undesirable completion")
  dtype = jnp.result_type(pc, pr, rc, rr)
  wc = None if where is None else where[:nd]
  wr = None if where is None else where[nd:]
  pc, rc = (jnp.where(wc, x, 0).astype(dtype) if wc is not None else x.astype(dtype)
            for x in (pc, rc))
  pr, rr = (jnp.where(wr, x, 0).astype(dtype) if wr is not None else x.astype(dtype)
            for x in (pr, rr))
  rc, rr = jax.lax.stop_gradient(rc), jax.lax.stop_gradient(rr)

  if (policy_kl_logps is None) != (reference_kl_logps is None):
    raise LossInputError("policy_kl_logps and reference_kl_logps are given together or not "
                         "at all")
  if policy_kl_logps is None:
    kl = jnp.zeros((), dtype)
  else:
    check_floating("policy_kl_logps", policy_kl_logps)
    if shape_of(policy_kl_logps) != shape_of(reference_kl_logps):
      raise LossInputError(
          f"reference_kl_logps has shape {shape_of(reference_kl_logps)} but policy_kl_logps "
          f"has shape {shape_of(policy_kl_logps)}; expected the same shape")
    d = jnp.asarray(policy_kl_logps).astype(dtype) - jnp.asarray(reference_kl_logps).astype(dtype)
    kl = jax.lax.stop_gradient(jnp.maximum(jnp.mean(d), 0))

  beta = jnp.asarray(beta, dtype)
  rho_c, rho_r = pc - rc, pr - rr
  if loss_type == "kto":
    lc = 1 - jax.nn.sigmoid(beta * (rho_c - kl))
    lr = 1 - jax.nn.sigmoid(beta * (kl - rho_r))
  else:  # apo_zero_unpaired
    lc = 1 - jax.nn.sigmoid(beta * rho_c)
    lr = jax.nn.sigmoid(beta * rho_r)
  lc = jnp.asarray(desirable_weight, dtype) * lc
  lr = jnp.asarray(undesirable_weight, dtype) * lr
  loss = reduce_loss(jnp.concatenate([lc, lr]), reduction, where=where)
  if not return_components:
    return loss
  if reduction == "none":
    des, und = loss[:nd], loss[nd:]
  else:
    # Each half's share of the total: the same denominator as the loss's mean.
    count = (nd + nu) if where is None else jnp.sum(where, dtype=dtype)
    scale = 1 if reduction == "sum" else 1 / jnp.maximum(count, 1)
    des = reduce_loss(lc, "sum", where=wc) * scale
    und = reduce_loss(lr, "sum", where=wr) * scale
  return loss, {
      "desirable": des, "undesirable": und, "kl": kl,
      "chosen_rewards": reduce_loss(jax.lax.stop_gradient(beta * rho_c), reduction, where=wc),
      "rejected_rewards": reduce_loss(jax.lax.stop_gradient(beta * rho_r), reduction, where=wr),
  }


def _kto_half(policy_name, policy, reference_name, reference):
  check_floating(policy_name, policy)
  check_rank(policy_name, policy, 1, "one log-probability per completion")
  if shape_of(reference) != shape_of(policy):
    raise LossInputError(
        f"{reference_name} has shape {shape_of(reference)} but {policy_name} has shape "
        f"{shape_of(policy)}; expected {reference_name} of shape {shape_of(policy)}")
  dtype = jnp.promote_types(jnp.result_type(policy, reference), jnp.float32)
  return jnp.asarray(policy).astype(dtype), jnp.asarray(reference).astype(dtype)


# --------------------------------------------------------------------------
# Reference-free: ORPO, SimPO, CPO.
# --------------------------------------------------------------------------


@register(
    tasks=PREFERENCE_TASKS, input_kind="log-probabilities",
    peer=f"trl.experimental.orpo.ORPOTrainer ({TRL}, odds_ratio_loss)",
    references=("Hong et al., ORPO: Monolithic Preference Optimization without Reference "
                "Model, EMNLP 2024, arXiv:2403.07691",),
    components=("nll", "odds_ratio", "log_odds", *_METRICS))
@loss_function(static=("return_components",), ranges={"beta": ">= 0"})
def orpo_loss(policy_chosen_logps, policy_rejected_logps, *, beta=0.1, chosen_lengths=None,
              rejected_lengths=None, where=None, reduction="mean", return_components=False):
  r"""Odds Ratio Preference Optimization: the chosen completion's NLL plus an odds-ratio term.

  With the per-token mean log-probabilities :math:`\bar p_w, \bar p_l` (each < 0),

  .. math::
    \ell = -\bar p_w - \beta\log\sigma\Big(\log\frac{\text{odds}(y_w)}{\text{odds}(y_l)}\Big),
    \qquad \log\frac{\text{odds}(y_w)}{\text{odds}(y_l)}
      = (\bar p_w - \bar p_l) - \big(\log(1 - e^{\bar p_w}) - \log(1 - e^{\bar p_l})\big)

  Args:
    policy_chosen_logps: floating ``(B,)``: per-token mean log-probabilities of the chosen
      completions (TRL's ``average_log_prob=True``), or sums when ``chosen_lengths`` is
      given. Must be < 0 (checked under ``checkify``).
    policy_rejected_logps: the same for the rejected completions.
    beta: the odds-ratio weight :math:`\lambda` (default 0.1, TRL's). May be traced.
    chosen_lengths: optional token counts, broadcastable to ``(B,)``: the inputs are then
      sums, divided by these (clamped at 1).
    rejected_lengths: likewise, given together with ``chosen_lengths``.
    where: optional boolean mask over pairs, broadcastable to ``(B,)``.
    reduction: "mean" (default) | "sum" | "none".
    return_components: also return the parts and TRL's metrics.

  Returns:
    A scalar for "mean"/"sum"; ``(B,)`` for "none". With ``return_components=True``,
    ``(loss, parts)``: ``"nll"`` :math:`-\bar p_w` and ``"odds_ratio"``
    :math:`-\beta\log\sigma(\cdot)` (they add up to the loss), ``"log_odds"`` (the log odds
    ratio, no gradient) and the reward metrics of :func:`dpo_loss` with TRL's ORPO rewards
    :math:`\beta\bar p`.

  Raises:
    LossInputError: shape mismatch, only one of the lengths, concrete ``beta < 0``.
    LossTypeError: non-floating inputs, a non-boolean ``where``.

  Notes:
    The odds-ratio term is ``odds_ratio_loss`` of TRL's ORPOTrainer. TRL's NLL is the token
    mean of the cross-entropy over all chosen tokens of the batch (prompt included, unless
    masked); here it is the chosen completions' mean per-token NLL averaged over pairs, the
    paper's :math:`\mathcal{L}_{SFT}` computed from the inputs (equal to TRL's when every
    completion has the same length and the prompt is masked). :math:`\log(1 - e^x)` is
    evaluated at :math:`\min(x, -\epsilon_{dtype})` so a log-probability of exactly 0 gives
    a finite value and gradient.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.orpo_loss(jnp.array([-0.5, -1.0]), jnp.array([-1.5, -0.8]),
    ...                         reduction="none"))
    [0.517086 1.087633]
  """
  pc, pr = sequence_inputs(_PAIR_NAMES, (policy_chosen_logps, policy_rejected_logps), where)
  nc, nr = _pair_lengths(chosen_lengths, rejected_lengths, pc.shape, pc.dtype, where)
  pc, pr = per_token(pc, nc), per_token(pr, nr)
  debug_check(jnp.all((pc <= 0) & (pr <= 0)),
              "orpo_loss: log-probabilities must be <= 0")
  beta = jnp.asarray(beta, pc.dtype)
  top = -jnp.finfo(pc.dtype).eps
  log_odds = (pc - pr) - (log1mexp(jnp.minimum(pc, top)) - log1mexp(jnp.minimum(pr, top)))
  nll = -pc
  odds = -beta * log_sigmoid(log_odds)
  loss = reduce_loss(nll + odds, reduction, where=where)
  if not return_components:
    return loss
  return loss, {
      "nll": reduce_loss(nll, reduction, where=where),
      "odds_ratio": reduce_loss(odds, reduction, where=where),
      "log_odds": reduce_loss(jax.lax.stop_gradient(log_odds), reduction, where=where),
      **reward_metrics(beta * pc, beta * pr, reduction, where)}


@register(
    tasks=PREFERENCE_TASKS, input_kind="log-probabilities",
    peer="princeton-nlp/SimPO SimPOTrainer.simpo_loss (= trl CPOTrainer with "
         "loss_type='simpo', cpo_alpha=0, simpo_gamma=gamma_beta_ratio * beta)",
    references=("Meng et al., SimPO: Simple Preference Optimization with a Reference-Free "
                "Reward, NeurIPS 2024, arXiv:2405.14734",),
    components=("preference", *_METRICS))
@loss_function(static=("loss_type", "return_components"),
               ranges={"beta": "> 0", "label_smoothing": "[0, 1]"},
               choices={"loss_type": ("sigmoid", "hinge")})
def simpo_loss(policy_chosen_logps, policy_rejected_logps, *, beta=2.0, gamma_beta_ratio=0.25,
               label_smoothing=0.0, loss_type="sigmoid", chosen_lengths=None,
               rejected_lengths=None, where=None, reduction="mean", return_components=False):
  r"""SimPO: a reference-free margin loss on length-normalised log-probabilities.

  With the per-token mean log-probabilities :math:`\bar p_w, \bar p_l`,
  :math:`u = \bar p_w - \bar p_l - \gamma/\beta` (``gamma_beta_ratio`` is
  :math:`\gamma/\beta`) and :math:`\varepsilon` = ``label_smoothing``,

  .. math::
    \ell_{\text{sigmoid}} = -(1-\varepsilon)\log\sigma(\beta u)
      - \varepsilon\log\sigma(-\beta u),\qquad
    \ell_{\text{hinge}} = \max(0, 1 - \beta u)

  Args:
    policy_chosen_logps: floating ``(B,)``: per-token mean log-probabilities of the chosen
      completions, or sums when ``chosen_lengths`` is given.
    policy_rejected_logps: the same for the rejected completions.
    beta: reward scale (default 2.0, the SimPO reference implementation's). May be traced.
    gamma_beta_ratio: target margin over beta, :math:`\gamma/\beta` (default 0.25, the
      reference implementation's). May be traced.
    label_smoothing: :math:`\varepsilon` in [0, 1] (default 0), "sigmoid" only.
    loss_type: "sigmoid" (default) | "hinge".
    chosen_lengths: optional token counts, broadcastable to ``(B,)``: the inputs are then
      sums, divided by these (clamped at 1).
    rejected_lengths: likewise, given together with ``chosen_lengths``.
    where: optional boolean mask over pairs, broadcastable to ``(B,)``.
    reduction: "mean" (default) | "sum" | "none".
    return_components: also return the parts and metrics.

  Returns:
    A scalar for "mean"/"sum"; ``(B,)`` for "none". With ``return_components=True``,
    ``(loss, parts)``: ``"preference"`` (the loss) and the reward metrics of
    :func:`dpo_loss` with SimPO's rewards :math:`\beta\bar p`.

  Raises:
    LossInputError: shape mismatch, only one of the lengths, concrete ``beta <= 0``.
    LossTypeError: non-floating inputs, a non-boolean ``where``.

  Notes:
    Matches ``SimPOTrainer.simpo_loss`` of princeton-nlp/SimPO (the defaults too) and TRL's
    ``CPOTrainer`` with ``loss_type="simpo"``, ``cpo_alpha=0`` and
    ``simpo_gamma = gamma_beta_ratio * beta`` (TRL's defaults, beta 0.1 and simpo_gamma
    0.5, give a margin ratio of 5, far from the paper's). The optional SFT term of the
    reference implementation (``sft_weight``, default 0) is not included: add
    :func:`cpo_loss`'s NLL or a cross-entropy.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.simpo_loss(jnp.array([-0.5, -1.0]), jnp.array([-1.5, -0.8]),
    ...                          reduction="none"))
    [0.201413 1.241154 ]
  """
  pc, pr = sequence_inputs(_PAIR_NAMES, (policy_chosen_logps, policy_rejected_logps), where)
  nc, nr = _pair_lengths(chosen_lengths, rejected_lengths, pc.shape, pc.dtype, where)
  pc, pr = per_token(pc, nc), per_token(pr, nr)
  beta = jnp.asarray(beta, pc.dtype)
  u = pc - pr - jnp.asarray(gamma_beta_ratio, pc.dtype)
  if loss_type == "sigmoid":
    values = _smoothed_sigmoid(beta * u, jnp.asarray(label_smoothing, pc.dtype))
  else:
    values = jax.nn.relu(1 - beta * u)
  loss = reduce_loss(values, reduction, where=where)
  if not return_components:
    return loss
  return loss, {"preference": loss, **reward_metrics(beta * pc, beta * pr, reduction, where)}


@register(
    tasks=(*PREFERENCE_TASKS, "machine translation"), input_kind="log-probabilities",
    peer=f"trl.experimental.cpo.CPOTrainer ({TRL}, cpo_loss + cpo_alpha * nll_loss)",
    references=("Xu et al., Contrastive Preference Optimization: Pushing the Boundaries of "
                "LLM Performance in Machine Translation, ICML 2024, arXiv:2401.08417",),
    components=("preference", "nll", *_METRICS))
@loss_function(static=("loss_type", "return_components"),
               ranges={"beta": "> 0", "label_smoothing": "[0, 1]", "nll_weight": ">= 0"},
               choices={"loss_type": ("sigmoid", "hinge", "ipo")})
def cpo_loss(policy_chosen_logps, policy_rejected_logps, *, beta=0.1, label_smoothing=0.0,
             loss_type="sigmoid", nll_weight=1.0, chosen_lengths=None, rejected_lengths=None,
             where=None, reduction="mean", return_components=False):
  r"""Contrastive Preference Optimization: a reference-free DPO term plus the chosen NLL.

  With the policy's log-probabilities :math:`p_w, p_l`, :math:`z = \beta(p_w - p_l)`,
  :math:`\varepsilon` = ``label_smoothing`` and :math:`\alpha` = ``nll_weight``,

  .. math::
    \ell = \ell_{\text{pref}} - \alpha\,\bar p_w,\qquad
    \ell_{\text{pref}} = \begin{cases}
      -(1-\varepsilon)\log\sigma(z) - \varepsilon\log\sigma(-z) & \text{sigmoid} \\
      \max(0, 1 - z) & \text{hinge} \\
      (\bar p_w - \bar p_l - 1/(2\beta))^2 & \text{ipo}
    \end{cases}

  where :math:`\bar p = p/n` when token counts are given and :math:`p` otherwise.

  Args:
    policy_chosen_logps: floating ``(B,)``, the policy's summed log-probabilities of the
      chosen completions (per-token means for "ipo" when no lengths are given, as TRL
      computes them for "ipo").
    policy_rejected_logps: the same for the rejected completions.
    beta: default 0.1 (TRL's). May be traced.
    label_smoothing: :math:`\varepsilon` in [0, 1] (default 0), "sigmoid" only.
    loss_type: "sigmoid" (default) | "hinge" | "ipo".
    nll_weight: :math:`\alpha`, the weight of the behaviour-cloning NLL (TRL's
      ``cpo_alpha``, default 1.0). May be traced.
    chosen_lengths: optional token counts, broadcastable to ``(B,)``: the NLL term and the
      "ipo" term then use per-token means :math:`p/n` (TRL's choices), "sigmoid"/"hinge"
      keep the sums.
    rejected_lengths: likewise, given together with ``chosen_lengths``.
    where: optional boolean mask over pairs, broadcastable to ``(B,)``.
    reduction: "mean" (default) | "sum" | "none".
    return_components: also return the parts and metrics.

  Returns:
    A scalar for "mean"/"sum"; ``(B,)`` for "none". With ``return_components=True``,
    ``(loss, parts)``: ``"preference"`` and ``"nll"`` (unweighted; the loss is
    ``preference + nll_weight * nll``) and the reward metrics of :func:`dpo_loss` with
    TRL's CPO rewards :math:`\beta p`.

  Raises:
    LossInputError: shape mismatch, only one of the lengths, a concrete bad option.
    LossTypeError: non-floating inputs, a non-boolean ``where``.

  Notes:
    The preference term is ``CPOTrainer.cpo_loss`` of TRL 1.9.0 with ``alpha=0`` (no
    AlphaPO reward shape). TRL's NLL is the token mean of the cross-entropy over all
    chosen tokens of the batch; here it is the mean over pairs of each chosen completion's
    NLL (per token with ``chosen_lengths``: equal to TRL's when the lengths are equal;
    the whole sequence's without, the paper's form). SimPO is :func:`simpo_loss`.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.cpo_loss(jnp.array([-5., -8.]), jnp.array([-9., -7.]),
    ...                        chosen_lengths=jnp.array([5., 8.]),
    ...                        rejected_lengths=jnp.array([6., 7.]), reduction="none"))
    [1.513015 1.744397]
  """
  pc, pr = sequence_inputs(_PAIR_NAMES, (policy_chosen_logps, policy_rejected_logps), where)
  nc, nr = _pair_lengths(chosen_lengths, rejected_lengths, pc.shape, pc.dtype, where)
  dtype = pc.dtype
  beta = jnp.asarray(beta, dtype)
  z = beta * (pc - pr)
  if loss_type == "sigmoid":
    pref = _smoothed_sigmoid(z, jnp.asarray(label_smoothing, dtype))
  elif loss_type == "hinge":
    pref = jax.nn.relu(1 - z)
  else:  # ipo
    pref = (per_token(pc, nc) - per_token(pr, nr) - 1 / (2 * beta)) ** 2
  nll = -per_token(pc, nc)
  loss = reduce_loss(pref + jnp.asarray(nll_weight, dtype) * nll, reduction, where=where)
  if not return_components:
    return loss
  return loss, {"preference": reduce_loss(pref, reduction, where=where),
                "nll": reduce_loss(nll, reduction, where=where),
                **reward_metrics(beta * pc, beta * pr, reduction, where)}
