"""Channel encoder/decoder: per-token feed-forward layers (256, 128) alternating with NAM.

The encoder maps each token's semantic feature to ``max_symbols`` complex symbols (as 2*S reals),
ordered so that any prefix of ``k`` of them already decodes (nested, successive-refinement symbols:
the transmitter sends the first ``k``). The decoder mirrors it; per received symbol it reads the
unbiased (zero-forced) symbol, its MMSE-shrunk version and its reliability
``w = 1 / (1 + noise_var)`` in [0, 1] (0 = not sent or useless, 1 = noiseless), so it can trust good
subcarriers more. Frame power normalisation lives in :mod:`.codec`.
"""

from __future__ import annotations

import torch
from torch import nn

from .nam import NAM

FEATURES_PER_SYMBOL = 5  # Re y, Im y (soft-clipped), Re w y, Im w y, w


class ChannelEncoder(nn.Module):
    """[B, T, width] -> [B, T, 2*S] real (S real parts, then S imaginary parts), NAM after each hidden layer."""

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


def symbol_features(y: torch.Tensor, w: torch.Tensor, clip: float = 4.0) -> torch.Tensor:
    """Decoder input per token. y: [B, T, S] complex (unbiased, 0 where not sent); w: [B, T, S]
    reliabilities in [0, 1] -> [B, T, 5*S] float.

    The soft clip ``clip * tanh(y / clip)`` bounds zero-forced symbols from deep fades.
    """
    yr = clip * torch.tanh(y.real / clip)
    yi = clip * torch.tanh(y.imag / clip)
    return torch.cat([yr, yi, w * y.real, w * y.imag, w], dim=-1)


class ChannelDecoder(nn.Module):
    """[B, T, 5*S] symbol features -> [B, T, width], NAM after each hidden layer.

    The NAMs here take one SNR per token ([B, T]): the effective SNR of the symbols that token got.
    """

    def __init__(self, width: int, symbols_per_token: int, hidden: tuple[int, int] = (128, 256)):
        super().__init__()
        h1, h2 = hidden
        self.fc1, self.nam1 = nn.Linear(FEATURES_PER_SYMBOL * symbols_per_token, h1), NAM(h1)
        self.fc2, self.nam2 = nn.Linear(h1, h2), NAM(h2)
        self.out = nn.Linear(h2, width)

    def forward(self, feats, snr_db):
        y = self.nam1(torch.relu(self.fc1(feats)), snr_db)
        y = self.nam2(torch.relu(self.fc2(y)), snr_db)
        return self.out(y)
