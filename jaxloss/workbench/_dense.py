"""The ``dense-detection`` task: a dense (FCOS-style) detector whose classification / quality
head is trained with the candidate loss, its box branch with a fixed GIoU loss.

Per-loss targets follow the mmdetection 3.x head that introduced each loss:

============================  ======================================================  =============
loss                          classification target per cell and class                normaliser
============================  ======================================================  =============
``binary_cross_entropy``      one-hot of the assigned GT class (0 at background)      positives
``sigmoid_focal_loss``        the same one-hot (FCOSHead / RetinaHead)                positives
``varifocal_loss``            IoU of the *detached* predicted box with its GT, at     positives
                              the GT class, clamped to >= 1e-6; 0 elsewhere
                              (VFNetHead)
``quality_focal_loss``        class id (background id ``C``) and the detached IoU     positives
                              as the quality (GFLHead)
``gaussian_focal_loss``       a Gaussian heatmap per class peaking at 1 at each GT    objects
                              centre cell (CenterNetHead), on sigmoid probabilities
============================  ======================================================  =============

"positives" is the number of positive cells in the batch (at least 1), mmdet's
``avg_factor``; each loss is summed and divided by it. Positives (for the box
branch of every candidate, and the classification targets of all but
``gaussian_focal_loss``) are FCOS's with centre sampling: a cell whose centre lies
inside a GT box and within 1.5 strides of the box centre; a cell inside several
boxes goes to the smallest. ``distribution_focal_loss`` is not a candidate: it
trains a box branch (a distribution over distances), not the classification
score, so including it would change the branch every candidate shares.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxloss import data, training
from jaxloss.models.dense_detector import cell_centres
from jaxloss.workbench._binding import LossIncompatible
from jaxloss.workbench.task import _info_of, _predict_batches

CENTER_RADIUS = 1.5      # FCOS's center_sample_radius, in strides
VFL_MIN_IOU = 1e-6       # VFNetHead clamps the IoU targets so every positive stays positive
HEATMAP_MIN_OVERLAP = 0.3   # CenterNetHead's gaussian_radius(min_overlap=0.3)
PROB_CLAMP = 1e-4        # CenterNet's clamped sigmoid for the heatmap
BOX_WEIGHT = 1.0         # weight of the GIoU box loss (FCOS's loss_bbox weight)


# --- assignment -------------------------------------------------------------------------------


@dataclasses.dataclass
class Assignment:
  """Per-cell training targets shared by every adapter (arrays of the batch's grid):
  ``pos (B, H, W)`` bool, ``box (B, H, W, 4)`` the assigned GT box (0 at negatives),
  ``cls (B, H, W)`` int32 its class (0 at negatives), ``num_pos`` the normaliser."""

  pos: jax.Array
  box: jax.Array
  cls: jax.Array
  num_pos: jax.Array


def assign(y, grid: tuple[int, int], radius: float = CENTER_RADIUS) -> Assignment:
  """FCOS assignment with centre sampling of the packed targets ``y (B, M, 6)`` to a
  ``grid`` of cells: a cell is positive for a GT box when its centre lies inside the box
  and within ``radius`` cells of the box centre; a cell positive for several boxes takes
  the one of smallest area (FCOS)."""
  gh, gw = grid
  boxes, cls, valid = data.unpack_objects(y)                     # (B, M, 4), (B, M), (B, M)
  cy, cx = cell_centres(gh, gw)
  cx = cx.reshape(1, -1, 1)
  cy = cy.reshape(1, -1, 1)                                      # (1, P, 1)
  x1, y1, x2, y2 = (boxes[:, None, :, k] for k in range(4))     # (B, 1, M)
  gx, gy = (x1 + x2) / 2, (y1 + y2) / 2
  rx, ry = radius / gw, radius / gh
  inside = ((cx > jnp.maximum(x1, gx - rx)) & (cx < jnp.minimum(x2, gx + rx))
            & (cy > jnp.maximum(y1, gy - ry)) & (cy < jnp.minimum(y2, gy + ry))
            & valid[:, None, :])                                 # (B, P, M)
  area = (x2 - x1) * (y2 - y1)
  area = jnp.where(inside, area, jnp.inf)
  k = jnp.argmin(area, axis=-1)                                  # (B, P)
  pos = jnp.any(inside, axis=-1)
  box = jnp.take_along_axis(boxes, k[..., None], axis=1)         # (B, P, 4)
  box = jnp.where(pos[..., None], box, 0.0)
  c = jnp.where(pos, jnp.take_along_axis(cls, k, axis=1), 0)
  b = y.shape[0]
  return Assignment(pos.reshape(b, gh, gw), box.reshape(b, gh, gw, 4),
                    c.reshape(b, gh, gw).astype(jnp.int32),
                    jnp.maximum(jnp.sum(pos, dtype=jnp.float32), 1.0))


# --- the targets of each loss -----------------------------------------------------------------


def onehot_targets(a: Assignment, num_classes: int):
  """``(B, H, W, C)`` float: 1 at the assigned class of a positive cell, 0 elsewhere."""
  return ((jnp.arange(num_classes) == a.cls[..., None]) & a.pos[..., None]).astype(jnp.float32)


def iou_quality(a: Assignment, pred_boxes):
  """The IoU of each cell's predicted box (detached: the quality target carries no gradient
  to the box branch) with its assigned GT box; 0 at negatives."""
  from jaxloss.detection.boxes import elementwise_iou  # (not at import: jaxloss loads lazily)

  iou = elementwise_iou(jax.lax.stop_gradient(pred_boxes), a.box)
  return jnp.where(a.pos, iou, 0.0)


def varifocal_targets(a: Assignment, pred_boxes, num_classes: int):
  """VFNet's IoU-aware classification target ``(B, H, W, C)``: the detached IoU at the GT
  class of a positive cell (clamped to >= 1e-6 as VFNetHead does), 0 elsewhere."""
  q = jnp.maximum(iou_quality(a, pred_boxes), VFL_MIN_IOU)
  return onehot_targets(a, num_classes) * q[..., None]


def quality_targets(a: Assignment, pred_boxes, num_classes: int):
  """GFL's ``(labels, quality)``: class ids with mmdet's background id ``C`` at negatives,
  and the detached IoU (0 at negatives)."""
  return jnp.where(a.pos, a.cls, num_classes), iou_quality(a, pred_boxes)


def gaussian_radius(h, w, min_overlap: float = HEATMAP_MIN_OVERLAP):
  """CornerNet's ``gaussian_radius`` (mmdet ``gaussian_target.gaussian_radius``): the
  smallest of the three radii at which a corner shift keeps IoU >= ``min_overlap``."""
  a1, b1, c1 = 1.0, h + w, w * h * (1 - min_overlap) / (1 + min_overlap)
  r1 = (b1 - jnp.sqrt(b1 ** 2 - 4 * a1 * c1)) / (2 * a1)
  a2, b2, c2 = 4.0, 2 * (h + w), (1 - min_overlap) * w * h
  r2 = (b2 - jnp.sqrt(b2 ** 2 - 4 * a2 * c2)) / (2 * a2)
  a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (h + w), (min_overlap - 1) * w * h
  r3 = (b3 + jnp.sqrt(b3 ** 2 - 4 * a3 * c3)) / (2 * a3)
  return jnp.minimum(jnp.minimum(r1, r2), r3)


def heatmap_targets(y, grid: tuple[int, int], num_classes: int):
  """CenterNet heatmap ``(B, H, W, C)``: per object, ``exp(-d^2 / (2 sigma^2))`` around its
  centre cell (``int`` of the centre in grid units, so exactly 1 there) with ``sigma =
  (2r + 1) / 6`` and ``r`` CornerNet's radius of the box in cells; the maximum over the
  objects of each class. Unlike mmdet, ``r`` is not truncated to an integer: the boxes
  here are 1.5-4 cells wide, where ``int(r)`` is 0 for every object (no Gaussian at
  all, just the peak)."""
  gh, gw = grid
  boxes, cls, valid = data.unpack_objects(y)
  w = (boxes[..., 2] - boxes[..., 0]) * gw
  h = (boxes[..., 3] - boxes[..., 1]) * gh
  ci = jnp.floor((boxes[..., 1] + boxes[..., 3]) / 2 * gh)        # (B, M) centre row
  cj = jnp.floor((boxes[..., 0] + boxes[..., 2]) / 2 * gw)
  sigma = (2 * gaussian_radius(h, w) + 1) / 6
  ii = jnp.arange(gh, dtype=jnp.float32)[None, :, None, None]
  jj = jnp.arange(gw, dtype=jnp.float32)[None, None, :, None]
  d2 = (ii - ci[:, None, None, :]) ** 2 + (jj - cj[:, None, None, :]) ** 2   # (B, H, W, M)
  g = jnp.exp(-d2 / (2 * sigma[:, None, None, :] ** 2)) * valid[:, None, None, :]
  of_class = jnp.arange(num_classes)[:, None] == cls[:, None, None, None, :]  # (B,1,1,C,M)
  return jnp.max(jnp.where(of_class, g[..., None, :], 0.0), axis=-1)


# --- adapters: (loss, model outputs, assignment) -> the classification loss --------------------


def _keywords(loss_fn):
  out = {}
  while hasattr(loss_fn, "keywords") and hasattr(loss_fn, "func"):
    out = {**loss_fn.keywords, **out}
    loss_fn = loss_fn.func
  return out


def _onehot_adapter(loss_fn, logits, boxes, a, y):
  t = onehot_targets(a, logits.shape[-1])
  return jnp.sum(loss_fn(logits, t, reduction="sum")) / a.num_pos


def _varifocal_adapter(loss_fn, logits, boxes, a, y):
  t = varifocal_targets(a, boxes, logits.shape[-1])
  return jnp.sum(loss_fn(logits, t, reduction="sum")) / a.num_pos


def _quality_adapter(loss_fn, logits, boxes, a, y):
  labels, quality = quality_targets(a, boxes, logits.shape[-1])
  return jnp.sum(loss_fn(logits, labels, quality, reduction="sum")) / a.num_pos


def _gaussian_adapter(loss_fn, logits, boxes, a, y):
  t = heatmap_targets(y, logits.shape[1:3], logits.shape[-1])
  if _keywords(loss_fn).get("activation") == "sigmoid":
    pred = logits
  else:   # mmdet's input: probabilities (CenterNet clamps its sigmoid to [1e-4, 1 - 1e-4])
    pred = jnp.clip(jax.nn.sigmoid(logits), PROB_CLAMP, 1 - PROB_CLAMP)
  num_peaks = jnp.maximum(jnp.sum(t == 1, dtype=jnp.float32), 1.0)
  return jnp.sum(loss_fn(pred, t, reduction="sum")) / num_peaks


def _callable_adapter(loss_fn, logits, boxes, a, y):
  """A user callable ``fn(logits, onehot)``: summed over cells and classes and divided by
  the positives when it returns one value per entry, else averaged."""
  out = loss_fn(logits, onehot_targets(a, logits.shape[-1]))
  out = out[0] if isinstance(out, tuple) else out
  if jnp.shape(out) == logits.shape:
    return jnp.sum(out) / a.num_pos
  return jnp.mean(out)


ADAPTERS = {
    "binary_cross_entropy": _onehot_adapter,
    "sigmoid_focal_loss": _onehot_adapter,
    "varifocal_loss": _varifocal_adapter,
    "quality_focal_loss": _quality_adapter,
    "gaussian_focal_loss": _gaussian_adapter,
}


def adapter_for(loss_fn):
  """The adapter building ``loss_fn``'s targets; :class:`LossIncompatible` for a catalog
  loss this task has none for."""
  info = _info_of(loss_fn)
  if info is None:
    return _callable_adapter
  if info.name not in ADAPTERS:
    raise LossIncompatible(
        f"{info.name} cannot train the dense-detection task's classification head: the task "
        f"builds per-cell targets for {', '.join(ADAPTERS)} only (a user callable gets "
        "one-hot targets: fn(logits (B, 8, 8, C), onehot))")
  return ADAPTERS[info.name]


def _dense_objective(loss_fn, split):
  """Classification loss (the candidate, through its adapter) + GIoU on the positives."""
  from jaxloss.detection.iou import giou_loss

  adapter = adapter_for(loss_fn)

  def obj(model, batch):
    logits, boxes = model(batch["x"])
    a = assign(batch["y"], logits.shape[1:3])
    cls = adapter(loss_fn, logits, boxes, a, batch["y"])
    box = giou_loss(boxes, a.box, where=a.pos)
    return cls + BOX_WEIGHT * box, {"cls": cls, "box": box}

  return [training.Phase(obj, has_aux=True)]


# --- decoding and AP ---------------------------------------------------------------------------

_dense_out = nnx.jit(lambda m, x: (lambda lb: jnp.concatenate(
    [jax.nn.sigmoid(lb[0]), lb[1]], axis=-1))(m(x)))

SCORE_THR = 0.05     # mmdet's test_cfg score_thr
PRE_NMS = 100        # candidates kept per image before NMS (mmdet's nms_pre, smaller grid)
NMS_IOU = 0.6        # GFL / VFNet test_cfg
MAX_DETS = 20        # per image after NMS (mmdet: 100; at most 3 objects here)


def _iou_matrix(a, b):
  """IoU of every box in ``a (n, 4)`` with every box in ``b (m, 4)``, float64."""
  a = np.asarray(a, np.float64)[:, None]
  b = np.asarray(b, np.float64)[None]
  iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
  ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
  inter = iw * ih
  area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
  union = area(a) + area(b) - inter
  return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes, scores, iou_thr=NMS_IOU):
  """Greedy NMS: indices of the kept boxes, by descending score."""
  order = np.argsort(-scores, kind="stable")
  keep = []
  while order.size:
    i = order[0]
    keep.append(i)
    if order.size == 1:
      break
    iou = _iou_matrix(boxes[i:i + 1], boxes[order[1:]])[0]
    order = order[1:][iou <= iou_thr]
  return np.asarray(keep, np.int64)


def decode(scores, boxes, *, score_thr=SCORE_THR, pre_nms=PRE_NMS, iou_thr=NMS_IOU,
           max_dets=MAX_DETS):
  """One image's detections from its per-cell class scores ``(H, W, C)`` and boxes
  ``(H, W, 4)``: the top ``pre_nms`` (cell, class) pairs above ``score_thr``, class-wise
  NMS, the best ``max_dets``. Returns ``(boxes (k, 4), scores (k,), classes (k,))``."""
  c = scores.shape[-1]
  s = scores.reshape(-1)
  b = boxes.reshape(-1, 4)
  idx = np.flatnonzero(s > score_thr)
  idx = idx[np.argsort(-s[idx], kind="stable")[:pre_nms]]
  cells, cls = idx // c, idx % c
  kept = []
  for k in np.unique(cls):
    m = np.flatnonzero(cls == k)
    kept.extend(m[nms(b[cells[m]], s[idx[m]], iou_thr)])
  kept = np.asarray(kept, np.int64)
  kept = kept[np.argsort(-s[idx[kept]], kind="stable")[:max_dets]]
  return b[cells[kept]], s[idx[kept]], cls[kept]


IOU_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def average_precision(dets, gts, num_classes: int, iou_thresholds=IOU_THRESHOLDS):
  """COCO-style average precision, ``(T, C)``: one value per IoU threshold and class.

  ``dets``: per image ``(boxes (k, 4), scores (k,), classes (k,))``; ``gts``: per image
  ``(boxes (m, 4), classes (m,))``. For each class and threshold, the detections of all
  images are ranked by score (a stable sort, as pycocotools' mergesort); each is a true
  positive when an unmatched GT of its image and class overlaps it with IoU >= the
  threshold (the best-overlapping such GT is taken), else a false positive. Precision is
  made monotone (the maximum at any higher recall) and read at the 101 recall points
  0, 0.01, ..., 1 (0 beyond the highest recall reached); AP is their mean. A class with no
  GT gives NaN (excluded from the averages, as COCO's -1).
  """
  thr = np.asarray(iou_thresholds, np.float64)
  out = np.full((len(thr), num_classes), np.nan)
  for c in range(num_classes):
    g_boxes = [np.asarray(g[0])[np.asarray(g[1]) == c] for g in gts]
    n_gt = sum(len(g) for g in g_boxes)
    if n_gt == 0:
      continue
    rows = [(s, i, b) for i, d in enumerate(dets)
            for b, s, k in zip(np.asarray(d[0]), np.asarray(d[1]), np.asarray(d[2]),
                               strict=True) if k == c]
    order = np.argsort([-r[0] for r in rows], kind="stable")
    ious = [_iou_matrix(rows[j][2][None], g_boxes[rows[j][1]])[0] if len(g_boxes[rows[j][1]])
            else np.zeros(0) for j in order]
    for t_i, t in enumerate(thr):
      matched = [np.zeros(len(g), bool) for g in g_boxes]
      tp = np.zeros(len(order))
      for n, j in enumerate(order):
        iou = np.where(matched[rows[j][1]], -1.0, ious[n])
        if iou.size and iou.max() >= t:
          matched[rows[j][1]][int(np.argmax(iou))] = True
          tp[n] = 1.0
      ctp = np.cumsum(tp)
      recall = ctp / n_gt
      precision = ctp / np.arange(1, len(tp) + 1)
      precision = np.maximum.accumulate(precision[::-1])[::-1] if len(tp) else precision
      at = np.searchsorted(recall, RECALL_POINTS, side="left")
      if len(precision):
        q = np.where(at < len(precision), precision[np.minimum(at, len(precision) - 1)], 0.0)
      else:
        q = np.zeros_like(RECALL_POINTS)
      out[t_i, c] = float(np.mean(q))
  return out


def _gt_of(y):
  boxes, cls, valid = data.unpack_objects(np.asarray(y))
  return [(b[v], c[v]) for b, c, v in zip(boxes, cls, valid, strict=True)]


def _detections(model, split):
  out = _predict_batches(_dense_out, model, split.x_test, bs=256)
  c = split.info["num_classes"]
  return [decode(o[..., :c], o[..., c:]) for o in out]


def _eval_dense(model, split, seed):
  """AP over IoU 0.5:0.95 (``ap``), at 0.5 and 0.75, averaged over classes; and
  ``score_iou``, the correlation of score and IoU over the detections that hit a GT
  (IoU >= 0.5 with a GT of their class): how well the score ranks localisation."""
  dets = _detections(model, split)
  gts = _gt_of(split.y_test)
  ap = average_precision(dets, gts, split.info["num_classes"])
  s_all, iou_all = [], []
  for (db, ds, dc), (gb, gc) in zip(dets, gts, strict=True):
    for b, s, k in zip(db, ds, dc, strict=True):
      g = gb[gc == k]
      if len(g):
        iou = _iou_matrix(b[None], g)[0].max()
        if iou >= 0.5:
          s_all.append(s)
          iou_all.append(iou)
  corr = (float(np.corrcoef(s_all, iou_all)[0, 1])
          if len(s_all) > 2 and np.std(s_all) > 0 and np.std(iou_all) > 0 else None)
  names = split.info.get("class_names", [str(k) for k in range(ap.shape[1])])
  return {"ap": float(np.nanmean(ap)), "ap50": float(np.nanmean(ap[0])),
          "ap75": float(np.nanmean(ap[5])), "score_iou": corr,
          "per_class_ap": {n: round(float(np.nanmean(ap[:, k])), 4) for k, n in enumerate(names)}}


def _picture_dense(model, split, seed, path, plt):
  n = 6
  sub = dataclasses.replace(split, x_test=split.x_test[:n], y_test=split.y_test[:n])
  dets = _detections(model, sub)
  gts = _gt_of(sub.y_test)
  size = split.x_test.shape[1]
  colours = ("tab:red", "tab:cyan", "tab:orange")
  names = split.info.get("class_names", ["0", "1", "2"])
  fig, axes = plt.subplots(1, n, figsize=(2 * n, 2.6))
  for i, ax in enumerate(axes):
    ax.imshow(split.x_test[i, ..., 0], cmap="gray")
    for b, k in zip(*gts[i], strict=True):
      x0, y0, x1, y1 = b * size - 0.5
      ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ls="--", lw=1,
                                 color=colours[k % 3]))
    db, ds, dc = dets[i]
    for b, s, k in list(zip(db, ds, dc, strict=True))[:4]:
      if s < 0.2:
        continue
      x0, y0, x1, y1 = b * size - 0.5
      ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.5,
                                 color=colours[k % 3]))
      ax.text(x0, y0 - 0.5, f"{s:.2f}", color=colours[k % 3], fontsize=6)
    ax.set_axis_off()
  import matplotlib.patches as mpatches

  handles = [mpatches.Patch(color=colours[k], label=nm) for k, nm in enumerate(names)]
  fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7)
  fig.text(0.5, 0.9, "dashed: truth; solid: top detections (score >= 0.2) with their score",
           ha="center", fontsize=8)
  fig.subplots_adjust(bottom=0.12)
  return fig
