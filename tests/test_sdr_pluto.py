"""The real libiio 0.24 + pylibiio + pyadi-iio against our emulated Pluto (iiod protocol), and
PlutoRadio on top. Skips with the reason when pyadi-iio or libiio is missing."""

from __future__ import annotations

import time

import numpy as np
import pytest

adi = pytest.importorskip("adi", reason="pyadi-iio missing: pip install 'pylibiio==0.25' 'pyadi-iio==0.0.21' (apt libiio0)")

from vlmcsc.sdr import RadioError, TransmitNotAllowed, open_radio  # noqa: E402
from vlmcsc.sdr.linktest import frame_link_test  # noqa: E402
from vlmcsc.sdr.pluto import PlutoRadio  # noqa: E402
from vlmcsc.sdr.pluto_emu import PlutoEmulator  # noqa: E402


@pytest.fixture
def emu():
    with PlutoEmulator(port=0, noise_dbfs=-85, seed=5) as e:
        yield e


def _pluto(uri: str, **kwargs) -> PlutoRadio:
    # 4 kernel buffers of 16 ms: the receive thread may be held up that long on a busy machine
    r = PlutoRadio(uri, rx_buffer_size=16384, **kwargs)
    r.configure(sample_rate=1e6, frequency=2.45e9, tx_gain_db=0, rx_gain_db=50)
    return r


def _tone(n: int, amp: float = 0.5) -> np.ndarray:
    return (amp * np.exp(2j * np.pi * 0.01 * np.arange(n))).astype(np.complex64)


def test_pyadi_sets_and_reads_attributes(emu):
    sdr = adi.Pluto(emu.uri)
    try:
        sdr.sample_rate = 1_000_000  # below 2.08 MS/s: pyadi enables the FIR decimator first
        assert sdr.sample_rate == 1_000_000
        sdr.rx_lo, sdr.tx_lo = 915_000_000, 916_000_000
        assert (sdr.rx_lo, sdr.tx_lo) == (915_000_000, 916_000_000)
        sdr.rx_hardwaregain_chan0 = 20  # AGC mode: pyadi-iio drops this without a word ...
        assert sdr.gain_control_mode_chan0 == "slow_attack"
        assert sdr.rx_hardwaregain_chan0 != 20
        sdr.gain_control_mode_chan0 = "manual"  # ... manual first, then it sticks
        sdr.rx_hardwaregain_chan0 = 20
        assert sdr.rx_hardwaregain_chan0 == 20
        sdr.tx_hardwaregain_chan0 = -12.25
        assert sdr.tx_hardwaregain_chan0 == -12.25
        sdr.rx_rf_bandwidth = 2_000_000
        assert sdr.rx_rf_bandwidth == 2_000_000
        assert sdr.filter == [128.0, 4.0, 128.0, 4.0]
        with pytest.raises(OSError):
            sdr.tx_hardwaregain_chan0 = 5.0  # a Pluto's TX gain is an attenuation, <= 0 dB
        with pytest.raises(OSError):
            sdr.rx_lo = 100_000_000
        assert "PlutoSDR" in repr(sdr)
    finally:
        sdr.rx_destroy_buffer()
        del sdr
    assert emu.model.stats.refused_writes == 2


def test_pyadi_streams_tx_to_rx_with_int16_scaling(emu):
    emu.model.path_gain_db, emu.model.noise_dbfs = 0.0, -200.0
    sdr = adi.Pluto(emu.uri)
    try:
        sdr.sample_rate = 1_000_000
        sdr.rx_lo = sdr.tx_lo = 2_450_000_000
        sdr.gain_control_mode_chan0 = "manual"
        sdr.rx_hardwaregain_chan0 = 0
        sdr.tx_hardwaregain_chan0 = 0
        sdr.rx_buffer_size = 8192
        sdr.tx_cyclic_buffer = True
        sdr.tx(_tone(1000) * 2**14)  # 0.5 of the 2**14 full scale -> 0.25 of the ADC range
        for _ in range(6):  # older kernel buffers may predate the transmission
            y = sdr.rx()
        assert y.dtype == np.complex128 and y.size == 8192
        assert np.abs(y).max() <= 2048
        assert np.median(np.abs(y)) / 2048 == pytest.approx(0.25, abs=0.01)
    finally:
        sdr.tx_destroy_buffer()
        sdr.rx_destroy_buffer()
        del sdr


def test_frames_decode_through_real_libiio_and_emulator(emu):
    from vlmcsc.phy.channel import ChannelSimulator

    emu.model.channel = ChannelSimulator(None, sample_rate=1e6, cfo_hz=3000, rms_delay_s=1e-6,
                                         fading="block", seed=7)
    with _pluto(emu.uri) as r:
        res = frame_link_test(r, 30, seed=3)
    assert res.frames_ok == 30, res
    assert res.frames_bad == 0
    assert res.cfo_hz == pytest.approx(3000, abs=300)
    assert res.radio_stats["bursts_tx"] == 30 and res.radio_stats["errors"] == 0


def test_manual_gain_mode_is_set_before_the_gain(emu):
    with _pluto(emu.uri) as r:
        r.configure(rx_gain_db=23)
        s = r.settings()
        assert s["gain_control_mode"] == "manual" and r.rx_gain_db == 23
        with pytest.raises(RadioError, match="outside the Pluto's range"):
            r.configure(tx_gain_db=3)
        with pytest.raises(RadioError, match="below the Pluto"):
            r.configure(sample_rate=300e3)
        with pytest.raises(RadioError, match="refused a setting"):
            r.configure(frequency=6e9)


def test_stale_kernel_buffers_are_flushed_after_a_retune(emu):
    # a cyclic tone arrives at about 0.8 full scale with 50 dB RX gain. After a change to 0 dB
    # the kernel still hands out buffers captured with the old gain unless they are flushed.
    emu.model.noise_dbfs = -120.0
    with _pluto(emu.uri, kernel_buffers=4) as r:
        r.transmit_cyclic(_tone(1000))
        r.start_rx()
        assert np.max(np.abs(r.receive(40_000, timeout=2.0))) > 0.5  # the tone arrives
        with r._flush_lock:  # the receive thread pauses: all kernel buffers fill with the tone
            time.sleep(0.1)
            r._sdr.rx_hardwaregain_chan0 = 0
            raw = [r._sdr.rx() for _ in range(2)]  # what pyadi-iio alone returns now
            r._sdr.rx_hardwaregain_chan0 = 50
        assert all(np.max(np.abs(b)) > 1000 for b in raw), "emulator should hold stale buffers"
        r.receive(40_000, timeout=2.0)
        with r._flush_lock:
            time.sleep(0.1)  # the kernel buffers fill again (at 50 dB)
        r.configure(rx_gain_db=0)  # through PlutoRadio: the stale buffers are dropped
        y = r.receive(20_000, timeout=2.0)
        assert y.size == 20_000 and np.max(np.abs(y)) < 0.01
        assert r.stats.stale_buffers_flushed >= 5
        r.stop_cyclic()


def test_cyclic_then_one_shot_bursts(emu):
    with _pluto(emu.uri) as r:
        r.transmit_cyclic(_tone(500))
        r.start_rx()
        y = r.receive(30_000, timeout=2.0)
        assert np.mean(np.abs(y[-10_000:]) > 0.1) > 0.99  # continuous
        r.stop_cyclic()
        r.flush_rx()
        r.receive(20_000, timeout=2.0)
        y = r.receive(20_000, timeout=2.0)
        assert np.max(np.abs(y)) < 0.1  # silent after the stop
        r.transmit(_tone(700))  # one-shot bursts of different lengths
        r.transmit(_tone(300))
        y = r.receive(100_000, timeout=2.0)
        loud = np.abs(y) > 0.1
        assert 900 <= loud.sum() <= 1100
        assert r.stats.bursts_tx == 3


def test_dc_tracking_option(emu):
    emu.model.noise_dbfs = -120.0
    with _pluto(emu.uri) as r:
        r.set_tracking(dc=False)
        assert r.tracking()["bb_dc_offset_tracking_en"] is False
        r.flush_rx()
        y = r.receive(20_000, timeout=2.0)
        assert np.mean(y) == pytest.approx(0.02 + 0.01j, abs=2e-3)
        r.set_tracking(dc=True)
        r.flush_rx()
        y = r.receive(20_000, timeout=2.0)
        assert abs(np.mean(y)) < 2e-3


def test_transmit_refused_until_frequency_and_gain(emu):
    with PlutoRadio(emu.uri) as r:
        r.configure(sample_rate=1e6)
        with pytest.raises(TransmitNotAllowed):
            r.transmit(_tone(100))
        with pytest.raises(TransmitNotAllowed):
            r.transmit_cyclic(_tone(100))


def test_no_pluto_error_names_the_uri():
    with pytest.raises(RadioError, match=r"no PlutoSDR answered at 'ip:127.0.0.1:9'"):
        PlutoRadio("ip:127.0.0.1:9")
    with pytest.raises(RadioError, match="not a libiio URI"):
        PlutoRadio("192.168.2.1")


def test_pluto_that_disappears_mid_stream_reports_and_closes():
    e = PlutoEmulator(port=0).start()
    r = _pluto(e.uri, timeout_ms=500)
    try:
        assert r.receive(4096, timeout=3.0).size == 4096
        e.stop()  # cable pulled
        with pytest.raises(RadioError, match="stopped streaming"):
            for _ in range(100):
                r.receive(4096, timeout=0.2)
    finally:
        r.close()
    assert r._closed


def test_stalled_pluto_times_out_into_a_clear_error(emu):
    with _pluto(emu.uri, timeout_ms=300) as r:
        assert r.receive(4096, timeout=2.0).size == 4096
        emu.model.fault = "stall"
        with pytest.raises(RadioError, match="stopped streaming"):
            for _ in range(50):
                r.receive(4096, timeout=0.2)
        assert r.stats.timeouts >= 1
        emu.model.fault = None


def test_open_radio_pluto_spec(emu):
    with open_radio(f"pluto:{emu.uri}") as r:
        assert isinstance(r, PlutoRadio) and r.uri == emu.uri


def test_channel_kwargs_follow_the_sample_rate():
    with PlutoEmulator(port=0, channel_kwargs={"rms_delay_s": 1e-6, "fading": "block"}) as e:
        assert e.model.channel.sample_rate == e.model.sample_rate
        with _pluto(e.uri) as r:
            assert e.model.channel.sample_rate == 1e6
            res = frame_link_test(r, 5, seed=6)
    assert res.frames_ok == 5
