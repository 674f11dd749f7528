"""Radios: one small :class:`Radio` interface with backends for the loopback simulator,
SoapySDR devices, PlutoSDR (pyadi-iio) and SigMF record/replay.

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
    "replay:<file.sigmf-meta>": "play a SigMF recording as a receive-only radio",
}


def open_radio(spec: str, **kwargs) -> Radio:
    """Open a radio from a spec string (see :data:`RADIO_SPECS`); ``kwargs`` go to the backend.

    >>> radio = open_radio("soapy:driver=vlmcsc_loopback")          # doctest: +SKIP
    >>> radio = open_radio("replay:capture.sigmf-meta")              # doctest: +SKIP
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

        return PlutoRadio(rest, **kwargs)
    if kind == "replay" and sep and rest:
        from .sigmf_io import ReplayRadio

        return ReplayRadio(rest, **kwargs)
    choices = "; ".join(f"{k} ({v})" for k, v in RADIO_SPECS.items())
    raise RadioError(f"unknown radio spec {spec!r}; use one of: {choices}")
