"""Corrupt or mismatched codec checkpoints fail with one line naming the file and the culprit,
never a traceback or a codec that loads silently and decodes '' (issue 11)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from vlmcsc.model.checkpoint_check import CheckpointError
from vlmcsc.model.codec import SemanticCodec


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    from vlmcsc.flowgraphs.link import random_codec

    path = tmp_path_factory.mktemp("ckpt") / "good"
    random_codec().save_pretrained(path)
    return path


def _copy(good, tmp_path):
    import shutil

    dst = tmp_path / "ckpt"
    shutil.copytree(good, dst)
    return dst


def _edit_weights(path, fn):
    w = load_file(str(path / "model.safetensors"))
    save_file(fn(w), str(path / "model.safetensors"))


def _first(w):
    return sorted(w)[0]


CASES = {
    "truncated": (lambda p: (p / "model.safetensors").write_bytes((p / "model.safetensors").read_bytes()[:5000]),
                  "truncated"),
    "empty-weights": (lambda p: (p / "model.safetensors").write_bytes(b""), "model.safetensors"),
    "wrong-shape": (lambda p: _edit_weights(p, lambda w: {**w, _first(w): np.zeros((3, 3), np.float32)}),
                    "has shape"),
    "missing-tensor": (lambda p: _edit_weights(p, lambda w: {k: v for k, v in w.items() if k != _first(w)}),
                       "missing tensors"),
    "extra-tensor": (lambda p: _edit_weights(p, lambda w: {**w, "bogus.weight": np.zeros(3, np.float32)}),
                     "unexpected tensors bogus.weight"),
    "nan-weights": (lambda p: _edit_weights(p, lambda w: {k: np.full_like(v, np.nan) for k, v in w.items()}),
                    "NaN"),
    "integer-weights": (lambda p: _edit_weights(p, lambda w: {k: v.astype(np.int32) for k, v in w.items()}),
                        "floating point"),
    "config-not-json": (lambda p: (p / "config.json").write_text("{not json"), "config.json: not valid JSON"),
    "config-unknown-key": (lambda p: (p / "config.json").write_text(json.dumps({"model": {"bogus": 1}})),
                           "unknown or missing key"),
    "config-bad-value": (lambda p: (p / "config.json").write_text(json.dumps({"model": {"width": -4}})),
                         "config.json"),
    "config-mismatch": (lambda p: (p / "config.json").write_text(json.dumps({"model": {
        **json.loads((p / "config.json").read_text())["model"], "width": 64}})), "has shape"),
    "tokenizer-garbage": (lambda p: (p / "tokenizer.json").write_text("[1, 2"), "tokenizer.json"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_checkpoint_gives_one_clear_line(name, good, tmp_path):
    path = _copy(good, tmp_path)
    damage, expect = CASES[name]
    damage(path)
    with pytest.raises(CheckpointError) as info:
        SemanticCodec.from_pretrained(path)
    msg = str(info.value)
    assert expect in msg and "\n" not in msg and str(path) in msg


def test_good_checkpoint_still_loads(good):
    codec = SemanticCodec.from_pretrained(good)
    assert codec.decode_symbols(codec.encode_text(["a dog"], snr_db=10.0), snr_db=10.0)
