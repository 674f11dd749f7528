"""MED memory (STM/LTM with the RBF selection rule), metrics and the digital baseline."""

from __future__ import annotations

import numpy as np
import pytest

from vlmcsc.model.memory import MedMemory, ReservoirMemory, representativeness
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
    mem = MedMemory(stm_size=50, ltm_size=1000, tau=10.0, threshold=0.05, seed=0, normalize=False)
    cluster = rng.normal(0.0, 1.0, (45, 8))          # typical samples: close together
    outliers = rng.normal(0.0, 1.0, (5, 8)) + 200.0 * np.eye(8)[:5]  # far from everything
    feats = np.concatenate([cluster, outliers])
    ids = [[i] for i in range(50)]
    mem.add(ids, feats)  # the 50th sample fills the STM and triggers selection
    kept = sorted(s[0] for s, _ in mem.ltm)
    assert kept == list(range(45))
    assert mem.stm == [] and mem.admitted == 45
    assert len(mem.sample(10)) == 10


def _caption_like_features(n, seed, centre=None):
    """Features like the codec's: a large common offset (norm ~10) plus per-sample variation."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(0.0, 1.0, 32) * 1.7 if centre is None else centre
    return centre + rng.normal(0.0, 0.5, (n, 32)) * rng.uniform(0.3, 2.0, (n, 1))


def test_paper_constants_on_raw_features_admit_everything_calibrated_rule_selects():
    # the reported fault: tau = 10 on raw features of norm ~10 gives R >= 0.7 for every sample
    feats = _caption_like_features(200, 1)
    assert np.linalg.norm(feats, axis=1).mean() > 5
    old = MedMemory(stm_size=200, ltm_size=1000, tau=10.0, threshold=0.05, normalize=False)
    r = old.add([[i] for i in range(200)], feats) or old.consolidate()
    assert len(old.ltm) == 200  # nothing rejected: MED degenerates to plain replay
    new = MedMemory(stm_size=200, ltm_size=1000)  # unit features, tau and lambda calibrated
    new.add([[i] for i in range(200)], feats)
    share = len(new.ltm) / 200
    assert 0.3 <= share <= 0.7, share
    cal = new.calibration[0]
    assert 0 < cal["tau"] < 2 and 0 < cal["threshold"] < 1
    # the admitted samples are the dense ones: closer to the centre than the rejected ones
    kept = {s[0] for s, _ in new.ltm}
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    d = np.linalg.norm(unit - unit.mean(0), axis=1)
    assert d[sorted(kept)].mean() < d[[i for i in range(200) if i not in kept]].mean()


def test_ltm_is_balanced_across_tasks():
    # three tasks streamed one after another; the old rule kept a random 1/3-ish of a shrinking
    # share of task 0 (3 samples by the end of task 3 in the benchmark); now each owns ltm//3
    mem = MedMemory(stm_size=50, ltm_size=150, seed=0)
    for task in range(3):
        feats = _caption_like_features(600, task + 10)
        for i in range(0, 600, 30):
            mem.add([[task, i + k] for k in range(30)], feats[i: i + 30], task=task, snr_db=5.0)
    mem.consolidate()
    counts = mem.task_counts()
    assert sorted(counts) == [0, 1, 2]
    assert all(45 <= c <= 50 for c in counts.values()), counts
    assert len(mem.ltm) <= 150
    # replay is task-balanced and keeps each sample's SNR
    items = mem.sample_items(3000)
    share = np.bincount([it.task for it in items], minlength=3) / 3000
    np.testing.assert_allclose(share, 1 / 3, atol=0.04)
    assert all(it.snr_db == 5.0 for it in items)


def test_over_quota_eviction_keeps_the_dense_core():
    rng = np.random.default_rng(4)
    dense = rng.normal(0.0, 0.05, (40, 8)) + np.eye(8)[0]
    sparse = rng.normal(0.0, 1.0, (40, 8))
    mem = MedMemory(stm_size=80, ltm_size=40, threshold=0.0, seed=0)  # admit all, then evict
    mem.add([[i] for i in range(80)], np.concatenate([dense, sparse]))
    kept = [s[0] for s, _ in mem.ltm]
    assert len(kept) == 40 and sum(k < 40 for k in kept) >= 36


def test_random_eviction_ablation_keeps_a_mix():
    rng = np.random.default_rng(4)
    dense = rng.normal(0.0, 0.05, (40, 8)) + np.eye(8)[0]
    sparse = rng.normal(0.0, 1.0, (40, 8))
    mem = MedMemory(stm_size=80, ltm_size=40, threshold=0.0, seed=0, evict="random")
    mem.add([[i] for i in range(80)], np.concatenate([dense, sparse]))
    kept = [s[0] for s, _ in mem.ltm]
    assert len(kept) == 40 and 10 <= sum(k < 40 for k in kept) <= 30
    with pytest.raises(ValueError):
        MedMemory(evict="oldest")


def test_reservoir_keeps_a_uniform_sample_of_the_stream():
    first_half = []
    for seed in range(20):
        res = ReservoirMemory(size=100, seed=seed)
        for i in range(0, 1000, 10):
            res.add([[j] for j in range(i, i + 10)], task=i // 500)
        assert len(res) == 100 and res.seen == 1000
        first_half.append(sum(s[0][0] < 500 for s in res.items))
    assert abs(np.mean(first_half) - 50) < 5
    assert len(res.sample(7)) == 7 and set(res.task_counts()) == {0, 1}
    with pytest.raises(ValueError):
        ReservoirMemory(size=0)


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
    with pytest.raises(ValueError):
        MedMemory(admit_quantile=1.0)
    with pytest.raises(ValueError):
        MedMemory(stm_size=4).add([[1], [2]], np.zeros((3, 2)))


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
