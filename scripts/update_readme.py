"""Regenerates the README's loss table from the catalog.

    python scripts/update_readme.py          # rewrite README.md
    python scripts/update_readme.py --check  # exit 1 if it is out of date
"""

import pathlib
import sys

START, END = "<!-- catalog:start -->", "<!-- catalog:end -->"


def render(text: str) -> str:
  from jaxloss import catalog

  head, rest = text.split(START, 1)
  _, tail = rest.split(END, 1)
  n = len(catalog.all_losses())
  fams = ", ".join(catalog.families())
  body = f"\n{n} losses in {len(catalog.families())} families ({fams}).\n\n{catalog.markdown_table()}\n"
  return head + START + body + END + tail


def main() -> int:
  path = pathlib.Path(__file__).resolve().parents[1] / "README.md"
  text = path.read_text()
  new = render(text)
  if "--check" in sys.argv:
    if new != text:
      print("README.md loss table is out of date: run python scripts/update_readme.py")
      return 1
    return 0
  path.write_text(new)
  return 0


if __name__ == "__main__":
  sys.exit(main())
