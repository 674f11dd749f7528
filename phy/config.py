"""The one numerology and frame-format object of the PHY (:class:`OfdmConfig`).

Subcarrier indices are signed (``-fft_size/2 .. fft_size/2-1``, 0 = DC); arrays indexed by FFT bin
use ``k % fft_size``. Everything the transmitter and receiver agree on lives here.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

MODULATIONS = ("bpsk", "qpsk", "16qam", "64qam")
BITS_PER_SYMBOL = {"bpsk": 1, "qpsk": 2, "16qam": 4, "64qam": 6}


@dataclasses.dataclass(frozen=True)
class OfdmConfig:
    """Numerology and frame format.

    Args:
        fft_size: FFT points N (power of two, 16..4096). Default 64.
        cp_len: cyclic prefix, samples (max(2, N/16)..N/2). Default N/4 = 16.
        num_used: occupied subcarriers (even, DC excluded, 8..N-4), default round(52/64 * N)
            rounded to even.
        num_pilots: pilot subcarriers among the used ones (2..num_used/4), default max(4, N/16)
            limited to num_used/4 (so sparse allocations and N=16 work with the defaults).
        num_short: Schmidl & Cox preamble length in OFDM-symbol durations (N + cp samples each);
            the preamble repeats with period N/4 samples. Default 6 (was 2: the longer
            autocorrelation window lets the detector trigger at -3 dB per RE without more
            false triggers on noise).
        header_modulation: "bpsk" or "qpsk" for the header symbols.
        tx_scale: time-domain amplitude of a unit-power resource element: the transmitter emits
            ``tx_scale * ifft(X, norm="ortho")``, so the mean sample power is
            ``tx_scale**2 * num_used / N`` (default ``0.25 * (64/N)**0.125``: 0.25 -> about
            -12.9 dBFS at N=64, a little lower for larger FFTs whose peaks are higher; peaks above
            |x| = 1 are clipped). The channel simulator uses the same number as its SNR reference.
        max_int_cfo: integer CFO search range, +- subcarriers (multiple of the preamble's
            ambiguity of 4 subcarriers is searched). Default min(8, N/4).
        interleaver_seed: seed of the pseudo-random bit interleavers of the header and digital
            payloads (TX and RX must agree; analog payloads use a structured interleaver).
        max_payload_symbols: longest payload in OFDM symbols: the transmitter refuses longer
            frames, the receiver drops headers that claim more (``stats["header_too_long"]``),
            so one false or hostile length field cannot hold the receiver for seconds. Default:
            what the largest analog frame (65535 symbols) needs, ``ceil(65535 / num_data)``
            (1366 at the default numerology: about 8 KB digital payloads at QPSK).
        header_repeat: each coded header bit is sent this many times (1..8, default 3) on slots spread by
            the header interleaver over subcarriers and symbols; the receiver adds their LLRs
            (soft combining: +10 log10(r) dB for the header, plus frequency diversity).

    Example::

        cfg = OfdmConfig()               # 64-FFT, CP 16, 52 used, 4 pilots
        cfg.num_data_subcarriers         # 48
        OfdmConfig(fft_size=256)         # 208 used, 16 pilots, CP 64
    """

    fft_size: int = 64
    cp_len: int | None = None
    num_used: int | None = None
    num_pilots: int | None = None
    num_short: int = 6
    header_modulation: str = "bpsk"
    tx_scale: float | None = None
    max_int_cfo: int | None = None
    interleaver_seed: int = 0x5EED
    max_payload_symbols: int | None = None
    header_repeat: int = 3

    def __post_init__(self) -> None:
        n = self.fft_size
        if not isinstance(n, (int, np.integer)) or n < 16 or n > 4096 or (n & (n - 1)):
            raise ValueError(f"fft_size must be a power of two in 16..4096, got {n!r}")
        cp = n // 4 if self.cp_len is None else self.cp_len
        # below N/16 (min 2) the first-path timing has no room inside the CP and the receiver's
        # window back-off no margin; measured to decode from N/16 to N/2 (tests/test_phy_faults.py)
        cp_min = max(2, n // 16)
        if not isinstance(cp, (int, np.integer)) or not cp_min <= cp <= n // 2:
            raise ValueError(f"cp_len must be an integer in max(2, fft_size/16)..fft_size/2 = {cp_min}..{n // 2}, got {cp!r}")
        used = self.num_used
        if used is None:
            used = 2 * round(52 / 64 * n / 2)
        if not isinstance(used, (int, np.integer)) or used % 2 or not 8 <= used <= n - 4:
            raise ValueError(
                f"num_used must be an even integer in 8..fft_size-4 (guards are needed), got {used!r}"
            )
        # default pilots: max(4, N/16), as many as the allocation holds (num_used/4, at least 2)
        pilots = max(2, min(max(4, n // 16), used // 4)) if self.num_pilots is None else self.num_pilots
        if not isinstance(pilots, (int, np.integer)) or not 2 <= pilots <= used // 4:
            raise ValueError(f"num_pilots must be an integer in 2..num_used/4={used // 4}, got {pilots!r}")
        if not isinstance(self.num_short, (int, np.integer)) or not 1 <= self.num_short <= 8:
            raise ValueError(f"num_short must be 1..8 OFDM symbol durations, got {self.num_short!r}")
        if self.header_modulation not in ("bpsk", "qpsk"):
            raise ValueError(f"header_modulation must be 'bpsk' or 'qpsk', got {self.header_modulation!r}")
        scale = 0.25 * (64 / n) ** 0.125 if self.tx_scale is None else self.tx_scale
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and 0 < scale <= 1):
            raise ValueError(f"tx_scale must be in (0, 1], got {self.tx_scale!r}")
        object.__setattr__(self, "tx_scale", float(scale))
        mic = min(8, n // 4) if self.max_int_cfo is None else self.max_int_cfo
        if not isinstance(mic, (int, np.integer)) or not 0 <= mic <= n // 4:
            raise ValueError(f"max_int_cfo must be 0..fft_size/4={n // 4} subcarriers, got {self.max_int_cfo!r}")
        object.__setattr__(self, "max_int_cfo", int(mic))
        if isinstance(self.header_repeat, bool) or not isinstance(self.header_repeat, (int, np.integer)) \
                or not 1 <= self.header_repeat <= 8:
            raise ValueError(f"header_repeat must be an integer 1..8, got {self.header_repeat!r}")
        mps = self.max_payload_symbols
        if mps is None:
            mps = -(-0xFFFF // (used - pilots))
        if isinstance(mps, bool) or not isinstance(mps, (int, np.integer)) or not 1 <= mps <= 1 << 20:
            raise ValueError(f"max_payload_symbols must be an integer in 1..{1 << 20}, got {self.max_payload_symbols!r}")
        object.__setattr__(self, "max_payload_symbols", int(mps))
        object.__setattr__(self, "cp_len", int(cp))
        object.__setattr__(self, "num_used", int(used))
        object.__setattr__(self, "num_pilots", int(pilots))

    # -- subcarrier layout (signed indices) ------------------------------------------------------
    @functools.cached_property
    def used_subcarriers(self) -> np.ndarray:
        """Signed indices of the used subcarriers, ascending, DC excluded; int [num_used]."""
        h = self.num_used // 2
        return np.concatenate([np.arange(-h, 0), np.arange(1, h + 1)])

    @functools.cached_property
    def pilot_subcarriers(self) -> np.ndarray:
        """Signed pilot indices, spread evenly and symmetric about DC; int [num_pilots]."""
        used = self.used_subcarriers
        pos = np.floor((np.arange(self.num_pilots) + 0.5) * self.num_used / self.num_pilots).astype(int)
        return used[pos]

    @functools.cached_property
    def data_subcarriers(self) -> np.ndarray:
        """Signed indices of the data subcarriers (used minus pilots), ascending; int [n_data]."""
        used = self.used_subcarriers
        return used[~np.isin(used, self.pilot_subcarriers)]

    @property
    def num_data_subcarriers(self) -> int:
        """Data resource elements per OFDM symbol."""
        return self.num_used - self.num_pilots

    def bins(self, signed: np.ndarray) -> np.ndarray:
        """FFT bin numbers (0..N-1) of signed subcarrier indices."""
        return np.asarray(signed) % self.fft_size

    # -- durations, samples -------------------------------------------------------------------------
    @property
    def symbol_len(self) -> int:
        """Samples per OFDM symbol including CP."""
        return self.fft_size + self.cp_len

    @property
    def short_period(self) -> int:
        """Repetition period of the Schmidl & Cox preamble, samples (N/4)."""
        return self.fft_size // 4

    @property
    def short_len(self) -> int:
        """Length of the Schmidl & Cox preamble, samples."""
        return self.num_short * self.symbol_len

    @property
    def long_gi(self) -> int:
        """Guard interval in front of the two long training symbols, samples (2 * cp, at most
        N/2: a guard of a whole LTS would make a third copy and an ambiguous timing peak)."""
        return min(2 * self.cp_len, self.fft_size // 2)

    @property
    def timing_search(self) -> int:
        """Half-width of the fine-timing search around the nominal LTS start, samples: the S&C
        peak is broad (at -3 dB it wanders by +-60 samples at N=64), so the guard plus N/2; the
        true LTS-pair peak has 4x the power of the half-overlap one N away, so the argmax over
        the range still locks on it."""
        return self.long_gi + self.fft_size // 2

    @property
    def preamble_len(self) -> int:
        """Short preamble + guard + two long training symbols, samples."""
        return self.short_len + self.long_gi + 2 * self.fft_size

    @property
    def header_bits(self) -> int:
        """Information bits in the header (incl. its CRC-16)."""
        return 64

    @property
    def header_coded_bits(self) -> int:
        """Coded header bits (rate-1/2 K=7 code, 6 tail bits), before repetition."""
        return 2 * (self.header_bits + 6)

    @property
    def header_symbols(self) -> int:
        """OFDM symbols carrying the header (``header_repeat`` copies of the coded bits)."""
        coded = self.header_coded_bits * self.header_repeat
        per_sym = self.num_data_subcarriers * BITS_PER_SYMBOL[self.header_modulation]
        return -(-coded // per_sym)

    @property
    def header_len(self) -> int:
        return self.header_symbols * self.symbol_len

    def payload_symbols_analog(self, n: int) -> int:
        """OFDM symbols needed for ``n`` analog payload symbols."""
        return -(-int(n) // self.num_data_subcarriers)

    def payload_symbols_digital(self, num_bytes: int, modulation: str) -> int:
        """OFDM symbols for a digital payload of ``num_bytes`` (+CRC-32, rate 1/2, 6 tail bits)."""
        coded = 2 * (8 * (int(num_bytes) + 4) + 6)
        per_sym = self.num_data_subcarriers * BITS_PER_SYMBOL[modulation]
        return -(-coded // per_sym)

    def frame_len(self, num_payload_symbols: int) -> int:
        """Total frame length in samples for a payload of that many OFDM symbols."""
        return self.preamble_len + self.header_len + int(num_payload_symbols) * self.symbol_len
