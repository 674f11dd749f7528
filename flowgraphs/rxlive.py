"""What ``vlmcsc rx`` does beside receiving: decode and score off the receive path, and tell the user.

The receive loop only pulls samples and runs the PHY; every decoded PHY frame is handed to a
:class:`FrameWorker` thread that runs the codec, scores the frame and writes its records, so a slow
decode (or a first-frame model load) never stalls the radio. :class:`LiveStatus` prints the start
line, a one-line status (updated in place on a terminal, a plain line every few seconds when piped),
the per-frame lines and live warnings (sample drops, sequence gaps, clipping).
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time

import numpy as np

#: how often (s) the status line is redrawn on a terminal / printed as a plain line when piped
TTY_INTERVAL_S = 0.25
PIPE_INTERVAL_S = 5.0


def frame_span(cfg, frame) -> int:
    """Samples a received frame occupies on the air: preamble + (header + payload) OFDM symbols.

    ``Frame.num_ofdm_symbols`` already counts the header symbols, so this is *not*
    ``cfg.frame_len(frame.num_ofdm_symbols)`` (which adds the header a second time).
    """
    return int(cfg.preamble_len + int(getattr(frame, "num_ofdm_symbols", 0) or 0) * cfg.symbol_len)


def level_dbfs(x: np.ndarray) -> float:
    """Mean power of complex samples relative to full scale (|x| = 1), dBFS; -inf for silence."""
    if x.size == 0:
        return float("-inf")
    p = float(np.vdot(x, x).real) / x.size  # one pass, no temporaries (this runs on every chunk)
    return 10.0 * math.log10(p) if p > 0 else float("-inf")


def checks_clipping(radio) -> bool:
    """Whether full-scale samples from this radio mean an overdriven ADC.

    Only radios with an ADC and an RX gain can clip: a ZeroMQ stream or the loopback simulator carries
    the transmitter's own samples (whose peaks sit at full scale by design) and has no RX gain to lower.
    """
    name = str(getattr(radio, "name", "") or type(radio).__name__).lower()
    return not (name.startswith(("zmq", "loopback")) or type(radio).__name__ in ("ZmqRadio", "LoopbackRadio"))


class ClipCounter:
    """Counts ADC samples at full scale and says when it is worth a warning.

    A sample counts when max(|I|, |Q|) >= ``threshold``. The warning needs at least ``min_hits`` such
    samples in one chunk, so one isolated peak does not cry wolf.
    """

    def __init__(self, enabled: bool, threshold: float = 0.98, min_hits: int = 4) -> None:
        self.enabled = bool(enabled)
        self.threshold = float(threshold)
        self.min_hits = int(min_hits)
        self.samples = 0
        self.warned = False

    def __call__(self, x: np.ndarray) -> bool:
        """Count one chunk; True the first time clipping deserves a warning."""
        if not self.enabled or x.size == 0:
            return False
        iq = x.view(np.float32) if x.dtype == np.complex64 else np.asarray(x).view(np.float64)
        if max(float(iq.max()), -float(iq.min())) < self.threshold:
            return False  # the usual case, in two passes without temporaries
        hits = int(np.count_nonzero(np.maximum(np.abs(x.real), np.abs(x.imag)) >= self.threshold))
        self.samples += hits
        if hits >= self.min_hits and not self.warned:
            self.warned = True
            return True
        return False


class FrameWorker:
    """Decodes and scores PHY frames in a thread, in arrival order.

    :param handle: ``handle(frame) -> None``: decode, score and emit the frame's records (runs in the
        worker thread; exceptions are counted in ``errors`` and printed, the worker keeps going)
    """

    def __init__(self, handle) -> None:
        self._handle = handle
        self._queue: queue.Queue = queue.Queue()
        self.errors = 0
        self.done = 0
        self._thread = threading.Thread(target=self._run, name="vlmcsc-rx-decode", daemon=True)
        self._thread.start()

    def submit(self, frame) -> None:
        """Queue one frame (never blocks the receive loop)."""
        self._queue.put(frame)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            try:
                self._handle(frame)
            except Exception as exc:  # noqa: BLE001 - one bad frame must not end the run
                self.errors += 1
                print(f"vlmcsc rx: frame not decoded ({type(exc).__name__}: {exc})", file=sys.stderr, flush=True)
            finally:
                self.done += 1

    def close(self, timeout: float | None = None) -> None:
        """Finish every queued frame, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout)


class LiveStatus:
    """Start line, one-line live status, per-frame lines and warnings for ``vlmcsc rx``.

    :param out: where per-frame lines go (default stdout); ``None`` prints none
    :param err: where the status line and warnings go (default stderr)
    :param tty: redraw the status in place (default: ``err.isatty()``)
    """

    def __init__(self, out="stdout", err=None, tty: bool | None = None, status: bool = True) -> None:
        self.out = sys.stdout if out == "stdout" else out
        self.err = sys.stderr if err is None else err
        self.tty = bool(self.err.isatty()) if tty is None else bool(tty)
        self.status = bool(status)
        self.level_dbfs = float("-inf")
        self.frames_ok = 0
        self.frames_bad = 0
        self.missed = 0
        self.drops = 0
        self.last_snr: float | None = None
        self.last_cfo: float | None = None
        self._last_print = 0.0
        self._drawn = False
        self._lock = threading.Lock()

    # -- lines -------------------------------------------------------------------------------------
    def _line(self, stream, text: str) -> None:
        with self._lock:
            if self._drawn and self.tty:
                self.err.write("\r\x1b[2K")  # clear the status line before a normal line
                self.err.flush()
                self._drawn = False
            print(text, file=stream, flush=True)

    def start(self, settings: dict) -> None:
        """``rx: <backend>  freq <MHz>  rate <MS/s>  RX gain <dB>`` from ``Radio.settings()``."""
        def fmt(value, unit, scale=1.0, spec="{:g}"):
            return "-" if value is None else spec.format(float(value) / scale) + unit

        radio = settings.get("backend") or "radio"
        self._line(self.err, f"rx: {radio}  freq {fmt(settings.get('frequency_hz'), ' MHz', 1e6)}  "
                             f"rate {fmt(settings.get('sample_rate_hz'), ' MS/s', 1e6)}  "
                             f"RX gain {fmt(settings.get('rx_gain_db'), ' dB')}")

    def warn(self, text: str) -> None:
        self._line(self.err, f"vlmcsc rx: warning: {text}")

    def frame(self, record: dict) -> None:
        """Count one 'frame'/'missed' record and print its readable line."""
        if record["type"] == "missed":
            self.missed += 1
            if self.out is not None:
                self._line(self.out, f"rx {record['seq']:5d}  MISSED")
            return
        if record.get("status") == "ok":
            self.frames_ok += 1
        else:
            self.frames_bad += 1
        self.last_snr = record.get("snr_db")
        self.last_cfo = record.get("cfo_hz")
        if self.out is None:
            return
        snr = "  -  " if record.get("snr_db") is None else f"{record['snr_db']:5.1f}"
        cfo = "   -   " if record.get("cfo_hz") is None else f"{record['cfo_hz'] / 1e3:+7.2f}"
        self._line(self.out, f"rx {record['seq']:5d}  snr {snr} dB  cfo {cfo} kHz  bleu1 {record['bleu1']:.2f}  "
                             f"{record['status']:>5}  {record['received']}   [sent: {record.get('sent', '')}]")

    def text(self) -> str:
        snr = "-" if self.last_snr is None else f"{self.last_snr:.1f} dB"
        cfo = "-" if self.last_cfo is None else f"{self.last_cfo / 1e3:+.2f} kHz"
        level = "-inf" if not math.isfinite(self.level_dbfs) else f"{self.level_dbfs:.1f}"
        return (f"rx status: level {level} dBFS | frames ok {self.frames_ok} failed {self.frames_bad} "
                f"lost {self.missed} | sample drops {self.drops} | last SNR {snr} CFO {cfo}")

    def tick(self, now: float | None = None, force: bool = False) -> None:
        """Redraw the status line if it is due (cheap when it is not)."""
        if not self.status:
            return
        now = time.monotonic() if now is None else now
        interval = TTY_INTERVAL_S if self.tty else PIPE_INTERVAL_S
        if not force and now - self._last_print < interval:
            return
        self._last_print = now
        with self._lock:
            if self.tty:
                self.err.write("\r\x1b[2K" + self.text())
                self._drawn = True
            else:
                self.err.write(self.text() + "\n")
            self.err.flush()

    def close(self) -> None:
        with self._lock:
            if self._drawn and self.tty:
                self.err.write("\n")
                self.err.flush()
                self._drawn = False


def radio_drops(stats) -> int:
    """Samples (or overflow events) the radio says it lost: ring-buffer drops + overflows."""
    get = stats.get if isinstance(stats, dict) else (lambda key, default: getattr(stats, key, default))
    return int(get("ring_dropped", 0) or 0) + int(get("overflows", 0) or 0)


class ClockWatch:
    """Detects samples a streaming radio lost without saying so, from its sample clock.

    A Pluto's kernel buffers overflow silently (pyadi-iio reports no overflow): the samples simply
    never arrive. A real-time radio delivers ``rate x elapsed`` samples; when the samples it delivered
    to the host (``radio.stats.samples_rx``, counted by the reader thread as they leave the kernel)
    fall behind that by more than ``slack_s`` of samples (what may legitimately sit in the kernel
    buffers), the rest was lost.

    :param rate: sample rate, Hz
    :param enabled: only for radios that stream continuously in real time (``pluto:``)
    :param slack_s: seconds of samples that may be in flight upstream without being lost
    """

    def __init__(self, rate: float, enabled: bool, slack_s: float = 0.5) -> None:
        self.rate = float(rate or 0.0)
        self.enabled = bool(enabled) and self.rate > 0
        self.slack = int(slack_s * self.rate)
        self.t0: float | None = None
        self.lost = 0  # samples reported lost so far

    def __call__(self, delivered: int, now: float) -> int:
        """``delivered``: samples the radio handed to the host so far (cumulative) at time ``now``;
        returns newly detected lost samples (0 if none)."""
        if not self.enabled:
            return 0
        if self.t0 is None:
            if delivered <= 0:
                return 0
            self.t0 = now - delivered / self.rate  # the clock starts with the first samples
        deficit = int(self.rate * (now - self.t0)) - int(delivered) - self.slack
        if deficit > self.lost + max(1, self.slack // 4):
            new, self.lost = deficit - self.lost, deficit
            return new
        return 0


def clock_slack_s(radio) -> float:
    """Seconds of samples a radio may hold upstream of the host: its kernel buffers plus 0.1 s."""
    rate = float(getattr(radio, "sample_rate", 0) or 1e6)
    held = (int(getattr(radio, "kernel_buffers", 4)) + 1) * int(getattr(radio, "rx_buffer_size", 16384))
    return held / rate + 0.1


def streams_in_real_time(radio) -> bool:
    """Radios whose RX runs on a free-running sample clock (a missing sample is a lost one)."""
    return str(getattr(radio, "name", "")).startswith("pluto:")
