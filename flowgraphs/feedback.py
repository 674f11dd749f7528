"""Closed loop over the field link: the receiver reports its SNR and losses, the transmitter adapts.

The message (version 1) is 16 bytes, big-endian, so that it can ride a reverse radio link later
(one digital frame payload) as well as ZeroMQ between the two field hosts::

    offset  size  field
    0       2     magic b"VF"
    2       1     version (1)
    3       1     flags: bit 0 = this report is about a lost frame (sequence gap or failed decode)
    4       2     seq: the frame the report is about (the header's 16-bit sequence number)
    6       2     snr_cdb: the receiver's per-frame SNR estimate, Es/N0 in 0.01 dB (int16;
                  -32768 = no estimate, e.g. a lost frame)
    8       2     frames_ok: frames decoded so far (mod 65536)
    10      2     frames_lost: frames lost so far (mod 65536)
    12      2     reserved (0)
    14      2     CRC-16 of bytes 0..13 (the PHY's CRC-16/CCITT)

Transport: the transmitter binds a ZeroMQ SUB socket on its ``--feedback`` address; the receiver
connects a PUB socket to it. PUB never blocks the receive path (reports are dropped while no
transmitter listens), and a late or lost report only makes the transmitter more careful.

Transmitter policy (:class:`RatePolicyFeedback`): the SNR it gives its NAM and its rate policy is a
conservative estimate ``P20(last N reported SNRs) - backoff``: the 20th percentile over the last
``window`` (default 16) reports, minus a back-off that grows by ``loss_step_db`` (3 dB) per
reported loss (capped at 12 dB) and shrinks by ``recover_db`` (0.5 dB) per good report. Before the
first report it uses the configured SNR (today's open-loop behaviour), and it falls back to it when
no report arrived for ``stale_s`` seconds.
"""

from __future__ import annotations

import dataclasses
import math
import struct
import time
from collections import deque

import numpy as np

MAGIC = b"VF"
VERSION = 1
_FMT = ">2sBBHhHHH"  # without the CRC
MESSAGE_BYTES = struct.calcsize(_FMT) + 2
NO_SNR = -32768
FLAG_LOST = 1


@dataclasses.dataclass(frozen=True)
class Report:
    """One feedback report (see the module docstring for the wire format)."""

    seq: int
    snr_db: float | None
    lost: bool = False
    frames_ok: int = 0
    frames_lost: int = 0

    def pack(self) -> bytes:
        from vlmcsc.phy.crc import crc16

        snr = NO_SNR
        if self.snr_db is not None and math.isfinite(self.snr_db):
            snr = int(np.clip(round(self.snr_db * 100), -32767, 32767))
        body = struct.pack(_FMT, MAGIC, VERSION, FLAG_LOST if self.lost else 0, int(self.seq) & 0xFFFF, snr,
                           int(self.frames_ok) & 0xFFFF, int(self.frames_lost) & 0xFFFF, 0)
        return body + crc16(body).to_bytes(2, "big")

    @classmethod
    def parse(cls, data: bytes) -> "Report | None":
        """The report, or ``None`` for anything that is not a valid version-1 message."""
        from vlmcsc.phy.crc import crc16

        if len(data) != MESSAGE_BYTES or crc16(data[:-2]).to_bytes(2, "big") != data[-2:]:
            return None
        magic, version, flags, seq, snr, ok, lost, _ = struct.unpack(_FMT, data[:-2])
        if magic != MAGIC or version != VERSION:
            return None
        return cls(seq, None if snr == NO_SNR else snr / 100.0, bool(flags & FLAG_LOST), ok, lost)


class RatePolicyFeedback:
    """Turns receiver reports into the transmitter's (NAM SNR, symbols per token).

    :param codec: the ``SemanticCodec`` (its ``rate_for`` policy and ``snr_range``)
    :param window: reports the percentile looks at
    :param percentile: which percentile of them (low = conservative)
    :param loss_step_db: back-off added per reported loss, dB; ``max_backoff_db`` caps it
    :param recover_db: back-off removed per good report, dB
    :param stale_s: fall back to the configured SNR when no report arrived for this long
    :param price: BLEU-1 a symbol per token must buy (``SemanticCodec.rate_for``): 0 follows the
        checkpoint's quality curve; > 0 trades quality for channel uses (``vlmcsc tx --rate-price``);
        ``None``: the price the checkpoint's policy calibrated for the closed loop
        (``rate_policy["closed_loop"]["price"]``, see :func:`vlmcsc.model.rate_policy.price_for_budget`), else 0
    """

    def __init__(self, codec, window: int = 16, percentile: float = 20.0, loss_step_db: float = 3.0,
                 max_backoff_db: float = 12.0, recover_db: float = 0.5, stale_s: float = 30.0,
                 price: float | None = None) -> None:
        if window < 1 or not 0 <= percentile <= 100:
            raise ValueError(f"window must be >= 1 and percentile in 0..100, got {window}, {percentile}")
        if price is None:
            price = self.default_price(getattr(codec, "rate_policy", None))
        if not (math.isfinite(price) and price >= 0):
            raise ValueError(f"--rate-price must be >= 0 (BLEU-1 per symbol per token), got {price}")
        self.codec = codec
        self.price = float(price)
        self.snrs: deque[float] = deque(maxlen=int(window))
        self.percentile = float(percentile)
        self.loss_step_db, self.max_backoff_db, self.recover_db = loss_step_db, max_backoff_db, recover_db
        self.stale_s = stale_s
        self.backoff_db = 0.0
        self.last_report = None  # monotonic time of the last report
        self.reports = 0

    @staticmethod
    def default_price(rate_policy: dict | None) -> float:
        """The rate price a checkpoint's policy calibrated for the closed loop, 0 without one."""
        return float(((rate_policy or {}).get("closed_loop") or {}).get("price", 0.0))

    def update(self, report: Report, now: float | None = None) -> None:
        self.reports += 1
        self.last_report = time.monotonic() if now is None else now
        if report.lost or report.snr_db is None:
            self.backoff_db = min(self.max_backoff_db, self.backoff_db + self.loss_step_db)
            return
        self.snrs.append(float(report.snr_db))
        self.backoff_db = max(0.0, self.backoff_db - self.recover_db)

    def estimate_db(self, configured_db: float, now: float | None = None) -> float:
        """The SNR (dB) the transmitter should assume now."""
        now = time.monotonic() if now is None else now
        if not self.snrs or self.last_report is None or now - self.last_report > self.stale_s:
            return float(configured_db)
        return float(np.percentile(np.asarray(self.snrs), self.percentile)) - self.backoff_db

    def choose(self, configured_db: float, now: float | None = None) -> tuple[float, int]:
        """(NAM SNR clipped to the checkpoint's trained range, symbols per token)."""
        est = self.estimate_db(configured_db, now)
        lo, hi = self.codec.snr_range
        return float(np.clip(est, lo, hi)), int(self.codec.rate_for(est, self.price))


class FeedbackSender:
    """Receiver side: PUB socket connected to the transmitter's ``--feedback`` address."""

    def __init__(self, address: str) -> None:
        import zmq

        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.PUB)
        self.sock.setsockopt(zmq.LINGER, 500)
        self.sock.setsockopt(zmq.SNDHWM, 64)
        try:
            self.sock.connect(address)
        except zmq.ZMQError as exc:
            self.close()
            raise ValueError(f"--feedback {address!r}: {exc}") from exc
        self.frames_ok = self.frames_lost = 0
        self.sent = 0

    def frame(self, seq: int, snr_db: float | None, ok: bool) -> None:
        """Report one frame (``ok`` False: failed decode)."""
        import zmq

        self.frames_ok += bool(ok)
        self.frames_lost += not ok
        msg = Report(seq, snr_db, not ok, self.frames_ok, self.frames_lost).pack()
        try:
            self.sock.send(msg, zmq.NOBLOCK)
            self.sent += 1
        except zmq.Again:
            pass  # nobody listening fast enough: feedback is advisory

    def record(self, record: dict) -> None:
        """Feed a receiver log record ("frame" or "missed"); other types are ignored."""
        if record.get("type") == "frame":
            self.frame(record.get("seq", 0), record.get("snr_db"), record.get("status") == "ok")
        elif record.get("type") == "missed":
            self.frame(record.get("seq", 0), None, False)

    def close(self) -> None:
        self.sock.close()
        self.ctx.term()


class FeedbackReceiver:
    """Transmitter side: SUB socket bound on ``address``; :meth:`poll` drains pending reports into
    the policy. Invalid messages are counted in ``bad`` and dropped."""

    def __init__(self, address: str, policy: RatePolicyFeedback) -> None:
        import zmq

        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        try:
            self.sock.bind(address)
        except zmq.ZMQError as exc:
            self.close()
            raise ValueError(f"--feedback {address!r}: cannot listen there ({exc})") from exc
        self.policy = policy
        self.bad = 0

    def poll(self, timeout_s: float = 0.0) -> int:
        """Apply every report waiting now (waiting up to ``timeout_s`` for the first); returns how many."""
        import zmq

        n = 0
        wait = int(timeout_s * 1000)
        while self.sock.poll(wait):
            wait = 0
            rep = Report.parse(self.sock.recv(zmq.NOBLOCK))
            if rep is None:
                self.bad += 1
                continue
            self.policy.update(rep)
            n += 1
        return n

    def close(self) -> None:
        self.sock.close()
        self.ctx.term()


def parse_schedule(spec: str) -> list[tuple[int, float]]:
    """'0:0,150:18,300:0' -> [(0, 0.0), (150, 18.0), (300, 0.0)]: (burst index, SNR dB) points of a
    piecewise-linear channel-SNR schedule. Raises ValueError naming the bad part."""
    points = []
    for part in spec.split(","):
        idx, sep, snr = part.strip().partition(":")
        try:
            if not sep:
                raise ValueError
            points.append((int(idx), float(snr)))
        except ValueError:
            raise ValueError(f"bad SNR schedule point {part!r}; expected INDEX:SNR_DB like 0:0,150:18,300:0") from None
    if not points or any(b[0] <= a[0] for a, b in zip(points, points[1:])) or points[0][0] < 0:
        raise ValueError(f"SNR schedule indices must start >= 0 and increase: {spec!r}")
    if not all(math.isfinite(s) for _, s in points):
        raise ValueError(f"SNR schedule values must be finite: {spec!r}")
    return points


def schedule_at(points: list[tuple[int, float]], index: int) -> float:
    """Channel SNR (dB) of burst ``index`` (linear between points, constant outside)."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return float(np.interp(index, xs, ys))


class _OpenLoop:
    """The transmitter without feedback: the configured SNR, rate from ``rate`` or the policy."""

    def __init__(self, rate: int | None) -> None:
        self.rate = rate

    def choose(self, configured_db: float) -> tuple[float, int | None]:
        return float(configured_db), self.rate

    def close(self) -> None:
        pass


class _ClosedLoop:
    def __init__(self, address: str, codec, price: float | None = None) -> None:
        self.policy = RatePolicyFeedback(codec, price=price)
        self.rx = FeedbackReceiver(address, self.policy)

    def choose(self, configured_db: float) -> tuple[float, int]:
        self.rx.poll()
        return self.policy.choose(configured_db)

    def close(self) -> None:
        self.rx.close()


def open_tx_feedback(address: str | None, codec, rate: int | None = None, price: float | None = None):
    """What ``vlmcsc tx`` asks per frame: ``.choose(configured_snr_db) -> (nam_snr_db, rate)``.

    ``address`` None: open loop (configured SNR; ``rate`` or the checkpoint's policy). Else a
    :class:`FeedbackReceiver` bound there drives :class:`RatePolicyFeedback`. Raises ValueError on
    a rate the codec does not have or an address ZeroMQ cannot bind. ``price``: see
    :class:`RatePolicyFeedback` (closed loop only)."""
    if rate is not None and rate not in codec.rates:
        raise ValueError(f"--symbols-per-token {rate}: this codec sends {', '.join(map(str, codec.rates))} symbols per token")
    if address is None:
        return _OpenLoop(rate)
    if rate is not None:
        raise ValueError("--symbols-per-token and --feedback exclude each other (feedback chooses the rate)")
    return _ClosedLoop(address, codec, price)


def closed_loop_args(closed_loop: bool, rate: int | None = None, interval: float = 0.0,
                     price: float | None = None) -> dict:
    """``rehearse`` keyword arguments for a closed-loop (or fixed-rate) rehearsal: a free local port
    for the feedback link, passed as ``--feedback`` to both child processes."""
    extra_tx: list[str] = []
    extra_rx: list[str] = []
    if closed_loop:
        from .air import free_port

        addr = f"tcp://127.0.0.1:{free_port()}"
        extra_tx += ["--feedback", addr]
        extra_rx += ["--feedback", addr]
        if price is not None:
            extra_tx += ["--rate-price", str(float(price))]
    if rate is not None:
        extra_tx += ["--symbols-per-token", str(int(rate))]
    if interval:
        extra_tx += ["--interval", str(float(interval))]
    return {"extra_tx": extra_tx or None, "extra_rx": extra_rx or None}


def tx_summary(tx_log) -> dict:
    """Channel uses and symbols per token the transmitter logged ("sent" records)."""
    from pathlib import Path

    from .jsonlog import read_jsonl

    if not Path(tx_log).exists():
        return {}
    sent = [r for r in read_jsonl(tx_log) if r.get("type") == "sent"]
    uses = [r["channel_uses"] for r in sent if "channel_uses" in r]
    rates = [r["symbols_per_token"] for r in sent if r.get("symbols_per_token") is not None]
    return {"channel_uses_total": int(sum(uses)), "frames_sent": len(sent),
            "symbols_per_token_mean": float(np.mean(rates)) if rates else None}
