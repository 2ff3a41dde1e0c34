"""jaxloss.data: shapes, dtypes, determinism, splits that do not leak."""

import numpy as np
import pytest

from jaxloss import data

LOADERS = [data.digits, data.imbalanced_digits, data.digits_heldout_classes, data.digit_images,
           data.breast_cancer, data.wine, data.diabetes, data.series,
           data.segmentation_shapes, data.detection_shapes]


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_deterministic_and_seeded(loader):
  a, b = loader(3), loader(3)
  for u, v in zip((a.x_train, a.y_train, a.x_test, a.y_test),
                  (b.x_train, b.y_train, b.x_test, b.y_test), strict=True):
    np.testing.assert_array_equal(u, v)
  assert a.x_train.dtype == np.float32 and len(a.x_train) == len(a.y_train)
  assert np.isfinite(a.x_train).all() and np.isfinite(a.x_test).all()
  c = loader(4)
  assert not (c.x_train.shape == a.x_train.shape and np.array_equal(c.x_train, a.x_train))


def test_classification_splits_are_stratified_and_disjoint():
  s = data.wine(0)
  assert s.y_train.dtype == np.int32 and set(np.unique(s.y_test)) == {0, 1, 2}
  assert len(s.x_train) + len(s.x_test) == 178
  # the training part is standardised with its own statistics
  np.testing.assert_allclose(s.x_train.mean(0), 0, atol=1e-5)


def test_imbalanced_digits_is_long_tailed_with_balanced_test():
  s = data.imbalanced_digits(0, ratio=20.0)
  counts = np.bincount(s.y_train, minlength=10)
  assert counts[0] > 10 * counts[9] and (np.diff(counts) <= 0).all()
  test_counts = np.bincount(s.y_test, minlength=10)
  assert test_counts.max() - test_counts.min() <= 2


def test_heldout_classes_never_seen_in_training():
  s = data.digits_heldout_classes(0)
  assert set(np.unique(s.y_train)) == set(range(7))
  assert set(np.unique(s.y_test)) == {7, 8, 9}


def test_digit_images_range():
  s = data.digit_images(0)
  assert s.x_train.shape[1:] == (8, 8, 1)
  assert s.x_train.min() >= -1 and s.x_train.max() <= 1


def test_diabetes_outliers_only_in_training():
  clean, dirty = data.diabetes(0), data.diabetes(0, outliers=0.1)
  changed = np.flatnonzero(clean.y_train != dirty.y_train)
  assert len(changed) == round(0.1 * len(clean.y_train))
  np.testing.assert_allclose(np.abs(dirty.y_train - clean.y_train)[changed], 8.0, rtol=1e-6)
  np.testing.assert_array_equal(clean.y_test, dirty.y_test)


@pytest.mark.parametrize("name", ["goog", "eeg"])
def test_series_windows_are_chronological(name):
  s = data.series(0, name=name, context=16, horizon=4)
  assert s.x_train.shape[1:] == (16,) and s.y_train.shape[1:] == (4,)
  # windows are relative to the last observed value
  np.testing.assert_allclose(s.x_train[:, -1], 0.0, atol=1e-6)
  np.testing.assert_allclose(s.x_test[:, -1], 0.0, atol=1e-6)
  with pytest.raises(ValueError, match="name"):
    data.series(0, name="nope")


def test_segmentation_is_imbalanced_with_small_rare_objects():
  s = data.segmentation_shapes(0, n_train=64, n_test=16, size=24)
  assert s.x_train.shape == (64, 24, 24, 1) and s.y_train.shape == (64, 24, 24)
  assert s.y_train.dtype == np.int32 and set(np.unique(s.y_train)) <= {0, 1, 2, 3}
  freq = np.bincount(s.y_train.ravel(), minlength=4) / s.y_train.size
  assert freq[3] < 0.02 and freq[3] > 0 and freq[0] > 0.5
  assert freq.argmin() == s.info["rare_class"] == 3


def test_detection_boxes_cover_the_object():
  s = data.detection_shapes(0, n_train=32, n_test=8, noise=0.0)
  b = s.y_train
  assert b.shape == (32, 4) and (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
  assert b.min() >= 0 and b.max() <= 1
  size = s.x_train.shape[1]
  for img, box in zip(s.x_train[..., 0], b, strict=True):
    x0, y0, x1, y1 = np.round(box * size).astype(int)
    inside = img[y0:y1, x0:x1]
    assert (img >= 1).sum() - (inside >= 1).sum() <= 3   # only the distractor pixels outside
    assert (inside >= 1).any()
