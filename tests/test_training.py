"""jaxloss.training: the generic step, aux logging, multi-phase steps, fit, data parallelism."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import host_devices_env
from flax import nnx

import jaxloss
from jaxloss import models, training

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data(n=64):
  x = np.random.default_rng(0).standard_normal((n, 3)).astype(np.float32)
  y = (x @ np.array([1.0, -2.0, 0.5], np.float32)).astype(np.float32)
  return {"x": x, "y": y}


def _objective(m, b):
  p = m(b["x"])[:, 0]
  return jaxloss.mse(p, b["y"]), {"mae": jaxloss.mae(p, b["y"])}


def test_fit_trains_and_logs_aux_components():
  model = models.MLP(3, 1, (16,), rngs=nnx.Rngs(0))
  opt = training.make_optimizer(model, optax.adam(1e-2))
  step = training.make_train_step(_objective, has_aux=True)
  seen = []
  h = training.fit(model, opt, step, _data(), steps=60, batch_size=16, seed=0,
                   callback=lambda i, logs: seen.append(i))
  assert set(h) == {"loss", "mae"} and len(h["loss"]) == 60 == len(h["mae"])
  assert np.mean(h["loss"][-5:]) < 0.2 * np.mean(h["loss"][:5])
  assert seen == list(range(60)) and h.steps == 60 and h.steps_per_second > 0
  assert int(opt.step[...]) == 60


def test_fit_is_deterministic_for_a_seed():
  def run():
    model = models.MLP(3, 1, (8,), rngs=nnx.Rngs(0))
    opt = training.make_optimizer(model, optax.sgd(0.05))
    h = training.fit(model, opt, training.make_train_step(lambda m, b: _objective(m, b)[0]),
                     _data(), steps=10, batch_size=8, seed=3)
    return h["loss"]
  assert run() == run()


def test_fit_rejects_nonpositive_steps():
  model = models.MLP(3, 1, (4,), rngs=nnx.Rngs(0))
  opt = training.make_optimizer(model, optax.sgd(0.1))
  with pytest.raises(ValueError, match="steps must be positive"):
    training.fit(model, opt, training.make_train_step(lambda m, b: 0.0), _data(), steps=0,
                 batch_size=4)


def test_two_phase_step_updates_only_each_phase_parameters():
  gan = models.GAN(latent=4, width=4, rngs=nnx.Rngs(0))
  gen_f = nnx.All(nnx.Param, nnx.PathContains("generator"))
  dis_f = nnx.All(nnx.Param, nnx.PathContains("discriminator"))
  before_g = jax.tree.map(np.array, nnx.state(gan, gen_f))
  before_d = jax.tree.map(np.array, nnx.state(gan, dis_f))
  # phase "d" only touches the discriminator; phase "loss" has zero generator lr
  opts = (training.make_optimizer(gan, optax.sgd(0.1), dis_f),
          training.make_optimizer(gan, optax.sgd(0.0), gen_f))
  obj = lambda m, b: jnp.mean(m.discriminator(m.generator(b["z"])) ** 2)
  step = training.make_train_step([training.Phase(obj, wrt=dis_f, name="d"),
                                   training.Phase(obj, wrt=gen_f, name="loss")])
  logs = step(gan, opts, {"z": jnp.ones((2, 4))})
  assert set(logs) == {"d", "loss"}
  changed = lambda a, b: any(not np.array_equal(u, v) for u, v in
                             zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))
  assert changed(before_d, nnx.state(gan, dis_f))
  assert not changed(before_g, nnx.state(gan, gen_f))


def test_eval_step():
  model = models.MLP(3, 2, (4,), rngs=nnx.Rngs(0))
  f = training.make_eval_step(lambda m, x: m(x).argmax(-1))
  assert f(model, jnp.ones((5, 3))).shape == (5,)


SCRIPT = textwrap.dedent("""
    import json, jax, numpy as np, optax
    from flax import nnx
    import jaxloss
    from jaxloss import models, training
    assert jax.device_count() == 8, jax.devices()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 5)).astype(np.float32)
    y = (np.sin(x).sum(-1)).astype(np.float32)
    def run(mesh):
      model = models.MLP(5, 1, (16,), rngs=nnx.Rngs(0))
      opt = training.make_optimizer(model, optax.adam(1e-2))
      step = training.make_train_step(lambda m, b: jaxloss.mse(m(b["x"])[:, 0], b["y"]))
      h = training.fit(model, opt, step, {"x": x, "y": y}, steps=12, batch_size=32,
                       mesh=mesh, seed=0)
      return model, h
    m8, h8 = run(training.make_mesh())
    m1, h1 = run(training.make_mesh(jax.devices()[:1]))
    k = m8.out.kernel[...]
    diff = max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in
               zip(jax.tree.leaves(nnx.state(m8)), jax.tree.leaves(nnx.state(m1))))
    print(json.dumps(dict(devices=h8.devices, n_shards=len(k.sharding.device_set),
                          replicated=k.sharding.is_fully_replicated,
                          loss8=h8["loss"], loss1=h1["loss"], diff=diff)))
""")


@pytest.mark.slow
def test_data_parallel_on_8_cpu_devices_matches_one_device():
  env = host_devices_env(8)
  out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
  assert out.returncode == 0, out.stderr[-2000:]
  import json
  r = json.loads(out.stdout.strip().splitlines()[-1])
  assert r["devices"] == 8 and r["n_shards"] == 8 and r["replicated"]
  np.testing.assert_allclose(r["loss8"], r["loss1"], rtol=1e-5)
  assert r["loss8"][-1] < r["loss8"][0]
  assert r["diff"] < 1e-5
