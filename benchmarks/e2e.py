"""End-to-end benchmark: the semantic link through the full PHY and a realistic channel.

Measures (JSON keys):
- ``bleu1_e2e_tdl``: {snr_db: BLEU-1} of the codec through transmitter -> loopback radio with the
  ``tdl`` channel (block-fading multipath, CFO 2.5 subcarriers, SFO 20 ppm, phase noise) ->
  streaming receiver (real sync, estimated channel and SNR) -> decoder, at -3..21 dB step 3;
  ``digital_bleu1_e2e_tdl`` the same for the digital baseline (UTF-8 bytes, FEC + CRC, same OFDM
  symbols as the codec's frame).
- ``sim_vs_e2e_gap_db``: horizontal SNR shift between the codec's BLEU-1 curve on its training
  channel (``model.channels``, default the OFDM-effective channel, perfect SNR) and the e2e curve
  (positive = the e2e link needs more SNR; goal <= 1.5 dB).
- ``frames_per_s_e2e_cpu``: frames per second through the whole chain, one CPU thread, text mode.
- ``field_rehearsal_frames_ok``: fraction of frames decoded in a two-process ZeroMQ rehearsal
  (tdl channel at 15 dB; goal >= 0.99).
- ``snr_to_nam_gain_bleu1``: mean BLEU-1 gain (over the SNR grid) from giving the decoder's NAM the
  PHY's per-frame SNR estimate instead of a fixed SNR (``--fixed-nam-snr``, default 10 dB).

Usage: ``python benchmarks/e2e.py [--quick] [--json PATH] [--checkpoint DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def test_captions(n: int, seed: int = 0) -> tuple[list[str], str]:
    """Held-out captions (Flickr8k test split when the data are present), else the built-in ones."""
    from vlmcsc.flowgraphs.captions import BUILTIN_CAPTIONS

    try:
        from vlmcsc.model.data import data_dir, flickr8k_captions

        if data_dir() is not None:
            caps = flickr8k_captions("test")
            rng = np.random.default_rng(seed)
            picked = [caps[i] for i in rng.choice(len(caps), size=min(n, len(caps)), replace=False)]
            return picked, "flickr8k test"
    except Exception:  # noqa: BLE001 - data optional: fall back to the built-in captions
        pass
    return list(BUILTIN_CAPTIONS), "built-in"


def e2e_curve(codec, scorer, system, snrs, frames, captions, channel="tdl", rx_policy="estimate",
              fixed_db=10.0, seed=1, equalizer=None):
    """{snr: row} through the full chain; row["bleu1"] scores missed frames 0, row["bleu1_received"]
    only the frames the receiver found."""
    from vlmcsc.flowgraphs.link import run_loopback_batch

    out = {}
    for i, snr in enumerate(snrs):
        row = run_loopback_batch(
            codec=codec, scorer=scorer, system=system, channel=channel, snr_db=float(snr), frames=frames,
            seed=seed * 1000 + i, captions=captions, rx_policy=rx_policy, rx_fixed_db=fixed_db,
            equalizer=equalizer,
        )
        out[float(snr)] = row
    return out


def _bleu(rows: dict, key: str = "bleu1") -> dict:
    return {s: (r[key] if r[key] is not None else 0.0) for s, r in rows.items()}


def sim_curve(codec, scorer, snrs, frames, captions, kind="ofdm", seed=1):
    """{snr: BLEU-1} on the codec's training channel (model.channels), true SNR to NAM."""
    import torch

    from vlmcsc.model.channels import apply_channel

    gen = torch.Generator().manual_seed(seed)
    out = {}
    texts = [captions[i % len(captions)] for i in range(frames)]
    for snr in snrs:
        syms = codec.encode_text(texts, snr_db=float(snr))
        scores = []
        for text, x in zip(texts, syms):
            xt = torch.from_numpy(x)[None, :]
            y = apply_channel(xt, torch.tensor([float(snr)]), kind, gen)[0].numpy()
            hyp = codec.decode_symbols([y], snr_db=[float(snr)])[0]
            scores.append(scorer.bleu1(codec.normalize(text), hyp))
        out[float(snr)] = float(np.mean(scores))
    return out


def snr_shift(ref: dict, test: dict) -> float | None:
    """The shift s (dB) that best aligns ``test(x)`` with ``ref(x - s)`` (least squares, 0.05 dB grid),
    over the SNRs where either curve is between 0.05 and 0.95 of its range (the informative part)."""
    xs = np.array(sorted(ref))
    r = np.array([ref[x] for x in xs])
    t = np.array([test[x] for x in xs])
    if np.ptp(r) < 0.05 or np.ptp(t) < 0.05:
        return None
    lo, hi = min(r.min(), t.min()), max(r.max(), t.max())
    best, best_err = None, np.inf
    for s in np.arange(-10.0, 10.0001, 0.05):
        shifted = np.interp(xs - s, xs, r, left=r[0], right=r[-1])
        informative = ((t > lo + 0.05 * (hi - lo)) & (t < hi - 0.05 * (hi - lo))) | (
            (shifted > lo + 0.05 * (hi - lo)) & (shifted < hi - 0.05 * (hi - lo)))
        if informative.sum() < 2:
            continue
        err = float(np.mean((t[informative] - shifted[informative]) ** 2))
        if err < best_err - 1e-12:
            best, best_err = float(round(s, 2)), err
    return best


def frames_per_second(codec, scorer, frames, captions):
    from vlmcsc.flowgraphs.link import run_loopback_batch

    t0 = time.perf_counter()
    row = run_loopback_batch(codec=codec, scorer=scorer, system="semantic", channel="tdl", snr_db=15.0,
                             frames=frames, seed=99, captions=captions)
    return frames / (time.perf_counter() - t0), row


def _effective_price(args) -> float:
    """The closed loop's rate price: ``--loop-rate-price`` or the checkpoint's calibrated one."""
    if args.loop_rate_price is not None:
        return float(args.loop_rate_price)
    from vlmcsc.flowgraphs.feedback import RatePolicyFeedback
    from vlmcsc.model.codec import WEIGHTS_DIR

    meta = json.loads((Path(args.checkpoint or WEIGHTS_DIR) / "config.json").read_text())
    return RatePolicyFeedback.default_price(meta.get("rate_policy"))


def closed_loop(args) -> dict:
    """Closed loop (rx reports SNR/losses over ZeroMQ, tx picks NAM SNR and rate) vs open loop (fixed
    8 symbols/token, NAM at the configured SNR) in two ``vlmcsc air`` rehearsals on ``tdl`` with the
    same channel-SNR schedule. BLEU-1 and keyword accuracy per sent frame (missed frames score 0)."""
    from vlmcsc.flowgraphs.air import rehearse
    from vlmcsc.flowgraphs.feedback import closed_loop_args
    from vlmcsc.flowgraphs.jsonlog import read_jsonl
    from vlmcsc.model.metrics import keyword_accuracy

    frames = args.loop_frames or (40 if args.quick else 300)
    schedule = args.loop_schedule or f"0:0,{frames // 2}:18,{frames}:0"
    out = {}
    for name, closed, rate in (("open", False, 8), ("closed", True, None)):
        with tempfile.TemporaryDirectory() as tmp:
            r = rehearse(frames=frames, snr_db=args.loop_configured_snr, channel="tdl", seed=9, workdir=tmp,
                         checkpoint=args.checkpoint, timeout=900, snr_schedule=schedule,
                         **closed_loop_args(closed, rate, args.loop_interval, args.loop_rate_price if closed else None))
            recs = [x for x in read_jsonl(r["log"]) if x.get("type") == "frame"]
        bleu = sum(x["bleu1"] for x in recs if x.get("bleu1") is not None) / frames
        kw = keyword_accuracy([x["sent"] for x in recs], [x["received"] for x in recs]) if recs else 0.0
        out[name] = {"bleu1": round(bleu, 4), "keyword_accuracy_received": round(kw, 4),
                     "frames_received": r["frames_received"], "channel_uses_total": r.get("channel_uses_total"),
                     "symbols_per_token_mean": r.get("symbols_per_token_mean"), "frames_sent": r.get("frames_sent")}
        print(f"  {name} loop: BLEU-1 {bleu:.3f}, {r['frames_received']}/{frames} frames, "
              f"channel uses {r.get('channel_uses_total')}", file=sys.stderr)
    ratio = None
    if out["open"]["channel_uses_total"]:
        ratio = out["closed"]["channel_uses_total"] / out["open"]["channel_uses_total"]
    return {"closed_loop_bleu1": out["closed"]["bleu1"], "open_loop_bleu1": out["open"]["bleu1"],
            "closed_loop_channel_use_ratio": None if ratio is None else round(ratio, 4),
            "keyword_accuracy": {"closed_loop": out["closed"]["keyword_accuracy_received"],
                                 "open_loop": out["open"]["keyword_accuracy_received"]},
            "closed_loop_detail": {"frames": frames, "schedule": schedule, "channel": "tdl",
                                   "configured_snr_db": args.loop_configured_snr, "interval_s": args.loop_interval,
                                   "rate_price": _effective_price(args),
                                   **out}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few frames per point (CI smoke run)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--checkpoint", default="", help="codec folder (default: shipped weights)")
    parser.add_argument("--frames", type=int, help="frames per SNR point (default 64, quick 12)")
    parser.add_argument("--sim-channel", default="ofdm", help="model.channels kind of the sim curve")
    parser.add_argument("--fixed-nam-snr", type=float, default=10.0,
                        help="the fixed SNR (dB) NAM gets in the comparison (default 10)")
    parser.add_argument("--equalizer", choices=("zf", "mmse"), help="analog equaliser (default: the link's)")
    parser.add_argument("--only-curve", action="store_true", help="just the codec's e2e curve (quick checks)")
    parser.add_argument("--rehearsal-frames", type=int, help="frames of the ZMQ rehearsal (default 200, quick 30)")
    parser.add_argument("--closed-loop-only", action="store_true",
                        help="only the closed- vs open-loop rehearsals (issue 14)")
    parser.add_argument("--no-closed-loop", action="store_true", help="skip the closed-loop rehearsals")
    parser.add_argument("--loop-frames", type=int, help="frames per loop rehearsal (default 300, quick 40)")
    parser.add_argument("--loop-schedule", help="channel SNR schedule (default 0:0,F/2:18,F:0)")
    parser.add_argument("--loop-configured-snr", type=float, default=9.0,
                        help="the SNR the transmitter is configured with (open loop; closed loop before feedback)")
    parser.add_argument("--loop-interval", type=float, default=0.05, help="tx pause between frames, s")
    parser.add_argument("--loop-rate-price", type=float, default=None,
                        help="the closed loop's --rate-price (default: the checkpoint's calibrated price; 0 = quality curve)")
    args = parser.parse_args(argv)
    if args.closed_loop_only:
        result = closed_loop(args)
        for key in ("closed_loop_bleu1", "open_loop_bleu1", "closed_loop_channel_use_ratio", "keyword_accuracy"):
            print(f"{key:>30}: {result[key]}")
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        return 0

    import torch

    from vlmcsc.flowgraphs.air import rehearse
    from vlmcsc.flowgraphs.link import load_codec
    from vlmcsc.flowgraphs.scoring import Scorer

    torch.set_num_threads(1)
    frames = args.frames or (12 if args.quick else 64)
    rehearsal_frames = args.rehearsal_frames or (30 if args.quick else 200)
    snrs = [float(s) for s in range(-3, 22, 3)]
    codec = load_codec(args.checkpoint or None)
    trained = (Path(args.checkpoint) if args.checkpoint else
               Path(__file__).resolve().parent.parent / "model" / "weights" / "model.safetensors").exists()
    scorer = Scorer(similarity=False)
    captions, caption_source = test_captions(max(frames, 64))

    t0 = time.perf_counter()
    codec_rows = e2e_curve(codec, scorer, "semantic", snrs, frames, captions, equalizer=args.equalizer)
    codec_curve = _bleu(codec_rows)
    if args.only_curve:
        print(json.dumps({str(s): round(v, 4) for s, v in codec_curve.items()}))
        return 0
    digital_curve = _bleu(e2e_curve(codec, scorer, "digital", snrs, frames, captions))
    fixed_curve = _bleu(e2e_curve(codec, scorer, "semantic", snrs, frames, captions, rx_policy="fixed",
                            fixed_db=args.fixed_nam_snr, equalizer=args.equalizer))
    simulated = sim_curve(codec, scorer, snrs, frames, captions, kind=args.sim_channel)
    fps, _ = frames_per_second(codec, scorer, max(20, frames), captions)
    with tempfile.TemporaryDirectory() as tmp:
        rehearsal = rehearse(frames=rehearsal_frames, snr_db=15.0, channel="tdl", seed=5, workdir=tmp,
                             checkpoint=args.checkpoint, timeout=540)

    gain = float(np.mean([codec_curve[s] - fixed_curve[s] for s in snrs]))
    loop = {} if args.no_closed_loop else closed_loop(args)
    result = {
        "bleu1_e2e_tdl": {str(s): round(v, 4) for s, v in codec_curve.items()},
        "digital_bleu1_e2e_tdl": {str(s): round(v, 4) for s, v in digital_curve.items()},
        "sim_bleu1": {str(s): round(v, 4) for s, v in simulated.items()},
        "sim_vs_e2e_gap_db": snr_shift(simulated, codec_curve),
        # the same with frames the receiver never found left out: the codec's share of the gap
        "sim_vs_e2e_gap_db_received": snr_shift(simulated, _bleu(codec_rows, "bleu1_received")),
        "frames_ok_e2e_tdl": {str(s): round(r["frames_ok"] / r["frames"], 4) for s, r in codec_rows.items()},
        "snr_est_mean_e2e_tdl": {str(s): r["snr_est_db"] for s, r in codec_rows.items()},
        "frames_per_s_e2e_cpu": round(fps, 2),
        "field_rehearsal_frames_ok": round(rehearsal["frames_ok_rate"], 4),
        "snr_to_nam_gain_bleu1": round(gain, 4),
        "fixed_nam_bleu1_e2e_tdl": {str(s): round(v, 4) for s, v in fixed_curve.items()},
        **loop,
        "settings": {
            "quick": args.quick, "frames_per_point": frames, "rehearsal_frames": rehearsal_frames,
            "captions": caption_source, "sim_channel": args.sim_channel, "fixed_nam_snr_db": args.fixed_nam_snr,
            "trained_checkpoint": trained, "seconds": round(time.perf_counter() - t0, 1),
        },
    }
    print(f"{'SNR dB':>7} {'codec e2e':>10} {'(received)':>10} {'frames ok':>9} {'digital':>8} {'codec sim':>10} "
          f"{'fixed NAM':>10}")
    for s in snrs:
        row = codec_rows[s]
        print(f"{s:7.0f} {codec_curve[s]:10.3f} {row['bleu1_received'] or 0.0:10.3f} "
              f"{row['frames_ok'] / row['frames']:9.2f} {digital_curve[s]:8.3f} {simulated[s]:10.3f} "
              f"{fixed_curve[s]:10.3f}")
    for key in ("sim_vs_e2e_gap_db", "sim_vs_e2e_gap_db_received", "frames_per_s_e2e_cpu", "field_rehearsal_frames_ok", "snr_to_nam_gain_bleu1"):
        print(f"{key:>28}: {result[key]}")
    if not trained:
        print("note: no trained codec checkpoint; numbers are from an untrained codec (plumbing only)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
