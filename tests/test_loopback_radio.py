"""LoopbackRadio: the Radio interface over a channel, thread-safe TX/RX, continuous noise stream."""

import threading

import numpy as np
import pytest

from vlmcsc.phy import FrameTransmitter, OfdmConfig, StreamingReceiver
from vlmcsc.phy.channel import ChannelSimulator
from vlmcsc.sdr.loopback import LoopbackRadio
from vlmcsc.sdr.radio import Radio, RadioError


def test_is_a_radio_and_configures():
    with LoopbackRadio() as radio:
        assert isinstance(radio, Radio) and radio.name == "loopback"
        radio.configure(sample_rate=2e6, frequency=2.45e9, tx_gain_db=-20, rx_gain_db=10)
        assert radio.channel.sample_rate == 2e6
        with pytest.raises(ValueError):
            radio.configure(sample_rate=-5)
    with pytest.raises(RadioError):
        radio.receive(10, timeout=0)
    with pytest.raises(RadioError):
        radio.transmit(np.zeros(4, np.complex64))


def test_idle_stream_is_noise_at_the_channel_floor():
    ch = ChannelSimulator(snr_db=10, seed=0)
    radio = LoopbackRadio(ch)
    x = radio.receive(5000, timeout=0.005)  # 5 ms at 1 MS/s
    assert x.dtype == np.complex64 and x.size == 5000
    assert np.var(x) == pytest.approx(ch.noise_var, rel=0.1)
    assert radio.receive(0).size == 0
    assert radio.stats.samples_rx == 5000
    assert radio.receive(1, timeout=2.0).size == 1  # paced by the sample count, not the timeout
    assert radio.receive(100, timeout=0).size == 0  # nothing queued, no time: a counted timeout
    assert radio.stats.timeouts == 1


def test_bursts_come_back_through_the_channel_with_gaps():
    cfg = OfdmConfig()
    tx = FrameTransmitter(cfg)
    radio = LoopbackRadio(ChannelSimulator(snr_db=20, cfo_hz=5e3, seed=1), gap_samples=100, gap_jitter=50)
    for i in range(3):
        radio.transmit(tx.analog_frame(np.ones(96), seq=i))
    assert radio.stats.bursts_tx == 3
    rx = StreamingReceiver(cfg)
    frames = []
    while radio.queued_samples:
        frames += rx.process(radio.receive(777, timeout=0))
    frames += rx.process(radio.receive(2000, timeout=0.002))
    assert [f.seq for f in frames] == [0, 1, 2]
    starts = [f.start_sample for f in frames]
    assert 100 <= starts[0] <= 150
    assert np.all(np.diff(starts) >= tx.frame_len("analog", 96) + 100)
    with pytest.raises(TypeError):
        radio.transmit(np.ones(5))
    with pytest.raises(ValueError):
        radio.transmit(np.full(5, np.nan + 0j))


def test_threaded_transmit_and_receive():
    cfg = OfdmConfig()
    tx = FrameTransmitter(cfg)
    radio = LoopbackRadio(ChannelSimulator(snr_db=25, seed=2))
    n = 8
    got: list[int] = []

    def rx_loop():
        rx = StreamingReceiver(cfg)
        for _ in range(400):
            for f in rx.process(radio.receive(1024, timeout=0.01)):
                got.append(f.seq)
            if len(got) == n:
                return

    t = threading.Thread(target=rx_loop)
    t.start()
    for i in range(n):
        radio.transmit(tx.digital_frame(bytes([i]) * 30, seq=i))
    t.join(timeout=30)
    radio.close()
    assert got == list(range(n))
