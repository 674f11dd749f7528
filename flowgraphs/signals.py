"""Termination signals handled like Ctrl-C, so ``systemd stop``, ``docker stop`` and ``timeout``
leave the same complete files (``end`` records, checksums, final metadata) as a keyboard interrupt.

:func:`terminate_as_interrupt` turns SIGTERM and SIGHUP into :class:`KeyboardInterrupt` in the main
thread for the duration of a ``with`` block; every flowgraph already cleans up on that exception.
"""

from __future__ import annotations

import contextlib
import signal
import threading

#: signals that end a run the way Ctrl-C does
TERMINATION_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM/SIGHUP arrives (a KeyboardInterrupt: same clean-up)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


@contextlib.contextmanager
def terminate_as_interrupt(signals=TERMINATION_SIGNALS):
    """Within the block, the given signals raise :class:`Terminated` (a KeyboardInterrupt).

    The first signal raises; further ones while clean-up runs are ignored, so a second
    ``docker stop`` / ``kill`` cannot cut the clean-up short (SIGKILL still can). Outside the main
    thread (where Python cannot install handlers) this does nothing. Previous handlers are restored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state = {"fired": False}

    def handler(signum, _frame):
        if state["fired"]:
            return
        state["fired"] = True
        raise Terminated(signum)

    previous = {}
    for sig in signals:
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # pragma: no cover - exotic platforms
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
