"""One signature vocabulary over the whole catalog (STYLE.md, "A loss function's signature").

A registered loss fails here if its first two parameter names are outside the
table below, if any parameter is a singular ``target``/``label``, if it uses a
retired name (``weight_map``, ``lambda_*``, ``return_parts``, ``proxies``), if
``class_weights`` is positional (a class-centre matrix is ``centers``), or if it
introduces a keyword that is not in :data:`KEYWORDS`: a new name is a decision,
made by adding it here with the loss that needs it.
"""

from __future__ import annotations

import inspect

import pytest

from jaxloss import catalog

# The standard pairs (STYLE.md).
STANDARD = {
    ("logits", "labels"): "class scores with class ids, one-hot, soft or +-1 labels",
    ("predictions", "targets"): "values, images, boxes, maps and series",
    ("embeddings", "labels"): "batch metric-learning losses",
    ("x1", "x2"): "pair and view losses",
}

# Domain pairs, where none of the standard ones fits; each with its reason.
DOMAIN = {
    ("log_probs", "labels"): "nll_loss takes log-probabilities (torch.nn.functional.nll_loss)",
    ("probabilities", "labels"): "binary cross-entropy on probabilities",
    ("logits", "targets"): "divergence of predicted logits from a target distribution; GFL's "
                           "distribution focal loss: bin logits and continuous targets",
    ("logits", "distance_maps"): "Kervadec's boundary loss takes precomputed distance maps",
    ("anchors", "positives"): "explicit anchor/positive(/negative) tuples (torch, PML)",
    ("distances", "labels"): "hinge embedding loss on precomputed distances",
    ("mean", "targets"): "NLL / proper score with the predicted distribution's parameter first",
    ("loc", "targets"): "NLL with the predicted location first",
    ("mu", "targets"): "negative-binomial NLL with the predicted mean first",
    ("log_rate", "targets"): "Poisson NLL with the predicted log-rate first",
    ("concentration", "targets"): "gamma NLL with the predicted concentration first",
    ("concentration1", "targets"): "Beta NLL with the predicted concentration first",
    ("samples", "targets"): "ensemble CRPS over predicted samples",
    ("intervals", "targets"): "interval score over predicted intervals",
    ("mean", "log_var"): "Gaussian KL of a VAE posterior",
    ("real_logits", "fake_logits"): "GAN discriminator",
    ("fake_features", "real_features"): "GAN feature matching",
    ("real", "fake"): "WGAN-GP gradient penalty on real and generated samples",
    ("model_fn_or_prediction", "x0"): "denoising diffusion: a model or its prediction, clean data",
    ("hidden", "weight"): "fused linear + cross-entropy: hidden states and the output matrix",
    ("student_hidden", "student_weight"): "fused linear distillation (KD, GKD): the student's "
                                          "hidden states and LM head, then the teacher's "
                                          "(Liger's student_input, student_weight)",
    ("chosen_hidden", "rejected_hidden"): "fused linear DPO: the policy's hidden states of the "
                                          "chosen and rejected sequences, then its LM head",
    ("policy_chosen_logps", "policy_rejected_logps"):
        "preference optimisation (DPO, KTO, ORPO, SimPO, CPO): the policy's per-sequence "
        "log-probabilities of the chosen and rejected completions, TRL's names",
    ("logps", "old_logps"): "clipped policy gradient: per-token log-probabilities of the "
                            "current and the sampling policy (TRL's per_token_logps, old_...)",
    ("logps", "ref_logps"): "KL penalty estimators: the policy's and the reference policy's "
                            "log-probabilities of the sampled tokens",
    ("values", "old_values"): "PPO's clipped value loss: value predictions now and at rollout "
                              "time (the returns follow)",
    ("student_logits", "teacher_logits"): "knowledge distillation and self-distillation (KD, GKD, "
                                          "DKD; DINO, iBOT): the student's and teacher's logits, "
                                          "as TRL, mdistiller and dinov2 name them",
    ("x", "y"): "two-sample distances between sample sets (MMD, energy distance, sliced "
                "Wasserstein, Sinkhorn divergence), as geomloss, ott and the papers name them",
    ("router_probs", "expert_indices"): "MoE load balancing: router probabilities and the chosen "
                                        "experts (transformers' load_balancing_loss_func)",
}

# Losses of a single positional input.
SINGLE = {"logits", "predictions", "x", "flow", "real", "fake", "fake_logits",
          "router_logits"}

RETIRED = {"target", "label", "weight_map", "return_parts", "proxies", "scores", "probs",
           "boxes1", "boxes2", "pred", "input1", "input2", "inputs"}

# Every keyword-only option name in use. Add a name here only with a reason in
# the review: is there an existing name for the same concept?
KEYWORDS = {
    # the shared mechanism
    "reduction", "where", "weights", "class_weights", "ignore_index", "return_components",
    "axis", "eps", "activation", "batch", "normalize",
    # hyperparameters named as their peers name them
    "alpha", "beta", "gamma", "delta", "margin", "temperature", "scale", "label_smoothing",
    "pos_weight", "q", "t1", "t2", "num_iters", "log_zero", "epsilon", "p", "swap", "theta",
    "tau", "fun", "mode", "full", "log_input", "log_targets", "squared", "soft_margin",
    "mining", "neg_margin", "pos_margin", "base", "sigma", "bias", "negatives", "labels",
    "label_distribution", "quantiles", "crossing_penalty", "fair", "season_length",
    "include_background", "squared_pred", "jaccard", "smooth_nr", "smooth_dr", "w_type",
    "per_image", "classes", "width", "data_range", "kernel_size", "kernel_sigma", "k1", "k2",
    "padding", "scale_weights", "patch_factor", "log_matrix", "batch_matrix", "parents",
    "level_weights", "layer_weights", "distance", "feature_fn", "band_width", "kind",
    "discriminator_fn", "params", "condition", "key", "target_norm", "real_logits",
    "likelihood", "free_bits", "decoder_log_var", "prior_mean", "prior_log_var",
    "alphas_cumprod", "prediction_type", "snr_gamma", "weighting", "blank_id",
    "label_lengths", "label_paddings", "logit_lengths", "logit_paddings", "zero_infinity",
    "window", "covariance", "precision", "divergence", "image", "order", "occlusion",
    "flow_bw", "fb_alpha1", "fb_alpha2", "penalty", "charbonnier_alpha", "charbonnier_eps",
    "visible", "loss_fn", "chunk_size", "max_temp_bytes", "logit_soft_cap", "z_loss", "mesh", "axis_name",
    # mixing coefficients of compounds: <part>_weight
    "dice_weight", "ce_weight", "focal_weight", "rce_weight", "kl_weight", "ssim_weight",
    "l1_weight", "shape_weight", "temporal_weight", "triplet_weight", "boundary_weight",
    "interior_weight", "hole_weight", "valid_weight", "residual_weight", "trend_weight",
    "diff_weight", "edge_weight", "neg_weight",
    # alignment (TRL's names): preference optimisation
    "loss_type", "discopop_tau", "chosen_lengths", "rejected_lengths", "policy_kl_logps",
    "reference_kl_logps", "desirable_weight", "undesirable_weight", "gamma_beta_ratio",
    "nll_weight",
    # alignment: policy gradients
    "ref_logps", "epsilon_low", "epsilon_high", "importance_level", "max_completion_length",
    "estimator", "clip",
    # self-supervised: the official names, which issue 22 makes the contract (VICReg's
    # sim/std/cov coefficients, Barlow Twins' lambd, Sinkhorn-Knopp's iters)
    "sim_coeff", "std_coeff", "cov_coeff", "lambd", "iters",
    # self-distillation (DINO/iBOT/SwAV, the official names; SwAV's crops_for_assign as a count)
    "student_temp", "teacher_temp", "centering", "assign_crops",
    # detection (mmdetection's names)
    "iou_weighted",
    # detection (mmdetection/mmpose names): Wing's omega, Seesaw's objectness branch, GHM's
    # bins/momentum/mu and its moving-average state in and out (acc_sum, mmdet's buffer)
    "omega", "objectness", "bins", "momentum", "mu", "acc_sum", "return_acc_sum",
    # generative flows: the probability path (SiT/torchcfm "path") and EDM's sigma_data
    "path", "sigma_data",
    # metric learning (PML's names): sub-center ArcFace, SoftTriple, ProxyNCA, FastAP
    "sub_centers", "centers_per_class", "la", "softmax_scale", "num_bins",
    # retrieval (sentence-transformers' GISTEmbedLoss names; the guide's negatives named
    # after ``negatives``)
    "margin_strategy", "contrast_anchors", "contrast_positives", "guide_negatives",
    # distribution distances: MMD's kernel/bandwidths, per-sample weights of the two sets
    # (scipy's u_weights/v_weights, ott's a/b, named after the positional x/y), the sliced
    # Wasserstein's projection count (POT's n_projections) and ott's Sinkhorn stopping rule
    "kernel", "bandwidths", "x_weights", "y_weights", "n_projections", "threshold",
    "max_iterations",
    # image quality (piq's names): GMSD's T, MS-GMSD's chromatic term, MDSI's constants and
    # pooling, HaarPSI's constant and subsampling, VIF's visual-noise variance
    "t", "chromatic", "beta1", "beta2", "beta3", "c1", "c2", "c3", "combination", "rho", "o",
    "subsample", "c", "sigma_n_sq",
    # FSIM's phase congruency (piq's names of Kovesi's parameters)
    "scales", "orientations", "min_length", "mult", "sigma_f", "delta_theta", "k",
    # image: LPIPS's backbone choice (lpips.LPIPS(net=...))
    "net",
}

LOSSES = catalog.all_losses()


def _params(info):
  return inspect.signature(info.fn).parameters


def _positional(info):
  return [n for n, p in _params(info).items()
          if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


@pytest.mark.parametrize("info", LOSSES, ids=[i.name for i in LOSSES])
def test_first_two_arguments_are_in_the_vocabulary(info):
  pos = _positional(info)
  if len(pos) == 1:
    assert pos[0] in SINGLE, f"{info.name}: single input {pos[0]!r} not in {sorted(SINGLE)}"
    return
  pair = tuple(pos[:2])
  assert pair in STANDARD or pair in DOMAIN, (
      f"{info.name}{pair}: first two arguments outside the vocabulary table "
      f"(standard: {sorted(STANDARD)})")


@pytest.mark.parametrize("info", LOSSES, ids=[i.name for i in LOSSES])
def test_no_retired_or_unknown_names(info):
  params = _params(info)
  names = set(params)
  assert not names & RETIRED, f"{info.name}: retired names {sorted(names & RETIRED)}"
  assert not [n for n in names if n.startswith("lambda_")], f"{info.name}: lambda_* mixing weight"
  if "class_weights" in params:
    p = params["class_weights"]
    assert p.kind is p.KEYWORD_ONLY, (
        f"{info.name}: class_weights must be a per-class (C,) keyword; a class-centre "
        "matrix is `centers`")
  keywords = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
  unknown = keywords - KEYWORDS
  assert not unknown, (f"{info.name}: keywords {sorted(unknown)} are not in the vocabulary "
                       "(tests/test_vocabulary.py KEYWORDS); reuse an existing name or add it")


@pytest.mark.parametrize("info", LOSSES, ids=[i.name for i in LOSSES])
def test_parts_are_returned_one_way(info):
  params = _params(info)
  if info.components:
    p = params.get("return_components")
    assert p is not None and p.kind is p.KEYWORD_ONLY and p.default is False, info.name
  else:
    assert "return_components" not in params, f"{info.name}: parts not registered (components=)"


def test_vocabulary_lists_only_names_in_use():
  used = {n for i in LOSSES for n, p in _params(i).items() if p.kind is p.KEYWORD_ONLY}
  assert not KEYWORDS - used, f"stale vocabulary entries: {sorted(KEYWORDS - used)}"
