"""A field test survives what the air brings (issue 11): a foreign analog frame longer than the
codec's max_tokens, sequence numbers that jump or restart, and a receiver whose device vanishes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from vlmcsc.flowgraphs.cli import main as cli_main
from vlmcsc.flowgraphs.jsonlog import read_jsonl
from vlmcsc.flowgraphs.seqtrack import SeqTracker


def _kinds(tracker: SeqTracker, seqs, expected=0):
    out = []
    for h in seqs:
        d = tracker(h, h)
        out += [r["type"] for r in d.records]
        out += [f"ok{n}" for n, _ in d.accept]
        if d.duplicate is not None:
            out.append(f"dup{d.duplicate}")
    out += [r["type"] for r in tracker.finish(expected)]
    return out


def test_one_foreign_sequence_number_is_logged_and_skipped():
    assert _kinds(SeqTracker(), [0, 1, 2, 5000, 3, 4]) == ["ok0", "ok1", "ok2", "foreign", "ok3", "ok4"]
    # more than 32,768 ahead (once fatal)
    assert _kinds(SeqTracker(), [0, 1, 40000, 2]) == ["ok0", "ok1", "foreign", "ok2"]


def test_a_confirmed_jump_gives_one_record_not_a_flood():
    t = SeqTracker()
    out = _kinds(t, [0, 1, 2, 5000, 5001])
    assert out == ["ok0", "ok1", "ok2", "seq_jump", "missed_range", "ok5000", "ok5001"]
    assert t.missed == 4997 and t.next_expected == 5002


def test_rx_joining_late_and_tx_restart():
    assert _kinds(SeqTracker(), [5000, 5001]) == ["seq_jump", "missed_range", "ok5000", "ok5001"]
    t = SeqTracker()
    seqs = list(range(2000)) + [0, 1, 2]
    out = _kinds(t, seqs)
    assert out[-4:] == ["seq_jump", "ok0", "ok1", "ok2"] and "missed" not in out
    assert _kinds(SeqTracker(), [0, 1, 2, 3, 0, 1])[-3:] == ["seq_jump", "ok0", "ok1"]


def test_wraparound_and_bounded_memory():
    t = SeqTracker()
    out = _kinds(t, [i % 65536 for i in range(70000)])
    assert out.count("missed") == 0 and t.next_expected == 70000
    assert len(t._seen) <= 8 * t.max_gap + 1


def test_finish_reports_a_long_tail_as_one_range():
    t = SeqTracker()
    assert _kinds(t, [0, 1], expected=10**9) == ["ok0", "ok1", "missed_range"]
    assert t.missed == 10**9 - 2


def test_field_receiver_skips_an_analog_frame_longer_than_max_tokens():
    from vlmcsc.flowgraphs.field import FieldReceiver
    from vlmcsc.flowgraphs.link import LinkTransmitter, random_codec
    from vlmcsc.flowgraphs.scoring import Scorer

    codec = random_codec()
    rx = FieldReceiver(codec, lambda seq: "a dog runs", Scorer(similarity=False))
    good = codec.encode_text(["a dog runs"], snr_db=10.0)[0]
    n_big = (codec.max_tokens + 5) * codec.symbols_per_token

    def frame(seq, syms):
        return SimpleNamespace(seq=seq, kind="analog", symbols=syms, noise_var=None, payload=None, snr_db=20.0,
                               cfo_hz=0.0, cfo_subcarriers=0.0, evm_db=None, start_sample=0)

    out = rx.records(frame(0, good)) + rx.records(frame(1, np.ones(n_big, np.complex64)))
    out += rx.records(frame(2, good))
    assert [r["type"] for r in out] == ["frame", "foreign", "frame"]
    assert "max_tokens" in out[1]["reason"]
    assert LinkTransmitter  # imported for the end-to-end test below


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """A SigMF capture from the real PHY: good frames, one oversized analog frame, seq jumps."""
    from vlmcsc.flowgraphs.channels import make_loopback
    from vlmcsc.flowgraphs.link import LinkTransmitter, drain_samples, load_codec
    from vlmcsc.phy import FrameTransmitter, OfdmConfig
    from vlmcsc.sdr.sigmf_io import SigMFRecorder
    from vlmcsc.flowgraphs.captions import TestSequence, load_captions

    cfg = OfdmConfig()
    codec = load_codec(None, quiet=True)
    ltx = LinkTransmitter(codec, cfg)
    ftx = FrameTransmitter(cfg)
    texts = TestSequence(load_captions("builtin"), 1)
    radio = make_loopback("awgn", 25.0, seed=3, cfg=cfg)
    radio.configure(sample_rate=1e6)
    base = tmp_path_factory.mktemp("cap") / "air"
    big = np.exp(2j * np.pi * np.random.default_rng(0).random((codec.max_tokens + 8) * codec.symbols_per_token))
    with SigMFRecorder(base, sample_rate=1e6) as rec:
        for seq in (0, 1, 2, "big", 3, 40000, 4, 5):
            if seq == "big":
                iq = ftx.analog_frame(big.astype(np.complex64), seq=3)
            else:
                iq, _ = ltx.frame(seq, texts.text(seq), 20.0)
            radio.transmit(iq)
            rec.write(drain_samples(radio))
        rec.write(radio.receive(4000, timeout=0.01))
    return base


def test_rx_survives_foreign_frames_end_to_end(capture, tmp_path, capsys):
    log = tmp_path / "rx.jsonl"
    rc = cli_main(["rx", "--radio", f"replay:{capture}.sigmf-meta", "--log", str(log), "--frames", "6",
                   "--idle-exit", "0.3", "--no-similarity", "--quiet"])
    records = list(read_jsonl(log))
    kinds = [r["type"] for r in records]
    assert rc == 0, capsys.readouterr().err
    frames = [r["seq"] for r in records if r["type"] == "frame"]
    assert frames == [0, 1, 2, 4, 5] or frames == [0, 1, 2, 3, 4, 5], kinds
    assert kinds.count("foreign") >= 2  # the oversized frame and the seq-40000 frame
    assert kinds.count("missed") <= 1 and "missed_range" not in kinds
    assert records[-1]["type"] == "end"
