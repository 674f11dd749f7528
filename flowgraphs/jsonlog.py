"""JSON-lines logs that survive Ctrl-C: one record per line, written and flushed as it happens.

Every record is a flat dict with a ``type`` ("start", "frame", "missed", "sweep", "end", ...) and
a wall-clock ``time`` (Unix seconds). A process killed mid-run leaves only complete lines (each
line is written with a single ``write`` call and flushed, then fsync'ed every ``sync_every``
lines); :func:`read_jsonl` also tolerates a torn last line from a hard kill.
"""

from __future__ import annotations

import errno
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import IO, Iterator

import numpy as np


def _plain(value):
    """Make numpy scalars/arrays and non-finite floats JSON-safe (NaN/inf -> None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


class JsonLinesWriter:
    """Append records to a JSON-lines file (or ``-`` for stdout), one flushed line each.

    :param path: file to append to (created with parents), or ``"-"`` for stdout
    :param sync_every: fsync every this many lines (0 = never; flushing alone already survives
        a killed process, fsync also survives a power cut)
    """

    def __init__(self, path: str | Path, sync_every: int = 20) -> None:
        self.path = str(path)
        self.sync_every = int(sync_every)
        self._count = 0
        self.lines_kept = 0  # records fully on disk (for "how much was kept" messages)
        if self.path == "-":
            self._fh: IO[str] = sys.stdout
            self._own = False
            self._fd = -1
        else:
            path = Path(self.path)
            if path.is_dir():
                raise IsADirectoryError(f"log {self.path!r} is a folder; give a file name")
            path.parent.mkdir(parents=True, exist_ok=True)
            self._created = not path.exists()
            self._failed = False
            # raw appends: each record is one os.write of the whole line, so a full disk or a kill
            # can cut only the line being written, and that one is truncated away again
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._fh = None  # type: ignore[assignment]
            self._own = True
            size = os.fstat(self._fd).st_size
            if size:
                with open(path, "rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    torn = fh.read(1) != b"\n"
                if torn:  # a killed writer left half a line: end it so our first record stays whole
                    self._append(b"\n")

    def write(self, record: dict) -> dict:
        """Write one record (``time`` added if missing); returns the record as written."""
        record = _plain(dict(record))
        record.setdefault("time", round(time.time(), 6))
        line = json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
        if not self._own:
            self._fh.write(line)
            self._fh.flush()
            return record
        self._append(line.encode("utf-8"))
        self._count += 1
        self.lines_kept += 1
        if self.sync_every and self._count % self.sync_every == 0:
            os.fsync(self._fd)
        return record

    def _append(self, data: bytes) -> None:
        """Append ``data`` whole or not at all (a partial write is truncated away, then re-raised)."""
        start = os.fstat(self._fd).st_size
        done = 0
        try:
            while done < len(data):
                n = os.write(self._fd, data[done:])
                if n <= 0:
                    raise OSError(errno.ENOSPC, "no space left on device", self.path)
                done += n
        except OSError as exc:
            self._failed = True
            if done:
                try:
                    os.ftruncate(self._fd, start)
                except OSError:
                    pass
            if exc.filename is None:
                exc.filename = self.path
            raise

    def close(self) -> None:
        if self._own and self._fd >= 0:
            try:
                os.fsync(self._fd)
            except OSError:
                pass
            empty = os.fstat(self._fd).st_size == 0
            os.close(self._fd)
            self._fd = -1
            if empty and self._created and self._failed:  # nothing could be written: leave no empty file
                try:
                    os.unlink(self.path)
                except OSError:
                    pass

    def __enter__(self) -> "JsonLinesWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_jsonl(path: str | Path, strict: bool = False) -> Iterator[dict]:
    """Yield the records of a JSON-lines file; a torn or garbled line is skipped (``strict``: raised)."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                if strict:
                    raise ValueError(f"{path}:{lineno}: not a JSON record ({exc})") from exc
                continue
            if isinstance(record, dict):
                yield record
