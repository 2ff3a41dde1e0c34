"""The pytorch-metric-learning losses of issue 22: sub-center ArcFace, ProxyNCA, SoftTriple,
FastAP and Smooth-AP, against independent float64 NumPy references.

The references are written from PML 2.9's formulas (and the papers') with explicit loops
over queries, classes, centres and bins -- the opposite of the vectorised, masked
implementation. The PML_* constants at the end were printed by pytorch-metric-learning
2.9.0 itself (float64, torch) on the inputs built here; no test imports torch.
"""

import chex
import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import f32, rng
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxloss
from jaxloss import LossInputError

RTOL = 1e-5
ATOL = 1e-5


def _normalize(x):
  return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _lse(v):
  v = np.asarray(v, np.float64)
  m = v.max()
  return m + np.log(np.sum(np.exp(v - m)))


def _sigmoid(t):
  return 1.0 / (1.0 + np.exp(-t))


def _heads_data(seed, n=10, d=6, c=4, k=3):
  r = rng(seed)
  x = r.normal(size=(n, d))
  y = r.integers(0, c, n)
  y[:c] = np.arange(c)
  return x, y, r.normal(size=(c * k, d))


# --------------------------------------------------------------------------
# NumPy references.
# --------------------------------------------------------------------------


def _np_arcface_target(cos, m):
  """PML's ArcFaceLoss: theta from the clamped cosine; cos(theta + m) while theta <= pi - m,
  else cos(theta) - m sin(m)."""
  theta = np.arccos(np.clip(cos, -1.0, 1.0))
  return np.cos(theta + m) if theta <= np.pi - m else np.cos(theta) - m * np.sin(m)


def _np_subcenter(x, y, w, k, margin=0.5, scale=64.0):
  c = len(w) // k
  xn, wn = _normalize(x), _normalize(w)
  out = []
  for i in range(len(x)):
    # class j's cosine: the largest over its sub-centres, rows j*k .. j*k + k - 1
    cos = np.array([max(xn[i] @ wn[j * k + s] for s in range(k)) for j in range(c)])
    logits = cos.copy()
    logits[y[i]] = _np_arcface_target(cos[y[i]], margin)
    logits = scale * logits
    out.append(_lse(logits) - logits[y[i]])
  return np.array(out)


def _np_proxy_nca(x, y, p, s=1.0):
  xn, pn = _normalize(x), _normalize(p)
  out = []
  for i in range(len(x)):
    d2 = np.array([np.sum((xn[i] - pn[j]) ** 2) for j in range(len(p))])
    prob = np.exp(-s * d2) / np.sum(np.exp(-s * d2))
    out.append(-np.log(prob[y[i]]))
  return np.array(out)


def _np_soft_triple(x, y, w, k, la=20.0, gamma=0.1, margin=0.01):
  c = len(w) // k
  xn, wn = _normalize(x), _normalize(w)
  out = []
  for i in range(len(x)):
    sim = np.zeros(c)
    for j in range(c):
      s = np.array([xn[i] @ wn[j * k + t] for t in range(k)])
      e = np.exp(s / gamma)
      sim[j] = np.sum(e / e.sum() * s)
    logits = la * sim
    logits[y[i]] -= la * margin
    out.append(_lse(logits) - logits[y[i]])
  return np.array(out)


def _np_fast_ap(x, y, num_bins=10):
  """Per query: the FastAP histogram estimate (Cakir et al. Eq. 10, PML's binning)."""
  xn = _normalize(x)
  n = len(x)
  delta = 4.0 / num_bins
  centres = [b * delta for b in range(num_bins + 1)]
  out, has = np.zeros(n), np.zeros(n, bool)
  for q in range(n):
    pos = [j for j in range(n) if j != q and y[j] == y[q]]
    neg = [j for j in range(n) if y[j] != y[q]]
    if not pos:
      continue
    has[q] = True

    def hist(js, q=q):
      return np.array([sum(max(0.0, 1 - abs(np.sum((xn[q] - xn[j]) ** 2) - z) / delta)
                           for j in js) for z in centres])

    hp, hn = hist(pos), hist(neg)
    ap = 0.0
    for b in range(num_bins + 1):
      big_np = hp[: b + 1].sum()
      big_n = big_np + hn[: b + 1].sum()
      if big_n > 0:
        ap += hp[b] * big_np / big_n
    out[q] = 1 - ap / len(pos)
  return out, has


def _np_smooth_ap(x, y, tau=0.01):
  """Per query q: (1/|P|) sum_{i in P} R(i; P) / R(i; batch), P = q's class (q included)."""
  xn = _normalize(x)
  n = len(x)
  s = xn @ xn.T
  out, has = np.zeros(n), np.zeros(n, bool)
  for q in range(n):
    P = [j for j in range(n) if y[j] == y[q]]
    if len(P) < 2:
      continue
    has[q] = True
    ap = 0.0
    for i in P:
      r_all = 1 + sum(_sigmoid((s[q, j] - s[q, i]) / tau) for j in range(n) if j != i)
      r_pos = 1 + sum(_sigmoid((s[q, j] - s[q, i]) / tau) for j in P if j != i)
      ap += r_pos / r_all
    out[q] = 1 - ap / len(P)
  return out, has


# --------------------------------------------------------------------------
# Sub-center ArcFace.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("margin,scale,k", [(0.5, 64.0, 3), (float(np.radians(28.6)), 10.0, 2),
                                            (1.2, 4.0, 4)])
def test_subcenter_arcface_reference(margin, scale, k):
  x, y, w = _heads_data(1, k=k)
  ref = _np_subcenter(x, y, w, k, margin, scale)
  out = jaxloss.subcenter_arcface_loss(f32(x), jnp.asarray(y), f32(w), margin=margin,
                                       scale=scale, sub_centers=k, reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  np.testing.assert_allclose(
      jaxloss.subcenter_arcface_loss(f32(x), jnp.asarray(y), f32(w), margin=margin,
                                     scale=scale, sub_centers=k), ref.mean(), rtol=RTOL)


def test_subcenter_arcface_defaults_and_layouts():
  x, y, w = _heads_data(2)
  ref = _np_subcenter(x, y, w, 3).mean()
  a = jaxloss.subcenter_arcface_loss(f32(x), jnp.asarray(y), f32(w))
  b = jaxloss.subcenter_arcface_loss(f32(x), jnp.asarray(y), f32(w.reshape(4, 3, 6)))
  np.testing.assert_allclose(a, ref, rtol=RTOL)
  np.testing.assert_allclose(b, ref, rtol=RTOL)


def test_subcenter_arcface_past_pi_minus_margin():
  # Embeddings opposite to every sub-centre of their class: the target angle is past pi - m,
  # where PML switches to cos(theta) - m sin(m).
  r = rng(3)
  w = np.tile(np.eye(3)[:1], (2, 1)) + 0.01 * r.normal(size=(2, 3))   # class 0: 2 sub-centres
  w = np.concatenate([w, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])          # class 1
  x = -np.eye(3)[:1].repeat(3, 0) + 0.02 * r.normal(size=(3, 3))
  y = np.zeros(3, np.int64)
  ref = _np_subcenter(x, y, w, 2, 0.5, 64.0)
  out = jaxloss.subcenter_arcface_loss(f32(x), jnp.asarray(y), f32(w), sub_centers=2,
                                       reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=1e-4)


def test_subcenter_arcface_one_subcenter_is_arcface():
  x, y, w = _heads_data(4, k=1)
  a = jaxloss.subcenter_arcface_loss(f32(x), jnp.asarray(y), f32(w), sub_centers=1,
                                     reduction="none")
  np.testing.assert_allclose(a, jaxloss.arcface_loss(f32(x), jnp.asarray(y), f32(w),
                                                     reduction="none"), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------
# ProxyNCA and SoftTriple.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("s", [1.0, 3.0, 30.0])
def test_proxy_nca_reference(s):
  x, y, w = _heads_data(5, k=1)
  ref = _np_proxy_nca(x, y, w, s)
  out = jaxloss.proxy_nca_loss(f32(x), jnp.asarray(y), f32(w), softmax_scale=s, reduction="none")
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  np.testing.assert_allclose(jaxloss.proxy_nca_loss(f32(x), jnp.asarray(y), f32(w),
                                                    softmax_scale=s), ref.mean(), rtol=RTOL)


def test_proxy_nca_huge_scale_finite():
  # PML's probability underflows to 0 here (it drops the row); ours stays finite, in log space.
  x, y, w = _heads_data(6, k=1)
  v, g = jax.value_and_grad(jaxloss.proxy_nca_loss, argnums=(0, 2))(
      f32(x), jnp.asarray(y), f32(w), softmax_scale=1e4)
  chex.assert_tree_all_finite((v, g))
  assert float(v) > 100


@pytest.mark.parametrize("kw", [{}, {"la": 5.0, "gamma": 0.5, "margin": 0.2}])
def test_soft_triple_reference(kw):
  x, y, w = _heads_data(7, k=3)
  ref = _np_soft_triple(x, y, w, 3, **kw)
  out = jaxloss.soft_triple_loss(f32(x), jnp.asarray(y), f32(w), centers_per_class=3,
                                 reduction="none", **kw)
  np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
  out3 = jaxloss.soft_triple_loss(f32(x), jnp.asarray(y), f32(w.reshape(4, 3, 6)),
                                  centers_per_class=3, **kw)
  np.testing.assert_allclose(out3, ref.mean(), rtol=RTOL)


def test_soft_triple_default_ten_centres():
  x, y, w = _heads_data(8, k=10)
  np.testing.assert_allclose(jaxloss.soft_triple_loss(f32(x), jnp.asarray(y), f32(w)),
                             _np_soft_triple(x, y, w, 10).mean(), rtol=RTOL)


# --------------------------------------------------------------------------
# FastAP and Smooth-AP.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("num_bins", [10, 4, 25])
def test_fast_ap_reference(num_bins):
  r = rng(9)
  x = r.normal(size=(12, 5))
  y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4])      # uneven; class 3 has no positive
  ref, has = _np_fast_ap(x, y, num_bins)
  out = jaxloss.fast_ap_loss(f32(x), jnp.asarray(y), num_bins=num_bins, reduction="none")
  np.testing.assert_allclose(out, np.where(has, ref, 0.0), rtol=RTOL, atol=ATOL)
  np.testing.assert_allclose(jaxloss.fast_ap_loss(f32(x), jnp.asarray(y), num_bins=num_bins),
                             ref[has].mean(), rtol=RTOL)


def test_fast_ap_degenerate_batches():
  x = f32(rng(10).normal(size=(6, 4)))
  # all one class: every query's FastAP is 1 (no negatives), loss 0
  np.testing.assert_allclose(jaxloss.fast_ap_loss(x, jnp.zeros(6, jnp.int32)), 0.0, atol=1e-6)
  # no positives anywhere: 0 with a zero gradient
  v, g = jax.value_and_grad(jaxloss.fast_ap_loss)(x, jnp.arange(6))
  assert float(v) == 0.0 and np.all(np.asarray(g) == 0)


@pytest.mark.parametrize("tau", [0.01, 0.1, 1.0])
def test_smooth_ap_reference_any_order_and_sizes(tau):
  r = rng(11)
  x = r.normal(size=(11, 5))
  y = np.array([2, 0, 1, 0, 2, 2, 1, 0, 3, 2, 4])          # shuffled, uneven, singletons
  ref, has = _np_smooth_ap(x, y, tau)
  out = jaxloss.smooth_ap_loss(f32(x), jnp.asarray(y), temperature=tau, reduction="none")
  np.testing.assert_allclose(out, np.where(has, ref, 0.0), rtol=RTOL, atol=ATOL)
  np.testing.assert_allclose(jaxloss.smooth_ap_loss(f32(x), jnp.asarray(y), temperature=tau),
                             ref[has].mean(), rtol=RTOL)


def test_smooth_ap_permutation_invariant():
  r = rng(12)
  x = r.normal(size=(9, 4))
  y = np.repeat(np.arange(3), 3)
  perm = r.permutation(9)
  a = jaxloss.smooth_ap_loss(f32(x), jnp.asarray(y))
  b = jaxloss.smooth_ap_loss(f32(x[perm]), jnp.asarray(y[perm]))
  np.testing.assert_allclose(a, b, rtol=1e-5)


@pytest.mark.parametrize("name", ["fast_ap_loss", "smooth_ap_loss"])
def test_ap_where_removes_samples(name):
  fn = getattr(jaxloss, name)
  r = rng(13)
  x = r.normal(size=(8, 4))
  y = np.array([0, 1, 0, 1, 2, 2, 0, 1])
  keep = np.array([1, 1, 0, 1, 1, 1, 1, 0], bool)
  x_nan = x.copy()
  x_nan[~keep] = np.nan
  full = fn(f32(x_nan), jnp.asarray(y), where=jnp.asarray(keep))
  sub = fn(f32(x[keep]), jnp.asarray(y[keep]))
  np.testing.assert_allclose(full, sub, rtol=1e-5)
  g = jax.grad(lambda e: fn(e, jnp.asarray(y), where=jnp.asarray(keep)))(f32(x_nan))
  chex.assert_tree_all_finite(g)
  assert np.all(np.asarray(g)[~keep] == 0)


# --------------------------------------------------------------------------
# Gradients, edges, bfloat16, errors.
# --------------------------------------------------------------------------


def test_gradients_match_finite_differences():
  x, y, w = _heads_data(14, n=8, k=2)
  with jax.enable_x64(True):
    xx, ww, yy = jnp.asarray(x), jnp.asarray(w), jnp.asarray(y)
    check_grads(lambda e, c: jaxloss.subcenter_arcface_loss(e, yy, c, scale=4.0, sub_centers=2),
                (xx, ww), order=1, modes=["rev"])
    check_grads(lambda e, c: jaxloss.soft_triple_loss(e, yy, c, centers_per_class=2, la=4.0),
                (xx, ww), order=1, modes=["rev"])
    check_grads(lambda e, c: jaxloss.proxy_nca_loss(e, yy, c, softmax_scale=2.0),
                (xx, ww[:4]), order=1, modes=["rev"])
    check_grads(lambda e: jaxloss.smooth_ap_loss(e, yy, temperature=0.1), (xx,), order=1,
                modes=["rev"])
    # FastAP is piecewise linear in the distances; random data sits away from the kinks.
    check_grads(lambda e: jaxloss.fast_ap_loss(e, yy), (xx,), order=1, modes=["rev"],
                eps=1e-6)


def _calls(x, y, w3):
  return {
      "subcenter_arcface_loss": lambda e, lab: jaxloss.subcenter_arcface_loss(e, lab, w3),
      "soft_triple_loss": lambda e, lab: jaxloss.soft_triple_loss(e, lab, w3,
                                                                  centers_per_class=3),
      "proxy_nca_loss": lambda e, lab: jaxloss.proxy_nca_loss(e, lab, w3[:, 0]),
      "fast_ap_loss": jaxloss.fast_ap_loss,
      "smooth_ap_loss": jaxloss.smooth_ap_loss,
  }


@pytest.mark.parametrize("name", ["subcenter_arcface_loss", "soft_triple_loss", "proxy_nca_loss",
                                  "fast_ap_loss", "smooth_ap_loss"])
def test_edges_finite_gradients(name):
  x, y, w = _heads_data(15, n=8)
  w3 = f32(w.reshape(4, 3, 6))
  vg = jax.jit(jax.value_and_grad(_calls(x, y, w3)[name]))     # one compile per shape
  xs = f32(x)
  for e, lab in [(jnp.tile(xs[:1], (8, 1)), jnp.asarray(y)),     # identical embeddings
                 (xs, jnp.zeros(8, jnp.int32)),                  # all the same label
                 (jnp.tile(xs[:1], (8, 1)), jnp.zeros(8, jnp.int32)),
                 (jnp.zeros_like(xs), jnp.asarray(y)),           # zero embeddings
                 (w3[jnp.asarray(y), 0], jnp.asarray(y)),        # on a (sub-)centre
                 (xs[:1], jnp.asarray(y)[:1])]:                  # batch of one
    v, g = vg(e, lab)
    chex.assert_tree_all_finite((v, g))


@pytest.mark.parametrize("name", ["subcenter_arcface_loss", "soft_triple_loss", "proxy_nca_loss",
                                  "fast_ap_loss", "smooth_ap_loss"])
def test_bfloat16_close_to_float32(name):
  x, y, w = _heads_data(16, n=8)
  w3 = f32(w.reshape(4, 3, 6))
  fn = _calls(x, y, w3)[name]
  xs = f32(x)
  v32 = fn(xs, jnp.asarray(y))
  v16 = fn(xs.astype(jnp.bfloat16), jnp.asarray(y))
  assert v16.dtype == jnp.float32
  chex.assert_tree_all_finite(jax.grad(fn)(xs.astype(jnp.bfloat16), jnp.asarray(y)))
  # bf16 rounds the inputs (8 bits); scale-64 ArcFace logits amplify it.
  np.testing.assert_allclose(v16, v32, rtol=5e-2, atol=5e-2)


def test_centre_losses_vmap_per_example():
  # Each sample's loss depends on itself and the centres only.
  x, y, w = _heads_data(18, n=6)
  xs, ys, w3 = f32(x), jnp.asarray(y), f32(w.reshape(4, 3, 6))
  for fn, c in ((jaxloss.subcenter_arcface_loss, w3),
                (lambda *a, **k: jaxloss.soft_triple_loss(*a, centers_per_class=3, **k), w3),
                (jaxloss.proxy_nca_loss, w3[:, 0])):
    batched = fn(xs, ys, c, reduction="none")
    mapped = jax.vmap(lambda a, b, fn=fn, c=c: fn(a[None], b[None], c, reduction="none")[0])(
        xs, ys)
    np.testing.assert_allclose(batched, mapped, rtol=1e-5, atol=1e-6)


_EMB = hnp.arrays(np.float32, (6, 3), elements=st.floats(-3, 3, width=32))


@settings(max_examples=15, deadline=None)
@given(_EMB, st.sampled_from([(0, 0, 1, 1, 2, 2), (0, 1, 0, 1, 0, 1), (0, 0, 0, 0, 1, 2)]))
def test_ap_losses_in_unit_interval_property(x, labels):
  y = jnp.asarray(labels)
  for fn in (jaxloss.fast_ap_loss, jaxloss.smooth_ap_loss):
    v = np.asarray(fn(jnp.asarray(x), y, reduction="none"))
    assert np.all(np.isfinite(v)) and np.all(v >= -1e-6) and np.all(v <= 1 + 1e-6)


def test_errors():
  x, y, w = _heads_data(17)
  xs, ys = f32(x), jnp.asarray(y)
  with pytest.raises(LossInputError, match=r"centers has shape \(11, 6\)"):
    jaxloss.subcenter_arcface_loss(xs, ys, f32(w[:-1]))                 # 11 rows, K = 3
  with pytest.raises(LossInputError, match="sub_centers=2"):
    jaxloss.subcenter_arcface_loss(xs, ys, f32(w.reshape(4, 3, 6)), sub_centers=2)
  with pytest.raises(LossInputError, match="centers_per_class=10"):
    jaxloss.soft_triple_loss(xs, ys, f32(w))                            # 12 rows, K = 10
  with pytest.raises(LossInputError, match=r"centers has shape \(4, 5\)"):
    jaxloss.proxy_nca_loss(xs, ys, f32(w[:4, :5]))
  with pytest.raises(LossInputError, match="labels"):
    jaxloss.fast_ap_loss(xs, ys[:-1])
  with pytest.raises(LossInputError, match="embeddings"):
    jaxloss.smooth_ap_loss(xs[0], ys[:1])
  with pytest.raises(ValueError, match="temperature"):
    jaxloss.smooth_ap_loss(xs, ys, temperature=0.0)


# Printed by pytorch-metric-learning 2.9.0 (torch, float64, default options; its weight
# matrices set to `centers` transposed) on the inputs of test_matches_pml_2_9_printed_values.
PML_SUBCENTER_ARCFACE = 56.54056095827907      # SubCenterArcFaceLoss(margin=28.6 degrees)
PML_PROXY_NCA = 1.617869908447248
PML_SOFT_TRIPLE = 8.945169534278616             # SoftTripleLoss(centers_per_class=3)
PML_FAST_AP = 0.5673641957505182
PML_SMOOTH_AP = 0.33363092287907076             # 3 classes x 3, sorted (PML's layout)


def test_matches_pml_2_9_printed_values():
  x, y, w = _heads_data(20)
  xs, ys = rng(21).normal(size=(9, 6)), np.repeat(np.arange(3), 3)
  with jax.enable_x64(True):
    xx, yy, ww = jnp.asarray(x), jnp.asarray(y), jnp.asarray(w)
    got = [
        jaxloss.subcenter_arcface_loss(xx, yy, ww, margin=float(np.radians(28.6))),
        jaxloss.proxy_nca_loss(xx, yy, ww[:4]),
        jaxloss.soft_triple_loss(xx, yy, ww, centers_per_class=3),
        jaxloss.fast_ap_loss(xx, yy),
        jaxloss.smooth_ap_loss(jnp.asarray(xs), jnp.asarray(ys)),
    ]
  want = [PML_SUBCENTER_ARCFACE, PML_PROXY_NCA, PML_SOFT_TRIPLE, PML_FAST_AP, PML_SMOOTH_AP]
  np.testing.assert_allclose(np.array([float(g) for g in got]), want, rtol=1e-12)
