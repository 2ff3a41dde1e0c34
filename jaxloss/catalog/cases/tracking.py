"""Cases of the tracking losses: example inputs, edge cases, bad inputs and contract flags."""

import jax
import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case
from jaxloss.tracking import siamfc_label_map


def _xcorr_example(key):
  r = ex.normal(key, (4, 17, 17), 2.0)
  return (r, jnp.broadcast_to(siamfc_label_map((17, 17)), r.shape)), {}


def _xcorr_edges(key):
  (r, y), _ = _xcorr_example(key)
  return [((r * 1e4, y), {}), ((jnp.where(y > 0, 50.0, -50.0), y), {}),
          ((r, jnp.zeros_like(y)), {}), ((r, jnp.full_like(y, 0.5)), {})]


case("cross_correlation_loss", _xcorr_example, edge_cases=_xcorr_edges)


def _logreg_example(key):
  k1, _ = jax.random.split(key)
  r = ex.normal(k1, (4, 9, 9), 2.0)
  g = jnp.exp(-0.5 * ((jnp.arange(9) - 4.0) ** 2)[:, None] / 2.0
              - 0.5 * ((jnp.arange(9) - 4.0) ** 2)[None, :] / 2.0)
  return (r, jnp.broadcast_to(g, r.shape)), {}


def _logreg_edges(key):
  (r, y), _ = _logreg_example(key)
  return [((r * 1e4, y), {}), ((jnp.where(y > 0.5, 1e4, -1e4), (y > 0.5).astype(r.dtype)), {})]


case("logistic_regression_loss", _logreg_example, edge_cases=_logreg_edges, grad_argnums=(0, 1))


def _maha_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  a = ex.normal(k3, (4, 4))
  cov = a @ a.T + jnp.eye(4)
  return (ex.normal(k1, (8, 4)), ex.normal(k2, (8, 4))), {"covariance": cov}


def _maha_edges(key):
  (x, m), kw = _maha_example(key)
  prec = jnp.linalg.inv(kw["covariance"])
  return [((m, m), kw), ((x * 1e3, m), kw), ((x, m), {"precision": prec}),
          ((m, m), {"precision": prec}), ((x, m), {"covariance": jnp.eye(4) * 1e-6})]


case("mahalanobis_loss", _maha_example, edge_cases=_maha_edges, grad_argnums=(0, 1))
