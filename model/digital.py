"""Digital baseline in the codec's harness: text -> source code -> CRC-16 -> K=7 rate-1/2
convolutional code -> QAM -> the same channels (``channels.py``) -> soft Viterbi -> text.

Source code: raw DEFLATE with a preset dictionary of the tokenizer's words (``zlib``), or plain
``utf8``. Channel-use budget: the codec's symbols for the same sentence (tokens x symbols_per_token);
the lowest-order modulation (QPSK, 16-QAM, 64-QAM) whose codeword fits the budget is used (the most
robust choice that fits); if even 64-QAM does not fit, the frame is lost (counted, empty text).
A failed CRC or an undecodable payload also gives an empty text: the digital cliff.

FEC and QAM come from ``vlmcsc.phy`` (the PHY's own code); CommPy is the fallback.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

from .channels import apply_channel

try:  # the PHY's vectorised soft Viterbi and Gray QAM
    from vlmcsc.phy.fec import conv_encode, viterbi_decode
    from vlmcsc.phy.modulation import demodulate_llr, modulate
except ImportError:  # pragma: no cover - only before phy/ exists
    conv_encode = viterbi_decode = demodulate_llr = modulate = None

MODULATIONS = (("qpsk", 2), ("16qam", 4), ("64qam", 6))


def _crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE."""
    crc = 0xFFFF
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


class DigitalBaseline:
    """Separate source/channel coding of text with a fixed channel-use budget per sentence.

    :param words: vocabulary for the DEFLATE preset dictionary (most frequent last works best).
    :param source: "zlib" or "utf8".
    """

    def __init__(self, words: list[str] | None = None, source: str = "zlib"):
        if source not in ("zlib", "utf8"):
            raise ValueError(f"source must be 'zlib' or 'utf8', got {source!r}")
        if conv_encode is None:
            raise ImportError("vlmcsc.phy.fec / vlmcsc.phy.modulation are needed for the digital baseline")
        self.source = source
        self.zdict = " ".join(words or []).encode()[-32000:]

    def compress(self, text: str) -> bytes:
        data = text.encode("utf-8")
        if self.source == "utf8":
            return data
        c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, self.zdict) \
            if self.zdict else zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()

    def decompress(self, data: bytes) -> str:
        if self.source == "utf8":
            return data.decode("utf-8", errors="replace")
        d = zlib.decompressobj(-15, self.zdict) if self.zdict else zlib.decompressobj(-15)
        return d.decompress(data).decode("utf-8", errors="replace")

    def frame_bits(self, text: str) -> np.ndarray:
        payload = self.compress(text)
        crc = _crc16(payload).to_bytes(2, "big")
        return np.unpackbits(np.frombuffer(payload + crc, np.uint8))

    def transmit(self, texts: list[str], budgets: list[int], snr_db: float, kind: str = "awgn",
                 seed: int = 0) -> tuple[list[str], dict]:
        """Send each text within ``budgets[i]`` complex symbols; returns (texts received, counters)."""
        gen = torch.Generator().manual_seed(seed)
        out, stats = [], {"sent": 0, "no_fit": 0, "crc_fail": 0, "ok": 0}
        for text, budget in zip(texts, budgets):
            stats["sent"] += 1
            bits = self.frame_bits(text)
            coded = conv_encode(bits)
            choice = None
            for name, m in MODULATIONS:
                if -(-coded.size // m) <= budget:
                    choice = (name, m)
                    break
            if choice is None:
                stats["no_fit"] += 1
                out.append("")
                continue
            name, m = choice
            padded = np.concatenate([coded, np.zeros((-coded.size) % m, np.uint8)])
            x = torch.from_numpy(modulate(padded, name))[None, :]
            y = apply_channel(x, torch.tensor([float(snr_db)]), kind, gen)[0].numpy()
            llr = demodulate_llr(y, 10 ** (-snr_db / 10), name)[: coded.size]
            rx = viterbi_decode(llr)
            data = np.packbits(rx).tobytes()
            payload, crc = data[:-2], data[-2:]
            if _crc16(payload).to_bytes(2, "big") != crc:
                stats["crc_fail"] += 1
                out.append("")
                continue
            try:
                out.append(self.decompress(payload))
                stats["ok"] += 1
            except zlib.error:
                stats["crc_fail"] += 1
                out.append("")
        return out, stats
