"""The one interface every radio backend implements (loopback, SoapySDR, Pluto, SigMF replay).

Samples are complex64 baseband at ``sample_rate`` (Hz), full scale |x| <= 1.
"""

from __future__ import annotations

import abc
import dataclasses

import numpy as np


class RadioError(RuntimeError):
    """A radio could not be opened, configured or streamed; the message says why and what to try."""


class TransmitNotAllowed(RadioError):
    """Raised by hardware backends asked to transmit before a frequency and a TX gain were set."""


@dataclasses.dataclass
class RadioStats:
    """Counters every backend keeps; reported by the flowgraphs at the end of a run."""

    samples_tx: int = 0
    samples_rx: int = 0
    bursts_tx: int = 0
    overflows: int = 0
    underflows: int = 0
    timeouts: int = 0
    late: int = 0
    errors: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class Radio(abc.ABC):
    """A half- or full-duplex baseband radio.

    Backends set the properties below in :meth:`configure`; ``None`` means "not set". Hardware
    backends must refuse to transmit until both ``frequency`` and ``tx_gain_db`` were given
    explicitly (call :meth:`_require_tx_settings`): radio safety first.

    Use as a context manager so that streams are stopped and devices closed on errors and Ctrl-C::

        with LoopbackRadio(channel) as radio:
            radio.configure(sample_rate=1e6, frequency=2.45e9, tx_gain_db=-30, rx_gain_db=30)
            radio.transmit(iq)
            rx = radio.receive(len(iq) + 1000, timeout=0.5)
    """

    #: human-readable backend name, e.g. "loopback", "soapy:driver=uhd", "pluto:ip:192.168.2.1"
    name: str = "radio"

    def __init__(self) -> None:
        self.sample_rate: float | None = None  # Hz
        self.frequency: float | None = None  # centre frequency, Hz (TX and RX)
        self.tx_gain_db: float | None = None  # dB, backend's own gain scale
        self.rx_gain_db: float | None = None  # dB, backend's own gain scale
        self.bandwidth: float | None = None  # analog filter bandwidth, Hz
        self.stats = RadioStats()
        self._closed = False

    # -- configuration -------------------------------------------------------------------------
    def configure(
        self,
        *,
        sample_rate: float | None = None,
        frequency: float | None = None,
        tx_gain_db: float | None = None,
        rx_gain_db: float | None = None,
        bandwidth: float | None = None,
    ) -> None:
        """Set any of the radio's settings (Hz, dB); arguments left ``None`` stay unchanged.

        A value that is invalid or that the device refuses raises and leaves every setting as it was.
        """
        saved = {k: getattr(self, k) for k in self._SETTING_KEYS}
        try:
            self._set_settings(sample_rate, frequency, tx_gain_db, rx_gain_db, bandwidth)
            self._apply_settings()
        except Exception:
            for key, value in saved.items():
                setattr(self, key, value)
            raise

    _SETTING_KEYS = ("sample_rate", "frequency", "tx_gain_db", "rx_gain_db", "bandwidth")

    def _set_settings(self, sample_rate, frequency, tx_gain_db, rx_gain_db, bandwidth) -> None:
        for key, value in (
            ("sample_rate", sample_rate),
            ("frequency", frequency),
            ("bandwidth", bandwidth),
        ):
            if value is not None:
                value = float(value)
                if not np.isfinite(value) or value <= 0:
                    raise ValueError(f"{key} must be a positive number of Hz, got {value!r}")
                setattr(self, key, value)
        for key, value in (("tx_gain_db", tx_gain_db), ("rx_gain_db", rx_gain_db)):
            if value is not None:
                value = float(value)
                if not np.isfinite(value):
                    raise ValueError(f"{key} must be a finite number of dB, got {value!r}")
                setattr(self, key, value)

    def _apply_settings(self) -> None:
        """Push the settings to the device (backends override)."""

    def _require_tx_settings(self) -> None:
        if self.frequency is None or self.tx_gain_db is None:
            raise TransmitNotAllowed(
                f"{self.name}: refusing to transmit before a frequency and a TX gain were set "
                "explicitly (configure(frequency=..., tx_gain_db=...) or a profile). "
                "Start low (e.g. the lowest gain) and use a cable with attenuators; see hardware.md."
            )

    # -- streaming -----------------------------------------------------------------------------
    @abc.abstractmethod
    def transmit(self, iq: np.ndarray) -> None:
        """Send one burst of complex64 samples (shape ``[n]``, |x| <= 1)."""

    @abc.abstractmethod
    def receive(self, num_samples: int, timeout: float = 1.0) -> np.ndarray:
        """Return up to ``num_samples`` complex64 samples; fewer (possibly zero) on timeout (s).

        A timeout is counted in ``stats.timeouts``, never raised; a dead device raises RadioError.
        """

    def close(self) -> None:
        """Stop streams and release the device. Idempotent."""
        self._closed = True

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _as_iq(iq: np.ndarray) -> np.ndarray:
        """Validate a TX burst: 1-D, complex, finite; returned as C-contiguous complex64."""
        arr = np.asarray(iq)
        if arr.ndim != 1:
            raise ValueError(f"IQ must be 1-D, got shape {arr.shape}")
        if not np.iscomplexobj(arr):
            raise TypeError(f"IQ must be complex, got dtype {arr.dtype}")
        if arr.size and not np.all(np.isfinite(arr)):
            raise ValueError("IQ contains NaN or inf")
        return np.ascontiguousarray(arr, dtype=np.complex64)

    def settings(self) -> dict:
        return {
            "backend": self.name,
            "sample_rate_hz": self.sample_rate,
            "frequency_hz": self.frequency,
            "tx_gain_db": self.tx_gain_db,
            "rx_gain_db": self.rx_gain_db,
            "bandwidth_hz": self.bandwidth,
        }

    def __repr__(self) -> str:
        rows = [f"{k:>15}: {v}" for k, v in self.settings().items()]
        return f"<{type(self).__name__}>\n" + "\n".join(rows)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
