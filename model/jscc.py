"""Deep JSCC image baseline: a CNN autoencoder whose latent is sent as complex channel symbols.

After Bourtsoulatze, Burth Kurka & Gunduz, "Deep joint source-channel coding for wireless image
transmission", IEEE TCCN 5(3), 2019: two stride-2 5x5 convolutions and two stride-1 convolutions
with PReLU, a last convolution to ``c`` channels, average power normalisation, the channel, and the
mirrored transposed convolutions with a sigmoid output. An H x W x 3 image becomes
(H/4) x (W/4) x c real values = H*W*c/32 complex symbols, so the bandwidth ratio
k/n = (complex symbols) / (3 H W real source values) is c / 96: c = 16, 8, 4 give 1/6, 1/12, 1/24,
the ratios of the JSCC literature. SNR is Es/N0 per complex symbol (unit mean power, complex noise
variance 10^(-snr/10)), the convention of ``model/channels.py`` and the PHY.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .channels import apply_channel


def channels_for_ratio(ratio: float) -> int:
    """Latent channels c for bandwidth ratio k/n = c/96 (1/6 -> 16, 1/12 -> 8, 1/24 -> 4)."""
    c = 96.0 * ratio
    if c < 1 or abs(c - round(c)) > 1e-6:
        raise ValueError(f"bandwidth ratio {ratio} is not c/96 for an integer c >= 1")
    return int(round(c))


class DeepJSCC(nn.Module):
    """Image [B, 3, H, W] float in [0, 1] (H, W multiples of 4) <-> complex symbols [B, H*W*c/32].

    :param ratio: bandwidth ratio k/n (complex channel uses per real source value), c/96.
    :param width: feature channels of the hidden convolutions.
    """

    def __init__(self, ratio: float = 1 / 12, width: int = 32):
        super().__init__()
        self.ratio, self.c = ratio, channels_for_ratio(ratio)
        w, c = width, self.c
        self.enc = nn.Sequential(
            nn.Conv2d(3, w, 5, 2, 2), nn.PReLU(w), nn.Conv2d(w, w, 5, 2, 2), nn.PReLU(w),
            nn.Conv2d(w, w, 3, 1, 1), nn.PReLU(w), nn.Conv2d(w, c, 3, 1, 1))
        self.dec = nn.Sequential(
            nn.ConvTranspose2d(c, w, 3, 1, 1), nn.PReLU(w), nn.ConvTranspose2d(w, w, 3, 1, 1), nn.PReLU(w),
            nn.ConvTranspose2d(w, w, 5, 2, 2, output_padding=1), nn.PReLU(w),
            nn.ConvTranspose2d(w, 3, 5, 2, 2, output_padding=1), nn.Sigmoid())

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def symbols_per_image(self, height: int = 224, width: int = 224) -> int:
        """Complex channel symbols for one H x W image."""
        return (height // 4) * (width // 4) * self.c // 2

    def encode(self, img: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in [0, 1] -> complex64 [B, N], mean |x|^2 = 1 per image."""
        if img.ndim != 4 or img.shape[1] != 3 or img.shape[2] % 4 or img.shape[3] % 4:
            raise ValueError(f"expected images [B, 3, H, W] with H, W multiples of 4, got {tuple(img.shape)}")
        z = self.enc(img * 2.0 - 1.0).flatten(1)
        x = torch.complex(z[:, 0::2], z[:, 1::2])
        power = (x.abs() ** 2).mean(1, keepdim=True)
        return x / torch.sqrt(power.clamp_min(1e-12))

    def decode(self, y: torch.Tensor, shape: tuple) -> torch.Tensor:
        """complex [B, N] -> images [B, 3, H, W] in [0, 1] (``shape`` = (H, W))."""
        h, w = shape
        z = torch.stack([y.real, y.imag], -1).reshape(y.shape[0], self.c, h // 4, w // 4).float()
        return self.dec(z)

    def forward(self, img: torch.Tensor, snr_db: torch.Tensor, kind: str = "awgn", gen=None) -> torch.Tensor:
        x = self.encode(img)
        return self.decode(apply_channel(x, snr_db, kind, gen), img.shape[2:])


def psnr(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Mean PSNR in dB of images in [0, 1] (peak 1), averaged over images: 10 log10(1 / MSE)."""
    a, b = torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)
    mse = ((a - b) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return float((10.0 * torch.log10(1.0 / mse)).mean())


def load_images(folder, limit: int | None = None) -> tuple[np.ndarray, list[int]]:
    """Imagenette images listed in ``folder/labels.csv`` -> (uint8 [N, 224, 224, 3], ImageNet-1k labels)."""
    import csv
    from pathlib import Path

    from PIL import Image

    folder = Path(folder)
    rows = list(csv.DictReader((folder / "labels.csv").open()))
    if limit:
        rows = rows[:limit] if limit >= len(rows) else [rows[i] for i in
                                                        np.linspace(0, len(rows) - 1, limit).astype(int)]
    imgs = [np.asarray(Image.open(folder / r["file"]).convert("RGB").resize((224, 224))) for r in rows]
    return np.stack(imgs), [int(r["imagenet1k_idx"]) for r in rows]


def train_jscc(images: np.ndarray, ratio: float, steps: int, seed: int, crop: int = 64, batch: int = 16,
               snr_db: tuple = (0.0, 20.0), lr: float = 1e-3, progress=None) -> DeepJSCC:
    """Train a :class:`DeepJSCC` on random ``crop`` x ``crop`` patches of ``images`` (uint8 [N, H, W, 3]),
    AWGN at SNR uniform in ``snr_db``, MSE loss, Adam; it is fully convolutional, so it codes whole
    images afterwards."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    net = DeepJSCC(ratio)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    data = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    n, _, h, w = data.shape
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        idx = rng.integers(0, n, batch)
        ys, xs = rng.integers(0, h - crop + 1, batch), rng.integers(0, w - crop + 1, batch)
        x = torch.stack([data[i, :, y:y + crop, xx:xx + crop] for i, y, xx in zip(idx, ys, xs)])
        if rng.random() < 0.5:
            x = x.flip(3)
        snr = torch.as_tensor(rng.uniform(*snr_db, batch), dtype=torch.float32)
        lr_now = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for g in opt.param_groups:
            g["lr"] = lr_now
        loss = ((net(x, snr, "awgn", gen) - x) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress is not None:
            progress(step, float(loss.item()))
    return net.eval()
