"""``vlmcsc sweep``: Monte-Carlo over SNR x channel x system through the full PHY and loopback radio.

Each *cell* (system, channel, SNR, trial) sends ``--frames`` captions through the transmitter,
the channel simulator and the streaming receiver (real synchronisation, estimated channel and
SNR) and becomes one JSON line in ``--out`` (type ``sweep``: means plus per-frame lists). Cells run
in parallel over ``--workers`` processes; a re-run with the same ``--out`` skips cells already
there, so an interrupted sweep resumes where it stopped. ``--csv`` also appends a CSV copy.
Then: ``vlmcsc report results.jsonl``.
"""

from __future__ import annotations

import csv
import multiprocessing as mp
import os
from pathlib import Path
from typing import Callable, Iterable

from .jsonlog import JsonLinesWriter, read_jsonl

CELL_KEYS = ("system", "channel", "snr_db", "trial")
CSV_COLUMNS = ("system", "channel", "snr_db", "trial", "frames", "frames_ok", "bleu1", "similarity",
               "snr_est_db", "cfo_hz", "evm_db", "seed", "time")


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


def make_cells(systems: Iterable[str], channels: Iterable[str], snrs: Iterable[float], trials: int,
               frames: int, seed: int = 1) -> list[dict]:
    """The full grid; each cell has its own seed derived from its coordinates (repeatable)."""
    cells = []
    for system in systems:
        for ci, channel in enumerate(channels):
            for si, snr in enumerate(snrs):
                for trial in range(trials):
                    cells.append({
                        "system": system, "channel": channel, "snr_db": float(snr), "trial": trial,
                        "frames": frames,
                        # same seed for both systems: they see the same captions and channel draws
                        "seed": seed * 1_000_003 + ci * 10_007 + si * 101 + trial,
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


def run_sweep(
    cells: list[dict],
    out: str | Path,
    cell_fn: Callable[[dict], dict],
    workers: int = 1,
    initializer: Callable | None = None,
    initargs: tuple = (),
    csv_path: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Run the cells not yet in ``out`` and append one row each as they finish.

    ``cell_fn(cell) -> row`` must be picklable (a module-level function) when ``workers > 1``;
    ``initializer(*initargs)`` runs once per worker (load the codec there, not per cell).
    Returns {"total", "skipped", "ran"}.
    """
    done = done_keys(out)
    todo = [c for c in cells if cell_key(c) not in done]
    result = {"total": len(cells), "skipped": len(cells) - len(todo), "ran": 0}
    if not todo:
        return result
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(cells), initial=result["skipped"], unit="cell", desc="sweep")
    csv_fh = None
    try:
        with JsonLinesWriter(out) as log:
            if csv_path:
                new = not Path(csv_path).is_file()
                csv_fh = open(csv_path, "a", newline="", encoding="utf-8")
                writer = csv.DictWriter(csv_fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
                if new:
                    writer.writeheader()
            rows: Iterable[dict]
            pool = None
            if workers > 1:
                # spawn: the parent may hold torch threads; fork after that can deadlock
                pool = mp.get_context("spawn").Pool(workers, initializer=initializer, initargs=initargs)
                rows = pool.imap_unordered(cell_fn, todo)
            else:
                if initializer is not None:
                    initializer(*initargs)
                rows = map(cell_fn, todo)
            try:
                for row in rows:
                    row = log.write({"type": "sweep", **row})
                    if csv_fh is not None:
                        writer.writerow(row)
                        csv_fh.flush()
                    result["ran"] += 1
                    if bar is not None:
                        bar.update(1)
            finally:
                if pool is not None:
                    pool.terminate()
                    pool.join()
    finally:
        if csv_fh is not None:
            csv_fh.close()
        if bar is not None:
            bar.close()
    return result


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
    parser.add_argument("--frames", type=int, default=16, help="frames per trial (default 16)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2)),
                        help="parallel processes (default: all cores)")
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
    cells = make_cells(systems, channels, snrs, args.trials, args.frames, args.seed)
    result = run_sweep(
        cells, args.out, run_cell, workers=args.workers, initializer=init_worker,
        initargs=(args.checkpoint, {}, args.similarity, 1), csv_path=args.csv,
        progress=not args.no_progress,
    )
    print(f"sweep: {result['ran']} cells run, {result['skipped']} already in {args.out}; "
          f"next: vlmcsc report {args.out}")
    return 0
