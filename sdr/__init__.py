"""Radios: one small :class:`Radio` interface with backends for the loopback simulator,
SoapySDR devices, PlutoSDR (pyadi-iio), SigMF record/replay/file sink and ZeroMQ IQ streams.

Backends import their optional libraries (SoapySDR, pyadi-iio, sigmf) only when opened, so
``import vlmcsc.sdr`` works on a machine that has none of them.
"""

from .pluto import PlutoRadio
from .radio import Radio, RadioError, RadioStats, TransmitNotAllowed
from .sigmf_io import RecordingRadio, ReplayRadio, SigMFError, SigMFRecorder
from .soapy import SoapyRadio

__all__ = [
    "Radio",
    "RadioError",
    "RadioStats",
    "TransmitNotAllowed",
    "open_radio",
    "RADIO_SPECS",
    "SoapyRadio",
    "PlutoRadio",
    "SigMFRecorder",
    "ReplayRadio",
    "RecordingRadio",
    "SigMFError",
]

#: the spec strings :func:`open_radio` understands
RADIO_SPECS = {
    "loopback": "simulated radio, TX looped to RX through the channel simulator",
    "soapy:<args>": "any SoapySDR device, e.g. soapy:driver=uhd,type=b200 or soapy:driver=vlmcsc_loopback",
    "pluto:<uri>": "ADALM-Pluto through pyadi-iio, e.g. pluto:ip:192.168.2.1 or pluto:usb:1.5.5",
    "pluto:<uri>,kernel_buffers=N": "the same with N RX kernel buffers (default 32; more = fewer silent losses on a busy host)",
    "replay:<file.sigmf-meta>": "play a SigMF recording as a receive-only radio",
    "sigmf:<path>": "transmit-only file sink: bursts to a new SigMF recording (for replay: and GNU Radio)",
    "zmq:tcp://<host>:<port>": "IQ over ZeroMQ PUSH/PULL, GNU Radio framing (vlmcsc air, GNU Radio ZMQ blocks)",
    "zmq+pub:tcp://<host>:<port>": "IQ over ZeroMQ PUB/SUB (TX never blocks; late subscribers miss bursts)",
}

#: backends that neither radiate nor need a frequency / TX gain to "transmit"
SIMULATED_KINDS = ("loopback", "replay", "sigmf", "zmq", "zmq+pub")


def spec_kind(spec: str) -> str:
    """The backend part of a spec: ``"pluto"`` for ``"pluto:ip:192.168.2.1"``."""
    return str(spec).strip().partition(":")[0]


def _options(rest: str) -> tuple[str, dict]:
    """``"ip:192.168.2.1,kernel_buffers=16"`` -> (``"ip:192.168.2.1"``, {"kernel_buffers": 16})."""
    target, *opts = rest.split(",")
    out = {}
    for opt in opts:
        key, eq, value = opt.partition("=")
        if not eq or not key.strip():
            raise RadioError(f"radio option {opt!r} is not key=value")
        try:
            out[key.strip()] = int(value)
        except ValueError:
            try:
                out[key.strip()] = float(value)
            except ValueError:
                out[key.strip()] = value.strip()
    return target, out


def open_radio(spec: str, **kwargs) -> Radio:
    """Open a radio from a spec string (see :data:`RADIO_SPECS`); ``kwargs`` go to the backend.

    >>> radio = open_radio("soapy:driver=vlmcsc_loopback")          # doctest: +SKIP
    >>> radio = open_radio("replay:capture.sigmf-meta")              # doctest: +SKIP
    >>> radio = open_radio("zmq:tcp://127.0.0.1:5556")               # doctest: +SKIP

    Raises RadioError naming the spec for an unknown backend or option.
    """
    spec = str(spec).strip()
    kind, sep, rest = spec.partition(":")
    if spec == "loopback":
        from .loopback import LoopbackRadio

        return LoopbackRadio(**kwargs)
    if kind == "soapy" and sep:
        from .soapy import SoapyRadio

        return SoapyRadio(rest, **kwargs)
    if kind == "pluto" and sep and rest:
        from .pluto import PlutoRadio

        uri, opts = _options(rest)
        try:
            return PlutoRadio(uri, **(opts | kwargs))
        except TypeError as exc:
            raise RadioError(f"radio spec {spec!r}: unknown Pluto option ({exc})") from exc
    if kind == "replay" and sep and rest:
        from .sigmf_io import ReplayRadio

        return ReplayRadio(rest, **kwargs)
    if kind == "sigmf" and sep and rest:
        from .sigmf_sink import SigMFSinkRadio

        return SigMFSinkRadio(rest, **kwargs)
    if kind in ("zmq", "zmq+pub") and sep and rest:
        from .zmq_radio import open_zmq_radio

        try:
            return open_zmq_radio(spec, **kwargs)
        except ValueError as exc:
            raise RadioError(str(exc)) from exc
    choices = "; ".join(f"{k} ({v})" for k, v in RADIO_SPECS.items())
    raise RadioError(f"unknown radio spec {spec!r}; use one of: {choices}")
