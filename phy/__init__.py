"""OFDM physical layer and channel impairment models (numpy/scipy only): frames in, IQ out; IQ in, frames out."""

from .config import OfdmConfig
from .frame import Frame, Header
from .receiver import StreamingReceiver
from .transmitter import FrameTransmitter

__all__ = ["OfdmConfig", "Frame", "Header", "FrameTransmitter", "StreamingReceiver"]
