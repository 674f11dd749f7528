"""`vlmcsc report`: plots and a summary with the right numbers from a small synthetic log."""

import math

import pytest

from vlmcsc.flowgraphs.cli import main as cli_main
from vlmcsc.flowgraphs.jsonlog import JsonLinesWriter
from vlmcsc.flowgraphs.report import make_report, mean_ci


def synthetic(tmp_path):
    sweep = tmp_path / "sweep.jsonl"
    with JsonLinesWriter(sweep) as log:
        for trial, values in enumerate(([0.2, 0.4], [0.6, 0.8])):
            log.write({"type": "sweep", "system": "semantic", "channel": "tdl", "snr_db": 6.0, "trial": trial,
                       "frames": 2, "frames_ok": 2 - trial, "bleu1": sum(values) / 2, "bleu1_frames": values, "similarity_frames": [0.9, 0.9]})
        log.write({"type": "sweep", "system": "digital", "channel": "tdl", "snr_db": 6.0, "trial": 0,
                   "bleu1": 0.1, "bleu1_frames": [0.1]})
    rx = tmp_path / "rx.jsonl"
    with JsonLinesWriter(rx) as log:
        log.write({"type": "start", "role": "rx", "time": 100.0})
        for seq in range(10):
            if seq in (3, 4):
                log.write({"type": "missed", "seq": seq, "time": 100.0 + seq})
                continue
            log.write({"type": "frame", "seq": seq, "time": 100.0 + 6 * seq, "snr_db": 10.0 + seq,
                       "cfo_hz": 1000.0 + 2.0 * 6 * seq, "bleu1": 1.0 if seq != 7 else 0.0,
                       "status": "ok" if seq != 7 else "payload_crc_fail", "nam_snr_db": 10.0})
        # a torn last line, as a hard kill could leave it
    with open(rx, "a") as fh:
        fh.write('{"type": "frame", "seq": 1')
    return sweep, rx


def test_mean_ci():
    mean, ci, n = mean_ci([0.2, 0.4, 0.6, 0.8, None, float("nan")])
    assert n == 4 and mean == pytest.approx(0.5)
    assert ci == pytest.approx(1.959964 * 0.2581989 / 2, rel=1e-5)
    assert mean_ci([0.3]) == (0.3, 0.0, 1)
    assert math.isnan(mean_ci([])[0])


def test_report_numbers_and_plots(tmp_path):
    sweep, rx = synthetic(tmp_path)
    out = tmp_path / "report"
    result = make_report([sweep, rx], out)
    names = sorted(p.split("/")[-1] for p in result["plots"])
    assert names == ["cfo_drift.png", "frame_loss.png", "metric_vs_snr.png", "time_series.png"]
    for p in result["plots"]:
        assert (out / p.split("/")[-1]).stat().st_size > 5000
    (point,) = result["curves"]["semantic/tdl"]
    assert point["n"] == 4 and point["mean"] == pytest.approx(0.5)
    field = result["field"]["rx.jsonl"]
    assert field["frames"] == 8 and field["frames_ok"] == 7 and field["frames_missed"] == 2
    assert field["frames_ok_rate"] == pytest.approx(0.7)
    assert field["bleu1_mean"] == pytest.approx(7 / 8)
    assert field["cfo_drift_hz_per_min"] == pytest.approx(120.0)  # 2 Hz/s
    text = (out / "summary.md").read_text()
    assert "| semantic | tdl | 6.0 | 4 | 0.500 |" in text and "| 0.750 |" in text  # 3 of 4 decoded
    assert "| digital | tdl | 6.0 | 1 | 0.100 |" in text
    assert "| rx.jsonl | 8 | 7 | 1 | 2 | 0.700 | 0.875 |" in text
    assert "120.000" in text and "![frame_loss.png](frame_loss.png)" in text


def test_report_cli_html_and_errors(tmp_path, capsys):
    sweep, _ = synthetic(tmp_path)
    assert cli_main(["report", str(sweep), "--out", str(tmp_path / "r"), "--format", "html"]) == 0
    html = (tmp_path / "r" / "summary.html").read_text()
    assert "<td>0.500</td>" in html and "metric_vs_snr.png" in html
    assert cli_main(["report", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "r2")]) == 2
    assert "not found" in capsys.readouterr().out
