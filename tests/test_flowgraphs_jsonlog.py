"""JSON-lines logs: numpy values, torn lines, and a process interrupted with SIGINT."""

import json
import signal
import subprocess
import sys
import time

import numpy as np

from vlmcsc.flowgraphs.jsonlog import JsonLinesWriter, read_jsonl


def test_records_are_plain_json(tmp_path):
    path = tmp_path / "log.jsonl"
    with JsonLinesWriter(path) as log:
        log.write({"type": "frame", "snr": np.float32(3.5), "seq": np.int64(4), "v": np.arange(2), "x": float("nan")})
    (record,) = list(read_jsonl(path))
    assert record["snr"] == 3.5 and record["seq"] == 4 and record["v"] == [0, 1] and record["x"] is None
    assert record["time"] > 0


def test_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"type": "frame", "seq": 0}\n{"type": "frame", "se')
    assert [r["seq"] for r in read_jsonl(path)] == [0]


WRITER = """
import sys
from vlmcsc.flowgraphs.jsonlog import JsonLinesWriter
log = JsonLinesWriter(sys.argv[1])
i = 0
try:
    while True:
        log.write({"type": "frame", "seq": i, "text": "x" * 3000})
        i += 1
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_log_survives_sigint(tmp_path):
    path = tmp_path / "log.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 300_000):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = path.read_text().splitlines()
    assert len(lines) >= 50
    seqs = [json.loads(line)["seq"] for line in lines]  # every line complete JSON
    assert seqs == list(range(len(seqs)))
    assert path.read_text().endswith("\n")
