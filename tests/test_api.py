"""Package-level checks: public API, README table, CI command, examples."""

import pathlib
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

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


def test_readme_is_short_and_its_snippet_runs():
  readme = (ROOT / "README.md").read_text()
  assert len(readme.encode()) <= 10 * 1024, "README.md must stay <= 10 KB (the catalog is in docs/)"
  snippet = readme.split("## Using a loss", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
  out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr


def test_import_is_light():
  """``import jaxloss`` imports JAX, NumPy and optax only: no Flax, sklearn, matplotlib, chex,
  no ott-jax (the optional ``[ot]`` extra), no workbench and no test fixtures (the cases table)."""
  code = ("import sys, jaxloss; heavy = [m for m in ('flax', 'sklearn', 'matplotlib', 'chex', "
          "'scipy', 'ott', 'jaxloss.workbench', 'jaxloss.models', 'jaxloss.data', 'jaxloss.training', "
          "'jaxloss.catalog.cases._inputs') if m in sys.modules]; print(heavy)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "[]", out.stdout


def test_every_loss_module_is_under_its_family_package():
  for info in catalog.all_losses():
    assert info.module.split(".")[:2] == ["jaxloss", info.family], (info.name, info.module)
  star = [p for p in (ROOT / "jaxloss").rglob("*.py") if "import *" in p.read_text()]
  assert not star, f"star imports in {star}"


def test_no_cross_family_private_imports():
  """A family uses another family only through its public names (compounds call public losses)."""
  pat = re.compile(r"from jaxloss\.(\w+)(?:\.(\w+))? import ([^\n(]+|\([^)]*\))")
  bad = []
  for fam in (*catalog.FAMILIES, "objectives"):
    for p in (ROOT / "jaxloss" / fam).rglob("*.py"):
      for m in pat.finditer(p.read_text()):
        other, mod, names = m.group(1), m.group(2), m.group(3)
        if other == fam or other in ("catalog",):
          continue
        names = [n.strip() for n in names.strip("()").replace("\n", " ").split(",") if n.strip()]
        if (mod or "").startswith("_") or any(n.split(" as ")[0].startswith("_") for n in names):
          bad.append(f"{p.relative_to(ROOT)}: {m.group(0)}")
  assert not bad, "\n".join(bad)


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


@pytest.mark.slow
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
  assert cli.main(["show", "l1_loss"]) == 0   # an alias shows its loss
  assert "mae(predictions, targets" in capsys.readouterr().out
  assert cli.main(["show", "no_such_loss"]) == 2


def test_workbench_modules_load_on_attribute_access():
  code = ("import jaxloss, sys; assert 'jaxloss.data' not in sys.modules; "
          "jaxloss.data.digits; jaxloss.models.UNet; jaxloss.training.make_train_step; "
          "jaxloss.workbench.recommend; print('ok')")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("name", ["cross_entropy", "focal_loss", "dice_loss", "tversky_loss",
                                  "dice_ce_loss", "dice_focal_loss", "generalized_dice_loss",
                                  "jaccard_loss", "combo_loss", "generalized_cross_entropy"])
def test_labels_dispatch_on_shape_not_dtype(name):
  """Labels of the logits' shape are one-hot/soft targets whatever their dtype (MONAI accepts
  a uint8 one-hot); labels with one axis fewer are class ids and must be integer."""
  fn = getattr(jaxloss, name)
  logits = jax.random.normal(jax.random.key(0), (2, 3, 4, 3))
  ids = jax.random.randint(jax.random.key(1), (2, 3, 4), 0, 3)
  onehot = jax.nn.one_hot(ids, 3)
  ref = float(fn(logits, onehot))
  for dtype in (jnp.uint8, jnp.int32, jnp.bool_):
    np.testing.assert_allclose(float(fn(logits, onehot.astype(dtype))), ref, rtol=1e-6)
  np.testing.assert_allclose(float(fn(logits, ids)), ref, rtol=1e-5)
  with pytest.raises(TypeError, match=rf"^{name}: labels has shape \(2, 3, 4\).*must be integer"):
    fn(logits, ids.astype(jnp.float32))
  with pytest.raises(ValueError, match=rf"^{name}: labels has shape \(2, 3\) but logits"):
    fn(logits, ids[:, :, 0])
