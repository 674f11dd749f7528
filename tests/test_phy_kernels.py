"""Compiled per-frame kernels (phy/_kernels.py) against their numpy reference paths."""

import numpy as np
import pytest

from vlmcsc.phy import FrameTransmitter, OfdmConfig, StreamingReceiver, _kernels, fec
from vlmcsc.phy.channel import ChannelSimulator


@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed")
@pytest.mark.parametrize("n, sigma", [(10, 1.0), (64, 0.8), (300, 0.9), (1000, 0.7)])
def test_compiled_viterbi_gives_the_numpy_paths_bits(n, sigma):
    rng = np.random.default_rng(n)
    for _ in range(5):
        bits = rng.integers(0, 2, n).astype(np.uint8)
        coded = fec.conv_encode(bits)
        llr = 2 * (1 - 2.0 * coded + sigma * rng.standard_normal(coded.size)) / sigma**2
        ref = fec.viterbi_decode(llr, use_kernel=False)
        assert np.array_equal(_kernels.viterbi_k7(llr), ref)
        assert np.array_equal(fec.viterbi_decode(llr), ref)


def test_without_the_compiler_the_numpy_path_gives_the_same_frames(monkeypatch):
    cfg = OfdmConfig()
    tx = FrameTransmitter(cfg)
    ch = ChannelSimulator(snr_db=4, seed=3)
    payloads = [bytes(range(i, i + 60)) for i in range(6)]
    iq = np.concatenate([np.concatenate([ch.noise(300), ch.apply(tx.digital_frame(p, seq=i))]) for i, p in enumerate(payloads)]
                        + [ch.noise(2000)])
    fast = StreamingReceiver(cfg).process(iq)
    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    slow = StreamingReceiver(cfg).process(iq)
    assert [f.payload for f in fast] == [f.payload for f in slow]
    assert all(np.allclose(a.symbols, b.symbols) for a, b in zip(fast, slow))
    assert sum(f.payload is not None for f in fast) >= 4
