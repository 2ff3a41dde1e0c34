"""Ranked losses for a task: by what the workbench measured where it has, then by the
catalog's metadata (the survey's grades, tasks and documented situations)."""

from __future__ import annotations

import difflib
import json
import os
import re

from jaxloss import catalog
from jaxloss.workbench.runner import candidate_losses
from jaxloss.workbench.tasks import TASKS

# ---------------------------------------------------------------------------------------------
# recommend

_LEVEL = {"high": 2, "medium": 1, "low": 0}

# What each situation looks for in a loss's metadata (catalog tasks, grade notes,
# docstring). Survey, Section 2 (challenges): class imbalance, outliers / noisy
# targets, label noise, multimodal / uncertain targets, computational budget.
# flag: (situation in words, keywords that show a loss addresses it, patterns that show
# it is weak there, the weakness in words).
_SITUATIONS = {
    "imbalanced": ("class imbalance",
                   ("imbalanc", "rare class", "long-tail", "minority", "class weight",
                    "class_weights", "hard example", "hard-example", "small object", "overlap"),
                   (r"(?<!im)balanced classes",), "assumes balanced classes"),
    "outliers": ("outliers",
                 ("robust regression", "outlier-robust", "robust", "heavy-tailed",
                  "bounded gradient", "gradient bounded", "is bounded", "less sensitive to outl",
                  "insensitive to outl"),
                 (r"grows with outlier", r"(?<!in)(?<!less )sensitive to outlier", r"unbounded"),
                 "sensitive to outliers (its penalty or gradient grows with the error)"),
    "noisy_labels": ("noisy labels",
                     ("learning with noisy labels", "noisy label", "label noise", "noise-robust"),
                     (r"(?<!in)sensitive to label noise",), "sensitive to label noise"),
    "multimodal": ("multimodal / uncertain targets",
                   ("multimodal", "multi-modal", "quantile", "probabilistic forecasting",
                    "likelihood", "mixture", "uncertainty"),
                   (), ""),
}


def _metadata_text(info) -> str:
  doc = (info.fn.__doc__ or "").split("Args:")[0]
  return " ".join([*info.tasks, info.efficiency.note, info.complexity.note, info.stability.note,
                   doc]).lower()


# ---------------------------------------------------------------------------------------------
# measured evidence: jaxloss/workbench/evidence.json, written by scripts/make_evidence.py

EVIDENCE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "evidence.json")


def load_evidence(path: str = EVIDENCE_PATH) -> dict:
  """What ``jaxloss compare`` measured per task over several seeds (shipped with the
  package): ``{task: {"seeds", "steps", "versions", "primary", "higher_is_better",
  "losses": {name: {"mean", "std", "metrics"}}}}``; empty if the file is absent."""
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def _workbench_task(task: str) -> str | None:
  """The workbench task measured for ``task``: itself, or the one whose catalog tasks
  contain the catalog task ``task``."""
  if task in TASKS:
    return task
  t = task.lower()
  for name, wt in TASKS.items():
    if any(t == c.lower() for c in wt.catalog_tasks):
      return name
  return None


def _measured(task: str, evidence: dict):
  name = _workbench_task(task)
  ev = evidence.get(name) if name else None
  if not ev:
    return None, {}
  rows = {k: v for k, v in ev["losses"].items() if ":" not in k and v.get("mean") is not None}
  sign = 1.0 if ev["higher_is_better"] else -1.0
  order = sorted(rows, key=lambda k: -sign * rows[k]["mean"])
  return ev | {"task": name}, {k: (i, rows[k]) for i, k in enumerate(order)}


def _ordinal(k: int) -> str:
  return f"{k}{'tsnrhtdd'[(k // 10 % 10 != 1) * (k % 10 < 4) * k % 10::4]}"


def _unknown_task(task: str) -> str:
  names = list(TASKS) + sorted({t for i in catalog.all_losses() for t in i.tasks})
  close = difflib.get_close_matches(task, names, n=5, cutoff=0.5)
  hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
  return (f"no loss in the catalog for task {task!r}{hint} Workbench tasks: {', '.join(TASKS)}; "
          "`jaxloss list --format json` lists every catalog task")


def recommend(task: str, *, imbalanced=False, outliers=False, noisy_labels=False,
              multimodal=False, budget: str = "high", top: int = 8,
              evidence: dict | None = None) -> list[dict]:
  """Rank the catalog's losses for ``task`` (a workbench task or a catalog task
  substring) and situation.

  Where the workbench has measured the task (``evidence.json``: ``jaxloss
  compare`` over several seeds, shipped with the package), the measured losses
  come first, in the order of their mean held-out primary metric, with the
  numbers as the reason. The rest follow by a metadata score: the
  gradient-stability grade, the efficiency and implementation-complexity grades
  (weighted up with ``budget="low"``), and for every situation flag whether the
  loss's catalog entry and documentation describe it for that situation (or warn
  against it).

  Each entry: ``{"name", "family", "score", "grades", "measured", "reasons"}``.
  """
  if budget not in ("low", "high"):
    raise ValueError(f"budget must be 'low' or 'high', got {budget!r}")
  if task in TASKS:
    cands = {n: catalog.get(n) for n in candidate_losses(TASKS[task])}
  else:
    cands = {i.name: i for i in catalog.by_task(task)}
  if not cands:
    raise KeyError(_unknown_task(task))
  ev, measured = _measured(task, load_evidence() if evidence is None else evidence)
  vocab = TASKS[task].catalog_tasks if task in TASKS else (task,)
  flags = {"imbalanced": imbalanced, "outliers": outliers, "noisy_labels": noisy_labels,
           "multimodal": multimodal}
  w_cost = 1.0 if budget == "low" else 0.35
  ranked = []
  for i in cands.values():
    reasons = []
    score = 1.0 * _LEVEL[i.stability.level]
    score += w_cost * _LEVEL[i.efficiency.level]
    score += w_cost * (2 - _LEVEL[i.complexity.level])
    if any(v.lower() == t.lower() for v in vocab for t in i.tasks):
      score += 0.5
    if i.name in measured:
      k, row = measured[i.name]
      n = len(ev["seeds"])
      reasons.append(
          f"measured: {ev['primary']} {row['mean']:.3f} ± {row['std']:.3f} over {n} seeds on "
          f"`jaxloss compare {ev['task']}` ({ev['steps']} steps), {_ordinal(k + 1)} of "
          f"{len(measured)} measured")
    text = _metadata_text(i)
    for flag, on in flags.items():
      if not on:
        continue
      label, words, against, weak = _SITUATIONS[flag]
      if any(re.search(pat, text) for pat in against):
        score -= 1.0
        reasons.append(f"documented as {weak}")
      elif any(w in text for w in words):
        score += 2.0
        reasons.append(f"documented for {label}")
    reasons.append(f"gradient stability {i.stability.level}: {i.stability.note}")
    if budget == "low":
      reasons.append(f"efficiency {i.efficiency.level}: {i.efficiency.note}; "
                     f"implementation complexity {i.complexity.level}")
    if i.graded_by == "survey":
      reasons.append("grades from the survey's comparison table")
    ranked.append({"name": i.name, "family": i.family, "score": round(score, 3),
                   "grades": f"{i.efficiency.level}/{i.complexity.level}/{i.stability.level}",
                   "measured": measured[i.name][0] if i.name in measured else None,
                   "reasons": reasons})
  ranked.sort(key=lambda r: (r["measured"] is None, r["measured"] or 0, -r["score"], r["name"]))
  return ranked[:top]
