"""The jaxloss command: browse the catalog, compare losses on a task, get recommendations.

``python -m jaxloss ...`` is the same command. ``list`` and ``show`` read the
catalog's snapshot (``jaxloss/catalog/snapshot.json``, regenerated with the
docs) and import no JAX, so they answer at once; ``compare`` and
``recommend`` load JAX, Flax and the workbench when they run.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import time

EXAMPLES = """\
examples:
  jaxloss list --family segmentation
  jaxloss list --task forecasting --format markdown
  jaxloss show dice_loss
  jaxloss compare segmentation
  jaxloss compare segmentation --losses cross_entropy,lovasz_softmax_loss --seeds 0,1,2
  jaxloss compare imbalanced-classification --losses 'focal_loss:gamma=1,focal_loss:gamma=3'
  jaxloss compare tabular-regression --losses mse,huber_loss:delta=0.5 --steps 300
  jaxloss recommend --task segmentation --imbalanced

compare writes results.json, summary.png, curves.png, metrics.png and one picture
per loss into a fresh folder jaxloss-results/<task>-<time>/ (jaxloss-results/latest
points at the newest); --out DIR writes into DIR instead (refused if DIR is not empty,
unless --force)."""

TASK_NAMES = ("classification", "imbalanced-classification", "tabular-regression",
              "segmentation", "detection", "dense-detection", "embedding", "forecasting", "vae", "gan",
              "diffusion")


def _version() -> str:
  try:
    from importlib.metadata import version
    return version("jaxloss")
  except Exception:  # noqa: BLE001 - running from a source tree without metadata
    return "unknown"


# ---------------------------------------------------------------------------------------------
# the catalog, without JAX: the snapshot

_SNAPSHOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "catalog", "snapshot.json")


def _entries() -> list[dict]:
  """The catalog's entries as plain dicts: from the snapshot file, or (if it is
  missing, e.g. in a development tree) from the live catalog."""
  if os.path.exists(_SNAPSHOT):
    with open(_SNAPSHOT) as f:
      return json.load(f)["losses"]
  from jaxloss.catalog import snapshot
  return snapshot()["losses"]


def _families(entries) -> list[str]:
  return list(dict.fromkeys(e["family"] for e in entries))


# ---------------------------------------------------------------------------------------------
# docstrings as plain text

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Delta": "Δ", "Gamma": "Γ", "Sigma": "Σ",
    "Phi": "Φ", "Omega": "Ω", "Lambda": "Λ", "Theta": "Θ", "ell": "ℓ",
}
_SYMBOLS = {
    "sum": "Σ", "prod": "Π", "cdot": "·", "times": "×", "le": "≤", "leq": "≤", "ge": "≥",
    "geq": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "infty": "∞", "in": "∈", "to": "→",
    "rightarrow": "→", "mapsto": "↦", "partial": "∂", "nabla": "∇", "sqrt": "√", "pm": "±",
    "lVert": "‖", "rVert": "‖", "|": "‖", "langle": "⟨", "rangle": "⟩", "quad": "  ",
    "qquad": "    ", ",": " ", ";": " ", "!": "", " ": " ", "lfloor": "⌊", "rfloor": "⌋",
    "lceil": "⌈", "rceil": "⌉", "odot": "⊙", "circ": "∘", "top": "ᵀ", "cup": "∪", "cap": "∩",
    "log": "log ", "exp": "exp ", "max": "max ", "min": "min ", "sin": "sin ", "cos": "cos ",
    "arccos": "arccos ", "tanh": "tanh ", "det": "det ", "tr": "tr ", "operatorname": "",
    "argmax": "argmax ", "argmin": "argmin ", "sup": "sup ", "inf": "inf ", "lim": "lim ",
    "mid": "|", "lbrace": "{", "rbrace": "}", "prime": "′", "forall": "∀", "ldots": "…",
    "mathbb": "", "mathrm": "", "mathbf": "", "text": "", "textrm": "", "mathcal": "",
    "boldsymbol": "", "bm": "", "left": "", "right": "", "big": "", "Big": "", "bigl": "",
    "bigr": "", "Bigl": "", "Bigr": "", "displaystyle": "", "hat": "", "tilde": "", "bar": "",
    "overline": "", "dots": "…", "cdots": "⋯", "sim": "~", "propto": "∝", "equiv": "≡",
    "cases": "", "aligned": "",
}


def _group(s: str, i: int) -> tuple[str, int]:
  """The brace group starting at ``s[i] == "{"`` (nested braces kept) and the index after it."""
  depth = 0
  for j in range(i, len(s)):
    depth += {"{": 1, "}": -1}.get(s[j], 0)
    if depth == 0:
      return s[i + 1:j], j + 1
  return s[i + 1:], len(s)


def _fracs(s: str) -> str:
  """``\\frac{a}{b}`` (and ``\\sqrt{a}``) -> ``(a)/(b)`` (``√(a)``), nested groups included."""
  out, i = [], 0
  while i < len(s):
    m = re.compile(r"\\(?:[dt]?frac|sqrt)\s*\{").match(s, i)
    if not m:
      out.append(s[i])
      i += 1
      continue
    a, j = _group(s, m.end() - 1)
    if "sqrt" in m.group(0):
      out.append(f"√({_fracs(a)})")
      i = j
      continue
    while j < len(s) and s[j] == " ":
      j += 1
    b, j = _group(s, j) if j < len(s) and s[j] == "{" else ("", j)
    out.append(f"({_fracs(a)})/({_fracs(b)})")
    i = j
  return "".join(out)


def _latex(s: str) -> str:
  """LaTeX as readable plain text (Greek letters and symbols as Unicode)."""
  s = s.replace(r"\\", "; ")
  s = re.sub(r"\\(begin|end)\{\w+\*?\}(\{[lcr|]*\})?", " ", s)
  s = re.sub(r"\\[dt]?frac(\d)(\d)", r"\1/\2", s)
  while (m := re.search(r"\\(?:overset|underset|stackrel)\s*\{", s)):
    s = s[:m.start()] + s[_group(s, m.end() - 1)[1]:]   # drop the annotation, keep the symbol
  s = _fracs(s)

  def cmd(m):
    name = m.group(1)
    if name in _GREEK:
      return _GREEK[name]
    if name in _SYMBOLS:
      return _SYMBOLS[name]
    return name

  s = re.sub(r"\\([A-Za-z]+|[|,;! ])", cmd, s)
  s = s.replace("\\{", "{").replace("\\}", "}").replace("\\_", "_").replace("&", "")
  s = re.sub(r"\{([^{}]*)\}", r"\1", s)
  s = re.sub(r"\{([^{}]*)\}", r"\1", s)
  return re.sub(r"[ \t]{2,}", " ", s)


def plain_text(doc: str) -> str:
  """A reStructuredText/Google docstring as terminal text: ``.. math::`` blocks and
  ``:math:`` roles in readable Unicode, roles (``:func:`x```) and ````code```` unmarked."""
  import textwrap

  lines = textwrap.dedent(doc or "").strip("\n").split("\n")
  if lines and lines[0] and not lines[0].startswith(" "):   # the summary line is not indented
    rest = textwrap.dedent("\n".join(lines[1:])).split("\n")
    lines = [lines[0], *rest]
  out, math, indent = [], None, 0

  def flush():
    if math:   # a display formula: its lines joined, LaTeX as text
      for part in _latex(" ".join(math)).split("; "):
        out.append(" " * (indent + 4) + part.strip())
      out.append("")

  for ln in lines:
    stripped = ln.strip()
    if stripped.startswith(".. math::"):
      flush()
      indent = len(ln) - len(ln.lstrip())
      math = [stripped[len(".. math::"):].strip()]
      continue
    if math is not None:
      if not stripped or len(ln) - len(ln.lstrip()) > indent:
        if stripped:
          math.append(stripped)
        continue
      flush()
      math = None
    out.append(ln.rstrip())
  flush()
  text = "\n".join(out)   # roles and code spans may wrap across lines
  text = re.sub(r":math:`([^`]*)`", lambda m: _latex(m.group(1)), text)
  text = re.sub(r":[a-z]+:`~?([^`]*)`", r"\1", text)
  out = re.sub(r"``(.*?)``", r"\1", text, flags=re.S).split("\n")
  return "\n".join(out).strip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
# list / show


def _grades(e) -> str:
  return f"{e['efficiency'][0]}/{e['complexity'][0]}/{e['stability'][0]}"


def _list(args) -> int:
  entries = _entries()
  if args.family:
    fams = _families(entries)
    if args.family not in fams:
      return _fail("list", f"unknown family {args.family!r}{_near(args.family, fams)}; "
                   f"families: {', '.join(fams)}")
    entries = [e for e in entries if e["family"] == args.family]
  if args.task:
    t = args.task.lower()
    entries = [e for e in entries if any(t in x.lower() for x in e["tasks"])]
  if not entries:
    tasks = sorted({x for e in _entries() for x in e["tasks"]})
    return _fail("list", f"no loss matches{_near(args.task or '', tasks)}")
  if args.format == "json":
    keep = ("name", "family", "module", "tasks", "input_kind", "peer", "efficiency",
            "complexity", "stability", "graded_by", "aliases")
    print(json.dumps([{k: e[k] for k in keep} for e in entries], indent=1, ensure_ascii=False))
    return 0
  head = ("family", "loss", "module", "eff/cplx/stab", "matches")
  rows = [(e["family"], e["name"], e["module"].removeprefix("jaxloss."), _grades(e),
           e["peer"] or "-") for e in entries]
  if args.format == "markdown":
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
      print("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return 0
  widths = [max(len(r[k]) for r in [head, *rows]) for k in range(4)]
  fmt = lambda r: "  ".join(f"{c:<{w}}" for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
  print(fmt(head))
  print(fmt(tuple("-" * w for w in widths) + ("-" * 7,)))
  for r in rows:
    print(fmt(r))
  print(f"{len(rows)} losses; grades are the survey's: efficiency / implementation complexity "
        "/ gradient stability")
  return 0


def _near(word: str, choices) -> str:
  close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
  return f"; did you mean {' or '.join(close)}?" if close else ""


def _find(entries, name):
  for e in entries:
    if e["name"] == name or name in e["aliases"]:
      return e
  return None


def _show(args) -> int:
  entries = _entries()
  e = _find(entries, args.name)
  if e is None:
    names = [x["name"] for x in entries] + [a for x in entries for a in x["aliases"]]
    close = difflib.get_close_matches(args.name, names, n=3, cutoff=0.5)
    close += [n for n in names if args.name in n and n not in close][:5 - len(close)]
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return _fail("show", f"no loss named {args.name!r}{hint} (`jaxloss list` shows them all)")
  print(f"{e['name']}{e['signature']}")
  print(f"  family {e['family']}, defined in {e['module']}")
  if e["aliases"]:
    print(f"  aliases: {', '.join(e['aliases'])}")
  print(f"  tasks: {', '.join(e['tasks'])}")
  print(f"  input: {e['input_kind']}")
  if e["components"]:
    print(f"  parts (return_components=True): {', '.join(e['components'])}")
  print(f"  matches: {e['peer'] or '-'}")
  by = " (the survey's grades)" if e["graded_by"] == "survey" else ""
  for label in ("efficiency", "complexity", "stability"):
    level, note = e[label]
    print(f"  {label}{by if label == 'efficiency' else ''}: {level} — {note}")
  print()
  print(plain_text(e["doc"]), end="")
  return 0


def _fail(cmd, msg) -> int:
  print(f"jaxloss {cmd}: error: {msg}", file=sys.stderr)
  return 2


# ---------------------------------------------------------------------------------------------
# compare


def _workbench():
  """The workbench layer, or None with a message if its extra is not installed."""
  try:
    from jaxloss import workbench
  except ImportError as e:
    print(f"jaxloss: the workbench needs the [workbench] extra ({e}); install it with "
          "pip install 'jaxloss[workbench]'", file=sys.stderr)
    return None
  return workbench


def _ints(text, what):
  vals = []
  for part in str(text).split(","):
    part = part.strip()
    if not re.fullmatch(r"-?\d+", part):
      raise ValueError(f"{what} must be integers separated by commas, got {text!r}")
    vals.append(int(part))
  return list(dict.fromkeys(vals))


def _check_out(out) -> str | None:
  """``out`` is (or can be made) a writable folder: an error message, or None."""
  import tempfile

  try:
    os.makedirs(out, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out, prefix=".jaxloss-write-test-"):
      pass
  except OSError as e:
    return f"--out {out!r} is not writable ({e.strerror or e})"
  return None


def _compare(args) -> int:
  if args.task not in TASK_NAMES:
    return _fail("compare", f"unknown task {args.task!r}{_near(args.task, TASK_NAMES)}; "
                 f"valid tasks: {', '.join(TASK_NAMES)}")
  if args.steps is not None:
    try:
      steps = int(args.steps)
    except ValueError:
      steps = 0
    if steps <= 0 or str(args.steps).strip() != str(steps):
      return _fail("compare", f"--steps must be a positive integer, got {args.steps!r}")
  else:
    steps = None
  try:
    seeds = _ints(args.seeds, "--seeds") if args.seeds is not None else [
        _ints(args.seed, "--seed")[0]]
  except ValueError as e:
    return _fail("compare", str(e).replace("integers separated by commas", "an integer")
                 if args.seeds is None else str(e))
  if args.out and os.path.isdir(args.out) and os.listdir(args.out) and not args.force:
    return _fail("compare", f"--out {args.out!r} is not empty (an earlier run?); choose another "
                 "folder, omit --out (each run then gets its own timestamped folder) or pass "
                 "--force to replace its results")
  t_start = time.perf_counter()
  wb = _workbench()
  if wb is None:
    return 2
  task = wb.TASKS[args.task]
  split = task.load(seeds[0])
  if args.losses:
    try:
      specs = wb.specs.as_specs(wb.specs.split_loss_list(args.losses))
    except wb.LossIncompatible as e:
      msg = str(e)
      if msg.startswith("unknown loss"):
        msg += f"; losses for {task.name}: {', '.join(wb.candidate_losses(task))}"
      return _fail("compare", msg)
    try:
      for s in specs:
        wb.check_loss(task, s, split, seeds[0])
    except wb.LossIncompatible as e:
      return _fail("compare", str(e))
  else:  # defaults: skip (and say so) any catalog loss that does not fit
    specs = []
    for name in wb.default_losses(task):
      try:
        wb.check_loss(task, name, split, seeds[0])
        specs.append(wb.as_spec(name))
      except wb.LossIncompatible as e:
        print(f"skipping {name}: {e}", file=sys.stderr)
    if not specs:
      return _fail("compare", f"no default loss fits task {task.name!r}")
  if args.out:
    err = _check_out(args.out)
    if err:
      return _fail("compare", err)
    out = args.out
  else:
    out = wb.new_run_dir("jaxloss-results", task.name)
  steps = task.steps if steps is None else steps
  seed_txt = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))}"
  print(f"{task.name}: {task.description}")
  print(f"losses: {', '.join(s.label for s in specs)}; {steps} steps each; {seed_txt}; "
        f"results in {out}/")
  results = []
  try:
    wb.compare(task.name, specs, steps=steps, seeds=seeds, out=out, force=True,
               progress=not args.quiet, split=split if len(seeds) == 1 else None,
               check=False, on_result=results.append)
  except KeyboardInterrupt:
    print(file=sys.stderr)
    if results:
      print(wb.format_table(task, results))
    print(f"interrupted: kept {len(results)} finished loss(es) in {out}/results.json",
          file=sys.stderr)
    return 130
  print()
  print(wb.format_table(task, results))
  with open(os.path.join(out, "results.json")) as f:
    timing = json.load(f)["timing"]
  timing["wall_seconds"] = time.perf_counter() - t_start   # from the command's start
  print(wb.format_timing(timing))
  print(f"results and plots in {out}/ (summary.png first)")
  return 0


# ---------------------------------------------------------------------------------------------
# recommend


def _recommend(args) -> int:
  wb = _workbench()
  if wb is None:
    return 2
  try:
    ranked = wb.recommend(args.task, imbalanced=args.imbalanced, outliers=args.outliers,
                          noisy_labels=args.noisy_labels, multimodal=args.multimodal,
                          budget=args.budget, top=args.top)
  except KeyError as e:
    return _fail("recommend", e.args[0])
  flags = [f.replace("_", " ") for f in ("imbalanced", "outliers", "noisy_labels",
                                         "multimodal") if getattr(args, f)]
  print(f"task {args.task}; situation: {', '.join(flags) or 'none given'}; "
        f"budget {args.budget}")
  width = max(len(r["name"]) for r in ranked)
  for k, r in enumerate(ranked, 1):
    print(f"{k:>2}. {r['name']:<{width}}  grades {r['grades']}")
    for reason in r["reasons"]:
      print(f"      - {reason}")
  return 0


# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      prog="jaxloss", description=__doc__.split("\n")[0], epilog=EXAMPLES,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--version", action="version", version=f"jaxloss {_version()}")
  sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
  p = sub.add_parser("list", help="list the catalog (add --family / --task to filter)",
                     description="The catalog: family, loss, module, the survey's grades and "
                     "the peer implementation each loss matches.")
  p.add_argument("--family", help="one family, e.g. segmentation")
  p.add_argument("--task", help="substring of a task, e.g. 'segmentation'")
  p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
  p.set_defaults(run=_list)
  p = sub.add_parser("show", help="one loss: signature, metadata and documentation",
                     description="One loss's signature, metadata and docstring (as plain text).")
  p.add_argument("name")
  p.set_defaults(run=_show)
  p = sub.add_parser(
      "compare", help="train a model per loss on a task with real data and compare them",
      description="Train the task's model once per loss (and seed) and compare held-out "
      "metrics.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("task", help=", ".join(TASK_NAMES))
  p.add_argument("--losses", help="comma-separated losses, each a catalog name with optional "
                 "options name:opt=value[:opt=value] (default: the task's set)")
  p.add_argument("--steps", help="training steps per loss (default: per task)")
  p.add_argument("--seed", default="0", help="data, initialisation and batch-order seed")
  p.add_argument("--seeds", help="several seeds, e.g. 0,1,2: mean ± std per metric")
  p.add_argument("--out", help="write into this folder (default: a new "
                 "jaxloss-results/TASK-TIME/)")
  p.add_argument("--force", action="store_true", help="let --out replace an earlier run")
  p.add_argument("--quiet", action="store_true", help="no progress bars")
  p.set_defaults(run=_compare)
  p = sub.add_parser("recommend", help="rank losses for a task and situation, with reasons",
                     description="Losses ranked for a task and situation: by what the workbench "
                     "measured where it has, then by the catalog's metadata.")
  p.add_argument("--task", required=True, help="a compare task or a catalog task (substring)")
  p.add_argument("--imbalanced", action="store_true", help="rare classes / small foreground")
  p.add_argument("--outliers", action="store_true", help="gross errors in the targets")
  p.add_argument("--noisy-labels", action="store_true", help="wrong class labels")
  p.add_argument("--multimodal", action="store_true", help="several plausible targets")
  p.add_argument("--budget", choices=("low", "high"), default="high", help="compute budget")
  p.add_argument("--top", type=int, default=8, help="how many to list")
  p.set_defaults(run=_recommend)
  args = parser.parse_args(argv)
  try:
    return args.run(args)
  except BrokenPipeError:   # `jaxloss list | head`: the reader left; not an error
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
    return 0


if __name__ == "__main__":
  sys.exit(main())
