"""Scalable family: chunked cross-entropies vs optax and a float64 NumPy reference,
custom-VJP gradients vs finite differences, memory, errors; the sharded losses are
checked on an 8-device CPU mesh in a subprocess (tests/_scalable_multidevice.py)."""

import inspect
import pathlib
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import f32, host_devices_env
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxloss

RNG = np.random.default_rng(0)
N, D, V = 10, 7, 24
H = RNG.normal(size=(N, D))
W = RNG.normal(size=(V, D)) * 0.7
B = RNG.normal(size=(V,))
Y = RNG.integers(0, V, size=(N,))


# ---- independent float64 reference (written from the formula) ----

def ref_ce_rows(x, y, *, ignore_index=-100, label_smoothing=0.0, z_loss=0.0, cap=None,
                where=None):
  x = np.asarray(x, np.float64)
  z = cap * np.tanh(x / cap) if cap is not None else x
  m = z.max(-1, keepdims=True)
  lse = (np.log(np.exp(z - m).sum(-1, keepdims=True)) + m)[..., 0]
  yc = np.clip(y, 0, z.shape[-1] - 1)
  zy = np.take_along_axis(z, yc[..., None], -1)[..., 0]
  rows = lse - (1 - label_smoothing) * zy - label_smoothing * z.mean(-1) + z_loss * lse**2
  valid = np.ones(y.shape, bool) if ignore_index is None else (y != ignore_index)
  if where is not None:
    valid &= where
  return np.where(valid, rows, 0.0), valid


def ref_reduce(rows, valid, reduction, weights=None):
  if weights is not None:
    rows = rows * weights
  if reduction == "none":
    return rows
  if reduction == "sum":
    return rows.sum()
  return rows.sum() / max(valid.sum(), 1)


# ---- parity with the naive optax loss (values and all gradients) ----

@pytest.mark.parametrize("chunk", [5, 8, 24, 64])
def test_linear_ce_matches_optax(chunk):
  labels = jnp.asarray(Y)

  def naive(h, w, b):
    return jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(h @ w.T + b, labels))

  def ours(h, w, b):
    return jaxloss.linear_cross_entropy(h, w, labels, bias=b, chunk_size=chunk)

  args = (f32(H), f32(W), f32(B))
  v0, g0 = jax.value_and_grad(naive, (0, 1, 2))(*args)
  v1, g1 = jax.value_and_grad(ours, (0, 1, 2))(*args)
  np.testing.assert_allclose(v1, v0, rtol=1e-5)
  for a, b in zip(g1, g0, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("chunk", [7, 24, None])
def test_chunked_ce_matches_optax(chunk):
  x = f32(H @ W.T + B)
  labels = jnp.asarray(Y)
  naive = lambda x: jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(x, labels))
  v0, g0 = jax.value_and_grad(naive)(x)
  v1, g1 = jax.value_and_grad(
      lambda x: jaxloss.chunked_cross_entropy(x, labels, chunk_size=chunk))(x)
  np.testing.assert_allclose(v1, v0, rtol=1e-5)
  np.testing.assert_allclose(g1, g0, rtol=1e-5, atol=1e-7)


# ---- options vs the float64 reference ----

OPTIONS = [
    dict(),
    dict(label_smoothing=0.1),
    dict(z_loss=1e-3),
    dict(logit_soft_cap=2.0),
    dict(label_smoothing=0.2, z_loss=1e-2, logit_soft_cap=3.0),
    dict(ignore_index=None),
]


@pytest.mark.parametrize("opts", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_options_match_reference(opts):
  y = Y.copy()
  y[[1, 4]] = -100
  where = RNG.random(N) > 0.2
  weights = RNG.random(N)
  if opts.get("ignore_index", -100) is None:
    y = Y
  ref_opts = {k: v for k, v in opts.items() if k != "logit_soft_cap"}
  ref_opts["cap"] = opts.get("logit_soft_cap")
  rows, valid = ref_ce_rows(H @ W.T + B, y, where=where, **ref_opts)
  for reduction in ("none", "mean"):  # mean == sum / count: tests/test_contract.py
    expected = ref_reduce(rows, valid, reduction, weights)
    got_l = jaxloss.linear_cross_entropy(f32(H), f32(W), jnp.asarray(y), bias=f32(B),
                                         chunk_size=5, where=jnp.asarray(where),
                                         weights=f32(weights), reduction=reduction, **opts)
    got_c = jaxloss.chunked_cross_entropy(f32(H @ W.T + B), jnp.asarray(y), chunk_size=5,
                                          where=jnp.asarray(where), weights=f32(weights),
                                          reduction=reduction, **opts)
    np.testing.assert_allclose(got_l, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_c, expected, rtol=1e-5, atol=1e-6)


def test_label_smoothing_equals_optax_smoothed_targets():
  # torch's label_smoothing == CE on optax.smooth_labels(one_hot, alpha).
  x = f32(H @ W.T + B)
  targets = optax.smooth_labels(jax.nn.one_hot(Y, V), 0.1)
  expected = jnp.mean(optax.losses.softmax_cross_entropy(x, targets))
  got = jaxloss.chunked_cross_entropy(x, jnp.asarray(Y), chunk_size=6, label_smoothing=0.1)
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_custom_vjp_matches_finite_differences():
  y = Y.copy()
  y[2] = -100
  with jax.enable_x64(True):
    h, w, b = jnp.asarray(H), jnp.asarray(W), jnp.asarray(B)
    opts = dict(chunk_size=5, label_smoothing=0.1, z_loss=1e-2, logit_soft_cap=3.0)
    lin = lambda h, w, b: jaxloss.linear_cross_entropy(h, w, jnp.asarray(y), bias=b, **opts)
    check_grads(lin, (h, w, b), order=1, modes=["rev"])
    chk = lambda x: jaxloss.chunked_cross_entropy(x, jnp.asarray(y), **opts)
    check_grads(chk, (h @ w.T + b,), order=1, modes=["rev"])
    # reduction="none" with a non-uniform cotangent exercises the per-row VJP.
    g = jnp.asarray(RNG.normal(size=N))
    fn = lambda h, w: jnp.sum(g * jaxloss.linear_cross_entropy(
        h, w, jnp.asarray(y), chunk_size=4, reduction="none"))
    check_grads(fn, (h, w), order=1, modes=["rev"])


def test_leading_batch_dims_and_vmap():
  h = f32(H[:8].reshape(2, 4, D))
  y = jnp.asarray(Y[:8].reshape(2, 4))
  out = jaxloss.linear_cross_entropy(h, f32(W), y, chunk_size=6, reduction="none")
  chex.assert_shape(out, (2, 4))
  flat = jaxloss.linear_cross_entropy(h.reshape(8, D), f32(W), y.reshape(8), chunk_size=6,
                                      reduction="none")
  np.testing.assert_allclose(out.reshape(8), flat, rtol=1e-6)
  # Per-example in hidden/labels with the weight shared.
  mapped = jax.vmap(lambda hi, yi: jaxloss.linear_cross_entropy(
      hi, f32(W), yi, chunk_size=6, reduction="none"))(h.reshape(8, D), y.reshape(8))
  np.testing.assert_allclose(mapped, flat, rtol=1e-5, atol=1e-6)


def test_bfloat16_inputs_accumulate_in_float32():
  h, w = f32(H).astype(jnp.bfloat16), f32(W).astype(jnp.bfloat16)
  out = jaxloss.linear_cross_entropy(h, w, jnp.asarray(Y), chunk_size=5)
  assert out.dtype == jnp.float32
  rows, valid = ref_ce_rows(np.asarray(h, np.float64) @ np.asarray(w, np.float64).T, Y)
  np.testing.assert_allclose(out, ref_reduce(rows, valid, "mean"), rtol=1e-5)
  grads = jax.grad(lambda h, w: jaxloss.linear_cross_entropy(h, w, jnp.asarray(Y),
                                                             chunk_size=5), (0, 1))(h, w)
  assert grads[0].dtype == jnp.bfloat16 and grads[1].dtype == jnp.bfloat16
  chex.assert_tree_all_finite(grads)


# ---- edge cases (user-pitfalls "Hard test cases": softmax CE) ----

@pytest.mark.parametrize("offset", [1e6, 1e8])
def test_uniform_logits_at_huge_offset_give_log_v(offset):
  x = jnp.full((3, 50), offset, jnp.float32)
  y = jnp.array([0, 17, 49])
  v, g = jax.value_and_grad(lambda x: jaxloss.chunked_cross_entropy(x, y, chunk_size=16))(x)
  np.testing.assert_allclose(v, np.log(50), rtol=1e-6)
  chex.assert_tree_all_finite(g)


def test_neg_inf_logits():
  x = jnp.array([[0.0, -jnp.inf, -jnp.inf, 1.0, -jnp.inf],
                 [-jnp.inf, -jnp.inf, -jnp.inf, -jnp.inf, 3.0]])
  y = jnp.array([3, 4])
  v, g = jax.value_and_grad(
      lambda x: jaxloss.chunked_cross_entropy(x, y, chunk_size=2, reduction="sum"))(x)
  np.testing.assert_allclose(v, np.log1p(np.exp(-1.0)), rtol=1e-6)
  chex.assert_tree_all_finite(g)
  assert np.all(np.asarray(g)[np.isinf(np.asarray(x))] == 0)


def test_all_ignored_is_zero_with_zero_grads():
  y = jnp.full((N,), -100)
  v, g = jax.value_and_grad(lambda h, w: jaxloss.linear_cross_entropy(
      h, w, y, chunk_size=4, label_smoothing=0.1), (0, 1))(f32(H), f32(W))
  assert float(v) == 0.0
  assert all(float(jnp.abs(x).max()) == 0.0 for x in g)


def test_ignored_row_with_nan_hidden_does_not_leak():
  h = f32(H).at[3].set(jnp.nan)
  y = jnp.asarray(Y).at[3].set(-100)
  v, g = jax.value_and_grad(lambda h, w: jaxloss.linear_cross_entropy(
      h, w, y, chunk_size=4), (0, 1))(h, f32(W))
  chex.assert_tree_all_finite((v, g))
  keep = np.arange(N) != 3
  rows, valid = ref_ce_rows(H[keep] @ W.T, Y[keep])
  np.testing.assert_allclose(v, ref_reduce(rows, valid, "mean"), rtol=1e-5)


# ---- memory: the point of the chunked versions ----

def test_linear_ce_peak_temp_memory_is_much_smaller():
  n, d, v, chunk = 512, 32, 8192, 512
  h = jax.ShapeDtypeStruct((n, d), jnp.float32)
  w = jax.ShapeDtypeStruct((v, d), jnp.float32)
  y = jax.ShapeDtypeStruct((n,), jnp.int32)

  def naive(h, w, y):
    return jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(h @ w.T, y))

  def chunked(h, w, y):
    return jaxloss.linear_cross_entropy(h, w, y, chunk_size=chunk)

  def temp(f):
    compiled = jax.jit(jax.value_and_grad(f, (0, 1))).lower(h, w, y).compile()
    return compiled.memory_analysis().temp_size_in_bytes

  t_naive, t_chunked = temp(naive), temp(chunked)
  assert t_naive >= n * v * 4  # at least the logits
  assert t_chunked * 8 <= t_naive, (t_chunked, t_naive)


# ---- token tiles (max_temp_bytes): tiles/chunks that do not divide N/V slide back ----

@pytest.mark.parametrize("opts", [{}, dict(label_smoothing=0.1, z_loss=1e-2, logit_soft_cap=3.0)])
@pytest.mark.parametrize("chunk", [5, 8])
def test_linear_ce_token_tiles_match_reference(opts, chunk):
  # max_temp_bytes=1 forces the smallest token tile (8 rows): N=10 takes two
  # overlapping tiles; chunk 5 slides the last vocabulary chunk back (V=24).
  y = Y.copy()
  y[3] = -100
  where = np.arange(N) != 6
  weights = RNG.random(N)
  ref_opts = {k: v for k, v in opts.items() if k != "logit_soft_cap"}
  rows, valid = ref_ce_rows(H @ W.T + B, y, where=where, cap=opts.get("logit_soft_cap"),
                            **ref_opts)
  for reduction in ("none", "mean"):
    got = jaxloss.linear_cross_entropy(f32(H), f32(W), jnp.asarray(y), bias=f32(B),
                                       chunk_size=chunk, max_temp_bytes=1,
                                       where=jnp.asarray(where), weights=f32(weights),
                                       reduction=reduction, **opts)
    np.testing.assert_allclose(got, ref_reduce(rows, valid, reduction, weights), rtol=1e-5,
                               atol=1e-6)
  with jax.enable_x64(True):
    lin = lambda h, w, b: jaxloss.linear_cross_entropy(
        h, w, jnp.asarray(y), bias=b, chunk_size=chunk, max_temp_bytes=1,
        where=jnp.asarray(where), **opts)
    check_grads(lin, (jnp.asarray(H), jnp.asarray(W), jnp.asarray(B)), order=1, modes=["rev"])
  # float32 gradients equal the untiled ones.
  tiled, whole = ([jax.grad(lambda h, w, b, m=m: jaxloss.linear_cross_entropy(
      h, w, jnp.asarray(y), bias=b, chunk_size=chunk, max_temp_bytes=m, **opts), (0, 1, 2))(
          f32(H), f32(W), f32(B))] for m in (1, 2**24))
  for a, b in zip(tiled[0], whole[0], strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_linear_ce_bfloat16_token_tiles():
  # bfloat16 hidden/weight go to the matmuls unconverted (the loss opts out of
  # the decorator's upcast); value as float64 on the bfloat16-rounded inputs.
  h, w = f32(H).astype(jnp.bfloat16), f32(W).astype(jnp.bfloat16)
  out, grads = jax.value_and_grad(lambda h, w: jaxloss.linear_cross_entropy(
      h, w, jnp.asarray(Y), chunk_size=5, max_temp_bytes=1), (0, 1))(h, w)
  assert out.dtype == jnp.float32
  rows, valid = ref_ce_rows(np.asarray(h, np.float64) @ np.asarray(w, np.float64).T, Y)
  np.testing.assert_allclose(out, ref_reduce(rows, valid, "mean"), rtol=1e-5)
  assert grads[0].dtype == jnp.bfloat16 and grads[1].dtype == jnp.bfloat16
  ref = jax.grad(lambda h, w: jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(
      h @ w.T, jnp.asarray(Y))), (0, 1))(f32(h), f32(w))
  for a, b in zip(grads, ref, strict=True):
    np.testing.assert_allclose(np.asarray(a, np.float32), b, rtol=2e-2, atol=2e-3)
  # Mixed dtypes meet at the wider one.
  mixed = jaxloss.linear_cross_entropy(h, f32(w), jnp.asarray(Y))
  np.testing.assert_allclose(mixed, out, rtol=1e-5)


def test_linear_ce_temp_memory_tiles_tokens():
  # Token tiles as well as vocabulary chunks: the temporary memory stays near
  # max_temp_bytes, far below the naive logits (and below one N x chunk block).
  n, d, v = 2048, 64, 16384
  h = jax.ShapeDtypeStruct((n, d), jnp.float32)
  w = jax.ShapeDtypeStruct((v, d), jnp.float32)
  y = jax.ShapeDtypeStruct((n,), jnp.int32)

  def temp(f):
    compiled = jax.jit(jax.value_and_grad(f, (0, 1))).lower(h, w, y).compile()
    return compiled.memory_analysis().temp_size_in_bytes

  naive = temp(lambda h, w, y: jnp.mean(
      optax.losses.softmax_cross_entropy_with_integer_labels(h @ w.T, y)))
  budget = 2 * 2**20
  tiled = temp(lambda h, w, y: jaxloss.linear_cross_entropy(h, w, y, max_temp_bytes=budget))
  assert naive >= n * v * 4
  assert tiled <= 2 * budget, (tiled, budget)
  assert tiled * 30 <= naive, (tiled, naive)


# ---- errors ----

def test_errors():
  for bad in (0, -1, 1.5, True):
    with pytest.raises(ValueError, match="max_temp_bytes must be a positive int"):
      jaxloss.linear_cross_entropy(f32(H), f32(W), jnp.asarray(Y), max_temp_bytes=bad)
  h, w, y = f32(H), f32(W), jnp.asarray(Y)
  with pytest.raises(ValueError, match=r"linear_cross_entropy: weight has shape \(24, 6\)"):
    jaxloss.linear_cross_entropy(h, w[:, :-1], y)
  with pytest.raises(ValueError, match="linear_cross_entropy: labels has shape"):
    jaxloss.linear_cross_entropy(h, w, y[:-1])
  with pytest.raises(ValueError, match=r"bias has shape \(23,\); expected \(24,\)"):
    jaxloss.linear_cross_entropy(h, w, y, bias=f32(B[:-1]))
  with pytest.raises(ValueError, match="weight must have rank 2"):
    jaxloss.linear_cross_entropy(h, w[0], y)
  with pytest.raises(ValueError, match="chunk_size must be a positive int"):
    jaxloss.linear_cross_entropy(h, w, y, chunk_size=0)
  with pytest.raises(ValueError, match=r"label_smoothing must be \[0, 1\]"):
    jaxloss.linear_cross_entropy(h, w, y, label_smoothing=1.5)
  with pytest.raises(ValueError, match="logit_soft_cap must be > 0"):
    jaxloss.chunked_cross_entropy(h, y, logit_soft_cap=0.0)
  with pytest.raises(TypeError, match="labels must be an integer array"):
    jaxloss.linear_cross_entropy(h, w, y.astype(jnp.float32))
  with pytest.raises(ValueError, match="chunked_cross_entropy: labels must be integer class"):
    jaxloss.chunked_cross_entropy(h, jax.nn.one_hot(y, D))
  with pytest.raises(ValueError, match="chunked_cross_entropy: labels has shape"):
    jaxloss.chunked_cross_entropy(h, y[:-1])


def test_sharded_errors():
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
  x = f32(H[:4])
  with pytest.raises(ValueError, match="axis_name 'batch' is not an axis"):
    jaxloss.sharded_clip_loss(x, x, mesh=mesh, axis_name="batch")
  with pytest.raises(ValueError, match="mesh must be a jax.sharding.Mesh"):
    jaxloss.sharded_siglip_loss(x, x, mesh=None)
  with pytest.raises(ValueError, match=r"x2 has shape \(4, 6\)"):
    jaxloss.sharded_clip_loss(x, x[:, :-1], mesh=mesh)
  with pytest.raises(ValueError, match="temperature must be > 0"):
    jaxloss.sharded_clip_loss(x, x, mesh=mesh, temperature=0.0)
  with pytest.raises(ValueError, match="sharded_dice_loss: labels has shape"):
    jaxloss.sharded_dice_loss(x, jnp.zeros((3,), jnp.int32), mesh=mesh)


def test_sharded_pair_losses_take_x1_x2():
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
  x1, x2 = f32(H[:4]), f32(H[4:8])
  for fn in (jaxloss.sharded_clip_loss, jaxloss.sharded_siglip_loss):
    assert list(inspect.signature(fn).parameters)[:2] == ["x1", "x2"]
    np.testing.assert_allclose(fn(x1=x1, x2=x2, mesh=mesh), fn(x1, x2, mesh=mesh), rtol=1e-6)


# ---- properties ----

@settings(max_examples=15, deadline=None)
@given(chunk=st.integers(1, 30), seed=st.integers(0, 2**16), scale=st.floats(0.1, 30.0))
def test_chunk_size_invariance_and_non_negativity(chunk, seed, scale):
  rng = np.random.default_rng(seed)
  h = f32(rng.normal(size=(4, 3)) * scale)
  w = f32(rng.normal(size=(11, 3)))
  y = jnp.asarray(rng.integers(0, 11, size=(4,)))
  out = jaxloss.linear_cross_entropy(h, w, y, chunk_size=chunk, reduction="none")
  full = jaxloss.linear_cross_entropy(h, w, y, chunk_size=11, reduction="none")
  np.testing.assert_allclose(out, full, rtol=1e-5, atol=1e-5)
  assert np.all(np.asarray(out) >= -1e-5)


# ---- multi-device (subprocess with 8 host devices) ----

def test_sharded_losses_on_8_device_mesh():
  root = pathlib.Path(__file__).resolve().parents[1]
  env = host_devices_env(8)
  proc = subprocess.run([sys.executable, str(root / "tests" / "_scalable_multidevice.py")],
                        env=env, capture_output=True, text=True, timeout=600, check=False)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert "ALL PASSED" in proc.stdout, proc.stdout
