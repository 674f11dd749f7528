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
import warnings

import numpy as np
from scipy.special import gammainccinv

from . import fec
from ._numeric import fft_ortho
from .config import OfdmConfig
from .crc import bits_to_bytes
from . import _kernels
from .estimation import ChannelEstimate, Equalized, SymbolAxes, equalize, estimate_channel, refine_noise
from .frame import Frame, Header
from .frontend import FrontEndCorrection
from .integrity import payload_intact
from .modulation import _axis_params, _pam, bits_per_symbol, demodulate_llr, modulate
from .preamble import permutation, training
from .sync import SyncResult, detect_peak, detect_peak_compiled, synchronize, synchronize_compiled
from .plan import receiver_plan
from .transmitter import FrameTransmitter


@dataclasses.dataclass
class PendingFrame:
    """A frame whose header decoded, waiting for its payload (absolute stream indices)."""

    sync: SyncResult
    est: ChannelEstimate  # channel + noise (refined by the header)
    header: Header
    nsym: int  # payload OFDM symbols
    fine_ph: np.ndarray  # complex [N] per-sample CFO phasor (shared by header and payload FFTs)
    end: int  # index one past the payload's last sample
    search_end: int  # the search inside the payload covers detections before this index


class StreamingReceiver:
    """Decode frames from a continuous complex64 stream.

    Args:
        cfg: the numerology (must match the transmitter's).
        sample_rate: Hz, only used to report ``cfo_hz``.
        equalizer: "mmse" (default) or "zf" for the analog symbols; digital payloads are always
            demapped from the unbiased (ZF-equivalent) symbols with their noise variance.
        detection_threshold: Schmidl & Cox metric threshold, 0..1 (``|P|^2 / R^2``); lower finds
            weaker frames and costs more verification work on noise. Default ``14 / W`` with
            ``W = short_len - N/4`` the correlation window (on noise the metric is about
            exponential with mean 1/W: ~1e-6 of the positions trigger); 0.03 at the default.
        false_alarm_prob: probability that pure noise passes the verification after a detection
            (normalised cross-correlation with the known long symbols; sets its threshold; each
            of its two tests gets this probability). Default 1e-4 (was 1e-6: +8 % of the frames
            found on `tdl` at -3 and 0 dB; on noise the detector triggers < 720 times an hour at
            2 MS/s, so < 0.15 verified false alarms an hour). The header CRC-16 then rejects all
            but ~2^-16 of what passes.
        timing_backoff: samples the FFT window is moved into the cyclic prefix (0..cp_len/2;
            default min(2, cp_len/2)).
        smooth_channel: denoise the LS channel estimate in the tap domain (default on).
        max_sfo_ppm: largest sampling-frequency offset the pilot tracking follows (0 = off).
        keep_sync_log: record every verified preamble (start, SNR and CFO estimates), header
            decoded or not, in ``sync_log`` (a list of dicts; for diagnostics and benchmarks).
        backend: "numba" (compiled per-frame stages: channel estimate, equalisation + pilot
            tracking, payload integrity; see :mod:`._kernels`) or "numpy" (the reference path);
            default "numba" when numba imports. "numba" without numba falls back to "numpy" with
            a ``RuntimeWarning``. Both give the same frames to float rounding.

    ``stats`` counts: samples, detections, sync_rejects, header_crc_fail, header_ok, frames_ok,
    payload_crc_fail, bad_samples (NaN, inf or |x| > 1e15, zeroed), and the frames dropped:
    header_too_long (a CRC-valid header claiming more than ``cfg.max_payload_symbols``: counted,
    skipped), payload_cut_short (a new preamble + valid header inside a frame's claimed payload:
    the older frame was cut short; the search never stops inside a pending payload),
    analog_payload_invalid (an analog payload whose tail no longer carries the frame's energy or
    pilots: truncated bursts, a preamble + header alone; see :mod:`.integrity`).
    """

    def __init__(
        self,
        cfg: OfdmConfig | None = None,
        sample_rate: float = 1e6,
        equalizer: str = "mmse",
        detection_threshold: float | None = None,
        false_alarm_prob: float = 1e-4,
        timing_backoff: int | None = None,
        smooth_channel: bool = True,
        max_sfo_ppm: float = 200.0,
        keep_sync_log: bool = False,
        backend: str | None = None,
    ) -> None:
        self.cfg = cfg or OfdmConfig()
        if not (isinstance(sample_rate, (int, float)) and math.isfinite(sample_rate) and sample_rate > 0):
            raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
        if equalizer not in ("zf", "mmse"):
            raise ValueError(f"equalizer must be 'zf' or 'mmse', got {equalizer!r}")
        if detection_threshold is None:
            detection_threshold = min(0.5, 14.0 / (self.cfg.short_len - self.cfg.short_period))
        if not 0 < detection_threshold < 1:
            raise ValueError(f"detection_threshold must be in (0, 1), got {detection_threshold!r}")
        if not 0 < false_alarm_prob < 1:
            raise ValueError(f"false_alarm_prob must be in (0, 1), got {false_alarm_prob!r}")
        if timing_backoff is None:
            timing_backoff = min(2, self.cfg.cp_len // 2)
        if not isinstance(timing_backoff, (int, np.integer)) or not 0 <= timing_backoff <= self.cfg.cp_len // 2:
            raise ValueError(f"timing_backoff must be 0..cp_len/2, got {timing_backoff!r}")
        if backend not in (None, "numba", "numpy"):
            raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
        if backend is None:
            backend = "numba" if _kernels.AVAILABLE else "numpy"
        elif backend == "numba" and not _kernels.AVAILABLE:
            warnings.warn("numba is not installed: StreamingReceiver uses its numpy backend", RuntimeWarning, stacklevel=2)
            backend = "numpy"
        self.backend = backend
        # the per-frame stages of each backend (same inputs and results)
        if backend == "numba":
            self._header_stage, self._refine, self._payload_stage = self._header_numba, self._refine_numba, self._payload_numba
            self._detect, self._synchronize = detect_peak_compiled, synchronize_compiled
            self._digital_stage = self._digital_numba
        else:
            self._header_stage, self._refine, self._payload_stage = self._header_numpy, self._refine_numpy, self._payload_numpy
            self._detect, self._synchronize = detect_peak, synchronize
            self._digital_stage = self._digital_numpy
        self.sample_rate = float(sample_rate)
        self.equalizer = equalizer
        self.detection_threshold = float(detection_threshold)
        self.false_alarm_prob = float(false_alarm_prob)
        # on noise, |<y, lts>|^2 / (|y_used|^2 |lts|^2) (energy on the U used bins of both LTS
        # windows) is ~ Beta(1, 2U-1) ~ exp(2U): P(max over the 2 search + 1 timing lags > v)
        # ~ lags * exp(-2U v); capped at 0.5 so sparse allocations (small U) still verify at the
        # per-RE SNR of the default (the header CRC-16 then carries the false-alarm burden)
        train = training(self.cfg)
        lags = (2 * self.cfg.timing_search + 1) * train.int_cfo_hyps.size  # every timing lag and integer-CFO hypothesis
        self.verify_threshold = float(min(0.5, math.log(lags / false_alarm_prob) / (2 * self.cfg.num_used)))
        # the multipath check: the sum over L = 2 (cp//4) + 1 lags ~ Gamma(L, 1 / (2U)) on noise, at
        # the same false-alarm probability (over the same lags)
        self.multipath_threshold = float(
            gammainccinv(2 * (self.cfg.cp_len // 4) + 1, false_alarm_prob / lags) / (2 * self.cfg.num_used))
        self.timing_backoff = int(timing_backoff)
        self.smooth_channel = bool(smooth_channel)
        if not 0 <= max_sfo_ppm <= 1e4:
            raise ValueError(f"max_sfo_ppm must be 0..10000, got {max_sfo_ppm!r}")
        self.max_sfo_ppm = float(max_sfo_ppm)
        self.sync_log: list[dict] | None = [] if keep_sync_log else None
        # every table of the per-frame path that only depends on the config: one read-only plan
        cfg = self.cfg
        self._plan = plan = receiver_plan(cfg)
        self._tx = FrameTransmitter(self.cfg)  # re-encodes decoded headers (data-aided noise)
        if self.backend == "numba":  # the compiled header stage's tables, in _kernels._header_nb's order
            lay, train, ax = plan.lay, plan.train, plan.hdr_axes
            m = cfg.header_modulation
            per_axis, scale = _axis_params(m)
            levels, labels, label_to_level = _pam(per_axis, scale)
            self._nb_header = (
                plan.fft_rev, plan.fft_tw,
                lay.bins_used, train.lts_half, lay.pair_lo, lay.pair_hi, lay.k_used, lay.ridge_noise, lay.ridge_fh,
                lay.ridge_f, lay.f, lay.gram, lay.noise_smoother, self.smooth_channel,
                lay.ip, lay.idd, lay.bins_p, ax.pilots, lay.kp, lay.kp2, ax.tk, ax.time, ax.tmax, lay.kd_max,
                lay.kd_int_max, lay.kd_col, lay.bins_d,
                m == "bpsk", levels, labels, per_axis, levels[label_to_level], plan.hdr_perm, cfg.header_repeat,
                *plan.codeword_delays,
            )
        # right after a frame the next preamble is often right there: a short first block
        self._block_after_frame = 256
        # FFT-window shifts (samples) tried after a header CRC failure, in this order
        self._header_retry_shifts = (-1, 1, -2)
        self.reset()
        if self.backend == "numba" and not _kernels._payload_nb.signatures:
            self._warm_up()

    def _warm_up(self) -> None:
        """Compile the per-frame kernels now (first compiled receiver of a process), on two
        synthetic noisy frames, so a radio stream's first frame does not wait for them: numba
        compiles them once per machine in ~45 s of CPU and caches them on disk (``cache=True``);
        loading them from that cache takes ~0.5 s. The receiver is reset afterwards."""
        rng = np.random.default_rng(0)
        tx = FrameTransmitter(self.cfg)
        sym = np.exp(2j * np.pi * rng.random(2 * self.cfg.num_data_subcarriers))
        clean = np.concatenate([np.zeros(200), tx.analog_frame(sym), tx.digital_frame(bytes(64), modulation="16qam"),
                                np.zeros(self.cfg.frame_len(4))])
        noise = 0.3 * self.cfg.tx_scale * (rng.standard_normal(clean.size) + 1j * rng.standard_normal(clean.size))
        log, self.sync_log = self.sync_log, None
        try:
            self.process((clean + noise).astype(np.complex64))
        finally:
            self.sync_log = log
            self.reset()

    def reset(self) -> None:
        """Forget the stream (buffer, pending frame) and zero the counters."""
        # the sample buffer is a view of one of two stores the receiver owns and reuses: chunks
        # are copied in (never kept by reference: radios reuse their buffers) and no call maps
        # fresh memory once the stores have grown to the stream's chunk size
        self._stores = [np.zeros(0, np.complex64), np.zeros(0, np.complex64)]
        self._which = 0
        self._off = 0  # index of _buf[0] in the current store
        self._buf = self._stores[0][:0]
        self._base = 0  # absolute index of _buf[0]
        self._pos = 0  # absolute index where the next detection search starts
        self._pending: PendingFrame | None = None
        self.frontend = FrontEndCorrection()  # DC + IQ imbalance, estimated on idle samples
        self._frame_end = 0  # absolute end of the last frame (idle samples start there)
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
                "header_too_long",
                "payload_cut_short",
                "analog_payload_invalid",
            ),
            0,
        )

    # -- public --------------------------------------------------------------------------------
    def process(self, chunk: np.ndarray) -> list[Frame]:
        """Feed ``chunk`` (complex [n], any n >= 0); returns the frames completed by it."""
        x = self._validate(chunk)
        self.stats["samples"] += x.size
        if x.size:
            self._append(x)
        frames: list[Frame] = []
        while True:
            p = self._pending
            if p is not None:
                # keep searching inside the claimed payload first: a frame cut short (or a false
                # length field) must not hide the frames behind it; a new valid header there
                # replaces the pending frame (counted payload_cut_short)
                if self._pos < p.search_end:
                    if self._search(limit=p.search_end):
                        continue
                    if self._pos < p.search_end:
                        break  # waiting for samples
                if p.end > self._base + self._buf.size:
                    break  # waiting for the payload
                frame = self._try_payload()
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

    def _append(self, x: np.ndarray) -> None:
        """Copy ``x`` behind the buffered samples: in place when the current store has room,
        else into the other store (grown to twice what is needed when too small)."""
        n, m = self._buf.size, x.size
        store = self._stores[self._which]
        if self._off + n + m <= store.size:
            store[self._off + n : self._off + n + m] = x
            self._buf = store[self._off : self._off + n + m]
            return
        other = 1 - self._which
        dst = self._stores[other]
        if dst.size < n + m:
            dst = self._stores[other] = np.empty(max(2 * (n + m), 1 << 16), np.complex64)
        dst[:n] = self._buf
        dst[n : n + m] = x
        self._which, self._off = other, 0
        self._buf = dst[: n + m]

    def _trim(self) -> None:
        keep_from = self._pos if self._pending is None else min(self._pos, self._pending.sync.lts_start - 8)
        cut = keep_from - self._base
        if cut > 0:
            self._buf = self._buf[cut:]
            self._off += cut
            self._base += cut

    # -- detection + header --------------------------------------------------------------------
    def _search(self, limit: int | None = None) -> bool:
        """Look for a preamble from ``_pos`` (detections before the absolute index ``limit``
        only, if given); True if the state advanced (call again)."""
        cfg = self.cfg
        start = self._pos - self._base
        x = self._buf[start:]
        # search a block at a time: small right after a frame (the next preamble is often
        # right there), growing on empty noise, so back-to-back frames do not rescan the chunk
        block = self._block if limit is None else max(1, min(1 << 16, limit - self._pos))
        span = block + 2 * self._plan.window + self._plan.period
        valid, i, d, complete = self._detect(x[:span], self._plan.period, self._plan.window, block, self.detection_threshold)
        if valid == 0:
            return False
        if i < 0:
            self._update_frontend(x, valid, limit)
            self._pos += valid
            if limit is None:
                self._block = min(4 * block, 1 << 16)
            return x.size > span  # more samples beyond this block: keep searching
        if limit is None:
            self._block = self._block_after_frame
        if not complete:  # the peak may lie past this block: search again from d
            self._update_frontend(x, d - 2 * self._plan.period, limit)  # (the climb only moves on)
            self._pos += d
            return d > 0 or x.size > span
        # the samples before the preamble are idle (the first crossing can come a whole window
        # before it: the peak is the better bound)
        self._update_frontend(x, d - 2 * self._plan.period, limit)
        if limit is not None and self._pos + d >= limit:  # past the pending payload's search range
            self._pos = limit
            return False
        # wait for the samples of the whole preamble and header
        if d + self._plan.need_extra > x.size:
            self._pos += d
            return False
        self.stats["detections"] += 1
        sync = self._synchronize(x, d, cfg, self._plan.train, self.verify_threshold, self.timing_backoff,
                           multipath_threshold=self.multipath_threshold, offset=self._pos)
        if sync is None:
            self.stats["sync_rejects"] += 1
            # no preamble verified here: the searched window is idle too (a strong DC or tone
            # keeps the metric above the threshold, so blocks without a hit never come)
            self._update_frontend(x, i + self._plan.window - self._plan.period, limit, start=i)
            # resume right after the window the peak was taken from: every start in it scored
            # below d, so a preamble starting there was not missed; skipping further (d + the
            # preamble length) could jump into a real preamble behind a false trigger and lock
            # its timing late (DC offsets and tones near the noise level trigger often)
            self._pos += i + self._plan.window
            return True
        abs_sync = sync  # absolute indices
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
                        entry.update(snr_db=float(10 * np.log10(pending.est.snr)), header_ok=True)
                    break
        if pending is None:
            self.stats["header_crc_fail"] += 1
            self._pos += d + cfg.short_len
            return True
        if pending.nsym > cfg.max_payload_symbols:  # valid CRC, impossible length: skip the header
            self.stats["header_too_long"] += 1
            self._pos = abs_sync.lts_start + self._plan.lts_to_payload
            return True
        self.stats["header_ok"] += 1
        if self._pending is not None:
            self.stats["payload_cut_short"] += 1
        self._pending = pending
        # the header is consumed: a flush() or a lost payload must not re-detect this preamble
        self._pos = abs_sync.lts_start + self._plan.lts_to_payload
        return True

    def _update_frontend(self, x: np.ndarray, stop: int, limit: int | None, start: int = 0) -> None:
        """Feed the idle samples ``x[start:stop]`` (before any preamble, after the last frame's
        end; at most 4096 per call) to the DC / IQ-imbalance estimate."""
        if limit is not None:
            return  # inside a pending frame's payload: not idle
        a = max(start, stop - 4096, self._frame_end - self._pos)
        if stop - a >= 64:
            self.frontend.update(x[a:stop])

    def _fft_symbols(self, lts: int, cfo: float, first: int, count: int, fine_ph: np.ndarray | None = None) -> np.ndarray:
        """FFTs of ``count`` OFDM symbols after the LTS pair, starting at symbol ``first``; [count, N]."""
        cfg = self.cfg
        n, sl, cp = cfg.fft_size, cfg.symbol_len, cfg.cp_len
        rel = 2 * n + first * sl  # CP start of the first symbol, relative to the LTS start
        a = lts + rel - self._base  # buffer index
        win = self.frontend.apply(self._buf[a : a + count * sl].reshape(count, sl)[:, cp:])
        # CFO removal on the FFT windows only (the CP is dropped anyway): the phase of sample m of
        # symbol i is w (start_i + m), one phasor per symbol times one per sample
        w = -2 * np.pi * cfo / n
        if fine_ph is None:  # the per-sample phasor exp(j w m), m < N (the header's, if passed)
            fine_ph = np.exp((1j * w) * self._plan.fine)
        ph = np.multiply.outer(np.exp((1j * w) * (np.arange(count) * float(sl) + cp + rel)), fine_ph)
        return fft_ortho(win * ph)

    def _payload_numpy(self, p: PendingFrame, axes: SymbolAxes) -> tuple[Equalized, bool]:
        """Payload stage, numpy reference: FFT windows, equalisation + pilot tracking, and for
        analog frames the integrity test; (:class:`Equalized`, intact)."""
        cfg = self.cfg
        y = self._fft_symbols(p.sync.lts_start, p.sync.cfo, cfg.header_symbols, p.nsym, p.fine_ph)
        eq = equalize(y, None, None, p.est, cfg, self._plan.train, self.equalizer, self.max_sfo_ppm, axes=axes)
        intact = p.header.kind != "analog" or payload_intact(
            y, p.est.h.take(self._plan.lay.ip), p.est.noise.take(self._plan.lay.ip), self._plan.lay.bins_p, axes.pilots)
        return eq, intact

    def _digital_numpy(self, eq: Equalized, mod: str, coded_len: int) -> tuple:
        """Digital payload stage, numpy reference: LLRs, de-interleave, Viterbi, CRC-32, EVM.
        Returns (payload bytes | None, symbols complex64 [n], noise variance float32 [n], EVM
        linear) for the ``n`` resource elements carrying coded bits."""
        bps = bits_per_symbol(mod)
        llr = demodulate_llr(eq.data_unbiased.ravel(), eq.noise_var_unbiased.ravel(), mod)
        sel = permutation(llr.size, self.cfg.interleaver_seed)[:coded_len]
        bits = fec.viterbi_decode(llr[sel])
        payload = fec.check_crc32(bits_to_bytes(bits))
        # EVM against the re-encoded symbols when the CRC passed, else against hard decisions
        slot_bits = (llr < 0).astype(np.uint8)
        if payload is not None:
            slot_bits[sel] = fec.conv_encode(bits)
        # the OFDM resource elements carrying coded bits (sorted; the others carry filler)
        used = np.zeros(llr.size // bps, bool)
        used[sel // bps] = True
        used_syms = used.nonzero()[0]
        zf = eq.data_unbiased.ravel()
        ref = modulate(slot_bits, mod)
        err = float(np.mean(np.abs(zf[used_syms] - ref[used_syms]) ** 2) / np.mean(np.abs(ref[used_syms]) ** 2))
        return (payload, eq.data.ravel()[used_syms].astype(np.complex64),
                eq.noise_var.ravel()[used_syms].astype(np.float32), err)

    def _digital_numba(self, eq: Equalized, mod: str, coded_len: int) -> tuple:
        """Digital payload stage, two compiled calls around the CRC-32 (zlib); as
        :meth:`_digital_numpy`."""
        per_axis, scale = _axis_params(mod)
        levels, labels, label_to_level = _pam(per_axis, scale)
        nslots = eq.data_unbiased.size * bits_per_symbol(mod)
        sel = permutation(nslots, self.cfg.interleaver_seed)[:coded_len]
        inv0, inv1, enc0, enc1 = self._nb_header[-4:]
        bpsk = mod == "bpsk"
        llr, info = _kernels._digital_decode_nb(eq.data_unbiased, eq.noise_var_unbiased_row, bpsk, levels, labels,
                                                per_axis, sel, inv0, inv1, enc0, enc1, _kernels.K7_OUT)
        payload = fec.check_crc32(np.packbits(info).tobytes())
        symbols, noise_var, err = _kernels._digital_finish_nb(
            eq.data_unbiased, eq.data, eq.noise_var_row, llr, sel, info, payload is not None, bpsk, per_axis,
            levels[label_to_level], enc0, enc1)
        return payload, symbols, noise_var, float(err)

    def _payload_numba(self, p: PendingFrame, axes: SymbolAxes) -> tuple[Equalized, bool]:
        """Payload stage, one compiled call (``_kernels._payload_nb``); as :meth:`_payload_numpy`."""
        cfg = self.cfg
        lay = self._plan.lay
        n, sl = cfg.fft_size, cfg.symbol_len
        rel = 2 * n + cfg.header_symbols * sl  # CP start of the first payload symbol after the LTS start
        fe = self.frontend
        bound = 2 * np.pi * self.max_sfo_ppm * 1e-6 / n
        data, zf, nv, nv_unb, drift, intact = _kernels._payload_nb(
            self._buf, p.sync.lts_start + rel - self._base, p.nsym, sl, cfg.cp_len, float(rel), n, p.sync.cfo, fe.dc, fe.w,
            self._plan.fft_rev, self._plan.fft_tw, p.est.h, p.est.noise, p.est.est_err, lay.ip, lay.idd, lay.bins_p, axes.pilots,
            lay.kp, lay.kp2, axes.tk, axes.time, axes.fit_upto, axes.fit_tdot, bound, axes.tmax, lay.kd_max,
            lay.kd_int_max, lay.kd_col, lay.bins_d, self.equalizer == "mmse", p.header.kind == "analog")
        return Equalized(data, zf, nv, nv_unb, float(drift)), bool(intact)

    def _header_numpy(self, sync: SyncResult) -> tuple:
        """Header stage, numpy reference: (estimate, ZF header grid [hs, n_data], combined LLRs
        float32 [coded], header bytes when the hard decisions are a codeword else None, the known
        grid then (else None), the per-sample CFO phasor [N] for the payload)."""
        cfg = self.cfg
        n = cfg.fft_size
        a = sync.lts_start - self._base
        # LTS pair and header symbols: their FFT windows only, CFO removed (the phase of sample
        # m of window i is w (start_i + m): one phasor per window times one per sample), one
        # batched FFT
        win = self._buf[a : a + self._plan.hdr_span].take(self._plan.hdr_gather)
        win = self.frontend.apply(win)
        w = -2 * np.pi * sync.cfo / n
        fine_ph = np.exp((1j * w) * self._plan.fine)  # kept for the payload (same CFO)
        spec = fft_ortho(win * np.multiply.outer(np.exp((1j * w) * self._plan.hdr_starts), fine_ph))
        est = estimate_channel(spec[0], spec[1], cfg, self._plan.train, self.smooth_channel)
        eq = equalize(spec[2:], None, None, est, cfg, self._plan.train, "zf", 0.0, axes=self._plan.hdr_axes)
        m = cfg.header_modulation
        if m == "bpsk":  # demodulate_llr's BPSK formula, without its generic wrapping
            llr_slots = (4.0 * eq.data_unbiased.real / np.maximum(eq.noise_var_unbiased_row, 1e-12)).astype(np.float32).ravel()
        else:
            llr_slots = demodulate_llr(eq.data_unbiased.ravel(), eq.noise_var_unbiased.ravel(), m)
        llr = llr_slots.take(self._plan.hdr_perm)
        if cfg.header_repeat > 1:  # soft combining of the copies
            llr = np.add.reduce(llr.reshape(cfg.header_repeat, -1), axis=0)
        hard = fec.hard_decision_int(llr)  # error-free hard decisions: no trellis needed
        if hard is None:
            return est, eq.data_unbiased, llr, None, None, fine_ph
        data = hard[0].to_bytes(cfg.header_bits // 8, "big")
        # the (combined) hard decisions are the coded bits: every copy's slot carries them
        slot_bits = np.zeros(llr_slots.size, bool)  # padding slots carry zeros
        slot_bits[self._plan.hdr_perm] = np.tile(llr < 0, cfg.header_repeat)
        if m == "bpsk":
            known = np.where(slot_bits, -1.0, 1.0).reshape(eq.data_unbiased.shape)
        else:
            known = modulate(slot_bits.astype(np.uint8), m).reshape(eq.data_unbiased.shape)
        return est, eq.data_unbiased, llr, data, known, fine_ph

    def _header_numba(self, sync: SyncResult) -> tuple:
        """Header stage, one compiled call (``_kernels._header_nb``); as :meth:`_header_numpy`
        (the CFO phasor: None, the compiled payload stage makes its own)."""
        fe = self.frontend
        h, noise, noise_mean, snr, est_err, ntaps, zf, llr, exact, info, known = _kernels._header_nb(
            self._buf, self._plan.hdr_offsets + (sync.lts_start - self._base), self._plan.hdr_starts, self.cfg.fft_size, sync.cfo,
            fe.dc, fe.w, *self._nb_header)
        est = ChannelEstimate(h=h, noise=noise, noise_mean=float(noise_mean), snr=float(snr), est_err=float(est_err),
                              num_taps=int(ntaps))
        if not exact:
            return est, zf, llr, None, None, None
        return est, zf, llr, np.packbits(info).tobytes(), known, None

    def _refine_numba(self, est: ChannelEstimate, zf: np.ndarray, known: np.ndarray) -> None:
        est.noise, noise_mean, snr = _kernels._refine_noise_nb(zf, known, est.h, self._plan.lay.idd, est.noise, est.noise_mean,
                                                               est.est_err, self.cfg.num_pilots)
        est.noise_mean, est.snr = float(noise_mean), float(snr)

    def _refine_numpy(self, est: ChannelEstimate, zf: np.ndarray, known: np.ndarray) -> None:
        refine_noise(est, zf, known, self.cfg)

    def _decode_header(self, sync: SyncResult, log: bool = True) -> PendingFrame | None:
        cfg = self.cfg
        n = cfg.fft_size
        est, zf, llr, data, known, fine_ph = self._header_stage(sync)
        entry = None
        if log and self.sync_log is not None:  # diagnostics: every verified preamble, decoded or not
            entry = {"start_sample": int(sync.frame_start), "snr_db": float(10 * np.log10(est.snr)),
                     "cfo_subcarriers": float(sync.cfo), "quality": float(sync.quality), "header_ok": False}
            self.sync_log.append(entry)
        if data is None:
            data = bits_to_bytes(fec.viterbi_decode(llr))
        header = Header.parse(data)
        if header is None:
            return None
        if known is None:
            known = self._tx.header_grid(header)
        self._refine(est, zf, known)
        if entry is not None:
            entry.update(snr_db=float(10 * np.log10(est.snr)), header_ok=True)
        if header.kind == "analog":
            nsym = cfg.payload_symbols_analog(header.length)
        else:
            nsym = cfg.payload_symbols_digital(header.length, header.modulation)
        end = sync.lts_start + 2 * n + (cfg.header_symbols + nsym) * cfg.symbol_len
        # the search inside the payload covers detections whose preamble and header lie inside
        # it (decidable without samples past its end: the result does not depend on chunking);
        # after the payload the search resumes there, so a preamble in its tail is found then
        search_end = end - self._plan.need_extra
        return PendingFrame(sync, est, header, nsym, fine_ph, end, search_end)

    # -- payload -------------------------------------------------------------------------------
    def _try_payload(self) -> Frame | None:
        cfg = self.cfg
        p = self._pending
        sync, est, header = p.sync, p.est, p.header
        hs, nsym = cfg.header_symbols, p.nsym
        end = p.end
        if end > self._base + self._buf.size:
            return None
        self._pending = None
        self._pos = max(self._pos, p.search_end)
        # (+ the timing back-off and a CP of channel tail: at high SNR a few samples of signal
        # would outweigh a whole gap of noise in the idle statistics)
        self._frame_end = max(self._frame_end, end + self.timing_backoff + cfg.cp_len)
        axes = self._plan.payload_axes(nsym)
        eq, intact = self._payload_stage(p, axes)
        snr_db = float(10 * np.log10(est.snr))
        cfo = sync.cfo
        # pilot phase slope 2 pi k sfo t / N per sample t, sfo with ChannelSimulator's sign
        sfo_ppm = float(eq.sfo_slope * cfg.fft_size / (2 * np.pi) * 1e6)
        common = dict(
            seq=header.seq,
            kind=header.kind,
            snr_db=snr_db,
            cfo_hz=cfo * self.sample_rate / cfg.fft_size,
            cfo_subcarriers=cfo,
            start_sample=int(sync.frame_start),
            noise_per_subcarrier=est.noise.astype(np.float32),
            channel=est.h.astype(np.complex64),
            sfo_ppm=sfo_ppm,
            num_ofdm_symbols=hs + nsym,
            mode=header.mode,
        )
        if header.kind == "analog":
            if not intact:
                self.stats["analog_payload_invalid"] += 1
                return None
            sel, col = self._plan.analog_selection(nsym, header.length)
            self.stats["frames_ok"] += 1
            return Frame(
                symbols=eq.data.ravel().take(sel).astype(np.complex64),
                noise_var=eq.noise_var_row.take(col).astype(np.float32),  # the same every symbol
                payload=None,
                evm_db=None,
                **common,
            )
        mod = header.modulation
        coded_len = 2 * (8 * (header.length + 4) + fec.TAIL)
        payload, symbols, noise_var, err = self._digital_stage(eq, mod, coded_len)
        self.stats["frames_ok" if payload is not None else "payload_crc_fail"] += 1
        return Frame(
            symbols=symbols,
            noise_var=noise_var,
            payload=payload,
            evm_db=float(10 * np.log10(max(err, 1e-12))),
            modulation=mod,
            **common,
        )
