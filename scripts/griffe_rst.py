"""Griffe extension for the docs site: the reST bits of jaxloss docstrings as Markdown.

jaxloss docstrings are Google style with a few reStructuredText constructs
(STYLE.md): ``.. math::`` blocks, ``:math:`...``` and cross-reference roles
(``:func:`x```, ``:mod:`x```, ...). mkdocstrings renders Markdown, so this
extension rewrites them when griffe loads a docstring: math blocks become
``$$ ... $$`` (pymdownx.arithmatex), inline math ``$...$``, roles code spans.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|mod|data|attr|meth|obj|exc|py:\w+):`~?!?([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")


def _indent(line: str) -> int:
  return len(line) - len(line.lstrip())


_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Keyword Args|Attributes):\s*$")
_ENTRY = re.compile(r"^\s*\*{0,2}[A-Za-z_][\w]*(\s*,\s*\*{0,2}[A-Za-z_][\w]*)*\s*(\(.*\))?\s*:")
_NAMES_LINE = re.compile(r"^\s*[A-Za-z_][\w]*(\s*,\s*[A-Za-z_][\w]*)*\s*,\s*$")


def _join_name_lists(lines: list[str]) -> list[str]:
  """Repairs Args entries a Google-style parser would split.

  ``a, b,\n    c: as f`` becomes ``a, b, c: as f`` (the parser expects
  ``name: description`` on the entry's first line), and a continuation line
  indented like the entries themselves (not deeper) is joined to its entry.
  """
  out: list[str] = []
  entry_indent = None
  in_args = False
  for line in lines:
    if _SECTION.match(line):
      in_args, entry_indent = True, None
      out.append(line)
      continue
    if line.strip() and _indent(line) == 0:
      in_args = False
    if in_args and line.strip():
      if entry_indent is None:
        entry_indent = _indent(line)
      prev = out[-1] if out else ""
      if _NAMES_LINE.match(prev) or (_indent(line) == entry_indent and not _ENTRY.match(line)
                                     and prev.strip()):
        out[-1] = prev.rstrip() + " " + line.strip()
        continue
    out.append(line)
  return out


def _fence_doctests(lines: list[str]) -> list[str]:
  """Fences ``>>>`` examples written outside an ``Examples:`` section."""
  out: list[str] = []
  i = 0
  while i < len(lines):
    if lines[i].startswith(">>>"):
      if out and out[-1].strip():
        out.append("")
      out.append("```python")
      while i < len(lines) and lines[i].strip():
        out.append(lines[i])
        i += 1
      out.append("```")
      continue
    out.append(lines[i])
    i += 1
  return out


def rst_to_markdown(text: str) -> str:
  """Rewrites reST math blocks and roles in a docstring to Markdown."""
  lines = _fence_doctests(_join_name_lists(text.splitlines()))
  out: list[str] = []
  i = 0
  while i < len(lines):
    line = lines[i]
    stripped = line.strip()
    if stripped.startswith(".. math::"):
      base = " " * _indent(line)
      body = [stripped[len(".. math::"):].strip()] if stripped != ".. math::" else []
      i += 1
      block: list[str] = []
      while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > len(base)):
        block.append(lines[i])
        i += 1
      while block and not block[-1].strip():
        block.pop()
      inner = [b for b in block if b.strip()]
      cut = min((_indent(b) for b in inner), default=0)
      body += [b[cut:] if b.strip() else "" for b in block]
      body = [b for b in body if b is not None]
      while body and not body[0].strip():
        body.pop(0)
      if out and out[-1].strip():
        out.append("")
      out.append(base + "$$")
      out += [(base + b) if b else "" for b in body]
      out.append(base + "$$")
      if i < len(lines) and lines[i].strip():
        out.append("")
      continue
    out.append(line)
    i += 1
  result = "\n".join(out)
  result = _MATH_ROLE.sub(lambda m: f"${m.group(1)}$", result)
  return _ROLE.sub(lambda m: f"`{m.group(1)}`", result)


class RstToMarkdown(griffe.Extension):
  """Converts every loaded docstring (see :func:`rst_to_markdown`)."""

  def on_object(self, *, obj, **kwargs) -> None:
    if obj.docstring is not None:
      obj.docstring.value = rst_to_markdown(obj.docstring.value)
