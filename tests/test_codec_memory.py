"""MED memory (STM/LTM with the RBF selection rule), metrics and the digital baseline."""

from __future__ import annotations

import numpy as np
import pytest

from vlmcsc.model.memory import MedMemory, representativeness
from vlmcsc.model.metrics import bleu, exact_match


def test_representativeness_matches_formula():
    v = np.array([[0.0, 0.0], [3.0, 4.0]])
    mem = np.array([[0.0, 0.0], [0.0, 10.0]])
    tau = 10.0
    r = representativeness(v, mem, tau)
    want0 = (1.0 + np.exp(-100.0 / 200.0)) / 2
    want1 = (np.exp(-25.0 / 200.0) + np.exp(-(9.0 + 36.0) / 200.0)) / 2
    np.testing.assert_allclose(r, [want0, want1])
    assert np.all(representativeness(v, np.zeros((0, 2)), tau) == 0)


def test_representativeness_excludes_self():
    v = np.array([[0.0], [100.0]])
    r = representativeness(v, v, tau=1.0, exclude_self=True)
    np.testing.assert_allclose(r, [0.0, 0.0], atol=1e-12)  # each is far from the only other one


def test_selection_keeps_representative_samples_and_drops_outliers():
    rng = np.random.default_rng(0)
    mem = MedMemory(stm_size=50, ltm_size=1000, tau=10.0, threshold=0.05, seed=0)
    cluster = rng.normal(0.0, 1.0, (45, 8))          # typical samples: close together
    outliers = rng.normal(0.0, 1.0, (5, 8)) + 200.0 * np.eye(8)[:5]  # far from everything
    feats = np.concatenate([cluster, outliers])
    ids = [[i] for i in range(50)]
    mem.add(ids, feats)  # the 50th sample fills the STM and triggers selection
    kept = sorted(s[0] for s, _ in mem.ltm)
    assert kept == list(range(45))
    assert mem.stm == [] and mem.admitted == 45
    assert len(mem.sample(10)) == 10


def test_threshold_controls_admission():
    feats = np.random.default_rng(1).normal(0.0, 1.0, (10, 4))
    strict = MedMemory(stm_size=10, threshold=1.01)  # R <= 1 always: nothing passes
    strict.add([[i] for i in range(10)], feats)
    assert len(strict.ltm) == 0
    loose = MedMemory(stm_size=10, threshold=0.0)
    loose.add([[i] for i in range(10)], feats)
    assert len(loose.ltm) == 10


def test_ltm_is_capped():
    feats = np.zeros((30, 2))
    mem = MedMemory(stm_size=10, ltm_size=15, threshold=0.0, seed=3)
    mem.add([[i] for i in range(30)], feats)
    assert len(mem.ltm) == 15


def test_memory_validation():
    with pytest.raises(ValueError):
        MedMemory(stm_size=1)
    with pytest.raises(ValueError):
        MedMemory(tau=0.0)


def test_bleu_values():
    assert bleu(["a dog runs"], ["a dog runs"]) == pytest.approx(1.0)
    assert bleu(["a dog runs"], ["the cat sleeps"]) == pytest.approx(0.0)
    # 3 of 4 unigrams match, same length: BLEU-1 = 0.75
    assert bleu(["a dog runs fast"], ["a dog runs slowly"]) == pytest.approx(0.75)
    assert bleu(["a dog runs fast"], ["a dog runs slowly"], n=2) < 0.75
    with pytest.raises(ValueError):
        bleu(["a"], [])
    with pytest.raises(ValueError):
        bleu(["a"], ["a"], n=5)
    assert exact_match(["a b", "c"], ["a b", "d"]) == 0.5


def test_digital_baseline_clean_and_cliff():
    pytest.importorskip("vlmcsc.phy.fec")
    from vlmcsc.model.digital import DigitalBaseline

    words = "a dog runs across the green grass two children play".split()
    dig = DigitalBaseline(words)
    texts = ["a dog runs across the green grass", "two children play"]
    out, stats = dig.transmit(texts, [200, 200], snr_db=30.0, kind="awgn", seed=0)
    assert out == texts and stats["ok"] == 2
    out, stats = dig.transmit(texts, [200, 200], snr_db=-5.0, kind="awgn", seed=0)
    assert stats["crc_fail"] == 2 and out == ["", ""]
    out, stats = dig.transmit(texts, [3, 3], snr_db=30.0)  # budget too small: frame not sent
    assert stats["no_fit"] == 2
