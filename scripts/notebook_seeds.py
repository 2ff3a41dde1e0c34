"""Run notebooks over several seeds and print what their final assertions check.

Every notebook reads its seed from ``JAXLOSS_NB_SEED`` (default 0) and, with
``JAXLOSS_NB_FAST=1`` (what ``tests/test_notebooks.py`` sets), runs a smaller version;
its last cell prints one line ``ASSERTED: {...}`` with the quantities its assertions
check, *before* asserting. This script executes the notebooks from their sources in
``notebooks/src`` — with nbclient in a fresh ``python3`` kernel, as the test does — for
each seed, and prints per notebook and quantity the value at every seed and the range.
An assertion on a trained outcome belongs in a notebook only if it holds, with a margin,
at every seed here (issue 19).

    python scripts/notebook_seeds.py                 # all notebooks, seeds 0-4, full size
    python scripts/notebook_seeds.py 06 --fast       # one notebook, the CI (fast) mode
    python scripts/notebook_seeds.py --seeds 0 1 2 -j 1 --json out.json

Failed runs are reported (the assertion that failed) with the values printed before it.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import json
import os
import pathlib
import re
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_notebooks  # noqa: E402

TAG = "ASSERTED:"


def _parse(text: str):
  """The printed dict; NumPy scalars print as ``np.float64(0.5)`` under NumPy 2."""
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    import numpy as np

    return eval(text, {"__builtins__": {}, "np": np, "nan": float("nan"), "inf": float("inf")})


def _suite_xla_flags() -> str:
  """The XLA flags tests/conftest.py sets for the test suite (and the notebooks it runs)."""
  tree = ast.parse((ROOT / "tests" / "conftest.py").read_text())
  for node in tree.body:
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SUITE_XLA_FLAGS":
      return ast.literal_eval(node.value)
  raise RuntimeError("tests/conftest.py defines no SUITE_XLA_FLAGS")


def run_one(stem: str, seed: int, fast: bool, timeout: int = 600) -> dict:
  """Execute one notebook source at one seed; ``{"asserted", "error", "seconds"}``."""
  import nbclient

  src = build_notebooks.SRC / f"{stem}.py"
  nb = build_notebooks.to_notebook(build_notebooks.parse(src.read_text()))
  env = {**os.environ, "JAXLOSS_NB_SEED": str(seed), "JAXLOSS_NB_FAST": "1" if fast else "0"}
  if fast:   # exactly as the test suite runs them: with its compile-time XLA flags
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {_suite_xla_flags()}".strip()
  client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                   resources={"metadata": {"path": str(ROOT)}})
  t0, error = time.perf_counter(), None
  try:
    client.execute(env=env)
  except Exception as e:  # CellExecutionError: keep the values printed before the assertion
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    error = next((ln for ln in reversed(lines) if "Error" in ln), lines[-1] if lines else repr(e))
  seconds = time.perf_counter() - t0
  asserted, cpu = None, None
  for c in nb.cells:
    for o in c.get("outputs", []):
      if o.get("output_type") == "stream":
        for ln in o.text.splitlines():
          if ln.startswith(TAG):
            asserted = _parse(ln[len(TAG):].strip())
          m = re.search(r"\((\d+) s CPU in this kernel\)", ln)
          if m:
            cpu = int(m.group(1))
  return {"asserted": asserted, "error": error, "seconds": round(seconds, 1), "cpu": cpu}


def _fmt(v):
  return f"{v:.4g}" if isinstance(v, float) else str(v)


def report(stem: str, runs: dict[int, dict]) -> None:
  print(f"\n== {stem} ==")
  print("  wall seconds: " + ", ".join(f"s{s}={r['seconds']}" for s, r in runs.items()))
  print("  CPU seconds of the kernel: " + ", ".join(f"s{s}={r['cpu']}" for s, r in runs.items()))
  for s, r in runs.items():
    if r["error"]:
      print(f"  seed {s} FAILED: {r['error']}")
  keys = []
  for r in runs.values():
    keys += [k for k in (r["asserted"] or {}) if k not in keys]
  for k in keys:
    vals = {s: (r["asserted"] or {}).get(k) for s, r in runs.items()}
    nums = [v for v in vals.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    rng = f"  [min {_fmt(min(nums))}, max {_fmt(max(nums))}]" if nums else ""
    print(f"  {k}: " + ", ".join(f"s{s}={_fmt(v)}" for s, v in vals.items()) + rng)


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("only", nargs="*", help="notebook name prefixes, e.g. 03 06_gen (default: all)")
  ap.add_argument("--seeds", type=int, nargs="+", default=list(range(5)))
  ap.add_argument("--fast", action="store_true", help="JAXLOSS_NB_FAST=1, the mode the test suite runs")
  ap.add_argument("-j", "--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
  ap.add_argument("--json", type=pathlib.Path, help="also write the results here")
  args = ap.parse_args(argv)
  stems = sorted(p.stem for p in build_notebooks.SRC.glob("*.py")
                 if not args.only or any(p.stem.startswith(o) for o in args.only))
  jobs = [(stem, seed) for stem in stems for seed in args.seeds]
  results: dict[str, dict[int, dict]] = {stem: {} for stem in stems}
  with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
    futs = {pool.submit(run_one, stem, seed, args.fast): (stem, seed) for stem, seed in jobs}
    for f in concurrent.futures.as_completed(futs):
      stem, seed = futs[f]
      try:
        r = f.result()
      except Exception as e:  # a broken run must not lose the others
        r = {"asserted": None, "error": f"{type(e).__name__}: {e}", "seconds": None, "cpu": None}
      results[stem][seed] = r
      print(f"{stem} seed {seed}: {r['seconds']} s, {r['cpu']} s CPU{' FAILED: ' + r['error'] if r['error'] else ''}\n"
            f"  {TAG} {r['asserted']}", flush=True)
      if args.json:
        args.json.write_text(json.dumps({"fast": args.fast, "results": results}, indent=1, default=str))
  failed = 0
  for stem in stems:
    runs = dict(sorted(results[stem].items()))
    report(stem, runs)
    failed += sum(bool(r["error"]) for r in runs.values())
  if args.json:
    args.json.write_text(json.dumps({"fast": args.fast, "results": results}, indent=1, default=str))
  print(f"\n{len(jobs)} runs, {failed} failed ({'fast' if args.fast else 'full'} mode)")
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
