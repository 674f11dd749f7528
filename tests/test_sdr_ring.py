"""SampleRing: the receive threads' buffer."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vlmcsc.sdr.ring import SampleRing


def test_fifo_order_and_wraparound():
    ring = SampleRing(10)
    x = np.arange(25).astype(np.complex64)
    assert ring.write(x[:7]) == 0
    assert np.array_equal(ring.read(5, 0), x[:5])
    assert ring.write(x[7:15]) == 0  # wraps around the end of the storage
    assert len(ring) == 10
    assert np.array_equal(ring.read(10, 0), x[5:15])


def test_full_ring_drops_oldest_and_counts():
    ring = SampleRing(8)
    x = np.arange(20).astype(np.complex64)
    assert ring.write(x[:6]) == 0
    assert ring.write(x[6:10]) == 2
    assert ring.write(x[10:20]) == 10  # larger than the ring: only the newest 8 survive
    assert ring.dropped == 12
    assert np.array_equal(ring.read(100, 0), x[12:20])


def test_read_waits_for_data_or_timeout():
    ring = SampleRing(100)
    assert ring.read(5, 0.01).size == 0
    threading.Timer(0.05, ring.write, args=(np.ones(5, np.complex64),)).start()
    assert ring.read(5, 5.0).size == 5
    ring.write(np.ones(3, np.complex64))
    assert ring.read(10, 0.01).size == 3  # partial on timeout


def test_close_wakes_a_waiting_reader_and_clear_empties():
    ring = SampleRing(100)
    ring.write(np.ones(4, np.complex64))
    assert ring.clear() == 4 and len(ring) == 0
    out = []
    reader = threading.Thread(target=lambda: out.append(ring.read(10, 60.0)))
    reader.start()
    ring.close()
    reader.join(timeout=10.0)
    assert not reader.is_alive() and out[0].size == 0


def test_bad_capacity():
    with pytest.raises(ValueError):
        SampleRing(0)
