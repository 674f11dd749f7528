"""How every subcommand runs: checked options, SIGTERM/SIGHUP handled as Ctrl-C, one-line errors.

:func:`run_guarded` is the single place where the command line meets a subcommand's ``main``:
option bounds (:func:`.validate.check_args`) are applied first; termination signals raise
KeyboardInterrupt (:mod:`.signals`), which each flowgraph turns into complete files; and an
exception that escapes a subcommand ends the run with one line naming it and a non-zero code
instead of a traceback (``VLMCSC_DEBUG=1`` prints the traceback too).
"""

from __future__ import annotations

import errno
import os
import sys
import traceback

from .signals import terminate_as_interrupt
from .validate import InputError, check_args

#: exit codes: 2 bad input, 1 failure during the run, 130 interrupted (Ctrl-C / SIGTERM)
EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130

_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def describe(exc: BaseException) -> str:
    """One line for an exception (no traceback); disk-full errors say so."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"disk full{where} ({exc.strerror or exc}); files written so far are kept"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (InputError, FileNotFoundError, PermissionError, IsADirectoryError)):
        return text
    return f"{type(exc).__name__}: {text}"


def run_guarded(args) -> int:
    """Run ``args._run(args)`` as the CLI does; returns the exit code."""
    name = f"vlmcsc {getattr(args, 'command', '') or ''}".strip()
    try:
        check_args(args)
    except InputError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with terminate_as_interrupt():
            return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted; files written so far are complete", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit:
        raise
    except MemoryError:
        print(f"{name}: error: out of memory; a value (grid size, frame count, sequence number) is too large",
              file=sys.stderr)
        return EXIT_FAILURE
    except (InputError, ValueError, TypeError, LookupError, OSError, RuntimeError, ImportError) as exc:
        if os.environ.get("VLMCSC_DEBUG"):
            traceback.print_exc()
        bad_input = isinstance(exc, (InputError, FileNotFoundError, IsADirectoryError, NotADirectoryError))
        print(f"{name}: error: {describe(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT if bad_input else EXIT_FAILURE
