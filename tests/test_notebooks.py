"""The notebooks under notebooks/ run top to bottom, are committed executed, and match their sources.

Each notebook is executed in a fresh ``python3`` kernel (nbclient) whose working directory is
the repository root, so it imports this checkout's jaxloss; any cell error — including the
final cell's assertions on the numbers the notebook reports — fails the test. Parametrised per
notebook so pytest-xdist spreads them over workers.

Regenerate the notebooks after editing ``notebooks/src/*.py`` with
``python scripts/build_notebooks.py``.
"""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "notebooks" / "src").glob("*.py"))
CELL_TIMEOUT = 240  # seconds per cell; each notebook takes well under a minute on a CPU


def _builder():
  spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "scripts" / "build_notebooks.py")
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


def test_every_source_has_a_notebook():
  assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS]
  assert len(NOTEBOOKS) == 9


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
  client.execute()  # raises CellExecutionError on the first failing cell
