"""lpips_loss vs an independent float64 NumPy forward pass of LPIPS (lpips 0.1.4, v0.1).

The reference follows lpips/lpips.py and torchvision's alexnet/vgg16
``features`` layer by layer (NCHW, OIHW kernels, as torch does), so the NHWC
jaxloss computation and the layout conversion are both checked.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import LossInputError

# torchvision's features, as (kind, args): conv = (name, stride, pad); pool = (k, s);
# "tap" marks the outputs lpips reads (after the ReLU).
_ALEX = [("conv", "conv1", 4, 2), ("tap",), ("pool", 3, 2), ("conv", "conv2", 1, 2), ("tap",),
         ("pool", 3, 2), ("conv", "conv3", 1, 1), ("tap",), ("conv", "conv4", 1, 1), ("tap",),
         ("conv", "conv5", 1, 1), ("tap",)]
_VGG = []
for _b, _n in enumerate((2, 2, 3, 3, 3), start=1):
  if _b > 1:
    _VGG.append(("pool", 2, 2))
  _VGG += [("conv", f"conv{_b}_{_j}", 1, 1) for _j in range(1, _n + 1)] + [("tap",)]
_LAYERS = {"alex": _ALEX, "vgg": _VGG}


def _np_conv(x, w_oihw, b, stride, pad):
  """torch.nn.Conv2d (NCHW, OIHW) in float64, then ReLU."""
  x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
  k = w_oihw.shape[-1]
  win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
  out = np.einsum("nchwij,ocij->nohw", win, w_oihw) + b[None, :, None, None]
  return np.maximum(out, 0.0)


def _np_pool(x, k, s):
  win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
  return win.max(axis=(-1, -2))


def _np_lpips(x_nhwc, y_nhwc, params, net, normalize):
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
  shift = np.array([-.030, -.088, -.188])[None, :, None, None]
  scale = np.array([.458, .448, .450])[None, :, None, None]

  def feats(img):
    h = np.asarray(img, np.float64).transpose(0, 3, 1, 2)
    if normalize:
      h = 2 * h - 1
    h = (h - shift) / scale
    outs = []
    for op in _LAYERS[net]:
      if op[0] == "conv":
        w = p[op[1]]["kernel"].transpose(3, 2, 0, 1)   # HWIO -> OIHW
        h = _np_conv(h, w, p[op[1]]["bias"], op[2], op[3])
      elif op[0] == "pool":
        h = _np_pool(h, op[1], op[2])
      else:
        outs.append(h)
    return outs

  total = 0.0
  for i, (f0, f1) in enumerate(zip(feats(x_nhwc), feats(y_nhwc), strict=True)):
    f0 = f0 / (np.sqrt(np.sum(f0 ** 2, axis=1, keepdims=True)) + 1e-10)
    f1 = f1 / (np.sqrt(np.sum(f1 ** 2, axis=1, keepdims=True)) + 1e-10)
    d = (f0 - f1) ** 2
    lin = np.einsum("nchw,c->nhw", d, p[f"lin{i}"]["weight"])
    total = total + lin.mean(axis=(1, 2))
  return total


_SIZES = {"alex": 32, "vgg": 16}


@pytest.fixture(scope="module", params=["alex", "vgg"])
def setup(request):
  net = request.param
  params = jaxloss.random_lpips_params(jax.random.key(0), net)
  s = _SIZES[net]
  x = jax.random.uniform(jax.random.key(1), (2, s, s, 3))
  y = jnp.clip(x + 0.2 * jax.random.normal(jax.random.key(2), x.shape), 0.0, 1.0)
  return net, params, x, y


@pytest.mark.parametrize("normalize", [True, False])
def test_matches_numpy_reference(setup, normalize):
  net, params, x, y = setup
  if net == "vgg" and not normalize:
    pytest.skip("the input scaling is shared by both nets; alex covers it")
  if not normalize:
    x, y = 2.0 * x - 1.0, 2.0 * y - 1.0
  got = jaxloss.lpips_loss(x, y, params, net=net, normalize=normalize, reduction="none")
  want = _np_lpips(x, y, params, net, normalize)
  assert got.shape == (2,)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4)
  np.testing.assert_allclose(float(jaxloss.lpips_loss(x, y, params, net=net,
                                                      normalize=normalize)),
                             want.mean(), rtol=1e-4)


def test_non_square_and_batch_axes():
  params = jaxloss.random_lpips_params(jax.random.key(3))
  x = jax.random.uniform(jax.random.key(4), (1, 2, 31, 40, 3))
  y = jax.random.uniform(jax.random.key(5), (1, 2, 31, 40, 3))
  got = jaxloss.lpips_loss(x, y, params, normalize=True, reduction="none")
  assert got.shape == (1, 2)
  np.testing.assert_allclose(np.asarray(got[0]), _np_lpips(x[0], y[0], params, "alex", True),
                             rtol=1e-4)


def test_identical_images_zero_with_finite_gradient(setup):
  net, params, x, _ = setup
  if net == "vgg":   # the gradient path is shared; VGG's compile is the slow one
    assert float(jaxloss.lpips_loss(x, x, params, net=net)) == 0.0
    return
  # One compiled value_and_grad for both pairs (in the images and the weights).
  vg = jax.jit(jax.value_and_grad(
      lambda a, b, p: jaxloss.lpips_loss(a, b, p, net=net, normalize=True), argnums=(0, 2)))
  # Random images, then constant ones (many ReLU positions dead: zero feature vectors).
  for img in (x, jnp.zeros_like(x)):
    value, grads = vg(img, img, params)
    assert float(value) == 0.0
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))


def test_bfloat16_and_symmetry(setup):
  net, params, x, y = setup
  f32 = jaxloss.lpips_loss(x, y, params, net=net, normalize=True)
  low = jaxloss.lpips_loss(x.astype(jnp.bfloat16), y.astype(jnp.bfloat16), params, net=net,
                           normalize=True)
  assert low.dtype == jnp.float32
  np.testing.assert_allclose(float(low), float(f32), rtol=5e-2)
  np.testing.assert_allclose(float(jaxloss.lpips_loss(y, x, params, net=net, normalize=True)),
                             float(f32), rtol=1e-5)


def test_errors():
  params = jaxloss.random_lpips_params(jax.random.key(0))
  x = jnp.zeros((2, 32, 32, 3))
  with pytest.raises(LossInputError, match="params is None"):
    jaxloss.lpips_loss(x, x, None)
  broken = {k: v for k, v in params.items() if k != "lin3"}
  with pytest.raises(LossInputError, match="lacks layer 'lin3'"):
    jaxloss.lpips_loss(x, x, broken)
  with pytest.raises(LossInputError, match="lacks layer 'conv1_1'"):
    jaxloss.lpips_loss(x, x, params, net="vgg")
  with pytest.raises(LossInputError, match=r"too small for net='alex'; expected H, W >= 31"):
    jaxloss.lpips_loss(x[:, :30], x[:, :30], params)
  with pytest.raises(LossInputError, match=r"expected RGB images"):
    jaxloss.lpips_loss(x[..., :1], x[..., :1], params)
  with pytest.raises(ValueError, match="net"):
    jaxloss.lpips_loss(x, x, params, net="squeeze")
  vgg = jaxloss.random_lpips_params(jax.random.key(0), "vgg")
  with pytest.raises(LossInputError, match=r"expected H, W >= 16"):
    jaxloss.lpips_loss(x[:, :15], x[:, :15], vgg, net="vgg")


def test_loader_round_trip(tmp_path):
  params = jaxloss.random_lpips_params(jax.random.key(7))
  path = tmp_path / "lpips_alex.npz"
  np.savez(path, **{f"{layer}/{leaf}": np.asarray(v) for layer, leaves in params.items()
                    for leaf, v in leaves.items()})
  loaded = jaxloss.lpips_params(path, "alex")
  jax.tree.map(np.testing.assert_array_equal, loaded, params)
  with pytest.raises(LossInputError, match="lacks layer 'conv1_1'"):
    jaxloss.lpips_params(path, "vgg")
  with pytest.raises(FileNotFoundError, match="convert_lpips_weights.py"):
    jaxloss.lpips_params(tmp_path / "missing.npz")


def test_nnx_module(tmp_path):
  from flax import nnx

  params = jaxloss.random_lpips_params(jax.random.key(8))
  path = tmp_path / "w.npz"
  np.savez(path, **{f"{layer}/{leaf}": np.asarray(v) for layer, leaves in params.items()
                    for leaf, v in leaves.items()})
  module = jaxloss.LPIPS.from_file(path, "alex", normalize=True)
  x = jax.random.uniform(jax.random.key(9), (2, 32, 32, 3))
  y = x[::-1]
  want = jaxloss.lpips_loss(x, y, params, normalize=True)
  np.testing.assert_allclose(float(module(x, y)), float(want), rtol=1e-6)
  assert not jax.tree.leaves(nnx.state(module, nnx.Param))   # nothing trainable
  assert len(jax.tree.leaves(nnx.state(module))) == len(jax.tree.leaves(params))
