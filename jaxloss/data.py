"""Small, deterministic data sets for the workbench — nothing is downloaded.

Real data that installed packages ship:

* scikit-learn's bundled ``digits`` (8x8 handwritten digits, 1797 images):
  classification (:func:`digits`), an imbalanced version
  (:func:`imbalanced_digits`), metric learning with held-out classes
  (:func:`digits_heldout_classes`) and images for VAE/GAN/diffusion
  (:func:`digit_images`);
* scikit-learn's ``breast_cancer`` and ``wine`` (tabular classification,
  :func:`breast_cancer`, :func:`wine`) and ``diabetes`` (tabular regression,
  :func:`diabetes`);
* a real time series for forecasting (:func:`series`): the daily closing price
  of Google stock 2004-2008 that matplotlib ships as sample data
  (``mpl-data/sample_data/goog.npz``, 1047 trading days), or the 4-channel EEG
  recording it also ships (``eeg.dat``). statsmodels' sunspots/CO2 sets would
  be the classic choice, but statsmodels (and its pandas dependency) is not a
  dependency of jaxloss, while matplotlib already is one of the ``examples``
  extras.

Procedural data where no real set fits:

* :func:`segmentation_shapes`: noisy images of rectangles, disks and a few
  tiny squares — an imbalanced multi-class segmentation problem whose rarest
  class is made of small objects; labels are ``(N, H, W)`` integers, images
  channel-last ``(N, H, W, 1)``;
* :func:`detection_shapes`: one object per noisy image with its ``xyxy`` box in
  ``[0, 1]`` image coordinates;
* :func:`dense_detection_shapes`: 1-3 objects of 3 classes per noisy image, their
  boxes and class ids packed into one padded array (a dense detector's data).

Every loader takes a ``seed`` and returns a :class:`Split` of NumPy arrays
(float32 inputs; int32 labels or float32 targets). Features are standardised
with statistics of the training part only.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = [
    "Split", "digits", "imbalanced_digits", "digits_heldout_classes", "digit_images",
    "breast_cancer", "wine", "diabetes", "series", "segmentation_shapes", "detection_shapes",
    "dense_detection_shapes", "unpack_objects",
]


@dataclasses.dataclass(frozen=True)
class Split:
  """A train/test split: ``x_train, y_train, x_test, y_test`` and ``info``."""

  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray
  info: dict[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def train(self):
    return self.x_train, self.y_train

  @property
  def test(self):
    return self.x_test, self.y_test


def _sklearn():
  try:
    from sklearn import datasets
  except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("jaxloss.data needs scikit-learn: pip install 'jaxloss[workbench]'") from e
  return datasets


def _split_idx(n, test_fraction, rng, labels=None):
  """Shuffled (stratified when labels are given) train/test index split."""
  if labels is None:
    idx = rng.permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    return np.sort(idx[n_test:]), np.sort(idx[:n_test])
  tr, te = [], []
  for c in np.unique(labels):
    idx = rng.permutation(np.flatnonzero(labels == c))
    n_test = max(1, int(round(len(idx) * test_fraction)))
    te.append(idx[:n_test])
    tr.append(idx[n_test:])
  return np.sort(np.concatenate(tr)), np.sort(np.concatenate(te))


def _standardise(x_tr, x_te):
  mu, sd = x_tr.mean(0), x_tr.std(0)
  sd = np.where(sd > 0, sd, 1.0)
  return ((x_tr - mu) / sd).astype(np.float32), ((x_te - mu) / sd).astype(np.float32)


def _tabular(x, y, seed, test_fraction, classification, name, **info):
  rng = np.random.default_rng(seed)
  tr, te = _split_idx(len(x), test_fraction, rng, y if classification else None)
  x_tr, x_te = _standardise(x[tr].astype(np.float64), x[te].astype(np.float64))
  if classification:
    y_tr, y_te = y[tr].astype(np.int32), y[te].astype(np.int32)
    info = dict(num_classes=int(y.max()) + 1, **info)
  else:
    mu, sd = y[tr].mean(), y[tr].std()
    y_tr = ((y[tr] - mu) / sd).astype(np.float32)
    y_te = ((y[te] - mu) / sd).astype(np.float32)
    info = dict(target_mean=float(mu), target_std=float(sd), **info)
  return Split(x_tr, y_tr, x_te, y_te, dict(name=name, **info))


def digits(seed: int = 0, *, test_fraction: float = 0.25, images: bool = False) -> Split:
  """scikit-learn's digits, 10 classes: flat standardised features ``(N, 64)``,
  or images ``(N, 8, 8, 1)`` in ``[0, 1]`` with ``images=True``."""
  x, y = _sklearn().load_digits(return_X_y=True)
  if not images:
    return _tabular(x, y, seed, test_fraction, True, "digits")
  rng = np.random.default_rng(seed)
  tr, te = _split_idx(len(x), test_fraction, rng, y)
  img = (x / 16.0).reshape(-1, 8, 8, 1).astype(np.float32)
  return Split(img[tr], y[tr].astype(np.int32), img[te], y[te].astype(np.int32),
               dict(name="digits-images", num_classes=10))


def imbalanced_digits(seed: int = 0, *, ratio: float = 20.0,
                      test_fraction: float = 0.25) -> Split:
  """Digits whose training part is long-tailed: class ``k`` keeps a fraction
  ``ratio ** (-k / 9)`` of its examples (class 0 all, class 9 ``1/ratio``); the
  test part stays balanced, so macro-F1 on it measures the tail classes."""
  full = digits(seed, test_fraction=test_fraction)
  rng = np.random.default_rng(seed + 1)
  keep = []
  for c in range(10):
    idx = np.flatnonzero(full.y_train == c)
    n = max(2, int(round(len(idx) * ratio ** (-c / 9))))
    keep.append(rng.choice(idx, size=n, replace=False))
  keep = np.sort(np.concatenate(keep))
  counts = np.bincount(full.y_train[keep], minlength=10)
  return Split(full.x_train[keep], full.y_train[keep], full.x_test, full.y_test,
               dict(full.info, name="imbalanced-digits", ratio=ratio,
                    train_counts=counts.tolist()))


def digits_heldout_classes(seed: int = 0, *, train_classes=(0, 1, 2, 3, 4, 5, 6)) -> Split:
  """Metric learning: train on some digit classes, test on the others (images
  never seen, classes never seen). Features are flat, standardised ``(N, 64)``."""
  x, y = _sklearn().load_digits(return_X_y=True)
  train_classes = tuple(int(c) for c in train_classes)
  m = np.isin(y, train_classes)
  rng = np.random.default_rng(seed)
  tr = rng.permutation(np.flatnonzero(m))
  te = rng.permutation(np.flatnonzero(~m))
  x_tr, x_te = _standardise(x[tr].astype(np.float64), x[te].astype(np.float64))
  return Split(x_tr, y[tr].astype(np.int32), x_te, y[te].astype(np.int32),
               dict(name="digits-heldout", num_classes=10, train_classes=list(train_classes)))


def digit_images(seed: int = 0, *, test_fraction: float = 0.25) -> Split:
  """Digits as images for generative models: ``(N, 8, 8, 1)`` in ``[-1, 1]``."""
  s = digits(seed, test_fraction=test_fraction, images=True)
  return Split(s.x_train * 2 - 1, s.y_train, s.x_test * 2 - 1, s.y_test,
               dict(s.info, name="digit-images", range=(-1.0, 1.0)))


def breast_cancer(seed: int = 0, *, test_fraction: float = 0.25) -> Split:
  """scikit-learn's breast-cancer (binary, 30 features), standardised."""
  x, y = _sklearn().load_breast_cancer(return_X_y=True)
  return _tabular(x, y, seed, test_fraction, True, "breast-cancer")


def wine(seed: int = 0, *, test_fraction: float = 0.25) -> Split:
  """scikit-learn's wine (3 classes, 13 features), standardised."""
  x, y = _sklearn().load_wine(return_X_y=True)
  return _tabular(x, y, seed, test_fraction, True, "wine")


def diabetes(seed: int = 0, *, test_fraction: float = 0.2, outliers: float = 0.0) -> Split:
  """scikit-learn's diabetes (10 features, disease progression), standardised.

  ``outliers`` > 0 corrupts that fraction of the *training* targets with gross
  errors of ±8 standard deviations (the test targets stay clean)."""
  x, y = _sklearn().load_diabetes(return_X_y=True)
  s = _tabular(x, y, seed, test_fraction, False, "diabetes")
  if outliers <= 0:
    return s
  rng = np.random.default_rng(seed + 1)
  y_tr = s.y_train.copy()
  bad = rng.choice(len(y_tr), size=int(round(len(y_tr) * outliers)), replace=False)
  y_tr[bad] += rng.choice([-8.0, 8.0], size=len(bad)).astype(np.float32)
  return dataclasses.replace(s, y_train=y_tr, info=dict(s.info, outliers=outliers))


def _raw_series(name):
  import os

  try:
    import matplotlib
  except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("jaxloss.data.series needs matplotlib's sample data: "
                      "pip install 'jaxloss[workbench]'") from e
  root = os.path.join(matplotlib.get_data_path(), "sample_data")
  if name == "goog":
    with np.load(os.path.join(root, "goog.npz")) as f:
      return np.log(f["price_data"]["adj_close"].astype(np.float64))
  if name == "eeg":
    return np.fromfile(os.path.join(root, "eeg.dat"), dtype=np.float64).reshape(800, 4)[:, 0]
  raise ValueError(f"series: name must be 'goog' or 'eeg', got {name!r}")


def series(seed: int = 0, *, name: str = "goog", context: int = 32, horizon: int = 8,
           test_fraction: float = 0.2) -> Split:
  """A real univariate series cut into forecasting windows.

  ``x``: ``(N, context)`` past values; ``y``: ``(N, horizon)`` the next values,
  both relative to the last observed value and divided by the training
  part's standard deviation of one-step changes. The split is chronological
  (the last ``test_fraction`` of the series is the test part, with no window
  overlapping it); ``seed`` only shuffles the training windows.
  ``name="goog"``: log adjusted close of Google stock (matplotlib sample data);
  ``name="eeg"``: the first channel of matplotlib's EEG sample.
  """
  v = _raw_series(name)
  n_test = int(round(len(v) * test_fraction))
  cut = len(v) - n_test
  scale = np.diff(v[:cut]).std()
  win = context + horizon

  def windows(a):
    idx = np.arange(len(a) - win + 1)[:, None] + np.arange(win)
    w = a[idx]
    w = (w - w[:, context - 1:context]) / scale
    return w[:, :context].astype(np.float32), w[:, context:].astype(np.float32)

  x_tr, y_tr = windows(v[:cut])
  x_te, y_te = windows(v[cut - context:])
  perm = np.random.default_rng(seed).permutation(len(x_tr))
  return Split(x_tr[perm], y_tr[perm], x_te, y_te,
               dict(name=f"series-{name}", context=context, horizon=horizon, scale=float(scale)))


def _draw(rng, size, kind):
  """A boolean mask of one random shape of ``kind``."""
  yy, xx = np.mgrid[:size, :size]
  if kind == "rect":
    h, w = rng.integers(size // 4, size // 2 + 1, size=2)
    y0, x0 = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
    return (yy >= y0) & (yy < y0 + h) & (xx >= x0) & (xx < x0 + w)
  if kind == "disk":
    r = rng.uniform(size / 10, size / 6)
    cy, cx = rng.uniform(r, size - r, size=2)
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
  if kind == "dot":
    s = int(rng.integers(2, 4))
    y0, x0 = rng.integers(0, size - s + 1, size=2)
    return (yy >= y0) & (yy < y0 + s) & (xx >= x0) & (xx < x0 + s)
  raise ValueError(kind)


def segmentation_shapes(seed: int = 0, *, n_train: int = 384, n_test: int = 96,
                        size: int = 32, noise: float = 0.35) -> Split:
  """Imbalanced multi-class segmentation with small rare objects.

  Classes: 0 background, 1 rectangles (large), 2 disks (medium), 3 tiny 2-3
  pixel squares (rare: well under 1% of the pixels). Each image has 0-2
  rectangles, 0-2 disks and 0-2 dots; class ``c`` has intensity ``0.35 * c``
  (the dots the brightest), plus Gaussian noise of std ``noise``, so a pixel
  alone is ambiguous and the model must pool its neighbourhood. Images are
  ``(N, size, size, 1)`` float32, labels ``(N, size, size)`` int32; the info
  dict holds the class pixel frequencies of the training part.
  """
  rng = np.random.default_rng(seed)
  n = n_train + n_test
  labels = np.zeros((n, size, size), np.int32)
  for i in range(n):
    for cls, kind in ((1, "rect"), (2, "disk"), (3, "dot")):
      for _ in range(rng.integers(0, 3)):
        labels[i][_draw(rng, size, kind)] = cls
  img = 0.35 * labels + noise * rng.standard_normal(labels.shape)
  img = img[..., None].astype(np.float32)
  freq = np.bincount(labels[:n_train].ravel(), minlength=4) / labels[:n_train].size
  return Split(img[:n_train], labels[:n_train], img[n_train:], labels[n_train:],
               dict(name="segmentation-shapes", num_classes=4,
                    class_names=["background", "rectangle", "disk", "dot"],
                    class_frequency=freq.round(5).tolist(), rare_class=3))


def detection_shapes(seed: int = 0, *, n_train: int = 512, n_test: int = 128,
                     size: int = 32, noise: float = 0.25) -> Split:
  """One object per noisy image and its box.

  Each image holds one filled rectangle or ellipse of random size and aspect
  ratio (boxes from ``size/8`` to ``3/4 size`` wide) and a few single-pixel
  distractors. Images ``(N, size, size, 1)`` float32; targets ``(N, 4)``
  float32 ``xyxy`` boxes in ``[0, 1]`` image coordinates (pixel edges).
  """
  rng = np.random.default_rng(seed)
  n = n_train + n_test
  img = noise * rng.standard_normal((n, size, size)).astype(np.float32)
  boxes = np.zeros((n, 4), np.float32)
  yy, xx = np.mgrid[:size, :size] + 0.5
  for i in range(n):
    w, h = rng.integers(size // 8, 3 * size // 4 + 1, size=2)
    x0, y0 = rng.integers(0, size - w + 1), rng.integers(0, size - h + 1)
    if rng.random() < 0.5:
      m = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)
    else:
      m = ((xx - x0 - w / 2) / (w / 2)) ** 2 + ((yy - y0 - h / 2) / (h / 2)) ** 2 <= 1
    img[i][m] += 1.0
    d = rng.integers(0, size, size=(3, 2))
    img[i][d[:, 0], d[:, 1]] += 1.0
    boxes[i] = (x0 / size, y0 / size, (x0 + w) / size, (y0 + h) / size)
  return Split(img[:n_train, ..., None], boxes[:n_train], img[n_train:, ..., None],
               boxes[n_train:], dict(name="detection-shapes", box_format="xyxy"))


DENSE_CLASSES = ("rectangle", "ellipse", "cross")


def _dense_shape(kind, x0, y0, w, h, yy, xx):
  """The mask of a filled ``kind`` whose box is ``[x0, x0 + w) x [y0, y0 + h)`` (pixels)."""
  inside = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)
  if kind == "rectangle":
    return inside
  u, v = (xx - x0 - w / 2) / (w / 2), (yy - y0 - h / 2) / (h / 2)
  if kind == "ellipse":
    return u * u + v * v <= 1
  # a plus sign: two bars of a third of the box's width/height through its centre
  return inside & ((np.abs(u) <= 1 / 3) | (np.abs(v) <= 1 / 3))


def dense_detection_shapes(seed: int = 0, *, n_train: int = 1024, n_test: int = 256,
                           size: int = 32, noise: float = 0.3, max_objects: int = 3,
                           min_size: int = 6, max_size: int = 16) -> Split:
  """Several objects of three classes per noisy image: a dense detector's data.

  Each image holds 1 to ``max_objects`` non-overlapping filled shapes, each a
  rectangle (class 0), an ellipse (class 1) or a plus-shaped cross (class 2),
  of random width and height in ``[min_size, max_size]`` pixels, plus Gaussian
  noise of std ``noise`` and a few single-pixel distractors. Small ellipses and
  rectangles differ by a few corner pixels, so classifying them well needs a
  well-placed cell.

  Layout: images ``(N, size, size, 1)`` float32; ``y_train``/``y_test`` are one
  float32 array ``(N, max_objects, 6)`` per image and object slot, the columns
  ``x1, y1, x2, y2`` (the box, ``xyxy`` in ``[0, 1]`` image coordinates, pixel
  edges), the class id (0, 1 or 2, stored as a float), and a validity flag (1
  for an object, 0 for a padding slot, whose other columns are 0).
  :func:`unpack_objects` splits it into boxes, int32 class ids and a boolean
  mask. One array (rather than a dict) keeps a batch a plain slice of the
  split, like every other task's. Deterministic given ``seed``.
  """
  if not 1 <= min_size <= max_size <= size:
    raise ValueError(f"need 1 <= min_size <= max_size <= size, got {min_size}, {max_size}, "
                     f"{size}")
  rng = np.random.default_rng(seed)
  n = n_train + n_test
  img = noise * rng.standard_normal((n, size, size)).astype(np.float32)
  y = np.zeros((n, max_objects, 6), np.float32)
  yy, xx = np.mgrid[:size, :size] + 0.5
  for i in range(n):
    placed = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
      for _try in range(50):      # rejection sampling: objects never touch
        w, h = rng.integers(min_size, max_size + 1, size=2)
        x0, y0 = rng.integers(0, size - w + 1), rng.integers(0, size - h + 1)
        if all(x0 >= b[2] + 1 or b[0] >= x0 + w + 1 or y0 >= b[3] + 1 or b[1] >= y0 + h + 1
               for b in placed):
          break
      else:
        continue
      c = int(rng.integers(0, len(DENSE_CLASSES)))
      img[i][_dense_shape(DENSE_CLASSES[c], x0, y0, w, h, yy, xx)] += 1.0
      y[i, len(placed)] = (x0 / size, y0 / size, (x0 + w) / size, (y0 + h) / size, c, 1.0)
      placed.append((x0, y0, x0 + w, y0 + h))
    d = rng.integers(0, size, size=(3, 2))
    img[i][d[:, 0], d[:, 1]] += 1.0
  counts = np.bincount(y[:n_train, :, 4][y[:n_train, :, 5] > 0].astype(int),
                       minlength=len(DENSE_CLASSES))
  return Split(img[:n_train, ..., None], y[:n_train], img[n_train:, ..., None], y[n_train:],
               dict(name="dense-detection-shapes", box_format="xyxy",
                    num_classes=len(DENSE_CLASSES), class_names=list(DENSE_CLASSES),
                    max_objects=max_objects, y_columns=["x1", "y1", "x2", "y2", "class", "valid"],
                    train_objects_per_class=counts.tolist()))


def unpack_objects(y):
  """``(boxes (..., M, 4), class ids (..., M) int32, valid (..., M) bool)`` from the packed
  ``(..., M, 6)`` targets of :func:`dense_detection_shapes` (NumPy or JAX arrays)."""
  return y[..., :4], y[..., 4].astype(np.int32), y[..., 5] > 0
