# %% [markdown]
# # Training objectives of large models, small: DPO, GRPO and distillation
#
# The losses large language models are tuned with — preference optimisation (DPO and its
# variants), group-relative policy gradients (GRPO) and knowledge distillation — are pure
# functions in jaxloss. This notebook runs each on a task small enough for a CPU, so the
# mechanics are visible:
#
# 1. **DPO** — a tiny sequence policy learns from *pairs* which of two completions is preferred
#    (the hidden rule: more even tokens is better). Nothing tells it the rule; the implicit
#    reward `β·(log π − log π_ref)` learns to rank the pairs, and sampling drifts towards the
#    preferred property.
# 2. **GRPO** — the same policy family gets a *verifiable* reward (1 if the tokens sum to a
#    target) for groups of samples; group-normalised advantages and the clipped surrogate raise
#    the success rate from chance.
# 3. **Distillation** — a small student learns digits from a bigger teacher's softened outputs
#    (Hinton's KD with the T² factor), at several temperatures, beside a student trained on the
#    labels alone.
#
# The random seed comes from `JAXLOSS_NB_SEED` (default 0); `JAXLOSS_NB_FAST=1` (set by the test
# suite) shortens the training. The assertions at the end hold over seeds 0–4 in both modes.

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

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (10, 3)})
SEED = int(os.environ.get("JAXLOSS_NB_SEED", 0))
FAST = os.environ.get("JAXLOSS_NB_FAST") == "1"
T0 = time.perf_counter()
V, T = 6, 4            # vocabulary of 6 tokens, completions of 4 tokens


class Policy(nnx.Module):
  """A factorised sequence policy: ``log pi(y | c) = sum_t log softmax(logits(c)[t])[y_t]``."""

  def __init__(self, n_ctx, rngs):
    self.emb = nnx.Embed(n_ctx, 32, rngs=rngs)
    self.out = nnx.Linear(32, T * V, rngs=rngs)

  def logits(self, ctx):
    return self.out(jax.nn.gelu(self.emb(ctx))).reshape(ctx.shape[0], T, V)

  def token_logps(self, ctx, y):
    lp = jax.nn.log_softmax(self.logits(ctx), -1)
    return jnp.take_along_axis(lp, y[..., None], -1)[..., 0]          # (B, T)

  def sample(self, ctx, key):
    return jax.random.categorical(key, self.logits(ctx), -1)          # (B, T)


print(f"seed {SEED}; fast mode {FAST}")

# %% [markdown]
# ## 1. DPO: learning a preference from pairs
# For 8 prompts (contexts), two completions are sampled from the frozen reference policy; the
# one with more even tokens is *chosen* (ties are dropped). `jaxloss.dpo_loss` takes the
# per-sequence summed log-probabilities of the policy and the reference for both completions
# (TRL's convention) and returns, with `return_components=True`, the implicit rewards and the
# reward accuracy (how often the chosen completion gets the larger implicit reward).
# Three of TRL's loss types are compared: `sigmoid` (DPO), `ipo` and `hinge` (SLiC).

# %%
def even_fraction(y):
  return jnp.mean((y % 2 == 0).astype(jnp.float32))


def preference_pairs(ref, key, n):
  """n prompts, two reference samples each; chosen = more even tokens (``keep``: no tie)."""
  k1, k2, k3 = jax.random.split(key, 3)
  ctx = jax.random.randint(k1, (n,), 0, 8)
  a, b = ref.sample(ctx, k2), ref.sample(ctx, k3)
  score = lambda y: jnp.sum(y % 2 == 0, -1)
  a_wins = (score(a) > score(b))[:, None]
  return ctx, jnp.where(a_wins, a, b), jnp.where(a_wins, b, a), score(a) != score(b)


def train_dpo(loss_type, steps, seed):
  ref = Policy(8, nnx.Rngs(seed))
  policy = Policy(8, nnx.Rngs(seed))                 # starts equal to the reference
  opt = nnx.Optimizer(policy, optax.adam(3e-2), wrt=nnx.Param)
  beta = 0.1

  @nnx.jit
  def step(policy, opt, key):                          # one dispatch per step
    kp, ks = jax.random.split(key)
    ctx, yw, yl, keep = preference_pairs(ref, kp, 64)

    def loss_fn(policy):
      pw, pl = policy.token_logps(ctx, yw).sum(-1), policy.token_logps(ctx, yl).sum(-1)
      rw, rl = ref.token_logps(ctx, yw).sum(-1), ref.token_logps(ctx, yl).sum(-1)
      return jaxloss.dpo_loss(pw, pl, jax.lax.stop_gradient(rw), jax.lax.stop_gradient(rl),
                              beta=beta, loss_type=loss_type, where=keep,
                              return_components=True)
    (_, parts), grads = nnx.value_and_grad(loss_fn, has_aux=True)(policy)
    opt.update(policy, grads)
    even = even_fraction(policy.sample(jnp.arange(8).repeat(32), ks))
    return parts["reward_accuracy"], parts["reward_margin"], even

  key = jax.random.key(seed + 100)
  out = []
  for _ in range(steps):
    key, k = jax.random.split(key)
    out.append(step(policy, opt, k))
  acc, margin, even = (np.asarray(v) for v in zip(*jax.device_get(out), strict=True))
  return {"reward_accuracy": acc, "reward_margin": margin, "even": even}


steps_dpo = 30 if FAST else 150
dpo = {lt: train_dpo(lt, steps_dpo, SEED) for lt in ("sigmoid", "ipo", "hinge")}
fig, axes = plt.subplots(1, 3)
smooth = lambda v: np.convolve(v, np.ones(5) / 5, mode="valid")
for lt, log in dpo.items():
  for ax, k in zip(axes, ("reward_accuracy", "reward_margin", "even"), strict=True):
    ax.plot(smooth(log[k]), label=lt)
for ax, title in zip(axes, ("reward accuracy (chosen > rejected)", "reward margin",
                            "even tokens in samples"), strict=True):
  ax.set_title(title, fontsize=9)
  ax.set_xlabel("step")
axes[2].axhline(0.5, color="k", lw=0.8, ls=":")
axes[0].legend(title="loss_type", fontsize=8)
fig.tight_layout()
plt.show()
for lt, log in dpo.items():
  print(f"{lt:8s} reward accuracy (last 10 steps) {np.mean(log['reward_accuracy'][-10:]):.3f}; "
        f"even tokens {log['even'][0]:.3f} -> {np.mean(log['even'][-5:]):.3f}")

# %% [markdown]
# ## 2. GRPO: a verifiable reward, group-relative advantages
# The prompt is a target sum `s` in 6…14; a completion (4 tokens in 0…5) earns reward 1 if its
# tokens sum to `s`. For each prompt a *group* of 16 completions is sampled;
# `jaxloss.grpo_advantages` normalises the rewards within each group (so only *relative* success
# matters), and `jaxloss.clipped_policy_loss` (TRL's `loss_type="grpo"`, a k3 KL penalty
# against the initial policy with β = 0.04) takes two clipped gradient steps per sampled batch.

# %%
def train_grpo(steps, seed, group=16, prompts=8):
  policy = Policy(9, nnx.Rngs(seed))
  ref = Policy(9, nnx.Rngs(seed))
  opt = nnx.Optimizer(policy, optax.adam(2e-2), wrt=nnx.Param)

  @nnx.jit
  def iteration(policy, opt, key):                     # a rollout and two updates, one dispatch
    kc, ks = jax.random.split(key)
    target = jax.random.randint(kc, (prompts,), 0, 9)                 # sums 6 ... 14
    ctx = jnp.repeat(target, group)
    y = policy.sample(ctx, ks)
    reward = (jnp.sum(y, -1) == ctx + 6).astype(jnp.float32)
    old = jax.lax.stop_gradient(policy.token_logps(ctx, y))
    ref_lp = ref.token_logps(ctx, y)
    adv = jaxloss.grpo_advantages(reward, group)
    mask = jnp.ones(y.shape, bool)

    def loss_fn(policy):
      return jaxloss.clipped_policy_loss(policy.token_logps(ctx, y), old, adv, mask,
                                         ref_logps=ref_lp, beta=0.04, loss_type="grpo")
    for _ in range(2):                    # several updates on one batch: the clip matters
      grads = nnx.grad(loss_fn)(policy)
      opt.update(policy, grads)
    return reward.mean()

  key = jax.random.key(seed + 200)
  rewards = []
  for _ in range(steps):
    key, k = jax.random.split(key)
    rewards.append(iteration(policy, opt, k))
  return [float(r) for r in jax.device_get(rewards)]


steps_grpo = 80 if FAST else 200
grpo = train_grpo(steps_grpo, SEED)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(grpo, alpha=0.3, color="tab:blue")
ax.plot(np.arange(4, len(grpo)), smooth(grpo), color="tab:blue", label="GRPO")
ax.set_xlabel("rollout")
ax.set_ylabel("mean reward (sum hits target)")
ax.set_title("GRPO on a verifiable reward", fontsize=9)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"reward: first 5 rollouts {np.mean(grpo[:5]):.3f}, last 10 {np.mean(grpo[-10:]):.3f}")

# %% [markdown]
# ## 3. Knowledge distillation on digits
# A teacher MLP (256 hidden units) is trained on the digits; students (16 hidden units) are
# trained either on the labels alone (cross-entropy) or on `0.5·CE + 0.5·KD(T)` with
# `jaxloss.distillation_loss` at temperatures 1, 2, 4 and 8 (the loss already carries Hinton's
# T² factor, so the two terms stay on one scale).

# %%
split = jaxloss.data.digits(SEED)
xtr, ytr = jnp.asarray(split.x_train), jnp.asarray(split.y_train)
xte, yte = jnp.asarray(split.x_test), jnp.asarray(split.y_test)


class MLP(nnx.Module):
  def __init__(self, hidden, rngs):
    self.l1 = nnx.Linear(64, hidden, rngs=rngs)
    self.l2 = nnx.Linear(hidden, 10, rngs=rngs)

  def __call__(self, x):
    return self.l2(jax.nn.relu(self.l1(x)))


def fit(model, loss_fn, steps, seed, lr=1e-2):
  opt = nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)

  @nnx.jit
  def step(model, opt, x, y):
    loss, grads = nnx.value_and_grad(lambda m: loss_fn(m, x, y))(model)
    opt.update(model, grads)
    return loss

  rng = np.random.default_rng(seed)
  for _ in range(steps):
    idx = rng.integers(0, len(ytr), 64)
    step(model, opt, xtr[idx], ytr[idx])
  return float(jnp.mean(jnp.argmax(model(xte), -1) == yte))


steps_kd = 80 if FAST else 400
teacher = MLP(256, nnx.Rngs(SEED))
acc_teacher = fit(teacher, lambda m, x, y: jaxloss.cross_entropy(m(x), y), steps_kd, SEED)
kd_acc = {"labels only": fit(MLP(16, nnx.Rngs(SEED + 1)),
                             lambda m, x, y: jaxloss.cross_entropy(m(x), y), steps_kd, SEED)}
for temp in (1.0, 2.0, 4.0, 8.0):
  def kd(m, x, y, temp=temp):
    s = m(x)
    return 0.5 * jaxloss.cross_entropy(s, y) + 0.5 * jaxloss.distillation_loss(
        s, jax.lax.stop_gradient(teacher(x)), temperature=temp)
  kd_acc[f"KD T={temp:g}"] = fit(MLP(16, nnx.Rngs(SEED + 1)), kd, steps_kd, SEED)

fig, ax = plt.subplots(figsize=(6, 3))
names = list(kd_acc)
ax.bar(names, [kd_acc[n] for n in names], color=["gray"] + ["tab:green"] * 4)
ax.axhline(acc_teacher, color="k", ls="--", lw=1, label=f"teacher {acc_teacher:.3f}")
for i, n in enumerate(names):
  ax.text(i, kd_acc[n], f"{kd_acc[n]:.3f}", ha="center", va="bottom", fontsize=8)
ax.set_ylim(min(kd_acc.values()) - 0.05, 1.0)
ax.set_ylabel("student test accuracy")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(kd_acc)

# %% [markdown]
# ## What the numbers say — checked
# The thresholds below hold over seeds 0–4 with a margin in both modes (checked with
# `python scripts/notebook_seeds.py 09` and `--fast`; the ranges are in the cell); they test
# the mechanisms, not a leaderboard:
# DPO's implicit reward ranks the preference pairs well above chance and sampling moves
# towards the preferred property; GRPO's success rate rises well above its start; every
# distilled student and the label-only one learn the digits (KD at moderate temperature is
# usually a little better on this small task, but not by more than the seed spread, so that
# is not asserted).

# %%
ASSERTED = {
    "dpo_accuracy": {lt: round(float(np.mean(log["reward_accuracy"][-10:])), 3)
                     for lt, log in dpo.items()},
    "dpo_even_gain": {lt: round(float(np.mean(log["even"][-5:]) - log["even"][0]), 3)
                      for lt, log in dpo.items()},
    "grpo_gain": round(float(np.mean(grpo[-10:]) - np.mean(grpo[:5])), 3),
    "kd_min_acc": round(min(kd_acc.values()), 3),
}
print("ASSERTED:", ASSERTED)
# Measured over seeds 0-4 (jax 0.10.2, flax 0.12.8, CPU; full / fast mode):
# DPO reward accuracy 1.0 at every seed, loss type and mode;
assert min(ASSERTED["dpo_accuracy"].values()) > 0.7, ASSERTED
# even-token gain worst 0.377 / 0.366 (ipo);
assert min(ASSERTED["dpo_even_gain"].values()) > 0.15, ASSERTED
# GRPO reward gain 0.84-0.90 / 0.61-0.86;
assert ASSERTED["grpo_gain"] > 0.3, ASSERTED
# worst student accuracy 0.956-0.964 / 0.900-0.949.
assert ASSERTED["kd_min_acc"] > 0.8, ASSERTED
print(f"all checks passed in {time.perf_counter() - T0:.1f} s ({time.process_time():.0f} s CPU in this kernel)")
