"""The jaxloss command: list/show, compare (every task, a few steps), recommend, bad input."""

import json
import os
import subprocess
import sys

import jax.numpy as jnp
import pytest

from jaxloss import catalog, cli, workbench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_list_and_show_still_work(capsys):
  assert cli.main(["list", "--family", "regression"]) == 0
  out = capsys.readouterr().out
  assert "huber_loss" in out and "regression" in out
  assert cli.main(["show", "mse"]) == 0
  out = capsys.readouterr().out
  assert out.startswith("mse(predictions, targets") and "family regression" in out


@pytest.mark.parametrize("argv,msg", [
    (["compare", "nope"], "unknown task 'nope'; valid tasks: classification, "),
    (["compare", "tabular-regression", "--steps", "0"], "--steps must be a positive integer"),
    (["compare", "tabular-regression", "--steps", "2.5"], "--steps must be a positive integer"),
    (["compare", "tabular-regression", "--seed", "x"], "--seed must be an integer"),
    (["compare", "tabular-regression", "--losses", "mse,nosuch"],
     "losses for tabular-regression: mse, mae"),
    (["compare", "tabular-regression", "--losses", "mse,hubr_loss"],
     "unknown loss 'hubr_loss'; did you mean huber_loss"),
    # the semantic check: a loss of another input kind is rejected before training
    (["compare", "tabular-regression", "--losses", "giou_loss"],
     "giou_loss takes boxes"),
    (["compare", "tabular-regression", "--losses", "cross_entropy", "--steps", "5"],
     "cross_entropy takes logits"),
    (["compare", "tabular-regression", "--losses", "huber_loss:dleta=2"],
     "huber_loss has no option 'dleta'; did you mean delta?"),
    (["compare", "tabular-regression", "--losses", "huber_loss:2"],
     "is not of the form name=value"),
    (["compare", "tabular-regression", "--seeds", "0,x"],
     "--seeds must be integers separated by commas"),
    (["compare", "segmentaton"], "unknown task 'segmentaton'; did you mean segmentation?"),
])
def test_compare_bad_input_fails_before_training(argv, msg, capsys, tmp_path, monkeypatch):
  monkeypatch.setattr(workbench.runner, "run_one", lambda *a, **k: pytest.fail("trained"))
  assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 2
  err = capsys.readouterr().err
  assert msg in err and len(err.strip().splitlines()) == 1


def test_compare_unwritable_out(capsys, tmp_path, monkeypatch):
  monkeypatch.setattr(workbench.runner, "run_one", lambda *a, **k: pytest.fail("trained"))
  blocker = tmp_path / "file"
  blocker.write_text("x")
  assert cli.main(["compare", "tabular-regression", "--out", str(blocker / "sub")]) == 2
  err = capsys.readouterr().err
  assert "is not writable" in err and len(err.strip().splitlines()) == 1


def test_compare_writes_results_and_plots(capsys, tmp_path):
  out = tmp_path / "run"
  assert cli.main(["compare", "tabular-regression", "--losses", "mse,huber_loss", "--steps",
                   "5", "--out", str(out), "--quiet"]) == 0
  text = capsys.readouterr().out
  assert "mse" in text and "huber_loss" in text and "best mae" in text
  doc = json.loads((out / "results.json").read_text())
  assert doc["complete"] and [r["loss"] for r in doc["runs"]] == ["mse", "huber_loss"]
  assert len(doc["runs"][0]["history"]["loss"]) == 5
  for f in ("summary.png", "curves.png", "metrics.png", "tabular-regression_mse.png"):
    assert (out / f).stat().st_size > 1000
  assert "wall time" in text and "compile" in text


def test_ctrl_c_keeps_finished_runs(capsys, tmp_path, monkeypatch):
  real = workbench.run_one
  calls = []

  def interrupt_second(*a, **k):
    calls.append(1)
    if len(calls) == 2:
      raise KeyboardInterrupt
    return real(*a, **k)

  monkeypatch.setattr(workbench.runner, "run_one", interrupt_second)
  out = tmp_path / "r"
  assert cli.main(["compare", "tabular-regression", "--losses", "mse,mae", "--steps", "3",
                   "--out", str(out), "--quiet"]) == 130
  assert "interrupted: kept 1 finished loss" in capsys.readouterr().err
  doc = json.loads((out / "results.json").read_text())
  assert not doc["complete"] and [r["loss"] for r in doc["runs"]] == ["mse"]


@pytest.mark.slow
@pytest.mark.parametrize("task", list(workbench.TASKS))
def test_every_task_compares(task, monkeypatch):
  monkeypatch.setattr(workbench._generative, "SCORER_STEPS", 5)
  t = workbench.get_task(task)
  losses = workbench.default_losses(t, t.load(0))
  if not losses:
    pytest.skip(f"no {task} losses in this build's catalog yet")
  res = workbench.compare(task, losses[:1], steps=3, progress=False)
  (r,) = res
  assert r["loss"] == losses[0] and len(r["history"]["loss"]) == 3
  for c in t.columns:   # n/a (None) only where the metric does not apply: a point forecast
    v = r["metrics"][c]
    assert isinstance(v, float) or (v is None and c == "coverage90"), (c, v)
  assert t.primary in r["metrics"]
  assert workbench.format_table(t, res).count("\n") == 2   # header, rule, one row (no best)


def test_recommend_ranks_from_catalog_metadata(capsys):
  # metadata alone (no measured evidence): tests/test_workbench.py covers the evidence
  plain = workbench.recommend("tabular-regression", top=50, evidence={})
  robust = workbench.recommend("tabular-regression", outliers=True, top=50, evidence={})
  names = {r["name"] for r in plain}
  # the task's defaults plus the losses whose catalog tasks include its tasks exactly
  t = workbench.get_task("tabular-regression")
  assert names == set(workbench.default_losses(t)) | {
      i.name for i in catalog.all_losses() if {"tabular regression", "regression"} & set(i.tasks)}
  pos = lambda rk, n: [r["name"] for r in rk].index(n)
  # the outlier flag promotes the losses whose metadata says robust/outlier over mse
  assert pos(robust, "huber_loss") < pos(robust, "mse")
  assert "documented for outliers" in next(r for r in robust if r["name"] == "huber_loss")[
      "reasons"]
  assert "documented for outliers" not in next(r for r in robust if r["name"] == "mse")[
      "reasons"]
  assert cli.main(["recommend", "--task", "regression", "--outliers", "--budget", "low"]) == 0
  assert "1. " in capsys.readouterr().out
  assert cli.main(["recommend", "--task", "no such task"]) == 2
  assert "Workbench tasks:" in capsys.readouterr().err


def test_python_dash_m_jaxloss():
  out = subprocess.run([sys.executable, "-m", "jaxloss", "show", "mae"], capture_output=True,
                       text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
  assert out.returncode == 0 and out.stdout.startswith("mae(predictions, targets")


@pytest.mark.parametrize("task,loss", [("diffusion", "diffusion_loss"),
                                       ("forecasting", "student_t_nll"),
                                       ("embedding", "contrastive_loss"),
                                       ("embedding", "cosine_embedding_loss")])
def test_task_specific_bindings(task, loss):
  # diffusion_loss takes (prediction, x0, noise, timesteps, alphas_cumprod=...),
  # student_t_nll a df, pair losses (x1, x2, same-class): all bound by the task.
  t = workbench.get_task(task)
  workbench.check_loss(t, loss, t.load(0))
  assert loss in workbench.default_losses(t) or loss == "cosine_embedding_loss"
  with pytest.raises(workbench.LossIncompatible, match="pair loss"):
    workbench.bind_loss(catalog.get("contrastive_loss").fn, jnp.ones((4, 3)), jnp.ones((4, 3)))
