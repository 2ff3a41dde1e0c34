"""A Flax NNX VGG-16 feature extractor for the perceptual, style and contextual losses.

No weights are shipped or downloaded. Convert a torchvision state dict once
(with PyTorch, outside jaxloss) and load the file here::

    import numpy as np, torchvision
    sd = torchvision.models.vgg16(weights="IMAGENET1K_V1").state_dict()
    np.savez("vgg16.npz", **{k: v.numpy() for k, v in sd.items()
                             if k.startswith("features.")})

**File layout** (``.npz``, or ``.safetensors`` when the ``safetensors``
package is installed): the torchvision names and layouts, unchanged —
``features.{i}.weight`` of shape ``[out, in, 3, 3]`` (OIHW) and
``features.{i}.bias`` of shape ``[out]`` for the 13 convolutions at
``i = 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28`` (the ``features.``
prefix is optional; classifier entries are ignored). The loader transposes the
kernels to Flax's HWIO. The model takes NHWC RGB images in ``[0, 1]`` and
applies torchvision's ImageNet normalisation (mean ``0.485, 0.456, 0.406``,
std ``0.229, 0.224, 0.225``) unless ``normalize_input=False``.

Usage with a loss::

    model = VGG16Features(layers=("relu1_2", "relu2_2", "relu3_3"), rngs=nnx.Rngs(0))
    load_torchvision_vgg16(model, "vgg16.npz")
    feature_fn, params = vgg16_feature_fn(model)
    loss = jaxloss.perceptual_loss(fake, real, feature_fn=feature_fn, params=params)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxloss._api import LossInputError

__all__ = ["VGG16Features", "TORCHVISION_CONV_INDICES", "VGG16_LAYERS",
           "load_torchvision_vgg16", "vgg16_feature_fn"]

# (block, convs per block); torchvision's `features` index of every conv.
_BLOCKS = (2, 2, 3, 3, 3)
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
VGG16_LAYERS = tuple(f"relu{b + 1}_{c + 1}" for b, n in enumerate(_BLOCKS) for c in range(n))
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class VGG16Features(nnx.Module):
  """VGG-16 convolutional trunk returning the activations of chosen ReLU layers.

  Args:
    layers: names from :data:`VGG16_LAYERS` (``"relu1_1"`` ... ``"relu5_3"``),
      returned in this order; default Johnson et al.'s
      ``("relu1_2", "relu2_2", "relu3_3", "relu4_3")``. Layers after the last
      one requested are not built.
    channels: widths of the five blocks (default VGG-16's
      ``(64, 128, 256, 512, 512)``; smaller values make toy models for tests).
    in_channels: input channels (default 3).
    normalize_input: apply the ImageNet mean/std normalisation (default True).
    rngs: ``nnx.Rngs`` for the (random) initial weights.

  Calling the module on ``[B, H, W, in_channels]`` returns a tuple of feature
  maps ``[B, H / 2^k, W / 2^k, C_k]``, one per requested layer; max-pooling
  (2x2, stride 2) follows each block as in torchvision.
  """

  def __init__(self, layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3"), *,
               channels: Sequence[int] = (64, 128, 256, 512, 512), in_channels: int = 3,
               normalize_input: bool = True, rngs: nnx.Rngs):
    layers = tuple(layers)
    for name in layers:
      if name not in VGG16_LAYERS:
        raise ValueError(f"unknown VGG-16 layer {name!r}; expected one of {VGG16_LAYERS}")
    if not layers:
      raise ValueError("layers must name at least one VGG-16 layer")
    if len(channels) != 5:
      raise ValueError(f"channels must give 5 block widths, got {tuple(channels)}")
    self.layers = layers
    self.normalize_input = normalize_input
    last = max(VGG16_LAYERS.index(n) for n in layers)
    convs, cin = [], in_channels
    for b, n in enumerate(_BLOCKS):
      for _ in range(n):
        if len(convs) > last:
          break
        convs.append(nnx.Conv(cin, channels[b], (3, 3), padding=((1, 1), (1, 1)), rngs=rngs))
        cin = channels[b]
    self.convs = nnx.List(convs)

  def __call__(self, x):
    if self.normalize_input:
      x = (x - jnp.asarray(_MEAN, x.dtype)) / jnp.asarray(_STD, x.dtype)
    out, k = {}, 0
    for b, n in enumerate(_BLOCKS):
      if b > 0:
        x = nnx.max_pool(x, (2, 2), strides=(2, 2))
      for c in range(n):
        if k >= len(self.convs):
          break
        x = nnx.relu(self.convs[k](x))
        out[f"relu{b + 1}_{c + 1}"] = x
        k += 1
    return tuple(out[name] for name in self.layers)


def _read(source) -> Mapping[str, np.ndarray]:
  if isinstance(source, Mapping):
    return source
  path = str(source)
  if path.endswith(".safetensors"):
    try:
      from safetensors.numpy import load_file
    except ImportError as e:  # pragma: no cover - depends on the environment
      raise ImportError("loading .safetensors needs the `safetensors` package; "
                        "convert to .npz or install it") from e
    return load_file(path)
  with np.load(path) as f:
    return {k: f[k] for k in f.files}


def load_torchvision_vgg16(model: VGG16Features, source) -> VGG16Features:
  """Loads torchvision VGG-16 ``features`` weights into ``model`` (in place).

  Args:
    model: a :class:`VGG16Features` (only its built convolutions are loaded).
    source: a ``.npz`` / ``.safetensors`` path or a mapping of arrays in the
      torchvision layout described in the module docstring.

  Returns:
    ``model``.

  Raises:
    KeyError: a needed entry is missing.
    ValueError: an entry's shape does not match the model.
  """
  raw = _read(source)
  sd = {(k[len("features."):] if k.startswith("features.") else k): v for k, v in raw.items()}
  for k, conv in enumerate(model.convs):
    idx = TORCHVISION_CONV_INDICES[k]
    w_key, b_key = f"{idx}.weight", f"{idx}.bias"
    if w_key not in sd or b_key not in sd:
      raise KeyError(f"missing features.{w_key} / features.{b_key} in the VGG-16 weights")
    w, bias = np.asarray(sd[w_key]), np.asarray(sd[b_key])
    kh, kw, cin, cout = conv.kernel[...].shape
    if w.shape != (cout, cin, kh, kw) or bias.shape != (cout,):
      raise LossInputError(
          f"features.{w_key} has shape {w.shape} (bias {bias.shape}); expected "
          f"{(cout, cin, kh, kw)} (torch OIHW) and ({cout},) for this model")
    conv.kernel[...] = jnp.asarray(w.transpose(2, 3, 1, 0), conv.kernel[...].dtype)
    conv.bias[...] = jnp.asarray(bias, conv.bias[...].dtype)
  return model


class _NNXApply:
  """``(params, x) -> merge(graphdef, params)(x)``, hashable by its graph definition.

  Equal graph definitions give equal (and equally hashed) callables, so
  rebuilding it each step does not change the jit cache key of a loss.
  """

  def __init__(self, graphdef):
    self.graphdef = graphdef

  def __call__(self, params, x):
    return nnx.merge(self.graphdef, params)(x)

  def __hash__(self):
    return hash(("_NNXApply", self.graphdef))

  def __eq__(self, other):
    return isinstance(other, _NNXApply) and other.graphdef == self.graphdef


def vgg16_feature_fn(model: nnx.Module):
  """Splits an NNX feature extractor into ``(feature_fn, params)`` for the losses.

  ``feature_fn`` is static and hashable; ``params`` is the model's state (a
  pytree, traced by jit). Works for any NNX module, not only VGG-16.
  """
  graphdef, state = nnx.split(model)
  return _NNXApply(graphdef), state
