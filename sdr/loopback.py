"""A simulated radio: what is transmitted comes back through a :class:`ChannelSimulator` inside a
continuous receive stream, with the channel's noise floor between bursts.

Thread-safe: one thread may transmit while another receives.
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np

from vlmcsc.phy.channel import ChannelSimulator

from .radio import Radio, RadioError


class LoopbackRadio(Radio):
    """Loopback through a channel model.

    Args:
        channel: the channel; ``None`` = a clean link (``ChannelSimulator(snr_db=30, seed=0)``),
            so the receiver still sees a realistic noise floor.
        gap_samples: idle (noise-only) samples in front of each burst, at least this many...
        gap_jitter: ...plus a random 0..gap_jitter more (seeded), so frame positions vary.
        seed: seed of the gap jitter.

    ``receive(n, timeout)`` returns queued burst samples at once; with nothing queued it paces like
    a streaming radio: it waits for a burst at most as long as ``n`` samples take at the sample
    rate (or ``timeout``, if shorter) and then returns the noise received meanwhile
    (``min(n, timeout * sample_rate)`` samples), so a receive loop always sees a continuous stream.
    """

    name = "loopback"

    def __init__(
        self,
        channel: ChannelSimulator | None = None,
        *,
        gap_samples: int = 200,
        gap_jitter: int = 200,
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        if gap_samples < 0 or gap_jitter < 0:
            raise ValueError("gap_samples and gap_jitter must be >= 0")
        self.channel = channel if channel is not None else ChannelSimulator(snr_db=30.0, seed=0)
        self.gap_samples = int(gap_samples)
        self.gap_jitter = int(gap_jitter)
        self._rng = np.random.default_rng(seed)
        self._queue: collections.deque[np.ndarray] = collections.deque()
        self._queued = 0
        self._cond = threading.Condition()
        self.sample_rate = self.channel.sample_rate

    def _apply_settings(self) -> None:
        with self._cond:
            if self.sample_rate is not None and self.sample_rate != self.channel.sample_rate:
                self.channel.set_sample_rate(self.sample_rate)

    def transmit(self, iq: np.ndarray) -> None:
        """Queue one burst (complex [n], |x| <= 1) behind a noise gap."""
        if self._closed:
            raise RadioError("loopback: radio is closed")
        x = self._as_iq(iq)
        with self._cond:
            gap = self.gap_samples + (int(self._rng.integers(0, self.gap_jitter + 1)) if self.gap_jitter else 0)
            # the channel's stream clock runs through the gap, so CFO phase stays continuous
            parts = [self.channel.noise(gap), self.channel.apply(x)] if x.size else [self.channel.noise(gap)]
            for p in parts:
                if p.size:
                    self._queue.append(p)
                    self._queued += p.size
            self.stats.samples_tx += x.size
            self.stats.bursts_tx += 1
            self._cond.notify_all()

    def receive(self, num_samples: int, timeout: float = 1.0) -> np.ndarray:
        """Up to ``num_samples`` complex64 samples (see class docstring)."""
        if self._closed:
            raise RadioError("loopback: radio is closed")
        if not isinstance(num_samples, (int, np.integer)) or num_samples < 0:
            raise ValueError(f"num_samples must be a non-negative integer, got {num_samples!r}")
        if num_samples == 0:
            return np.zeros(0, np.complex64)
        rate = self.sample_rate or self.channel.sample_rate
        timeout = max(0.0, float(timeout))
        n_idle = int(min(num_samples, round(timeout * rate)))
        deadline = time.monotonic() + n_idle / rate
        with self._cond:
            while not self._queue and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if self._closed:
                raise RadioError("loopback: radio closed while receiving")
            if not self._queue:
                out = self.channel.noise(n_idle)
                if n_idle == 0:
                    self.stats.timeouts += 1
            else:
                out = self._pop(int(num_samples))
            self.stats.samples_rx += out.size
            return out

    def _pop(self, n: int) -> np.ndarray:
        parts, got = [], 0
        while self._queue and got < n:
            head = self._queue[0]
            take = min(n - got, head.size)
            parts.append(head[:take])
            if take == head.size:
                self._queue.popleft()
            else:
                self._queue[0] = head[take:]
            got += take
        self._queued -= got
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    @property
    def queued_samples(self) -> int:
        """Samples waiting to be received."""
        with self._cond:
            return self._queued

    def close(self) -> None:
        with self._cond:
            super().close()
            self._queue.clear()
            self._queued = 0
            self._cond.notify_all()
