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


# ---- GISTEmbed ------------------------------------------------------------------------------


def _cos_ref(x, y):
  """nn.CosineSimilarity(dim=-1) of every row of x with every row of y (float64)."""
  out = np.zeros((len(x), len(y)))
  for i in range(len(x)):
    for j in range(len(y)):
      out[i, j] = x[i] @ y[j] / max(np.linalg.norm(x[i]) * np.linalg.norm(y[j]), 1e-8)
  return out


def gist_ref(a, p, ga, gp, n=None, gn=None, temperature=0.01, strategy="absolute", margin=0.0,
             anchors=True, positives=True):
  """GISTEmbedLoss.forward of sentence-transformers 5.x, one device, re-derived in NumPy."""
  thr = np.diag(_cos_ref(ga, gp))[:, None]

  def drop(guided, sim, protect=None):
    mask = guided > (thr - margin if strategy == "absolute" else thr * (1 - margin))
    if protect is not None:
      mask &= ~protect
    sim = sim.copy()
    sim[mask] = -np.inf
    return sim

  blocks = [drop(_cos_ref(ga, gp), _cos_ref(a, p), np.eye(len(a), dtype=bool))]
  if anchors:
    blocks.append(drop(_cos_ref(ga, ga), _cos_ref(a, a)))
  if positives:
    blocks.append(drop(_cos_ref(gp, gp), _cos_ref(p, p)))
  if n is not None:
    blocks.append(drop(_cos_ref(ga, gn), _cos_ref(a, n)))
  s = np.concatenate(blocks, axis=1) / temperature
  out = np.zeros(len(a))
  for i in range(len(a)):
    row = s[i][np.isfinite(s[i])]
    m = row.max()
    out[i] = m + np.log(np.exp(row - m).sum()) - s[i, i]
  return out


def _gist_inputs(seed, n=6, d=5, g=4):
  a, p, proj, noise, neg, gneg = _emb(seed, (n, d), (n, d), (d, g), (n, g), (n, d), (n, g))
  p = a + 0.6 * p                   # positives near their anchors
  ga, gp = a @ proj, p @ proj + 0.5 * noise   # a guide of another width, roughly agreeing
  return a, p, ga, gp, neg, gneg


@pytest.mark.parametrize("opts", [
    {}, {"temperature": 0.05}, {"margin": 0.1}, {"strategy": "relative", "margin": 0.05},
    {"anchors": False}, {"positives": False}, {"anchors": False, "positives": False},
    {"margin": -2.0}])
def test_gist_matches_sentence_transformers_formula(opts):
  a, p, ga, gp, _, _ = _gist_inputs(1)
  kw = {"temperature": opts.get("temperature", 0.01),
        "margin_strategy": opts.get("strategy", "absolute"), "margin": opts.get("margin", 0.0),
        "contrast_anchors": opts.get("anchors", True),
        "contrast_positives": opts.get("positives", True)}
  ref = gist_ref(a, p, ga, gp, **opts)
  close(jaxloss.gist_loss(*f32s(a, p, ga, gp), reduction="none", **kw), ref, rtol=2e-5,
        atol=2e-4)
  close(jaxloss.gist_loss(*f32s(a, p, ga, gp), **kw), ref.mean(), rtol=2e-5, atol=2e-4)


def test_gist_masks_false_negatives_and_uses_hard_negatives():
  a, p, ga, gp, neg, gneg = _gist_inputs(2)
  # the guide sees anchor 1's positive as a copy of anchor 0's: a false negative for anchor 0
  gp2 = gp.copy()
  gp2[1] = gp2[0]
  ref = gist_ref(a, p, ga, gp2, neg, gneg)
  out = jaxloss.gist_loss(*f32s(a, p, ga, gp2), negatives=f32(neg), guide_negatives=f32(gneg),
                          reduction="none")
  close(out, ref, rtol=2e-5, atol=2e-4)
  # K negative columns [K, N, D] are the columns one after the other
  negk, gnegk = np.stack([neg, neg[::-1]]), np.stack([gneg, gneg[::-1]])
  ref_k = gist_ref(a, p, ga, gp, negk.reshape(-1, 5), gnegk.reshape(-1, 4))
  close(jaxloss.gist_loss(*f32s(a, p, ga, gp), negatives=f32(negk), guide_negatives=f32(gnegk),
                          reduction="none"), ref_k, rtol=2e-5, atol=2e-4)
  # the dropped candidates (-inf in the reference) leave every anchor's loss finite
  assert np.all(np.isfinite(np.asarray(out)))


def test_gist_guide_gets_no_gradient_and_where_removes_pairs():
  a, p, ga, gp, _, _ = _gist_inputs(3)
  g = jax.grad(jaxloss.gist_loss, argnums=(0, 1, 2, 3))(*f32s(a, p, ga, gp))
  assert float(jnp.abs(g[2]).max()) == 0.0 and float(jnp.abs(g[3]).max()) == 0.0
  assert float(jnp.abs(g[0]).max()) > 0.0
  keep = np.array([True, True, False, True, True, False])
  bad = a.copy()
  bad[~keep] = np.nan
  ref = gist_ref(a[keep], p[keep], ga[keep], gp[keep])
  close(jaxloss.gist_loss(*f32s(bad, p, ga, gp), where=jnp.asarray(keep)), ref.mean(),
        rtol=2e-5, atol=2e-4)


def test_gist_bad_inputs():
  a, p, ga, gp, neg, gneg = _gist_inputs(4)
  with pytest.raises(LossInputError, match="^gist_loss: guide_x1 has shape"):
    jaxloss.gist_loss(*f32s(a, p, ga[:3], gp[:3]))
  with pytest.raises(LossInputError, match="^gist_loss: negatives and guide_negatives"):
    jaxloss.gist_loss(*f32s(a, p, ga, gp), negatives=f32(neg))
  with pytest.raises(LossInputError, match="^gist_loss: guide_negatives has shape"):
    jaxloss.gist_loss(*f32s(a, p, ga, gp), negatives=f32(neg), guide_negatives=f32(gneg[:2]))
  with pytest.raises(ValueError, match="^gist_loss: margin_strategy"):
    jaxloss.gist_loss(*f32s(a, p, ga, gp), margin_strategy="hard")
