"""The loss-comparison workbench behind ``jaxloss compare`` and ``jaxloss recommend``.

A :class:`Task` bundles real (or procedural) data from :mod:`jaxloss.data`, a
tiny model from :mod:`jaxloss.models`, how the model's output is handed to a
loss, held-out metrics and a picture. :func:`compare` trains the task's model
once per loss with the generic step of :mod:`jaxloss.training` (data-parallel
over all devices) and writes ``results.json`` and PNG plots after every
finished run. Any catalog loss can be compared on any task whose outputs it
accepts: the call is bound from the loss's signature (predictions first,
targets second, further positional arguments such as ``var``, ``std``,
``class_weights`` taken from what the model or data provides); a loss that does
not fit is rejected before training with the reason.

:func:`recommend` ranks the catalog's losses for a task from their metadata
(tasks, the survey's three grades and their notes, the docstring) and the
user's situation (imbalance, outliers, noisy labels, multimodal targets,
compute budget).
"""

from jaxloss.workbench._binding import KW_DEFAULTS, LossIncompatible, bind_loss
from jaxloss.workbench.recommend import recommend
from jaxloss.workbench.runner import (
    candidate_losses,
    check_loss,
    compare,
    default_losses,
    format_table,
    run_one,
)
from jaxloss.workbench.task import Task
from jaxloss.workbench.tasks import TASKS, get_task, task_names

__all__ = ["Task", "TASKS", "LossIncompatible", "task_names", "get_task", "default_losses",
           "compare", "run_one", "bind_loss", "recommend", "format_table", "candidate_losses",
           "check_loss", "KW_DEFAULTS"]
