"""``vlmcsc tx`` / ``vlmcsc rx``: the two ends of a field test, as separate processes.

They share only the air (real radios, or ZeroMQ through ``vlmcsc air``) and the test settings:
the TX sends frame ``seq`` = 0, 1, 2, ... carrying ``TestSequence(captions, seed).text(seq)``,
encoded at the configured SNR (or an SNR schedule); the RX rebuilds the same sequence, so it
knows what each received frame should say. The RX logs one JSON line per frame (and per missed
frame) as it goes, so a log cut by Ctrl-C is complete up to that point.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from .captions import TestSequence, load_captions
from .jsonlog import JsonLinesWriter
from vlmcsc.sdr.radio import RadioError

from .profile import ProfileError, add_profile_arguments, profile_from_args


def _common(parser) -> None:
    add_profile_arguments(parser)
    parser.add_argument("--radio", help="loopback | zmq:tcp://127.0.0.1:5555 | soapy:driver=... | pluto:ip:...")
    parser.add_argument("--freq", type=float, help="centre frequency, Hz (required for real radios)")
    parser.add_argument("--rate", type=float, help="sample rate, Hz")
    parser.add_argument("--frames", type=int, help="frames to send / expect (0 = until Ctrl-C)")
    parser.add_argument("--seed", type=int, help="test-sequence seed (TX and RX must agree)")
    parser.add_argument("--captions", help="'builtin' or a file with one caption per line (same on both ends)")
    parser.add_argument("--system", choices=("semantic", "digital"), help="semantic codec or digital baseline")
    parser.add_argument("--checkpoint", help="codec folder (default: shipped weights)")
    parser.add_argument("--log", help="JSON-lines log (appended, flushed per line)")


def _extra(args) -> dict:
    return {
        "radio.spec": args.radio, "radio.frequency_hz": args.freq, "radio.sample_rate_hz": args.rate,
        "test.frames": args.frames, "test.seed": args.seed, "test.captions": args.captions,
        "codec.system": args.system, "codec.checkpoint": args.checkpoint,
    }


# -- TX --------------------------------------------------------------------------------------------
def add_tx_arguments(parser) -> None:
    _common(parser)
    parser.add_argument("--tx-gain", type=float, help="TX gain, dB (required for real radios)")
    parser.add_argument("--snr", type=float, help="SNR (dB) given to the encoder's NAM")
    parser.add_argument("--interval", type=float, help="pause between frames, s")
    parser.add_argument("--feedback", metavar="ADDR",
                        help="listen for the receiver's SNR reports here (ZeroMQ, e.g. tcp://*:5560) and set "
                             "NAM SNR and rate from them (see flowgraphs/feedback.py)")
    parser.add_argument("--symbols-per-token", type=int, metavar="K",
                        help="fixed symbols per token (default: the checkpoint's rate policy at the SNR)")


def main_tx(args) -> int:
    import torch

    from vlmcsc.phy import OfdmConfig

    from .feedback import open_tx_feedback
    from .link import LinkTransmitter, load_codec
    from .radios import open_radio

    torch.set_num_threads(1)
    try:
        extra = _extra(args) | {"radio.tx_gain_db": args.tx_gain, "snr.tx_snr_db": args.snr,
                                "test.interval_s": args.interval}
        profile = profile_from_args(args, extra)
        cfg = OfdmConfig(**profile.phy)
        seq_texts = TestSequence(load_captions(profile.test.captions), profile.test.seed)
        codec = load_codec(profile.codec.checkpoint or None)
        ltx = LinkTransmitter(codec, cfg, profile.codec.system, profile.codec.digital_modulation)
        radio = open_radio(profile, for_tx=True, cfg=cfg)
        fb = open_tx_feedback(getattr(args, "feedback", None), codec, getattr(args, "symbols_per_token", None))
    except (ProfileError, RadioError, ValueError, FileNotFoundError) as exc:
        print(f"vlmcsc tx: {exc}", file=sys.stderr)
        return 2
    log = JsonLinesWriter(args.log) if args.log else None
    frames = profile.test.frames
    t0 = time.monotonic()
    seq = 0
    try:
        with radio:
            if log:
                log.write({"type": "start", "role": "tx", "radio": radio.settings(), "profile": profile.to_dict()})
            while frames == 0 or seq < frames:
                t = time.monotonic() - t0
                snr, rate = fb.choose(profile.tx_snr_at(t))
                text = seq_texts.text(seq)
                iq, info = ltx.frame(seq, text, snr, rate)
                radio.transmit(iq)
                record = {"type": "sent", "seq": seq, "tx_snr_db": snr, "sent": text, **info}
                if log:
                    log.write(record)
                print(f"tx {seq:5d}  snr {snr:5.1f} dB  {info['modulation']:>6}  {text}", flush=True)
                seq += 1
                if profile.test.interval_s:
                    time.sleep(profile.test.interval_s)
            if log:
                log.write({"type": "end", "role": "tx", "frames": seq, "radio_stats": radio.stats.as_dict()})
    except KeyboardInterrupt:
        print(f"\ntx interrupted after {seq} frames", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - radio errors end the run with the reason
        print(f"vlmcsc tx: {exc}", file=sys.stderr)
        return 1
    finally:
        fb.close()
        if log:
            log.close()
    print(f"tx done: {seq} frames")
    return 0


# -- RX --------------------------------------------------------------------------------------------
def add_rx_arguments(parser) -> None:
    _common(parser)
    parser.add_argument("--rx-gain", type=float, help="RX gain, dB")
    parser.add_argument("--nam-snr", type=float,
                        help="give NAM this fixed SNR (dB) instead of the PHY's per-frame estimate")
    parser.add_argument("--idle-exit", type=float, default=0.0,
                        help="stop after this many seconds without samples (0 = never)")
    parser.add_argument("--sigmf", help="also record the received IQ to this SigMF file (base name)")
    parser.add_argument("--similarity", action=__import__("argparse").BooleanOptionalAction, default=True,
                        help="score sentence similarity (loads a small sentence model)")
    parser.add_argument("--quiet", action="store_true", help="no per-frame lines on stdout")
    parser.add_argument("--feedback", metavar="ADDR",
                        help="report each frame's SNR and losses to the transmitter here (ZeroMQ, e.g. "
                             "tcp://txhost:5560; see flowgraphs/feedback.py)")


class FieldReceiver:
    """Decodes PHY frames into per-frame records and notices missed sequence numbers."""

    def __init__(self, codec, text_for, scorer, rx_policy="estimate", rx_fixed_db=10.0) -> None:
        """``text_for(seq) -> str``: what frame ``seq`` carried (e.g. ``TestSequence.text``)."""
        from .link import LinkReceiver, SeqUnwrapper

        self.codec = codec
        self.text_for = text_for
        self.scorer = scorer
        self.lrx = LinkReceiver(codec, rx_policy, rx_fixed_db)
        self.unwrap = SeqUnwrapper()
        self.next_expected = 0
        self.seen: set[int] = set()

    def records(self, frame) -> list[dict]:
        """The records for one frame: 'missed' ones for any gap before it, then the 'frame' one."""
        from .link import frame_numbers

        seq = self.unwrap(frame.seq)
        out = []
        if seq in self.seen:
            return [{"type": "duplicate", "seq": seq}]
        for missing in range(self.next_expected, seq):
            if missing not in self.seen:
                out.append({"type": "missed", "seq": missing})
        self.seen.add(seq)
        self.next_expected = max(self.next_expected, seq + 1)
        dec = self.lrx.decode(frame)
        sent = self.text_for(seq)
        ref = self.codec.normalize(sent)
        received = dec["received"]
        bleu = self.scorer.bleu1(ref, received) if received else 0.0
        out.append({
            "type": "frame", "seq": seq, "system": "semantic" if dec["kind"] == "analog" else "digital",
            **frame_numbers(frame),
            "nam_snr_db": None if dec["nam_snr_db"] is None else round(dec["nam_snr_db"], 4), "bleu1": round(bleu, 4),
            "similarity": self.scorer.similarity(ref, received) if received else
            (0.0 if self.scorer.similarity_enabled else None),
            "status": dec["status"], "sent": ref, "received": received,
            "start_sample": int(getattr(frame, "start_sample", -1)),
        })
        return out

    def finish(self, expected: int) -> list[dict]:
        """'missed' records for frames ``< expected`` never seen (at the end of a run)."""
        return [{"type": "missed", "seq": s} for s in range(self.next_expected, expected) if s not in self.seen]


def _open_recorder(path: str, radio, profile):
    try:
        from vlmcsc.sdr.sigmf_io import SigMFRecorder
    except ImportError as exc:
        raise ProfileError(f"--sigmf needs vlmcsc.sdr.sigmf_io ({exc})") from exc
    import json

    return SigMFRecorder.for_radio(
        path, radio, description="vlmcsc rx field-test capture",
        extra={"vlmcsc:profile": json.dumps(profile.to_dict())},
    )


def main_rx(args) -> int:
    import torch

    from vlmcsc.phy import OfdmConfig

    from .feedback import FeedbackSender
    from .link import load_codec, make_receiver
    from .radios import open_radio
    from .scoring import Scorer

    torch.set_num_threads(1)
    try:
        extra = _extra(args) | {"radio.rx_gain_db": args.rx_gain}
        if args.nam_snr is not None:
            extra |= {"snr.rx_policy": "fixed", "snr.rx_fixed_db": args.nam_snr}
        profile = profile_from_args(args, extra)
        cfg = OfdmConfig(**profile.phy)
        seq_texts = TestSequence(load_captions(profile.test.captions), profile.test.seed)
        codec = load_codec(profile.codec.checkpoint or None)
        radio = open_radio(profile, for_tx=False, cfg=cfg)
        recorder = _open_recorder(args.sigmf, radio, profile) if args.sigmf else None
        fb = FeedbackSender(args.feedback) if getattr(args, "feedback", None) else None
    except (ProfileError, RadioError, ValueError, FileNotFoundError) as exc:
        print(f"vlmcsc rx: {exc}", file=sys.stderr)
        return 2
    scorer = Scorer(similarity=args.similarity)
    field = FieldReceiver(codec, seq_texts.text, scorer, profile.snr.rx_policy, profile.snr.rx_fixed_db)
    receiver = make_receiver(cfg, profile.radio.sample_rate_hz)
    log = JsonLinesWriter(args.log or "-")
    expected = profile.test.frames
    counts = {"frame": 0, "missed": 0, "ok": 0}
    clipped = 0  # samples at the ADC's full scale: analog symbols distort long before the SNR estimate notices
    last_data = time.monotonic()
    chunk = 16 * cfg.symbol_len

    def emit(record: dict) -> None:
        record = log.write(record)
        if fb is not None:
            fb.record(record)
        if record["type"] in counts:
            counts[record["type"]] += 1
        if record["type"] == "frame" and record["status"] == "ok":
            counts["ok"] += 1
        if not args.quiet and args.log:
            if record["type"] == "frame":
                snr = record["snr_db"] if record["snr_db"] is not None else float("nan")
                print(f"rx {record['seq']:5d}  snr {snr:5.1f} dB  bleu1 {record['bleu1']:.2f}  "
                      f"{record['status']:>5}  {record['received']}", flush=True)
            elif record["type"] == "missed":
                print(f"rx {record['seq']:5d}  MISSED", flush=True)

    interrupted = False
    try:
        with radio:
            emit({"type": "start", "role": "rx", "radio": radio.settings(), "profile": profile.to_dict()})
            while True:
                x = radio.receive(chunk, timeout=0.2)
                now = time.monotonic()
                if x.size:
                    last_data = now
                    hits = int(np.count_nonzero(np.maximum(np.abs(x.real), np.abs(x.imag)) >= 0.98))
                    if hits and not clipped:
                        print("vlmcsc rx: warning: received samples reach full scale (clipping); "
                              "lower the RX gain (--rx-gain)", file=sys.stderr, flush=True)
                    clipped += hits
                    if recorder is not None:
                        recorder.write(x)
                    for frame in receiver.process(x):
                        if recorder is not None:  # the capture marks where each frame starts
                            span = cfg.frame_len(getattr(frame, "num_ofdm_symbols", 0) or 0)
                            recorder.annotate_frame(frame, length=span)
                        for record in field.records(frame):
                            emit(record)
                elif args.idle_exit and now - last_data > args.idle_exit:
                    break
                if expected and field.next_expected >= expected:
                    break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        try:
            if not interrupted:
                # let a frame that ended at the stream's end out of the receiver
                for frame in receiver.process(np.zeros(2 * cfg.symbol_len, np.complex64)):
                    for record in field.records(frame):
                        emit(record)
            for record in field.finish(expected):
                emit(record)
            emit({"type": "end", "role": "rx", "frames": counts["frame"], "frames_ok": counts["ok"],
                  "missed": counts["missed"], "clipped_samples": clipped, "phy_stats": dict(getattr(receiver, "stats", {}) or {}),
                  "radio_stats": radio.stats.as_dict(), "interrupted": interrupted})
        finally:
            if recorder is not None:
                recorder.close()
            if fb is not None:
                fb.close()
            log.close()
    total = counts["frame"] + counts["missed"]
    print(f"rx done: {counts['ok']} decoded, {counts['frame'] - counts['ok']} failed, {counts['missed']} missed"
          f" of {total}", file=sys.stderr)
    return 130 if interrupted else 0
