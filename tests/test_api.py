"""Package-level checks: public API, README table, CI command, examples."""

import pathlib
import re
import subprocess
import sys

import jaxloss
from jaxloss import catalog

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_public_loss_is_registered_and_exported():
  registered = {i.fn for i in catalog.all_losses()}
  for info in catalog.all_losses():
    assert info.name in jaxloss.__all__
    for a in info.aliases:
      assert a in jaxloss.__all__
  # Every loss-like public function (it has a `reduction` option) is in the catalog.
  import inspect
  for name in jaxloss.__all__:
    obj = getattr(jaxloss, name)
    if callable(obj) and not inspect.isclass(obj) and "reduction" in getattr(obj, "__signature__", inspect.signature(obj)).parameters:
      assert obj in registered, f"jaxloss.{name} takes `reduction` but is not registered"


def test_readme_table_is_up_to_date():
  out = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"],
                       capture_output=True, text=True)
  assert out.returncode == 0, out.stdout + out.stderr


def test_ci_runs_the_readme_test_command():
  readme = (ROOT / "README.md").read_text()
  block = readme.split("<!-- test-command -->", 1)[1]
  cmd = re.search(r"```bash\n(.+?)\n```", block).group(1)
  assert "pytest" in cmd and "venv" in cmd
  ci = (ROOT / ".ci" / "run").read_text()
  assert "test-command" in ci  # CI extracts this very line from the README


def test_readme_main_job_is_compare_segmentation():
  readme = (ROOT / "README.md").read_text()
  main_job = readme.split("## Try it", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
  assert "pip install" in main_job and "jaxloss compare segmentation" in main_job


def test_catalog_queries():
  assert catalog.get("mse").fn is jaxloss.mse
  assert catalog.get("l1_loss").fn is jaxloss.mae  # alias lookup
  assert all(i.family == "regression" for i in catalog.by_family("regression"))
  assert any(i.name == "smooth_l1_loss" for i in catalog.by_task("object detection"))
  assert "regression" in catalog.families()
  for i in catalog.all_losses():
    for g in (i.efficiency, i.complexity, i.stability):
      assert g.level in ("high", "medium", "low") and g.note


def test_quickstart_runs_and_robust_loss_wins():
  out = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")],
                       capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr
  rows = {line.split()[0]: float(line.split()[-1]) for line in out.stdout.splitlines()[1:]}
  assert set(rows) == {"mse", "huber_loss"}
  # Outliers in the training targets hurt MSE more than Huber on clean test data.
  assert rows["huber_loss"] < rows["mse"]


def test_cli_list_and_show(capsys):
  from jaxloss import cli

  assert cli.main(["list", "--family", "regression"]) == 0
  out = capsys.readouterr().out
  assert "huber_loss" in out and "torch.nn.functional.huber_loss" in out
  assert cli.main(["show", "l1_loss"]) == 0
  assert "mae  [regression]" in capsys.readouterr().out
  assert cli.main(["show", "no_such_loss"]) == 1


def test_workbench_modules_load_on_attribute_access():
  code = ("import jaxloss, sys; assert 'jaxloss.data' not in sys.modules; "
          "jaxloss.data.digits; jaxloss.models.UNet; jaxloss.training.make_train_step; "
          "jaxloss.workbench.recommend; print('ok')")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "ok"
