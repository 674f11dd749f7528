"""Gray-mapped BPSK / QPSK / 16-QAM / 64-QAM with unit average symbol energy, and max-log soft
demapping to LLRs (``log P(0)/P(1)``) given a per-symbol noise variance.

Square QAM is two Gray-coded PAM axes: the first half of each symbol's bits (MSB first) selects
the in-phase level, the second half the quadrature level. Same constellation as CommPy's
``QAMModem`` up to the bit labelling; ours is written out so demapping is one vectorised pass.
"""

from __future__ import annotations

import functools

import numpy as np

from .config import BITS_PER_SYMBOL, MODULATIONS


def bits_per_symbol(modulation: str) -> int:
    """Bits carried by one symbol of ``modulation`` ("bpsk", "qpsk", "16qam", "64qam")."""
    try:
        return BITS_PER_SYMBOL[modulation]
    except KeyError:
        raise ValueError(f"unknown modulation {modulation!r}; use one of {MODULATIONS}") from None


@functools.lru_cache(maxsize=8)
def _pam(bits_per_axis: int, scale: float):
    """Levels (ascending) and, for each level, its Gray label bits (MSB first)."""
    num = 1 << bits_per_axis
    idx = np.arange(num)
    gray = idx ^ (idx >> 1)
    levels = (2.0 * idx - (num - 1)) * scale
    labels = (gray[:, None] >> (bits_per_axis - 1 - np.arange(bits_per_axis))[None, :]) & 1
    # value of a label -> level index
    label_to_level = np.empty(num, dtype=np.int64)
    label_to_level[gray] = idx
    return levels, labels.astype(np.uint8), label_to_level


def _axis_params(modulation: str) -> tuple[int, float]:
    m = bits_per_symbol(modulation)
    if modulation == "bpsk":
        return 1, 1.0
    per_axis = m // 2
    num = 1 << per_axis
    return per_axis, float(np.sqrt(3.0 / (2.0 * (num * num - 1))))


def modulate(bits: np.ndarray, modulation: str) -> np.ndarray:
    """Map bits to unit-energy symbols.

    Args:
        bits: uint8 [n * bits_per_symbol] (0/1).
        modulation: "bpsk", "qpsk", "16qam" or "64qam".
    Returns:
        complex64 [n], mean |x|^2 = 1 for uniform bits.
    """
    m = bits_per_symbol(modulation)
    bits = np.asarray(bits, dtype=np.uint8).ravel()
    if bits.size % m:
        raise ValueError(f"{modulation} needs a multiple of {m} bits, got {bits.size}")
    per_axis, scale = _axis_params(modulation)
    levels, _, label_to_level = _pam(per_axis, scale)
    weights = 1 << np.arange(per_axis - 1, -1, -1)
    if modulation == "bpsk":
        return (1.0 - 2.0 * bits).astype(np.complex64)
    groups = bits.reshape(-1, 2, per_axis)
    labels = groups @ weights
    i = levels[label_to_level[labels[:, 0]]]
    q = levels[label_to_level[labels[:, 1]]]
    return (i + 1j * q).astype(np.complex64)


def demodulate_llr(symbols: np.ndarray, noise_var: np.ndarray | float, modulation: str) -> np.ndarray:
    """Max-log LLRs of equalised symbols.

    Args:
        symbols: complex [n], equalised (unbiased) received symbols.
        noise_var: float [n] or scalar, complex noise variance per symbol (both axes together).
        modulation: as in :func:`modulate`.
    Returns:
        float32 [n * bits_per_symbol], ``log P(0)/P(1)`` in the bit order of :func:`modulate`.
    """
    y = np.asarray(symbols).ravel()
    nv = np.broadcast_to(np.maximum(np.asarray(noise_var, dtype=np.float64), 1e-12), y.shape)
    if modulation == "bpsk":
        return (4.0 * y.real / nv).astype(np.float32)
    per_axis, scale = _axis_params(modulation)
    levels, labels, _ = _pam(per_axis, scale)
    out = np.empty((y.size, 2, per_axis), dtype=np.float32)
    for axis, comp in enumerate((y.real, y.imag)):
        d = (comp[:, None] - levels[None, :]) ** 2  # [n, levels]
        for b in range(per_axis):
            one = labels[:, b] == 1
            d1 = d[:, one].min(axis=1)
            d0 = d[:, ~one].min(axis=1)
            out[:, axis, b] = (d1 - d0) / nv
    return out.reshape(-1)


def hard_decision(symbols: np.ndarray, modulation: str) -> np.ndarray:
    """Nearest constellation points of ``symbols``; complex64 [n]."""
    llr = demodulate_llr(symbols, 1.0, modulation)
    return modulate((llr < 0).astype(np.uint8), modulation)
