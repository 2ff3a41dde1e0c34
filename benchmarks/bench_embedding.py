"""Batch metric-learning losses vs optax, batch sizes 256 / 1024 / 4096, in one run.

    python -m benchmarks.bench_embedding [--sizes 256 1024 4096] [--dim 256]

Times jitted forward and value_and_grad (w.r.t. the embeddings) of
``triplet_loss(mining="hard")``, ``supcon_loss`` and ``clip_loss`` beside
``optax.losses.ntxent`` (same B x B similarity structure; the baseline for
SupCon/CLIP) and ``optax.losses.triplet_margin_loss`` on B explicit triplets
(a linear-cost baseline: what batch-hard mining adds on top of the triplet
hinge), plus a ``jnp.sum(x @ x.T)`` floor (one B x B matmul). Reports milliseconds, the ratios to the optax baselines, compile time
and the compiled temporary memory, so the growth with B is visible.

Standalone on purpose (its own timing helper), so it runs on any branch.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import optax

import jaxloss


def time_fn(fn, *args, repeats=10):
  jitted = jax.jit(fn)
  t0 = time.perf_counter()
  compiled = jitted.lower(*args).compile()
  compile_s = time.perf_counter() - t0
  mem = compiled.memory_analysis()
  temp = getattr(mem, "temp_size_in_bytes", None) if mem is not None else None
  jax.block_until_ready(compiled(*args))
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times.append(time.perf_counter() - t)
  return {"ms": 1e3 * statistics.median(times), "compile_s": compile_s,
          "temp_MB": (temp or 0) / 2**20}


def vg(f):
  return jax.value_and_grad(f)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096])
  parser.add_argument("--dim", type=int, default=256)
  parser.add_argument("--repeats", type=int, default=10)
  parser.add_argument("--max-bytes", type=float, default=2**31,
                      help="skip optax.ntxent when its B*B*D float32 intermediate is larger")
  args = parser.parse_args()
  rows = []
  for b in args.sizes:
    k1, k2, k3 = jax.random.split(jax.random.key(b), 3)
    x = jax.random.normal(k1, (b, args.dim))
    pos = x + 0.1 * jax.random.normal(k2, (b, args.dim))
    neg = jax.random.normal(k3, (b, args.dim))
    labels = jnp.arange(b) % max(b // 4, 1)           # 4 samples per class
    reps = max(3, args.repeats if b <= 1024 else args.repeats // 3)
    ntx = lambda e, lab=labels: optax.losses.ntxent(e, lab, temperature=0.1)
    otr = lambda e, p=pos, n=neg: jnp.mean(optax.losses.triplet_margin_loss(e, p, n))
    gram = lambda e: jnp.sum(e @ e.T)                 # one B x B matmul: the floor
    # optax.ntxent's gradient materialises a B x B x D tensor (its cosine
    # similarity broadcasts embeddings[None] against embeddings[:, None]).
    ntx_ok = b * b * args.dim * 4 <= args.max_bytes
    base = {"gram": (time_fn(gram, x, repeats=reps), time_fn(vg(gram), x, repeats=reps)),
            "triplet": (time_fn(otr, x, repeats=reps), time_fn(vg(otr), x, repeats=reps))}
    if ntx_ok:
      base["ntxent"] = (time_fn(ntx, x, repeats=reps), time_fn(vg(ntx), x, repeats=reps))
    cases = [
        ("triplet_loss(hard)", "triplet",
         lambda e, lab=labels: jaxloss.triplet_loss(e, lab, mining="hard", margin=0.2)),
        ("supcon_loss", "ntxent",
         lambda e, lab=labels: jaxloss.supcon_loss(e, lab, temperature=0.1)),
        ("clip_loss", "ntxent", lambda e, p=pos: jaxloss.clip_loss(e, p, temperature=0.07)),
        ("optax.triplet_margin_loss", "triplet", otr),
        ("optax.ntxent", "ntxent", ntx),
        ("gram matmul", "gram", gram),
    ]
    for name, against, f in cases:
      if name == "optax.ntxent" and not ntx_ok:
        rows.append({"loss": name, "B": b, "D": args.dim, "note": "skipped: B*B*D*4 bytes "
                     f"= {b * b * args.dim * 4 / 2**30:.1f} GiB intermediate"})
        print(f"B={b:5d} {name:28s} skipped (B x B x D intermediate)", flush=True)
        continue
      if name in ("optax.ntxent", "gram matmul", "optax.triplet_margin_loss"):
        fwd, both = base[against]
      else:
        fwd = time_fn(f, x, repeats=reps)
        both = time_fn(vg(f), x, repeats=reps)
      row = {"loss": name, "B": b, "D": args.dim, "fwd_ms": fwd["ms"], "vg_ms": both["ms"],
             "compile_s": both["compile_s"], "vg_temp_MB": both["temp_MB"],
             "vg/gram": both["ms"] / base["gram"][1]["ms"]}
      if against in base:
        row["vg/optax"] = both["ms"] / base[against][1]["ms"]
        row["optax_baseline"] = {"ntxent": "ntxent", "triplet": "triplet_margin_loss"}.get(
            against, "")
      rows.append(row)
      print(f"B={b:5d} {name:28s} fwd {fwd['ms']:9.2f} ms  vg {both['ms']:9.2f} ms  "
            f"vg/optax {row.get('vg/optax', float('nan')):7.3f}  vg/gram {row['vg/gram']:6.2f}  "
            f"temp {both['temp_MB']:8.1f} MB", flush=True)
  cols = ["loss", "B", "fwd_ms", "vg_ms", "optax_baseline", "vg/optax", "vg/gram", "compile_s",
          "vg_temp_MB", "note"]
  lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
  for r in rows:
    lines.append("| " + " | ".join(f"{r.get(c, ''):.3g}" if isinstance(r.get(c), float)
                                   else str(r.get(c, "")) for c in cols) + " |")
  print("\n".join(lines))
  out = pathlib.Path(__file__).parent / "results"
  out.mkdir(exist_ok=True)
  path = out / f"{datetime.date.today().isoformat()}-{platform.node() or 'machine'}-embedding.json"
  meta = {"machine": platform.platform(), "jax": jax.__version__,
          "devices": [str(d) for d in jax.devices()], "note": "2 shared CPU cores"}
  path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
  print(f"\nwrote {path}")


if __name__ == "__main__":
  main()
