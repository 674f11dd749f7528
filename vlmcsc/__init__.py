"""VLM-CSC over the air.

Subpackages (each maps a top-level folder of the repository):
``vlmcsc.phy`` (OFDM PHY and channel models, numpy only), ``vlmcsc.sdr`` (radios),
``vlmcsc.model`` (semantic codec, BLIP / Stable Diffusion ends), ``vlmcsc.flowgraphs``
(runnable pipelines and the ``vlmcsc`` command).
"""

__version__ = "0.1.0"
