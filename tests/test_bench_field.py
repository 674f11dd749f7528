"""benchmarks/field.py --quick: the keys hardware.md quotes exist, with the deterministic values."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_field_benchmark_quick(tmp_path):
    out = tmp_path / "field.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "field.py"), "--quick", "--json", str(out)],
                   check=True, timeout=300, capture_output=True)
    _check(out)


def test_field_benchmark_as_hardware_md_runs_it():
    cmd = ".venv/bin/python benchmarks/field.py --json build/field.json"
    assert cmd in (REPO / "hardware.md").read_text()
    subprocess.run([sys.executable, *cmd.split()[1:]], cwd=REPO, check=True, timeout=300, capture_output=True)
    _check(REPO / "build" / "field.json")


def _check(out):
    res = json.loads(out.read_text())
    for key in ("soapy_loopback_snr_db", "pluto_emu_snr_db", "capture_bytes_per_s_at_1msps",
                "dashboard_cpu_s_per_s", "seconds_cpu", "seconds_wall"):
        assert key in res
    assert res["capture_bytes_per_s_at_1msps"] == pytest.approx(8e6, rel=1e-3)  # cf32: 8 bytes a sample
    if res["pluto_emu_snr_db"] is not None:  # hardware.md: about 22 dB at its step-2 settings
        assert 19.0 < res["pluto_emu_snr_db"] < 25.0
    if res["soapy_loopback_snr_db"] is not None:  # hardware.md: about 28 dB
        assert 25.0 < res["soapy_loopback_snr_db"] < 31.0
