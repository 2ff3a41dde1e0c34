"""Shared timing helpers: warm-up, median of many runs, compile time, peak memory."""

from __future__ import annotations

import datetime
import json
import pathlib
import platform
import statistics
import time

import jax


def time_fn(fn, *args, repeats=30):
  """Median wall time (s) of a jitted ``fn(*args)``, its compile time and temp memory."""
  jitted = jax.jit(fn)
  t0 = time.perf_counter()
  compiled = jitted.lower(*args).compile()
  compile_s = time.perf_counter() - t0
  mem = compiled.memory_analysis()
  temp = getattr(mem, "temp_size_in_bytes", None) if mem is not None else None
  jax.block_until_ready(compiled(*args))  # warm-up
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times.append(time.perf_counter() - t)
  return {"median_s": statistics.median(times), "compile_s": compile_s, "temp_bytes": temp}


def value_and_grad_fn(loss, argnums=0):
  return jax.value_and_grad(lambda *a: loss(*a), argnums=argnums)


def write_results(name: str, rows: list[dict]) -> pathlib.Path:
  out = pathlib.Path(__file__).parent / "results"
  out.mkdir(exist_ok=True)
  date = datetime.date.today().isoformat()
  path = out / f"{date}-{platform.node() or 'machine'}-{name}.json"
  meta = {"machine": platform.platform(), "processor": platform.processor(),
          "jax": jax.__version__, "devices": [str(d) for d in jax.devices()]}
  path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
  return path


def markdown(rows: list[dict], columns: list[str]) -> str:
  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  for r in rows:
    cells = []
    for c in columns:
      v = r.get(c, "")
      cells.append(f"{v:.3g}" if isinstance(v, float) else str(v))
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)
