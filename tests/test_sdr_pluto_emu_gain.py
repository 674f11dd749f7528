"""The emulated Pluto: a TX attenuation change acts at once on a cyclic buffer (as on a real Pluto),
and the kernel-buffer count of the spec reaches the device."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("adi", reason="pyadi-iio missing: pip install 'pylibiio==0.25' 'pyadi-iio==0.0.21' (apt libiio0)")

from vlmcsc.sdr import open_radio  # noqa: E402
from vlmcsc.sdr.pluto_emu import PlutoEmulator  # noqa: E402


def test_tx_gain_change_acts_on_a_playing_cyclic_buffer():
    with PlutoEmulator(port=0, noise_dbfs=-120.0, seed=1) as emu:
        with open_radio(f"pluto:{emu.uri},kernel_buffers=2") as r:
            assert r.kernel_buffers == 2 and emu.model._kernel_buffers[list(emu.model._kernel_buffers)[0]] == 2
            r.configure(sample_rate=1e6, frequency=2.45e9, tx_gain_db=0, rx_gain_db=40)
            r.transmit_cyclic((0.5 * np.exp(2j * np.pi * 0.05 * np.arange(1000))).astype(np.complex64))
            r.start_rx()
            r.receive(60_000, timeout=3.0)
            before = np.mean(np.abs(r.receive(20_000, timeout=3.0)))
            r.configure(tx_gain_db=-20)  # no new buffer is written: the same cyclic buffer plays on
            after = np.mean(np.abs(r.receive(20_000, timeout=3.0)))
            r.stop_cyclic()
    assert before > 0.05
    assert 20 * np.log10(after / before) == pytest.approx(-20.0, abs=1.0)  # before: 0 dB (no change)


def test_frequency_out_of_range_names_the_setting_and_the_range():
    from vlmcsc.sdr import RadioError

    with PlutoEmulator(port=0) as emu, open_radio(f"pluto:{emu.uri}") as r:
        with pytest.raises(RadioError, match=r"frequency 5000\.000 MHz \(--freq / radio\.frequency_hz\).*3\.8 GHz"):
            r.configure(frequency=5e9)


def test_silent_kernel_buffer_overflow_is_detected_from_the_sample_clock():
    """A Pluto whose reader stalls loses samples in its kernel buffers and says nothing (pyadi-iio has
    no overflow flag); rx's clock watch finds them, as many as the emulator really dropped."""
    import time

    from vlmcsc.flowgraphs.rxlive import ClockWatch, clock_slack_s

    with PlutoEmulator(port=0, seed=2) as emu, open_radio(f"pluto:{emu.uri},kernel_buffers=2") as r:
        r.configure(sample_rate=1e6, frequency=2.45e9, rx_gain_db=40)
        r.start_rx()
        watch = ClockWatch(r.sample_rate, True, clock_slack_s(r))
        found = 0
        t_end = time.monotonic() + 0.8
        while time.monotonic() < t_end:
            r.receive(10_000, timeout=0.2)
            found += watch(r.stats.samples_rx, time.monotonic())
        assert found == 0  # keeping up: nothing reported
        with r._flush_lock:  # the host stalls for 1 s: the reader thread cannot hand buffers on
            time.sleep(1.0)
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            r.receive(10_000, timeout=0.2)
            found += watch(r.stats.samples_rx, time.monotonic())
        dropped = emu.model.stats.rx_lost_samples
    assert r.stats.ring_dropped == 0 and r.stats.overflows == 0  # the radio's own counters stay 0
    assert dropped > 500_000
    assert abs(found - dropped) < 0.35e6  # within the slack and the buffers in flight
