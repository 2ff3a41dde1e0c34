# %% [markdown]
# # Forecasting a real series: MSE vs quantile vs Gaussian NLL vs soft-DTW / DILATE
#
# A forecaster is trained on a loss, but judged on what the user needs: a sharp point forecast,
# honest intervals, or the right *shape* of the coming curve. This notebook forecasts the next 16
# samples of a real EEG recording (the sample data matplotlib ships, via `jaxloss.data.series`)
# from the previous 48 with one small MLP per loss, and scores every model on MAE, interval
# coverage and CRPS.

# %%
import os
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

import jaxloss
import jaxloss.data
import jaxloss.models

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (9, 3)})
T0 = time.perf_counter()
SEED = int(os.environ.get("JAXLOSS_NB_SEED", 0))  # scripts/notebook_seeds.py reruns this notebook with seeds 0-4
FAST = os.environ.get("JAXLOSS_NB_FAST") == "1"   # set by tests/test_notebooks.py: smaller sizes, fewer steps

H, C = 16, 48
split = jaxloss.data.series(seed=SEED, name="eeg", context=C, horizon=H)
xtr, ytr, xte, yte = map(jnp.asarray, (split.x_train, split.y_train, split.x_test, split.y_test))
if FAST:  # the training windows are shuffled by the seed: keep a random quarter
  xtr, ytr = xtr[: len(xtr) // 4], ytr[: len(ytr) // 4]
print(f"train windows {len(xtr)}, test windows {len(xte)} (chronological split; values relative to the last observation)")
print(f"std of the targets: train {float(ytr.std()):.2f}, test {float(yte.std()):.2f}")

# %% [markdown]
# ## One network, five losses
# `jaxloss.models.MLP(48 → k·16)` with one hidden layer of 32 (small and briefly trained: the series is short and a bigger model overfits); its output is read as the point
# forecast (MSE, soft-DTW, DILATE), as 9 quantiles 0.1 … 0.9 (pinball loss), or as a mean and a
# variance (softplus) for the Gaussian NLL. Full-batch Adam, 250 steps each.
# Soft-DTW (γ = 0.1) compares the two curves up to a time warping; DILATE (α = 0.5) mixes that
# shape term with a penalty on the warping path's distance from the diagonal (timing).

# %%
Q = jnp.linspace(0.1, 0.9, 9)

def head(name, out):
  if name == "quantile":
    return jnp.sort(out.reshape(-1, H, 9), -1)          # [B, H, 9] (sorted: no crossing)
  if name == "Gaussian NLL":
    return out[:, :H], jax.nn.softplus(out[:, H:]) + 1e-3
  return out

def loss_fn(name, out, y):
  p = head(name, out)
  if name == "MSE":
    return jaxloss.mse(p, y)
  if name == "quantile":
    return jaxloss.quantile_loss(p, y, quantiles=Q)
  if name == "Gaussian NLL":
    return jaxloss.gaussian_nll(p[0], y, p[1])
  if name == "soft-DTW":
    return jaxloss.soft_dtw(p[..., None], y[..., None], gamma=0.1)
  return jaxloss.dilate_loss(p[..., None], y[..., None], shape_weight=0.5, temporal_weight=0.5,
                             gamma=0.1)

def train(name, steps=150 if FAST else 250, seed=SEED):
  k = {"quantile": 9, "Gaussian NLL": 2}.get(name, 1)
  gdef, params = nnx.split(jaxloss.models.MLP(C, k * H, hidden=(32,), rngs=nnx.Rngs(seed)))
  opt = optax.adam(2e-3)

  @jax.jit
  def run(params):
    def step(carry, _):
      p, s = carry
      g = jax.grad(lambda p: loss_fn(name, nnx.merge(gdef, p)(xtr), ytr))(p)
      u, s = opt.update(g, s, p)
      return (optax.apply_updates(p, u), s), None
    return jax.lax.scan(step, (params, opt.init(params)), None, length=steps)[0][0]

  return head(name, nnx.merge(gdef, run(params))(xte))

NAMES = ("MSE", "quantile", "Gaussian NLL", "soft-DTW", "DILATE")
out = {}
for name in NAMES:
  t = time.perf_counter()
  out[name] = train(name)
  print(f"trained {name:13s} in {time.perf_counter() - t:.1f} s")

# %% [markdown]
# ## Scores on the test part
# * **MAE** of the point forecast (the median for the quantile model, the mean for the Gaussian).
# * **80% interval coverage**: how often the truth falls between the 0.1 and 0.9 quantiles
#   (Gaussian: mean ± 1.2816 σ). A calibrated model scores 0.80.
# * **CRPS**, the proper score of a whole predictive distribution (lower is better). For a point
#   forecast it equals the MAE; for the Gaussian it is `jaxloss.crps_gaussian`; for the quantile
#   model we use the standard approximation 2 × mean pinball loss over its 9 levels.
# * **roughness**: mean |step-to-step change| of the forecast divided by the truth's — < 1 means
#   a flattened curve.

# %%
def roughness(p):
  return float(jnp.abs(jnp.diff(p, axis=-1)).mean() / jnp.abs(jnp.diff(yte, axis=-1)).mean())

scores = {}
for name in NAMES:
  p = out[name]
  if name == "quantile":
    point, lo, hi = p[..., 4], p[..., 0], p[..., 8]
    crps = 2 * float(jaxloss.quantile_loss(p, yte, quantiles=Q))
  elif name == "Gaussian NLL":
    point, std = p[0], jnp.sqrt(p[1])
    lo, hi = point - 1.2816 * std, point + 1.2816 * std
    crps = float(jaxloss.crps_gaussian(point, yte, std))
  else:
    point, lo, hi = p, None, None
    crps = float(jaxloss.mae(point, yte))
  cov = float(jnp.mean((yte >= lo) & (yte <= hi))) if lo is not None else float("nan")
  scores[name] = dict(mae=float(jaxloss.mae(point, yte)), coverage=cov, crps=crps, rough=roughness(point))
  s = scores[name]
  print(f"{name:13s} MAE {s['mae']:.3f}  80%-coverage {s['coverage']:.2f}  CRPS {s['crps']:.3f}  roughness {s['rough']:.2f}")

# %% [markdown]
# The test part of the recording is about 30% more variable than the training part (see the
# target standard deviations printed above), so both probabilistic models' intervals under-cover
# on it — about 0.7 instead of 0.8: check coverage on recent data before trusting an interval.
# Still, a forecast *distribution* scores far better by CRPS than any point forecast.
#
# **Four test windows.** Left of the dashed line: the observed context; right: the truth (black)
# and the forecasts. The MSE forecast is the conditional mean — a flattened curve (roughness
# < 1); soft-DTW and DILATE forecasts vary as much as the truth does (roughness > 1), since a
# shape loss does not reward hedging — though on this hard-to-predict signal not always in phase
# with it. The quantile and Gaussian models add an 80% band around their forecast.

# %%
fig, axes = plt.subplots(2, 2, figsize=(10, 5), sharex=True)
tc, th = np.arange(-C + 1, 1), np.arange(1, H + 1)
for a, i in zip(axes.ravel(), (5, 40, 75, 110)):
  a.plot(tc[-24:], xte[i, -24:], "k", lw=1); a.plot(th, yte[i], "k", lw=2, label="truth")
  a.axvline(0.5, ls="--", c="0.5")
  a.fill_between(th, out["quantile"][i, :, 0], out["quantile"][i, :, 8], alpha=0.25, color="C1", label="quantile 10-90%")
  m, sd = out["Gaussian NLL"][0][i], jnp.sqrt(out["Gaussian NLL"][1][i])
  a.fill_between(th, m - 1.2816 * sd, m + 1.2816 * sd, alpha=0.15, color="C2", label="Gaussian 80%")
  for name, c in (("MSE", "C0"), ("soft-DTW", "C3"), ("DILATE", "C4")):
    a.plot(th, out[name][i], c, label=name)
axes[0, 0].legend(fontsize=7, ncol=2); plt.tight_layout(); plt.show()

# %% [markdown]
# ## Checks
# Both probabilistic models' 80% intervals cover between 50% and 90% of the test values (the
# shift above costs about 0.1; over seeds 0-4 coverage was 0.65-0.72); the Gaussian model's CRPS
# is lower than the MSE model's MAE (its point-forecast CRPS); the shape losses' forecasts are
# rougher (closer to the truth's variation) than MSE's. With `JAXLOSS_NB_FAST=1` the models see a
# random quarter of the training windows for 150 steps, and the coverage floor is 0.45.

# %%
print("ASSERTED:", {**{f"coverage {k}": round(scores[k]["coverage"], 4) for k in ("quantile", "Gaussian NLL")},
                    "CRPS Gaussian / MSE": round(scores["Gaussian NLL"]["crps"] / scores["MSE"]["crps"], 4),
                    **{f"roughness {k}": round(scores[k]["rough"], 4) for k in ("MSE", "soft-DTW", "DILATE")}})
# trained outcomes: each held at seeds 0-4 on jax 0.10.2 (full size / fast mode), worst seed noted
for name in ("quantile", "Gaussian NLL"):
  # coverage: 0.645-0.719 full, 0.592-0.674 fast
  assert (0.45 if FAST else 0.50) <= scores[name]["coverage"] <= 0.90, (name, scores[name])
# CRPS Gaussian / MSE: worst 0.72 full (0.68-0.72), 0.76 fast (0.66-0.76)
assert scores["Gaussian NLL"]["crps"] < scores["MSE"]["crps"], scores
# roughness, min(soft-DTW, DILATE) / MSE: worst 1.50 full (MSE 0.75-0.84), 1.19 fast (MSE 1.09-1.15)
assert min(scores["soft-DTW"]["rough"], scores["DILATE"]["rough"]) > scores["MSE"]["rough"], scores
print(f"all checks passed in {time.perf_counter() - T0:.1f} s ({time.process_time():.0f} s CPU in this kernel)")
