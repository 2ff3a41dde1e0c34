"""The workbench as users drive it: loss variants and callables, seeds with mean ± std,
run folders, the semantic fit check, honest timing, plain-text CLI output, evidence-backed
recommendations (issue 20)."""

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import jaxloss
from jaxloss import catalog, cli, workbench
from jaxloss.workbench import runner, specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REG = workbench.get_task("tabular-regression")


# ---- loss variants and callables ----------------------------------------------------------

def test_parse_loss_options_are_python_literals():
  s = specs.parse_loss("focal_loss:gamma=3:alpha=None")
  assert s.label == "focal_loss:gamma=3:alpha=None" and s.name == "focal_loss"
  assert s.options == {"gamma": 3, "alpha": None}
  assert isinstance(s.fn, functools.partial) and s.fn.keywords == {"gamma": 3, "alpha": None}
  assert specs.parse_loss("dice_loss:activation='sigmoid'").options == {"activation": "sigmoid"}
  assert specs.parse_loss("dice_loss:activation=sigmoid").options == {"activation": "sigmoid"}
  with pytest.raises(workbench.LossIncompatible, match="has no option 'gama'; did you mean gamma"):
    specs.parse_loss("focal_loss:gama=3")
  with pytest.raises(workbench.LossIncompatible, match="unknown loss 'focal'; did you mean"):
    specs.parse_loss("focal")
  # a positional argument is not an option
  with pytest.raises(workbench.LossIncompatible, match="has no option 'labels'"):
    specs.parse_loss("focal_loss:labels=1")


def test_split_loss_list_keeps_commas_inside_brackets():
  assert specs.split_loss_list("a:x=(1, 2),b, c:s='p,q'") == ["a:x=(1, 2)", "b", "c:s='p,q'"]


def test_as_specs_labels_callables_and_drops_duplicates():
  def my_loss(predictions, targets):
    return jaxloss.mse(predictions, targets)

  got = specs.as_specs(["mse", "mse", my_loss, ("huber δ=2", functools.partial(jaxloss.huber_loss,
                                                                             delta=2.0)),
                        functools.partial(jaxloss.huber_loss, delta=2.0)])
  assert [s.label for s in got] == ["mse", "my_loss", "huber δ=2", "huber_loss:delta=2.0"]
  assert got[1].info is None and got[2].info.name == "huber_loss"
  with pytest.raises(workbench.LossIncompatible, match="has no option 'dleta'"):
    specs.as_spec(functools.partial(jaxloss.huber_loss, dleta=2.0))
  with pytest.raises(TypeError, match="catalog name, a callable"):
    specs.as_spec(3)


def test_compare_variants_callables_and_duplicates_train_once(monkeypatch):
  calls = []
  real = runner.run_one

  def counting(task, loss, split, **kw):
    calls.append(specs.as_spec(loss).label)
    return real(task, loss, split, **kw)

  monkeypatch.setattr(runner, "run_one", counting)

  def my_loss(predictions, targets):
    return jaxloss.mae(predictions, targets)

  res = workbench.compare("tabular-regression",
                          ["huber_loss:delta=0.5", "huber_loss:delta=0.5", "huber_loss:delta=3",
                           ("mine", my_loss)], steps=3, progress=False)
  assert [r["loss"] for r in res] == ["huber_loss:delta=0.5", "huber_loss:delta=3", "mine"]
  assert calls == ["huber_loss:delta=0.5", "huber_loss:delta=3", "mine"]
  assert res[0]["options"] == {"delta": 0.5} and res[2]["name"] == "mine"


def test_variant_supplies_an_option_the_task_cannot_choose():
  # ssim_loss has no data_range default a tabular task could choose; the option supplies it,
  # but the semantic check still rejects an image loss on a tabular model's outputs
  with pytest.raises(workbench.LossIncompatible, match="ssim_loss:data_range=1 takes images"):
    workbench.check_loss(REG, "ssim_loss:data_range=1", REG.load(0))


# ---- the semantic fit check -----------------------------------------------------------------

@pytest.mark.parametrize("task,loss,ok", [
    ("tabular-regression", "cross_entropy", False),
    ("tabular-regression", "giou_loss", False),
    ("tabular-regression", "huber_loss", True),
    ("classification", "mse", False),
    ("classification", "multiclass_hinge_loss", True),
    ("detection", "giou_loss", True),
    ("detection", "cross_entropy", False),
    ("embedding", "triplet_loss", True),
    ("embedding", "dice_loss", False),
])
def test_fit_check_uses_the_catalog_input_kind(task, loss, ok):
  t = workbench.get_task(task)
  spec = workbench.as_spec(loss)
  if ok:
    runner.check_fit(t, spec)
  else:
    with pytest.raises(workbench.LossIncompatible, match=f"{loss} takes .*model outputs"):
      runner.check_fit(t, spec)


def test_user_callables_skip_the_semantic_check_but_not_the_shape_check():
  import jax.numpy as jnp

  def bad(predictions, targets):
    return jnp.dot(predictions, targets[:3])               # (N,) . (3,): shapes disagree

  runner.check_fit(REG, workbench.as_spec(bad))
  with pytest.raises(workbench.LossIncompatible, match="bad cannot be applied to the "
                     "tabular-regression task"):
    workbench.check_loss(REG, bad, REG.load(0))


def test_check_loss_builds_the_model_abstractly():
  import jax

  t = workbench.get_task("segmentation")
  split = t.load(0)
  before = len(jax.live_arrays())
  workbench.check_loss(t, "dice_loss", split)
  assert len(jax.live_arrays()) == before    # no U-Net parameters were allocated


# ---- seeds: mean ± std, stars only beyond the spread ----------------------------------------

def _row(label, vals, primary="mae"):
  runs = [{"loss": label, "name": label, "options": {}, "family": "x", "seed": s,
           "metrics": {primary: v, "other": None}, "final_train_loss": 1.0, "steps": 1,
           "steps_per_second": 10.0, "compile_seconds": 1.0, "train_seconds": 2.0,
           "eval_seconds": 0.5, "devices": 1, "history": {"loss": [1.0]}, "curve": None}
          for s, v in enumerate(vals)]
  return runner.aggregate(runs)


def test_aggregate_mean_and_sample_std():
  r = _row("a", [1.0, 2.0, 4.0])
  assert r["seeds"] == [0, 1, 2]
  np.testing.assert_allclose(r["metrics"]["mae"], 7 / 3)
  np.testing.assert_allclose(r["metrics_std"]["mae"], np.std([1.0, 2.0, 4.0], ddof=1))
  assert r["metrics"]["other"] is None and r["compile_seconds"] == 3.0


def test_best_is_marked_only_beyond_the_seed_spread():
  assert runner.best_rows(REG, [_row("a", [1.0, 1.1, 0.9]), _row("b", [2.0, 2.1, 1.9])]) == [0]
  # overlapping: 1.0 ± 0.5 vs 1.3 ± 0.1 (difference 0.3 < 0.5): no star
  assert runner.best_rows(REG, [_row("a", [0.5, 1.0, 1.5]), _row("b", [1.2, 1.3, 1.4])]) == []
  # one seed: a tie gets no star, a strict difference does
  assert runner.best_rows(REG, [_row("a", [1.0]), _row("b", [1.0])]) == []
  assert runner.best_rows(REG, [_row("a", [1.0]), _row("b", [0.9])]) == [1]
  table = workbench.format_table(REG, [_row("a", [0.5, 1.0, 1.5]), _row("b", [1.2, 1.3, 1.4])])
  assert "1.0000 ± 0.5000" in table and "no loss is best on mae" in table
  assert not any(line.startswith("*") for line in table.splitlines())


def test_not_applicable_metrics_print_na():
  t = workbench.get_task("forecasting")
  rows = []
  for label, cov in (("mse", None), ("gaussian_nll", 0.9)):
    r = _row(label, [1.0])
    r["metrics"] = {"mae": 1.0, "crps": 1.0, "mae_vs_naive": 0.9, "coverage90": cov}
    r["metrics_std"] = dict.fromkeys(r["metrics"], 0.0)
    rows.append(r)
  table = workbench.format_table(t, rows)
  mse_line = next(line for line in table.splitlines() if "mse" in line)
  assert "n/a" in mse_line and "0.0000" not in mse_line


def test_seeds_run_each_loss_per_seed(monkeypatch):
  seen = []
  real = runner.run_one

  def spy(task, loss, split, *, seed, **kw):
    seen.append((specs.as_spec(loss).label, seed))
    return real(task, loss, split, seed=seed, **kw)

  monkeypatch.setattr(runner, "run_one", spy)
  res = workbench.compare("tabular-regression", ["mse", "mae"], steps=2, seeds=[0, 1],
                          progress=False)
  assert seen == [("mse", 0), ("mse", 1), ("mae", 0), ("mae", 1)]
  for r in res:
    vals = [p["metrics"]["mae"] for p in r["per_seed"]]
    np.testing.assert_allclose(r["metrics"]["mae"], np.mean(vals))
    np.testing.assert_allclose(r["metrics_std"]["mae"], np.std(vals, ddof=1))
  with pytest.raises(ValueError, match="split= fixes the data"):
    workbench.compare("tabular-regression", ["mse"], steps=2, seeds=[0, 1],
                      split=REG.load(0), progress=False)


# ---- run folders -----------------------------------------------------------------------------

def test_each_run_gets_its_own_folder_and_latest(tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  for _ in range(2):
    assert cli.main(["compare", "tabular-regression", "--losses", "mse", "--steps", "2",
                     "--quiet"]) == 0
  runs = sorted(p for p in (tmp_path / "jaxloss-results").iterdir() if p.name != "latest")
  assert len(runs) == 2 and all(p.name.startswith("tabular-regression-") for p in runs)
  latest = tmp_path / "jaxloss-results" / "latest"
  assert (latest / "results.json").exists()
  assert os.path.realpath(latest) == os.path.realpath(runs[-1])


def test_out_refuses_a_non_empty_folder_without_force(tmp_path, capsys):
  out = tmp_path / "o"
  out.mkdir()
  (out / "tabular-regression_old_loss.png").write_bytes(b"x" * 10)
  args = ["compare", "tabular-regression", "--losses", "mse", "--steps", "2", "--quiet",
          "--out", str(out)]
  assert cli.main(args) == 2
  assert "is not empty" in capsys.readouterr().err
  assert cli.main([*args, "--force"]) == 0
  assert not (out / "tabular-regression_old_loss.png").exists()   # runs never mix
  doc = json.loads((out / "results.json").read_text())
  assert set(doc["timing"]) == {"wall_seconds", "compile_seconds", "train_seconds",
                                "eval_seconds", "plot_seconds"}
  assert doc["versions"]["jax"] and doc["seeds"] == [0]


def test_format_timing_adds_up():
  text = workbench.format_timing({"wall_seconds": 10.0, "compile_seconds": 4.0,
                                  "train_seconds": 3.0, "eval_seconds": 1.0,
                                  "plot_seconds": 1.0})
  assert text == ("wall time 10.0 s: compile 4.0 s (40%), training 3.0 s, evaluation 1.0 s, "
                  "plots 1.0 s, data and setup 1.0 s")


# ---- the command line: light, plain text, helpful --------------------------------------------

def test_list_show_help_do_not_import_jax():
  code = ("import sys, contextlib, io; from jaxloss import cli\n"
          "with contextlib.redirect_stdout(io.StringIO()):\n"
          "  assert cli.main(['list']) == 0 and cli.main(['show', 'dice_loss']) == 0\n"
          "print('jax' in sys.modules, 'numpy' in sys.modules)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
  assert out.returncode == 0, out.stderr
  assert out.stdout.split() == ["False", "False"]


def test_version_and_help_text(capsys):
  with pytest.raises(SystemExit) as e:
    cli.main(["--version"])
  assert e.value.code == 0 and capsys.readouterr().out.startswith("jaxloss ")
  with pytest.raises(SystemExit):
    cli.main(["--help"])
  out = capsys.readouterr().out
  assert "examples:" in out and "``" not in out and "jaxloss compare segmentation" in out


def test_cli_task_names_are_the_workbench_tasks():
  assert list(cli.TASK_NAMES) == list(workbench.TASKS)


def test_show_renders_every_docstring_as_plain_text():
  for info in catalog.all_losses():
    text = cli.plain_text(info.fn.__doc__)
    assert ":math:" not in text and ".. math::" not in text and "``" not in text, info.name
    assert "\\frac" not in text and "\\sum" not in text, info.name
  assert "(2 Σ_i p_i g_i + s_nr)/(Σ_i p_i^k + Σ_i g_i^k + s_dr)" in cli.plain_text(
      jaxloss.dice_loss.__doc__)


def test_show_suggests_near_names(capsys):
  assert cli.main(["show", "dice"]) == 2
  err = capsys.readouterr().err
  assert "did you mean dice_loss" in err and "jaxloss list" in err


def test_list_formats(capsys):
  assert cli.main(["list", "--family", "detection", "--format", "json"]) == 0
  rows = json.loads(capsys.readouterr().out)
  assert {r["name"] for r in rows} == {i.name for i in catalog.by_family("detection")}
  assert cli.main(["list", "--family", "regression", "--format", "markdown"]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert lines[0] == "| family | loss | module | eff/cplx/stab | matches |"
  assert cli.main(["list", "--family", "regression"]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert lines[0].split()[:3] == ["family", "loss", "module"] and set(lines[1]) <= {"-", " "}
  # aligned: the module column starts at the same offset on every row
  col = lines[0].index("module")
  assert all(ln[col - 2:col] == "  " for ln in lines[2:-1])
  assert cli.main(["list", "--family", "segmentaion"]) == 2
  assert "did you mean segmentation" in capsys.readouterr().err


def test_snapshot_matches_the_live_catalog():
  with open(os.path.join(ROOT, "jaxloss", "catalog", "snapshot.json")) as f:
    snap = json.load(f)
  assert snap == json.loads(json.dumps(catalog.snapshot())), (
      "jaxloss/catalog/snapshot.json is stale: run python scripts/gen_api_docs.py")


# ---- recommendations grounded in evidence ----------------------------------------------------

def _fake_evidence():
  mean = {"cross_entropy": 0.10, "dice_loss": 0.30, "lovasz_softmax_loss": 0.50}
  return {"segmentation": {
      "seeds": [0, 1, 2], "steps": 250, "primary": "rare_iou", "higher_is_better": True,
      "losses": {k: {"mean": v, "std": 0.02, "metrics": {}} for k, v in mean.items()}}}


def test_recommend_ranks_measured_losses_by_the_measurement():
  ranked = workbench.recommend("segmentation", imbalanced=True, top=40,
                               evidence=_fake_evidence())
  names = [r["name"] for r in ranked]
  assert names[:3] == ["lovasz_softmax_loss", "dice_loss", "cross_entropy"]
  assert ranked[0]["reasons"][0] == ("measured: rare_iou 0.500 ± 0.020 over 3 seeds on "
                                     "`jaxloss compare segmentation` (250 steps), 1st of 3 measured")
  # the catalog task maps to the workbench task that measured it
  assert workbench.recommend("semantic segmentation", top=1,
                             evidence=_fake_evidence())[0]["name"] == "lovasz_softmax_loss"
  # reasons are words, not keyword stems
  for r in ranked:
    for reason in r["reasons"]:
      assert "imbalanc," not in reason and "(imbalanc" not in reason


def test_recommend_follows_the_shipped_evidence():
  ev = workbench.load_evidence()
  if "segmentation" not in ev:
    pytest.skip("no shipped evidence for segmentation")
  e = ev["segmentation"]
  sign = -1 if e["higher_is_better"] else 1
  order = sorted(e["losses"], key=lambda k: sign * e["losses"][k]["mean"])
  got = [r["name"] for r in workbench.recommend("segmentation", imbalanced=True, top=40)]
  assert got[:len(order)] == order


def test_recommend_unknown_task_suggests_the_nearest(capsys):
  assert cli.main(["recommend", "--task", "segmentaton"]) == 2
  err = capsys.readouterr().err
  assert "did you mean 'segmentation'" in err and len(err) < 600
