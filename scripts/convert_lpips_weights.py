"""Converts the official LPIPS weights to the ``.npz`` read by ``jaxloss.lpips_params``.

Needs ``torch`` (and, for the default location of the linear heads, the
``lpips`` pip package); neither is a jaxloss dependency. Nothing is
downloaded: the script only reads files you already have.

* Linear heads: ``lpips/weights/v0.1/{alex,vgg}.pth``, shipped inside the
  ``lpips`` package (``pip install lpips``) and in
  https://github.com/richzhang/PerceptualSimilarity; found in the installed
  package unless ``--linear PATH`` is given.
* Backbone: torchvision's ImageNet weights ``alexnet-owt-7be5be79.pth`` /
  ``vgg16-397923af.pth`` from the torch hub cache
  (``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub/checkpoints``),
  which holds them after any earlier ``torchvision.models.alexnet(weights="DEFAULT")``
  (or ``lpips.LPIPS(net=...)``) on a machine with network; or ``--backbone PATH``.

Usage::

  python scripts/convert_lpips_weights.py --net alex --out lpips_alex.npz
  python -c "import jaxloss; p = jaxloss.lpips_params('lpips_alex.npz', 'alex')"

The ``.npz`` keys are ``<layer>/<leaf>``: ``conv1/kernel`` (HWIO, transposed
from torch's OIHW), ``conv1/bias``, ..., ``lin0/weight`` (``(C,)``, from
``lin0.model.1.weight`` of shape ``(1, C, 1, 1)``). See ``jaxloss/image/lpips.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import numpy as np

# torchvision ``features`` indices of the convolutions, in jaxloss's names.
_CONVS = {
    "alex": {0: "conv1", 3: "conv2", 6: "conv3", 8: "conv4", 10: "conv5"},
    "vgg": dict(zip((0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
                    ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
                     "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"),
                    strict=True)),
}
_BACKBONE_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}


def _default_linear(net):
  spec = importlib.util.find_spec("lpips")
  if spec is None or not spec.submodule_search_locations:
    sys.exit("the lpips package is not installed: `pip install lpips`, or pass --linear PATH "
             f"to weights/v0.1/{net}.pth of github.com/richzhang/PerceptualSimilarity")
  return os.path.join(list(spec.submodule_search_locations)[0], "weights", "v0.1", f"{net}.pth")


def _default_backbone(net):
  import torch

  path = os.path.join(torch.hub.get_dir(), "checkpoints", _BACKBONE_FILES[net])
  if not os.path.exists(path):
    sys.exit(f"no {path}: this script downloads nothing. Put torchvision's ImageNet "
             f"{_BACKBONE_FILES[net]} there (it is cached by torchvision.models."
             f"{'alexnet' if net == 'alex' else 'vgg16'}(weights='DEFAULT') on a machine with "
             "network), or pass --backbone PATH")
  return path


def convert(net, backbone_path, linear_path):
  """The ``{npz key: array}`` dict of one net from the two torch state dicts."""
  import torch

  backbone = torch.load(backbone_path, map_location="cpu", weights_only=True)
  linear = torch.load(linear_path, map_location="cpu", weights_only=True)
  out = {}
  for idx, name in _CONVS[net].items():
    w = backbone[f"features.{idx}.weight"].numpy().astype(np.float32)
    out[f"{name}/kernel"] = np.ascontiguousarray(w.transpose(2, 3, 1, 0))  # OIHW -> HWIO
    out[f"{name}/bias"] = backbone[f"features.{idx}.bias"].numpy().astype(np.float32)
  for i in range(5):
    w = linear[f"lin{i}.model.1.weight"].numpy().astype(np.float32)
    out[f"lin{i}/weight"] = w.reshape(-1)
  return out


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--net", choices=("alex", "vgg"), default="alex")
  ap.add_argument("--out", required=True, help="the .npz to write")
  ap.add_argument("--backbone", help="torchvision state dict (default: the torch hub cache)")
  ap.add_argument("--linear", help="lpips v0.1 linear heads (default: the lpips package)")
  args = ap.parse_args(argv)
  arrays = convert(args.net, args.backbone or _default_backbone(args.net),
                   args.linear or _default_linear(args.net))
  np.savez(args.out, **arrays)
  print(f"wrote {args.out}: {len(arrays)} arrays for net={args.net!r}")


if __name__ == "__main__":
  main()
