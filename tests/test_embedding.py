"""Tests of jaxloss.embedding against independent float64 NumPy references.

The references below are written from the papers' / peers' formulas with
explicit loops over anchors and pairs (the opposite of the vectorised, masked
implementation), so a masking or broadcasting mistake shows up as a mismatch.
"""

import chex
import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import f32, rng
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxloss
from jaxloss import LossInputError, LossTypeError

RTOL = 1e-5
ATOL = 1e-6


def _np_normalize(x):
  return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _np_dist(x):
  n = len(x)
  return np.array([[np.linalg.norm(x[i] - x[j]) for j in range(n)] for i in range(n)])


def _lse(v):
  v = np.asarray(v, np.float64)
  m = v.max()
  return m + np.log(np.sum(np.exp(v - m)))


def _softplus(v):
  return np.logaddexp(0.0, v)


def _batch(seed=0, n=10, d=6, classes=3):
  r = rng(seed)
  x = r.normal(size=(n, d))
  y = np.arange(n) % classes
  r.shuffle(y)
  return x, y


# --------------------------------------------------------------------------
# Pair / triplet losses over explicit tuples.
# --------------------------------------------------------------------------


def test_contrastive_loss_reference():
  r = rng(1)
  a, b = r.normal(size=(7, 4)), r.normal(size=(7, 4)) * 0.5
  y = (r.random(7) < 0.5).astype(np.float64)
  m = 2.0
  d = np.linalg.norm(a - b, axis=-1)
  ref = y * d**2 + (1 - y) * np.maximum(m - d, 0) ** 2
  out = jaxloss.contrastive_loss(f32(a), f32(b), f32(y), margin=m, reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  np.testing.assert_allclose(jaxloss.contrastive_loss(f32(a), f32(b), f32(y), margin=m),
                             ref.mean(), rtol=RTOL)


def test_contrastive_identical_pair_finite_grad():
  a = f32(rng(2).normal(size=(4, 3)))
  for y in (jnp.ones(4), jnp.zeros(4)):
    v, g = jax.value_and_grad(jaxloss.contrastive_loss, argnums=(0, 1))(a, a, y)
    chex.assert_tree_all_finite(g)
    np.testing.assert_allclose(v, 0.0 if y[0] == 1 else 1.0, atol=1e-6)


def test_margin_ranking_and_hinge_embedding_reference():
  r = rng(3)
  x1, x2, y = r.normal(size=9), r.normal(size=9), np.sign(r.normal(size=9))
  ref = np.maximum(0, -y * (x1 - x2) + 0.3)
  np.testing.assert_allclose(jaxloss.margin_ranking_loss(f32(x1), f32(x2), f32(y), margin=0.3,
                                                         reduction="none"), ref, rtol=RTOL)
  x = np.abs(r.normal(size=9))
  ref = np.where(y == 1, x, np.maximum(0, 1.5 - x))
  np.testing.assert_allclose(jaxloss.hinge_embedding_loss(f32(x), f32(y), margin=1.5,
                                                          reduction="none"), ref, rtol=RTOL)


def _np_triplet_margin(a, p, n, margin=1.0, pn=2, eps=1e-6, swap=False):
  def dist(u, v):
    return np.sum(np.abs(u - v + eps) ** pn, axis=-1) ** (1.0 / pn)
  d_ap, d_an = dist(a, p), dist(a, n)
  if swap:
    d_an = np.minimum(d_an, dist(p, n))
  return np.maximum(d_ap - d_an + margin, 0.0)


@pytest.mark.parametrize("p,swap", [(2, False), (1, False), (3, False), (2, True), (1.5, True)])
def test_triplet_margin_loss_reference(p, swap):
  r = rng(4)
  a, pos, neg = (r.normal(size=(8, 5)) for _ in range(3))
  ref = _np_triplet_margin(a, pos, neg, 0.7, p, 1e-6, swap)
  out = jaxloss.triplet_margin_loss(f32(a), f32(pos), f32(neg), margin=0.7, p=p, swap=swap,
                                    reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)


def test_triplet_margin_loss_close_to_optax():
  r = rng(5)
  a, pos, neg = (f32(r.normal(size=(8, 5))) for _ in range(3))
  ours = jaxloss.triplet_margin_loss(a, pos, neg, reduction="none")
  theirs = optax.losses.triplet_margin_loss(a, pos, neg)
  # optax adds eps inside the root instead of to the difference (~1e-6 apart).
  np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_triplet_margin_loss_identical_finite_grad():
  a = f32(rng(6).normal(size=(4, 3)))
  for p in (1, 2, 3):
    g = jax.grad(lambda x, y, p=p: jaxloss.triplet_margin_loss(x, y, x + 1.0, p=p, eps=0.0),
                 argnums=(0, 1))(a, a)
    chex.assert_tree_all_finite(g)


def test_triplet_margin_loss_grads():
  r = rng(7)
  with jax.enable_x64(True):
    a, p, n = (jnp.asarray(r.normal(size=(5, 4))) for _ in range(3))
    for kw in ({}, {"p": 3}, {"swap": True}):
      check_grads(lambda a, p, n, kw=kw: jaxloss.triplet_margin_loss(a, p, n, margin=3.0, **kw),
                  (a, p, n), order=1, modes=["rev"])


# --------------------------------------------------------------------------
# Batch triplet loss with mining.
# --------------------------------------------------------------------------


def _np_triplet_batch(x, y, mining, margin, normalize=True, squared=False, soft=False,
                      valid=None):
  n = len(x)
  valid = np.ones(n, bool) if valid is None else valid
  if normalize:
    x = _np_normalize(x)
  d = _np_dist(x)
  if squared:
    d = d**2
  h = _softplus if soft else (lambda t: max(t, 0.0))
  out, ok = np.zeros(n), np.zeros(n, bool)
  for a in range(n):
    if not valid[a]:
      continue
    P = [p for p in range(n) if valid[p] and p != a and y[p] == y[a]]
    N = [k for k in range(n) if valid[k] and y[k] != y[a]]
    if not P or not N:
      continue
    ok[a] = True
    if mining == "hard":
      out[a] = h(max(d[a, p] for p in P) - min(d[a, k] for k in N) + margin)
    elif mining == "all":
      vals = [d[a, p] - d[a, k] + margin for p in P for k in N]
      if soft:
        out[a] = np.mean([h(v) for v in vals])
      else:
        act = [v for v in vals if v > 0]
        out[a] = np.mean(act) if act else 0.0
    else:
      terms = []
      for p in P:
        outside = [d[a, k] for k in N if d[a, k] > d[a, p]]
        dn = min(outside) if outside else max(d[a, k] for k in N)
        terms.append(h(d[a, p] - dn + margin))
      out[a] = np.mean(terms)
  return out, ok


@pytest.mark.parametrize("mining", ["all", "hard", "semi-hard"])
@pytest.mark.parametrize("normalize,squared,soft,margin", [
    (True, False, False, 0.2), (False, False, False, 1.0), (False, True, True, 0.5)])
def test_triplet_loss_reference(mining, normalize, squared, soft, margin):
  x, y = _batch(8)
  ref, ok = _np_triplet_batch(x, y, mining, margin, normalize, squared, soft)
  kw = dict(mining=mining, margin=margin, normalize=normalize, squared=squared,
            soft_margin=soft)
  out = jaxloss.triplet_loss(f32(x), jnp.asarray(y), reduction="none", **kw)
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  mean = jaxloss.triplet_loss(f32(x), jnp.asarray(y), **kw)
  np.testing.assert_allclose(mean, ref[ok].mean(), rtol=RTOL)


def test_triplet_loss_where_removes_samples():
  x, y = _batch(9, n=12)
  valid = rng(9).random(12) < 0.7
  for mining in ("all", "hard", "semi-hard"):
    ref, ok = _np_triplet_batch(x, y, mining, 0.3, valid=valid)
    poisoned = np.where(valid[:, None], x, np.nan)
    out = jaxloss.triplet_loss(f32(poisoned), jnp.asarray(y), mining=mining, margin=0.3,
                               where=jnp.asarray(valid), reduction="none")
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
    g = jax.grad(lambda e, m=mining: jaxloss.triplet_loss(
        e, jnp.asarray(y), mining=m, margin=0.3, where=jnp.asarray(valid)))(f32(poisoned))
    chex.assert_tree_all_finite(g)
    assert np.all(np.asarray(g)[~valid] == 0)


@pytest.mark.parametrize("mining", ["all", "hard", "semi-hard"])
def test_triplet_loss_no_valid_triplets_is_zero_with_zero_grad(mining):
  x = f32(rng(10).normal(size=(6, 4)))
  for labels in (jnp.arange(6), jnp.zeros(6, jnp.int32)):       # no positives / no negatives
    v, g = jax.value_and_grad(lambda e, lab=labels: jaxloss.triplet_loss(e, lab, mining=mining))(x)
    assert float(v) == 0.0
    assert np.all(np.asarray(g) == 0.0)
  v, g = jax.value_and_grad(lambda e: jaxloss.triplet_loss(e, jnp.array([0]), mining=mining))(x[:1])
  assert float(v) == 0.0 and np.all(np.asarray(g) == 0)


@pytest.mark.parametrize("mining", ["all", "hard", "semi-hard"])
def test_triplet_loss_identical_embeddings_finite_grad(mining):
  x = jnp.tile(f32(rng(11).normal(size=(1, 4))), (6, 1))
  y = jnp.array([0, 0, 1, 1, 2, 2])
  for normalize in (True, False):
    v, g = jax.value_and_grad(lambda e, nm=normalize: jaxloss.triplet_loss(
        e, y, mining=mining, margin=0.2, normalize=nm))(x)
    np.testing.assert_allclose(v, 0.2, atol=1e-5)    # all distances 0: loss = margin
    chex.assert_tree_all_finite(g)


def test_triplet_loss_grads():
  x, y = _batch(12, n=8)
  with jax.enable_x64(True):
    for mining in ("all", "hard", "semi-hard"):
      check_grads(lambda e, m=mining: jaxloss.triplet_loss(e, jnp.asarray(y), mining=m,
                                                           margin=0.5, normalize=False),
                  (jnp.asarray(x),), order=1, modes=["rev"], atol=1e-4, rtol=1e-4)


def test_triplet_loss_errors():
  x, y = f32(np.ones((4, 3))), jnp.arange(4)
  with pytest.raises(LossInputError, match="triplet_loss: mining must be one of"):
    jaxloss.triplet_loss(x, y, mining="easy")
  with pytest.raises(LossInputError, match=r"labels has shape \(3,\)"):
    jaxloss.triplet_loss(x, y[:3])
  with pytest.raises(LossInputError, match="embeddings must have rank 2"):
    jaxloss.triplet_loss(x[0], y)
  with pytest.raises(LossTypeError, match="labels must be an integer array"):
    jaxloss.triplet_loss(x, jnp.ones(4))
  with pytest.raises(LossInputError, match="margin must be >= 0"):
    jaxloss.triplet_loss(x, y, margin=-1.0)


# --------------------------------------------------------------------------
# pytorch-metric-learning-style batch losses.
# --------------------------------------------------------------------------


def _np_lifted(x, y, neg_margin=1.0, pos_margin=0.0):
  x = _np_normalize(x)
  d = _np_dist(x)
  n = len(x)
  terms = []
  for i in range(n):
    for j in range(n):
      if i == j or y[i] != y[j]:
        continue
      negs = [neg_margin - d[i, k] for k in range(n) if y[k] != y[i]]
      negs += [neg_margin - d[j, k] for k in range(n) if y[k] != y[j]]
      if not negs:
        continue
      J = _lse(negs) + d[i, j] - pos_margin
      terms.append(max(J, 0.0) ** 2 / 2)
  return np.mean(terms) if terms else 0.0


def test_lifted_structure_reference():
  x, y = _batch(13, n=9)
  np.testing.assert_allclose(jaxloss.lifted_structure_loss(f32(x), jnp.asarray(y)),
                             _np_lifted(x, y), rtol=RTOL)
  np.testing.assert_allclose(
      jaxloss.lifted_structure_loss(f32(x), jnp.asarray(y), neg_margin=0.5, pos_margin=0.1),
      _np_lifted(x, y, 0.5, 0.1), rtol=RTOL)
  assert float(jaxloss.lifted_structure_loss(f32(x), jnp.arange(9))) == 0.0


def _np_ms(x, y, alpha=2.0, beta=50.0, base=0.5):
  s = _np_normalize(x) @ _np_normalize(x).T
  n = len(x)
  out = np.zeros(n)
  for i in range(n):
    P = [j for j in range(n) if j != i and y[j] == y[i]]
    N = [j for j in range(n) if y[j] != y[i]]
    out[i] = (np.log1p(sum(np.exp(-alpha * (s[i, j] - base)) for j in P)) / alpha
              + np.log1p(sum(np.exp(beta * (s[i, j] - base)) for j in N)) / beta)
  return out


def test_multi_similarity_reference():
  x, y = _batch(14)
  np.testing.assert_allclose(
      jaxloss.multi_similarity_loss(f32(x), jnp.asarray(y), reduction="none"),
      _np_ms(x, y), rtol=RTOL, atol=ATOL)
  np.testing.assert_allclose(
      jaxloss.multi_similarity_loss(f32(x), jnp.asarray(y), alpha=3.0, beta=10.0, base=0.3),
      _np_ms(x, y, 3.0, 10.0, 0.3).mean(), rtol=RTOL)


def _np_circle(x, y, margin=0.4, gamma=80.0):
  m = margin
  s = _np_normalize(x) @ _np_normalize(x).T
  n = len(x)
  out, ok = np.zeros(n), np.zeros(n, bool)
  for i in range(n):
    P = [j for j in range(n) if j != i and y[j] == y[i]]
    N = [j for j in range(n) if y[j] != y[i]]
    if not P or not N:
      continue
    ok[i] = True
    lp = [-gamma * max(1 + m - s[i, j], 0) * (s[i, j] - (1 - m)) for j in P]
    ln = [gamma * max(s[i, j] + m, 0) * (s[i, j] - m) for j in N]
    out[i] = _softplus(_lse(lp) + _lse(ln))
  return out, ok


def test_circle_loss_reference():
  x, y = _batch(15)
  for kw in ({}, {"margin": 0.25, "gamma": 16.0}):
    ref, ok = _np_circle(x, y, **kw)
    np.testing.assert_allclose(
        jaxloss.circle_loss(f32(x), jnp.asarray(y), reduction="none", **kw), ref,
        rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(jaxloss.circle_loss(f32(x), jnp.asarray(y), **kw),
                               ref[ok].mean(), rtol=RTOL)


def test_circle_loss_mean_skips_underflowed_anchors():
  # PML's AvgNonZeroReducer counts losses > 0: with gamma = 400, m = 0.4, anchors 0-3
  # (positive at cos 1, negatives at cos 0) have softplus(-128 + log 4) = 0 in float32
  # and are not counted; anchors 4, 5 (positive at cos 0.5: softplus(-26.6)) are.
  x = np.zeros((6, 4))
  x[0, 0] = x[1, 0] = x[2, 1] = x[3, 1] = x[4, 2] = 1.0
  x[5, 2:] = [0.5, np.sqrt(0.75)]
  y = np.array([0, 0, 1, 1, 2, 2])
  ref, ok = _np_circle(x, y, margin=0.4, gamma=400.0)
  assert np.all(ok) and np.all(ref[:4] < 1e-50) and np.all(ref[4:] > 1e-12)
  out = jaxloss.circle_loss(f32(x), jnp.asarray(y), margin=0.4, gamma=400.0, reduction="none")
  np.testing.assert_allclose(out[4:], ref[4:], rtol=1e-4, atol=0)
  assert np.all(np.asarray(out[:4]) == 0)
  np.testing.assert_allclose(jaxloss.circle_loss(f32(x), jnp.asarray(y), margin=0.4, gamma=400.0),
                             ref[4:].mean(), rtol=1e-4)


def test_npair_reference():
  r = rng(16)
  a, p = r.normal(size=(6, 5)), r.normal(size=(6, 5))
  for normalize in (True, False):
    an, pn = (_np_normalize(a), _np_normalize(p)) if normalize else (a, p)
    lg = an @ pn.T
    ref = np.array([_lse(lg[i]) - lg[i, i] for i in range(6)])
    out = jaxloss.npair_loss(f32(a), f32(p), normalize=normalize, reduction="none")
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  # With labels, same-label positives of other pairs are not negatives.
  lab = np.array([0, 0, 1, 2, 2, 3])
  lg = _np_normalize(a) @ _np_normalize(p).T
  ref = np.array([_lse([lg[i, j] for j in range(6) if j == i or lab[j] != lab[i]]) - lg[i, i]
                  for i in range(6)])
  out = jaxloss.npair_loss(f32(a), f32(p), labels=jnp.asarray(lab), reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)


def _np_proxy_anchor(x, y, proxies, margin=0.1, alpha=32.0):
  s = _np_normalize(x) @ _np_normalize(proxies).T
  c = len(proxies)
  pos_terms, neg_terms = [], []
  for k in range(c):
    P = [i for i in range(len(x)) if y[i] == k]
    N = [i for i in range(len(x)) if y[i] != k]
    if P:
      pos_terms.append(np.log1p(sum(np.exp(-alpha * (s[i, k] - margin)) for i in P)))
    neg_terms.append(np.log1p(sum(np.exp(alpha * (s[i, k] + margin)) for i in N)))
  return np.sum(pos_terms) / len(pos_terms) + np.sum(neg_terms) / c


def test_proxy_anchor_reference():
  r = rng(17)
  x, proxies = r.normal(size=(9, 5)), r.normal(size=(5, 5))
  y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])          # proxies 3 and 4 have no positive
  np.testing.assert_allclose(jaxloss.proxy_anchor_loss(f32(x), jnp.asarray(y), f32(proxies)),
                             _np_proxy_anchor(x, y, proxies), rtol=RTOL)
  np.testing.assert_allclose(
      jaxloss.proxy_anchor_loss(f32(x), jnp.asarray(y), f32(proxies), margin=0.2, alpha=8.0),
      _np_proxy_anchor(x, y, proxies, 0.2, 8.0), rtol=RTOL)
  with pytest.raises(LossInputError, match=r"centers has shape \(5, 4\)"):
    jaxloss.proxy_anchor_loss(f32(x), jnp.asarray(y), f32(proxies[:, :4]))


def test_mined_losses_grads():
  x, y = _batch(18, n=8)
  proxies = rng(18).normal(size=(3, 6))
  with jax.enable_x64(True):
    xx, yy = jnp.asarray(x), jnp.asarray(y)
    check_grads(lambda e: jaxloss.lifted_structure_loss(e, yy), (xx,), order=1, modes=["rev"])
    check_grads(lambda e: jaxloss.multi_similarity_loss(e, yy), (xx,), order=1, modes=["rev"])
    check_grads(lambda e, p: jaxloss.npair_loss(e, p), (xx, xx[::-1]), order=1, modes=["rev"])
    check_grads(lambda e, p: jaxloss.proxy_anchor_loss(e, yy, p, alpha=4.0),
                (xx, jnp.asarray(proxies)), order=1, modes=["rev"])


def _np_circle_frozen(x, y, x0, m=0.4, gamma=8.0):
  """Circle loss with the self-paced weights alpha frozen at ``x0`` (they are stop-gradient)."""
  s = _np_normalize(x) @ _np_normalize(x).T
  s0 = _np_normalize(x0) @ _np_normalize(x0).T
  n, out = len(x), []
  for i in range(n):
    P = [j for j in range(n) if j != i and y[j] == y[i]]
    N = [j for j in range(n) if y[j] != y[i]]
    lp = [-gamma * max(1 + m - s0[i, j], 0) * (s[i, j] - (1 - m)) for j in P]
    ln = [gamma * max(s0[i, j] + m, 0) * (s[i, j] - m) for j in N]
    out.append(_softplus(_lse(lp) + _lse(ln)))
  return np.mean(out)


def test_circle_loss_grad_treats_alpha_as_constant():
  x, y = _batch(18, n=8)
  with jax.enable_x64(True):
    g = np.asarray(jax.grad(lambda e: jaxloss.circle_loss(e, jnp.asarray(y), gamma=8.0))(
        jnp.asarray(x)))
  h = 1e-6
  fd = np.zeros_like(x)
  for idx in np.ndindex(*x.shape):
    xp, xm = x.copy(), x.copy()
    xp[idx] += h
    xm[idx] -= h
    fd[idx] = (_np_circle_frozen(xp, y, x) - _np_circle_frozen(xm, y, x)) / (2 * h)
  np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["multi_similarity_loss", "circle_loss", "lifted_structure_loss",
                                  "supcon_loss"])
def test_mined_losses_empty_relations(name):
  fn = getattr(jaxloss, name)
  x = f32(rng(19).normal(size=(5, 4)))
  for labels in (jnp.arange(5), jnp.zeros(5, jnp.int32)):
    v, g = jax.value_and_grad(lambda e, lab=labels: fn(e, lab))(x)
    chex.assert_tree_all_finite((v, g))
  v, g = jax.value_and_grad(lambda e: fn(e, jnp.array([0])))(x[:1])
  assert float(v) == 0.0 and np.all(np.asarray(g) == 0)


# --------------------------------------------------------------------------
# InfoNCE family, CLIP, SigLIP.
# --------------------------------------------------------------------------


def _np_ce_rows(logits, keep, target):
  return np.array([_lse(logits[i][keep[i]]) - logits[i, target[i]] for i in range(len(logits))])


def test_infonce_reference():
  r = rng(20)
  q, k, neg = r.normal(size=(6, 5)), r.normal(size=(6, 5)), r.normal(size=(4, 5))
  t = 0.2
  qn, kn, nn_ = _np_normalize(q), _np_normalize(k), _np_normalize(neg)
  lg = np.concatenate([qn @ kn.T, qn @ nn_.T], axis=1) / t
  ref = _np_ce_rows(lg, np.ones(lg.shape, bool), np.arange(6))
  out = jaxloss.infonce_loss(f32(q), f32(k), temperature=t, negatives=f32(neg), reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  lg = qn @ kn.T / t
  np.testing.assert_allclose(jaxloss.infonce_loss(f32(q), f32(k), temperature=t),
                             _np_ce_rows(lg, np.ones(lg.shape, bool), np.arange(6)).mean(),
                             rtol=RTOL)


def _np_ntxent(z1, z2, t):
  z = _np_normalize(np.concatenate([z1, z2]))
  n = len(z1)
  lg = z @ z.T / t
  keep = ~np.eye(2 * n, dtype=bool)
  per = _np_ce_rows(lg, keep, (np.arange(2 * n) + n) % (2 * n))
  return 0.5 * (per[:n] + per[n:])


@pytest.mark.parametrize("t", [0.07, 0.5])
def test_nt_xent_reference_and_optax(t):
  r = rng(21)
  z1, z2 = r.normal(size=(6, 5)), r.normal(size=(6, 5))
  ref = _np_ntxent(z1, z2, t)
  np.testing.assert_allclose(jaxloss.nt_xent_loss(f32(z1), f32(z2), temperature=t,
                                                  reduction="none"), ref, rtol=RTOL, atol=ATOL)
  ours = jaxloss.nt_xent_loss(f32(z1), f32(z2), temperature=t)
  np.testing.assert_allclose(ours, ref.mean(), rtol=RTOL)
  labels = jnp.concatenate([jnp.arange(6), jnp.arange(6)])
  theirs = optax.losses.ntxent(jnp.concatenate([f32(z1), f32(z2)]), labels, temperature=t)
  np.testing.assert_allclose(ours, theirs, rtol=RTOL)


def _np_supcon(x, y, t, valid=None):
  """pytorch-metric-learning 2.9 SupConLoss + AvgNonZeroReducer, re-derived in float64.

  Returns (per-anchor losses [N], reduced loss). Rows outside ``valid`` are not in
  the batch (loss 0). PML: no loss unless the batch has a positive and a negative
  pair; log_prob = s/t - logsumexp over all others; per-anchor loss
  -sum(pos * log_prob) / (n_pos + tiny); the mean over the losses > 0.
  """
  n = len(x)
  valid = np.ones(n, bool) if valid is None else np.asarray(valid)
  idx = np.flatnonzero(valid)
  xs, ys = _np_normalize(x[idx]), np.asarray(y)[idx]
  m = len(idx)
  out = np.zeros(n)
  pos = (ys[:, None] == ys[None, :]) & ~np.eye(m, dtype=bool)
  neg = ys[:, None] != ys[None, :]
  if not (pos.any() and neg.any()):
    return out, 0.0
  mat = xs @ xs.T / t
  mat = mat - mat.max(axis=1, keepdims=True)
  keep = pos | neg
  denom = np.array([_lse(mat[i][keep[i]]) if keep[i].any() else 0.0 for i in range(m)])
  log_prob = mat - denom[:, None]
  losses = -(pos * log_prob).sum(axis=1) / (pos.sum(axis=1) + np.finfo(np.float64).tiny)
  out[idx] = losses
  nonzero = losses[losses > 0]
  return out, (nonzero.mean() if len(nonzero) else 0.0)


def test_supcon_reference():
  x, y = _batch(22, n=9, classes=4)
  y[0] = 7                                    # an anchor without positives
  for t in (0.1, 0.5):
    ref, ref_mean = _np_supcon(x, y, t)
    out = jaxloss.supcon_loss(f32(x), jnp.asarray(y), temperature=t, reduction="none")
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(jaxloss.supcon_loss(f32(x), jnp.asarray(y), temperature=t),
                               ref_mean, rtol=RTOL)
  valid = np.array([True] * 6 + [False] * 3)
  ref, ref_mean = _np_supcon(x, y, 0.1, valid)
  xm = f32(np.where(valid[:, None], x, np.nan))
  out = jaxloss.supcon_loss(xm, jnp.asarray(y), where=jnp.asarray(valid), reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  np.testing.assert_allclose(jaxloss.supcon_loss(xm, jnp.asarray(y), where=jnp.asarray(valid)),
                             ref_mean, rtol=RTOL)


@pytest.mark.parametrize("labels,where", [
    ([0, 0, 0], None),                       # no negative pair (the formula gives log 2)
    ([1, 1, 1, 1, 1, 1], None),              # all one class
    ([0, 1, 2, 3, 4, 5], None),              # all distinct: no positive pair
    ([0, 0, 1, 2, 3, 4], None),              # only anchors 0, 1 have a positive
    ([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 0, 0]),  # where leaves one class
    ([0, 0, 1, 1, 2, 2], [1, 1, 1, 0, 0, 0]),  # where leaves a class without its positive
])
def test_supcon_degenerate_batches_match_pml(labels, where):
  x = rng(24).normal(size=(len(labels), 4))
  y = np.array(labels)
  valid = None if where is None else np.array(where, bool)
  ref, ref_mean = _np_supcon(x, y, 0.1, valid)
  w = None if valid is None else jnp.asarray(valid)
  out = jaxloss.supcon_loss(f32(x), jnp.asarray(y), where=w, reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  v, g = jax.value_and_grad(lambda e: jaxloss.supcon_loss(e, jnp.asarray(y), where=w))(f32(x))
  np.testing.assert_allclose(v, ref_mean, rtol=RTOL, atol=ATOL)
  chex.assert_tree_all_finite(g)
  if ref_mean == 0.0:
    assert float(v) == 0.0 and np.all(np.asarray(g) == 0)


def test_supcon_mean_skips_anchors_with_zero_loss():
  # AvgNonZeroReducer: anchors 0 and 1 (identical, every negative 90 logits below)
  # have loss exactly 0 and are not counted; the mean is over anchors 2, 3, 4.
  x = np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-0.8, 0.6], [-0.8, -0.6]])
  y = np.array([0, 0, 1, 1, 1])
  ref, ref_mean = _np_supcon(x, y, 0.02)
  assert np.all(ref[:2] == 0) and np.all(ref[2:] > 0)
  np.testing.assert_allclose(ref_mean, ref[2:].mean())
  out = jaxloss.supcon_loss(f32(x), jnp.asarray(y), temperature=0.02, reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  np.testing.assert_allclose(jaxloss.supcon_loss(f32(x), jnp.asarray(y), temperature=0.02),
                             ref_mean, rtol=RTOL)


def test_nt_xent_single_pair_is_zero_like_pml():
  # One pair: no negatives, so PML's NTXentLoss returns 0 (here each direction's
  # softmax has the positive alone: log 1 = 0), with a zero gradient.
  z1, z2 = f32(rng(25).normal(size=(3, 4))), f32(rng(26).normal(size=(3, 4)))
  for args, kw in (((z1[:1], z2[:1]), {}),
                   ((z1, z2), {"where": jnp.array([False, True, False])})):
    v, g = jax.value_and_grad(lambda a, b, kw=kw: jaxloss.nt_xent_loss(a, b, **kw),
                              argnums=(0, 1))(*args)
    assert float(v) == 0.0
    chex.assert_tree_all_finite(g)
    np.testing.assert_allclose(np.concatenate([np.ravel(x) for x in g]), 0.0, atol=1e-7)


def test_supcon_equals_ntxent_on_two_views():
  # With two views per label and one positive each, SupCon's L_out is NT-Xent.
  r = rng(23)
  z1, z2 = f32(r.normal(size=(5, 4))), f32(r.normal(size=(5, 4)))
  lab = jnp.concatenate([jnp.arange(5), jnp.arange(5)])
  np.testing.assert_allclose(jaxloss.supcon_loss(jnp.concatenate([z1, z2]), lab, temperature=0.3),
                             jaxloss.nt_xent_loss(z1, z2, temperature=0.3), rtol=RTOL)


def _np_clip(a, b, t):
  an, bn = _np_normalize(a), _np_normalize(b)
  lg = an @ bn.T / t
  keep = np.ones(lg.shape, bool)
  i2t = _np_ce_rows(lg, keep, np.arange(len(a)))
  t2i = _np_ce_rows(lg.T, keep, np.arange(len(a)))
  return 0.5 * (i2t + t2i)


def _np_siglip(a, b, t, bias):
  an, bn = _np_normalize(a), _np_normalize(b)
  lg = t * an @ bn.T + bias
  z = 2 * np.eye(len(a)) - 1
  return -np.sum(-np.logaddexp(0, -z * lg), axis=1)


def test_clip_and_siglip_reference():
  r = rng(24)
  a, b = r.normal(size=(7, 6)), r.normal(size=(7, 6))
  for t in (0.07, 1.0):
    ref = _np_clip(a, b, t)
    np.testing.assert_allclose(jaxloss.clip_loss(f32(a), f32(b), temperature=t, reduction="none"),
                               ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(jaxloss.clip_loss(f32(a), f32(b), temperature=jnp.float32(t)),
                               ref.mean(), rtol=RTOL)
  for t, bias in ((10.0, -10.0), (3.0, 0.5)):
    ref = _np_siglip(a, b, t, bias)
    np.testing.assert_allclose(
        jaxloss.siglip_loss(f32(a), f32(b), temperature=t, bias=bias, reduction="none"), ref,
        rtol=RTOL, atol=ATOL)
    # The paper: summed over all pairs, divided by the batch size.
    np.testing.assert_allclose(jaxloss.siglip_loss(f32(a), f32(b), temperature=t, bias=bias),
                               ref.sum() / 7, rtol=RTOL)


def test_clip_siglip_where_removes_pairs():
  r = rng(25)
  a, b = r.normal(size=(7, 6)), r.normal(size=(7, 6))
  valid = np.array([1, 1, 0, 1, 1, 0, 1], bool)
  pa, pb = (np.where(valid[:, None], v, np.nan) for v in (a, b))
  w = jnp.asarray(valid)
  np.testing.assert_allclose(jaxloss.clip_loss(f32(pa), f32(pb), where=w, temperature=0.3),
                             _np_clip(a[valid], b[valid], 0.3).mean(), rtol=RTOL)
  np.testing.assert_allclose(jaxloss.siglip_loss(f32(pa), f32(pb), where=w),
                             _np_siglip(a[valid], b[valid], 10.0, -10.0).mean(), rtol=RTOL)


def test_contrastive_family_grads_including_temperature():
  r = rng(26)
  with jax.enable_x64(True):
    a, b = jnp.asarray(r.normal(size=(5, 4))), jnp.asarray(r.normal(size=(5, 4)))
    y = jnp.array([0, 0, 1, 1, 2])
    t = jnp.asarray(0.3)
    check_grads(lambda a, b, t: jaxloss.clip_loss(a, b, temperature=t), (a, b, t), order=1,
                modes=["rev"])
    check_grads(lambda a, b, t, c: jaxloss.siglip_loss(a, b, temperature=t, bias=c),
                (a, b, jnp.asarray(2.0), jnp.asarray(-1.0)), order=1, modes=["rev"])
    check_grads(lambda a, b, t: jaxloss.nt_xent_loss(a, b, temperature=t), (a, b, t), order=1,
                modes=["rev"])
    check_grads(lambda a, b: jaxloss.infonce_loss(a, b, temperature=0.5), (a, b), order=1,
                modes=["rev"])
    check_grads(lambda a, t: jaxloss.supcon_loss(a, y, temperature=t), (a, t), order=1,
                modes=["rev"])


@pytest.mark.parametrize("name", ["clip_loss", "nt_xent_loss", "infonce_loss"])
def test_tiny_temperature_huge_norms_finite(name):
  fn = getattr(jaxloss, name)
  r = rng(27)
  a, b = f32(r.normal(size=(6, 5)) * 1e3), f32(r.normal(size=(6, 5)) * 1e3)
  for normalize in (True, False):
    v, g = jax.value_and_grad(lambda a, b, t, nm=normalize: fn(a, b, temperature=t, normalize=nm),
                              argnums=(0, 1, 2))(a, b, jnp.float32(0.01))
    chex.assert_tree_all_finite((v, g))
  v, g = jax.value_and_grad(lambda a, t: jaxloss.supcon_loss(a, jnp.arange(6) % 2, temperature=t),
                            argnums=(0, 1))(a, jnp.float32(0.01))
  chex.assert_tree_all_finite((v, g))


def test_siglip_large_scale_finite():
  r = rng(28)
  a, b = f32(r.normal(size=(6, 5)) * 1e3), f32(r.normal(size=(6, 5)))
  v, g = jax.value_and_grad(lambda a, t: jaxloss.siglip_loss(a, b, temperature=t, normalize=False),
                            argnums=(0, 1))(a, jnp.float32(100.0))
  chex.assert_tree_all_finite((v, g))


def test_contrastive_errors():
  a = f32(np.ones((4, 3)))
  with pytest.raises(LossInputError, match=r"clip_loss: x2 has shape \(4, 2\)"):
    jaxloss.clip_loss(a, a[:, :2])
  with pytest.raises(LossInputError, match="temperature must be > 0"):
    jaxloss.nt_xent_loss(a, a, temperature=0.0)
  with pytest.raises(LossInputError, match=r"negatives has shape \(2, 2\)"):
    jaxloss.infonce_loss(a, a, negatives=a[:2, :2])
  with pytest.raises(LossInputError, match="must have rank 2"):
    jaxloss.siglip_loss(a[0], a[0])


# --------------------------------------------------------------------------
# Margin-softmax heads and centre loss.
# --------------------------------------------------------------------------


def _pml_arcface_target(cos, m):
  """PML 2.9 ArcFaceLoss.modify_cosine_of_target_classes, re-derived: angles from the
  clamped cosine; cos(theta + m) while theta <= pi - m, else cos(theta) - m sin(m)."""
  theta = np.arccos(np.clip(cos, -1.0, 1.0))
  return np.where(theta <= np.pi - m, np.cos(theta + m), np.cos(theta) - m * np.sin(m))


def _pml_sphereface_target(cos, m):
  """PML LargeMarginSoftmaxLoss: (-1)^k cos(m theta) - 2k, k = floor(theta / (pi / m))."""
  theta = np.arccos(np.clip(cos, -1.0, 1.0))
  k = np.floor(theta / (np.pi / m))
  return (-1.0) ** k * np.cos(m * theta) - 2 * k


def _np_head(x, y, w, kind, margin, scale):
  xn, wn = _np_normalize(x), _np_normalize(w)
  cos = xn @ wn.T
  out = np.zeros(len(x))
  for i in range(len(x)):
    logits = cos[i].copy()
    if kind == "arc":
      logits[y[i]] = _pml_arcface_target(cos[i, y[i]], margin)
    elif kind == "cos":
      logits[y[i]] = cos[i, y[i]] - margin
    else:
      logits[y[i]] = _pml_sphereface_target(cos[i, y[i]], margin)
      logits = logits * np.linalg.norm(x[i])
    logits = scale * logits
    out[i] = _lse(logits) - logits[y[i]]
  return out


@pytest.mark.parametrize("kind,fn,margin,scale", [
    ("arc", "arcface_loss", 0.5, 64.0), ("arc", "arcface_loss", 0.3, 10.0),
    ("cos", "cosface_loss", 0.35, 64.0), ("sphere", "sphereface_loss", 4, 1.0),
    ("sphere", "sphereface_loss", 2, 1.5)])
def test_margin_heads_reference(kind, fn, margin, scale):
  r = rng(29)
  x, w, y = r.normal(size=(8, 5)), r.normal(size=(6, 5)), r.integers(0, 6, 8)
  ref = _np_head(x, y, w, kind, margin, scale)
  out = getattr(jaxloss, fn)(f32(x), jnp.asarray(y), f32(w), margin=margin, scale=scale,
                             reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=1e-5)


def test_arcface_margin_is_radians_pml_degrees():
  # PML's ArcFaceLoss(margin=28.6) means 28.6 degrees = np.radians(28.6) here.
  r = rng(30)
  x, w, y = r.normal(size=(8, 5)), r.normal(size=(6, 5)), r.integers(0, 6, 8)
  out = jaxloss.arcface_loss(f32(x), jnp.asarray(y), f32(w), margin=float(np.radians(28.6)),
                             reduction="none")
  np.testing.assert_allclose(out, _np_head(x, y, w, "arc", np.radians(28.6), 64.0), rtol=RTOL,
                             atol=1e-5)


def test_heads_vmap_per_example_and_grads():
  r = rng(31)
  x, w, y = f32(r.normal(size=(8, 5))), f32(r.normal(size=(6, 5))), jnp.asarray(r.integers(0, 6, 8))
  for fn in (jaxloss.arcface_loss, jaxloss.cosface_loss, jaxloss.sphereface_loss,
             jaxloss.center_loss):
    batched = fn(x, y, w, reduction="none")
    mapped = jax.vmap(lambda a, b, fn=fn: fn(a[None], b[None], w, reduction="none")[0])(x, y)
    np.testing.assert_allclose(batched, mapped, rtol=1e-5, atol=1e-6)
  with jax.enable_x64(True):
    xx, ww = jnp.asarray(np.asarray(x, np.float64)), jnp.asarray(np.asarray(w, np.float64))
    for fn in (jaxloss.arcface_loss, jaxloss.cosface_loss, jaxloss.sphereface_loss,
               jaxloss.center_loss):
      check_grads(lambda a, b, fn=fn: fn(a, y, b, scale=4.0) if fn is not jaxloss.center_loss
                  else fn(a, y, b), (xx, ww), order=1, modes=["rev"])


def _at_angles(theta):
  """Embeddings at angle theta from centre 0 = e1; centre 1 = e3 is orthogonal to all."""
  x = np.stack([np.cos(theta), np.sin(theta), np.zeros_like(theta)], axis=1)
  return x, np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("margin,scale", [(0.5, 64.0), (0.5, 1.0), (float(np.radians(28.6)), 30.0),
                                          (1.2, 4.0)])
def test_arcface_matches_pml_past_pi_minus_margin(margin, scale):
  # Angles on both sides of pi - m, up to pi: PML switches to cos(theta) - m sin(m) there.
  theta = np.concatenate([[0.0, 0.3, 1.5, 2.5], np.pi - margin + np.array([-1e-3, 1e-3]),
                          np.linspace(np.pi - margin + 0.05, np.pi, 5)])
  x, w = _at_angles(theta)
  y = np.zeros(len(theta), np.int64)
  ref = _np_head(x, y, w, "arc", margin, scale)
  out = jaxloss.arcface_loss(f32(x), jnp.asarray(y), f32(w), margin=margin, scale=scale,
                             reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=1e-5)
  # The same angles under plain cos(theta + m) (the old answer) differ there.
  past = theta > np.pi - margin
  plain = np.array([_lse([scale * np.cos(t + margin), 0.0]) - scale * np.cos(t + margin)
                    for t in theta])
  assert np.all(np.abs(plain[past] - ref[past]) > 1e-2)
  np.testing.assert_allclose(plain[~past], ref[~past], rtol=1e-9)


@pytest.mark.parametrize("fn,margin", [("arcface_loss", 0.5), ("arcface_loss", 1.0),
                                       ("sphereface_loss", 4), ("sphereface_loss", 3),
                                       ("cosface_loss", 0.35)])
def test_margin_head_loss_increases_with_the_angle(fn, margin):
  # PML keeps the target logit monotonically decreasing in theta on [0, pi].
  theta = np.linspace(0.0, np.pi, 721)
  x, w = _at_angles(theta)
  out = np.asarray(getattr(jaxloss, fn)(f32(x), jnp.zeros(len(theta), jnp.int32), f32(w),
                                        margin=margin, scale=1.0, reduction="none"))
  assert np.all(np.diff(out) >= -1e-6)


def test_sphereface_grad_exact_near_cos_one():
  # cos(m theta) = T_m(cos theta) is a polynomial in the cosine: near cos = +-1 the
  # gradient is the true one (clamping the cosine to 1 - 1e-7 before arccos zeroes it
  # there). Reference: central differences of the float64 PML re-derivation.
  r = rng(35)
  w = r.normal(size=(4, 3))
  y = np.arange(4)
  for sign in (1.0, -1.0):
    x = sign * w + 1e-4 * r.normal(size=w.shape)          # |cos| = 1 - O(1e-9)
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
      xp, xm = x.copy(), x.copy()
      xp[idx] += 1e-6
      xm[idx] -= 1e-6
      fd[idx] = (_np_head(xp, y, w, "sphere", 4, 1.0).mean()
                 - _np_head(xm, y, w, "sphere", 4, 1.0).mean()) / 2e-6
    with jax.enable_x64(True):
      g = jax.grad(lambda a: jaxloss.sphereface_loss(a, jnp.asarray(y), jnp.asarray(w)))(
          jnp.asarray(x))
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)


def test_arcface_embedding_equal_to_weight_finite_grad():
  w = f32(rng(32).normal(size=(4, 3)))
  y = jnp.arange(4)
  for fn in (jaxloss.arcface_loss, jaxloss.sphereface_loss, jaxloss.cosface_loss):
    for x in (w, -w):
      g = jax.grad(lambda a, b, fn=fn: fn(a, y, b), argnums=(0, 1))(x, w)
      chex.assert_tree_all_finite(g)
  # cos theta exactly +-1 at the target (unit axes): the value is PML's (angle 0 or pi
  # from the clamped cosine) and the gradient finite.
  w2 = np.array([[1.0, 0.0], [0.0, 1.0]])
  for x2 in (np.array([[1.0, 0.0]]), np.array([[-1.0, 0.0]])):
    for fn, kind, m in (("arcface_loss", "arc", 0.5), ("sphereface_loss", "sphere", 4)):
      v, g = jax.value_and_grad(lambda a, b, fn=fn, m=m: getattr(jaxloss, fn)(
          a, jnp.array([0]), b, margin=m, scale=1.0), argnums=(0, 1))(f32(x2), f32(w2))
      np.testing.assert_allclose(v, _np_head(x2, [0], w2, kind, m, 1.0)[0], rtol=1e-6)
      chex.assert_tree_all_finite(g)


def test_center_loss_and_update():
  r = rng(33)
  x, c, y = r.normal(size=(7, 4)), r.normal(size=(3, 4)), np.array([0, 1, 0, 1, 0, 1, 1])
  ref = 0.5 * np.sum((x - c[y]) ** 2, axis=1)
  np.testing.assert_allclose(jaxloss.center_loss(f32(x), jnp.asarray(y), f32(c), reduction="none"),
                             ref, rtol=RTOL)
  alpha = 0.5
  new = c.copy()
  for j in range(3):
    m = y == j
    delta = np.sum(c[j] - x[m], axis=0) / (1 + m.sum())
    new[j] = c[j] - alpha * delta
  out = jaxloss.update_centers(f32(x), jnp.asarray(y), f32(c), alpha=alpha)
  np.testing.assert_allclose(out, new, rtol=RTOL, atol=ATOL)
  np.testing.assert_allclose(out[2], c[2], rtol=1e-6)          # absent class unchanged


def test_head_errors():
  x, w = f32(np.ones((4, 3))), f32(np.ones((5, 3)))
  with pytest.raises(LossInputError, match=r"arcface_loss: centers has shape \(5, 2\)"):
    jaxloss.arcface_loss(x, jnp.arange(4), w[:, :2])
  with pytest.raises(LossInputError, match=r"labels has shape \(3,\)"):
    jaxloss.cosface_loss(x, jnp.arange(3), w)
  with pytest.raises(LossInputError, match=r"centers has shape"):
    jaxloss.center_loss(x, jnp.arange(4), w[:, :1])


# --------------------------------------------------------------------------
# Learning to rank.
# --------------------------------------------------------------------------


def _np_ranknet(s, y, mask):
  out = []
  for si, yi, mi in zip(s, y, mask, strict=True):
    t = [np.logaddexp(0, -(si[i] - si[j])) for i in range(len(si)) for j in range(len(si))
         if mi[i] and mi[j] and yi[i] > yi[j]]
    out.append(np.mean(t) if t else 0.0)
  return np.array(out)


def _np_listnet(s, y, mask, dist):
  out = []
  for si, yi, mi in zip(s, y, mask, strict=True):
    si, yi = si[mi], yi[mi]
    logp = si - _lse(si)
    if dist == "softmax":
      p = np.exp(yi - _lse(yi))
    elif dist is None:
      p = yi
    else:
      p = yi / yi.sum() if yi.sum() != 0 else np.zeros_like(yi)
    out.append(-np.sum(p * logp))
  return np.array(out)


def _np_listmle(s, y, mask):
  out = []
  for si, yi, mi in zip(s, y, mask, strict=True):
    si, yi = si[mi], yi[mi]
    order = np.argsort(-yi, kind="stable")
    ss = si[order]
    out.append(sum(_lse(ss[k:]) - ss[k] for k in range(len(ss))))
  return np.array(out)


def test_ranking_references():
  r = rng(34)
  s = r.normal(size=(4, 6))
  y = r.integers(0, 4, size=(4, 6)).astype(np.float64)
  mask = r.random((4, 6)) < 0.8
  mask[:, 0] = True
  full = np.ones_like(mask)
  for m, w in ((full, None), (mask, jnp.asarray(mask))):
    np.testing.assert_allclose(jaxloss.ranknet_loss(f32(s), f32(y), where=w, reduction="none"),
                               _np_ranknet(s, y, m), rtol=RTOL, atol=ATOL)
    for dist in ("softmax", "sum", None):
      np.testing.assert_allclose(
          jaxloss.listnet_loss(f32(s), f32(y), label_distribution=dist, where=w,
                               reduction="none"), _np_listnet(s, y, m, dist), rtol=RTOL, atol=ATOL)
    # Distinct labels so the ordering is unique.
    yd = np.argsort(r.random((4, 6)), axis=1).astype(np.float64)
    np.testing.assert_allclose(jaxloss.listmle_loss(f32(s), f32(yd), where=w, reduction="none"),
                               _np_listmle(s, yd, m), rtol=RTOL, atol=ATOL)


def test_listnet_sum_equals_optax_ranking_softmax():
  r = rng(35)
  s, y = f32(r.normal(size=(5, 7))), f32(r.integers(0, 3, size=(5, 7)))
  mask = jnp.asarray(r.random((5, 7)) < 0.8)
  for w in (None, mask):
    ours = jaxloss.listnet_loss(s, y, label_distribution=None, where=w)
    theirs = optax.losses.ranking_softmax_loss(s, y, where=w)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL)


def test_ranking_masked_nan_and_grads():
  r = rng(36)
  s = r.normal(size=(3, 5))
  y = np.argsort(r.random((3, 5)), axis=1).astype(np.float64)
  mask = np.ones((3, 5), bool)
  mask[:, -1] = False
  poisoned = np.where(mask, s, np.nan)
  for fn in (jaxloss.ranknet_loss, jaxloss.listnet_loss, jaxloss.listmle_loss):
    v1, g1 = jax.value_and_grad(lambda a, fn=fn: fn(a, f32(y), where=jnp.asarray(mask)))(f32(s))
    v2, g2 = jax.value_and_grad(lambda a, fn=fn: fn(a, f32(y), where=jnp.asarray(mask)))(
        f32(poisoned))
    chex.assert_trees_all_close((v1, g1), (v2, g2), rtol=1e-6)
    chex.assert_tree_all_finite(g2)
  with jax.enable_x64(True):
    for fn in (jaxloss.ranknet_loss, jaxloss.listnet_loss, jaxloss.listmle_loss):
      check_grads(lambda a, fn=fn: fn(a, jnp.asarray(y)), (jnp.asarray(s),), order=1,
                  modes=["rev"])


# --------------------------------------------------------------------------
# Re-ID compound.
# --------------------------------------------------------------------------


def test_reid_loss_parts():
  x, y = _batch(37, n=8, classes=3)
  logits = rng(37).normal(size=(8, 3))
  eps = 0.1
  q = (1 - eps) * np.eye(3)[y] + eps / 3
  logp = logits - np.array([_lse(v) for v in logits])[:, None]
  ce = -np.sum(q * logp, axis=1)
  trip, ok = _np_triplet_batch(x, y, "hard", 0.3, normalize=False)
  total, parts = jaxloss.reid_loss(f32(x), jnp.asarray(y), f32(logits), return_components=True)
  np.testing.assert_allclose(parts["ce"], ce.mean(), rtol=RTOL)
  np.testing.assert_allclose(parts["triplet"], trip[ok].mean(), rtol=RTOL)
  np.testing.assert_allclose(total, ce.mean() + trip[ok].mean(), rtol=RTOL)
  none = jaxloss.reid_loss(f32(x), jnp.asarray(y), f32(logits), triplet_weight=2.0,
                           reduction="none")
  np.testing.assert_allclose(none, ce + 2.0 * trip, rtol=RTOL, atol=ATOL)
  # has_aux composes with value_and_grad.
  (v, aux), g = jax.value_and_grad(
      lambda e: jaxloss.reid_loss(e, jnp.asarray(y), f32(logits), return_components=True),
      has_aux=True)(f32(x))
  chex.assert_tree_all_finite(g)
  assert set(aux) == {"ce", "triplet"}


def test_reid_loss_components_are_the_unweighted_public_losses():
  x, y = _batch(39, n=8, classes=3)
  x, y = f32(x), jnp.asarray(y)
  logits = f32(rng(39).normal(size=(8, 3)))
  kw = dict(ce_weight=0.7, triplet_weight=2.5, label_smoothing=0.2, margin=0.4)
  for reduction in ("mean", "sum", "none"):
    total, parts = jaxloss.reid_loss(x, y, logits, reduction=reduction, return_components=True,
                                     **kw)
    ce = jaxloss.cross_entropy(logits, y, label_smoothing=0.2, reduction=reduction)
    trip = jaxloss.triplet_loss(x, y, mining="hard", margin=0.4, normalize=False,
                                reduction=reduction)
    np.testing.assert_allclose(parts["ce"], ce, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(parts["triplet"], trip, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(total, 0.7 * ce + 2.5 * trip, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(jaxloss.reid_loss(x, y, logits, reduction=reduction, **kw), total,
                               rtol=1e-6)


def test_renamed_arguments_by_keyword():
  r = rng(40)
  x, c, y = f32(r.normal(size=(6, 4))), f32(r.normal(size=(3, 4))), jnp.arange(6) % 3
  for fn in (jaxloss.arcface_loss, jaxloss.cosface_loss, jaxloss.sphereface_loss,
             jaxloss.center_loss, jaxloss.proxy_anchor_loss):
    np.testing.assert_allclose(fn(embeddings=x, labels=y, centers=c), fn(x, y, c), rtol=1e-6)
  b = f32(r.normal(size=(6, 4)))
  for fn in (jaxloss.clip_loss, jaxloss.siglip_loss, jaxloss.infonce_loss, jaxloss.nt_xent_loss):
    np.testing.assert_allclose(fn(x1=x, x2=b), fn(x, b), rtol=1e-6)
  s1, s2, pm = f32(r.normal(size=6)), f32(r.normal(size=6)), f32(np.sign(r.normal(size=6)))
  np.testing.assert_allclose(jaxloss.margin_ranking_loss(x1=s1, x2=s2, labels=pm),
                             jaxloss.margin_ranking_loss(s1, s2, pm), rtol=1e-6)
  np.testing.assert_allclose(jaxloss.cosine_embedding_loss(x1=x, x2=b, labels=pm),
                             jaxloss.cosine_embedding_loss(x, b, pm), rtol=1e-6)
  np.testing.assert_allclose(jaxloss.hinge_embedding_loss(distances=jnp.abs(s1), labels=pm),
                             jaxloss.hinge_embedding_loss(jnp.abs(s1), pm), rtol=1e-6)
  lst, rel = f32(r.normal(size=(2, 5))), f32(r.integers(0, 3, size=(2, 5)))
  for fn in (jaxloss.ranknet_loss, jaxloss.listnet_loss, jaxloss.listmle_loss):
    np.testing.assert_allclose(fn(logits=lst, labels=rel), fn(lst, rel), rtol=1e-6)
  np.testing.assert_allclose(jaxloss.circle_loss(x, y, margin=0.25),
                             _np_circle(np.asarray(x, np.float64), np.asarray(y), 0.25)[0].mean(),
                             rtol=RTOL)
  logits = f32(r.normal(size=(6, 3)))
  np.testing.assert_allclose(jaxloss.reid_loss(embeddings=x, labels=y, logits=logits),
                             jaxloss.reid_loss(x, y, logits), rtol=1e-6)


# --------------------------------------------------------------------------
# Distances and properties.
# --------------------------------------------------------------------------


def test_pairwise_distances_reference_and_zero_grad():
  x = rng(38).normal(size=(5, 3))
  np.testing.assert_allclose(jaxloss.pairwise_distances(f32(x)), _np_dist(x), rtol=1e-5,
                             atol=1e-5)
  same = jnp.tile(f32(x[:1]), (4, 1))
  g = jax.grad(lambda e: jnp.sum(jaxloss.pairwise_distances(e)))(same)
  chex.assert_tree_all_finite(g)


_emb = hnp.arrays(np.float32, (6, 3), elements=st.floats(-5, 5, width=32))


@settings(max_examples=20, deadline=None)
@given(_emb, st.sampled_from(["all", "hard", "semi-hard"]))
def test_triplet_loss_nonnegative_property(x, mining):
  v = jaxloss.triplet_loss(jnp.asarray(x), jnp.array([0, 0, 1, 1, 2, 2]), mining=mining)
  assert np.isfinite(v) and v >= 0


@settings(max_examples=20, deadline=None)
@given(_emb, _emb)
def test_clip_symmetric_and_siglip_nonnegative_property(a, b):
  a, b = jnp.asarray(a), jnp.asarray(b)
  np.testing.assert_allclose(jaxloss.clip_loss(a, b, temperature=0.5),
                             jaxloss.clip_loss(b, a, temperature=0.5), rtol=1e-5, atol=1e-6)
  assert jaxloss.siglip_loss(a, b) >= 0


@settings(max_examples=20, deadline=None)
@given(_emb)
def test_contrastive_zero_at_perfect_pair_property(x):
  x = jnp.asarray(x)
  assert float(jaxloss.contrastive_loss(x, x, jnp.ones(6))) == 0.0
  # Well-separated dissimilar pairs also give 0.
  assert float(jaxloss.contrastive_loss(x, x + 100.0, jnp.zeros(6), margin=1.0)) == 0.0
