"""The receiver's plan: every table of the per-frame path that depends only on the config, computed
once per config, read-only, in one frozen object (:class:`ReceiverPlan`, from :func:`receiver_plan`).

A receiver holds its plan and its stream state, nothing else precomputed; the per-length tables of
payloads (symbol axes, the analog de-interleaver) come from the plan's methods, cached per
(config, length) like the other read-only tables of ``phy/``.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from . import _kernels, fec
from .config import OfdmConfig
from .estimation import Layout, SymbolAxes, layout
from .preamble import Training, analog_interleaver, permutation, training


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def symbol_times(cfg: OfdmConfig, first: int, count: int) -> np.ndarray:
    """float64 [count]: centre of OFDM symbols ``first .. first + count - 1`` after the LTS pair
    (0 = the first header symbol) relative to the centre of the LTS pair, samples (the SFO model's
    time axis)."""
    idx = np.arange(first, first + count)
    return cfg.fft_size + idx * cfg.symbol_len + cfg.cp_len + cfg.fft_size / 2


@dataclasses.dataclass(frozen=True, eq=False)
class ReceiverPlan:
    """Precomputed tables of one :class:`OfdmConfig` for :class:`~.receiver.StreamingReceiver`.

    Attributes:
        cfg: the numerology.
        train: known sequences (:func:`.preamble.training`).
        lay: subcarrier index arrays and tap-domain matrices (:func:`.estimation.layout`).
        period, window: Schmidl & Cox lag D = N/4 and correlation window W = short_len - D, samples.
        need_extra: samples needed after a detection at d (preamble, header, timing search, 2 CP).
        lts_to_payload: samples from the LTS start to the first payload symbol's CP.
        hdr_axes: :class:`.estimation.SymbolAxes` of the header symbols.
        hdr_perm: int64 [coded header bits x header_repeat]: interleaver slot of each copy's bit.
        hdr_starts: float64 [2 + hs]: FFT-window starts of the LTS pair and the header symbols,
            samples after the LTS start (the CFO phase reference); hdr_offsets: the same, int64.
        hdr_gather: int64 [2 + hs, N]: their sample indices (numpy path); hdr_span: samples they cover.
        fine: int64 [N]: 0..N-1 (the per-sample CFO phasor's exponent).
        fft_rev, fft_tw: the compiled FFT's tables (:func:`._kernels.fft_tables`).
        codeword_delays: int64 arrays (inverse c0, inverse c1, encoder g0, encoder g1 delays) of
            the hard-decision codeword check (:func:`.fec.hard_decision_int`).
    """

    cfg: OfdmConfig
    train: Training
    lay: Layout
    period: int
    window: int
    need_extra: int
    lts_to_payload: int
    hdr_axes: SymbolAxes
    hdr_perm: np.ndarray
    hdr_starts: np.ndarray
    hdr_offsets: np.ndarray
    hdr_gather: np.ndarray
    hdr_span: int
    fine: np.ndarray
    fft_rev: np.ndarray
    fft_tw: np.ndarray
    codeword_delays: tuple

    def payload_axes(self, nsym: int) -> SymbolAxes:
        """:class:`.estimation.SymbolAxes` of a payload of ``nsym`` OFDM symbols (cached)."""
        return _payload_axes(self.cfg, int(nsym))

    def analog_selection(self, nsym: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        """(resource element, data column) of each of the ``length`` analog symbols of an
        ``nsym``-symbol payload, in send order; int64 [length] each, read-only (cached)."""
        return _analog_selection(self.cfg, int(nsym), int(length))


@functools.lru_cache(maxsize=16)
def receiver_plan(cfg: OfdmConfig) -> ReceiverPlan:
    """The :class:`ReceiverPlan` of ``cfg`` (computed once per config)."""
    train = training(cfg)
    n, hs = cfg.fft_size, cfg.header_symbols
    slots = hs * cfg.num_data_subcarriers * (1 if cfg.header_modulation == "bpsk" else 2)
    hdr_perm = np.asarray(permutation(slots, cfg.interleaver_seed + 1)[: cfg.header_coded_bits * cfg.header_repeat],
                          np.int64)
    hdr_starts = np.concatenate([[0, n], 2 * n + cfg.cp_len + np.arange(hs) * cfg.symbol_len]).astype(float)
    fine = np.arange(n, dtype=np.int64)
    rev, tw = _kernels.fft_tables(n)
    return ReceiverPlan(
        cfg=cfg,
        train=train,
        lay=layout(cfg),
        period=cfg.short_period,
        window=cfg.short_len - cfg.short_period,
        need_extra=cfg.preamble_len + cfg.header_len + cfg.timing_search + 2 * cfg.cp_len,
        lts_to_payload=2 * n + cfg.header_len,
        hdr_axes=SymbolAxes(np.arange(hs), symbol_times(cfg, 0, hs), cfg, train),
        hdr_perm=_readonly(hdr_perm),
        hdr_starts=_readonly(hdr_starts),
        hdr_offsets=_readonly(hdr_starts.astype(np.int64)),
        hdr_gather=_readonly(hdr_starts.astype(np.int64)[:, None] + fine[None, :]),
        hdr_span=2 * n + hs * cfg.symbol_len,
        fine=_readonly(fine),
        fft_rev=rev,
        fft_tw=tw,
        codeword_delays=tuple(_readonly(np.array(d, np.int64)) for d in fec._INV_DELAYS + fec._ENC_DELAYS),
    )


@functools.lru_cache(maxsize=64)
def _payload_axes(cfg: OfdmConfig, nsym: int) -> SymbolAxes:
    hs = cfg.header_symbols
    return SymbolAxes(np.arange(hs, hs + nsym), symbol_times(cfg, hs, nsym), cfg, training(cfg))


@functools.lru_cache(maxsize=128)
def _analog_selection(cfg: OfdmConfig, nsym: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    sel = np.asarray(analog_interleaver(nsym, cfg.num_data_subcarriers)[:length], np.int64)
    return _readonly(sel), _readonly(sel % cfg.num_data_subcarriers)
