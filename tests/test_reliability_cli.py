"""Bad input across the subcommands: each case must end with one line naming the culprit and a
non-zero exit code, never a traceback, and must leave every input file untouched (issue 11)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from vlmcsc.flowgraphs.cli import main as cli_main


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture()
def capture(tmp_path):
    """A small valid SigMF capture (the input a replay reads)."""
    from vlmcsc.sdr.sigmf_io import SigMFRecorder

    base = tmp_path / "cap"
    with SigMFRecorder(base, sample_rate=1e6) as rec:
        rec.write(np.full(4000, 0.01 + 0.01j, np.complex64))
    return base


def _bad_profile(tmp_path, text: str) -> str:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    return str(p)


# (name, argv template, text the one-line message must contain)
CASES = [
    ("rx-sigmf-is-replayed-input", ["rx", "--radio", "replay:{cap}.sigmf-meta", "--sigmf", "{cap}"], "also an input"),
    ("rx-sigmf-data-is-input", ["rx", "--radio", "replay:{cap}.sigmf-meta", "--sigmf", "{cap}.sigmf-data"],
     "also an input"),
    ("rx-sigmf-folder", ["rx", "--radio", "replay:{cap}.sigmf-meta", "--sigmf", "{tmp}/dir/"], "is a folder"),
    ("rx-log-is-sigmf-meta", ["rx", "--radio", "replay:{cap}.sigmf-meta", "--log", "{cap}.sigmf-meta"], "SigMF"),
    ("rx-log-is-folder", ["rx", "--radio", "replay:{cap}.sigmf-meta", "--log", "{tmp}/dir"], "folder"),
    ("rx-sigmf-exists", ["rx", "--radio", "loopback", "--sigmf", "{tmp}/old"], "--overwrite"),
    ("rx-idle-exit-negative", ["rx", "--idle-exit", "-1"], "--idle-exit"),
    ("rx-frames-negative", ["rx", "--frames", "-3"], "--frames"),
    ("rx-rate-huge", ["rx", "--rate", "1e30"], "--rate"),
    ("tx-gain-nan", ["tx", "--tx-gain", "nan"], "--tx-gain"),
    ("tx-num-taps-huge", ["tx", "--set", "channel.num_taps=1e8"], "channel.num_taps"),
    ("tx-profile-nested", ["tx", "--profile", "{nested}"], "phy.a"),
    ("tx-profile-not-table", ["tx", "--profile", "{nottable}"], "[radio]"),
    ("tx-profile-unknown-key", ["tx", "--set", "channel.bogus=1"], "channel.bogus"),
    ("tx-frames-huge-profile", ["tx", "--set", "test.frames=1e12"], "test.frames"),
    ("tx-checkpoint-truncated", ["tx", "--checkpoint", "{ckpt_trunc}"], "model.safetensors"),
    ("rx-zmq-bad-port", ["rx", "--radio", "zmq:tcp://127.0.0.1:99999"], "port"),
    ("air-rehearse-negative", ["air", "--rehearse", "-1"], "--rehearse"),
    ("air-bad-port", ["air", "--from", "tcp://127.0.0.1:99999"], "port"),
    ("air-bad-endpoint", ["air", "--to", "localhost:5556"], "--to"),
    ("sweep-grid-huge", ["sweep", "--snr=0:1e12:1", "--out", "{tmp}/s.jsonl"], "points"),
    ("sweep-trials-zero", ["sweep", "--trials", "0", "--out", "{tmp}/s.jsonl"], "--trials"),
    ("train-steps-negative", ["train", "--steps", "-1", "--out", "{tmp}/trained"], "--steps"),
    ("eval-snrs-huge", ["eval", "--snrs", "0:1e9:0.001"], "points"),
    ("replay-empty-data-with-checksum", ["rx", "--radio", "replay:{empty}.sigmf-meta"], "0 bytes"),
]


@pytest.fixture()
def env(tmp_path, capture):
    from vlmcsc.flowgraphs.link import random_codec
    from vlmcsc.sdr.sigmf_io import SigMFRecorder

    (tmp_path / "dir").mkdir()
    (tmp_path / "old.sigmf-data").write_bytes(b"\0" * 8)
    (tmp_path / "old.sigmf-meta").write_text("{}")
    ckpt = tmp_path / "ckpt"
    random_codec().save_pretrained(ckpt)
    w = ckpt / "model.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    empty = tmp_path / "empty"
    with SigMFRecorder(empty, sample_rate=1e6) as rec:
        rec.write(np.ones(10, np.complex64))
    (tmp_path / "empty.sigmf-data").write_bytes(b"")
    return {
        "cap": str(capture), "tmp": str(tmp_path), "ckpt_trunc": str(ckpt), "empty": str(empty),
        "nested": _bad_profile(tmp_path, "[phy.a]\nb = 1\n"),
        "nottable": str(_write(tmp_path / "nt.toml", "radio = 5\n")),
    }


def _write(p: Path, text: str) -> Path:
    p.write_text(text)
    return p


@pytest.mark.parametrize("name, argv, expect", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line_and_nonzero_code(name, argv, expect, env, capsys, tmp_path):
    inputs = [Path(env["cap"] + ".sigmf-meta"), Path(env["cap"] + ".sigmf-data")]
    before = [_digest(p) for p in inputs]
    rc = cli_main([a.format(**env) for a in argv] + (["--no-similarity"] if argv[0] == "rx" else []))
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc not in (0, None), (name, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert lines, f"{name}: no message on stderr"
    assert expect in lines[-1], (name, lines)
    assert [_digest(p) for p in inputs] == before, f"{name}: an input changed"
    assert not (tmp_path / "dir.sigmf-data").exists()  # --sigmf DIR/ must not write beside the folder
    assert not (tmp_path / "trained").exists()  # train --steps -1 saved nothing


def test_defaults_of_every_subcommand_pass_the_bounds():
    """The bounds table must never refuse a command's own defaults."""
    import sys

    from vlmcsc.flowgraphs.cli import SUBCOMMANDS, build_parser
    from vlmcsc.flowgraphs.validate import check_args

    saved = sys.argv
    try:
        for name in SUBCOMMANDS:
            sys.argv = ["vlmcsc", name]
            parser = build_parser()
            required = {"train": ["--out", "x"], "report": ["x.jsonl"], "caption": ["x.png"],
                        "generate": ["a caption"]}.get(name, [])
            try:
                args = parser.parse_args([name, *required])
            except SystemExit:
                continue  # a subcommand with other required arguments: nothing to check
            check_args(args)
    finally:
        sys.argv = saved


def test_sigterm_ends_rx_like_ctrl_c(tmp_path, capture):
    """SIGTERM (systemd, docker stop, timeout) leaves the end record and a checksummed capture."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from vlmcsc.flowgraphs.jsonlog import read_jsonl
    from vlmcsc.sdr.sigmf_io import ReplayRadio

    log = tmp_path / "rx.jsonl"
    rec = tmp_path / "rec"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-m", "vlmcsc.flowgraphs.cli", "rx", "--radio", "loopback",
                          "--no-similarity", "--quiet", "--frames", "0", "--log", str(log), "--sigmf", str(rec)],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (log.exists() and log.stat().st_size):
        time.sleep(0.2)
    time.sleep(1.0)
    p.send_signal(signal.SIGTERM)
    _out, err = p.communicate(timeout=60)
    records = list(read_jsonl(log))
    assert p.returncode == 130, err
    assert records[-1]["type"] == "end" and records[-1]["interrupted"] is True
    meta = json.loads(Path(str(rec) + ".sigmf-meta").read_text())
    assert "core:sha512" in meta["global"]  # written by a clean close only
    r = ReplayRadio(rec)  # verifies the checksum
    assert r.num_samples > 0
