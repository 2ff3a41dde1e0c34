"""The simulation experiment of the DIoU paper, test-sized (Zheng et al., AAAI 2020).

    python -m benchmarks.diou_simulation [--points 10] [--iters 200] [--lr 0.1]

Seven unit-area target boxes with aspect ratios 1:4 ... 4:1 sit at (10, 10).
Anchor boxes of 7 scales x 7 aspect ratios are placed at ``points`` positions
spread uniformly over the disc of radius 3 around (10, 10) (a sunflower
lattice instead of the paper's 5000 random points), and every anchor is
regressed toward every target by gradient descent on its loss, as the paper's
Algorithm 1:

    B_t = B_{t-1} - lr * (2 - IoU_{t-1}) * dL/dB_{t-1},   B = (cx, cy, w, h)

for ``iters`` iterations. The table gives the total final error summed over
all regression cases: the paper's L1 error of ``(cx, cy, w, h)`` and the sum
of ``1 - IoU``. The paper's ordering is IoU > GIoU > DIoU > CIoU (IoU loss
cannot move non-overlapping anchors; DIoU and CIoU converge fastest).

The whole run is one jitted function: the per-case gradient is a ``vmap`` of
``grad`` and the iterations are a ``lax.scan``. The paper uses 5000 points
(1,715,000 cases); the default 10 points gives 3,430 cases.
"""

from __future__ import annotations

import argparse
import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from jaxloss import boxes as bx

SCALES = (0.5, 0.67, 0.75, 1.0, 1.33, 1.5, 2.0)
RATIOS = (1 / 4, 1 / 3, 1 / 2, 1.0, 2.0, 3.0, 4.0)  # width / height
CENTER = 10.0
RADIUS = 3.0


def _wh(area, ratio):
  h = math.sqrt(area / ratio)
  return ratio * h, h


def make_cases(points: int):
  """(anchors, targets) in cxcywh, shape (points * 49 * 7, 4) each."""
  # Sunflower lattice: uniform density on the disc, deterministic.
  k = np.arange(points) + 0.5
  r = RADIUS * np.sqrt(k / points)
  th = k * math.pi * (3 - math.sqrt(5))
  centres = np.stack([CENTER + r * np.cos(th), CENTER + r * np.sin(th)], -1)
  anchor_wh = np.array([_wh(s, a) for s in SCALES for a in RATIOS])
  target_wh = np.array([_wh(1.0, a) for a in RATIOS])
  anchors, targets = [], []
  for c in centres:
    for wh in anchor_wh:
      for twh in target_wh:
        anchors.append([c[0], c[1], wh[0], wh[1]])
        targets.append([CENTER, CENTER, twh[0], twh[1]])
  return np.asarray(anchors, np.float32), np.asarray(targets, np.float32)


LOSSES = {
    "IoU": lambda a, b: jaxloss.iou_loss(a, b, reduction="none"),
    "GIoU": lambda a, b: jaxloss.giou_loss(a, b, reduction="none"),
    "DIoU": lambda a, b: jaxloss.diou_loss(a, b, reduction="none"),
    "CIoU": lambda a, b: jaxloss.ciou_loss(a, b, reduction="none"),
}


def simulate(loss_name: str, anchors, targets, *, iters=200, lr=0.1):
  """Runs Algorithm 1 for one loss; returns (L1 error, sum of 1 - IoU) at the end."""
  loss = LOSSES[loss_name]
  gt_xyxy = bx.cxcywh_to_xyxy(targets)

  def case_loss(b, g):
    return loss(bx.cxcywh_to_xyxy(b), g)

  case_grad = jax.vmap(jax.grad(case_loss))

  @jax.jit
  def run(b0):
    def step(b, _):
      iou = bx.elementwise_iou(bx.cxcywh_to_xyxy(b), gt_xyxy)
      b = b - lr * (2.0 - iou)[:, None] * case_grad(b, gt_xyxy)
      return b, None

    b, _ = jax.lax.scan(step, b0, None, length=iters)
    l1 = jnp.sum(jnp.abs(b - targets))
    miou = jnp.sum(1.0 - bx.elementwise_iou(bx.cxcywh_to_xyxy(b), gt_xyxy))
    return l1, miou

  l1, miou = run(jnp.asarray(anchors))
  return float(l1), float(miou)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--points", type=int, default=10)
  p.add_argument("--iters", type=int, default=200)
  p.add_argument("--lr", type=float, default=0.1)
  args = p.parse_args(argv)
  anchors, targets = make_cases(args.points)
  rows = []
  initial = float(np.abs(anchors - targets).sum())
  for name in LOSSES:
    l1, miou = simulate(name, anchors, targets, iters=args.iters, lr=args.lr)
    rows.append({"loss": name, "cases": len(anchors), "iters": args.iters,
                 "total L1 error": l1, "total 1 - IoU": miou})
  print(f"{len(anchors)} regression cases, {args.iters} iterations, lr {args.lr}; "
        f"initial total L1 error {initial:.4g}\n")
  print("| loss | total final L1 error | total final 1 - IoU |")
  print("|---|---|---|")
  for r in rows:
    print(f"| {r['loss']} | {r['total L1 error']:.4g} | {r['total 1 - IoU']:.4g} |")
  try:
    from benchmarks._timing import write_results
    path = write_results("diou_simulation", rows)
    print(f"\nwrote {path}")
  except ImportError:  # run as a plain script
    pass
  return rows


if __name__ == "__main__":
  main()
