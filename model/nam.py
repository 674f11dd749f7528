"""NAM, the noise-adaptive module: scales features by SNR-dependent gates (VLM-CSC / ADJSCC style).

    r  = (SNR dB - 10) / 10                                            (normalised SNR input)
    v' = ReLU(W2 ReLU(W1 r + b1) + b2);  v = sigmoid(W3 v' + b3)
    e  = W4 G + b4;  K = 2 sigmoid(W5 (e * v) + b5);  output K * G

Hidden sizes 56, 128, 56, 56 follow the paper; W5 projects the 56 gates back to the feature width.

Codec v2 (issue 14): the SNR network keeps PyTorch's default (Kaiming-uniform) initialisation, so
different SNRs give different ``v`` from the first step, and the gate is ``2 sigmoid(.)`` with
``b5 = 0``: the module starts as the identity with non-saturated gates (derivative 0.5, not the
0.05 of the v1 ``sigmoid`` with bias 3), so the gradient reaches the SNR path. The SNR may be one
value per item ``[B]`` or one per token ``[B, T]`` (the channel decoder's per-token reliability).
"""

from __future__ import annotations

import torch
from torch import nn

SNR_CENTER_DB, SNR_SCALE_DB = 10.0, 10.0


class NAM(nn.Module):
    """Noise-adaptive gating of a feature tensor.

    :param width: feature width of ``G``.
    :input g: [B, T, width] float features.
    :input snr_db: [B] or [B, T] float, Es/N0 in dB (unit-power symbols, noise variance 10^(-snr/10)).
    :output: [B, T, width], ``g`` scaled element-wise by gates in (0, 2).
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

    def reset_gate_bias(self, value: float = 0.0) -> None:
        """Gate bias b5 (0: gates 2 sigmoid(0) = 1, the identity, in the sigmoid's linear range)."""
        nn.init.constant_(self.back.bias, value)

    def reset_snr_net(self) -> None:
        """PyTorch's default init for the SNR network (the codec's std-0.02 init would make it
        answer the same for every SNR)."""
        for m in self.snr_net:
            if isinstance(m, nn.Linear):
                m.reset_parameters()

    def forward(self, g: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        r = (snr_db.to(g.dtype) - SNR_CENTER_DB) / SNR_SCALE_DB
        v = self.snr_net(r.unsqueeze(-1))  # [B, h3] or [B, T, h3]
        if v.dim() == 2:
            v = v[:, None, :]
        k = 2.0 * torch.sigmoid(self.back(self.feature(g) * v))
        return k * g
