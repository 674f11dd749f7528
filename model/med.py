"""MED semantic coder: pre-LayerNorm Transformer layers, each followed by a NAM (nanoGPT-style).

Both the semantic encoder and the semantic decoder are stacks of :class:`MedLayer` with
bidirectional self-attention over the tokens of one sentence; padded positions are masked out.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .nam import NAM


class SelfAttention(nn.Module):
    """Multi-head self-attention with a key padding mask. x: [B, T, d]; pad: [B, T] bool (True = pad)."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} must be divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mask = ~pad[:, None, None, :]  # True = may attend
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class MedLayer(nn.Module):
    """One Transformer layer followed by NAM. x: [B, T, d], pad: [B, T], snr_db: [B] -> [B, T, d]."""

    def __init__(self, width: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads, dropout)
        self.ln2 = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, ff), nn.GELU(), nn.Linear(ff, width))
        self.drop = nn.Dropout(dropout)
        self.nam = NAM(width)

    def forward(self, x, pad, snr_db):
        x = x + self.drop(self.attn(self.ln1(x), pad))
        x = x + self.drop(self.ff(self.ln2(x)))
        return self.nam(x, snr_db)


class MedStack(nn.Module):
    """``layers`` MedLayers. x: [B, T, d] -> [B, T, d]."""

    def __init__(self, layers: int, width: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.layers = nn.ModuleList(MedLayer(width, heads, ff, dropout) for _ in range(layers))

    def forward(self, x, pad, snr_db):
        for layer in self.layers:
            x = layer(x, pad, snr_db)
        return x


def sinusoidal_positions(length: int, width: int) -> torch.Tensor:
    """Fixed sinusoidal position code [length, width] (no parameters, extrapolates to long inputs)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    pe = torch.zeros(length, width)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe
