"""Cases of the adaptive losses: example inputs, edge cases, bad inputs and contract flags."""

import jax.numpy as jnp

from jaxloss.catalog.cases import _inputs as ex
from jaxloss.catalog.cases import case


def _bad(key):
  return (ex.normal(key, (4, 3)),), {"alpha": jnp.ones((5,)), "scale": 1.0}


def _general_example(key):
  return (ex.normal(key, (8, 5), 3.0),), {"alpha": 1.0, "scale": 0.5}


def _general_edges(key):
  x = ex.normal(key, (8, 5), 3.0)
  out = []
  for alpha in (2.0, 0.0, -2.0, -jnp.inf, jnp.inf, 1e-8, 2.0 - 1e-7, 4.0, -1e6):
    xs = x * 0.1 if alpha == jnp.inf else x
    out.append(((xs,), {"alpha": alpha, "scale": 1.0}))
  out.append(((jnp.zeros_like(x),), {"alpha": 1.0, "scale": 1.0}))
  out.append(((x * 1e4,), {"alpha": -2.0, "scale": 0.1}))
  return out


case("general_robust_loss", _general_example, edge_cases=_general_edges, bad_input=_bad)


def _nll_example(key):
  return (ex.normal(key, (8, 5), 2.0),), {"alpha": 1.0, "scale": 0.7}


def _nll_edges(key):
  x = ex.normal(key, (8, 5), 2.0)
  return [((x,), {"alpha": a, "scale": 1.0}) for a in (0.0, 2.0, 4.0, 1e-6, 2.0 + 1e-6, 9.0)] + [
      ((x * 0.1,), {"alpha": jnp.inf, "scale": 1.0}),
      ((jnp.zeros_like(x),), {"alpha": 1.0, "scale": 1.0}),
      ((x * 1e4,), {"alpha": 0.5, "scale": 1e-3})]


case("adaptive_robust_loss", _nll_example, edge_cases=_nll_edges, bad_input=_bad)
