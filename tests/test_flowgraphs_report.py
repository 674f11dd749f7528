"""`vlmcsc report`: plots and a summary with the right numbers from a small synthetic log."""

import math

import numpy as np
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
    assert names == ["cfo_drift.png", "frame_loss.png", "loss_bleu_vs_measured_snr.png", "metric_vs_snr.png",
                     "time_series.png"]
    for p in result["plots"]:
        assert (out / p.split("/")[-1]).stat().st_size > 5000
    (point,) = result["curves"]["semantic/tdl"]
    assert point["n"] == 4 and point["mean"] == pytest.approx(0.5)
    field = result["field"]["rx.jsonl"]
    assert field["frames_received"] == 8 and field["frames_ok"] == 7 and field["frames_missed"] == 2
    assert field["frames_sent"] == 10 and field["frame_loss"] == pytest.approx(0.2)
    assert field["bleu1_sent"] == pytest.approx(7 / 10) and field["bleu1_received"] == pytest.approx(7 / 8)
    assert field["cfo_drift_hz_per_min"] == pytest.approx(120.0)  # 2 Hz/s
    assert field["cfo_fit_axis"] == "wall time"  # no start_sample in this log
    text = (out / "summary.md").read_text()
    assert "| semantic | tdl | 6.0 | 4 | 0.500 |" in text and "| 0.750 |" in text  # 3 of 4 decoded
    assert "| digital | tdl | 6.0 | 1 | 0.100 |" in text
    assert "| rx.jsonl | 10 | 8 | 7 | 0.200 | 0.700 | 0.875 |" in text
    assert "120.000" in text and "![frame_loss.png](frame_loss.png)" in text


def test_report_cli_html_and_errors(tmp_path, capsys):
    sweep, _ = synthetic(tmp_path)
    assert cli_main(["report", str(sweep), "--out", str(tmp_path / "r"), "--format", "html"]) == 0
    html = (tmp_path / "r" / "summary.html").read_text()
    assert "<td>0.500</td>" in html and "metric_vs_snr.png" in html
    assert cli_main(["report", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "r2")]) == 2
    assert "not found" in capsys.readouterr().out


def test_report_reads_tx_log_fits_cfo_on_sample_time_and_leaves_gaps(tmp_path):
    """A replay-like rx log: constant CFO (+-1 Hz of estimation noise), frames 1 s of samples apart,
    decoded 10 ms apart in wall time. The drift must be ~0 (fitted on sample time), not the
    wall-clock artefact (hundreds of Hz/min)."""
    from vlmcsc.flowgraphs.report import loss_vs_measured_snr, per_seq

    rx, tx = tmp_path / "rx.jsonl", tmp_path / "tx.jsonl"
    profile = {"test": {"seed": 7, "frames": 6, "captions": "builtin"}, "codec": {"system": "semantic"}}
    with JsonLinesWriter(tx) as log:
        log.write({"type": "start", "role": "tx", "radio": {"backend": "sigmf:cap", "sample_rate_hz": 2e6,
                   "frequency_hz": 2.45e9, "tx_gain_db": -10.0}, "profile": profile})
        for seq in range(6):
            log.write({"type": "sent", "seq": seq, "sent": "a dog"})
    with JsonLinesWriter(rx) as log:
        log.write({"type": "start", "role": "rx", "radio": {"backend": "replay:cap", "sample_rate_hz": 2e6},
                   "profile": profile})
        for seq in range(6):
            if seq == 3:
                log.write({"type": "missed", "seq": 3, "time": 50.0})
                continue
            log.write({"type": "frame", "seq": seq, "time": 10.0 + 0.01 * seq, "start_sample": 2_000_000 * seq,
                       "cfo_hz": 500.0 + (1.0 if seq % 2 else -1.0), "snr_db": 20.0 + seq, "bleu1": 1.0,
                       "status": "ok"})
        log.write({"type": "end", "role": "rx", "radio_stats": {"samples_rx": 12000, "overflows": 0},
                   "phy_stats": {"detections": 5}, "samples_missing": 0, "clipped_samples": 0,
                   "interrupted": False})
    result = make_report([rx, tx], tmp_path / "rep")
    field = result["field"]["rx.jsonl"]
    assert field["cfo_fit_axis"] == "sample time" and abs(field["cfo_drift_hz_per_min"]) < 100.0
    wall = np.polyfit([0.0, 0.01, 0.02, 0.04, 0.05], [499.0, 501.0, 499.0, 499.0, 501.0], 1)[0] * 60
    assert abs(wall) > 500  # what the old wall-clock fit reported
    seq, bleu = per_seq([r for r in __import__("vlmcsc.flowgraphs.jsonlog", fromlist=["x"]).read_jsonl(rx)], "bleu1")
    assert list(seq) == [0, 1, 2, 3, 4, 5] and math.isnan(bleu[3]) and not math.isnan(bleu[4])  # a gap
    pts = loss_vs_measured_snr(list(__import__("vlmcsc.flowgraphs.jsonlog", fromlist=["x"]).read_jsonl(rx)))
    lost_bins = [p for p in pts if p["lost"]]
    assert len(lost_bins) == 1 and lost_bins[0]["snr_db"] in (22.0, 24.0)  # placed at a neighbour's SNR
    text = (tmp_path / "rep" / "summary.md").read_text()
    assert "## Test settings" in text and "| tx.jsonl | tx | sigmf:cap | 2450000000 | 2000000 | -10.0 |" in text
    assert "| 6 |" in text.split("## Test settings")[1].split("##")[0]  # frames sent by tx
    assert "## Radio statistics (end of run)" in text and "| rx.jsonl | 12000 | 0 |" in text
    assert any(p.endswith("loss_bleu_vs_measured_snr.png") for p in result["plots"])
