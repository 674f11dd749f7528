"""Synchronisation: Schmidl & Cox packet detection (running autocorrelation via cumulative sums),
fractional + integer CFO, and fine timing on the long training symbols.

CFO is in subcarrier spacings (``cfo_hz = eps * sample_rate / fft_size``).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from . import _kernels
from ._numeric import fft_ortho, matvec
from .config import OfdmConfig
from .preamble import Training


def detection_metric(x: np.ndarray, period: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Schmidl & Cox timing metric over every start position.

    Args:
        x: complex64 [n] samples.
        period: repetition lag D, samples.
        window: correlation length W, samples.
    Returns:
        (p2, r2): float64 [n - W - D + 1] each: ``|P(d)|^2`` and ``R(d)^2`` where
        ``P(d) = sum_{m<W} conj(x[d+m]) x[d+m+D]`` and R is the mean energy of both windows.
        Detection tests ``p2 > threshold * r2`` (no division on the hot path).
    """
    n = x.size - window - period + 1
    if n <= 0:
        return np.zeros(0), np.zeros(0)
    prod = np.conj(x[:-period]) * x[period:]  # complex64 [n - D]
    cp = np.empty(prod.size + 1, np.complex128)
    cp[0] = 0
    prod.cumsum(out=cp[1:])  # (the method: np.cumsum's Python wrapper costs more)
    p = cp[window : window + n] - cp[:n]
    e = np.empty(x.size + 1, np.float64)
    e[0] = 0
    (x.real * x.real + x.imag * x.imag).cumsum(out=e[1:])
    ew = e[window:] - e[: e.size - window]  # window energies at every start
    r = 0.5 * (ew[:n] + ew[period : period + n])
    return p.real * p.real + p.imag * p.imag, r * r


def detect_peak(x: np.ndarray, period: int, window: int, block: int, threshold: float) -> tuple[int, int, int, bool]:
    """Detection on ``x`` (complex64 [n], the search block plus the metric's look-ahead): the
    first start ``i < block`` whose metric crosses ``threshold`` and the peak climbed from it.

    The climb: d moves to the largest ``|P|^2 / R^2`` of the ``window`` starts that follow it
    until it stays (a stationary interferer - DC, a tone - can keep the metric above the
    threshold everywhere, so the first window may end just before a preamble and its argmax sit
    on the preamble's rising edge, one LTS early).

    Returns:
        ``(valid, i, d, complete)``: ``valid`` starts were tested (0: ``x`` too short for one
        metric value), ``i`` the first crossing (-1: none), ``d`` the peak, ``complete`` False
        when the climb reached the end of the metric (``d``: where to search again).
    """
    p2, r2 = detection_metric(x, period, window)
    if p2.size == 0:
        return 0, -1, -1, False
    valid = min(p2.size, block)
    hits = (p2[:valid] > threshold * r2[:valid]).nonzero()[0]
    if hits.size == 0:
        return valid, -1, -1, False
    i = int(hits[0])
    d = i
    while True:
        if d + window > p2.size:
            return valid, i, d, False
        d_next = d + int((p2[d : d + window] / (r2[d : d + window] + 1e-30)).argmax())
        if d_next == d:
            return valid, i, d, True
        d = d_next


def detect_peak_compiled(x: np.ndarray, period: int, window: int, block: int, threshold: float) -> tuple[int, int, int, bool]:
    """:func:`detect_peak` with the metric, threshold test and climb compiled
    (``_kernels._detect_nb``); bit-identical: the lag products come from the same numpy call,
    the sums run in the same order. Requires numba."""
    if x.size <= period:
        return 0, -1, -1, False
    prod = np.conj(x[:-period]) * x[period:]
    valid, i, d, complete = _kernels._detect_nb(x, prod, period, window, block, threshold)
    return int(valid), int(i), int(d), bool(complete)


@dataclasses.dataclass(frozen=True)
class SyncResult:
    """Result of :func:`synchronize`: indices are absolute stream indices when the caller passes
    the buffer's ``offset`` (the receiver does), else indices into the buffer passed."""

    lts_start: int  # index of the first LTS FFT window (timing back-off included)
    cfo: float  # subcarriers
    quality: float  # normalised LTS cross-correlation at the timing peak, 0..1
    frame_start: int  # index of the first preamble sample (estimated)


def coarse_cfo(x: np.ndarray, d: int, cfg: OfdmConfig) -> float:
    """Fractional CFO from the short preamble starting at ``d`` (buffer index), subcarriers, +-2."""
    period = cfg.short_period
    window = cfg.short_len - period
    seg = x[d : d + cfg.short_len].astype(np.complex128)
    p = complex(np.vdot(seg[:window], seg[period : period + window]))
    return math.atan2(p.imag, p.real) * cfg.fft_size / (2 * math.pi * period)


@functools.lru_cache(maxsize=64)
def _arange(n: int) -> np.ndarray:
    """Read-only ``arange(n)`` (sample indices of short segments)."""
    got = np.arange(n)
    got.setflags(write=False)
    return got


def rotate(x: np.ndarray, cfo: float, n0: int, fft_size: int) -> np.ndarray:
    """Remove a CFO of ``cfo`` subcarriers from ``x`` whose first sample has stream index ``n0``
    relative to the phase reference; complex128 [n]."""
    w = -2 * np.pi * cfo / fft_size  # rad per sample
    if x.size < 512:
        return x * np.exp(1j * w * (_arange(x.size) + n0))
    # long segments: outer product of a coarse and a fine phasor (complex exp is the costly
    # part; 2 sqrt(n) of them instead of n)
    blk = 64
    nb = -(-x.size // blk)
    ph = np.outer(np.exp(1j * w * (np.arange(nb) * blk + n0)), np.exp(1j * w * np.arange(blk))).ravel()
    return x * ph[: x.size]


def synchronize(
    x: np.ndarray, d: int, cfg: OfdmConfig, train: Training, verify_threshold: float, backoff: int,
    multipath_threshold: float | None = None, offset: int = 0,
) -> SyncResult | None:
    """Integer CFO, fine timing and fine CFO for a preamble detected at buffer index ``d``.

    ``x`` must hold samples up to ``d + preamble_len + cp_len``. Returns ``None`` if the
    normalised cross-correlation with the known LTS pair stays below ``verify_threshold`` at its
    peak lag (a false detection: on noise it is ~exponential with mean 1/(2U) per lag) and, if
    ``multipath_threshold`` is given, its sum over the ``L = 2 (cp//4) + 1`` lags around the peak (the
    energy of every path of a multipath channel, which the peak lag alone misses; on noise
    ~Gamma(L, 1/(2U)); a narrower window than the CP keeps the noise floor low) stays below that too.
    Indices in the result are ``offset`` + buffer indices (pass the absolute stream index of
    ``x[0]`` to get absolute indices).
    """
    n, cp = cfg.fft_size, cfg.cp_len
    search = cfg.timing_search
    eps_c = coarse_cfo(x, d, cfg)
    lts_nom = d + cfg.short_len + cfg.long_gi
    lo = lts_nom - search
    # the LTS pair and the timing search range around it, rotated by the coarse CFO (the
    # integer-CFO search uses its middle; the timing search reuses it for hypothesis 0)
    raw = x[lo : lts_nom + 2 * n + search]
    rot_c = rotate(raw, eps_c, lo - d, n)
    seg = rot_c[search : search + 2 * n]
    # integer CFO (multiples of the preamble's 4-subcarrier ambiguity), robust to the channel:
    # differential correlation of adjacent subcarriers against the known LTS
    y = fft_ortho(seg[:n] + seg[n:])
    z = y * np.conj(y.take(train.next_bin))  # y[k] conj(y[k+1]), cyclic
    mag = np.abs(z)
    hyps, idx = train.int_cfo_hyps, train.int_cfo_idx
    # (take: 2-D fancy indexing costs more)
    q = np.abs(matvec(z.take(idx), train.pair_ref_conj)) / (np.add.reduce(mag.take(idx), axis=1) + 1e-30)
    # the two best hypotheses go on to the time-domain check (at 0 dB the differential metric
    # alone picks a wrong one about 2 % of the time), all of them while none verifies (below
    # 0 dB the differential metric is often wrong; the thresholds count every hypothesis)
    ref = train.lts_pair_time
    order = q.argsort()[::-1]
    best = None
    for rank, g in enumerate(hyps[order].tolist()):
        if rank == 1 and best[0] > 2 * verify_threshold and q[order[1]] < 0.8 * q[order[0]]:
            break  # clear winner: skip the runner-up
        if rank >= 2 and best[0] >= verify_threshold:
            break
        eps_g = eps_c + float(g)
        seg_g = rot_c if g == 0 else rotate(raw, eps_g, lo - d, n)
        # cross-correlate with the LTS pair over the timing lags; normalised peak verifies
        c_g = np.correlate(seg_g, ref, mode="valid")
        c_g = c_g.real * c_g.real + c_g.imag * c_g.imag
        peak_g = int(c_g.argmax())
        w = seg_g[peak_g : peak_g + 2 * n]
        # normalised by the window's energy on the used bins only (the reference lives there):
        # on noise rho ~ Beta(1, 2U - 1) whatever the allocation, and a clean LTS gives 1 also
        # for sparse allocations (normalising by all N bins capped it at U/N)
        wf = fft_ortho(w.reshape(2, n)).take(train.used_bins, axis=1)
        energy = float(np.vdot(wf, wf).real) * train.lts_pair_energy
        rho_g = float(c_g[peak_g] / (energy + 1e-30))
        if best is None or rho_g > best[0]:
            best = (rho_g, eps_g, c_g, peak_g, seg_g)
    rho, eps, c, peak, seg = best
    if rho < verify_threshold:
        if multipath_threshold is None:
            return None
        half = cp // 4
        lo_l, hi_l = max(peak - half, 0), min(peak + half + 1, c.size)
        if float(np.add.reduce(c[lo_l:hi_l])) * rho / float(c[peak] + 1e-30) < multipath_threshold:
            return None
    # fine timing: the first path within 6 dB of the peak
    first = peak
    k0 = max(peak - cp // 2, 0)
    window = c[k0:peak].tolist()  # a few values: Python floats beat numpy scalar indexing
    level = 0.25 * float(c[peak])
    for k in range(len(window) - 1, -1, -1):
        if window[k] >= level:
            first = k0 + k
    t = lo + first - backoff  # buffer index of LTS1 FFT window
    # fine CFO from the two identical long symbols (lag N): +-0.5 subcarrier around eps; the
    # segment is already rotated by eps (a constant phase offset does not matter)
    a = seg[first - backoff : first - backoff + 2 * n] if first >= backoff else rotate(x[t : t + 2 * n], eps, t - d, n)
    v = complex(np.vdot(a[:n], a[n:]))
    eps += math.atan2(v.imag, v.real) / (2 * math.pi)
    start = t + backoff - cfg.long_gi - cfg.short_len
    return SyncResult(lts_start=t + offset, cfo=eps, quality=rho, frame_start=start + offset)


def synchronize_compiled(
    x: np.ndarray, d: int, cfg: OfdmConfig, train: Training, verify_threshold: float, backoff: int,
    multipath_threshold: float | None = None, offset: int = 0,
) -> SyncResult | None:
    """:func:`synchronize` as one compiled call (``_kernels._synchronize_nb``): the same steps
    and tests, results to float rounding. Requires numba (``_kernels.AVAILABLE``)."""
    rev, tw = _fft_tables(cfg.fft_size)
    ok, t, eps, rho, start = _kernels._synchronize_nb(
        x, d, cfg.fft_size, cfg.cp_len, cfg.short_len, cfg.long_gi, cfg.timing_search, cfg.short_period, rev, tw,
        train.next_bin, train.int_cfo_hyps, train.int_cfo_idx, train.pair_ref_conj, train.lts_pair_time,
        train.used_bins, train.lts_pair_energy, verify_threshold,
        -1.0 if multipath_threshold is None else multipath_threshold, backoff)
    if not ok:
        return None
    return SyncResult(lts_start=int(t) + offset, cfo=float(eps), quality=float(rho), frame_start=int(start) + offset)


@functools.lru_cache(maxsize=16)
def _fft_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    return _kernels.fft_tables(n)
