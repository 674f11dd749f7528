"""Per-symbol training channels for codec v2: what the OFDM receiver hands the decoder (torch).

Every channel returns, per sent symbol, the *unbiased* (zero-forced) received symbol and the
receiver's estimate of its noise variance, as ``Frame.noise_var`` gives it. SNR is Es/N0 per complex
symbol: unit-power symbols, complex noise variance ``sigma^2 = 10^(-snr/10)`` (the PHY's convention).

- ``awgn``: y = x + n, noise_var = sigma^2.
- ``rayleigh``: one CN(0,1) gain per frame (block fading), LS estimate from 2 pilots, zero forcing;
  noise_var = sigma^2 / |h_est|^2.
- ``ofdm``: frequency-selective block fading as the ``tdl`` preset makes it: an exponential
  power-delay profile (rms delay drawn per frame in 0.5..3 samples at the 64-FFT rate, taps up to 5
  rms delays), seen on the 48 data subcarriers; each symbol lands on a random data subcarrier (the
  PHY's interleaver), LS estimate from 2 long training symbols, zero forcing;
  noise_var = sigma^2 / |h_est|^2 per symbol.

The receiver's noise level is itself an estimate: sigma^2 is multiplied by exp(0.15 N(0,1)) per
frame before it enters noise_var and the frame SNR given to the NAMs (``snr_est_db``).
"""

from __future__ import annotations

import math

import torch

KINDS = ("awgn", "rayleigh", "ofdm")
SNR_EST_SPREAD = 0.15  # log-normal spread of the receiver's noise estimate (~0.65 dB)


def _cn(shape, gen, device) -> torch.Tensor:
    re = torch.randn(shape, generator=gen, device=device)
    im = torch.randn(shape, generator=gen, device=device)
    return torch.complex(re, im) / math.sqrt(2.0)


def _ofdm_gains(b: int, gen, device, fft_size: int = 64, n_data: int = 48) -> torch.Tensor:
    """[B, n_data] subcarrier gains, E|H|^2 = 1, rms delay uniform in 0.5..3 samples per frame."""
    tau = 0.5 + 2.5 * torch.rand(b, 1, generator=gen, device=device)
    lags = torch.arange(16, dtype=torch.float32, device=device)[None, :]
    pdp = torch.exp(-lags / tau) * (lags <= 5 * tau)
    pdp = pdp / pdp.sum(1, keepdim=True)
    h_time = _cn((b, 16), gen, device) * pdp.sqrt()
    h_freq = torch.fft.fft(h_time, n=fft_size)
    used = torch.cat([torch.arange(1, 1 + n_data // 2), torch.arange(fft_size - n_data // 2, fft_size)])
    return h_freq[:, used.to(device)]


def symbol_channel(x: torch.Tensor, sent: torch.Tensor, snr_db: torch.Tensor, kinds: list[str] | str,
                   gen: torch.Generator | None = None, pilots: int = 2):
    """x: [B, T, S] complex64 (unit power over sent symbols); sent: [B, T, S] bool; snr_db: [B].

    Returns ``(y, noise_var, snr_est_db)``: y [B, T, S] complex64 unbiased symbols, noise_var
    [B, T, S] float32 (the receiver's estimate; ``inf`` where the estimate is zero), snr_est_db [B]
    (the receiver's frame SNR estimate). ``kinds``: one name of :data:`KINDS` or one per frame.
    """
    b = x.shape[0]
    dev = x.device
    if isinstance(kinds, str):
        kinds = [kinds] * b
    if len(kinds) != b:
        raise ValueError(f"got {len(kinds)} channel kinds for {b} frames")
    bad = sorted(set(kinds) - set(KINDS))
    if bad:
        raise ValueError(f"unknown channel {bad[0]!r}; choose from {KINDS}")
    sigma2 = torch.pow(10.0, -snr_db / 10.0).reshape(b, 1, 1)
    h = torch.ones(x.shape, dtype=torch.complex64, device=dev)
    kind_t = [KINDS.index(k) for k in kinds]
    kind_t = torch.as_tensor(kind_t, device=dev)
    ray = (kind_t == 1).reshape(b, 1, 1)
    ofd = (kind_t == 2).reshape(b, 1, 1)
    if bool(ray.any()):
        h = torch.where(ray, _cn((b, 1, 1), gen, dev).expand_as(h), h)
    if bool(ofd.any()):
        g = _ofdm_gains(b, gen, dev)  # [B, 48]
        sc = torch.randint(0, g.shape[1], x.shape, generator=gen, device=dev)
        h = torch.where(ofd, torch.gather(g, 1, sc.reshape(b, -1)).reshape(x.shape), h)
    faded = ray | ofd
    y = h * x + sigma2.sqrt() * _cn(x.shape, gen, dev)
    h_est = torch.where(faded, h + (sigma2 / pilots).sqrt() * _cn(x.shape, gen, dev), h)
    y = y / h_est
    est = sigma2 * torch.exp(SNR_EST_SPREAD * torch.randn(b, 1, 1, generator=gen, device=dev))
    nv = est / (h_est.abs() ** 2).clamp_min(1e-12)
    y = torch.where(sent, y, torch.zeros_like(y))
    snr_est = -10.0 * torch.log10(est.reshape(b))
    return y.to(torch.complex64), nv.float(), snr_est
