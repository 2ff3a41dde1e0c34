"""Large-vocabulary cross-entropy: naive (optax on materialised logits) vs chunked, one run.

    python -m benchmarks.bench_scalable [--sizes 8192x1024x65536 2048x512x16384]
                                        [--chunk 4096] [--repeats 3] [--time-naive-max 2e9]
                                        [--dtype float32|bfloat16] [--max-temp-bytes B]

For each N x D x V: forward+backward (value_and_grad w.r.t. hidden and weight) of
``optax.losses.softmax_cross_entropy_with_integer_labels(hidden @ weight.T, labels)``
and of ``jaxloss.linear_cross_entropy(hidden, weight, labels, chunk_size=...)`` (and
``jaxloss.chunked_cross_entropy`` on existing logits vs optax), reporting peak temporary
memory from the compiled executable's ``memory_analysis()`` and the median wall time.
Sizes whose naive logits exceed ``--time-naive-max`` bytes are compiled (memory) but
only timed for the chunked version, to keep the run short on a small CPU machine.
The naive and the chunked ``value_and_grad`` are timed interleaved (one call of each
per round, ``--repeats`` rounds), so a busy phase of a shared machine hits both alike.
``--dtype bfloat16`` passes bfloat16 ``hidden`` and ``weight`` to both.

``--ops`` adds the fused linear-head losses (issue 21), each against the unfused
jaxloss loss on materialised logits, the N tokens and one shared D for student and
teacher: ``kd`` (``linear_distillation_loss`` vs ``distillation_loss``), ``jsd``
(``linear_generalized_jsd_loss`` vs ``generalized_jsd_loss``), both differentiated
with respect to the student only (teacher frozen: the usual case) and, with
``kd-both``, with respect to both models; ``dpo`` (``linear_dpo_loss`` vs
``dpo_loss`` of log-probabilities gathered from ``log_softmax(h @ w.T)``, N/2 chosen
and N/2 rejected tokens in sequences of 512). Their memory is compiled from abstract
shapes (nothing is allocated), so any size can be analysed; they are timed only
when the naive logits fit ``--time-naive-max``.
"""

import argparse

import jax
import jax.numpy as jnp
import optax

import jaxloss
from benchmarks._timing import markdown, time_fn, time_interleaved, write_results


def naive_linear(h, w, y):
  return jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(h @ w.T, y))


def temp_bytes(fn, *args):
  compiled = jax.jit(fn).lower(*args).compile()
  return compiled.memory_analysis().temp_size_in_bytes


def _seq_logps(h, w, y):
  logp = jax.nn.log_softmax(h @ w.T)
  tok = jnp.take_along_axis(logp, jnp.maximum(y, 0)[..., None], -1)[..., 0]
  return jnp.sum(jnp.where(y != -100, tok, 0.0), -1)


def fused_cases(op, n, d, v, dt):
  """``(naive, fused, argnums, abstract args, concrete-args maker)`` of one fused op."""
  sd = jax.ShapeDtypeStruct
  if op in ("kd", "kd-both", "jsd"):
    argnums = (0, 1, 2, 3) if op == "kd-both" else (0, 1)
    unfused, fused = {
        "kd": (jaxloss.distillation_loss, jaxloss.linear_distillation_loss),
        "kd-both": (jaxloss.distillation_loss, jaxloss.linear_distillation_loss),
        "jsd": (jaxloss.generalized_jsd_loss, jaxloss.linear_generalized_jsd_loss)}[op]
    abstract = (sd((n, d), dt), sd((v, d), dt), sd((n, d), dt), sd((v, d), dt))

    def make():
      k = jax.random.split(jax.random.key(1), 4)
      return (jax.random.normal(k[0], (n, d), jnp.float32).astype(dt),
              (jax.random.normal(k[1], (v, d), jnp.float32) / d**0.5).astype(dt),
              jax.random.normal(k[2], (n, d), jnp.float32).astype(dt),
              (jax.random.normal(k[3], (v, d), jnp.float32) / d**0.5).astype(dt))

    naive = jax.value_and_grad(
        lambda hs, ws, ht, wt: unfused(hs @ ws.T, ht @ wt.T, temperature=2.0), argnums)
    ours = jax.value_and_grad(
        lambda hs, ws, ht, wt: fused(hs, ws, ht, wt, temperature=2.0), argnums)
    return naive, ours, abstract, make
  # dpo: N/2 chosen and N/2 rejected tokens, sequences of (up to) 512 tokens.
  t = min(512, n // 2)
  b = max(n // (2 * t), 1)
  abstract = (sd((b, t, d), dt), sd((b, t, d), dt), sd((v, d), dt), sd((b, t), jnp.int32),
              sd((b, t), jnp.int32), sd((b,), jnp.float32), sd((b,), jnp.float32))

  def make():
    k = jax.random.split(jax.random.key(2), 5)
    prompt = jnp.arange(t) < t // 4
    return (jax.random.normal(k[0], (b, t, d), jnp.float32).astype(dt),
            jax.random.normal(k[1], (b, t, d), jnp.float32).astype(dt),
            (jax.random.normal(k[2], (v, d), jnp.float32) / d**0.5).astype(dt),
            jnp.where(prompt, -100, jax.random.randint(k[3], (b, t), 0, v)),
            jnp.where(prompt, -100, jax.random.randint(k[4], (b, t), 0, v)),
            jnp.full((b,), -1e3), jnp.full((b,), -1e3))

  naive = jax.value_and_grad(
      lambda hc, hr, w, yc, yr, rc, rr: jaxloss.dpo_loss(_seq_logps(hc, w, yc),
                                                         _seq_logps(hr, w, yr), rc, rr),
      (0, 1, 2))
  ours = jax.value_and_grad(jaxloss.linear_dpo_loss, (0, 1, 2))
  return naive, ours, abstract, make


def fused_row(op, n, d, v, dt, dtype_name, repeats, time_naive_max):
  naive, ours, abstract, make = fused_cases(op, n, d, v, dt)
  row = {"op": op, "dtype": dtype_name, "N": n, "D": d, "V": v,
         "naive_temp_MB": temp_bytes(naive, *abstract) / 2**20,
         "chunked_temp_MB": temp_bytes(ours, *abstract) / 2**20}
  row["mem_ratio"] = row["naive_temp_MB"] / row["chunked_temp_MB"]
  # Two (N, V) logits for distillation (student and teacher); DPO's N/2 chosen and
  # N/2 rejected tokens make one, but its log_softmax and gather double it again.
  if 2 * n * v * 4 <= time_naive_max:
    args = make()
    base, fast = time_interleaved([(naive, args), (ours, args)], min_repeats=repeats,
                                  max_repeats=repeats)
    row.update(naive_s=base["median_s"], chunked_s=fast["median_s"],
               time_ratio=fast["median_s"] / base["median_s"])
    (v0, _), (v1, _) = naive(*args), ours(*args)
    row["rel_err"] = float(abs(v1 - v0) / abs(v0))
  return row


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--sizes", nargs="+", default=["8192x1024x65536", "2048x512x16384"])
  parser.add_argument("--chunk", type=int, default=4096)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--time-naive-max", type=float, default=2**31 + 1)
  parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
  parser.add_argument("--max-temp-bytes", type=int, default=None)
  parser.add_argument("--ops", nargs="+", default=["lce"],
                      choices=("lce", "kd", "kd-both", "jsd", "dpo"))
  args = parser.parse_args()
  dt = getattr(jnp, args.dtype)
  extra = {} if args.max_temp_bytes is None else {"max_temp_bytes": args.max_temp_bytes}
  rows = []
  chunk = args.chunk
  for size in args.sizes:
    n, d, v = (int(s) for s in size.split("x"))
    for op in args.ops:
      if op != "lce":
        rows.append(fused_row(op, n, d, v, dt, args.dtype, args.repeats, args.time_naive_max))
        print(rows[-1], flush=True)
    if "lce" not in args.ops:
      continue
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    h = jax.random.normal(k1, (n, d), jnp.float32).astype(dt)
    w = (jax.random.normal(k2, (v, d), jnp.float32) / d**0.5).astype(dt)
    y = jax.random.randint(k3, (n,), 0, v)

    naive_vg = jax.value_and_grad(naive_linear, (0, 1))
    ours_vg = jax.value_and_grad(
        lambda h, w, y: jaxloss.linear_cross_entropy(h, w, y, chunk_size=chunk, **extra),
        (0, 1))
    time_naive = n * v * 4 <= args.time_naive_max
    row = {"op": "linear CE", "dtype": args.dtype, "N": n, "D": d, "V": v, "chunk": chunk,
           "naive_temp_MB": temp_bytes(naive_vg, h, w, y) / 2**20,
           "chunked_temp_MB": temp_bytes(ours_vg, h, w, y) / 2**20}
    row["mem_ratio"] = row["naive_temp_MB"] / row["chunked_temp_MB"]
    if time_naive:
      base, ours = time_interleaved([(naive_vg, (h, w, y)), (ours_vg, (h, w, y))],
                                    min_repeats=args.repeats, max_repeats=args.repeats)
      row["naive_s"] = base["median_s"]
      row["chunked_s"] = ours["median_s"]
      row["time_ratio"] = ours["median_s"] / base["median_s"]
      # Same values as the naive loss.
      (v0, _), (v1, _) = naive_vg(h, w, y), ours_vg(h, w, y)
      row["rel_err"] = float(abs(v1 - v0) / abs(v0))
    else:
      row["chunked_s"] = time_fn(ours_vg, h, w, y, repeats=args.repeats)["median_s"]
    rows.append(row)
    print(row, flush=True)

    if time_naive and args.dtype == "float32":
      logits = h @ w.T
      naive_c = jax.value_and_grad(
          lambda x, y: jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(x, y)))
      ours_c = jax.value_and_grad(
          lambda x, y: jaxloss.chunked_cross_entropy(x, y, chunk_size=chunk))
      row = {"op": "chunked CE (logits given)", "N": n, "D": d, "V": v, "chunk": chunk,
             "naive_temp_MB": temp_bytes(naive_c, logits, y) / 2**20,
             "chunked_temp_MB": temp_bytes(ours_c, logits, y) / 2**20}
      row["mem_ratio"] = row["naive_temp_MB"] / max(row["chunked_temp_MB"], 1e-9)
      base = time_fn(naive_c, logits, y, repeats=args.repeats)
      ours = time_fn(ours_c, logits, y, repeats=args.repeats)
      row.update(naive_s=base["median_s"], chunked_s=ours["median_s"],
                 time_ratio=ours["median_s"] / base["median_s"])
      rows.append(row)
      print(row, flush=True)
      del logits

  cols = ["op", "dtype", "N", "D", "V", "chunk", "naive_temp_MB", "chunked_temp_MB", "mem_ratio",
          "naive_s", "chunked_s", "time_ratio", "rel_err"]
  print(markdown(rows, cols))
  print(f"\nwrote {write_results('scalable', rows)}")


if __name__ == "__main__":
  main()
