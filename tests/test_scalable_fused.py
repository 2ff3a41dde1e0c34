"""Fused linear-head losses (jaxloss.scalable.fused): linear_distillation_loss,
linear_generalized_jsd_loss and linear_dpo_loss against the unfused jaxloss losses on
materialised logits and independent float64 NumPy references written from the formulas
(Hinton KD with T^2, GKD's generalized JSD with TRL's endpoints, DPO on summed token
log-probabilities); custom-VJP gradients against jax.grad of the unfused losses; masks;
the skipped teacher gradient; compiled temporary memory."""

import chex
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

import jaxloss

RNG = np.random.default_rng(0)
N, DS, DT, V = 11, 6, 5, 23
HS = RNG.normal(size=(N, DS))
WS = RNG.normal(size=(V, DS)) * 0.7
HT = RNG.normal(size=(N, DT))
WT = RNG.normal(size=(V, DT)) * 0.7
# Small tiles and chunks that divide neither N nor V: several slid-back blocks.
SMALL = dict(chunk_size=7, max_temp_bytes=3000)


def f32(*xs):
  return tuple(jnp.asarray(np.asarray(x, np.float32)) for x in xs)


# ---- independent float64 references --------------------------------------

def ref_kd_rows(hs, ws, ht, wt, temp):
  log_ps = special.log_softmax(hs @ ws.T / temp, axis=-1)
  log_pt = special.log_softmax(ht @ wt.T / temp, axis=-1)
  return temp**2 * np.sum(np.exp(log_pt) * (log_pt - log_ps), axis=-1)


def ref_jsd_rows(hs, ws, ht, wt, beta, temp):
  a = special.log_softmax(hs @ ws.T / temp, axis=-1)
  b = special.log_softmax(ht @ wt.T / temp, axis=-1)
  if beta == 0:
    return np.sum(np.exp(b) * (b - a), axis=-1)
  if beta == 1:
    return np.sum(np.exp(a) * (a - b), axis=-1)
  log_m = np.logaddexp(np.log(beta) + b, np.log1p(-beta) + a)
  return (beta * np.sum(np.exp(b) * (b - log_m), -1)
          + (1 - beta) * np.sum(np.exp(a) * (a - log_m), -1))


def ref_reduce(rows, mask, reduction):
  rows = np.where(mask, rows, 0.0)
  if reduction == "none":
    return rows
  return rows.sum() if reduction == "sum" else rows.sum() / max(mask.sum(), 1)


def ref_seq_logps(h, w, y, ignore=-100):
  logp = special.log_softmax(h @ w.T, axis=-1)
  keep = y != ignore
  tok = np.take_along_axis(logp, np.where(keep, y, 0)[..., None], -1)[..., 0]
  return np.sum(np.where(keep, tok, 0.0), -1), keep.sum(-1)


def _log_sigmoid(x):
  return -np.logaddexp(0.0, -x)


# ---- distillation: values ------------------------------------------------

@pytest.mark.parametrize("temp", [1.0, 3.0])
@pytest.mark.parametrize("opts", [{}, SMALL])
def test_linear_distillation_values(temp, opts):
  mask = RNG.random(N) > 0.3
  args = f32(HS, WS, HT, WT)
  ref = ref_kd_rows(HS, WS, HT, WT, temp)
  for red in ("none", "sum", "mean"):
    got = jaxloss.linear_distillation_loss(*args, temperature=temp, where=jnp.asarray(mask),
                                           reduction=red, **opts)
    np.testing.assert_allclose(got, ref_reduce(ref, mask, red), rtol=1e-5, atol=1e-6)
  unfused = jaxloss.distillation_loss(args[0] @ args[1].T, args[2] @ args[3].T,
                                      temperature=temp, reduction="none")
  got = jaxloss.linear_distillation_loss(*args, temperature=temp, reduction="none", **opts)
  np.testing.assert_allclose(got, unfused, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("beta", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_linear_generalized_jsd_values(beta):
  args = f32(HS, WS, HT, WT)
  temp = 1.5
  got = jaxloss.linear_generalized_jsd_loss(*args, beta=beta, temperature=temp,
                                            reduction="none", **SMALL)
  np.testing.assert_allclose(got, ref_jsd_rows(HS, WS, HT, WT, beta, temp), rtol=1e-5, atol=1e-6)
  unfused = jaxloss.generalized_jsd_loss(args[0] @ args[1].T, args[2] @ args[3].T, beta=beta,
                                         temperature=temp, reduction="none")
  np.testing.assert_allclose(got, unfused, rtol=1e-5, atol=1e-6)


def test_batched_tokens_and_weights():
  hs, ht = HS[:10].reshape(2, 5, DS), HT[:10].reshape(2, 5, DT)
  wts = RNG.random((2, 5))
  args = f32(hs, WS, ht, WT)
  got = jaxloss.linear_distillation_loss(*args, weights=jnp.asarray(wts, jnp.float32),
                                         temperature=2.0, reduction="sum", **SMALL)
  ref = np.sum(wts * ref_kd_rows(hs, WS, ht, WT, 2.0))
  np.testing.assert_allclose(got, ref, rtol=1e-5)
  got = jaxloss.linear_generalized_jsd_loss(*args, **SMALL)
  np.testing.assert_allclose(got, np.mean(ref_jsd_rows(hs, WS, ht, WT, 0.5, 1.0)), rtol=1e-5)


def test_identical_models_give_zero():
  args = f32(HS, WS, HS, WS)
  assert float(jnp.max(jnp.abs(jaxloss.linear_distillation_loss(*args, reduction="none")))) \
      < 1e-6
  assert float(jnp.max(jnp.abs(jaxloss.linear_generalized_jsd_loss(*args, reduction="none")))) \
      < 1e-6
  # A common logit offset (a bias-like constant column) cancels.
  big = f32(HS * 50.0, WS, HS * 50.0, WS)
  assert float(jaxloss.linear_distillation_loss(*big)) < 1e-4


# ---- distillation: gradients ---------------------------------------------

def _rel_close(got, want, rtol=1e-5):
  for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
    scale = float(jnp.max(jnp.abs(w))) + 1e-30
    np.testing.assert_allclose(np.asarray(g) / scale, np.asarray(w) / scale, rtol=0, atol=rtol)


@pytest.mark.parametrize("which", ["kd", "jsd", "jsd_fwd", "jsd_rev"])
def test_gradients_match_unfused(which):
  args = f32(HS, WS, HT, WT)
  mask = jnp.asarray(RNG.random(N) > 0.25)
  if which == "kd":
    kw = dict(temperature=2.0)
    fused, unfused = jaxloss.linear_distillation_loss, jaxloss.distillation_loss
  else:
    beta = {"jsd": 0.3, "jsd_fwd": 0.0, "jsd_rev": 1.0}[which]
    kw = dict(temperature=1.5, beta=beta)
    fused, unfused = jaxloss.linear_generalized_jsd_loss, jaxloss.generalized_jsd_loss

  def f(hs, ws, ht, wt):
    return fused(hs, ws, ht, wt, where=mask, **kw, **SMALL)

  def g(hs, ws, ht, wt):
    return unfused(hs @ ws.T, ht @ wt.T, where=mask, **kw)

  v1, g1 = jax.value_and_grad(f, (0, 1, 2, 3))(*args)
  v2, g2 = jax.value_and_grad(g, (0, 1, 2, 3))(*args)
  np.testing.assert_allclose(v1, v2, rtol=1e-5)
  _rel_close(g1, g2)
  # Student-only gradients (teacher not differentiated): the same numbers.
  g3 = jax.grad(lambda a, b: f(a, b, args[2], jax.lax.stop_gradient(args[3])), (0, 1))(*args[:2])
  _rel_close(g3, g2[:2])


def _count_dots(fn, *args):
  """dot_general equations in a jaxpr, nested jaxprs included."""
  def walk(jaxpr):
    n = 0
    for eqn in jaxpr.eqns:
      n += eqn.primitive.name == "dot_general"
      for sub in jax.extend.core.jaxprs_in_params(eqn.params):
        n += walk(sub)
    return n
  return walk(jax.make_jaxpr(fn)(*args).jaxpr)


def test_frozen_teacher_skips_teacher_matmuls():
  args = f32(HS, WS, HT, WT)

  def loss(hs, ws, ht, wt):
    return jaxloss.linear_distillation_loss(hs, ws, ht, wt)

  both = _count_dots(jax.grad(loss, (0, 1, 2, 3)), *args)
  student = _count_dots(jax.grad(loss, (0, 1)), *args)
  assert student < both, (student, both)


def test_custom_gradient_finite_differences():
  args = f32(HS[:4] * 0.5, WS[:9], HT[:4] * 0.5, WT[:9])
  with jax.enable_x64(True):
    a64 = tuple(jnp.asarray(np.asarray(a), jnp.float64) for a in args)
    for fn in (jaxloss.linear_distillation_loss, jaxloss.linear_generalized_jsd_loss):
      jax.test_util.check_grads(lambda *a, fn=fn: fn(*a, chunk_size=4, temperature=1.7),
                                a64, order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


# ---- masks, NaN, low precision --------------------------------------------

def test_masked_tokens_reach_nothing():
  args = f32(HS, WS, HT, WT)
  mask = np.ones(N, bool)
  mask[[0, 4, 10]] = False
  poisoned = (args[0].at[~mask].set(jnp.nan), args[1], args[2].at[~mask].set(jnp.inf), args[3])
  for fn in (jaxloss.linear_distillation_loss, jaxloss.linear_generalized_jsd_loss):
    f = jax.value_and_grad(lambda *a, fn=fn: fn(*a, where=jnp.asarray(mask), **SMALL),
                           (0, 1, 2, 3))
    v1, g1 = f(*args)
    v2, g2 = f(*poisoned)
    chex.assert_tree_all_finite((v2, g2))
    chex.assert_trees_all_close((v1, g1), (v2, g2), rtol=1e-6, atol=1e-7)
    assert float(jnp.max(jnp.abs(g2[0][~mask]))) == 0.0
    # All masked: a defined zero.
    v0 = fn(*args, where=jnp.zeros(N, bool))
    assert float(v0) == 0.0


def test_bfloat16_and_traced_options():
  args = f32(HS, WS, HT, WT)
  low = tuple(a.astype(jnp.bfloat16) for a in args)
  for fn in (jaxloss.linear_distillation_loss, jaxloss.linear_generalized_jsd_loss):
    out = fn(*low, **SMALL)
    assert out.dtype == jnp.float32 and np.isfinite(float(out))
    rounded = fn(*(a.astype(jnp.float32) for a in low), **SMALL)
    np.testing.assert_allclose(out, rounded, rtol=1e-5)
    grads = jax.grad(lambda *a, fn=fn: fn(*a, **SMALL), (0, 1))(*low)
    assert grads[0].dtype == jnp.bfloat16 and grads[1].dtype == jnp.bfloat16
    chex.assert_tree_all_finite(grads)
  # temperature and beta may be traced.
  f = jax.jit(lambda t, b: jaxloss.linear_generalized_jsd_loss(*args, temperature=t, beta=b))
  np.testing.assert_allclose(f(2.0, 0.0), np.mean(ref_jsd_rows(HS, WS, HT, WT, 0.0, 2.0)),
                             rtol=1e-5)
  np.testing.assert_allclose(f(2.0, 0.4), np.mean(ref_jsd_rows(HS, WS, HT, WT, 0.4, 2.0)),
                             rtol=1e-5)


def test_errors_name_the_argument():
  args = list(f32(HS, WS, HT, WT))
  with pytest.raises(jaxloss.LossInputError, match="linear_distillation_loss: teacher_weight"):
    jaxloss.linear_distillation_loss(args[0], args[1], args[2], args[3][:-1])
  with pytest.raises(jaxloss.LossInputError, match="teacher_hidden"):
    jaxloss.linear_generalized_jsd_loss(args[0], args[1], args[2][:-1], args[3])
  with pytest.raises(jaxloss.LossInputError, match="temperature"):
    jaxloss.linear_distillation_loss(*args, temperature=0.0)
  with pytest.raises(jaxloss.LossInputError, match="beta"):
    jaxloss.linear_generalized_jsd_loss(*args, beta=1.5)


def test_temporary_memory_is_bounded():
  n, d, v = 1024, 64, 8192
  h = jax.ShapeDtypeStruct((n, d), jnp.float32)
  w = jax.ShapeDtypeStruct((v, d), jnp.float32)

  def temp(f):
    return (jax.jit(jax.value_and_grad(f, (0, 1))).lower(h, w, h, w).compile()
            .memory_analysis().temp_size_in_bytes)

  budget = 2**20
  naive = temp(lambda a, b, c, e: jaxloss.distillation_loss(a @ b.T, c @ e.T))
  fused = temp(lambda a, b, c, e: jaxloss.linear_distillation_loss(a, b, c, e,
                                                                   max_temp_bytes=budget))
  assert naive >= 2 * n * v * 4
  assert fused * 10 <= naive, (fused, naive)


# ---- DPO ------------------------------------------------------------------

B, TW, TL, D2, V2 = 4, 6, 5, 7, 19
HC = RNG.normal(size=(B, TW, D2))
HR = RNG.normal(size=(B, TL, D2))
W2 = RNG.normal(size=(V2, D2)) * 0.6
YC = RNG.integers(0, V2, size=(B, TW))
YR = RNG.integers(0, V2, size=(B, TL))
YC[:, :2] = -100
YR[:, :1] = -100
YR[1, 3:] = -100   # padding
RC = RNG.normal(size=B) - 12.0
RR = RNG.normal(size=B) - 12.0


def _dpo_args():
  return (*f32(HC, HR, W2), jnp.asarray(YC), jnp.asarray(YR), *f32(RC, RR))


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo", "hinge"])
def test_linear_dpo_values(loss_type):
  beta = 0.5
  pc, nc = ref_seq_logps(HC, W2, YC)
  pr, nr = ref_seq_logps(HR, W2, YR)
  rho_c, rho_r = pc - RC, pr - RR
  if loss_type == "sigmoid":
    ref = -_log_sigmoid(beta * (rho_c - rho_r))
  elif loss_type == "hinge":
    ref = np.maximum(0.0, 1 - beta * (rho_c - rho_r))
  else:   # per-token means (TRL's ipo)
    ref = (rho_c / nc - rho_r / nr - 1 / (2 * beta)) ** 2
  got = jaxloss.linear_dpo_loss(*_dpo_args(), beta=beta, loss_type=loss_type, reduction="none",
                                chunk_size=4)
  np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
  # The unfused loss on materialised logits.
  a = _dpo_args()
  lp = lambda h, y: jnp.sum(jnp.where(
      y != -100, jnp.take_along_axis(jax.nn.log_softmax(h @ a[2].T), jnp.maximum(y, 0)[..., None],
                                     -1)[..., 0], 0.0), -1)
  unfused = jaxloss.dpo_loss(lp(a[0], a[3]), lp(a[1], a[4]), a[5], a[6], beta=beta,
                             loss_type=loss_type, chosen_lengths=jnp.asarray(nc),
                             rejected_lengths=jnp.asarray(nr), reduction="none")
  np.testing.assert_allclose(got, unfused, rtol=1e-5, atol=1e-5)


def test_linear_dpo_gradients_match_unfused_and_mask():
  a = _dpo_args()
  mask = jnp.asarray([True, False, True, True])

  def fused(hc, hr, w):
    return jaxloss.linear_dpo_loss(hc, hr, w, *a[3:], where=mask, chunk_size=4,
                                   max_temp_bytes=2000)

  def unfused(hc, hr, w):
    def lp(h, y):
      logp = jax.nn.log_softmax(h @ w.T)
      tok = jnp.take_along_axis(logp, jnp.maximum(y, 0)[..., None], -1)[..., 0]
      return jnp.sum(jnp.where(y != -100, tok, 0.0), -1)
    return jaxloss.dpo_loss(lp(hc, a[3]), lp(hr, a[4]), a[5], a[6], where=mask)

  v1, g1 = jax.value_and_grad(fused, (0, 1, 2))(*a[:3])
  v2, g2 = jax.value_and_grad(unfused, (0, 1, 2))(*a[:3])
  np.testing.assert_allclose(v1, v2, rtol=1e-5)
  _rel_close(g1, g2)
  # A masked pair's NaN hidden states and reference values reach nothing.
  poisoned = (a[0].at[1].set(jnp.nan), a[1].at[1].set(jnp.nan), a[2])
  v3, g3 = jax.value_and_grad(
      lambda hc, hr, w: jaxloss.linear_dpo_loss(hc, hr, w, a[3], a[4], a[5].at[1].set(jnp.nan),
                                                a[6], where=mask, chunk_size=4,
                                                max_temp_bytes=2000), (0, 1, 2))(*poisoned)
  chex.assert_trees_all_close((v1, g1), (v3, g3), rtol=1e-6, atol=1e-7)


def test_linear_dpo_components_and_errors():
  a = _dpo_args()
  loss, parts = jaxloss.linear_dpo_loss(*a, return_components=True)
  pc, _ = ref_seq_logps(HC, W2, YC)
  np.testing.assert_allclose(parts["chosen_logps"], pc.mean(), rtol=1e-5)
  np.testing.assert_allclose(parts["preference"], loss)
  assert set(parts) >= {"chosen_rewards", "rejected_rewards", "reward_accuracy", "reward_margin"}
  with pytest.raises(jaxloss.LossInputError, match="linear_dpo_loss: weight"):
    jaxloss.linear_dpo_loss(a[0], a[1], a[2][:, :-1], *a[3:])
  with pytest.raises(jaxloss.LossInputError, match="reference_chosen_logps"):
    jaxloss.linear_dpo_loss(*a[:5], a[5][:-1], a[6])
  with pytest.raises(jaxloss.LossInputError, match="chosen_labels"):
    jaxloss.linear_dpo_loss(a[0], a[1], a[2], a[3][:, :-1], *a[4:])
  with pytest.raises(jaxloss.LossInputError, match="loss_type"):
    jaxloss.linear_dpo_loss(*a, loss_type="nope")


# ---- z-loss parts of the chunked cross-entropies ---------------------------

def test_linear_and_chunked_ce_components():
  h, w = f32(HS, WS)
  y = RNG.integers(0, V, size=N)
  y[[1, 6]] = -100
  c = 0.02
  z = HS @ WS.T
  lse = special.logsumexp(z, axis=-1)
  keep = y != -100
  ce = np.where(keep, lse - np.take_along_axis(z, np.maximum(y, 0)[:, None], -1)[:, 0], 0.0)
  zr = np.where(keep, c * lse**2, 0.0)
  yj = jnp.asarray(y)
  for total, parts in (
      jaxloss.linear_cross_entropy(h, w, yj, z_loss=c, return_components=True, **SMALL),
      jaxloss.chunked_cross_entropy(h @ w.T, yj, z_loss=c, return_components=True, chunk_size=7),
      jaxloss.cross_entropy(h @ w.T, yj, z_loss=c, return_components=True)):
    np.testing.assert_allclose(total, (ce + zr).sum() / keep.sum(), rtol=1e-5)
    np.testing.assert_allclose(parts["cross_entropy"], ce.sum() / keep.sum(), rtol=1e-5)
    np.testing.assert_allclose(parts["z_loss"], zr.sum() / keep.sum(), rtol=1e-5)
  # The custom VJP takes the two parts' cotangents separately: the gradient of the
  # z-loss part alone matches the one of the unfused loss's z-loss part.
  def part(fn, name, *a, **kw):
    return fn(*a, z_loss=c, return_components=True, **kw)[1][name]
  for name in ("z_loss", "cross_entropy"):
    g1 = jax.grad(lambda h, w, n=name: part(jaxloss.linear_cross_entropy, n, h, w, yj, **SMALL),
                  (0, 1))(h, w)
    g2 = jax.grad(lambda h, w, n=name: part(jaxloss.cross_entropy, n, h @ w.T, yj), (0, 1))(h, w)
    _rel_close(g1, g2)
    g3 = jax.grad(lambda x, n=name: part(jaxloss.chunked_cross_entropy, n, x, yj,
                                         chunk_size=7))(h @ w.T)
    g4 = jax.grad(lambda x, n=name: part(jaxloss.cross_entropy, n, x, yj))(h @ w.T)
    _rel_close(g3, g4)
