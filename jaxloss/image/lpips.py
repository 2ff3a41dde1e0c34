"""LPIPS, the learned perceptual image patch similarity (Zhang et al., CVPR 2018).

A pure function of the images and a parameter pytree (the ImageNet backbone's
convolutions and the learned linear heads), so it jits, vmaps and
differentiates like every other loss. jaxloss ships no weights and downloads
nothing: :func:`lpips_params` reads a ``.npz`` the user converted once from
the official files with ``scripts/convert_lpips_weights.py``;
:func:`random_lpips_params` makes random weights for tests and demos (NOT a
perceptual metric).

Parameter layout (the pytree and, with ``/`` joining the two levels, the
``.npz`` keys):

* ``conv<i>`` (AlexNet: ``conv1`` ... ``conv5``; VGG16: ``conv1_1``, ``conv1_2``,
  ``conv2_1``, ``conv2_2``, ``conv3_1`` ... ``conv3_3``, ``conv4_1`` ... ``conv4_3``,
  ``conv5_1`` ... ``conv5_3``): ``{"kernel": (kh, kw, c_in, c_out), "bias": (c_out,)}``
  -- torchvision's ``features`` convolutions, kernels transposed OIHW -> HWIO;
* ``lin0`` ... ``lin4``: ``{"weight": (C_l,)}`` -- the 1x1 heads of
  ``lpips/weights/v0.1/<net>.pth`` (``lin<l>.model.1.weight``, shape
  ``(1, C_l, 1, 1)``), non-negative.
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import LossInputError, loss_function, reduce_loss
from jaxloss.catalog import register
from jaxloss.image._common import _IMAGE_TASKS, _image_pair

__all__ = ["lpips_loss", "lpips_params", "random_lpips_params"]

_ZHANG18 = ("Zhang, Isola, Efros, Shechtman & Wang, The Unreasonable Effectiveness of Deep "
            "Features as a Perceptual Metric, CVPR 2018")

# The ScalingLayer of lpips 0.1.x (inputs in [-1, 1] -> ImageNet statistics).
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
# lpips.normalize_tensor's epsilon.
_NORM_EPS = 1e-10

# Each backbone: a list of stages; a stage is a list of ops ending at a tapped
# ReLU. ("pool", k, s) is a floor-mode max-pool without padding;
# ("conv", name, k, stride, pad, c_in, c_out) a convolution followed by ReLU.
_ALEX = (
    (("conv", "conv1", 11, 4, 2, 3, 64),),
    (("pool", 3, 2), ("conv", "conv2", 5, 1, 2, 64, 192)),
    (("pool", 3, 2), ("conv", "conv3", 3, 1, 1, 192, 384)),
    (("conv", "conv4", 3, 1, 1, 384, 256),),
    (("conv", "conv5", 3, 1, 1, 256, 256),),
)


def _vgg_stages():
  chans = ((3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3))
  stages = []
  for b, (c_in, c_out, n) in enumerate(chans, start=1):
    ops = [("pool", 2, 2)] if b > 1 else []
    for j in range(1, n + 1):
      ops.append(("conv", f"conv{b}_{j}", 3, 1, 1, c_in if j == 1 else c_out, c_out))
    stages.append(tuple(ops))
  return tuple(stages)


_NETS = {"alex": _ALEX, "vgg": _vgg_stages()}
# Smallest H = W for which every pooling window fits (torch raises below it).
_MIN_SIZE = {"alex": 31, "vgg": 16}


def _channels(net):
  return tuple([op for op in stage if op[0] == "conv"][-1][6] for stage in _NETS[net])


def _param_shapes(net):
  shapes = {}
  for stage in _NETS[net]:
    for op in stage:
      if op[0] == "conv":
        _, name, k, _, _, c_in, c_out = op
        shapes[name] = {"kernel": (k, k, c_in, c_out), "bias": (c_out,)}
  for i, c in enumerate(_channels(net)):
    shapes[f"lin{i}"] = {"weight": (c,)}
  return shapes


def _check_net(net):
  if net not in _NETS:
    raise LossInputError(f"net must be one of {sorted(_NETS)}, got {net!r}")


def _check_params(params, net):
  if params is None:
    raise LossInputError(
        f"params is None; pass the LPIPS weights for net={net!r}: "
        f"jaxloss.lpips_params(path, net={net!r}) (see scripts/convert_lpips_weights.py) or, "
        "for tests only, jaxloss.random_lpips_params(key)")
  for name, leaves in _param_shapes(net).items():
    if not isinstance(params, dict) or name not in params or not isinstance(params[name], dict):
      raise LossInputError(f"params lacks layer {name!r} of net={net!r}; expected keys "
                           f"{sorted(_param_shapes(net))}")
    for leaf, shape in leaves.items():
      got = getattr(params[name].get(leaf), "shape", None)
      if got is None or tuple(got) != shape:
        raise LossInputError(f"params[{name!r}][{leaf!r}] has shape {got}; expected {shape} "
                             f"for net={net!r}")


def _features(x, params, net):
  """The tapped ReLU outputs of the backbone, each ``(N, H_l, W_l, C_l)``."""
  outs = []
  h = x
  for stage in _NETS[net]:
    for op in stage:
      if op[0] == "pool":
        _, k, s = op
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, k, k, 1), (1, s, s, 1), "VALID")
      else:
        _, name, _, stride, pad, _, _ = op
        w = params[name]["kernel"].astype(h.dtype)
        b = params[name]["bias"].astype(h.dtype)
        h = jax.lax.conv_general_dilated(
            h, w, (stride, stride), ((pad, pad), (pad, pad)),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
            precision=jax.lax.Precision.HIGHEST)
        h = jax.nn.relu(h + b)
    outs.append(h)
  return outs


def _unit_normalize(f):
  # lpips.normalize_tensor: x / (||x||_c + 1e-10). safe_norm keeps the gradient
  # finite where every channel is 0 (a dead ReLU position).
  return f / (nx.safe_norm(f, axis=-1, keepdims=True) + _NORM_EPS)


@register(tasks=_IMAGE_TASKS, input_kind="images",
          peer="lpips.LPIPS (lpips 0.1.4, version 0.1)",
          references=(_ZHANG18,))
@loss_function(static=("net", "normalize"), choices={"net": tuple(_NETS),
                                                     "normalize": (False, True)})
def lpips_loss(predictions, targets, params, *, net="alex", normalize=False, weights=None,
               where=None, reduction="mean"):
  r"""LPIPS distance per image: learned weighted distance of deep features.

  .. math::
    d(x, y) = \sum_l \frac{1}{H_l W_l} \sum_{h, w} \sum_c
      w_{l, c} \big(\hat f^l_{hwc}(x) - \hat f^l_{hwc}(y)\big)^2 ,
    \quad \hat f_{hwc} = \frac{f_{hwc}}{\|f_{hw}\|_2 + 10^{-10}}

  with ``w_l`` the learned non-negative 1x1 head of layer ``l`` (no bias) and ``f^l`` the ReLU outputs of AlexNet (relu1..relu5,
  64/192/384/256/256 channels) or VGG16 (relu1_2, relu2_2, relu3_3, relu4_3,
  relu5_3: 64/128/256/512/512) applied to the scaled images
  ``(x - shift) / scale`` (shift ``[-.030, -.088, -.188]``, scale
  ``[.458, .448, .450]``). Identical images give exactly 0 with a finite
  gradient.

  Args:
    predictions: RGB images ``(..., H, W, 3)`` in [-1, 1] (or [0, 1] with
      ``normalize=True``); H, W >= 31 for AlexNet, >= 16 for VGG16.
    targets: images of the same shape.
    params: the weight pytree (see :mod:`jaxloss.image.lpips`): from
      :func:`jaxloss.lpips_params` (official weights, converted) or
      :func:`jaxloss.random_lpips_params` (tests only). Differentiable.
    net: "alex" (default) | "vgg", static.
    normalize: map [0, 1] inputs to [-1, 1] first (default False), static.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none" (the
    distance of each image pair). bfloat16/float16 images are computed in
    float32.

  Raises:
    LossInputError: ``params`` None or missing a layer (or a wrong shape),
      images not 3-channel or smaller than the net's minimum, shape mismatch.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    Matches ``lpips.LPIPS(net=net, version="0.1")(x, y, normalize=normalize)``
    with ``x, y`` in NCHW (its output ``(B, 1, 1, 1)`` is our "none" output),
    given the same weights (checked with the official v0.1 heads on a random
    torchvision backbone converted by ``scripts/convert_lpips_weights.py``:
    relative difference < 3e-7 in float32). Not provided: the spatial map
    (``spatial=True``), the SqueezeNet trunk and the v0.0 weights.

  Examples:
    >>> import jax, jax.numpy as jnp, jaxloss
    >>> params = jaxloss.random_lpips_params(jax.random.key(0))  # demo weights only
    >>> x = jax.random.uniform(jax.random.key(1), (2, 32, 32, 3))
    >>> print(float(jaxloss.lpips_loss(x, x, params, normalize=True)))
    0.0
    >>> d = jaxloss.lpips_loss(x, x[::-1], params, normalize=True, reduction="none")
    >>> print(d.shape, bool(d[0] > 0))
    (2,) True
  """
  _check_net(net)
  _check_params(params, net)
  x, y = _image_pair(predictions, targets, where)
  if x.shape[-1] != 3:
    raise LossInputError(f"predictions has shape {tuple(x.shape)}; expected RGB images "
                         "(..., H, W, 3)")
  need = _MIN_SIZE[net]
  if min(x.shape[-3], x.shape[-2]) < need:
    raise LossInputError(f"predictions has shape {tuple(x.shape)}: spatial size "
                         f"({x.shape[-3]}, {x.shape[-2]}) is too small for net={net!r}; "
                         f"expected H, W >= {need}")
  batch = x.shape[:-3]
  n = int(np.prod(batch, dtype=np.int64))
  both = jnp.concatenate([x.reshape((n,) + x.shape[-3:]), y.reshape((n,) + y.shape[-3:])])
  if normalize:
    both = 2.0 * both - 1.0
  dtype = both.dtype
  both = (both - jnp.asarray(_SHIFT, dtype)) / jnp.asarray(_SCALE, dtype)
  total = jnp.zeros((n,), dtype)
  for i, f in enumerate(_features(both, params, net)):
    f = _unit_normalize(f)
    diff = jnp.square(f[:n] - f[n:])
    w = params[f"lin{i}"]["weight"].astype(dtype)
    total = total + jnp.mean(diff @ w, axis=(1, 2))
  return reduce_loss(total.reshape(batch), reduction, where=where, weights=weights)


def random_lpips_params(key, net="alex"):
  """Random LPIPS weights for tests and demos -- NOT a perceptual metric.

  He-normal convolution kernels, zero biases and uniform [0, 1) linear heads,
  in the layout of :mod:`jaxloss.image.lpips`. For the real metric use
  :func:`lpips_params` on converted official weights.

  Args:
    key: a ``jax.random`` key.
    net: "alex" (default) | "vgg".

  Returns:
    The parameter pytree (float32).
  """
  _check_net(net)
  return _random_params(key, net)


@functools.partial(jax.jit, static_argnames="net")
def _random_params(key, net):
  # One compiled program instead of one per leaf shape.
  shapes = _param_shapes(net)
  keys = iter(jax.random.split(key, len(shapes)))
  params = {}
  for name, leaves in shapes.items():
    k = next(keys)
    if "kernel" in leaves:
      kh, kw, c_in, _ = leaves["kernel"]
      std = float(np.sqrt(2.0 / (kh * kw * c_in)))
      params[name] = {"kernel": std * jax.random.normal(k, leaves["kernel"], jnp.float32),
                      "bias": jnp.zeros(leaves["bias"], jnp.float32)}
    else:
      params[name] = {"weight": jax.random.uniform(k, leaves["weight"], jnp.float32)}
  return params


_WEIGHTS_HELP = (
    "jaxloss ships no LPIPS weights and downloads nothing. Convert them once with "
    "`python scripts/convert_lpips_weights.py --net {net} --out {path}` (needs torch; "
    "it reads the linear heads lpips/weights/v0.1/{net}.pth shipped in the `lpips` pip "
    "package / github.com/richzhang/PerceptualSimilarity and torchvision's ImageNet "
    "{tv} backbone from your torch hub cache (~/.cache/torch/hub/checkpoints/{file}))")


def lpips_params(path, net="alex"):
  """Loads converted LPIPS weights from a ``.npz`` file.

  The file holds one array per leaf of the layout of
  :mod:`jaxloss.image.lpips`, keyed ``"<layer>/<leaf>"`` (``"conv1/kernel"``,
  ``"conv1/bias"``, ``"lin0/weight"``, ...). ``scripts/convert_lpips_weights.py``
  writes it from the official files (the linear heads
  ``lpips/weights/v0.1/{alex,vgg}.pth`` of the ``lpips`` package and
  torchvision's ImageNet ``alexnet``/``vgg16`` backbone from the torch cache).

  Args:
    path: the ``.npz`` file.
    net: "alex" (default) | "vgg"; the file must hold that net's layers.

  Returns:
    The parameter pytree for :func:`lpips_loss` (float32 arrays).

  Raises:
    FileNotFoundError: no such file (the message says how to make one).
    LossInputError: a layer missing or of the wrong shape.
  """
  _check_net(net)
  path = os.fspath(path)
  if not os.path.exists(path):
    tv, file = {"alex": ("alexnet", "alexnet-owt-7be5be79.pth"),
                "vgg": ("vgg16", "vgg16-397923af.pth")}[net]
    raise FileNotFoundError(f"lpips_params: no file {path!r}. "
                            + _WEIGHTS_HELP.format(net=net, path=path, tv=tv, file=file))
  params: dict = {}
  with np.load(path) as data:
    for key in data.files:
      layer, _, leaf = key.partition("/")
      params.setdefault(layer, {})[leaf] = jnp.asarray(data[key], jnp.float32)
  try:
    _check_params(params, net)
  except LossInputError as e:
    raise LossInputError(f"lpips_params: {path!r}: {e}") from None
  return {name: params[name] for name in _param_shapes(net)}
