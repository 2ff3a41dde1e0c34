# %% [markdown]
# # Self-supervised representations on digits: VICReg, Barlow Twins, DINO
#
# Self-supervised losses learn an encoder from *unlabelled* images: two augmented views of an
# image should map to nearby representations, and something must stop every image mapping to
# the same point (collapse). VICReg regularises the variance and covariance of the batch's
# embeddings; Barlow Twins drives the cross-correlation of the two views' embeddings to the
# identity; DINO distils a momentum teacher's sharpened, centred outputs into the student.
#
# The same MLP encoder is trained on the digits with each loss (no labels), then frozen; a
# linear probe (logistic regression on the frozen 64-d representation) measures how much class
# information it kept. Baselines: the untrained encoder and the raw pixels. The seed comes
# from `JAXLOSS_NB_SEED` (default 0); `JAXLOSS_NB_FAST=1` (the test suite) trains for fewer
# steps.

# %%
import os
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx
from sklearn.linear_model import LogisticRegression

import jaxloss
import jaxloss.data

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (10, 3)})
SEED = int(os.environ.get("JAXLOSS_NB_SEED", 0))
FAST = os.environ.get("JAXLOSS_NB_FAST") == "1"
T0 = time.perf_counter()

split = jaxloss.data.digits(SEED)
xtr, ytr = jnp.asarray(split.x_train), np.asarray(split.y_train)
xte, yte = jnp.asarray(split.x_test), np.asarray(split.y_test)
print(f"seed {SEED}; fast mode {FAST}; {len(ytr)} training images (labels unused), {len(yte)} test")

# %% [markdown]
# ## Views, encoder, projector
# A view shifts the 8×8 image by up to one pixel, drops 20 % of the pixels and adds noise.
# The encoder (64 → 256 → 64) gives the representation that is probed; a projector
# (64 → 256 → 128) carries the loss, as in all three papers. DINO's head outputs 64 logits
# over learned prototypes; its teacher is an exponential moving average of the student.

# %%
def view(key, x):
  k1, k2, k3 = jax.random.split(key, 3)
  img = x.reshape(-1, 8, 8)
  shift = jax.random.randint(k1, (2,), -1, 2)
  img = jnp.roll(img, shift, axis=(1, 2))
  keep = jax.random.bernoulli(k2, 0.8, img.shape)
  return (img * keep + 0.2 * jax.random.normal(k3, img.shape)).reshape(-1, 64)


class Net(nnx.Module):
  def __init__(self, out, rngs):
    self.e1, self.e2 = nnx.Linear(64, 256, rngs=rngs), nnx.Linear(256, 64, rngs=rngs)
    self.p1, self.p2 = nnx.Linear(64, 256, rngs=rngs), nnx.Linear(256, out, rngs=rngs)

  def encode(self, x):
    return self.e2(jax.nn.relu(self.e1(x)))

  def __call__(self, x):
    return self.p2(jax.nn.relu(self.p1(jax.nn.relu(self.encode(x)))))


def objective(name, net, x1, x2, teacher=None, center=None):
  if name == "VICReg":
    return jaxloss.vicreg_loss(net(x1), net(x2))
  if name == "Barlow Twins":
    return jaxloss.barlow_twins_loss(net(x1), net(x2))
  # DINO: crops stacked [S, B, K]; each student crop against the other crop's teacher
  teacher_out = jax.lax.stop_gradient(jnp.stack([teacher(x1), teacher(x2)]))
  return jaxloss.dino_loss(jnp.stack([net(x1), net(x2)]), teacher_out, center)


def train(name, steps, seed):
  out = 64 if name == "DINO" else 128
  net = Net(out, nnx.Rngs(seed))
  teacher = Net(out, nnx.Rngs(seed))
  opt = nnx.Optimizer(net, optax.adam(1e-3), wrt=nnx.Param)
  center = jnp.zeros((out,))

  @nnx.jit
  def step(net, teacher, opt, center, key):
    kb, k1, k2 = jax.random.split(key, 3)
    x = xtr[jax.random.randint(kb, (256,), 0, len(ytr))]
    x1, x2 = view(k1, x), view(k2, x)
    loss, grads = nnx.value_and_grad(lambda n: objective(name, n, x1, x2, teacher, center))(net)
    opt.update(net, grads)
    if name == "DINO":   # EMA teacher (momentum 0.99) and centre of its outputs
      new = jax.tree.map(lambda t, s: 0.99 * t + 0.01 * s, nnx.state(teacher, nnx.Param),
                         nnx.state(net, nnx.Param))
      nnx.update(teacher, new)
      center = jaxloss.update_center(center, jnp.concatenate([teacher(x1), teacher(x2)]))
    return loss, center

  key = jax.random.key(seed + 7)
  losses = []
  for _ in range(steps):
    key, k = jax.random.split(key)
    loss, center = step(net, teacher, opt, center, k)
    losses.append(loss)
  return net, np.asarray(jax.device_get(losses))


steps = 200 if FAST else 600
nets, curves = {}, {}
for name in ("VICReg", "Barlow Twins", "DINO"):
  nets[name], curves[name] = train(name, steps, SEED)
fig, axes = plt.subplots(1, 3)
for ax, (name, c) in zip(axes, curves.items(), strict=True):
  ax.plot(c)
  ax.set_title(f"{name} loss (own scale)", fontsize=9)
  ax.set_xlabel("step")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Linear probe on the frozen representation
# Logistic regression on the standardised 64-d encoder output of the training images (now
# with their labels), scored on the test images. Collapse shows as a representation whose
# dimensions barely vary; the *effective rank* (exp of the entropy of the normalised singular
# values) counts how many directions the representation really uses (64 at most).

# %%
def probe(feats_tr, feats_te):
  mu, sd = feats_tr.mean(0), feats_tr.std(0) + 1e-6
  clf = LogisticRegression(max_iter=2000).fit((feats_tr - mu) / sd, ytr)
  return float(clf.score((feats_te - mu) / sd, yte))


def effective_rank(f):
  s = np.linalg.svd(f - f.mean(0), compute_uv=False)
  p = s / s.sum()
  return float(np.exp(-np.sum(p * np.log(p + 1e-12))))


encode = nnx.jit(lambda n, x: n.encode(x))
reps = {name: (np.asarray(encode(n, xtr)), np.asarray(encode(n, xte))) for name, n in nets.items()}
reps["untrained encoder"] = (np.asarray(encode(Net(128, nnx.Rngs(SEED)), xtr)),
                             np.asarray(encode(Net(128, nnx.Rngs(SEED)), xte)))
reps["raw pixels"] = (np.asarray(xtr), np.asarray(xte))
acc = {name: probe(*r) for name, r in reps.items()}
rank = {name: effective_rank(r[0]) for name, r in reps.items()}

fig, axes = plt.subplots(1, 2, figsize=(11, 3))
names = list(acc)
colors = ["tab:green"] * 3 + ["gray", "lightgray"]
axes[0].barh(names, [acc[n] for n in names], color=colors)
for i, n in enumerate(names):
  axes[0].text(acc[n], i, f" {acc[n]:.3f}", va="center", fontsize=8)
axes[0].set_xlim(0, 1.1)
axes[0].set_title("linear-probe test accuracy", fontsize=9)
axes[0].invert_yaxis()
axes[1].barh(names, [rank[n] for n in names], color=colors)
for i, n in enumerate(names):
  axes[1].text(rank[n], i, f" {rank[n]:.1f}", va="center", fontsize=8)
axes[1].set_title("effective rank of the representation (max 64)", fontsize=9)
axes[1].invert_yaxis()
fig.tight_layout()
plt.show()
for n in names:
  print(f"{n:18s} probe accuracy {acc[n]:.3f}   effective rank {rank[n]:5.1f}")

# %% [markdown]
# ## What the numbers say — checked
# On digits, 64 standardised pixels are already nearly linearly separable: the probe on raw
# pixels (about 0.96) and on the *untrained* encoder's random features (about 0.95) are a high
# bar, and the self-supervised encoders land at the same level (0.94–0.96 over seeds), not
# above it. What the run does show is that each loss learns from views alone a representation
# that keeps the class information (far above the 0.1 of chance) without collapsing: its
# effective rank stays near 40 of 64 dimensions, where a collapsed encoder would have about
# 1. (On richer images, where raw pixels are a poor representation, the gap to the untrained
# encoder is what these losses are for.) The asserted thresholds hold over seeds 0–4 in both
# modes; the ranges are in the cell.

# %%
ASSERTED = {
    "ssl_min_probe": round(min(acc[n] for n in ("VICReg", "Barlow Twins", "DINO")), 3),
    "ssl_min_rank": round(min(rank[n] for n in ("VICReg", "Barlow Twins", "DINO")), 1),
}
print("ASSERTED:", ASSERTED)
# Measured over seeds 0-4 (jax 0.10.2, flax 0.12.8, CPU; full / fast mode): worst probe
# accuracy 0.947 / 0.936, worst effective rank 36.6 / 40.0.
assert ASSERTED["ssl_min_probe"] > 0.85, ASSERTED
assert ASSERTED["ssl_min_rank"] > 20.0, ASSERTED
print(f"all checks passed in {time.perf_counter() - T0:.1f} s ({time.process_time():.0f} s CPU in this kernel)")
