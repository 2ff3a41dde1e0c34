"""The task table: data, model, metrics and default losses of each workbench task."""

from __future__ import annotations

from jaxloss import data, models
from jaxloss.workbench._dense import _dense_objective, _eval_dense, _picture_dense
from jaxloss.workbench._generative import (
  _diffusion_objective,
  _eval_diffusion,
  _eval_gan,
  _eval_vae,
  _gan_objective,
  _gan_optimizers,
  _picture_diffusion,
  _picture_gan,
  _picture_vae,
  _vae_objective,
)
from jaxloss.workbench._supervised import (
  _class_weights,
  _digits_as_images,
  _eval_classification,
  _eval_detection,
  _eval_embedding,
  _eval_forecast,
  _eval_regression,
  _eval_segmentation,
  _forward_embedding,
  _forward_forecast,
  _forward_logits,
  _forward_scalar,
  _picture_detection,
  _picture_embedding,
  _picture_forecast,
  _picture_regression,
  _picture_segmentation,
)
from jaxloss.workbench.task import Task

# --- the task table -------------------------------------------------------------------------

_CLS_LOSSES = ("cross_entropy", "focal_loss", "poly1_cross_entropy", "multiclass_hinge_loss",
               "symmetric_cross_entropy", "generalized_cross_entropy", "bi_tempered_logistic_loss")
# The catalog input kinds (first word of ``input_kind``) a model output can be: class
# logits also feed margin losses on raw scores; real-valued outputs feed regression
# losses and Poisson's log-rates.
_CLS_KINDS = ("logits", "scores")
_VALUE_KINDS = ("values", "log-rates")
# The classification/quality losses of dense detectors the dense-detection task has a
# target adapter for (see workbench/_dense.py).
_DENSE_LOSSES = ("binary_cross_entropy", "sigmoid_focal_loss", "varifocal_loss",
                 "quality_focal_loss", "gaussian_focal_loss")
_IMB_LOSSES = ("cross_entropy", "weighted_cross_entropy", "balanced_cross_entropy", "focal_loss",
               "poly1_cross_entropy")


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("classification", "digits (8x8 images, 10 classes), CNN; accuracy / macro-F1",
         ("image classification",),
         load=lambda s: _digits_as_images(data.digits(s)),
         build=lambda sp, r: models.CNNClassifier(1, 10, width=16, rngs=r),
         forward=_forward_logits, evaluate=_eval_classification,
         primary="accuracy", higher_is_better=True, preferred=_CLS_LOSSES,
         columns=("accuracy", "macro_f1"), steps=200, static_extras=_class_weights,
         accepts=_CLS_KINDS, output="class logits (N, 10)", curve_every=25),
    Task("imbalanced-classification",
         "long-tailed digits (class 9 has 1/20 of class 0), CNN; macro-F1 on a balanced test set",
         ("image classification",),
         load=lambda s: _digits_as_images(data.imbalanced_digits(s)),
         build=lambda sp, r: models.CNNClassifier(1, 10, width=16, rngs=r),
         forward=_forward_logits, evaluate=_eval_classification,
         primary="macro_f1", higher_is_better=True, preferred=_IMB_LOSSES,
         columns=("macro_f1", "accuracy", "tail_recall"), steps=200,
         static_extras=_class_weights, accepts=_CLS_KINDS, output="class logits (N, 10)",
         curve_every=25),
    Task("tabular-regression", "diabetes (10 features), MLP; test MAE in target units",
         ("tabular regression", "regression"),
         load=lambda s: data.diabetes(s),
         build=lambda sp, r: models.MLP(sp.x_train.shape[1], 1, (32,), rngs=r),
         forward=_forward_scalar, evaluate=_eval_regression,
         primary="mae", higher_is_better=False,
         preferred=("mse", "mae", "huber_loss", "log_cosh_loss", "general_robust_loss",
                    "quantile_loss"),
         columns=("mae", "rmse", "r2"), steps=150, lr=3e-3, picture=_picture_regression,
         accepts=_VALUE_KINDS, output="real values (N,)", curve_every=15),
    Task("segmentation",
         "procedural shapes (32x32, 4 classes, rare tiny squares), U-Net; IoU of the rarest class",
         ("semantic segmentation",),
         load=lambda s: data.segmentation_shapes(s),
         build=lambda sp, r: models.UNet(1, sp.info["num_classes"], width=8, rngs=r),
         forward=_forward_logits, evaluate=_eval_segmentation,
         primary="rare_iou", higher_is_better=True,
         preferred=("cross_entropy", "dice_loss", "focal_loss", "tversky_loss",
                    "lovasz_softmax_loss", "dice_ce_loss"),
         columns=("rare_iou", "mean_iou", "pixel_accuracy"), steps=250, batch_size=16, lr=5e-3,
         picture=_picture_segmentation, static_extras=_class_weights,
         accepts=("logits",), output="per-pixel class logits (N, 32, 32, 4)", curve_every=25),
    Task("detection", "one shape per noisy 32x32 image, box regressor; mean box IoU",
         ("bounding-box regression", "object detection"),
         load=lambda s: data.detection_shapes(s),
         build=lambda sp, r: models.BoxRegressor(1, width=8, rngs=r),
         forward=_forward_logits, evaluate=_eval_detection,
         primary="mean_iou", higher_is_better=True,
         preferred=("smooth_l1_loss", "iou_loss", "giou_loss", "diou_loss", "ciou_loss",
                    "eiou_loss", "siou_loss"),
         columns=("mean_iou", "ap50", "ap75"), steps=300, batch_size=32, lr=3e-3,
         picture=_picture_detection, accepts=("boxes", "values"),
         output="one xyxy box per image (N, 4)", curve_every=30),
    Task("dense-detection",
         "1-3 shapes of 3 classes per noisy 32x32 image, FCOS-style dense head; the loss "
         "trains the class/quality score (boxes: fixed GIoU); COCO AP",
         ("dense prediction",),
         load=lambda s: data.dense_detection_shapes(s),
         build=lambda sp, r: models.DenseDetector(1, sp.info["num_classes"], width=32, rngs=r),
         evaluate=_eval_dense, objective=_dense_objective,
         primary="ap", higher_is_better=True, preferred=_DENSE_LOSSES,
         columns=("ap", "ap50", "ap75"), steps=600, batch_size=32, lr=3e-3,
         picture=_picture_dense, accepts=("logits", "probabilities"),
         output="per-cell class scores (N, 8, 8, 3) and boxes, trained through a target "
                f"adapter for one of: {', '.join(_DENSE_LOSSES)}",
         curve_every=100),
    Task("embedding", "digits, train on classes 0-6, test on unseen 7-9; Recall@1",
         ("metric learning",),
         load=lambda s: data.digits_heldout_classes(s),
         build=lambda sp, r: models.EmbeddingNet(sp.x_train.shape[1], dim=32, hidden=128,
                                                 num_classes=10, rngs=r),
         forward=_forward_embedding, evaluate=_eval_embedding,
         primary="recall_at_1", higher_is_better=True,
         preferred=("contrastive_loss", "triplet_loss", "supcon_loss", "multi_similarity_loss",
                    "circle_loss", "proxy_anchor_loss", "arcface_loss"),
         columns=("recall_at_1", "map_at_r"), steps=300, batch_size=128, lr=1e-3,
         picture=_picture_embedding, accepts=("embeddings",), output="embeddings (N, 32)",
         curve_every=30),
    Task("forecasting",
         "EEG channel (matplotlib sample data), 8 steps ahead, 1-D conv; MAE / CRPS vs naive",
         ("time-series forecasting", "probabilistic forecasting"),
         load=lambda s: data.series(s, name="eeg"),
         build=lambda sp, r: models.Forecaster(sp.x_train.shape[1], sp.y_train.shape[1],
                                               rngs=r),
         forward=_forward_forecast, evaluate=_eval_forecast,
         primary="crps", higher_is_better=False,
         preferred=("mse", "mae", "huber_loss", "quantile_loss", "gaussian_nll", "laplace_nll",
                    "crps_gaussian", "student_t_nll"),
         columns=("mae", "crps", "mae_vs_naive", "coverage90"), steps=300, lr=1e-3,
         picture=_picture_forecast, accepts=_VALUE_KINDS,
         output="a forecast (N, 8) and its scale (N, 8)", curve_every=30),
    Task("vae", "digit images, MLP VAE; ELBO (Gaussian decoder, sigma 0.1), sample score",
         ("image reconstruction", "image generation"),
         load=lambda s: data.digit_images(s),
         build=lambda sp, r: models.VAE((8, 8, 1), latent=8, hidden=128, rngs=r),
         evaluate=_eval_vae, objective=_vae_objective, stochastic=True,
         primary="elbo", higher_is_better=True,
         preferred=("vae_loss", "mse", "mae", "charbonnier_loss", "log_cosh_loss"),
         columns=("elbo", "recon_mse", "kl", "sample_score"), steps=400, lr=2e-3,
         picture=_picture_vae, accepts=("values", "images", "logits"),
         output="reconstructed images (N, 8, 8, 1) with a Gaussian posterior"),
    Task("gan", "digit images, DCGAN; sample score of a digit classifier",
         ("image generation",),
         load=lambda s: data.digit_images(s),
         build=lambda sp, r: models.GAN(latent=16, width=32, rngs=r),
         evaluate=_eval_gan, objective=_gan_objective, optimizers=_gan_optimizers,
         stochastic=True, primary="sample_score", higher_is_better=True,
         preferred=("binary_cross_entropy", "mse", "hinge_loss"),
         columns=("sample_score", "confidence"), steps=400, lr=1e-3, picture=_picture_gan,
         accepts=("logits", "scores", "values"),
         output="discriminator logits on real and generated images"),
    Task("diffusion", "digit images, DDPM denoiser (100 steps); sample score",
         ("image generation",),
         load=lambda s: data.digit_images(s),
         build=lambda sp, r: models.Denoiser(1, width=32, rngs=r),
         evaluate=_eval_diffusion, objective=_diffusion_objective, stochastic=True,
         primary="sample_score", higher_is_better=True,
         preferred=("diffusion_loss", "mse", "mae", "huber_loss", "charbonnier_loss"),
         columns=("sample_score", "confidence"), steps=400, lr=2e-3,
         picture=_picture_diffusion, accepts=("values", "images", "model"),
         output="predicted noise (N, 8, 8, 1)"),
]}


def task_names() -> list[str]:
  """The names of the workbench tasks, in the order ``jaxloss compare`` lists them."""
  return list(TASKS)


def get_task(name: str) -> Task:
  """The :class:`Task` called ``name``; a KeyError lists the valid names."""
  if name not in TASKS:
    raise KeyError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
  return TASKS[name]
