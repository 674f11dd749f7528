"""Frame header: the 4-bit mode field of analog frames (carried opaquely, returned as Frame.mode)
and the digital modulation index in the same field."""

import numpy as np
import pytest

from vlmcsc.phy import FrameTransmitter, OfdmConfig, StreamingReceiver
from vlmcsc.phy.frame import Header


def _symbols(n, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


@pytest.mark.parametrize("mode", range(16))
def test_header_pack_parse_round_trip_analog_mode(mode):
    h = Header("analog", 123, 7, mode=mode)
    raw = h.pack()
    assert raw[0] == mode  # kind 0 in the high nibble, mode in the low nibble
    assert Header.parse(raw) == h


@pytest.mark.parametrize("mode", [-1, 16, 1.5, True, "3"])
def test_analog_mode_out_of_range_is_refused(mode):
    tx = FrameTransmitter(OfdmConfig())
    with pytest.raises(ValueError, match="mode"):
        tx.analog_frame(_symbols(10), mode=mode)


def test_analog_mode_and_digital_modulation_reach_the_frame():
    cfg = OfdmConfig()
    tx, rx = FrameTransmitter(cfg), StreamingReceiver(cfg)
    parts = [np.zeros(200, np.complex64)]
    for mode in (0, 5, 15):
        parts += [tx.analog_frame(_symbols(100, mode), seq=mode, mode=mode), np.zeros(100, np.complex64)]
    parts += [tx.digital_frame(b"hello", seq=99, modulation="16qam"), np.zeros(300, np.complex64)]
    frames = rx.process(np.concatenate(parts))
    assert [(f.kind, f.seq, f.mode) for f in frames] == [
        ("analog", 0, 0), ("analog", 5, 5), ("analog", 15, 15), ("digital", 99, 2)]
    assert frames[-1].modulation == "16qam" and frames[-1].payload == b"hello"
