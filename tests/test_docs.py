"""The documentation site: generated API pages are fresh, cover every public
name, and ``mkdocs build --strict`` passes (broken references, docstring
problems and pages missing from the nav fail it)."""

from __future__ import annotations

import importlib.util
import inspect
import os
import pathlib
import subprocess
import sys

import pytest

import jaxloss

ROOT = pathlib.Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api"


def _gen():
  spec = importlib.util.spec_from_file_location("gen_api_docs", ROOT / "scripts" / "gen_api_docs.py")
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


def test_api_pages_are_fresh():
  assert _gen().main(["--check"]) == 0, "run: python scripts/gen_api_docs.py"


def _documented(text: str, name: str) -> bool:
  return (f"::: jaxloss.{name}\n" in text or f"::: jaxloss.{name}." in text
          or f'id="jaxloss.{name}"' in text)


def test_every_public_name_is_on_an_api_page():
  text = "\n".join(p.read_text() for p in sorted(API.glob("*.md")))
  missing = [n for n in jaxloss.__all__ if not _documented(text, n)]
  assert not missing, f"public names on no page of docs/api: {missing}"


def test_every_public_function_has_a_docstring():
  missing = [n for n in jaxloss.__all__
             if callable(getattr(jaxloss, n)) and not inspect.getdoc(getattr(jaxloss, n))]
  assert not missing, f"public callables without a docstring: {missing}"


def test_generator_covers_a_new_public_name(monkeypatch):
  # A public function added to jaxloss.__all__ lands on the helpers page.
  def brand_new_helper(x):
    """A new helper."""
    return x

  monkeypatch.setattr(jaxloss, "brand_new_helper", brand_new_helper, raising=False)
  monkeypatch.setattr(jaxloss, "__all__", [*jaxloss.__all__, "brand_new_helper"])
  pages = _gen().generate()
  assert "::: jaxloss.brand_new_helper\n" in pages["helpers.md"]


def test_mkdocs_build_strict(tmp_path):
  for mod in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python", "material"):
    if importlib.util.find_spec(mod) is None:
      pytest.skip(f"{mod} is not installed (pip install -e '.[test]' installs the docs tools)")
  env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
  proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                         "-d", str(tmp_path / "site")],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
  assert (tmp_path / "site" / "api" / "regression" / "index.html").exists()
  page = (tmp_path / "site" / "api" / "regression" / "index.html").read_text()
  assert 'id="jaxloss.mse"' in page and "arithmatex" in page  # rendered, with math
