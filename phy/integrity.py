"""Payload integrity of analog frames (no CRC of their own): is the signal of the frame still
there in every payload OFDM symbol, or was the frame cut short (collision, truncated burst, a
preamble + header alone, a false header) so that its tail is noise or another frame?

Two per-symbol statistics, compared on every suffix of the payload (the last L symbols for
L = S, S/2, S/4, ... >= 4), each test run only where it can decide (3 standard deviations between
the two hypotheses):

- energy: ``sum_used |Y|^2 / sum_used (|H|^2 + sigma^2)``: 1 for a frame, ``1 / (1 + snr)`` for
  noise alone (catches silence and noise after the header);
- pilot continuity: ``c_s = Re sum_p conj(Y_{s-1,p} P_{s-1,p}) Y_{s,p} P_{s,p} / sum_p |H_p|^2``
  (symbol 0 against ``H_p``): about 1 for a frame (slow phase drift - residual CFO, SFO, phase
  noise - does not matter between neighbours), about 0 for noise or unrelated signal.
"""

from __future__ import annotations

import numpy as np


def payload_intact(y: np.ndarray, h_used: np.ndarray, noise_used: np.ndarray, bins_used: np.ndarray,
                   pilot_pos: np.ndarray, pilot_values: np.ndarray) -> bool:
    """True when every payload symbol still carries the frame's signal.

    Args:
        y: complex [S, N] FFTs (``norm="ortho"``, CFO removed) of the payload symbols.
        h_used, noise_used: complex / float [U] channel and noise variance on the used bins.
        bins_used: int [U] FFT bins of the used subcarriers; pilot_pos: int [P] positions of
            the pilots among them; pilot_values: float [S, P] the +-1 pilots sent.
    """
    s = y.shape[0]
    if s == 0:
        return True
    yu = y.take(bins_used, axis=1)
    h2 = h_used.real ** 2 + h_used.imag ** 2
    energy = np.add.reduce(yu.real ** 2 + yu.imag ** 2, axis=1) / float(np.add.reduce(h2 + noise_used))
    noise_share = float(np.add.reduce(noise_used)) / float(np.add.reduce(h2 + noise_used))
    hp2 = h2.take(pilot_pos)
    sp = float(np.add.reduce(hp2))
    ypp = yu.take(pilot_pos, axis=1) * pilot_values  # [S, P] pilots with their sign removed
    prev = np.concatenate([h_used.take(pilot_pos)[None, :], ypp[:-1]], axis=0)
    gain2 = np.add.reduce((np.conj(prev) * ypp).real, axis=1) / (sp + 1e-30)
    v = float(np.add.reduce(hp2 * noise_used.take(pilot_pos))) / (sp * sp + 1e-30)
    # suffix means, L = S, S/2, ... >= min(S, 4)
    e_cum = np.cumsum(energy[::-1])
    g_cum = np.cumsum(gain2[::-1])
    length = s
    while True:
        e_mean = e_cum[length - 1] / length
        g_mean = g_cum[length - 1] / length
        # energy: frame 1 (std ~ sqrt(2 noise_share / (U L)) at most), noise alone noise_share
        gap = 1.0 - noise_share
        e_std = np.sqrt((1.0 + noise_share) / (bins_used.size * length))
        if gap > 6 * e_std and e_mean < 1.0 - 0.5 * gap:
            return False
        # pilots: frame 1 (std about sqrt((2 v + v^2) / L)), otherwise 0
        g_std = np.sqrt((2 * v + v * v) / length)
        if 1.0 > 6 * g_std and g_mean < 0.5:
            return False
        if length <= 4:
            return True
        length = max(4, -(-length // 2))
        if length > s:
            return True
