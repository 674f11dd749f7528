"""Field-test figures that hardware.md quotes, measured on this machine.

- SNR (dB, Es/N0 per data RE, the receiver's per-frame estimate) of the emulated radios at the
  settings hardware.md gives: SoapySDR loopback module with its defaults at TX 70 / RX 50 dB, and
  the emulated Pluto with its defaults at TX 0 / RX 40 dB (hardware.md section 8 step 2);
- capture growth of ``vlmcsc rx --sigmf`` at 1 MS/s (cf32: bytes per second of signal);
- the dashboard's cost: CPU seconds per second spent computing snapshots (4 Hz), which runs in the
  server thread, not in the receive loop (the loop only stores a reference per chunk).

Prints a table and writes JSON (``--json PATH``); ``--quick`` sends fewer frames. CPU time is
``time.process_time``; wall time is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("SOAPY_SDR_PLUGIN_PATH", str(REPO / "build" / "soapy_loopback"))


def soapy_snr(frames: int) -> float | None:
    from vlmcsc.sdr.linktest import frame_link_test

    try:
        from vlmcsc.sdr.soapy import SoapyRadio

        radio = SoapyRadio("driver=vlmcsc_loopback")
    except Exception as exc:  # noqa: BLE001 - module not built / binding missing
        print(f"soapy loopback skipped: {exc}", file=sys.stderr)
        return None
    with radio:
        radio.configure(sample_rate=1e6, frequency=2.45e9, tx_gain_db=70, rx_gain_db=50)
        return frame_link_test(radio, frames, seed=1).snr_db


def pluto_snr(frames: int) -> float | None:
    try:
        import adi  # noqa: F401
    except ImportError:
        print("emulated Pluto skipped: pyadi-iio missing", file=sys.stderr)
        return None
    from vlmcsc.sdr import open_radio
    from vlmcsc.sdr.linktest import frame_link_test
    from vlmcsc.sdr.pluto_emu import PlutoEmulator

    with PlutoEmulator(port=0, seed=4) as emu, open_radio(f"pluto:{emu.uri}") as radio:
        radio.configure(sample_rate=1e6, frequency=2.45e9, tx_gain_db=0, rx_gain_db=40)
        return frame_link_test(radio, frames, seed=2).snr_db


def capture_rate(seconds: float) -> float:
    from vlmcsc.sdr.sigmf_io import SigMFRecorder

    rate = 1e6
    with tempfile.TemporaryDirectory() as tmp:
        rec = SigMFRecorder(Path(tmp) / "cap", sample_rate=rate)
        chunk = np.zeros(10_000, np.complex64)
        for _ in range(int(seconds * rate / chunk.size)):
            rec.write(chunk)
        rec.close()
        size = (Path(tmp) / "cap.sigmf-data").stat().st_size
    return size / seconds


def dashboard_cost(seconds: float) -> float:
    from vlmcsc.flowgraphs.dashboard import SNAPSHOT_HZ, DashboardState

    state = DashboardState(sample_rate=1e6)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(10_000) + 1j * rng.standard_normal(10_000)).astype(np.complex64)
    for seq in range(40):
        state.add_record({"type": "frame", "seq": seq, "status": "ok", "snr_db": 20.0, "cfo_hz": 10.0,
                          "bleu1": 1.0, "sent": "a dog runs", "received": "a dog runs"})
    n = int(seconds * SNAPSHOT_HZ)
    t0 = time.process_time()
    for _ in range(n):
        state.set_iq(x.copy())  # a new chunk each time, as from the radio
        json.dumps(state.snapshot())
    return (time.process_time() - t0) / seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer frames (CI)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    frames = 10 if args.quick else 50
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = {
        "soapy_loopback_snr_db": soapy_snr(frames),
        "pluto_emu_snr_db": pluto_snr(frames),
        "capture_bytes_per_s_at_1msps": capture_rate(0.2 if args.quick else 1.0),
        "dashboard_cpu_s_per_s": dashboard_cost(2.0 if args.quick else 10.0),
        "frames": frames,
    }
    out["seconds_cpu"] = round(time.process_time() - cpu0, 2)
    out["seconds_wall"] = round(time.perf_counter() - wall0, 2)
    print(f"{'figure':<34} {'measured':>12}")
    for key, value in out.items():
        text = "-" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))
        print(f"{key:<34} {text:>12}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
