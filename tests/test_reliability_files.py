"""Nothing a user could lose: the SigMF recorder and the JSON-lines log under full disks, existing
files and long runs (issue 11). A full disk is made real with RLIMIT_FSIZE in a child process
(writes past the limit fail with EFBIG, as they fail with ENOSPC on a full file system)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from vlmcsc.sdr import sigmf_io
from vlmcsc.sdr.sigmf_io import ReplayRadio, SigMFError, SigMFRecorder


def _run_limited(code: str, limit_bytes: int, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a child whose files cannot grow past ``limit_bytes`` (a full disk)."""
    prelude = textwrap.dedent(f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, {limit_bytes}))
    """)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_recorder_on_a_full_disk_keeps_a_valid_recording(tmp_path):
    res = _run_limited("""
        import numpy as np
        from vlmcsc.sdr.sigmf_io import SigMFRecorder
        rec = SigMFRecorder("cap", sample_rate=1e6, meta_every_s=0)
        try:
            for i in range(100):
                rec.annotate(i * 1000, 500, label=f"seq {i}", seq=i)
                rec.write(np.full(1000, 0.5 + 0.25j, np.complex64))
        except OSError as exc:
            print("STOPPED", exc)
        rec.close()
    """, 300_000, tmp_path)
    assert "STOPPED" in res.stdout and "kept" in res.stdout, res.stderr
    data = tmp_path / "cap.sigmf-data"
    assert data.stat().st_size % 8 == 0 and 0 < data.stat().st_size <= 300_000
    r = ReplayRadio(tmp_path / "cap")  # valid JSON, valid SigMF, checksum of what was kept
    assert r.num_samples == data.stat().st_size // 8
    assert len(r.annotations) >= 10
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]  # no stale temp file


def test_log_on_a_full_disk_keeps_whole_lines(tmp_path):
    res = _run_limited("""
        from vlmcsc.flowgraphs.jsonlog import JsonLinesWriter
        log = JsonLinesWriter("rx.jsonl", sync_every=0)
        try:
            for i in range(10000):
                log.write({"type": "frame", "seq": i, "received": "a dog runs on the grass " * 3})
        except OSError as exc:
            print("STOPPED", log.lines_kept)
        log.close()
    """, 20_011, tmp_path)
    assert "STOPPED" in res.stdout, res.stderr
    kept = int(res.stdout.split()[-1])
    raw = (tmp_path / "rx.jsonl").read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode().splitlines()
    assert len(lines) == kept > 0
    assert all(json.loads(line)["seq"] == i for i, line in enumerate(lines))


def test_recorder_refuses_to_overwrite_and_never_truncates_a_file_being_read(tmp_path):
    base = tmp_path / "cap"
    x = (np.arange(5000) * (1 + 1j) / 5000).astype(np.complex64)
    with SigMFRecorder(base, sample_rate=1e6) as rec:
        rec.write(x)
    with pytest.raises(FileExistsError, match="overwrite"):
        SigMFRecorder(base, sample_rate=1e6)
    with pytest.raises(IsADirectoryError, match="folder"):
        SigMFRecorder(str(tmp_path) + os.sep, sample_rate=1e6)
    assert not Path(str(tmp_path) + ".sigmf-data").exists()
    replay = ReplayRadio(base)
    with SigMFRecorder(base, sample_rate=1e6, overwrite=True) as rec:  # explicit overwrite
        y = replay.receive(5000, timeout=0)  # the replay still reads its own (old) samples
        rec.write(y[:10])
    np.testing.assert_array_equal(y, x)


def test_empty_data_file_with_a_checksum_is_refused(tmp_path):
    with SigMFRecorder(tmp_path / "cap", sample_rate=1e6) as rec:
        rec.write(np.ones(100, np.complex64))
    (tmp_path / "cap.sigmf-data").write_bytes(b"")
    with pytest.raises(SigMFError, match="0 bytes"):
        ReplayRadio(tmp_path / "cap")


def test_recording_cost_per_frame_does_not_grow(tmp_path, monkeypatch):
    """Bytes written to the metadata per annotation are the same at 200 and at 5,000 annotations
    (the old recorder rewrote and re-sorted everything every second)."""
    written = []
    real = sigmf_io._pwrite_all

    def counting(fd, data, offset):
        written.append(len(data))
        real(fd, data, offset)

    monkeypatch.setattr(sigmf_io, "_pwrite_all", counting)
    rec = SigMFRecorder(tmp_path / "cap", sample_rate=1e6, meta_every_s=0)
    per = {}
    for n in range(5000):
        before = sum(written)
        rec.annotate(n * 100, 50, label=f"seq {n} ok", seq=n, snr_db=12.5, status="ok")
        rec.write(np.zeros(100, np.complex64))
        if n in (199, 4999):
            per[n] = sum(written) - before
    rec.close()
    assert per[4999] <= 1.1 * per[199]
    r = ReplayRadio(tmp_path / "cap")
    assert len(r.annotations) == 5000
    assert [a["core:sample_start"] for a in r.annotations[:3]] == [0, 100, 200]


def test_out_of_order_annotations_are_sorted_at_close(tmp_path):
    with SigMFRecorder(tmp_path / "cap", sample_rate=1e6, meta_every_s=0) as rec:
        rec.write(np.zeros(1000, np.complex64))
        for start in (500, 100, 900):
            rec.annotate(start, 10)
    meta = json.loads((tmp_path / "cap.sigmf-meta").read_text())
    assert [a["core:sample_start"] for a in meta["annotations"]] == [100, 500, 900]
    ReplayRadio(tmp_path / "cap")


def test_recording_cut_by_sigkill_is_valid(tmp_path):
    code = """
        import os, signal, numpy as np
        from vlmcsc.sdr.sigmf_io import SigMFRecorder
        rec = SigMFRecorder("cap", sample_rate=1e6, meta_every_s=0)
        for i in range(50):
            rec.annotate(i * 100, 100, seq=i)
            rec.write(np.ones(100, np.complex64))
        os.kill(os.getpid(), signal.SIGKILL)
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, timeout=60)
    meta = json.loads((tmp_path / "cap.sigmf-meta").read_text())
    assert len(meta["annotations"]) >= 49 and "core:sha512" not in meta["global"]
    assert ReplayRadio(tmp_path / "cap").num_samples == 5000


def test_rx_on_a_full_disk_stops_with_one_line_and_valid_files(tmp_path):
    with SigMFRecorder(tmp_path / "in", sample_rate=1e6) as rec:
        rec.write(np.full(60_000, 0.001, np.complex64))
    res = _run_limited("""
        import sys
        from vlmcsc.flowgraphs.cli import main
        sys.exit(main(["rx", "--radio", "replay:in.sigmf-meta", "--sigmf", "out", "--log", "rx.jsonl",
                       "--idle-exit", "0.5", "--frames", "0", "--no-similarity", "--quiet"]))
    """, 200_000, tmp_path)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("warning")]
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "disk full" in lines[-1]
    ReplayRadio(tmp_path / "out")  # the recording that hit the limit is valid
    from vlmcsc.flowgraphs.jsonlog import read_jsonl

    records = list(read_jsonl(tmp_path / "rx.jsonl", strict=True))
    assert records[0]["type"] == "start" and records[-1]["type"] == "end" and "disk full" in records[-1]["error"]
