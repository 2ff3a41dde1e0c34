# %% [markdown]
# # Regression with outliers: MSE, MAE, Huber, log-cosh and Barron's adaptive loss
#
# A sensor glitch, a mislabeled row, a unit error: a few gross errors in the targets are enough
# to drag a least-squares fit away from the bulk of the data. This notebook fits the same line
# with five losses on data where 20% of the targets are corrupted, shows *why* they differ
# (each loss's influence function ψ = dρ/dr), lets Barron's adaptive loss *learn* how robust it
# needs to be, and repeats the comparison on scikit-learn's diabetes data.

# %%
import os
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import jaxloss
import jaxloss.data

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (9, 3)})
T0 = time.perf_counter()
SEED = int(os.environ.get("JAXLOSS_NB_SEED", 0))  # scripts/notebook_seeds.py reruns this notebook with seeds 0-4
FAST = os.environ.get("JAXLOSS_NB_FAST") == "1"   # set by tests/test_notebooks.py: smaller sizes, fewer steps

# %% [markdown]
# ## Data: a line with 20% gross errors
# 200 points on `y = 2x + 1` with noise of std 0.5; 20% of the points with `x > 0` are pushed
# down by 6 to 10 — high-leverage outliers that tilt a least-squares line.

# %%
rng = np.random.default_rng(SEED)
n, true_w, true_b = 200, 2.0, 1.0
x = rng.uniform(-3, 3, n).astype(np.float32)
y = (true_w * x + true_b + 0.5 * rng.standard_normal(n)).astype(np.float32)
cand = np.flatnonzero(x > 0)
bad = rng.choice(cand, size=int(0.2 * n), replace=False)
y[bad] -= rng.uniform(6, 10, len(bad)).astype(np.float32)
is_bad = np.zeros(n, bool); is_bad[bad] = True
x, y = jnp.asarray(x), jnp.asarray(y)

# %% [markdown]
# ## Fitting a line with each loss
# One generic full-batch Adam loop, compiled once per loss (`lax.scan` over the steps). Barron's
# adaptive loss (`adaptive_robust_loss`, the negative log-likelihood of his distribution) also
# learns its shape `alpha` in [0, 3] and scale `c` — we record `alpha` at every step.

# %%
def fit(residual_loss, extra=None, steps=1500, lr=0.05):
  params = {"w": jnp.zeros(()), "b": jnp.zeros(()), **(extra or {})}
  opt = optax.adam(lr)

  def objective(p):
    return residual_loss(p["w"] * x + p["b"] - y, p)

  @jax.jit
  def run(params):
    def step(carry, _):
      params, state = carry
      grads = jax.grad(objective)(params)
      updates, state = opt.update(grads, state, params)
      params = optax.apply_updates(params, updates)
      return (params, state), params
    (params, _), trace = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
    return params, trace

  return run(params)

alpha_of = lambda p: 3.0 * jax.nn.sigmoid(p["raw_alpha"])
scale_of = lambda p: jnp.exp(p["log_scale"]) + 1e-3
zero = lambda r: jnp.zeros_like(r)
losses = {
    "MSE": lambda r, p: jaxloss.mse(r, zero(r)),
    "MAE": lambda r, p: jaxloss.mae(r, zero(r)),
    "Huber (δ=1)": lambda r, p: jaxloss.huber_loss(r, zero(r), delta=1.0),
    "log-cosh": lambda r, p: jaxloss.log_cosh_loss(r, zero(r)),
    "Barron adaptive": lambda r, p: jaxloss.adaptive_robust_loss(r, alpha=alpha_of(p), scale=scale_of(p)),
}
fits, traces = {}, {}
for name, fn in losses.items():
  extra = {"raw_alpha": jnp.zeros(()), "log_scale": jnp.zeros(())} if "Barron" in name else None
  fits[name], traces[name] = fit(fn, extra)
  p = fits[name]
  print(f"{name:16s} slope {float(p['w']):6.3f}  intercept {float(p['b']):6.3f}")
barron = fits["Barron adaptive"]
alpha_hat, scale_hat = float(alpha_of(barron)), float(scale_of(barron))
print(f"Barron learned alpha = {alpha_hat:.3f}, scale = {scale_hat:.3f} (truth: slope {true_w}, intercept {true_b}, noise std 0.5)")

# %% [markdown]
# **Fitted lines.** Grey points are clean, red ones the injected outliers. The MSE line is pulled
# towards the outliers; MAE, Huber, log-cosh and the adaptive loss stay on the bulk of the data.

# %%
xs = np.linspace(-3, 3, 2)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.scatter(x[~is_bad], y[~is_bad], s=6, c="0.6"); ax.scatter(x[is_bad], y[is_bad], s=6, c="r")
for name, p in fits.items():
  ax.plot(xs, float(p["w"]) * xs + float(p["b"]), label=name, lw=1.5)
ax.plot(xs, true_w * xs + true_b, "k--", lw=1, label="truth")
ax.legend(fontsize=8, ncol=2); ax.set(xlabel="x", ylabel="y", title="fits on data with 20% outliers")
plt.show()

# %% [markdown]
# **Loss ρ(r) and influence ψ(r) = dρ/dr.** The gradient a residual contributes is ψ: for MSE it
# grows without bound (an outlier at r = 8 pulls 8x harder than one at r = 1), Huber, MAE and
# log-cosh cap it, and Barron's loss at the learned small alpha *redescends* — far outliers are
# nearly ignored. ψ is computed with `jax.grad` of the losses themselves.

# %%
r = jnp.linspace(-8, 8, 401)
curves = {
    "MSE": lambda r: jaxloss.mse(r, zero(r), reduction="none"),
    "MAE": lambda r: jaxloss.mae(r, zero(r), reduction="none"),
    "Huber (δ=1)": lambda r: jaxloss.huber_loss(r, zero(r), reduction="none"),
    "log-cosh": lambda r: jaxloss.log_cosh_loss(r, zero(r), reduction="none"),
    f"Barron α={alpha_hat:.2f}": lambda r: jaxloss.general_robust_loss(r, alpha=alpha_hat, scale=scale_hat, reduction="none"),
}
fig, (a1, a2) = plt.subplots(1, 2)
psi = {}
for name, f in curves.items():
  psi[name] = jax.grad(lambda r: f(r).sum())(r)
  a1.plot(r, f(r), label=name); a2.plot(r, psi[name], label=name)
a1.set(ylim=(0, 8), xlabel="residual r", title="loss ρ(r)"); a2.set(ylim=(-4, 4), xlabel="residual r", title="influence ψ(r) = ρ'(r)")
a2.legend(fontsize=7); plt.tight_layout(); plt.show()

# %% [markdown]
# **Learning alpha.** Starting from alpha = 1.5, the adaptive loss lowers alpha while the line
# settles: heavy-tailed residuals are more likely under a small-alpha (Cauchy-like) distribution.

# %%
alpha_trace = np.asarray(3.0 * jax.nn.sigmoid(traces["Barron adaptive"]["raw_alpha"]))
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.plot(alpha_trace); ax.set(xlabel="step", ylabel="alpha", title="Barron's alpha during training")
plt.show()

# %% [markdown]
# ## The same on real data: diabetes with corrupted training targets
# `jaxloss.data.diabetes(outliers=0.1)` shifts 10% of the (standardised) *training* targets by ±8
# standard deviations; the test targets stay clean. A linear model is fitted with each loss and
# scored by RMSE on the clean test set.

# %%
split = jaxloss.data.diabetes(seed=SEED, outliers=0.1)
xtr, ytr = jnp.asarray(split.x_train), jnp.asarray(split.y_train)
xte, yte = jnp.asarray(split.x_test), jnp.asarray(split.y_test)

def fit_linear(loss, steps=1000, lr=0.05):
  opt = optax.adam(lr)
  params = {"w": jnp.zeros(xtr.shape[1]), "b": jnp.zeros(())}

  @jax.jit
  def run(params):
    def step(carry, _):
      params, state = carry
      g = jax.grad(lambda p: loss(xtr @ p["w"] + p["b"], ytr))(params)
      u, state = opt.update(g, state, params)
      return (optax.apply_updates(params, u), state), None
    return jax.lax.scan(step, (params, opt.init(params)), None, length=steps)[0][0]

  p = run(params)
  return float(jnp.sqrt(jnp.mean((xte @ p["w"] + p["b"] - yte) ** 2)))

rmse = {
    "MSE": fit_linear(jaxloss.mse),
    "MAE": fit_linear(jaxloss.mae),
    "Huber (δ=1)": fit_linear(lambda p, t: jaxloss.huber_loss(p, t, delta=1.0)),
    "log-cosh": fit_linear(jaxloss.log_cosh_loss),
}
for k, v in rmse.items():
  print(f"{k:12s} clean-test RMSE {v:.3f}  (in target standard deviations)")

# %% [markdown]
# ## Checks
# The adaptive loss's slope is within 0.1 of the truth; Huber's, MAE's and log-cosh's slope errors
# are less than half of MSE's, which is off by more than 0.5; the adaptive loss learned a small
# alpha (< 1, heavier tails than Gaussian); on diabetes, Huber beats MSE on the clean test set.
# The data, and so every number here, change with the seed; each bound held at seeds 0-4 with
# a margin (the worst seed is noted beside it).

# %%
slope_err = {k: abs(float(p["w"]) - true_w) for k, p in fits.items()}
robust_err = max(slope_err["Huber (δ=1)"], slope_err["MAE"], slope_err["log-cosh"])
print("ASSERTED:", {**{f"slope_err {k}": round(v, 4) for k, v in slope_err.items()}, "alpha": round(alpha_hat, 4),
                    "worst robust / MSE slope error": round(robust_err / slope_err["MSE"], 4),
                    "rmse MSE - Huber": round(rmse["MSE"] - rmse["Huber (δ=1)"], 4)})
assert slope_err["Barron adaptive"] < 0.1      # holds over seeds 0-4 (worst: 0.040) on jax 0.10.2
assert robust_err < 0.45 * slope_err["MSE"]    # holds over seeds 0-4 (worst ratio: 0.32; errors 0.10-0.33) on jax 0.10.2
assert slope_err["MSE"] > 0.5                  # holds over seeds 0-4 (worst: 0.65) on jax 0.10.2
assert alpha_hat < 1.0, alpha_hat              # holds over seeds 0-4 (worst: 0.005) on jax 0.10.2
assert rmse["Huber (δ=1)"] < rmse["MSE"], rmse # holds over seeds 0-4 (worst: MSE - Huber 0.022; 0.02-0.25) on jax 0.10.2
print(f"all checks passed in {time.perf_counter() - T0:.1f} s ({time.process_time():.0f} s CPU in this kernel)")
