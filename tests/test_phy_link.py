"""Transmitter + streaming receiver end to end: decoding, chunk boundaries, CFO range, multipath,
estimates (SNR, noise variance, EVM), header CRC drops and bad input."""

import numpy as np
import pytest

from vlmcsc.phy import FrameTransmitter, OfdmConfig, StreamingReceiver
from vlmcsc.phy.channel import ChannelSimulator


def _symbols(n, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def _run(rx, iq, chunk=4096):
    frames = []
    for i in range(0, iq.size, chunk):
        frames += rx.process(iq[i : i + chunk])
    return frames


def _burst(ch, iq, lead=300, trail=300):
    return np.concatenate([ch.noise(lead), ch.apply(iq), ch.noise(trail)])


def test_config_defaults_and_other_fft_sizes():
    cfg = OfdmConfig()
    assert (cfg.fft_size, cfg.cp_len, cfg.num_used, cfg.num_pilots) == (64, 16, 52, 4)
    assert cfg.num_data_subcarriers == 48
    assert 0 not in cfg.used_subcarriers and cfg.used_subcarriers.max() == 26
    assert set(cfg.pilot_subcarriers) == {-20, -7, 7, 20}
    for n in (128, 256):
        c = OfdmConfig(fft_size=n)
        assert c.num_used == 52 * n // 64 and c.num_pilots == n // 16 and c.cp_len == n // 4
        assert np.array_equal(np.sort(-c.pilot_subcarriers), np.sort(c.pilot_subcarriers))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(fft_size=100),
        dict(fft_size=8),
        dict(cp_len=0),
        dict(cp_len=100),
        dict(num_used=63),
        dict(num_used=64),
        dict(num_pilots=1),
        dict(header_modulation="16qam"),
        dict(tx_scale=0),
        dict(tx_scale=float("nan")),
        dict(num_short=0),
        dict(max_int_cfo=-1),
    ],
)
def test_config_rejects_absurd_values(kwargs):
    with pytest.raises(ValueError):
        OfdmConfig(**kwargs)


@pytest.mark.parametrize("fft_size", [64, 128, 256])
def test_analog_and_digital_frames_decode(fft_size):
    cfg = OfdmConfig(fft_size=fft_size)
    tx, rx = FrameTransmitter(cfg), StreamingReceiver(cfg, sample_rate=2e6)
    ch = ChannelSimulator(snr_db=25, config=cfg, seed=1)
    s = _symbols(333)
    iq = np.concatenate(
        [_burst(ch, tx.analog_frame(s, seq=11))]
        + [
            _burst(ch, tx.digital_frame(bytes(range(77)), seq=20 + i, modulation=m))
            for i, m in enumerate(["bpsk", "qpsk", "16qam", "64qam"])
        ]
    )
    frames = _run(rx, iq)
    assert [f.seq for f in frames] == [11, 20, 21, 22, 23]
    a = frames[0]
    assert a.kind == "analog" and a.symbols.dtype == np.complex64 and a.noise_var.dtype == np.float32
    assert a.symbols.shape == (333,) and a.noise_var.shape == (333,)
    assert np.mean(np.abs(a.symbols - s / np.sqrt(np.mean(np.abs(s) ** 2))) ** 2) < 0.02
    for f, m in zip(frames[1:], ["bpsk", "qpsk", "16qam", "64qam"]):
        assert f.kind == "digital" and f.modulation == m and f.payload == bytes(range(77))
        assert -30 < f.evm_db < -18
    assert rx.stats["frames_ok"] == 5 and rx.stats["header_crc_fail"] == 0
    assert 22 < np.mean([f.snr_db for f in frames]) < 28


def test_frames_across_every_chunk_boundary_decode_identically():
    cfg = OfdmConfig()
    tx = FrameTransmitter(cfg)
    ch = ChannelSimulator(snr_db=15, cfo_hz=20e3, seed=2)
    iq = _burst(ch, tx.analog_frame(_symbols(96), seq=3), lead=150, trail=100)
    ref = StreamingReceiver(cfg).process(iq)
    assert len(ref) == 1
    lost = 0
    for cut in range(1, iq.size, 3):  # a boundary at (almost) every offset of the frame
        rx = StreamingReceiver(cfg)
        got = rx.process(iq[:cut]) + rx.process(iq[cut:])
        if len(got) != 1:
            lost += 1
            continue
        assert got[0].start_sample == ref[0].start_sample
        np.testing.assert_allclose(got[0].symbols, ref[0].symbols, rtol=0, atol=1e-4)
    assert lost == 0
    # and in tiny pieces
    rx = StreamingReceiver(cfg)
    got = _run(rx, iq, chunk=7)
    assert len(got) == 1 and got[0].seq == 3
    np.testing.assert_allclose(got[0].symbols, ref[0].symbols, atol=1e-4)


@pytest.mark.parametrize("cfo_sc", [-7.6, -4.3, -1.5, 0.49, 2.2, 4.5, 7.9])
def test_cfo_fractional_and_integer(cfo_sc):
    cfg = OfdmConfig()
    fs = 1e6
    ch = ChannelSimulator(snr_db=20, sample_rate=fs, cfo_hz=cfo_sc * fs / 64, seed=3)
    rx = StreamingReceiver(cfg, sample_rate=fs)
    frames = _run(rx, _burst(ch, FrameTransmitter(cfg).digital_frame(b"cfo" * 20, seq=1)))
    assert len(frames) == 1 and frames[0].payload == b"cfo" * 20
    assert abs(frames[0].cfo_subcarriers - cfo_sc) < 0.02
    assert abs(frames[0].cfo_hz - cfo_sc * fs / 64) < 0.02 * fs / 64


@pytest.mark.parametrize("equalizer", ["zf", "mmse"])
def test_multipath_block_fading_with_impairments(equalizer):
    cfg = OfdmConfig()
    ch = ChannelSimulator(
        snr_db=22, cfo_hz=35e3, sfo_ppm=30, rms_delay_s=1e-6, fading="block", rician_k_db=3,
        timing_offset=0.4, phase_noise_hz=5, iq_amplitude_db=0.1, iq_phase_deg=0.5,
        dc_offset=0.003 + 0.002j, adc_bits=12, adc_clip=1.0, seed=4,
    )
    tx, rx = FrameTransmitter(cfg), StreamingReceiver(cfg, equalizer=equalizer)
    payloads = [bytes([i]) * 120 for i in range(6)]
    iq = np.concatenate([_burst(ch, tx.digital_frame(p, seq=i, modulation="16qam")) for i, p in enumerate(payloads)])
    frames = _run(rx, iq, chunk=1000)
    ok = [f.payload for f in frames if f.payload is not None]
    assert len(ok) >= 5 and all(p in payloads for p in ok)
    assert all(abs(f.cfo_hz - 35e3) < 300 for f in frames)


@pytest.mark.parametrize("ppm", [-120.0, 60.0])
def test_sfo_is_tracked_over_long_frames(ppm):
    cfg = OfdmConfig()
    s = _symbols(4800, seed=16)
    s = s / np.sqrt(np.mean(np.abs(s) ** 2))
    ch = ChannelSimulator(snr_db=25, sfo_ppm=ppm, seed=17)
    f = _run(StreamingReceiver(cfg, equalizer="zf"), _burst(ch, FrameTransmitter(cfg).analog_frame(s)))[0]
    assert abs(f.sfo_ppm - ppm) < 10
    assert np.mean(np.abs(f.symbols - s) ** 2) < 10 ** (-22 / 10)  # ~ the 25 dB noise, no drift loss
    ch = ChannelSimulator(snr_db=25, sfo_ppm=ppm, seed=17)
    off = _run(StreamingReceiver(cfg, equalizer="zf", max_sfo_ppm=0), _burst(ch, FrameTransmitter(cfg).analog_frame(s)))[0]
    assert np.mean(np.abs(off.symbols - s) ** 2) > 10 ** (-15 / 10)  # untracked drift ruins it


def test_noise_variance_and_snr_estimates_match_truth():
    cfg = OfdmConfig()
    tx = FrameTransmitter(cfg)
    s = _symbols(2000, seed=5)
    s = s / np.sqrt(np.mean(np.abs(s) ** 2))
    for snr in (5.0, 15.0):
        ch = ChannelSimulator(snr_db=snr, seed=6)
        rx = StreamingReceiver(cfg, equalizer="zf")
        frames = _run(rx, np.concatenate([_burst(ch, tx.analog_frame(s, seq=i)) for i in range(4)]))
        assert len(frames) == 4
        est = np.mean([f.snr_db for f in frames])
        assert abs(est - snr) < 1.0
        err = np.mean([np.mean(np.abs(f.symbols - s) ** 2) for f in frames])
        pred = np.mean([np.mean(f.noise_var) for f in frames])
        assert 0.75 < err / pred < 1.3  # the reported noise variance is calibrated
        assert abs(10 * np.log10(err) + snr) < 1.5  # ~ 10^(-snr/10): the Es/N0 convention holds


def test_mmse_shrinks_and_reports_mse():
    cfg = OfdmConfig()
    s = _symbols(960, seed=7)
    s = s / np.sqrt(np.mean(np.abs(s) ** 2))
    ch = ChannelSimulator(snr_db=3, seed=8)
    f = _run(StreamingReceiver(cfg, equalizer="mmse"), _burst(ch, FrameTransmitter(cfg).analog_frame(s)))[0]
    err = np.mean(np.abs(f.symbols - s) ** 2)
    assert np.mean(np.abs(f.symbols) ** 2) < 1.0
    assert 0.75 < err / np.mean(f.noise_var) < 1.3


def test_detection_at_0db_and_no_frames_from_noise():
    cfg = OfdmConfig()
    tx = FrameTransmitter(cfg)
    ch = ChannelSimulator(snr_db=0, cfo_hz=12e3, seed=9)
    rx = StreamingReceiver(cfg)
    n = 20
    iq = np.concatenate([_burst(ch, tx.analog_frame(_symbols(200, i), seq=i), lead=257 + 13 * i) for i in range(n)])
    frames = _run(rx, iq)
    assert len(frames) >= n - 1
    assert rx.stats["detections"] >= n
    noise_rx = StreamingReceiver(cfg)
    assert _run(noise_rx, ChannelSimulator(snr_db=0, seed=10).noise(400_000), chunk=65536) == []
    assert noise_rx.stats["frames_ok"] == 0


def test_header_crc_failures_are_counted_and_dropped():
    cfg = OfdmConfig()
    iq = FrameTransmitter(cfg).analog_frame(_symbols(100), seq=1)
    h0 = cfg.preamble_len
    bad = iq.copy()
    rng = np.random.default_rng(11)
    bad[h0 : h0 + cfg.header_len] = 0.3 * (rng.standard_normal(cfg.header_len) + 1j * rng.standard_normal(cfg.header_len))
    ch = ChannelSimulator(snr_db=30, seed=12)
    rx = StreamingReceiver(cfg, keep_sync_log=True)
    frames = _run(rx, np.concatenate([_burst(ch, bad), _burst(ch, iq)]))
    assert [f.seq for f in frames] == [1]
    assert rx.stats["header_crc_fail"] == 1
    # the sync log keeps both preambles, with their estimates, decoded or not
    assert [e["header_ok"] for e in rx.sync_log] == [False, True]
    assert rx.sync_log[0]["start_sample"] == 300 and rx.sync_log[1]["start_sample"] == frames[0].start_sample
    assert all(25 < e["snr_db"] < 35 for e in rx.sync_log)


def test_digital_payload_crc_failure_gives_none():
    cfg = OfdmConfig()
    iq = FrameTransmitter(cfg).digital_frame(bytes(200), seq=2, modulation="64qam")
    ch = ChannelSimulator(snr_db=8, seed=13)  # header (BPSK) survives, 64-QAM payload cannot
    rx = StreamingReceiver(cfg)
    frames = _run(rx, _burst(ch, iq))
    assert len(frames) == 1 and frames[0].payload is None
    assert rx.stats["payload_crc_fail"] == 1


def test_bad_input_is_rejected_or_counted_and_garbage_never_crashes():
    cfg = OfdmConfig()
    rx = StreamingReceiver(cfg)
    with pytest.raises(TypeError, match="complex"):
        rx.process(np.zeros(10, np.float32))
    with pytest.raises(TypeError):
        rx.process(np.array(["a"], dtype=object))
    with pytest.raises(ValueError, match="1-D"):
        rx.process(np.zeros((2, 5), np.complex64))
    assert rx.process(np.zeros(0, np.complex64)) == []
    x = np.ones(100, np.complex64)
    x[3] = np.nan
    x[5] = np.inf
    rx.process(x)
    assert rx.stats["bad_samples"] == 2
    rng = np.random.default_rng(14)
    for kind in range(6):
        n = int(rng.integers(1, 30000))
        if kind == 0:
            g = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        elif kind == 1:
            g = np.exp(2j * np.pi * 0.01 * np.arange(n))  # a tone: periodic, triggers detection
        elif kind == 2:
            g = np.zeros(n)
        elif kind == 3:
            g = 1e30 * (rng.standard_normal(n) + 1j)
        elif kind == 4:
            g = np.full(n, 0.5 + 0.5j)  # DC
        else:
            g = np.tile(FrameTransmitter(cfg).analog_frame(_symbols(50))[:400], n // 400 + 1)[:n]
        _run(rx, g.astype(np.complex64), chunk=int(rng.integers(1, 5000)))
    # still works afterwards
    ch = ChannelSimulator(snr_db=25, seed=15)
    frames = _run(rx, _burst(ch, FrameTransmitter(cfg).analog_frame(_symbols(50), seq=9)))
    assert [f.seq for f in frames] == [9]
    with pytest.raises(ValueError):
        StreamingReceiver(cfg, equalizer="ml")
    with pytest.raises(ValueError):
        StreamingReceiver(cfg, sample_rate=-1)
    with pytest.raises(ValueError):
        StreamingReceiver(cfg, detection_threshold=1.5)


def test_truncated_frame_waits_then_is_flushed():
    cfg = OfdmConfig()
    iq = FrameTransmitter(cfg).analog_frame(_symbols(300), seq=4)
    rx = StreamingReceiver(cfg)
    part = iq[: cfg.preamble_len + cfg.header_len + 200]
    assert rx.process(np.concatenate([np.zeros(100, np.complex64), part])) == []
    assert rx.stats["header_ok"] == 1  # header decoded, payload pending
    rx.flush()
    assert rx.process(np.zeros(2000, np.complex64)) == []
    assert rx.stats["header_ok"] == 1 and rx.stats["frames_ok"] == 0


def test_transmitter_validates_and_scales():
    cfg = OfdmConfig()
    tx = FrameTransmitter(cfg)
    iq = tx.analog_frame(3 * _symbols(480))
    assert iq.dtype == np.complex64 and np.abs(iq).max() <= 1.0
    assert iq.size == tx.frame_len("analog", 480) == cfg.frame_len(10)
    # unit-power REs: payload sample power ~ tx_scale^2 * used / N
    payload = iq[cfg.preamble_len + cfg.header_len :]
    assert abs(np.mean(np.abs(payload) ** 2) / (cfg.tx_scale**2 * 52 / 64) - 1) < 0.1
    for bad in (np.zeros(0), np.zeros(10), np.full(3, np.nan), np.zeros(70000)):
        with pytest.raises(ValueError):
            tx.analog_frame(bad)
    with pytest.raises(TypeError):
        tx.analog_frame(np.array(["x"]))
    with pytest.raises(TypeError):
        tx.digital_frame("text")
    with pytest.raises(ValueError):
        tx.digital_frame(b"")
    with pytest.raises(ValueError):
        tx.digital_frame(b"x", modulation="8psk")
    with pytest.raises(ValueError):
        tx.analog_frame(_symbols(4), seq=70000)


def test_qpsk_header_option_and_interleaver_spread():
    assert OfdmConfig(header_modulation="qpsk", header_repeat=1).header_symbols == 2
    cfg = OfdmConfig(header_modulation="qpsk")
    assert cfg.header_symbols == 5  # 3 copies of 140 coded bits on 48 x 2 bits per symbol
    ch = ChannelSimulator(snr_db=20, config=cfg, seed=18)
    frames = _run(StreamingReceiver(cfg), _burst(ch, FrameTransmitter(cfg).analog_frame(_symbols(500), seq=77)))
    assert [f.seq for f in frames] == [77]
    # the analog interleaver spreads neighbouring symbols over subcarriers and OFDM symbols
    from vlmcsc.phy.preamble import analog_interleaver

    nd = OfdmConfig().num_data_subcarriers
    full = analog_interleaver(20, nd)
    assert np.array_equal(np.sort(full), np.arange(20 * nd))  # a permutation
    perm = full[:960]
    sub, sym = perm % nd, perm // nd
    assert np.all(sub[1:] != sub[:-1]) and np.all(sym[1:] != sym[:-1])
    # a faded subcarrier hits scattered symbols, not a burst
    for k in range(nd):
        assert np.min(np.diff(np.flatnonzero(sub == k))) >= 10


def test_false_alarm_knob_and_per_subcarrier_noise():
    cfg = OfdmConfig()
    strict = StreamingReceiver(cfg, false_alarm_prob=1e-9)
    loose = StreamingReceiver(cfg, false_alarm_prob=0.5, detection_threshold=0.006)
    assert strict.verify_threshold > StreamingReceiver(cfg).verify_threshold > loose.verify_threshold
    noise = ChannelSimulator(snr_db=0, seed=19).noise(300_000)
    _run(loose, noise, chunk=65536)
    _run(strict, noise, chunk=65536)
    passed = lambda rx: rx.stats["header_ok"] + rx.stats["header_crc_fail"]  # noqa: E731
    assert passed(loose) > 0 and passed(strict) == 0
    assert loose.stats["frames_ok"] == 0  # the header CRC still stops them
    # an interferer on subcarrier +10 shows up in the per-subcarrier noise
    ch = ChannelSimulator(snr_db=25, seed=20)
    iq = _burst(ch, FrameTransmitter(cfg).analog_frame(_symbols(480)))
    tone = 0.02 * np.exp(2j * np.pi * 10.3 / 64 * np.arange(iq.size))
    f = StreamingReceiver(cfg).process((iq + tone).astype(np.complex64))[0]
    k = list(cfg.used_subcarriers).index(10)
    far = list(cfg.used_subcarriers).index(-20)
    assert f.noise_per_subcarrier[k] > 5 * f.noise_per_subcarrier[far]


def _tdl_frames_found(retry_shifts, snr_db=0.0, nframes=100, seed=1, **cfg_kw):
    """Frames decoded through a seeded tdl-like channel (block Rayleigh multipath 1.5 us rms, CFO
    2.5 subcarriers, SFO 20 ppm, phase noise), one burst at a time behind a noise gap."""
    cfg = OfdmConfig(**cfg_kw)
    tx, rx = FrameTransmitter(cfg), StreamingReceiver(cfg, 1e6)
    if retry_shifts is not None:
        rx._header_retry_shifts = retry_shifts
    ch = ChannelSimulator(snr_db=snr_db, sample_rate=1e6, rms_delay_s=1.5e-6, fading="block", cfo_hz=2.5 * 1e6 / 64,
                          sfo_ppm=20.0, phase_noise_hz=50.0, seed=seed)
    rng = np.random.default_rng(seed)
    found = 0
    for seq in range(nframes):
        s = (rng.standard_normal(256) + 1j * rng.standard_normal(256)) / np.sqrt(2)
        burst = np.concatenate([ch.noise(300), ch.apply(tx.analog_frame(s, seq=seq)), ch.noise(300)])
        found += sum(f.seq == seq for f in rx.process(burst.astype(np.complex64)))
    return found, rx.stats


def test_tdl_header_retry_finds_more_frames_at_0db():
    # seeded, the frame format before the low-SNR redesign (2-symbol preamble, header sent
    # once): without the header timing retries 48 of these 100 frames decode, with them 52
    old = dict(num_short=2, header_repeat=1)
    base, _ = _tdl_frames_found((), nframes=100, seed=1, **old)
    found, stats = _tdl_frames_found(None, nframes=100, seed=1, **old)
    assert found >= base + 2, (found, base)
    assert found >= 50, (found, base, stats)
    # the default format (6-symbol preamble, header x3)
    found_new, _ = _tdl_frames_found(None, nframes=100, seed=1)
    assert found_new >= found + 20, (found_new, found)
    assert stats["header_ok"] == found and stats["header_crc_fail"] + stats["sync_rejects"] < stats["detections"]
