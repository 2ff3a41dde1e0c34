"""The loss-comparison workbench behind ``jaxloss compare`` and ``jaxloss recommend``.

A :class:`Task` bundles real (or procedural) data from :mod:`jaxloss.data`, a
tiny model from :mod:`jaxloss.models`, how the model's output is handed to a
loss, held-out metrics and a picture. :func:`compare` trains the task's model
once per loss with the generic step of :mod:`jaxloss.training` (data-parallel
over all devices) and writes ``results.json`` and PNG plots after every
finished run, over one or several seeds (mean ± std). A loss is a catalog name,
a name with options (``"focal_loss:gamma=3"``) or any callable. Any catalog loss can be compared on any task whose outputs it
accepts: the call is bound from the loss's signature (predictions first,
targets second, further positional arguments such as ``var``, ``std``,
``class_weights`` taken from what the model or data provides); a loss that does
not fit is rejected before training with the reason: first on meaning (the
catalog's input kind must be one the task's model outputs), then on shapes.

:func:`recommend` ranks the catalog's losses for a task from their metadata
(tasks, the survey's three grades and their notes, the docstring) and the
user's situation (imbalance, outliers, noisy labels, multimodal targets,
compute budget).
"""

from jaxloss.workbench._binding import KW_DEFAULTS, LossIncompatible, bind_loss
from jaxloss.workbench.recommend import load_evidence, recommend
from jaxloss.workbench.runner import (
    aggregate,
    best_rows,
    candidate_losses,
    check_loss,
    compare,
    default_losses,
    format_table,
    format_timing,
    new_run_dir,
    run_one,
)
from jaxloss.workbench.specs import LossSpec, as_spec, parse_loss
from jaxloss.workbench.task import Task
from jaxloss.workbench.tasks import TASKS, get_task, task_names

__all__ = ["Task", "TASKS", "LossIncompatible", "task_names", "get_task", "default_losses",
           "compare", "run_one", "bind_loss", "recommend", "format_table", "candidate_losses",
           "check_loss", "KW_DEFAULTS", "LossSpec", "as_spec", "parse_loss", "aggregate",
           "best_rows", "format_timing", "new_run_dir", "load_evidence"]
