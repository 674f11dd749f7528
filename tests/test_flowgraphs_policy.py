"""One documented policy for captions the codec cannot carry (tx, rx, demo), --channel clean with
--snr, and --version."""

import json
import subprocess
import sys

import pytest

from vlmcsc.flowgraphs.cli import main as cli_main
from vlmcsc.flowgraphs.jsonlog import read_jsonl

pytest.importorskip("vlmcsc.model.codec")

LONG = " ".join(["a dog runs"] * 30)  # 90 tokens, over the codec's 64
CLI = [sys.executable, "-m", "vlmcsc.flowgraphs.cli"]


def test_tx_skips_an_over_long_caption_names_it_and_rx_does_not_count_it_lost(tmp_path):
    captions = tmp_path / "captions.txt"
    captions.write_text(f"a dog runs on the grass\n{LONG}\ntwo children play on the beach\n")
    common = ["--captions", str(captions), "--seed", "1", "--frames", "3"]
    tx = subprocess.run(CLI + ["tx", "--radio", f"sigmf:{tmp_path / 'cap'}", "--log", str(tmp_path / "tx.jsonl"),
                               *common], capture_output=True, text=True, timeout=120)
    assert tx.returncode == 0, tx.stderr  # before: the whole run aborted at the long caption
    sent = [r for r in read_jsonl(tmp_path / "tx.jsonl") if r["type"] in ("sent", "skipped")]
    skipped = [r for r in sent if r["type"] == "skipped"]
    assert len(sent) == 3 and len(skipped) == 1 and skipped[0]["sent"] == LONG
    seq = skipped[0]["seq"]
    assert f"tx {seq:5d}  SKIPPED (caption has 90 tokens" in tx.stderr  # names the frame, not "text 0"
    rx = subprocess.run(CLI + ["rx", "--radio", f"replay:{tmp_path / 'cap'}.sigmf-meta", "--no-similarity",
                               "--log", str(tmp_path / "rx.jsonl"), *common], capture_output=True, text=True,
                        timeout=120)
    assert rx.returncode == 0, rx.stderr
    recs = list(read_jsonl(tmp_path / "rx.jsonl"))
    assert [r["seq"] for r in recs if r["type"] == "skipped"] == [seq]
    assert not [r for r in recs if r["type"] == "missed"]
    assert recs[-1]["summary"]["frames_sent"] == 2 and recs[-1]["summary"]["frame_loss"] == 0.0


def test_demo_skips_the_same_caption_and_goes_on(capsys, tmp_path):
    rc = cli_main(["demo", "--no-similarity", "--no-images", "--channel", "awgn", "--snr", "25",
                   "--text", "a dog runs", "--text", LONG, "--text", "a cat sleeps", "--log", str(tmp_path / "d.jsonl")])
    out = capsys.readouterr().out
    assert rc == 0 and "[ 1] SKIPPED (caption has 90 tokens" in out
    end = [r for r in read_jsonl(tmp_path / "d.jsonl") if r["type"] == "end"][0]
    assert end["frames_sent"] == 2  # the skipped caption is not scored as a lost frame


def test_clean_channel_with_snr_is_refused(capsys):
    assert cli_main(["demo", "--channel", "clean", "--snr", "10", "--no-similarity", "--no-images"]) == 2
    assert "--channel clean has no noise" in capsys.readouterr().err
    assert cli_main(["air", "--channel", "clean", "--snr", "10"]) == 2


def test_version():
    out = subprocess.run(CLI + ["--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("vlmcsc ") and out.split()[1][0].isdigit()


def test_demo_digital_baseline_reports_a_cut_caption_as_truncated(capsys, tmp_path):
    long_text = "a man in a blue shirt and a red hat sits on a wooden bench near the old stone bridge"
    rc = cli_main(["demo", "--no-similarity", "--no-images", "--system", "digital", "--channel", "awgn",
                   "--snr", "30", "--text", long_text, "--log", str(tmp_path / "d.jsonl")])
    frames = [r for r in read_jsonl(tmp_path / "d.jsonl") if r["type"] == "frame"]
    assert len(frames) == 1
    assert frames[0]["sent"].startswith(frames[0]["received"]) and frames[0]["received"] != frames[0]["sent"]
    assert frames[0]["status"] == "truncated" and rc == 1  # cut to the codec's channel uses; before: "ok"


def test_eval_channel_names_are_sweep_presets_too():
    from vlmcsc.flowgraphs.channels import CHANNEL_PRESETS, make_channel
    from vlmcsc.model.channels import CHANNELS

    assert set(CHANNELS) <= set(CHANNEL_PRESETS)  # before: "ofdm" was eval-only, "tdl" sweep-only
    for name in CHANNELS:
        make_channel(name, 10.0, seed=1)
