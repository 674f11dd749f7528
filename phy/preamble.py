"""Known sequences of the frame: the Schmidl & Cox short preamble (period N/4), the long training
symbol (BPSK on every used subcarrier) and the per-symbol pilot values. All derive
deterministically from the :class:`OfdmConfig`, so transmitter and receiver agree by construction.
"""

from __future__ import annotations

import functools

import numpy as np

from .config import OfdmConfig


def _pn_bits(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, n).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def training(cfg: OfdmConfig) -> "Training":
    return Training(cfg)


class Training:
    """Precomputed training sequences of one config (use :func:`training`, which caches).

    Attributes:
        lts_freq: complex128 [N] long training symbol per FFT bin (+-1 on used bins, 0 elsewhere).
        lts_time: complex128 [N] its time-domain samples, ``ifft(norm="ortho")``.
        short_time: complex128 [short_len] the short preamble (period N/4) incl. its length.
        preamble_time: complex128 [preamble_len] short + 2cp guard + LTS + LTS (before tx_scale).
        pilot_values: float64 [num_pilots] base pilot values (+-1).
        pilot_polarity(i): +-1 polarity of OFDM symbol i after the preamble (header symbol 0 = 0).
    """

    def __init__(self, cfg: OfdmConfig) -> None:
        n = cfg.fft_size
        used = cfg.used_subcarriers
        # long training symbol: BPSK on all used subcarriers
        lts = np.zeros(n, complex)
        lts[cfg.bins(used)] = 1.0 - 2.0 * _pn_bits(used.size, 0x11A)
        self.lts_freq = lts
        self.lts_time = np.fft.ifft(lts, norm="ortho")
        # short preamble: QPSK on used subcarriers that are multiples of 4 -> period N/4 in time;
        # boosted so its mean power equals that of a full symbol
        short_k = used[used % 4 == 0]
        bits = _pn_bits(2 * short_k.size, 0x5C)
        vals = ((1 - 2.0 * bits[0::2]) + 1j * (1 - 2.0 * bits[1::2])) / np.sqrt(2)
        sts = np.zeros(n, complex)
        sts[cfg.bins(short_k)] = vals * np.sqrt(used.size / short_k.size)
        period = np.fft.ifft(sts, norm="ortho")[: cfg.short_period]
        reps = -(-cfg.short_len // cfg.short_period)
        self.short_time = np.tile(period, reps)[: cfg.short_len]
        gi = self.lts_time[-cfg.long_gi :] if cfg.long_gi <= n else np.resize(self.lts_time[::-1], cfg.long_gi)[::-1]
        self.lts_pair_time = np.tile(self.lts_time, 2)
        self.lts_pair_energy = float(2 * used.size)  # ||lts_pair_time||^2
        self.next_bin = np.roll(np.arange(n), -1)  # [1, 2, .., n-1, 0]: the next subcarrier, cyclic
        self.used_bins = cfg.bins(used)
        self.preamble_time = np.concatenate([self.short_time, gi, self.lts_time, self.lts_time])
        self.pilot_values = 1.0 - 2.0 * _pn_bits(cfg.num_pilots, 0x9A)
        self._polarity = 1.0 - 2.0 * _pn_bits(127, 0x7F)
        # pilot values of every polarity period: row i = pilot_polarity(i) * pilot_values
        self.pilot_table = self._polarity[:, None] * self.pilot_values[None, :]
        self.lts_used = lts[cfg.bins(used)]
        self.lts_half = 0.5 * self.lts_used
        # adjacent used-subcarrier pairs (k, k+1), both used, for the differential integer-CFO search
        ub = set(int(k) for k in used)
        pairs = np.array([k for k in used if (k + 1) in ub])
        self.pair_bins = cfg.bins(pairs)
        self.pair_ref = lts[cfg.bins(pairs)] * np.conj(lts[cfg.bins(pairs + 1)])
        self.pair_ref_conj = np.conj(self.pair_ref)
        # integer-CFO hypotheses: multiples of the short preamble's 4-subcarrier ambiguity
        m_max = -(-cfg.max_int_cfo // 4)
        self.int_cfo_hyps = np.arange(-m_max, m_max + 1) * 4
        self.int_cfo_idx = (self.pair_bins[None, :] + self.int_cfo_hyps[:, None]) % n

    def pilot_polarity(self, index: np.ndarray | int) -> np.ndarray:
        """+-1 polarity of OFDM symbol(s) ``index`` (0 = first header symbol)."""
        return self._polarity[np.asarray(index) % self._polarity.size]


@functools.lru_cache(maxsize=64)
def permutation(size: int, seed: int) -> np.ndarray:
    """Deterministic interleaver permutation of ``size`` slots (resource elements or bit slots)."""
    perm = np.random.default_rng([seed, size]).permutation(size)
    perm.setflags(write=False)
    return perm


@functools.lru_cache(maxsize=64)
def analog_interleaver(num_symbols: int, num_data: int) -> np.ndarray:
    """Resource element (``ofdm_symbol * num_data + data_subcarrier``) of each analog payload
    symbol, in send order; int [num_symbols * num_data], a permutation.

    Structured so that neighbouring codec symbols never share an OFDM symbol or a subcarrier
    (symbol i goes to OFDM symbol ``i % S`` and subcarrier ``(j q + 5 t) % D`` with ``j = i // S``
    and ``q`` coprime to ``D`` near 0.38 D), and the symbols on any one (possibly faded)
    subcarrier lie about S apart: a frequency notch or a burst becomes scattered noise.
    """
    s, d = int(num_symbols), int(num_data)
    q = max(1, round(0.382 * d))
    while np.gcd(q, d) != 1:
        q += 1
    i = np.arange(s * d)
    t, j = i % s, i // s
    out = t * d + (j * q + 5 * t) % d
    out.setflags(write=False)
    return out
