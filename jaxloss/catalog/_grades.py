"""The survey's three grades of every registered loss: one table, one row per loss.

Elharrouss et al. (2025), section "Computation and Evaluation of Loss
Functions", grade losses on computational efficiency, implementation
complexity and gradient stability (high / medium / low). Rows marked
``BY_SURVEY`` carry the survey's own levels (our one-line note explains them);
the other rows are graded by us on the same scale, with the reason in the
note. The catalog joins this table to the registry by name; a registered loss
without a row here is an error when it registers (``import jaxloss`` fails).
"""

BY_SURVEY = "survey"
BY_JAXLOSS = "jaxloss"

# name: (efficiency, complexity, stability, graded_by); each grade is (level, note).
GRADES = {
    "adaptive_robust_loss": (
        ("high", "elementwise plus a table lookup in alpha"),
        ("medium", "learned shape and scale, tabulated partition function"),
        ("high", "alpha and scale reparametrised into their valid ranges"),
        BY_JAXLOSS),
    "alpha_iou_loss": (
        ("medium", "an IoU-family loss plus powers"),
        ("medium", "one power and a base-loss mode"),
        ("medium", "powers made safe at 0; alpha > 1 sharpens gradients"),
        BY_JAXLOSS),
    "arcface_loss": (
        ("high", "one N x C cosine matrix"),
        ("medium", "class-weight matrix passed in"),
        ("medium", "no arccos (c cos m - sin theta sin m), sqrt gradient masked at |c| = 1; "
                   "scale 64 logits"),
        BY_JAXLOSS),
    "attention_target_loss": (
        ("low", "survey: needs the attention maps of the model"),
        ("high", "survey: requires attention mechanisms"),
        ("medium", "survey; log-softmax keeps the KL finite at saturated scores"),
        BY_SURVEY),
    "balanced_cross_entropy": (
        ("high", "one class histogram plus cross-entropy"),
        ("low", "no hyperparameter"),
        ("high", "weights are constants (stop_gradient); bounded by N/K"),
        BY_JAXLOSS),
    "barlow_twins_loss": (
        ("medium", "one D x D cross-correlation matrix"),
        ("low", "one off-diagonal weight"),
        ("high", "batch-norm epsilon bounds the standardisation of constant features"),
        BY_JAXLOSS),
    "beta_nll": (
        ("high", "elementwise, three lgamma"),
        ("low", "two concentration heads"),
        ("medium", "target clamped to [eps, 1 - eps]"),
        BY_JAXLOSS),
    "bi_tempered_logistic_loss": (
        ("medium", "a fixed number of normalisation iterations"),
        ("high", "two temperatures and an iterative normaliser"),
        ("medium", "bounded for t1 < 1; the fixed point needs t2 >= 1"),
        BY_JAXLOSS),
    "binary_cross_entropy": (
        ("high", "elementwise softplus"),
        ("low", "built into every framework"),
        ("high", "gradient sigmoid(x) - y, bounded by 1"),
        BY_SURVEY),
    "binary_cross_entropy_from_probs": (
        ("high", "elementwise log"),
        ("low", "built into every framework"),
        ("medium", "log clamped at -100: zero gradient once saturated"),
        BY_JAXLOSS),
    "boundary_aware_loss": (
        ("high", "cross-entropy plus two window reductions of the label map"),
        ("medium", "band width and two weights"),
        ("high", "cross-entropy from log-softmax"),
        BY_JAXLOSS),
    "boundary_loss": (
        ("high", "one product with pre-computed distance maps"),
        ("medium", "needs signed distance maps of the targets"),
        ("high", "linear in the probabilities"),
        BY_JAXLOSS),
    "byol_loss": (
        ("high", "two normalisations and a dot product per example"),
        ("low", "no hyperparameter; stop-gradient on the targets"),
        ("high", "bounded in [0, 4]; normalisation floored at 1e-12"),
        BY_JAXLOSS),
    "center_loss": (
        ("high", "one gather and a squared norm per example"),
        ("medium", "centres are state updated outside the gradient"),
        ("high", "smooth quadratic"),
        BY_JAXLOSS),
    "charbonnier_loss": (
        ("high", "elementwise, one sqrt"),
        ("low", "one epsilon"),
        ("high", "smooth everywhere, gradient bounded by 1"),
        BY_JAXLOSS),
    "chunked_cross_entropy": (
        ("high", "chunked forward, one fused elementwise backward pass"),
        ("medium", "custom_vjp and an online log-sum-exp scan"),
        ("high", "online log-sum-exp in float32; exact softmax gradient"),
        BY_JAXLOSS),
    "ciou_loss": (
        ("medium", "DIoU plus two arctangents"),
        ("medium", "aspect term with a stop-gradient weight"),
        ("medium", "atan(w/h) made safe at h = 0; alpha without gradient"),
        BY_JAXLOSS),
    "circle_loss": (
        ("medium", "one N x N cosine matrix"),
        ("medium", "self-paced weights, two hyperparameters"),
        ("medium", "gamma = 80 is steep; stable via log-sum-exp/softplus"),
        BY_JAXLOSS),
    "clip_loss": (
        ("medium", "one N x N logit matrix"),
        ("medium", "learnable temperature"),
        ("high", "log-softmax over bounded logits"),
        BY_JAXLOSS),
    "clipped_policy_loss": (
        ("high", "elementwise over (B, T) tokens plus one masked sum"),
        ("medium", "four normalisations, two clip ranges, token or sequence ratios"),
        ("medium", "clipping zeroes the gradient outside the trust region; exp capped"),
        BY_JAXLOSS),
    "combo_loss": (
        ("medium", "Dice sums plus an elementwise weighted cross-entropy"),
        ("medium", "two trade-off weights"),
        ("high", "the cross-entropy term smooths the Dice landscape"),
        BY_JAXLOSS),
    "contextual_loss": (
        ("low", "pairwise N x M feature similarities per example"),
        ("high", "feature extractor, centring, relative distances"),
        ("medium", "computed in log space; min/max select one pair each"),
        BY_JAXLOSS),
    "contrastive_loss": (
        ("low", "survey: pairwise comparisons scale quadratically with the data"),
        ("high", "survey: needs pair construction / similarity design"),
        ("low", "survey: imbalanced pairs; hinge kink at d = margin"),
        BY_SURVEY),
    "cosent_loss": (
        ("medium", "an N x N matrix of similarity differences"),
        ("low", "one scale"),
        ("high", "masked log-sum-exp of bounded logits"),
        BY_JAXLOSS),
    "cosface_loss": (
        ("high", "one N x C cosine matrix"),
        ("low", "class-weight matrix passed in"),
        ("high", "no arccos; log-sum-exp"),
        BY_JAXLOSS),
    "cosine_embedding_loss": (
        ("high", "one pass per pair"),
        ("low", "margin only"),
        ("medium", "gradient scales as 1/||x||; finite at zero vectors"),
        BY_JAXLOSS),
    "cosine_similarity_loss": (
        ("high", "one pass with two norms"),
        ("low", "no hyperparameter"),
        ("medium", "gradient scales as 1/||x||; finite at zero vectors"),
        BY_JAXLOSS),
    "cpo_loss": (
        ("high", "elementwise over pairs, no reference model"),
        ("low", "DPO's logistic term plus the chosen NLL"),
        ("high", "log-sigmoid; bounded gradient in the margin"),
        BY_JAXLOSS),
    "cross_correlation_loss": (
        ("high", "one softplus per response cell"),
        ("low", "label map plus class balancing"),
        ("high", "logistic loss from logits"),
        BY_JAXLOSS),
    "cross_entropy": (
        ("high", "one log-softmax and a gather per example"),
        ("low", "built into every framework"),
        ("high", "gradient softmax - target, bounded by 1"),
        BY_SURVEY),
    "crps_ensemble": (
        ("medium", "O(m log m) per target via a sort of the ensemble"),
        ("low", "no hyperparameter"),
        ("high", "piecewise-linear in the samples, bounded gradient"),
        BY_JAXLOSS),
    "crps_gaussian": (
        ("high", "elementwise, one erf and one exp"),
        ("low", "closed form"),
        ("high", "bounded gradient in the mean; finite as std -> 0"),
        BY_JAXLOSS),
    "ctc_loss": (
        ("medium", "O(T N) forward-backward scan over time"),
        ("medium", "blank, paddings and lengths"),
        ("medium", "log-space DP; impossible alignments give +inf (zero grad)"),
        BY_JAXLOSS),
    "cycle_consistency_loss": (
        ("low", "needs both generators' forward passes (the loss itself is L1)"),
        ("high", "two generators and two discriminators in the full model"),
        ("medium", "bounded L1 gradient; the adversarial game dominates"),
        BY_SURVEY),
    "dice_ce_loss": (
        ("medium", "Dice sums plus one log-softmax per pixel"),
        ("medium", "Dice options plus two trade-off weights"),
        ("high", "the cross-entropy term keeps gradients well scaled where Dice is flat or steep"),
        BY_JAXLOSS),
    "dice_focal_loss": (
        ("medium", "Dice sums plus an elementwise sigmoid focal term"),
        ("medium", "Dice options plus gamma, alpha and two trade-off weights"),
        ("medium", "focal modulation flattens gradients of easy pixels"),
        BY_JAXLOSS),
    "dice_loss": (
        ("medium", "one pass of per-class sums over the image"),
        ("medium", "activation, smoothing and pooling options"),
        ("medium", "ratio of sums; gradient grows as the denominator shrinks"),
        BY_SURVEY),
    "diffusion_loss": (
        ("low", "one denoiser pass per step; many steps to converge"),
        ("high", "schedules, parametrisations and weightings must agree"),
        ("medium", "plain MSE; min-SNR weighting balances timesteps"),
        BY_SURVEY),
    "dilate_loss": (
        ("low", "soft-DTW plus autodiff through its alignment recursion"),
        ("medium", "alpha and gamma"),
        ("medium", "second-order terms of soft-DTW; finite for small gamma"),
        BY_JAXLOSS),
    "dino_loss": (
        ("medium", "a softmax per crop and a cross-entropy per crop pair"),
        ("medium", "two temperatures, a centre kept by the caller, multi-crop pairing"),
        ("high", "log-softmax student, stop-gradient teacher"),
        BY_JAXLOSS),
    "diou_loss": (
        ("medium", "IoU plus centre distance and enclosing diagonal"),
        ("medium", "overlap and enclosing-box geometry"),
        ("medium", "bounded penalty, gradient without overlap"),
        BY_JAXLOSS),
    "dpo_loss": (
        ("high", "elementwise over pairs of precomputed log-probabilities"),
        ("medium", "twelve loss types; needs reference-model log-probabilities"),
        ("high", "log-sigmoid and bounded forms; DiscoPOP's exponential in log space"),
        BY_JAXLOSS),
    "edm_loss": (
        ("low", "one model pass per step; elementwise MSE"),
        ("medium", "four preconditioning coefficients and a noise-level weight"),
        ("high", "effective-target form: unit weight at every sigma"),
        BY_JAXLOSS),
    "eiou_loss": (
        ("medium", "DIoU plus two squared size differences"),
        ("medium", "enclosing-box geometry"),
        ("medium", "all penalties bounded, no arctangent"),
        BY_JAXLOSS),
    "energy_distance": (
        ("medium", "three O(N M) pairwise-distance matrices (one matmul each)"),
        ("low", "no hyperparameter; V- or U-statistic"),
        ("high", "distances bounded-gradient; zero (sub)gradient at coincident points"),
        BY_JAXLOSS),
    "energy_score": (
        ("medium", "O(M^2 D) pairwise differences per observation"),
        ("low", "no hyperparameter; nrg or fair spread term"),
        ("high", "norms have unit-bounded gradients; zero at coincident members"),
        BY_JAXLOSS),
    "fast_ap_loss": (
        ("medium", "an N x N distance matrix and an N x N x (B+1) soft histogram"),
        ("medium", "bins only, but a histogram-based AP estimate"),
        ("medium", "triangular bin kernels: piecewise-linear in the distance, safe division "
                   "on empty bins"),
        BY_JAXLOSS),
    "feature_matching_loss": (
        ("high", "batch means of features already computed by D"),
        ("low", "a distance between two mean vectors per layer"),
        ("high", "quadratic in the feature statistics"),
        BY_JAXLOSS),
    "flow_matching_loss": (
        ("low", "one model pass per step; elementwise MSE"),
        ("medium", "path, endpoint convention and weighting must agree"),
        ("high", "plain MSE; VP time clipped, sigma_sqrt weight floored"),
        BY_JAXLOSS),
    "flow_smoothness_loss": (
        ("high", "finite differences, one fused pass"),
        ("low", "differences and exponential edge weights"),
        ("high", "gradient bounded (l1) or smooth (charbonnier)"),
        BY_JAXLOSS),
    "focal_frequency_loss": (
        ("medium", "two FFTs per image, O(HW log HW)"),
        ("medium", "patching, spectrum weight normalisation"),
        ("high", "weights are stop-gradient and clamped to [0, 1]"),
        BY_JAXLOSS),
    "focal_loss": (
        ("high", "cross-entropy plus an elementwise modulating factor"),
        ("medium", "alpha and gamma to tune"),
        ("medium", "modulating factor flattens gradients of easy examples"),
        BY_SURVEY),
    "focal_tversky_loss": (
        ("medium", "Tversky plus one power"),
        ("medium", "three hyperparameters"),
        ("medium", "power < 1 steepens near a perfect score; kept finite there"),
        BY_JAXLOSS),
    "fsim_loss": (
        ("low", "16 log-Gabor filters by FFT, a median per orientation, gradient maps"),
        ("low", "Kovesi phase congruency with its noise model, colour similarity"),
        ("medium", "guarded roots and powers; max/median/clip pass subgradients"),
        BY_JAXLOSS),
    "gamma_nll": (
        ("high", "elementwise, one lgamma"),
        ("low", "shape and rate heads"),
        ("medium", "target and parameters clamped at eps"),
        BY_JAXLOSS),
    "gan_discriminator_loss": (
        ("low", "needs a discriminator forward pass on real and fake data"),
        ("high", "two networks trained against each other"),
        ("medium", "adversarial dynamics; softplus keeps each step finite"),
        BY_SURVEY),
    "gan_generator_loss": (
        ("low", "needs a discriminator forward pass on generated data"),
        ("high", "two networks trained against each other"),
        ("medium", "minimax saturates early; non-saturating is the default"),
        BY_SURVEY),
    "gaussian_kl": (
        ("medium", "elementwise closed form, one exp per entry"),
        ("medium", "closed form, but log-variance parametrisation matters"),
        ("medium", "exp(log_var) can overflow for log_var > ~88 in float32"),
        BY_SURVEY),
    "gaussian_nll": (
        ("high", "elementwise, one log and one division"),
        ("low", "needs a variance head"),
        ("medium", "gradient ~ 1/var; var clamped at eps"),
        BY_JAXLOSS),
    "gaussian_wasserstein_loss": (
        ("low", "closed-form 2x2 optimal transport per box pair"),
        ("high", "box-to-Gaussian conversion and matrix square roots"),
        ("low", "square roots of near-zero quantities"),
        BY_SURVEY),
    "general_robust_loss": (
        ("high", "elementwise; a few transcendental ops"),
        ("medium", "shape and scale parameters, special cases at 0, 2, +-inf"),
        ("high", "bounded gradients for alpha <= 2; stable at the special alphas"),
        BY_JAXLOSS),
    "generalized_cross_entropy": (
        ("high", "one log-softmax"),
        ("low", "one exponent q"),
        ("high", "bounded loss (<= 1/q) and gradient"),
        BY_JAXLOSS),
    "generalized_dice_loss": (
        ("medium", "per-class sums and one weighted ratio"),
        ("medium", "class weights from the target volumes"),
        ("medium", "1/volume^2 weights are large for tiny classes"),
        BY_JAXLOSS),
    "gini_impurity": (
        ("high", "one softmax and a sum of squares"),
        ("low", "no hyperparameter"),
        ("high", "polynomial in the probabilities"),
        BY_JAXLOSS),
    "giou_loss": (
        ("medium", "IoU plus the enclosing box"),
        ("medium", "overlap and enclosing-box geometry"),
        ("medium", "gradient without overlap; slow when one box encloses the other"),
        BY_JAXLOSS),
    "gist_loss": (
        ("medium", "N x (3N + K N) similarity matrices, and the guide's"),
        ("medium", "a guide model, temperature and margin strategy"),
        ("high", "masked log-sum-exp of bounded cosine logits; the positive is never masked"),
        BY_JAXLOSS),
    "gmsd_loss": (
        ("high", "a 2x2 pooling, two 3x3 gradient maps and one pass of moments"),
        ("low", "luma, pooling, Prewitt magnitudes and a standard deviation"),
        ("high", "denominators >= T > 0; guarded square roots: finite gradient at identical images"),
        BY_JAXLOSS),
    "gradient_loss": (
        ("high", "one pass of neighbour differences"),
        ("low", "no hyperparameter"),
        ("high", "bounded L1 gradient"),
        BY_JAXLOSS),
    "gradient_penalty": (
        ("low", "one extra backward pass and double backprop"),
        ("medium", "interpolates, input gradients, per-example norms"),
        ("high", "safe norm: finite value and gradient at a zero input-gradient"),
        BY_JAXLOSS),
    "haarpsi_loss": (
        ("high", "six separable Haar filters (2 to 8 taps) and one pass of sums"),
        ("medium", "YIQ, pooling, three Haar scales, chroma term, logit pooling"),
        ("high", "denominators >= C > 0; pooled ratio capped below 1: finite at identical and blank images"),
        BY_JAXLOSS),
    "hausdorff_dt_loss": (
        ("low", "two distance transforms per image and class"),
        ("high", "distance transforms of prediction and target"),
        ("medium", "weights jump as the thresholded prediction changes"),
        BY_JAXLOSS),
    "hierarchical_cross_entropy": (
        ("high", "one log-softmax plus a small segment log-sum-exp per level"),
        ("medium", "needs the class tree"),
        ("high", "every level is a stable log-space cross-entropy"),
        BY_JAXLOSS),
    "hinge_embedding_loss": (
        ("high", "elementwise"),
        ("low", "one margin"),
        ("medium", "hinge kink at x = margin"),
        BY_JAXLOSS),
    "hinge_loss": (
        ("high", "elementwise"),
        ("low", "no hyperparameter"),
        ("medium", "kink at margin 1; zero gradient beyond it"),
        BY_JAXLOSS),
    "huber_loss": (
        ("high", "elementwise with one select"),
        ("low", "one threshold hyperparameter"),
        ("high", "gradient bounded by delta"),
        BY_JAXLOSS),
    "ibot_patch_loss": (
        ("medium", "a softmax and a cross-entropy per patch"),
        ("medium", "two temperatures, a centre, the patch mask"),
        ("high", "log-softmax student, stop-gradient teacher; empty masks give 0"),
        BY_JAXLOSS),
    "infonce_loss": (
        ("medium", "one N x (N + M) similarity matrix"),
        ("medium", "temperature; negatives from the batch or a queue"),
        ("high", "masked log-sum-exp on bounded (normalised) logits"),
        BY_JAXLOSS),
    "interval_score": (
        ("high", "elementwise"),
        ("low", "one coverage level"),
        ("high", "piecewise-linear, bounded gradient"),
        BY_JAXLOSS),
    "iou_loss": (
        ("medium", "a dozen elementwise ops per box pair"),
        ("medium", "overlap geometry and degenerate-box conventions"),
        ("low", "zero gradient without overlap; -log IoU unbounded"),
        BY_SURVEY),
    "jaccard_loss": (
        ("medium", "one pass of per-class sums over the image"),
        ("medium", "same options as Dice"),
        ("low", "set-based ratio; steep near small unions"),
        BY_SURVEY),
    "js_divergence": (
        ("medium", "three log-distributions per example"),
        ("medium", "mixture in log space"),
        ("high", "bounded by log 2; finite with zero probabilities"),
        BY_JAXLOSS),
    "kl_divergence": (
        ("medium", "two logs per class"),
        ("medium", "argument order and log-space conventions differ by library"),
        ("medium", "sensitive to zero probabilities"),
        BY_SURVEY),
    "kl_penalty": (
        ("high", "elementwise"),
        ("low", "three closed-form estimators"),
        ("medium", "k3 grows like exp(log-ratio): continued linearly above 50"),
        BY_JAXLOSS),
    "kld_loss": (
        ("medium", "closed-form 2x2 inverse and log-determinants"),
        ("high", "box-to-Gaussian conversion"),
        ("medium", "log-determinants from the sizes; 1/h^2 growth for thin boxes"),
        BY_JAXLOSS),
    "koleo_loss": (
        ("medium", "one N x N Gram matrix and a nearest-neighbour argmax"),
        ("low", "one epsilon"),
        ("medium", "-log distance: large (finite) gradients for near-duplicate rows"),
        BY_JAXLOSS),
    "kto_loss": (
        ("high", "elementwise plus one mean for the reference point"),
        ("medium", "mismatched completions for the KL reference point"),
        ("high", "sigmoid losses bounded in [0, 1]; reference point without gradient"),
        BY_JAXLOSS),
    "l1_ssim_loss": (
        ("medium", "MS-SSIM plus one elementwise pass"),
        ("medium", "two terms, one mixing weight"),
        ("medium", "as MS-SSIM; the L1 part has a bounded gradient"),
        BY_JAXLOSS),
    "laplace_nll": (
        ("high", "elementwise"),
        ("low", "needs a scale head"),
        ("medium", "gradient ~ 1/scale; scale clamped at eps"),
        BY_JAXLOSS),
    "lifted_structure_loss": (
        ("medium", "N x N distances plus an [N, N, N] masked log-sum-exp"),
        ("medium", "per positive pair, negatives of both ends"),
        ("medium", "masked log-sum-exp; squared hinge"),
        BY_JAXLOSS),
    "linear_cross_entropy": (
        ("high", "never materialises (N, V) logits; one extra GEMM pass in backward"),
        ("high", "custom_vjp with chunked recomputation and online log-sum-exp"),
        ("high", "online log-sum-exp in float32; exact softmax gradient"),
        BY_JAXLOSS),
    "linear_distillation_loss": (
        ("high", "never materialises either model's (N, V) logits; recomputes them in backward"),
        ("high", "custom_vjp over token tiles x vocabulary chunks, two online log-sum-exps"),
        ("high", "online log-sum-exps in float32; cross term relative to class 0"),
        BY_JAXLOSS),
    "linear_dpo_loss": (
        ("high", "chunked log-probabilities of the target tokens; no (B, T, V) logits"),
        ("medium", "linear_cross_entropy per completion, then dpo_loss"),
        ("high", "online log-sum-exp in float32; DPO's stable log-sigmoids"),
        BY_JAXLOSS),
    "linear_generalized_jsd_loss": (
        ("high", "never materialises the (N, V) logits; two vocabulary passes per tile"),
        ("high", "custom_vjp, two online log-sum-exps then the mixture terms"),
        ("high", "log-ratios to the mixture via log1p/expm1 of non-positive arguments"),
        BY_JAXLOSS),
    "listmle_loss": (
        ("medium", "a sort and an L x L masked log-sum-exp per list"),
        ("medium", "Plackett-Luce likelihood of the label order"),
        ("high", "masked log-sum-exp"),
        BY_JAXLOSS),
    "listnet_loss": (
        ("high", "one softmax per list"),
        ("low", "cross-entropy between two distributions"),
        ("high", "log-softmax"),
        BY_JAXLOSS),
    "log_cosh_dice_loss": (
        ("medium", "Dice plus an elementwise log-cosh"),
        ("medium", "Dice options"),
        ("medium", "log-cosh damps the Dice gradient near 0"),
        BY_JAXLOSS),
    "log_cosh_loss": (
        ("high", "elementwise, one softplus"),
        ("low", "no hyperparameter"),
        ("high", "gradient tanh(d) is bounded"),
        BY_JAXLOSS),
    "logistic_loss": (
        ("high", "elementwise softplus"),
        ("low", "no hyperparameter"),
        ("high", "gradient -y sigmoid(-y s), bounded by 1"),
        BY_JAXLOSS),
    "logistic_regression_loss": (
        ("high", "one softplus per score"),
        ("low", "no hyperparameter"),
        ("high", "computed from logits"),
        BY_JAXLOSS),
    "lovasz_hinge_loss": (
        ("medium", "one sort of the pixels"),
        ("high", "sorted errors and the Jaccard set function"),
        ("medium", "piecewise-linear; subgradient at ties and kinks"),
        BY_JAXLOSS),
    "lovasz_softmax_loss": (
        ("medium", "one batched sort of packed 64-bit keys over all classes (12.9x CE)"),
        ("high", "sorted errors and the Jaccard set function"),
        ("medium", "piecewise-linear; subgradient at ties and kinks"),
        BY_JAXLOSS),
    "lpips_loss": (
        ("low", "a full AlexNet/VGG16 forward pass of both images"),
        ("high", "a pretrained backbone and learned heads, converted from torch"),
        ("high", "safe channel norm: identical images give 0 with a finite gradient"),
        BY_JAXLOSS),
    "mae": (
        ("high", "one fused elementwise pass"),
        ("low", "built into every framework"),
        ("high", "bounded gradient sign(p - t); kink at 0"),
        BY_SURVEY),
    "mahalanobis_loss": (
        ("low", "a Cholesky factorisation per covariance"),
        ("high", "needs a covariance estimate"),
        ("low", "ill-conditioned covariances amplify gradients"),
        BY_SURVEY),
    "mape": (
        ("high", "elementwise"),
        ("low", "one epsilon"),
        ("low", "gradient ~ 1/|y|: explodes near zero targets"),
        BY_JAXLOSS),
    "margin_mse_loss": (
        ("high", "two dot products per query"),
        ("low", "no hyperparameter; needs teacher margins"),
        ("medium", "squared error on unbounded dot-product margins"),
        BY_JAXLOSS),
    "margin_ranking_loss": (
        ("low", "survey: needs pairwise ranking (quadratic in the items)"),
        ("high", "survey: pair construction"),
        ("low", "survey: hinge with complex gradient behaviour"),
        BY_SURVEY),
    "mase": (
        ("high", "elementwise plus one pass over the history"),
        ("low", "season length"),
        ("high", "scale is constant in the prediction"),
        BY_JAXLOSS),
    "masked_reconstruction_loss": (
        ("high", "one elementwise pass"),
        ("low", "two region weights"),
        ("high", "bounded L1 gradients"),
        BY_JAXLOSS),
    "mdsi_loss": (
        ("high", "three 3x3 gradient maps, a colour transform and one pass of moments"),
        ("medium", "LHM colour space, three similarity maps, complex fractional powers"),
        ("high", "denominators >= C > 0; guarded roots, powers and atan2: finite gradient at identical images"),
        BY_JAXLOSS),
    "mmd_loss": (
        ("medium", "three O(N M) kernel matrices (one matmul each) per bandwidth"),
        ("medium", "kernel, bandwidths and estimator to choose"),
        ("high", "smooth kernels of clamped squared distances; no square root (RBF/IMQ)"),
        BY_JAXLOSS),
    "ms_gmsd_loss": (
        ("high", "GMSD at 4 scales (~1.33x one full-resolution GMSD)"),
        ("medium", "scales, masking coefficient and the optional chromatic term"),
        ("high", "denominators >= T > 0; guarded square roots: finite gradient at identical images"),
        BY_JAXLOSS),
    "ms_ssim": (
        ("medium", "SSIM at 5 scales (~1.33x one SSIM)"),
        ("medium", "pooling, clamping and the image-size constraint"),
        ("medium", "fractional powers; clamped terms get a zero gradient"),
        BY_JAXLOSS),
    "ms_ssim_loss": (
        ("medium", "SSIM at 5 scales (~1.33x one SSIM)"),
        ("medium", "pooling, clamping and the image-size constraint"),
        ("medium", "fractional powers; clamped terms get a zero gradient"),
        BY_JAXLOSS),
    "mse": (
        ("high", "one fused elementwise pass"),
        ("low", "built into every framework"),
        ("high", "smooth gradient 2(p - t); grows with outliers"),
        BY_SURVEY),
    "msle": (
        ("high", "elementwise, two log1p"),
        ("low", "no hyperparameter"),
        ("high", "bounded for non-negative inputs; negatives clamped"),
        BY_JAXLOSS),
    "multi_similarity_loss": (
        ("medium", "one N x N cosine matrix"),
        ("medium", "three hyperparameters"),
        ("medium", "soft weighting via masked log-sum-exp; beta = 50 is steep"),
        BY_JAXLOSS),
    "multiclass_hinge_loss": (
        ("high", "O(C) per example"),
        ("low", "margin and power"),
        ("medium", "piecewise linear (p=1) or quadratic (p=2)"),
        BY_JAXLOSS),
    "multiple_negatives_ranking_loss": (
        ("medium", "one N x (N + M) similarity matrix"),
        ("low", "one scale; optional hard negatives"),
        ("high", "log-sum-exp of bounded (cosine x scale) logits"),
        BY_JAXLOSS),
    "negative_binomial_nll": (
        ("high", "elementwise, one betaln"),
        ("low", "mean and dispersion heads"),
        ("high", "betaln keeps the small-alpha (Poisson) limit accurate"),
        BY_JAXLOSS),
    "nll_loss": (
        ("high", "a gather per example"),
        ("low", "built into every framework"),
        ("high", "constant gradient -w_y on the target log-probability"),
        BY_JAXLOSS),
    "npair_loss": (
        ("medium", "one N x N similarity matrix"),
        ("low", "softmax cross-entropy over pairs"),
        ("high", "log-softmax"),
        BY_JAXLOSS),
    "nt_xent_loss": (
        ("medium", "one 2N x 2N cosine matrix"),
        ("medium", "temperature; two augmented views"),
        ("high", "masked log-sum-exp on bounded logits"),
        BY_JAXLOSS),
    "orpo_loss": (
        ("high", "elementwise over pairs, no reference model"),
        ("low", "NLL plus one odds-ratio term"),
        ("medium", "log(1 - p) diverges as p -> 1: evaluated below -eps"),
        BY_JAXLOSS),
    "perceptual_loss": (
        ("medium", "a forward pass of the feature network on both images"),
        ("high", "needs a (pretrained) feature extractor"),
        ("medium", "as smooth as the feature network"),
        BY_SURVEY),
    "photometric_loss": (
        ("medium", "one bilinear gather (4 corners) per pixel; ssim_l1 adds 5 box-filtered moment maps, fb a second warp"),
        ("medium", "warp convention, occlusion and border masks to get right"),
        ("high", "bilinear weights in [0, 1]; finite at flows far outside the image and at integer sample points"),
        BY_JAXLOSS),
    "poisson_nll": (
        ("high", "elementwise, one exp"),
        ("low", "no hyperparameter"),
        ("medium", "exp(log_rate) can overflow for log rates > ~88"),
        BY_JAXLOSS),
    "poly1_cross_entropy": (
        ("high", "cross-entropy plus one term"),
        ("low", "one hyperparameter epsilon"),
        ("high", "cross-entropy gradient plus a bounded term"),
        BY_JAXLOSS),
    "proxy_anchor_loss": (
        ("high", "one N x C cosine matrix"),
        ("medium", "learnable proxies passed in"),
        ("medium", "alpha = 32 scale; masked log-sum-exp"),
        BY_JAXLOSS),
    "proxy_nca_loss": (
        ("high", "one N x C distance matrix"),
        ("medium", "learnable proxies passed in"),
        ("high", "log-softmax over bounded distances (normalised, in [0, 4])"),
        BY_JAXLOSS),
    "psnr": (
        ("high", "one elementwise pass and a log per image"),
        ("low", "data_range only"),
        ("high", "eps keeps identical images finite"),
        BY_JAXLOSS),
    "psnr_loss": (
        ("high", "one elementwise pass and a log per image"),
        ("low", "data_range only"),
        ("high", "eps keeps identical images finite; gradient ~ 1/MSE grows near 0"),
        BY_JAXLOSS),
    "quantile_loss": (
        ("high", "elementwise over the quantile axis"),
        ("low", "one quantile vector"),
        ("high", "bounded piecewise-constant gradient"),
        BY_JAXLOSS),
    "r1_penalty": (
        ("low", "one extra backward pass and double backprop"),
        ("medium", "input gradients of the discriminator"),
        ("high", "squared norm is smooth everywhere, also at a zero gradient"),
        BY_JAXLOSS),
    "r2_penalty": (
        ("low", "one extra backward pass and double backprop"),
        ("medium", "input gradients of the discriminator"),
        ("high", "squared norm is smooth everywhere, also at a zero gradient"),
        BY_JAXLOSS),
    "rank_preservation_loss": (
        ("low", "survey: pairwise ranking, N^2 pairs per attention row"),
        ("high", "survey: pair construction"),
        ("low", "survey: hinge over pairs with complex gradient behaviour"),
        BY_SURVEY),
    "ranknet_loss": (
        ("medium", "L x L pairs per list"),
        ("low", "pairwise logistic"),
        ("high", "softplus of score differences"),
        BY_JAXLOSS),
    "reconstruction_loss": (
        ("high", "one elementwise pass"),
        ("low", "a pixel-wise distance"),
        ("high", "L1/L2 smooth or bounded; Bernoulli from logits"),
        BY_JAXLOSS),
    "reid_loss": (
        ("medium", "N x C logits plus an N x N distance matrix"),
        ("medium", "two terms, three hyperparameters"),
        ("high", "log-softmax CE; safe-sqrt distances"),
        BY_JAXLOSS),
    "sequence_loss": (
        ("high", "N evaluations of the per-step loss, vmapped"),
        ("low", "a geometric weighting of per-step losses"),
        ("high", "as stable as the per-step loss"),
        BY_JAXLOSS),
    "sharded_clip_loss": (
        ("medium", "all-gather of B x D embeddings; (B/n) x B logits per device"),
        ("medium", "shard_map with all_gather; gradient via its transpose"),
        ("high", "log-sum-exp cross-entropy on normalised embeddings"),
        BY_JAXLOSS),
    "sharded_dice_loss": (
        ("high", "three psums of C numbers"),
        ("low", "shard_map with psum of per-class sums"),
        ("high", "smoothed ratio; finite for empty classes"),
        BY_JAXLOSS),
    "sharded_siglip_loss": (
        ("high", "ring of n ppermutes of (B/n) x D text chunks; no all-gather"),
        ("medium", "shard_map with a ppermute ring in lax.scan"),
        ("high", "log-sigmoid of bounded logits"),
        BY_JAXLOSS),
    "sharded_tversky_loss": (
        ("high", "three psums of C numbers"),
        ("low", "shard_map with psum of per-class sums"),
        ("high", "smoothed ratio; finite for empty classes"),
        BY_JAXLOSS),
    "siglip_loss": (
        ("medium", "one N x N logit matrix, no softmax normalisation"),
        ("medium", "learnable scale and bias"),
        ("high", "log-sigmoid of logits (no log of probabilities)"),
        BY_JAXLOSS),
    "sigmoid_focal_loss": (
        ("high", "elementwise"),
        ("medium", "alpha and gamma to tune"),
        ("medium", "modulating factor flattens gradients of easy examples"),
        BY_JAXLOSS),
    "simpo_loss": (
        ("high", "elementwise over pairs, no reference model"),
        ("low", "two hyperparameters on length-normalised log-probabilities"),
        ("high", "log-sigmoid; bounded gradient"),
        BY_JAXLOSS),
    "sinkhorn_divergence": (
        ("low", "three iterative Sinkhorn solves of O(N M) per iteration"),
        ("high", "entropic OT solver (ott-jax), epsilon and stopping rule"),
        ("medium", "log-domain, implicit-differentiated; small epsilon converges slowly"),
        BY_JAXLOSS),
    "siou_loss": (
        ("medium", "IoU plus angle, distance and shape costs (exp, sqrt)"),
        ("high", "three extra cost terms and a branch on the angle"),
        ("medium", "angle cost in closed form, no arcsin at 1"),
        BY_JAXLOSS),
    "sliced_wasserstein": (
        ("high", "L projections and sorts, O(L (N + M) log(N + M))"),
        ("low", "random directions and 1-D sorted matching"),
        ("medium", "piecewise-linear through the sort; Monte-Carlo noise from the directions"),
        BY_JAXLOSS),
    "smape": (
        ("high", "elementwise"),
        ("low", "one epsilon"),
        ("medium", "bounded by 2, but the gradient grows near p = y = 0"),
        BY_JAXLOSS),
    "smooth_ap_loss": (
        ("low", "N x N x N sigmoid rank comparisons (memory cubic in the batch)"),
        ("medium", "one temperature; positive sets from the labels"),
        ("medium", "sigmoid ranks; tau = 0.01 gives gradients only near rank swaps"),
        BY_JAXLOSS),
    "smooth_l1_box_loss": (
        ("high", "elementwise with one select"),
        ("low", "one threshold; boxes encoded beforehand"),
        ("high", "gradient bounded by 1"),
        BY_SURVEY),
    "smooth_l1_loss": (
        ("high", "elementwise with one select"),
        ("low", "one threshold hyperparameter"),
        ("high", "gradient bounded by 1"),
        BY_SURVEY),
    "soft_dtw": (
        ("medium", "O(n m) work in n + m sequential anti-diagonal steps"),
        ("medium", "DP with a custom backward recursion"),
        ("high", "log-space soft-min; finite for gamma 1e-3 at length 512"),
        BY_JAXLOSS),
    "soft_dtw_divergence": (
        ("medium", "three soft-DTW passes"),
        ("medium", "DP with a custom backward recursion"),
        ("high", "log-space soft-min; exactly 0 at x = y"),
        BY_JAXLOSS),
    "soft_triple_loss": (
        ("high", "one N x (C K) cosine matrix"),
        ("medium", "K centres per class passed in, three hyperparameters"),
        ("high", "softmax over bounded cosines; log-softmax cross-entropy"),
        BY_JAXLOSS),
    "sphereface_loss": (
        ("high", "one N x C cosine matrix"),
        ("medium", "integer angular margin, piecewise psi"),
        ("low", "multiplicative angle; logits scale with ||x||; often needs annealing with softmax"),
        BY_JAXLOSS),
    "squared_hinge_loss": (
        ("high", "elementwise"),
        ("low", "no hyperparameter"),
        ("high", "continuous gradient -2 y max(0, 1 - y s)"),
        BY_JAXLOSS),
    "ssim": (
        ("medium", "5 Gaussian-filtered moment maps, separable 11-tap filter"),
        ("medium", "window, constants, padding and data_range to get right"),
        ("high", "denominators >= C1, C2 > 0; finite gradient at identical images"),
        BY_JAXLOSS),
    "ssim_loss": (
        ("medium", "5 Gaussian-filtered moment maps, separable 11-tap filter"),
        ("medium", "window, constants, padding and data_range to get right"),
        ("high", "denominators >= C1, C2 > 0; finite gradient at identical images"),
        BY_JAXLOSS),
    "student_t_nll": (
        ("high", "elementwise, three lgamma"),
        ("low", "scale and df heads"),
        ("high", "heavy tails bound the residual gradient"),
        BY_JAXLOSS),
    "style_loss": (
        ("medium", "feature pass plus a C x C Gram matrix per layer"),
        ("high", "needs a feature extractor and per-layer weights"),
        ("medium", "quartic in the features; scale the weight per layer"),
        BY_JAXLOSS),
    "subcenter_arcface_loss": (
        ("high", "one N x (C K) cosine matrix and a max over K"),
        ("medium", "K sub-centres per class passed in"),
        ("medium", "ArcFace's (no arccos, sqrt gradient masked at |c| = 1); the max sends "
                   "the gradient to one sub-centre"),
        BY_JAXLOSS),
    "supcon_loss": (
        ("medium", "one N x N cosine matrix"),
        ("medium", "temperature; label masks"),
        ("high", "masked log-sum-exp; 0 with zero gradient without a positive and a negative "
                 "pair"),
        BY_JAXLOSS),
    "swav_loss": (
        ("medium", "a few Sinkhorn-Knopp rounds plus a cross-entropy per crop pair"),
        ("medium", "temperature, epsilon, iterations, assigned crops"),
        ("high", "codes computed in log space without gradient"),
        BY_JAXLOSS),
    "symmetric_cross_entropy": (
        ("high", "one log-softmax"),
        ("medium", "alpha, beta and the log-zero clamp A"),
        ("high", "reverse term is bounded"),
        BY_JAXLOSS),
    "temporal_consistency_loss": (
        ("medium", "one bilinear warp per frame pair"),
        ("medium", "needs a flow and an occlusion mask"),
        ("high", "bilinear weights in [0, 1]; finite far outside the image"),
        BY_JAXLOSS),
    "text_image_matching_loss": (
        ("medium", "an N x N similarity matrix"),
        ("medium", "needs paired image and text encoders"),
        ("medium", "log-softmax over the batch; temperature-sensitive"),
        BY_JAXLOSS),
    "total_variation_loss": (
        ("high", "one pass of neighbour differences"),
        ("low", "no hyperparameter"),
        ("high", "L1 kink at 0; isotropic sqrt made safe at 0"),
        BY_JAXLOSS),
    "trend_aware_loss": (
        ("high", "one cumulative sum per series"),
        ("medium", "window and three weights"),
        ("high", "quadratic in linear maps of the error"),
        BY_JAXLOSS),
    "triplet_loss": (
        ("medium", "one N x N distance matrix; 'all'/'semi-hard' build an N^3 boolean/float tensor"),
        ("medium", "masks for positives/negatives and mining"),
        ("medium", "hinge; safe sqrt at zero distance; empty batches give 0"),
        BY_JAXLOSS),
    "triplet_margin_loss": (
        ("high", "three vector norms per triplet"),
        ("low", "triplets given explicitly"),
        ("medium", "hinge; finite gradient at identical embeddings"),
        BY_JAXLOSS),
    "tversky_loss": (
        ("medium", "three per-class sums"),
        ("medium", "two trade-off weights"),
        ("medium", "ratio of sums, as Dice"),
        BY_JAXLOSS),
    "vae_loss": (
        ("medium", "one elementwise pass over data and latents"),
        ("medium", "two terms to balance (beta, free bits)"),
        ("high", "Bernoulli term from logits via softplus"),
        BY_SURVEY),
    "value_loss": (
        ("high", "elementwise"),
        ("low", "one clip range"),
        ("high", "quadratic; clipping bounds the step of the value head"),
        BY_JAXLOSS),
    "vicreg_loss": (
        ("medium", "two D x D covariance matrices per batch"),
        ("medium", "three weighted terms (invariance, variance, covariance)"),
        ("high", "sqrt(var + eps) keeps the variance hinge smooth at collapse"),
        BY_JAXLOSS),
    "vif_loss": (
        ("medium", "5 Gaussian-filtered moment maps at 4 scales (17- to 3-tap windows)"),
        ("medium", "4 scales, decimation and the reference code's degenerate-variance rules"),
        ("medium", "denominators >= eps; clipped at VIF 1 (zero gradient above); float32 variances lose ~1e-4"),
        BY_JAXLOSS),
    "wape": (
        ("high", "elementwise plus one sum per series"),
        ("low", "one epsilon"),
        ("medium", "scale is the series' mean |y|; eps guards all-zero series"),
        BY_JAXLOSS),
    "weighted_cross_entropy": (
        ("high", "cross-entropy plus a per-class scale"),
        ("low", "one class-weight vector to choose"),
        ("high", "cross-entropy gradient scaled by w_y"),
        BY_JAXLOSS),
    "zero_one_loss": (
        ("high", "one argmax per example"),
        ("low", "no hyperparameter"),
        ("low", "piecewise constant: zero gradient everywhere"),
        BY_JAXLOSS),
    "distillation_loss": (
        ("high", "two log-softmaxes and one KL per token"),
        ("low", "one temperature; the classic KD recipe"),
        ("high", "log space; T^2 keeps the gradient scale fixed across temperatures"),
        BY_JAXLOSS),
    "dkd_loss": (
        ("high", "two log-softmaxes and two masked log-sum-exps per example"),
        ("medium", "labels, two weights and a temperature; target/non-target split"),
        ("high", "binary and non-target parts in log space; target excluded exactly"),
        BY_JAXLOSS),
    "generalized_jsd_loss": (
        ("medium", "two log-softmaxes and a log-space mixture per token"),
        ("medium", "beta endpoints are the forward/reverse KL"),
        ("high", "mixture ratios from expm1 of non-positive arguments; exact 0 at t == s"),
        BY_JAXLOSS),
    "load_balancing_loss": (
        ("high", "two means over tokens and one E-vector dot product"),
        ("low", "routing probabilities and the chosen experts"),
        ("high", "linear in the probabilities; the dispatch fractions are constants"),
        BY_JAXLOSS),
    "logit_standardized_kd": (
        ("high", "a per-row z-score plus KD"),
        ("low", "a base temperature; no new hyperparameter"),
        ("high", "scale-invariant; constant rows standardise to 0 with finite gradients"),
        BY_JAXLOSS),
    "router_z_loss": (
        ("high", "one log-sum-exp per token"),
        ("low", "no hyperparameter"),
        ("high", "gradient 2 log Z softmax(x), bounded for bounded logits"),
        BY_JAXLOSS),
    "adaptive_wing_loss": (
        ("high", "elementwise with a few powers"),
        ("medium", "four hyperparameters; target-dependent exponent"),
        ("high", "continuous value and slope at theta; safe power, zero gradient at d = 0"),
        BY_JAXLOSS),
    "balanced_l1_loss": (
        ("high", "elementwise with one select"),
        ("low", "three scalars"),
        ("high", "gradient bounded by gamma"),
        BY_JAXLOSS),
    "distribution_focal_loss": (
        ("high", "one log-softmax over n + 1 bins and two gathers"),
        ("medium", "discretised distance bins (reg_max) in the head"),
        ("high", "log-softmax cross-entropy"),
        BY_JAXLOSS),
    "gaussian_focal_loss": (
        ("high", "elementwise over the heatmap"),
        ("medium", "Gaussian-splatted target heatmaps; positives normaliser"),
        ("medium", "probability input: logs guarded by eps = 1e-12 (gradients up to 1e12); "
                   "logits input is stable"),
        BY_JAXLOSS),
    "ghm_c_loss": (
        ("medium", "elementwise BCE plus a histogram of gradient norms over the batch"),
        ("medium", "bins and an optional moving-average state (acc_sum) passed in and out"),
        ("high", "log-sigmoid BCE; density weights detached and bounded by the batch size"),
        BY_JAXLOSS),
    "ghm_r_loss": (
        ("medium", "elementwise ASL1 plus a histogram of gradient norms over the batch"),
        ("medium", "mu, bins and an optional moving-average state passed in and out"),
        ("high", "ASL1 gradient bounded by 1; density weights detached"),
        BY_JAXLOSS),
    "quality_focal_loss": (
        ("high", "one N x C elementwise pass and a class sum"),
        ("medium", "class ids plus a quality score per location"),
        ("high", "log-sigmoid BCE; safe power of |y - p|, finite at saturated logits"),
        BY_JAXLOSS),
    "seesaw_loss": (
        ("high", "one softmax over C classes plus a C-vector of class counts"),
        ("medium", "cumulative class counts kept by the caller; objectness branch"),
        ("high", "factors applied as log-offsets to the logits; detached compensation"),
        BY_JAXLOSS),
    "varifocal_loss": (
        ("high", "elementwise sigmoid BCE times a weight"),
        ("low", "two exponents and an IoU-aware target map"),
        ("high", "log-sigmoid BCE; safe power of |p - q|, finite at saturated logits"),
        BY_JAXLOSS),
    "wing_loss": (
        ("high", "elementwise with one select"),
        ("low", "two scalars"),
        ("high", "continuous at omega; gradient bounded by omega / epsilon"),
        BY_JAXLOSS),
}
