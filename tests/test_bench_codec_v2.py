"""``benchmarks/codec.py --v2-only --quick``: the issue-14 keys exist and the deterministic ones hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vlmcsc.model.data import data_dir

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(data_dir() is None, reason="shared data sets absent (set VLMCSC_DATA)")
def test_codec_v2_quick_benchmark(tmp_path):
    out = tmp_path / "codec_v2.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "codec.py"), "--v2-only", "--quick", "--v2-limit", "16",
           "--v2-snrs", "0,15", "--threads", "1", "--json", str(out)]
    subprocess.run(cmd, check=True, timeout=600, capture_output=True)
    res = json.loads(out.read_text())
    for key in ("symbols_per_token_chosen", "bleu1_adaptive_awgn", "keyword_accuracy", "channel_uses_per_caption",
                "bleu1_fixed8_awgn", "nam_mismatch_loss_bleu1", "nam_ablation_gain_bleu1", "encode_decode_ms_cpu"):
        assert key in res, key
    k = res["symbols_per_token_chosen"]
    assert k["15.0"] <= k["0.0"]  # the policy never sends more symbols at a higher SNR
    for s, uses in res["channel_uses_per_caption"].items():
        # tokens_per_caption is rounded to 0.001, times k (up to 32)
        assert uses == pytest.approx(res["tokens_per_caption"] * k[s], abs=0.01 + 0.0005 * k[s])
    for v in list(res["bleu1_adaptive_awgn"].values()) + list(res["keyword_accuracy"].values()):
        assert 0.0 <= v <= 1.0
