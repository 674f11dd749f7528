"""ZeroMQ IQ framing (GNU Radio's: raw complex64 per message, no tags) and the ZmqRadio."""

import numpy as np
import pytest
import zmq

from vlmcsc.flowgraphs.air import free_port
from vlmcsc.sdr.zmq_radio import ZmqRadio, iq_to_message, message_to_iq, open_zmq_radio
from vlmcsc.sdr.radio import RadioError


def test_framing_is_raw_little_endian_complex64():
    iq = np.array([1 + 2j, -0.5 + 0.25j], np.complex128)
    msg = iq_to_message(iq)
    assert len(msg) == 16
    assert np.frombuffer(msg, "<f4").tolist() == [1.0, 2.0, -0.5, 0.25]  # I, Q interleaved
    back = message_to_iq(msg)
    assert back.dtype == np.complex64 and np.array_equal(back, iq.astype(np.complex64))
    with pytest.raises(ValueError, match="whole number"):
        message_to_iq(msg[:-3])


def test_radio_round_trip_and_garbage():
    port = free_port()
    rng = np.random.default_rng(0)
    bursts = [(rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64) * 0.1 for n in (100, 37, 500)]
    with ZmqRadio(f"tcp://127.0.0.1:{port}") as tx, open_zmq_radio(f"zmq:tcp://127.0.0.1:{port}") as rx:
        rx.start_rx()
        for b in bursts:
            tx.transmit(b)
        # a peer sending garbage (odd byte count) is counted and dropped, not fatal
        tx._tx_socket().send(b"\x00" * 5)
        tx.transmit(bursts[0])
        got = []
        while True:
            x = rx.receive(64, timeout=1.0)  # smaller than a message: the rest is kept
            if x.size == 0:
                break
            got.append(x)
        out = np.concatenate(got)
        expected = np.concatenate(bursts + [bursts[0]])
        assert np.array_equal(out, expected)
        assert rx.bad_messages == 1 and rx.stats.timeouts == 1
        assert tx.stats.bursts_tx == 4 and rx.stats.samples_rx == expected.size


def test_tx_without_receiver_times_out_with_advice():
    port = free_port()
    with ZmqRadio(f"tcp://127.0.0.1:{port}", send_timeout=0.2, high_water_mark=1) as tx:
        with pytest.raises(RadioError, match="no receiver"):
            for _ in range(10):
                tx.transmit(np.zeros(10, np.complex64))


def test_interoperates_with_plain_zmq_pull():
    """A bare PULL socket (what GNU Radio's ZMQ PULL Source is) reads our bursts as raw samples."""
    port = free_port()
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    try:
        with ZmqRadio(f"tcp://127.0.0.1:{port}") as tx:
            pull.connect(f"tcp://127.0.0.1:{port}")
            tx.transmit(np.array([0.5 - 0.5j], np.complex64))
            assert pull.poll(5000)
            assert np.frombuffer(pull.recv(), np.complex64).tolist() == [0.5 - 0.5j]
    finally:
        pull.close(0)
        ctx.term()


def test_bad_specs():
    with pytest.raises(ValueError):
        open_zmq_radio("tcp://127.0.0.1:5555")
    with pytest.raises(ValueError):
        ZmqRadio("127.0.0.1:5555")
