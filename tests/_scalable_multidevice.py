"""Sharded losses on an 8-device CPU mesh: sharded == single-device, values and gradients.

Run by tests/test_scalable.py in a subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=8 (the device count is fixed when
JAX starts, so it cannot be set inside the main test process). Prints one line per
check and "ALL PASSED" at the end; any failure raises.
"""

import sys
import traceback

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxloss

RNG = np.random.default_rng(0)
BATCH, DIM = 16, 5
IMG = RNG.normal(size=(BATCH, DIM))
TXT = IMG + 0.7 * RNG.normal(size=(BATCH, DIM))


def mesh_of(n):
  return Mesh(np.array(jax.devices()[:n]), ("data",))


def close(a, b, rtol=1e-5, atol=1e-6):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


# ---- independent float64 NumPy references of the single-device global losses ----

def normalize(x):
  return x / np.linalg.norm(x, axis=1, keepdims=True)


def lse(s, axis):
  m = s.max(axis=axis, keepdims=True)
  return (np.log(np.exp(s - m).sum(axis=axis, keepdims=True)) + m).squeeze(axis)


def ref_clip(img, txt, temperature=0.07):
  s = normalize(img) @ normalize(txt).T / temperature
  d = np.diag(s)
  return np.mean(0.5 * (lse(s, 1) - d) + 0.5 * (lse(s, 0) - d))


def ref_siglip(img, txt, t=10.0, b=-10.0):
  x = t * normalize(img) @ normalize(txt).T + b
  z = 2 * np.eye(len(img)) - 1
  return np.sum(np.logaddexp(0.0, -z * x)) / len(img)


def ref_dice(logits, labels, smooth=1e-5, alpha=None, beta=None):
  p = np.exp(logits - lse(logits, -1)[..., None])
  g = np.eye(logits.shape[-1])[labels]
  axes = tuple(range(p.ndim - 1))
  tp, fp, fn = (p * g).sum(axes), (p * (1 - g)).sum(axes), ((1 - p) * g).sum(axes)
  if alpha is None:
    return np.mean(1 - (2 * tp + smooth) / (2 * tp + fp + fn + smooth))
  return np.mean(1 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth))


# ---- plain-jnp global losses (unsharded autodiff reference for the gradients) ----

def jnp_clip(img, txt, temperature):
  img = img / jnp.linalg.norm(img, axis=1, keepdims=True)
  txt = txt / jnp.linalg.norm(txt, axis=1, keepdims=True)
  s = img @ txt.T / temperature
  d = jnp.diag(s)
  return jnp.mean(0.5 * (jax.nn.logsumexp(s, 1) - d) + 0.5 * (jax.nn.logsumexp(s, 0) - d))


def jnp_siglip(img, txt, t, b):
  img = img / jnp.linalg.norm(img, axis=1, keepdims=True)
  txt = txt / jnp.linalg.norm(txt, axis=1, keepdims=True)
  x = t * img @ txt.T + b
  z = 2 * jnp.eye(img.shape[0]) - 1
  return -jnp.sum(jax.nn.log_sigmoid(z * x)) / img.shape[0]


CHECKS = []


def check(fn):
  CHECKS.append(fn)
  return fn


@check
def eight_devices():
  assert len(jax.devices()) == 8, jax.devices()


@check
def clip_equals_global():
  img, txt = jnp.asarray(IMG, jnp.float32), jnp.asarray(TXT, jnp.float32)
  expected = ref_clip(IMG, TXT)
  g_ref = jax.grad(jnp_clip, (0, 1, 2))(img, txt, 0.07)
  for n in (1, 2, 4, 8):
    mesh = mesh_of(n)
    f = jax.jit(lambda i, t, tau, mesh=mesh: jaxloss.sharded_clip_loss(
        i, t, mesh=mesh, temperature=tau))
    v, g = jax.value_and_grad(f, (0, 1, 2))(img, txt, 0.07)
    close(v, expected)
    close(g, g_ref, rtol=1e-4, atol=1e-5)
  # Inputs already sharded over the mesh; "none" keeps the per-example sharding.
  mesh = mesh_of(8)
  sh = NamedSharding(mesh, P("data", None))
  i8, t8 = jax.device_put(img, sh), jax.device_put(txt, sh)
  none = jaxloss.sharded_clip_loss(i8, t8, mesh=mesh, reduction="none")
  assert none.shape == (BATCH,) and none.sharding.spec == P("data"), none.sharding
  close(jnp.mean(none), expected)


@check
def siglip_equals_global():
  img, txt = jnp.asarray(IMG, jnp.float32), jnp.asarray(TXT, jnp.float32)
  for t, b in ((10.0, -10.0), (3.0, -1.0)):
    expected = ref_siglip(IMG, TXT, t, b)
    g_ref = jax.grad(jnp_siglip, (0, 1, 2, 3))(img, txt, t, b)
    for n in (1, 2, 4, 8):
      mesh = mesh_of(n)
      f = jax.jit(lambda i, x, t, b, mesh=mesh: jaxloss.sharded_siglip_loss(
          i, x, mesh=mesh, temperature=t, bias=b))
      v, g = jax.value_and_grad(f, (0, 1, 2, 3))(img, txt, t, b)
      close(v, expected)
      close(g, g_ref, rtol=1e-4, atol=1e-5)


@check
def dice_and_tversky_equal_global_batch():
  logits = RNG.normal(size=(8, 4, 3, 3)) * 2
  labels = RNG.integers(0, 3, size=(8, 4, 3))
  x, y = jnp.asarray(logits, jnp.float32), jnp.asarray(labels)
  cases = [(jaxloss.sharded_dice_loss, {}, ref_dice(logits, labels)),
           (jaxloss.sharded_tversky_loss, {"alpha": 0.3, "beta": 0.7},
            ref_dice(logits, labels, alpha=0.3, beta=0.7))]
  for fn, kw, expected in cases:
    grads = []
    for n in (1, 2, 8):
      v, g = jax.value_and_grad(lambda x, n=n, fn=fn, kw=kw: fn(x, y, mesh=mesh_of(n), **kw))(x)
      close(v, expected)
      grads.append(g)
    close(grads[1], grads[0], rtol=1e-5, atol=1e-7)
    close(grads[2], grads[0], rtol=1e-5, atol=1e-7)
  # Mean of per-device batch Dice losses is NOT the global batch Dice.
  per_device = np.mean([ref_dice(logits[i:i + 1], labels[i:i + 1]) for i in range(8)])
  assert abs(per_device - ref_dice(logits, labels)) > 1e-3


@check
def global_masked_mean_with_uneven_masks():
  values = RNG.normal(size=(16, 3))
  mask = np.zeros((16, 3), bool)
  mask[:2] = True           # device 0: 6 valid entries
  mask[5, 1] = True         # device 2: 1 valid entry
  expected = values[mask].mean()
  mesh = mesh_of(8)

  def inside(v, m):
    return jaxloss.global_masked_mean(v, where=m, axis_name="data")

  f = jax.jit(jax.shard_map(inside, mesh=mesh, in_specs=(P("data"), P("data")), out_specs=P()))
  v = jnp.asarray(values, jnp.float32)
  close(f(v, jnp.asarray(mask)), expected)
  g = jax.grad(lambda v: f(v, jnp.asarray(mask)))(v)
  close(g, np.where(mask, 1.0 / mask.sum(), 0.0))
  # NaN in masked-out entries changes nothing; an all-masked mean is 0.
  close(f(jnp.where(jnp.asarray(mask), v, jnp.nan), jnp.asarray(mask)), expected)
  assert float(f(v, jnp.zeros_like(jnp.asarray(mask)))) == 0.0
  # The naive pmean of per-device masked means differs.
  naive = np.mean([values[2 * i:2 * i + 2][mask[2 * i:2 * i + 2]].mean()
                   for i in range(8) if mask[2 * i:2 * i + 2].any()])
  assert abs(naive - expected) > 1e-3


@check
def per_example_losses_need_nothing_special():
  # The recipe: put the batch on the mesh, call the loss under jax.jit. XLA inserts
  # the collectives for the global reduction; results equal the unsharded call.
  mesh = mesh_of(8)
  sh = NamedSharding(mesh, P("data"))
  p = RNG.normal(size=(64, 3)).astype(np.float32)
  t = RNG.normal(size=(64, 3)).astype(np.float32)
  mask = RNG.random((64, 3)) > 0.5
  ps, ts, ms = (jax.device_put(a, sh) for a in (p, t, mask))
  step = jax.jit(jax.value_and_grad(
      lambda p, t, m: jaxloss.mse(p, t, where=m) + jaxloss.huber_loss(p, t)))
  v_sh, g_sh = step(ps, ts, ms)
  v, g = step(jnp.asarray(p), jnp.asarray(t), jnp.asarray(mask))
  close(v_sh, v)
  close(g_sh, g)
  assert g_sh.sharding.is_equivalent_to(sh, 2), g_sh.sharding
  d = p - t
  close(v_sh, (d**2)[mask].mean() + np.mean(np.where(np.abs(d) <= 1, 0.5 * d**2,
                                                      np.abs(d) - 0.5)))
  # The same holds for the chunked cross-entropy with data-parallel hidden states.
  h = RNG.normal(size=(64, 4)).astype(np.float32)
  w = RNG.normal(size=(37, 4)).astype(np.float32)
  y = RNG.integers(0, 37, size=(64,))
  f = jax.jit(jax.value_and_grad(
      lambda h, w: jaxloss.linear_cross_entropy(h, w, y, chunk_size=8), (0, 1)))
  hs = jax.device_put(h, NamedSharding(mesh, P("data", None)))
  close(f(hs, jnp.asarray(w)), f(jnp.asarray(h), jnp.asarray(w)), rtol=1e-5, atol=1e-6)


@check
def matches_embedding_family_if_present():
  if not hasattr(jaxloss, "clip_loss") or not hasattr(jaxloss, "siglip_loss"):
    print("  (jaxloss.clip_loss / siglip_loss not present; skipped)")
    return
  img, txt = jnp.asarray(IMG, jnp.float32), jnp.asarray(TXT, jnp.float32)
  mesh = mesh_of(8)
  close(jaxloss.sharded_clip_loss(img, txt, mesh=mesh),
        jaxloss.clip_loss(img, txt), rtol=1e-5)
  close(jaxloss.sharded_siglip_loss(img, txt, mesh=mesh),
        jaxloss.siglip_loss(img, txt), rtol=1e-5)


def main():
  failed = 0
  for fn in CHECKS:
    try:
      fn()
      print(f"PASS {fn.__name__}")
    except Exception:  # noqa: BLE001 - report every failing check
      failed += 1
      print(f"FAIL {fn.__name__}\n{traceback.format_exc()}")
  if failed:
    sys.exit(1)
  print("ALL PASSED")


if __name__ == "__main__":
  main()
