"""Any SoapySDR device (USRP via SoapyUHD, Pluto via SoapyPlutoSDR, RTL-SDR, LimeSDR, our own
``driver=vlmcsc_loopback``) behind the :class:`~vlmcsc.sdr.radio.Radio` interface.

A receive thread reads the device continuously into a :class:`~vlmcsc.sdr.ring.SampleRing`, so a
slow consumer (a decoder, a plot) never stalls the radio; TX bursts are timed when the device has
a hardware clock and plain otherwise. Overflows, underflows, timeouts and late bursts are counted
in :attr:`SoapyRadio.stats`.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

import numpy as np

from .radio import Radio, RadioError, RadioStats
from .ring import RingReceiveMixin, SampleRing

LOOPBACK_DRIVER = "vlmcsc_loopback"
_REPO_ROOT = Path(__file__).resolve().parent.parent
#: where .ci/setup.sh builds our loopback module (override with VLMCSC_SOAPY_MODULE_DIR)
DEFAULT_MODULE_DIR = _REPO_ROOT / "build" / "soapy_loopback"

# SoapySDR error codes (SoapySDR/Errors.h), named here so that this module imports without it
SOAPY_TIMEOUT, SOAPY_STREAM_ERROR, SOAPY_CORRUPTION = -1, -2, -3
SOAPY_OVERFLOW, SOAPY_NOT_SUPPORTED, SOAPY_TIME_ERROR, SOAPY_UNDERFLOW = -4, -5, -6, -7
_ERROR_NAMES = {
    SOAPY_TIMEOUT: "TIMEOUT",
    SOAPY_STREAM_ERROR: "STREAM_ERROR",
    SOAPY_CORRUPTION: "CORRUPTION",
    SOAPY_OVERFLOW: "OVERFLOW",
    SOAPY_NOT_SUPPORTED: "NOT_SUPPORTED",
    SOAPY_TIME_ERROR: "TIME_ERROR",
    SOAPY_UNDERFLOW: "UNDERFLOW",
}


@dataclasses.dataclass
class SoapyStats(RadioStats):
    """:class:`RadioStats` plus what only a streaming hardware backend can see."""

    device_timeouts: int = 0  # readStream returned TIMEOUT inside the receive thread
    ring_dropped: int = 0  # samples the reader was too slow to collect (host-side overflow)
    stream_errors: int = 0  # STREAM_ERROR / CORRUPTION / exceptions from the driver


def import_soapysdr():
    """Import the SoapySDR Python binding or raise :class:`RadioError` saying how to get it."""
    try:
        import SoapySDR  # noqa: PLC0415 - optional system binding
    except ImportError as exc:
        raise RadioError(
            "the SoapySDR Python binding is not importable "
            f"({exc}); on Debian/Ubuntu: apt install python3-soapysdr, then run .ci/setup.sh "
            "(it makes the binding visible inside .venv). See hardware.md."
        ) from exc
    return SoapySDR


def loopback_module_path(module_dir: str | os.PathLike | None = None) -> Path:
    """Path of our built ``libvlmcsc_loopback.so`` (it may not exist)."""
    folder = module_dir or os.environ.get("VLMCSC_SOAPY_MODULE_DIR") or DEFAULT_MODULE_DIR
    return Path(folder) / "libvlmcsc_loopback.so"


def ensure_loopback_module(module_dir: str | os.PathLike | None = None) -> Path:
    """Make ``driver=vlmcsc_loopback`` available to SoapySDR in this process.

    Loads the module built by ``.ci/setup.sh`` unless SoapySDR already found it (through
    ``SOAPY_SDR_PLUGIN_PATH``). Raises :class:`RadioError` when it was never built.
    """
    soapy = import_soapysdr()
    path = loopback_module_path(module_dir)
    if _driver_registered(soapy, LOOPBACK_DRIVER):
        return path
    if not path.is_file():
        raise RadioError(
            f"the {LOOPBACK_DRIVER} SoapySDR module is not built ({path} missing); build it with "
            "`cmake -S sdr/soapy_loopback -B build/soapy_loopback && "
            "cmake --build build/soapy_loopback` (or run .ci/setup.sh)"
        )
    err = soapy.loadModule(str(path))
    if err or not _driver_registered(soapy, LOOPBACK_DRIVER):
        raise RadioError(f"SoapySDR could not load {path}: {err or 'driver not registered'}")
    return path


def _driver_registered(soapy, driver: str) -> bool:
    try:
        return len(soapy.Device.enumerate(f"driver={driver}")) > 0
    except Exception:  # noqa: BLE001 - enumeration errors just mean "not there"
        return False


def parse_args(args: str) -> dict[str, str]:
    """``"driver=uhd,type=b200"`` -> ``{"driver": "uhd", "type": "b200"}`` (validated)."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in str(args).split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise RadioError(
                f"bad SoapySDR device arguments {args!r}: expected key=value pairs separated by "
                "commas, e.g. 'driver=uhd,type=b200' (`vlmcsc radios` lists what is attached)"
            )
        out[key.strip()] = value.strip()
    return out


class SoapyRadio(RingReceiveMixin, Radio):
    """One channel of a SoapySDR device, RX and TX.

    :param args: SoapySDR device arguments, e.g. ``"driver=uhd,type=b200"`` or
        ``"driver=vlmcsc_loopback,delay=100,noise_dbfs=-80"``.
    :param channel: channel index used for both directions.
    :param rx_antenna, tx_antenna: antenna names (``listAntennas``); ``None`` keeps the default.
    :param ring_seconds: receive ring capacity in seconds of samples (at least 1 M samples).
    :param tx_mode: ``"auto"`` (timed bursts when the device has a clock), ``"timed"`` or
        ``"plain"``.
    :param tx_lead_s: how far ahead of the device clock a timed burst is scheduled, s.
    :param stream_args: extra SoapySDR stream arguments (e.g. ``{"buffSize": "8192"}``).

    Samples are complex64 at ``sample_rate``, full scale 1.0 (SoapySDR's CF32 format).
    """

    def __init__(
        self,
        args: str,
        *,
        channel: int = 0,
        rx_antenna: str | None = None,
        tx_antenna: str | None = None,
        ring_seconds: float = 2.0,
        tx_mode: str = "auto",
        tx_lead_s: float = 0.05,
        stream_args: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        if tx_mode not in ("auto", "timed", "plain"):
            raise ValueError(f"tx_mode must be 'auto', 'timed' or 'plain', got {tx_mode!r}")
        if not tx_lead_s > 0:
            raise ValueError(f"tx_lead_s must be > 0 s, got {tx_lead_s!r}")
        self.stats = SoapyStats()
        self.args = str(args)
        self.name = f"soapy:{self.args}"
        self.channel = int(channel)
        self.tx_mode = tx_mode
        self.tx_lead_s = float(tx_lead_s)
        self._ring_seconds = float(ring_seconds)
        self._stream_args = dict(stream_args or {})
        self._lock = threading.RLock()  # device calls from the user thread
        self._rx_stream = None
        self._tx_stream = None
        self._rx_thread: threading.Thread | None = None
        self._rx_stop = threading.Event()
        self._rx_error: RadioError | None = None
        self._ring: SampleRing | None = None
        self._last_rx_time_ns: int | None = None
        self._tx_next_ns = 0  # earliest start of the next timed burst, device ns

        kwargs = parse_args(self.args)
        self._soapy = import_soapysdr()
        if kwargs.get("driver") == LOOPBACK_DRIVER:
            ensure_loopback_module()
        try:
            self._dev = self._soapy.Device(kwargs)
        except Exception as exc:  # noqa: BLE001 - the binding raises RuntimeError/ValueError
            raise RadioError(
                f"{self.name}: SoapySDR could not open the device: {exc}. Is it plugged in and "
                "is its SoapySDR module installed? `vlmcsc radios` lists what SoapySDR sees; "
                "see hardware.md."
            ) from exc
        try:
            self.has_time = bool(self._dev.hasHardwareTime(""))
            if rx_antenna is not None:
                self.set_antenna("rx", rx_antenna)
            if tx_antenna is not None:
                self.set_antenna("tx", tx_antenna)
            self.sample_rate = float(self._dev.getSampleRate(self._rx_dir, self.channel))
        except Exception:
            self._dev.close()
            raise

    # -- settings --------------------------------------------------------------------------------
    @property
    def _rx_dir(self) -> int:
        return self._soapy.SOAPY_SDR_RX

    @property
    def _tx_dir(self) -> int:
        return self._soapy.SOAPY_SDR_TX

    def _direction(self, direction: str) -> int:
        if direction not in ("rx", "tx"):
            raise ValueError(f"direction must be 'rx' or 'tx', got {direction!r}")
        return self._rx_dir if direction == "rx" else self._tx_dir

    def _ranges(self, direction: int, what: str) -> list[tuple[float, float]]:
        """The device's reported ranges for ``what`` ("gain", "frequency", "sample_rate",
        "bandwidth") as [(min, max), ...]; empty when the driver reports none."""
        try:
            if what == "gain":
                r = self._dev.getGainRange(direction, self.channel)
                return [(float(r.minimum()), float(r.maximum()))]
            getter = {"frequency": self._dev.getFrequencyRange, "sample_rate": self._dev.getSampleRateRange,
                      "bandwidth": self._dev.getBandwidthRange}[what]
            out = [(float(r.minimum()), float(r.maximum())) for r in getter(direction, self.channel)]
            if what == "sample_rate" and not out:
                out = [(float(v), float(v)) for v in self._dev.listSampleRates(direction, self.channel)]
            return out
        except Exception:  # noqa: BLE001 - a driver without range reporting: nothing to check against
            return []

    def _check_in_range(self, direction: int, what: str, value: float, unit: str) -> None:
        """Refuse ``value`` outside every range the device reports (radio safety: a gain of 1000
        or a typo of 400 for -40 must not transmit at full scale)."""
        ranges = self._ranges(direction, what)
        if not ranges:
            return
        tol = 1e-9 * max(1.0, abs(value))
        if any(lo - tol <= value <= hi + tol for lo, hi in ranges):
            return
        side = "TX" if direction == self._tx_dir else "RX"
        shown = ", ".join(f"[{lo:g}, {hi:g}]" for lo, hi in ranges[:4]) + (" ..." if len(ranges) > 4 else "")
        raise RadioError(f"{self.name}: the device refused a setting: {side} {what} {value:g} {unit} is "
                         f"outside the device's range {shown} {unit}")

    def _apply_settings(self) -> None:
        """Range-check every setting against what the device reports, set it, read it back.

        The read-back values replace the requested ones (gains and rates are quantised or
        clamped by drivers); both are kept in :attr:`requested` / :meth:`settings` for the log.
        """
        self._check_open()
        requested = {k: getattr(self, k) for k in self._SETTING_KEYS}
        with self._lock:
            try:
                for d in (self._rx_dir, self._tx_dir):
                    if self.sample_rate is not None:
                        self._check_in_range(d, "sample_rate", self.sample_rate, "S/s")
                    if self.frequency is not None:
                        self._check_in_range(d, "frequency", self.frequency, "Hz")
                    if self.bandwidth is not None:
                        self._check_in_range(d, "bandwidth", self.bandwidth, "Hz")
                if self.rx_gain_db is not None:
                    self._check_in_range(self._rx_dir, "gain", self.rx_gain_db, "dB")
                if self.tx_gain_db is not None:
                    self._check_in_range(self._tx_dir, "gain", self.tx_gain_db, "dB")
                for d in (self._rx_dir, self._tx_dir):
                    if self.sample_rate is not None:
                        self._dev.setSampleRate(d, self.channel, self.sample_rate)
                    if self.frequency is not None:
                        self._dev.setFrequency(d, self.channel, self.frequency)
                    if self.bandwidth is not None:
                        self._dev.setBandwidth(d, self.channel, self.bandwidth)
                if self.rx_gain_db is not None:
                    self._dev.setGain(self._rx_dir, self.channel, self.rx_gain_db)
                if self.tx_gain_db is not None:
                    self._dev.setGain(self._tx_dir, self.channel, self.tx_gain_db)
            except RadioError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise RadioError(f"{self.name}: the device refused a setting: {exc}") from exc
            # read back what the hardware actually chose (rates and gains are quantised or clamped)
            self.sample_rate = float(self._dev.getSampleRate(self._rx_dir, self.channel))
            if self.frequency is not None:
                self.frequency = float(self._dev.getFrequency(self._rx_dir, self.channel))
            if self.rx_gain_db is not None:
                self.rx_gain_db = float(self._dev.getGain(self._rx_dir, self.channel))
            if self.tx_gain_db is not None:
                self.tx_gain_db = float(self._dev.getGain(self._tx_dir, self.channel))
            if self.bandwidth is not None:
                try:
                    self.bandwidth = float(self._dev.getBandwidth(self._rx_dir, self.channel))
                except Exception:  # noqa: BLE001 - drivers without a bandwidth read-back
                    pass
        self.requested = requested
        if self._ring is not None:
            # samples already buffered were taken with the old settings
            self._ring.clear()

    def gain_stages(self, direction: str = "rx") -> dict[str, float]:
        """Gain per amplifier stage, dB (e.g. ``{"LNA": 30.0, "PGA": 10.0}``)."""
        d = self._direction(direction)
        with self._lock:
            return {
                name: float(self._dev.getGain(d, self.channel, name))
                for name in self._dev.listGains(d, self.channel)
            }

    def set_gain_stage(self, direction: str, stage: str, gain_db: float) -> float:
        """Set one named stage (``listGains``); returns the device's overall gain afterwards, dB.

        A TX stage counts as "a TX gain was set" for the transmit safety check.
        """
        d = self._direction(direction)
        if not np.isfinite(gain_db):
            raise ValueError(f"gain must be a finite number of dB, got {gain_db!r}")
        with self._lock:
            stages = list(self._dev.listGains(d, self.channel))
            if stage not in stages:
                raise RadioError(f"{self.name}: no {direction.upper()} gain stage {stage!r}; "
                                 f"this device has {stages}")
            self._dev.setGain(d, self.channel, stage, float(gain_db))
            total = float(self._dev.getGain(d, self.channel))
        setattr(self, f"{direction}_gain_db", total)
        return total

    def antennas(self, direction: str = "rx") -> list[str]:
        with self._lock:
            return list(self._dev.listAntennas(self._direction(direction), self.channel))

    def set_antenna(self, direction: str, name: str) -> None:
        names = self.antennas(direction)
        if name not in names:
            raise RadioError(f"{self.name}: no {direction.upper()} antenna {name!r}; choose from {names}")
        with self._lock:
            self._dev.setAntenna(self._direction(direction), self.channel, name)

    def settings(self) -> dict:
        """The read-back settings (what the device set), plus ``requested`` (what was asked)."""
        out = super().settings()
        out["requested"] = dict(getattr(self, "requested", {}) or {})
        out["has_time"] = self.has_time
        try:
            out["rx_gain_stages"] = self.gain_stages("rx")
            out["tx_gain_stages"] = self.gain_stages("tx")
            out["rx_antenna"] = self._dev.getAntenna(self._rx_dir, self.channel)
            out["tx_antenna"] = self._dev.getAntenna(self._tx_dir, self.channel)
            out["hardware"] = self._dev.getHardwareKey()
        except Exception:  # noqa: BLE001 - a closed or dead device still prints
            pass
        return out

    def hardware_time_ns(self) -> int | None:
        """The device clock, ns (``None`` without HAS_TIME)."""
        if not self.has_time:
            return None
        with self._lock:
            return int(self._dev.getHardwareTime(""))

    # -- receive -----------------------------------------------------------------------------
    def start_rx(self) -> None:
        """Start streaming into the ring now (``receive`` does it on first use)."""
        self._check_open()
        if self._rx_thread is not None:
            return
        cap = max(1 << 20, int(self._ring_seconds * (self.sample_rate or 1e6)))
        self._ring = SampleRing(cap)
        with self._lock:
            try:
                self._rx_stream = self._dev.setupStream(
                    self._rx_dir, self._soapy.SOAPY_SDR_CF32, [self.channel], self._stream_args
                )
                mtu = int(self._dev.getStreamMTU(self._rx_stream))
                self._dev.activateStream(self._rx_stream)
            except Exception as exc:  # noqa: BLE001
                raise RadioError(f"{self.name}: could not start the RX stream: {exc}") from exc
        self._rx_stop.clear()
        # read several MTUs per call at high rates: fewer Python round trips per second
        chunk = max(mtu, min(1 << 16, int((self.sample_rate or 1e6) * 0.005)))
        self._rx_thread = threading.Thread(
            target=self._rx_loop, args=(chunk,), name=f"rx {self.name}", daemon=True
        )
        self._rx_thread.start()

    def _rx_loop(self, chunk: int) -> None:
        buf = np.zeros(chunk, dtype=np.complex64)  # C-contiguous complex64: the binding needs it
        consecutive_errors = 0
        try:
            while not self._rx_stop.is_set():
                sr = self._dev.readStream(self._rx_stream, [buf], chunk, 0, 100_000)
                ret = sr.ret
                if ret > 0:
                    consecutive_errors = 0
                    self.stats.samples_rx += ret
                    self.stats.ring_dropped += self._ring.write(buf[:ret])
                    if sr.flags & self._soapy.SOAPY_SDR_HAS_TIME:
                        self._last_rx_time_ns = int(sr.timeNs) + int(ret * 1e9 / self.sample_rate)
                elif ret == SOAPY_OVERFLOW:
                    self.stats.overflows += 1
                elif ret == SOAPY_TIMEOUT:
                    self.stats.device_timeouts += 1
                elif ret == 0:
                    continue
                else:
                    self.stats.errors += 1
                    self.stats.stream_errors += 1
                    consecutive_errors += 1
                    # STREAM_ERROR is how drivers say the device went away; other codes may pass
                    if ret == SOAPY_STREAM_ERROR or consecutive_errors >= 10:
                        name = _ERROR_NAMES.get(ret, str(ret))
                        raise RadioError(
                            f"{self.name}: the device stopped streaming (readStream returned "
                            f"{name}); check the cable/USB connection and power, then restart"
                        )
        except RadioError as exc:
            self._rx_error = exc
        except Exception as exc:  # noqa: BLE001 - anything from the driver ends the stream
            self.stats.errors += 1
            self._rx_error = RadioError(f"{self.name}: receive thread failed: {exc}")
        finally:
            self._ring.close()

    def flush_rx(self) -> int:
        """Drop samples buffered so far (e.g. after a retune); returns how many."""
        return self._ring.clear() if self._ring is not None else 0

    @property
    def rx_time_ns(self) -> int | None:
        """Device time (ns) just after the newest received sample (devices with HAS_TIME)."""
        return self._last_rx_time_ns

    # -- transmit ----------------------------------------------------------------------------
    def transmit(self, iq: np.ndarray, *, timeout: float = 5.0) -> None:
        """Queue one burst (complex64 [n], |x| <= 1): timed ``tx_lead_s`` ahead of the device
        clock when the device has one (and ``tx_mode`` allows), plain otherwise."""
        self._require_tx_settings()
        x = self._as_iq(iq)
        if x.size == 0:
            return
        self._check_open()
        soapy = self._soapy
        with self._lock:
            if self._tx_stream is None:
                try:
                    self._tx_stream = self._dev.setupStream(
                        self._tx_dir, soapy.SOAPY_SDR_CF32, [self.channel], self._stream_args
                    )
                    self._dev.activateStream(self._tx_stream)
                except Exception as exc:  # noqa: BLE001
                    raise RadioError(f"{self.name}: could not start the TX stream: {exc}") from exc
            self._drain_tx_status()
            timed = self.tx_mode == "timed" or (self.tx_mode == "auto" and self.has_time)
            if timed and not self.has_time:
                raise RadioError(f"{self.name}: tx_mode='timed' but the device has no clock")
            flags = soapy.SOAPY_SDR_END_BURST
            time_ns = 0
            if timed:
                flags |= soapy.SOAPY_SDR_HAS_TIME
                # bursts go out in order: a time inside the previous burst would be "late"
                now_ns = int(self._dev.getHardwareTime(""))
                time_ns = max(now_ns + int(self.tx_lead_s * 1e9), self._tx_next_ns)
                self._tx_next_ns = time_ns + int(np.ceil(x.size * 1e9 / self.sample_rate)) + 1000
            deadline = time.monotonic() + timeout
            sent = 0
            while sent < x.size:
                chunk = x[sent:]
                sr = self._dev.writeStream(
                    self._tx_stream, [chunk], chunk.size, flags, time_ns, 100_000
                )
                if sr.ret > 0:
                    sent += sr.ret
                    # the time stamp belongs to the first sample only
                    flags &= ~soapy.SOAPY_SDR_HAS_TIME
                    continue
                if sr.ret == SOAPY_TIMEOUT and time.monotonic() < deadline:
                    continue
                if sr.ret == SOAPY_UNDERFLOW:
                    self.stats.underflows += 1
                    continue
                self.stats.errors += 1
                raise RadioError(
                    f"{self.name}: writeStream returned {_ERROR_NAMES.get(sr.ret, sr.ret)} after "
                    f"{sent}/{x.size} samples"
                )
            self.stats.samples_tx += x.size
            self.stats.bursts_tx += 1
            self._drain_tx_status()

    def _drain_tx_status(self) -> None:
        """Count asynchronous TX reports (late bursts, underflows) without waiting."""
        if self._tx_stream is None:
            return
        for _ in range(64):
            try:
                st = self._dev.readStreamStatus(self._tx_stream, 0)
            except Exception:  # noqa: BLE001 - drivers without status support
                return
            if st.ret == SOAPY_TIME_ERROR:
                self.stats.late += 1
            elif st.ret == SOAPY_UNDERFLOW:
                self.stats.underflows += 1
            elif st.ret in (SOAPY_TIMEOUT, SOAPY_NOT_SUPPORTED) or st.ret == 0:
                return
            else:
                self.stats.errors += 1
                return

    # -- shutdown ----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RadioError(f"{self.name}: radio is closed")

    def close(self) -> None:
        """Stop the receive thread, deactivate and close both streams, close the device.

        Every step runs even when an earlier one fails (a device that vanished mid-stream).
        """
        if self._closed:
            return
        self._closed = True
        self._rx_stop.set()
        if self._rx_thread is not None:
            self._rx_thread.join(timeout=2.0)
        with self._lock:
            try:
                self._drain_tx_status()
            except Exception:  # noqa: BLE001
                pass
            for stream in (self._rx_stream, self._tx_stream):
                if stream is None:
                    continue
                for step in (self._dev.deactivateStream, self._dev.closeStream):
                    try:
                        step(stream)
                    except Exception:  # noqa: BLE001
                        self.stats.errors += 1
            self._rx_stream = self._tx_stream = None
            try:
                self._dev.close()
            except Exception:  # noqa: BLE001
                self.stats.errors += 1
        if self._ring is not None:
            self._ring.close()
