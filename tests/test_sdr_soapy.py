"""SoapyRadio against the real SoapySDR library and our own device module (driver=vlmcsc_loopback).

Skips with the reason when the SoapySDR binding is missing or the module is not built (a fresh
clone before .ci/setup.sh); CI builds it, so there these run.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import pytest

# load only our module: an empty SoapySDR root, our build folder as the plugin path
os.environ.setdefault("SOAPY_SDR_ROOT", tempfile.mkdtemp(prefix="soapy-root-"))
from vlmcsc.sdr.soapy import loopback_module_path  # noqa: E402

os.environ.setdefault("SOAPY_SDR_PLUGIN_PATH", str(loopback_module_path().parent))

SoapySDR = pytest.importorskip("SoapySDR", reason="SoapySDR Python binding missing (apt install python3-soapysdr; .ci/setup.sh)")
if not loopback_module_path().is_file():
    pytest.skip(
        f"{loopback_module_path()} not built: cmake -S sdr/soapy_loopback -B build/soapy_loopback "
        "&& cmake --build build/soapy_loopback (.ci/setup.sh does it)",
        allow_module_level=True,
    )

from vlmcsc.sdr import RadioError, TransmitNotAllowed, open_radio  # noqa: E402
from vlmcsc.sdr.linktest import frame_link_test  # noqa: E402
from vlmcsc.sdr.soapy import SoapyRadio  # noqa: E402

ARGS = "driver=vlmcsc_loopback,delay=53,noise_dbfs=-95,seed=3"


def _radio(args: str = ARGS, **kwargs) -> SoapyRadio:
    r = SoapyRadio(args, **kwargs)
    r.configure(sample_rate=1e6, frequency=2.45e9, tx_gain_db=70, rx_gain_db=50)
    return r


def _tone(n: int, amp: float = 0.5) -> np.ndarray:
    return (amp * np.exp(2j * np.pi * 0.05 * np.arange(n))).astype(np.complex64)


@pytest.mark.parametrize("tx_mode", ["auto", "plain"])
def test_frames_decode_through_soapy_module(tx_mode):
    with _radio(tx_mode=tx_mode) as r:
        assert r.has_time
        res = frame_link_test(r, 30, seed=1)
        assert 0 < r.rx_time_ns <= r.hardware_time_ns()
    assert res.frames_ok == 30, res
    assert res.frames_bad == 0
    assert res.snr_db > 20
    assert res.radio_stats["overflows"] == 0 and res.radio_stats["late"] == 0
    assert res.radio_stats["bursts_tx"] == 30


def test_frequency_offset_reaches_the_phy():
    with _radio("driver=vlmcsc_loopback,offset_hz=25000,noise_dbfs=-95") as r:
        res = frame_link_test(r, 5, seed=2)
    assert res.frames_ok == 5
    assert res.cfo_hz == pytest.approx(25000, abs=500)


def test_tx_and_rx_on_different_frequencies_see_nothing():
    with _radio() as r:
        r._dev.setFrequency(SoapySDR.SOAPY_SDR_RX, 0, 2.40e9)  # RX 50 MHz away from TX
        r.start_rx()
        r.flush_rx()
        r.transmit(_tone(20000))
        y = r.receive(200_000, timeout=0.3)
        assert np.max(np.abs(y)) < 0.1  # noise only (the tone would be 0.5)
        r._dev.setFrequency(SoapySDR.SOAPY_SDR_RX, 0, 2.45e9)
        r.flush_rx()
        r.transmit(_tone(20000))
        y = r.receive(200_000, timeout=0.3)
        assert np.max(np.abs(y)) == pytest.approx(0.5, rel=0.1)


def test_settings_stages_antennas_and_readback():
    with SoapyRadio(ARGS, rx_antenna="TX/RX") as r:
        r.configure(sample_rate=2e6, frequency=915e6, tx_gain_db=40, rx_gain_db=45, bandwidth=1.5e6)
        assert r.sample_rate == 2e6 and r.frequency == 915e6
        stages = r.gain_stages("rx")
        assert set(stages) == {"LNA", "PGA"} and sum(stages.values()) == pytest.approx(45)
        assert r.set_gain_stage("rx", "PGA", 5) == pytest.approx(stages["LNA"] + 5)
        assert r.rx_gain_db == pytest.approx(stages["LNA"] + 5)
        s = r.settings()
        assert s["rx_antenna"] == "TX/RX" and s["tx_gain_stages"] == {"PGA": 40.0}
        with pytest.raises(RadioError, match="no RX gain stage 'VGA'"):
            r.set_gain_stage("rx", "VGA", 1)
        with pytest.raises(RadioError, match="no RX antenna"):
            r.set_antenna("rx", "J5")
        with pytest.raises(RadioError, match="refused a setting"):
            r.configure(frequency=10e9)
        with pytest.raises(ValueError):
            r.configure(sample_rate=-1)


def test_transmit_refused_until_frequency_and_tx_gain_are_set():
    with SoapyRadio(ARGS) as r:
        r.configure(sample_rate=1e6, rx_gain_db=30)
        with pytest.raises(TransmitNotAllowed):
            r.transmit(_tone(100))
        r.configure(frequency=2.45e9)
        with pytest.raises(TransmitNotAllowed):
            r.transmit(_tone(100))
        assert r.stats.bursts_tx == 0


@pytest.mark.parametrize(
    "args, match",
    [
        ("driver=vlmcsc_loopback,delay=abc", "delay='abc'"),
        ("driver=vlmcsc_loopback,bogus=1", "unknown device argument 'bogus'"),
        ("driver=no_such_driver", "could not open"),
        ("driver", "expected key=value"),
    ],
)
def test_bad_device_args_give_clear_errors(args, match):
    with pytest.raises(RadioError, match=match):
        SoapyRadio(args)


def test_timeouts_are_counted_and_the_stream_recovers():
    with _radio() as r:
        r.start_rx()
        assert r.receive(1000, timeout=0.5).size == 1000
        r._dev.writeSetting("fault", "stall")
        time.sleep(0.05)
        r.flush_rx()
        got = r.receive(10_000, timeout=0.25)
        assert got.size < 10_000
        assert r.stats.timeouts >= 1 and r.stats.device_timeouts >= 1
        r._dev.writeSetting("fault", "none")
        assert r.receive(5000, timeout=1.0).size == 5000
        assert r.rx_error is None


class _SlowFirstRead:
    """Device proxy whose first readStream is 250 ms late (a reader held up by the host)."""

    def __init__(self, dev):
        self._dev, self._slept = dev, False

    def readStream(self, *args):
        if not self._slept:
            self._slept = True
            time.sleep(0.25)
        return self._dev.readStream(*args)

    def __getattr__(self, name):
        return getattr(self._dev, name)


def test_slow_reader_gets_overflows_then_decodes_again():
    # a device FIFO of 100 ms; the receive thread is held up for 250 ms so the FIFO overflows
    with _radio("driver=vlmcsc_loopback,rx_buffer=100000,noise_dbfs=-95") as r:
        r._dev = _SlowFirstRead(r._dev)
        r.start_rx()
        time.sleep(0.4)
        assert r.stats.overflows >= 1
        res = frame_link_test(r, 5, seed=4)
    assert res.frames_ok == 5
    assert res.frames_bad == 0


def test_module_overflows_a_reader_that_sleeps():
    dev = SoapySDR.Device("driver=vlmcsc_loopback,rx_buffer=10000")
    try:
        dev.setSampleRate(SoapySDR.SOAPY_SDR_RX, 0, 1e6)
        rx = dev.setupStream(SoapySDR.SOAPY_SDR_RX, SoapySDR.SOAPY_SDR_CF32)
        dev.activateStream(rx)
        buf = np.zeros(4096, np.complex64)
        assert dev.readStream(rx, [buf], buf.size, timeoutUs=200_000).ret > 0
        time.sleep(0.05)  # 50 000 samples arrive, the FIFO holds 10 000
        assert dev.readStream(rx, [buf], buf.size, timeoutUs=200_000).ret == SoapySDR.SOAPY_SDR_OVERFLOW
        sr = dev.readStream(rx, [buf], buf.size, timeoutUs=200_000)
        assert sr.ret > 0 and sr.flags & SoapySDR.SOAPY_SDR_HAS_TIME
        dev.deactivateStream(rx)
        dev.closeStream(rx)
    finally:
        dev.close()


def test_overflow_storm_is_counted_without_crashing():
    with _radio() as r:
        r.start_rx()
        r._dev.writeSetting("fault", "overflow_storm")
        time.sleep(0.2)
        r._dev.writeSetting("fault", "none")
        n = r.stats.overflows
        assert n >= 5
        assert r.rx_error is None
        assert r.receive(4000, timeout=1.0).size == 4000


def test_device_that_disappears_mid_stream_reports_and_closes_cleanly():
    r = _radio("driver=vlmcsc_loopback,unplug_after=60000")
    try:
        got = 0
        with pytest.raises(RadioError, match="stopped streaming"):
            for _ in range(200):
                got += r.receive(8192, timeout=0.2).size
        assert got == 60000  # every sample delivered before the loss reaches the reader
        assert r.stats.stream_errors == 1
        with pytest.raises(RadioError):
            r.transmit(_tone(100))
    finally:
        r.close()
    r.close()  # idempotent
    with pytest.raises(RadioError, match="closed"):
        r.receive(10)


def test_late_timed_bursts_are_counted():
    with _radio(tx_lead_s=1e-9) as r:  # scheduled "now": late by the time it reaches the device
        for _ in range(3):
            r.transmit(_tone(1000))
        r._drain_tx_status()
    assert r.stats.late >= 1


def test_module_reports_underflow_of_a_continuous_stream():
    dev = SoapySDR.Device("driver=vlmcsc_loopback")
    try:
        tx = dev.setupStream(SoapySDR.SOAPY_SDR_TX, SoapySDR.SOAPY_SDR_CF32)
        dev.activateStream(tx)
        x = _tone(1000)
        assert dev.writeStream(tx, [x], x.size).ret == x.size  # no END_BURST: more to come
        time.sleep(0.05)  # ... but it comes too late
        assert dev.writeStream(tx, [x], x.size, SoapySDR.SOAPY_SDR_END_BURST).ret == x.size
        assert dev.readStreamStatus(tx, timeoutUs=100_000).ret == SoapySDR.SOAPY_SDR_UNDERFLOW
        assert dev.readStreamStatus(tx, timeoutUs=1000).ret == SoapySDR.SOAPY_SDR_TIMEOUT
        dev.deactivateStream(tx)
        dev.closeStream(tx)
    finally:
        dev.close()


def test_module_rejects_other_stream_formats():
    dev = SoapySDR.Device("driver=vlmcsc_loopback")
    try:
        with pytest.raises(Exception, match="CF32"):
            dev.setupStream(SoapySDR.SOAPY_SDR_RX, SoapySDR.SOAPY_SDR_CS16)
    finally:
        dev.close()


def test_exception_inside_with_block_closes_the_radio():
    with pytest.raises(KeyboardInterrupt):
        with _radio() as r:
            r.start_rx()
            raise KeyboardInterrupt
    assert r._closed and not r._rx_thread.is_alive()


def test_open_radio_spec():
    with open_radio("soapy:" + ARGS) as r:
        assert isinstance(r, SoapyRadio) and r.name == "soapy:" + ARGS
    with pytest.raises(RadioError, match="unknown radio spec"):
        open_radio("usrp:foo")


def test_recording_stays_valid_when_the_device_disappears(tmp_path):
    from vlmcsc.sdr.sigmf_io import RecordingRadio, ReplayRadio

    rec = RecordingRadio(_radio("driver=vlmcsc_loopback,unplug_after=30000"), rx_path=tmp_path / "cap")
    got = []
    with pytest.raises(RadioError, match="stopped streaming"):
        with rec:
            for _ in range(100):
                got.append(rec.receive(4096, timeout=0.2))
    replay = ReplayRadio(tmp_path / "cap.sigmf-meta")  # checksum verified
    assert replay.num_samples == 30000
    assert np.array_equal(replay.receive(30000, timeout=0), np.concatenate(got))
    assert replay.global_info["core:hw"].startswith("soapy:driver=vlmcsc_loopback")
