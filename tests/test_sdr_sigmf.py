"""SigMF record -> replay -> decode, corrupt files, interrupted recordings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

sigmf = pytest.importorskip("sigmf", reason="sigmf missing: pip install 'sigmf>=1.2'")

from vlmcsc.phy import FrameTransmitter, OfdmConfig, StreamingReceiver  # noqa: E402
from vlmcsc.phy.channel import ChannelSimulator  # noqa: E402
from vlmcsc.sdr import RadioError, open_radio  # noqa: E402
from vlmcsc.sdr.sigmf_io import RecordingRadio, ReplayRadio, SigMFError, SigMFRecorder  # noqa: E402


def _stream(num_frames: int = 12, seed: int = 0):
    """A received stream: frames through a channel with noise between them; (iq, payloads)."""
    cfg = OfdmConfig()
    tx = FrameTransmitter(cfg)
    ch = ChannelSimulator(snr_db=25, sample_rate=1e6, cfo_hz=2000, rms_delay_s=5e-7, seed=seed)
    rng = np.random.default_rng(seed)
    payloads = [rng.integers(0, 256, 40, dtype=np.uint8).tobytes() for _ in range(num_frames)]
    parts = [ch.noise(500)]
    for i, p in enumerate(payloads):
        parts += [ch.apply(tx.digital_frame(p, seq=i)), ch.noise(int(rng.integers(200, 900)))]
    return np.concatenate(parts).astype(np.complex64), payloads


def _decode(chunks):
    rx = StreamingReceiver(OfdmConfig(), sample_rate=1e6)
    frames = []
    for c in chunks:
        frames += rx.process(c)
    frames += rx.process(np.zeros(400, np.complex64))
    return frames


def test_record_replay_decode_is_bit_exact(tmp_path):
    iq, payloads = _stream()
    rng = np.random.default_rng(1)
    cuts = np.sort(rng.integers(0, iq.size, 40))
    chunks = np.split(iq, cuts)
    # live: decode while recording, one annotation per frame
    rx = StreamingReceiver(OfdmConfig(), sample_rate=1e6)
    live = []
    with SigMFRecorder(tmp_path / "cap", sample_rate=1e6, frequency=2.45e9,
                       gains={"rx_gain_db": 40.0}, hardware="test", meta_every_s=0.2) as rec:
        for c in chunks:
            rec.write(c)
            for f in rx.process(c):
                live.append(f)
                rec.annotate_frame(f, cfg=OfdmConfig())
    assert [f.payload for f in live] == payloads
    # replay with other chunk sizes
    with open_radio(f"replay:{tmp_path / 'cap.sigmf-meta'}") as radio:
        assert isinstance(radio, ReplayRadio)
        assert radio.sample_rate == 1e6 and radio.frequency == 2.45e9 and radio.rx_gain_db == 40.0
        replayed = []
        while not radio.exhausted:
            replayed.append(radio.receive(3001, timeout=0))
        assert np.array_equal(np.concatenate(replayed), iq)  # samples bit-exact
        again = _decode(replayed)
    assert [f.seq for f in again][: len(live)] == [f.seq for f in live]
    for a, b in zip(live, again):
        assert a.payload == b.payload
        assert np.array_equal(a.symbols, b.symbols)  # decoder output bit-exact too
        assert a.snr_db == b.snr_db and a.cfo_hz == b.cfo_hz
    # the annotations describe every decoded frame
    ann = radio.annotations
    assert [a["vlmcsc:seq"] for a in ann] == list(range(len(payloads)))
    assert all(a["vlmcsc:status"] == "ok" for a in ann)
    assert [a["core:sample_start"] for a in ann] == [f.start_sample for f in live]
    assert ann[0]["vlmcsc:cfo_hz"] == pytest.approx(2000, abs=200)
    frame_len = FrameTransmitter(OfdmConfig()).frame_len("digital", 40)
    assert all(a["core:sample_count"] == frame_len for a in ann)
    meta = json.loads((tmp_path / "cap.sigmf-meta").read_text())
    assert meta["global"]["core:sha512"] and meta["global"]["core:hw"] == "test"
    assert meta["captures"][0]["core:frequency"] == 2.45e9


def test_recording_radio_records_both_ends(tmp_path):
    from vlmcsc.sdr.loopback import LoopbackRadio

    base = LoopbackRadio(ChannelSimulator(snr_db=30, seed=2))
    tx = FrameTransmitter(OfdmConfig())
    bursts = [tx.digital_frame(bytes([i]) * 20, seq=i) for i in range(3)]
    with RecordingRadio(base, rx_path=tmp_path / "rx", tx_path=tmp_path / "tx") as r:
        r.configure(sample_rate=1e6, frequency=2.45e9, tx_gain_db=-20, rx_gain_db=30)
        for b in bursts:
            r.transmit(b)
        got = [r.receive(4000, timeout=0.2) for _ in range(4)]
    frames = _decode(got)
    assert [f.payload for f in frames] == [bytes([i]) * 20 for i in range(3)]
    txr = ReplayRadio(tmp_path / "tx.sigmf-meta")
    assert np.array_equal(txr.receive(10**6, timeout=0), np.concatenate(bursts))
    assert [a["core:sample_count"] for a in txr.annotations] == [b.size for b in bursts]
    rxr = ReplayRadio(tmp_path / "rx")
    assert rxr.num_samples == sum(g.size for g in got)


def _record(path, n=5000):
    x = (np.arange(n) * (1 + 1j)).astype(np.complex64) / n
    with SigMFRecorder(path, sample_rate=1e6, frequency=915e6) as rec:
        rec.write(x)
    return x


def test_truncated_data_file_gives_a_clear_error(tmp_path):
    _record(tmp_path / "a")
    data = (tmp_path / "a.sigmf-data").read_bytes()
    (tmp_path / "a.sigmf-data").write_bytes(data[:-3])  # cut inside a sample
    with pytest.raises(SigMFError, match="truncated"):
        ReplayRadio(tmp_path / "a.sigmf-meta")
    (tmp_path / "a.sigmf-data").write_bytes(data[:-800])  # cut at a sample: the hash catches it
    with pytest.raises(SigMFError, match="hash"):
        ReplayRadio(tmp_path / "a.sigmf-meta")
    # a recording cut by a crash has no hash: its complete samples play
    meta = json.loads((tmp_path / "a.sigmf-meta").read_text())
    del meta["global"]["core:sha512"]
    (tmp_path / "a.sigmf-meta").write_text(json.dumps(meta))
    (tmp_path / "a.sigmf-data").write_bytes(data[:-3])
    r = ReplayRadio(tmp_path / "a", allow_truncated=True)
    assert r.num_samples == 4999


@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda m: m.write_text(m.read_text()[:60]), "not valid JSON"),
        (lambda m: m.write_text("[1, 2]"), "no 'global'"),
        (lambda m: m.write_text(m.read_text().replace("cf32_le", "cu32_le")), "datatype"),
        (lambda m: m.unlink(), "does not exist"),
        (lambda m: m.write_text(m.read_text().replace('"core:sample_rate": 1000000.0', '"core:sample_rate": "fast"')), "invalid or corrupt"),
    ],
)
def test_corrupt_metadata_gives_a_clear_error(tmp_path, damage, match):
    _record(tmp_path / "a")
    damage(tmp_path / "a.sigmf-meta")
    with pytest.raises(SigMFError, match=match):
        ReplayRadio(tmp_path / "a.sigmf-meta")


def test_replay_radio_behaves_like_a_receive_only_radio(tmp_path):
    x = _record(tmp_path / "a", n=1000)
    r = ReplayRadio(tmp_path / "a", loop=True)
    assert np.array_equal(r.receive(1500, timeout=0), np.concatenate([x, x[:500]]))
    with pytest.raises(RadioError, match="receive-only"):
        r.transmit(x)
    with pytest.raises(RadioError, match="cannot change the sample rate"):
        r.configure(sample_rate=2e6)
    r.configure(sample_rate=1e6, rx_gain_db=10)  # the recorded rate is accepted
    r2 = ReplayRadio(tmp_path / "a")
    assert r2.receive(800, timeout=0).size == 800
    assert r2.receive(800, timeout=0).size == 200
    assert r2.receive(800, timeout=0).size == 0 and r2.stats.timeouts == 2
    r2.close()
    with pytest.raises(RadioError, match="closed"):
        r2.receive(1)


def test_ci16_recordings_are_scaled(tmp_path):
    raw = np.array([16384, -16384, 32767, 0], dtype="<i2")
    raw.tofile(tmp_path / "b.sigmf-data")
    f = sigmf.SigMFFile(data_file=str(tmp_path / "b.sigmf-data"),
                        global_info={sigmf.DATATYPE_KEY: "ci16_le", sigmf.SAMPLE_RATE_KEY: 1e6})
    f.tofile(str(tmp_path / "b"), overwrite=True)
    y = ReplayRadio(tmp_path / "b").receive(10, timeout=0)
    assert np.allclose(y, [0.5 - 0.5j, 32767 / 32768])


_RECORDER_SCRIPT = textwrap.dedent(
    """
    import sys, time, numpy as np
    from vlmcsc.sdr.sigmf_io import SigMFRecorder
    rec = SigMFRecorder(sys.argv[1], sample_rate=1e6, frequency=2.4e9, meta_every_s=0.05)
    try:
        i = 0
        while True:
            rec.write(np.full(1000, i, np.complex64))
            rec.annotate(1000 * i, 1000, seq=i, status="ok")
            i += 1
            if i == 50:
                print("ready", flush=True)
            time.sleep(0.002)
    except KeyboardInterrupt:
        pass
    finally:
        rec.close()
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_recording_stays_valid(tmp_path, sig):
    base = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-c", _RECORDER_SCRIPT, str(base)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, sig)
        proc.wait(timeout=20)
    finally:
        proc.kill()
    r = ReplayRadio(base.with_suffix(".sigmf-meta"), allow_truncated=sig == signal.SIGKILL)
    assert r.num_samples >= 20_000
    y = r.receive(r.num_samples, timeout=0)
    n_full = r.num_samples // 1000
    assert np.array_equal(y[: n_full * 1000].real, np.repeat(np.arange(n_full), 1000))
    meta = json.loads(base.with_suffix(".sigmf-meta").read_text())
    assert ("core:sha512" in meta["global"]) == (sig == signal.SIGINT)  # clean close adds it
    assert len(meta["annotations"]) >= 1
