"""JSON-lines logs that survive Ctrl-C: one record per line, written and flushed as it happens.

Every record is a flat dict with a ``type`` ("start", "frame", "missed", "sweep", "end", ...) and
a wall-clock ``time`` (Unix seconds). A process killed mid-run leaves only complete lines (each
line is written with a single ``write`` call and flushed, then fsync'ed every ``sync_every``
lines); :func:`read_jsonl` also tolerates a torn last line from a hard kill.
"""

from __future__ import annotations

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
        if self.path == "-":
            self._fh: IO[str] = sys.stdout
            self._own = False
        else:
            path = Path(self.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            torn = False
            if path.is_file() and path.stat().st_size:
                with open(path, "rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    torn = fh.read(1) != b"\n"
            self._fh = open(self.path, "a", encoding="utf-8", buffering=1)
            if torn:  # a killed writer left half a line: end it so our first record stays whole
                self._fh.write("\n")
            self._own = True

    def write(self, record: dict) -> dict:
        """Write one record (``time`` added if missing); returns the record as written."""
        record = _plain(dict(record))
        record.setdefault("time", round(time.time(), 6))
        line = json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
        self._fh.write(line)  # one call per line: an interrupted process never leaves half a record
        self._fh.flush()
        self._count += 1
        if self._own and self.sync_every and self._count % self.sync_every == 0:
            os.fsync(self._fh.fileno())
        return record

    def close(self) -> None:
        if self._own and not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

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
