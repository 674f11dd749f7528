"""Receiver front-end impairments estimated and removed on the FFT windows of each frame: DC
offset (LO leakage) and IQ gain/phase imbalance.

Model (the usual one, e.g. Tarighat, Bagheri & Sayed, "Compensation schemes and performance
analysis of IQ imbalances in OFDM receivers", IEEE T-SP 2005): ``y = mu x + nu conj(x) + dc``
with ``x`` circular (proper: ``E[x^2] = 0``; OFDM data and receiver noise are). Then, with
``c = y - dc``, ``r = E[c^2] / E[|c|^2] = 2 w / (1 + |w|^2)`` for ``w = nu / conj(mu)``, so
``w = r / (1 + sqrt(1 - |r|^2))`` and ``z = c - w conj(c) = (mu - w conj(nu)) x``: the image is
gone and the remaining scale is part of the channel. The DC estimate is the window mean: the
FFT windows carry nothing on the DC bin.

The moments accumulate over idle samples (search blocks without a preamble: receiver noise is
circular and goes through the same mixer, so it shows the same ``r`` and the DC; the frames'
own windows do not qualify: symmetric pilots and the long training symbol are not circular)
with a forgetting factor, and the correction is applied to the frames' raw FFT windows (before
CFO removal, which would rotate the image) only once it is significant (3 standard deviations
of the estimate), so a clean radio's frames are left untouched. Back-to-back frames with no
idle samples between them are not corrected.
"""

from __future__ import annotations

import math

import numpy as np


class FrontEndCorrection:
    """Running DC + IQ-imbalance estimate of one stream (part of a receiver's state).

    Args:
        memory: samples over which the past is forgotten (weight ``exp(-n / memory)``).
    """

    def __init__(self, memory: float = 32768.0) -> None:
        self.memory = float(memory)
        self.reset()

    def reset(self) -> None:
        self.n = 0.0  # effective number of samples
        self.s1 = 0j  # sum y
        self.s2 = 0j  # sum y^2
        self.se = 0.0  # sum |y|^2
        self.dc = 0j
        self.w = 0j  # image coefficient applied (0 while not significant)

    def update(self, win: np.ndarray) -> None:
        """Accumulate the moments of idle (noise-only) samples ``win`` (complex, any shape)."""
        v = win.ravel()
        f = math.exp(-v.size / self.memory)
        self.n = f * self.n + v.size
        self.s1 = f * self.s1 + complex(np.add.reduce(v))
        self.s2 = f * self.s2 + complex(np.dot(v, v))
        self.se = f * self.se + float(np.vdot(v, v).real)
        n = self.n
        dc = self.s1 / n
        var = self.se / n - (dc.real * dc.real + dc.imag * dc.imag)
        if var <= 0:
            return
        r = (self.s2 / n - dc * dc) / var
        ar = abs(r)
        # DC: significant beyond 3 sigma of the mean (sigma^2 = var / n)
        self.dc = dc if (dc.real * dc.real + dc.imag * dc.imag) > 9 * var / n else 0j
        # IQ: |r|^2 on a circular signal is ~ exp with mean 1/n
        if ar * ar > 9.0 / n and ar < 1:
            self.w = r / (1 + math.sqrt(1 - ar * ar))
        else:
            self.w = 0j

    def apply(self, win: np.ndarray) -> np.ndarray:
        """``win`` with DC and the image removed (the input when nothing is significant)."""
        if self.dc:
            win = win - self.dc
        if self.w:
            win = win - self.w * np.conj(win)
        return win
