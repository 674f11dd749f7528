"""scikit-commpy as the reference our fast PHY coding is tested against (issue 12 section 5): the
same bits and symbols on random inputs, every modulation and the rate we ship.

Conventions: commpy writes the K=7 generators with the other bit order (IEEE 802.11's
133/171 octal are commpy's 155/117), its soft Viterbi ("unquantized") wants +1 for a coded 1
(our LLRs are positive for a 0), and its QAM constellations are not normalised to unit energy.
"""

import warnings

import numpy as np
import pytest

commpy = pytest.importorskip("commpy")
from commpy.channelcoding import convcode as cc  # noqa: E402
from commpy.modulation import PSKModem, QAMModem  # noqa: E402

from vlmcsc.phy import fec  # noqa: E402
from vlmcsc.phy.modulation import bits_per_symbol, demodulate_llr, modulate  # noqa: E402

TRELLIS = cc.Trellis(np.array([6]), np.array([[0o155, 0o117]]))


@pytest.mark.parametrize("n", [1, 7, 64, 333])
def test_conv_encoder_matches_commpy(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        bits = rng.integers(0, 2, n).astype(np.uint8)
        assert np.array_equal(fec.conv_encode(bits), cc.conv_encode(bits, TRELLIS, termination="term"))


@pytest.mark.parametrize("sigma", [0.5, 0.9])
def test_soft_viterbi_matches_commpy(sigma):
    rng = np.random.default_rng(int(sigma * 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(4):
            bits = rng.integers(0, 2, 150).astype(np.uint8)
            coded = fec.conv_encode(bits)
            x = 1 - 2.0 * coded + sigma * rng.standard_normal(coded.size)
            ours = fec.viterbi_decode((2 * x / sigma**2).astype(np.float32))[: bits.size]
            ref = cc.viterbi_decode(-x, TRELLIS, tb_depth=coded.size // 2, decoding_type="unquantized")[: bits.size]
            assert np.array_equal(ours, ref)


@pytest.mark.parametrize("name, modem", [("bpsk", PSKModem(2)), ("qpsk", QAMModem(4)), ("16qam", QAMModem(16)),
                                         ("64qam", QAMModem(64))])
def test_gray_mapping_matches_commpy(name, modem):
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, bits_per_symbol(name) * 500).astype(np.uint8)
    scale = np.sqrt(np.mean(np.abs(modem.constellation) ** 2))
    ref = modem.modulate(bits) / scale
    ours = modulate(bits, name)
    assert np.allclose(ours, ref, atol=1e-6)
    noisy = ours + 0.05 * (rng.standard_normal(ours.size) + 1j * rng.standard_normal(ours.size))
    ours_bits = (demodulate_llr(noisy, 0.005, name) < 0).astype(np.int8)  # max-log LLR signs = hard bits
    assert np.array_equal(ours_bits, modem.demodulate(noisy * scale, "hard"))
