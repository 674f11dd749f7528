"""Live dashboard: a web page served by the receiving process (``--dashboard [HOST:]PORT``).

Radio layer (spectrum and waterfall of the received IQ, constellation of the last frame's equalised
symbols, SNR / CFO / frame loss / sample drops over time) beside the semantic layer (a table of frames:
sequence, sent and received caption, BLEU-1, similarity, image when there is one).

How it stays off the receive path: the receive loop only stores a *reference* to its latest chunk
(:meth:`DashboardState.set_iq`, no copy, no maths) and the decode thread appends records; a web
server thread (Starlette + uvicorn) computes the spectrum from that reference when a snapshot is
due (4 Hz) and pushes it over a WebSocket. A slow browser gets fewer snapshots, never the radio
fewer samples. Everything the page loads ships in ``dashboard_static/`` (no CDN, works offline).
Bound to 127.0.0.1 unless a host is given.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import socket
import threading
import time
from pathlib import Path

import numpy as np

STATIC = Path(__file__).with_name("dashboard_static")
SNAPSHOT_HZ = 4.0
FFT_SIZE = 256
WATERFALL_ROWS = 60
TABLE_ROWS = 40
SERIES_POINTS = 500
CONSTELLATION_POINTS = 600


def parse_address(text: str) -> tuple[str, int]:
    """``"8080"`` -> ("127.0.0.1", 8080); ``"0.0.0.0:8080"`` -> ("0.0.0.0", 8080). ValueError if bad."""
    text = str(text).strip()
    host, sep, port = text.rpartition(":")
    host = host if sep else "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"--dashboard {text!r}: expected [HOST:]PORT, e.g. 8080 or 127.0.0.1:8080") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"--dashboard {text!r}: port must be 0..65535")
    return host or "127.0.0.1", number


def _finite(value, digits: int = 3):
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return round(v, digits) if math.isfinite(v) else None


class DashboardState:
    """What the page shows; fed by the receive loop (cheap setters) and read by the server thread.

    :param sample_rate: Hz, for the spectrum's frequency axis (None: normalised frequency)
    """

    def __init__(self, sample_rate: float | None = None, title: str = "vlmcsc") -> None:
        self.sample_rate = sample_rate
        self.title = title
        self._lock = threading.Lock()
        self._spectrum_lock = threading.Lock()
        self._iq: np.ndarray | None = None
        self._iq_serial = 0
        self._spectrum_serial = -1
        self._spectrum: list | None = None
        self._waterfall: collections.deque = collections.deque(maxlen=WATERFALL_ROWS)
        self._constellation: np.ndarray | None = None
        self._records: collections.deque = collections.deque(maxlen=TABLE_ROWS)
        self._series: collections.deque = collections.deque(maxlen=SERIES_POINTS)
        self._drops: collections.deque = collections.deque(maxlen=SERIES_POINTS)
        self._stats: dict = {}
        self._counts = {"ok": 0, "failed": 0, "lost": 0}
        self._t0 = time.monotonic()
        self._last_row = 0.0
        self.image_dir: Path | None = None  # images regenerated at the receiver, served under /images/
        self.updates_dropped = 0  # snapshots skipped because the page was slow

    # -- feeding (called from the receive loop / decode thread: O(1), no maths) ------------------
    def set_iq(self, x: np.ndarray) -> None:
        """The latest received chunk (complex ``[n]``); only the reference is kept."""
        self._iq = x
        self._iq_serial += 1

    def set_frame(self, frame) -> None:
        """The last frame's equalised symbols (``frame.symbols``, complex ``[n]``)."""
        syms = getattr(frame, "symbols", None)
        if syms is not None and len(syms):
            self._constellation = np.asarray(syms)[:CONSTELLATION_POINTS]

    def add_record(self, record: dict) -> None:
        """A 'frame' or 'missed' record of ``vlmcsc rx`` / ``demo``."""
        with self._lock:
            if record.get("type") == "missed":
                self._counts["lost"] += 1
            elif record.get("status") == "ok":
                self._counts["ok"] += 1
            else:
                self._counts["failed"] += 1
            row = {k: record.get(k) for k in ("seq", "type", "status", "sent", "received", "image")}
            row |= {"bleu1": _finite(record.get("bleu1")), "similarity": _finite(record.get("similarity")),
                    "snr_db": _finite(record.get("snr_db"), 2), "cfo_hz": _finite(record.get("cfo_hz"), 1)}
            self._records.append(row)
            total = sum(self._counts.values())
            # a lost frame is a gap (None) in the SNR / CFO / BLEU series, not a joined line
            self._series.append({"seq": record.get("seq"), "snr_db": row["snr_db"], "cfo_hz": row["cfo_hz"],
                                 "bleu1": row["bleu1"] if record.get("type") == "frame" else None,
                                 "loss": round(self._counts["lost"] / total, 4) if total else 0.0})

    def set_image(self, seq: int, name: str) -> None:
        """Show ``image_dir / name`` (e.g. the Stable Diffusion image of frame ``seq``) in its table row."""
        with self._lock:
            for row in self._records:
                if row.get("seq") == seq:
                    row["image"] = f"/images/{name}"

    def set_stats(self, stats: dict) -> None:
        """Counters such as ``sample_drops`` (plotted over time)."""
        with self._lock:
            if stats.get("sample_drops") != self._stats.get("sample_drops") or not self._drops:
                self._drops.append([round(time.monotonic() - self._t0, 2), int(stats.get("sample_drops", 0) or 0)])
            self._stats = dict(stats)

    # -- reading (server thread) -------------------------------------------------------------------
    def _update_spectrum(self) -> None:
        x, serial = self._iq, self._iq_serial
        if x is None or serial == self._spectrum_serial:
            return
        self._spectrum_serial = serial
        n = (len(x) // FFT_SIZE) * FFT_SIZE
        if n == 0:
            return
        segs = np.asarray(x[:n], dtype=np.complex64).reshape(-1, FFT_SIZE)[:16]
        win = np.hanning(FFT_SIZE).astype(np.float32)
        psd = np.mean(np.abs(np.fft.fftshift(np.fft.fft(segs * win, axis=1), axes=1)) ** 2, axis=0)
        psd /= float(np.sum(win) ** 2)  # a full-scale tone reads 0 dBFS
        db = 10 * np.log10(np.maximum(psd, 1e-15))
        self._spectrum = [round(float(v), 1) for v in db]

    def _scroll_waterfall(self) -> None:
        # one row per snapshot period (time axis), the latest spectrum, however many pages watch
        now = time.monotonic()
        if self._spectrum is not None and now - self._last_row >= 0.9 / SNAPSHOT_HZ:
            self._last_row = now
            self._waterfall.append(self._spectrum)

    def tick(self) -> None:
        """Advance spectrum and waterfall (the dashboard's own thread calls this at 4 Hz, viewers or not)."""
        with self._spectrum_lock:
            self._update_spectrum()
            self._scroll_waterfall()

    def snapshot(self) -> dict:
        """JSON-ready state: the page's only input."""
        self.tick()
        const = self._constellation
        with self._lock:
            return {
                "title": self.title, "sample_rate": self.sample_rate, "time_s": round(time.monotonic() - self._t0, 2),
                "counts": dict(self._counts), "stats": dict(self._stats),
                "spectrum": self._spectrum, "waterfall": list(self._waterfall),
                "constellation": None if const is None else
                [[round(float(z.real), 3), round(float(z.imag), 3)] for z in const],
                "frames": list(self._records), "series": list(self._series), "drops": list(self._drops),
            }


def build_app(state: DashboardState):
    """The Starlette application: ``/`` page, ``/static/*``, ``/api/snapshot`` JSON, ``/ws`` WebSocket."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse, PlainTextResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocketDisconnect

    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def api_snapshot(request):
        return JSONResponse(state.snapshot())

    async def image(request):
        name = request.path_params["name"]
        folder = state.image_dir
        path = None if folder is None else (Path(folder) / name)
        if path is None or Path(name).name != name or not path.is_file():  # no path tricks, no listing
            return PlainTextResponse("no such image", status_code=404)
        return FileResponse(path)

    async def ws(websocket):
        await websocket.accept()
        period = 1.0 / SNAPSHOT_HZ
        try:
            while True:
                t = time.monotonic()
                await websocket.send_text(json.dumps(state.snapshot()))
                spent = time.monotonic() - t
                if spent > period:
                    state.updates_dropped += int(spent // period)  # a slow page gets fewer updates
                await asyncio.sleep(max(0.0, period - spent))
        except (WebSocketDisconnect, RuntimeError, OSError):
            return

    routes = [Route("/", index), Route("/api/snapshot", api_snapshot), WebSocketRoute("/ws", ws),
              Route("/images/{name}", image),
              Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static")]
    return Starlette(routes=routes)


class Dashboard:
    """A running dashboard server (daemon thread); ``url`` is where to point a browser."""

    def __init__(self, state: DashboardState, host: str, port: int) -> None:
        import uvicorn

        self.state = state
        # bind here, so a busy port is a clear error now, not a log line in a thread later
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(64)
        except OSError as exc:
            sock.close()
            raise OSError(f"--dashboard: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                          "pick another port") from None
        self.host, self.port = host, sock.getsockname()[1]
        config = uvicorn.Config(build_app(state), log_level="warning", lifespan="off", ws="websockets-sansio")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="vlmcsc-dashboard", daemon=True)
        self._thread.start()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="vlmcsc-dashboard-tick", daemon=True)
        self._ticker.start()

    def _tick_loop(self) -> None:
        # the waterfall scrolls in time whether or not a page is open
        while not self._stop.wait(1.0 / SNAPSHOT_HZ):
            try:
                self.state.tick()
            except Exception:  # noqa: BLE001 - a display problem must never reach the receiver
                pass

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}/"

    # the feeding methods of the state, so callers hold one object
    def set_iq(self, x) -> None:
        self.state.set_iq(x)

    def set_frame(self, frame) -> None:
        self.state.set_frame(frame)

    def add_record(self, record: dict) -> None:
        self.state.add_record(record)

    def set_image(self, seq: int, name: str) -> None:
        self.state.set_image(seq, name)

    def set_stats(self, stats: dict) -> None:
        self.state.set_stats(stats)

    def close(self, hold_s: float = 0.0) -> None:
        """Stop serving (after ``hold_s`` seconds, so the last state can still be looked at)."""
        if hold_s > 0:
            time.sleep(hold_s)
        self._stop.set()
        self._server.should_exit = True
        self._thread.join(5.0)


def start_dashboard(address: str, title: str = "vlmcsc", sample_rate: float | None = None,
                    announce=print) -> Dashboard:
    """Start serving on ``[HOST:]PORT`` (127.0.0.1 by default); prints the URL with ``announce``.

    Raises ValueError for a malformed address, OSError when the port cannot be bound, ImportError
    (with the pip command) when starlette/uvicorn are missing.
    """
    host, port = parse_address(address)
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"--dashboard needs starlette and uvicorn (project dependencies; pip install -e .): {exc}") from None
    dash = Dashboard(DashboardState(sample_rate, title), host, port)
    if announce is not None:
        import sys

        announce(f"dashboard: {dash.url}", file=sys.stderr, flush=True)
    return dash
