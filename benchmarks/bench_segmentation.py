"""Segmentation losses vs optax and pixel-wise cross-entropy, value_and_grad, one run.

    python -m benchmarks.bench_segmentation [--shape 8 256 256 21] [--small] [--repeats 5]

Times jitted forward and ``value_and_grad`` (w.r.t. the logits) of
``jaxloss.dice_loss``, ``jaxloss.dice_ce_loss`` and ``jaxloss.lovasz_softmax_loss``
beside ``optax.losses.dice_loss``, ``optax.losses.multiclass_generalized_dice_loss``
and the pixel-wise cross-entropy (``jaxloss.cross_entropy`` and
``optax.losses.softmax_cross_entropy_with_integer_labels``) on the same batch,
and reports each time as a ratio to the pixel-wise cross-entropy and to
optax's Dice. ``--small`` uses 2x64x64x5 (a smoke run).
"""

import argparse

import jax
import jax.numpy as jnp
import optax

import jaxloss
from benchmarks._timing import markdown, time_fn, value_and_grad_fn, write_results


def cases(num_classes):
  def onehot(y):
    return jax.nn.one_hot(y, num_classes)

  return [
      ("optax softmax CE (pixel-wise)", lambda z, y: jnp.mean(
          optax.losses.softmax_cross_entropy_with_integer_labels(z, y))),
      ("jaxloss.cross_entropy", lambda z, y: jaxloss.cross_entropy(z, y)),
      ("optax.losses.dice_loss", lambda z, y: jnp.mean(
          optax.losses.dice_loss(z, onehot(y), axis=(1, 2)))),
      ("optax multiclass_generalized_dice_loss", lambda z, y: jnp.mean(
          optax.losses.multiclass_generalized_dice_loss(z, onehot(y)))),
      ("jaxloss.dice_loss", lambda z, y: jaxloss.dice_loss(z, y)),
      ("jaxloss.dice_ce_loss", lambda z, y: jaxloss.dice_ce_loss(z, y)),
      ("jaxloss.lovasz_softmax_loss", lambda z, y: jaxloss.lovasz_softmax_loss(z, y)),
  ]


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--shape", type=int, nargs=4, default=(8, 256, 256, 21),
                      help="B H W C")
  parser.add_argument("--small", action="store_true", help="use 2x64x64x5")
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  shape = (2, 64, 64, 5) if args.small else tuple(args.shape)
  k1, k2 = jax.random.split(jax.random.key(0))
  logits = jax.random.normal(k1, shape)
  # Imbalanced labels: class c with probability proportional to 1/(c+1).
  probs = 1.0 / jnp.arange(1, shape[-1] + 1)
  labels = jax.random.categorical(k2, jnp.log(probs / probs.sum()), shape=shape[:-1])

  rows, timings = [], {}
  for name, f in cases(shape[-1]):
    fwd = time_fn(f, logits, labels, repeats=args.repeats)
    vg = time_fn(value_and_grad_fn(f), logits, labels, repeats=args.repeats)
    timings[name] = vg
    rows.append({"loss": name, "shape": "x".join(map(str, shape)),
                 "fwd_ms": 1e3 * fwd["median_s"], "vg_ms": 1e3 * vg["median_s"],
                 "compile_s": vg["compile_s"], "vg_temp_MB": (vg["temp_bytes"] or 0) / 2**20})
    print(f"{name}: value_and_grad {1e3 * vg['median_s']:.1f} ms", flush=True)
  ce = timings["optax softmax CE (pixel-wise)"]["median_s"]
  dice = timings["optax.losses.dice_loss"]["median_s"]
  for row in rows:
    t = timings[row["loss"]]["median_s"]
    row["vg_vs_pixel_CE"] = t / ce
    row["vg_vs_optax_dice"] = t / dice
  print(markdown(rows, ["loss", "shape", "fwd_ms", "vg_ms", "vg_vs_pixel_CE", "vg_vs_optax_dice",
                        "compile_s", "vg_temp_MB"]))
  print("wrote", write_results("segmentation", rows))


if __name__ == "__main__":
  main()
