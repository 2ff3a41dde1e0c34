# %% [markdown]
# # Metric learning on digits: contrastive, triplet (hard mining), SupCon and ArcFace
#
# Face verification, image retrieval and re-identification all need an embedding in which
# *classes never seen in training* form tight, separate clusters. This notebook trains the same
# small embedding network on digits 0–5 with four losses and evaluates on the held-out digits
# 6–9: Recall@1 (is an image's nearest neighbour of the same class?) and a 2-D view of the
# embeddings — and, for contrast, Recall@1 on held-out images of the *seen* digits 0–5.

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

split = jaxloss.data.digits_heldout_classes(seed=SEED, train_classes=(0, 1, 2, 3, 4, 5))
n_seen = len(split.y_train) // 4          # a quarter of the seen-class images is held out too
xtr, ytr = jnp.asarray(split.x_train[n_seen:]), jnp.asarray(split.y_train[n_seen:])
xse, yse = jnp.asarray(split.x_train[:n_seen]), jnp.asarray(split.y_train[:n_seen])
xte, yte = jnp.asarray(split.x_test), jnp.asarray(split.y_test)
print(f"held-out images of seen digits: {len(yse)}")
print(f"train: {len(ytr)} images of digits {sorted(set(np.asarray(ytr).tolist()))}; "
      f"test: {len(yte)} images of unseen digits {sorted(set(np.asarray(yte).tolist()))}")

# %% [markdown]
# ## Training
# `jaxloss.models.EmbeddingNet` (MLP, 32-d unit-norm output, plus one learnable proxy per class
# for ArcFace). Mini-batches of 128, 200 Adam steps, one jitted step per loss.
# Contrastive loss sees pairs (each image with a random partner of the batch, label 1 if the
# classes match); triplet loss mines the hardest positive and negative of every anchor in the
# batch; SupCon treats all same-class images of the batch as positives; ArcFace is a classifier
# with an angular margin against the class proxies.

# %%
def recall_at_1(emb, y):
  sim = emb @ emb.T - 2.0 * jnp.eye(len(y))      # exclude the image itself
  return float(jnp.mean(y[jnp.argmax(sim, -1)] == y))

def objective(name, model, x, y, key):
  e = model(x)
  if name == "contrastive":
    perm = jax.random.permutation(key, len(y))
    return jaxloss.contrastive_loss(e, e[perm], (y == y[perm]).astype(jnp.float32), margin=1.0)
  if name == "triplet (hard)":
    return jaxloss.triplet_loss(e, y, mining="hard", margin=0.2)
  if name == "SupCon":
    return jaxloss.supcon_loss(e, y, temperature=0.1)
  return jaxloss.arcface_loss(e, y, model.proxies[...], margin=0.5, scale=16.0)

def train(name, steps=100 if FAST else 200, bs=128, seed=SEED):
  model = jaxloss.models.EmbeddingNet(64, dim=32, hidden=128, num_classes=6, rngs=nnx.Rngs(seed))
  graphdef, params = nnx.split(model)
  opt = optax.adam(1e-3)
  state = opt.init(params)

  @jax.jit
  def step(params, state, x, y, key):
    g = jax.grad(lambda p: objective(name, nnx.merge(graphdef, p), x, y, key))(params)
    u, state = opt.update(g, state, params)
    return optax.apply_updates(params, u), state

  rng, key = np.random.default_rng(seed), jax.random.key(seed)
  for i in range(steps):
    idx = rng.choice(len(ytr), bs, replace=False)
    params, state = step(params, state, xtr[idx], ytr[idx], jax.random.fold_in(key, i))
  return nnx.merge(graphdef, params)

untrained = jaxloss.models.EmbeddingNet(64, dim=32, hidden=128, rngs=nnx.Rngs(SEED))
raw = xte / jnp.linalg.norm(xte, axis=-1, keepdims=True)
raw_seen = xse / jnp.linalg.norm(xse, axis=-1, keepdims=True)
r1 = {"raw pixels (cosine)": recall_at_1(raw, yte), "untrained network": recall_at_1(untrained(xte), yte)}
r1_seen = {"raw pixels (cosine)": recall_at_1(raw_seen, yse), "untrained network": recall_at_1(untrained(xse), yse)}
emb = {}
for name in ("contrastive", "triplet (hard)", "SupCon", "ArcFace"):
  model = train(name)
  emb[name] = model(xte)
  r1[name], r1_seen[name] = recall_at_1(emb[name], yte), recall_at_1(model(xse), yse)
print(f"{'':20s} Recall@1: seen digits 0-5 (new images) | unseen digits 6-9")
for k in r1:
  print(f"{k:20s} {r1_seen[k]:.3f}                              | {r1[k]:.3f}")

# %% [markdown]
# **What the numbers say.** On new images of the *training* classes every loss lifts Recall@1
# well above the untrained network. On the *unseen* classes it does not: 1-nearest-neighbour on
# raw 8x8 pixels is already excellent on digits, and an embedding trained to separate 0–5
# discards some of what distinguishes 6–9 — none of the four losses beats a random network there.
# That is the generalisation gap metric-learning benchmarks measure with held-out classes; on
# real data it is closed with far more training classes, augmentation and pretrained features,
# not by the choice of loss alone.
#
# **Embeddings of the unseen digits**, projected to 2-D by PCA (coloured by class), with their
# Recall@1.

# %%
def pca2(e):
  e = np.asarray(e) - np.asarray(e).mean(0)
  return e @ np.linalg.svd(e, full_matrices=False)[2][:2].T

fig, axes = plt.subplots(1, 5, figsize=(12, 2.8))
for a, (name, e) in zip(axes, {"raw pixels": raw, **emb}.items()):
  z = pca2(e)
  for c in range(6, 10):
    m = np.asarray(yte) == c
    a.scatter(z[m, 0], z[m, 1], s=3, label=str(c))
  a.set_title(f"{name}\nR@1 {r1.get(name, r1.get('raw pixels (cosine)')):.3f}", fontsize=9); a.set_xticks([]); a.set_yticks([])
axes[0].legend(markerscale=4, fontsize=8, loc="best"); plt.tight_layout(); plt.show()

# %% [markdown]
# ## Checks
# On held-out images of the seen classes, every loss beats the untrained network's Recall@1 by more
# than 0.02 and reaches at least 0.94; on the unseen classes, none beats the untrained network by
# more than 0.02 (with `JAXLOSS_NB_FAST=1`, 100 training steps instead of 200).

# %%
print("ASSERTED:", {**{f"seen R@1 {k}": round(v, 4) for k, v in r1_seen.items()}, **{f"unseen R@1 {k} - untrained": round(r1[k] - r1["untrained network"], 4) for k in emb}})
# each bound held for every loss at seeds 0-4 on jax 0.10.2 (full size / fast mode), worst seed noted
for name in emb:
  # worst gain over the untrained network: 0.048 full, 0.045 fast; worst Recall@1: 0.970 full, 0.963 fast
  assert r1_seen[name] > r1_seen["untrained network"] + 0.02 and r1_seen[name] >= 0.94, (name, r1_seen)
  # worst (largest) difference: +0.010 full, +0.007 fast
  assert r1[name] < r1["untrained network"] + 0.02, (name, r1)
print(f"all checks passed in {time.perf_counter() - T0:.1f} s ({time.process_time():.0f} s CPU in this kernel)")
