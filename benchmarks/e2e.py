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
    args = parser.parse_args(argv)

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
