"""Small example inputs for the catalog (valid, batched, deterministic)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def normal(key, shape, scale=1.0):
  return scale * jax.random.normal(key, shape, jnp.float32)


def uniform(key, shape, lo=0.0, hi=1.0):
  return jax.random.uniform(key, shape, jnp.float32, lo, hi)


def pair(key, shape=(8, 5)):
  """(predictions, targets) of the same shape."""
  k1, k2 = jax.random.split(key)
  return normal(k1, shape), normal(k2, shape)


def logits_and_labels(key, shape=(8, 5), num_classes=None):
  """(logits, integer labels) with classes on the last axis."""
  k1, k2 = jax.random.split(key)
  logits = normal(k1, shape, 2.0)
  labels = jax.random.randint(k2, shape[:-1], 0, shape[-1])
  return logits, labels


def logits_and_soft(key, shape=(8, 5)):
  k1, k2 = jax.random.split(key)
  return normal(k1, shape, 2.0), jax.nn.softmax(normal(k2, shape), axis=-1)


def binary_logits_and_labels(key, shape=(8, 5)):
  k1, k2 = jax.random.split(key)
  logits = normal(k1, shape, 2.0)
  labels = jax.random.bernoulli(k2, 0.3, shape).astype(jnp.float32)
  return logits, labels


def signs(key, shape):
  return jnp.where(jax.random.bernoulli(key, 0.5, shape), 1.0, -1.0)
