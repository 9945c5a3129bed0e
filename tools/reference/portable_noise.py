#!/usr/bin/env python3
"""Reference for shared/engine/noise (portable seeded Gaussian noise): the same float32 bits as gaussianNoise().

Philox4x32-10 on pure Python ints; ln, sin(2*pi*u) and cos(2*pi*u) with the same IEEE double operations, in the
same order, as shared/engine/noise/gaussian.ts (CPython float ops are exactly rounded doubles with no FMA
contraction). NumPy is used only for the float32 rounding and the output array.

Usage: portable_noise.py SEED DIM [DIM ...]   -> raw little-endian float32 of the tensor on stdout
"""

from __future__ import annotations

import math
import struct
import sys

import numpy as np

MASK32 = 0xFFFFFFFF
M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
TWO32 = 4294967296.0


def philox4x32_10(ctr, key, rounds=10):
    """Philox4x32-R (Random123) on Python ints; returns 4 uint32 words."""
    c0, c1, c2, c3 = (int(x) & MASK32 for x in ctr)
    k0, k1 = (int(x) & MASK32 for x in key)
    for r in range(rounds):
        if r > 0:
            k0 = (k0 + W0) & MASK32
            k1 = (k1 + W1) & MASK32
        p0 = M0 * c0
        p1 = M1 * c2
        hi0, lo0 = p0 >> 32, p0 & MASK32
        hi1, lo1 = p1 >> 32, p1 & MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


LN2_HI = 6.93147180369123816490e-1
LN2_LO = 1.9082149292705877e-10
SQRT2 = 1.4142135623730951
PIO2 = 1.5707963267948966
L1, L2, L3, L4, L5, L6 = 2 / 3, 2 / 5, 2 / 7, 2 / 9, 2 / 11, 2 / 13
L7, L8, L9, L10, L11 = 2 / 15, 2 / 17, 2 / 19, 2 / 21, 2 / 23
S1, S2, S3 = -1 / 6, 1 / 120, -1 / 5040
S4, S5, S6 = 1 / 362880, -1 / 39916800, 1 / 6227020800
S7, S8, S9 = -1 / 1307674368000, 1 / 355687428096000, -1 / 121645100408832000
C2, C3, C4 = 1 / 24, -1 / 720, 1 / 40320
C5, C6, C7 = -1 / 3628800, 1 / 479001600, -1 / 87178291200
C8, C9 = 1 / 20922789888000, -1 / 6402373705728000


def portable_ln(x: float) -> float:
    """gaussian.ts portableLn, op for op."""
    if x != x or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    if x == math.inf:
        return math.inf
    e = 0
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    hi = bits >> 32
    if hi < 0x00100000:
        x *= 18014398509481984.0
        e = -54
        bits = struct.unpack("<Q", struct.pack("<d", x))[0]
        hi = bits >> 32
    e += (hi >> 20) - 1023
    lo = bits & MASK32
    m = struct.unpack("<d", struct.pack("<Q", (((hi & 0x000FFFFF) | 0x3FF00000) << 32) | lo))[0]
    if m > SQRT2:
        m *= 0.5
        e += 1
    f = m - 1
    s = f / (2 + f)
    z = s * s
    r = z * (L1 + z * (L2 + z * (L3 + z * (L4 + z * (L5 + z * (L6 + z * (L7 + z * (L8 + z * (L9 + z * (L10 + z * L11))))))))))
    hfsq = 0.5 * f * f
    e = float(e)
    return e * LN2_HI - (hfsq - (s * (hfsq + r) + e * LN2_LO) - f)


def sin_cos_2pi(u: float):
    """gaussian.ts sinCos2Pi, op for op: (sin(2*pi*u), cos(2*pi*u))."""
    t = 4 * u
    n = float(math.floor(t))
    r = t - n
    if r > 0.5:
        r -= 1
        n += 1
    phi = r * PIO2
    z = phi * phi
    sin = phi + phi * z * (S1 + z * (S2 + z * (S3 + z * (S4 + z * (S5 + z * (S6 + z * (S7 + z * (S8 + z * S9))))))))
    cos = 1 - (0.5 * z - z * z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * (C6 + z * (C7 + z * (C8 + z * C9))))))))
    q = int(n) % 4
    if q == 0:
        return sin, cos
    if q == 1:
        return cos, -sin
    if q == 2:
        return -sin, -cos
    return -cos, sin


def gaussian_noise(seed: int, dims) -> np.ndarray:
    """Element k depends on (seed, k) only: block k // 4 of Philox, lanes (rho*cos, rho*sin) x 2."""
    if not isinstance(seed, int) or seed < 0 or seed >= 2**53:
        raise ValueError(f"seed must be an integer in [0, 2^53 - 1], got {seed!r}")
    n = 1
    for d in dims:
        n *= int(d)
    key = (seed & MASK32, seed >> 32)
    out = np.empty(n, dtype=np.float64)
    for b in range((n + 3) // 4):
        w = philox4x32_10((b & MASK32, b >> 32, 0, 0), key)
        lanes = []
        for p in range(2):
            u1 = (w[2 * p] + 0.5) / TWO32
            u2 = (w[2 * p + 1] + 0.5) / TWO32
            rho = math.sqrt(-2 * portable_ln(u1))
            s, c = sin_cos_2pi(u2)
            lanes += [rho * c, rho * s]
        for j in range(4):
            k = 4 * b + j
            if k < n:
                out[k] = lanes[j]
    return out.astype(np.float32).reshape([int(d) for d in dims])


def main(argv) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    seed = int(argv[0])
    dims = [int(d) for d in argv[1:]]
    sys.stdout.buffer.write(gaussian_noise(seed, dims).astype("<f4").tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
