"""benchmarks/scale.py --quick: the JSON keys of issue 9 and the values that do not depend on timing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'vlm-csc[ray]'")
BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "scale.py"


@pytest.mark.slow
def test_scale_benchmark_quick(tmp_path):
    out = tmp_path / "scale.json"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json", str(out)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    for key in ("sweep_speedup_2_workers", "sweep_efficiency_2_workers", "sweep_identical_results",
                "ci_stop_frames_saved", "ci_stop_frames", "ci_fixed_frames", "train_ddp_loss_match",
                "frame_cpu_s", "frame_cpu_s_mean", "estimate_hours", "scaling_limit_workers"):
        assert key in res, key
    assert res["sweep_identical_results"] == 1.0  # Ray rows == serial rows, bit for bit
    assert res["sweep_speedup_2_workers"] > 0 and res["sweep_efficiency_2_workers"] == pytest.approx(
        res["sweep_speedup_2_workers"] / 2, abs=1e-3)
    assert 0 <= res["ci_stop_frames"] <= res["ci_fixed_frames"]
    assert res["ci_stop_frames_saved"] == pytest.approx(1 - res["ci_stop_frames"] / res["ci_fixed_frames"], abs=1e-4)
    # the 0 dB points lose frames fast and stop on errors; nobody exceeds the cap
    assert all(p["frames"] <= res["ci_stop_rule"]["max_frames"] for p in res["ci_points"])
    assert 0 <= res["train_ddp_loss_match"] < 0.05
    for key, limit_key in (("estimate_hours", "scaling_limit_workers"),
                           ("estimate_hours_sequential_points", "scaling_limit_workers_sequential_points")):
        hours, limit = res[key], res[limit_key]
        ns = sorted(int(n) for n in hours)
        assert all(hours[str(a)] >= hours[str(b)] for a, b in zip(ns, ns[1:]))  # more workers never slower
        beyond = [n for n in ns if n > limit]
        assert len({hours[str(n)] for n in beyond}) <= 1  # flat past the limit
    # points whose chunks run one after another cannot use more workers than there are points
    assert res["scaling_limit_workers_sequential_points"] <= 160
    assert res["ray_driver_cpu_s_per_chunk"] > 0
