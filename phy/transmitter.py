"""Frame transmitter: analog (caller's complex symbols) or digital (bytes -> CRC-32 -> K=7 code ->
QAM) payloads behind the preamble and the coded header; complex64 IQ out.

Frame: ``| short preamble (S&C, num_short symbols) | 2cp guard | LTS | LTS | header | payload |``
"""

from __future__ import annotations

import numpy as np

from . import fec
from .config import OfdmConfig
from .crc import append_crc32, bytes_to_bits
from .frame import MAX_LENGTH, Header
from .modulation import bits_per_symbol, modulate
from .preamble import analog_interleaver, permutation, training


class FrameTransmitter:
    """Builds frames of one :class:`OfdmConfig`.

    Output samples are ``cfg.tx_scale * ifft(grid, norm="ortho")`` with cyclic prefixes, so every
    data resource element has unit power before scaling; samples with |x| > 1 are clipped
    (counted in ``clipped_samples``) so radios never see more than full scale.

    Example::

        tx = FrameTransmitter(OfdmConfig())
        iq = tx.analog_frame(np.exp(2j * np.pi * np.random.rand(480)), seq=7)   # complex64 [n]
        iq = tx.digital_frame(b"hello", seq=8, modulation="16qam")
    """

    def __init__(self, cfg: OfdmConfig | None = None) -> None:
        self.cfg = cfg or OfdmConfig()
        self._train = training(self.cfg)
        self.clipped_samples = 0

    # -- public --------------------------------------------------------------------------------
    def analog_frame(self, symbols: np.ndarray, seq: int = 0, mode: int = 0) -> np.ndarray:
        """Frame carrying ``symbols`` (complex [n], 1 <= n <= 65535), power-normalised to mean
        |x|^2 = 1 and interleaved across subcarriers and OFDM symbols; complex64 [samples].
        ``mode`` (0..15) rides the header's mode nibble (the codec's rate) and comes back as
        ``Frame.mode``."""
        x = np.asarray(symbols)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number)):
            raise TypeError(f"symbols must be a numeric array, got dtype {x.dtype}")
        x = x.astype(np.complex128).ravel()
        if not 1 <= x.size <= MAX_LENGTH:
            raise ValueError(f"an analog frame carries 1..{MAX_LENGTH} symbols, got {x.size}")
        if not np.all(np.isfinite(x)):
            raise ValueError("symbols contain NaN or inf")
        power = np.mean(np.abs(x) ** 2)
        if power <= 0:
            raise ValueError("symbols are all zero; nothing to normalise")
        x = x / np.sqrt(power)
        cfg = self.cfg
        nsym = cfg.payload_symbols_analog(x.size)
        slots = nsym * cfg.num_data_subcarriers
        perm = analog_interleaver(nsym, cfg.num_data_subcarriers)
        data = self._filler_qpsk(slots)
        data[perm[: x.size]] = x
        header = Header("analog", x.size, self._seq(seq), mode=int(mode))
        return self._assemble(header, data.reshape(nsym, -1))

    def digital_frame(self, payload: bytes, seq: int = 0, modulation: str = "qpsk") -> np.ndarray:
        """Frame carrying ``payload`` (1..65535 bytes) with CRC-32, the rate-1/2 K=7 code, a bit
        interleaver across the frame and ``modulation`` ("bpsk", "qpsk", "16qam", "64qam")."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError(f"payload must be bytes, got {type(payload).__name__}")
        payload = bytes(payload)
        if not 1 <= len(payload) <= MAX_LENGTH:
            raise ValueError(f"a digital frame carries 1..{MAX_LENGTH} bytes, got {len(payload)}")
        m = bits_per_symbol(modulation)
        cfg = self.cfg
        coded = fec.conv_encode(bytes_to_bits(append_crc32(payload)))
        nsym = cfg.payload_symbols_digital(len(payload), modulation)
        slots = nsym * cfg.num_data_subcarriers * m
        bits = np.random.default_rng(len(payload)).integers(0, 2, slots).astype(np.uint8)
        bits[permutation(slots, cfg.interleaver_seed)[: coded.size]] = coded
        data = modulate(bits, modulation).astype(np.complex128)
        header = Header("digital", len(payload), self._seq(seq), modulation)
        return self._assemble(header, data.reshape(nsym, -1))

    def frame_len(self, kind: str, length: int, modulation: str = "qpsk") -> int:
        """Samples of a frame of ``length`` symbols (analog) or bytes (digital)."""
        cfg = self.cfg
        if kind == "analog":
            return cfg.frame_len(cfg.payload_symbols_analog(length))
        return cfg.frame_len(cfg.payload_symbols_digital(length, modulation))

    # -- internals -----------------------------------------------------------------------------
    @staticmethod
    def _seq(seq: int) -> int:
        if not isinstance(seq, (int, np.integer)) or not 0 <= seq <= 0xFFFF:
            raise ValueError(f"seq must be an integer 0..65535, got {seq!r}")
        return int(seq)

    @staticmethod
    def _filler_qpsk(n: int) -> np.ndarray:
        bits = np.random.default_rng(n).integers(0, 2, 2 * n)
        return ((1 - 2.0 * bits[0::2]) + 1j * (1 - 2.0 * bits[1::2])) / np.sqrt(2)

    def header_grid(self, header: Header) -> np.ndarray:
        """Header data symbols, complex128 [header_symbols, num_data_subcarriers]."""
        cfg = self.cfg
        coded = fec.conv_encode(bytes_to_bits(header.pack()))
        m = bits_per_symbol(cfg.header_modulation)
        slots = cfg.header_symbols * cfg.num_data_subcarriers * m
        bits = np.zeros(slots, dtype=np.uint8)
        bits[permutation(slots, cfg.interleaver_seed + 1)[: coded.size]] = coded
        return modulate(bits, cfg.header_modulation).astype(np.complex128).reshape(cfg.header_symbols, -1)

    def _assemble(self, header: Header, payload: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        data = np.concatenate([self.header_grid(header), payload], axis=0)
        nsym = data.shape[0]
        grid = np.zeros((nsym, cfg.fft_size), complex)
        grid[:, cfg.bins(cfg.data_subcarriers)] = data
        pol = self._train.pilot_polarity(np.arange(nsym))
        grid[:, cfg.bins(cfg.pilot_subcarriers)] = pol[:, None] * self._train.pilot_values[None, :]
        time = np.fft.ifft(grid, axis=1, norm="ortho")
        symbols = np.concatenate([time[:, -cfg.cp_len :], time], axis=1).ravel()
        iq = cfg.tx_scale * np.concatenate([self._train.preamble_time, symbols])
        mag = np.abs(iq)
        over = mag > 1.0
        if over.any():  # keep radios within full scale; rare at the default tx_scale
            self.clipped_samples += int(over.sum())
            iq[over] /= mag[over]
        return iq.astype(np.complex64)
