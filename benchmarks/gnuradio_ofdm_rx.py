"""GNU Radio 3.10's stock OFDM chain, for the side-by-side receiver benchmark (issue 12).

Run by the system interpreter that has GNU Radio (Debian ``gnuradio``), never by the project's
virtualenv: it imports nothing of ``vlmcsc`` and only GNU Radio and the standard library (GNU
Radio's Python modules are built against Debian's numpy and cannot load beside ours). The two
sides talk through raw complex64 (cf32) files and JSON on stdout.

    /usr/bin/python3 benchmarks/gnuradio_ofdm_rx.py tx --frames 300 --payload-bytes 236 \\
        --bps-payload 2 --seed 1 --iq tx.cf32 --payloads payloads.bin
    # ... impair tx.cf32 elsewhere (benchmarks/phy.py uses vlmcsc's ChannelSimulator) ...
    /usr/bin/python3 benchmarks/gnuradio_ofdm_rx.py rx --iq rx.cf32 --payload-bytes 236 \\
        --bps-payload 2 --payloads payloads.bin --repeats 3

``tx``: ``digital.ofdm_tx`` with its defaults (64-FFT, CP 16, 48 data + 4 pilot carriers of
802.11a, two Schmidl & Cox sync words, one BPSK header symbol, CRC-32) and ``bps_payload`` bits per
payload symbol; ``frames`` packets of ``payload_bytes`` random bytes each, back to back (no gap),
written as cf32 exactly as ``ofdm_tx`` makes them (unnormalised inverse FFT: a unit-power carrier
contributes power 1 to every sample; payload points as GNU Radio's constellation objects define
them). Prints JSON: frames, samples, samples_per_frame, payload_ofdm_symbols, payload_point_power
(mean |p|^2 of the payload constellation: 4 for QPSK, whose sync words, header and pilots are 1).

``rx``: the receive flowgraph only, ``blocks.file_source -> digital.ofdm_rx -> blocks.vector_sink_b``
with ``ofdm_rx``'s defaults, run ``repeats`` times (a fresh flowgraph each time). Timed with
``time.process_time()`` around ``run()``: GNU Radio runs each block in its own thread, and process
time counts every thread of this process, i.e. the total CPU the receiver costs. Prints JSON:
samples, frames_decoded (packets out of ofdm_rx, which passes only packets whose CRC-32 holds),
frames_correct (packets equal to the one sent with that number), cpu_s / wall_s (best run) and
all runs' figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import pmt
from gnuradio import blocks, digital, gr

LEN_KEY = "packet_len"


def _payloads(frames: int, nbytes: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.randrange(256) for _ in range(nbytes)) for _ in range(frames)]


def transmit(args: argparse.Namespace) -> dict:
    """Write ``args.frames`` back-to-back ofdm_tx frames to ``args.iq`` (cf32)."""
    payloads = _payloads(args.frames, args.payload_bytes, args.seed)
    with open(args.payloads, "wb") as f:
        f.write(b"".join(payloads))
    tb = gr.top_block("ofdm_tx_frames")
    src = blocks.vector_source_b(list(b"".join(payloads)), False)
    tagger = blocks.stream_to_tagged_stream(gr.sizeof_char, 1, args.payload_bytes, LEN_KEY)
    tx = digital.ofdm_tx(packet_length_tag_key=LEN_KEY, bps_payload=args.bps_payload)
    sink = blocks.file_sink(gr.sizeof_gr_complex, args.iq, False)
    sink.set_unbuffered(False)
    tb.connect(src, tagger, tx, sink)
    tb.run()
    sink.close()
    samples = os.path.getsize(args.iq) // 8
    # payload + CRC-32, bits spread over 48 data carriers per OFDM symbol
    payload_syms = -(-(args.payload_bytes + 4) * 8 // (args.bps_payload * 48))
    # ofdm_tx maps the payload on digital.constellation_qpsk() etc. as they are: QPSK points have
    # |p|^2 = 4, BPSK (sync words, header, pilots) 1; the caller scales for equal energy per data RE
    points = {1: digital.constellation_bpsk, 2: digital.constellation_qpsk, 3: digital.constellation_8psk}
    pts = points[args.bps_payload]().points()
    return {
        "frames": args.frames,
        "samples": samples,
        "samples_per_frame": samples / args.frames,
        "payload_ofdm_symbols": payload_syms,
        "payload_bytes": args.payload_bytes,
        "bps_payload": args.bps_payload,
        "payload_point_power": sum(abs(p) ** 2 for p in pts) / len(pts),
        "gnuradio_version": gr.version(),
    }


def _receive_once(args: argparse.Namespace) -> tuple[float, float, list[bytes]]:
    """One run of file_source -> ofdm_rx -> vector_sink_b; (cpu s, wall s, packets)."""
    tb = gr.top_block("ofdm_rx_frames")
    src = blocks.file_source(gr.sizeof_gr_complex, args.iq, False)
    rx = digital.ofdm_rx(packet_length_tag_key=LEN_KEY, bps_payload=args.bps_payload)
    sink = blocks.vector_sink_b()
    tb.connect(src, rx, sink)
    c0, w0 = time.process_time(), time.perf_counter()
    tb.run()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    data = bytes(sink.data())
    # ofdm_rx's output is a tagged stream: one length tag at the start of each packet
    starts = sorted((t.offset, pmt.to_long(t.value)) for t in sink.tags() if pmt.symbol_to_string(t.key) == LEN_KEY)
    packets = [data[o : o + n] for o, n in starts]
    return cpu, wall, packets


def receive(args: argparse.Namespace) -> dict:
    with open(args.payloads, "rb") as f:
        blob = f.read()
    sent = [blob[i : i + args.payload_bytes] for i in range(0, len(blob), args.payload_bytes)]
    sent_set = set(sent)
    runs = []
    packets: list[bytes] = []
    for _ in range(args.repeats):
        cpu, wall, packets = _receive_once(args)
        runs.append((cpu, wall))
    best = min(runs)
    correct = len({p for p in packets if p in sent_set})
    return {
        "samples": os.path.getsize(args.iq) // 8,
        "frames_sent": len(sent),
        "frames_decoded": len(packets),
        "frames_correct": correct,
        "cpu_s": best[0],
        "wall_s": best[1],
        "runs": [{"cpu_s": c, "wall_s": w} for c, w in runs],
        "gnuradio_version": gr.version(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tx", help="write back-to-back ofdm_tx frames (cf32)")
    t.add_argument("--frames", type=int, required=True)
    t.add_argument("--seed", type=int, default=1)
    r = sub.add_parser("rx", help="time ofdm_rx on a cf32 file")
    r.add_argument("--repeats", type=int, default=3)
    for p in (t, r):
        p.add_argument("--iq", required=True, help="cf32 file (tx: written, rx: read)")
        p.add_argument("--payloads", required=True, help="the sent payloads, concatenated (tx: written)")
        p.add_argument("--payload-bytes", type=int, required=True)
        p.add_argument("--bps-payload", type=int, default=2, choices=(1, 2, 3))
    args = ap.parse_args(argv)
    out = transmit(args) if args.cmd == "tx" else receive(args)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
