"""jaxloss beside the PyTorch implementations users would otherwise call, in one run.

    python -m benchmarks --peers [--quick] [--threads 2] [--out DIR]

Needs PyTorch and the peer libraries, which are never runtime dependencies of
jaxloss. On the project's 2-core CPU machines the CPU build of torch is the
one to install (a plain ``pip install torch`` may fetch a multi-GB CUDA build)::

    python3 -m venv .venv-peers
    .venv-peers/bin/pip install torch==2.13.0 monai kornia pytorch-msssim \\
        pytorch-metric-learning tslearn -e .

For every row the same inputs (NumPy-generated, converted to each framework's
layout: channel-first for torch) are timed, interleaved round-robin so a busy
phase of a shared machine hits both sides alike:

* **forward** and **forward + backward** (the gradient w.r.t. the predictions):
  median wall time over many calls, torch eager (as users call it) against the
  ``jax.jit``-compiled jaxloss function with ``block_until_ready``;
* jaxloss' **compile time**, reported separately (paid once per shape).

The ratio column is ``jaxloss / torch`` (< 1: jaxloss is faster). torchvision
is used where it is installed; where it cannot be installed beside the torch
build, its two rows (``sigmoid_focal_loss``, ``complete_box_iou_loss``) run
torchvision's own formulas restated line by line in torch ops (torchvision's
functions are plain torch ops, so the cost is the same); the row says which.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import pathlib
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from benchmarks._timing import cpu_model

PEER_PACKAGES = ("torch", "monai", "kornia", "pytorch-msssim", "pytorch-metric-learning",
                 "tslearn")


def _need_torch():
  try:
    import torch  # noqa: F401
  except ImportError as e:
    raise SystemExit(
        "python -m benchmarks --peers needs PyTorch and the peer libraries (never a jaxloss "
        "dependency). Install the CPU build in a separate venv:\n"
        "  python3 -m venv .venv-peers && .venv-peers/bin/pip install torch==2.13.0 monai "
        "kornia pytorch-msssim pytorch-metric-learning tslearn -e .\n"
        "  .venv-peers/bin/python -m benchmarks --peers") from e


# --------------------------------------------------------------------------
# torchvision's two functions: torchvision itself where it is installed, else
# restated in torch ops (see the module docstring).
# --------------------------------------------------------------------------

try:
  import torchvision.ops as _TORCHVISION
except Exception:  # noqa: BLE001 - not installable beside some torch builds
  _TORCHVISION = None


def _tv_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
  import torch.nn.functional as F
  p = inputs.sigmoid()
  ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
  p_t = p * targets + (1 - p) * (1 - targets)
  loss = ce * ((1 - p_t) ** gamma)
  alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
  return (alpha_t * loss).mean()


def _tv_complete_box_iou_loss(b1, b2, eps=1e-7):
  import torch
  x1, y1, x2, y2 = b1.unbind(-1)
  x1g, y1g, x2g, y2g = b2.unbind(-1)
  xki, yki = torch.max(x1, x1g), torch.max(y1, y1g)
  xkj, ykj = torch.min(x2, x2g), torch.min(y2, y2g)
  inter = torch.zeros_like(x1)
  mask = (ykj > yki) & (xkj > xki)
  inter[mask] = (xkj[mask] - xki[mask]) * (ykj[mask] - yki[mask])
  union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
  iou = inter / (union + eps)
  xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
  xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
  diag = ((xc2 - xc1) ** 2) + ((yc2 - yc1) ** 2) + eps
  xp, yp = (x2 + x1) / 2, (y2 + y1) / 2
  xg, yg = (x1g + x2g) / 2, (y1g + y2g) / 2
  dist = ((xp - xg) ** 2) + ((yp - yg) ** 2)
  diou = 1 - iou + dist / diag
  w_pred, h_pred = x2 - x1, y2 - y1
  w_gt, h_gt = x2g - x1g, y2g - y1g
  v = (4 / (torch.pi ** 2)) * torch.pow(torch.atan(w_gt / h_gt) - torch.atan(w_pred / h_pred), 2)
  with torch.no_grad():
    alpha = v / (1 - iou + v + eps)
  return (diou + alpha * v).mean()


# --------------------------------------------------------------------------
# The rows: (name, peer label, builder(rng, quick) -> (torch_fn, torch_args, jax_fn, jax_args)).
# Each fn maps its args to a scalar loss; the gradient is w.r.t. args[0].
# --------------------------------------------------------------------------


def _seg(rng, quick, c=8):
  b, h = (2, 64) if quick else (8, 128)
  logits = rng.normal(size=(b, h, h, c)).astype(np.float32)
  labels = rng.integers(0, c, size=(b, h, h)).astype(np.int32)
  return logits, labels


def _rows():
  import torch
  import torch.nn.functional as F

  t = torch.from_numpy

  def ce(rng, quick):
    n, c = (4096, 100) if quick else (65536, 100)
    x = rng.normal(size=(n, c)).astype(np.float32)
    y = rng.integers(0, c, size=(n,)).astype(np.int64)
    return (lambda a, b: F.cross_entropy(a, b), (t(x), t(y)),
            lambda a, b: jaxloss.cross_entropy(a, b), (x, y.astype(np.int32)))

  def bce(rng, quick):
    n = 2 ** 16 if quick else 2 ** 21
    x = rng.normal(size=(n,)).astype(np.float32)
    y = (rng.random(n) < 0.3).astype(np.float32)
    return (lambda a, b: F.binary_cross_entropy_with_logits(a, b), (t(x), t(y)),
            lambda a, b: jaxloss.binary_cross_entropy(a, b), (x, y))

  def focal(rng, quick):
    n = 2 ** 16 if quick else 2 ** 21
    x = rng.normal(size=(n,)).astype(np.float32)
    y = (rng.random(n) < 0.3).astype(np.float32)
    fn = ((lambda a, b: _TORCHVISION.sigmoid_focal_loss(a, b, reduction="mean"))
          if _TORCHVISION else _tv_sigmoid_focal_loss)
    return (fn, (t(x), t(y)),
            lambda a, b: jaxloss.sigmoid_focal_loss(a, b), (x, y))

  def ciou(rng, quick):
    n = 4096 if quick else 2 ** 18
    xy = rng.random((n, 2)).astype(np.float32) * 100
    wh = rng.random((n, 2)).astype(np.float32) * 50 + 1
    b1 = np.concatenate([xy, xy + wh], -1)
    b2 = b1 + rng.normal(size=b1.shape).astype(np.float32) * 3
    b2[:, 2:] = np.maximum(b2[:, 2:], b2[:, :2] + 0.5)
    fn = ((lambda a, b: _TORCHVISION.complete_box_iou_loss(a, b, reduction="mean"))
          if _TORCHVISION else _tv_complete_box_iou_loss)
    return (fn, (t(b1), t(b2)),
            lambda a, b: jaxloss.ciou_loss(a, b), (b1, b2))

  def monai_seg(cls, jfn, **kw):
    def build(rng, quick):
      logits, labels = _seg(rng, quick)
      loss = cls(softmax=True, to_onehot_y=True, **kw)
      tl = t(np.ascontiguousarray(np.moveaxis(logits, -1, 1)))
      ty = t(labels[:, None].astype(np.int64))
      return (lambda a, b: loss(a, b), (tl, ty), jfn, (logits, labels))
    return build

  from monai.losses import DiceCELoss, DiceLoss, SSIMLoss, TverskyLoss

  def monai_ssim(rng, quick):
    b, h = (2, 64) if quick else (8, 128)
    x = rng.random((b, h, h, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(size=x.shape).astype(np.float32) * 0.1, 0, 1)
    loss = SSIMLoss(spatial_dims=2, data_range=1.0)
    return (lambda a, c: loss(a, c), (t(np.moveaxis(x, -1, 1).copy()), t(np.moveaxis(y, -1, 1).copy())),
            lambda a, c: jaxloss.ssim_loss(a, c, data_range=1.0), (x, y))

  def kornia_ssim(rng, quick):
    import kornia
    b, h = (2, 64) if quick else (8, 128)
    x = rng.random((b, h, h, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(size=x.shape).astype(np.float32) * 0.1, 0, 1)
    return (lambda a, c: kornia.losses.ssim_loss(a, c, window_size=11),
            (t(np.moveaxis(x, -1, 1).copy()), t(np.moveaxis(y, -1, 1).copy())),
            lambda a, c: jaxloss.ssim_loss(a, c, data_range=1.0, padding="same"), (x, y))

  def kornia_lovasz(rng, quick):
    import kornia
    logits, labels = _seg(rng, quick)
    return (lambda a, b: kornia.losses.lovasz_softmax_loss(a, b),
            (t(np.ascontiguousarray(np.moveaxis(logits, -1, 1))), t(labels.astype(np.int64))),
            lambda a, b: jaxloss.lovasz_softmax_loss(a, b), (logits, labels))

  def msssim(rng, quick):
    from pytorch_msssim import ms_ssim
    b, h = (1, 192) if quick else (4, 256)
    x = rng.random((b, h, h, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(size=x.shape).astype(np.float32) * 0.1, 0, 1)
    return (lambda a, c: 1 - ms_ssim(a, c, data_range=1.0),
            (t(np.moveaxis(x, -1, 1).copy()), t(np.moveaxis(y, -1, 1).copy())),
            lambda a, c: jaxloss.ms_ssim_loss(a, c, data_range=1.0), (x, y))

  def emb(rng, quick):
    n, d = (128, 64) if quick else (512, 128)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, n // 8, size=(n,)).astype(np.int64)
    return x, y

  def pml_triplet(rng, quick):
    from pytorch_metric_learning import losses, miners
    x, y = emb(rng, quick)
    loss, miner = losses.TripletMarginLoss(margin=0.05), miners.BatchHardMiner()
    return (lambda a, b: loss(a, b, miner(a, b)), (t(x), t(y)),
            lambda a, b: jaxloss.triplet_loss(a, b, mining="hard"), (x, y.astype(np.int32)))

  def pml_supcon(rng, quick):
    from pytorch_metric_learning import losses
    x, y = emb(rng, quick)
    loss = losses.SupConLoss(temperature=0.1)
    return (lambda a, b: loss(a, b), (t(x), t(y)),
            lambda a, b: jaxloss.supcon_loss(a, b), (x, y.astype(np.int32)))

  def pml_arcface(rng, quick):
    from pytorch_metric_learning import losses
    x, y = emb(rng, quick)
    c = 100 if quick else 1000
    y = rng.integers(0, c, size=(x.shape[0],)).astype(np.int64)
    loss = losses.ArcFaceLoss(num_classes=c, embedding_size=x.shape[1])
    w = loss.W.detach().numpy().T.copy()
    return (lambda a, b: loss(a, b), (t(x), t(y)),
            # PML takes the margin in degrees (28.6 by default) and stores it converted to
            # radians (loss.margin == 0.499), jaxloss's unit.
            lambda a, b, cen=jnp.asarray(w): jaxloss.arcface_loss(
                a, b, cen, margin=float(loss.margin)), (x, y.astype(np.int32)))

  def softdtw(rng, quick):
    from tslearn.metrics import SoftDTWLossPyTorch
    b, n = (4, 32) if quick else (32, 128)
    x = rng.normal(size=(b, n, 1)).astype(np.float32)
    y = rng.normal(size=(b, n, 1)).astype(np.float32)
    loss = SoftDTWLossPyTorch(gamma=1.0)
    return (lambda a, c: loss(a, c).mean(), (t(x), t(y)),
            lambda a, c: jaxloss.soft_dtw(a, c, gamma=1.0), (x, y))

  tv = "torchvision.ops.{} (" + ("installed)" if _TORCHVISION else "restated)")
  return [
      ("cross_entropy", "torch.nn.functional.cross_entropy", ce),
      ("binary_cross_entropy", "torch binary_cross_entropy_with_logits", bce),
      ("sigmoid_focal_loss", tv.format("sigmoid_focal_loss"), focal),
      ("ciou_loss", tv.format("complete_box_iou_loss"), ciou),
      ("dice_loss", "monai DiceLoss(softmax, to_onehot_y)",
       monai_seg(DiceLoss, lambda a, b: jaxloss.dice_loss(a, b))),
      ("dice_ce_loss", "monai DiceCELoss(softmax, to_onehot_y)",
       monai_seg(DiceCELoss, lambda a, b: jaxloss.dice_ce_loss(a, b))),
      ("tversky_loss", "monai TverskyLoss(softmax, to_onehot_y)",
       monai_seg(TverskyLoss, lambda a, b: jaxloss.tversky_loss(a, b))),
      ("ssim_loss", "monai SSIMLoss(spatial_dims=2)", monai_ssim),
      ("ssim_loss (same)", "kornia.losses.ssim_loss (its value is (1 - SSIM) / 2)", kornia_ssim),
      ("lovasz_softmax_loss", "kornia.losses.lovasz_softmax_loss", kornia_lovasz),
      ("ms_ssim_loss", "pytorch_msssim.ms_ssim", msssim),
      ("triplet_loss (hard)", "PML TripletMarginLoss + BatchHardMiner", pml_triplet),
      ("supcon_loss", "PML SupConLoss", pml_supcon),
      ("arcface_loss", "PML ArcFaceLoss", pml_arcface),
      ("soft_dtw", "tslearn SoftDTWLossPyTorch", softdtw),
  ]


def _time_pair(torch_call, jax_call, budget_s, min_repeats=5, max_repeats=40):
  """Medians of two zero-argument callables, interleaved round-robin."""
  torch_call(), jax_call()   # warm-up
  tt, tj = [], []
  start = time.perf_counter()
  while len(tt) < max_repeats and (len(tt) < min_repeats or time.perf_counter() - start < budget_s):
    s = time.perf_counter()
    torch_call()
    tt.append(time.perf_counter() - s)
    s = time.perf_counter()
    jax_call()
    tj.append(time.perf_counter() - s)
  return statistics.median(tt), statistics.median(tj)


def run(quick=False, threads=2, budget_s=2.0, only=None):
  _need_torch()
  import torch
  torch.set_num_threads(threads)
  rng = np.random.default_rng(0)
  results = []
  for name, peer, build in _rows():
    if only and name.split()[0] not in only:
      continue
    try:
      tfn, targs, jfn, jargs = build(rng, quick)
    except Exception as e:  # noqa: BLE001 - a peer missing or failing is reported, not fatal
      results.append({"loss": name, "peer": peer, "error": f"{type(e).__name__}: {e}"[:120]})
      continue
    jargs = tuple(jnp.asarray(a) for a in jargs)
    jfwd = jax.jit(jfn)
    jvg = jax.jit(jax.value_and_grad(jfn))
    t0 = time.perf_counter()
    jax.block_until_ready(jvg(*jargs))
    jax.block_until_ready(jfwd(*jargs))
    compile_s = time.perf_counter() - t0
    x0 = targs[0].clone().requires_grad_(True)

    def t_fwd(tfn=tfn, targs=targs):
      with torch.no_grad():
        tfn(*targs)

    def t_vg(tfn=tfn, targs=targs, x0=x0):
      x0.grad = None
      tfn(x0, *targs[1:]).backward()

    fwd = _time_pair(t_fwd, lambda f=jfwd, a=jargs: jax.block_until_ready(f(*a)), budget_s)
    vg = _time_pair(t_vg, lambda f=jvg, a=jargs: jax.block_until_ready(f(*a)), budget_s)
    with torch.no_grad():
      tv = float(tfn(*targs))
    jv = float(jfwd(*jargs))
    results.append({"loss": name, "peer": peer, "torch_fwd_ms": fwd[0] * 1e3,
                    "jax_fwd_ms": fwd[1] * 1e3, "torch_vg_ms": vg[0] * 1e3,
                    "jax_vg_ms": vg[1] * 1e3, "fwd_ratio": fwd[1] / fwd[0],
                    "vg_ratio": vg[1] / vg[0], "compile_s": compile_s,
                    "torch_value": tv, "jax_value": jv})
    print(_row(results[-1]), flush=True)
  return results


def _row(r):
  if "error" in r:
    return f"| `{r['loss']}` | {r['peer']} | — | — | — | not run: {r['error']} |"
  return (f"| `{r['loss']}` | {r['peer']} | {r['torch_fwd_ms']:.2f} / {r['jax_fwd_ms']:.2f} "
          f"(**{r['fwd_ratio']:.2f}×**) | {r['torch_vg_ms']:.2f} / {r['jax_vg_ms']:.2f} "
          f"(**{r['vg_ratio']:.2f}×**) | {r['compile_s']:.2f} | "
          f"{r['torch_value']:.5g} / {r['jax_value']:.5g} |")


def versions() -> str:
  vs = [f"jax {jax.__version__}", f"jaxloss {md.version('jaxloss')}"]
  for p in PEER_PACKAGES:
    try:
      vs.append(f"{p} {md.version(p)}")
    except md.PackageNotFoundError:
      vs.append(f"{p} (absent)")
  return ", ".join(vs)


def markdown(results, threads) -> str:
  head = [f"Machine: {cpu_model()} ({platform.machine()}), torch threads {threads}; {versions()}.",
          "",
          "| jaxloss | peer | forward ms torch / jaxloss (ratio) | forward+backward ms "
          "torch / jaxloss (ratio) | jaxloss compile s | value torch / jaxloss |",
          "|---|---|---|---|---|---|"]
  return "\n".join(head + [_row(r) for r in results])


def main(argv=None):
  ap = argparse.ArgumentParser(prog="python -m benchmarks --peers")
  ap.add_argument("--peers", action="store_true")
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--threads", type=int, default=2)
  ap.add_argument("--budget", type=float, default=2.0)
  ap.add_argument("--losses", default="")
  ap.add_argument("--out", default="")
  args = ap.parse_args(argv)
  only = {s for s in args.losses.split(",") if s}
  results = run(quick=args.quick, threads=args.threads, budget_s=args.budget, only=only)
  text = markdown(results, args.threads)
  print(text)
  if args.out:
    pathlib.Path(args.out).write_text(text + "\n")
  return results
