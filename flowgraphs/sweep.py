"""``vlmcsc sweep``: Monte-Carlo over SNR x channel x system through the full PHY and loopback radio.

Each *point* (system, channel, SNR, trial) sends captions through the transmitter, the channel
simulator and the streaming receiver (real synchronisation, estimated channel and SNR) and becomes
one JSON line in ``--out`` (type ``sweep``: means, per-frame lists, frame losses and the 95 %
interval of BLEU-1). Points run in parallel over ``--workers`` processes, or on a Ray cluster with
``--ray [ADDRESS]`` (:mod:`.sweep_ray`); a re-run with the same ``--out`` skips points already
there, so an interrupted sweep resumes where it stopped. ``--csv`` also appends a CSV copy.

Each point's seed is derived from its coordinates (channel, SNR, trial, ``--seed``), never from the
order of execution, so serial, multi-process and Ray runs give identical rows.

A point runs in chunks of ``--chunk-frames`` frames (chunk ``k`` has its own seed derived from the
point's; a point of at most one chunk is one batch with the point's seed). Without a stopping rule
a point is ``--frames`` frames and its chunks run in parallel. With ``--target-errors K`` and/or
``--ci-halfwidth H`` a point's chunks run one after another and it stops after the first chunk at
which it has at least ``--min-frames`` frames and either K frame losses or a 95 % BLEU-1 interval no
wider than +-H, or at ``--frames`` frames (then the upper bound). Then: ``vlmcsc report results.jsonl``.
"""

from __future__ import annotations

import csv
import math
import multiprocessing as mp
import os
import queue
import sys
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .jsonlog import JsonLinesWriter, read_jsonl

CELL_KEYS = ("system", "channel", "snr_db", "trial")
CSV_COLUMNS = ("system", "channel", "snr_db", "trial", "frames", "frames_ok", "frame_losses", "bleu1",
               "bleu1_ci_low", "bleu1_ci_high", "stop", "similarity", "snr_est_db", "cfo_hz", "evm_db",
               "seed", "time")
# the keys a cell function receives (``cell_fn(task)``)
TASK_KEYS = ("system", "channel", "snr_db", "trial", "frames", "seed")


def parse_snr_list(text: str) -> list[float]:
    """``"-3:21:3"`` (start:stop:step, stop included) or ``"0,5,10"`` -> SNRs in dB."""
    text = text.strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3 or parts[2] <= 0 or parts[1] < parts[0]:
                raise ValueError
            start, stop, step = parts
            n = int(round((stop - start) / step)) + 1
            return [round(start + i * step, 6) for i in range(n) if start + i * step <= stop + 1e-9]
        return [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"SNR list {text!r} must be start:stop:step (e.g. -3:21:3) or a,b,c") from None


def cell_key(row: dict) -> tuple:
    return (str(row["system"]), str(row["channel"]), round(float(row["snr_db"]), 6), int(row["trial"]))


def point_seed(seed: int, channel: str, snr_db: float, trial: int, chunk: int = 0) -> int:
    """A 31-bit seed from a point's coordinates (and chunk index), independent of grid order.

    The system is left out on purpose: the codec and the digital baseline at the same point see
    the same captions and the same channel draws. CRC-32 of the coordinates' text is stable across
    processes and machines (Python's ``hash`` of a string is not).
    """
    text = f"{int(seed)}|{channel}|{round(float(snr_db), 6)!r}|{int(trial)}|{int(chunk)}"
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


def make_cells(systems: Iterable[str], channels: Iterable[str], snrs: Iterable[float], trials: int,
               frames: int, seed: int = 1) -> list[dict]:
    """The full grid; each cell has its own seed derived from its coordinates (repeatable)."""
    cells = []
    for system in systems:
        for channel in channels:
            for snr in snrs:
                for trial in range(trials):
                    cells.append({
                        "system": system, "channel": channel, "snr_db": float(snr), "trial": trial,
                        "frames": frames, "seed": point_seed(seed, channel, snr, trial),
                    })
    return cells


def done_keys(path: str | Path) -> set[tuple]:
    """Keys of the cells already in a results file (missing file = none)."""
    path = Path(path)
    if not path.is_file():
        return set()
    keys = set()
    for row in read_jsonl(path):
        if row.get("type") == "sweep" and all(k in row for k in CELL_KEYS):
            keys.add(cell_key(row))
    return keys


# -- confidence-based stopping -------------------------------------------------------------------
@dataclass(frozen=True)
class StopRule:
    """When a point has enough frames.

    :param target_errors: stop once this many frames are lost (not received, or payload CRC
        failed); ``None`` = off
    :param ci_halfwidth: stop once the 95 % interval of mean BLEU-1 is at most +- this; ``None`` = off
    :param chunk_frames: frames per chunk (the unit of work and of the stopping decision)
    :param min_frames: never stop before this many frames
    Without either criterion every point runs all its ``frames`` (the fixed-count sweep).
    """

    target_errors: int | None = None
    ci_halfwidth: float | None = None
    chunk_frames: int = 16
    min_frames: int = 16

    def __post_init__(self) -> None:
        if self.target_errors is not None and self.target_errors < 1:
            raise ValueError(f"--target-errors must be >= 1, got {self.target_errors}")
        if self.ci_halfwidth is not None and not (self.ci_halfwidth > 0):
            raise ValueError(f"--ci-halfwidth must be > 0, got {self.ci_halfwidth}")
        if self.chunk_frames < 1 or self.min_frames < 1:
            raise ValueError("--chunk-frames and --min-frames must be >= 1")

    @property
    def adaptive(self) -> bool:
        return self.target_errors is not None or self.ci_halfwidth is not None

    def chunk_sizes(self, max_frames: int) -> list[int]:
        """Frames of each chunk of a point of (at most) ``max_frames`` frames."""
        full, rest = divmod(max_frames, self.chunk_frames)
        return [self.chunk_frames] * full + ([rest] if rest else [])

    def decide(self, row: dict, max_frames: int) -> str | None:
        """Why the point (merged ``row`` so far) stops now: "errors", "ci", "max_frames" or None."""
        if row["frames"] >= max_frames:
            return "errors" if self._errors(row) else "ci" if self._ci(row) else (
                "fixed" if not self.adaptive else "max_frames")
        if row["frames"] < self.min_frames:
            return None
        return "errors" if self._errors(row) else "ci" if self._ci(row) else None

    def _errors(self, row: dict) -> bool:
        return self.target_errors is not None and row["frame_losses"] >= self.target_errors

    def _ci(self, row: dict) -> bool:
        half = row.get("bleu1_ci_halfwidth")
        return self.ci_halfwidth is not None and half is not None and half <= self.ci_halfwidth


def mean_ci95(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and half-width of its two-sided 95 % Student-t interval (None where undefined).

    Half-width = t_{0.975, n-1} * s / sqrt(n) with s the sample standard deviation (ddof=1); the
    normal-theory interval for a mean, adequate for BLEU-1 averaged over tens of frames.
    """
    import numpy as np
    from scipy.stats import t as student_t

    vals = np.asarray([v for v in values if v is not None], dtype=float)
    if vals.size == 0:
        return None, None
    mean = float(vals.mean())
    if vals.size < 2:
        return mean, None
    half = float(student_t.ppf(0.975, vals.size - 1) * vals.std(ddof=1) / math.sqrt(vals.size))
    return mean, half


def _weighted(rows: list[dict], key: str, weight_key: str) -> float | None:
    num = den = 0.0
    for r in rows:
        value, w = r.get(key), r.get(weight_key, r.get("frames", 1))
        if value is not None and w:
            num += float(value) * w
            den += w
    return round(num / den, 4) if den else None


def merge_rows(rows: list[dict], cell: dict) -> dict:
    """The chunk rows of one point -> its row: lists concatenated, means re-taken, losses and interval.

    A single chunk keeps its row as is (the fixed-count sweep writes what it always wrote), plus
    ``frame_losses``, ``chunks`` and the BLEU-1 interval.
    """
    if len(rows) == 1:
        out = dict(rows[0])
    else:
        out = dict(rows[0])
        frames = sum(int(r.get("frames", 0)) for r in rows)
        out["frames"] = frames
        out["frames_ok"] = sum(int(r.get("frames_ok", r.get("frames", 0))) for r in rows)
        for key in ("bleu1_frames", "similarity_frames"):
            if all(key in r for r in rows):
                out[key] = [v for r in rows for v in r[key]]
        if "bleu1_frames" in out:
            out["bleu1"] = round(sum(out["bleu1_frames"]) / max(1, len(out["bleu1_frames"])), 4)
        sims = [v for v in out.get("similarity_frames", []) if v is not None]
        if "similarity" in out:
            out["similarity"] = round(sum(sims) / len(sims), 4) if sims else None
        if "frames_received" in rows[0]:
            out["frames_received"] = sum(int(r["frames_received"]) for r in rows)
        for key in ("bleu1_received", "snr_est_db", "cfo_hz", "evm_db"):
            if key in out:
                out[key] = _weighted(rows, key, "frames_received")
        if "seconds" in out:
            out["seconds"] = round(sum(float(r.get("seconds", 0.0)) for r in rows), 3)
    out["seed"] = cell["seed"]
    out["chunks"] = len(rows)
    out["frame_losses"] = int(out.get("frames", 0)) - int(out.get("frames_ok", out.get("frames", 0)))
    _, half = mean_ci95(out.get("bleu1_frames", []))
    mean = out.get("bleu1")
    out["bleu1_ci_halfwidth"] = None if half is None else round(half, 4)
    out["bleu1_ci_low"] = None if half is None or mean is None else round(max(0.0, mean - half), 4)
    out["bleu1_ci_high"] = None if half is None or mean is None else round(min(1.0, mean + half), 4)
    return out


# -- executors: where cell functions run ----------------------------------------------------------
class SerialExecutor:
    """Runs each task in this process when its result is asked for (capacity 1)."""

    capacity = 1

    def __init__(self, cell_fn: Callable[[dict], dict], initializer: Callable | None = None,
                 initargs: tuple = ()) -> None:
        if initializer is not None:
            initializer(*initargs)
        self.cell_fn = cell_fn
        self._todo: deque = deque()

    def submit(self, tag, task: dict) -> None:
        self._todo.append((tag, task))

    def next_done(self) -> tuple:
        tag, task = self._todo.popleft()
        return tag, self.cell_fn(task)

    def close(self) -> None:
        self._todo.clear()


class PoolExecutor:
    """A spawn-context ``multiprocessing`` pool; results come back in completion order."""

    def __init__(self, cell_fn: Callable[[dict], dict], workers: int, initializer: Callable | None = None,
                 initargs: tuple = ()) -> None:
        # spawn: the parent may hold torch threads; fork after that can deadlock
        self.pool = mp.get_context("spawn").Pool(workers, initializer=initializer, initargs=initargs)
        self.cell_fn = cell_fn
        self.capacity = 2 * workers  # one queued task per worker keeps every worker busy
        self._done: queue.Queue = queue.Queue()

    def submit(self, tag, task: dict) -> None:
        self.pool.apply_async(self.cell_fn, (task,), callback=lambda row: self._done.put((tag, row, None)),
                              error_callback=lambda exc: self._done.put((tag, None, exc)))

    def next_done(self) -> tuple:
        while True:
            try:
                tag, row, exc = self._done.get(timeout=0.5)
                break
            except queue.Empty:
                continue
        if exc is not None:
            raise exc
        return tag, row

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


def run_sweep(
    cells: list[dict],
    out: str | Path,
    cell_fn: Callable[[dict], dict],
    workers: int = 1,
    initializer: Callable | None = None,
    initargs: tuple = (),
    csv_path: str | Path | None = None,
    progress: bool = True,
    stop: StopRule | None = None,
    executor=None,
) -> dict:
    """Run the cells not yet in ``out`` and append one row each as they finish.

    ``cell_fn(task) -> row`` gets a dict with :data:`TASK_KEYS` (one chunk of a point) and must be
    picklable (a module-level function) when ``workers > 1``; ``initializer(*initargs)`` runs once
    per worker (load the codec there, not per cell). ``stop`` (:class:`StopRule`) makes points
    adaptive; a cell's ``frames`` is then its upper bound. ``executor`` (e.g.
    :class:`~.sweep_ray.RayExecutor`) replaces the local serial/process-pool one; it is closed here.
    One progress bar counts frames over all workers. Returns {"total", "skipped", "ran", "frames"}.
    """
    stop = stop or StopRule()
    done = done_keys(out)
    todo = [c for c in cells if cell_key(c) not in done]
    result = {"total": len(cells), "skipped": len(cells) - len(todo), "ran": 0, "frames": 0}
    if not todo:
        if executor is not None:
            executor.close()
        return result
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(int(c["frames"]) for c in todo), unit="frame", desc="sweep",
                   postfix={"points": f"0/{len(todo)}", "skipped": result["skipped"]})
    csv_fh = writer = None
    try:
        with JsonLinesWriter(out) as log:
            if csv_path:
                writer, csv_fh = _csv_writer(csv_path)
            if executor is None:
                executor = (PoolExecutor(cell_fn, workers, initializer, initargs) if workers > 1
                            else SerialExecutor(cell_fn, initializer, initargs))
            # (point, chunk) tasks. Fixed count: every chunk of a point is independent, all are
            # queued at once (a point's frames spread over all workers). Adaptive: a point's next
            # chunk is queued only after the previous one came back and the rule said "go on".
            sizes = [stop.chunk_sizes(int(c["frames"])) for c in todo]
            if stop.adaptive:
                pending = deque((i, 0) for i in range(len(todo)))
            else:
                pending = deque((i, k) for i in range(len(todo)) for k in range(len(sizes[i])))
            chunks: dict[int, dict[int, dict]] = {}
            in_flight = 0

            def submit(i: int, k: int) -> None:
                cell = todo[i]
                task = {key: cell[key] for key in TASK_KEYS}
                task["frames"] = sizes[i][k]
                if k:
                    task["seed"] = point_seed(cell["seed"], cell["channel"], cell["snr_db"], cell["trial"], k)
                executor.submit((i, k), task)

            while pending or in_flight:
                while pending and in_flight < executor.capacity:
                    submit(*pending.popleft())
                    in_flight += 1
                (i, k), row = executor.next_done()
                in_flight -= 1
                got = chunks.setdefault(i, {})
                got[k] = row
                if bar is not None:
                    bar.update(int(row.get("frames", 0)))
                cell = todo[i]
                if len(got) < len(sizes[i]) and not stop.adaptive:
                    continue  # more chunks of this point still out
                merged = merge_rows([got[j] for j in sorted(got)], cell)
                why = stop.decide(merged, int(cell["frames"]))
                if why is None and k + 1 >= len(sizes[i]):
                    why = "max_frames"  # every chunk ran (a cell function that returned fewer frames)
                if why is None:
                    submit(i, k + 1)
                    in_flight += 1
                    continue
                merged["stop"] = why
                del chunks[i]
                merged = log.write({"type": "sweep", **merged})
                if writer is not None:
                    writer.writerow(merged)
                    csv_fh.flush()
                result["ran"] += 1
                result["frames"] += int(merged.get("frames", 0))
                if bar is not None:
                    unused = int(cell["frames"]) - int(merged.get("frames", 0))
                    if unused > 0:  # stopped early: the bar's total shrinks by what it did not need
                        bar.total -= unused
                    bar.set_postfix(points=f"{result['ran']}/{len(todo)}", skipped=result["skipped"])
    finally:
        if executor is not None:
            executor.close()
        if csv_fh is not None:
            csv_fh.close()
        if bar is not None:
            bar.close()
    return result


def _csv_writer(csv_path: str | Path):
    """Append to a CSV copy; an existing file keeps its own header (older column sets included)."""
    path = Path(csv_path)
    columns = list(CSV_COLUMNS)
    new = not path.is_file() or path.stat().st_size == 0
    if not new:
        with open(path, newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), None)
        if header:
            columns = header
    fh = open(path, "a", newline="", encoding="utf-8")
    writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
    if new:
        writer.writeheader()
    return writer, fh


# -- the real cell: one batch of frames through the full chain -------------------------------------
_WORKER: dict = {}


def init_worker(checkpoint: str, phy: dict, similarity: bool, threads: int = 1) -> None:
    """Per-process set-up: torch threads, the codec and the scorer (loaded once per worker)."""
    import torch

    from .link import load_codec
    from .scoring import Scorer

    torch.set_num_threads(max(1, threads))
    _WORKER["codec"] = load_codec(checkpoint or None, quiet=True)
    _WORKER["phy"] = dict(phy)
    _WORKER["scorer"] = Scorer(similarity=similarity)


def run_cell(cell: dict) -> dict:
    """One cell through the PHY + loopback radio + channel preset; the row written to the log."""
    from .link import run_loopback_batch

    return run_loopback_batch(
        codec=_WORKER["codec"], phy=_WORKER["phy"], scorer=_WORKER["scorer"], **cell
    )


def add_arguments(parser) -> None:
    from .channels import CHANNEL_PRESETS

    parser.add_argument("--snr", default="-3:21:3", help="SNRs in dB: start:stop:step or a,b,c (write --snr=-3:21:3 when it starts with a minus)")
    parser.add_argument("--channels", default="awgn,tdl",
                        help=f"comma list of channel presets ({', '.join(CHANNEL_PRESETS)})")
    parser.add_argument("--systems", default="semantic,digital", help="semantic and/or digital")
    parser.add_argument("--trials", type=int, default=4, help="trials per cell (default 4)")
    parser.add_argument("--frames", type=int, default=16,
                        help="frames per trial (default 16); with --target-errors/--ci-halfwidth the upper bound")
    parser.add_argument("--target-errors", type=int, default=None, metavar="K",
                        help="stop a point once K frames are lost (confidence-based stopping)")
    parser.add_argument("--ci-halfwidth", type=float, default=None, metavar="H",
                        help="stop a point once its 95%% BLEU-1 interval is within +-H (e.g. 0.02)")
    parser.add_argument("--chunk-frames", type=int, default=16,
                        help="frames per chunk, the unit of work and of the stopping decision (default 16)")
    parser.add_argument("--min-frames", type=int, default=None,
                        help="with a stopping rule: never stop before this many frames (default: one chunk)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel processes or Ray workers (default: all cores; with a Ray address, "
                             "the cluster's CPUs)")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help="run the points on Ray: a local Ray (no ADDRESS) or an existing cluster "
                             "(HOST:PORT of its head, ray://HOST:10001, or auto); needs the [ray] extra")
    parser.add_argument("--checkpoint", default="", help="codec folder (default: shipped weights)")
    parser.add_argument("--similarity", action="store_true", help="also score sentence similarity (slower)")
    parser.add_argument("--out", "-o", default="sweep.jsonl", help="results (appended; resumable)")
    parser.add_argument("--csv", help="also append rows to this CSV file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args) -> int:
    from .channels import CHANNEL_PRESETS

    try:
        snrs = parse_snr_list(args.snr)
    except ValueError as exc:
        print(f"vlmcsc sweep: {exc}")
        return 2
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    bad = [c for c in channels if c not in CHANNEL_PRESETS] + [s for s in systems if s not in ("semantic", "digital")]
    if bad or not channels or not systems or not snrs or args.trials < 1 or args.frames < 1:
        print(f"vlmcsc sweep: bad grid (unknown: {bad}); channels: {', '.join(CHANNEL_PRESETS)}; "
              "systems: semantic, digital; --trials and --frames >= 1")
        return 2
    if args.workers is not None and args.workers < 1:
        print(f"vlmcsc sweep: --workers must be >= 1, got {args.workers}")
        return 2
    try:
        stop = StopRule(args.target_errors, args.ci_halfwidth, args.chunk_frames,
                        args.min_frames if args.min_frames is not None else args.chunk_frames)
    except ValueError as exc:
        print(f"vlmcsc sweep: {exc}")
        return 2
    cells = make_cells(systems, channels, snrs, args.trials, args.frames, args.seed)
    initargs = (args.checkpoint, {}, args.similarity, 1)
    executor = None
    workers = args.workers or max(1, os.cpu_count() or 2)
    if args.ray is not None and done_keys(args.out) >= {cell_key(c) for c in cells}:
        executor = None  # everything is done: no need to start Ray
    elif args.ray is not None:
        from .sweep_ray import RayUnavailableError, RayExecutor

        try:
            executor = RayExecutor(run_cell, init_worker, initargs, address=args.ray, workers=args.workers)
        except RayUnavailableError as exc:
            print(f"vlmcsc sweep: {exc}")
            return 2
        print(f"sweep: Ray at {executor.address}, {executor.workers} workers")
    result = run_sweep(
        cells, args.out, run_cell, workers=workers, initializer=init_worker,
        initargs=initargs, csv_path=args.csv, progress=not args.no_progress, stop=stop, executor=executor,
    )
    print(f"sweep: {result['ran']} cells run, {result['skipped']} already in {args.out} "
          f"({result['frames']} frames run); next: vlmcsc report {args.out}")
    return 0
