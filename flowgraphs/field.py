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

from .captions import TestSequence, load_captions, unsendable
from .jsonlog import JsonLinesWriter
from vlmcsc.sdr.radio import RadioError

from .guard import describe
from .outputs import check_field_outputs, end_log
from .profile import ProfileError, add_profile_arguments, profile_from_args


_RADIO_HELP = ("radio spec: loopback | soapy:driver=... | pluto:ip:192.168.2.1[,kernel_buffers=N] | "
               "replay:FILE.sigmf-meta (rx) | sigmf:FILE (tx file sink) | zmq:tcp://HOST:PORT | "
               "zmq+pub:tcp://HOST:PORT (see vlmcsc.sdr.RADIO_SPECS)")


def _common(parser) -> None:
    add_profile_arguments(parser)
    parser.add_argument("--radio", help=_RADIO_HELP)
    parser.add_argument("--freq", type=float, help="centre frequency, Hz (required for real radios)")
    parser.add_argument("--rate", type=float, help="sample rate, Hz")
    parser.add_argument("--frames", type=int, help="frames to send / expect (0 = until Ctrl-C)")
    parser.add_argument("--seed", type=int, help="test-sequence seed (TX and RX must agree)")
    parser.add_argument("--captions", help="'builtin' or a file with one caption per line (same on both ends)")
    parser.add_argument("--system", choices=("semantic", "digital"), help="semantic codec or digital baseline")
    parser.add_argument("--checkpoint", help="codec folder (default: shipped weights)")
    parser.add_argument("--log", help="JSON-lines log (appended, flushed per line)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --sigmf recording")


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
    parser.add_argument("--rate-price", type=float, default=None, metavar="P",
                        help="with --feedback: BLEU-1 one symbol per token must buy (default: the price the "
                             "checkpoint calibrated on its AWGN table: predicted BLEU-1 at least 0.015 above 8 "
                             "symbols/token, then fewest channel uses down to 0.6x; 0 = its quality curve)")


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
        check_field_outputs(args, profile)  # before anything slow is loaded or any file opened
        cfg = OfdmConfig(**profile.phy)
        seq_texts = TestSequence(load_captions(profile.test.captions), profile.test.seed)
        codec = load_codec(profile.codec.checkpoint or None)
        ltx = LinkTransmitter(codec, cfg, profile.codec.system, profile.codec.digital_modulation)
        radio = open_radio(profile, for_tx=True, cfg=cfg)
        fb = open_tx_feedback(getattr(args, "feedback", None), codec, getattr(args, "symbols_per_token", None),
                              getattr(args, "rate_price", None))
    except (ProfileError, RadioError, ValueError, FileNotFoundError) as exc:
        print(f"vlmcsc tx: {exc}", file=sys.stderr)
        return 2
    try:
        log = JsonLinesWriter(args.log) if args.log else None
    except BaseException:
        radio.close()
        raise
    ending = {"interrupted": False}
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
                why = unsendable(codec, text)
                if why is not None:  # the documented policy: skip it, say which, carry on
                    if log:
                        log.write({"type": "skipped", "seq": seq, "sent": text, "reason": why})
                    print(f"tx {seq:5d}  SKIPPED ({why}): {text}", file=sys.stderr, flush=True)
                    seq += 1
                    continue
                iq, info = ltx.frame(seq, text, snr, rate)
                radio.transmit(iq)
                record = {"type": "sent", "seq": seq, "tx_snr_db": snr, "sent": text, **info}
                if log:
                    log.write(record)
                print(f"tx {seq:5d}  snr {snr:5.1f} dB  {info['modulation']:>6}  {text}", flush=True)
                seq += 1
                if profile.test.interval_s:
                    time.sleep(profile.test.interval_s)
    except KeyboardInterrupt:
        ending["interrupted"] = True
        print(f"\ntx interrupted after {seq} frames", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - radio errors end the run with the reason
        ending["error"] = describe(exc)
        print(f"vlmcsc tx: {ending['error']}", file=sys.stderr)
        return 1
    finally:
        fb.close()
        if log:  # the end record is written however the run ends (Ctrl-C, SIGTERM, a dead radio)
            end_log(log, {"type": "end", "role": "tx", "frames": seq, "radio_stats": radio.stats.as_dict(),
                          **ending})
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
    parser.add_argument("--quiet", action="store_true", help="no per-frame lines on stdout, no status line")
    parser.add_argument("--json", action="store_true", help="JSON lines on stdout instead of readable lines")
    parser.add_argument("--dashboard", metavar="[HOST:]PORT",
                        help="serve the live dashboard (web page) on this port; 127.0.0.1 unless HOST given")
    parser.add_argument("--dashboard-hold", type=float, default=0.0, metavar="S",
                        help="keep serving the dashboard S seconds after the run ends")
    parser.add_argument("--feedback", metavar="ADDR",
                        help="report each frame's SNR and losses to the transmitter here (ZeroMQ, e.g. "
                             "tcp://txhost:5560; see flowgraphs/feedback.py)")


class FieldReceiver:
    """Decodes PHY frames into per-frame records and notices missed sequence numbers.

    Sequence tracking (:class:`.seqtrack.SeqTracker`) survives jumps and restarts without a
    flood of ``missed`` records; a frame the codec cannot take (an analog frame longer than its
    ``max_tokens``: another transmitter or codec configuration, a false header) is logged as
    ``foreign`` and skipped instead of stopping the receiver.
    """

    def __init__(self, codec, text_for, scorer, rx_policy="estimate", rx_fixed_db=10.0) -> None:
        """``text_for(seq) -> str``: what frame ``seq`` carried (e.g. ``TestSequence.text``)."""
        from .link import LinkReceiver
        from .seqtrack import SeqTracker

        self.codec = codec
        self.text_for = text_for
        self.scorer = scorer
        self.lrx = LinkReceiver(codec, rx_policy, rx_fixed_db)
        self.tracker = SeqTracker()

    @property
    def next_expected(self) -> int:
        return self.tracker.next_expected

    @next_expected.setter
    def next_expected(self, value: int) -> None:  # callers that account for a frame themselves
        self.tracker.next_expected = int(value)
        self.tracker.last = int(value) - 1

    @property
    def seen(self) -> set[int]:
        """Recent frame numbers already logged (a bounded window)."""
        return self.tracker._seen

    def records(self, frame) -> list[dict]:
        """The records for one frame: 'missed' ones for any gap before it, then the 'frame' one."""
        decision = self.tracker(frame.seq, frame)
        out = list(decision.records)
        if decision.duplicate is not None:
            out.append({"type": "duplicate", "seq": decision.duplicate})
        for seq, f in decision.accept:
            out.append(self._frame_record(seq, f))
        return out

    def _frame_record(self, seq: int, frame) -> dict:
        from .link import frame_numbers

        reason = self._foreign_reason(frame)
        if reason is None:
            try:
                dec = self.lrx.decode(frame)
            except (ValueError, RuntimeError) as exc:  # one odd frame must not stop a field test
                reason = " ".join(str(exc).split())
        if reason is not None:
            return {"type": "foreign", "seq": seq, "kind": getattr(frame, "kind", None), "reason": reason,
                    **frame_numbers(frame), "start_sample": int(getattr(frame, "start_sample", -1))}
        sent = self.text_for(seq)
        ref = self.codec.normalize(sent)
        received = dec["received"]
        bleu = self.scorer.bleu1(ref, received) if received else 0.0
        return {
            "type": "frame", "seq": seq, "system": "semantic" if dec["kind"] == "analog" else "digital",
            **frame_numbers(frame),
            "nam_snr_db": None if dec["nam_snr_db"] is None else round(dec["nam_snr_db"], 4), "bleu1": round(bleu, 4),
            "similarity": self.scorer.similarity(ref, received) if received else
            (0.0 if self.scorer.similarity_enabled else None),
            "status": dec["status"], "sent": ref, "received": received,
            "start_sample": int(getattr(frame, "start_sample", -1)),
        }

    def _foreign_reason(self, frame) -> str | None:
        """Why the codec cannot take this frame (None if it can)."""
        if getattr(frame, "kind", None) != "analog":
            return None
        n = int(np.asarray(frame.symbols).size)
        spt = int(self.codec.symbols_per_token)
        limit = int(getattr(self.codec, "max_tokens", 0) or 0)
        if limit and n // spt > limit:
            return (f"analog frame carries {n // spt} tokens ({n} symbols), more than the codec's "
                    f"max_tokens={limit}: another transmitter or codec configuration")
        return None

    def finish(self, expected: int) -> list[dict]:
        """'missed' records for frames ``< expected`` never seen (at the end of a run)."""
        return self.tracker.finish(expected)


def _open_recorder(path: str, radio, profile, overwrite: bool = False):
    try:
        from vlmcsc.sdr.sigmf_io import SigMFRecorder
    except ImportError as exc:
        raise ProfileError(f"--sigmf needs vlmcsc.sdr.sigmf_io ({exc})") from exc
    import json

    return SigMFRecorder.for_radio(
        path, radio, description="vlmcsc rx field-test capture", overwrite=overwrite,
        extra={"vlmcsc:profile": json.dumps(profile.to_dict())},
    )


def main_rx(args) -> int:
    import torch

    from vlmcsc.phy import OfdmConfig

    from .feedback import FeedbackSender
    from .link import load_codec, make_receiver
    from .radios import open_radio
    from .rxlive import (ClipCounter, ClockWatch, FrameWorker, LiveStatus, checks_clipping, frame_span, level_dbfs,
                         clock_slack_s, radio_drops, streams_in_real_time)
    from .scoring import Scorer, format_summary, summarize

    torch.set_num_threads(1)
    try:
        extra = _extra(args) | {"radio.rx_gain_db": args.rx_gain}
        if args.nam_snr is not None:
            extra |= {"snr.rx_policy": "fixed", "snr.rx_fixed_db": args.nam_snr}
        profile = profile_from_args(args, extra)
        check_field_outputs(args, profile)  # before anything slow is loaded or any file opened
        cfg = OfdmConfig(**profile.phy)
        seq_texts = TestSequence(load_captions(profile.test.captions), profile.test.seed)
        codec = load_codec(profile.codec.checkpoint or None)
        # every model is loaded before the radio streams: a load mid-run drops millions of samples
        scorer = Scorer(similarity=args.similarity).preload()
        codec.decode_symbols([np.zeros(4 * codec.symbols_per_token, np.complex64)], snr_db=[10.0],
                            symbols_per_token=codec.symbols_per_token)  # warm-up
        dashboard = None
        if getattr(args, "dashboard", None):
            from .dashboard import start_dashboard

            dashboard = start_dashboard(args.dashboard, title="vlmcsc rx", sample_rate=profile.radio.sample_rate_hz)
        radio = open_radio(profile, for_tx=False, cfg=cfg)
        try:
            recorder = _open_recorder(args.sigmf, radio, profile, args.overwrite) if args.sigmf else None
            fb = FeedbackSender(args.feedback) if getattr(args, "feedback", None) else None
        except BaseException:
            radio.close()
            raise
    except (ProfileError, RadioError, ValueError, OSError) as exc:
        print(f"vlmcsc rx: {describe(exc)}", file=sys.stderr)
        return 2
    field = FieldReceiver(codec, seq_texts.text, scorer, profile.snr.rx_policy, profile.snr.rx_fixed_db)
    receiver = make_receiver(cfg, profile.radio.sample_rate_hz)
    try:
        # JSON records: to the --log file, or to stdout with --json; readable lines otherwise
        log = JsonLinesWriter(args.log) if args.log else (JsonLinesWriter("-") if args.json else None)
    except BaseException:
        if recorder is not None:
            recorder.close()
        radio.close()
        raise
    live = LiveStatus(out=None if (args.quiet or (args.json and not args.log)) else sys.stdout,
                      status=not args.quiet)
    expected = profile.test.frames
    counts = {"frame": 0, "missed": 0, "ok": 0}
    run_records: list[dict] = []
    # samples at the ADC's full scale: analog symbols distort long before the SNR estimate notices
    clip = ClipCounter(checks_clipping(radio))
    last_data = time.monotonic()
    # ~10 ms of samples per call: small chunks cost more in per-call overhead than they gain in latency
    chunk = max(16 * cfg.symbol_len, int((profile.radio.sample_rate_hz or 1e6) / 100))

    def emit(record: dict) -> None:
        if record["type"] == "missed":
            why = unsendable(codec, seq_texts.text(record["seq"]))
            if why is not None:  # never sent (same policy as tx): not a lost frame
                record = {"type": "skipped", "seq": record["seq"], "reason": why}
        record = log.write(record) if log is not None else record
        if fb is not None:
            fb.record(record)
        if record["type"] in counts:
            counts[record["type"]] += 1
        elif record["type"] == "missed_range":  # one record for a long gap: count every frame in it
            counts["missed"] += int(record["count"])
        if record["type"] == "frame" and record["status"] == "ok":
            counts["ok"] += 1
        if record["type"] in ("frame", "missed"):
            run_records.append(record)
            live.frame(record)
            if dashboard is not None:
                dashboard.add_record(record)
        if record["type"] == "missed" and not finishing:
            live.warn(f"frame {record['seq']} lost (sequence gap)")

    def handle(frame) -> None:  # runs in the worker thread: codec + scores off the receive path
        if dashboard is not None:
            dashboard.set_frame(frame)
        for record in field.records(frame):
            emit(record)

    interrupted = False
    failure = None  # one-line reason when the radio or the disk ends the run
    finishing = False
    drops_seen = 0
    missing_unsaid, last_missing_warning = 0, -1e9
    worker = FrameWorker(handle)
    clock = ClockWatch(radio.sample_rate or profile.radio.sample_rate_hz, streams_in_real_time(radio),
                       clock_slack_s(radio))
    try:
        with radio:
            settings = radio.settings()
            emit({"type": "start", "role": "rx", "radio": settings, "profile": profile.to_dict()})
            live.start(settings)
            while True:
                x = radio.receive(chunk, timeout=0.2)
                now = time.monotonic()
                missing_unsaid += clock(int(getattr(radio.stats, "samples_rx", 0)), now)
                if missing_unsaid and now - last_missing_warning >= 5.0:  # at most one such line per 5 s
                    kb = 2 * int(getattr(radio, "kernel_buffers", 16))
                    live.warn(f"about {missing_unsaid} samples never arrived ({missing_unsaid / clock.rate:.1f} s at "
                              f"the radio's sample rate; {clock.lost} in all): the host did not keep up; use more "
                              f"kernel buffers (pluto:...,kernel_buffers={kb}), a lower rate or fewer other programs")
                    missing_unsaid, last_missing_warning = 0, now
                if x.size:
                    last_data = now
                    live.level_dbfs = level_dbfs(x)
                    if clip(x):
                        live.warn("received samples reach full scale (clipping); lower the RX gain (--rx-gain)")
                    if recorder is not None:
                        recorder.write(x)
                    if dashboard is not None:
                        dashboard.set_iq(x)
                    for frame in receiver.process(x):
                        if recorder is not None:  # the capture marks where each frame starts
                            recorder.annotate_frame(frame, length=frame_span(cfg, frame))
                        worker.submit(frame)
                elif getattr(radio, "exhausted", False):
                    break  # a replayed recording is used up: the run is over
                elif args.idle_exit and now - last_data > args.idle_exit:
                    break
                drops = radio_drops(radio.stats)
                if drops > drops_seen:
                    live.warn(f"the radio lost {drops - drops_seen} samples (host too slow or buffers too "
                              "few; frames in them are lost)")
                    drops_seen = drops
                live.drops = drops + clock.lost
                if dashboard is not None:
                    dashboard.set_stats({"sample_drops": drops, "frames_ok": counts["ok"], "missed": counts["missed"]})
                live.tick(now)
                if expected and field.next_expected >= expected:
                    break
    except KeyboardInterrupt:
        interrupted = True
    except (RadioError, OSError) as exc:  # device lost, disk full: complete files, one line, rc 1
        failure = describe(exc)
        live.warn(failure)
    finally:
        try:
            if failure is None:  # Ctrl-C too: a frame already received must not be lost
                # let a frame that ended at the stream's end out of the receiver
                for frame in receiver.process(np.zeros(2 * cfg.symbol_len, np.complex64)):
                    if recorder is not None:
                        recorder.annotate_frame(frame, length=frame_span(cfg, frame))
                    worker.submit(frame)
            worker.close()
            finishing = True
            for record in field.finish(expected):
                emit(record)
            emit({"type": "end", "role": "rx", "frames": counts["frame"], "frames_ok": counts["ok"],
                  "missed": counts["missed"], "clipped_samples": clip.samples, "sample_drops": drops_seen,
                  "samples_missing": clock.lost,
                  "phy_stats": dict(getattr(receiver, "stats", {}) or {}),
                  "radio_stats": radio.stats.as_dict(), "interrupted": interrupted,
                  "summary": summarize(run_records), **({"error": failure} if failure else {})})
        except OSError as exc:  # the log's disk is full: what is on disk is whole lines
            failure = failure or describe(exc)
        finally:
            live.tick(force=True)
            live.close()
            try:
                if recorder is not None:
                    recorder.close()
            except OSError as exc:
                failure = failure or describe(exc)
            if fb is not None:
                fb.close()
            if log is not None:
                log.close()
            if dashboard is not None:
                dashboard.close(hold_s=getattr(args, "dashboard_hold", 0.0) or 0.0)
    total = counts["frame"] + counts["missed"]
    print(f"rx done: {counts['ok']} decoded, {counts['frame'] - counts['ok']} failed, {counts['missed']} missed"
          f" of {total}\n{format_summary(summarize(run_records))}", file=sys.stderr)
    if failure:
        kept = f"; log kept {log.lines_kept} records" if log is not None else ""
        print(f"vlmcsc rx: {failure}{kept}", file=sys.stderr)
        return 1
    return 130 if interrupted else 0
