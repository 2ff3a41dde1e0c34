"""Computes log Z(alpha) of Barron's distribution offline; writes jaxloss/adaptive/_barron_table.py.

    Z(alpha) = integral over R of exp(-rho(x, alpha, 1)) dx,   alpha in [0, inf]

rho is Barron's general loss (scale 1). Z and d log Z / d alpha (from the
analytic d rho / d alpha under the integral) are integrated with
scipy.integrate.quad in float64 (relative tolerance 2e-14; agrees with Barron's
Meijer-G golden values to ~1e-10). jaxloss interpolates log Z by cubic Hermite
polynomials (C1) on three knot sets, one per variable:

  A  v = alpha        on [0, 1]   (log Z ~ c0 + c1 a + c2 a^2 log a near 0)
  B  v = alpha - 2    on [-1, 2]  (log Z ~ c0 + 0.25 v log|v| + c1 v near 2:
                                   d log Z / d alpha = -inf at alpha = 2)
  C  v = 4 / alpha    on [0, 1]   (alpha in [4, inf]; smooth in 1 / alpha)

Knots in A and B are graded towards the singular point: binade [2^e, 2^(e+1))
holds K_e uniform intervals, K_e the smallest power of two whose interpolation
error (checked at t = 1/4, 1/2, 3/4 of each interval) is below TOL. Every knot
is a dyadic number exact in float32, and alpha - 2 is exact in float32 for
alpha in [1, 4] (Sterbenz), so the local coordinate is exact: a float32
evaluation loses only the final rounding. At alpha = 2 (v = 0) the true
derivative is -inf; the knot gets the mean secant slope of the two innermost
intervals [+-2^-24] (interpolation error there <= 0.1 * 2^-24).

Run: python scripts/make_partition_table.py  (about a minute)
"""

import itertools
import pathlib

import numpy as np
from scipy import integrate

TOL = 1.5e-8          # absolute error target of the interpolant (log Z in [0.70, 1.50])
E_MIN = -24           # innermost binade [2^-24, 2^-23)
K_MAX = 256
_PARTS = ((0.0, 1.0), (1.0, 4.0), (4.0, 16.0), (16.0, np.inf))


def rho(x, a):
  z = x * x
  if a == 2.0:
    return 0.5 * z
  if a == 0.0:
    return np.log1p(0.5 * z)
  if a == np.inf:
    return np.expm1(0.5 * z)
  b = abs(a - 2.0)
  return b / a * np.expm1(0.5 * a * np.log1p(z / b))


def drho(x, a):
  """d rho / d alpha; at alpha = 0 its limit."""
  z = x * x
  if a == 0.0:
    lg = np.log1p(0.5 * z)
    return z / (2 * (2 + z)) - lg / 2 + lg * lg / 4
  b, s = abs(a - 2.0), np.sign(a - 2.0)
  lg = np.log1p(z / b)
  p = np.exp(0.5 * a * lg)
  dlnp = 0.5 * lg - a * z * s / (2 * b * (b + z))
  return (s / a - b / a**2) * (p - 1) + (b / a) * p * dlnp


def _quad(f):
  return sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=2e-14, limit=1000)[0]
             for lo, hi in _PARTS)


def log_z(a):
  return float(np.log(2 * _quad(lambda x: np.exp(-rho(x, a)))))


def dlog_z(a):
  """d log Z / d alpha = -E[d rho / d alpha]; alpha not 2 (-inf there) nor inf."""
  z = _quad(lambda x: np.exp(-rho(x, a)))

  def g(x):
    r = rho(x, a)
    return 0.0 if r > 700 else -drho(x, a) * np.exp(-r)

  return float(_quad(g) / z)


class Region:
  """log Z as a function of v, alpha = to_alpha(v); derivatives d log Z / d v."""

  def __init__(self, name, to_alpha, dalpha_dv):
    self.name, self.to_alpha, self.dalpha_dv = name, to_alpha, dalpha_dv
    self._cache = {}

  def f(self, v):
    if v not in self._cache:
      self._cache[v] = log_z(self.to_alpha(v))
    return self._cache[v]

  def df(self, v):
    key = ("d", v)
    if key not in self._cache:
      self._cache[key] = dlog_z(self.to_alpha(v)) * self.dalpha_dv(v)
    return self._cache[key]


def hermite(y0, y1, d0, d1, w, t):
  return (y0 + t * (w * d0 + t * ((3 * (y1 - y0) - 2 * w * d0 - w * d1)
                                  + t * (w * d0 + w * d1 - 2 * (y1 - y0)))))


def interval_error(reg, v0, v1, d0=None, d1=None):
  d0 = reg.df(v0) if d0 is None else d0
  d1 = reg.df(v1) if d1 is None else d1
  w = v1 - v0
  return max(abs(hermite(reg.f(v0), reg.f(v1), d0, d1, w, t) - reg.f(v0 + t * w))
             for t in (0.25, 0.5, 0.75))


def graded_knots(reg, sign, e_top, v_end):
  """Knots sign * [2^E_MIN, ..., v_end], K_e per binade; returns sorted |v| list."""
  knots = [2.0**E_MIN]
  for e in range(E_MIN, e_top + 1):
    lo, hi = 2.0**e, min(2.0 ** (e + 1), v_end)
    k = 1
    while True:
      pts = [lo + (hi - lo) * j / k for j in range(k + 1)]
      err = max(interval_error(reg, sign * a, sign * b) for a, b in itertools.pairwise(pts))
      if err <= TOL or k >= K_MAX:
        break
      k *= 2
    print(f"  {reg.name} {'+' if sign > 0 else '-'} binade 2^{e}: K={k}, err={err:.2e}")
    knots += pts[1:]
    if hi >= v_end:
      break
  return knots


def main():
  a_reg = Region("A", lambda v: v, lambda v: 1.0)
  b_reg = Region("B", lambda v: v + 2.0, lambda v: 1.0)
  c_reg = Region("C", lambda v: np.inf if v == 0 else 4.0 / v, lambda v: -4.0 / v**2)

  # A: alpha in [0, 1]; the derivative at alpha = 0 is finite (limit of d rho).
  ka = [0.0] + graded_knots(a_reg, 1.0, -1, 1.0)
  # B: v = alpha - 2 in [-1, 2].
  kb_pos = graded_knots(b_reg, 1.0, 0, 2.0)
  kb_neg = graded_knots(b_reg, -1.0, -1, 1.0)
  kb = [-v for v in reversed(kb_neg)] + [0.0] + kb_pos
  # C: u = 4 / alpha in [0, 1], uniform; d/du at u = 0 by Richardson extrapolation.
  us = [2.0**-12, 2.0**-11, 2.0**-10]
  d = [c_reg.df(u) for u in us]
  d_inf = (8 * d[0] - 6 * d[1] + d[2]) / 3        # quadratic extrapolation to u = 0
  c_reg._cache[("d", 0.0)] = d_inf
  k = 1
  while True:
    kc = [j / k for j in range(k + 1)]
    err = max(interval_error(c_reg, a, b) for a, b in itertools.pairwise(kc))
    if err <= TOL:
      break
    k *= 2
  print(f"  C: K={k}, err={err:.2e}")

  def table(reg, knots, derivs=None):
    vals = [reg.f(v) for v in knots]
    ders = derivs or [reg.df(v) for v in knots]
    return np.array(knots), np.array(vals), np.array(ders)

  # B's knot at v = 0: the mean secant slope of the two innermost intervals.
  h = 2.0**E_MIN
  s0 = 0.5 * ((b_reg.f(h) - b_reg.f(0.0)) / h + (b_reg.f(0.0) - b_reg.f(-h)) / h)
  b_reg._cache[("d", 0.0)] = s0
  for lo, hi in ((-h, 0.0), (0.0, h)):
    print(f"  B innermost [{lo:.1e}, {hi:.1e}] err={interval_error(b_reg, lo, hi):.2e}")

  tabs = {"A": table(a_reg, ka), "B": table(b_reg, kb), "C": table(c_reg, kc)}
  for name, (kn, _, _) in tabs.items():
    print(f"  {name}: {len(kn)} knots")

  path = pathlib.Path(__file__).resolve().parents[1] / "jaxloss" / "adaptive" / "_barron_table.py"

  def fmt(xs):
    rows = [", ".join(repr(float(v)) for v in xs[i:i + 4]) for i in range(0, len(xs), 4)]
    return ",\n    ".join(rows)

  out = ['"""log Z(alpha) of Barron\'s distribution and d log Z / d v at the knots of three',
         'cubic Hermite interpolants (generated by scripts/make_partition_table.py with',
         'scipy.integrate.quad in float64; do not edit). Region A: v = alpha in [0, 1];',
         'B: v = alpha - 2 in [-1, 2]; C: v = 4 / alpha in [0, 1] (alpha in [4, inf])."""',
         ""]
  for name, (kn, vals, ders) in tabs.items():
    out += [f"KNOTS_{name} = (\n    {fmt(kn)},\n)\n",
            f"LOG_Z_{name} = (\n    {fmt(vals)},\n)\n",
            f"DLOG_Z_{name} = (\n    {fmt(ders)},\n)\n"]
  path.write_text("\n".join(out))
  print(f"wrote {path}")


if __name__ == "__main__":
  main()
