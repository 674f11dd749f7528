"""``vlmcsc sweep --ray``: a sweep begun on a local Ray (2 workers) and resumed on a running Ray
cluster (started as the README says, on this machine) skips the finished point and gives the same rows
as the serial run."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vlmcsc.flowgraphs.jsonlog import read_jsonl

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'vlm-csc[ray]'")
for _mod in ("vlmcsc.phy.channel", "vlmcsc.sdr.loopback", "vlmcsc.model.codec"):
    pytest.importorskip(_mod, reason=f"{_mod} is not in this checkout")

# the README's two commands (docs/scale.md), run verbatim with a free port instead of 6379; the test
# appends a small grid, which argparse lets override the README's
README_HEAD = "ray start --head --port=6379"
README_SWEEP = ("vlmcsc sweep --ray 127.0.0.1:6379 --snr=-3:21:3 --frames 10000 --target-errors 100 "
                "--ci-halfwidth 0.02 --out sweep.jsonl --csv sweep.csv")
# docs/scale.md's local form
DOCS_LOCAL = ("vlmcsc sweep --ray --snr=-3:21:3 --channels awgn,rayleigh,tdl,tdl_static --frames 2000 "
              "--target-errors 100 --ci-halfwidth 0.02 --out sweep.jsonl")
SMALL = ["--channels", "awgn", "--systems", "semantic", "--trials", "1", "--frames", "12", "--chunk-frames", "4",
         "--target-errors", "2", "--ci-halfwidth", "0.05", "--no-progress"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _comparable(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("time", "seconds")}


@pytest.mark.slow
def test_sweep_on_an_existing_ray_cluster_matches_serial_and_resumes(tmp_path):
    from vlmcsc.flowgraphs.cli import main as cli_main

    bindir = Path(sys.executable).parent
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PATH": f"{bindir}:{os.environ['PATH']}"}
    # an "interrupted" sweep: only 5 dB, on a private local Ray with 2 workers
    proc = subprocess.run(DOCS_LOCAL.split() + SMALL + ["--snr", "5", "--workers", "2"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Ray at local, 2 workers" in proc.stdout and "1 cells run, 0 already" in proc.stdout
    port = _free_port()
    head_cmd = README_HEAD.replace("6379", str(port)).split() + [
        "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", "--block"]
    log = open(tmp_path / "head.log", "w")
    head = subprocess.Popen(head_cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while "block forever" not in (tmp_path / "head.log").read_text():
            assert head.poll() is None and time.time() < deadline, (tmp_path / "head.log").read_text()[-2000:]
            time.sleep(0.5)
        sweep = README_SWEEP.replace("6379", str(port)).split() + SMALL
        # resumed on the cluster with 5 and 15 dB: the finished point is skipped (workers: cluster CPUs)
        proc = subprocess.run(sweep + ["--snr", "5,15"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "1 cells run, 1 already" in proc.stdout and ", 2 workers" in proc.stdout
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops the processes it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        log.close()
        # the head leaves its address behind; a later plain ray.init() would try to attach to it
        current = Path("/tmp/ray/ray_current_cluster")
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()
    ray_rows = {r["snr_db"]: r for r in read_jsonl(tmp_path / "sweep.jsonl")}
    assert sorted(ray_rows) == [5.0, 15.0]
    serial = tmp_path / "serial.jsonl"
    argv = README_SWEEP.split()[1:] + SMALL
    argv[argv.index("--ray"): argv.index("--ray") + 2] = []
    assert cli_main(argv + ["--snr", "5,15", "--workers", "1", "--out", str(serial), "--csv", str(tmp_path / "s.csv")]) == 0
    serial_rows = {r["snr_db"]: r for r in read_jsonl(serial)}
    for snr, row in serial_rows.items():
        assert _comparable(row) == _comparable(ray_rows[snr])
        assert row["stop"] in ("errors", "ci", "max_frames") and row["frames"] % 4 == 0
    with open(tmp_path / "sweep.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))  # the cluster run added the 15 dB point only
    assert float(row["snr_db"]) == 15.0 and int(row["frames"]) == ray_rows[15.0]["frames"]
    assert row["stop"] == ray_rows[15.0]["stop"] and row["bleu1_ci_low"] != ""
