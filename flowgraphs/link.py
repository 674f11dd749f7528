"""The end-to-end link, shared by demo, tx/rx, sweep and the benchmark.

:class:`LinkTransmitter` turns (seq, text, encoder SNR) into one PHY frame of IQ, for the semantic
codec (analog frame of codec symbols) or the digital baseline (UTF-8 bytes in a digital frame with
FEC + CRC, modulation chosen so that it uses no more channel uses than the codec would).
:class:`LinkReceiver` turns PHY frames into decoded text plus the per-frame numbers, feeding the
decoder's NAM the PHY's per-frame SNR estimate (or a fixed SNR). :func:`run_loopback_batch` sends a
batch of captions through the loopback radio (one sweep cell).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from .captions import BUILTIN_CAPTIONS, TestSequence

# the header's sequence field: frames are numbered modulo this (the receiver unwraps)
SEQ_MODULO = 1 << 16

# how the PHY equalises analog (codec) symbols for the decoder: "zf" delivers unbiased symbols
# plus noise, as the codec's OFDM training channel does (LS estimate + zero forcing); "mmse"
# shrinks weak subcarriers towards zero
EQUALIZER = "mmse"


def make_receiver(cfg, sample_rate: float = 1e6, equalizer: str | None = None):
    """The PHY's streaming receiver as every flowgraph uses it."""
    from vlmcsc.phy import StreamingReceiver

    return StreamingReceiver(cfg, sample_rate=sample_rate, equalizer=equalizer or EQUALIZER)


def load_codec(checkpoint: str | None = None, quiet: bool = False):
    """The shipped codec (``None``/``""``) or a checkpoint folder.

    Until trained weights ship, falls back to a randomly initialised codec whose tokenizer is
    learnt from the built-in captions (plumbing only: it decodes gibberish) and says so.
    """
    from vlmcsc.model.codec import SemanticCodec

    try:
        return SemanticCodec.from_pretrained(checkpoint or None)
    except FileNotFoundError:
        if checkpoint:
            raise
    if not quiet:
        print("warning: no shipped codec weights found (model/weights/); using an UNTRAINED codec "
              "(plumbing only, decoded text will be wrong)", file=sys.stderr)
    return random_codec()


def random_codec(seed: int = 0):
    """A small randomly initialised codec with a tokenizer from the built-in captions (tests, plumbing)."""
    import torch

    from vlmcsc.model.codec import CodecConfig, CodecNet, SemanticCodec
    from vlmcsc.model.tokenizer import train_tokenizer

    tok = train_tokenizer(list(BUILTIN_CAPTIONS) * 3, vocab_size=600)
    torch.manual_seed(seed)
    net = CodecNet(CodecConfig(vocab_size=max(64, tok.get_vocab_size())))
    return SemanticCodec(net, tok)


class LinkTransmitter:
    """(seq, text, snr) -> IQ of one frame.

    :param codec: a ``SemanticCodec`` (also used by the digital system to size its frames)
    :param cfg: the PHY's ``OfdmConfig``
    :param system: "semantic" or "digital"
    :param digital_modulation: "auto" (densest needed to fit the codec's channel uses) or a name
    """

    def __init__(self, codec, cfg, system: str = "semantic", digital_modulation: str = "auto") -> None:
        from vlmcsc.phy import FrameTransmitter

        if system not in ("semantic", "digital"):
            raise ValueError(f"system must be 'semantic' or 'digital', got {system!r}")
        self.codec = codec
        self.cfg = cfg
        self.system = system
        self.digital_modulation = digital_modulation
        self.tx = FrameTransmitter(cfg)

    def symbols(self, text: str, snr_db: float, rate: int | None = None) -> np.ndarray:
        return self.codec.encode_text([text], snr_db=float(snr_db), symbols_per_token=rate)[0]

    def frame(self, seq: int, text: str, snr_db: float, rate: int | None = None) -> tuple[np.ndarray, dict]:
        """IQ (complex64 [n]) and info {"channel_uses", "modulation", "symbols_per_token", ...}.

        ``rate``: symbols per token (``None``: the codec's rate policy at ``snr_db``); it rides the
        header's analog mode nibble so the receiver needs no side information."""
        seq = int(seq) % SEQ_MODULO
        rate = self.codec.rate_for(snr_db) if rate is None else int(rate)
        syms = self.symbols(text, snr_db, rate)
        if self.system == "semantic":
            iq = self.tx.analog_frame(syms, seq=seq, mode=self.codec.mode_for(rate))
            return iq, {"channel_uses": int(syms.size), "modulation": "analog", "symbols_per_token": rate,
                        "ofdm_symbols": self.cfg.payload_symbols_analog(syms.size)}
        return self._digital(seq, self.codec.normalize(text), len(self.tx.analog_frame(syms, seq=seq)))

    def _digital(self, seq: int, text: str, budget_samples: int) -> tuple[np.ndarray, dict]:
        """Text bytes in a digital frame no longer (in samples) than the codec's analog frame.

        The most robust modulation that fits is used; if even 64-QAM does not fit, the text is
        cut (the lost words count as errors in BLEU), so both systems get the same channel uses.
        """
        payload = text.encode("utf-8")
        names = ("bpsk", "qpsk", "16qam", "64qam")
        if self.digital_modulation != "auto":
            names = (self.digital_modulation,)
        for name in names:
            if self.tx.frame_len("digital", max(1, len(payload)), name) <= budget_samples:
                iq = self.tx.digital_frame(payload, seq=seq, modulation=name)
                return iq, self._digital_info(name, len(payload), False)
        name = names[-1]
        fit = [n for n in range(1, len(payload) + 1) if self.tx.frame_len("digital", n, name) <= budget_samples]
        cut = payload[: max(fit)] if fit else payload[:1]  # at least one byte: a frame needs a payload
        iq = self.tx.digital_frame(cut, seq=seq, modulation=name)
        return iq, self._digital_info(name, len(cut), len(cut) < len(payload))

    def _digital_info(self, modulation: str, num_bytes: int, truncated: bool) -> dict:
        ofdm = self.cfg.payload_symbols_digital(num_bytes, modulation)
        return {"channel_uses": ofdm * self.cfg.num_data_subcarriers, "modulation": modulation,
                "ofdm_symbols": ofdm, "payload_bytes": num_bytes, "truncated": truncated}


class LinkReceiver:
    """PHY frame -> decoded text and the numbers logged per frame.

    :param codec: the ``SemanticCodec`` decoding analog frames
    :param rx_policy: "estimate" (the PHY's per-frame SNR to NAM) or "fixed"
    :param rx_fixed_db: SNR (dB) given to NAM with the "fixed" policy, and when no estimate exists
    """

    def __init__(self, codec, rx_policy: str = "estimate", rx_fixed_db: float = 10.0,
                 equalizer: str | None = None) -> None:
        if rx_policy not in ("estimate", "fixed"):
            raise ValueError(f"rx_policy must be 'estimate' or 'fixed', got {rx_policy!r}")
        self.codec = codec
        self.rx_policy = rx_policy
        self.rx_fixed_db = float(rx_fixed_db)
        self.equalizer = equalizer or EQUALIZER  # how the PHY equalised the symbols handed to us

    def nam_snr(self, frame) -> float:
        snr = getattr(frame, "snr_db", None)
        if self.rx_policy == "fixed" or snr is None or not math.isfinite(snr):
            return self.rx_fixed_db
        return float(np.clip(snr, *self.codec.snr_range))  # the range the checkpoint was trained on

    def decode(self, frame) -> dict:
        """{"received", "status", "nam_snr_db", "kind"} for one PHY frame."""
        if frame.kind == "digital":
            if frame.payload is None:
                return {"received": "", "status": "payload_crc_fail", "nam_snr_db": None, "kind": "digital"}
            return {"received": frame.payload.decode("utf-8", errors="replace"), "status": "ok",
                    "nam_snr_db": None, "kind": "digital"}
        nam = self.nam_snr(frame)
        syms = np.asarray(frame.symbols)
        try:
            s = self.codec.rate_from_mode(int(getattr(frame, "mode", 0)))
        except ValueError:
            return {"received": "", "status": "bad_rate", "nam_snr_db": nam, "kind": "analog"}
        usable = syms.size - syms.size % s
        if usable <= 0:
            return {"received": "", "status": "too_short", "nam_snr_db": nam, "kind": "analog"}
        nv = getattr(frame, "noise_var", None)
        nv = None if nv is None or np.size(nv) != syms.size else [np.asarray(nv)[:usable]]
        text = self.codec.decode_symbols([syms[:usable]], snr_db=[nam], noise_var=nv, symbols_per_token=s,
                                         equalizer=self.equalizer if nv is not None else "zf")[0]
        return {"received": text, "status": "ok", "nam_snr_db": nam, "kind": "analog"}


def frame_numbers(frame) -> dict:
    """The PHY numbers of a frame as plain floats (None where not available)."""
    out = {}
    for key in ("snr_db", "cfo_hz", "cfo_subcarriers", "evm_db"):
        value = getattr(frame, key, None)
        out[key] = None if value is None or not np.isfinite(value) else round(float(value), 4)
    return out


class SeqUnwrapper:
    """Header sequence numbers (modulo ``SEQ_MODULO``) -> monotonically increasing frame numbers."""

    def __init__(self, modulo: int = SEQ_MODULO) -> None:
        self.modulo = modulo
        self.last: int | None = None

    def __call__(self, seq: int) -> int:
        if self.last is None:
            self.last = int(seq)
            return self.last
        base = self.last - self.last % self.modulo
        candidates = [base - self.modulo + seq, base + seq, base + self.modulo + seq]
        best = min(candidates, key=lambda c: abs(c - self.last))
        self.last = max(self.last, best)
        return best


def drain_samples(radio, chunk: int = 1 << 16) -> np.ndarray:
    """Everything a loopback radio has queued now, as one complex64 array (no idle noise)."""
    parts = []
    while radio.queued_samples > 0:
        parts.append(radio.receive(min(chunk, radio.queued_samples), timeout=0.0))
    return np.concatenate(parts) if parts else np.zeros(0, np.complex64)


def drain(radio, receiver, chunk: int = 8192, flush: int = 0) -> list:
    """Feed everything a loopback radio has queued to the streaming receiver; the frames found.

    ``flush`` more samples of idle air (the radio's noise floor) follow, so that a frame ending
    at the end of the queue is released by a receiver that wants a little look-ahead.
    """
    frames = []
    while radio.queued_samples > 0:
        frames.extend(receiver.process(radio.receive(min(chunk, radio.queued_samples), timeout=0.0)))
    if flush:
        rate = radio.sample_rate or 1e6
        frames.extend(receiver.process(radio.receive(flush, timeout=flush / rate)))
    return frames


def run_loopback_batch(
    codec,
    scorer,
    system: str,
    channel: str,
    snr_db: float,
    frames: int,
    seed: int,
    trial: int = 0,
    phy: dict | None = None,
    tx_snr_db: float | None = None,
    rx_policy: str = "estimate",
    rx_fixed_db: float | None = None,
    captions: list[str] | None = None,
    equalizer: str | None = None,
    tx_rate: int | None = None,
) -> dict:
    """Send ``frames`` captions through PHY + loopback radio + channel preset; one sweep row.

    The encoder's NAM gets ``tx_snr_db`` (default: the channel SNR, as if fed back); the decoder's
    NAM the PHY's estimate (``rx_policy="estimate"``) or ``rx_fixed_db`` (``"fixed"``; default the
    channel SNR). Frames the receiver misses count as BLEU 0 (the text never arrived).
    """
    from vlmcsc.phy import OfdmConfig

    from .channels import make_loopback

    cfg = OfdmConfig(**(phy or {}))
    seq_texts = TestSequence(list(captions or BUILTIN_CAPTIONS), seed=seed)
    ltx = LinkTransmitter(codec, cfg, system)
    lrx = LinkReceiver(codec, rx_policy=rx_policy, rx_fixed_db=snr_db if rx_fixed_db is None else rx_fixed_db,
                       equalizer=equalizer)
    enc_snr = float(np.clip(snr_db if tx_snr_db is None else tx_snr_db, *codec.snr_range))
    radio = make_loopback(channel, snr_db, seed=seed, cfg=cfg)
    receiver = make_receiver(cfg, 1e6, equalizer)
    bleu, sim, snr_est, cfo, evm, got_bleu = [], [], [], [], [], []
    ok = 0
    t0 = time.perf_counter()
    with radio:
        radio.configure(sample_rate=1e6)
        for seq in range(frames):
            text = seq_texts.text(seq)
            iq, _info = ltx.frame(seq, text, enc_snr, tx_rate)
            radio.transmit(iq)
            got = [f for f in drain(radio, receiver, flush=2 * cfg.symbol_len) if f.seq == seq % SEQ_MODULO]
            ref = codec.normalize(text)
            if not got:
                bleu.append(0.0)
                sim.append(0.0 if scorer.similarity_enabled else None)
                continue
            frame = got[0]
            dec = lrx.decode(frame)
            ok += dec["status"] == "ok"
            bleu.append(scorer.bleu1(ref, dec["received"]) if dec["received"] else 0.0)
            got_bleu.append(bleu[-1])
            sim.append(scorer.similarity(ref, dec["received"]))
            nums = frame_numbers(frame)
            snr_est.append(nums["snr_db"])
            cfo.append(nums["cfo_hz"])
            evm.append(nums["evm_db"])

    def _mean(values):
        vals = [v for v in values if v is not None]
        return round(float(np.mean(vals)), 4) if vals else None

    return {
        "system": system, "channel": channel, "snr_db": float(snr_db), "trial": int(trial),
        "seed": int(seed), "frames": int(frames), "frames_ok": int(ok),
        "bleu1": _mean(bleu), "bleu1_frames": [round(b, 4) for b in bleu],
        "bleu1_received": _mean(got_bleu),  # over the frames the receiver found (isolates the codec)
        "frames_received": len(got_bleu),  # weight of the *_received / PHY means when chunks merge
        "similarity": _mean(sim), "similarity_frames": [None if s is None else round(s, 4) for s in sim],
        "snr_est_db": _mean(snr_est), "cfo_hz": _mean(cfo), "evm_db": _mean(evm),
        "seconds": round(time.perf_counter() - t0, 3),
    }
