"""Runnable pipelines (demo, tx, rx, sweep, report) composed from phy, sdr and model, and the command line."""
