"""FEC (K=7 convolutional code + vectorised Viterbi), CRC helpers and QAM mapping/demapping."""

import numpy as np
import pytest

from vlmcsc.phy import fec
from vlmcsc.phy.crc import bits_to_bytes, bytes_to_bits, check_crc32, crc16, crc32
from vlmcsc.phy.modulation import bits_per_symbol, demodulate_llr, hard_decision, modulate


def test_crc_known_vectors():
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value
    assert crc32(b"123456789") == 0xCBF43926
    assert check_crc32(fec.append_crc32(b"abc")) == b"abc"
    assert check_crc32(b"abc\x00\x00\x00\x00") is None
    assert check_crc32(b"ab") is None
    assert bits_to_bytes(bytes_to_bits(b"\x01\xff")) == b"\x01\xff"
    with pytest.raises(ValueError):
        bits_to_bytes(np.ones(7, np.uint8))


def test_encoder_impulse_response_is_133_171():
    # a single 1 walks through the register: output pairs spell the generators, MSB = current input
    out = fec.conv_encode(np.array([1], np.uint8)).reshape(-1, 2)
    assert "".join(map(str, out[:, 0])) == format(0o133, "07b")
    assert "".join(map(str, out[:, 1])) == format(0o171, "07b")
    assert out.shape == (7, 2)


@pytest.mark.parametrize("radix", [1, 2, 4, 6])
def test_viterbi_noiseless_roundtrip(radix):
    rng = np.random.default_rng(radix)
    for n in (1, 7, 64, 301):
        bits = rng.integers(0, 2, n).astype(np.uint8)
        llr = 4.0 * (1 - 2.0 * fec.conv_encode(bits))
        assert np.array_equal(fec.viterbi_decode(llr, radix_bits=radix), bits)


def test_viterbi_corrects_errors_and_batches():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, (16, 400)).astype(np.uint8)
    coded = np.stack([fec.conv_encode(b) for b in bits])
    sigma = 0.7  # Ec/N0 = 1/(2 sigma^2) ~ 0 dB, Eb/N0 ~ 3 dB: theory BER ~ 3e-4 for K=7 soft
    llr = 2 * ((1 - 2.0 * coded) + sigma * rng.standard_normal(coded.shape)) / sigma**2
    raw_ber = np.mean((llr < 0) != coded)
    dec = fec.viterbi_decode(llr)
    assert dec.shape == bits.shape
    ber = np.mean(dec != bits)
    assert raw_ber > 0.05 and ber < 2e-3
    # batch and single decoding agree
    assert np.array_equal(fec.viterbi_decode(llr[3]), dec[3])


def test_viterbi_rejects_bad_shapes_and_tolerates_nan():
    with pytest.raises(ValueError):
        fec.viterbi_decode(np.zeros(5))
    with pytest.raises(ValueError):
        fec.viterbi_decode(np.zeros((2, 2, 20)))
    out = fec.viterbi_decode(np.full(40, np.nan))
    assert out.shape == (14,)


@pytest.mark.parametrize("mod", ["bpsk", "qpsk", "16qam", "64qam"])
def test_modulation_roundtrip_unit_power_and_llr_sign(mod):
    m = bits_per_symbol(mod)
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2, 6000 * m).astype(np.uint8)
    x = modulate(bits, mod)
    assert x.dtype == np.complex64 and x.size == 6000
    assert abs(np.mean(np.abs(x) ** 2) - 1) < 0.03
    llr = demodulate_llr(x, 0.1, mod)
    assert np.array_equal((llr < 0).astype(np.uint8), bits)
    assert np.array_equal(hard_decision(x + 0.01, mod), x)
    # noisier symbols -> smaller LLR magnitudes
    assert np.mean(np.abs(demodulate_llr(x, 1.0, mod))) < np.mean(np.abs(llr))


def test_qpsk_llr_scale_is_exact():
    # QPSK: bit 0 is the negative level -a (Gray PAM), per-axis noise var nv/2: LLR = -4 a y / nv
    y = np.array([0.3 - 0.2j])
    llr = demodulate_llr(y, 0.5, "qpsk")
    a = 1 / np.sqrt(2)
    assert np.allclose(llr, [-4 * a * 0.3 / 0.5, 4 * a * 0.2 / 0.5], rtol=1e-5)
    assert modulate(np.array([0, 0], np.uint8), "qpsk")[0] == np.complex64(-a - 1j * a)


def test_modulation_bad_input():
    with pytest.raises(ValueError, match="unknown modulation"):
        modulate(np.zeros(4, np.uint8), "8psk")
    with pytest.raises(ValueError, match="multiple"):
        modulate(np.zeros(3, np.uint8), "16qam")


def test_sliding_window_decoding_matches_full_viterbi_on_long_codewords():
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, 3000).astype(np.uint8)
    coded = fec.conv_encode(bits)
    sigma = 0.75
    llr = 2 * ((1 - 2.0 * coded) + sigma * rng.standard_normal(coded.size)) / sigma**2
    windowed = fec.viterbi_decode(llr)  # long single codeword: windowed batch path
    steps = coded.size // 2
    pad = (-steps) % 4
    full = fec._decode(np.concatenate([llr, np.full(2 * pad, 1e3)]).reshape(1, -1, 8), 4, False)[0, : bits.size]
    assert windowed.shape == bits.shape
    assert np.mean(windowed != bits) < 5e-3
    assert np.sum(windowed != full) <= 3  # same decisions up to rare window-edge differences


def test_hard_decision_shortcut_is_exact_ml_when_it_applies():
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 2, 200).astype(np.uint8)
    coded = fec.conv_encode(bits)
    # clean hard decisions with random reliabilities: a codeword, so the shortcut answers
    llr = (1 - 2.0 * coded) * rng.uniform(0.1, 5, coded.size)
    assert np.array_equal(fec.hard_decision_decode(llr), bits)
    steps = coded.size // 2
    full = fec._decode(np.concatenate([llr, np.full(2 * ((-steps) % 4), 1e3)]).reshape(1, -1, 8), 4, False)[0, :200]
    assert np.array_equal(full, bits)
    # one flipped hard decision is no codeword: the shortcut declines, Viterbi corrects it
    llr[17] = -llr[17]
    assert fec.hard_decision_decode(llr) is None
    assert np.array_equal(fec.viterbi_decode(llr), bits)
