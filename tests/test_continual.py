"""Continual-learning methods (model/continual.py) and the deep JSCC baseline (model/jscc.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlmcsc.model.codec import CodecConfig, CodecNet, SemanticCodec
from vlmcsc.model.continual import (EWC, METHODS, ContinualConfig, Stage, average_accuracy, distillation,
                                    forgetting, run_sequence)
from vlmcsc.model.tokenizer import train_tokenizer

TASK_A = ["a dog runs on the grass", "a black dog jumps", "two dogs play in the park", "the dog sleeps"]
TASK_B = ["the parliament votes today", "we support the commission", "the council must act now"]


def _tiny_codec(seed=0):
    tok = train_tokenizer(TASK_A * 5 + TASK_B * 5, vocab_size=80)
    torch.manual_seed(seed)
    cfg = CodecConfig(vocab_size=tok.get_vocab_size(), width=16, heads=2, layers=1, ff=32,
                      symbols_per_token=2, max_tokens=40)
    return SemanticCodec(CodecNet(cfg), tok)


def test_forgetting_and_average_accuracy_formulas():
    m = [[0.8, 0.1, 0.0],
         [0.6, 0.9, 0.1],
         [0.5, 0.7, 0.9]]
    # task 0: best earlier 0.8 -> 0.5 (0.3); task 1: best earlier 0.9 -> 0.7 (0.2)
    assert forgetting(m) == pytest.approx(0.25)
    assert average_accuracy(m) == pytest.approx(0.7)
    assert forgetting([[0.4]]) == 0.0


def test_ewc_penalty_zero_at_anchor_and_grows_away():
    codec = _tiny_codec()
    seqs = [e.ids for e in codec.tokenizer.encode_batch(TASK_A)]
    from vlmcsc.model.continual import batch_tensors

    ids, pad = batch_tensors(seqs, codec.pad_id, "cpu")
    snr = torch.full((len(seqs),), 5.0)
    ewc = EWC(lam=10.0)
    assert float(ewc.penalty(codec.net)) == 0.0
    ewc.consolidate(codec.net, [(ids, pad, snr, ["awgn"] * len(seqs), torch.Generator().manual_seed(0))])
    assert float(ewc.penalty(codec.net).detach()) == pytest.approx(0.0, abs=1e-12)
    with torch.no_grad():
        for p in codec.net.parameters():
            p.add_(0.1)
    assert float(ewc.penalty(codec.net)) > 0


def test_distillation_is_zero_for_equal_outputs():
    logits = torch.randn(2, 3, 7)
    pad = torch.tensor([[False, False, True], [False, True, True]])
    assert float(distillation(logits, logits, pad, 2.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation(logits, torch.randn(2, 3, 7), pad, 2.0)) > 0


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_and_fills_the_matrix(method):
    codec = _tiny_codec()
    stages = [Stage("a", [e.ids for e in codec.tokenizer.encode_batch(TASK_A)]),
              Stage("b", [e.ids for e in codec.tokenizer.encode_batch(TASK_B)])]
    cfg = ContinualConfig(steps=3, batch_size=4, warmup=1, memory_size=6, stm_size=3, fisher_batches=1)
    calls = []

    def evaluate(c, si):
        calls.append(si)
        return {"a": 0.5 + si, "b": 0.1 * si}

    out = run_sequence(codec, stages, method, cfg, seed=0, evaluate=evaluate)
    assert calls == [0, 1]
    assert out["matrix"] == [[0.5, 0.0], [1.5, 0.1]]
    if method in ("med", "reservoir"):
        assert set(out["memory"]) == {"0", "1"}
    # resuming after a shared first stage gives the same matrix shape
    again = run_sequence(_tiny_codec(), stages, method, cfg, 0, evaluate, start_state=out["stage0_state"])
    assert np.asarray(again["matrix"]).shape == (2, 2)


def test_run_sequence_rejects_bad_input():
    codec = _tiny_codec()
    with pytest.raises(ValueError, match="unknown method"):
        run_sequence(codec, [Stage("a", [[2, 3]])], "sgd", ContinualConfig(steps=1, batch_size=2,
                     memory_size=4, stm_size=2), 0, lambda c, s: {"a": 0})
    with pytest.raises(ValueError, match="no training samples"):
        run_sequence(codec, [Stage("a", [])], "plain", ContinualConfig(steps=1, batch_size=2,
                     memory_size=4, stm_size=2), 0, lambda c, s: {"a": 0})
    with pytest.raises(ValueError, match="max_tokens"):
        run_sequence(codec, [Stage("a", [[2] * 41])], "plain", ContinualConfig(steps=1, batch_size=2,
                     memory_size=4, stm_size=2), 0, lambda c, s: {"a": 0})
    with pytest.raises(ValueError):
        ContinualConfig(memory_size=10, stm_size=10)


def test_deep_jscc_shapes_ratio_power_and_psnr():
    from vlmcsc.model.jscc import DeepJSCC, channels_for_ratio, psnr

    assert [channels_for_ratio(r) for r in (1 / 6, 1 / 12, 1 / 24)] == [16, 8, 4]
    with pytest.raises(ValueError):
        channels_for_ratio(1 / 7)
    net = DeepJSCC(1 / 12)
    assert net.symbols_per_image(224, 224) == 224 * 224 * 3 // 12
    img = torch.rand(2, 3, 32, 32)
    x = net.encode(img)
    assert x.shape == (2, 32 * 32 * 3 // 12) and x.dtype == torch.complex64
    np.testing.assert_allclose((x.abs() ** 2).mean(1).detach().numpy(), 1.0, rtol=1e-5)
    out = net(img, torch.full((2,), 10.0))
    assert out.shape == img.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert psnr(img, img) > 90 and psnr(img, 1 - img) < 10
    with pytest.raises(ValueError):
        net.encode(torch.rand(1, 3, 30, 30))


def test_vlmcsc_train_memory_uses_the_calibrated_balanced_rule(tmp_path, monkeypatch):
    # `vlmcsc train --memory` goes through the same MedMemory: tau/lambda default to the calibration
    import argparse
    import json

    from vlmcsc.model import train

    folder = tmp_path / "data" / "flickr8k_captions"
    folder.mkdir(parents=True)
    caps = TASK_A + ["a man rides a red bicycle", "people walk on the beach"]
    lines = [f"{i}.jpg#{k}\t{caps[(i + k) % len(caps)]}" for i in range(12) for k in range(3)]
    (folder / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    (folder / "Flickr_8k.trainImages.txt").write_text("\n".join(f"{i}.jpg" for i in range(9)) + "\n")
    (folder / "Flickr_8k.testImages.txt").write_text("\n".join(f"{i}.jpg" for i in range(9, 12)) + "\n")
    monkeypatch.setenv("VLMCSC_DATA", str(tmp_path / "data"))
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    args = p.parse_args(["--out", str(tmp_path / "run"), "--tasks", "flickr8k,flickr8k", "--steps", "3",
                         "--memory", "--stm-size", "4", "--ltm-size", "6", "--width", "32", "--heads", "4",
                         "--layers", "1", "--ff", "64", "--vocab-size", "80", "--symbols-per-token", "4",
                         "--tokenizer-corpora", "flickr8k", "--batch-size", "8", "--warmup", "1",
                         "--threads", "1", "--no-progress", "--device", "cpu"])
    assert args.tau is None and args.threshold is None
    assert train.main(args) == 0
    saved = json.loads((tmp_path / "run" / "checkpoint" / "trainer.json").read_text())["memory"]
    assert 0 < len(saved["ltm"]) <= 6
