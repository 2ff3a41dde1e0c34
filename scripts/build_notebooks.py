"""Build notebooks/*.ipynb from their percent-format sources in notebooks/src/ and execute them.

Each ``notebooks/src/NN_name.py`` is a plain Python script in the "percent" format
(jupytext's, without needing jupytext): ``# %%`` starts a code cell and
``# %% [markdown]`` a markdown cell whose lines are comments (``# `` stripped).
The script runs top to bottom with ``python notebooks/src/NN_name.py`` too.

    python scripts/build_notebooks.py            # build and execute every notebook
    python scripts/build_notebooks.py 03 05      # only those whose name starts so
    python scripts/build_notebooks.py --no-execute

Notebooks are executed with nbclient in a fresh ``python3`` kernel whose working
directory is the repository root, so ``import jaxloss`` picks up this checkout, at full
size and seed 0 (``JAXLOSS_NB_FAST`` and ``JAXLOSS_NB_SEED`` are removed from the kernel's
environment; ``scripts/notebook_seeds.py`` runs the other seeds and the fast mode).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import sys
import time

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"
_CELL = re.compile(r"^# %%(.*)$")


def parse(text: str) -> list[tuple[str, str]]:
  """``[(kind, source)]`` of a percent-format script; kind is "code" or "markdown"."""
  cells, kind, lines = [], None, []

  def flush():
    if kind is None:
      return
    body = "\n".join(lines).strip("\n")
    if kind == "markdown":
      body = "\n".join(re.sub(r"^# ?", "", ln) for ln in body.splitlines())
    if body.strip():
      cells.append((kind, body))

  for ln in text.splitlines():
    m = _CELL.match(ln)
    if m:
      flush()
      kind, lines = ("markdown" if "[markdown]" in m.group(1) else "code"), []
    elif kind is not None:
      lines.append(ln)
  flush()
  return cells


def to_notebook(cells) -> nbformat.NotebookNode:
  nb = nbformat.v4.new_notebook()
  nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
  nb.metadata["language_info"] = {"name": "python"}
  for kind, src in cells:
    nb.cells.append(nbformat.v4.new_code_cell(src) if kind == "code"
                    else nbformat.v4.new_markdown_cell(src))
  for i, c in enumerate(nb.cells):  # stable ids keep diffs small
    c["id"] = f"cell-{i:02d}"
  return nb


def execute(nb, timeout: int = 300) -> nbformat.NotebookNode:
  from nbclient import NotebookClient

  # the committed notebooks are the full-size run at seed 0, whatever the caller's environment
  env = {k: v for k, v in os.environ.items() if k not in ("JAXLOSS_NB_FAST", "JAXLOSS_NB_SEED")}
  NotebookClient(nb, timeout=timeout, kernel_name="python3",
                 resources={"metadata": {"path": str(ROOT)}}).execute(env=env)
  for c in nb.cells:  # drop run-dependent metadata (timestamps) and kernel-launch noise
    c.metadata.pop("execution", None)
    if c.cell_type == "code":
      c.outputs = [o for o in c.outputs
                   if not (o.output_type == "stream" and "IPKernelApp" in o.text)]
  return nb


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("only", nargs="*", help="name prefixes, e.g. 00 03_seg")
  ap.add_argument("--no-execute", action="store_true")
  args = ap.parse_args(argv)
  srcs = sorted(p for p in SRC.glob("*.py")
                if not args.only or any(p.stem.startswith(o) for o in args.only))
  for p in srcs:
    nb = to_notebook(parse(p.read_text()))
    t0 = time.perf_counter()
    if not args.no_execute:
      execute(nb)
    nbformat.write(nb, OUT / f"{p.stem}.ipynb")
    kb = (OUT / f"{p.stem}.ipynb").stat().st_size / 1024
    print(f"{p.stem}: {time.perf_counter() - t0:.1f} s, {kb:.0f} kB", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
