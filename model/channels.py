"""Differentiable channels for training and evaluating the codec (torch, complex64).

Convention (as in ``phy/``): SNR is Es/N0 per complex symbol; symbols have unit mean power and the
noise is complex Gaussian with variance 10^(-snr_db/10) (NOT the 3-dB-kinder convention of public
DeepSC code). Every channel returns the *equalised* symbols the receiver hands to the decoder.

- ``awgn``: y = x + n.
- ``rayleigh``: one CN(0,1) gain per frame (block fading); the receiver estimates it by least squares
  from ``pilots`` unit-power pilots (estimate noise variance sigma^2/pilots) and zero-forces.
- ``ofdm``: "OFDM-effective": a multipath channel (exponential power-delay profile, ``taps`` taps)
  seen on ``fft_size`` subcarriers; the frame's symbols are interleaved over the data subcarriers
  (symbol i on data subcarrier i mod n_data), each symbol sees its own subcarrier gain, LS-estimated
  from ``pilots`` preamble symbols and zero-forced: what the OFDM PHY delivers per symbol.
"""

from __future__ import annotations

import math

import torch

CHANNELS = ("awgn", "rayleigh", "ofdm")


def _cn(shape, gen, device) -> torch.Tensor:
    """Complex normal samples with unit variance (E|z|^2 = 1)."""
    re = torch.randn(shape, generator=gen, device=device)
    im = torch.randn(shape, generator=gen, device=device)
    return torch.complex(re, im) / math.sqrt(2.0)


def noise_std(snr_db: torch.Tensor) -> torch.Tensor:
    """Per-frame noise standard deviation sqrt(10^(-snr/10)). snr_db: [B] -> [B, 1]."""
    return torch.pow(10.0, -snr_db / 20.0).reshape(-1, 1)


def awgn(x: torch.Tensor, snr_db: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """x: [B, N] complex64; snr_db: [B] -> [B, N] complex64."""
    return x + noise_std(snr_db) * _cn(x.shape, gen, x.device)


def rayleigh(x: torch.Tensor, snr_db: torch.Tensor, gen: torch.Generator | None = None,
             pilots: int = 2) -> torch.Tensor:
    """Block Rayleigh with LS channel estimate and zero forcing. x: [B, N] -> [B, N]."""
    b = x.shape[0]
    sigma = noise_std(snr_db)
    h = _cn((b, 1), gen, x.device)
    y = h * x + sigma * _cn(x.shape, gen, x.device)
    h_est = h + sigma / math.sqrt(pilots) * _cn((b, 1), gen, x.device)
    return y / h_est


def ofdm_gains(batch: int, n_symbols: int, gen: torch.Generator | None = None, device=None,
               fft_size: int = 64, n_data: int = 48, taps: int = 6, decay: float = 2.0) -> torch.Tensor:
    """Per-symbol subcarrier gains [batch, n_symbols] of an interleaved OFDM frame.

    Multipath taps with power exp(-l/decay), normalised to unit total power, so E|H_k|^2 = 1.
    """
    pdp = torch.exp(-torch.arange(taps, dtype=torch.float32, device=device) / decay)
    pdp = pdp / pdp.sum()
    h_time = _cn((batch, taps), gen, device) * pdp.sqrt()
    h_freq = torch.fft.fft(h_time, n=fft_size)  # [B, fft]
    # data subcarriers: skip DC and the band edges, as a 64-FFT 802.11-like grid does
    used = torch.cat([torch.arange(1, 1 + n_data // 2), torch.arange(fft_size - n_data // 2, fft_size)])
    h_data = h_freq[:, used.to(h_freq.device)]  # [B, n_data]
    idx = torch.arange(n_symbols, device=h_freq.device) % n_data
    return h_data[:, idx]


def ofdm(x: torch.Tensor, snr_db: torch.Tensor, gen: torch.Generator | None = None,
         pilots: int = 2, **kw) -> torch.Tensor:
    """OFDM-effective channel: per-symbol subcarrier gain, LS estimate, zero forcing. [B, N] -> [B, N]."""
    b, n = x.shape
    sigma = noise_std(snr_db)
    h = ofdm_gains(b, n, gen, x.device, **kw)
    y = h * x + sigma * _cn(x.shape, gen, x.device)
    h_est = h + sigma / math.sqrt(pilots) * _cn(h.shape, gen, x.device)
    return y / h_est


_FUNCS = {"awgn": awgn, "rayleigh": rayleigh, "ofdm": ofdm}


def apply_channel(x: torch.Tensor, snr_db: torch.Tensor, kind: str | list[str] = "awgn",
                  gen: torch.Generator | None = None) -> torch.Tensor:
    """Pass frames through one channel kind, or a per-frame list of kinds. x: [B, N] complex."""
    if isinstance(kind, str):
        if kind not in _FUNCS:
            raise ValueError(f"unknown channel {kind!r}; choose from {CHANNELS}")
        return _FUNCS[kind](x, snr_db, gen)
    if len(kind) != x.shape[0]:
        raise ValueError(f"got {len(kind)} channel kinds for {x.shape[0]} frames")
    out = torch.empty_like(x)
    for name in sorted(set(kind)):
        if name not in _FUNCS:
            raise ValueError(f"unknown channel {name!r}; choose from {CHANNELS}")
        sel = torch.tensor([k == name for k in kind], device=x.device)
        out[sel] = _FUNCS[name](x[sel], snr_db[sel], gen)
    return out
