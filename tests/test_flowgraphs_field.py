"""Two-process field-test rehearsal over ZeroMQ, and an RX interrupted with Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from vlmcsc.flowgraphs.air import free_port, rehearse
from vlmcsc.flowgraphs.jsonlog import read_jsonl

# the link needs the PHY, the loopback radio and the codec (other folders of the project)
for _mod in ("vlmcsc.phy.channel", "vlmcsc.sdr.loopback", "vlmcsc.model.codec"):
    pytest.importorskip(_mod, reason=f"{_mod} is not in this checkout")


def test_two_process_rehearsal_decodes_frames(tmp_path):
    capture = tmp_path / "capture"
    result = rehearse(frames=6, snr_db=15.0, channel="tdl", seed=3, workdir=tmp_path, timeout=120,
                      extra_rx=["--sigmf", str(capture)])
    assert result["tx_returncode"] == 0 and result["rx_returncode"] == 0
    assert result["air_messages"] == 6
    assert result["frames_ok"] >= 5, result
    records = list(read_jsonl(result["log"]))
    assert records[0]["type"] == "start" and records[-1]["type"] == "end"
    frames = [r for r in records if r["type"] == "frame"]
    seqs = sorted(r["seq"] for r in frames) + [r["seq"] for r in records if r["type"] == "missed"]
    assert sorted(seqs) == list(range(6))  # every frame accounted for, decoded or missed
    for r in frames:
        assert 5.0 < r["snr_db"] < 25.0 and abs(r["nam_snr_db"] - r["snr_db"]) < 1e-3
        assert r["sent"]  # looked up from the sequence number
    meta = json.loads((tmp_path / "capture.sigmf-meta").read_text())
    assert meta["global"]["core:datatype"] == "cf32_le"
    assert len(meta["annotations"]) == len(frames)
    assert (tmp_path / "capture.sigmf-data").stat().st_size >= 8 * 6 * 500  # 6 bursts of IQ
    tx = [r for r in read_jsonl(tmp_path / "tx.jsonl") if r["type"] == "sent"]
    by_seq = {r["seq"]: r["sent"] for r in tx}
    for r in frames:  # the RX rebuilt what the TX sent from the seed alone
        assert by_seq[r["seq"]].split()[1] in r["sent"]


def test_rx_interrupted_leaves_complete_log(tmp_path):
    log = tmp_path / "rx.jsonl"
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vlmcsc.flowgraphs.cli", "rx", "--radio", f"zmq:tcp://127.0.0.1:{port}",
         "--log", str(log), "--frames", "3", "--no-similarity", "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (log.exists() and log.stat().st_size):
            time.sleep(0.1)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 130
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # all complete
    assert [r["type"] for r in records] == ["start", "missed", "missed", "missed", "end"]
    assert records[-1]["interrupted"] is True
