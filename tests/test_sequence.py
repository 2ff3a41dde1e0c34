"""Tests for jaxloss.sequence: CTC, soft-DTW, soft-DTW divergence, DILATE.

References are plain float64 NumPy dynamic programs written from the papers
(Graves et al. 2006 alpha recursion; Cuturi & Blondel 2017 Algorithms 1-2
with inf-padded tables, row by row), independent of the anti-diagonal code.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental import checkify
from jax.test_util import check_grads
from scipy.special import log_softmax, logsumexp

import jaxloss
from jaxloss import LossInputError, LossTypeError

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- references


def _sdtw_ref(x, y, gamma):
  """R table, inf-padded, Cuturi & Blondel Algorithm 1."""
  d = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
  n, m = d.shape
  r = np.full((n + 2, m + 2), np.inf)
  r[0, 0] = 0.0
  for i in range(1, n + 1):
    for j in range(1, m + 1):
      prev = np.array([r[i - 1, j - 1], r[i - 1, j], r[i, j - 1]])
      r[i, j] = d[i - 1, j - 1] - gamma * logsumexp(-prev / gamma)
  return r, d


def _sdtw_value(x, y, gamma):
  r, _ = _sdtw_ref(x, y, gamma)
  return r[x.shape[0], y.shape[0]]


def _sdtw_alignment_ref(x, y, gamma):
  """E = d sdtw / d D, Cuturi & Blondel Algorithm 2."""
  r, d = _sdtw_ref(x, y, gamma)
  n, m = d.shape
  dp = np.zeros((n + 2, m + 2))
  dp[1:n + 1, 1:m + 1] = d
  e = np.zeros((n + 2, m + 2))
  r[:, m + 1] = -np.inf
  r[n + 1, :] = -np.inf
  r[n + 1, m + 1] = r[n, m]
  e[n + 1, m + 1] = 1.0
  for j in range(m, 0, -1):
    for i in range(n, 0, -1):
      a = np.exp((r[i + 1, j] - r[i, j] - dp[i + 1, j]) / gamma)
      b = np.exp((r[i, j + 1] - r[i, j] - dp[i, j + 1]) / gamma)
      c = np.exp((r[i + 1, j + 1] - r[i, j] - dp[i + 1, j + 1]) / gamma)
      e[i, j] = e[i + 1, j] * a + e[i, j + 1] * b + e[i + 1, j + 1] * c
  return e[1:n + 1, 1:m + 1]


def _dtw_ref(x, y):
  d = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
  n, m = d.shape
  r = np.full((n + 1, m + 1), np.inf)
  r[0, 0] = 0
  for i in range(1, n + 1):
    for j in range(1, m + 1):
      r[i, j] = d[i - 1, j - 1] + min(r[i - 1, j - 1], r[i - 1, j], r[i, j - 1])
  return r[n, m]


def _ctc_ref(logits, labels, blank=0):
  """-log p(labels | logits), Graves et al. alpha recursion in log space."""
  lp = log_softmax(logits, axis=-1)
  ext = [blank]
  for c in labels:
    ext += [c, blank]
  s_len, t_len = len(ext), lp.shape[0]
  alpha = np.full((t_len, s_len), -np.inf)
  alpha[0, 0] = lp[0, blank]
  if s_len > 1:
    alpha[0, 1] = lp[0, ext[1]]
  for t in range(1, t_len):
    for s in range(s_len):
      terms = [alpha[t - 1, s]]
      if s >= 1:
        terms.append(alpha[t - 1, s - 1])
      if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
        terms.append(alpha[t - 1, s - 2])
      alpha[t, s] = logsumexp(terms) + lp[t, ext[s]]
  tail = [alpha[-1, -1]] + ([alpha[-1, -2]] if s_len > 1 else [])
  return -logsumexp(tail)


# ---------------------------------------------------------------- soft-DTW


@pytest.mark.parametrize("gamma,n,m", [(0.1, 7, 5), (1.0, 7, 5), (1.0, 1, 4), (0.5, 3, 1),
                                       (0.5, 1, 1)])
def test_soft_dtw_matches_numpy_dp(gamma, n, m):
  x = RNG.normal(size=(3, n, 2))
  y = RNG.normal(size=(3, m, 2))
  out = jaxloss.soft_dtw(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32), gamma=gamma,
                         reduction="none")
  ref = [_sdtw_value(x[b], y[b], gamma) for b in range(3)]
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_soft_dtw_gradient_is_the_expected_alignment():
  with jax.enable_x64(True):
    x = RNG.normal(size=(6, 2))
    y = RNG.normal(size=(4, 2))
    gamma = 0.5
    gx = jax.grad(lambda a: jaxloss.soft_dtw(a, jnp.asarray(y), gamma=gamma))(jnp.asarray(x))
    e = _sdtw_alignment_ref(x, y, gamma)
    ref = 2 * (e.sum(1)[:, None] * x - e @ y)
    np.testing.assert_allclose(gx, ref, rtol=1e-9, atol=1e-10)
    check_grads(lambda a, b: jaxloss.soft_dtw(a, b, gamma=gamma), (jnp.asarray(x), jnp.asarray(y)),
                order=1, modes=["rev"])
    for xa, ya in ((x[:1], y), (x[:1], y[:1])):  # single-step series
      g1 = jax.grad(lambda a, ya=ya: jaxloss.soft_dtw(a, jnp.asarray(ya), gamma=gamma))(
          jnp.asarray(xa))
      e1 = _sdtw_alignment_ref(xa, ya, gamma)
      np.testing.assert_allclose(g1, 2 * (e1.sum(1)[:, None] * xa - e1 @ ya), rtol=1e-9)


def test_soft_dtw_float32_gradient_accuracy_on_long_series():
  # The backward recursion recomputes soft-min weights locally; the textbook
  # exp((R_s - D_s - R_ij) / gamma) form loses ~1e-3 relative accuracy here.
  # Its own generator: the shared RNG's state depends on which tests ran before
  # in the same xdist worker, and a few draws (~1 in 15) exceed the tolerance.
  rng = np.random.default_rng(0)
  x = rng.normal(size=(128, 3))
  y = rng.normal(size=(128, 3))
  g32 = jax.grad(lambda a: jaxloss.soft_dtw(a, jnp.asarray(y, jnp.float32), gamma=0.1))(
      jnp.asarray(x, jnp.float32))
  with jax.enable_x64(True):
    g64 = jax.grad(lambda a: jaxloss.soft_dtw(a, jnp.asarray(y), gamma=0.1))(jnp.asarray(x))
    g64 = np.asarray(g64)
  assert np.max(np.abs(np.asarray(g32) - g64)) < 1e-4 * np.max(np.abs(g64))


def test_soft_dtw_small_gamma_tends_to_dtw_and_large_gamma_is_finite():
  x = RNG.normal(size=(9, 1))
  y = RNG.normal(size=(7, 1))
  xs, ys = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
  out = jaxloss.soft_dtw(xs, ys, gamma=1e-3)
  # |sdtw - dtw| <= gamma * log(number of paths) <= gamma * (n + m) * log 3.
  np.testing.assert_allclose(out, _dtw_ref(x, y), atol=1e-3 * 16 * np.log(3) + 1e-5)
  v, g = jax.value_and_grad(lambda a: jaxloss.soft_dtw(a, ys, gamma=1e3))(xs)
  chex.assert_tree_all_finite((v, g))
  np.testing.assert_allclose(v, _sdtw_value(x, y, 1e3), rtol=1e-4)


def test_soft_dtw_long_series_tiny_gamma_finite():
  n = 512
  t = np.linspace(0, 8 * np.pi, n)
  x = np.sin(t)[:, None]
  y = np.sin(t + 0.3)[:, None] + 0.05 * RNG.normal(size=(n, 1))
  xs, ys = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
  v, (gx, gy) = jax.value_and_grad(
      lambda a, b: jaxloss.soft_dtw(a, b, gamma=1e-3), argnums=(0, 1))(xs, ys)
  chex.assert_tree_all_finite((v, gx, gy))
  assert float(jnp.abs(gx).max()) > 0
  np.testing.assert_allclose(v, _dtw_ref(x, y), atol=1e-3 * 2 * n * np.log(3))


def test_soft_dtw_of_identical_series_is_not_zero_but_divergence_is():
  x = jnp.asarray(RNG.normal(size=(2, 6, 3)), jnp.float32)
  s = jaxloss.soft_dtw(x, x, reduction="none")
  assert np.all(np.asarray(s) < 0)  # by design (smoothing over all paths)
  d, g = jax.value_and_grad(lambda a: jaxloss.soft_dtw_divergence(a, x))(x)
  assert float(d) == 0.0
  chex.assert_tree_all_finite(g)
  np.testing.assert_allclose(g, 0.0, atol=1e-5)


def test_soft_dtw_divergence_matches_reference_and_grads():
  x = RNG.normal(size=(2, 6, 2))
  y = RNG.normal(size=(2, 8, 2))
  out = jaxloss.soft_dtw_divergence(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32),
                                    gamma=0.3, reduction="none")
  ref = [_sdtw_value(a, b, 0.3) - 0.5 * (_sdtw_value(a, a, 0.3) + _sdtw_value(b, b, 0.3))
         for a, b in zip(x, y, strict=True)]
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
  with jax.enable_x64(True):
    check_grads(lambda a, b: jaxloss.soft_dtw_divergence(a, b, gamma=0.3),
                (jnp.asarray(x), jnp.asarray(y)), order=1, modes=["rev"])


def test_soft_dtw_leading_axes_and_where():
  x = jnp.asarray(RNG.normal(size=(2, 3, 5, 2)), jnp.float32)
  y = jnp.asarray(RNG.normal(size=(2, 3, 4, 2)), jnp.float32)
  out = jaxloss.soft_dtw(x, y, reduction="none")
  chex.assert_shape(out, (2, 3))
  np.testing.assert_allclose(out[1, 2], jaxloss.soft_dtw(x[1, 2], y[1, 2]), rtol=1e-6)
  mask = jnp.array([[True, False, True], [False, True, True]])
  np.testing.assert_allclose(jaxloss.soft_dtw(x, y, where=mask), np.asarray(out)[mask].mean(),
                             rtol=1e-6)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: jaxloss.soft_dtw(jnp.ones((5,)), jnp.ones((5,))), LossInputError,
     "soft_dtw: predictions has shape"),
    (lambda: jaxloss.soft_dtw(jnp.ones((2, 5, 3)), jnp.ones((2, 4, 2))), LossInputError,
     "soft_dtw: targets has shape"),
    (lambda: jaxloss.soft_dtw(jnp.ones((2, 5, 3)), jnp.ones((3, 4, 3))), LossInputError,
     "soft_dtw: targets has shape"),
    (lambda: jaxloss.soft_dtw(jnp.ones((0, 3)), jnp.ones((4, 3))), LossInputError,
     "soft_dtw: predictions has shape .* non-empty"),
    (lambda: jaxloss.soft_dtw(jnp.ones((5, 3)), jnp.ones((4, 3)), gamma=0.0), LossInputError,
     "soft_dtw: gamma must be > 0"),
    (lambda: jaxloss.soft_dtw_divergence(jnp.ones((5, 3), jnp.int32), jnp.ones((4, 3))),
     LossTypeError, "soft_dtw_divergence: predictions must be a floating"),
    (lambda: jaxloss.dilate_loss(jnp.ones((5, 3)), jnp.ones((4, 3)), shape_weight=-1.0),
     LossInputError, "dilate_loss: shape_weight must be >= 0"),
])
def test_sequence_errors(call, exc, match):
  with pytest.raises(exc, match=match):
    call()


@settings(max_examples=20, deadline=None)
@given(st.floats(0.05, 3.0), st.floats(0.1, 5.0), st.integers(0, 10 ** 6))
def test_soft_dtw_divergence_nonnegative(gamma, scale, seed):
  # Fixed shapes (one compilation); gamma is traced.
  r = np.random.default_rng(seed)
  x = jnp.asarray(scale * r.normal(size=(5, 2)), jnp.float32)
  y = jnp.asarray(r.normal(size=(4, 2)), jnp.float32)
  assert float(jaxloss.soft_dtw_divergence(x, y, gamma=gamma)) >= -1e-4


# ---------------------------------------------------------------- DILATE


def test_dilate_matches_reference_and_grads():
  x = RNG.normal(size=(2, 6, 1))
  y = RNG.normal(size=(2, 6, 1))
  alpha, gamma = 0.3, 0.1
  ref = []
  for a, b in zip(x, y, strict=True):
    e = _sdtw_alignment_ref(a, b, gamma)
    omega = (np.arange(6)[:, None] - np.arange(6)[None, :]) ** 2 / 36
    ref.append(alpha * _sdtw_value(a, b, gamma) + (1 - alpha) * np.sum(e * omega))
  out = jaxloss.dilate_loss(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32),
                            shape_weight=alpha, temporal_weight=1 - alpha, gamma=gamma,
                            reduction="none")
  np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
  with jax.enable_x64(True):
    check_grads(lambda a: jaxloss.dilate_loss(a, jnp.asarray(y), shape_weight=alpha,
                                              temporal_weight=1 - alpha, gamma=gamma),
                (jnp.asarray(x),), order=1, modes=["rev"])


def test_dilate_components_are_the_unweighted_terms():
  x = jnp.asarray(RNG.normal(size=(3, 6, 1)), jnp.float32)
  y = jnp.asarray(RNG.normal(size=(3, 6, 1)), jnp.float32)
  for reduction in ("mean", "sum", "none"):
    total, parts = jaxloss.dilate_loss(x, y, shape_weight=0.7, temporal_weight=2.0, gamma=0.1,
                                       return_components=True, reduction=reduction)
    assert set(parts) == {"shape", "temporal"}
    # The shape part is soft-DTW; the temporal part is DILATE with only its temporal term.
    np.testing.assert_allclose(
        parts["shape"], jaxloss.soft_dtw(predictions=x, targets=y, gamma=0.1, reduction=reduction),
        rtol=1e-6)
    np.testing.assert_allclose(parts["temporal"],
                               jaxloss.dilate_loss(x, y, shape_weight=0.0, temporal_weight=1.0,
                                                   gamma=0.1, reduction=reduction), rtol=1e-6)
    np.testing.assert_allclose(total, 0.7 * parts["shape"] + 2.0 * parts["temporal"],
                               rtol=1e-5, atol=1e-6)
  # The defaults are the paper's alpha = 0.5.
  np.testing.assert_allclose(jaxloss.dilate_loss(x, y, gamma=0.1),
                             jaxloss.dilate_loss(x, y, shape_weight=0.5, temporal_weight=0.5,
                                                 gamma=0.1), rtol=0)


def test_dilate_temporal_term_penalises_shift():
  t = np.zeros((12, 1))
  t[5] = 1.0
  near = np.roll(t, 1, axis=0)
  far = np.roll(t, 5, axis=0)
  f = lambda p: float(jaxloss.dilate_loss(jnp.asarray(p, jnp.float32),  # noqa: E731
                                          jnp.asarray(t, jnp.float32), shape_weight=0.0,
                                          temporal_weight=1.0))
  assert f(t) < f(near) < f(far)


# ---------------------------------------------------------------- CTC


def _ctc_batch():
  logits = RNG.normal(size=(3, 8, 5)) * 2
  labels = np.array([[1, 2, 2, 3], [4, 4, 0, 0], [3, 1, 2, 0]])
  label_lengths = np.array([4, 2, 3])
  logit_lengths = np.array([8, 6, 7])
  return logits, labels, label_lengths, logit_lengths


def test_ctc_matches_numpy_forward_and_torch_reductions():
  logits, labels, lab_len, log_len = _ctc_batch()
  ref = np.array([_ctc_ref(logits[b, :log_len[b]], labels[b, :lab_len[b]]) for b in range(3)])
  args = (jnp.asarray(logits, jnp.float32), jnp.asarray(labels))
  kw = dict(logit_lengths=jnp.asarray(log_len), label_lengths=jnp.asarray(lab_len))
  np.testing.assert_allclose(jaxloss.ctc_loss(*args, reduction="none", **kw), ref, rtol=1e-5)
  np.testing.assert_allclose(jaxloss.ctc_loss(*args, reduction="sum", **kw), ref.sum(), rtol=1e-5)
  # torch's "mean": divide by target length, then average over the batch.
  np.testing.assert_allclose(jaxloss.ctc_loss(*args, **kw), np.mean(ref / lab_len), rtol=1e-5)
  # optax-style paddings give the same.
  pads = dict(logit_paddings=(np.arange(8) >= log_len[:, None]).astype(np.float32),
              label_paddings=(np.arange(4) >= lab_len[:, None]).astype(np.float32))
  np.testing.assert_allclose(jaxloss.ctc_loss(*args, reduction="none", **pads), ref, rtol=1e-5)
  # Log-probabilities as input give the same (log_softmax is idempotent).
  lp = jax.nn.log_softmax(args[0])
  np.testing.assert_allclose(jaxloss.ctc_loss(lp, args[1], reduction="none", **kw), ref,
                             rtol=1e-5)
  # Unbatched input.
  np.testing.assert_allclose(jaxloss.ctc_loss(args[0][0], args[1][0], reduction="none"),
                             ref[0], rtol=1e-5)
  with jax.enable_x64(True):
    check_grads(lambda z: jaxloss.ctc_loss(z, jnp.asarray(labels), **kw),
                (jnp.asarray(logits),), order=1, modes=["rev"])


def test_ctc_impossible_alignment_is_inf_with_zero_grad():
  logits, labels, lab_len, _ = _ctc_batch()
  z = jnp.asarray(logits, jnp.float32)
  # Row 0 needs 5 frames (4 labels + a blank between the repeated 2s).
  kw = dict(logit_lengths=jnp.array([4, 6, 7]), label_lengths=jnp.asarray(lab_len))
  out = jaxloss.ctc_loss(z, jnp.asarray(labels), reduction="none", **kw)
  assert np.isposinf(out[0]) and np.isfinite(out[1:]).all()
  g = jax.grad(lambda a: jaxloss.ctc_loss(a, jnp.asarray(labels), reduction="sum", **kw))(z)
  chex.assert_tree_all_finite(g)
  np.testing.assert_array_equal(g[0], 0.0)
  v, g = jax.value_and_grad(lambda a: jaxloss.ctc_loss(a, jnp.asarray(labels),
                                                       zero_infinity=True, **kw))(z)
  ref = [_ctc_ref(logits[b, :kw["logit_lengths"][b]], labels[b, :lab_len[b]]) for b in (1, 2)]
  np.testing.assert_allclose(v, (ref[0] / 2 + ref[1] / 3) / 3, rtol=1e-5)
  chex.assert_tree_all_finite(g)
  # Exactly enough frames is possible.
  out = jaxloss.ctc_loss(z, jnp.asarray(labels), reduction="none",
                         logit_lengths=jnp.array([5, 6, 7]), label_lengths=jnp.asarray(lab_len))
  assert np.isfinite(out[0])


def test_ctc_confident_alignment_is_nonnegative_in_float32():
  path = jnp.array([1, 0, 2, 0, 3, 3])
  logits = jnp.where(jax.nn.one_hot(path, 5) > 0, 30.0, -30.0)[None]
  v = jaxloss.ctc_loss(logits, jnp.array([[1, 2, 3]]), reduction="none")
  assert float(v[0]) >= 0.0
  assert float(v[0]) < 1e-6


def test_ctc_errors_and_value_checks():
  z = jnp.zeros((2, 5, 4))
  with pytest.raises(LossInputError, match="ctc_loss: labels has shape"):
    jaxloss.ctc_loss(z, jnp.zeros((3, 2), jnp.int32))
  with pytest.raises(LossTypeError, match="ctc_loss: labels must be an integer"):
    jaxloss.ctc_loss(z, jnp.zeros((2, 2)))
  with pytest.raises(LossInputError, match="ctc_loss: give label_lengths or label_paddings"):
    jaxloss.ctc_loss(z, jnp.zeros((2, 2), jnp.int32), label_lengths=jnp.ones(2, jnp.int32),
                     label_paddings=jnp.zeros((2, 2)))
  with pytest.raises(LossInputError, match="ctc_loss: blank_id must be in"):
    jaxloss.ctc_loss(z, jnp.zeros((2, 2), jnp.int32), blank_id=4)
  with pytest.raises(LossInputError, match="ctc_loss: logit_lengths has shape"):
    jaxloss.ctc_loss(z, jnp.zeros((2, 2), jnp.int32), logit_lengths=jnp.ones(3, jnp.int32))
  checked = checkify.checkify(lambda a, b: jaxloss.ctc_loss(a, b), errors=checkify.user_checks)
  err, _ = checked(z, jnp.array([[1, 7], [1, 2]]))
  with pytest.raises(Exception, match="labels must be class ids"):
    err.throw()


# ------------------------------------------------- magnitudes (issue 19 item 16)

# Series of magnitude ~1e3 (issue 19 item 16): with gamma = 0.01, R / gamma ~ 1e9, where a
# float32 step is 64; a soft-min whose max shift and exponentials came from two roundings of
# R / gamma could underflow every exponential (0/0, NaN value and gradient under jit).
_MAG_X = np.array([1004, -906, -748, -1171, -871, 589, 724, -1026.0])[:, None]
_MAG_Y = np.array([-2442, -2036, 205, -354, -762, -1179, -1148, 297.0])[:, None]
_MAGNITUDES = (1e-3, 1.0, 1e2, 1e3, 1e4)


def _dilate_ref(x, y, gamma, ws=0.5, wt=0.5):
  n, m = len(x), len(y)
  omega = (np.arange(n)[:, None] - np.arange(m)[None, :]) ** 2 / (n * m)
  return ws * _sdtw_value(x, y, gamma) + wt * np.sum(_sdtw_alignment_ref(x, y, gamma) * omega)


def _fd_grad(f, x, h):
  """Central finite differences of a float64 scalar function."""
  g = np.zeros_like(x)
  for idx in np.ndindex(x.shape):
    e = np.zeros_like(x)
    e[idx] = h
    g[idx] = (f(x + e) - f(x - e)) / (2 * h)
  return g


@pytest.mark.parametrize("scale", _MAGNITUDES)
def test_soft_dtw_family_at_large_and_small_magnitudes_jitted(scale):
  x, y = _MAG_X * scale / 1e3, _MAG_Y * scale / 1e3
  xj, yj = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
  gamma = 0.01
  # soft-DTW: value from Algorithm 1, gradient sum_j E_ij 2 (x_i - y_j) from Algorithm 2.
  v, g = jax.jit(jax.value_and_grad(lambda a: jaxloss.soft_dtw(a, yj, gamma=gamma)))(xj)
  e = _sdtw_alignment_ref(x, y, gamma)
  g_ref = 2 * np.sum(e[:, :, None] * (x[:, None, :] - y[None, :, :]), axis=1)
  chex.assert_tree_all_finite((v, g))
  scale_v = max(abs(_sdtw_value(x, y, gamma)), 1.0)
  np.testing.assert_allclose(v, _sdtw_value(x, y, gamma), rtol=1e-5, atol=1e-5 * scale_v)
  np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-4 * np.abs(g_ref).max() + 1e-6)
  # Its divergence: three soft-DTW values.
  v, g = jax.jit(jax.value_and_grad(
      lambda a: jaxloss.soft_dtw_divergence(a, yj, gamma=gamma)))(xj)
  ref = _sdtw_value(x, y, gamma) - 0.5 * (_sdtw_value(x, x, gamma) + _sdtw_value(y, y, gamma))
  chex.assert_tree_all_finite((v, g))
  np.testing.assert_allclose(v, ref, rtol=1e-5, atol=1e-5 * scale_v)


@pytest.mark.parametrize("scale", _MAGNITUDES)
def test_dilate_at_large_and_small_magnitudes_jitted(scale):
  x, y = _MAG_X * scale / 1e3, _MAG_Y * scale / 1e3
  xj, yj = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
  gamma = 0.01
  v, g = jax.jit(jax.value_and_grad(lambda a: jaxloss.dilate_loss(a, yj, gamma=gamma)))(xj)
  chex.assert_tree_all_finite((v, g))
  ref = _dilate_ref(x, y, gamma)
  np.testing.assert_allclose(v, ref, rtol=1e-5, atol=1e-5 * max(abs(ref), 1.0))
  # Float64 finite differences; the step is small next to gamma's scale of the costs.
  g_ref = _fd_grad(lambda a: _dilate_ref(a, y, gamma), x, h=1e-7 * max(scale, 1e-2))
  np.testing.assert_allclose(g, g_ref, rtol=1e-3, atol=1e-3 * np.abs(g_ref).max() + 1e-5)
