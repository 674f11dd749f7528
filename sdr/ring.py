"""A thread-safe ring buffer of complex64 samples between a radio's receive thread and its reader.

The receive thread must never wait for the reader (a real radio would overflow), so a full ring
drops its oldest samples and counts them instead of blocking the writer.
"""

from __future__ import annotations

import threading

import numpy as np


class SampleRing:
    """Fixed-capacity FIFO of complex64 samples; the writer never blocks.

    :param capacity: samples held at most (e.g. 2 s at the sample rate).
    """

    def __init__(self, capacity: int) -> None:
        capacity = int(capacity)
        if capacity < 1:
            raise ValueError(f"ring capacity must be >= 1 sample, got {capacity}")
        self._buf = np.zeros(capacity, dtype=np.complex64)
        self._start = 0  # index of the oldest sample
        self._size = 0
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0  # samples overwritten before anyone read them

    @property
    def capacity(self) -> int:
        return self._buf.size

    def __len__(self) -> int:
        with self._cond:
            return self._size

    def write(self, samples: np.ndarray) -> int:
        """Append ``samples`` (complex64 [n]); returns how many old samples were dropped."""
        x = np.asarray(samples, dtype=np.complex64).ravel()
        cap = self._buf.size
        with self._cond:
            if x.size >= cap:  # only the newest `cap` samples can survive
                dropped = self._size + x.size - cap
                self._buf[:] = x[-cap:]
                self._start, self._size = 0, cap
            else:
                dropped = max(0, self._size + x.size - cap)
                if dropped:
                    self._start = (self._start + dropped) % cap
                    self._size -= dropped
                end = (self._start + self._size) % cap
                first = min(x.size, cap - end)
                self._buf[end : end + first] = x[:first]
                self._buf[: x.size - first] = x[first:]
                self._size += x.size
            self.dropped += dropped
            self._cond.notify_all()
            return dropped

    def read(self, num_samples: int, timeout: float) -> np.ndarray:
        """Wait up to ``timeout`` s for ``num_samples``; return up to that many (maybe fewer)."""
        num_samples = int(num_samples)
        with self._cond:
            self._cond.wait_for(lambda: self._size >= num_samples or self._closed, timeout)
            n = min(num_samples, self._size)
            cap = self._buf.size
            first = min(n, cap - self._start)
            out = np.concatenate(
                (self._buf[self._start : self._start + first], self._buf[: n - first])
            )
            self._start = (self._start + n) % cap
            self._size -= n
            return out

    def clear(self) -> int:
        """Drop everything buffered (e.g. stale samples after a retune); returns how many."""
        with self._cond:
            n, self._size, self._start = self._size, 0, 0
            return n

    def close(self) -> None:
        """Wake any waiting reader (the writer is gone)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False


class RingReceiveMixin:
    """``receive()`` for backends whose receive thread fills a :class:`SampleRing`.

    The backend provides ``start_rx()``, ``self._ring`` (a SampleRing), ``self._rx_error`` (set by
    the thread when the device dies) and ``self.stats``.
    """

    def receive(self, num_samples: int, timeout: float = 1.0) -> np.ndarray:
        """Up to ``num_samples`` complex64 samples from the ring; fewer on timeout (counted).

        Raises the receive thread's RadioError once the device has died and the ring is empty.
        """
        num_samples = int(num_samples)
        if num_samples < 0:
            raise ValueError(f"num_samples must be >= 0, got {num_samples}")
        self.start_rx()
        out = self._ring.read(num_samples, timeout)
        if out.size < num_samples:
            if self._rx_error is not None and out.size == 0:
                raise self._rx_error
            if self._rx_error is None:
                self.stats.timeouts += 1
        return out

    @property
    def rx_error(self):
        """Why the receive thread stopped (a RadioError), or ``None`` while it runs."""
        return self._rx_error
