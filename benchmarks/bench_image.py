"""Image losses: ``ssim_loss`` forward and value_and_grad vs ``dm_pix.ssim``, in one run.

    python -m benchmarks.bench_image [--shape 16 256 256 3] [--small] [--repeats 10]

``--small`` uses 4x64x64x3 (a quick smoke run). dm-pix is optional: when it is
not installed its rows are skipped (``pip install dm-pix`` only for this
comparison; it is not a jaxloss dependency). Also times ``ms_ssim_loss``,
``focal_frequency_loss`` and a one-pass memory-bound baseline
``jnp.sum(a * b)`` over the same arrays.
"""

import argparse

import jax
import jax.numpy as jnp

import jaxloss
from benchmarks._timing import markdown, time_fn, value_and_grad_fn, write_results

try:
  import dm_pix
except ImportError:  # optional comparison
  dm_pix = None


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--shape", type=int, nargs=4, default=(16, 256, 256, 3))
  parser.add_argument("--small", action="store_true", help="use 4x64x64x3")
  parser.add_argument("--repeats", type=int, default=10)
  args = parser.parse_args()
  shape = (4, 64, 64, 3) if args.small else tuple(args.shape)
  k1, k2 = jax.random.split(jax.random.key(0))
  t = jax.random.uniform(k1, shape)
  p = jnp.clip(t + 0.1 * jax.random.normal(k2, shape), 0.0, 1.0)

  cases = [
      ("ssim_loss (valid)", lambda a, b: jaxloss.ssim_loss(a, b, data_range=1.0)),
      ("ssim_loss (same)", lambda a, b: jaxloss.ssim_loss(a, b, data_range=1.0,
                                                          padding="same")),
  ]
  if dm_pix is not None:
    cases.append(("1 - dm_pix.ssim", lambda a, b: 1.0 - jnp.mean(dm_pix.ssim(a, b))))
  if min(shape[1:3]) > 160:
    cases.append(("ms_ssim_loss", lambda a, b: jaxloss.ms_ssim_loss(a, b, data_range=1.0)))
  cases.append(("focal_frequency_loss", lambda a, b: jaxloss.focal_frequency_loss(a, b)))
  cases.append(("baseline sum(a*b)", lambda a, b: jnp.sum(a * b)))

  rows = []
  timings = {}
  for name, f in cases:
    fwd = time_fn(f, p, t, repeats=args.repeats)
    vg = time_fn(value_and_grad_fn(f), p, t, repeats=args.repeats)
    timings[name] = (fwd, vg)
    rows.append({"loss": name, "shape": "x".join(map(str, shape)),
                 "fwd_ms": 1e3 * fwd["median_s"], "vg_ms": 1e3 * vg["median_s"],
                 "compile_s": vg["compile_s"], "vg_temp_MB": (vg["temp_bytes"] or 0) / 2**20})
  ref = timings.get("1 - dm_pix.ssim")
  base = timings["baseline sum(a*b)"]
  for row in rows:
    fwd, vg = timings[row["loss"]]
    row["vg/baseline"] = vg["median_s"] / base[1]["median_s"]
    if ref is not None:
      row["fwd/dm_pix"] = fwd["median_s"] / ref[0]["median_s"]
      row["vg/dm_pix"] = vg["median_s"] / ref[1]["median_s"]
  cols = ["loss", "shape", "fwd_ms", "vg_ms", "fwd/dm_pix", "vg/dm_pix", "vg/baseline",
          "compile_s", "vg_temp_MB"]
  print(markdown(rows, cols))
  if dm_pix is None:
    print("\n(dm-pix not installed: no dm_pix comparison rows)")
  print(f"\nwrote {write_results('image', rows)}")


if __name__ == "__main__":
  main()
