"""Channel and noise estimation from the two long training symbols, ZF / MMSE equalisation and
pilot-based common-phase + sampling-frequency-offset tracking (no decision feedback).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .config import OfdmConfig
from .preamble import Training


@functools.lru_cache(maxsize=16)
def _tap_basis(cfg: OfdmConfig) -> np.ndarray:
    """DFT basis of channels with taps in [-cp/4, cp) samples (the CP plus a little pre-cursor
    for early timing), evaluated on the used subcarriers; complex [U, L]."""
    k = cfg.used_subcarriers.astype(float)
    taps = np.arange(-(cfg.cp_len // 4), cfg.cp_len)
    return np.exp(-2j * np.pi * np.outer(k, taps) / cfg.fft_size)


@dataclasses.dataclass
class ChannelEstimate:
    h: np.ndarray  # complex128 [U] channel on the used subcarriers (smoothed)
    noise: np.ndarray  # float64 [U] noise variance per used subcarrier (smoothed across subcarriers)
    noise_mean: float  # mean noise variance
    snr: float  # linear Es/N0 per data RE
    est_err: float  # variance of the channel-estimate error relative to noise (for noise_var)


def estimate_channel(lts1: np.ndarray, lts2: np.ndarray, cfg: OfdmConfig, train: Training, smooth: bool = True) -> ChannelEstimate:
    """LS channel estimate from the FFTs of the two long symbols and noise from their difference.

    Args:
        lts1, lts2: complex [N] FFT (``norm="ortho"``) of the two long training symbols.
    """
    bins = cfg.bins(cfg.used_subcarriers)
    x = train.lts_freq[bins]
    y1, y2 = lts1[bins], lts2[bins]
    h_ls = 0.5 * (y1 + y2) / x
    raw_noise = 0.5 * np.abs(y1 - y2) ** 2  # each FFT carries noise variance sigma^2
    noise_mean = float(max(raw_noise.mean(), 1e-20))
    if smooth:
        # greedy (orthogonal matching pursuit) search for the taps that stand out of the noise:
        # add the strongest matched-filter tap of the residual while its power exceeds 4x the
        # tap noise variance sigma^2 / (2U), refit all chosen taps by least squares. In AWGN
        # this keeps one or a few taps instead of 1.25 cp, so several-fold less estimation
        # noise. einsum/solve on tiny matrices, never threaded BLAS (slow on busy cores).
        f = _tap_basis(cfg)
        u = cfg.num_used
        fh = np.conj(f)
        limit = 4.0 * 0.5 * noise_mean / u
        chosen: list[int] = []
        resid = h_ls
        h = np.zeros_like(h_ls)
        for _ in range(f.shape[1]):
            mf = np.abs(np.einsum("ul,u->l", fh, resid) / u) ** 2
            if chosen:
                mf[chosen] = 0.0
            best = int(np.argmax(mf))
            if chosen and mf[best] <= limit:
                break
            chosen.append(best)
            a = f[:, chosen]
            gram = np.einsum("ul,um->lm", np.conj(a), a)
            coef = np.linalg.solve(gram, np.einsum("ul,u->l", np.conj(a), h_ls))
            h = np.einsum("ul,l->u", a, coef)
            resid = h_ls - h
        gain = len(chosen) / u
    else:
        h, gain = h_ls, 1.0
    width = 9
    kernel = np.ones(width) / width
    padded = np.pad(raw_noise, width // 2, mode="reflect")
    noise = np.maximum(np.convolve(padded, kernel, mode="valid"), 1e-3 * noise_mean)
    # E|h_est|^2 = |h|^2 + gain * sigma^2 / 2: remove that bias from the signal power
    signal = float(np.mean(np.abs(h) ** 2) - 0.5 * gain * noise_mean)
    snr = max(signal, 1e-3 * noise_mean) / noise_mean
    return ChannelEstimate(h=h, noise=noise, noise_mean=noise_mean, snr=snr, est_err=0.5 * gain)


@dataclasses.dataclass
class Equalized:
    data: np.ndarray  # complex128 [S, n_data] equalised data REs (per the equaliser)
    data_unbiased: np.ndarray  # complex128 [S, n_data] ZF-equivalent (unbiased) symbols
    noise_var: np.ndarray  # float64 [S, n_data] post-equalisation noise variance of ``data``
    noise_var_unbiased: np.ndarray  # float64 [S, n_data] noise variance of ``data_unbiased``
    sfo_slope: float  # pilot phase slope per subcarrier per sample of time (rad)


def equalize(
    y: np.ndarray,
    sym_index: np.ndarray,
    sym_time: np.ndarray,
    est: ChannelEstimate,
    cfg: OfdmConfig,
    train: Training,
    mode: str = "mmse",
    max_sfo_ppm: float = 200.0,
) -> Equalized:
    """Equalise OFDM symbols and track pilots.

    Args:
        y: complex [S, N] FFTs (``norm="ortho"``) of the symbols, CFO removed.
        sym_index: int [S] symbol numbers after the preamble (pilot polarity).
        sym_time: float [S] symbol-centre time relative to the LTS centre, samples (SFO model).
        est: channel estimate; mode: "zf" or "mmse".
        max_sfo_ppm: bound on the sampling-frequency offset tracked (0 disables SFO tracking,
            e.g. for the short header, where the drift is negligible and its estimate noisy).
    Returns:
        :class:`Equalized`.
    """
    used = cfg.used_subcarriers
    bins_p = cfg.bins(cfg.pilot_subcarriers)
    bins_d = cfg.bins(cfg.data_subcarriers)
    pos = {int(k): i for i, k in enumerate(used)}
    ip = np.array([pos[int(k)] for k in cfg.pilot_subcarriers])
    idd = np.array([pos[int(k)] for k in cfg.data_subcarriers])
    kp = cfg.pilot_subcarriers.astype(float)
    kd = cfg.data_subcarriers.astype(float)
    hp = est.h[ip]
    pil = train.pilot_polarity(sym_index)[:, None] * train.pilot_values[None, :]
    r = y[:, bins_p] * np.conj(hp[None, :] * pil) / est.noise[ip][None, :]  # MRC-weighted [S, P]
    # sampling-frequency offset: pilot phase slope across subcarriers grows linearly in time;
    # fit one drift rate over the whole block (robust at low SNR)
    cpe = np.angle(r.sum(axis=1))
    resid = np.angle(r * np.exp(-1j * cpe)[:, None])
    wk = np.abs(r)
    num = np.sum(wk * resid * kp[None, :], axis=1)
    den = np.sum(wk * kp[None, :] ** 2, axis=1) + 1e-30
    slopes = num / den  # rad per subcarrier, per symbol
    tt = np.asarray(sym_time, float)
    drift = float(np.sum(slopes * tt) / (np.sum(tt * tt) + 1e-30))  # rad / subcarrier / sample
    bound = 2 * np.pi * max_sfo_ppm * 1e-6 / cfg.fft_size
    drift = float(np.clip(drift, -bound, bound))
    # common phase per symbol after removing the slope; smoothed over neighbouring symbols
    # (3-tap) to trade phase-noise tracking against pilot noise
    r2 = r * np.exp(-1j * drift * tt[:, None] * kp[None, :])
    s = r2.sum(axis=1)
    if s.size >= 3:
        s = np.convolve(np.pad(s, 1, mode="edge"), np.ones(3), mode="valid")
    phase = np.angle(s)
    rot = np.exp(-1j * (phase[:, None] + drift * tt[:, None] * kd[None, :]))
    hd = est.h[idd]
    nd = est.noise[idd]
    h2 = np.abs(hd) ** 2 + 1e-30
    yd = y[:, bins_d] * rot
    zf = yd / hd[None, :]
    # channel-estimate error adds est_err * sigma^2 / |h|^2 (unit-power symbols)
    nv_zf = np.broadcast_to(nd * (1.0 + est.est_err) / h2, zf.shape)
    if mode == "zf":
        out, nv = zf, nv_zf
    elif mode == "mmse":
        g = h2 / (h2 + nd * (1.0 + est.est_err))
        out = zf * g[None, :]
        nv = np.broadcast_to(g * nd * (1.0 + est.est_err) / h2, zf.shape)
    else:
        raise ValueError(f"equalizer must be 'zf' or 'mmse', got {mode!r}")
    return Equalized(out, zf, np.array(nv), np.array(nv_zf), drift)
