"""``sigmf:PATH``: a transmit-only radio that writes every burst to a SigMF recording (cf32_le).

For captures that replay (``replay:PATH.sigmf-meta``) or open in GNU Radio (File Source, cf32)
without a ZeroMQ detour. Each burst is written after ``gap`` idle (zero) samples, so a receiver sees
the bursts apart as on the air, and gets one annotation (``burst <n>``). Nothing radiates, so no
frequency or TX gain is required; an existing recording is never overwritten.
"""

from __future__ import annotations

import os

import numpy as np

from .radio import Radio, RadioError
from .sigmf_io import SigMFRecorder, sigmf_base


class SigMFSinkRadio(Radio):
    """Write transmitted bursts to ``path`` (base name or ``.sigmf-meta``/``.sigmf-data``).

    :param path: where to write; refused (RadioError) when a recording of that name exists
    :param gap: zero samples written before each burst (default 400, as ``vlmcsc air``)

    ``transmit(iq)`` takes complex ``[n]`` samples with |x| <= 1; ``receive`` raises RadioError.
    The sample rate (``configure(sample_rate=...)``, default 1 MS/s) and frequency go into the
    metadata; the file is complete after ``close()`` (also on Ctrl-C through the context manager).
    """

    def __init__(self, path: str | os.PathLike, *, gap: int = 400) -> None:
        super().__init__()
        base = sigmf_base(path)
        self.base = base
        self.name = f"sigmf:{base}"
        self.gap = int(gap)
        if self.gap < 0:
            raise ValueError(f"gap must be >= 0 samples, got {gap}")
        for suffix in (".sigmf-meta", ".sigmf-data"):
            if base.with_name(base.name + suffix).exists():
                raise RadioError(f"{self.name}: {base.name + suffix} already exists; "
                                 "choose another name (recordings are never overwritten)")
        self._rec: SigMFRecorder | None = None

    def _recorder(self) -> SigMFRecorder:
        if self._rec is None:
            self._rec = SigMFRecorder(self.base, sample_rate=self.sample_rate or 1e6, frequency=self.frequency,
                                      gains={"tx_gain_db": self.tx_gain_db} if self.tx_gain_db is not None else None,
                                      hardware=self.name, description="vlmcsc tx bursts (file sink)",
                                      overwrite=False)
        return self._rec

    def transmit(self, iq: np.ndarray) -> None:
        if self._closed:
            raise RadioError(f"{self.name}: radio is closed")
        x = self._as_iq(iq)
        rec = self._recorder()
        if self.gap:
            rec.write(np.zeros(self.gap, np.complex64))
        rec.annotate(rec.num_samples, x.size, label=f"burst {self.stats.bursts_tx}")
        rec.write(x)
        self.stats.samples_tx += x.size
        self.stats.bursts_tx += 1

    def receive(self, num_samples: int, timeout: float = 1.0) -> np.ndarray:
        raise RadioError(f"{self.name}: a file sink is transmit-only (replay it with replay:{self.base}.sigmf-meta)")

    def close(self) -> None:
        if not self._closed:
            if self.gap and self._rec is not None:
                self._rec.write(np.zeros(self.gap, np.complex64))  # idle air after the last burst
            if self._rec is not None:
                self._rec.close()
        super().close()
