"""The semantic codec: text -> power-normalised complex channel symbols -> text, adapting to SNR.

Data path (both sides get the SNR in dB, fed to every NAM)::

    text -tokenizer-> ids [T] -embed+pos-> MED encoder (3 x Transformer+NAM) -> channel encoder
    (FF 256/128 + NAM) -> S complex symbols per token -> frame power 1 -> channel ->
    channel decoder (FF 128/256 + NAM) -> MED decoder (3 x Transformer+NAM) -> per-token logits

The decoder is non-autoregressive: each received token slot is classified in one pass (the frame
length tells the receiver the token count), so encode+decode of a caption is a few milliseconds.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .channel_coder import ChannelDecoder, ChannelEncoder
from .med import MedStack, sinusoidal_positions
from .tokenizer import PAD, UNK, load_tokenizer

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CONFIG_NAME, WEIGHTS_NAME, TOKENIZER_NAME = "config.json", "model.safetensors", "tokenizer.json"


@dataclass
class CodecConfig:
    """Every size of the codec. Validated at construction."""

    vocab_size: int = 4000
    width: int = 128
    heads: int = 8
    layers: int = 3
    ff: int = 512
    symbols_per_token: int = 8
    max_tokens: int = 64
    dropout: float = 0.1
    channel_hidden: tuple[int, int] = (256, 128)

    def __post_init__(self):
        self.channel_hidden = tuple(self.channel_hidden)
        for name in ("vocab_size", "width", "heads", "layers", "ff", "symbols_per_token", "max_tokens"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"CodecConfig.{name} must be a positive integer, got {getattr(self, name)}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be divisible by heads {self.heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["channel_hidden"] = list(self.channel_hidden)
        return d


class CodecNet(nn.Module):
    """The trainable network. Shapes: ids/pad [B, T]; snr_db [B]; symbols [B, T*S] complex64."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.width)
        self.register_buffer("pos", sinusoidal_positions(cfg.max_tokens, cfg.width), persistent=False)
        self.encoder = MedStack(cfg.layers, cfg.width, cfg.heads, cfg.ff, cfg.dropout)
        self.ln_enc = nn.LayerNorm(cfg.width)
        self.chan_enc = ChannelEncoder(cfg.width, cfg.symbols_per_token, cfg.channel_hidden)
        self.chan_dec = ChannelDecoder(cfg.width, cfg.symbols_per_token, cfg.channel_hidden[::-1])
        self.decoder = MedStack(cfg.layers, cfg.width, cfg.heads, cfg.ff, cfg.dropout)
        self.ln_out = nn.LayerNorm(cfg.width)
        self.apply(self._init)
        for m in self.modules():
            if hasattr(m, "reset_gate_bias"):
                m.reset_gate_bias()

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            # std width^-1/2: embeddings*sqrt(width) have unit scale like the position code,
            # and the tied output head starts with unit-scale logits
            nn.init.normal_(m.weight, std=m.weight.shape[1] ** -0.5)

    def semantic(self, ids, pad, snr_db):
        """MED encoder output [B, T, width] (also the feature the continual-learning memory uses)."""
        x = self.embed(ids) * math.sqrt(self.cfg.width) + self.pos[: ids.shape[1]]
        return self.ln_enc(self.encoder(x, pad, snr_db))

    def encode(self, ids, pad, snr_db):
        """ids [B, T] long, pad [B, T] bool -> symbols [B, T*S] complex64, mean |x|^2 = 1 per frame."""
        b, t = ids.shape
        s = self.cfg.symbols_per_token
        z = self.chan_enc(self.semantic(ids, pad, snr_db), snr_db)  # [B, T, 2S]
        x = torch.complex(z[..., :s], z[..., s:])  # [B, T, S]
        keep = (~pad)[..., None].to(z.dtype)
        x = x * keep
        power = (x.abs() ** 2).sum(dim=(1, 2)) / (keep.sum(dim=(1, 2)) * s)
        x = x / torch.sqrt(power.clamp_min(1e-12))[:, None, None]
        return x.reshape(b, t * s)

    def decode(self, y, pad, snr_db):
        """y [B, T*S] complex (equalised), pad [B, T] -> logits [B, T, vocab]."""
        b, t = pad.shape
        s = self.cfg.symbols_per_token
        y = y.reshape(b, t, s)
        h = self.chan_dec(torch.cat([y.real, y.imag], dim=-1).float(), snr_db)
        h = self.ln_out(self.decoder(h, pad, snr_db))
        return h @ self.embed.weight.t()  # tied output head

    def forward(self, ids, pad, snr_db, channel):
        """Training pass: ``channel(x [B, N] complex, snr_db [B]) -> y``; returns logits [B, T, V]."""
        return self.decode(channel(self.encode(ids, pad, snr_db), snr_db), pad, snr_db)


def _check_snr(snr_db, n: int) -> torch.Tensor:
    """Scalar or per-item SNR in dB -> float32 tensor [n], rejecting NaN/inf and wrong lengths."""
    arr = np.asarray(snr_db, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        raise ValueError(f"got {arr.size} SNR values for {n} items; pass one float or one per item")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"SNR must be finite dB values, got {arr.tolist()}")
    return torch.as_tensor(arr, dtype=torch.float32)


class SemanticCodec:
    """Tokenizer + :class:`CodecNet`: the codec the flowgraphs use.

    >>> codec = SemanticCodec.from_pretrained()
    >>> syms = codec.encode_text(["a dog runs"], snr_db=5.0)     # [complex64 [3*S]]
    >>> codec.decode_symbols(syms, snr_db=[5.0])
    ['a dog runs']
    """

    def __init__(self, net: CodecNet, tokenizer, device: str | torch.device = "cpu"):
        if tokenizer.get_vocab_size() > net.cfg.vocab_size:
            raise ValueError(f"tokenizer has {tokenizer.get_vocab_size()} tokens but the model "
                             f"only {net.cfg.vocab_size}")
        self.net = net.to(device).eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.pad_id = tokenizer.token_to_id(PAD)
        self.unk_id = tokenizer.token_to_id(UNK)

    # -- properties -------------------------------------------------------------------------
    @property
    def config(self) -> CodecConfig:
        return self.net.cfg

    @property
    def symbols_per_token(self) -> int:
        """Complex channel symbols sent per token."""
        return self.net.cfg.symbols_per_token

    @property
    def max_tokens(self) -> int:
        return self.net.cfg.max_tokens

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters() if p.requires_grad)

    # -- text <-> ids -------------------------------------------------------------------------
    def tokenize(self, texts: list[str], on_unknown: str = "replace") -> list[list[int]]:
        """Token ids per text. Raises ValueError on empty or over-long text (> max_tokens tokens).

        ``on_unknown``: "replace" keeps ``[UNK]`` for characters the vocabulary cannot spell;
        "error" raises instead.
        """
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, e.g. encode_text(['a dog runs'], ...)")
        if on_unknown not in ("replace", "error"):
            raise ValueError(f"on_unknown must be 'replace' or 'error', got {on_unknown!r}")
        out = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} is {type(text).__name__}, expected str")
            ids = self.tokenizer.encode(text).ids
            if not ids:
                raise ValueError(f"text {i} is empty after normalisation ({text!r}); nothing to send")
            if len(ids) > self.max_tokens:
                raise ValueError(f"text {i} has {len(ids)} tokens, more than max_tokens="
                                 f"{self.max_tokens}; shorten or split it")
            if on_unknown == "error" and self.unk_id in ids:
                raise ValueError(f"text {i} ({text!r}) has characters outside the vocabulary")
            out.append(ids)
        return out

    def normalize(self, text: str) -> str:
        """The text as the codec can represent it (lower case, split punctuation): BLEU reference."""
        return self.tokenizer.decode(self.tokenizer.encode(text).ids)

    def _batch(self, seqs: list[list[int]]):
        t = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), t), self.pad_id, dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.as_tensor(s)
        return ids.to(self.device), (ids == self.pad_id).to(self.device)

    # -- the interface ------------------------------------------------------------------------
    @torch.no_grad()
    def encode_text(self, texts: list[str], snr_db, on_unknown: str = "replace") -> list[np.ndarray]:
        """Texts -> list of complex64 [n_tokens_i * symbols_per_token], mean |x|^2 = 1 each.

        ``snr_db``: the SNR (Es/N0, dB) the transmitter assumes, one float or one per text.
        """
        if len(texts) == 0:
            return []
        seqs = self.tokenize(texts, on_unknown)
        snr = _check_snr(snr_db, len(seqs)).to(self.device)
        ids, pad = self._batch(seqs)
        x = self.net.encode(ids, pad, snr).cpu().numpy().astype(np.complex64)
        s = self.symbols_per_token
        return [x[i, : len(q) * s].copy() for i, q in enumerate(seqs)]

    @torch.no_grad()
    def decode_symbols(self, symbols: list[np.ndarray], snr_db) -> list[str]:
        """Equalised received symbols (one complex array per frame) -> texts.

        ``snr_db``: the receiver's SNR estimate (Es/N0, dB), one float or one per frame. Each
        frame's length must be a positive multiple of ``symbols_per_token``.
        """
        if isinstance(symbols, np.ndarray) and symbols.ndim == 1:
            raise TypeError("pass a list of symbol arrays (one per frame), not a single array")
        if len(symbols) == 0:
            return []
        snr = _check_snr(snr_db, len(symbols)).to(self.device)
        s = self.symbols_per_token
        arrays = []
        for i, y in enumerate(symbols):
            y = np.asarray(y)
            if y.ndim != 1 or y.size == 0 or y.size % s:
                raise ValueError(f"frame {i} has shape {y.shape}; expected a non-empty 1-D array "
                                 f"whose length is a multiple of symbols_per_token={s}")
            if y.size // s > self.max_tokens:
                raise ValueError(f"frame {i} carries {y.size // s} tokens, more than max_tokens="
                                 f"{self.max_tokens}")
            if not np.all(np.isfinite(y)):
                # a receiver can deliver inf/NaN after dividing by a zero channel estimate
                y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
            arrays.append(y.astype(np.complex64))
        t = max(a.size for a in arrays) // s
        y = np.zeros((len(arrays), t * s), np.complex64)
        pad = torch.ones(len(arrays), t, dtype=torch.bool)
        for i, a in enumerate(arrays):
            y[i, : a.size] = a
            pad[i, : a.size // s] = False
        logits = self.net.decode(torch.from_numpy(y).to(self.device), pad.to(self.device), snr)
        ids = logits.argmax(-1).cpu()
        return [self.tokenizer.decode(ids[i][~pad[i]].tolist()) for i in range(len(arrays))]

    # -- persistence --------------------------------------------------------------------------
    def save_pretrained(self, path: str | Path, dtype: str = "float32", extra: dict | None = None) -> None:
        """Write config.json, model.safetensors (``dtype`` float32 or float16) and tokenizer.json."""
        if dtype not in ("float32", "float16"):
            raise ValueError(f"dtype must be float32 or float16, got {dtype!r}")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().to("cpu", getattr(torch, dtype)).contiguous()
                   for k, v in self.net.state_dict().items()}
        tensors.pop("embed.weight_tied", None)
        save_file(tensors, str(path / WEIGHTS_NAME), metadata={"format": "pt"})
        meta = {"model": self.config.to_dict(), "weights_dtype": dtype, **(extra or {})}
        (path / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")
        self.tokenizer.save(str(path / TOKENIZER_NAME))

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str = "cpu") -> "SemanticCodec":
        """Load a codec folder; ``None`` loads the shipped checkpoint in ``model/weights/``."""
        path = Path(path) if path is not None else WEIGHTS_DIR
        missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME, TOKENIZER_NAME) if not (path / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{path} is not a codec checkpoint (missing {', '.join(missing)}); "
                                    "train one with `vlmcsc train` or pass the shipped folder")
        __import__("vlmcsc.model.checkpoint_check", fromlist=["x"]).check_checkpoint(path, CodecConfig, CodecNet)
        meta = json.loads((path / CONFIG_NAME).read_text())
        cfg = CodecConfig(**meta["model"])
        net = CodecNet(cfg)
        state = {k: v.float() for k, v in load_file(str(path / WEIGHTS_NAME)).items()}
        net.load_state_dict(state, strict=True)
        return cls(net, load_tokenizer(path / TOKENIZER_NAME), device)
