"""benchmarks/ckb.py on tiny models: the JSON it writes, the codec conditions and the AWGN helper."""

import importlib.util
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "ckb.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("ckb_benchmark", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_awgn_has_the_stated_noise_power(bench):
    rng = np.random.default_rng(0)
    symbols = [np.ones(200_000, np.complex64)]
    noisy = bench.awgn(symbols, 5.0, rng)[0]
    assert noisy.dtype == np.complex64
    assert np.mean(np.abs(noisy - 1) ** 2) == pytest.approx(10 ** (-0.5), rel=0.02)


class _EchoCodec:
    """Stands in for SemanticCodec: one symbol per word, decodes by rounding back to word ids."""

    words = ["a", "dog", "on", "grass", "cat"]

    @classmethod
    def from_pretrained(cls, path=None):
        return cls()

    def encode_text(self, texts, snr_db):
        return [np.array([self.words.index(w) for w in t.split()], np.complex64) * 10 for t in texts]

    def decode_symbols(self, symbols, snr_db):
        assert len(snr_db) == len(symbols)
        return [" ".join(self.words[int(np.clip(round(s.real / 10), 0, 4))] for s in y) for y in symbols]


def test_codec_conditions(bench, monkeypatch):
    from vlmcsc.model import codec

    args = SimpleNamespace(codec=None, seed=0, snrs=[0.0, 10.0])
    monkeypatch.setattr(codec, "SemanticCodec", _EchoCodec)
    conditions, note = bench.codec_conditions(["a dog on grass", "a cat"], args)
    assert note is None
    assert list(conditions) == ["original", "codec_0dB", "codec_10dB"]
    assert conditions["codec_10dB"] == ["a dog on grass", "a cat"]  # noise std 0.2 << spacing 10

    def broken(path=None):
        raise FileNotFoundError("no checkpoint here")

    monkeypatch.setattr(_EchoCodec, "from_pretrained", staticmethod(broken))
    conditions, note = bench.codec_conditions(["a dog"], args)
    assert list(conditions) == ["original"] and "no checkpoint here" in note


def test_quick_run_on_tiny_models_says_so(bench, tmp_path, capsys):
    out = tmp_path / "ckb.json"
    assert bench.main(["--models", "tiny", "--quick", "--device", "cpu", "--no-quality",
                       "--threads", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "TINY RANDOM MODELS" in printed
    result = json.loads(out.read_text())
    assert result["models"] == "tiny" and "TINY" in result["note"]
    (row,) = result["latency"]
    assert row["device"] == "cpu" and row["steps"] == 2 and row["size"] == 16
    for key in ("caption_ms_per_image", "caption_ms_single", "generate_ms_per_image",
                "generate_ms_per_step", "caption_model_mb", "generator_model_mb", "caption_peak_mb"):
        assert row[key] > 0 and math.isfinite(row[key])
