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


# -- the compiled receiver stages (StreamingReceiver(backend="numba")) against the numpy path ----
def _symbols(n, seed):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def _stream(cfg, ch, kind, n=6):
    tx = FrameTransmitter(cfg)
    parts = []
    for i in range(n):
        if kind == "analog":
            f = tx.analog_frame(_symbols(300 + 97 * i, i), seq=i)
        else:
            f = tx.digital_frame(bytes(range(i, i + 50)), seq=i, modulation=kind)
        parts += [ch.noise(400), ch.apply(f)]
    parts.append(ch.noise(3000))
    return np.concatenate(parts)


def _channel(name, cfg):
    if name in ("tdl", "tdl_low"):
        from vlmcsc.flowgraphs.channels import channel_kwargs

        return ChannelSimulator(**channel_kwargs("tdl", 6.0 if name == "tdl" else -3.0, seed=9, cfg=cfg))
    kw = {
        "awgn": dict(snr_db=8),
        "awgn_low": dict(snr_db=0),
        "cfo_sfo": dict(snr_db=15, cfo_hz=37e3, sfo_ppm=60, timing_offset=0.4, phase_noise_hz=20),
        "dc_iq": dict(snr_db=20, dc_offset=0.003, iq_amplitude_db=1.0, iq_phase_deg=3.0),
        "multipath": dict(snr_db=12, rms_delay_s=1e-6, fading="block", cfo_hz=5e3),
    }[name]
    return ChannelSimulator(seed=4, **kw)


def _decode(cfg, iq, backend, **kw):
    rx = StreamingReceiver(cfg, backend=backend, **kw)
    frames = []
    for i in range(0, iq.size, 5000):
        frames += rx.process(iq[i : i + 5000])
    return frames, rx.stats


@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed")
@pytest.mark.parametrize("channel, kind, fft_size, equalizer", [
    ("awgn", "analog", 64, "mmse"),
    ("awgn_low", "analog", 64, "zf"),
    ("tdl", "analog", 64, "mmse"),
    ("tdl_low", "analog", 64, "mmse"),
    ("cfo_sfo", "analog", 64, "zf"),
    ("dc_iq", "analog", 64, "mmse"),
    ("multipath", "analog", 128, "mmse"),
    ("tdl", "qpsk", 64, "mmse"),
    ("multipath", "16qam", 64, "mmse"),
    ("awgn", "qpsk", 16, "mmse"),
])
def test_compiled_stages_give_the_numpy_paths_frames(channel, kind, fft_size, equalizer):
    cfg = OfdmConfig(fft_size=fft_size)
    iq = _stream(cfg, _channel(channel, cfg), kind)
    fast, fstats = _decode(cfg, iq, "numba", equalizer=equalizer)
    ref, rstats = _decode(cfg, iq, "numpy", equalizer=equalizer)
    assert fstats == rstats
    assert [(f.seq, f.kind, f.start_sample, f.payload, f.mode) for f in fast] == \
        [(f.seq, f.kind, f.start_sample, f.payload, f.mode) for f in ref]
    assert len(ref) >= (1 if channel == "tdl_low" else 3)
    for a, b in zip(fast, ref):
        assert np.allclose(a.symbols, b.symbols, rtol=1e-4, atol=1e-5)
        assert np.allclose(a.noise_var, b.noise_var, rtol=1e-4, atol=1e-9)
        assert np.allclose(a.noise_per_subcarrier, b.noise_per_subcarrier, rtol=1e-4, atol=1e-12)
        assert np.allclose(a.channel, b.channel, rtol=1e-4, atol=1e-6)
        assert a.snr_db == pytest.approx(b.snr_db, abs=1e-6)
        assert a.cfo_subcarriers == pytest.approx(b.cfo_subcarriers, abs=1e-9)
        assert a.sfo_ppm == pytest.approx(b.sfo_ppm, abs=1e-4)
        assert (a.evm_db is None) == (b.evm_db is None)
        if a.evm_db is not None:
            assert a.evm_db == pytest.approx(b.evm_db, abs=1e-6)


def test_backend_numba_without_numba_warns_and_uses_numpy(monkeypatch):
    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    assert StreamingReceiver(OfdmConfig()).backend == "numpy"  # the default: no second warning
    with pytest.warns(RuntimeWarning, match="numba"):
        rx = StreamingReceiver(OfdmConfig(), backend="numba")
    assert rx.backend == "numpy"
    with pytest.raises(ValueError, match="backend"):
        StreamingReceiver(OfdmConfig(), backend="cuda")


def test_a_python_without_numba_decodes_with_one_warning():
    # numba made unimportable in a fresh interpreter: the PHY imports, warns once, decodes
    import subprocess
    import sys

    code = (
        "import sys, warnings\n"
        "sys.modules['numba'] = None\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import numpy as np\n"
        "    from vlmcsc.phy import FrameTransmitter, OfdmConfig, StreamingReceiver, _kernels\n"
        "    rx = StreamingReceiver(OfdmConfig())\n"
        "    iq = np.concatenate([np.zeros(500, np.complex64), FrameTransmitter(OfdmConfig()).digital_frame(b'hi', seq=5),"
        " np.zeros(3000, np.complex64)])\n"
        "    frames = rx.process(iq)\n"
        "print(_kernels.AVAILABLE, rx.backend, [f.payload for f in frames],"
        " sum('numba' in str(x.message) for x in w))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "numpy", "[b'hi']", "1"]


@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed")
def test_compiled_detection_is_bit_identical_to_numpy():
    # the detector decides which frames are found: the compiled one must not differ at all
    from vlmcsc.phy.sync import detect_peak, detect_peak_compiled

    cfg = OfdmConfig()
    ch = ChannelSimulator(snr_db=3, cfo_hz=20e3, dc_offset=0.01, seed=5)
    iq = _stream(cfg, ch, "analog", n=4)
    iq = iq + (0.02 * np.exp(2j * np.pi * 0.07 * np.arange(iq.size))).astype(np.complex64)
    period, window = cfg.short_period, cfg.short_len - cfg.short_period
    rng = np.random.default_rng(0)
    crossings = 0
    for _ in range(300):
        a = int(rng.integers(0, iq.size - 100))
        block = int(rng.choice([1, 256, 1024, 4096]))
        x = iq[a : a + block + 2 * window + period]
        for thr in (0.03, 0.2):
            ref = detect_peak(x, period, window, block, thr)
            assert detect_peak_compiled(x, period, window, block, thr) == ref
            crossings += ref[1] >= 0
    assert crossings > 50


@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed")
@pytest.mark.parametrize("fft_size, snr_db", [(64, 10), (64, -2), (128, 3), (16, 10)])
def test_compiled_synchronisation_gives_the_numpy_result(fft_size, snr_db):
    from vlmcsc.phy.preamble import training
    from vlmcsc.phy.sync import synchronize, synchronize_compiled

    cfg = OfdmConfig(fft_size=fft_size)
    rx = StreamingReceiver(cfg)
    train = training(cfg)
    tx = FrameTransmitter(cfg)
    rng = np.random.default_rng(fft_size + snr_db)
    agree = verified = 0
    for k in range(30):
        ch = ChannelSimulator(snr_db=snr_db, cfo_hz=float(rng.uniform(-4, 4)) * 1e6 / fft_size, rms_delay_s=0.3e-6,
                              timing_offset=float(rng.uniform(0, 1)), seed=k)
        iq = np.concatenate([ch.noise(400), ch.apply(tx.digital_frame(b"x" * 20, seq=k)), ch.noise(400)])
        jitter = fft_size // 2
        d = 400 + int(rng.integers(-jitter, jitter)) if k % 5 else int(rng.integers(0, 300))  # some on noise only
        args = (iq, d, cfg, train, rx.verify_threshold, rx.timing_backoff)
        for mp in (None, rx.multipath_threshold):
            a = synchronize(*args, multipath_threshold=mp, offset=7)
            b = synchronize_compiled(*args, multipath_threshold=mp, offset=7)
            assert (a is None) == (b is None)
            if a is not None:
                verified += 1
                assert (a.lts_start, a.frame_start) == (b.lts_start, b.frame_start)
                assert a.cfo == pytest.approx(b.cfo, abs=1e-9) and a.quality == pytest.approx(b.quality, rel=1e-9)
            agree += 1
    assert verified >= 20


@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed")
@pytest.mark.parametrize("cfg_kw", [{}, {"fft_size": 128}, {"fft_size": 64, "num_used": 8, "num_pilots": 2}])
def test_compiled_estimate_equalise_and_integrity_match_numpy(cfg_kw):
    # stage by stage on synthetic spectra: 4-tap channels with a fractional delay, -3..30 dB,
    # 3..100 symbols (header-like and long), ZF/MMSE, SFO tracking on and off
    from vlmcsc.phy import estimation as E
    from vlmcsc.phy import integrity as I
    from vlmcsc.phy.preamble import training

    cfg = OfdmConfig(**cfg_kw)
    tr, lay, n = training(cfg), E.layout(cfg), cfg.fft_size
    rng = np.random.default_rng(n + cfg.num_used)
    for snr in (-3, 3, 10, 30):
        taps = rng.standard_normal(4) + 1j * rng.standard_normal(4)
        h = np.fft.fft(np.r_[taps, np.zeros(n - 4)]) * np.exp(-2j * np.pi * np.arange(n) * 0.37 / n)
        sig = 10 ** (-snr / 20)
        lts = [h * tr.lts_freq + sig * (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2) for _ in "12"]
        for smooth in (True, False):
            a, b = E.estimate_channel(*lts, cfg, tr, smooth), E.estimate_channel_compiled(*lts, cfg, tr, smooth)
            assert (a.num_taps, a.est_err) == (b.num_taps, b.est_err)
            assert np.allclose(a.h, b.h, rtol=1e-4, atol=1e-5) and np.allclose(a.noise, b.noise)
            assert a.snr == pytest.approx(b.snr, rel=1e-5)
        for s in (3, 9, 20, 100):
            axes = E.SymbolAxes(np.arange(s) + 5, np.arange(s) * 80.0 + 200, cfg, tr)
            y = rng.standard_normal((s, n)) + 1j * rng.standard_normal((s, n))
            drift = np.exp(1e-4j * axes.time[:, None] * lay.kp)
            y[:, lay.bins_p] = h[lay.bins_p] * axes.pilots * drift + 0.1 * y[:, lay.bins_p]
            for mode in ("zf", "mmse"):
                for sfo in (0.0, 200.0):
                    e1 = E.equalize(y, None, None, a, cfg, tr, mode, sfo, axes=axes)
                    e2 = E.equalize_compiled(y, a, cfg, mode, sfo, axes)
                    for f in ("data", "data_unbiased", "noise_var_row", "noise_var_unbiased_row"):
                        assert np.allclose(getattr(e1, f), getattr(e2, f), rtol=1e-9, atol=1e-12), f
                    assert e1.sfo_slope == pytest.approx(e2.sfo_slope, rel=1e-9, abs=1e-15)
            clean = np.tile(h * tr.lts_freq, (s, 1))
            clean[:, lay.bins_p] = h[lay.bins_p] * axes.pilots
            for grid in (y, clean):
                args = (grid, a.h[lay.ip], a.noise[lay.ip], lay.bins_p, axes.pilots)
                assert I.payload_intact(*args) == I.payload_intact_compiled(*args)


def test_receiver_plan_is_one_frozen_read_only_table_set_per_config():
    import dataclasses

    from vlmcsc.phy.plan import receiver_plan

    cfg = OfdmConfig()
    plan = receiver_plan(cfg)
    assert receiver_plan(OfdmConfig()) is plan  # one per config
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.period = 1
    arrays = [v for v in vars(plan).values() if isinstance(v, np.ndarray)] + list(plan.codeword_delays)
    axes = plan.payload_axes(20)
    arrays += [axes.pilots, axes.tk, axes.time, plan.hdr_axes.pilots, *plan.analog_selection(20, 960)]
    assert len(arrays) >= 12 and not any(a.flags.writeable for a in arrays)
    assert plan.payload_axes(20) is axes
    assert plan.hdr_perm.size == cfg.header_coded_bits * cfg.header_repeat
    rx = StreamingReceiver(cfg)
    assert not [k for k, v in vars(rx).items() if isinstance(v, dict) and k != "stats"]  # no per-receiver caches


@pytest.mark.parametrize("backend", [None, "numpy"])
def test_receiver_with_the_default_config_decodes(backend):
    # StreamingReceiver() without a config (the plan refactor once read the None argument)
    iq = np.concatenate([np.zeros(300, np.complex64), FrameTransmitter().digital_frame(b"default", seq=3),
                         np.zeros(3000, np.complex64)])
    frames = StreamingReceiver(backend=backend).process(iq)
    assert [(f.seq, f.payload) for f in frames] == [(3, b"default")]
