"""A self-test of a radio path: numbered digital PHY frames out, decoded frames back.

Used by the radio tests and ``benchmarks/sdr.py`` to check that samples survive a backend
(SoapySDR module, emulated Pluto, a cable between two real radios on one host) bit for bit.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from .radio import Radio


@dataclasses.dataclass
class LinkTestResult:
    frames_sent: int
    frames_ok: int  # decoded with the exact payload that was sent
    frames_bad: int  # decoded but the payload CRC failed or the bytes differ
    snr_db: float | None  # mean PHY SNR estimate over decoded frames
    cfo_hz: float | None  # mean PHY CFO estimate over decoded frames
    seconds: float
    radio_stats: dict
    frames: list = dataclasses.field(default_factory=list, repr=False)  # the PHY Frame objects

    @property
    def fraction_ok(self) -> float:
        return self.frames_ok / self.frames_sent if self.frames_sent else 0.0


def frame_link_test(
    radio: Radio,
    num_frames: int = 200,
    *,
    cfg=None,
    payload_bytes: int = 48,
    gap_samples: int = 400,
    batch: int = 20,
    batch_timeout_s: float = 2.0,
    seed: int = 0,
    on_samples=None,
) -> LinkTestResult:
    """Send ``num_frames`` QPSK frames through ``radio`` (configured by the caller) and decode.

    Frames go out in batches of ``batch``; after each batch the receiver reads until every frame
    of the batch was seen or ``batch_timeout_s`` passed. ``on_samples(iq)`` sees every received
    chunk (e.g. a :class:`~vlmcsc.sdr.sigmf_io.SigMFRecorder`'s ``write``).
    """
    from vlmcsc.phy import FrameTransmitter, OfdmConfig, StreamingReceiver  # noqa: PLC0415

    cfg = cfg or OfdmConfig()
    rng = np.random.default_rng(seed)
    payloads = [rng.integers(0, 256, payload_bytes, dtype=np.uint8).tobytes() for _ in range(num_frames)]
    tx = FrameTransmitter(cfg)
    rx = StreamingReceiver(cfg, sample_rate=radio.sample_rate or 1e6)
    gap = np.zeros(gap_samples, np.complex64)
    ok: dict[int, object] = {}
    bad = 0
    frames = []
    t0 = time.monotonic()
    # the receiver must be streaming before the first burst goes out (a radio does not record
    # what was on the air before its RX stream started)
    x = radio.receive(1, timeout=2.0)
    if on_samples is not None and x.size:
        on_samples(x)
    rx.process(x)
    for first in range(0, num_frames, batch):
        wanted = set(range(first, min(first + batch, num_frames)))
        for i in sorted(wanted):
            radio.transmit(np.concatenate([tx.digital_frame(payloads[i], seq=i), gap]))
        deadline = time.monotonic() + batch_timeout_s
        while wanted - ok.keys() and time.monotonic() < deadline:
            x = radio.receive(8192, timeout=0.05)
            if on_samples is not None and x.size:
                on_samples(x)
            for f in rx.process(x):
                frames.append(f)
                if 0 <= f.seq < num_frames and f.payload == payloads[f.seq]:
                    ok[f.seq] = f
                    # frames still coming in (a loaded host reads behind real time): keep going
                    deadline = max(deadline, time.monotonic() + 1.0)
                else:
                    bad += 1
    good = list(ok.values())
    return LinkTestResult(
        frames_sent=num_frames,
        frames_ok=len(good),
        frames_bad=bad,
        snr_db=float(np.mean([f.snr_db for f in good])) if good else None,
        cfo_hz=float(np.mean([f.cfo_hz for f in good])) if good else None,
        seconds=time.monotonic() - t0,
        radio_stats=radio.stats.as_dict(),
        frames=frames,
    )
