"""Token x vocabulary tiling of losses on linear heads (internal; one place for the chunking).

A *head* is a linear classifier applied to hidden states: logits ``h @ w.T (+ b)``
(optionally soft-capped), ``h`` of shape ``(N, D)`` and ``w`` of shape ``(V, D)``.
The fused losses of this package (``linear_cross_entropy``, the fused
distillation losses) never materialise the ``(N, V)`` logits of their heads:

* :func:`forward` scans token tiles; within a tile it hands the loss a
  ``scan_vocab(fold, init)`` that scans the vocabulary in chunks, computing one
  ``(tile, chunk)`` block of logits per head and folding it into the loss's
  running per-row statistics (an online log-sum-exp and whatever else the loss
  needs; a loss may scan the vocabulary more than once). The loss returns
  per-row arrays, which are written at the tile's rows.
* :func:`backward` runs the other way round — vocabulary chunks outside, token
  tiles inside — recomputing each block of logits, asking the loss for the
  gradient of its per-row losses with respect to that block, and accumulating
  the hidden-state, weight and bias gradients. Each chunk's weight gradient is
  summed in float32 locally and written once in the weight's dtype; only the
  hidden-state gradients (float32) are carried across the whole pass.

A tile or chunk that does not divide ``N`` or ``V`` is slid back to end at ``N``
or ``V`` (no padded copy of hidden or weight): rows it shares with the
previous tile are recomputed identically (forward) and their gradients are
added once (backward); columns shared with the previous chunk are masked
(``fresh_cols`` is False for them: a loss's fold must ignore them, and the
engine zeroes their logit gradients).

Rows where ``valid`` is False have their hidden states replaced by 0 inside
each tile (double where: a NaN there reaches no matmul, and no masked copy of
``hidden`` is made); the loss must give them a zero row loss and a zero
cotangent.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx


class Head(NamedTuple):
  """One linear head: ``h`` ``(N, D)`` and ``w`` ``(V, D)`` in the matmul dtype; ``b``
  ``(V,)`` in the compute dtype or None; ``cap`` a soft cap (array) or None."""

  h: jax.Array
  w: jax.Array
  b: jax.Array | None = None
  cap: jax.Array | None = None


def soft_cap(x, cap):
  """``cap * tanh(x / cap)`` and its derivative ``1 - tanh^2``."""
  t = jnp.tanh(x / cap)
  return cap * t, 1.0 - t * t


def block(x, start, size):
  """``x[start:start + size]`` behind an optimisation barrier.

  Without it XLA:CPU (which has no bfloat16 matmul) hoists the per-block
  conversion to float32 out of the loop, i.e. converts the whole weight once:
  a float32 copy of a bfloat16 weight is exactly what the loop avoids.
  """
  return jax.lax.optimization_barrier(jax.lax.dynamic_slice_in_dim(x, start, size))


def slide(c, size, total):
  """Start of block ``c`` of ``size`` within ``total``, slid back to fit."""
  return jnp.minimum(c * size, total - size)


def rows(x, r0, tile):
  """The rows ``[r0, r0 + tile)`` of a per-row array."""
  return jax.lax.dynamic_slice_in_dim(x, r0, tile)


def block_logits(ht, wc, bc, cap):
  """Logits of a token tile ``ht`` against a weight block ``wc``: a matmul in the
  inputs' dtype (bfloat16 stays bfloat16) accumulating in float32 (float64
  under x64); ``(z, dz/dx)`` with ``dz/dx`` None without a soft cap."""
  acc = nx.compute_dtype(ht, wc)
  x = jax.lax.dot_general(ht, wc, (((1,), (1,)), ((), ())), preferred_element_type=acc)
  if bc is not None:
    x = x + bc.astype(acc)
  if cap is not None:
    return soft_cap(x, cap)
  return x, None


def num_blocks(n, v, tile, chunk):
  return -(-n // tile), -(-v // chunk)


def tile_sizes(n, v, d, chunk_size, max_temp_bytes, blocks=3):
  """(token tile, vocabulary chunk) whose live blocks fit ``max_temp_bytes``.

  Per step the backward pass holds about ``blocks`` float32 ``tile x chunk``
  blocks (for one head: logits, their exponentials, the logit gradient), the
  ``chunk x d`` float32 weight-gradient accumulators and their merge into the
  gradient (or a float32 copy of a low-precision chunk), and ``tile x d``
  hidden blocks, ``d`` the summed hidden widths of the heads. The vocabulary
  chunk is ``chunk_size``, halved (not below 128) until the chunk blocks and
  256 token rows (or N) each take at most half the budget; the token tile
  then takes what is left.
  """
  per = 4 * blocks
  chunk = min(chunk_size, v)
  r = min(n, 256)
  half = max_temp_bytes // 2
  while chunk > 128 and (8 * chunk * d > half or per * r * chunk > half):
    chunk //= 2
  chunk = min(max(chunk, 1), v)
  tile = (max_temp_bytes - 8 * chunk * d) // (per * chunk + 8 * d)
  return int(min(max(tile, 8), n)), int(chunk)


def _tile_hidden(heads, valid, r0, tile):
  ok = rows(valid, r0, tile)
  return ok, [jnp.where(ok[:, None], block(hd.h, r0, tile), 0) for hd in heads]


def _chunk_weights(heads, c0, chunk):
  return ([block(hd.w, c0, chunk) for hd in heads],
          [None if hd.b is None else jax.lax.dynamic_slice_in_dim(hd.b, c0, chunk)
           for hd in heads])


def forward(heads, valid, tile, chunk, tile_fn, num_out, dtype):
  """Per-row outputs of a tiled loss.

  ``tile_fn(scan_vocab, refs, r0, ok)`` returns ``num_out`` arrays of shape
  ``(tile,)`` for the rows ``[r0, r0 + tile)`` (``ok`` their validity), where
  ``refs`` holds each head's logits of class 0 (a per-row reference value) and
  ``scan_vocab(fold, init)`` returns the carry after
  ``fold(carry, zs, col_ids, fresh_cols)`` over every vocabulary chunk (``zs``
  the list of the heads' ``(tile, chunk)`` logits). Returns the ``num_out``
  ``(N,)`` arrays in ``dtype``.
  """
  n, vocab = heads[0].h.shape[0], heads[0].w.shape[0]
  nt, nv = num_blocks(n, vocab, tile, chunk)

  def token_tile(out, t):
    r0 = slide(t, tile, n)
    ok, hts = _tile_hidden(heads, valid, r0, tile)
    refs = [block_logits(ht, hd.w[:1], None if hd.b is None else hd.b[:1], hd.cap)[0][:, 0]
            for ht, hd in zip(hts, heads, strict=True)]

    def scan_vocab(fold, init):
      def step(carry, c):
        c0 = slide(c, chunk, vocab)
        wcs, bcs = _chunk_weights(heads, c0, chunk)
        zs = [block_logits(ht, wc, bc, hd.cap)[0]
              for ht, wc, bc, hd in zip(hts, wcs, bcs, heads, strict=True)]
        col_ids = c0 + jnp.arange(chunk)
        return fold(carry, zs, col_ids, col_ids >= c * chunk), None

      return jax.lax.scan(step, init, jnp.arange(nv))[0]

    vals = tile_fn(scan_vocab, refs, r0, ok)
    # Rows shared with the previous tile get the same values again.
    return tuple(jax.lax.dynamic_update_slice_in_dim(o, x.astype(dtype), r0, 0)
                 for o, x in zip(out, vals, strict=True)), None

  init = tuple(jnp.zeros((n,), dtype) for _ in range(num_out))
  return jax.lax.scan(token_tile, init, jnp.arange(nt))[0]


def backward(heads, need, valid, tile, chunk, dz_fn):
  """Gradients of a tiled loss with respect to the heads' ``h``, ``w`` and ``b``.

  ``need[k]`` says whether head ``k`` needs gradients.
  ``dz_fn(zs, r0, col_ids, fresh_cols)`` returns, per head, the gradient of the
  (cotangent-weighted) row losses with respect to its ``(tile, chunk)`` logits
  ``zs[k]`` (after the soft cap), or None for a head that needs none. Returns
  per head ``(dh, dw, db)`` (``db`` None without a bias), or None.
  """
  n, vocab = heads[0].h.shape[0], heads[0].w.shape[0]
  nt, nv = num_blocks(n, vocab, tile, chunk)
  f32 = nx.compute_dtype(*(x for hd in heads for x in (hd.h, hd.w)))
  idx = [k for k, nd in enumerate(need) if nd]

  def vocab_chunk(carry, c):
    dhs, dws, dbs = carry
    c0 = slide(c, chunk, vocab)
    wcs, bcs = _chunk_weights(heads, c0, chunk)
    col_ids = c0 + jnp.arange(chunk)
    fresh_cols = col_ids >= c * chunk

    def token_tile(inner, t):
      dhs, dwcs, dbcs = inner
      r0 = slide(t, tile, n)
      _, hts = _tile_hidden(heads, valid, r0, tile)
      out = [block_logits(ht, wc, bc, hd.cap)
             for ht, wc, bc, hd in zip(hts, wcs, bcs, heads, strict=True)]
      dzs = dz_fn([z for z, _ in out], r0, col_ids, fresh_cols)
      # A row's hidden gradient depends on that row only: rows shared with the
      # previous tile are added once (zeroed here), columns shared with the
      # previous chunk are zeroed too.
      fresh = (r0 + jnp.arange(tile) >= t * tile)[:, None] & fresh_cols[None, :]
      dhs, dwcs, dbcs = list(dhs), list(dwcs), list(dbcs)
      for j, k in enumerate(idx):
        dz = dzs[k]
        if out[k][1] is not None:
          dz = dz * out[k][1]
        dz = jnp.where(fresh, dz, 0.0)
        # float32 products for the gradients: one chunk (not the weight) upcast.
        dht = jax.lax.dot_general(dz, wcs[k].astype(f32), (((1,), (0,)), ((), ())),
                                  preferred_element_type=f32)
        dhs[j] = jax.lax.dynamic_update_slice_in_dim(dhs[j], rows(dhs[j], r0, tile) + dht, r0, 0)
        dwcs[j] = dwcs[j] + jax.lax.dot_general(dz, hts[k].astype(f32), (((0,), (0,)), ((), ())),
                                                preferred_element_type=f32)
        if dbcs[j] is not None:
          dbcs[j] = dbcs[j] + jnp.sum(dz, axis=0)
      return (tuple(dhs), tuple(dwcs), tuple(dbcs)), None

    zc = (tuple(jnp.zeros((chunk, heads[k].w.shape[1]), f32) for k in idx),
          tuple(None if heads[k].b is None else jnp.zeros((chunk,), f32) for k in idx))
    (dhs, dwcs, dbcs), _ = jax.lax.scan(token_tile, (dhs, *zc), jnp.arange(nt))
    dws, dbs = list(dws), list(dbs)
    for j in range(len(idx)):
      # Rows of a slid-back chunk that belong to the previous chunk keep theirs.
      dwc = dwcs[j].astype(dws[j].dtype)
      if vocab % chunk:
        dwc = jnp.where(fresh_cols[:, None], dwc, jax.lax.dynamic_slice_in_dim(dws[j], c0, chunk))
      dws[j] = jax.lax.dynamic_update_slice_in_dim(dws[j], dwc, c0, 0)
      if dbs[j] is not None:
        dbc = dbcs[j].astype(dbs[j].dtype)
        if vocab % chunk:
          dbc = jnp.where(fresh_cols, dbc, jax.lax.dynamic_slice_in_dim(dbs[j], c0, chunk))
        dbs[j] = jax.lax.dynamic_update_slice_in_dim(dbs[j], dbc, c0, 0)
    return (dhs, tuple(dws), tuple(dbs)), None

  init = (tuple(jnp.zeros(heads[k].h.shape, f32) for k in idx),
          tuple(jnp.zeros(heads[k].w.shape, heads[k].w.dtype) for k in idx),
          tuple(None if heads[k].b is None else jnp.zeros(heads[k].b.shape, heads[k].b.dtype)
                for k in idx))
  (dhs, dws, dbs), _ = jax.lax.scan(vocab_chunk, init, jnp.arange(nv))
  result = [None] * len(heads)
  for j, k in enumerate(idx):
    result[k] = (dhs[j].astype(heads[k].h.dtype), dws[j], dbs[j])
  return result
