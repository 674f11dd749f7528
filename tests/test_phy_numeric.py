"""Small-array numerics of the per-frame receiver path: the direct FFT binding, the matrix-vector
helper and the integer hard-decision codeword check must agree with their plain counterparts."""

import numpy as np

from vlmcsc.phy import fec
from vlmcsc.phy._numeric import _fft_ortho_scipy, fft_ortho, matvec


def test_fft_ortho_matches_numpy():
    rng = np.random.default_rng(0)
    for shape in [(64,), (5, 64), (23, 128), (3, 256)]:
        x = rng.normal(size=shape) + 1j * rng.normal(size=shape)
        np.testing.assert_allclose(fft_ortho(x), np.fft.fft(x, axis=-1, norm="ortho"), rtol=0, atol=1e-12)
        np.testing.assert_allclose(_fft_ortho_scipy(x), np.fft.fft(x, axis=-1, norm="ortho"), rtol=0, atol=1e-12)
    # strided input (CP-free windows of a buffer)
    buf = rng.normal(size=4 * 80) + 1j * rng.normal(size=4 * 80)
    win = buf.reshape(4, 80)[:, 16:]
    np.testing.assert_allclose(fft_ortho(win), np.fft.fft(win, axis=1, norm="ortho"), rtol=0, atol=1e-12)


def test_matvec_small_and_large():
    rng = np.random.default_rng(1)
    for m, n in [(20, 3), (40, 52), (160, 208)]:  # the last one stays off threaded BLAS
        a = rng.normal(size=(m, n)) + 1j * rng.normal(size=(m, n))
        v = rng.normal(size=n) + 1j * rng.normal(size=n)
        np.testing.assert_allclose(matvec(a, v), a @ v, rtol=1e-12, atol=1e-12)


def test_hard_decision_int_agrees_with_reencoding():
    rng = np.random.default_rng(2)
    for n in [0, 1, 7, 8, 9, 64, 331]:
        bits = rng.integers(0, 2, n).astype(np.uint8)
        coded = fec.conv_encode(bits)
        llr = (1 - 2.0 * coded) * rng.uniform(0.1, 5, coded.size)
        u, nbits = fec.hard_decision_int(llr)
        assert nbits == n and u == (int("".join(map(str, bits)), 2) if n else 0)
        assert np.array_equal(fec.hard_decision_decode(llr), bits)
        if n:
            llr[rng.integers(coded.size)] *= -1  # one wrong hard decision: no codeword
            assert fec.hard_decision_int(llr) is None
    # random hard decisions: whenever the shortcut answers, re-encoding gives them back
    for _ in range(500):
        llr = rng.normal(size=2 * int(rng.integers(6, 30)))
        bits = fec.hard_decision_decode(llr)
        if bits is not None:
            assert np.array_equal(fec.conv_encode(bits), (llr < 0).astype(np.uint8))
    assert fec.hard_decision_int(np.ones(13)) is None  # odd length: no codeword
