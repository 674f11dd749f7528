"""CRC helpers for headers (CRC-16/CCITT-FALSE) and payloads (CRC-32, zlib's), on bytes."""

from __future__ import annotations

import zlib

import numpy as np


def _crc16_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint16)
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        table[i] = c & 0xFFFF
    return table


_CRC16 = _crc16_table()
_CRC16_LIST = _CRC16.tolist()  # Python ints: scalar indexing of a numpy table is slow


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of ``data``; int 0..65535."""
    crc = 0xFFFF
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16_LIST[((crc >> 8) ^ byte) & 0xFF]
    return crc


def crc32(data: bytes) -> int:
    """CRC-32 (zlib / IEEE 802.3) of ``data``; int."""
    return zlib.crc32(bytes(data)) & 0xFFFFFFFF


def append_crc32(data: bytes) -> bytes:
    """``data`` followed by its CRC-32, big-endian (4 bytes)."""
    return bytes(data) + crc32(data).to_bytes(4, "big")


def check_crc32(data_with_crc: bytes) -> bytes | None:
    """The data part if the trailing CRC-32 matches, else ``None``."""
    if len(data_with_crc) < 4:
        return None
    data, tail = data_with_crc[:-4], data_with_crc[-4:]
    return data if crc32(data).to_bytes(4, "big") == tail else None


def bytes_to_bits(data: bytes) -> np.ndarray:
    """MSB-first bits of ``data``; uint8 [8 * len(data)]."""
    return np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))


def bits_to_bytes(bits: np.ndarray) -> bytes:
    """Inverse of :func:`bytes_to_bits` (length must be a multiple of 8)."""
    bits = np.asarray(bits, dtype=np.uint8)
    if bits.size % 8:
        raise ValueError(f"bit count must be a multiple of 8, got {bits.size}")
    return np.packbits(bits).tobytes()
