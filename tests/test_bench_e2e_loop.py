"""``benchmarks/e2e.py --closed-loop-only --quick``: the closed/open-loop keys of issue 14."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_closed_loop_quick_benchmark(tmp_path):
    out = tmp_path / "loop.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "e2e.py"), "--closed-loop-only", "--quick",
           "--loop-frames", "10", "--json", str(out)]
    subprocess.run(cmd, check=True, timeout=600, capture_output=True)
    res = json.loads(out.read_text())
    for key in ("closed_loop_bleu1", "open_loop_bleu1", "closed_loop_channel_use_ratio", "keyword_accuracy"):
        assert key in res, key
    d = res["closed_loop_detail"]
    assert d["open"]["frames_sent"] == d["closed"]["frames_sent"] == 10
    assert d["open"]["symbols_per_token_mean"] == 8.0  # open loop: fixed 8 symbols per token
    assert 0.0 <= res["closed_loop_bleu1"] <= 1.0 and res["closed_loop_channel_use_ratio"] > 0
