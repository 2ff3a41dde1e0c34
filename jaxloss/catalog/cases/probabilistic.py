"""Cases of the probabilistic losses: example inputs, edge cases, bad inputs and contract flags.

Likelihoods and scores (``jaxloss.probabilistic.nll``, ``.forecasting``) and
sequence losses (``jaxloss.probabilistic.sequence``).
"""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case

# --------------------------------------------------------------------------
# Likelihoods.
# --------------------------------------------------------------------------


def _first_targets_pos(key, n_pos, shape=(8, 5)):
  """(first, targets, *positive params)."""
  keys = jax.random.split(key, 2 + n_pos)
  first = ex.normal(keys[0], shape)
  targets = ex.normal(keys[1], shape)
  pos = [ex.uniform(k, shape, 0.5, 2.0) for k in keys[2:]]
  return (first, targets, *pos)


def _one_param_example(key):
  return _first_targets_pos(key, 1), {}


def _gauss_edges(key):
  m, t, v = _first_targets_pos(key, 1)
  return [((t, t, v), {}),                              # perfect mean
          ((m, t, jnp.zeros_like(v)), {}),              # variance 0 -> eps
          ((m, t, jnp.full_like(v, 1e-9)), {"full": True}),
          ((m * 1e3, t, v * 1e4), {}),
          ((m, t, v[..., 0]), {})]                      # one variance per row


case("gaussian_nll", _one_param_example, edge_cases=_gauss_edges, grad_argnums=(0, 2))


def _t_example(key):
  return _first_targets_pos(key, 2), {}


def _t_edges(key):
  m, t, s, nu = _first_targets_pos(key, 2)
  return [((t, t, s, nu), {}), ((m, t, jnp.zeros_like(s), nu), {}),
          ((m, t, s, jnp.full_like(nu, 1e4)), {}), ((m * 1e4, t, s, nu), {})]


case("student_t_nll", _t_example, edge_cases=_t_edges, grad_argnums=(0, 2, 3))


def _scale_edges(key):
  m, t, s = _first_targets_pos(key, 1)
  return [((t, t, s), {}), ((m, t, jnp.zeros_like(s)), {}), ((m * 1e4, t, s), {})]


case("laplace_nll", _one_param_example, edge_cases=_scale_edges, grad_argnums=(0, 2))


def _counts(key, shape=(8, 5)):
  k1, k2 = jax.random.split(key)
  return ex.normal(k1, shape), jax.random.poisson(k2, 3.0, shape).astype(jnp.float32)


def _poisson_example(key):
  return _counts(key), {}


def _poisson_edges(key):
  r, y = _counts(key)
  return [((r, y), {"full": True}), ((jnp.log(y + 1e-3), y), {}),
          ((jnp.full_like(r, -30.0), jnp.zeros_like(y)), {}),
          ((jnp.abs(r), y), {"log_input": False}),
          ((jnp.zeros_like(r), y), {"log_input": False, "full": True})]


case("poisson_nll", _poisson_example, edge_cases=_poisson_edges)


def _nb_example(key, shape=(8, 5)):
  k1, k2, k3 = jax.random.split(key, 3)
  mu = ex.uniform(k1, shape, 0.5, 5.0)
  y = jax.random.poisson(k2, 3.0, shape).astype(jnp.float32)
  return (mu, y, ex.uniform(k3, shape, 0.1, 1.0)), {}


def _nb_edges(key):
  (mu, y, a), kw = _nb_example(key)
  return [((mu, y, jnp.full_like(a, 1e-7)), kw),          # Poisson limit
          ((jnp.zeros_like(mu), jnp.zeros_like(y), a), kw),
          ((mu, y * 1e3, a * 1e2), kw), ((y, y, a), kw)]


case("negative_binomial_nll", _nb_example, edge_cases=_nb_edges, grad_argnums=(0, 2))


def _gamma_example(key, shape=(8, 5)):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.uniform(k1, shape, 0.5, 3.0), ex.uniform(k2, shape, 0.1, 4.0),
          ex.uniform(k3, shape, 0.5, 2.0)), {}


def _gamma_edges(key):
  (k, y, r), kw = _gamma_example(key)
  return [((k, jnp.zeros_like(y), r), kw), ((jnp.zeros_like(k), y, r), kw),
          ((k * 1e3, y, r * 1e3), kw)]


case("gamma_nll", _gamma_example, edge_cases=_gamma_edges, grad_argnums=(0, 2))


def _beta_example(key, shape=(8, 5)):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.uniform(k1, shape, 0.5, 3.0), ex.uniform(k2, shape, 0.05, 0.95),
          ex.uniform(k3, shape, 0.5, 3.0)), {}


def _beta_edges(key):
  (a, y, b), kw = _beta_example(key)
  return [((a, jnp.zeros_like(y), b), kw), ((a, jnp.ones_like(y), b), kw),
          ((jnp.zeros_like(a), y, b), kw)]


case("beta_nll", _beta_example, edge_cases=_beta_edges, grad_argnums=(0, 2))

# --------------------------------------------------------------------------
# Proper scores.
# --------------------------------------------------------------------------

case("crps_gaussian", _one_param_example, edge_cases=_scale_edges, grad_argnums=(0, 2))


def _ens_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (6, 4, 16)), ex.normal(k2, (6, 4))), {}


def _ens_edges(key):
  (x, y), _ = _ens_example(key)
  same = jnp.broadcast_to(y[..., None], x.shape)
  return [((same, y), {}), ((same, y), {"fair": True}), ((x * 1e4, y), {"fair": True})]


def _ens_bad(key):
  (x, y), _ = _ens_example(key)
  return (x, y[..., :-1]), {}


case("crps_ensemble", _ens_example, edge_cases=_ens_edges, bad_input=_ens_bad)


def _interval_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  lo = ex.normal(k1, (8, 5)) - 1.0
  hi = lo + ex.uniform(k2, (8, 5), 0.5, 2.5)
  return (jnp.stack([lo, hi], -1), ex.normal(k3, (8, 5))), {}


def _interval_edges(key):
  (iv, y), _ = _interval_example(key)
  return [((jnp.stack([y, y], -1), y), {}), ((iv * 1e4, y), {"alpha": 0.01})]


case("interval_score", _interval_example, edge_cases=_interval_edges)

# --------------------------------------------------------------------------
# Point-forecast errors and the trend-aware loss.
# --------------------------------------------------------------------------


def _pt_example(key):
  k1, k2 = jax.random.split(key)
  t = ex.uniform(k1, (8, 6), 0.5, 3.0)
  return (t + ex.normal(k2, (8, 6), 0.3), t), {}


def _pt_edges(key):
  (p, t), _ = _pt_example(key)
  z = jnp.zeros_like(t)
  return [((t, t), {}), ((p, z), {}), ((z, z), {}), ((p * 1e4, t), {})]


for _name in ("mape", "smape", "wape"):
  case(_name, _pt_example, edge_cases=_pt_edges)


def _mase_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  t = ex.normal(k1, (8, 6))
  return (t + ex.normal(k2, (8, 6), 0.3), t, ex.normal(k3, (8, 12))), {"season_length": 2}


def _mase_edges(key):
  (p, t, h), kw = _mase_example(key)
  return [((t, t, h), kw), ((p, t, jnp.zeros_like(h)), kw), ((p, t, h), {})]


case("mase", _mase_example, edge_cases=_mase_edges)


def _trend_example(key):
  k1, k2 = jax.random.split(key)
  t = jnp.cumsum(ex.normal(k1, (6, 24)), axis=-1)
  return (t + ex.normal(k2, (6, 24), 0.5), t), {"window": 5}


def _trend_edges(key):
  (p, t), kw = _trend_example(key)
  return [((t, t), kw), ((p * 1e3, t), kw), ((p, t), {"window": 1, "diff_weight": 1.0})]


case("trend_aware_loss", _trend_example, edge_cases=_trend_edges, grad_argnums=(0, 1),
     components_total=lambda parts, kw: (kw.get("trend_weight", 1.0) * parts["trend"]
                                         + kw.get("residual_weight", 0.25) * parts["residual"]
                                         + kw.get("diff_weight", 0.0) * parts["diff"]))

# --------------------------------------------------------------------------
# Sequence losses.
# --------------------------------------------------------------------------


def _ctc_example(key):
  # Unit-length targets: torch's "mean" divides each sequence by its target
  # length, which the contract's generic "mean == sum / count" check cannot
  # know about; longer targets are exercised in tests/test_sequence.py.
  k1, k2 = jax.random.split(key)
  logits = ex.normal(k1, (4, 6, 5), 2.0)
  labels = jax.random.randint(k2, (4, 1), 1, 5)
  return (logits, labels), {}


def _ctc_edges(key):
  k1, k2 = jax.random.split(key)
  logits = ex.normal(k1, (3, 6, 5), 2.0)
  labels = jax.random.randint(k2, (3, 4), 1, 5)
  confident = jnp.where(jax.nn.one_hot(jnp.array([1, 0, 2, 0, 3, 0]), 5) > 0, 1e4, -1e4)
  conf_labels = jnp.array([[1, 2, 3]])
  return [  # Impossible alignments (+inf without zero_infinity: tested separately).
          ((logits, labels), {"logit_lengths": jnp.array([6, 2, 1]), "zero_infinity": True}),
          ((confident[None], conf_labels), {}),
          ((logits * 1e4, labels), {})]


def _ctc_bad(key):
  (logits, labels), kw = _ctc_example(key)
  return (logits, labels[:-1]), kw


case("ctc_loss", _ctc_example, edge_cases=_ctc_edges, bad_input=_ctc_bad)


def _dtw_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (4, 10, 2)), ex.normal(k2, (4, 7, 2))), {"gamma": 0.5}


def _dtw_edges(key):
  (x, y), _ = _dtw_example(key)
  # Python-float gammas are traced: these share one compilation.
  return [((x, x), {"gamma": 1.0}), ((x, y), {"gamma": 1e-3}), ((x, y), {"gamma": 100.0}),
          ((x * 1e2, y), {"gamma": 1e-2})]


def _dtw_bad(key):
  (x, y), kw = _dtw_example(key)
  return (x, y[..., :-1]), kw


case("soft_dtw", _dtw_example, edge_cases=_dtw_edges, bad_input=_dtw_bad,
     grad_argnums=(0, 1))


def _div_edges(key):
  (x, y), _ = _dtw_example(key)
  return [((x, x), {"gamma": 1.0}), ((x, y), {"gamma": 1e-3}), ((x * 1e2, y), {"gamma": 0.1})]


case("soft_dtw_divergence", _dtw_example, edge_cases=_div_edges, bad_input=_dtw_bad,
     grad_argnums=(0, 1))


def _dilate_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (4, 8, 1)), ex.normal(k2, (4, 8, 1))), {}


def _dilate_edges(key):
  (x, y), _ = _dilate_example(key)
  return [((x, x), {}), ((x * 1e2, y), {"gamma": 1e-3})]


case("dilate_loss", _dilate_example, edge_cases=_dilate_edges, bad_input=_dtw_bad,
     components_total=lambda parts, kw: (kw.get("shape_weight", 0.5) * parts["shape"]
                                         + kw.get("temporal_weight", 0.5) * parts["temporal"]))
