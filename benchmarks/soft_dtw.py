"""Benchmark: soft-DTW forward + gradient, jaxloss vs autodiff baselines.

For batch 32 x length L in {128, 256, 512} x 3 features (x and y of the same
length), times the jitted ``value_and_grad`` (w.r.t. x) of

* ``jaxloss``: :func:`jaxloss.soft_dtw` (anti-diagonal scan, custom VJP with
  the expected-alignment recursion);
* ``autodiff-antidiag``: the same anti-diagonal forward, differentiated by
  JAX autodiff through the scan (isolates the custom VJP);
* ``naive-scan``: the textbook recursion, a ``lax.scan`` over rows with an
  inner ``lax.scan`` over columns (n*m sequential steps), differentiated by
  autodiff.

Warm-up, then the median of several runs with ``block_until_ready``; also the
compile time and the temp memory of the compiled ``value_and_grad``. Prints a
markdown table (ratios = baseline time / jaxloss time) and writes
benchmarks/results/soft_dtw.json.

Run: ``python benchmarks/soft_dtw.py [--lengths 128 256 512] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import jax
import jax.numpy as jnp

import jaxloss
from jaxloss import sequence as seq

GAMMA = 0.1


def _cost(x, y):
  d = x[:, None, :] - y[None, :, :]
  return jnp.sum(d * d, -1)


def antidiag_autodiff(x, y):
  def one(a, b):
    table, _ = seq._sdtw_table(_cost(a, b), jnp.asarray(GAMMA, a.dtype))  # noqa: SLF001
    return table[-1, a.shape[0]]
  return jnp.mean(jax.vmap(one)(x, y))


def naive_scan(x, y):
  def one(a, b):
    dmat = _cost(a, b)
    m = dmat.shape[1]
    big = jnp.asarray(1e10, a.dtype)

    def softmin(p, q, r):
      z = jnp.stack([p, q, r]) / -GAMMA
      return -GAMMA * jax.nn.logsumexp(z)

    def row(prev, drow):
      # prev: R[i-1, 0..m]; build R[i, 0..m] left to right.
      def cell(left, j):
        val = drow[j] + softmin(prev[j], prev[j + 1], left)
        return val, val
      _, vals = jax.lax.scan(cell, big, jnp.arange(m))
      cur = jnp.concatenate([big[None], vals])
      return cur, None

    r0 = jnp.concatenate([jnp.zeros((1,), a.dtype), jnp.full((m,), big)])
    last, _ = jax.lax.scan(row, r0, dmat)
    return last[-1]
  return jnp.mean(jax.vmap(one)(x, y))


def jaxloss_fn(x, y):
  return jaxloss.soft_dtw(x, y, gamma=GAMMA)


def _time(fn, x, y, repeats):
  vg = jax.jit(jax.value_and_grad(fn))
  t0 = time.perf_counter()
  compiled = vg.lower(x, y).compile()
  compile_s = time.perf_counter() - t0
  mem = compiled.memory_analysis()
  temp = getattr(mem, "temp_size_in_bytes", None) if mem is not None else None
  jax.block_until_ready(compiled(x, y))
  runs = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(x, y))
    runs.append(time.perf_counter() - t0)
  value, grad = compiled(x, y)
  return statistics.median(runs), compile_s, temp, value, grad


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--lengths", type=int, nargs="+", default=[128, 256, 512])
  parser.add_argument("--batch", type=int, default=32)
  parser.add_argument("--features", type=int, default=3)
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  rows = []
  for n in args.lengths:
    kx, ky = jax.random.split(jax.random.key(n))
    x = jax.random.normal(kx, (args.batch, n, args.features))
    y = jax.random.normal(ky, (args.batch, n, args.features))
    res = {name: _time(fn, x, y, args.repeats) for name, fn in
           [("jaxloss", jaxloss_fn), ("autodiff-antidiag", antidiag_autodiff),
            ("naive-scan", naive_scan)]}
    base_t, _, _, base_v, base_g = res["jaxloss"]
    for name, (t, c, mem, v, g) in res.items():
      rows.append(dict(length=n, impl=name, median_s=t, compile_s=c, temp_bytes=mem,
                       ratio_vs_jaxloss=t / base_t,
                       max_abs_value_diff=float(jnp.abs(v - base_v)),
                       max_abs_grad_diff=float(jnp.max(jnp.abs(g - base_g)))))
  print(f"soft_dtw value_and_grad, batch {args.batch} x {args.features} features, "
        f"gamma {GAMMA}, {jax.devices()[0].platform}\n")
  print("| length | impl | median (ms) | time / jaxloss | compile (s) | temp MB | max |dvalue| | max |dgrad| |")
  print("|---|---|---|---|---|---|---|---|")
  for r in rows:
    mb = "" if r["temp_bytes"] is None else f"{r['temp_bytes'] / 2**20:.1f}"
    print(f"| {r['length']} | {r['impl']} | {1e3 * r['median_s']:.1f} | "
          f"{r['ratio_vs_jaxloss']:.2f} | {r['compile_s']:.2f} | {mb} | "
          f"{r['max_abs_value_diff']:.1e} | {r['max_abs_grad_diff']:.1e} |")
  out = os.path.join(os.path.dirname(__file__), "results", "soft_dtw.json")
  os.makedirs(os.path.dirname(out), exist_ok=True)
  with open(out, "w") as f:
    json.dump(dict(batch=args.batch, features=args.features, gamma=GAMMA,
                   platform=jax.devices()[0].platform, rows=rows), f, indent=1)


if __name__ == "__main__":
  main()
