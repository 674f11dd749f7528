"""``vlmcsc rx`` faults of the walkthrough, each as a test: models loaded before streaming and decoding
off the receive path, end of a replayed file ends the run, SigMF annotation length, the clipping
warning, live warnings for sample drops and lost frames, readable lines vs JSON, the status line."""

import io
import json
import subprocess
import sys
import threading

import numpy as np
import pytest

from vlmcsc.flowgraphs.rxlive import ClipCounter, LiveStatus, checks_clipping, frame_span
from vlmcsc.sdr.radio import Radio

for _mod in ("vlmcsc.phy", "vlmcsc.model.codec"):
    pytest.importorskip(_mod)


def _frames_iq(n=4, seed=2, gap=500):
    """IQ of frames 0..n-1 of the test sequence (seed) with idle gaps, as one stream, and frame lengths."""
    from vlmcsc.flowgraphs.captions import BUILTIN_CAPTIONS, TestSequence
    from vlmcsc.flowgraphs.link import LinkTransmitter, load_codec
    from vlmcsc.phy import OfdmConfig

    cfg = OfdmConfig()
    codec = load_codec(None, quiet=True)
    ltx = LinkTransmitter(codec, cfg)
    seqs = TestSequence(list(BUILTIN_CAPTIONS), seed)
    parts, lengths = [], []
    rng = np.random.default_rng(seed)
    for s in range(n):
        iq, _ = ltx.frame(s, seqs.text(s), 15.0)
        lengths.append(iq.size)
        parts += [np.zeros(gap, np.complex64), 0.5 * iq]
    parts.append(np.zeros(4 * gap, np.complex64))
    x = np.concatenate(parts)
    x = x + (10 ** (-40 / 20) / np.sqrt(2)) * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))
    return x.astype(np.complex64), lengths


class StreamRadio(Radio):
    """A receive-only radio that plays an array, then is exhausted (like a replay), and can report drops."""

    def __init__(self, x, drop_after=None, name="fake:stream"):
        super().__init__()
        self.x, self.pos, self.name = x, 0, name
        self.drop_after = drop_after
        self.receive_threads = set()
        self.stats.ring_dropped = 0

    def transmit(self, iq):
        raise AssertionError("receive-only")

    @property
    def exhausted(self):
        return self.pos >= self.x.size

    def receive(self, num_samples, timeout=1.0):
        self.receive_threads.add(threading.get_ident())
        out = self.x[self.pos:self.pos + num_samples]
        self.pos += out.size
        if self.drop_after is not None and self.pos >= self.drop_after and not self.stats.ring_dropped:
            self.stats.ring_dropped = 12345
        return out


def _run_rx(monkeypatch, radio, argv, capsys):
    import vlmcsc.flowgraphs.radios as radios
    from vlmcsc.flowgraphs import cli

    opened = {}

    def fake_open(profile, for_tx, cfg=None, send_timeout=None):
        opened["sim_loaded"] = list(events)
        radio.configure(sample_rate=1e6)
        return radio

    events = []

    class FakeSimilarity:  # stands for MiniLM: records when it is built and on which thread it scores
        def __init__(self):
            events.append("similarity_loaded")

        def __call__(self, refs, hyps):
            if refs != ["a"]:  # not the preload's warm-up
                events.append(("score", threading.get_ident()))
            return [1.0 for _ in refs]

    import vlmcsc.model.metrics as metrics

    monkeypatch.setattr(metrics, "SentenceSimilarity", FakeSimilarity)
    monkeypatch.setattr(radios, "open_radio", fake_open)
    rc = cli.main(["rx", "--radio", "replay:unused", "--seed", "2", *argv])
    out, err = capsys.readouterr()
    return rc, out, err, opened, events


def test_models_load_before_streaming_and_scoring_runs_off_the_receive_thread(monkeypatch, capsys, tmp_path):
    x, _ = _frames_iq(3)
    radio = StreamRadio(x)
    rc, out, err, opened, events = _run_rx(monkeypatch, radio, ["--frames", "3", "--log", str(tmp_path / "rx.jsonl")],
                                                 capsys)
    assert rc == 0, err
    assert opened["sim_loaded"][:1] == ["similarity_loaded"]  # loaded before the radio was opened
    score_threads = {e[1] for e in events if isinstance(e, tuple)}
    assert score_threads and not (score_threads & radio.receive_threads)  # never on the receive thread
    recs = [json.loads(line) for line in (tmp_path / "rx.jsonl").read_text().splitlines()]
    assert [r["seq"] for r in recs if r["type"] == "frame"] == [0, 1, 2]
    assert recs[-1]["summary"]["frames_sent"] == 3 and recs[-1]["summary"]["bleu1_sent"] > 0.9


def test_end_of_replay_ends_the_run_without_idle_exit(monkeypatch, capsys):
    x, _ = _frames_iq(2)
    rc, out, err, *_ = _run_rx(monkeypatch, StreamRadio(x), ["--frames", "0", "--no-similarity"], capsys)
    assert rc == 0 and "rx done: 2 decoded" in err


def test_readable_lines_by_default_json_only_when_asked(monkeypatch, capsys):
    x, _ = _frames_iq(2)
    rc, out, err, *_ = _run_rx(monkeypatch, StreamRadio(x), ["--frames", "2", "--no-similarity"], capsys)
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("rx     0  snr") and " cfo " in lines[0] and "[sent: " in lines[0]
    assert err.splitlines()[0].startswith("rx: fake:stream  freq -  rate 1 MS/s")  # the start line
    assert "rx status: level" in err  # status printed as a plain line when piped
    rc, out, err, *_ = _run_rx(monkeypatch, StreamRadio(x), ["--frames", "2", "--no-similarity", "--json"], capsys)
    recs = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["type"] for r in recs] == ["start", "frame", "frame", "end"]


def test_sample_drops_and_lost_frames_are_warned_live(monkeypatch, capsys):
    x, lengths = _frames_iq(4)
    # frame 1 is wiped out (as a lost buffer would), and the radio reports dropped samples
    start1 = 500 + lengths[0] + 500
    x[start1:start1 + lengths[1]] = 0
    rc, out, err, *_ = _run_rx(monkeypatch, StreamRadio(x, drop_after=start1), ["--frames", "4", "--no-similarity"],
                                  capsys)
    warn_drop = err.index("the radio lost 12345 samples")
    warn_gap = err.index("frame 1 lost (sequence gap)")
    assert warn_drop < err.index("rx done") and warn_gap < err.index("rx done")  # live, not only at the end
    assert "rx     1  MISSED" in out


def test_frame_span_counts_the_header_once():
    from vlmcsc.phy import FrameTransmitter, OfdmConfig
    from vlmcsc.flowgraphs.link import make_receiver

    cfg = OfdmConfig()
    rng = np.random.default_rng(0)
    syms = ((rng.standard_normal(500) + 1j * rng.standard_normal(500)) / np.sqrt(2)).astype(np.complex64)
    iq = FrameTransmitter(cfg).analog_frame(syms, seq=3)
    stream = np.concatenate([np.zeros(300, np.complex64), iq, np.zeros(2000, np.complex64)])
    frames = list(make_receiver(cfg).process(stream))
    assert len(frames) == 1
    assert frame_span(cfg, frames[0]) == iq.size  # the old cfg.frame_len(num_ofdm_symbols) was 240 longer


def test_clipping_warning_only_for_radios_with_an_adc():
    from vlmcsc.sdr.zmq_radio import ZmqRadio

    peaks = np.ones(64, np.complex64)  # the transmitter's own full-scale peaks in a ZeroMQ stream
    with ZmqRadio("tcp://127.0.0.1:1") as z:
        zc = ClipCounter(checks_clipping(z))
        assert not zc(peaks) and zc.samples == 0
    adc = ClipCounter(checks_clipping(StreamRadio(peaks, name="pluto:ip:192.168.2.1")))
    assert not adc(np.array([1.0, 0.1, 0.1], np.complex64))  # one isolated peak: no warning
    assert adc(peaks) and not adc(peaks)  # warned once


def test_live_status_in_place_on_a_terminal_plain_when_piped():
    err = io.StringIO()
    tty = LiveStatus(out=None, err=err, tty=True)
    tty.level_dbfs = -20.0
    tty.tick(now=100.0)
    tty.tick(now=100.5)
    tty.warn("something")
    tty.close()
    text = err.getvalue()
    assert text.count("\r\x1b[2K") >= 3 and "level -20.0 dBFS" in text and "\x1b[2Kvlmcsc rx: warning: something\n" in text
    pipe_err = io.StringIO()
    pipe = LiveStatus(out=None, err=pipe_err, tty=False)
    pipe.tick(now=100.0)
    pipe.tick(now=101.0)  # not due yet when piped (every 5 s)
    pipe.tick(now=106.0)
    assert "\r" not in pipe_err.getvalue() and pipe_err.getvalue().count("rx status:") == 2


def test_rx_help_lists_every_radio_spec():
    out = subprocess.run([sys.executable, "-m", "vlmcsc.flowgraphs.cli", "rx", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for kind in ("loopback", "soapy:", "pluto:", "replay:", "sigmf:", "zmq:", "zmq+pub:", "kernel_buffers"):
        assert kind in out


def test_clock_watch_reports_samples_that_never_arrived():
    from vlmcsc.flowgraphs.rxlive import ClockWatch

    w = ClockWatch(1e6, enabled=True, slack_s=0.1)
    t, delivered = 0.0, 0
    for _ in range(100):  # 1 s at full rate: nothing lost
        t += 0.01
        delivered += 10_000
        assert w(delivered, t) == 0
    lost = 0
    for _ in range(100):  # the next second only half the samples arrive
        t += 0.01
        delivered += 5_000
        lost += w(delivered, t)
    assert w.lost == lost and 375_000 <= lost <= 400_000  # 0.5 M missing less the 0.1 s slack
    assert ClockWatch(1e6, enabled=False)(0, 10.0) == 0
