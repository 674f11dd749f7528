"""Validation at the boundary: one helper per kind of user input, so every command treats it alike.

Kinds: counts (non-negative integers with an upper bound), bounded numbers (finite, in a range),
SNR grids (bounded number of points), output paths (never an input, never a directory or a SigMF
file by mistake, no silent overwrite), input files, and ZeroMQ endpoints / TCP ports.

Every helper raises :class:`InputError` (a ``ValueError``) whose one-line message names the
option or key at fault and what is accepted; :func:`check_args` applies the per-option bounds of
:data:`ARG_BOUNDS` to the parsed command line of any subcommand (called once from the CLI).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Iterable

from vlmcsc.sdr.sigmf_io import SIGMF_SUFFIXES, sigmf_base

#: the largest SNR grid a sweep accepts (points); a typo such as ``0:1e12:1`` must not eat the RAM
MAX_GRID_POINTS = 10_000
#: sample rates a flowgraph accepts, Hz (any SDR we know of lies inside)
RATE_RANGE_HZ = (1e3, 1e9)
#: centre frequencies, Hz
FREQ_RANGE_HZ = (1e3, 1e11)
#: gains, dB (device ranges are checked again by the radio backends)
GAIN_RANGE_DB = (-200.0, 200.0)


class InputError(ValueError):
    """Bad user input; the message is one line naming the culprit and what is accepted."""


# -- numbers -----------------------------------------------------------------------------------
def check_count(name: str, value, minimum: int = 0, maximum: int = 10**9) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (counts: frames, steps, trials, seconds...).

    :raises InputError: not an integer, or out of range.
    """
    if isinstance(value, bool):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise InputError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    if not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except ValueError:
            raise InputError(f"{name} must be an integer, got {value!r}") from None
    if not minimum <= value <= maximum:
        raise InputError(f"{name} must be in [{minimum}, {maximum}], got {value}")
    return value


def check_number(name: str, value, minimum: float = -math.inf, maximum: float = math.inf,
                 unit: str = "") -> float:
    """``value`` as a finite float in ``[minimum, maximum]``.

    :raises InputError: not a number, NaN/inf, or out of range.
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number{' of ' + unit if unit else ''}, got {value!r}") from None
    if not math.isfinite(x) or not minimum <= x <= maximum:
        u = f" {unit}" if unit else ""
        raise InputError(f"{name} must be a finite number in [{minimum:g}, {maximum:g}]{u}, got {value!r}")
    return x


def check_grid(name: str, values: Iterable[float], max_points: int = MAX_GRID_POINTS,
               minimum: float = -50.0, maximum: float = 100.0) -> list[float]:
    """An SNR (or any) grid: at most ``max_points`` finite values in ``[minimum, maximum]``."""
    out = []
    for v in values:
        if len(out) >= max_points:
            raise InputError(f"{name} has more than {max_points} points; use a coarser step")
        out.append(check_number(name, v, minimum, maximum, "dB"))
    if not out:
        raise InputError(f"{name} is empty")
    return out


def grid_size(start: float, stop: float, step: float) -> float:
    """Points in ``start:stop:step`` (inclusive stop), computed without building the grid."""
    if step == 0:
        return math.inf
    return max(0.0, math.floor((stop - start) / step + 1e-9) + 1)


def check_range_text(name: str, text: str, max_points: int = MAX_GRID_POINTS) -> None:
    """``start:stop:step`` or ``a,b,c`` text: refuse grids over ``max_points`` before building them."""
    text = str(text).strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise InputError(f"{name} must be start:stop:step or a,b,c, got {text!r}")
        start, stop, step = (check_number(name, p) for p in parts)
        if step == 0 or (stop - start) * step < 0:
            raise InputError(f"{name}: step {step:g} never gets from {start:g} to {stop:g}")
        n = grid_size(start, stop, step)
        if n > max_points:
            raise InputError(f"{name} {text!r} has {n:.3g} points, more than {max_points}; use a coarser step")
        check_number(name, start, -50.0, 100.0, "dB")
        check_number(name, stop, -50.0, 100.0, "dB")
    else:
        items = [p for p in text.split(",") if p.strip()]
        check_grid(name, items, max_points)


# -- paths -------------------------------------------------------------------------------------
def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def input_paths_of_spec(spec: str | None) -> list[Path]:
    """Files a radio spec reads (``replay:x.sigmf-meta`` -> meta and data files)."""
    if not spec or not str(spec).startswith("replay:"):
        return []
    base = sigmf_base(str(spec)[len("replay:"):])
    return [base.with_name(base.name + ".sigmf-meta"), base.with_name(base.name + ".sigmf-data")]


def check_output(name: str, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (),
                 overwrite: bool = False, append: bool = False, kind: str = "file") -> Path:
    """An output path: not an input, not a directory (for files), writable parent, no overwrite.

    :param kind: ``"file"`` (a log or results file; a SigMF name is refused), ``"sigmf"`` (a
        recording base name; both files are checked) or ``"dir"`` (an output folder).
    :param append: the writer appends (logs): an existing file is kept, never truncated.
    :param overwrite: allow replacing an existing output (``--overwrite``).
    :raises InputError: with the option ``name`` and the path in the message.
    """
    text = os.fspath(path)
    if not text or not text.strip():
        raise InputError(f"{name}: empty path")
    p = Path(text)
    ins = [Path(i) for i in inputs if i]
    if kind == "sigmf":
        if text.endswith(os.sep) or p.is_dir() or p.name in ("", ".", ".."):
            raise InputError(f"{name} {text!r} is a folder; give a base name such as {os.path.join(text, 'capture')!r}")
        base = sigmf_base(p)
        targets = [base.with_name(base.name + ".sigmf-data"), base.with_name(base.name + ".sigmf-meta")]
    elif kind == "dir":
        if p.exists() and not p.is_dir():
            raise InputError(f"{name} {text!r} exists and is not a folder")
        targets = [p]
    else:
        if text.endswith(os.sep) or p.is_dir():
            raise InputError(f"{name} {text!r} is a folder; give a file name")
        if p.name.endswith(SIGMF_SUFFIXES):
            raise InputError(f"{name} {text!r} is a SigMF file name; a log there would corrupt the recording")
        targets = [p]
    for t in targets:
        for i in ins:
            if _same_file(t, i):
                raise InputError(f"{name} {str(t)!r} is also an input of this run; choose another output")
        if kind != "dir" and t.exists() and not overwrite and not append:
            raise InputError(f"{name} {str(t)!r} exists; pass --overwrite to replace it or choose another name")
        if kind != "dir" and t.exists() and not t.is_file():
            raise InputError(f"{name} {str(t)!r} exists and is not a regular file")
    parent = targets[0].parent if kind != "dir" else targets[0]
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(f"{name} {text!r}: {str(probe)!r} is a file, not a folder")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{name} {text!r}: folder {str(probe)!r} is not writable")
    return p


def check_input_file(name: str, path: str | os.PathLike, *, nonempty: bool = True) -> Path:
    """An existing, readable regular file (``nonempty``: with at least one byte)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{name} {str(p)!r} does not exist")
    if not p.is_file():
        raise InputError(f"{name} {str(p)!r} is not a regular file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{name} {str(p)!r} is not readable")
    if nonempty and p.stat().st_size == 0:
        raise InputError(f"{name} {str(p)!r} is empty (0 bytes)")
    return p


# -- endpoints ---------------------------------------------------------------------------------
_TCP = re.compile(r"^tcp://(\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(\d+)$")
_IPC = re.compile(r"^(ipc|inproc)://.+$")


def check_port(name: str, port) -> int:
    """A TCP port in 1..65535."""
    return check_count(name, port, 1, 65535)


def check_endpoint(name: str, endpoint: str) -> str:
    """A ZeroMQ endpoint ``tcp://host:port`` (port 1..65535), ``ipc://path`` or ``inproc://name``."""
    text = str(endpoint).strip()
    m = _TCP.match(text)
    if m:
        check_port(f"{name} port", int(m.group(2)))
        return text
    if _IPC.match(text):
        return text
    raise InputError(f"{name} {endpoint!r} is not a ZeroMQ endpoint; use tcp://127.0.0.1:5555")


# -- the command line --------------------------------------------------------------------------
#: option dest -> (kind, minimum, maximum); applied by :func:`check_args` to any subcommand that has it
ARG_BOUNDS: dict[str, tuple[str, float, float]] = {
    "frames": ("count", 0, 10**9),
    "steps": ("count", 1, 10**9),
    "trials": ("count", 1, 10**6),
    "workers": ("count", 1, 1024),
    "rehearse": ("count", 0, 10**7),
    "batch_size": ("count", 1, 1 << 20),
    "limit": ("count", 0, 10**9),
    "save_every": ("count", 1, 10**9),
    "warmup": ("count", 0, 10**9),
    "threads": ("count", 1, 1024),
    "stm_size": ("count", 1, 10**8),
    "ltm_size": ("count", 0, 10**8),
    "symbols_per_token": ("count", 1, 4096),
    "layers": ("count", 1, 256),
    "width": ("count", 1, 1 << 16),
    "heads": ("count", 1, 1024),
    "ff": ("count", 1, 1 << 20),
    "vocab_size": ("count", 2, 1 << 22),
    "stop_at": ("count", 0, 10**9),
    "idle_exit": ("number", 0.0, 1e7),
    "interval": ("number", 0.0, 1e5),
    "time_budget_min": ("number", 0.0, 1e7),
    "rate": ("number", *RATE_RANGE_HZ),
    "freq": ("number", *FREQ_RANGE_HZ),
    "tx_gain": ("number", *GAIN_RANGE_DB),
    "rx_gain": ("number", *GAIN_RANGE_DB),
    "lr": ("number", 0.0, 10.0),
    "nam_snr": ("number", -30.0, 60.0),
    "snr_min": ("number", -50.0, 100.0),
    "snr_max": ("number", -50.0, 100.0),
    "fixed_snr": ("number", -50.0, 100.0),
    "soak": ("number", 0.0, 1e6),
    "peer_timeout": ("number", 0.0, 1e6),
}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def check_args(args) -> None:
    """Apply :data:`ARG_BOUNDS` (and grid/endpoint checks) to a parsed ``argparse.Namespace``.

    :raises InputError: naming the option, e.g. ``--steps must be in [1, 1000000000], got -1``.
    """
    for dest, (kind, lo, hi) in ARG_BOUNDS.items():
        value = getattr(args, dest, None)
        if value is None or isinstance(value, (list, dict)):
            continue
        if kind == "count":
            check_count(_flag(dest), value, int(lo), int(hi))
        elif isinstance(value, (int, float)):
            check_number(_flag(dest), value, lo, hi)
    snr = getattr(args, "snr", None)
    if isinstance(snr, str):  # sweep/eval grids: start:stop:step or a,b,c
        check_range_text("--snr", snr)
    elif isinstance(snr, (int, float)) and not isinstance(snr, bool):
        check_number("--snr", snr, -50.0, 100.0, "dB")
    if isinstance(getattr(args, "snrs", None), str):
        check_range_text("--snrs", args.snrs)
    for dest in ("source", "sink"):
        value = getattr(args, dest, None)
        if isinstance(value, str) and getattr(args, "command", None) == "air":
            check_endpoint("--from" if dest == "source" else "--to", value)
