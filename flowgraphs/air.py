"""``vlmcsc air``: the simulated air between a ZeroMQ transmitter and a ZeroMQ receiver.

::

    vlmcsc tx --radio zmq:tcp://127.0.0.1:5555  -->  vlmcsc air  -->  vlmcsc rx --radio zmq:tcp://127.0.0.1:5556
              (PUSH, binds 5555)          (PULL 5555 | channel | PUSH 5556)     (PULL, connects 5556)

Messages are raw complex64 samples (GNU Radio's ZMQ framing, no tags), so a GNU Radio flowgraph
with a ZMQ PUSH Sink (address tcp://*:5555) or a ZMQ PULL Source (tcp://127.0.0.1:5556) can replace
either end. Each burst passes through the loopback channel simulator (multipath, CFO, SFO, phase
noise, AWGN at ``--snr``), with a stretch of noise-only samples before it, as a receiver on the air
would see. ``vlmcsc air --rehearse N`` runs a whole two-process rehearsal (rx and tx as child
processes, the air in this one) and prints the fraction of frames decoded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import zmq

from .feedback import closed_loop_args, tx_summary
from .jsonlog import read_jsonl
from vlmcsc.sdr.zmq_radio import iq_to_message, message_to_iq


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (for rehearsals and tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Air:
    """Pull bursts from ``source``, pass them through the channel, push them to ``sink``.

    :param source: endpoint the TX binds (we connect), e.g. ``tcp://127.0.0.1:5555``
    :param sink: endpoint we bind for the RX, e.g. ``tcp://127.0.0.1:5556``
    :param channel: preset name of :mod:`.channels` (``awgn``, ``tdl``, ...)
    :param snr_db: channel SNR (dB, Es/N0 on the data resource elements)
    :param gap: noise-only samples put before each burst (the receiver sees idle air too)
    """

    def __init__(self, source: str, sink: str, channel: str = "tdl", snr_db: float = 15.0, seed: int = 1,
                 gap: int = 400, cfg=None, send_timeout: float = 60.0, peer_timeout: float = 30.0,
                 snr_schedule: str | None = None) -> None:
        from .channels import make_loopback
        from .feedback import parse_schedule

        # piecewise-linear channel SNR per burst ("0:0,150:18,300:0"), overriding snr_db
        self.snr_schedule = parse_schedule(snr_schedule) if snr_schedule else None

        self.radio = make_loopback(channel, snr_db, seed=seed, cfg=cfg)
        self.radio.gap_samples = int(gap)  # noise-only air before each burst (plus seeded jitter)
        self.radio.configure(sample_rate=1e6)
        self.ctx = zmq.Context()
        self.pull = self.ctx.socket(zmq.PULL)
        self.pull.setsockopt(zmq.LINGER, 0)
        self.pull.connect(source)
        self.push = self.ctx.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 5000)
        self.push.setsockopt(zmq.SNDTIMEO, int(send_timeout * 1000))
        self.push.setsockopt(zmq.SNDHWM, 64)  # few bursts queued for a receiver that may vanish
        self.push.bind(sink)
        self.messages = 0
        self.bad_messages = 0
        self.samples = 0
        # the receiver's connection state, so that bursts are not queued into a vanished peer
        from .airwatch import PeerWatch

        self.watch = PeerWatch(self.push, send_timeout=send_timeout, peer_timeout=peer_timeout)

    def step(self, timeout: float = 0.2) -> bool:
        """Move one burst through the channel; False if none arrived within ``timeout`` s."""
        from .link import drain_samples

        if not self.pull.poll(int(timeout * 1000)):
            return False
        try:
            iq = message_to_iq(self.pull.recv())
            self.radio.transmit(iq)  # refuses NaN/inf samples
        except (ValueError, TypeError) as exc:
            self.bad_messages += 1  # not complex64, or NaN: counted and dropped, the air keeps running
            if self.bad_messages == 1:
                print(f"air: warning: bad message dropped ({exc}); further ones are only counted",
                      file=sys.stderr, flush=True)
            return True
        if self.snr_schedule is not None:
            from .feedback import schedule_at

            self.radio.channel.snr_db = schedule_at(self.snr_schedule, self.messages)
        out = drain_samples(self.radio)
        if not self.watch.send(iq_to_message(out)):
            return True  # counted as dropped; the watch warns once per outage
        self.messages += 1
        self.samples += out.size
        return True

    def run(self, idle_exit: float = 0.0, max_messages: int = 0, stop=None, abort=None) -> None:
        """Loop until ``idle_exit`` s pass without a burst (after the first), ``max_messages`` bursts,
        ``stop()`` returns True (queued bursts are still passed on), ``abort()`` returns True (they
        are not: e.g. the receiver process has exited), or Ctrl-C."""
        last = time.monotonic()
        while True:
            if self.watch.gone_for_good() or (abort is not None and abort()):
                break
            if self.step():
                last = time.monotonic()
                if max_messages and self.messages >= max_messages:
                    break
            else:
                if idle_exit and self.messages and time.monotonic() - last > idle_exit:
                    break
                if stop is not None and stop():
                    # the TX is gone; pass what is still queued, then stop
                    while not (abort is not None and abort()) and self.step(timeout=0.5):
                        pass
                    break

    def close(self, drain_s: float = 120.0) -> None:
        """Close; bursts still queued go to a connected receiver first (up to ``drain_s`` s: a
        slow receiver may need long, and a 5 s linger lost the last ~450 frames of a soak)."""
        self.watch._poll_events()
        self.push.setsockopt(zmq.LINGER, int(drain_s * 1000) if self.watch.peers else 0)
        self.watch.close()
        self.pull.close()
        self.push.close()
        self.ctx.term()
        self.radio.close()


def rehearse(frames: int = 20, snr_db: float = 15.0, channel: str = "tdl", seed: int = 1,
             workdir: str | Path = "rehearsal", tx_snr_db: float | None = None, system: str = "semantic",
             checkpoint: str = "", similarity: bool = False, extra_rx: list[str] | None = None,
             extra_tx: list[str] | None = None, timeout: float = 300.0, verbose: bool = False,
             snr_schedule: str | None = None) -> dict:
    """Two-process field-test rehearsal: ``vlmcsc rx`` and ``vlmcsc tx`` as child processes, the
    air in this one. Returns {"frames", "frames_ok", "frames_ok_rate", "missed", "bleu1_mean", "log"}."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    rx_log = workdir / "rx.jsonl"
    tx_log = workdir / "tx.jsonl"
    for p in (rx_log, tx_log):
        if p.exists():
            p.unlink()
    p_tx, p_rx = free_port(), free_port()
    while p_rx == p_tx:
        p_rx = free_port()
    cli = [sys.executable, "-m", "vlmcsc.flowgraphs.cli"]
    common = ["--frames", str(frames), "--seed", str(seed), "--system", system]
    if checkpoint:
        common += ["--checkpoint", checkpoint]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = None if verbose else subprocess.DEVNULL
    rx = subprocess.Popen(
        cli + ["rx", "--radio", f"zmq:tcp://127.0.0.1:{p_rx}", "--log", str(rx_log), "--idle-exit", "20",
               "--quiet", "--similarity" if similarity else "--no-similarity", *common, *(extra_rx or [])],
        env=env, stdout=out, stderr=out,
    )
    tx = subprocess.Popen(
        cli + ["tx", "--radio", f"zmq:tcp://127.0.0.1:{p_tx}", "--log", str(tx_log), "--interval", "0",
               "--snr", str(snr_db if tx_snr_db is None else tx_snr_db), *common, *(extra_tx or [])],
        env=env, stdout=out, stderr=out,
    )
    air = Air(f"tcp://127.0.0.1:{p_tx}", f"tcp://127.0.0.1:{p_rx}", channel=channel, snr_db=snr_db, seed=seed,
              snr_schedule=snr_schedule)
    t0 = time.monotonic()
    try:
        air.run(stop=lambda: tx.poll() is not None or time.monotonic() - t0 > timeout,
                abort=lambda: rx.poll() is not None)  # a receiver that died takes no more bursts
    finally:
        air.close()
    try:
        rx.wait(timeout=max(30.0, timeout - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        rx.terminate()
        rx.wait(10)
    if tx.poll() is None:
        tx.terminate()
        tx.wait(10)
    from .scoring import summarize

    records = list(read_jsonl(rx_log)) if rx_log.exists() else []
    got = [r for r in records if r.get("type") == "frame"]
    ok = [r for r in got if r.get("status") == "ok"]
    bleu = [r["bleu1"] for r in got if r.get("bleu1") is not None]
    return {
        "frames": frames, "frames_received": len(got), "frames_ok": len(ok),
        "frames_ok_rate": len(ok) / frames if frames else float("nan"),
        "missed": sum(1 for r in records if r.get("type") == "missed"),
        "bleu1_mean": float(np.mean(bleu)) if bleu else None,
        "air_messages": air.messages, "rx_returncode": rx.returncode, "tx_returncode": tx.returncode,
        **tx_summary(tx_log),
        "log": str(rx_log), "summary": summarize(records),  # the figures demo, rx and report print
    }


def add_arguments(parser) -> None:
    parser.add_argument("--from", dest="source", default="tcp://127.0.0.1:5555",
                        help="TX endpoint to pull from (the TX binds it; default tcp://127.0.0.1:5555)")
    parser.add_argument("--to", dest="sink", default="tcp://127.0.0.1:5556",
                        help="endpoint to bind for the RX (default tcp://127.0.0.1:5556)")
    parser.add_argument("--channel", default="tdl", help="channel preset (awgn, tdl, ...)")
    parser.add_argument("--snr", type=float, default=None, help="channel SNR, dB (default 15; not with --channel clean)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--idle-exit", type=float, default=0.0,
                        help="stop this many seconds after the last burst (0 = run until Ctrl-C)")
    parser.add_argument("--rehearse", type=int, metavar="FRAMES", default=0,
                        help="run a complete rehearsal: rx + tx child processes through this air")
    parser.add_argument("--system", choices=("semantic", "digital"), default="semantic")
    parser.add_argument("--workdir", default="rehearsal", help="logs of --rehearse (default rehearsal/)")
    parser.add_argument("--peer-timeout", type=float, default=30.0,
                        help="exit (code 1) when the receiver has been gone this many seconds (default 30)")
    parser.add_argument("--dashboard", metavar="[HOST:]PORT", help="with --rehearse: the receiver serves the live dashboard")
    parser.add_argument("--snr-schedule", metavar="I:DB,...",
                        help="channel SNR per burst, piecewise linear (e.g. 0:0,150:18,300:0); overrides --snr")
    parser.add_argument("--closed-loop", action="store_true",
                        help="with --rehearse: rx reports SNR/losses to tx over ZeroMQ (--feedback)")
    parser.add_argument("--symbols-per-token", type=int, metavar="K", help="with --rehearse: tx sends K symbols per token")
    parser.add_argument("--rate-price", type=float, default=None, metavar="P",
                        help="with --closed-loop: BLEU-1 a symbol per token must buy (vlmcsc tx --rate-price)")
    parser.add_argument("--interval", type=float, default=0.0, help="with --rehearse: tx pause between frames, s")


def main(args) -> int:
    from .channels import CHANNEL_PRESETS, check_snr_for_channel

    if args.channel not in CHANNEL_PRESETS:
        print(f"vlmcsc air: unknown channel {args.channel!r}; presets: {', '.join(CHANNEL_PRESETS)}",
              file=sys.stderr)
        return 2
    try:
        check_snr_for_channel(args.channel, args.snr)
    except ValueError as exc:
        print(f"vlmcsc air: {exc}", file=sys.stderr)
        return 2
    args.snr = 15.0 if args.snr is None else args.snr
    if args.rehearse:
        loop = closed_loop_args(args.closed_loop, args.symbols_per_token, args.interval, args.rate_price)
        if args.dashboard:
            loop["extra_rx"] = (loop["extra_rx"] or []) + ["--dashboard", args.dashboard]
        result = rehearse(args.rehearse, args.snr, args.channel, args.seed, args.workdir, system=args.system,
                          verbose=True, snr_schedule=args.snr_schedule, **loop)
        print(json.dumps(result, indent=2))
        print(f"next: vlmcsc report {result['log']}")
        return 0 if result["frames_ok"] else 1
    air = Air(args.source, args.sink, args.channel, args.snr, args.seed, peer_timeout=args.peer_timeout,
              snr_schedule=args.snr_schedule)
    print(f"air: {args.source} -> {args.channel} @ {args.snr} dB -> {args.sink} (Ctrl-C to stop)", flush=True)
    try:
        air.run(idle_exit=args.idle_exit)
    except KeyboardInterrupt:
        pass
    finally:
        air.close()
    print(f"air: {air.messages} bursts, {air.samples} samples, {air.bad_messages} bad messages dropped, "
          f"{air.watch.dropped} bursts dropped without a receiver")
    if air.watch.gone_for_good():
        print(f"vlmcsc air: {air.watch.reason()}", file=sys.stderr)
        return 1
    return 0
