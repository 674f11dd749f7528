"""Streaming OFDM receiver: IQ chunks of any size in, decoded :class:`Frame` objects out.

State is explicit (a sample buffer with its absolute stream index, the search position and a
frame waiting for its payload samples), so a frame straddling chunk boundaries decodes exactly
as if the stream had arrived in one piece.

Pipeline per frame::

    S&C metric (cumsum) > threshold -> peak -> coarse CFO (+-2 sc) -> integer CFO (differential
    correlation, 2 best hypotheses) -> LTS cross-correlation: verification + fine timing (first
    path) -> fine CFO (LTS lag N) -> LS channel + noise (LTS pair), sparse tap smoothing ->
    header: equalise, pilots, BPSK/QPSK LLR, Viterbi, CRC-16 (on failure retried with the windows
    shifted -1, +1, -2 samples), data-aided noise refinement ->
    payload: equalise (ZF/MMSE), pilot CPE + SFO -> de-interleave ->
    analog symbols + noise variance | digital: LLR, Viterbi, CRC-32, EVM
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import fec
from ._numeric import fft_ortho
from .config import MODULATIONS, OfdmConfig
from .crc import bits_to_bytes
from .estimation import ChannelEstimate, SymbolAxes, equalize, estimate_channel, refine_noise
from .frame import Frame, Header
from .modulation import bits_per_symbol, demodulate_llr, modulate
from .preamble import analog_interleaver, permutation, training
from .sync import SyncResult, detection_metric, synchronize
from .transmitter import FrameTransmitter


class StreamingReceiver:
    """Decode frames from a continuous complex64 stream.

    Args:
        cfg: the numerology (must match the transmitter's).
        sample_rate: Hz, only used to report ``cfo_hz``.
        equalizer: "mmse" (default) or "zf" for the analog symbols; digital payloads are always
            demapped from the unbiased (ZF-equivalent) symbols with their noise variance.
        detection_threshold: Schmidl & Cox metric threshold, 0..1 (``|P|^2 / R^2``); lower finds
            weaker frames and costs more verification work on noise.
        false_alarm_prob: probability that pure noise passes the verification after a detection
            (normalised cross-correlation with the known long symbols; sets its threshold). The
            header CRC-16 then rejects all but ~2^-16 of what passes.
        timing_backoff: samples the FFT window is moved into the cyclic prefix.
        smooth_channel: denoise the LS channel estimate in the tap domain (default on).
        max_sfo_ppm: largest sampling-frequency offset the pilot tracking follows (0 = off).
        keep_sync_log: record every verified preamble (start, SNR and CFO estimates), header
            decoded or not, in ``sync_log`` (a list of dicts; for diagnostics and benchmarks).

    ``stats`` counts: samples, detections, sync_rejects, header_crc_fail, header_ok, frames_ok,
    payload_crc_fail, bad_samples (NaN, inf or |x| > 1e15, zeroed).
    """

    def __init__(
        self,
        cfg: OfdmConfig | None = None,
        sample_rate: float = 1e6,
        equalizer: str = "mmse",
        detection_threshold: float = 0.1,
        false_alarm_prob: float = 1e-6,
        timing_backoff: int = 2,
        smooth_channel: bool = True,
        max_sfo_ppm: float = 200.0,
        keep_sync_log: bool = False,
    ) -> None:
        self.cfg = cfg or OfdmConfig()
        if not (isinstance(sample_rate, (int, float)) and math.isfinite(sample_rate) and sample_rate > 0):
            raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
        if equalizer not in ("zf", "mmse"):
            raise ValueError(f"equalizer must be 'zf' or 'mmse', got {equalizer!r}")
        if not 0 < detection_threshold < 1:
            raise ValueError(f"detection_threshold must be in (0, 1), got {detection_threshold!r}")
        if not 0 < false_alarm_prob < 1:
            raise ValueError(f"false_alarm_prob must be in (0, 1), got {false_alarm_prob!r}")
        if not 0 <= timing_backoff <= self.cfg.cp_len // 2:
            raise ValueError(f"timing_backoff must be 0..cp_len/2, got {timing_backoff!r}")
        self.sample_rate = float(sample_rate)
        self.equalizer = equalizer
        self.detection_threshold = float(detection_threshold)
        self.false_alarm_prob = float(false_alarm_prob)
        # on noise, |<y, lts>|^2 / (|y|^2 |lts|^2) over 2N samples is ~ Beta(1, 2N-1) ~ exp(2N):
        # P(max over the 4 cp + 1 timing lags > v) ~ lags * exp(-2N v)
        train = training(self.cfg)
        lags = 4 * self.cfg.cp_len + 1
        self.verify_threshold = float(min(0.9, math.log(lags / false_alarm_prob) / (2 * self.cfg.fft_size)))
        self.timing_backoff = int(timing_backoff)
        self.smooth_channel = bool(smooth_channel)
        if not 0 <= max_sfo_ppm <= 1e4:
            raise ValueError(f"max_sfo_ppm must be 0..10000, got {max_sfo_ppm!r}")
        self.max_sfo_ppm = float(max_sfo_ppm)
        self.sync_log: list[dict] | None = [] if keep_sync_log else None
        self._train = train
        self._tx = FrameTransmitter(self.cfg)  # re-encodes decoded headers (data-aided noise)
        self._period = self.cfg.short_period
        self._window = self.cfg.short_len - self._period
        # everything of the per-frame path that only depends on the config, computed once
        cfg = self.cfg
        hs = cfg.header_symbols
        self._hdr_index = np.arange(hs)
        self._hdr_time = self._sym_time(0, hs)
        self._hdr_axes = SymbolAxes(self._hdr_index, self._hdr_time, cfg, self._train)
        slots = hs * cfg.num_data_subcarriers * bits_per_symbol(cfg.header_modulation)
        self._hdr_perm = permutation(slots, cfg.interleaver_seed + 1)[: 2 * (cfg.header_bits + fec.TAIL)]
        self._hdr_mask = np.zeros(slots, bool)  # slots carrying coded header bits (others: zeros)
        self._hdr_mask[self._hdr_perm] = True
        self._sym_starts = np.zeros(0)  # CP-free window start of payload symbol i (grown on demand)
        self._fine = np.arange(cfg.fft_size)
        # FFT windows of the LTS pair and the header symbols, relative to the LTS start
        n = cfg.fft_size
        self._hdr_starts = np.concatenate([[0, n], 2 * n + cfg.cp_len + np.arange(hs) * cfg.symbol_len]).astype(float)
        self._hdr_gather = self._hdr_starts.astype(int)[:, None] + self._fine[None, :]
        self._hdr_span = 2 * n + hs * cfg.symbol_len
        self._need_extra = self._window + cfg.preamble_len + cfg.header_len + 2 * cfg.cp_len
        self._lts_to_payload = 2 * cfg.fft_size + cfg.header_len
        self._payload_axes: dict[int, SymbolAxes] = {}  # nsym -> payload symbol axes
        self._analog_sel: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}  # (nsym, length) -> (RE, column)
        # right after a frame the next preamble is often right there: a short first block
        self._block_after_frame = 256
        # FFT-window shifts (samples) tried after a header CRC failure, in this order
        self._header_retry_shifts = (-1, 1, -2)
        self.reset()

    def reset(self) -> None:
        """Forget the stream (buffer, pending frame) and zero the counters."""
        self._buf = np.zeros(0, np.complex64)
        self._base = 0  # absolute index of _buf[0]
        self._pos = 0  # absolute index where the next detection search starts
        self._pending: dict | None = None
        self._block = self._block_after_frame  # detection search block, samples (adaptive)
        self.stats = dict.fromkeys(
            (
                "samples",
                "detections",
                "sync_rejects",
                "header_crc_fail",
                "header_ok",
                "frames_ok",
                "payload_crc_fail",
                "bad_samples",
            ),
            0,
        )

    # -- public --------------------------------------------------------------------------------
    def process(self, chunk: np.ndarray) -> list[Frame]:
        """Feed ``chunk`` (complex [n], any n >= 0); returns the frames completed by it."""
        x = self._validate(chunk)
        self.stats["samples"] += x.size
        if x.size:
            self._buf = np.concatenate([self._buf, x]) if self._buf.size else x
        frames: list[Frame] = []
        while True:
            if self._pending is not None:
                frame = self._try_payload()
                if frame is None and self._pending is not None:
                    break  # waiting for more samples
                if frame is not None:
                    frames.append(frame)
                continue
            if not self._search():
                break
        self._trim()
        return frames

    def flush(self) -> None:
        """Drop a frame still waiting for samples (end of stream)."""
        self._pending = None

    # -- input ---------------------------------------------------------------------------------
    def _validate(self, chunk: np.ndarray) -> np.ndarray:
        arr = np.asarray(chunk)
        if arr.dtype.kind != "c":
            raise TypeError(
                f"IQ chunks must be complex (complex64), got dtype {arr.dtype}; "
                "convert interleaved I/Q with x[0::2] + 1j * x[1::2]"
            )
        if arr.ndim != 1:
            raise ValueError(f"IQ chunks must be 1-D, got shape {arr.shape}")
        arr = np.ascontiguousarray(arr, dtype=np.complex64)
        # NaN / inf / absurdly large values (whose squares overflow float32) are zeroed and
        # counted: a stream keeps going
        flat = arr.view(np.float32)
        if flat.size and not (flat.max() <= 1e15 and flat.min() >= -1e15):  # NaN fails both
            bad = ~(np.abs(flat) <= 1e15).reshape(-1, 2).all(axis=1)
            self.stats["bad_samples"] += int(bad.sum())
            arr = arr.copy()
            arr[bad] = 0
        return arr

    def _trim(self) -> None:
        keep_from = self._pos if self._pending is None else min(self._pos, self._pending["lts"] - 8)
        cut = keep_from - self._base
        if cut > 0:
            self._buf = self._buf[cut:]
            self._base += cut

    # -- detection + header --------------------------------------------------------------------
    def _search(self) -> bool:
        """Look for a preamble from ``_pos``; True if the state advanced (call again)."""
        cfg = self.cfg
        start = self._pos - self._base
        x = self._buf[start:]
        # search a block at a time: small right after a frame (the next preamble is often
        # right there), growing on empty noise, so back-to-back frames do not rescan the chunk
        block = self._block
        span = block + 2 * self._window + self._period
        p2, r2 = detection_metric(x[:span], self._period, self._window)
        if p2.size == 0:
            return False
        valid = min(p2.size, block)
        hits = (p2[:valid] > self.detection_threshold * r2[:valid]).nonzero()[0]
        if hits.size == 0:
            self._pos += valid
            self._block = min(4 * block, 1 << 16)
            return x.size > span  # more samples beyond this block: keep searching
        self._block = self._block_after_frame
        i = int(hits[0])
        # the peak lies within one window of the first crossing; wait for those samples
        need = i + self._need_extra
        if need > x.size:
            self._pos += i
            return False
        if i + self._window > p2.size:  # the peak may lie past this block: search again from i
            self._pos += i
            return True
        seg_p2, seg_r2 = p2[i : i + self._window], r2[i : i + self._window]
        d = i + int((seg_p2 / (seg_r2 + 1e-30)).argmax())
        self.stats["detections"] += 1
        sync = synchronize(x, d, cfg, self._train, self.verify_threshold, self.timing_backoff)
        if sync is None:
            self.stats["sync_rejects"] += 1
            self._pos += d + cfg.short_len  # skip this correlation peak
            return True
        abs_sync = SyncResult(
            lts_start=sync.lts_start + self._pos,
            cfo=sync.cfo,
            quality=sync.quality,
            frame_start=sync.frame_start + self._pos,
        )
        pending = self._decode_header(abs_sync)
        if pending is None:
            # under multipath at low SNR the first-path timing is off by a sample or two often
            # enough to cost the header: retry the FFT windows a little early / late (only after
            # a CRC failure, so clean frames and noise pay nothing; each retry is one more CRC-16
            # check, ~2^-16 each on garbage)
            entry = self.sync_log[-1] if self.sync_log else None
            for shift in self._header_retry_shifts:
                retry = dataclasses.replace(abs_sync, lts_start=abs_sync.lts_start + shift)
                pending = self._decode_header(retry, log=False)
                if pending is not None:
                    abs_sync = retry
                    if entry is not None:
                        entry.update(snr_db=float(10 * np.log10(pending["est"].snr)), header_ok=True)
                    break
        if pending is None:
            self.stats["header_crc_fail"] += 1
            self._pos += d + cfg.short_len
            return True
        self.stats["header_ok"] += 1
        self._pending = pending
        # the header is consumed: a flush() or a lost payload must not re-detect this preamble
        self._pos = abs_sync.lts_start + self._lts_to_payload
        return True

    def _fft_symbols(self, lts: int, cfo: float, first: int, count: int, fine_ph: np.ndarray | None = None) -> np.ndarray:
        """FFTs of ``count`` OFDM symbols after the LTS pair, starting at symbol ``first``; [count, N]."""
        cfg = self.cfg
        n, sl, cp = cfg.fft_size, cfg.symbol_len, cfg.cp_len
        rel = 2 * n + first * sl  # CP start of the first symbol, relative to the LTS start
        a = lts + rel - self._base  # buffer index
        win = self._buf[a : a + count * sl].reshape(count, sl)[:, cp:]
        if self._sym_starts.size < count:
            self._sym_starts = np.arange(max(count, 2 * self._sym_starts.size)) * float(sl) + cp
        # CFO removal on the FFT windows only (the CP is dropped anyway): the phase of sample m of
        # symbol i is w (start_i + m), one phasor per symbol times one per sample
        w = -2 * np.pi * cfo / n
        if fine_ph is None:  # the per-sample phasor exp(j w m), m < N (the header's, if passed)
            fine_ph = np.exp((1j * w) * self._fine)
        ph = np.multiply.outer(np.exp((1j * w) * (self._sym_starts[:count] + rel)), fine_ph)
        return fft_ortho(win * ph)

    def _sym_time(self, first: int, count: int) -> np.ndarray:
        cfg = self.cfg
        idx = np.arange(first, first + count)
        # centre of symbol i relative to the centre of the LTS pair, samples
        return cfg.fft_size + idx * cfg.symbol_len + cfg.cp_len + cfg.fft_size / 2

    def _decode_header(self, sync: SyncResult, log: bool = True) -> dict | None:
        cfg = self.cfg
        n = cfg.fft_size
        a = sync.lts_start - self._base
        # LTS pair and header symbols: their FFT windows only, CFO removed (the phase of sample
        # m of window i is w (start_i + m): one phasor per window times one per sample), one
        # batched FFT
        win = self._buf[a : a + self._hdr_span].take(self._hdr_gather)
        w = -2 * np.pi * sync.cfo / n
        fine_ph = np.exp((1j * w) * self._fine)  # kept for the payload (same CFO)
        spec = fft_ortho(win * np.multiply.outer(np.exp((1j * w) * self._hdr_starts), fine_ph))
        est = estimate_channel(spec[0], spec[1], cfg, self._train, self.smooth_channel)
        entry = None
        if log and self.sync_log is not None:  # diagnostics: every verified preamble, decoded or not
            entry = {"start_sample": int(sync.frame_start), "snr_db": float(10 * np.log10(est.snr)),
                     "cfo_subcarriers": float(sync.cfo), "quality": float(sync.quality), "header_ok": False}
            self.sync_log.append(entry)
        eq = equalize(spec[2:], None, None, est, cfg, self._train, "zf", max_sfo_ppm=0.0, axes=self._hdr_axes)
        m = cfg.header_modulation
        if m == "bpsk":  # demodulate_llr's BPSK formula, without its generic wrapping
            llr_slots = (4.0 * eq.data_unbiased.real / np.maximum(eq.noise_var_unbiased_row, 1e-12)).astype(np.float32).ravel()
        else:
            llr_slots = demodulate_llr(eq.data_unbiased.ravel(), eq.noise_var_unbiased.ravel(), m)
        llr = llr_slots.take(self._hdr_perm)
        hard = fec.hard_decision_int(llr)  # error-free hard decisions: no trellis needed
        exact = hard is not None
        if exact:
            data = hard[0].to_bytes(cfg.header_bits // 8, "big")
        else:
            data = bits_to_bytes(fec.viterbi_decode(llr))
        header = Header.parse(data)
        if header is None:
            return None
        if exact:  # the hard decisions are the transmitted bits (padding slots carry zeros)
            slot_bits = self._hdr_mask & (llr_slots < 0)
            if m == "bpsk":
                known = np.where(slot_bits, -1.0, 1.0).reshape(eq.data_unbiased.shape)
            else:
                known = modulate(slot_bits.astype(np.uint8), m).reshape(eq.data_unbiased.shape)
        else:
            known = self._tx.header_grid(header)
        refine_noise(est, eq.data_unbiased, known, cfg)
        if entry is not None:
            entry.update(snr_db=float(10 * np.log10(est.snr)), header_ok=True)
        if header.kind == "analog":
            nsym = cfg.payload_symbols_analog(header.length)
        else:
            nsym = cfg.payload_symbols_digital(header.length, header.modulation)
        return {"sync": sync, "est": est, "header": header, "nsym": nsym, "lts": sync.lts_start, "fine_ph": fine_ph}

    # -- payload -------------------------------------------------------------------------------
    def _try_payload(self) -> Frame | None:
        cfg = self.cfg
        p = self._pending
        sync: SyncResult = p["sync"]
        est: ChannelEstimate = p["est"]
        header: Header = p["header"]
        hs, nsym = cfg.header_symbols, p["nsym"]
        end = sync.lts_start + 2 * cfg.fft_size + (hs + nsym) * cfg.symbol_len
        if end > self._base + self._buf.size:
            return None
        self._pending = None
        self._pos = max(self._pos, end - cfg.cp_len)
        y = self._fft_symbols(sync.lts_start, sync.cfo, hs, nsym, p["fine_ph"])
        axes = self._payload_axes.get(nsym)
        if axes is None:
            if len(self._payload_axes) > 32:
                self._payload_axes.clear()
            axes = self._payload_axes[nsym] = SymbolAxes(np.arange(hs, hs + nsym), self._sym_time(hs, nsym), cfg, self._train)
        eq = equalize(y, None, None, est, cfg, self._train, self.equalizer, self.max_sfo_ppm, axes=axes)
        snr_db = float(10 * np.log10(est.snr))
        cfo = sync.cfo
        # pilot phase slope 2 pi k sfo t / N per sample t, sfo with ChannelSimulator's sign
        sfo_ppm = float(eq.sfo_slope * cfg.fft_size / (2 * np.pi) * 1e6)
        common = dict(
            seq=header.seq,
            kind=header.kind,
            mode=header.mode if header.kind == "analog" else MODULATIONS.index(header.modulation),
            snr_db=snr_db,
            cfo_hz=cfo * self.sample_rate / cfg.fft_size,
            cfo_subcarriers=cfo,
            start_sample=int(sync.frame_start),
            noise_per_subcarrier=est.noise.astype(np.float32),
            channel=est.h.astype(np.complex64),
            sfo_ppm=sfo_ppm,
            num_ofdm_symbols=hs + nsym,
        )
        if header.kind == "analog":
            key = (nsym, header.length)
            got = self._analog_sel.get(key)
            if got is None:
                if len(self._analog_sel) > 64:
                    self._analog_sel.clear()
                sel = analog_interleaver(nsym, cfg.num_data_subcarriers)[: header.length]
                got = self._analog_sel[key] = (sel, sel % cfg.num_data_subcarriers)
            sel, col = got
            self.stats["frames_ok"] += 1
            return Frame(
                symbols=eq.data.ravel().take(sel).astype(np.complex64),
                noise_var=eq.noise_var_row.take(col).astype(np.float32),  # the same every symbol
                payload=None,
                evm_db=None,
                **common,
            )
        mod = header.modulation
        bps = bits_per_symbol(mod)
        llr = demodulate_llr(eq.data_unbiased.ravel(), eq.noise_var_unbiased.ravel(), mod)
        coded_len = 2 * (8 * (header.length + 4) + fec.TAIL)
        sel = permutation(llr.size, cfg.interleaver_seed)[:coded_len]
        bits = fec.viterbi_decode(llr[sel])
        payload = fec.check_crc32(bits_to_bytes(bits))
        # EVM against the re-encoded symbols when the CRC passed, else against hard decisions
        zf = eq.data_unbiased.ravel()
        if payload is not None:
            slot_bits = (llr < 0).astype(np.uint8)
            slot_bits[sel] = fec.conv_encode(bits)
            ref = modulate(slot_bits, mod)
        else:
            ref = modulate((llr < 0).astype(np.uint8), mod)
        used_syms = np.unique(sel // bps)
        err = np.mean(np.abs(zf[used_syms] - ref[used_syms]) ** 2) / np.mean(np.abs(ref[used_syms]) ** 2)
        self.stats["frames_ok" if payload is not None else "payload_crc_fail"] += 1
        return Frame(
            symbols=eq.data.ravel()[used_syms].astype(np.complex64),
            noise_var=eq.noise_var.ravel()[used_syms].astype(np.float32),
            payload=payload,
            evm_db=float(10 * np.log10(max(err, 1e-12))),
            modulation=mod,
            **common,
        )
