"""Semantic codec (MED + NAM + channel coder), training, metrics and the image ends (BLIP, Stable Diffusion)."""
