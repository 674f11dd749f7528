"""Codec v2 evaluation helpers and the rate policy a checkpoint ships (issue 14).

``simulate`` sends captions through the per-symbol channels of :mod:`.symbol_channels` (the
decoder gets each symbol's noise variance and the frame SNR as the receiver estimates them) at a
given rate; ``rate_table`` measures BLEU-1 and keyword accuracy per (SNR, rate) on held-out
captions; ``build_policy`` turns that table into the smallest rate meeting a quality target per SNR.
SNR is Es/N0 per complex symbol (noise variance 10^(-snr/10)).
"""

from __future__ import annotations

import numpy as np
import torch

from .codec import SemanticCodec, chase_combine, lagrangian_rate, reliability, repeat_symbols, table_row
from .metrics import bleu, keyword_accuracy
from .symbol_channels import symbol_channel


@torch.inference_mode()
def simulate(codec: SemanticCodec, texts: list[str], snr_db: float, rate: int, kind: str = "awgn",
             seed: int = 0, rx_snr_db: float | None = None, tx_snr_db: float | None = None,
             batch_size: int = 256) -> list[str]:
    """Decoded texts after ``kind`` at ``snr_db`` with ``rate`` symbols per token.

    ``tx_snr_db``/``rx_snr_db``: what the encoder's / decoder's NAM and per-symbol noise variances
    are told (default: the truth, with the receiver's estimation error). Texts must be carriable
    (see :meth:`SemanticCodec.tokenize`)."""
    gen = torch.Generator().manual_seed(int(seed))
    net = codec.net
    out = []
    for i in range(0, len(texts), batch_size):
        seqs = codec.tokenize(texts[i: i + batch_size])
        ids, pad = codec._batch(seqs)
        b = ids.shape[0]
        snr = torch.full((b,), float(snr_db))
        tx = snr if tx_snr_db is None else torch.full((b,), float(tx_snr_db))
        smax = net.cfg.max_symbols_per_token
        k = torch.full((b,), min(int(rate), smax))
        x = net.encode(ids, pad, tx, k)
        sent = net.sent_mask(pad, k)
        if rate > smax:  # repetition rate (SemanticCodec.rates): the copies ride the channel too
            x = repeat_symbols(x, int(rate), smax)
            x = x / torch.sqrt((x.abs() ** 2).sum((1, 2)) / (~pad).sum(1).clamp_min(1) / rate)[:, None, None]
            sent = (~pad)[..., None].expand(-1, -1, int(rate))
        y, nv, snr_rx = symbol_channel(x, sent, snr, kind, gen)
        if rx_snr_db is not None:  # the receiver is told another SNR: scale its noise estimates
            lie = 10 ** ((snr_rx - float(rx_snr_db)) / 10).reshape(b, 1, 1)
            nv = nv * lie
            snr_rx = torch.full((b,), float(rx_snr_db))
        if rate > smax:
            y, nv = chase_combine(y, torch.where(sent, nv, torch.full_like(nv, float("inf"))), smax)
            sent = net.sent_mask(pad, smax)
        logits = net.decode(y, reliability(nv) * sent, pad, snr_rx)
        ids_hat = logits.argmax(-1)
        out += [codec.tokenizer.decode(ids_hat[j][~pad[j]].tolist()) for j in range(b)]
    return out


def score(refs: list[str], hyps: list[str]) -> dict:
    return {"bleu1": bleu(refs, hyps, 1), "keyword_accuracy": keyword_accuracy(refs, hyps)}


def rate_table(codec: SemanticCodec, texts: list[str], snrs, rates=None, kind: str = "awgn",
               seed: int = 0) -> dict:
    """{snr: {rate: {"bleu1", "keyword_accuracy"}}} on ``texts`` (references: the texts as written)."""
    rates = list(rates or codec.rates)
    table = {}
    for s in snrs:
        table[float(s)] = {}
        for k in rates:
            hyps = simulate(codec, texts, float(s), k, kind, seed=seed + int(10 * s) + 1000 * k)
            table[float(s)][int(k)] = score(texts, hyps)
    return table


def build_policy(table: dict, target_bleu1: float = 0.95, target_keyword: float = 0.9,
                 tolerance: float = 0.03) -> dict:
    """Per SNR, the smallest rate whose BLEU-1 >= ``target_bleu1`` and keyword accuracy >=
    ``target_keyword``; where none reaches both, the smallest rate within ``tolerance`` of the best
    BLEU-1 + keyword accuracy at that SNR. The rate never rises with SNR (made monotone)."""
    snrs = sorted(table)
    ks = []
    for s in snrs:
        row = table[s]
        ok = [k for k in sorted(row) if row[k]["bleu1"] >= target_bleu1 and row[k]["keyword_accuracy"] >= target_keyword]
        if ok:
            ks.append(ok[0])
            continue
        best = max(row[k]["bleu1"] + row[k]["keyword_accuracy"] for k in row)
        ks.append(min(k for k in row if row[k]["bleu1"] + row[k]["keyword_accuracy"] >= best - tolerance))
    for i in range(1, len(ks)):
        ks[i] = min(ks[i], ks[i - 1])
    return {"snr_db": [float(s) for s in snrs], "symbols_per_token": ks,
            "target": {"bleu1": target_bleu1, "keyword_accuracy": target_keyword, "tolerance": tolerance}}


def price_for_budget(table: dict, snrs, reference_rate: int = 8, budget: float = 0.6,
                     prices=None, margin: float = 0.015) -> dict:
    """Calibrate the closed loop's rate price (see ``SemanticCodec.rate_for``) on a measured table.

    Quality first, then channel uses: over the SNRs ``snrs`` (each the table row at or below it),
    the Lagrangian rates of a price must keep the table-predicted mean BLEU-1 at least ``margin``
    above that of a fixed ``reference_rate`` (the table is AWGN at a known SNR; the margin absorbs
    fading and the transmitter's conservative SNR estimate: at margin 0 the calibrated price measured
    0.03 BLEU-1 below the fixed rate in the `tdl` closed loop). Among such prices (``prices``,
    default 0.000..0.100 in steps of 0.0025) the smallest whose mean rate is at most ``budget`` x
    ``reference_rate`` is taken; where none reaches the budget, the largest that keeps the quality.
    Returns ``{"price", "mean_rate", "bleu1", "reference_bleu1", "budget", "margin", "budget_met",
    "reference_rate", "snr_db"}`` (table-predicted means over ``snrs``).
    """
    rows = [table_row(table, float(s)) for s in snrs]
    prices = np.arange(0.0, 0.1001, 0.0025) if prices is None else prices
    ref = float(np.mean([r[str(reference_rate)]["bleu1"] for r in rows]))
    best = None
    for price in prices:
        ks = [lagrangian_rate(r, price) for r in rows]
        got = {"price": round(float(price), 4), "mean_rate": round(float(np.mean(ks)), 3),
               "bleu1": round(float(np.mean([r[str(k)]["bleu1"] for r, k in zip(rows, ks)])), 4)}
        if best is not None and got["bleu1"] < ref + margin - 1e-9:
            break  # this price would lose quality against the fixed rate
        best = got
        if got["mean_rate"] <= budget * reference_rate:
            break
    return {**best, "reference_bleu1": round(ref, 4), "budget": budget, "margin": margin,
            "budget_met": best["mean_rate"] <= budget * reference_rate, "reference_rate": reference_rate,
            "snr_db": [float(s) for s in snrs]}


def main(argv=None) -> int:
    """``python -m vlmcsc.model.rate_policy SRC DST``: measure the rate table of checkpoint SRC on
    Flickr8k dev captions (AWGN), build the policy and write SRC + policy to DST (float16)."""
    import argparse
    import json
    import shutil
    from pathlib import Path

    from .data import load_task

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--limit", type=int, default=200, help="dev captions measured")
    p.add_argument("--snrs", default="-2,0,2,4,6,8,10,12,14,16,18,20")
    p.add_argument("--target-bleu1", type=float, default=0.95)
    p.add_argument("--target-keyword", type=float, default=0.9)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--budget", type=float, default=0.6,
                   help="closed-loop channel-use budget, x the uses of 8 symbols/token (calibrates the rate "
                        "price, never below the BLEU-1 of 8 symbols/token)")
    p.add_argument("--budget-snr-min", type=float, default=0.0)
    p.add_argument("--budget-snr-max", type=float, default=18.0)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    codec = SemanticCodec.from_pretrained(a.src)
    texts = [t for t in load_task("flickr8k", "dev") if 0 < len(codec.tokenizer.encode(t).ids) <= codec.max_tokens]
    texts = texts[: a.limit]
    table = rate_table(codec, texts, [float(s) for s in a.snrs.split(",")])
    policy = build_policy(table, a.target_bleu1, a.target_keyword)
    policy["measured_on"] = f"{len(texts)} Flickr8k dev captions, AWGN, receiver-estimated noise variance"
    policy["table"] = {str(s): {str(k): {m: round(v, 4) for m, v in r.items()} for k, r in row.items()}
                       for s, row in table.items()}
    # the closed loop's default rate price: no table-predicted BLEU-1 lost against a fixed 8 symbols
    # per token over 0..18 dB (with a margin), then as few channel uses as possible (down to 0.6 x)
    policy["closed_loop"] = price_for_budget(policy["table"], np.arange(a.budget_snr_min, a.budget_snr_max + 0.01, 1.0),
                                             reference_rate=8, budget=a.budget)
    codec.set_rate_policy(policy)
    meta = json.loads((Path(a.src) / "config.json").read_text())
    extra = {k: v for k, v in meta.items() if k not in ("model", "weights_dtype", "rate_policy", "format_version")}
    codec.save_pretrained(a.dst, dtype="float16", extra=extra)
    if (Path(a.src) / "train_log.jsonl").is_file() and Path(a.src).resolve() != Path(a.dst).resolve():
        shutil.copy(Path(a.src) / "train_log.jsonl", Path(a.dst) / "train_log.jsonl")
    for s, k in zip(policy["snr_db"], policy["symbols_per_token"]):
        row = table[s][k]
        print(f"{s:6.1f} dB -> {k:2d} symbols/token  BLEU-1 {row['bleu1']:.3f}  keyword {row['keyword_accuracy']:.3f}")
    cl = policy["closed_loop"]
    print(f"closed-loop rate price {cl['price']}: mean {cl['mean_rate']} symbols/token over {a.budget_snr_min:g}.."
          f"{a.budget_snr_max:g} dB, table BLEU-1 {cl['bleu1']} (8 symbols/token: {cl['reference_bleu1']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
