"""``vlmcsc demo``: the whole link on one machine, on embedded defaults.

Captions (built-in, ``--text``, ``--text-file``, or from ``--image`` files through BLIP) go through
the shipped semantic codec, the OFDM transmitter, a loopback radio with a realistic channel
(multipath, CFO, SFO, phase noise, AWGN), the streaming receiver and the decoder, whose NAM gets
the receiver's per-frame SNR estimate. Per frame it prints what was sent and received, the
estimated SNR, CFO, BLEU-1 and sentence similarity; then a summary. With Stable Diffusion weights
on the machine, the received captions are also drawn as images (``--out``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .captions import BUILTIN_CAPTIONS


def add_arguments(parser) -> None:
    from .profile import add_profile_arguments

    add_profile_arguments(parser)
    src = parser.add_argument_group("what to send (default: built-in captions)")
    src.add_argument("--text", action="append", help="a caption to send (repeatable)")
    src.add_argument("--text-file", help="file with one caption per line")
    src.add_argument("--image", action="append",
                     help="image file to caption with BLIP and send (repeatable; needs BLIP weights)")
    parser.add_argument("--channel", help="channel preset: clean | awgn | rayleigh | ofdm | tdl | tdl_static (default tdl)")
    parser.add_argument("--snr", type=float, help="channel SNR, dB (default 15)")
    parser.add_argument("--tx-snr", type=float, help="SNR given to the encoder's NAM, dB (default: channel SNR)")
    parser.add_argument("--nam-snr", type=float, help="give the decoder's NAM this fixed SNR instead of the estimate")
    parser.add_argument("--system", choices=("semantic", "digital"), help="semantic codec (default) or digital baseline")
    parser.add_argument("--checkpoint", help="codec folder (default: shipped weights)")
    parser.add_argument("--seed", type=int, help="channel seed")
    parser.add_argument("--log", help="also log every frame as JSON lines here (for vlmcsc report)")
    parser.add_argument("--out", default="demo_out", help="folder for images drawn at the receiver")
    parser.add_argument("--similarity", action=__import__("argparse").BooleanOptionalAction, default=True,
                        help="score sentence similarity (MiniLM, offline)")
    parser.add_argument("--no-images", action="store_true", help="never load BLIP / Stable Diffusion")
    parser.add_argument("--caption-model", help="BLIP hub id or folder (default: vlmcsc.model.ckb's)")
    parser.add_argument("--image-model", help="Stable Diffusion hub id or folder (default: vlmcsc.model.ckb's)")
    parser.add_argument("--steps", type=int, default=25, help="Stable Diffusion denoising steps")
    parser.add_argument("--dashboard", metavar="[HOST:]PORT", help="serve the live dashboard on this port (127.0.0.1)")
    parser.add_argument("--dashboard-hold", type=float, default=0.0, metavar="S",
                        help="keep serving the dashboard S seconds after the demo ends")


def _caption_model(args) -> str:
    from vlmcsc.model.ckb import DEFAULT_CAPTION_MODEL

    return args.caption_model or DEFAULT_CAPTION_MODEL


def _auto_images(args, n: int = 4) -> list[str]:
    """Image mode by default: a few ImageNette images when BLIP weights and the data are here."""
    if args.no_images or args.text or args.text_file:
        return []
    try:
        from vlmcsc.model.ckb import IMAGE_SUFFIXES, weights_available
        from vlmcsc.model.data import data_dir

        root = data_dir()
        if root is None or not weights_available(_caption_model(args)):
            return []
        folder = root / "imagenette2_224_val500"
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        # one image from each of the first classes, so the captions differ
        seen, picked = set(), []
        for p in files:
            if p.parent not in seen:
                seen.add(p.parent)
                picked.append(str(p))
            if len(picked) == n:
                break
        return picked
    except Exception:  # noqa: BLE001 - image mode is optional; text mode always works
        return []


def _texts(args, profile_captions: str = "builtin") -> tuple[list[str], list[str] | None]:
    """Captions to send, and the image files they came from (image mode) or None."""
    images = list(args.image or []) or _auto_images(args)
    if images:
        from vlmcsc.model.ckb import Captioner

        captions = Captioner(_caption_model(args), local_files_only=True).caption(images)  # may raise
        return captions, images
    texts: list[str] = []
    if args.text:
        texts += args.text
    if args.text_file:
        from .captions import load_captions

        texts += load_captions(args.text_file)
    if texts:
        return texts, None
    if profile_captions and profile_captions != "builtin":
        from .captions import load_captions

        return load_captions(profile_captions), None
    return list(BUILTIN_CAPTIONS[:8]), None


def _image_generator(args):
    """An ImageGenerator when Stable Diffusion weights are on this machine, else None."""
    if args.no_images:
        return None
    try:
        from vlmcsc.model.ckb import DEFAULT_IMAGE_MODEL, ImageGenerator, weights_available

        model = args.image_model or DEFAULT_IMAGE_MODEL
        if not weights_available(model):
            return None
        return ImageGenerator(model, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - optional end: the text demo still runs
        print(f"(image generation off: {exc})", file=sys.stderr)
        return None


def run_demo(args) -> dict:
    import torch

    from vlmcsc.phy import OfdmConfig

    from .captions import unsendable
    from .channels import check_snr_for_channel
    from .field import FieldReceiver
    from .jsonlog import JsonLinesWriter
    from .link import SEQ_MODULO, LinkTransmitter, drain, load_codec, make_receiver
    from .profile import profile_from_args
    from .radios import open_radio
    from .scoring import Scorer

    torch.set_num_threads(1)  # tiny batches: threads only add overhead (and the CPU is shared)
    extra = {
        "radio.spec": "loopback", "channel.preset": args.channel, "channel.snr_db": args.snr,
        "channel.seed": args.seed, "codec.system": args.system, "codec.checkpoint": args.checkpoint,
    }
    if args.nam_snr is not None:
        extra |= {"snr.rx_policy": "fixed", "snr.rx_fixed_db": args.nam_snr}
    profile = profile_from_args(args, extra)
    if not args.profile and args.channel is None:
        profile.channel.setdefault("preset", "tdl")
    check_snr_for_channel(profile.channel.get("preset", "tdl"), args.snr)
    channel_snr = float(profile.channel.get("snr_db", 15.0))
    tx_snr = float(np.clip(args.tx_snr if args.tx_snr is not None else channel_snr, 0.0, 20.0))
    texts, images = _texts(args, profile.test.captions)
    t_load = time.perf_counter()
    codec = load_codec(profile.codec.checkpoint or None)
    cfg = OfdmConfig(**profile.phy)
    ltx = LinkTransmitter(codec, cfg, profile.codec.system, profile.codec.digital_modulation)
    scorer = Scorer(similarity=args.similarity)
    # the demo sends the texts in order, so frame seq carried texts[seq]
    field = FieldReceiver(codec, lambda seq: texts[seq % len(texts)], scorer, profile.snr.rx_policy,
                          profile.snr.rx_fixed_db)
    receiver = make_receiver(cfg, profile.radio.sample_rate_hz)
    radio = open_radio(profile, for_tx=True, cfg=cfg)
    log = JsonLinesWriter(args.log) if args.log else None
    generator = _image_generator(args)
    dashboard = None
    if args.dashboard:
        from .dashboard import start_dashboard

        dashboard = start_dashboard(args.dashboard, title="vlmcsc demo", sample_rate=profile.radio.sample_rate_hz)
    if images:
        print("image mode: BLIP captions at the transmitter")
        for path, caption in zip(images, texts):
            print(f"  {Path(path).name}: {caption}")
    system = ("semantic codec" if profile.codec.system == "semantic" else
              "digital baseline (raw UTF-8 + rate-1/2 FEC at the codec's channel uses, cut if it does not fit)")
    print(f"vlmcsc demo: {len(texts)} captions, {system}, channel "
          f"{profile.channel.get('preset', 'tdl')} at {channel_snr:g} dB, encoder NAM {tx_snr:g} dB, decoder NAM "
          f"{'PHY estimate' if profile.snr.rx_policy == 'estimate' else f'{profile.snr.rx_fixed_db:g} dB fixed'}")
    records = []
    t0 = time.perf_counter()
    with radio:
        for seq, text in enumerate(texts):
            why = unsendable(codec, text)
            if why is not None:  # the policy of tx/rx too: skipped, named, not scored, run goes on
                print(f"[{seq:2d}] SKIPPED ({why}): {text}")
                if log:
                    log.write({"type": "skipped", "seq": seq, "sent": text, "reason": why})
                continue
            iq, info = ltx.frame(seq, text, tx_snr)
            radio.transmit(iq)
            frames = [f for f in drain(radio, receiver, flush=2 * cfg.symbol_len) if f.seq == seq % SEQ_MODULO]
            if not frames:
                rec = {"type": "missed", "seq": seq, "sent": codec.normalize(text)}
                field.seen.add(seq)
                field.next_expected = seq + 1
            else:
                rec = [r for r in field.records(frames[0]) if r["type"] == "frame"][0]
            rec["channel_snr_db"] = channel_snr
            rec["channel"] = profile.channel.get("preset", "tdl")
            rec["modulation"] = info["modulation"]
            if info.get("truncated") and rec.get("status") == "ok":
                rec["status"] = "truncated"  # the text was cut to fit the channel uses: not "ok"
            records.append(rec)
            if log:
                log.write(rec)
            if dashboard is not None:
                dashboard.set_iq(iq)
                if frames:
                    dashboard.set_frame(frames[0])
                dashboard.add_record(rec)
            _print_frame(rec)
    elapsed = time.perf_counter() - t0
    summary = _summary(records, elapsed, time.perf_counter() - t_load, receiver.stats)
    if generator is not None:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        received = [r.get("received") or "" for r in records]
        if dashboard is not None:
            dashboard.state.image_dir = out
        for i, image in enumerate(generator.generate(received, seed=0, steps=args.steps)):
            image.save(out / f"rx_{i:03d}.png")
            if dashboard is not None:  # the regenerated image beside its frame in the table
                dashboard.set_image(records[i]["seq"], f"rx_{i:03d}.png")
        summary["images"] = str(out)
        print(f"images drawn from the received captions: {out}/rx_*.png")
    if log:
        log.write({"type": "end", "role": "demo", **summary})
        log.close()
    if dashboard is not None:
        dashboard.close(hold_s=args.dashboard_hold)
    return summary


def _print_frame(rec: dict) -> None:
    seq = rec["seq"]
    print(f"[{seq:2d}] sent: {rec['sent']}")
    if rec["type"] == "missed":
        print("     recv: (frame not detected)")
        return
    print(f"     recv: {rec['received']}")
    parts = [f"SNR est {rec['snr_db']:.1f} dB" if rec.get("snr_db") is not None else "SNR est -"]
    if rec.get("nam_snr_db") is not None:
        parts.append(f"NAM {rec['nam_snr_db']:.1f} dB")
    if rec.get("cfo_hz") is not None:
        parts.append(f"CFO {rec['cfo_hz'] / 1e3:+.2f} kHz")
    if rec.get("evm_db") is not None:
        parts.append(f"EVM {rec['evm_db']:.1f} dB")
    parts.append(f"BLEU-1 {rec['bleu1']:.2f}")
    if rec.get("similarity") is not None:
        parts.append(f"similarity {rec['similarity']:.2f}")
    if rec.get("status") != "ok":
        parts.append(rec["status"])
    print("     " + " | ".join(parts), flush=True)


def _summary(records: list[dict], elapsed: float, total: float, phy_stats: dict) -> dict:
    """The run's figures from :func:`.scoring.summarize` (same names and printing as rx and report)."""
    from .scoring import format_summary, summarize

    frames = [r for r in records if r["type"] == "frame"]
    summary = summarize(records) | {
        "exact": sum(1 for r in frames if r["received"] == r["sent"]),
        "seconds_link": round(elapsed, 2), "seconds_total": round(total, 2),
    }
    print("\nsummary")
    print(format_summary(summary))
    print(f"  {'exact captions':<40} {summary['exact']}")
    print(f"  receiver         {dict(phy_stats)}")
    print(f"  time             {summary['seconds_link']} s on the link, {summary['seconds_total']} s in all")
    return summary


def main(args) -> int:
    from .profile import ProfileError

    try:
        summary = run_demo(args)
    except (ProfileError, ValueError, FileNotFoundError) as exc:
        print(f"vlmcsc demo: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001
        if type(exc).__name__ == "ModelUnavailableError":
            print(f"vlmcsc demo: {exc}\n(run without --image to use the built-in captions)", file=sys.stderr)
            return 2
        raise
    return 0 if summary["frames_ok"] else 1
