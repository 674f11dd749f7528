"""Sweep framework: grid, SNR lists, seeds from coordinates, resume skips done rows, CSV copy,
confidence-based stopping."""

import csv
import math

import numpy as np
import pytest

from vlmcsc.flowgraphs.jsonlog import read_jsonl
from vlmcsc.flowgraphs.sweep import StopRule, make_cells, mean_ci95, parse_snr_list, point_seed, run_sweep

CALLS = []


def fake_cell(cell):
    CALLS.append((cell["system"], cell["snr_db"], cell["trial"]))
    return {**cell, "bleu1": cell["snr_db"] / 10, "bleu1_frames": [cell["snr_db"] / 10]}


def test_parse_snr_list():
    assert parse_snr_list("-3:21:3") == [-3, 0, 3, 6, 9, 12, 15, 18, 21]
    assert parse_snr_list("0, 5,10") == [0, 5, 10]
    for bad in ("3:0:1", "0:10:0", "a,b"):
        with pytest.raises(ValueError, match="start:stop:step"):
            parse_snr_list(bad)


def test_cells_are_seeded_by_coordinates():
    cells = make_cells(["semantic", "digital"], ["awgn"], [0.0, 5.0], trials=2, frames=3, seed=4)
    assert len(cells) == 8
    sem = [c["seed"] for c in cells if c["system"] == "semantic"]
    dig = [c["seed"] for c in cells if c["system"] == "digital"]
    assert sem == dig and len(set(sem)) == 4  # both systems see the same draws


def test_resume_skips_done_rows(tmp_path):
    out, csv_path = tmp_path / "s.jsonl", tmp_path / "s.csv"
    cells = make_cells(["semantic", "digital"], ["awgn"], [0.0, 5.0, 10.0], trials=2, frames=1)
    CALLS.clear()
    first = run_sweep(cells[:5], out, fake_cell, csv_path=csv_path, progress=False)
    assert first == {"total": 5, "skipped": 0, "ran": 5, "frames": 5}
    # an interrupted write leaves a torn line: it is ignored and that cell runs again
    with open(out, "a") as fh:
        fh.write('{"type": "sweep", "system": "digital", "chan')
    CALLS.clear()
    second = run_sweep(cells, out, fake_cell, csv_path=csv_path, progress=False)
    assert second == {"total": 12, "skipped": 5, "ran": 7, "frames": 7}
    assert sorted(CALLS) == sorted((c["system"], c["snr_db"], c["trial"]) for c in cells[5:])
    rows = [r for r in read_jsonl(out) if r["type"] == "sweep"]
    assert len(rows) == 12
    keys = {(r["system"], r["snr_db"], r["trial"]) for r in rows}
    assert len(keys) == 12
    with open(csv_path, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 12 and float(table[0]["bleu1"]) == pytest.approx(float(table[0]["snr_db"]) / 10)
    CALLS.clear()
    assert run_sweep(cells, out, fake_cell, progress=False)["ran"] == 0 and CALLS == []


def test_parallel_workers(tmp_path):
    out = tmp_path / "p.jsonl"
    cells = make_cells(["semantic"], ["awgn"], [0.0, 3.0, 6.0], trials=1, frames=1)
    result = run_sweep(cells, out, fake_cell, workers=2, progress=False)
    assert result["ran"] == 3
    assert sorted(r["bleu1"] for r in read_jsonl(out)) == pytest.approx([0.0, 0.3, 0.6])


def test_sweep_cli_runs_real_cells_and_resumes(tmp_path, capsys):
    """Two real cells through PHY + loopback (semantic and digital); a rerun skips both."""
    for mod in ("vlmcsc.phy.channel", "vlmcsc.sdr.loopback", "vlmcsc.model.codec"):
        pytest.importorskip(mod, reason=f"{mod} is not in this checkout")
    from vlmcsc.flowgraphs.cli import main as cli_main

    out = tmp_path / "sweep.jsonl"
    argv = ["sweep", "--snr", "25", "--channels", "awgn", "--systems", "semantic,digital", "--trials", "1",
            "--frames", "3", "--workers", "1", "--no-progress", "--out", str(out)]
    assert cli_main(argv) == 0
    rows = {r["system"]: r for r in read_jsonl(out)}
    assert set(rows) == {"semantic", "digital"}
    for row in rows.values():
        assert row["frames"] == 3 and len(row["bleu1_frames"]) == 3 and row["frames_ok"] == 3
        assert row["snr_est_db"] == pytest.approx(25.0, abs=3.0)
    # bytes through FEC + CRC at 25 dB arrive, cut to the codec's channel uses: codec v2 sends 3
    # symbols/token at 25 dB (was 8), so the digital frame gets 3/8 of the v1 budget and is cut more
    assert rows["digital"]["bleu1"] > 0.2
    assert cli_main(argv) == 0
    assert "0 cells run, 2 already" in capsys.readouterr().out
    assert cli_main(["sweep", "--channels", "moon", "--out", str(out)]) == 2


def test_seeds_come_from_the_point_not_the_grid_order():
    a = make_cells(["semantic"], ["awgn", "tdl"], [0.0, 5.0, 10.0], trials=2, frames=4, seed=7)
    b = make_cells(["semantic"], ["tdl", "awgn"], [10.0, 5.0], trials=2, frames=4, seed=7)
    seeds_a = {(c["channel"], c["snr_db"], c["trial"]): c["seed"] for c in a}
    for c in b:
        assert c["seed"] == seeds_a[(c["channel"], c["snr_db"], c["trial"])]
    assert len(set(seeds_a.values())) == len(seeds_a)
    assert point_seed(7, "awgn", 5.0, 0) == point_seed(7, "awgn", 5, 0) != point_seed(8, "awgn", 5.0, 0)
    assert point_seed(7, "awgn", 5.0, 0, chunk=1) != point_seed(7, "awgn", 5.0, 0)


def lossy_cell(cell):
    """Deterministic stand-in for a chunk: at 0 dB half the frames are lost, BLEU noisy; at 20 dB
    nothing is lost and BLEU-1 is 0.9 +- 0.05 (from the chunk's seed)."""
    rng = np.random.default_rng(cell["seed"])
    n = cell["frames"]
    if cell["snr_db"] < 10:
        ok = n // 2
        frames = list(np.round(rng.uniform(0, 1, n), 4))
    else:
        ok = n
        frames = list(np.round(0.9 + rng.uniform(-0.05, 0.05, n), 4))
    return {**cell, "frames_ok": ok, "bleu1_frames": frames, "bleu1": round(float(np.mean(frames)), 4),
            "frames_received": ok, "snr_est_db": cell["snr_db"]}


def test_confidence_stopping_records_frames_and_interval(tmp_path):
    out, csv_path = tmp_path / "c.jsonl", tmp_path / "c.csv"
    cells = make_cells(["semantic"], ["awgn"], [0.0, 20.0], trials=1, frames=200)
    rule = StopRule(target_errors=10, ci_halfwidth=0.01, chunk_frames=8, min_frames=16)
    result = run_sweep(cells, out, lossy_cell, csv_path=csv_path, progress=False, stop=rule)
    rows = {r["snr_db"]: r for r in read_jsonl(out)}
    low, high = rows[0.0], rows[20.0]
    # 0 dB: 4 losses per chunk of 8 -> 10 losses after 3 chunks (24 frames)
    assert low["stop"] == "errors" and low["frames"] == 24 and low["frame_losses"] == 12 and low["chunks"] == 3
    assert len(low["bleu1_frames"]) == 24
    # 20 dB: no losses; stops once the 95 % interval is within +-0.01 (needs tens of frames, < 200)
    assert high["stop"] == "ci" and high["frame_losses"] == 0 and 16 <= high["frames"] < 200
    assert high["bleu1_ci_high"] - high["bleu1_ci_low"] <= 0.02 + 1e-4
    mean, half = mean_ci95(high["bleu1_frames"])
    assert high["bleu1"] == pytest.approx(mean, abs=1e-4) and half <= 0.01
    # one bigger interval before the last chunk: the rule did not stop too late
    _, half_before = mean_ci95(high["bleu1_frames"][:-8])
    assert high["frames"] == 16 or half_before > 0.01
    assert result["frames"] == low["frames"] + high["frames"]
    with open(csv_path, newline="") as fh:
        table = {float(r["snr_db"]): r for r in csv.DictReader(fh)}
    assert int(table[0.0]["frames"]) == 24 and table[0.0]["stop"] == "errors"
    assert float(table[20.0]["bleu1_ci_low"]) == high["bleu1_ci_low"]
    # the same sweep on two worker processes gives the same rows (chunk seeds, not scheduling)
    out2 = tmp_path / "c2.jsonl"
    run_sweep(cells, out2, lossy_cell, workers=2, progress=False, stop=rule)
    rows2 = {r["snr_db"]: r for r in read_jsonl(out2)}
    for snr, row in rows.items():
        assert {k: v for k, v in row.items() if k != "time"} == {k: v for k, v in rows2[snr].items() if k != "time"}


def test_fixed_count_runs_all_chunks_in_parallel_and_merges_them_in_order(tmp_path):
    out, out2 = tmp_path / "f.jsonl", tmp_path / "f2.jsonl"
    cells = make_cells(["semantic"], ["awgn"], [0.0, 20.0], trials=1, frames=40)
    run_sweep(cells, out, lossy_cell, progress=False)
    rows = {r["snr_db"]: r for r in read_jsonl(out)}
    row = rows[0.0]
    assert row["frames"] == 40 and row["chunks"] == 3 and row["stop"] == "fixed" and row["seed"] == cells[0]["seed"]
    assert row["frame_losses"] == 8 + 8 + 4 and row["bleu1_ci_low"] < row["bleu1"] < row["bleu1_ci_high"]
    # chunk k is the seed-derived batch k, in order, whatever order the chunks finished in
    expect = [lossy_cell({**cells[0], "frames": n, "seed": point_seed(cells[0]["seed"], "awgn", 0.0, 0, k) if k else cells[0]["seed"]})
              for k, n in enumerate((16, 16, 8))]
    assert row["bleu1_frames"] == [v for e in expect for v in e["bleu1_frames"]]
    run_sweep(cells, out2, lossy_cell, workers=2, progress=False)  # 6 chunks over 2 processes
    rows2 = {r["snr_db"]: r for r in read_jsonl(out2)}
    for snr in rows:
        assert {k: v for k, v in rows[snr].items() if k != "time"} == {k: v for k, v in rows2[snr].items() if k != "time"}
    # a point of one chunk is the cell function's row for the point's own seed
    small = make_cells(["semantic"], ["awgn"], [20.0], trials=1, frames=5)
    run_sweep(small, tmp_path / "one.jsonl", lossy_cell, progress=False)
    (one,) = list(read_jsonl(tmp_path / "one.jsonl"))
    assert one["bleu1_frames"] == lossy_cell(small[0])["bleu1_frames"] and one["chunks"] == 1


def test_stop_rule_rejects_bad_values():
    with pytest.raises(ValueError, match="--target-errors"):
        StopRule(target_errors=0)
    with pytest.raises(ValueError, match="--ci-halfwidth"):
        StopRule(ci_halfwidth=0.0)
    assert mean_ci95([]) == (None, None) and mean_ci95([0.5]) == (0.5, None)
    # textbook values: n=3, s=1 -> t(0.975, 2) = 4.3027, half = 4.3027 / sqrt(3)
    assert mean_ci95([1.0, 2.0, 3.0]) == pytest.approx((2.0, 4.3027 / math.sqrt(3)), rel=1e-4)
    assert mean_ci95([0.0, 2.0, None])[1] == pytest.approx(12.7062, rel=1e-4)  # n=2, s=sqrt(2)


def test_ray_missing_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    import sys

    from vlmcsc.flowgraphs.cli import main as cli_main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    out = tmp_path / "r.jsonl"
    assert cli_main(["sweep", "--ray", "--snr", "5", "--channels", "awgn", "--trials", "1", "--frames", "1",
                     "--out", str(out)]) == 2
    text = capsys.readouterr().out
    assert 'vlmcsc sweep: --ray needs Ray: pip install "vlm-csc[ray]"' in text and "Traceback" not in text
    assert not out.exists()
    for bad, name in ((["--target-errors", "0"], "--target-errors"), (["--ci-halfwidth", "-1"], "--ci-halfwidth"),
                      (["--workers", "0"], "--workers")):
        assert cli_main(["sweep", "--snr", "5", "--out", str(out), *bad]) == 2
        said = capsys.readouterr()  # the shared boundary check (validate.py) writes to stderr
        assert name in said.out + said.err


def test_unreachable_ray_address_fails_fast_with_one_line(tmp_path, capsys):
    pytest.importorskip("ray")
    import socket

    from vlmcsc.flowgraphs.cli import main as cli_main

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "r.jsonl"
    assert cli_main(["sweep", "--ray", f"127.0.0.1:{port}", "--snr", "5", "--channels", "awgn", "--trials", "1",
                     "--frames", "1", "--out", str(out)]) == 2
    text = capsys.readouterr().out
    assert f"vlmcsc sweep: no Ray cluster at 127.0.0.1:{port}" in text and "ray start --head" in text
    assert not out.exists()
