"""Channel encoder/decoder: per-token feed-forward layers (256, 128) alternating with NAM.

The encoder maps each token's semantic feature to ``symbols_per_token`` complex symbols (as
2*S reals); the decoder mirrors it. Frame power normalisation lives in :mod:`.codec`.
"""

from __future__ import annotations

import torch
from torch import nn

from .nam import NAM


class ChannelEncoder(nn.Module):
    """[B, T, width] -> [B, T, 2*S] real (I/Q pairs), NAM after each hidden layer."""

    def __init__(self, width: int, symbols_per_token: int, hidden: tuple[int, int] = (256, 128)):
        super().__init__()
        h1, h2 = hidden
        self.fc1, self.nam1 = nn.Linear(width, h1), NAM(h1)
        self.fc2, self.nam2 = nn.Linear(h1, h2), NAM(h2)
        self.out = nn.Linear(h2, 2 * symbols_per_token)

    def forward(self, x, snr_db):
        x = self.nam1(torch.relu(self.fc1(x)), snr_db)
        x = self.nam2(torch.relu(self.fc2(x)), snr_db)
        return self.out(x)


class ChannelDecoder(nn.Module):
    """[B, T, 2*S] received reals -> [B, T, width], NAM after each hidden layer.

    The input is soft-clipped (``clip * tanh(y / clip)``) first: zero-forcing equalisation in a deep
    fade can return huge values, and a bounded input keeps the decoder well-behaved on them.
    """

    def __init__(self, width: int, symbols_per_token: int, hidden: tuple[int, int] = (128, 256),
                 clip: float = 4.0):
        super().__init__()
        h1, h2 = hidden
        self.clip = clip
        self.fc1, self.nam1 = nn.Linear(2 * symbols_per_token, h1), NAM(h1)
        self.fc2, self.nam2 = nn.Linear(h1, h2), NAM(h2)
        self.out = nn.Linear(h2, width)

    def forward(self, y, snr_db):
        y = self.clip * torch.tanh(y / self.clip)
        y = self.nam1(torch.relu(self.fc1(y)), snr_db)
        y = self.nam2(torch.relu(self.fc2(y)), snr_db)
        return self.out(y)
