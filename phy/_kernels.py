"""Compiled per-frame kernels (numba ``@njit(cache=True)``), with the numpy code as the reference.

``AVAILABLE`` says whether numba imported; without it the callers keep their numpy paths and a
warning says so once (never a crash). Kernels so far:

- :func:`viterbi_k7`: soft-decision Viterbi of the terminated K=7 [133, 171] code, one codeword,
  scalar loops over 64 states x 2 predecessors (full-length ML, no windows). Same bits as
  ``fec.viterbi_decode``'s numpy path wherever that one is exact ML (tests/test_phy_kernels.py).
"""

from __future__ import annotations

import warnings

import numpy as np

try:  # pragma: no cover - depends on the environment
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover
    AVAILABLE = False
    warnings.warn("numba is not installed: the PHY uses its numpy paths (slower per frame)", RuntimeWarning,
                  stacklevel=2)

K7_G0, K7_G1 = 0o133, 0o171


def _k7_outputs() -> np.ndarray:
    """uint8 [64, 2, 2]: coded bits (c0, c1) for new state ``ns`` reached from predecessor choice
    ``j`` (state = last 6 inputs, newest in bit 5; predecessor ``((ns & 31) << 1) | j``)."""
    out = np.empty((64, 2, 2), np.uint8)
    for ns in range(64):
        u = ns >> 5
        for j in range(2):
            reg = (u << 6) | (((ns & 31) << 1) | j)
            out[ns, j, 0] = bin(reg & K7_G0).count("1") & 1
            out[ns, j, 1] = bin(reg & K7_G1).count("1") & 1
    out.setflags(write=False)
    return out


K7_OUT = _k7_outputs()

if AVAILABLE:

    @njit(cache=True)
    def _viterbi_k7(llr, out):  # pragma: no cover - compiled
        steps = llr.size // 2
        pm = np.full(64, -1e300)
        pm[0] = 0.0
        new = np.empty(64)
        dec = np.empty((steps, 64), np.uint8)
        for t in range(steps):
            l0 = llr[2 * t]
            l1 = llr[2 * t + 1]
            for ns in range(64):
                best = -np.inf
                bj = 0
                for j in range(2):
                    s = ((ns & 31) << 1) | j
                    m = pm[s]
                    m += l0 if out[ns, j, 0] == 0 else -l0
                    m += l1 if out[ns, j, 1] == 0 else -l1
                    if m > best:
                        best = m
                        bj = j
                new[ns] = best
                dec[t, ns] = bj
            top = new.max()
            for ns in range(64):
                pm[ns] = new[ns] - top
        bits = np.empty(steps, np.uint8)
        state = 0
        for t in range(steps - 1, -1, -1):
            bits[t] = state >> 5
            state = ((state & 31) << 1) | dec[t, state]
        return bits


def viterbi_k7(llr: np.ndarray) -> np.ndarray:
    """Information bits (uint8 [n]) of one terminated codeword from ``llr`` (float [2 (n + 6)],
    ``log P(0)/P(1)``). Requires numba (``AVAILABLE``)."""
    llr = np.ascontiguousarray(llr, dtype=np.float64)
    return _viterbi_k7(llr, K7_OUT)[: llr.size // 2 - 6]
