"""OFDM physical layer and channel impairment models (numpy/scipy only): frames in, IQ out; IQ in, frames out."""

from .channel import ChannelSimulator
from .config import OfdmConfig
from .frame import Frame, Header
from .receiver import StreamingReceiver
from .transmitter import FrameTransmitter

__all__ = ["ChannelSimulator", "OfdmConfig", "Frame", "Header", "FrameTransmitter", "StreamingReceiver"]
