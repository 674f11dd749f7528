"""ADALM-Pluto (AD9363) through pyadi-iio behind the :class:`~vlmcsc.sdr.radio.Radio` interface.

Handles the Pluto's pitfalls so flowgraphs do not have to: the gain control mode is set to manual
*before* the RX gain (pyadi-iio silently ignores the gain otherwise) and the gain is read back;
the kernel buffers that still hold samples from before a retune are flushed; TX samples are
scaled to int16 (``tx_scale``, about 2**14 full scale) and RX samples from the 12-bit ADC are
scaled back to |x| <= 1; one-shot TX bursts or cyclic (repeating) transmissions; DC and
quadrature tracking can be switched; a missing Pluto is reported with its URI.

A receive thread pulls buffers into a :class:`~vlmcsc.sdr.ring.SampleRing`, so the consumer never
stalls the radio. pyadi-iio reports no overflows; samples lost because the reader fell behind are
counted in ``stats.ring_dropped``.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np

from .radio import Radio, RadioError, RadioStats
from .ring import RingReceiveMixin, SampleRing

#: int16 value of a TX sample at |x| = 1 (the DAC has 12 bits MSB-aligned; 2**14 leaves headroom)
TX_FULL_SCALE = 2**14
#: int16 value of a full-scale RX sample (12-bit ADC, sign-extended)
RX_FULL_SCALE = 2048.0
TX_GAIN_RANGE = (-89.75, 0.0)  # dB (an attenuation)
RX_GAIN_RANGE = (-3.0, 71.0)  # dB (manual gain)
MIN_SAMPLE_RATE = 521e3  # S/s, pyadi-iio refuses lower rates


@dataclasses.dataclass
class PlutoStats(RadioStats):
    ring_dropped: int = 0  # samples the reader was too slow to collect
    stale_buffers_flushed: int = 0  # kernel buffers dropped after retunes
    clipped_tx: int = 0  # TX samples beyond |I|,|Q| <= 1 (clipped before int16 conversion)


def import_adi():
    try:
        import adi  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise RadioError(
            f"pyadi-iio is not importable ({exc}); install the working set: apt install libiio0 "
            "and pip install 'pylibiio==0.25' 'pyadi-iio==0.0.21' (see hardware.md)"
        ) from exc
    return adi


class PlutoRadio(RingReceiveMixin, Radio):
    """One ADALM-Pluto, RX and TX channel 0.

    :param uri: libiio URI, e.g. ``"ip:192.168.2.1"``, ``"usb:1.5.5"``, or the emulator's
        ``"ip:127.0.0.1"`` (``vlmcsc pluto-emu``). Always given: auto-discovery is slow and its
        errors are misleading.
    :param rx_buffer_size: samples per RX kernel buffer (larger = fewer round trips, more latency).
    :param kernel_buffers: RX kernel buffers (libiio's default is 4; ours 32, i.e. 0.52 s of slack
        at 1 MS/s with 16384-sample buffers, 2 MB of memory: a busy host loses samples with 4, and
        pyadi-iio reports no overflow; ``vlmcsc rx`` detects such losses from the sample clock). Also how many buffers are dropped after a retune, since they may hold
        samples taken with the old settings. Spec option: ``pluto:ip:192.168.2.1,kernel_buffers=32``.
    :param tx_scale: int16 value of |x| = 1 in TX samples.
    :param dc_tracking, rf_dc_tracking, quadrature_tracking: the AD9363's tracking loops
        (keep them on unless you measure the raw front end).
    :param timeout_ms: libiio timeout for attribute and buffer operations, ms.
    :param ring_seconds: receive ring capacity, seconds of samples.

    Samples are complex64 at ``sample_rate``, |x| <= 1. Gains are the Pluto's own: TX
    -89.75..0 dB (attenuation), RX -3..71 dB (manual mode).
    """

    def __init__(
        self,
        uri: str,
        *,
        rx_buffer_size: int = 16384,
        kernel_buffers: int = 32,
        tx_scale: float = TX_FULL_SCALE,
        dc_tracking: bool = True,
        rf_dc_tracking: bool = True,
        quadrature_tracking: bool = True,
        timeout_ms: int = 3000,
        ring_seconds: float = 2.0,
    ) -> None:
        super().__init__()
        uri = str(uri).strip()
        if not uri or ":" not in uri:
            raise RadioError(
                f"PlutoSDR URI {uri!r} is not a libiio URI; give one explicitly, e.g. "
                "'ip:192.168.2.1' or 'usb:1.5.5' (`iio_info -s` lists USB devices)"
            )
        if rx_buffer_size < 64 or kernel_buffers < 1 or not 0 < tx_scale <= 32767:
            raise ValueError("need rx_buffer_size >= 64, kernel_buffers >= 1, 0 < tx_scale <= 32767")
        self.uri = uri
        self.name = f"pluto:{uri}"
        self.stats = PlutoStats()
        self.rx_buffer_size = int(rx_buffer_size)
        self.kernel_buffers = int(kernel_buffers)
        self.tx_scale = float(tx_scale)
        self._ring_seconds = float(ring_seconds)
        self._io = threading.RLock()  # settings and TX from user threads, one at a time
        self._flush_lock = threading.Lock()  # RX thread vs. flushes (never held during I/O)
        self._ring: SampleRing | None = None
        self._rx_thread: threading.Thread | None = None
        self._rx_stop = threading.Event()
        self._rx_error: RadioError | None = None
        self._flush_pending = 0
        self._cyclic = False
        adi = import_adi()
        try:
            self._sdr = adi.Pluto(uri)
        except Exception as exc:  # noqa: BLE001 - pyadi-iio raises a bare Exception
            raise RadioError(
                f"no PlutoSDR answered at {uri!r} ({exc}). Check the cable and that "
                f"`iio_info -u {uri}` works; a Pluto on USB is usually ip:192.168.2.1; "
                "without hardware run `vlmcsc pluto-emu` and use pluto:ip:127.0.0.1"
            ) from exc
        try:
            self._sdr.ctx.set_timeout(int(timeout_ms))
            self._sdr._rxadc.set_kernel_buffers_count(self.kernel_buffers)
            self._sdr.rx_buffer_size = self.rx_buffer_size
            self._sdr.rx_enabled_channels = [0]
            self._sdr.tx_enabled_channels = [0]
            self.set_tracking(dc=dc_tracking, rf_dc=rf_dc_tracking, quadrature=quadrature_tracking)
            self.sample_rate = float(self._sdr.sample_rate)
        except Exception as exc:  # noqa: BLE001
            self._release()
            raise RadioError(f"{self.name}: the device answered but could not be set up: {exc}") from exc

    # -- settings ------------------------------------------------------------------------------
    def _apply_settings(self) -> None:
        self._check_open()
        sdr = self._sdr
        if self.sample_rate is not None and self.sample_rate < MIN_SAMPLE_RATE:
            raise RadioError(f"{self.name}: sample rate {self.sample_rate:.0f} S/s is below the "
                             f"Pluto's {MIN_SAMPLE_RATE:.0f} S/s (pyadi-iio)")
        for key, rng in (("tx_gain_db", TX_GAIN_RANGE), ("rx_gain_db", RX_GAIN_RANGE)):
            v = getattr(self, key)
            if v is not None and not rng[0] <= v <= rng[1]:
                raise RadioError(f"{self.name}: {key}={v} outside the Pluto's range {rng} dB"
                                 + (" (TX gain is an attenuation: 0 is the maximum)"
                                    if key == "tx_gain_db" else ""))
        with self._io:
            try:
                if self.sample_rate is not None:
                    sdr.sample_rate = int(round(self.sample_rate))
                if self.frequency is not None:
                    try:
                        sdr.rx_lo = int(round(self.frequency))
                        sdr.tx_lo = int(round(self.frequency))
                    except Exception as exc:  # noqa: BLE001 - name the setting and the Pluto's range
                        raise RadioError(
                            f"the Pluto refused a setting: frequency {self.frequency / 1e6:.3f} MHz "
                            "(--freq / radio.frequency_hz) is outside its tuning range; a stock Pluto "
                            "(AD9363) tunes 325 MHz to 3.8 GHz, 70 MHz to 6 GHz once switched to AD9364 "
                            f"mode (hardware.md section 6) ({exc})") from None
                if self.bandwidth is not None:
                    sdr.rx_rf_bandwidth = int(round(self.bandwidth))
                    sdr.tx_rf_bandwidth = int(round(self.bandwidth))
                if self.rx_gain_db is not None:
                    # manual mode first: in AGC modes pyadi-iio drops the gain without a word
                    sdr.gain_control_mode_chan0 = "manual"
                    sdr.rx_hardwaregain_chan0 = int(round(self.rx_gain_db))
                if self.tx_gain_db is not None:
                    sdr.tx_hardwaregain_chan0 = float(self.tx_gain_db)
                self.sample_rate = float(sdr.sample_rate)
                if self.rx_gain_db is not None:
                    got = float(sdr.rx_hardwaregain_chan0)
                    if abs(got - round(self.rx_gain_db)) > 0.5:
                        raise RadioError(f"RX gain reads back {got} dB, asked {self.rx_gain_db} dB")
                    self.rx_gain_db = got
                if self.tx_gain_db is not None:
                    self.tx_gain_db = float(sdr.tx_hardwaregain_chan0)
            except RadioError as exc:
                raise RadioError(f"{self.name}: {exc}") from exc
            except Exception as exc:  # noqa: BLE001 - libiio raises OSError, pyadi bare Exception
                raise RadioError(f"{self.name}: the Pluto refused a setting: {exc}") from exc
        self._schedule_flush()

    def set_tracking(self, *, dc: bool | None = None, rf_dc: bool | None = None,
                     quadrature: bool | None = None) -> None:
        """Switch the AD9363's baseband DC, RF DC and quadrature (IQ balance) tracking loops."""
        with self._io:
            for attr, on in (("bb_dc_offset_tracking_en", dc), ("rf_dc_offset_tracking_en", rf_dc),
                             ("quadrature_tracking_en", quadrature)):
                if on is not None:
                    self._sdr._set_iio_attr("voltage0", attr, False, int(bool(on)))
        self._schedule_flush()

    def tracking(self) -> dict[str, bool]:
        with self._io:
            return {a: self._sdr._get_iio_attr_str("voltage0", a, False).strip() == "1"
                    for a in ("bb_dc_offset_tracking_en", "rf_dc_offset_tracking_en",
                              "quadrature_tracking_en")}

    def settings(self) -> dict:
        out = super().settings()
        out.update(uri=self.uri, rx_buffer_size=self.rx_buffer_size,
                   kernel_buffers=self.kernel_buffers, tx_scale=self.tx_scale)
        try:
            out["gain_control_mode"] = self._sdr.gain_control_mode_chan0
            out.update(self.tracking())
        except Exception:  # noqa: BLE001 - a dead device still prints
            pass
        return out

    def _schedule_flush(self) -> None:
        """Drop the kernel buffers filled before now: they hold samples from the old settings."""
        with self._flush_lock:
            self._flush_pending = self.kernel_buffers + 1  # + the one being filled
            if self._ring is not None:
                self._ring.clear()

    # -- receive -------------------------------------------------------------------------------
    def start_rx(self) -> None:
        self._check_open()
        if self._rx_thread is not None:
            return
        rate = self.sample_rate or 1e6
        self._ring = SampleRing(max(4 * self.rx_buffer_size, int(self._ring_seconds * rate)))
        self._rx_stop.clear()
        self._rx_thread = threading.Thread(target=self._rx_loop, name=f"rx {self.name}", daemon=True)
        self._rx_thread.start()

    def _rx_loop(self) -> None:
        try:
            while not self._rx_stop.is_set():
                # no lock while the buffer fills: a user thread waiting for a lock that this
                # loop takes back at once would starve (Python locks are not fair)
                data = self._sdr.rx()
                with self._flush_lock:  # a flush scheduled meanwhile counts this buffer too
                    if self._flush_pending > 0:
                        self._flush_pending -= 1
                        self.stats.stale_buffers_flushed += 1
                        continue
                    x = np.asarray(data, dtype=np.complex64)  # one conversion, then scale in place
                    x *= np.float32(1.0 / RX_FULL_SCALE)
                    self.stats.samples_rx += x.size
                    self.stats.ring_dropped += self._ring.write(x)
        except Exception as exc:  # noqa: BLE001 - libiio raises OSError on a lost device
            if not self._rx_stop.is_set():
                self.stats.errors += 1
                self._rx_error = RadioError(
                    f"{self.name}: the Pluto stopped streaming ({exc}); check the USB/network "
                    "connection and power, then restart"
                )
        finally:
            self._ring.close()

    def flush_rx(self) -> None:
        """Forget everything received so far, including what the kernel still holds."""
        self._schedule_flush()

    # -- transmit ------------------------------------------------------------------------------
    def _to_int16_scale(self, iq: np.ndarray) -> np.ndarray:
        x = self._as_iq(iq)
        over = (np.abs(x.real) > 1) | (np.abs(x.imag) > 1)
        if np.any(over):
            self.stats.clipped_tx += int(over.sum())
            x = np.clip(x.real, -1, 1) + 1j * np.clip(x.imag, -1, 1)
        return (x * self.tx_scale).astype(np.complex64)

    def transmit(self, iq: np.ndarray) -> None:
        """Send one burst once (complex64 [n], |x| <= 1). Stops a cyclic transmission first."""
        self._require_tx_settings()
        x = self._to_int16_scale(iq)
        if x.size == 0:
            return
        self._check_open()
        with self._io:
            try:
                # pyadi-iio ties the buffer to its first length and to the cyclic flag: a burst
                # of another length (or after cyclic mode) needs a fresh buffer
                if self._cyclic or self._sdr._txbuf is not None and self._sdr._tx_buffer_size != x.size:
                    self._sdr.tx_destroy_buffer()
                if self._cyclic:
                    self._sdr.tx_cyclic_buffer = False
                    self._cyclic = False
                self._sdr.tx(x)
            except Exception as exc:  # noqa: BLE001
                self.stats.errors += 1
                raise RadioError(f"{self.name}: transmit failed: {exc}") from exc
        self.stats.samples_tx += x.size
        self.stats.bursts_tx += 1

    def transmit_cyclic(self, iq: np.ndarray) -> None:
        """Repeat ``iq`` continuously until :meth:`stop_cyclic` (a test transmission)."""
        self._require_tx_settings()
        x = self._to_int16_scale(iq)
        if x.size == 0:
            raise ValueError("a cyclic transmission needs at least one sample")
        self._check_open()
        with self._io:
            try:
                self._sdr.tx_destroy_buffer()
                self._sdr.tx_cyclic_buffer = True
                self._cyclic = True
                self._sdr.tx(x)
            except Exception as exc:  # noqa: BLE001
                self.stats.errors += 1
                raise RadioError(f"{self.name}: cyclic transmit failed: {exc}") from exc
        self.stats.samples_tx += x.size
        self.stats.bursts_tx += 1

    def stop_cyclic(self) -> None:
        """Stop a cyclic transmission (no-op otherwise)."""
        if not self._cyclic:
            return
        with self._io:
            self._sdr.tx_destroy_buffer()
            self._sdr.tx_cyclic_buffer = False
            self._cyclic = False

    # -- shutdown ------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RadioError(f"{self.name}: radio is closed")

    def _release(self) -> None:
        sdr = self._sdr
        for step in (sdr.tx_destroy_buffer, sdr.rx_destroy_buffer):
            try:
                step()
            except Exception:  # noqa: BLE001
                self.stats.errors += 1
        try:
            sdr.close()
        except Exception:  # noqa: BLE001
            pass

    def close(self) -> None:
        """Stop the receive thread and any cyclic TX, destroy buffers, close the context."""
        if self._closed:
            return
        self._closed = True
        self._rx_stop.set()
        if self._rx_thread is not None:
            # the thread leaves after its current buffer (at most one libiio timeout)
            self._rx_thread.join(timeout=5.0)
        with self._io:
            self._release()
        if self._ring is not None:
            self._ring.close()
