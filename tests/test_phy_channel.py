"""Channel impairment models: units, conventions, seeding, and validation."""

import numpy as np
import pytest

from vlmcsc.phy import OfdmConfig
from vlmcsc.phy.channel import ChannelSimulator, exponential_pdp


def _tone(n, f=0.0):
    return (0.3 * np.exp(2j * np.pi * f * np.arange(n))).astype(np.complex64)


def test_awgn_noise_variance_follows_es_n0_convention():
    cfg = OfdmConfig(tx_scale=0.25)
    ch = ChannelSimulator(snr_db=10, config=cfg, seed=0)
    assert ch.noise_var == pytest.approx(0.25**2 * 0.1)
    n = ch.noise(200_000)
    assert np.var(n) == pytest.approx(ch.noise_var, rel=0.02)
    assert ChannelSimulator(snr_db=10, ref_power=1.0).noise_var == pytest.approx(0.1)
    assert ChannelSimulator().noise_var == 0.0


def test_seeded_runs_repeat_and_differ_across_seeds():
    kw = dict(snr_db=5, rms_delay_s=2e-6, fading="block", phase_noise_hz=100, cfo_hz=1e3)
    x = _tone(500)
    a = ChannelSimulator(**kw, seed=1).apply(x)
    b = ChannelSimulator(**kw, seed=1).apply(x)
    c = ChannelSimulator(**kw, seed=2).apply(x)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_cfo_rotates_at_the_right_rate_and_phase_is_continuous():
    fs = 2e6
    ch = ChannelSimulator(sample_rate=fs, cfo_hz=10e3)
    y = np.concatenate([ch.apply(_tone(1000)), ch.noise(0), ch.apply(_tone(1000))])
    f = np.angle(np.sum(y[1:] * np.conj(y[:-1]))) / (2 * np.pi) * fs
    assert f == pytest.approx(10e3, rel=1e-4)
    d = np.angle(y[1:] * np.conj(y[:-1]))
    assert np.allclose(d, 2 * np.pi * 10e3 / fs, atol=1e-4)


def test_multipath_pdp_static_and_block_fading():
    p = exponential_pdp(1e-6, 1e6)
    assert p.sum() == pytest.approx(1) and p.size == 6 and np.all(np.diff(p) < 0)
    static = ChannelSimulator(rms_delay_s=1e-6, seed=3)
    t0 = static.taps.copy()
    static.apply(_tone(10))
    assert np.array_equal(static.taps, t0)
    block = ChannelSimulator(rms_delay_s=1e-6, fading="block", seed=3)
    powers, firsts = [], []
    for _ in range(2000):
        block.apply(_tone(1))
        powers.append(np.sum(np.abs(block.taps) ** 2))
        firsts.append(block.taps[0])
    assert np.mean(powers) == pytest.approx(1.0, rel=0.05)  # unit average power
    assert np.std(np.abs(firsts)) > 0.1  # Rayleigh: the first tap fades
    rice = ChannelSimulator(rms_delay_s=1e-6, fading="block", rician_k_db=20, seed=3)
    amps = []
    for _ in range(500):
        rice.apply(_tone(1))
        amps.append(abs(rice.taps[0]))
    assert np.std(amps) < 0.2 * np.mean(amps)  # strong LOS barely fades
    y = ChannelSimulator(taps=[1, 0, 0.5]).apply(np.array([1, 0, 0], np.complex64))
    assert np.allclose(y, [1, 0, 0.5, 0, 0])


def test_sample_rate_change_rescales_the_delay_profile():
    ch = ChannelSimulator(rms_delay_s=1e-6, sample_rate=1e6, seed=5)
    assert ch.taps.size == 6
    ch.set_sample_rate(4e6)
    assert ch.sample_rate == 4e6 and ch.taps.size == 21  # 5 rms delays at 4 MS/s
    with pytest.raises(ValueError):
        ChannelSimulator(cfo_hz=4e5).set_sample_rate(5e5)


def test_timing_offset_and_sfo_resample():
    x = _tone(4000, 0.01)
    y = ChannelSimulator(timing_offset=0.5).apply(x)
    ref = 0.3 * np.exp(2j * np.pi * 0.01 * (np.arange(4000) - 0.5))
    assert np.allclose(y[100:3900], ref[100:3900], atol=1e-3)
    z = ChannelSimulator(sfo_ppm=1000).apply(x)
    assert z.size == pytest.approx(4000 / 1.001, abs=2)
    lead = ChannelSimulator(leading_noise=77).apply(x)
    assert lead.size == 4077 and np.all(lead[:77] == 0)


def test_phase_noise_iq_imbalance_dc_clipping_quantisation():
    x = _tone(20000)
    pn = ChannelSimulator(phase_noise_hz=1000, sample_rate=1e6, seed=4).apply(x)
    d = np.angle(pn[1:] * np.conj(pn[:-1]))
    assert np.var(d) == pytest.approx(2 * np.pi * 1000 / 1e6, rel=0.1)  # Wiener increments
    iq = ChannelSimulator(iq_amplitude_db=1.0, iq_phase_deg=5).apply(_tone(4096, 1 / 64))
    spec = np.abs(np.fft.fft(iq)) ** 2
    image = spec[-64] / spec[64]
    assert 1e-4 < image < 1e-1  # an image appears at the mirrored frequency
    dc = ChannelSimulator(dc_offset=0.1 - 0.05j).apply(_tone(4096, 1 / 64))
    assert np.mean(dc) == pytest.approx(0.1 - 0.05j, abs=1e-4)
    big = (3 * _tone(100) / 0.3).astype(np.complex64)
    clip = ChannelSimulator(dac_clip=1.0).apply(big)
    assert np.abs(clip).max() <= 1.0 + 1e-6
    q = ChannelSimulator(adc_bits=4, adc_clip=1.0).apply(big)
    assert np.abs(q.real).max() <= 1.0 and np.unique(np.round(q.real / (2 / 16), 6) % 1).size == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(snr_db=float("nan")),
        dict(sample_rate=-1),
        dict(cfo_hz=1e9),
        dict(fading="fast"),
        dict(leading_noise=-1),
        dict(adc_bits=0),
        dict(taps=[]),
        dict(taps=[np.nan]),
        dict(iq_amplitude_db=20),
        dict(snr_db="loud"),
    ],
)
def test_invalid_parameters_raise(kwargs):
    with pytest.raises((ValueError, TypeError)):
        ChannelSimulator(**kwargs)


def test_invalid_input_raises():
    ch = ChannelSimulator()
    with pytest.raises(TypeError):
        ch.apply(np.ones(4))
    with pytest.raises(ValueError):
        ch.apply(np.array([np.nan + 0j]))
    with pytest.raises(ValueError):
        ch.noise(-3)
