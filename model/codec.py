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

from .channel_coder import ChannelDecoder, ChannelEncoder, symbol_features
from .med import MedStack, sinusoidal_positions
from .tokenizer import PAD, UNK, load_tokenizer

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CONFIG_NAME, WEIGHTS_NAME, TOKENIZER_NAME = "config.json", "model.safetensors", "tokenizer.json"
# symbols per token the transmitter may choose; the header's analog mode nibble carries 1 + index
RATES = (2, 3, 4, 6, 8, 12, 16)
# rates beyond the channel encoder's S_max symbols, as multiples of S_max: the first k - S_max
# symbols of each token are sent twice and maximum-ratio combined at the receiver (chase combining,
# +3 dB on the repeated symbols); no retraining: the decoder sees the combined symbols and their
# (halved) noise variances through its per-symbol reliabilities
REPEAT_FACTORS = (1.5, 2.0)


@dataclass
class CodecConfig:
    """Every size of the codec. Validated at construction.

    ``max_symbols_per_token``: complex symbols the channel encoder produces per token (nested: any
    prefix of ``k`` in ``rates`` decodes). ``symbols_per_token``: the rate used when no rate policy
    decides (a checkpoint without one, or callers asking for the default). ``snr_input``: False
    builds the ablation control (every NAM and the per-symbol reliabilities see a constant).
    ``snr_range``: the SNR range (dB) the checkpoint was trained on; SNRs given to the NAMs are
    clipped to it.
    """

    vocab_size: int = 4000
    width: int = 128
    heads: int = 8
    layers: int = 3
    ff: int = 512
    symbols_per_token: int = 8
    max_tokens: int = 64
    dropout: float = 0.1
    channel_hidden: tuple[int, int] = (256, 128)
    max_symbols_per_token: int = 16
    rates: tuple[int, ...] = RATES
    snr_input: bool = True
    snr_range: tuple[float, float] = (-5.0, 25.0)

    def __post_init__(self):
        self.channel_hidden = tuple(self.channel_hidden)
        self.rates = tuple(int(r) for r in self.rates)
        self.snr_range = tuple(float(v) for v in self.snr_range)
        for name in ("vocab_size", "width", "heads", "layers", "ff", "symbols_per_token", "max_tokens",
                     "max_symbols_per_token"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"CodecConfig.{name} must be a positive integer, got {getattr(self, name)}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be divisible by heads {self.heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.symbols_per_token > self.max_symbols_per_token:
            raise ValueError(f"symbols_per_token {self.symbols_per_token} exceeds max_symbols_per_token "
                             f"{self.max_symbols_per_token}")
        rates = tuple(r for r in self.rates if r <= self.max_symbols_per_token)
        if self.symbols_per_token not in rates:
            rates = tuple(sorted(set(rates) | {self.symbols_per_token}))
        if not 1 <= len(rates) <= 15:
            raise ValueError(f"rates must hold 1..15 values (the header's 4-bit mode), got {rates}")
        self.rates = rates
        if not self.snr_range[0] < self.snr_range[1]:
            raise ValueError(f"snr_range must be (low, high) with low < high, got {self.snr_range}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["channel_hidden"] = list(self.channel_hidden)
        d["rates"] = list(self.rates)
        d["snr_range"] = list(self.snr_range)
        return d


# the ablation control's constant SNR (dB) and the per-symbol reliability it implies
ABLATION_SNR_DB = 10.0


def reliability(noise_var: torch.Tensor) -> torch.Tensor:
    """w = 1 / (1 + noise_var) in (0, 1]: the MMSE weight of a unit-power symbol."""
    return 1.0 / (1.0 + noise_var.clamp_min(0.0))


def repeat_symbols(x: torch.Tensor, k: int, smax: int) -> torch.Tensor:
    """x [..., smax] -> [..., k] for a rate k > smax: symbol j >= smax repeats symbol j - smax
    (mod smax), so the most important (nested-first) symbols are the ones sent twice."""
    return x[..., torch.arange(k, device=x.device) % smax]


def chase_combine(y: torch.Tensor, noise_var: torch.Tensor, smax: int):
    """Maximum-ratio combining of repeated symbols (the inverse of :func:`repeat_symbols`).

    ``y`` [..., S] complex unbiased symbols and ``noise_var`` [..., S] their noise variances (``inf``
    for symbols not received); S >= smax. Returns ``(y [..., smax], noise_var [..., smax])`` with
    y = sum(y_i / v_i) / sum(1 / v_i) and noise_var = 1 / sum(1 / v_i) over the copies of each
    symbol (``inf`` and y = 0 where no copy arrived). Source: maximum-ratio combining of unbiased
    estimates (Brennan 1959; chase combining, Chase 1985)."""
    s = y.shape[-1]
    if s <= smax:
        return y, noise_var
    idx = torch.arange(s, device=y.device) % smax
    prec = torch.where(torch.isfinite(noise_var) & (noise_var > 0), 1.0 / noise_var.clamp_min(1e-12),
                       torch.zeros_like(noise_var))
    shape = (*y.shape[:-1], smax)
    num = torch.zeros(shape, dtype=y.dtype, device=y.device).index_add_(-1, idx, y * prec.to(y.dtype))
    den = torch.zeros(shape, dtype=prec.dtype, device=y.device).index_add_(-1, idx, prec)
    ok = den > 0
    y_c = torch.where(ok, num / den.clamp_min(1e-30).to(y.dtype), torch.zeros_like(num))
    nv_c = torch.where(ok, 1.0 / den.clamp_min(1e-30), torch.full_like(den, float("inf")))
    return y_c, nv_c


class CodecNet(nn.Module):
    """The trainable network. Shapes: ids/pad [B, T]; snr_db [B]; k [B] symbols per token;
    symbols [B, T, S_max] complex64 (positions >= k zero)."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        smax = cfg.max_symbols_per_token
        self.embed = nn.Embedding(cfg.vocab_size, cfg.width)
        self.register_buffer("pos", sinusoidal_positions(cfg.max_tokens, cfg.width), persistent=False)
        self.encoder = MedStack(cfg.layers, cfg.width, cfg.heads, cfg.ff, cfg.dropout)
        self.ln_enc = nn.LayerNorm(cfg.width)
        self.chan_enc = ChannelEncoder(cfg.width, smax, cfg.channel_hidden)
        self.chan_dec = ChannelDecoder(cfg.width, smax, cfg.channel_hidden[::-1])
        self.decoder = MedStack(cfg.layers, cfg.width, cfg.heads, cfg.ff, cfg.dropout)
        self.ln_out = nn.LayerNorm(cfg.width)
        self.apply(self._init)
        for m in self.modules():
            if hasattr(m, "reset_gate_bias"):
                m.reset_gate_bias()
                m.reset_snr_net()

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            # std width^-1/2: embeddings*sqrt(width) have unit scale like the position code,
            # and the tied output head starts with unit-scale logits
            nn.init.normal_(m.weight, std=m.weight.shape[1] ** -0.5)

    def _snr(self, snr_db: torch.Tensor) -> torch.Tensor:
        lo, hi = self.cfg.snr_range
        if not self.cfg.snr_input:
            return torch.full_like(snr_db, ABLATION_SNR_DB)
        return snr_db.clamp(lo, hi)

    def semantic(self, ids, pad, snr_db):
        """MED encoder output [B, T, width] (also the feature the continual-learning memory uses)."""
        x = self.embed(ids) * math.sqrt(self.cfg.width) + self.pos[: ids.shape[1]]
        return self.ln_enc(self.encoder(x, pad, self._snr(snr_db)))

    def sent_mask(self, pad, k) -> torch.Tensor:
        """[B, T, S_max] bool: which symbols are sent (token not padding, position < k)."""
        smax = self.cfg.max_symbols_per_token
        k = torch.as_tensor(k, device=pad.device).reshape(-1, 1, 1)
        return (~pad)[..., None] & (torch.arange(smax, device=pad.device) < k)

    def encode(self, ids, pad, snr_db, k):
        """ids [B, T] long, pad [B, T] bool, k int or [B] -> symbols [B, T, S_max] complex64, zero
        where not sent, mean |x|^2 = 1 over each frame's sent symbols."""
        smax = self.cfg.max_symbols_per_token
        z = self.chan_enc(self.semantic(ids, pad, snr_db), self._snr(snr_db))  # [B, T, 2S]
        x = torch.complex(z[..., :smax], z[..., smax:])
        keep = self.sent_mask(pad, k).to(z.dtype)
        x = x * keep
        power = (x.abs() ** 2).sum(dim=(1, 2)) / keep.sum(dim=(1, 2)).clamp_min(1.0)
        return x / torch.sqrt(power.clamp_min(1e-12))[:, None, None]

    def decode(self, y, w, pad, snr_db):
        """y [B, T, S_max] complex unbiased received symbols, w [B, T, S_max] reliabilities
        (1/(1+noise_var), 0 where not sent), pad [B, T], snr_db [B] -> logits [B, T, vocab]."""
        lo, hi = self.cfg.snr_range
        sent = w > 0
        if not self.cfg.snr_input:
            w = sent.to(w.dtype) * float(1.0 / (1.0 + 10 ** (-ABLATION_SNR_DB / 10)))
        # per-token effective SNR: mean linear SNR w/(1-w) of the symbols the token got
        wc = w.clamp(0.0, 0.999)
        lin = (wc / (1.0 - wc)).sum(-1) / sent.sum(-1).clamp_min(1)
        tok_snr = (10.0 * torch.log10(lin.clamp_min(1e-3))).clamp(lo, hi)
        if not self.cfg.snr_input:
            tok_snr = torch.full_like(tok_snr, ABLATION_SNR_DB)
        h = self.chan_dec(symbol_features(y * sent, w), tok_snr)
        h = self.ln_out(self.decoder(h, pad, self._snr(snr_db)))
        return h @ self.embed.weight.t()  # tied output head

    def forward(self, ids, pad, snr_db, k, channel):
        """Training pass. ``channel(x [B, T, S] complex, sent [B, T, S] bool, snr_db [B]) ->
        (y, noise_var, snr_est_db)``: unbiased symbols, their noise variance and the frame SNR as the
        receiver estimates them (:func:`.symbol_channels.symbol_channel`). Returns logits [B, T, V]."""
        x = self.encode(ids, pad, snr_db, k)
        sent = self.sent_mask(pad, k)
        y, nv, snr_rx = channel(x, sent, snr_db)
        return self.decode(y, reliability(nv) * sent, pad, snr_rx)


def table_row(table: dict, snr_db: float) -> dict:
    """The row of a rate table (``{str SNR dB: {str k: {"bleu1", ...}}}``, as JSON stores it) at its
    largest SNR <= ``snr_db`` (its lowest SNR below the grid)."""
    grid = sorted(table, key=float)
    below = [key for key in grid if float(key) <= snr_db]
    return table[below[-1] if below else grid[0]]


def lagrangian_rate(row: dict, price: float, allowed=None) -> int:
    """The rate k of a table row maximising ``BLEU-1 - price * k`` (ties: the fewer symbols);
    ``allowed``: the rates to choose from (default every rate of the row)."""
    ks = [int(k) for k in row if allowed is None or int(k) in allowed]
    return max(ks, key=lambda k: (row[str(k)]["bleu1"] - price * k, -k))


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
    """Tokenizer + :class:`CodecNet` (+ the rate policy): the codec the flowgraphs use.

    >>> codec = SemanticCodec.from_pretrained()
    >>> k = codec.rate_for(5.0)                                   # symbols per token at 5 dB
    >>> syms = codec.encode_text(["a dog runs"], snr_db=5.0)     # [complex64 [n_tokens * k]]
    >>> codec.decode_symbols(syms, snr_db=[5.0], symbols_per_token=k)
    ['a dog runs']

    ``rate_policy``: ``{"snr_db": [ascending grid], "symbols_per_token": [k per grid point], ...}``;
    at SNR ``s`` the transmitter uses the ``k`` of the largest grid point <= ``s`` (below the grid:
    the lowest grid point's). Rates above ``max_symbols_per_token`` repeat symbols (:data:`REPEAT_FACTORS`). ``None``: always ``config.symbols_per_token``.
    """

    def __init__(self, net: CodecNet, tokenizer, device: str | torch.device = "cpu",
                 rate_policy: dict | None = None):
        if tokenizer.get_vocab_size() > net.cfg.vocab_size:
            raise ValueError(f"tokenizer has {tokenizer.get_vocab_size()} tokens but the model "
                             f"only {net.cfg.vocab_size}")
        self.net = net.to(device).eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.pad_id = tokenizer.token_to_id(PAD)
        self.unk_id = tokenizer.token_to_id(UNK)  # None for the byte-level tokenizer (no [UNK])
        self.rate_policy = None
        if rate_policy is not None:
            self.set_rate_policy(rate_policy)

    # -- properties -------------------------------------------------------------------------
    @property
    def config(self) -> CodecConfig:
        return self.net.cfg

    @property
    def symbols_per_token(self) -> int:
        """Default complex channel symbols per token (used when no rate policy decides)."""
        return self.net.cfg.symbols_per_token

    @property
    def rates(self) -> tuple[int, ...]:
        """Symbols per token the transmitter may choose: the trained (nested) rates, then the
        repetition rates above ``max_symbols_per_token`` (:data:`REPEAT_FACTORS`, chase-combined)."""
        smax = self.net.cfg.max_symbols_per_token
        extra = tuple(int(f * smax) for f in REPEAT_FACTORS if f * smax == int(f * smax) and int(f * smax) > smax)
        return self.net.cfg.rates + extra

    @property
    def snr_range(self) -> tuple[float, float]:
        """The SNR range (dB) the checkpoint was trained on; NAM inputs are clipped to it."""
        return self.net.cfg.snr_range

    @property
    def max_tokens(self) -> int:
        return self.net.cfg.max_tokens

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters() if p.requires_grad)

    # -- rate --------------------------------------------------------------------------------
    def set_rate_policy(self, policy: dict) -> None:
        """Validate and install a rate policy (see the class docstring)."""
        grid = [float(v) for v in policy["snr_db"]]
        ks = [int(v) for v in policy["symbols_per_token"]]
        if not grid or len(grid) != len(ks) or any(b <= a for a, b in zip(grid, grid[1:])):
            raise ValueError("rate policy needs an ascending snr_db grid and one symbols_per_token each")
        bad = [k for k in ks if k not in self.rates]
        if bad:
            raise ValueError(f"rate policy uses {bad}, not in the codec's rates {self.rates}")
        self.rate_policy = {**policy, "snr_db": grid, "symbols_per_token": ks}

    def rate_for(self, snr_db: float, price: float = 0.0) -> int:
        """Symbols per token for a transmitter that assumes ``snr_db`` (Es/N0, dB).

        ``price`` 0 (default): the policy's quality curve (the smallest rate reaching its target,
        else the best quality; see :func:`.rate_policy.build_policy`). ``price`` > 0, in BLEU-1 per
        symbol per token: the rate maximising ``BLEU-1(snr, k) - price * k`` on the policy's
        measured table (a rate-distortion Lagrangian: a symbol must buy at least ``price`` BLEU-1),
        at the table's largest SNR <= ``snr_db`` (its smallest below the grid). Raises ValueError on
        a non-finite SNR or a negative price."""
        if self.rate_policy is None:
            return self.symbols_per_token
        snr = float(snr_db)
        if not math.isfinite(snr):
            raise ValueError(f"SNR must be a finite dB value, got {snr_db}")
        if not (math.isfinite(price) and price >= 0):
            raise ValueError(f"rate price must be a finite number >= 0 (BLEU-1 per symbol per token), got {price}")
        table = self.rate_policy.get("table")
        if price > 0 and table:
            return lagrangian_rate(table_row(table, snr), price, self.rates)
        i = int(np.searchsorted(self.rate_policy["snr_db"], snr, side="right")) - 1
        return self.rate_policy["symbols_per_token"][max(i, 0)]

    def mode_for(self, symbols_per_token: int) -> int:
        """The header's analog mode nibble for a rate: 1 + its index in ``rates`` (0 = default)."""
        if symbols_per_token not in self.rates:
            raise ValueError(f"{symbols_per_token} symbols per token is not one of {self.rates}")
        return 1 + self.rates.index(symbols_per_token)

    def rate_from_mode(self, mode: int) -> int:
        """Inverse of :meth:`mode_for`; mode 0 (a sender that does not signal it) -> the default."""
        if mode == 0:
            return self.symbols_per_token
        if not 1 <= mode <= len(self.rates):
            raise ValueError(f"analog mode {mode} names no rate (this codec has {len(self.rates)})")
        return self.rates[mode - 1]

    def _rates(self, symbols_per_token, snr: torch.Tensor) -> list[int]:
        n = snr.numel()
        if symbols_per_token is None or symbols_per_token == "auto":
            return [self.rate_for(float(v)) for v in snr.tolist()]
        ks = list(np.asarray(symbols_per_token).reshape(-1).tolist())
        if len(ks) == 1:
            ks = ks * n
        if len(ks) != n:
            raise ValueError(f"got {len(ks)} symbols_per_token values for {n} items")
        for k in ks:
            if k not in self.rates:
                raise ValueError(f"{k} symbols per token is not one of this codec's rates {self.rates}")
        return [int(k) for k in ks]

    # -- text <-> ids -------------------------------------------------------------------------
    def tokenize(self, texts: list[str], on_unknown: str = "replace") -> list[list[int]]:
        """Token ids per text. Raises ValueError on empty or over-long text (> max_tokens tokens).

        ``on_unknown`` only matters for tokenizers with an ``[UNK]`` token (v1 WordPiece):
        "replace" keeps ``[UNK]``, "error" raises. The byte-level tokenizer spells any text.
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
            if not ids or not text.strip():
                raise ValueError(f"text {i} is empty after normalisation ({text!r}); nothing to send")
            if len(ids) > self.max_tokens:
                raise ValueError(f"text {i} has {len(ids)} tokens, more than max_tokens="
                                 f"{self.max_tokens}; shorten or split it")
            if on_unknown == "error" and self.unk_id is not None and self.unk_id in ids:
                raise ValueError(f"text {i} ({text!r}) has characters outside the vocabulary")
            out.append(ids)
        return out

    def normalize(self, text: str) -> str:
        """The text as the codec represents it: the BLEU reference. With the byte-level tokenizer
        this is the text itself (exact round trip); v1 WordPiece lower-cased and split punctuation."""
        return self.tokenizer.decode(self.tokenizer.encode(text).ids)

    def _batch(self, seqs: list[list[int]]):
        t = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), t), self.pad_id, dtype=torch.long)
        pad = torch.ones(len(seqs), t, dtype=torch.bool)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.as_tensor(s)
            pad[i, : len(s)] = False
        return ids.to(self.device), pad.to(self.device)

    # -- the interface ------------------------------------------------------------------------
    @torch.inference_mode()
    def encode_text(self, texts: list[str], snr_db, on_unknown: str = "replace",
                    symbols_per_token=None) -> list[np.ndarray]:
        """Texts -> list of complex64 [n_tokens_i * k_i] (token-major: token 0's k symbols first),
        mean |x|^2 = 1 each.

        ``snr_db``: the SNR (Es/N0, dB) the transmitter assumes, one float or one per text.
        ``symbols_per_token``: ``None``/"auto" picks ``k`` per text from the rate policy
        (:meth:`rate_for`); an int (or one per text) forces it. Raises ValueError on a rate not in
        :attr:`rates`, empty or over-long text, NaN/inf SNR.
        """
        if len(texts) == 0:
            return []
        seqs = self.tokenize(texts, on_unknown)
        snr = _check_snr(snr_db, len(seqs))
        ks = self._rates(symbols_per_token, snr)
        ids, pad = self._batch(seqs)
        smax = self.config.max_symbols_per_token
        x = self.net.encode(ids, pad, snr.to(self.device), torch.as_tensor([min(k, smax) for k in ks], device=self.device))
        out = []
        for i, q in enumerate(seqs):
            xi = x[i, : len(q), : ks[i]]
            if ks[i] > smax:  # repetition rate: the first k - S_max symbols again, frame power back to 1
                xi = repeat_symbols(xi, ks[i], smax)
                xi = xi / torch.sqrt((xi.abs() ** 2).mean())
            out.append(xi.cpu().numpy().astype(np.complex64).reshape(-1).copy())
        return out

    @torch.inference_mode()
    def decode_symbols(self, symbols: list[np.ndarray], snr_db, noise_var=None, symbols_per_token=None,
                       equalizer: str = "zf") -> list[str]:
        """Equalised received symbols (one complex array per frame) -> texts.

        ``snr_db``: the receiver's SNR estimate (Es/N0, dB), one float or one per frame.
        ``noise_var``: per-symbol post-equalisation noise variance (the PHY's ``Frame.noise_var``),
        one float array per frame (or ``None``: 10^(-snr/10) for every symbol, i.e. AWGN).
        ``symbols_per_token``: the rate the frame was sent with (the header's mode, via
        :meth:`rate_from_mode`); ``None`` assumes the transmitter used :meth:`rate_for` at the same
        SNR. ``equalizer``: "zf" (unbiased symbols) or "mmse" (symbols shrunk by 1 - noise_var,
        which this undoes). Each frame's length must be a positive multiple of its rate.
        """
        if isinstance(symbols, np.ndarray) and symbols.ndim == 1:
            raise TypeError("pass a list of symbol arrays (one per frame), not a single array")
        if equalizer not in ("zf", "mmse"):
            raise ValueError(f"equalizer must be 'zf' or 'mmse', got {equalizer!r}")
        if len(symbols) == 0:
            return []
        snr = _check_snr(snr_db, len(symbols))
        ks = self._rates(symbols_per_token, snr)
        if noise_var is not None and len(noise_var) != len(symbols):
            raise ValueError(f"got {len(noise_var)} noise_var arrays for {len(symbols)} frames")
        arrays = []
        for i, y in enumerate(symbols):
            y = np.asarray(y)
            s = ks[i]
            if y.ndim != 1 or y.size == 0 or y.size % s:
                raise ValueError(f"frame {i} has shape {y.shape}; expected a non-empty 1-D array "
                                 f"whose length is a multiple of symbols_per_token={s}")
            if y.size // s > self.max_tokens:
                raise ValueError(f"frame {i} carries {y.size // s} tokens, more than max_tokens="
                                 f"{self.max_tokens}")
            if noise_var is None:
                nv = np.full(y.size, 10 ** (-float(snr[i]) / 10), np.float64)
            else:
                nv = np.broadcast_to(np.asarray(noise_var[i], np.float64).reshape(-1)
                                     if np.ndim(noise_var[i]) else np.asarray(noise_var[i], np.float64),
                                     (y.size,)).copy()
            bad = ~np.isfinite(y) | ~np.isfinite(nv)
            # a receiver can deliver inf/NaN after dividing by a zero channel estimate: no information
            y = np.where(bad, 0, y).astype(np.complex128)
            nv = np.where(bad | (nv < 0), np.inf, nv)
            if equalizer == "mmse":
                g = np.clip(1.0 - nv, 1e-3, 1.0)  # MMSE gain |h|^2/(|h|^2+s^2) = 1 - MSE
                y, nv = y / g, nv / g
            arrays.append((y.astype(np.complex64), nv))
        t = max(a.size // k for (a, _), k in zip(arrays, ks))
        smax = self.config.max_symbols_per_token
        y = np.zeros((len(arrays), t, smax), np.complex64)
        w = np.zeros((len(arrays), t, smax), np.float32)
        pad = torch.ones(len(arrays), t, dtype=torch.bool)
        for i, ((a, nv), k) in enumerate(zip(arrays, ks)):
            n = a.size // k
            a, nv = a.reshape(n, k), nv.reshape(n, k)
            if k > smax:  # repetition rate: maximum-ratio combine the copies
                yc, nvc = chase_combine(torch.from_numpy(a), torch.from_numpy(nv), smax)
                a, nv, k = yc.numpy(), nvc.numpy(), smax
            y[i, :n, :k] = a
            w[i, :n, :k] = 1.0 / (1.0 + nv)
            pad[i, :n] = False
        logits = self.net.decode(torch.from_numpy(y).to(self.device), torch.from_numpy(w).to(self.device),
                                 pad.to(self.device), snr.to(self.device))
        ids = logits.argmax(-1).cpu()
        return [self.tokenizer.decode(ids[i][~pad[i]].tolist()) for i in range(len(arrays))]

    # -- persistence --------------------------------------------------------------------------
    def save_pretrained(self, path: str | Path, dtype: str = "float32", extra: dict | None = None) -> None:
        """Write config.json (model config, rate policy, ``extra``), model.safetensors (``dtype``
        float32 or float16) and tokenizer.json."""
        if dtype not in ("float32", "float16"):
            raise ValueError(f"dtype must be float32 or float16, got {dtype!r}")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().to("cpu", getattr(torch, dtype)).contiguous()
                   for k, v in self.net.state_dict().items()}
        tensors.pop("embed.weight_tied", None)
        save_file(tensors, str(path / WEIGHTS_NAME), metadata={"format": "pt"})
        meta = {"format_version": 2, "model": self.config.to_dict(), "weights_dtype": dtype,
                "rate_policy": self.rate_policy, **(extra or {})}
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
        model = dict(meta["model"])
        if meta.get("format_version", 1) < 2:
            raise ValueError(f"{path} is a v1 codec checkpoint (fixed 8 symbols/token, WordPiece); "
                             "this version needs a v2 checkpoint: retrain with `vlmcsc train`")
        cfg = CodecConfig(**model)
        net = CodecNet(cfg)
        state = {k: v.float() for k, v in load_file(str(path / WEIGHTS_NAME)).items()}
        net.load_state_dict(state, strict=True)
        return cls(net, load_tokenizer(path / TOKENIZER_NAME), device, meta.get("rate_policy"))
