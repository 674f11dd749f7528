"""``vlmcsc train`` / ``vlmcsc eval`` on a tiny fake data folder; resume is exact; shipped weights load."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from vlmcsc.model import evaluate, train
from vlmcsc.model.codec import WEIGHTS_DIR, SemanticCodec

CAPTIONS = [
    "a dog runs across the green grass .", "two children play football in a park .",
    "a man in a red shirt rides a bicycle .", "a black cat sleeps on a wooden chair .",
    "people walk along the beach at sunset .", "a girl jumps into a swimming pool .",
]


@pytest.fixture()
def fake_data(tmp_path, monkeypatch):
    root = tmp_path / "data"
    folder = root / "flickr8k_captions"
    folder.mkdir(parents=True)
    lines, train_ids, test_ids = [], [], []
    for i in range(12):
        image = f"{i}.jpg"
        (test_ids if i >= 9 else train_ids).append(image)
        for k in range(3):
            lines.append(f"{image}#{k}\t{CAPTIONS[(i + k) % len(CAPTIONS)]}")
    (folder / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    (folder / "Flickr_8k.trainImages.txt").write_text("\n".join(train_ids) + "\n")
    (folder / "Flickr_8k.testImages.txt").write_text("\n".join(test_ids) + "\n")
    (folder / "Flickr_8k.devImages.txt").write_text("\n")
    monkeypatch.setenv("VLMCSC_DATA", str(root))
    return root


def _args(module, argv):
    p = argparse.ArgumentParser()
    module.add_arguments(p)
    return p.parse_args(argv)


TINY = ["--width", "32", "--heads", "4", "--layers", "1", "--ff", "64", "--vocab-size", "80",
        "--symbols-per-token", "4", "--tokenizer-corpora", "flickr8k", "--batch-size", "8",
        "--warmup", "2", "--threads", "1", "--no-progress", "--device", "cpu", "--seed", "3"]


def test_train_resume_is_exact_and_eval_writes_json(fake_data, tmp_path):
    # a first run builds the tokenizer (its trainer breaks ties in hash order, so two fresh runs may
    # number word pieces differently); both runs below start from that codec with --init
    init = tmp_path / "init"
    assert train.main(_args(train, ["--out", str(init), "--steps", "1", *TINY])) == 0
    straight, split = tmp_path / "a", tmp_path / "b"
    tiny = [*TINY, "--init", str(init)]
    assert train.main(_args(train, ["--out", str(straight), "--steps", "4", "--save-every", "2", *tiny])) == 0
    # the same run, interrupted after 3 steps and resumed
    assert train.main(_args(train, ["--out", str(split), "--steps", "4", "--save-every", "2",
                                    "--stop-at", "3", *tiny])) == 0
    state = json.loads((split / "checkpoint" / "trainer.json").read_text())["state"]
    assert state["step"] == 3
    assert train.main(_args(train, ["--out", str(split), "--steps", "4", "--save-every", "2",
                                    "--resume", *tiny])) == 0
    a, b = load_file(str(straight / "model.safetensors")), load_file(str(split / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    log = [json.loads(x) for x in (straight / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 4 and np.isfinite(log[-1]["loss"])

    out = tmp_path / "eval.json"
    rc = evaluate.main(_args(evaluate, ["--checkpoint", str(straight), "--snrs", "0,10",
                                        "--channels", "awgn,rayleigh", "--json", str(out), "--threads", "1",
                                        "--limit", "5"]))
    assert rc == 0
    res = json.loads(out.read_text())["results"]
    assert set(res) == {"awgn", "rayleigh"} and set(res["awgn"]) == {"0", "10"}
    assert 0.0 <= res["awgn"]["10"]["bleu1"] <= 1.0 and res["awgn"]["10"]["n"] == 5


def test_keep_at_snapshots_are_written_between_save_steps(fake_data, tmp_path):
    # --keep-at 1,3 with --save-every 4: the snapshots were silently skipped (only save steps kept)
    out = tmp_path / "k"
    assert train.main(_args(train, ["--out", str(out), "--steps", "4", "--save-every", "4", "--keep-at", "1,3",
                                    *TINY])) == 0
    for step in (1, 3):
        again = SemanticCodec.from_pretrained(out / f"step_{step}")
        assert again.config.width == 32


def test_bad_channel_spec_is_rejected():
    with pytest.raises(ValueError, match="unknown channel"):
        train.parse_channels("awgn,rician")
    names, p = train.parse_channels("awgn:3,ofdm")
    assert names == ["awgn", "ofdm"] and np.allclose(p, [0.75, 0.25])


@pytest.mark.skipif(not (WEIGHTS_DIR / "model.safetensors").is_file(), reason="shipped weights not present")
def test_shipped_checkpoint_round_trips_a_caption():
    codec = SemanticCodec.from_pretrained()
    text = "a dog runs through the grass ."
    syms = codec.encode_text([text], 15.0)
    assert np.mean(np.abs(syms[0]) ** 2) == pytest.approx(1.0, abs=1e-4)
    assert codec.decode_symbols(syms, 15.0) == [codec.normalize(text)]
