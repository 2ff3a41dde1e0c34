"""Tests for jaxloss.self_supervised: VICReg, Barlow Twins, BYOL, DINO (+ centre, Sinkhorn-Knopp,
KoLeo, iBOT), SwAV.

References are independent float64 NumPy implementations written from the papers' equations
and from the official code's formulas (facebookresearch/vicreg main_vicreg.py,
facebookresearch/barlowtwins main.py, facebookresearch/dinov2 dinov2/loss/*.py,
facebookresearch/swav main_swav.py), with explicit loops where the official code loops.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import close, f32, f32s, rng

import jaxloss
from jaxloss import LossInputError


def _views(seed, n=10, d=6, noise=0.4):
  r = rng(seed)
  a = r.normal(size=(n, d)).astype(np.float32).astype(np.float64)
  b = (a + noise * r.normal(size=(n, d))).astype(np.float32).astype(np.float64)
  return a, b


def _grad_fd(f, x, h=1e-3):
  """Central finite differences of a float64 NumPy scalar function."""
  g = np.zeros_like(x)
  for idx in np.ndindex(x.shape):
    e = np.zeros_like(x)
    e[idx] = h
    g[idx] = (f(x + e) - f(x - e)) / (2 * h)
  return g


# ------------------------------------------------------------------------ VICReg


def vicreg_ref(x, y, sim=25.0, std=25.0, cov=1.0, eps=1e-4):
  n, d = x.shape
  inv = np.mean((x - y) ** 2)
  var_terms, cov_terms = 0.0, 0.0
  for z in (x, y):
    zc = z - z.mean(axis=0)
    s = np.sqrt(np.var(z, axis=0, ddof=1) + eps)
    var_terms += np.mean(np.maximum(0.0, 1.0 - s)) / 2
    c = zc.T @ zc / (n - 1)
    off = sum(c[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
    cov_terms += off / d
  return sim * inv + std * var_terms + cov * cov_terms, (inv, var_terms, cov_terms)


@pytest.mark.parametrize("seed", [0, 1])
def test_vicreg_matches_reference(seed):
  a, b = _views(seed)
  want, (inv, var, cov) = vicreg_ref(a, b)
  total, parts = jaxloss.vicreg_loss(*f32s(a, b), return_components=True)
  close(total, want)
  close(parts["invariance"], inv)
  close(parts["variance"], var)
  close(parts["covariance"], cov)
  kw = {"sim_coeff": 1.0, "std_coeff": 2.0, "cov_coeff": 0.5, "eps": 1e-3}
  close(jaxloss.vicreg_loss(*f32s(a, b), **kw), vicreg_ref(a, b, 1.0, 2.0, 0.5, 1e-3)[0])
  # "sum": the invariance term summed over the samples; the batch terms unchanged.
  close(jaxloss.vicreg_loss(*f32s(a, b), reduction="sum"),
        want + 25.0 * (len(a) - 1) * inv)


def test_vicreg_small_variance_engages_hinge():
  a, b = _views(2, noise=0.1)
  a, b = 0.05 * a, 0.05 * b   # std < 1: the variance hinge is active
  close(jaxloss.vicreg_loss(*f32s(a, b)), vicreg_ref(a, b)[0])


def test_vicreg_gradient_matches_finite_differences():
  a, b = _views(3, n=5, d=3)
  g = jax.grad(jaxloss.vicreg_loss)(*f32s(a, b))
  close(g, _grad_fd(lambda x: vicreg_ref(x, b)[0], a), rtol=1e-3, atol=1e-4)


def test_vicreg_where_removes_rows():
  a, b = _views(4)
  keep = np.array([True] * 7 + [False] * 3)
  bad_a = a.copy()
  bad_a[~keep] = np.nan
  got = jaxloss.vicreg_loss(*f32s(bad_a, b), where=jnp.asarray(keep))
  close(got, vicreg_ref(a[keep], b[keep])[0])
  g = jax.grad(jaxloss.vicreg_loss)(*f32s(bad_a, b), where=jnp.asarray(keep))
  chex.assert_tree_all_finite(g)
  assert np.all(np.asarray(g)[~keep] == 0)


def test_vicreg_edges():
  a, _ = _views(5)
  const = np.tile(a[:1], (10, 1))
  # Collapse: both views constant -> invariance 0, variance hinge 1 - sqrt(eps), covariance 0.
  total, parts = jaxloss.vicreg_loss(*f32s(const, const), return_components=True)
  close(parts["variance"], 1.0 - np.sqrt(1e-4))
  close(parts["covariance"], 0.0)
  close(total, 25.0 * (1.0 - np.sqrt(1e-4)))
  g = jax.grad(jaxloss.vicreg_loss)(*f32s(const, const))
  chex.assert_tree_all_finite(g)
  # One row: the unbiased (co)variances are defined as 0 (finite, not NaN).
  v, g = jax.value_and_grad(jaxloss.vicreg_loss)(*f32s(a[:1], a[:1]))
  close(v, 25.0 * (1.0 - np.sqrt(1e-4)))
  chex.assert_tree_all_finite(g)
  assert float(jaxloss.vicreg_loss(*f32s(a, a), where=jnp.zeros(10, bool))) == 0.0


def test_vicreg_bad_inputs():
  a, b = _views(6)
  with pytest.raises(LossInputError, match="^vicreg_loss: x2 has shape"):
    jaxloss.vicreg_loss(f32(a), f32(b[:, :-1]))
  with pytest.raises(LossInputError, match="^vicreg_loss: x1 must have rank 2"):
    jaxloss.vicreg_loss(f32(a[0]), f32(b[0]))
  with pytest.raises(LossInputError, match="^vicreg_loss: eps must be > 0"):
    jaxloss.vicreg_loss(f32(a), f32(b), eps=0.0)


# ------------------------------------------------------------------------ Barlow Twins


def barlow_ref(x, y, lambd=0.0051, eps=1e-5):
  n, d = x.shape

  def bn(z):   # BatchNorm1d(affine=False), training mode: biased variance
    return (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps)

  c = bn(x).T @ bn(y) / n
  on = sum((c[i, i] - 1.0) ** 2 for i in range(d))
  off = sum(c[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
  return on + lambd * off, (on, off)


@pytest.mark.parametrize("seed", [0, 1])
def test_barlow_matches_reference(seed):
  a, b = _views(seed, n=12, d=5)
  close(jaxloss.barlow_twins_loss(*f32s(a, b)), barlow_ref(a, b)[0])
  close(jaxloss.barlow_twins_loss(*f32s(a, b), lambd=0.5, eps=1e-3),
        barlow_ref(a, b, 0.5, 1e-3)[0])


def test_barlow_differs_from_monai_convention():
  # MONAI standardises with the unbiased std (+1e-6): the value differs by O(1/N).
  a, b = _views(7, n=6, d=4)

  def monai(x, y, lambd=0.0051):
    nx_ = (x - x.mean(0)) / (x.std(0, ddof=1) + 1e-6)
    ny_ = (y - y.mean(0)) / (y.std(0, ddof=1) + 1e-6)
    c = nx_.T @ ny_ / x.shape[0]
    diff = (c - np.eye(x.shape[1])) ** 2
    diff[~np.eye(x.shape[1], dtype=bool)] *= lambd
    return diff.sum()

  got = float(jaxloss.barlow_twins_loss(*f32s(a, b)))
  close(got, barlow_ref(a, b)[0])
  assert abs(got - monai(a, b)) > 1e-3


def test_barlow_gradient_matches_finite_differences():
  a, b = _views(8, n=6, d=3)
  g = jax.grad(jaxloss.barlow_twins_loss, argnums=1)(*f32s(a, b))
  close(g, _grad_fd(lambda y: barlow_ref(a, y)[0], b), rtol=1e-3, atol=1e-4)


def test_barlow_where_and_edges():
  a, b = _views(9)
  keep = np.array([True, False] * 5)
  bad_b = b.copy()
  bad_b[~keep] = np.inf
  close(jaxloss.barlow_twins_loss(*f32s(a, bad_b), where=jnp.asarray(keep)),
        barlow_ref(a[keep], b[keep])[0])
  g = jax.grad(jaxloss.barlow_twins_loss, argnums=(0, 1))(*f32s(a, bad_b),
                                                          where=jnp.asarray(keep))
  chex.assert_tree_all_finite(g)
  const = np.tile(a[:1], (10, 1))
  # Constant features standardise to 0: C = 0, on-diagonal sum = D.
  v, g = jax.value_and_grad(jaxloss.barlow_twins_loss)(*f32s(const, const))
  close(v, 6.0)
  chex.assert_tree_all_finite(g)
  assert float(jaxloss.barlow_twins_loss(*f32s(a, b), where=jnp.zeros(10, bool))) == 0.0


# ------------------------------------------------------------------------ BYOL


def byol_ref(p, z):
  cos = np.sum(p * z, -1) / (np.linalg.norm(p, axis=-1) * np.linalg.norm(z, axis=-1))
  return 2.0 - 2.0 * cos


def test_byol_matches_reference():
  a, b = _views(10, n=7, d=5, noise=1.0)
  close(jaxloss.byol_loss(*f32s(a, b), reduction="none"), byol_ref(a, b))
  close(jaxloss.byol_loss(*f32s(a, b)), byol_ref(a, b).mean())
  close(jaxloss.byol_loss(*f32s(a, b), reduction="sum"), byol_ref(a, b).sum())
  # Any leading shape: [views, N, D].
  a3, b3 = np.stack([a, b]), np.stack([b, a])
  close(jaxloss.byol_loss(*f32s(a3, b3), reduction="none"), byol_ref(a3, b3))


def test_byol_gradient_and_stop_gradient():
  a, b = _views(11, n=4, d=3, noise=1.0)
  gp, gz = jax.grad(jaxloss.byol_loss, argnums=(0, 1))(*f32s(a, b))
  close(gp, _grad_fd(lambda x: byol_ref(x, b).mean(), a), rtol=1e-3, atol=1e-5)
  assert np.all(np.asarray(gz) == 0)   # the targets' gradient is stopped


def test_byol_edges_and_where():
  a, b = _views(12, n=6, d=4)
  close(jaxloss.byol_loss(*f32s(a, 3.0 * a), reduction="none"), np.zeros(6), atol=1e-6)
  close(jaxloss.byol_loss(*f32s(a, -a), reduction="none"), np.full(6, 4.0))
  v, g = jax.value_and_grad(jaxloss.byol_loss)(*f32s(np.zeros_like(a), b))
  close(v, 1.0)    # a zero vector normalises to 0
  chex.assert_tree_all_finite(g)
  keep = np.array([True, True, False, True, False, True])
  bad = a.copy()
  bad[~keep] = np.nan
  close(jaxloss.byol_loss(*f32s(bad, b), where=jnp.asarray(keep)), byol_ref(a, b)[keep].mean())
  g = jax.grad(jaxloss.byol_loss)(*f32s(bad, b), where=jnp.asarray(keep))
  assert np.all(np.isfinite(np.asarray(g))) and np.all(np.asarray(g)[~keep] == 0)
  with pytest.raises(LossInputError, match="^byol_loss: targets has shape"):
    jaxloss.byol_loss(f32(a), f32(b[:, :-1]))


# ------------------------------------------------------------------------ DINO / iBOT / SwAV


def softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def log_softmax(x):
  m = x.max(-1, keepdims=True)
  return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def sinkhorn_ref(out, eps=0.05, iters=3):
  """The official exp-then-normalise algorithm (SwAV distributed_sinkhorn, one device)."""
  q = np.exp(out / eps).T          # K x B
  b, k = q.shape[1], q.shape[0]
  q = q / q.sum()
  for _ in range(iters):
    q = q / q.sum(axis=1, keepdims=True)
    q = q / k
    q = q / q.sum(axis=0, keepdims=True)
    q = q / b
  return (q * b).T


def dino_ref(student, teacher, center, stemp=0.1, ttemp=0.04, sinkhorn=False):
  """DINOv2's SSLMetaArch pairing: global crops crosswise, locals with every global."""
  n_s, b, _ = student.shape
  n_t = teacher.shape[0]
  if sinkhorn:
    q = sinkhorn_ref(teacher.reshape(n_t * b, -1), ttemp).reshape(teacher.shape)
  else:
    q = softmax((teacher - center) / ttemp)
  total, n_terms = np.zeros(b), 0
  for s in range(n_s):
    lsm = log_softmax(student[s] / stemp)
    for t in range(n_t):
      if s == t:
        continue
      total += -np.sum(q[t] * lsm, axis=-1)
      n_terms += 1
  return total / n_terms


def _crops_data(seed, s=4, t=2, b=6, k=5, scale=2.0):
  r = rng(seed)
  st = (scale * r.normal(size=(s, b, k))).astype(np.float32).astype(np.float64)
  te = (scale * r.normal(size=(t, b, k))).astype(np.float32).astype(np.float64)
  c = (0.3 * r.normal(size=(k,))).astype(np.float32).astype(np.float64)
  return st, te, c


@pytest.mark.parametrize("shape", [(4, 2), (2, 2), (5, 1), (3, 3)])
def test_dino_matches_reference(shape):
  st, te, c = _crops_data(20, *shape)
  want = dino_ref(st, te, c)
  close(jaxloss.dino_loss(*f32s(st, te, c), reduction="none"), want, rtol=2e-5)
  close(jaxloss.dino_loss(*f32s(st, te, c)), want.mean(), rtol=2e-5)
  close(jaxloss.dino_loss(*f32s(st, te, c), student_temp=0.2, teacher_temp=0.07),
        dino_ref(st, te, c, 0.2, 0.07).mean(), rtol=2e-5)
  # The DINOv2 buffer shape (1, K) is accepted.
  close(jaxloss.dino_loss(*f32s(st, te, c[None])), want.mean(), rtol=2e-5)


def test_dino_sinkhorn_centering_matches_reference():
  st, te, _ = _crops_data(21, scale=0.2)   # |t| / 0.04 small enough for the exp reference
  got = jaxloss.dino_loss(*f32s(st, te), None, centering="sinkhorn_knopp", reduction="none")
  close(got, dino_ref(st, te, None, sinkhorn=True), rtol=1e-4)


def test_dino_gradient_only_to_student():
  st, te, c = _crops_data(22, 3, 2, 3, 4)
  gs, gt, gc = jax.grad(jaxloss.dino_loss, argnums=(0, 1, 2))(*f32s(st, te, c))
  assert np.all(np.asarray(gt) == 0) and np.all(np.asarray(gc) == 0)
  close(gs, _grad_fd(lambda x: dino_ref(x, te, c).mean(), st, h=1e-4), rtol=1e-3, atol=1e-5)


def test_dino_where_and_edges():
  st, te, c = _crops_data(23)
  keep = np.array([True, False, True, True, False, True])
  bad_s, bad_t = st.copy(), te.copy()
  bad_s[:, ~keep] = np.nan
  bad_t[:, ~keep] = np.inf
  w = jnp.asarray(keep)
  for centering in ("center", "sinkhorn_knopp"):
    kw = {"centering": centering, "where": w}
    got = jaxloss.dino_loss(*f32s(bad_s, bad_t, c), **kw)
    if centering == "center":
      close(got, dino_ref(st[:, keep], te[:, keep], c).mean(), rtol=2e-5)
    g = jax.grad(jaxloss.dino_loss)(*f32s(bad_s, bad_t, c), **kw)
    assert np.all(np.isfinite(np.asarray(g))) and np.all(np.asarray(g)[:, ~keep] == 0)
  # Saturated logits: finite value and gradient.
  v, g = jax.value_and_grad(jaxloss.dino_loss)(*f32s(1e4 * st, 1e4 * te, c))
  assert np.isfinite(float(v)) and np.all(np.isfinite(np.asarray(g)))
  with pytest.raises(LossInputError, match="^dino_loss: teacher_logits has shape"):
    jaxloss.dino_loss(*f32s(st[:1], te, c))
  with pytest.raises(LossInputError, match="^dino_loss: student_logits has shape"):
    jaxloss.dino_loss(*f32s(st[:1], te[:1], c))
  with pytest.raises(LossInputError, match="^dino_loss: center has shape"):
    jaxloss.dino_loss(*f32s(st, te, c[:-1]))
  with pytest.raises(LossInputError, match="^dino_loss: teacher_temp must be > 0"):
    jaxloss.dino_loss(*f32s(st, te, c), teacher_temp=0.0)


def test_update_center_matches_ema():
  _, te, c = _crops_data(24)
  want = 0.9 * c + 0.1 * te.reshape(-1, te.shape[-1]).mean(0)
  close(jaxloss.update_center(*f32s(c, te)), want)
  close(jaxloss.update_center(*f32s(c[None], te), momentum=0.5),
        (0.5 * c + 0.5 * te.reshape(-1, te.shape[-1]).mean(0))[None])
  keep = np.zeros(te.shape[:-1], bool)
  keep[0, :3] = True
  close(jaxloss.update_center(*f32s(c, te), where=jnp.asarray(keep)),
        0.9 * c + 0.1 * te[keep].mean(0))


def test_sinkhorn_matches_official_algorithm():
  r = rng(25)
  out = np.clip(r.normal(size=(7, 4)) * 0.5, -1, 1).astype(np.float32).astype(np.float64)
  close(jaxloss.sinkhorn_knopp(f32(out)), sinkhorn_ref(out), rtol=1e-4, atol=1e-6)
  close(jaxloss.sinkhorn_knopp(f32(out), epsilon=0.1, iters=7),
        sinkhorn_ref(out, 0.1, 7), rtol=1e-4, atol=1e-6)
  # Rows sum to 1; columns approach N / K with iterations.
  q = np.asarray(jaxloss.sinkhorn_knopp(f32(out), epsilon=1.0, iters=20), np.float64)
  close(q.sum(1), np.ones(7))
  close(q.sum(0), np.full(4, 7 / 4), rtol=1e-3)
  # Log space: scores far beyond exp's float32 range stay finite.
  big = jaxloss.sinkhorn_knopp(f32(out * 1e3))
  assert np.all(np.isfinite(np.asarray(big)))
  close(np.asarray(big).sum(1), np.ones(7))
  # where: excluded rows are 0 and the others are the sub-batch's assignment.
  keep = np.array([True, True, False, True, True, False, True])
  bad = out.copy()
  bad[~keep] = np.nan
  got = np.asarray(jaxloss.sinkhorn_knopp(f32(bad), where=jnp.asarray(keep)))
  close(got[keep], sinkhorn_ref(out[keep]), rtol=1e-4, atol=1e-6)
  assert np.all(got[~keep] == 0)


def ibot_ref(student, teacher, center, masks, stemp=0.1, ttemp=0.04):
  t = softmax((teacher - center) / ttemp)
  loss = np.sum(t * log_softmax(student / stemp), axis=-1)
  loss = np.sum(loss * masks, axis=-1) / np.maximum(masks.sum(-1), 1.0)
  return -loss.mean()


def test_ibot_matches_reference():
  r = rng(26)
  s, t = (2.0 * r.normal(size=(2, 5, 7, 6))).astype(np.float32).astype(np.float64)
  c = (0.2 * r.normal(size=6)).astype(np.float32).astype(np.float64)
  masks = r.random((5, 7)) < 0.4
  masks[1] = False                   # an image without a masked patch counts with 0
  got = jaxloss.ibot_patch_loss(*f32s(s, t, c), where=jnp.asarray(masks))
  close(got, ibot_ref(s, t, c, masks))
  close(jaxloss.ibot_patch_loss(*f32s(s, t, c)), ibot_ref(s, t, c, np.ones((5, 7))))
  per_patch = -np.sum(softmax((t - c) / 0.04) * log_softmax(s / 0.1), -1) * masks
  close(jaxloss.ibot_patch_loss(*f32s(s, t, c), where=jnp.asarray(masks), reduction="none"),
        per_patch)
  close(jaxloss.ibot_patch_loss(*f32s(s, t, c), where=jnp.asarray(masks), reduction="sum"),
        per_patch.sum())
  # Sinkhorn centring over the masked patches only.
  ts = 0.04 * np.clip(t, -3, 3)
  q = np.zeros_like(t)
  q[masks] = sinkhorn_ref(ts[masks], 0.04)
  want = -np.sum(np.sum(q * log_softmax(s / 0.1), -1) * masks, -1) / np.maximum(
      masks.sum(-1), 1)
  got = jaxloss.ibot_patch_loss(*f32s(s, ts), None, where=jnp.asarray(masks),
                                centering="sinkhorn_knopp")
  close(got, want.mean(), rtol=1e-4)
  bad = s.copy()
  bad[~masks] = np.nan
  g = jax.grad(jaxloss.ibot_patch_loss)(*f32s(bad, t, c), where=jnp.asarray(masks))
  assert np.all(np.isfinite(np.asarray(g))) and np.all(np.asarray(g)[~masks] == 0)
  assert float(jaxloss.ibot_patch_loss(*f32s(s, t, c), where=jnp.zeros((5, 7), bool))) == 0.0


def swav_ref(scores, temp=0.1, eps=0.05, iters=3, assign=(0, 1)):
  """main_swav.py's loop over crops_for_assign and the other crops."""
  n_crops = scores.shape[0]
  loss = np.zeros(scores.shape[1])
  for crop_id in assign:
    q = sinkhorn_ref(scores[crop_id], eps, iters)
    sub = np.zeros(scores.shape[1])
    for v in np.delete(np.arange(n_crops), crop_id):
      sub -= np.sum(q * log_softmax(scores[v] / temp), axis=1)
    loss += sub / (n_crops - 1)
  return loss / len(assign)


def _swav_scores(seed, s=4, b=9, k=5, d=6):
  r = rng(seed)
  z = r.normal(size=(s, b, d))
  p = r.normal(size=(k, d))
  z /= np.linalg.norm(z, axis=-1, keepdims=True)
  p /= np.linalg.norm(p, axis=-1, keepdims=True)
  return (z @ p.T).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("s,assign", [(4, 2), (2, 2), (3, 1), (3, 3)])
def test_swav_matches_reference(s, assign):
  x = _swav_scores(27, s)
  want = swav_ref(x, assign=tuple(range(assign)))
  close(jaxloss.swav_loss(f32(x), assign_crops=assign, reduction="none"), want, rtol=1e-4)
  close(jaxloss.swav_loss(f32(x), assign_crops=assign), want.mean(), rtol=1e-4)
  close(jaxloss.swav_loss(f32(x), assign_crops=assign, temperature=0.2, epsilon=0.1,
                          iters=5),
        swav_ref(x, 0.2, 0.1, 5, tuple(range(assign))).mean(), rtol=1e-4)


def test_swav_gradient_where_and_edges():
  x = _swav_scores(28, 3, 4, 3)

  def ref_fixed_codes(y):   # codes do not depend on the differentiated scores
    loss = np.zeros(y.shape[1])
    for crop_id in (0, 1):
      q = sinkhorn_ref(x[crop_id])
      for v in np.delete(np.arange(3), crop_id):
        loss -= np.sum(q * log_softmax(y[v] / 0.1), axis=1) / 2
    return (loss / 2).mean()

  g = jax.grad(jaxloss.swav_loss)(f32(x))
  close(g, _grad_fd(ref_fixed_codes, x, h=1e-4), rtol=1e-3, atol=1e-5)
  x = _swav_scores(29)
  keep = np.array([True] * 6 + [False] * 3)
  bad = x.copy()
  bad[:, ~keep] = np.nan
  got = jaxloss.swav_loss(f32(bad), where=jnp.asarray(keep))
  close(got, swav_ref(x[:, keep]).mean(), rtol=1e-4)
  g = jax.grad(jaxloss.swav_loss)(f32(bad), where=jnp.asarray(keep))
  assert np.all(np.isfinite(np.asarray(g))) and np.all(np.asarray(g)[:, ~keep] == 0)
  with pytest.raises(LossInputError, match="^swav_loss: logits has shape"):
    jaxloss.swav_loss(f32(x), assign_crops=5)
  with pytest.raises(LossInputError, match="^swav_loss: logits must have rank 3"):
    jaxloss.swav_loss(f32(x[0]))


# ------------------------------------------------------------------------ KoLeo


def koleo_ref(x, eps=1e-8):
  x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)
  n = len(x)
  out = np.zeros(n)
  for i in range(n):
    best, arg = -np.inf, None
    for j in range(n):
      d = -1.0 if i == j else x[i] @ x[j]
      if d > best:
        best, arg = d, j
    out[i] = -np.log(np.linalg.norm(x[i] - x[arg] + eps) + eps)
  return out


def test_koleo_matches_reference():
  x, _ = _views(30, n=9, d=4)
  close(jaxloss.koleo_loss(f32(x), reduction="none"), koleo_ref(x), rtol=1e-5, atol=1e-5)
  close(jaxloss.koleo_loss(f32(x)), koleo_ref(x).mean(), rtol=1e-5, atol=1e-5)


def test_koleo_gradient_where_and_edges():
  x, _ = _views(31, n=5, d=3)
  g = jax.grad(jaxloss.koleo_loss)(f32(x))
  close(g, _grad_fd(lambda y: koleo_ref(y).mean(), x, h=1e-5), rtol=1e-3, atol=1e-4)
  keep = np.array([True, True, False, True, True])
  bad = x.copy()
  bad[~keep] = np.nan
  close(jaxloss.koleo_loss(f32(bad), where=jnp.asarray(keep)), koleo_ref(x[keep]).mean(),
        rtol=1e-5, atol=1e-5)
  g = jax.grad(jaxloss.koleo_loss)(f32(bad), where=jnp.asarray(keep))
  assert np.all(np.isfinite(np.asarray(g))) and np.all(np.asarray(g)[~keep] == 0)
  # Duplicate rows: distance eps * sqrt(D) (PairwiseDistance's offset), finite gradient.
  dup = np.concatenate([x[:1], x[:1], x[2:]])
  v, g = jax.value_and_grad(lambda a: jaxloss.koleo_loss(a, reduction="none")[0])(f32(dup))
  close(v, -np.log(1e-8 * np.sqrt(3) + 1e-8), rtol=1e-4)
  assert np.all(np.isfinite(np.asarray(g)))
  with pytest.raises(LossInputError, match="^koleo_loss: x must have rank 2"):
    jaxloss.koleo_loss(f32(x[0]))
