"""Shared timing helpers: warm-up, median of many runs, compile time, peak memory."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
import statistics
import time

import jax


def compile_fn(fn, *args):
  """``(compiled, compile_s, temp_bytes)`` of ``jax.jit(fn)`` at ``args``.

  ``temp_bytes`` is the compiled executable's peak temporary allocation
  (``memory_analysis().temp_size_in_bytes``; None where the backend has none).
  """
  t0 = time.perf_counter()
  compiled = jax.jit(fn).lower(*args).compile()
  compile_s = time.perf_counter() - t0
  mem = compiled.memory_analysis()
  temp = getattr(mem, "temp_size_in_bytes", None) if mem is not None else None
  return compiled, compile_s, temp


def time_fn(fn, *args, repeats=30):
  """Median wall time (s) of a jitted ``fn(*args)``, its compile time and temp memory."""
  compiled, compile_s, temp = compile_fn(fn, *args)
  jax.block_until_ready(compiled(*args))  # warm-up
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times.append(time.perf_counter() - t)
  return {"median_s": statistics.median(times), "compile_s": compile_s, "temp_bytes": temp}


def time_interleaved(cases, *, min_repeats=5, max_repeats=30, budget_s=1.0):
  """Times several ``(fn, args)`` cases against each other, interleaved.

  Each case is compiled (compile time and temp memory recorded) and warmed up;
  then the cases run round-robin — one call of each per round — so a slow
  phase of a shared machine hits all of them alike. Rounds continue until
  ``max_repeats`` or until ``budget_s`` seconds have passed (at least
  ``min_repeats``). Returns one ``time_fn``-style dict per case, with
  ``repeats`` added.
  """
  compiled = []
  out = []
  for fn, args in cases:
    c, compile_s, temp = compile_fn(fn, *args)
    jax.block_until_ready(c(*args))  # warm-up
    compiled.append((c, args))
    out.append({"compile_s": compile_s, "temp_bytes": temp, "times": []})
  start = time.perf_counter()
  rounds = 0
  while rounds < max_repeats and (rounds < min_repeats or time.perf_counter() - start < budget_s):
    for (c, args), rec in zip(compiled, out, strict=True):
      t = time.perf_counter()
      jax.block_until_ready(c(*args))
      rec["times"].append(time.perf_counter() - t)
    rounds += 1
  for rec in out:
    times = rec.pop("times")
    rec["median_s"] = statistics.median(times)
    rec["repeats"] = len(times)
  return out


def value_and_grad_fn(loss, argnums=0):
  return jax.value_and_grad(lambda *a: loss(*a), argnums=argnums)


def cpu_model() -> str:
  """The CPU model name from /proc/cpuinfo (or platform.processor())."""
  try:
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
      if line.startswith("model name"):
        return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown CPU"


def machine_meta() -> dict:
  return {"machine": platform.platform(), "node": platform.node(), "processor": cpu_model(),
          "cores": os.cpu_count(), "jax": jax.__version__,
          "devices": [str(d) for d in jax.devices()],
          "date": datetime.date.today().isoformat()}


def write_results(name: str | None, rows: list[dict], *, out_dir=None,
                  extra_meta: dict | None = None) -> pathlib.Path:
  """Writes ``<out_dir>/<date>-<machine>[-<name>].json`` (default ``benchmarks/results``)."""
  out = pathlib.Path(out_dir) if out_dir is not None else pathlib.Path(__file__).parent / "results"
  out.mkdir(parents=True, exist_ok=True)
  date = datetime.date.today().isoformat()
  suffix = f"-{name}" if name else ""
  path = out / f"{date}-{platform.node() or 'machine'}{suffix}.json"
  meta = machine_meta()
  meta.update(extra_meta or {})
  path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
  return path


def markdown(rows: list[dict], columns: list[str]) -> str:
  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  for r in rows:
    cells = []
    for c in columns:
      v = r.get(c, "")
      if v is None:
        v = ""
      cells.append(f"{v:.3g}" if isinstance(v, float) else str(v))
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)
