"""The dense-detection workbench task (issue 22): its data, the per-loss targets against
independent float64 NumPy computations, the COCO-style AP on hand-computed cases, the
rejection of losses it has no adapter for, and a short end-to-end compare.

Nothing here asserts a trained outcome: every assertion is on a deterministic quantity."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxloss
from jaxloss import catalog, cli, data, models, workbench
from jaxloss.workbench import _dense as dense
from jaxloss.workbench.recommend import _workbench_task

TASK = workbench.get_task("dense-detection")
G = 8          # the 8x8 grid of a 32x32 image at stride 4
C = 3


@pytest.fixture(scope="module")
def small():
  return data.dense_detection_shapes(0, n_train=48, n_test=16)


# ---- data -----------------------------------------------------------------------------------

def test_data_layout_and_determinism(small):
  a, b = small, data.dense_detection_shapes(0, n_train=48, n_test=16)
  for u, v in zip((a.x_train, a.y_train, a.x_test, a.y_test),
                  (b.x_train, b.y_train, b.x_test, b.y_test), strict=True):
    np.testing.assert_array_equal(u, v)
  assert not np.array_equal(data.dense_detection_shapes(1, n_train=48, n_test=16).x_train,
                            a.x_train)
  assert a.x_train.shape == (48, 32, 32, 1) and a.x_train.dtype == np.float32
  assert a.y_train.shape == (48, 3, 6) and a.y_test.shape == (16, 3, 6)
  assert a.info["num_classes"] == 3 and a.info["class_names"] == ["rectangle", "ellipse", "cross"]
  y = np.concatenate([a.y_train, a.y_test])
  boxes, cls, valid = data.unpack_objects(y)
  n = valid.sum(1)
  assert n.min() >= 1 and n.max() <= 3
  # valid slots come first; padding slots are all zero
  assert (valid == (np.arange(3) < n[:, None])).all()
  assert (y[~valid] == 0).all()
  b = boxes[valid]
  assert ((b >= 0) & (b <= 1)).all() and (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
  assert set(np.unique(cls[valid])) <= {0, 1, 2} and cls.dtype == np.int32
  w = (b[:, 2] - b[:, 0]) * 32
  assert w.min() >= 6 and w.max() <= 16
  # objects never overlap (so every cell belongs to at most one box)
  for bx, v in zip(boxes, valid, strict=True):
    bx = bx[v]
    for i in range(len(bx)):
      for j in range(i):
        assert dense._iou_matrix(bx[i:i + 1], bx[j:j + 1])[0, 0] == 0


def test_dense_detector_outputs_valid_boxes():
  m = models.DenseDetector(1, 3, width=8, rngs=nnx.Rngs(0))
  logits, boxes = nnx.jit(lambda m, x: m(x))(m, jax.random.normal(jax.random.key(0),
                                                                   (2, 32, 32, 1)) * 5)
  assert logits.shape == (2, 8, 8, 3) and boxes.shape == (2, 8, 8, 4)
  b = np.asarray(boxes)
  assert (b[..., 2] > b[..., 0]).all() and (b[..., 3] > b[..., 1]).all()
  # every cell's box surrounds its centre, and the class prior is 0.01 everywhere at init
  cy, cx = (np.arange(8) + 0.5) / 8, (np.arange(8) + 0.5) / 8
  assert (b[..., 0] < cx[None, None, :]).all() and (b[..., 3] > cy[None, :, None]).all()
  np.testing.assert_allclose(np.asarray(jax.nn.sigmoid(logits)).mean(), 0.01, atol=0.01)


# ---- targets against NumPy ------------------------------------------------------------------

def _np_assign(y, g=G, r=dense.CENTER_RADIUS):
  """FCOS assignment with centre sampling, one cell and one box at a time (float64)."""
  y = np.asarray(y, np.float64)
  bsz = len(y)
  pos = np.zeros((bsz, g, g), bool)
  box = np.zeros((bsz, g, g, 4))
  cls = np.zeros((bsz, g, g), int)
  for b in range(bsz):
    for i in range(g):
      for j in range(g):
        cx, cy = (j + 0.5) / g, (i + 0.5) / g
        best = math.inf
        for obj in y[b]:
          if obj[5] == 0:
            continue
          x1, y1, x2, y2 = obj[:4]
          gx, gy = (x1 + x2) / 2, (y1 + y2) / 2
          if (x1 < cx < x2 and y1 < cy < y2 and abs(cx - gx) < r / g
                  and abs(cy - gy) < r / g and (x2 - x1) * (y2 - y1) < best):
            best = (x2 - x1) * (y2 - y1)
            pos[b, i, j], box[b, i, j], cls[b, i, j] = True, obj[:4], int(obj[4])
  return pos, box, cls


def _np_iou(a, b):
  iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
  ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
  inter = iw * ih
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def case():
  """Two images on the data's 1/32 grid, one with two overlapping boxes (the data never
  overlaps, the assignment must still take the smaller box), and random predicted boxes."""
  y = np.zeros((2, 3, 6), np.float32)
  y[0, 0] = (4 / 32, 4 / 32, 20 / 32, 14 / 32, 1, 1)
  y[0, 1] = (10 / 32, 8 / 32, 18 / 32, 24 / 32, 2, 1)     # overlaps the first one
  y[1, 0] = (2 / 32, 20 / 32, 8 / 32, 30 / 32, 0, 1)
  y[1, 1] = (18 / 32, 2 / 32, 31 / 32, 15 / 32, 0, 1)
  rng = np.random.default_rng(0)
  cy, cx = np.meshgrid((np.arange(G) + 0.5) / G, (np.arange(G) + 0.5) / G, indexing="ij")
  d = rng.uniform(0.02, 0.3, (2, G, G, 4))
  pred = np.stack([cx - d[..., 0], cy - d[..., 1], cx + d[..., 2], cy + d[..., 3]], -1)
  return y, pred.astype(np.float32)


def test_assignment_matches_numpy(case):
  y, _ = case
  a = dense.assign(jnp.asarray(y), (G, G))
  pos, box, cls = _np_assign(y)
  np.testing.assert_array_equal(np.asarray(a.pos), pos)
  np.testing.assert_allclose(np.asarray(a.box), box, rtol=1e-6)
  np.testing.assert_array_equal(np.asarray(a.cls), cls)
  assert float(a.num_pos) == pos.sum()
  # the overlap went to the smaller box (class 2 is 8x16 px, class 1 is 16x10 px)
  assert (cls[0][pos[0]] == 2).any() and (cls[0][pos[0]] == 1).any()


def test_onehot_varifocal_and_quality_targets_match_numpy(case):
  y, pred = case
  a = dense.assign(jnp.asarray(y), (G, G))
  pos, box, cls = _np_assign(y)
  onehot = np.zeros((2, G, G, C))
  vfl = np.zeros((2, G, G, C))
  quality = np.zeros((2, G, G))
  labels = np.full((2, G, G), C)                       # mmdet's background id C
  for b, i, j in zip(*np.nonzero(pos), strict=True):
    iou = _np_iou(pred[b, i, j].astype(np.float64), box[b, i, j])
    onehot[b, i, j, cls[b, i, j]] = 1
    vfl[b, i, j, cls[b, i, j]] = max(iou, 1e-6)       # VFNetHead's clamp
    quality[b, i, j] = iou
    labels[b, i, j] = cls[b, i, j]
  assert (vfl[pos].max(-1) > 0).all()
  np.testing.assert_array_equal(np.asarray(dense.onehot_targets(a, C)), onehot)
  np.testing.assert_allclose(np.asarray(dense.varifocal_targets(a, jnp.asarray(pred), C)), vfl,
                             rtol=1e-4, atol=1e-7)
  got_labels, got_q = dense.quality_targets(a, jnp.asarray(pred), C)
  np.testing.assert_array_equal(np.asarray(got_labels), labels)
  np.testing.assert_allclose(np.asarray(got_q), quality, rtol=1e-4, atol=1e-7)


def test_quality_targets_are_detached(case):
  y, pred = case
  a = dense.assign(jnp.asarray(y), (G, G))
  grad = jax.grad(lambda p: jnp.sum(dense.varifocal_targets(a, p, C))
                  + jnp.sum(dense.quality_targets(a, p, C)[1]))(jnp.asarray(pred))
  assert not np.asarray(grad).any()


def _np_radius(h, w, o=dense.HEATMAP_MIN_OVERLAP):
  r1 = ((h + w) - math.sqrt((h + w) ** 2 - 4 * w * h * (1 - o) / (1 + o))) / 2
  r2 = (2 * (h + w) - math.sqrt(4 * (h + w) ** 2 - 16 * (1 - o) * w * h)) / 8
  r3 = (-2 * o * (h + w) + math.sqrt(4 * o * o * (h + w) ** 2 - 16 * o * (o - 1) * w * h)) / (8 * o)
  return min(r1, r2, r3)


def test_heatmap_targets_match_numpy(case):
  y, _ = case
  want = np.zeros((2, G, G, C))
  for b in range(2):
    for obj in y[b]:
      if obj[5] == 0:
        continue
      x1, y1, x2, y2 = obj[:4].astype(np.float64) * G
      ci, cj = int((y1 + y2) / 2), int((x1 + x2) / 2)
      sigma = (2 * _np_radius(y2 - y1, x2 - x1) + 1) / 6
      for i in range(G):
        for j in range(G):
          v = math.exp(-((i - ci) ** 2 + (j - cj) ** 2) / (2 * sigma ** 2))
          want[b, i, j, int(obj[4])] = max(want[b, i, j, int(obj[4])], v)
  got = np.asarray(dense.heatmap_targets(jnp.asarray(y), (G, G), C))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
  # one peak of exactly 1 per object: gaussian_focal_loss's positives and normaliser
  assert (got == 1).sum() == 4


def test_adapters_normalise_like_the_mmdet_heads(case):
  y, pred = case
  yj = jnp.asarray(y)
  a = dense.assign(yj, (G, G))
  logits = jnp.asarray(np.random.default_rng(1).normal(size=(2, G, G, C)), jnp.float32)
  npos = float(_np_assign(y)[0].sum())
  got = dense._onehot_adapter(jaxloss.sigmoid_focal_loss, logits, pred, a, yj)
  want = jaxloss.sigmoid_focal_loss(logits, dense.onehot_targets(a, C), reduction="sum") / npos
  np.testing.assert_allclose(got, want, rtol=1e-6)
  heat = dense.heatmap_targets(yj, (G, G), C)
  probs = jnp.clip(jax.nn.sigmoid(logits), 1e-4, 1 - 1e-4)
  np.testing.assert_allclose(
      dense._gaussian_adapter(jaxloss.gaussian_focal_loss, logits, pred, a, yj),
      jaxloss.gaussian_focal_loss(probs, heat, reduction="sum") / 4, rtol=1e-6)
  # the spec option activation='sigmoid' hands over the logits instead
  fn = workbench.parse_loss("gaussian_focal_loss:activation='sigmoid'").fn
  np.testing.assert_allclose(
      dense._gaussian_adapter(fn, logits, pred, a, yj),
      jaxloss.gaussian_focal_loss(logits, heat, activation="sigmoid", reduction="sum") / 4,
      rtol=1e-6)
  # options reach the loss: varifocal_loss:alpha=0.5
  fn = workbench.parse_loss("varifocal_loss:alpha=0.5").fn
  t = dense.varifocal_targets(a, pred, C)
  np.testing.assert_allclose(dense._varifocal_adapter(fn, logits, pred, a, yj),
                             jaxloss.varifocal_loss(logits, t, alpha=0.5, reduction="sum") / npos,
                             rtol=1e-6)


# ---- AP -------------------------------------------------------------------------------------

A, B = np.array([0.0, 0.0, 0.5, 0.5]), np.array([0.5, 0.5, 1.0, 1.0])
FAR = np.array([0.0, 0.6, 0.2, 0.8])


def _det(*rows):
  return (np.array([r[0] for r in rows]).reshape(-1, 4), np.array([r[1] for r in rows]),
          np.array([r[2] for r in rows], int))


def test_ap_hand_computed():
  # two GTs; ranked detections: hit (0.9), miss (0.8), hit (0.7). Recall 1/2, 1/2, 1;
  # precision 1, 1/2, 2/3 -> monotone 1, 2/3, 2/3. The 101 recall points 0..0.5 (51 of
  # them) read 1, the 50 points 0.51..1 read 2/3: AP = (51 + 50 * 2/3) / 101.
  gts = [(np.stack([A, B]), np.array([0, 0]))]
  dets = [_det((A, 0.9, 0), (FAR, 0.8, 0), (B, 0.7, 0))]
  ap = dense.average_precision(dets, gts, 1, iou_thresholds=[0.5])
  np.testing.assert_allclose(ap, [[(51 + 50 * 2 / 3) / 101]], rtol=1e-12)
  # the same detections spread over two images and ranked across them give the same AP
  gts2 = [(A[None], np.array([0])), (B[None], np.array([0]))]
  dets2 = [_det((A, 0.9, 0), (FAR, 0.8, 0)), _det((B, 0.7, 0))]
  np.testing.assert_allclose(dense.average_precision(dets2, gts2, 1, [0.5]), ap, rtol=1e-12)


def test_ap_thresholds_duplicates_and_classes():
  shifted = A + np.array([0.1, 0.0, 0.1, 0.0])        # IoU with A: 0.4 / 0.6 = 2/3
  gts = [(np.stack([A, B]), np.array([0, 1]))]
  dets = [_det((shifted, 0.9, 0), (shifted, 0.8, 0), (B, 0.5, 1))]
  ap = dense.average_precision(dets, gts, 3, iou_thresholds=[0.5, 0.7])
  # class 0: one hit then a duplicate (a false positive after recall 1): AP 1 at 0.5, 0 at 0.7
  np.testing.assert_allclose(ap[:, 0], [1.0, 0.0])
  np.testing.assert_allclose(ap[:, 1], [1.0, 1.0])   # class 1: exact
  assert np.isnan(ap[:, 2]).all()                    # no GT of class 2: excluded
  # a GT of a class nobody detected counts 0; the wrong class never matches
  ap = dense.average_precision([_det((B, 0.9, 0))], [(B[None], np.array([1]))], 2, [0.5])
  assert np.isnan(ap[0, 0]) and ap[0, 1] == 0.0
  assert len(dense.IOU_THRESHOLDS) == 10 and dense.IOU_THRESHOLDS[5] == 0.75


def test_decode_is_top_k_and_classwise_nms():
  scores = np.zeros((2, 2, 2))
  boxes = np.zeros((2, 2, 4))
  boxes[0, 0] = boxes[0, 1] = A                      # same box, twice
  boxes[0, 1, 2] += 0.01
  boxes[1, 0] = B
  boxes[1, 1] = FAR
  scores[0, 0] = (0.9, 0.0)
  scores[0, 1] = (0.8, 0.7)                          # duplicate of class 0; class 1 kept
  scores[1, 0] = (0.0, 0.3)
  scores[1, 1] = (0.01, 0.0)                         # below the score threshold
  b, s, k = dense.decode(scores, boxes)
  np.testing.assert_allclose(s, [0.9, 0.7, 0.3])
  np.testing.assert_array_equal(k, [0, 1, 1])
  np.testing.assert_allclose(b[2], B)


# ---- the task in the workbench ----------------------------------------------------------------

def test_task_vocabulary_and_defaults():
  assert "dense-detection" in cli.TASK_NAMES and "dense-detection" in workbench.task_names()
  assert workbench.default_losses(TASK) == list(dense.ADAPTERS)
  for name in ("sigmoid_focal_loss", "varifocal_loss", "quality_focal_loss",
               "gaussian_focal_loss"):
    assert set(TASK.catalog_tasks) & set(catalog.get(name).tasks), name
  assert _workbench_task("dense prediction") == "dense-detection"
  assert _workbench_task("object detection") == "detection"      # unchanged
  names = [r["name"] for r in workbench.recommend("dense-detection", top=50, evidence={})]
  assert set(dense.ADAPTERS) <= set(names)
  assert "distribution_focal_loss" not in names


def test_every_candidate_and_options_pass_the_check(small):
  for loss in [*dense.ADAPTERS, "varifocal_loss:alpha=0.5", "quality_focal_loss:beta=1",
               "gaussian_focal_loss:activation='sigmoid'", "sigmoid_focal_loss:gamma=0"]:
    workbench.check_loss(TASK, loss, small)


def test_losses_without_an_adapter_are_rejected(small, capsys):
  # a logits loss the task has no targets for: refused by the objective, naming the adapters
  with pytest.raises(workbench.LossIncompatible,
                     match="focal_loss cannot train the dense-detection task's classification "
                           "head: the task builds per-cell targets for binary_cross_entropy, "
                           "sigmoid_focal_loss, varifocal_loss"):
    workbench.check_loss(TASK, "focal_loss", small)
  # a regression loss: refused on meaning, before any tracing; the CLI exits non-zero
  assert cli.main(["compare", "dense-detection", "--losses", "mse", "--steps", "1",
                   "--quiet"]) != 0
  err = capsys.readouterr().err
  assert "mse takes values" in err and "dense-detection task's model outputs" in err
  assert "adapter for one of: binary_cross_entropy" in err


def test_compare_end_to_end(small, tmp_path):
  def my_bce(logits, labels):
    return jaxloss.binary_cross_entropy(logits, labels, reduction="none")

  res = workbench.compare("dense-detection",
                          ["sigmoid_focal_loss", "varifocal_loss:alpha=0.5",
                           ("mine", my_bce), functools.partial(jaxloss.quality_focal_loss,
                                                               beta=1.0)],
                          steps=2, split=small, progress=False, out=str(tmp_path))
  assert [r["loss"] for r in res] == ["sigmoid_focal_loss", "varifocal_loss:alpha=0.5", "mine",
                                      "quality_focal_loss:beta=1.0"]
  for r in res:
    assert len(r["history"]["loss"]) == 2 and len(r["history"]["cls"]) == 2
    np.testing.assert_allclose(np.add(r["history"]["cls"], r["history"]["box"]),
                               r["history"]["loss"], rtol=1e-5)
    for c in TASK.columns:
      assert 0.0 <= r["metrics"][c] <= 1.0, (r["loss"], c)
  assert (tmp_path / "dense-detection_sigmoid_focal_loss.png").exists()
  assert (tmp_path / "summary.png").exists()
