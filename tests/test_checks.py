"""The value-check switch (``jaxloss.set_checks`` / ``JAXLOSS_CHECKS=1``), boolean masks
and the channel-first hint (issue 19 items 5, 6, 9, 10, 13)."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import LossInputError, LossTypeError


@pytest.fixture
def checks():
  previous = jaxloss.set_checks(True)
  yield
  jaxloss.set_checks(previous)


LOGITS = jnp.array([[1.0, 2.0, 3.0, 0.5]] * 4)

# (loss call with a bad value, the message it must carry)
BAD_VALUES = {
    "label too large": (lambda: jaxloss.cross_entropy(LOGITS, jnp.array([0, 1, 255, 2])),
                        r"cross_entropy: labels must be class ids in \[0, 4\)"),
    "negative label": (lambda: jaxloss.cross_entropy(LOGITS, jnp.array([0, -1, 2, 2])),
                       r"cross_entropy: labels must be class ids"),
    "focal label": (lambda: jaxloss.focal_loss(LOGITS, jnp.array([0, 4, 2, 2])),
                    r"focal_loss: labels must be class ids in \[0, 4\)"),
    "probability > 1": (lambda: jaxloss.binary_cross_entropy_from_probs(
        jnp.array([0.3, 1.2]), jnp.array([0.0, 1.0])), r"in \[0, 1\]"),
    "inverted box": (lambda: jaxloss.giou_loss(jnp.array([[0.0, 0, 1, 1]]),
                                               jnp.array([[2.0, 2, 1, 1]])),
                     r"giou_loss: targets must be xyxy boxes with x1 <= x2"),
    "negative variance": (lambda: jaxloss.gaussian_nll(jnp.zeros(2), jnp.zeros(2),
                                                       jnp.array([1.0, -1.0])),
                          r"gaussian_nll: var must be >= 0"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_checks_off_by_default_cost_nothing_and_raise_nothing(case):
  call, _ = BAD_VALUES[case]
  assert not jaxloss.checks_enabled()
  assert np.isfinite(float(call()))


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_checks_on_raise_from_a_plain_call(case, checks):
  call, message = BAD_VALUES[case]
  with pytest.raises(LossInputError, match=message):
    call()


def test_checks_on_raise_inside_user_jit_and_grad(checks):
  labels = jnp.array([0, 1, 255, 2])
  with pytest.raises(Exception, match=r"cross_entropy: labels must be class ids"):
    jax.block_until_ready(jax.jit(lambda x: jaxloss.cross_entropy(x, labels))(LOGITS))
  with pytest.raises(Exception, match=r"cross_entropy: labels must be class ids"):
    jax.block_until_ready(jax.jit(jax.grad(lambda x: jaxloss.cross_entropy(x, labels)))(LOGITS))


def test_checks_on_pass_valid_inputs_with_the_same_value(checks):
  labels = jnp.array([0, 1, 3, 2])
  on = float(jaxloss.cross_entropy(LOGITS, labels))
  jaxloss.set_checks(False)
  off = float(jaxloss.cross_entropy(LOGITS, labels))
  # Independent reference: -log softmax at the label.
  x = np.asarray(LOGITS, np.float64)
  ref = np.mean(np.log(np.exp(x).sum(1)) - x[np.arange(4), np.asarray(labels)])
  np.testing.assert_allclose([on, off], [ref, ref], rtol=1e-6)
  g = jax.jit(jax.grad(lambda x: jaxloss.cross_entropy(x, labels)))(LOGITS)
  assert np.isfinite(np.asarray(g)).all()


def test_ignore_index_passes_the_label_check(checks):
  v = jaxloss.cross_entropy(LOGITS, jnp.array([0, 255, 2, 2]), ignore_index=255)
  assert np.isfinite(float(v))


def test_checks_off_compile_no_check(checks):
  """With checks off the compiled loss is the plain one: no host callback, no error output."""
  jaxloss.set_checks(False)
  hlo = jaxloss.cross_entropy._jitted.lower(LOGITS, jnp.array([0, 1, 2, 3])).as_text()
  assert "callback" not in hlo.lower()


def test_environment_variable_turns_checks_on():
  code = ("import jax.numpy as jnp, jaxloss\n"
          "assert jaxloss.checks_enabled()\n"
          "try:\n"
          "  jaxloss.cross_entropy(jnp.zeros((2, 4)), jnp.array([1, 7]))\n"
          "except jaxloss.LossInputError as e:\n"
          "  print('raised:', e)\n")
  env = {**os.environ, "JAXLOSS_CHECKS": "1", "JAX_PLATFORMS": "cpu"}
  out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=300, check=True)
  assert "raised: cross_entropy: labels must be class ids in [0, 4)" in out.stdout


# --------------------------------------------------------------------------
# where= masks are boolean and validated before any use (items 9, 13).
# --------------------------------------------------------------------------


def test_float_where_is_refused():
  with pytest.raises(LossTypeError, match=r"^cross_entropy: where must be a boolean mask, got "
                                          r"dtype float32"):
    jaxloss.cross_entropy(LOGITS, jnp.array([0, 1, 2, 2]), where=jnp.array([1.0, 0.0, 1.0, 1.0]))
  with pytest.raises(LossTypeError, match="where must be a boolean"):
    jaxloss.mse(jnp.zeros(3), jnp.zeros(3), where=[1, 0, 1])


@pytest.mark.parametrize("call", [
    lambda w: jaxloss.listmle_loss(jnp.zeros((2, 5)), jnp.zeros((2, 5)), where=w),
    lambda w: jaxloss.listnet_loss(jnp.zeros((2, 5)), jnp.zeros((2, 5)), where=w),
    lambda w: jaxloss.ranknet_loss(jnp.zeros((2, 5)), jnp.zeros((2, 5)), where=w),
    lambda w: jaxloss.chunked_cross_entropy(jnp.zeros((2, 5)), jnp.zeros((2,), int), where=w),
], ids=["listmle", "listnet", "ranknet", "chunked_cross_entropy"])
def test_wrong_shape_where_names_the_loss_and_argument(call):
  with pytest.raises(LossInputError, match=r"^\w+: where has shape \(3,\)"):
    call(jnp.ones((3,), bool))


# --------------------------------------------------------------------------
# Channel-first inputs get a hint (item 10).
# --------------------------------------------------------------------------

HINT = "jaxloss is channel-last"


def test_channel_first_segmentation_gets_the_hint():
  with pytest.raises(LossInputError, match=HINT):
    jaxloss.dice_loss(jnp.zeros((2, 3, 8, 8)), jnp.zeros((2, 8, 8), int))
  with pytest.raises(LossInputError, match=HINT):
    jaxloss.cross_entropy(jnp.zeros((2, 3, 8, 8)), jnp.zeros((2, 8, 8), int))


def test_channel_first_images_get_the_hint():
  x = jnp.zeros((2, 3, 32, 32))
  with pytest.raises(LossInputError, match=HINT):
    jaxloss.ssim_loss(x, x, data_range=1.0)


def test_no_hint_when_layout_does_not_explain_the_error():
  with pytest.raises(LossInputError) as err:
    jaxloss.dice_loss(jnp.zeros((2, 3, 8, 8)), jnp.zeros((2, 7, 8), int))
  assert HINT not in str(err.value)
  with pytest.raises(LossInputError) as err:
    jaxloss.ssim_loss(jnp.zeros((2, 3, 8, 8)), jnp.zeros((2, 3, 8, 8)), data_range=1.0)
  assert HINT not in str(err.value)


# --------------------------------------------------------------------------
# Soft labels must be distributions (item 6).
# --------------------------------------------------------------------------


def test_unnormalised_soft_labels_raise_under_checks(checks):
  # The example: (3,) logits and (3,) float targets are one sample of soft labels.
  with pytest.raises(LossInputError, match=r"cross_entropy: labels .* sum to 1"):
    jaxloss.cross_entropy(jnp.array([0.3, 1.2, -0.5]), jnp.array([150.0, 80.0, 200.0]))
  with pytest.raises(LossInputError, match=r"focal_loss: labels .* sum to 1"):
    jaxloss.focal_loss(LOGITS, jnp.full((4, 4), 0.5))


def test_normalised_soft_labels_and_one_hot_pass_under_checks(checks):
  soft = jnp.array([[0.1, 0.2, 0.3, 0.4]] * 4)
  one_hot = jax.nn.one_hot(jnp.array([0, 1, 2, 3]), 4, dtype=jnp.uint8)
  x = np.asarray(LOGITS, np.float64)
  logp = x - np.log(np.exp(x).sum(1, keepdims=True))
  for y in (soft, one_hot):
    ref = -np.mean(np.sum(np.asarray(y, np.float64) * logp, axis=1))
    np.testing.assert_allclose(float(jaxloss.cross_entropy(LOGITS, y)), ref, rtol=1e-6)
  # A masked row is not checked (its labels are never used).
  bad_row = soft.at[2].set(7.0)
  v = jaxloss.cross_entropy(LOGITS, bad_row, where=jnp.array([True, True, False, True]))
  ref = -np.mean(np.sum(np.asarray(soft, np.float64) * logp, axis=1)[[0, 1, 3]])
  np.testing.assert_allclose(float(v), ref, rtol=1e-6)
