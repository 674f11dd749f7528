"""Payload integrity of analog frames (no CRC of their own): is the signal of the frame still
there in every payload OFDM symbol, or was the frame cut short (collision, truncated burst, a
preamble + header alone, a false header) so that its tail is noise or another frame?

One per-symbol statistic, compared on every suffix of the payload (the last L symbols for
L = S, S/2, S/4, ... >= 4), the test run only where it can decide (10 standard deviations between
the two hypotheses: at low SNR the channel estimate's own error and fading make the frame's
statistics wander more than the ideal model says). Only the pilots qualify: the data carry the
caller's analog symbols, whose power may vary along the frame (a codec's padding can be zeros),
so received energy says nothing about truncation.

- pilot continuity: ``c_s = Re sum_p conj(Y_{s-1,p} P_{s-1,p}) Y_{s,p} P_{s,p} / sum_p |H_p|^2``
  (symbol 0: ``|.|`` against ``H_p``, the phase has drifted since the LTS): about 1 for a frame (slow phase drift - residual CFO, SFO, phase
  noise - does not matter between neighbours), about 0 for noise or unrelated signal.
"""

from __future__ import annotations

import numpy as np

from . import _kernels


def payload_intact(y: np.ndarray, h_pilots: np.ndarray, noise_pilots: np.ndarray, bins_pilots: np.ndarray,
                   pilot_values: np.ndarray) -> bool:
    """True when every payload symbol still carries the frame's signal.

    Args:
        y: complex [S, N] FFTs (``norm="ortho"``, CFO removed) of the payload symbols.
        h_pilots, noise_pilots: complex / float [P] channel and noise variance on the pilots.
        bins_pilots: int [P] their FFT bins; pilot_values: float [S, P] the +-1 pilots sent.
    """
    s = y.shape[0]
    if s == 0:
        return True
    hp2 = h_pilots.real ** 2 + h_pilots.imag ** 2
    sp = float(np.add.reduce(hp2))
    ypp = y.take(bins_pilots, axis=1) * pilot_values  # [S, P] pilots with their sign removed
    prev = np.concatenate([h_pilots[None, :], ypp[:-1]], axis=0)
    corr = np.add.reduce(np.conj(prev) * ypp, axis=1) / (sp + 1e-30)
    gain2 = corr.real
    # symbol 0 against the channel estimate: the common phase has drifted since the LTS
    # (residual CFO, phase noise over the header), so its magnitude
    gain2[0] = abs(corr[0])
    v = float(np.add.reduce(hp2 * noise_pilots)) / (sp * sp + 1e-30)
    # suffix means, L = S, S/2, ... >= min(S, 4)
    g_cum = np.cumsum(gain2[::-1])
    length = s
    while True:
        g_mean = g_cum[length - 1] / length
        # pilots: frame 1 (std about sqrt((2 v + v^2) / L)), otherwise 0
        g_std = np.sqrt((2 * v + v * v) / length)
        if 1.0 > 10 * g_std and g_mean < 0.3:
            return False
        if length <= 4:
            return True
        length = max(4, -(-length // 2))
        if length > s:
            return True


def payload_intact_compiled(y: np.ndarray, h_pilots: np.ndarray, noise_pilots: np.ndarray, bins_pilots: np.ndarray,
                            pilot_values: np.ndarray) -> bool:
    """:func:`payload_intact` as one compiled call (``_kernels._payload_intact_nb``), the same
    decision. Requires numba (``_kernels.AVAILABLE``)."""
    return bool(_kernels._payload_intact_nb(y, h_pilots, noise_pilots, bins_pilots, pilot_values))
