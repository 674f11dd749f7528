"""Radios: one small :class:`Radio` interface with backends for the loopback simulator,
SoapySDR devices, PlutoSDR (pyadi-iio) and SigMF record/replay."""

from .radio import Radio, RadioError, RadioStats, TransmitNotAllowed

__all__ = ["Radio", "RadioError", "RadioStats", "TransmitNotAllowed"]
