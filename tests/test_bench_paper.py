"""The paper benchmark's quick form (benchmarks/paper.py), run as a user would; direction-only checks.

Needs the shared data sets (skips without them). CPU budget: the continual-learning map over 3 seeds
(about 2 CPU-minutes on one thread of the busy project machine) plus the channel-use counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vlmcsc.model.data import data_dir

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(data_dir() is None, reason="shared data sets not found (set VLMCSC_DATA)")


def _run(args, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "paper.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "paper.py"), *args, "--json", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc


def test_paper_cl_quick_med_forgets_less_than_plain(tmp_path):
    res, proc = _run(["cl", "--quick", "--seeds", "0,1,2"], tmp_path)
    for key in ("forgetting_reduction_med", "med_minus_reservoir_forgetting", "seeds"):
        assert key in res
    assert res["seeds"] == [0, 1, 2]
    spread = res["forgetting_reduction_med_spread"]
    assert set(spread) >= {"mean", "std", "min", "max", "values"} and len(spread["values"]) == 3
    methods = res["experiments"]["continual"]["methods"]
    # the direction the paper claims: with memory, less forgetting than plain fine-tuning
    assert methods["med"]["forgetting"]["mean"] < methods["plain"]["forgetting"]["mean"]
    assert res["forgetting_reduction_med"] > 0
    assert (tmp_path / "paper_cl.png").stat().st_size > 1000
    assert "forgetting_reduction_med" in proc.stdout  # the printed table


def test_channel_uses_per_image_and_parameters():
    # experiment 6's deterministic numbers, without training (the JSCC training runs in the quick form)
    from vlmcsc.flowgraphs.experiment import caption_symbols
    from vlmcsc.model.jscc import DeepJSCC

    res = caption_symbols()
    assert 40 < res["symbols_per_image_vlmcsc"] < 200  # ~12 caption tokens x 8 symbols
    assert [DeepJSCC(r).symbols_per_image() for r in (1 / 6, 1 / 12, 1 / 24)] == [25088, 12544, 6272]
    assert res["symbols_per_image_vlmcsc"] < DeepJSCC(1 / 24).symbols_per_image()
    assert res["params_vlmcsc_trainable"] > DeepJSCC(1 / 6).num_parameters() > 0


def test_experiment_cli_bad_input_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "vlmcsc.flowgraphs.cli", "experiment", "cl", "--seeds", "a,b"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "--seeds must be comma-separated integers" in proc.stderr
    assert "Traceback" not in proc.stderr
