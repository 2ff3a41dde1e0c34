"""Tests for jaxloss.embedding.retrieval: sentence-transformers' MNRL, CoSENT, MarginMSE and
Matryoshka losses.

References are independent float64 NumPy implementations of the formulas of
sentence-transformers' MultipleNegativesRankingLoss, CoSENTLoss, MarginMSELoss and
MatryoshkaLoss (with explicit loops over pairs), not jaxloss code.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import close, f32, f32s, rng

import jaxloss
from jaxloss import LossInputError


def _emb(seed, *shapes):
  r = rng(seed)
  return tuple(r.normal(size=s).astype(np.float32).astype(np.float64) for s in shapes)


def _unit(x):
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


def mnrl_ref(a, p, negs=None, scale=20.0):
  cands = p if negs is None else np.concatenate([p, negs.reshape(-1, p.shape[1])])
  scores = _unit(a) @ _unit(cands).T * scale
  out = np.zeros(len(a))
  for i in range(len(a)):
    m = scores[i].max()
    out[i] = m + np.log(np.exp(scores[i] - m).sum()) - scores[i, i]
  return out


def test_mnrl_matches_reference():
  a, p, n2, n3 = _emb(0, (7, 5), (7, 5), (2, 7, 5), (4, 5))
  close(jaxloss.multiple_negatives_ranking_loss(*f32s(a, p), reduction="none"),
        mnrl_ref(a, p), rtol=1e-5, atol=1e-5)
  close(jaxloss.multiple_negatives_ranking_loss(*f32s(a, p), negatives=f32(n2)),
        mnrl_ref(a, p, n2).mean(), rtol=1e-5)
  close(jaxloss.multiple_negatives_ranking_loss(*f32s(a, p), negatives=f32(n3), scale=5.0),
        mnrl_ref(a, p, n3, 5.0).mean(), rtol=1e-5)


def test_mnrl_gradient_where_and_errors():
  a, p = _emb(1, (5, 3), (5, 3))
  g = jax.grad(jaxloss.multiple_negatives_ranking_loss)(*f32s(a, p))
  h = 1e-5
  fd = np.zeros_like(a)
  for idx in np.ndindex(a.shape):
    e = np.zeros_like(a)
    e[idx] = h
    fd[idx] = (mnrl_ref(a + e, p).mean() - mnrl_ref(a - e, p).mean()) / (2 * h)
  close(g, fd, rtol=1e-3, atol=1e-4)
  keep = np.array([True, False, True, True, True])
  bad = a.copy()
  bad[~keep] = np.nan
  close(jaxloss.multiple_negatives_ranking_loss(*f32s(bad, p), where=jnp.asarray(keep)),
        mnrl_ref(a[keep], p[keep]).mean(), rtol=1e-5)
  with pytest.raises(LossInputError, match="^multiple_negatives_ranking_loss: negatives"):
    jaxloss.multiple_negatives_ranking_loss(*f32s(a, p), negatives=f32(np.zeros((2, 4))))
  with pytest.raises(LossInputError, match="^multiple_negatives_ranking_loss: scale"):
    jaxloss.multiple_negatives_ranking_loss(*f32s(a, p), scale=0.0)


def cosent_ref(a, b, y, scale=20.0):
  cos = np.sum(_unit(a) * _unit(b), -1) * scale
  terms = [0.0]
  for i in range(len(y)):
    for j in range(len(y)):
      if y[i] < y[j]:
        terms.append(cos[i] - cos[j])
  terms = np.array(terms)
  m = terms.max()
  return m + np.log(np.exp(terms - m).sum())


def test_cosent_matches_reference():
  a, b = _emb(2, (8, 6), (8, 6))
  y = rng(3).integers(0, 5, 8).astype(np.float64)   # ties: no term between equal labels
  close(jaxloss.cosent_loss(*f32s(a, b, y)), cosent_ref(a, b, y), rtol=1e-5)
  close(jaxloss.cosent_loss(*f32s(a, b, y), scale=3.0), cosent_ref(a, b, y, 3.0), rtol=1e-5)
  assert float(jaxloss.cosent_loss(*f32s(a, b, np.zeros(8)))) == 0.0


def test_cosent_gradient_where_and_errors():
  a, b = _emb(4, (5, 3), (5, 3))
  y = np.array([0.1, 0.5, 0.2, 0.9, 0.4])
  g = jax.grad(jaxloss.cosent_loss)(*f32s(a, b, y), scale=2.0)
  h = 1e-5
  fd = np.zeros_like(a)
  for idx in np.ndindex(a.shape):
    e = np.zeros_like(a)
    e[idx] = h
    fd[idx] = (cosent_ref(a + e, b, y, 2.0) - cosent_ref(a - e, b, y, 2.0)) / (2 * h)
  close(g, fd, rtol=1e-3, atol=1e-4)
  keep = np.array([True, True, False, True, False])
  bad = b.copy()
  bad[~keep] = np.nan
  y_bad = y.copy()
  y_bad[~keep] = np.nan
  got = jaxloss.cosent_loss(*f32s(a, bad, y_bad), where=jnp.asarray(keep))
  close(got, cosent_ref(a[keep], b[keep], y[keep]), rtol=1e-5)
  g = jax.grad(jaxloss.cosent_loss, argnums=(0, 1))(*f32s(a, bad, y_bad), where=jnp.asarray(keep))
  chex.assert_tree_all_finite(g)
  with pytest.raises(LossInputError, match="^cosent_loss: labels has shape"):
    jaxloss.cosent_loss(*f32s(a, b, y[:-1]))


def margin_mse_ref(q, p, n, y):
  if n.ndim == 2:
    margin = np.sum(q * p, -1) - np.sum(q * n, -1)
  else:
    margin = np.array([[q[i] @ p[i] - q[i] @ n[i, k] for k in range(n.shape[1])]
                       for i in range(len(q))])
  return (margin - y) ** 2


def test_margin_mse_matches_reference():
  q, p, n, y, nk, yk = _emb(5, (6, 4), (6, 4), (6, 4), (6,), (6, 3, 4), (6, 3))
  close(jaxloss.margin_mse_loss(*f32s(q, p, n, y), reduction="none"),
        margin_mse_ref(q, p, n, y), rtol=1e-5, atol=1e-5)
  close(jaxloss.margin_mse_loss(*f32s(q, p, nk, yk)), margin_mse_ref(q, p, nk, yk).mean(),
        rtol=1e-5)
  close(jaxloss.margin_mse_loss(*f32s(q, p, n, y), normalize=True),
        margin_mse_ref(_unit(q), _unit(p), _unit(n), y).mean(), rtol=1e-5)
  g = jax.grad(jaxloss.margin_mse_loss)(*f32s(q, p, n, y))
  want = 2 * (np.sum(q * p, -1) - np.sum(q * n, -1) - y)[:, None] * (p - n) / len(q)
  close(g, want, rtol=1e-4, atol=1e-5)
  keep = np.array([True, False, True, True, False, True])
  bad = n.copy()
  bad[~keep] = np.nan
  close(jaxloss.margin_mse_loss(*f32s(q, p, bad, y), where=jnp.asarray(keep)),
        margin_mse_ref(q, p, n, y)[keep].mean(), rtol=1e-5)
  with pytest.raises(LossInputError, match="^margin_mse_loss: labels has shape"):
    jaxloss.margin_mse_loss(*f32s(q, p, nk, y))


def test_matryoshka_sums_truncated_losses():
  a, p, n = _emb(6, (6, 8), (6, 8), (2, 6, 8))
  dims, w = (8, 4, 2), (1.0, 0.5, 2.0)
  want = sum(wi * mnrl_ref(a[:, :d], p[:, :d], n[..., :d]).mean() for d, wi in zip(dims, w, strict=True))
  got = jaxloss.matryoshka_loss(jaxloss.multiple_negatives_ranking_loss, *f32s(a, p), dims=dims,
                                dim_weights=w, negatives=f32(n))
  close(got, want, rtol=1e-5)
  # Positional embeddings (MarginMSE's negatives) are truncated; labels are not.
  y = rng(7).normal(size=6)
  want = sum(margin_mse_ref(a[:, :d], p[:, :d], n[0][:, :d], y).mean() for d in (8, 4))
  got = jaxloss.matryoshka_loss(jaxloss.margin_mse_loss, *f32s(a, p, n[0], y), dims=(8, 4))
  close(got, want, rtol=1e-5)
  g = jax.grad(lambda x: jaxloss.matryoshka_loss(jaxloss.multiple_negatives_ranking_loss, x,
                                                  f32(p), dims=(8, 4)))(f32(a))
  chex.assert_tree_all_finite(g)
  with pytest.raises(LossInputError, match="dims"):
    jaxloss.matryoshka_loss(jaxloss.multiple_negatives_ranking_loss, *f32s(a, p), dims=(16,))
  with pytest.raises(LossInputError, match="dim_weights"):
    jaxloss.matryoshka_loss(jaxloss.multiple_negatives_ranking_loss, *f32s(a, p), dims=(8, 4),
                            dim_weights=(1.0,))
