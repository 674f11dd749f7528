"""Frame-level data: the 8-byte header (pack / parse with CRC-16) and the decoded :class:`Frame`.

Header bytes: ``[kind<<4 | mode] [length u16] [seq u16] [version] [crc16 u16]``, big-endian.
``kind``: 0 analog, 1 digital. ``mode``: modulation index for digital payloads (0 bpsk, 1 qpsk,
2 16qam, 3 64qam). ``length``: analog symbols or digital payload bytes (1..65535).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .config import MODULATIONS
from .crc import crc16

KINDS = ("analog", "digital")
HEADER_VERSION = 1
MAX_LENGTH = 0xFFFF


@dataclasses.dataclass(frozen=True)
class Header:
    kind: str
    length: int
    seq: int
    modulation: str | None = None  # digital payloads only
    mode: int = 0  # analog payloads: a 4-bit value for the codec (its rate); digital: ignored

    def pack(self) -> bytes:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if not 1 <= self.length <= MAX_LENGTH:
            raise ValueError(f"payload length must be 1..{MAX_LENGTH}, got {self.length}")
        if not 0 <= self.seq <= 0xFFFF:
            raise ValueError(f"seq must be 0..65535, got {self.seq}")
        if self.kind == "analog" and not 0 <= int(self.mode) <= 15:
            raise ValueError(f"analog mode must be 0..15, got {self.mode}")
        mode = MODULATIONS.index(self.modulation) if self.kind == "digital" else int(self.mode)
        body = bytes([(KINDS.index(self.kind) << 4) | mode]) + self.length.to_bytes(2, "big")
        body += self.seq.to_bytes(2, "big") + bytes([HEADER_VERSION])
        return body + crc16(body).to_bytes(2, "big")

    @classmethod
    def parse(cls, data: bytes) -> "Header | None":
        """The header, or ``None`` if the CRC fails or a field is out of range."""
        if len(data) != 8 or crc16(data[:6]).to_bytes(2, "big") != data[6:]:
            return None
        kind_i, mode = data[0] >> 4, data[0] & 0xF
        length = int.from_bytes(data[1:3], "big")
        if kind_i >= len(KINDS) or data[5] != HEADER_VERSION or length == 0:
            return None
        kind = KINDS[kind_i]
        if kind == "digital":
            if mode >= len(MODULATIONS):
                return None
            return cls(kind, length, int.from_bytes(data[3:5], "big"), MODULATIONS[mode])
        return cls(kind, length, int.from_bytes(data[3:5], "big"), mode=mode)


@dataclasses.dataclass
class Frame:
    """One decoded frame.

    Attributes:
        seq: sequence number from the header (0..65535).
        kind: "analog" or "digital".
        symbols: complex64 [n]: equalised, de-interleaved payload symbols in the order sent
            (analog: the caller's symbols, power-normalised; digital: the QAM symbols carrying
            the coded bits).
        noise_var: float32 [n]: post-equalisation noise variance of each symbol (same units as
            the unit-power symbols; for MMSE the mean-square error).
        payload: bytes for digital frames whose CRC-32 passed, else ``None``.
        snr_db: per-frame SNR estimate, Es/N0 per data resource element, dB.
        cfo_hz, cfo_subcarriers: estimated carrier frequency offset.
        evm_db: digital frames: error-vector magnitude, dB (``None`` for analog).
        start_sample: absolute stream index of the first preamble sample.
        modulation: digital payload modulation (``None`` for analog).
        noise_per_subcarrier: float32 [num_used] noise variance per used subcarrier (before
            equalisation, relative to unit-power resource elements at the channel's gain).
        channel: complex64 [num_used] channel estimate on the used subcarriers.
        sfo_ppm: sampling-frequency offset estimated from the pilots.
    """

    seq: int
    kind: str
    symbols: np.ndarray
    noise_var: np.ndarray
    payload: bytes | None
    snr_db: float
    cfo_hz: float
    cfo_subcarriers: float
    evm_db: float | None
    start_sample: int
    modulation: str | None = None
    noise_per_subcarrier: np.ndarray | None = None
    channel: np.ndarray | None = None
    sfo_ppm: float = 0.0
    num_ofdm_symbols: int = 0
    mode: int = 0  # the header's mode nibble (analog: the sender's value; digital: modulation index)
