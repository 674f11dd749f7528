"""``vlmcsc experiment NAME``: the paper's experiments, one command each (also ``benchmarks/paper.py``).

NAME is one of

- ``cl``       continual-learning map (paper Fig. 8 style): Flickr8k -> COCO -> Europarl, with and
               without MED memory, plus plain reservoir replay at equal memory;
- ``methods``  MED vs EWC vs LwF vs reservoir vs plain fine-tuning vs joint training (upper bound);
- ``snr``      forgetting across SNR conditions (high -> low -> high and the reverse), with/without MED;
- ``nam``      NAM (SNR uniform in 0..10 dB) vs fixed-SNR models (0/2/4/8 dB), AWGN and full PHY on tdl;
- ``deepsc``   a Europarl-only codec against DeepSC's published BLEU-1 in both noise conventions;
- ``jscc``     channel uses per image and trainable parameters: VLM-CSC vs a deep JSCC CNN (PSNR vs SNR);
- ``all``      every experiment above.

Every experiment runs over ``--seeds`` (>= 3) and reports each number as its mean with the spread
(std, min, max, per-seed values). ``--quick`` uses small codecs and short budgets (minutes on one
CPU core); the full form is the documented command in docs/experiments.md. Each writes a JSON
(``--json``) and one PNG figure per experiment (``--fig-dir``). SNR is Es/N0 per complex symbol.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

EXPERIMENTS = ("cl", "methods", "snr", "nam", "deepsc", "jscc")
DEEPSC_SNRS = [0, 3, 6, 9, 12, 15, 18]
DEEPSC_EUROPARL_AWGN = [0.42, 0.68, 0.89, 0.93, 0.95, 0.96, 0.97]  # Xie et al. 2021, Fig. 6 (BLEU-1)
DEEPSC_CONVENTION_DB = 3.0  # DeepSC's label SNR s is our Es/N0 s + 3 dB (real-valued power 1 per dimension)
CL_TASKS = ("flickr8k", "coco", "europarl")


@dataclass
class Budget:
    """Sizes and budgets of one form (defaults: the quick form, about a CPU-minute per experiment)."""

    width: int = 32
    heads: int = 2
    layers: int = 1
    ff: int = 64
    symbols_per_token: int = 8
    max_tokens: int = 24
    vocab: int = 1000
    tokenizer_texts: int = 5000      # per corpus
    train_texts: int = 5000          # per corpus (0 = all)
    steps: int = 80                  # per stage
    batch: int = 16
    lr: float = 3e-3
    memory: int = 200
    stm: int = 40
    n_eval: int = 60                 # test sentences per task
    eval_snrs: tuple = (0.0, 5.0, 10.0)
    nam_steps: int = 100
    phy_frames: int = 6
    deepsc_steps: int = 150
    jscc_steps: int = 30
    jscc_ratios: tuple = (1 / 24,)
    jscc_train_images: int = 60
    jscc_test_images: int = 3
    jscc_crop: int = 32
    med_evict: str = "dense"
    admit_quantile: float = 0.5


QUICK = Budget()
FULL = Budget(width=128, heads=8, layers=3, ff=256, max_tokens=64, vocab=4000, tokenizer_texts=100000,
              train_texts=0, steps=1500, batch=64, lr=2e-3, memory=2000, stm=500, n_eval=500, nam_steps=1500,
              phy_frames=100, deepsc_steps=6000, jscc_steps=3000, jscc_ratios=(1 / 6, 1 / 12, 1 / 24),
              jscc_train_images=400, jscc_test_images=100, jscc_crop=96)


# ------------------------------------------------------------------------------------------------
# shared pieces
def spread(values) -> dict:
    """{"mean", "std", "min", "max", "values"} of per-seed values (std with ddof=0)."""
    v = np.asarray([float(x) for x in values], np.float64)
    return {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()), "max": float(v.max()),
            "values": [round(float(x), 5) for x in v]}


def _tokenizer(corpora: tuple, budget: Budget, data):
    from vlmcsc.model.data import load_task
    from vlmcsc.model.tokenizer import train_tokenizer

    texts = []
    for name in corpora:
        t = load_task(name, "train", data)
        step = max(1, len(t) // budget.tokenizer_texts)
        texts += t[::step]
    return train_tokenizer(texts, budget.vocab)


def _codec(tok, budget: Budget, seed: int):
    import torch

    from vlmcsc.model.codec import CodecConfig, CodecNet, SemanticCodec

    cfg = CodecConfig(vocab_size=tok.get_vocab_size(), width=budget.width, heads=budget.heads,
                      layers=budget.layers, ff=budget.ff, symbols_per_token=budget.symbols_per_token,
                      max_tokens=budget.max_tokens)
    torch.manual_seed(seed)
    return SemanticCodec(CodecNet(cfg), tok, "cpu")


def _train_ids(codec, name: str, budget: Budget, data) -> list[list[int]]:
    """Token ids of (an evenly spaced subset of) corpus ``name``'s train split that the codec can carry."""
    from vlmcsc.model.data import load_task

    texts = load_task(name, "train", data)
    if budget.train_texts and len(texts) > budget.train_texts:
        texts = texts[:: len(texts) // budget.train_texts][: budget.train_texts]
    return _ids(codec, texts)


def _ids(codec, texts: list[str]) -> list[list[int]]:
    out = []
    for enc in codec.tokenizer.encode_batch(texts):
        if 0 < len(enc.ids) <= codec.max_tokens:
            out.append(enc.ids)
    return out


def _carried(codec, texts: list[str], n: int) -> list[str]:
    out = []
    for t in texts:
        ids = codec.tokenizer.encode(t).ids
        if 0 < len(ids) <= codec.max_tokens:
            out.append(t)
        if len(out) >= n:
            break
    return out


def _bleu(codec, texts, snr_db, kind, seed, nam_snr=None) -> float:
    """Corpus BLEU-1 of ``texts`` through ``kind`` at ``snr_db``; NAM told ``nam_snr`` (default the truth)."""
    import torch

    from vlmcsc.model.channels import apply_channel
    from vlmcsc.model.metrics import bleu

    tell = snr_db if nam_snr is None else nam_snr
    syms = codec.encode_text(texts, tell)
    lengths = [s.size for s in syms]
    x = torch.zeros(len(syms), max(lengths), dtype=torch.complex64)
    for j, s in enumerate(syms):
        x[j, : s.size] = torch.from_numpy(s)
    y = apply_channel(x, torch.full((len(syms),), float(snr_db)), kind, torch.Generator().manual_seed(seed)).numpy()
    hyps = codec.decode_symbols([y[j, :n] for j, n in enumerate(lengths)], tell)
    return bleu([codec.normalize(t) for t in texts], hyps, 1)


def phy_symbols(arrays: list[np.ndarray], channel: str, snr_db: float, seed: int) -> list:
    """Send each complex array as one analog PHY frame through the loopback radio with channel preset
    ``channel`` at ``snr_db``; returns per frame (received equalised symbols, PHY SNR estimate dB) or
    None for a frame the receiver missed."""
    from vlmcsc.phy import FrameTransmitter, OfdmConfig

    from .channels import make_loopback
    from .link import drain, make_receiver

    cfg = OfdmConfig()
    tx = FrameTransmitter(cfg)
    receiver = make_receiver(cfg, 1e6)
    out = []
    with make_loopback(channel, snr_db, seed=seed, cfg=cfg) as radio:
        radio.configure(sample_rate=1e6)
        for seq, x in enumerate(arrays):
            radio.transmit(tx.analog_frame(np.asarray(x), seq=seq))
            got = [f for f in drain(radio, receiver, flush=2 * cfg.symbol_len) if f.seq == seq]
            if not got or got[0].symbols is None:
                out.append(None)
                continue
            f = got[0]
            y = np.asarray(f.symbols)[: np.asarray(x).size]
            out.append((y, float(f.snr_db) if f.snr_db is not None and np.isfinite(f.snr_db) else snr_db))
    return out


def _phy_bleu(codec, texts, snr_db, seed, tx_snr=None, rx_snr=None, channel="tdl") -> tuple[float, int]:
    """Corpus BLEU-1 through the full PHY (missed frames decode as empty); returns (BLEU-1, frames lost)."""
    from vlmcsc.model.metrics import bleu

    syms = codec.encode_text(texts, snr_db if tx_snr is None else tx_snr)
    got = phy_symbols(syms, channel, snr_db, seed)
    hyps, lost = [], 0
    s = codec.symbols_per_token
    for x, g in zip(syms, got):
        if g is None or g[0].size != x.size:
            hyps.append("")
            lost += 1
            continue
        nam = float(np.clip(g[1], -10, 40)) if rx_snr is None else rx_snr
        hyps.append(codec.decode_symbols([g[0][: g[0].size - g[0].size % s]], [nam])[0])
    return bleu([codec.normalize(t) for t in texts], hyps, 1), lost


def _figure(path: Path | None, draw) -> str | None:
    if path is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig = draw(plt)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# 1 + 2: continual learning over tasks
def continual(methods: tuple, seeds: list[int], budget: Budget, data=None, fig: Path | None = None,
              tag: str = "cl") -> dict:
    """Flickr8k -> COCO -> Europarl for each method and seed; matrices, forgetting, final BLEU-1."""
    from vlmcsc.model.continual import ContinualConfig, Stage, average_accuracy, forgetting, run_sequence
    from vlmcsc.model.data import load_task

    tok = _tokenizer(CL_TASKS, budget, data)
    cfg = ContinualConfig(steps=budget.steps, batch_size=budget.batch, lr=budget.lr, warmup=20,
                          memory_size=budget.memory, stm_size=budget.stm, med_evict=budget.med_evict,
                          admit_quantile=budget.admit_quantile)
    runs: dict = {m: [] for m in methods}
    codec = _codec(tok, budget, 0)
    stages = [Stage(t, _train_ids(codec, t, budget, data), (0.0, 15.0)) for t in CL_TASKS]
    tests = {t: _carried(codec, load_task(t, "test", data), budget.n_eval) for t in CL_TASKS}
    for seed in seeds:
        codec = _codec(tok, budget, seed)

        def evaluate(c, si):
            return {t: float(np.mean([_bleu(c, tests[t], s, "rayleigh", 1000 + int(s)) for s in budget.eval_snrs]))
                    for t in CL_TASKS}

        t0 = time.process_time()
        first = run_sequence(codec, stages[:1], "plain", cfg, seed, evaluate)
        shared = first["stage0_state"]
        for m in methods:
            codec = _codec(tok, budget, seed)
            r = run_sequence(codec, stages, m, cfg, seed, evaluate, start_state=shared)
            r.pop("stage0_state", None)
            r["forgetting"] = forgetting(r["matrix"])
            r["final_bleu1"] = average_accuracy(r["matrix"])
            runs[m].append(r)
            _log(f"  [{tag}] seed {seed} {m:9s} forgetting {r['forgetting']:.3f} final {r['final_bleu1']:.3f}")
        _log(f"  [{tag}] seed {seed} done in {time.process_time() - t0:.0f} CPU s")
    res = {"methods": {m: {"forgetting": spread([r["forgetting"] for r in runs[m]]),
                           "final_bleu1": spread([r["final_bleu1"] for r in runs[m]]),
                           "matrix_mean": np.mean([r["matrix"] for r in runs[m]], 0).round(4).tolist(),
                           "runs": runs[m]} for m in methods},
           "tasks": list(CL_TASKS), "seeds": list(seeds),
           "metric": "BLEU-1 on each task's test split (n_eval sentences), block Rayleigh with LS CSI, "
                     f"mean over {list(budget.eval_snrs)} dB Es/N0",
           "forgetting_definition": "mean over tasks j < last of (best BLEU-1 on j after any earlier "
                                    "stage) - (BLEU-1 on j after the last stage) (Chaudhry et al. 2018)",
           "equal": f"{budget.steps} optimizer steps per task, batch {budget.batch} for every method; replay "
                    f"methods give half of each batch's slots to replayed samples and hold at most "
                    f"{budget.memory} samples (MED: LTM {budget.memory - budget.stm} + STM {budget.stm})"}
    fp = {m: np.array([r["forgetting"] for r in runs[m]]) for m in methods}
    if "plain" in methods and "med" in methods:
        res["forgetting_reduction_med"] = 1.0 - float(fp["med"].mean() / max(fp["plain"].mean(), 1e-9))
        res["forgetting_reduction_med_spread"] = spread(1.0 - fp["med"] / np.maximum(fp["plain"], 1e-9))
    for other in ("reservoir", "ewc", "lwf"):
        if other in methods and "med" in methods:
            res[f"med_minus_{other}_forgetting"] = float((fp["med"] - fp[other]).mean())
            res[f"med_minus_{other}_forgetting_spread"] = spread(fp["med"] - fp[other])

    def draw(plt):
        ms = [m for m in methods]
        fig, axes = plt.subplots(1, len(ms) + 1, figsize=(3.0 * (len(ms) + 1), 3.0))
        for ax, m in zip(axes, ms):
            mat = np.array(res["methods"][m]["matrix_mean"])
            ax.imshow(mat, vmin=0, vmax=1, cmap="viridis")
            for i in range(mat.shape[0]):
                for j in range(mat.shape[1]):
                    ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
            ax.set_xticks(range(len(CL_TASKS)), CL_TASKS, fontsize=7)
            ax.set_yticks(range(len(CL_TASKS)), [f"after {t}" for t in CL_TASKS], fontsize=7)
            ax.set_title(m, fontsize=9)
        ax = axes[-1]
        f = [res["methods"][m]["forgetting"] for m in ms]
        ax.bar(range(len(ms)), [x["mean"] for x in f], yerr=[x["std"] for x in f], color="tab:red")
        ax.set_xticks(range(len(ms)), ms, rotation=45, fontsize=7)
        ax.set_title("average forgetting (BLEU-1)", fontsize=9)
        return fig

    res["figure"] = _figure(fig, draw)
    return res


# ------------------------------------------------------------------------------------------------
# 3: forgetting across SNR conditions
SNR_HIGH, SNR_LOW = (10.0, 15.0), (0.0, 3.0)


def snr_switch(seeds: list[int], budget: Budget, data=None, fig: Path | None = None) -> dict:
    """Flickr8k trained high -> low -> high SNR and low -> high -> low, plain and MED; AWGN."""
    from vlmcsc.model.continual import ContinualConfig, Stage, run_sequence
    from vlmcsc.model.data import load_task

    tok = _tokenizer(("flickr8k",), budget, data)
    cfg = ContinualConfig(steps=budget.steps, batch_size=budget.batch, lr=budget.lr, warmup=20,
                          memory_size=budget.memory, stm_size=budget.stm, channels=("awgn",), channel_p=(1.0,))
    probe = {"low": float(np.mean(SNR_LOW)), "high": float(np.mean(SNR_HIGH))}
    orders = {"high_low_high": ("high", "low", "high"), "low_high_low": ("low", "high", "low")}
    drops = {m: [] for m in ("plain", "med")}
    curves: dict = {}
    codec = _codec(tok, budget, 0)
    train = _train_ids(codec, "flickr8k", budget, data)
    test = _carried(codec, load_task("flickr8k", "test", data), budget.n_eval)
    for seed in seeds:

        def evaluate(c, si):
            return {k: _bleu(c, test, s, "awgn", 2000 + int(s)) for k, s in probe.items()}

        for oname, order in orders.items():
            stages = [Stage(n, train, SNR_HIGH if n == "high" else SNR_LOW) for n in order]
            first = run_sequence(_codec(tok, budget, seed), stages[:1], "plain", cfg, seed, evaluate)
            for m in ("plain", "med"):
                r = run_sequence(_codec(tok, budget, seed), stages, m, cfg, seed, evaluate,
                                 start_state=first["stage0_state"])
                mat = r["matrix"]  # mat[i][j]: score at stage j's condition after stage i
                d = [mat[i][i] - mat[i + 1][i] for i in range(len(order) - 1)]
                drops[m].append(float(np.mean(d)))
                curves.setdefault(oname, {}).setdefault(m, []).append(mat)
                _log(f"  [snr] seed {seed} {oname} {m}: drops {np.round(d, 3).tolist()}")
    res = {"snr_switch_forgetting_med": float(np.mean(drops["med"])),
           "snr_switch_forgetting_med_spread": spread(drops["med"]),
           "snr_switch_forgetting_plain": float(np.mean(drops["plain"])),
           "snr_switch_forgetting_plain_spread": spread(drops["plain"]),
           "conditions_db": {"high": list(SNR_HIGH), "low": list(SNR_LOW)}, "probe_snr_db": probe,
           "metric": "BLEU-1 (Flickr8k test, AWGN) at the probe SNR of each condition; forgetting = mean "
                     "drop at the condition just left, over the 2 switches of both orders",
           "matrices_mean": {o: {m: np.mean(v, 0).round(4).tolist() for m, v in d.items()} for o, d in curves.items()},
           "seeds": list(seeds)}

    def draw(plt):
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
        for ax, (oname, order) in zip(axes, orders.items()):
            for m, style in (("plain", "--"), ("med", "-")):
                mat = np.array(res["matrices_mean"][oname][m])
                for cond, color in (("low", "tab:blue"), ("high", "tab:orange")):
                    col = [i for i, n in enumerate(order) if n == cond][0]
                    ax.plot(range(1, len(order) + 1), mat[:, col], style, color=color, marker="o",
                            label=f"{m}: BLEU-1 @ {probe[cond]:g} dB")
            ax.set_xticks(range(1, len(order) + 1), [f"after {n}" for n in order])
            ax.set_ylim(0, 1)
            ax.set_title(oname.replace("_", " -> "))
            ax.legend(fontsize=7)
        return fig

    res["figure"] = _figure(fig, draw)
    return res


# ------------------------------------------------------------------------------------------------
# 4: NAM vs fixed-SNR models
FIXED_SNRS = (0.0, 2.0, 4.0, 8.0)
NAM_TEST_SNRS = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)
NAM_PHY_SNRS = (0.0, 5.0, 10.0)


def nam_vs_fixed(seeds: list[int], budget: Budget, data=None, fig: Path | None = None, phy: bool = True) -> dict:
    """NAM on U[0, 10] dB vs fixed 0/2/4/8 dB models, from scratch, same budget; AWGN and PHY tdl."""
    from vlmcsc.model.continual import ContinualConfig, Stage, run_sequence
    from vlmcsc.model.data import load_task

    tok = _tokenizer(("flickr8k",), budget, data)
    cfg = ContinualConfig(steps=budget.nam_steps, batch_size=budget.batch, lr=budget.lr, warmup=20,
                          memory_size=budget.memory, stm_size=budget.stm, channels=("awgn",), channel_p=(1.0,))
    names = ["nam"] + [f"fixed_{f:g}dB" for f in FIXED_SNRS]
    awgn = {n: [] for n in names}
    tdl = {n: [] for n in names}
    lost = {n: [] for n in names}
    gains, gains_phy = [], []
    codec0 = _codec(tok, budget, 0)
    train = _train_ids(codec0, "flickr8k", budget, data)
    test = _carried(codec0, load_task("flickr8k", "test", data), budget.n_eval)
    phy_test = test[: budget.phy_frames]
    for seed in seeds:
        for n in names:
            fixed = None if n == "nam" else float(n.split("_")[1][:-2])
            rng_db = (0.0, 10.0) if fixed is None else (fixed, fixed)
            codec = _codec(tok, budget, seed)
            run_sequence(codec, [Stage("flickr8k", train, rng_db)], "plain", cfg, seed, lambda c, si: {"flickr8k": 0.0})
            awgn[n].append([_bleu(codec, test, s, "awgn", 3000 + int(s), nam_snr=fixed) for s in NAM_TEST_SNRS])
            if phy:
                pts = [_phy_bleu(codec, phy_test, s, 4000 + seed * 10 + int(s), tx_snr=fixed, rx_snr=fixed)
                       for s in NAM_PHY_SNRS]
                tdl[n].append([p[0] for p in pts])
                lost[n].append(sum(p[1] for p in pts))
            _log(f"  [nam] seed {seed} {n}: AWGN mean {np.mean(awgn[n][-1]):.3f}"
                 + (f", tdl mean {np.mean(tdl[n][-1]):.3f}" if phy else ""))
        best = max(np.mean(awgn[n][-1]) for n in names[1:])
        gains.append(float(np.mean(awgn["nam"][-1]) - best))
        if phy:
            gains_phy.append(float(np.mean(tdl["nam"][-1]) - max(np.mean(tdl[n][-1]) for n in names[1:])))
    res = {"nam_vs_fixed_gain_bleu1": float(np.mean(gains)), "nam_vs_fixed_gain_bleu1_spread": spread(gains),
           "awgn_bleu1": {n: {"snr_db": list(NAM_TEST_SNRS), "mean": np.mean(v, 0).round(4).tolist(),
                              "std": np.std(v, 0).round(4).tolist()} for n, v in awgn.items()},
           "metric": "Flickr8k test BLEU-1; gain = NAM mean over 0..10 dB minus the best fixed model's mean "
                     "(per seed); a fixed-SNR model's NAM is fed its training SNR at both ends",
           "seeds": list(seeds), "steps": budget.nam_steps}
    if phy:
        res["nam_vs_fixed_gain_bleu1_phy_tdl"] = float(np.mean(gains_phy))
        res["nam_vs_fixed_gain_bleu1_phy_tdl_spread"] = spread(gains_phy)
        res["phy_tdl_bleu1"] = {n: {"snr_db": list(NAM_PHY_SNRS), "mean": np.mean(v, 0).round(4).tolist(),
                                    "frames_lost": int(sum(lost[n])),
                                    "frames_sent": len(seeds) * len(NAM_PHY_SNRS) * budget.phy_frames}
                                for n, v in tdl.items()}

    def draw(plt):
        fig, axes = plt.subplots(1, 2 if phy else 1, figsize=(8 if phy else 4.5, 3.3), squeeze=False)
        for n in names:
            m = res["awgn_bleu1"][n]
            axes[0, 0].errorbar(NAM_TEST_SNRS, m["mean"], yerr=m["std"], marker="o", ms=3,
                                lw=2 if n == "nam" else 1, label=n)
            if phy:
                axes[0, 1].plot(NAM_PHY_SNRS, res["phy_tdl_bleu1"][n]["mean"], marker="o", ms=3,
                                lw=2 if n == "nam" else 1, label=n)
        axes[0, 0].set_title("AWGN")
        if phy:
            axes[0, 1].set_title("full PHY, tdl channel")
        for ax in axes[0]:
            ax.set_xlabel("SNR Es/N0 (dB)")
            ax.set_ylabel("BLEU-1")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        return fig

    res["figure"] = _figure(fig, draw)
    return res


# ------------------------------------------------------------------------------------------------
# 5: DeepSC on equal terms
def deepsc(seeds: list[int], budget: Budget, data=None, fig: Path | None = None) -> dict:
    """A Europarl codec (Europarl tokenizer) on DeepSC's test split A vs DeepSC's published BLEU-1."""
    from vlmcsc.model.continual import ContinualConfig, Stage, run_sequence
    from vlmcsc.model.data import load_task

    tok = _tokenizer(("europarl",), budget, data)
    cfg = ContinualConfig(steps=budget.deepsc_steps, batch_size=budget.batch, lr=budget.lr, warmup=50,
                          memory_size=budget.memory, stm_size=budget.stm, channels=("awgn",), channel_p=(1.0,))
    ours_es, ours_dsc, margins = [], [], []
    codec = _codec(tok, budget, 0)
    train = _train_ids(codec, "europarl", budget, data)
    test = _carried(codec, load_task("europarl", "test", data), budget.n_eval)
    for seed in seeds:
        codec = _codec(tok, budget, seed)
        run_sequence(codec, [Stage("europarl", train, (0.0, 21.0))], "plain", cfg, seed,
                     lambda c, si: {"europarl": 0.0})
        es = [_bleu(codec, test, s, "awgn", 5000 + s) for s in DEEPSC_SNRS]
        dsc = [_bleu(codec, test, s + DEEPSC_CONVENTION_DB, "awgn", 5000 + s) for s in DEEPSC_SNRS]
        ours_es.append(es)
        ours_dsc.append(dsc)
        margins.append(float(min(np.array(dsc) - np.array(DEEPSC_EUROPARL_AWGN))))
        _log(f"  [deepsc] seed {seed}: ours (DeepSC convention) {np.round(dsc, 3).tolist()}")
    res = {"deepsc_margin_min_bleu1": float(np.mean(margins)), "deepsc_margin_min_bleu1_spread": spread(margins),
           "snr_db": DEEPSC_SNRS, "deepsc_published_bleu1": DEEPSC_EUROPARL_AWGN,
           "ours_bleu1_deepsc_convention": np.mean(ours_dsc, 0).round(4).tolist(),
           "ours_bleu1_esn0_convention": np.mean(ours_es, 0).round(4).tolist(),
           "ours_std": np.std(ours_dsc, 0).round(4).tolist(),
           "conventions": {"esn0": "our SNR: Es/N0 per complex symbol, unit-power symbols",
                           "deepsc": "DeepSC code: label s means real-valued symbols of power 1 per dimension "
                                     "with noise std 1/sqrt(2*10^(s/10)) per dimension, i.e. Es/N0 = s + 3 dB",
                           "published": "DeepSC's numbers are in the DeepSC convention"},
           "test": "Europarl DeepSC test split A (held out from training)", "seeds": list(seeds),
           "steps": budget.deepsc_steps}

    def draw(plt):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        ax.plot(DEEPSC_SNRS, DEEPSC_EUROPARL_AWGN, "k^--", label="DeepSC (published, DeepSC conv.)")
        ax.errorbar(DEEPSC_SNRS, res["ours_bleu1_deepsc_convention"], yerr=res["ours_std"], marker="o",
                    label="ours, DeepSC convention")
        ax.plot(DEEPSC_SNRS, res["ours_bleu1_esn0_convention"], "o:", label="ours, Es/N0")
        ax.set_xlabel("SNR label (dB)")
        ax.set_ylabel("BLEU-1, Europarl test A")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        return fig

    res["figure"] = _figure(fig, draw)
    return res


# ------------------------------------------------------------------------------------------------
# 6: channel uses per image, trainable parameters; deep JSCC PSNR vs SNR
JSCC_SNRS = (0.0, 5.0, 10.0, 15.0, 20.0)


def caption_symbols(data=None, checkpoint=None) -> dict:
    """Complex symbols per image for VLM-CSC: caption tokens x symbols per token of the shipped codec,
    over the Flickr8k and COCO test captions (BLIP weights are not available offline)."""
    from vlmcsc.model.codec import SemanticCodec
    from vlmcsc.model.data import load_task

    codec = SemanticCodec.from_pretrained(checkpoint)
    lengths = []
    for name in ("flickr8k", "coco"):
        for enc in codec.tokenizer.encode_batch(load_task(name, "test", data)):
            if 0 < len(enc.ids) <= codec.max_tokens:
                lengths.append(len(enc.ids))
    lengths = np.asarray(lengths)
    s = codec.symbols_per_token
    return {"symbols_per_image_vlmcsc": float(lengths.mean() * s),
            "symbols_per_image_vlmcsc_spread": {"std": float(lengths.std() * s), "min": int(lengths.min() * s),
                                                "max": int(lengths.max() * s), "median": float(np.median(lengths) * s)},
            "params_vlmcsc_trainable": int(codec.num_parameters()),
            "caption_tokens_mean": float(lengths.mean()), "symbols_per_token": s, "n_captions": int(lengths.size),
            "source": "caption-length statistics of the Flickr8k + COCO test captions (no BLIP weights offline)"}


def jscc(seeds: list[int], budget: Budget, data=None, fig: Path | None = None, phy: bool = True) -> dict:
    """Deep JSCC CNN trained on Imagenette, PSNR vs SNR over AWGN and the full PHY (tdl)."""
    import torch

    from vlmcsc.model.channels import apply_channel
    from vlmcsc.model.data import data_dir
    from vlmcsc.model.jscc import DeepJSCC, load_images, psnr, train_jscc

    root = (Path(data) if data else data_dir(required=True)) / "imagenette2_224_val500"
    images, _labels = load_images(root)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(images))
    test_idx, train_idx = perm[:100][: budget.jscc_test_images], perm[100:][: budget.jscc_train_images]
    test = torch.from_numpy(images[test_idx]).permute(0, 3, 1, 2).float() / 255.0
    res = caption_symbols(data)
    per_ratio = {}
    for ratio in budget.jscc_ratios:
        key = f"1/{round(1 / ratio)}"
        aw, ph = [], []
        for seed in seeds:
            net = train_jscc(images[train_idx], ratio, budget.jscc_steps, seed, crop=budget.jscc_crop)
            with torch.no_grad():
                x = net.encode(test)
                row = []
                for s in JSCC_SNRS:
                    y = apply_channel(x, torch.full((x.shape[0],), s), "awgn", torch.Generator().manual_seed(int(s)))
                    row.append(psnr(net.decode(y, test.shape[2:]), test))
                aw.append(row)
                if phy:
                    prow = []
                    for s in JSCC_SNRS:
                        got = phy_symbols(list(x.numpy()), "tdl", s, seed=6000 + seed * 10 + int(s))
                        rec = []
                        for xi, g in zip(x, got):
                            lost = g is None or g[0].size != xi.numel()  # a missed frame decodes from zeros
                            yi = torch.zeros_like(xi) if lost else torch.from_numpy(g[0].astype(np.complex64))
                            rec.append(net.decode(yi[None], test.shape[2:])[0])
                        prow.append(psnr(torch.stack(rec), test))
                    ph.append(prow)
            _log(f"  [jscc] {key} seed {seed}: PSNR AWGN {np.round(aw[-1], 1).tolist()}")
        per_ratio[key] = {"symbols_per_image": DeepJSCC(ratio).symbols_per_image(), "params": DeepJSCC(ratio).num_parameters(),
                          "psnr_awgn_db": {"snr_db": list(JSCC_SNRS), "mean": np.mean(aw, 0).round(2).tolist(),
                                           "std": np.std(aw, 0).round(2).tolist()}}
        if phy:
            per_ratio[key]["psnr_phy_tdl_db"] = {"snr_db": list(JSCC_SNRS), "mean": np.mean(ph, 0).round(2).tolist(),
                                                 "std": np.std(ph, 0).round(2).tolist()}
    res["jscc"] = per_ratio
    res["symbols_per_image_jscc"] = {k: v["symbols_per_image"] for k, v in per_ratio.items()}
    res["params_jscc"] = {k: v["params"] for k, v in per_ratio.items()}
    res["jscc_setup"] = {"train_images": int(len(train_idx)), "test_images": int(len(test_idx)),
                         "steps": budget.jscc_steps, "crop": budget.jscc_crop,
                         "training_snr_db": [0, 20], "seeds": list(seeds)}
    res["ssq"] = "not run: no ImageNet classifier or BLIP/Stable Diffusion weights are available offline"

    def draw(plt):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        for key, v in per_ratio.items():
            ax.errorbar(JSCC_SNRS, v["psnr_awgn_db"]["mean"], yerr=v["psnr_awgn_db"]["std"], marker="o",
                        label=f"JSCC {key} ({v['symbols_per_image']} sym/img), AWGN")
            if phy:
                ax.plot(JSCC_SNRS, v["psnr_phy_tdl_db"]["mean"], "s--", label=f"JSCC {key}, PHY tdl")
        ax.set_xlabel("SNR Es/N0 (dB)")
        ax.set_ylabel("PSNR (dB), 224x224 Imagenette")
        ax.set_title(f"VLM-CSC: {res['symbols_per_image_vlmcsc']:.0f} symbols/image (caption)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        return fig

    res["figure"] = _figure(fig, draw)
    return res


# ------------------------------------------------------------------------------------------------
def run(names: list[str], quick: bool, seeds: list[int], fig_dir: Path | None, data=None,
        phy: bool = True, budget: Budget | None = None, on_result=None) -> dict:
    """Run the named experiments; returns the merged result dict (top-level issue keys + details).

    ``on_result(res)`` is called after each experiment with the results so far (the command line
    writes the JSON then, so an interrupted run keeps every finished experiment).
    """
    import torch

    torch.set_num_threads(1)
    budget = budget or (QUICK if quick else FULL)
    if "all" in names:
        names = list(EXPERIMENTS)
    out: dict = {"form": "quick" if quick else "full", "seeds": list(seeds), "budget": budget.__dict__,
                 "experiments": {}}
    figs = (lambda n: fig_dir / f"paper_{n}.png") if fig_dir is not None else (lambda n: None)
    cl_methods = None
    if "methods" in names:
        cl_methods = ("plain", "med", "reservoir", "ewc", "lwf", "joint")
    elif "cl" in names:
        cl_methods = ("plain", "med", "reservoir")
    for name in names:
        t0, w0 = time.process_time(), time.time()
        _log(f"experiment {name} ({out['form']}, seeds {seeds})")
        if name in ("cl", "methods"):
            if "continual" not in out["experiments"]:
                r = continual(cl_methods, seeds, budget, data, figs("cl"))
                out["experiments"]["continual"] = r
            r = out["experiments"]["continual"]
        elif name == "snr":
            r = out["experiments"]["snr"] = snr_switch(seeds, budget, data, figs("snr"))
        elif name == "nam":
            r = out["experiments"]["nam"] = nam_vs_fixed(seeds, budget, data, figs("nam"), phy)
        elif name == "deepsc":
            r = out["experiments"]["deepsc"] = deepsc(seeds, budget, data, figs("deepsc"))
        elif name == "jscc":
            r = out["experiments"]["jscc"] = jscc(seeds, budget, data, figs("jscc"), phy)
        else:
            raise ValueError(f"unknown experiment {name!r}; choose from {EXPERIMENTS + ('all',)}")
        for k, v in r.items():
            if k in ISSUE_KEYS or k.removesuffix("_spread") in ISSUE_KEYS:
                out[k] = v
        out.setdefault("cpu_s", {})[name] = round(time.process_time() - t0, 1)
        out.setdefault("wall_s", {})[name] = round(time.time() - w0, 1)
        if on_result is not None:
            on_result(out)
    return out


ISSUE_KEYS = ("forgetting_reduction_med", "med_minus_reservoir_forgetting", "med_minus_ewc_forgetting",
              "med_minus_lwf_forgetting", "snr_switch_forgetting_med", "snr_switch_forgetting_plain",
              "nam_vs_fixed_gain_bleu1", "deepsc_margin_min_bleu1", "symbols_per_image_vlmcsc",
              "symbols_per_image_jscc", "params_vlmcsc_trainable", "params_jscc")


def print_table(res: dict) -> None:
    print(f"paper experiments ({res['form']} form, seeds {res['seeds']})")
    print(f"{'key':36s} {'value':>10s} {'spread (std)':>12s}")
    for k in ISSUE_KEYS:
        if k not in res:
            continue
        v = res[k]
        sp = res.get(f"{k}_spread", {})
        if isinstance(v, dict):
            print(f"{k:36s} " + ", ".join(f"{a}: {b}" for a, b in v.items()))
        else:
            std = sp.get("std") if isinstance(sp, dict) else None
            print(f"{k:36s} {v:10.4f} {'' if std is None else f'{std:12.4f}'}")
    cont = res.get("experiments", {}).get("continual")
    if cont:
        print(f"{'method':10s} {'forgetting':>18s} {'final BLEU-1':>18s}")
        for m, v in cont["methods"].items():
            f, a = v["forgetting"], v["final_bleu1"]
            print(f"{m:10s} {f['mean']:9.3f} ± {f['std']:.3f}  {a['mean']:9.3f} ± {a['std']:.3f}")
    for name in res.get("cpu_s", {}):
        print(f"{name}: {res['cpu_s'][name]:.0f} CPU s, {res['wall_s'][name]:.0f} s wall")


# ------------------------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="+", choices=EXPERIMENTS + ("all",), help="experiment(s) to run")
    p.add_argument("--quick", action="store_true", help="small codecs, short budgets (minutes on CPU)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (>= 3 for a spread)")
    p.add_argument("--json", default=None, help="write the results here (written once, complete)")
    p.add_argument("--fig-dir", default=None, help="folder for the PNG figures (default: beside --json)")
    p.add_argument("--data", default=None, help="data root (default: $VLMCSC_DATA or ../shared/data)")
    p.add_argument("--no-phy", action="store_true", help="skip the full-PHY (tdl) parts of nam and jscc")
    p.add_argument("--memory", type=int, default=None, metavar="N",
                   help="replay memory, samples (ablation; default 200 quick, 2000 full; STM = N/5)")
    p.add_argument("--med-evict", choices=["dense", "random"], default=None,
                   help="MED over-quota rule (ablation; default dense)")
    p.add_argument("--admit-quantile", type=float, default=None,
                   help="MED: share of a typical STM rejected (ablation; default 0.5)")


def main(args) -> int:
    try:
        seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if not seeds:
        raise SystemExit("--seeds is empty")
    from vlmcsc.model.data import data_dir

    if args.data is None and data_dir() is None:
        raise SystemExit("data sets not found: set VLMCSC_DATA or pass --data (see model/data.py)")
    if args.data is not None and not Path(args.data).is_dir():
        raise SystemExit(f"--data {args.data}: no such folder")
    json_path = Path(args.json) if args.json else None
    if json_path is not None and json_path.exists() and json_path.is_dir():
        raise SystemExit(f"--json {json_path} is a folder")
    fig_dir = Path(args.fig_dir) if args.fig_dir else (json_path.parent if json_path else None)
    command = "vlmcsc experiment " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["experiment"] \
        else " ".join(["python", os.path.relpath(sys.argv[0]) if os.path.isabs(sys.argv[0]) else sys.argv[0],
                       *sys.argv[1:]])

    def write(res):
        res["command"] = command
        if json_path is not None:  # atomic: a reader never sees a half-written file
            tmp = json_path.with_name(json_path.name + ".tmp")
            tmp.write_text(json.dumps(res, indent=1, default=float) + "\n")
            tmp.replace(json_path)

    budget = QUICK if args.quick else FULL
    if args.memory is not None:
        if args.memory < 10:
            raise SystemExit(f"--memory must be >= 10 samples, got {args.memory}")
        budget = replace(budget, memory=args.memory, stm=max(2, args.memory // 5))
    if args.med_evict is not None:
        budget = replace(budget, med_evict=args.med_evict)
    if args.admit_quantile is not None:
        if not 0.0 <= args.admit_quantile < 1.0:
            raise SystemExit(f"--admit-quantile must be in [0, 1), got {args.admit_quantile}")
        budget = replace(budget, admit_quantile=args.admit_quantile)
    res = run(list(args.name), args.quick, seeds, fig_dir, args.data, phy=not args.no_phy, on_result=write,
              budget=budget)
    print_table(res)
    return 0
