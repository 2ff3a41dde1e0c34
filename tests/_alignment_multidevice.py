"""Alignment losses on an 8-device CPU mesh: a sharded batch gives the unsharded values.

Run by tests/test_alignment.py (slow) in a subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=8 (the device count is fixed when JAX
starts). The losses are per-sequence, so under ``jax.jit`` with the batch axis sharded over a
data-parallel mesh they need nothing special: XLA inserts the reductions' collectives. Each
check compares values and gradients against the same call on unsharded inputs. Prints one
line per check and "ALL PASSED" at the end; any failure raises.
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
B, T = 16, 12
CHECKS = []


def check(fn):
  CHECKS.append(fn)
  return fn


def mesh():
  assert len(jax.devices()) == 8, jax.devices()
  return Mesh(np.array(jax.devices()), ("data",))


def shard(x, m):
  spec = P("data", *([None] * (np.ndim(x) - 1)))
  return jax.device_put(jnp.asarray(x), NamedSharding(m, spec))


def close(a, b, rtol=1e-5, atol=1e-6):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


@check
def dpo_loss_sharded_equals_unsharded():
  m = mesh()
  pc, pr, rc, rr = (RNG.uniform(-40, -5, B).astype(np.float32) for _ in range(4))
  lengths = RNG.integers(1, 30, (2, B)).astype(np.float32)
  where = RNG.random(B) < 0.8
  for lt in ("sigmoid", "ipo", "exo_pair", "discopop"):
    def f(a, b, c, d, nc, nr, w, lt=lt):
      return jaxloss.dpo_loss(a, b, c, d, loss_type=lt, label_smoothing=0.1, chosen_lengths=nc,
                              rejected_lengths=nr, where=w, return_components=True)
    vg = jax.jit(jax.value_and_grad(f, argnums=(0, 1), has_aux=True))
    args = (pc, pr, rc, rr, *lengths, where)
    sharded = vg(*(shard(x, m) for x in args))
    plain = vg(*(jnp.asarray(x) for x in args))
    assert sharded[1][0].sharding.spec[0] == "data"   # the gradient stays sharded
    close(sharded, plain)


@check
def clipped_policy_loss_sharded_equals_unsharded():
  m = mesh()
  logps = np.log(RNG.uniform(0.02, 1, (B, T))).astype(np.float32)
  old = (logps + RNG.normal(0, 0.3, (B, T))).astype(np.float32)
  ref = (logps + RNG.normal(0, 0.3, (B, T))).astype(np.float32)
  adv = RNG.normal(size=B).astype(np.float32)
  mask = np.arange(T)[None, :] < RNG.integers(0, T + 1, (B, 1))
  for lt in ("grpo", "dapo", "dr_grpo", "bnpo"):
    for level in ("token", "sequence"):
      def f(lp, o, a, mk, r, lt=lt, level=level):
        return jaxloss.clipped_policy_loss(lp, o, a, mk, ref_logps=r, beta=0.04,
                                           loss_type=lt, importance_level=level,
                                           return_components=True)
      vg = jax.jit(jax.value_and_grad(f, has_aux=True))
      args = (logps, old, adv, mask, ref)
      close(vg(*(shard(x, m) for x in args)), vg(*(jnp.asarray(x) for x in args)))


@check
def kto_and_advantages_sharded_equal_unsharded():
  m = mesh()
  pc, rc, pr, rr, pk, rk = (RNG.uniform(-40, -5, B).astype(np.float32) for _ in range(6))
  f = jax.jit(jax.value_and_grad(lambda a, b, c, d, k, r: jaxloss.kto_loss(
      a, b, c, d, policy_kl_logps=k, reference_kl_logps=r), argnums=(0, 1)))
  args = (pc, pr, rc, rr, pk + 3, rk)
  close(f(*(shard(x, m) for x in args)), f(*(jnp.asarray(x) for x in args)))
  rewards = RNG.normal(size=B).astype(np.float32)
  g = jax.jit(lambda r: jaxloss.grpo_advantages(r, 4))
  close(g(shard(rewards, m)), g(jnp.asarray(rewards)))


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
