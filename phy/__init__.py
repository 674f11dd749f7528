"""OFDM physical layer and channel impairment models (numpy/scipy only): frames in, IQ out; IQ in, frames out."""
