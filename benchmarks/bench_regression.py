"""Regression losses vs optax and a one-pass memory-bound baseline, in one run.

    python -m benchmarks.bench_regression [--n 10000000]

For each loss: jitted forward and value_and_grad (w.r.t. predictions) time,
as ratios to optax's equivalent (mean of its elementwise output) and to
``jnp.sum(a * b)`` (and its gradient) over the same arrays.
"""

import argparse

import jax
import jax.numpy as jnp
import optax

import jaxloss
from benchmarks._timing import markdown, time_fn, value_and_grad_fn, write_results

PAIRS = [
    ("mse", jaxloss.mse, lambda p, t: jnp.mean(optax.losses.squared_error(p, t))),
    ("huber_loss", jaxloss.huber_loss, lambda p, t: jnp.mean(optax.losses.huber_loss(p, t))),
    ("log_cosh_loss", jaxloss.log_cosh_loss, lambda p, t: jnp.mean(optax.losses.log_cosh(p, t))),
    ("mae", jaxloss.mae, None),
    ("smooth_l1_loss", jaxloss.smooth_l1_loss, None),
    ("charbonnier_loss", jaxloss.charbonnier_loss, None),
]


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--n", type=int, default=10_000_000)
  parser.add_argument("--repeats", type=int, default=20)
  args = parser.parse_args()
  k1, k2 = jax.random.split(jax.random.key(0))
  p = jax.random.normal(k1, (args.n,))
  t = jax.random.normal(k2, (args.n,))
  base = lambda a, b: jnp.sum(a * b)
  b_fwd = time_fn(base, p, t, repeats=args.repeats)
  b_vg = time_fn(value_and_grad_fn(base), p, t, repeats=args.repeats)
  rows = []
  for name, ours, theirs in PAIRS:
    f = lambda a, b, ours=ours: ours(a, b)
    fwd = time_fn(f, p, t, repeats=args.repeats)
    vg = time_fn(value_and_grad_fn(f), p, t, repeats=args.repeats)
    row = {"loss": name, "n": args.n, "fwd_ms": 1e3 * fwd["median_s"],
           "vg_ms": 1e3 * vg["median_s"], "fwd/baseline": fwd["median_s"] / b_fwd["median_s"],
           "vg/baseline": vg["median_s"] / b_vg["median_s"], "compile_s": vg["compile_s"],
           "vg_temp_MB": (vg["temp_bytes"] or 0) / 2**20}
    if theirs is not None:
      o_fwd = time_fn(theirs, p, t, repeats=args.repeats)
      o_vg = time_fn(value_and_grad_fn(theirs), p, t, repeats=args.repeats)
      row["fwd/optax"] = fwd["median_s"] / o_fwd["median_s"]
      row["vg/optax"] = vg["median_s"] / o_vg["median_s"]
    rows.append(row)
  cols = ["loss", "fwd_ms", "vg_ms", "fwd/baseline", "vg/baseline", "fwd/optax", "vg/optax",
          "compile_s", "vg_temp_MB"]
  print(markdown(rows, cols))
  print(f"\nwrote {write_results('regression', rows)}")


if __name__ == "__main__":
  main()
