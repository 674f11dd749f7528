"""NAM, the noise-adaptive module: scales features by SNR-dependent gates (VLM-CSC / ADJSCC style).

    v' = ReLU(W2 ReLU(W1 r + b1) + b2);  v = sigmoid(W3 v' + b3)      (r: SNR in dB / 10)
    e  = W4 G + b4;  K = sigmoid(W5 (e * v) + b5);  output K * G

Hidden sizes 56, 128, 56, 56 follow the paper; W5 projects the 56 gates back to the feature width.
"""

from __future__ import annotations

import torch
from torch import nn


class NAM(nn.Module):
    """Noise-adaptive gating of a feature tensor.

    :param width: feature width of ``G``.
    :input g: [B, T, width] float features.
    :input snr_db: [B] float, Es/N0 in dB (unit-power symbols, noise variance 10^(-snr/10)).
    :output: [B, T, width], ``g`` scaled element-wise by gates in (0, 1).
    """

    def __init__(self, width: int, sizes: tuple[int, int, int, int] = (56, 128, 56, 56)):
        super().__init__()
        if width <= 0:
            raise ValueError(f"NAM width must be positive, got {width}")
        h1, h2, h3, h4 = sizes
        if h3 != h4:
            raise ValueError(f"NAM sizes[2] and sizes[3] must match (gate width), got {sizes}")
        self.snr_net = nn.Sequential(nn.Linear(1, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(),
                                     nn.Linear(h2, h3), nn.Sigmoid())
        self.feature = nn.Linear(width, h4)
        self.back = nn.Linear(h4, width)
        self.reset_gate_bias()

    def reset_gate_bias(self, value: float = 3.0) -> None:
        """Start with gates near 1 (sigmoid(3) = 0.95) so a deep stack of NAMs begins close to the
        identity instead of halving the features at every layer."""
        nn.init.constant_(self.back.bias, value)

    def forward(self, g: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        # dB/10 keeps the input O(1) over the 0..20 dB range for a well-conditioned first layer
        v = self.snr_net((snr_db.to(g.dtype) / 10.0).reshape(-1, 1))  # [B, h3]
        e = self.feature(g)  # [B, T, h4]
        k = torch.sigmoid(self.back(e * v[:, None, :]))
        return k * g
