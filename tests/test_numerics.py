"""The shared stable primitives: values and gradients at their singular points."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import scipy.special as sp

from jaxloss import _numerics as nx


def grad_sum(f, x):
  return jax.grad(lambda x: jnp.sum(f(x)))(x)


def test_double_where_blocks_nan_gradient():
  x = jnp.array([-1.0, 0.0, 4.0])
  f = lambda x: nx.double_where(x > 0, x, jnp.sqrt, fill=0.0)
  np.testing.assert_allclose(f(x), [0.0, 0.0, 2.0])
  g = grad_sum(f, x)
  np.testing.assert_allclose(g, [0.0, 0.0, 0.25])
  # The naive single where gives NaN: the primitive is what prevents it.
  naive = grad_sum(lambda x: jnp.where(x > 0, jnp.sqrt(x), 0.0), x)
  assert np.isnan(np.asarray(naive)).any()


def test_safe_div_sqrt_norm():
  np.testing.assert_allclose(nx.safe_div(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0])), [0, 0.5])
  chex.assert_tree_all_finite(grad_sum(lambda d: nx.safe_div(1.0, d), jnp.array([0.0, 2.0])))
  np.testing.assert_allclose(grad_sum(nx.safe_sqrt, jnp.array([0.0, 4.0])), [0.0, 0.25])
  v = jnp.zeros((2, 3))
  np.testing.assert_allclose(nx.safe_norm(v), [0.0, 0.0])
  chex.assert_tree_all_finite(grad_sum(nx.safe_norm, v))
  x = np.random.default_rng(0).normal(size=(4, 3))
  for ord_ in (1, 2, 3, jnp.inf):
    np.testing.assert_allclose(nx.safe_norm(jnp.asarray(x, jnp.float32), ord=ord_),
                               np.linalg.norm(x, ord=ord_, axis=-1), rtol=1e-5)


def test_xlogy_conventions():
  x = jnp.array([0.0, 0.0, 0.5, 2.0])
  y = jnp.array([0.0, 3.0, 0.25, 1.5])
  np.testing.assert_allclose(nx.xlogy(x, y), sp.xlogy(np.asarray(x), np.asarray(y)), rtol=1e-6)
  gx, gy = jax.grad(lambda a, b: jnp.sum(nx.xlogy(a, b)), argnums=(0, 1))(x, y)
  chex.assert_tree_all_finite((gx[1:], gy))
  assert float(gy[0]) == 0.0


def test_logsumexp_empty_and_masked():
  x = jnp.array([[-jnp.inf, -jnp.inf], [1.0, 1e8], [0.0, 3.0]])
  out = nx.logsumexp(x)
  assert out[0] == -jnp.inf
  np.testing.assert_allclose(out[1:], [1e8, sp.logsumexp([0.0, 3.0])], rtol=1e-6)
  chex.assert_tree_all_finite(grad_sum(lambda x: jnp.where(jnp.isfinite(nx.logsumexp(x)),
                                                            nx.logsumexp(x), 0.0), x))
  # A masked 1e8 entry must not set the shift.
  m = jnp.array([[True, False]])
  np.testing.assert_allclose(nx.logsumexp(jnp.array([[2.0, 1e8]]), where=m), [2.0])
  g = jax.grad(lambda x: jnp.sum(nx.logsumexp(x, where=m)))(jnp.array([[2.0, 1e8]]))
  np.testing.assert_allclose(g, [[1.0, 0.0]])


def test_one_hot_with_ignore_and_take():
  labels = jnp.array([0, 2, -100])
  oh = nx.one_hot(labels, 3, ignore_index=-100)
  np.testing.assert_array_equal(oh, [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
  x = jnp.arange(9.0).reshape(3, 3)
  np.testing.assert_array_equal(nx.take_along_last(x, jnp.array([0, 2, 1])), [0.0, 5.0, 7.0])


def test_upcast_and_compute_dtype():
  assert nx.upcast(jnp.ones(2, jnp.bfloat16)).dtype == jnp.float32
  assert nx.upcast(jnp.ones(2, jnp.float16)).dtype == jnp.float32
  assert nx.upcast(jnp.ones(2, jnp.int32)).dtype == jnp.int32
  assert nx.compute_dtype(jnp.ones(2, jnp.int32)) == jnp.float32


def test_log1m_softmax_matches_float64_and_saturates_finitely():
  rng = np.random.default_rng(0)
  z = rng.normal(size=(6, 5)) * 3.0
  z[0] = [1e4, -1e4, 0.0, 3.0, -2.0]        # arg-max probability rounds to 1
  z[1] = [5.0, 5.0, -1e4, 0.0, 1.0]         # tie for the arg-max
  z64 = z.astype(np.float64)
  lse = np.log(np.sum(np.exp(z64 - z64.max(1, keepdims=True)), 1, keepdims=True)) + \
      z64.max(1, keepdims=True)
  # log(1 - p_c) = log(sum_{j != c} e^{z_j}) - LSE, from the other classes directly.
  want = np.empty_like(z64)
  for c in range(5):
    rest = np.delete(z64, c, axis=1)
    m = rest.max(1, keepdims=True)
    want[:, c] = (np.log(np.sum(np.exp(rest - m), 1, keepdims=True)) + m - lse)[:, 0]
  got = nx.log1m_softmax(jnp.asarray(z, jnp.float32))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  g = jax.grad(lambda x: jnp.sum(nx.log1m_softmax(x)))(jnp.asarray(z, jnp.float32))
  assert np.all(np.isfinite(np.asarray(g)))
  np.testing.assert_allclose(nx.log1m_softmax(jnp.zeros((1, 4)), axis=-1), np.log(0.75) *
                             np.ones((1, 4)), rtol=1e-6)


def test_max_select_and_min_select_values_and_one_entry_gradient():
  x = np.random.default_rng(0).normal(size=(3, 4, 5)).astype(np.float32)
  for axis in (0, 1, -1, (1, 2), (0, 2)):
    for keepdims in (False, True):
      np.testing.assert_array_equal(nx.max_select(x, axis=axis, keepdims=keepdims),
                                    np.max(x, axis=axis, keepdims=keepdims))
      np.testing.assert_array_equal(nx.min_select(x, axis=axis, keepdims=keepdims),
                                    np.min(x, axis=axis, keepdims=keepdims))
  # Ties: the whole gradient goes to the first maximising entry (torch.max(dim)),
  # where jnp.max splits it over the tied entries.
  tied = jnp.array([[1.0, 3.0, 3.0, 2.0], [0.0, -1.0, 0.0, -1.0]])
  np.testing.assert_array_equal(jax.grad(lambda v: jnp.sum(nx.max_select(v, axis=1)))(tied),
                                [[0, 1, 0, 0], [1, 0, 0, 0]])
  np.testing.assert_array_equal(jax.grad(lambda v: jnp.sum(nx.min_select(v, axis=-1)))(tied),
                                [[1, 0, 0, 0], [0, 1, 0, 0]])
  np.testing.assert_array_equal(jax.grad(lambda v: nx.safe_norm(v, ord=jnp.inf))(
      jnp.array([1.0, -3.0, 2.0])), [0, -1, 0])


_RECOMPUTE_SCRIPT = """
import jax, jax.numpy as jnp, jaxloss
k1, k2 = jax.random.split(jax.random.key(2))
p, t = jax.random.uniform(k1, (3, 3, 3, 2)), jax.random.uniform(k2, (3, 3, 3, 2))
e = jax.random.normal(k1, (12, 6)); y = jnp.arange(12) % 3
z = jax.random.normal(k2, (8, 5)); c = jnp.arange(8) % 5
grads = [
    jax.grad(jaxloss.contextual_loss, argnums=(0, 1))(p, t),
    jax.grad(lambda e: jaxloss.triplet_loss(e, y, mining="hard", normalize=False))(e),
    jax.grad(lambda e: jaxloss.triplet_loss(e, y, mining="semi-hard"))(e),
    jax.grad(lambda z: jaxloss.bi_tempered_logistic_loss(z, c, t1=0.8, t2=1.2))(z),
]
print(all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads)))
"""


def test_max_gradients_finite_when_xla_recomputes_operands():
  # At optimisation level 0 XLA:CPU recomputes the operand of a max in the
  # backward pass with different rounding -- what GPU autotuning can do at any
  # level. jnp.max's gradient is then 0/0 (contextual_loss was NaN here);
  # nx.max_select's is not.
  import os
  import subprocess
  import sys
  env = {**os.environ, "XLA_FLAGS": "--xla_backend_optimization_level=0",
         "JAX_PLATFORMS": "cpu"}
  out = subprocess.run([sys.executable, "-c", _RECOMPUTE_SCRIPT], env=env, capture_output=True,
                       text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.strip().splitlines()[-1] == "True", out.stdout
