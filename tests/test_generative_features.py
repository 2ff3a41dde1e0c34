"""Tests of jaxloss.generative.features and .vgg against independent NumPy references."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxloss
from jaxloss import LossInputError
from jaxloss.generative import vgg

RNG = np.random.default_rng(2)


def _imgs(shape=(3, 4, 4, 2)):
  return (RNG.uniform(size=shape).astype(np.float32), RNG.uniform(size=shape).astype(np.float32))


def test_cycle_and_reconstruction_match_reference():
  p, t = _imgs()
  d = p.astype(np.float64) - t
  np.testing.assert_allclose(jaxloss.cycle_consistency_loss(p, t), np.abs(d).mean(), rtol=1e-5)
  np.testing.assert_allclose(jaxloss.cycle_consistency_loss(p, t, distance="l2"),
                             (d ** 2).mean(), rtol=1e-5)
  np.testing.assert_allclose(jaxloss.reconstruction_loss(p, t, kind="l2", reduction="none"),
                             d ** 2, rtol=1e-5, atol=1e-7)
  lg = (p - 0.5) * 20
  want = np.logaddexp(0, lg.astype(np.float64)) - t * lg
  np.testing.assert_allclose(jaxloss.reconstruction_loss(lg, t, kind="bernoulli",
                                                         reduction="none"), want, rtol=1e-5)
  with pytest.raises(LossInputError, match="cycle_consistency_loss: targets has shape"):
    jaxloss.cycle_consistency_loss(p, t[:, :1])


def two_layers(params, x):
  """A toy extractor: a 1x1 conv and a 2x2 average pool of it."""
  h = jnp.tanh(x @ params)
  b, hh, ww, c = h.shape
  pooled = h.reshape(b, hh // 2, 2, ww // 2, 2, c).mean(axis=(2, 4))
  return {"a": h, "b": pooled}


def ref_two_layers(params, x):
  h = np.tanh(x.astype(np.float64) @ np.asarray(params, np.float64))
  b, hh, ww, c = h.shape
  return [h, h.reshape(b, hh // 2, 2, ww // 2, 2, c).mean(axis=(2, 4))]


def test_perceptual_loss_matches_reference():
  p, t = _imgs()
  w = RNG.normal(size=(2, 3)).astype(np.float32)
  fp, ft = ref_two_layers(w, p), ref_two_layers(w, t)
  for dist, f in (("l2", np.square), ("l1", np.abs)):
    want = sum(lw * f(a - b).reshape(3, -1).mean(-1)
               for lw, a, b in zip((1.0, 0.25), fp, ft, strict=True))
    got = jaxloss.perceptual_loss(p, t, feature_fn=two_layers, params=jnp.asarray(w),
                                  layer_weights=(1.0, 0.25), distance=dist, reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
  assert float(jaxloss.perceptual_loss(p, p, feature_fn=two_layers, params=jnp.asarray(w))) == 0


def ref_gram(f):
  f = f.reshape(f.shape[0], -1, f.shape[-1]).astype(np.float64)
  return np.einsum("bnc,bnd->bcd", f, f) / (f.shape[1] * f.shape[2])


def test_gram_and_style_loss_match_reference():
  p, t = _imgs()
  np.testing.assert_allclose(jaxloss.gram_matrix(jnp.asarray(p)), ref_gram(p), rtol=1e-5)
  w = RNG.normal(size=(2, 3)).astype(np.float32)
  fp, ft = ref_two_layers(w, p), ref_two_layers(w, t)
  want = sum(lw * ((ref_gram(a) - ref_gram(b)) ** 2).sum(axis=(1, 2))
             for lw, a, b in zip((0.5, 2.0), fp, ft, strict=True))
  got = jaxloss.style_loss(p, t, feature_fn=two_layers, params=jnp.asarray(w),
                           layer_weights=jnp.array([0.5, 2.0]), reduction="none")
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-8)
  # The style loss ignores where things are: a spatial shuffle of the target keeps it at 0.
  shuffled = t[:, ::-1, ::-1, :]
  np.testing.assert_allclose(jaxloss.style_loss(shuffled, t), 0.0, atol=1e-7)
  with pytest.raises(LossInputError, match="features must have rank >= 3"):
    jaxloss.style_loss(jnp.ones((2, 3)), jnp.ones((2, 3)))


def ref_contextual(x, y, h=0.5):
  x = x.reshape(x.shape[0], -1, x.shape[-1]).astype(np.float64)
  y = y.reshape(y.shape[0], -1, y.shape[-1]).astype(np.float64)
  out = []
  for xb, yb in zip(x, y, strict=True):
    mu = yb.mean(0)
    xn = (xb - mu) / np.linalg.norm(xb - mu, axis=-1, keepdims=True)
    yn = (yb - mu) / np.linalg.norm(yb - mu, axis=-1, keepdims=True)
    d = 1 - xn @ yn.T                                  # [N, M]
    d_rel = d / (d.min(axis=1, keepdims=True) + 1e-5)
    w = np.exp((1 - d_rel) / h)
    cx = w / w.sum(axis=1, keepdims=True)
    out.append(-np.log(cx.max(axis=0).mean()))
  return np.array(out)


def test_contextual_loss_matches_reference():
  p, t = _imgs((2, 3, 3, 4))
  got = jaxloss.contextual_loss(p, t, reduction="none")
  np.testing.assert_allclose(got, ref_contextual(p, t), rtol=1e-4)
  got = jaxloss.contextual_loss(p, t, band_width=0.2, reduction="none")
  np.testing.assert_allclose(got, ref_contextual(p, t, 0.2), rtol=1e-4)
  with pytest.raises(LossInputError, match="band_width must be > 0"):
    jaxloss.contextual_loss(p, t, band_width=0.0)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_contextual_invariant_to_target_spatial_permutation(seed):
  r = np.random.default_rng(seed)
  p, t = r.uniform(size=(1, 3, 3, 3)), r.uniform(size=(1, 3, 3, 3))
  perm = r.permutation(9)
  t_perm = t.reshape(1, 9, 3)[:, perm].reshape(1, 3, 3, 3)
  a = jaxloss.contextual_loss(jnp.asarray(p, jnp.float32), jnp.asarray(t, jnp.float32))
  b = jaxloss.contextual_loss(jnp.asarray(p, jnp.float32), jnp.asarray(t_perm, jnp.float32))
  np.testing.assert_allclose(a, b, rtol=1e-5)
  assert float(jaxloss.contextual_loss(jnp.asarray(t, jnp.float32),
                                       jnp.asarray(t_perm, jnp.float32))) <= float(a) + 1e-6


def test_feature_losses_grads_and_edges():
  with jax.enable_x64(True):
    p, t = (jnp.asarray(a, jnp.float64) for a in _imgs((2, 2, 2, 3)))
    w = jnp.asarray(RNG.normal(size=(3, 2)))
    check_grads(lambda p: jaxloss.perceptual_loss(p, t, feature_fn=two_layers, params=w),
                (p,), order=1, modes=["rev"])
    check_grads(lambda p: jaxloss.style_loss(p, t, feature_fn=two_layers, params=w),
                (p,), order=1, modes=["rev"])
    check_grads(lambda p: jaxloss.contextual_loss(p, t), (p,), order=1, modes=["rev"],
                eps=1e-5)
  # Constant (zero-variance) images: finite value and gradient.
  z = jnp.zeros((2, 3, 3, 2))
  for fn in (jaxloss.perceptual_loss, jaxloss.style_loss, jaxloss.contextual_loss):
    v, g = jax.value_and_grad(fn)(z, z)
    chex.assert_tree_all_finite((v, g))


@pytest.mark.parametrize("fn", ["perceptual_loss", "style_loss", "contextual_loss"])
def test_feature_losses_per_example(fn):
  p, t = _imgs()
  f = getattr(jaxloss, fn)
  full = f(p, t, reduction="none")
  np.testing.assert_allclose(f(p[1:2], t[1:2], reduction="none")[0], full[1], rtol=1e-5)


# ------------------------------------------------------------------ VGG-16


def _torch_layout_weights(channels, n_convs, seed=0):
  r = np.random.default_rng(seed)
  sd, cin, k = {}, 3, 0
  for b, n in enumerate((2, 2, 3, 3, 3)):
    for _ in range(n):
      if k == n_convs:
        return sd
      idx = vgg.TORCHVISION_CONV_INDICES[k]
      sd[f"features.{idx}.weight"] = (r.normal(size=(channels[b], cin, 3, 3)) * 0.3
                                      ).astype(np.float32)
      sd[f"features.{idx}.bias"] = r.normal(size=channels[b]).astype(np.float32) * 0.1
      cin, k = channels[b], k + 1
  return sd


def ref_conv_relu(x, w, b):
  """Cross-correlation with zero padding 1, torch OIHW weights, NHWC input."""
  xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
  n, hh, ww, _ = x.shape
  out = np.zeros((n, hh, ww, w.shape[0]))
  for i in range(3):
    for j in range(3):
      out += np.einsum("nhwc,oc->nhwo", xp[:, i:i + hh, j:j + ww], w[:, :, i, j])
  return np.maximum(out + b, 0)


def test_vgg16_loader_layout_and_features(tmp_path):
  channels = (4, 6, 8, 8, 8)
  sd = _torch_layout_weights(channels, 4)
  sd["classifier.0.weight"] = np.zeros((2, 2), np.float32)      # ignored
  path = tmp_path / "vgg16.npz"
  np.savez(path, **sd)
  model = vgg.VGG16Features(layers=("relu1_1", "relu2_2"), channels=channels,
                            rngs=nnx.Rngs(0))
  vgg.load_torchvision_vgg16(model, str(path))
  x = RNG.uniform(size=(2, 4, 4, 3)).astype(np.float32)
  f11, f22 = model(jnp.asarray(x))
  xn = (x - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
  h = ref_conv_relu(xn, sd["features.0.weight"], sd["features.0.bias"])
  np.testing.assert_allclose(f11, h, rtol=1e-4, atol=1e-4)
  h = ref_conv_relu(h, sd["features.2.weight"], sd["features.2.bias"])
  h = h.reshape(2, 2, 2, 2, 2, 4).max(axis=(2, 4))                # 2x2 max-pool
  h = ref_conv_relu(h, sd["features.5.weight"], sd["features.5.bias"])
  h = ref_conv_relu(h, sd["features.7.weight"], sd["features.7.bias"])
  np.testing.assert_allclose(f22, h, rtol=1e-4, atol=1e-4)
  assert len(model.convs) == 4                                       # not built past relu2_2
  # Plain mapping without the "features." prefix works too.
  vgg.load_torchvision_vgg16(model, {k[len("features."):]: v for k, v in sd.items()
                                     if k.startswith("features.")})
  bad = dict(sd)
  bad["features.2.weight"] = bad["features.2.weight"][:, :2]
  with pytest.raises(ValueError, match="features.2.weight has shape"):
    vgg.load_torchvision_vgg16(model, bad)
  with pytest.raises(KeyError, match="features.7"):
    vgg.load_torchvision_vgg16(model, {k: v for k, v in sd.items() if ".7." not in k})
  with pytest.raises(ValueError, match="unknown VGG-16 layer"):
    vgg.VGG16Features(layers=("conv1_1",), rngs=nnx.Rngs(0))


def test_vgg16_with_losses_no_retrace():
  model = vgg.VGG16Features(layers=("relu1_2", "relu2_1"), channels=(4, 4, 4, 4, 4),
                            rngs=nnx.Rngs(1))
  fn, params = vgg.vgg16_feature_fn(model)
  p, t = _imgs((2, 4, 4, 3))
  a = jaxloss.perceptual_loss(p, t, feature_fn=fn, params=params)
  fs_p, fs_t = model(jnp.asarray(p)), model(jnp.asarray(t))
  want = sum(np.mean((np.asarray(u, np.float64) - np.asarray(v)) ** 2)
             for u, v in zip(fs_p, fs_t, strict=True))
  np.testing.assert_allclose(a, want, rtol=1e-5)
  n = jaxloss.perceptual_loss._jitted._cache_size()
  fn2, params2 = vgg.vgg16_feature_fn(model)           # rebuilt each step: same cache entry
  jaxloss.perceptual_loss(t, p, feature_fn=fn2, params=params2)
  assert jaxloss.perceptual_loss._jitted._cache_size() == n
  g = jax.grad(lambda q: jaxloss.style_loss(q, t, feature_fn=fn, params=params))(jnp.asarray(p))
  chex.assert_tree_all_finite(g)
  assert float(jnp.abs(g).sum()) > 0


def test_text_image_matching_loss_matches_numpy_clip():
  from scipy.special import log_softmax

  rng = np.random.default_rng(5)
  img, txt = rng.normal(size=(6, 8)), rng.normal(size=(6, 8))
  a = img / np.linalg.norm(img, axis=1, keepdims=True)
  b = txt / np.linalg.norm(txt, axis=1, keepdims=True)
  z = a @ b.T / 0.07
  ref = 0.5 * (-np.diag(log_softmax(z, axis=1)) - np.diag(log_softmax(z, axis=0)))
  got = jaxloss.text_image_matching_loss(jnp.asarray(img, jnp.float32),
                                         jnp.asarray(txt, jnp.float32), reduction="none")
  np.testing.assert_allclose(got, ref, rtol=1e-4)
  np.testing.assert_allclose(jaxloss.text_image_matching_loss(
      jnp.asarray(img, jnp.float32), jnp.asarray(txt, jnp.float32)), ref.mean(), rtol=1e-4)
