"""benchmarks/phy.py --quick (the parts issue 12 added, plus throughput and false alarms) in a
subprocess: every JSON key the issue names exists, and the seeded goals hold."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_phy_benchmark_quick_reports_the_issue_keys(tmp_path):
    out = tmp_path / "phy.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "phy.py"), "--quick", "--only", "throughput", "detection", "gnuradio",
         "robustness", "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" not in proc.stderr, proc.stderr
    r = json.loads(out.read_text())
    for key in ("rx_msps_frames_cpu", "rx_msps_frames_digital_qpsk_cpu", "rx_msps_noise_cpu", "dc_offset_frames_ok",
                "weak_tone_frames_ok", "sparse_alloc_frames_ok", "tdl_frames_found_m3db", "tdl_frames_found_0db",
                "awgn_frames_found_m3db", "snr_est_max_db_iq_imbalance", "false_alarms_per_hour_noise"):
        assert key in r, key
    assert "vs_gnuradio_frames_ratio" in r or "vs_gnuradio_skipped" in r
    # seeded, deterministic goals
    assert r["dc_offset_frames_ok"] == 1.0 and r["weak_tone_frames_ok"] == 1.0 and r["sparse_alloc_frames_ok"] == 1.0
    assert r["snr_est_max_db_iq_imbalance"] >= 30
    assert r["awgn_frames_found_m3db"] >= 0.99
    assert r["false_alarms_per_hour_noise"] <= 1
    assert r["rx_frames_decoded"] == "30/30" and r["rx_digital_frames_ok"] == "20/20"
