"""Segmentation losses vs optax and pixel-wise cross-entropy, value_and_grad, one run.

    python -m benchmarks.bench_segmentation [--shape 8 256 256 21] [--small] [--repeats 5]

Times jitted forward and ``value_and_grad`` (w.r.t. the logits) of
``jaxloss.dice_loss``, ``jaxloss.dice_ce_loss`` and ``jaxloss.lovasz_softmax_loss``
beside ``optax.losses.dice_loss``, ``optax.losses.multiclass_generalized_dice_loss``
and the pixel-wise cross-entropy (``jaxloss.cross_entropy`` and
``optax.losses.softmax_cross_entropy_with_integer_labels``) on the same batch,
and reports each time as a ratio to the pixel-wise cross-entropy and to
optax's Dice. ``--small`` uses 2x64x64x5 (a smoke run).

``--lovasz`` instead times, interleaved in one run (``--repeats`` rounds, at
least 20), the pixel-wise cross-entropy, ``jaxloss.lovasz_softmax_loss``
and the previous formulation (a stable argsort and three gathers per class,
kept as ``lovasz._lovasz_flat``, the float64 path) and prints their ratios.
"""

import argparse

import jax
import jax.numpy as jnp
import optax

import jaxloss
from benchmarks._timing import (
  markdown,
  time_fn,
  time_interleaved,
  value_and_grad_fn,
  write_results,
)
from jaxloss.segmentation import lovasz


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


def lovasz_argsort(logits, labels):
  """The previous lovasz_softmax_loss (classes="present", per_image=False): per class an
  argsort of the errors and three gathers (``lovasz._lovasz_flat``)."""
  k = logits.shape[-1]
  probs = jax.nn.softmax(logits, axis=-1).reshape(-1, k)
  fg = (labels.reshape(-1, 1) == jnp.arange(k)).astype(probs.dtype)
  errors = jnp.abs(fg - probs)
  valid = jnp.ones(errors.shape[:1], bool)
  per_class = jax.vmap(lovasz._lovasz_flat, in_axes=(1, 1, None))(errors, fg, valid)
  use = jnp.any(fg > 0, axis=0).astype(probs.dtype)
  return jnp.sum(per_class * use) / jnp.sum(use)


def main_lovasz(logits, labels, repeats):
  cases = [
      ("optax softmax CE (pixel-wise)", lambda z, y: jnp.mean(
          optax.losses.softmax_cross_entropy_with_integer_labels(z, y))),
      ("jaxloss.lovasz_softmax_loss (packed-key sort)",
       lambda z, y: jaxloss.lovasz_softmax_loss(z, y)),
      ("previous: argsort + gathers per class", lovasz_argsort),
  ]
  res = time_interleaved([(value_and_grad_fn(f), (logits, labels)) for _, f in cases],
                         min_repeats=max(repeats, 20), max_repeats=max(repeats, 20))
  (v0, g0), (v1, g1) = value_and_grad_fn(cases[1][1])(logits, labels), \
      value_and_grad_fn(lovasz_argsort)(logits, labels)
  ce = res[0]["median_s"]
  rows = [{"loss": name, "shape": "x".join(map(str, logits.shape)),
           "vg_ms": 1e3 * r["median_s"], "vg_vs_pixel_CE": r["median_s"] / ce,
           "repeats": r["repeats"], "vg_temp_MB": (r["temp_bytes"] or 0) / 2**20}
          for (name, _), r in zip(cases, res, strict=True)]
  rows[1]["speedup_vs_previous"] = res[2]["median_s"] / res[1]["median_s"]
  rows[1]["value_diff"] = float(abs(v1 - v0))
  rows[1]["grad_max_diff"] = float(jnp.max(jnp.abs(g1 - g0)))
  print(markdown(rows, ["loss", "shape", "vg_ms", "vg_vs_pixel_CE", "speedup_vs_previous",
                        "repeats", "vg_temp_MB", "value_diff", "grad_max_diff"]))
  print("wrote", write_results("segmentation-lovasz", rows))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--shape", type=int, nargs=4, default=(8, 256, 256, 21),
                      help="B H W C")
  parser.add_argument("--small", action="store_true", help="use 2x64x64x5")
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--lovasz", action="store_true",
                      help="Lovász-softmax: new vs previous vs pixel-wise CE, interleaved")
  args = parser.parse_args()
  shape = (2, 64, 64, 5) if args.small else tuple(args.shape)
  k1, k2 = jax.random.split(jax.random.key(0))
  logits = jax.random.normal(k1, shape)
  # Imbalanced labels: class c with probability proportional to 1/(c+1).
  probs = 1.0 / jnp.arange(1, shape[-1] + 1)
  labels = jax.random.categorical(k2, jnp.log(probs / probs.sum()), shape=shape[:-1])
  if args.lovasz:
    main_lovasz(logits, labels, args.repeats)
    return

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
