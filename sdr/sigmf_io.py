"""SigMF recording and replay of IQ streams.

:class:`SigMFRecorder` writes any receive stream (or the TX side of a link) to a SigMF pair
``<base>.sigmf-data`` + ``<base>.sigmf-meta`` as it arrives: samples are appended to the data file
at once, and the metadata is rewritten atomically every ``meta_every_s`` seconds and at
:meth:`~SigMFRecorder.close`, so a run stopped by Ctrl-C or a crash still leaves a valid recording
(the SHA-512 of the data is added only by a clean close). The metadata holds the sample rate,
centre frequency, gains and hardware, and one annotation per decoded frame (sequence number, SNR
estimate, CFO, status).

:class:`ReplayRadio` plays a recording back as a receive-only :class:`~vlmcsc.sdr.radio.Radio`, so
a field capture can be decoded again later or in CI. :class:`RecordingRadio` wraps any radio and
records what it receives (and, optionally, what it transmits).
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import numpy as np

from .radio import Radio, RadioError

NS = "vlmcsc"  # namespace of our own metadata keys
SIGMF_SUFFIXES = (".sigmf-meta", ".sigmf-data", ".sigmf")
_DTYPES = {  # SigMF datatype -> (numpy dtype of one component, scale to full scale 1.0)
    "cf32_le": (np.dtype("<f4"), 1.0),
    "cf64_le": (np.dtype("<f8"), 1.0),
    "ci16_le": (np.dtype("<i2"), 1.0 / 32768.0),
    "ci8": (np.dtype("i1"), 1.0 / 128.0),
}


class SigMFError(RadioError):
    """A SigMF recording is missing, corrupt, truncated or of an unsupported kind."""


def _sigmf():
    try:
        import sigmf  # noqa: PLC0415 - optional at import time of vlmcsc.sdr
    except ImportError as exc:
        raise SigMFError(f"the sigmf package is missing ({exc}); pip install 'sigmf>=1.2'") from exc
    return sigmf


def sigmf_base(path: str | os.PathLike) -> Path:
    """``x``, ``x.sigmf-meta``, ``x.sigmf-data`` -> ``x`` (the recording's base name)."""
    p = Path(path)
    for suffix in SIGMF_SUFFIXES:
        if p.name.endswith(suffix):
            return p.with_name(p.name[: -len(suffix)])
    return p


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value):
    """Metadata values as JSON-friendly Python numbers (numpy scalars are not JSON)."""
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else None
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return value


class SigMFRecorder:
    """Record a complex64 stream to SigMF (cf32_le), incrementally, at constant cost per frame.

    :param path: base name, or a name ending in ``.sigmf-meta`` / ``.sigmf-data`` (not a folder).
    :param sample_rate: Hz.
    :param frequency: centre frequency, Hz (``None`` if unknown).
    :param gains: e.g. ``{"rx_gain_db": 40.0, "tx_gain_db": -10.0}`` (stored as ``vlmcsc:<key>``).
    :param hardware: free text for ``core:hw`` (e.g. the radio's backend name).
    :param description: free text for ``core:description``.
    :param extra: more global fields (keys need a namespace, e.g. ``"vlmcsc:profile"``).
    :param meta_every_s: how often pending annotations are appended to the metadata file, s.
    :param overwrite: replace an existing recording of the same name (default: refuse). The old
        files are unlinked, never truncated, so a process still reading them (a replay of the
        same capture) keeps its data.

    How it stays cheap and valid: samples are appended to the data file as they come and hashed
    on the fly (SHA-512); the metadata file is written once with the annotations array last, and
    each batch of annotations is appended in place just before its closing ``]}`` in one write,
    so a run cut at any point leaves valid JSON. :meth:`close` only fills the hash into space
    reserved in the ``global`` object (a full rewrite happens only if annotations arrived out of
    sample order). Cost per frame does not grow with the number of annotations.

    A full disk (``ENOSPC``/``EFBIG``) stops the recording cleanly: the data are cut back to whole
    samples, the metadata stay valid, and :class:`OSError` is raised saying how much was kept.
    Use as a context manager, or call :meth:`close` in a ``finally`` block.

    :raises FileExistsError: the recording exists and ``overwrite`` is false.
    :raises IsADirectoryError: ``path`` names a folder (``--sigmf /tmp/``).
    """

    _PAD = 160  # bytes reserved in "global" for '"core:sha512": "<128 hex>",' (added at close)

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        sample_rate: float,
        frequency: float | None = None,
        gains: dict[str, float] | None = None,
        hardware: str | None = None,
        description: str | None = None,
        extra: dict | None = None,
        meta_every_s: float = 1.0,
        overwrite: bool = False,
    ) -> None:
        sigmf = _sigmf()
        if sample_rate is None or not np.isfinite(sample_rate) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
        if frequency is not None and (not np.isfinite(frequency) or frequency <= 0):
            raise ValueError(f"frequency must be a positive number of Hz or None, got {frequency!r}")
        text = os.fspath(path)
        if not str(text).strip() or str(text).endswith(os.sep) or Path(text).is_dir() \
                or Path(text).name in ("", ".", ".."):
            raise IsADirectoryError(f"SigMF path {str(text)!r} is a folder; give a base name such as "
                                    f"{os.path.join(str(text), 'capture')!r}")
        self.base = sigmf_base(path)
        self.data_path = self.base.with_name(self.base.name + ".sigmf-data")
        self.meta_path = self.base.with_name(self.base.name + ".sigmf-meta")
        existing = [p for p in (self.data_path, self.meta_path) if p.exists() or p.is_symlink()]
        if existing and not overwrite:
            raise FileExistsError(f"{existing[0]} exists; refusing to overwrite a recording "
                                  "(pass --overwrite / overwrite=True, or choose another name)")
        for p in existing:
            if p.is_dir():
                raise IsADirectoryError(f"{p} is a folder, not a SigMF file")
        self.base.parent.mkdir(parents=True, exist_ok=True)
        self.sample_rate = float(sample_rate)
        self.frequency = None if frequency is None else float(frequency)
        self.meta_every_s = float(meta_every_s)
        self._global = {
            sigmf.DATATYPE_KEY: "cf32_le",
            sigmf.SAMPLE_RATE_KEY: self.sample_rate,
            sigmf.VERSION_KEY: getattr(sigmf, "__specification__", "1.2.0"),
            sigmf.NUM_CHANNELS_KEY: 1,
            sigmf.RECORDER_KEY: "vlmcsc",
            sigmf.HW_KEY: str(hardware) if hardware else "unknown",
            # our own keys live in the "vlmcsc" namespace, declared as SigMF asks
            sigmf.EXTENSIONS_KEY: [{"name": NS, "version": "0.1.0", "optional": True}],
        }
        if description:
            self._global[sigmf.DESCRIPTION_KEY] = str(description)
        for key, value in (gains or {}).items():
            self._global[f"{NS}:{key}"] = _plain(value)
        for key, value in (extra or {}).items():
            if ":" not in key:
                raise ValueError(f"extra metadata key {key!r} needs a namespace, e.g. 'vlmcsc:{key}'")
            self._global[key] = _plain(value)
        self._capture = {sigmf.SAMPLE_START_KEY: 0, sigmf.DATETIME_KEY: _utc_now()}
        if self.frequency is not None:
            self._capture[sigmf.FREQUENCY_KEY] = self.frequency
        self._annotations: list[dict] = []  # every annotation, in arrival order
        self._pending: list[dict] = []  # not yet appended to the metadata file
        self._last_start = -1
        self._in_order = True
        self._lock = threading.Lock()
        self._sha = hashlib.sha512()
        self.num_samples = 0
        self.annotations_dropped = 0  # annotations that could not be written (disk full)
        self.disk_full = False
        self._closed = False
        self._last_meta = time.monotonic()
        # unlink, never truncate: a reader of the old files (a replay of this very capture) keeps them
        for p in existing:
            p.unlink()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        self._data_fd = os.open(self.data_path, flags, 0o644)
        try:
            self._meta_fd = os.open(self.meta_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError:
            os.close(self._data_fd)
            raise
        try:
            self._write_meta_initial()
        except OSError:
            self._give_up()
            raise

    @classmethod
    def for_radio(cls, path, radio: Radio, **kwargs) -> SigMFRecorder:
        """A recorder whose metadata comes from ``radio``'s current settings."""
        gains = {k: getattr(radio, k) for k in ("rx_gain_db", "tx_gain_db") if getattr(radio, k) is not None}
        if radio.bandwidth is not None:
            gains["bandwidth_hz"] = radio.bandwidth
        kwargs.setdefault("gains", gains)
        kwargs.setdefault("hardware", radio.name)
        return cls(path, sample_rate=radio.sample_rate, frequency=radio.frequency, **kwargs)

    # -- writing -------------------------------------------------------------------------------
    def write(self, iq: np.ndarray) -> None:
        """Append complex samples (shape ``[n]``); written to disk at once.

        :raises OSError: disk full (``ENOSPC``/``EFBIG``); the recording is then closed, valid,
            and holds every whole sample written before.
        """
        x = np.asarray(iq)
        if x.ndim != 1 or not np.iscomplexobj(x):
            raise TypeError(f"expected 1-D complex samples, got dtype {x.dtype} shape {x.shape}")
        data = np.ascontiguousarray(x, dtype="<c8").tobytes()
        with self._lock:
            if self._closed:
                raise SigMFError(f"recording {self.base} is closed")
            done = 0
            try:
                while done < len(data):
                    n = os.write(self._data_fd, data[done:])
                    if n <= 0:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.data_path))
                    done += n
            except OSError as exc:
                keep = done - done % 8  # whole samples only
                self._sha.update(data[:keep])
                self.num_samples += keep // 8
                try:
                    os.ftruncate(self._data_fd, self.num_samples * 8)
                except OSError:
                    pass
                self.disk_full = exc.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", 0))
                self._close_locked()
                raise OSError(exc.errno, f"{exc.strerror}; recording {self.base} stopped and kept "
                              f"{self.num_samples} samples, {len(self._annotations) - self.annotations_dropped} "
                              "annotations", str(self.data_path)) from exc
            self._sha.update(data)
            self.num_samples += x.size
            if self._pending and time.monotonic() - self._last_meta >= self.meta_every_s:
                self._flush_annotations()

    def annotate(self, start: int, length: int, label: str | None = None, **fields) -> None:
        """One annotation over samples ``[start, start+length)`` with ``vlmcsc:<field>`` values."""
        sigmf = _sigmf()
        if start < 0 or length < 0:
            raise ValueError(f"annotation start and length must be >= 0, got {start}, {length}")
        ann = {sigmf.SAMPLE_START_KEY: int(start), sigmf.SAMPLE_COUNT_KEY: int(length)}
        if label:
            ann[sigmf.LABEL_KEY] = str(label)
        ann.update({f"{NS}:{k}": _plain(v) for k, v in fields.items() if v is not None})
        with self._lock:
            if self._closed:
                raise SigMFError(f"recording {self.base} is closed")
            if int(start) < self._last_start:
                self._in_order = False  # sorted once, at close
            self._last_start = max(self._last_start, int(start))
            self._annotations.append(ann)
            self._pending.append(ann)
            if time.monotonic() - self._last_meta >= self.meta_every_s:
                self._flush_annotations()

    def annotate_frame(self, frame, *, status: str | None = None, length: int | None = None,
                       offset: int = 0, cfg=None) -> None:
        """Annotate a decoded PHY frame (``vlmcsc.phy.Frame``) at its ``start_sample``.

        :param status: e.g. "ok", "crc_fail" (default: "ok" when the digital payload passed its
            CRC or the frame is analog, else "crc_fail").
        :param length: samples the frame spans (default: from ``cfg``, the receiver's
            ``OfdmConfig``, and the frame's OFDM symbol count; 1 without ``cfg``).
        :param offset: receiver stream index of this recording's first sample.
        """
        if status is None:
            status = "ok" if (frame.kind == "analog" or frame.payload is not None) else "crc_fail"
        if length is None and cfg is not None and getattr(frame, "num_ofdm_symbols", 0):
            length = cfg.preamble_len + int(frame.num_ofdm_symbols) * cfg.symbol_len
        start = int(frame.start_sample) - int(offset)
        self.annotate(
            max(start, 0), int(length or 1), label=f"seq {frame.seq} {status}",
            seq=int(frame.seq), kind=frame.kind, snr_db=frame.snr_db, cfo_hz=frame.cfo_hz,
            evm_db=getattr(frame, "evm_db", None), status=status,
        )

    # -- metadata ------------------------------------------------------------------------------
    @staticmethod
    def _dumps(obj) -> str:
        return json.dumps(obj, allow_nan=False, separators=(", ", ": "))

    def _write_meta_initial(self) -> None:
        """Header with reserved space for the hash, then an empty annotations array closed by ']}'."""
        glob = self._dumps(self._global)
        head = ('{"global": {' + " " * self._PAD + glob[1:] + ', "captures": ['
                + self._dumps(self._capture) + '], "annotations": [')
        head_b = head.encode("utf-8")
        self._pad_pos = len(b'{"global": {')
        self._tail_pos = len(head_b)  # where the next annotation (or the closing bracket) goes
        self._first = True
        _pwrite_all(self._meta_fd, head_b + b"\n]}\n", 0)

    def _flush_annotations(self) -> None:
        """Append pending annotations in place, in one write; the file stays valid JSON."""
        self._last_meta = time.monotonic()
        if not self._pending or self.disk_full:
            return
        parts = []
        for ann in self._pending:
            parts.append(("\n" if self._first and not parts else ",\n") + self._dumps(ann))
        body = "".join(parts).encode("utf-8")
        try:
            _pwrite_all(self._meta_fd, body + b"\n]}\n", self._tail_pos)
        except OSError:
            # restore the closing bracket where it was (space that was already the file's)
            self.annotations_dropped += len(self._pending)
            self.disk_full = True
            try:
                os.ftruncate(self._meta_fd, self._tail_pos)
                _pwrite_all(self._meta_fd, b"\n]}\n", self._tail_pos)
            except OSError:
                pass
            self._pending = []
            return
        self._tail_pos += len(body)
        self._first = False
        self._pending = []

    def _finalize_meta(self) -> None:
        """Add the data's SHA-512 into the reserved space (or rewrite once if out of order)."""
        sigmf = _sigmf()
        sha = self._sha.hexdigest() if self.num_samples else None
        if not self._in_order and not self.disk_full:
            glob = dict(self._global)
            if sha:
                glob[sigmf.SHA512_KEY] = sha
            anns = sorted(self._annotations, key=lambda a: a[sigmf.SAMPLE_START_KEY])
            doc = {"global": glob, "captures": [self._capture], "annotations": anns}
            tmp = self.base.with_name(f".{self.base.name}.tmp{os.getpid()}.sigmf-meta")
            try:
                with open(tmp, "w", encoding="utf-8") as fh:
                    fh.write(self._dumps(doc) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.meta_path)
                return
            except OSError:
                tmp.unlink(missing_ok=True)  # keep the (valid, unsorted) incremental file
        if sha:
            field = f'"{sigmf.SHA512_KEY}": "{sha}", '.encode()
            _pwrite_all(self._meta_fd, field.ljust(self._PAD), self._pad_pos)

    def _give_up(self) -> None:
        for fd in ("_data_fd", "_meta_fd"):
            try:
                os.close(getattr(self, fd))
            except (OSError, AttributeError):
                pass
        self._closed = True

    def _close_locked(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._flush_annotations()
            try:
                os.fsync(self._data_fd)
            except OSError:
                pass
            self._finalize_meta()
            try:
                os.fsync(self._meta_fd)
            except OSError:
                pass
        finally:
            for fd in (self._data_fd, self._meta_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def close(self) -> None:
        """Write pending annotations, add the SHA-512, close both files. Idempotent."""
        with self._lock:
            self._close_locked()

    def __enter__(self) -> SigMFRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    done = 0
    while done < len(data):
        n = os.pwrite(fd, data[done:], offset + done)
        if n <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done += n


class ReplayRadio(Radio):
    """Play a SigMF recording as a receive-only radio.

    :param path: the ``.sigmf-meta`` file (or the base name, or the ``.sigmf-data`` file).
    :param realtime: pace ``receive`` at the recorded sample rate (default: as fast as asked).
    :param loop: start again at the end instead of running dry.
    :param verify: check the SHA-512 when the metadata has one.
    :param allow_truncated: play the complete samples of a data file that ends in a partial
        sample (a recording cut by a crash) instead of refusing it.

    Bytes the metadata declares as not samples are skipped: ``core:header_bytes`` of the captures
    (before the samples) and the global ``core:trailing_bytes`` (after them).

    ``receive`` returns fewer samples (eventually none) at the end of the recording; it then
    waits ``timeout`` seconds like a radio with nothing to say and counts a timeout.
    """

    def __init__(self, path: str | os.PathLike, *, realtime: bool = False, loop: bool = False,
                 verify: bool = True, allow_truncated: bool = False) -> None:
        super().__init__()
        sigmf = _sigmf()
        base = sigmf_base(path)
        self.meta_path = base.with_name(base.name + ".sigmf-meta")
        self.data_path = base.with_name(base.name + ".sigmf-data")
        self.name = f"replay:{self.meta_path}"
        for p in (self.meta_path, self.data_path):
            if not p.is_file():
                raise SigMFError(f"SigMF recording incomplete: {p} does not exist")
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SigMFError(f"{self.meta_path} is not valid JSON ({exc}): corrupt metadata") from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("global"), dict):
            raise SigMFError(f"{self.meta_path} has no 'global' object: not SigMF metadata")
        g = meta["global"]
        datatype = g.get(sigmf.DATATYPE_KEY)
        if datatype not in _DTYPES:
            raise SigMFError(f"{self.meta_path}: datatype {datatype!r} not supported; "
                             f"use one of {sorted(_DTYPES)}")
        if int(g.get(sigmf.NUM_CHANNELS_KEY, 1)) != 1:
            raise SigMFError(f"{self.meta_path}: only single-channel recordings can be replayed")
        comp, self._scale = _DTYPES[datatype]
        captures = meta.get("captures") or [{}]
        # bytes that are not samples: a header before the first capture, a trailer after the last
        header = sum(int(c.get("core:header_bytes", 0) or 0) for c in captures if isinstance(c, dict))
        trailing = int(g.get("core:trailing_bytes", 0) or 0)
        if header < 0 or trailing < 0:
            raise SigMFError(f"{self.meta_path}: negative core:header_bytes / core:trailing_bytes")
        self.header_bytes, self.trailing_bytes = header, trailing
        nbytes = self.data_path.stat().st_size - header - trailing
        if nbytes < 0:
            raise SigMFError(f"{self.data_path}: shorter than its core:header_bytes + core:trailing_bytes "
                             f"({header} + {trailing} bytes)")
        sample_bytes = 2 * comp.itemsize
        if nbytes % sample_bytes and not allow_truncated:
            raise SigMFError(
                f"{self.data_path}: {nbytes} bytes is not a whole number of {datatype} samples "
                f"({sample_bytes} bytes each): the recording is truncated; pass "
                "allow_truncated=True to play its complete samples"
            )
        if nbytes == 0 and g.get(sigmf.SHA512_KEY):
            raise SigMFError(f"{self.data_path} is empty (0 bytes) but {self.meta_path.name} carries a "
                             "checksum of recorded data: the data file was truncated or replaced")
        check = verify and sigmf.SHA512_KEY in g and nbytes and not nbytes % sample_bytes
        try:
            self._file = sigmf.SigMFFile(metadata=meta)
            self._file.validate()
            if check:  # sigmf compares the data's SHA-512 with the metadata's
                self._file.set_data_file(str(self.data_path))
        except Exception as exc:  # noqa: BLE001 - sigmf raises several error types
            raise SigMFError(f"{self.meta_path}: invalid or corrupt recording ({exc}); a hash "
                             "mismatch means the data file was changed or truncated") from exc
        self.num_samples = nbytes // sample_bytes
        self._raw = (np.memmap(self.data_path, dtype=comp, mode="r", offset=header, shape=(2 * self.num_samples,))
                     if self.num_samples else np.zeros(0, comp))
        self._pos = 0
        self.realtime = bool(realtime)
        self.loop = bool(loop)
        self._t0: float | None = None
        self.global_info = dict(g)
        self.annotations = list(meta.get("annotations", []))
        rate = g.get(sigmf.SAMPLE_RATE_KEY)
        if rate is None or not float(rate) > 0:
            raise SigMFError(f"{self.meta_path}: no valid core:sample_rate")
        self.sample_rate = float(rate)
        freq = captures[0].get(sigmf.FREQUENCY_KEY)
        self.frequency = float(freq) if freq else None
        self.rx_gain_db = g.get(f"{NS}:rx_gain_db")
        self.tx_gain_db = g.get(f"{NS}:tx_gain_db")

    @property
    def position(self) -> int:
        """Index of the next sample to play."""
        return self._pos

    @property
    def exhausted(self) -> bool:
        return not self.loop and self._pos >= self.num_samples

    def _apply_settings(self) -> None:
        rate = float(self.global_info.get("core:sample_rate"))
        if self.sample_rate is not None and abs(self.sample_rate - rate) > 1e-6 * rate:
            self.sample_rate = rate
            raise RadioError(f"{self.name}: recorded at {rate:.0f} S/s; a replay cannot change the "
                             "sample rate (configure the same rate or none)")

    def transmit(self, iq: np.ndarray) -> None:
        raise RadioError(f"{self.name}: a replay is receive-only")

    def receive(self, num_samples: int, timeout: float = 1.0) -> np.ndarray:
        if self._closed:
            raise RadioError(f"{self.name}: radio is closed")
        n = int(num_samples)
        if n < 0:
            raise ValueError(f"num_samples must be >= 0, got {n}")
        if self.realtime:
            if self._t0 is None:
                self._t0 = time.monotonic() - self._pos / self.sample_rate
            due = self._t0 + (self._pos + n) / self.sample_rate
            time.sleep(max(0.0, min(due - time.monotonic(), timeout)))
            n = min(n, max(0, int((time.monotonic() - self._t0) * self.sample_rate) - self._pos))
        parts, want = [], n
        while want > 0 and self.num_samples:
            if self._pos >= self.num_samples:
                if not self.loop:
                    break
                self._pos = 0
            take = min(want, self.num_samples - self._pos)
            raw = np.asarray(self._raw[2 * self._pos : 2 * (self._pos + take)], dtype=np.float32)
            parts.append((raw[0::2] + 1j * raw[1::2]) * self._scale)
            self._pos += take
            want -= take
        out = np.concatenate(parts).astype(np.complex64) if parts else np.zeros(0, np.complex64)
        self.stats.samples_rx += out.size
        if out.size < int(num_samples):
            self.stats.timeouts += 1
            if out.size == 0 and not self.realtime:
                time.sleep(max(0.0, float(timeout)))  # nothing left: behave like an idle radio
        return out

    def rewind(self) -> None:
        self._pos = 0
        self._t0 = None

    def close(self) -> None:
        self._raw = np.zeros(0, np.float32)
        super().close()


class RecordingRadio(Radio):
    """Wrap a radio and record what it receives (and optionally what it transmits) to SigMF.

    Settings, statistics and the name come from the wrapped radio. TX bursts are written one
    after another to the TX recording with one annotation each (sequence of the burst).
    """

    def __init__(self, radio: Radio, rx_path=None, tx_path=None, **recorder_kwargs) -> None:
        super().__init__()
        self.inner = radio
        self.name = f"{radio.name} (recording)"
        self._rx_path, self._tx_path = rx_path, tx_path
        self._kwargs = recorder_kwargs
        self.rx_recorder: SigMFRecorder | None = None
        self.tx_recorder: SigMFRecorder | None = None
        self.stats = radio.stats
        self._sync()

    def _sync(self) -> None:
        for k in ("sample_rate", "frequency", "tx_gain_db", "rx_gain_db", "bandwidth"):
            setattr(self, k, getattr(self.inner, k))

    def configure(self, **kwargs) -> None:
        self.inner.configure(**kwargs)
        self._sync()

    def _recorder(self, which: str) -> SigMFRecorder | None:
        path = self._rx_path if which == "rx" else self._tx_path
        rec = getattr(self, f"{which}_recorder")
        if rec is None and path is not None:
            rec = SigMFRecorder.for_radio(path, self.inner, **self._kwargs)
            setattr(self, f"{which}_recorder", rec)
        return rec

    def transmit(self, iq: np.ndarray) -> None:
        self.inner.transmit(iq)
        rec = self._recorder("tx")
        if rec is not None:
            x = self._as_iq(iq)
            rec.annotate(rec.num_samples, x.size, label=f"burst {self.inner.stats.bursts_tx}")
            rec.write(x)

    def receive(self, num_samples: int, timeout: float = 1.0) -> np.ndarray:
        x = self.inner.receive(num_samples, timeout)
        rec = self._recorder("rx")
        if rec is not None and x.size:
            rec.write(x)
        return x

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            for rec in (self.rx_recorder, self.tx_recorder):
                if rec is not None:
                    rec.close()
            super().close()
