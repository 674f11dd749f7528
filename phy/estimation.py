"""Channel and noise estimation from the two long training symbols, ZF / MMSE equalisation and
pilot-based common-phase + sampling-frequency-offset tracking (no decision feedback).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from scipy.linalg.lapack import zposv

from . import _kernels
from ._numeric import _BLAS_MAX, matvec
from .config import OfdmConfig
from .preamble import Training


class Layout:
    """Index arrays and matrices of one config, computed once (see :func:`layout`)."""

    def __init__(self, cfg: OfdmConfig) -> None:
        used = cfg.used_subcarriers
        pos = {int(k): i for i, k in enumerate(used)}
        self.bins_used = cfg.bins(used)
        self.bins_p = cfg.bins(cfg.pilot_subcarriers)
        self.bins_d = cfg.bins(cfg.data_subcarriers)
        self.ip = np.array([pos[int(k)] for k in cfg.pilot_subcarriers])
        self.idd = np.array([pos[int(k)] for k in cfg.data_subcarriers])
        self.kp = cfg.pilot_subcarriers.astype(float)
        self.kd = cfg.data_subcarriers.astype(float)
        self.u = used.size
        self.k_used = used.astype(float)
        # adjacent used subcarriers (k, k+1), both used (not across DC): phase-slope pairs
        adj = np.flatnonzero(np.diff(used) == 1)
        self.pair_lo, self.pair_hi = adj, adj + 1
        # DFT basis of channels with taps in [-cp/4, cp) samples (the CP plus a little
        # pre-cursor for early timing), on the used subcarriers: [U, L]
        taps = np.arange(-(cfg.cp_len // 4), cfg.cp_len)
        self.f = np.exp(-2j * np.pi * np.outer(used.astype(float), taps) / cfg.fft_size)
        self.fh = np.conj(self.f)
        self.gram = self.fh.T @ self.f  # [L, L], once per config
        # ridge-regularised tap estimator and the noise gain of each tap: the guard band leaves
        # near-null directions in the gram matrix that plain LS would blow up
        eps = 0.02 * self.u
        self.ridge = np.linalg.solve(self.gram + eps * np.eye(taps.size), self.fh.T)  # [L, U]
        self.ridge_noise = np.sum(np.abs(self.ridge) ** 2, axis=1)
        # moving average over 9 subcarriers (edges renormalised) for the per-subcarrier noise
        w = 9
        idx = np.arange(self.u)
        m = (np.abs(idx[:, None] - idx[None, :]) <= w // 2).astype(float)
        self.noise_smoother = m / m.sum(axis=1, keepdims=True)
        # tap-domain matching pursuit without going back to subcarriers each pass: the ridge
        # taps and the matched-filter outputs of the LS estimate in one product, and the ridge
        # response of every basis tap (taps of a residual = t0 - ridge_f[:, chosen] x)
        self.ridge_fh = np.ascontiguousarray(np.concatenate([self.ridge, self.fh.T]))  # [2L, U]
        self.ridge_f = self.ridge @ self.f  # [L, L]
        self.num_taps = taps.size
        self.kp2 = self.kp * self.kp
        self.kd_max = float(np.abs(self.kd).max())
        # SFO ramp exp(-j drift t k) on the data subcarriers as powers of exp(-j drift t):
        # column of k in the table [conj(z^K) .. conj(z), 1, z .. z^K]
        self.kd_int_max = int(self.kd_max)
        self.kd_col = (cfg.data_subcarriers + self.kd_int_max).astype(np.intp)
        # matching pursuit: gram submatrix and ridge_f / f columns of a chosen tap set (the same
        # few sets recur from frame to frame), keyed by the index bytes
        self.tap_sets: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        # box filters (edge samples repeated) of the common-phase smoothing, [n, n] per (n, half)
        self.boxes: dict[tuple[int, int], np.ndarray] = {}
        self.aranges: dict[int, np.ndarray] = {}

    def tap_set(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(gram[idx][:, idx], ridge_f[:, idx], f[:, idx]) for the tap indices ``idx``."""
        key = idx.tobytes()
        got = self.tap_sets.get(key)
        if got is None:
            if len(self.tap_sets) >= 512:
                self.tap_sets.clear()
            got = self.tap_sets[key] = (
                self.gram.take(idx, 0).take(idx, 1), self.ridge_f.take(idx, 1), self.f.take(idx, 1)
            )
        return got


@functools.lru_cache(maxsize=16)
def _layout(cfg: OfdmConfig) -> Layout:
    return Layout(cfg)


def layout(cfg: OfdmConfig) -> Layout:
    """The :class:`Layout` of ``cfg`` (cached per config)."""
    return _layout(cfg)


@dataclasses.dataclass
class ChannelEstimate:
    h: np.ndarray  # complex128 [U] channel on the used subcarriers (smoothed)
    noise: np.ndarray  # float64 [U] noise variance per used subcarrier (smoothed across subcarriers)
    noise_mean: float  # mean noise variance
    snr: float  # linear Es/N0 per data RE
    est_err: float  # variance of the channel-estimate error relative to noise (for noise_var)
    num_taps: int = 0  # taps kept by the smoother
    # (h on the pilots, its conjugate, h on the data subcarriers, |h_data|^2 + 1e-30, 1 / h_data): h is fixed
    # once estimated, so header, noise refinement and payload share them (see :meth:`parts`)
    _parts: tuple | None = dataclasses.field(default=None, repr=False, compare=False)

    def parts(self, lay: "Layout") -> tuple:
        """``(h[ip], conj(h[ip]), h[idd], |h[idd]|^2 + 1e-30, 1 / h[idd])``, computed once per estimate."""
        got = self._parts
        if got is None:
            hp, hd = self.h[lay.ip], self.h[lay.idd]
            got = self._parts = (hp, np.conj(hp), hd, hd.real * hd.real + hd.imag * hd.imag + 1e-30, 1.0 / hd)
        return got


def _solve_small(g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``g x = b`` for a small Hermitian positive-definite ``g`` (a gram matrix): LAPACK's
    Cholesky solver called directly (numpy's solve wrapper costs ~5x more on tiny systems)."""
    _, x, info = zposv(g, b)
    return x if info == 0 else np.linalg.solve(g, b)


def _sparse_taps(h_ls: np.ndarray, noise_mean: float, lay: Layout, passes: int = 6) -> tuple[np.ndarray, int]:
    """Denoise an LS estimate in the tap domain (orthogonal-matching-pursuit style).

    Ridge-regularised taps of the residual (the guard band makes plain LS on 1.25 cp taps
    ill-conditioned) are added while they stand out of the noise (|tap|^2 > 4x their noise
    variance), the strongest first (all within 13 dB of the strongest remaining one per pass; the
    ridge leaks 17 dB or more below an on-grid tap),
    and all chosen taps are refitted by least squares. In AWGN one tap survives instead of
    1.25 cp, so the estimation noise drops about twentyfold; under multipath the significant
    paths are kept. ``passes=1``: every tap above the noise at once (better at low SNR).
    Works on tap vectors only (the residual's ridge taps are ``t0 - ridge_f[:, chosen] x``);
    small einsums and solves, never threaded BLAS (slow on busy cores)."""
    limit = 4.0 * 0.5 * noise_mean * lay.ridge_noise
    nt = lay.num_taps
    tb = matvec(lay.ridge_fh, h_ls)
    t0, b = tb[:nt], tb[nt:]  # ridge taps of h_ls; matched filter F^H h_ls (the LS right side)
    chosen = np.zeros(nt, bool)
    any_chosen = False
    taps = t0
    idx = x = None
    for p in range(passes):
        power = taps.real * taps.real + taps.imag * taps.imag
        if any_chosen:
            power[chosen] = 0.0
        over = power > limit
        if not np.logical_or.reduce(over):  # (ndarray.any's Python wrapper costs more)
            if any_chosen:
                break
            over[power.argmax()] = True  # nothing above the noise: keep the strongest tap
        if passes > 1:
            chosen |= over & (power >= 0.05 * np.maximum.reduce(power, where=over, initial=0.0))
        else:
            chosen |= over
        any_chosen = True
        idx = chosen.nonzero()[0]
        rhs = b.take(idx)
        cols = lay.tap_set(idx)  # (gram block, ridge_f columns, f columns), cached per tap set
        if idx.size == 1:  # one path (AWGN-like): the gram matrix is the scalar U
            x = rhs / lay.u
        else:
            x = _solve_small(cols[0], rhs)
        if p + 1 < passes:
            taps = t0 - matvec(cols[1], x)
    if idx.size == 1:
        return lay.f[:, idx[0]] * x[0], 1
    return matvec(cols[2], x), int(idx.size)


def estimate_channel(
    lts1: np.ndarray, lts2: np.ndarray, cfg: OfdmConfig, train: Training, smooth: bool = True
) -> ChannelEstimate:
    """LS channel estimate from the FFTs of the two long symbols and noise from their difference.

    Args:
        lts1, lts2: complex [N] FFT (``norm="ortho"``) of the two long training symbols.
        smooth: denoise the LS estimate in the tap domain (:func:`_sparse_taps`).
    """
    lay = layout(cfg)
    bins = lay.bins_used
    y1, y2 = lts1.take(bins), lts2.take(bins)
    h_ls = (y1 + y2) * train.lts_half  # 0.5 x LTS values (+-1): dividing = multiplying
    d = y1 - y2
    raw_noise = 0.5 * (d.real * d.real + d.imag * d.imag)  # each FFT carries noise variance sigma^2
    noise_mean = max(float(np.add.reduce(raw_noise)) / raw_noise.size, 1e-20)
    if smooth:
        # shift the tap grid by the fractional part of the mean delay (phase slope across
        # subcarriers): a fractional-delay path then sits on one tap instead of a sinc of them.
        # Small fractions, and low SNR (where the slope is noisy and sinc tails drown in noise
        # anyway), are left alone: a noisy shift would spread a clean tap instead
        zs = complex(np.vdot(h_ls.take(lay.pair_lo), h_ls.take(lay.pair_hi)))  # sum h[k+1] conj(h[k])
        delay = -math.atan2(zs.imag, zs.real) * cfg.fft_size / (2 * math.pi)
        frac = delay - round(delay)
        rough_snr = float(np.vdot(h_ls, h_ls).real) / h_ls.size / noise_mean
        if rough_snr <= 4.0:  # low SNR: one pass, every tap above the noise (measured better)
            h, ntaps = _sparse_taps(h_ls, noise_mean, lay, passes=1)
        elif abs(frac) >= 0.1:
            ramp = np.exp(2j * np.pi * frac / cfg.fft_size * lay.k_used)
            h, ntaps = _sparse_taps(h_ls * ramp, noise_mean, lay)
            h = h * np.conj(ramp)
        else:
            h, ntaps = _sparse_taps(h_ls, noise_mean, lay)
        gain = ntaps / lay.u
    else:
        h, gain, ntaps = h_ls, 1.0, lay.u
    noise = np.maximum(matvec(lay.noise_smoother, raw_noise), 1e-3 * noise_mean)
    # E|h_est|^2 = |h|^2 + gain * sigma^2 / 2: remove that bias from the signal power
    signal = float(np.vdot(h, h).real) / h.size - 0.5 * gain * noise_mean
    snr = max(signal, 1e-3 * noise_mean) / noise_mean
    return ChannelEstimate(h=h, noise=noise, noise_mean=noise_mean, snr=snr, est_err=0.5 * gain, num_taps=ntaps)


def refine_noise(est: ChannelEstimate, zf: np.ndarray, known: np.ndarray, cfg: OfdmConfig) -> None:
    """Data-aided noise refinement once the header CRC passed: the decoded header's symbols are
    known, so their ZF residuals add ``S x n_data`` noise samples to the ``U`` of the LTS pair
    (SNR estimate std ~ 4.34 sqrt((1 + 2/snr) / N) dB shrinks with N). Updates ``est`` in place:
    ``noise_mean``, ``noise`` (rescaled) and ``snr``.

    Args:
        zf: complex [S, n_data] unbiased equalised header symbols; known: complex [S, n_data].
    """
    lay = layout(cfg)
    hd = est.parts(lay)[2]
    # residual on the raw scale; the channel-estimate error and the common-phase error (pilots
    # averaged over ~3 symbols) are part of it: remove their shares
    raw = ((zf - known) * hd).ravel()  # |e|^2 |h|^2 = |e h|^2
    m = raw.size
    hdr_noise = float(np.vdot(raw, raw).real) / m / (1.0 + est.est_err + 1.0 / (3 * cfg.num_pilots))
    new = (lay.u * est.noise_mean + m * hdr_noise) / (lay.u + m)
    new = max(new, 1e-20)
    est.noise = est.noise * (new / est.noise_mean)
    est.noise_mean = new
    h = est.h
    signal = float(np.vdot(h, h).real) / h.size - est.est_err * new
    est.snr = max(signal, 1e-3 * new) / new


@dataclasses.dataclass
class Equalized:
    data: np.ndarray  # complex128 [S, n_data] equalised data REs (per the equaliser)
    data_unbiased: np.ndarray  # complex128 [S, n_data] ZF-equivalent (unbiased) symbols
    noise_var_row: np.ndarray  # float64 [n_data] post-equalisation noise variance of ``data`` (same every symbol)
    noise_var_unbiased_row: np.ndarray  # float64 [n_data] noise variance of ``data_unbiased``
    sfo_slope: float  # pilot phase slope per subcarrier per sample of time (rad)

    @property
    def noise_var(self) -> np.ndarray:
        """float64 [S, n_data] post-equalisation noise variance of ``data``."""
        out = np.empty(self.data.shape)  # (np.broadcast_to is slower than filling a small array)
        out[:] = self.noise_var_row
        return out

    @property
    def noise_var_unbiased(self) -> np.ndarray:
        """float64 [S, n_data] noise variance of ``data_unbiased``."""
        out = np.empty(self.data.shape)
        out[:] = self.noise_var_unbiased_row
        return out


class SymbolAxes:
    """What :func:`equalize` needs about a fixed set of OFDM symbols, computed once per set.

    Args:
        sym_index: int [S] symbol numbers after the preamble (pilot polarity).
        sym_time: float [S] symbol-centre time relative to the LTS centre, samples.
    """

    def __init__(self, sym_index: np.ndarray, sym_time: np.ndarray, cfg: OfdmConfig, train: Training) -> None:
        lay = layout(cfg)
        self.index = np.array(sym_index)  # (own copies: they are made read-only below)
        self.time = tt = np.array(sym_time, float)
        self.pilots = train.pilot_table[self.index % train.pilot_table.shape[0]]  # [S, P] +-1
        self.tk = tt[:, None] * lay.kp  # [S, P]: SFO phase per unit drift
        self.tmax = float(np.abs(tt).max()) if tt.size else 0.0
        # the growing SFO fit windows: (symbols, their times, sum t^2 + 1e-30)
        self.fits = []
        total = tt.size
        upto = min(total, 16)
        while total:
            t_up = tt[:upto]
            self.fits.append((upto, t_up, np.dot(t_up, t_up) + 1e-30))
            if upto == total:
                break
            upto = min(total, 4 * upto)
        # the same windows as arrays (the compiled equaliser's arguments)
        self.fit_upto = np.array([f[0] for f in self.fits], np.int64)
        self.fit_tdot = np.array([f[2] for f in self.fits], float)
        self.pilots = np.ascontiguousarray(self.pilots, float)
        self.tk = np.ascontiguousarray(self.tk, float)
        for a in (self.index, self.time, self.pilots, self.tk, self.fit_upto, self.fit_tdot):
            a.setflags(write=False)  # shared by every frame of this length (receiver_plan caches them)


@functools.lru_cache(maxsize=64)
def _readonly_arange(n: int) -> np.ndarray:
    a = np.arange(n)
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=16)
def _box(width: int) -> np.ndarray:
    b = np.ones(width)
    b.setflags(write=False)
    return b


@functools.lru_cache(maxsize=64)
def _box_matrix(n: int, half: int) -> np.ndarray:
    """complex [n, n] (read-only): the (2 half + 1)-tap box sum with the edge samples repeated,
    as a matrix."""
    m = np.zeros((n, n), complex)
    for i in range(n):
        for j in range(i - half, i + half + 1):
            m[i, min(max(j, 0), n - 1)] += 1.0
    m.setflags(write=False)
    return m


def _common_phase(s: np.ndarray, pilot_snr: float) -> np.ndarray:
    """De-rotation phasors [S] from the per-symbol MRC pilot sums ``s`` [S].

    Model: a linear phase trend (residual CFO: the mean phase step between symbols, no
    unwrapping needed; fitted from 8 symbols on) plus a slowly varying rest (phase noise). The
    rest is averaged over 9 symbols when its spread is within the pilots' own noise
    (1 / (2 pilot_snr) rad^2), over 3 when real phase noise shows, trading tracking lag against
    pilot noise.
    """
    n = s.size
    if n < 8:  # too few symbols for a trend (a header): plain 3-symbol average, Python scalars
        v = s.tolist()
        if n >= 3:
            v = [(v[i] + v[max(i - 1, 0)]) + v[min(i + 1, n - 1)] for i in range(n)]
        out = []
        for c in v:
            m = abs(c) + 1e-30
            out.append(complex(c.real / m, -c.imag / m))
        return np.array(out, complex)
    step = complex(np.vdot(s[:-1], s[1:]))  # sum s[i+1] conj(s[i])
    w = math.atan2(step.imag, step.real)
    ar = _readonly_arange(n)
    ctrend = np.exp((-1j * w) * ar)
    rest = s * ctrend
    rest0 = complex(np.add.reduce(rest))
    m0 = abs(rest0) + 1e-30
    dev = rest * complex(rest0.real / m0, -rest0.imag / m0)
    a = np.arctan2(dev.imag, dev.real)
    spread = float(np.dot(a, a)) / n
    width = 9 if spread < 2.0 / (2.0 * pilot_snr + 1e-30) else 3
    half = min(width // 2, n - 1)
    if n <= 64:  # box sum as one small product (edges repeated in the matrix)
        box_sum = np.dot(_box_matrix(n, half), rest)
    else:
        box = _box(2 * half + 1)
        padded = np.concatenate([rest[:1]] * half + [rest] + [rest[-1:]] * half)
        box_sum = np.convolve(padded, box, "valid")
    # conj(box_sum conj(ctrend)) / |.| = conj(box_sum) ctrend / |.|
    smooth = np.conj(box_sum)
    smooth *= ctrend
    return smooth / (np.abs(smooth) + 1e-30)


def equalize(
    y: np.ndarray,
    sym_index: np.ndarray,
    sym_time: np.ndarray,
    est: ChannelEstimate,
    cfg: OfdmConfig,
    train: Training,
    mode: str = "mmse",
    max_sfo_ppm: float = 200.0,
    pilots: np.ndarray | None = None,
    axes: SymbolAxes | None = None,
) -> Equalized:
    """Equalise OFDM symbols and track pilots.

    Args:
        y: complex [S, N] FFTs (``norm="ortho"``) of the symbols, CFO removed.
        sym_index: int [S] symbol numbers after the preamble (pilot polarity).
        sym_time: float [S] symbol-centre time relative to the LTS centre, samples (SFO model).
        est: channel estimate; mode: "zf" or "mmse".
        max_sfo_ppm: bound on the sampling-frequency offset tracked (0 disables SFO tracking,
            e.g. for the short header, where the drift is negligible and its estimate noisy).
        pilots: float [S, P] +-1 pilot values of the symbols if the caller has them
            (``train.pilot_table[sym_index % 127]``, the default).
        axes: :class:`SymbolAxes` of (sym_index, sym_time) if the caller keeps one (then
            ``sym_index``, ``sym_time`` and ``pilots`` are ignored).
    Returns:
        :class:`Equalized`.
    """
    if mode not in ("zf", "mmse"):
        raise ValueError(f"equalizer must be 'zf' or 'mmse', got {mode!r}")
    lay = layout(cfg)
    if axes is None:
        axes = SymbolAxes(sym_index, sym_time, cfg, train)
        if pilots is not None:
            axes.pilots = pilots
    kp = lay.kp
    hp, hp_conj, hd, h2, inv_hd = est.parts(lay)
    wp = hp_conj / est.noise[lay.ip]  # MRC weights of the pilots: |h|^2 / noise after de-rotation
    # pilots de-rotated by the channel, MRC-weighted by |h|^2 / noise: [S, P]
    r = y.take(lay.bins_p, axis=1) * (axes.pilots * wp)
    nsym = axes.time.size
    drift = 0.0
    if max_sfo_ppm > 0 and nsym:
        # sampling-frequency offset: the pilot phase slope across subcarriers grows linearly in
        # time; one drift rate fitted over the whole block is robust at low SNR. Long frames at
        # large SFO would wrap the outer pilots' phase, so the fit grows over the frame: first
        # 16 symbols, then 4x more on what is left after removing the drift found so far
        bound = 2 * np.pi * max_sfo_ppm * 1e-6 / cfg.fft_size
        tk = axes.tk
        npil = kp.size
        for upto, t_up, tdot in axes.fits:
            dot = np.dot if upto * npil <= _BLAS_MAX else matvec  # matvec's own test, inlined
            rs = r[:upto] if drift == 0.0 else r[:upto] * np.exp(tk[:upto] * (-1j * drift))
            # phase of each pilot relative to its symbol's common phase, weighted by |pilot|:
            # de-rotating by conj(cpe) unnormalised scales a row's weights by |cpe|, which
            # cancels in the row's slope
            rr = rs * np.conj(np.add.reduce(rs, axis=1))[:, None]
            resid = np.arctan2(rr.imag, rr.real)  # ufuncs: np.angle/np.sum wrappers cost more here
            wk = np.abs(rr)
            slopes = dot(wk * resid, kp) / (dot(wk, lay.kp2) + 1e-30)
            drift += float(np.dot(slopes, t_up) / tdot)  # rad/subcarrier/sample
            drift = min(max(drift, -bound), bound)
        if drift != 0.0:
            r = r * np.exp(tk * (-1j * drift))
    # pilot SNR (sum |h|^2 / noise) only matters for the phase-noise smoothing of >= 8 symbols
    ph = _common_phase(np.add.reduce(r, axis=1), float(np.add.reduce((wp * hp).real)) if nsym >= 8 else 0.0)
    # the SFO phase ramp matters only once it reaches ~1e-3 rad at the band edge
    if drift != 0.0 and abs(drift) * axes.tmax * lay.kd_max > 1e-3:
        # exp(-j drift t k) for integer k = z^k with z = exp(-j drift t): a cumulative product
        # over |k| (a few ulps) instead of a complex exp per resource element
        tt = axes.time
        kmax = lay.kd_int_max
        pw = np.empty((tt.size, 2 * kmax + 1), complex)
        pw[:, kmax] = 1.0
        pw[:, kmax + 1 :] = np.exp((-1j * drift) * tt)[:, None]
        pos = pw[:, kmax:]
        pos.cumprod(axis=1, out=pos)  # (the method: np.cumprod's Python wrapper costs more)
        np.conj(pw[:, : kmax : -1], out=pw[:, :kmax])
        rot = pw.take(lay.kd_col, axis=1) * ph[:, None]
    else:
        rot = ph[:, None]
    nd = est.noise[lay.idd] * (1.0 + est.est_err)  # estimate error adds est_err * sigma^2
    zf = y.take(lay.bins_d, axis=1) * rot * inv_hd
    nv_zf1 = nd / h2
    if mode == "zf":
        return Equalized(zf, zf, nv_zf1, nv_zf1, drift)
    g = h2 / (h2 + nd)
    return Equalized(zf * g, zf, g * nv_zf1, nv_zf1, drift)


# -- compiled twins (numba, :mod:`._kernels`): same inputs and outputs as the numpy functions above
def estimate_channel_compiled(
    lts1: np.ndarray, lts2: np.ndarray, cfg: OfdmConfig, train: Training, smooth: bool = True
) -> ChannelEstimate:
    """:func:`estimate_channel` as one compiled call (``_kernels._estimate_channel_nb``); the
    same :class:`ChannelEstimate` to float rounding. Requires numba (``_kernels.AVAILABLE``)."""
    lay = layout(cfg)
    h, noise, noise_mean, snr, est_err, ntaps = _kernels._estimate_channel_nb(
        lts1, lts2, lay.bins_used, train.lts_half, lay.pair_lo, lay.pair_hi, cfg.fft_size, lay.k_used,
        lay.ridge_noise, lay.ridge_fh, lay.ridge_f, lay.f, lay.gram, lay.noise_smoother, bool(smooth))
    return ChannelEstimate(h=h, noise=noise, noise_mean=float(noise_mean), snr=float(snr), est_err=float(est_err),
                           num_taps=int(ntaps))


def equalize_compiled(
    y: np.ndarray, est: ChannelEstimate, cfg: OfdmConfig, mode: str, max_sfo_ppm: float, axes: SymbolAxes
) -> Equalized:
    """:func:`equalize` (with ``axes``) as one compiled call (``_kernels._equalize_nb``): pilot
    SFO fit, common phase, ZF/MMSE; the same :class:`Equalized` to float rounding. Requires numba."""
    lay = layout(cfg)
    hp, hp_conj, hd, h2, inv_hd = est.parts(lay)
    wp = hp_conj / est.noise[lay.ip]
    nsym = axes.time.size
    pilot_snr = float(np.add.reduce((wp * hp).real)) if nsym >= 8 else 0.0
    bound = 2 * np.pi * max_sfo_ppm * 1e-6 / cfg.fft_size if max_sfo_ppm > 0 else 0.0
    nd = est.noise[lay.idd] * (1.0 + est.est_err)
    data, zf, nv, nv_unb, drift = _kernels._equalize_nb(
        y, lay.bins_p, axes.pilots, wp, pilot_snr, lay.kp, lay.kp2, axes.tk, axes.time, axes.fit_upto, axes.fit_tdot,
        bound, axes.tmax, lay.kd_max, lay.kd_int_max, lay.kd_col, lay.bins_d, inv_hd, h2, nd, mode == "mmse")
    return Equalized(data, zf, nv, nv_unb, float(drift))
