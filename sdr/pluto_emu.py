"""An emulated ADALM-Pluto on 127.0.0.1: libiio's network protocol in front of a model of the
AD9363 whose TX is cabled back to its RX.

The real client stack (Debian libiio 0.24 + pylibiio 0.25 + pyadi-iio 0.0.21) opens it with
``adi.Pluto("ip:127.0.0.1")``, sets its attributes and streams buffers, so the Pluto backend is
tested end to end without hardware, and users can rehearse with ``vlmcsc pluto-emu``.

What is modelled, because a Pluto program must cope with it:

- a real-time sample clock; the RX DMA fills ``kernel buffer count`` blocks (4 by default) and
  then loses samples until the reader frees one, so the first blocks after a pause or a retune
  are *stale* (captured with the old settings);
- gain control: writes to the RX ``hardwaregain`` are refused unless ``gain_control_mode`` is
  ``manual``; in the AGC modes the gain follows the signal level;
- LO ranges, the TX attenuation range (-89.75..0 dB in 0.25 dB steps), sample rates below
  ~2.08 MS/s only with the FIR filter enabled (what pyadi-iio's ``sample_rate`` setter does);
- int16 scaling: the DAC takes the 12 most significant bits of the int16 TX samples, the ADC
  gives 12-bit samples (-2048..2047) in int16;
- DC offset and IQ imbalance when the tracking loops are switched off;
- TX in one-shot or cyclic buffers; TX LO vs RX LO offset (no signal when out of band).

The channel between TX and RX is a path gain, a delay, a frequency offset and white noise; pass
``channel=`` (a callable on complex64 bursts, e.g. ``vlmcsc.phy.channel.ChannelSimulator``) for
multipath or other impairments.
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import math
import re
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import numpy as np

from .iiod_server import IIOD_PORT, IiodError, IiodServer

CONTEXT_XML = Path(__file__).resolve().parent / "pluto_emu" / "pluto.xml"
PHY, TXDMA, RXDMA = "iio:device0", "iio:device2", "iio:device3"
RX_GAIN_RANGE = (-3.0, 71.0)  # dB, 1 dB steps (AD9363 at 2.4 GHz)
TX_GAIN_RANGE = (-89.75, 0.0)  # dB, 0.25 dB steps (an attenuation)
LO_RANGE = (325e6, 3.8e9)  # Hz, stock Pluto firmware
RATE_RANGE = (520_833.0, 61.44e6)  # S/s; below MIN_RATE_NO_FIR only with the FIR decimator
MIN_RATE_NO_FIR = 2_083_333.0
AGC_TARGET_DBFS = -12.0  # where the emulated AGC puts the peak of the signal


@dataclasses.dataclass
class EmulatorStats:
    rx_blocks: int = 0  # RX buffers handed to clients
    rx_lost_samples: int = 0  # samples the RX DMA dropped (all kernel buffers were full)
    tx_buffers: int = 0
    tx_samples: int = 0
    attr_writes: int = 0
    refused_writes: int = 0


@dataclasses.dataclass
class _RxBuffer:
    dev: str
    samples: int
    mask: str
    count: int
    next_start: int  # tick where the DMA's next block starts
    queue: collections.deque = dataclasses.field(default_factory=collections.deque)
    closed: bool = False


@dataclasses.dataclass
class _TxBuffer:
    dev: str
    samples: int
    mask: str
    cyclic: bool
    segment: list | None = None  # the cyclic segment this buffer plays


class EmulatedPluto:
    """The device model behind the iiod server (see the module docstring).

    :param path_gain_db: TX output to RX input gain (cable + attenuators), dB.
    :param noise_dbfs: noise power at the RX input, dB relative to ADC full scale at 0 dB gain.
    :param offset_hz: extra frequency offset TX->RX (oscillator error), Hz.
    :param delay: TX->RX delay, samples.
    :param dc_offset: complex DC (full-scale units) added when ``bb_dc_offset_tracking_en`` is 0.
    :param iq_imbalance_db: Q-branch gain error when ``quadrature_tracking_en`` is 0, dB.
    :param channel: optional callable applied to each TX burst (complex64 [n] -> complex64 [m]),
        or an object with ``.apply`` such as ``vlmcsc.phy.channel.ChannelSimulator``.
    :param channel_kwargs: instead of ``channel``: keyword arguments of a noiseless
        ``ChannelSimulator`` (``rms_delay_s``, ``sfo_ppm``, ``phase_noise_hz``, ...), rebuilt at
        every sample-rate change so that its delays and offsets stay in seconds and Hz.
    :param seed: noise seed.
    """

    def __init__(
        self,
        *,
        path_gain_db: float = -40.0,
        noise_dbfs: float = -80.0,
        offset_hz: float = 0.0,
        delay: int = 0,
        dc_offset: complex = 0.02 + 0.01j,
        iq_imbalance_db: float = 0.5,
        channel: Callable[[np.ndarray], np.ndarray] | None = None,
        channel_kwargs: dict | None = None,
        seed: int = 1,
        context_xml: str | Path = CONTEXT_XML,
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 samples, got {delay}")
        for name, v in (("path_gain_db", path_gain_db), ("noise_dbfs", noise_dbfs),
                        ("offset_hz", offset_hz)):
            if not math.isfinite(v):
                raise ValueError(f"{name} must be finite, got {v!r}")
        self.path_gain_db = float(path_gain_db)
        self.noise_dbfs = float(noise_dbfs)
        self.offset_hz = float(offset_hz)
        self.delay = int(delay)
        self.dc_offset = complex(dc_offset)
        self.iq_imbalance_db = float(iq_imbalance_db)
        if channel is not None and channel_kwargs:
            raise ValueError("give either channel or channel_kwargs, not both")
        self.channel = channel
        self._channel_kwargs = dict(channel_kwargs or {})
        self._seed = int(seed)
        self.stats = EmulatorStats()
        #: fault injection: None, "stall" (RX buffers never fill; clients time out)
        self.fault: str | None = None
        self._rng = np.random.default_rng(seed)
        self._lock = threading.RLock()
        self._xml, self._attrs, self._dev_ids = _load_context(Path(context_xml))
        self._kernel_buffers = {RXDMA: 4, TXDMA: 4}
        self._rx_buffers: list[_RxBuffer] = []
        self._bursts: list[tuple[int, np.ndarray]] = []  # (start tick, samples after TX gain)
        self._cyclic: list[list] = []  # [start tick, samples, stop tick or None]
        self._agc_gain_db = 30.0
        self._last_rssi_db = 100.0
        self._rate = float(self._attrs[(PHY, "input", "voltage0", "sampling_frequency")])
        self._t0 = time.monotonic()
        self._build_channel()

    def _build_channel(self) -> None:
        if self._channel_kwargs:
            from vlmcsc.phy.channel import ChannelSimulator  # noqa: PLC0415 - only when asked

            self.channel = ChannelSimulator(None, sample_rate=self._rate, seed=self._seed,
                                            **self._channel_kwargs)

    # -- clock -------------------------------------------------------------------------------
    def now_tick(self) -> int:
        return int((time.monotonic() - self._t0) * self._rate)

    @property
    def sample_rate(self) -> float:
        return self._rate

    # -- attributes (IiodBackend) -----------------------------------------------------------
    def context_xml(self) -> str:
        return self._xml

    def _key(self, dev: str, kind: str, chan: str | None, attr: str):
        dev = self._dev_ids.get(dev, dev)  # clients may name a device by id or by name
        key = (dev, kind, chan, attr)
        if key not in self._attrs:
            raise IiodError(errno.ENOENT, f"no attribute {key}")
        return key

    def read_attr(self, dev: str, kind: str, chan: str | None, attr: str) -> str:
        with self._lock:
            key = self._key(dev, kind, chan, attr)
            d, _, c, a = key
            if a == "sampling_frequency" and d in (PHY,) and c == "voltage0":
                return str(int(round(self._rate)))
            if key == (PHY, "input", "voltage0", "hardwaregain") and not self._manual_gain():
                return f"{self._agc_gain_db:.6f} dB"
            if key == (PHY, "input", "voltage0", "rssi"):
                return f"{self._last_rssi_db:.2f} dB"
            if key == (PHY, "dev", None, "filter_fir_config"):
                return _fir_summary(self._attrs[key])
            if key in ((PHY, "dev", None, "tx_path_rates"), (PHY, "dev", None, "rx_path_rates")):
                return self._path_rates(tx=a == "tx_path_rates")
            return self._attrs[key]

    def write_attr(self, dev: str, kind: str, chan: str | None, attr: str, value: str) -> None:
        with self._lock:
            key = self._key(dev, kind, chan, attr)
            try:
                self._write_checked(key, value.strip())
            except IiodError:
                self.stats.refused_writes += 1
                raise
            self.stats.attr_writes += 1

    def _write_checked(self, key, value: str) -> None:
        d, kind, c, a = key
        phy_ch = d == PHY and c == "voltage0"
        # retunes and gain changes apply to samples from now on: let the DMA catch up first,
        # so blocks already captured keep the old settings (the stale buffers of a real Pluto)
        self._advance_all()
        if phy_ch and a == "sampling_frequency":
            rate = _number(value)
            fir = self._attrs[(PHY, "input", "out", "voltage_filter_fir_en")] == "1"
            low = RATE_RANGE[0] if fir else MIN_RATE_NO_FIR
            if not low <= rate <= RATE_RANGE[1]:
                raise IiodError(errno.EINVAL, f"sample rate {rate} outside [{low}, {RATE_RANGE[1]}]")
            self._set_rate(rate)
            return
        if d == PHY and c in ("altvoltage0", "altvoltage1") and a == "frequency":
            f = _number(value)
            if not LO_RANGE[0] <= f <= LO_RANGE[1]:
                raise IiodError(errno.EINVAL, f"LO {f} Hz outside {LO_RANGE}")
            value = str(int(round(f)))
        elif key == (PHY, "input", "voltage0", "hardwaregain"):
            if not self._manual_gain():
                raise IiodError(errno.EINVAL, "hardwaregain needs gain_control_mode=manual")
            g = _number(value)
            if not RX_GAIN_RANGE[0] <= g <= RX_GAIN_RANGE[1]:
                raise IiodError(errno.EINVAL, f"RX gain {g} dB outside {RX_GAIN_RANGE}")
            value = f"{round(g):.6f} dB"
        elif key == (PHY, "output", "voltage0", "hardwaregain"):
            g = _number(value)
            if not TX_GAIN_RANGE[0] <= g <= TX_GAIN_RANGE[1]:
                raise IiodError(errno.EINVAL, f"TX gain {g} dB outside {TX_GAIN_RANGE}")
            value = f"{round(g * 4) / 4:.6f} dB"
        elif phy_ch and a == "gain_control_mode":
            if value not in self._attrs[(PHY, "input", "voltage0", "gain_control_mode_available")].split():
                raise IiodError(errno.EINVAL, f"unknown gain control mode {value!r}")
        elif phy_ch and a == "rf_bandwidth":
            bw = _number(value)
            lo, _, hi = _range(self._attrs[(d, kind, c, "rf_bandwidth_available")])
            if not lo <= bw <= hi:
                raise IiodError(errno.EINVAL, f"RF bandwidth {bw} outside [{lo}, {hi}]")
            value = str(int(round(bw)))
        elif a.endswith("_tracking_en") or a in ("filter_fir_en", "voltage_filter_fir_en"):
            if value not in ("0", "1"):
                raise IiodError(errno.EINVAL, f"{a} takes 0 or 1")
        self._attrs[key] = value

    def set_buffers_count(self, dev: str, count: int) -> None:
        if not 1 <= count <= 64:
            raise IiodError(errno.EINVAL, "kernel buffer count must be 1..64")
        with self._lock:
            self._kernel_buffers[self._dev_ids.get(dev, dev)] = int(count)

    # -- buffers (IiodBackend) --------------------------------------------------------------
    def open_buffer(self, dev: str, samples: int, mask: str, cyclic: bool):
        dev = self._dev_ids.get(dev, dev)
        if samples <= 0:
            raise IiodError(errno.EINVAL, "buffer size must be > 0 samples")
        with self._lock:
            if dev == RXDMA:
                buf = _RxBuffer(dev, samples, mask, self._kernel_buffers[RXDMA], self.now_tick())
                self._rx_buffers.append(buf)
                return buf
            if dev == TXDMA:
                return _TxBuffer(dev, samples, mask, cyclic)
        raise IiodError(errno.ENODEV, f"{dev} has no buffer")

    def close_buffer(self, handle) -> None:
        with self._lock:
            if isinstance(handle, _RxBuffer):
                handle.closed = True
                if handle in self._rx_buffers:
                    self._rx_buffers.remove(handle)
            elif isinstance(handle, _TxBuffer) and handle.segment is not None:
                handle.segment[2] = self.now_tick()  # a cyclic transmission stops here

    def read_buffer(self, handle, nbytes: int) -> bytes:
        if not isinstance(handle, _RxBuffer):
            raise IiodError(errno.EBADF, "not an RX buffer")
        n = nbytes // 4
        deadline = time.monotonic() + 10.0
        while True:
            with self._lock:
                if self.fault != "stall":
                    now = self.now_tick()
                    self._advance(handle, now)
                    if handle.queue:
                        was_full = len(handle.queue) >= handle.count
                        start, snap = handle.queue.popleft()
                        if was_full and handle.next_start < now:
                            # the DMA waited for a free block: everything until now is lost
                            self.stats.rx_lost_samples += now - handle.next_start
                            handle.next_start = now
                        self.stats.rx_blocks += 1
                        iq = self._render(start, n, snap)
                        self._forget_old_bursts()
                        return _to_int16_bytes(iq)
                    wait = (handle.next_start + handle.samples - now) / self._rate
                else:
                    wait = 0.05
            if handle.closed or time.monotonic() > deadline:
                raise IiodError(errno.ETIMEDOUT, "no RX data")
            time.sleep(min(max(wait, 0.0005), 0.05))

    def write_buffer(self, handle, data: bytes) -> None:
        if not isinstance(handle, _TxBuffer):
            raise IiodError(errno.EBADF, "not a TX buffer")
        raw = np.frombuffer(data, dtype="<i2")
        if handle.mask.endswith("3"):
            raw = raw[: raw.size // 2 * 2]
            iq = raw[0::2].astype(np.float32) + 1j * raw[1::2].astype(np.float32)
        else:
            iq = raw.astype(np.float32) + 0j
        # the DAC keeps the 12 most significant bits of each int16
        iq = (np.floor(iq.real / 16) * 16 + 1j * np.floor(iq.imag / 16) * 16) / 32768.0
        with self._lock:
            # one-shot bursts take the attenuation now; a cyclic buffer keeps playing, so (as on a
            # real Pluto) its attenuation follows every later change: applied when rendered
            g = 1.0 if handle.cyclic else 10 ** (_number(self._attrs[(PHY, "output", "voltage0", "hardwaregain")]) / 20)
            x = (g * iq).astype(np.complex64)
            if self.channel is not None and not handle.cyclic:
                apply = getattr(self.channel, "apply", self.channel)  # ChannelSimulator or callable
                x = np.asarray(apply(x), dtype=np.complex64)
            now = self.now_tick()
            latency = max(64, int(1e-3 * self._rate))
            if handle.cyclic:
                if handle.segment is not None:
                    handle.segment[2] = now
                handle.segment = [now + latency, x, None]
                self._cyclic.append(handle.segment)
            else:
                end = max((s + b.size for s, b in self._bursts), default=0)
                start = max(now + latency, end)
                self._bursts.append((start, x))
                ahead = start + x.size - now
            self.stats.tx_buffers += 1
            self.stats.tx_samples += x.size
            self._forget_old_bursts()  # also when nobody receives
        if not handle.cyclic:
            # like the kernel, accept at most `count` buffers ahead of the DAC
            limit = self._kernel_buffers[TXDMA] * max(handle.samples, 1)
            if ahead > limit:
                time.sleep(min((ahead - limit) / self._rate, 5.0))

    # -- signal model ------------------------------------------------------------------------
    def _manual_gain(self) -> bool:
        return self._attrs[(PHY, "input", "voltage0", "gain_control_mode")] == "manual"

    def _snapshot(self) -> dict:
        a = self._attrs
        return {
            "rx_lo": float(a[(PHY, "output", "altvoltage0", "frequency")]),
            "tx_lo": float(a[(PHY, "output", "altvoltage1", "frequency")]),
            "manual": self._manual_gain(),
            "rx_gain_db": _number(a[(PHY, "input", "voltage0", "hardwaregain")]),
            "tx_gain_db": _number(a[(PHY, "output", "voltage0", "hardwaregain")]),
            "dc_tracking": a[(PHY, "input", "voltage0", "bb_dc_offset_tracking_en")] == "1",
            "quad_tracking": a[(PHY, "input", "voltage0", "quadrature_tracking_en")] == "1",
        }

    def _advance(self, buf: _RxBuffer, now: int) -> None:
        """Let the RX DMA fill free kernel blocks up to tick ``now``."""
        while len(buf.queue) < buf.count and buf.next_start + buf.samples <= now:
            buf.queue.append((buf.next_start, self._snapshot()))
            buf.next_start += buf.samples

    def _advance_all(self) -> None:
        now = self.now_tick()
        for buf in self._rx_buffers:
            self._advance(buf, now)

    def _render(self, start: int, n: int, snap: dict) -> np.ndarray:
        """What the ADC saw at ticks [start, start+n), as complex full-scale units."""
        x = np.zeros(n, dtype=np.complex128)
        ticks = np.arange(start, start + n) - self.delay
        for b0, b in self._bursts:
            lo, hi = max(b0, ticks[0]), min(b0 + b.size, ticks[-1] + 1)
            if lo < hi:
                x[lo - ticks[0] : hi - ticks[0]] += b[lo - b0 : hi - b0]
        tx_gain = 10 ** (snap.get("tx_gain_db", 0.0) / 20)
        for c0, c, stop in self._cyclic:
            m = ticks - c0
            valid = (m >= 0) & ((ticks < stop) if stop is not None else True)
            if np.any(valid):
                x[valid] += tx_gain * c[m[valid] % c.size]
        offset = snap["tx_lo"] - snap["rx_lo"] + self.offset_hz
        if abs(offset) >= 0.5 * self._rate:
            x[:] = 0  # the transmitter is outside the receiver's band
        elif offset:
            x *= np.exp(2j * np.pi * offset / self._rate * np.arange(start, start + n))
        x *= 10 ** (self.path_gain_db / 20)
        sigma = 10 ** (self.noise_dbfs / 20) / math.sqrt(2)
        x += sigma * (self._rng.standard_normal(n) + 1j * self._rng.standard_normal(n))
        if snap["manual"]:
            gain_db = snap["rx_gain_db"]
        else:  # AGC: bring the peak to AGC_TARGET_DBFS
            peak = float(np.max(np.abs(x))) if n else 0.0
            gain_db = AGC_TARGET_DBFS - 20 * math.log10(max(peak, 1e-9))
            gain_db = float(np.clip(round(gain_db), *RX_GAIN_RANGE))
            self._agc_gain_db = gain_db
        x *= 10 ** (gain_db / 20)
        if not snap["dc_tracking"]:
            x += self.dc_offset
        if not snap["quad_tracking"]:
            x = x.real + 1j * x.imag * 10 ** (self.iq_imbalance_db / 20)
        power = float(np.mean(np.abs(x) ** 2)) if n else 0.0
        self._last_rssi_db = -10 * math.log10(max(power, 1e-12)) + gain_db
        return x

    def _forget_old_bursts(self) -> None:
        keep_from = min((b.next_start - b.count * b.samples for b in self._rx_buffers),
                        default=self.now_tick()) - self.delay
        self._bursts = [(s, b) for s, b in self._bursts if s + b.size > keep_from]
        self._cyclic = [c for c in self._cyclic if c[2] is None or c[2] > keep_from]

    def _set_rate(self, rate: float) -> None:
        # a new rate restarts the sample clock; queued samples belonged to the old one
        self._rate = float(rate)
        self._t0 = time.monotonic()
        self._build_channel()
        self._bursts.clear()
        for c in self._cyclic:
            c[0], c[2] = 0, (None if c[2] is None else 0)
        for buf in self._rx_buffers:
            buf.queue.clear()
            buf.next_start = 0
        for (d, kind, c, a) in list(self._attrs):
            if a == "sampling_frequency":
                self._attrs[(d, kind, c, a)] = str(int(round(rate)))

    def _path_rates(self, tx: bool) -> str:
        # pyadi-iio parses this by position: BBPLL DAC/ADC T2/R2 T1/R1 TF/RF TXSAMP/RXSAMP
        fs = int(round(self._rate))
        fir = 4 if self._attrs[(PHY, "input", "out", "voltage_filter_fir_en")] == "1" else 1
        tf = fs * fir
        conv = tf * 4
        names = ("DAC", "T2", "T1", "TF", "TXSAMP") if tx else ("ADC", "R2", "R1", "RF", "RXSAMP")
        values = (conv, tf * 4, tf * 2, tf, fs)
        return f"BBPLL:{conv * 8} " + " ".join(f"{k}:{v}" for k, v in zip(names, values))


class PlutoEmulator:
    """An :class:`EmulatedPluto` served on ``host:port``; ``port=0`` picks a free port.

    >>> with PlutoEmulator(port=0) as emu:                   # doctest: +SKIP
    ...     sdr = adi.Pluto(emu.uri)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = IIOD_PORT, **model_kwargs) -> None:
        self.model = EmulatedPluto(**model_kwargs)
        self.server = IiodServer(self.model, host, port)

    @property
    def uri(self) -> str:
        return self.server.uri

    def start(self) -> PlutoEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving: connected clients see the device disappear."""
        self.server.stop()

    def __enter__(self) -> PlutoEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- helpers ---------------------------------------------------------------------------------
def _load_context(path: Path):
    """Parse our context XML: (xml for clients without values, attribute values, name->id)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise FileNotFoundError(f"emulated Pluto context {path} is missing ({exc})") from exc
    root = ET.fromstring(text)
    attrs: dict[tuple, str] = {}
    ids: dict[str, str] = {}
    for dev in root.findall("device"):
        d = dev.get("id")
        ids[dev.get("name") or d] = d
        for ch in dev.findall("channel"):
            for a in ch.findall("attribute"):
                attrs[(d, ch.get("type"), ch.get("id"), a.get("name"))] = a.get("value", "")
        for tag, kind in (("attribute", "dev"), ("debug-attribute", "debug"),
                          ("buffer-attribute", "buffer")):
            for a in dev.findall(tag):
                attrs[(d, kind, None, a.get("name"))] = a.get("value", "")
    for el in root.iter():
        if el.tag != "context-attribute":
            el.attrib.pop("value", None)
    xml = '<?xml version="1.0" encoding="utf-8"?>' + _IIO_DTD + ET.tostring(root, encoding="unicode")
    return xml, attrs, ids


# libiio validates the context description against its document type; without it, every
# connection prints "validity error: no DTD found"
_IIO_DTD = (
    "<!DOCTYPE context ["
    "<!ELEMENT context (device | context-attribute)*>"
    "<!ELEMENT context-attribute EMPTY>"
    "<!ELEMENT device (channel | attribute | debug-attribute | buffer-attribute)*>"
    "<!ELEMENT channel (scan-element?, attribute*)>"
    "<!ELEMENT attribute EMPTY>"
    "<!ELEMENT scan-element EMPTY>"
    "<!ELEMENT debug-attribute EMPTY>"
    "<!ELEMENT buffer-attribute EMPTY>"
    "<!ATTLIST context name CDATA #REQUIRED description CDATA #IMPLIED>"
    "<!ATTLIST context-attribute name CDATA #REQUIRED value CDATA #REQUIRED>"
    "<!ATTLIST device id CDATA #REQUIRED name CDATA #IMPLIED>"
    "<!ATTLIST channel id CDATA #REQUIRED type (input|output) #REQUIRED name CDATA #IMPLIED>"
    "<!ATTLIST scan-element index CDATA #REQUIRED format CDATA #REQUIRED scale CDATA #IMPLIED>"
    "<!ATTLIST attribute name CDATA #REQUIRED filename CDATA #IMPLIED value CDATA #IMPLIED>"
    "<!ATTLIST debug-attribute name CDATA #REQUIRED value CDATA #IMPLIED>"
    "<!ATTLIST buffer-attribute name CDATA #REQUIRED value CDATA #IMPLIED>"
    "]>"
)


def _fir_summary(config: str) -> str:
    """The kernel answers a read of ``filter_fir_config`` with a summary, not the file."""
    m = re.search(r"RX\s+\d+\s+GAIN\s+-?\d+\s+DEC\s+(\d+)", config)
    taps = sum(1 for line in config.splitlines() if re.match(r"\s*-?\d+\s*,\s*-?\d+", line))
    dec = int(m.group(1)) if m else 0
    return f"FIR Rx: {taps},{dec} Tx: {taps},{dec}"


def _number(value: str) -> float:
    m = re.match(r"\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)", value)
    if not m:
        raise IiodError(errno.EINVAL, f"not a number: {value!r}")
    return float(m.group(1))


def _range(text: str) -> tuple[float, float, float]:
    lo, step, hi = (float(v) for v in text.strip("[] ").split())
    return lo, step, hi


def _to_int16_bytes(iq: np.ndarray) -> bytes:
    """Complex full-scale samples -> interleaved little-endian int16 I,Q of a 12-bit ADC."""
    out = np.empty(2 * iq.size, dtype="<i2")
    out[0::2] = np.clip(np.round(iq.real * 2048), -2048, 2047)
    out[1::2] = np.clip(np.round(iq.imag * 2048), -2048, 2047)
    return out.tobytes()


# -- command line: `vlmcsc pluto-emu` --------------------------------------------------------
def add_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=IIOD_PORT, help=f"TCP port (default {IIOD_PORT}, libiio's)")
    parser.add_argument("--path-gain-db", type=float, default=-40.0, help="TX->RX path gain, dB (default -40)")
    parser.add_argument("--noise-dbfs", type=float, default=-80.0, help="RX input noise, dBFS (default -80)")
    parser.add_argument("--offset-hz", type=float, default=0.0, help="TX->RX frequency offset, Hz")
    parser.add_argument("--delay", type=int, default=0, help="TX->RX delay, samples")
    parser.add_argument("--seed", type=int, default=1, help="noise seed")
    parser.add_argument("--rms-delay-s", type=float, default=0.0,
                        help="multipath: rms delay spread of the channel simulator, s (e.g. 1e-6)")
    parser.add_argument("--fading", choices=("static", "block"), default="block",
                        help="multipath: one channel for the run, or a new one per TX buffer")
    parser.add_argument("--sfo-ppm", type=float, default=0.0, help="sampling-clock offset, ppm")
    parser.add_argument("--phase-noise-hz", type=float, default=0.0, help="phase-noise linewidth, Hz")


def main(args) -> int:
    channel = {}
    if args.rms_delay_s:
        channel.update(rms_delay_s=args.rms_delay_s, fading=args.fading)
    if args.sfo_ppm:
        channel["sfo_ppm"] = args.sfo_ppm
    if args.phase_noise_hz:
        channel["phase_noise_hz"] = args.phase_noise_hz
    try:
        emu = PlutoEmulator(
            args.host, args.port, path_gain_db=args.path_gain_db, noise_dbfs=args.noise_dbfs,
            offset_hz=args.offset_hz, delay=args.delay, seed=args.seed,
            channel_kwargs=channel or None,
        )
    except (OSError, ValueError) as exc:
        print(f"vlmcsc pluto-emu: {exc}", file=sys.stderr)
        return 2
    print(f"emulated PlutoSDR listening; use radio spec 'pluto:{emu.uri}' "
          f"(pyadi-iio: adi.Pluto('{emu.uri}')); Ctrl-C stops", flush=True)
    def _stop(signum, frame):  # SIGTERM (kill, systemd) ends it like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        emu.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
        s = emu.model.stats
        print(f"pluto-emu stopped: {s.rx_blocks} RX buffers served, {s.tx_samples} TX samples, "
              f"{s.rx_lost_samples} RX samples lost to full kernel buffers", file=sys.stderr)
    return 0
