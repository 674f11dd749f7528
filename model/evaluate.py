"""``vlmcsc eval``: BLEU-1..4, sentence similarity and exact match over an SNR sweep and channels.

The simulation path is the same as over the air: ``encode_text`` -> channel (``channels.py``, Es/N0
convention of the PHY) -> ``decode_symbols`` with the SNR. References are the codec-normalised
sentences (lower case, split punctuation), as in DeepSC-style evaluations.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from .channels import CHANNELS, apply_channel
from .codec import SemanticCodec
from .metrics import bleu, exact_match


def transmit(codec: SemanticCodec, texts: list[str], snr_db: float, kind: str = "awgn",
             seed: int = 0, batch_size: int = 256, rx_snr_db: float | None = None) -> tuple[list[str], list[str]]:
    """Send ``texts`` through ``kind`` at ``snr_db``; returns (references, decoded texts).

    Texts the codec cannot carry (over-long, empty) are skipped. ``rx_snr_db`` is what the receiver
    is told (default: the true SNR).
    """
    gen = torch.Generator().manual_seed(seed)
    refs, hyps = [], []
    rx_snr = snr_db if rx_snr_db is None else rx_snr_db
    for i in range(0, len(texts), batch_size):
        chunk = []
        for t in texts[i: i + batch_size]:
            try:
                codec.tokenize([t])
                chunk.append(t)
            except ValueError:
                continue
        if not chunk:
            continue
        syms = codec.encode_text(chunk, snr_db)
        lengths = [s.size for s in syms]
        x = torch.zeros(len(syms), max(lengths), dtype=torch.complex64)
        for j, s in enumerate(syms):
            x[j, : s.size] = torch.from_numpy(s)
        y = apply_channel(x, torch.full((len(syms),), float(snr_db)), kind, gen).numpy()
        hyps += codec.decode_symbols([y[j, : n] for j, n in enumerate(lengths)], rx_snr,
                                     symbols_per_token=codec.rate_for(snr_db))  # the rate the TX chose
        refs += [codec.normalize(t) for t in chunk]
    return refs, hyps


def evaluate_texts(codec, texts, snr_db, kind="awgn", seed=0, similarity=None, max_n=1) -> dict:
    """Metrics for one (SNR, channel) point: bleu1..bleu{max_n}, exact, optional similarity."""
    refs, hyps = transmit(codec, texts, snr_db, kind, seed)
    out = {f"bleu{n}": bleu(refs, hyps, n) for n in range(1, max_n + 1)}
    out["exact"] = exact_match(refs, hyps)
    if similarity is not None:
        out["similarity"] = float(np.mean(similarity(refs, hyps)))
    out["n"] = len(refs)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None, help="codec folder (default: shipped weights)")
    p.add_argument("--data", default=None, help="data root (default: $VLMCSC_DATA or ../shared/data)")
    p.add_argument("--corpus", default="flickr8k", help="flickr8k | coco | europarl (test split)")
    p.add_argument("--limit", type=int, default=1000, help="sentences evaluated (0 = all)")
    p.add_argument("--snrs", default="0,3,6,9,12,15,18", help="comma-separated SNRs, dB")
    p.add_argument("--channels", default="awgn,rayleigh,ofdm")
    p.add_argument("--similarity", action="store_true", help="also all-MiniLM-L6-v2 cosine (slower)")
    p.add_argument("--json", default=None, help="write results here")
    p.add_argument("--plot", default=None, help="write a BLEU-1 vs SNR plot (PNG) here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--threads", type=int, default=2)


def main(args) -> int:
    from tqdm import tqdm

    from .ckb import DeviceUnavailableError, resolve_device
    from .data import load_task

    torch.set_num_threads(max(1, args.threads))
    try:
        device = resolve_device(args.device)
    except DeviceUnavailableError as exc:
        print(f"vlmcsc eval: {exc}", file=sys.stderr)
        return 2
    codec = SemanticCodec.from_pretrained(args.checkpoint, device=str(device))
    texts = load_task(args.corpus, "test", args.data)
    if args.limit:
        texts = texts[: args.limit]
    snrs = [float(s) for s in args.snrs.split(",")]
    kinds = [k.strip() for k in args.channels.split(",")]
    for k in kinds:
        if k not in CHANNELS:
            raise SystemExit(f"unknown channel {k!r}; choose from {CHANNELS}")
    sim = None
    if args.similarity:
        from .metrics import SentenceSimilarity

        sim = SentenceSimilarity()
    results = {k: {} for k in kinds}
    for k in kinds:
        for s in tqdm(snrs, desc=k, file=sys.stderr):
            results[k][f"{s:g}"] = evaluate_texts(codec, texts, s, k, args.seed, sim, max_n=4)
    print(f"{'channel':9s} {'SNR dB':>6s} {'BLEU-1':>7s} {'BLEU-4':>7s} {'exact':>6s}")
    for k in kinds:
        for s, r in results[k].items():
            print(f"{k:9s} {s:>6s} {r['bleu1']:7.3f} {r['bleu4']:7.3f} {r['exact']:6.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"corpus": args.corpus, "results": results}, indent=2))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        for k in kinds:
            ax.plot(snrs, [results[k][f"{s:g}"]["bleu1"] for s in snrs], "o-", label=k)
        ax.set_xlabel("SNR Es/N0 (dB)")
        ax.set_ylabel("BLEU-1")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
    return 0
