"""The survey's loss-selection guidance as a ranked list, from catalog metadata."""

from __future__ import annotations

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
_SITUATIONS = {
    "imbalanced": ("class imbalance",
                   ("imbalanc", "rare class", "long-tail", "minority", "class weight",
                    "class_weights", "hard example", "hard-example", "small object", "overlap"),
                   (r"(?<!im)balanced classes",)),
    "outliers": ("outliers",
                 ("robust regression", "outlier-robust", "robust", "heavy-tailed",
                  "bounded gradient", "gradient bounded", "is bounded", "less sensitive to outl",
                  "insensitive to outl"),
                 (r"grows with outlier", r"(?<!in)(?<!less )sensitive to outlier", r"unbounded")),
    "noisy_labels": ("noisy labels",
                     ("learning with noisy labels", "noisy label", "label noise", "noise-robust"),
                     (r"(?<!in)sensitive to label noise",)),
    "multimodal": ("multimodal / uncertain targets",
                   ("multimodal", "multi-modal", "quantile", "probabilistic forecasting",
                    "likelihood", "mixture", "uncertainty"),
                   ()),
}


def _evidence(info) -> str:
  doc = (info.fn.__doc__ or "").split("Args:")[0]
  return " ".join([*info.tasks, info.efficiency.note, info.complexity.note, info.stability.note,
                   doc]).lower()


def _task_vocab(task: str) -> tuple[str, ...]:
  if task in TASKS:
    return TASKS[task].catalog_tasks
  return (task,)


def recommend(task: str, *, imbalanced=False, outliers=False, noisy_labels=False,
              multimodal=False, budget: str = "high", top: int = 8) -> list[dict]:
  """Rank the catalog's losses for ``task`` (a workbench task or a catalog task
  substring) from their metadata and the situation flags.

  Each entry: ``{"name", "score", "reasons": [...]}``. The score adds: the
  gradient-stability grade (always), the efficiency and implementation
  complexity grades (weighted up with ``budget="low"``), and for every flag
  set, evidence that the loss addresses it — the flag's keywords in the loss's
  catalog tasks, grade notes or docstring.
  """
  if budget not in ("low", "high"):
    raise ValueError(f"budget must be 'low' or 'high', got {budget!r}")
  if task in TASKS:
    cands = {n: catalog.get(n) for n in candidate_losses(TASKS[task])}
  else:
    cands = {i.name: i for i in catalog.by_task(task)}
  vocab = _task_vocab(task)
  if not cands:
    raise KeyError(f"no loss in the catalog for task {task!r}; workbench tasks: "
                   f"{', '.join(TASKS)}; catalog tasks: "
                   f"{', '.join(sorted({t for i in catalog.all_losses() for t in i.tasks}))}")
  flags = {"imbalanced": imbalanced, "outliers": outliers, "noisy_labels": noisy_labels,
           "multimodal": multimodal}
  w_cost = 1.0 if budget == "low" else 0.35
  ranked = []
  for i in cands.values():
    reasons = []
    score = 1.0 * _LEVEL[i.stability.level]
    score += w_cost * _LEVEL[i.efficiency.level]
    score += w_cost * (2 - _LEVEL[i.complexity.level])
    primary = [t for t in i.tasks if any(v.lower() == t.lower() for v in vocab)]
    if primary:
      score += 0.5
    text = _evidence(i)
    for flag, on in flags.items():
      if not on:
        continue
      label, words, against = _SITUATIONS[flag]
      hits = [w for w in words if w in text]
      misses = [m.group(0) for pat in against for m in [re.search(pat, text)] if m]
      if misses:
        score -= 1.0
        reasons.append(f"weak on {label} ({', '.join(misses[:2])})")
      elif hits:
        score += 2.0 + 0.25 * min(len(hits), 4)
        reasons.append(f"addresses {label} ({', '.join(hits[:3])})")
    reasons.append(f"stability {i.stability.level}: {i.stability.note}")
    if budget == "low":
      reasons.append(f"efficiency {i.efficiency.level}: {i.efficiency.note}; "
                     f"complexity {i.complexity.level}")
    if i.graded_by == "survey":
      reasons.append("graded by the survey")
    ranked.append({"name": i.name, "family": i.family, "score": round(score, 3),
                   "grades": f"{i.efficiency.level}/{i.complexity.level}/{i.stability.level}",
                   "reasons": reasons})
  ranked.sort(key=lambda r: (-r["score"], r["name"]))
  return ranked[:top]
