"""The notebooks under notebooks/ run top to bottom, are committed executed, and match their sources.

Each notebook is executed in a fresh ``python3`` kernel (nbclient) whose working directory is
the repository root, so it imports this checkout's jaxloss; any cell error — including the
final cell's assertions on the numbers the notebook reports — fails the test. Parametrised per
notebook so pytest-xdist spreads them over workers.

The test runs each notebook in its fast mode (``JAXLOSS_NB_FAST=1``: fewer training steps and
smaller data, a few seconds each) at seed 0. Its assertions, like the full-size ones, are
checked over seeds 0-4 with ``python scripts/notebook_seeds.py --fast`` — an assertion on a
trained outcome must hold at every seed with a margin, not just at the one the test runs.

Regenerate the notebooks after editing ``notebooks/src/*.py`` with
``python scripts/build_notebooks.py``.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "notebooks" / "src").glob("*.py"))
CELL_TIMEOUT = 240  # seconds per cell; in the fast mode each notebook takes seconds


def _builder():
  spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "scripts" / "build_notebooks.py")
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


def test_every_source_has_a_notebook():
  assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS]
  assert len(NOTEBOOKS) == 11


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_executed_and_in_sync(path):
  nb = nbformat.read(path, as_version=4)
  code = [c for c in nb.cells if c.cell_type == "code"]
  assert code, f"{path.name} has no code cells"
  unexecuted = [i for i, c in enumerate(code) if c.get("execution_count") is None]
  assert not unexecuted, f"{path.name}: code cells {unexecuted} have no outputs; run scripts/build_notebooks.py"
  errors = [o for c in code for o in c.outputs if o.output_type == "error"]
  assert not errors, f"{path.name} was committed with an error output"
  images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
  assert images, f"{path.name} has no figure"
  src = ROOT / "notebooks" / "src" / f"{path.stem}.py"
  expected = _builder().parse(src.read_text())
  actual = [(c.cell_type, c.source) for c in nb.cells]
  assert actual == expected, f"{path.name} differs from {src.name}; run scripts/build_notebooks.py {path.stem}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
  nb = nbformat.read(path, as_version=4)
  client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                   resources={"metadata": {"path": str(ROOT)}})
  env = {**os.environ, "JAXLOSS_NB_FAST": "1", "JAXLOSS_NB_SEED": "0"}
  client.execute(env=env)  # raises CellExecutionError on the first failing cell


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_notebook_is_seeded_and_reports_what_it_asserts(path):
  """Every random draw follows JAXLOSS_NB_SEED and the last cell prints its ASSERTED line."""
  text = path.read_text()
  assert 'SEED = int(os.environ.get("JAXLOSS_NB_SEED", 0))' in text, path.name
  code = [c for kind, c in _builder().parse(text) if kind == "code"]
  assert 'print("ASSERTED:"' in code[-1], f"{path.name}: the last cell must print its ASSERTED line"
  for fixed in ("seed=0", "Rngs(0)", "key(0)", "default_rng(0)"):
    assert fixed not in text, f"{path.name} has a fixed {fixed!r}; derive it from SEED"
