"""The ``jaxloss`` command.

    jaxloss list [--family F] [--task T]   the catalog, one loss a line
    jaxloss show NAME                      one loss: metadata and docstring

The loss-comparison workbench (``jaxloss compare``) is built on top of this.
"""

from __future__ import annotations

import argparse
import sys

from jaxloss import catalog


def _list(args) -> int:
  infos = catalog.all_losses()
  if args.family:
    infos = [i for i in infos if i.family == args.family]
  if args.task:
    wanted = {i.name for i in catalog.by_task(args.task)}
    infos = [i for i in infos if i.name in wanted]
  if not infos:
    print("no loss matches", file=sys.stderr)
    return 1
  width = max(len(i.name) for i in infos)
  for i in infos:
    grades = f"{i.efficiency.level}/{i.complexity.level}/{i.stability.level}"
    print(f"{i.family:<15} {i.name:<{width}}  {grades:<18} {i.peer or '-'}")
  return 0


def _show(args) -> int:
  try:
    i = catalog.get(args.name)
  except KeyError as e:
    print(e.args[0], file=sys.stderr)
    return 1
  print(f"{i.name}  [{i.family}]")
  if i.aliases:
    print(f"aliases: {', '.join(i.aliases)}")
  print(f"tasks: {', '.join(i.tasks)}")
  print(f"input: {i.input_kind}")
  print(f"matches: {i.peer or '-'}")
  print(f"references: {'; '.join(i.references)}")
  for label, g in (("efficiency", i.efficiency), ("complexity", i.complexity),
                   ("stability", i.stability)):
    print(f"{label}: {g.level} — {g.note}")
  print()
  print(i.fn.__doc__ or "")
  return 0


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="jaxloss", description=__doc__.split("\n")[0])
  sub = parser.add_subparsers(dest="command", required=True)
  p = sub.add_parser("list", help="list the catalog")
  p.add_argument("--family", choices=catalog.FAMILIES)
  p.add_argument("--task", help="substring of a task, e.g. 'segmentation'")
  p.set_defaults(run=_list)
  p = sub.add_parser("show", help="show one loss")
  p.add_argument("name")
  p.set_defaults(run=_show)
  args = parser.parse_args(argv)
  return args.run(args)


if __name__ == "__main__":
  sys.exit(main())
