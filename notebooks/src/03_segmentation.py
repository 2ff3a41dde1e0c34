# %% [markdown]
# # Segmentation of small, rare objects: CE vs Dice, Jaccard, Tversky and Lovász
#
# In medical and remote-sensing images the object you care about often covers under 1% of the
# pixels. Pixel-wise cross-entropy is dominated by the background; region losses (Dice, Jaccard,
# Tversky) and the Lovász extension of IoU score each *class* as a whole. This notebook trains
# the same small network with each loss on `jaxloss.data.segmentation_shapes` — rectangles,
# disks and tiny 2-3 pixel "dots" (the rare class, ~1% of the pixels) in heavy noise — and
# compares per-class IoU, predicted masks, and where the errors are (boundary vs interior).

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

plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72, "figure.figsize": (9, 3)})
T0 = time.perf_counter()
SEED = int(os.environ.get("JAXLOSS_NB_SEED", 0))  # scripts/notebook_seeds.py reruns this notebook with seeds 0-4
FAST = os.environ.get("JAXLOSS_NB_FAST") == "1"   # set by tests/test_notebooks.py: smaller sizes, fewer steps

split = jaxloss.data.segmentation_shapes(seed=SEED, n_train=256, n_test=64, size=24)
names = split.info["class_names"]
xtr, ytr, xte, yte = map(jnp.asarray, (split.x_train, split.y_train, split.x_test, split.y_test))
print("classes:", names, "| training pixel frequency:", split.info["class_frequency"])

# %% [markdown]
# ## Model and training
# A four-layer dilated fully-convolutional net (receptive field 15 px, no downsampling, so 2-pixel
# dots survive); 200 Adam steps on batches of 16, one jitted step per loss. Region losses use
# their defaults (softmax, background included, per-image, MONAI's smoothing); Tversky uses
# α = 0.3, β = 0.7 (penalise missed pixels more than false alarms).

# %%
class FCN(nnx.Module):
  def __init__(self, width=16, classes=4, *, rngs):
    self.c1 = nnx.Conv(1, width, (3, 3), rngs=rngs)
    self.c2 = nnx.Conv(width, width, (3, 3), kernel_dilation=(2, 2), rngs=rngs)
    self.c3 = nnx.Conv(width, width, (3, 3), kernel_dilation=(4, 4), rngs=rngs)
    self.head = nnx.Conv(width, classes, (1, 1), rngs=rngs)

  def __call__(self, x):
    return self.head(nnx.relu(self.c3(nnx.relu(self.c2(nnx.relu(self.c1(x)))))))

def train(loss, steps=120 if FAST else 200, bs=16, seed=SEED, lr=3e-3):
  graphdef, params = nnx.split(FCN(rngs=nnx.Rngs(seed)))
  opt = optax.adam(lr)
  state = opt.init(params)

  @jax.jit
  def step(params, state, xb, yb):
    g = jax.grad(lambda p: loss(nnx.merge(graphdef, p)(xb), yb))(params)
    u, state = opt.update(g, state, params)
    return optax.apply_updates(params, u), state

  nb = len(xtr) // bs
  for i in range(steps):
    j = (i % nb) * bs
    params, state = step(params, state, xtr[j:j + bs], ytr[j:j + bs])
  return nnx.merge(graphdef, params)

def per_class_iou(pred, y):
  return np.array([((pred == c) & (y == c)).sum() / max(1, ((pred == c) | (y == c)).sum()) for c in range(4)])

losses = {
    "CE": jaxloss.cross_entropy,
    "Dice": jaxloss.dice_loss,
    "Jaccard": jaxloss.jaccard_loss,
    "Tversky (0.3/0.7)": lambda l, y: jaxloss.tversky_loss(l, y, alpha=0.3, beta=0.7),
    "Lovász-softmax": jaxloss.lovasz_softmax_loss,
}
logits, iou = {}, {}
for name, fn in losses.items():
  t = time.perf_counter()
  logits[name] = train(fn)(xte)
  iou[name] = per_class_iou(np.asarray(jnp.argmax(logits[name], -1)), np.asarray(yte))
  print(f"{name:18s} IoU per class {np.round(iou[name], 3)}  mIoU {iou[name].mean():.3f}  ({time.perf_counter() - t:.1f} s)")

# %% [markdown]
# **Per-class test IoU.** Every loss finds the background; the differences are on the objects,
# and largest on the rare dots, where cross-entropy gives up many pixels and Lovász — a direct
# surrogate of per-class IoU — does best. Soft Jaccard (and at some seeds Dice) trained from
# scratch can collapse to the all-background solution (its gradient is weakest exactly there); in
# practice it is combined with CE or started from a CE-trained model.

# %%
fig, ax = plt.subplots(figsize=(9, 3))
for i, (name, v) in enumerate(iou.items()):
  ax.bar(np.arange(4) + (i - 2) * 0.16, v, width=0.16, label=name)
ax.set(xticks=range(4), xticklabels=names, ylabel="test IoU", title="per-class IoU by training loss")
ax.legend(fontsize=8, ncol=5, loc="upper right"); plt.show()

# %% [markdown]
# **Predicted masks.** Three test images (noisy input, ground truth, then the arg-max prediction of
# each model; dots in yellow). CE blurs or drops the dots that Lovász keeps.

# %%
show = [0, 3, 5]
cols = ["image", "truth", "CE", "Dice", "Tversky (0.3/0.7)", "Lovász-softmax"]
fig, axes = plt.subplots(len(show), len(cols), figsize=(9, 4.7))
for r, i in enumerate(show):
  for c, col in enumerate(cols):
    a = axes[r, c]
    if col == "image":
      a.imshow(np.asarray(xte[i, ..., 0]), cmap="gray")
    else:
      m = yte[i] if col == "truth" else jnp.argmax(logits[col][i], -1)
      a.imshow(np.asarray(m), cmap="viridis", vmin=0, vmax=3, interpolation="nearest")
    a.set_xticks([]); a.set_yticks([])
    if r == 0:
      a.set_title(col.split(" (")[0], fontsize=9)
plt.tight_layout(); plt.show()

# %% [markdown]
# ## Where are the errors? The boundary-vs-interior breakdown
# `jaxloss.boundary_aware_loss` splits the per-pixel cross-entropy of a prediction into a band of
# width 1 around label changes and the interior, and reports it per true class. Evaluated on
# each model's test logits, it shows that most of the remaining error sits on object boundaries,
# and (right) on which class.

# %%
parts = {name: jaxloss.boundary_aware_loss(lg, yte, return_components=True)[1] for name, lg in logits.items() if name != "Jaccard"}
fig, (a1, a2) = plt.subplots(1, 2)
ks = list(parts)
a1.bar(np.arange(len(ks)) - 0.2, [float(parts[k]["interior"]) for k in ks], 0.4, label="interior")
a1.bar(np.arange(len(ks)) + 0.2, [float(parts[k]["boundary"]) for k in ks], 0.4, label="boundary band")
a1.set(xticks=range(len(ks)), ylabel="mean pixel CE", title="boundary vs interior")
a1.set_xticklabels([k.split(" (")[0] for k in ks], fontsize=8); a1.legend(fontsize=8)
for k in ks:
  a2.plot(names, np.asarray(parts[k]["per_class"]), "o-", label=k.split(" (")[0])
a2.set(ylabel="mean pixel CE", title="by true class"); a2.legend(fontsize=7)
plt.tight_layout(); plt.show()
for k in ks:
  print(f"{k:18s} interior {float(parts[k]['interior']):.3f}  boundary {float(parts[k]['boundary']):.3f}")

# %% [markdown]
# ## Checks
# On the rare class (dots), Lovász's IoU beats CE's by more than 0.15; for the CE model, the
# boundary band's mean cross-entropy is more than 3x the interior's. Dice's advantage over CE on
# the dots is *not* asserted: over seeds 0-4 it ranged from -0.15 to +0.30 (full size) — Dice
# trained from scratch sometimes drops the rare class as well.

# %%
rare = split.info["rare_class"]
print(f"rare-class IoU: CE {iou['CE'][rare]:.3f}, Dice {iou['Dice'][rare]:.3f}, Lovász {iou['Lovász-softmax'][rare]:.3f}")
print("ASSERTED:", {"rare IoU Lovász - CE": round(iou["Lovász-softmax"][rare] - iou["CE"][rare], 4),
                    "rare IoU Dice - CE": round(iou["Dice"][rare] - iou["CE"][rare], 4),
                    "CE boundary / interior": round(float(parts["CE"]["boundary"]) / float(parts["CE"]["interior"]), 4)})
# trained outcomes: each held at seeds 0-4 on jax 0.10.2 (full size / fast mode), worst seed noted
assert iou["Lovász-softmax"][rare] > iou["CE"][rare] + 0.15  # worst gain: 0.29 full (0.29-0.57), 0.40 fast (0.40-0.49)
assert float(parts["CE"]["boundary"]) > 3 * float(parts["CE"]["interior"])  # worst ratio: 8.6 full (8.6-12.2), 6.8 fast (6.8-10.3)
print(f"all checks passed in {time.perf_counter() - T0:.1f} s ({time.process_time():.0f} s CPU in this kernel)")
