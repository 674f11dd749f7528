"""hardware.md, run as written: section 8 step 2 (the rehearsal on the emulated Pluto, three
processes) decodes every frame, and never loses one silently; section 7's file-sink capture replays."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HARDWARE = (REPO / "hardware.md").read_text()

pytest.importorskip("adi", reason="pyadi-iio missing: pip install 'pylibiio==0.25' 'pyadi-iio==0.0.21'")
pytest.importorskip("vlmcsc.model.codec")


def _block_after(marker: str) -> list[str]:
    """The commands of the first ```bash block after ``marker`` in hardware.md."""
    tail = HARDWARE[HARDWARE.index(marker):]
    block = re.search(r"```bash\n(.*?)```", tail, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def _env():
    bindir = str(Path(sys.executable).parent)  # the venv's `vlmcsc`, as a user with it activated
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1"}


def test_section_8_step_2_verbatim_decodes_every_frame(tmp_path):
    emu_cmd, rx_cmd, tx_cmd = _block_after("2. **Rehearse on one host.**")
    assert emu_cmd == "vlmcsc pluto-emu" and rx_cmd.startswith("vlmcsc rx ") and tx_cmd.startswith("vlmcsc tx ")
    with socket.socket() as s:  # the emulator's fixed port (30431) must be free for a verbatim run
        if s.connect_ex(("127.0.0.1", 30431)) == 0:
            pytest.skip("something already listens on 127.0.0.1:30431 (another pluto-emu)")
    env = _env()
    emu = subprocess.Popen(emu_cmd.split(), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    rx = None
    try:
        assert "listening" in emu.stdout.readline()
        rx = subprocess.Popen(rx_cmd.split(), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        log = tmp_path / "rx.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (log.exists() and log.stat().st_size):
            time.sleep(0.1)  # as a user waits for the rx start line before starting the tx
        tx = subprocess.run(tx_cmd.split(), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert tx.returncode == 0, tx.stderr
        try:
            out, err = rx.communicate(timeout=90)
        except subprocess.TimeoutExpired:  # frames lost at the end: rx still waits for them (a user's Ctrl-C)
            rx.send_signal(signal.SIGINT)
            out, err = rx.communicate(timeout=60)
        assert rx.returncode in (0, 130), err
    finally:
        for p in (rx, emu):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(10)
    recs = [json.loads(line) for line in (tmp_path / "rx.jsonl").read_text().splitlines()]
    end = recs[-1]
    assert end["type"] == "end" and end["summary"]["frames_sent"] == 50
    assert err.splitlines()[0].startswith("rx: pluto:ip:127.0.0.1  freq 2450 MHz  rate 1 MS/s  RX gain 40 dB")
    assert "clipping" not in err and end["clipped_samples"] == 0  # the documented gain does not clip
    frames = [r for r in recs if r["type"] == "frame"]
    assert all(19.0 < r["snr_db"] < 26.0 for r in frames)  # "about 22 dB"
    lost = 50 - end["frames_ok"]
    if rx.returncode == 130:
        assert end["interrupted"] and end["samples_missing"] > 0  # only when samples went missing
    if end["samples_missing"] or end["sample_drops"]:
        # a machine too busy to keep real time (the emulator renders 1 MS/s in real time): losses
        # happen, but never silently - they were warned live and counted
        assert "never arrived" in err or "the radio lost" in err
        assert end["missed"] == lost - (end["frames"] - end["frames_ok"])
    else:
        assert lost == 0, f"{lost} frames lost with no samples missing"
    assert len(out.strip().splitlines()) == 50  # one readable line per frame (or MISSED)


def test_section_7_file_sink_capture_replays(tmp_path):
    tx_cmd, rx_cmd = _block_after("- `sigmf:capture` makes such a recording")
    env = _env()
    tx = subprocess.run(tx_cmd.split(), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert tx.returncode == 0, tx.stderr
    rx = subprocess.run(rx_cmd.split(), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert rx.returncode == 0, rx.stderr
    assert "rx done: 5 decoded, 0 failed, 0 missed of 5" in rx.stderr
