"""The one place where frames are scored and runs are summarised (demo, rx, report, benchmarks).

Per frame: BLEU-1 and sentence similarity (via ``vlmcsc.model.metrics`` when present), both in
[0, 1]; references are normalised as the codec sees them (lower case, split punctuation), so a
perfect link scores 1. Per run, :func:`summarize` names each figure for what it counts:

* ``bleu1_sent`` / ``similarity_sent``: mean over every frame *sent*, a lost frame counting as an
  empty caption (score 0) - what a user of the link gets;
* ``bleu1_received`` / ``similarity_received``: mean over the frames the receiver found - what the
  codec does on the frames that arrived;
* ``frame_loss``: frames sent but never found / frames sent.
"""

from __future__ import annotations

import math
import re
from collections import Counter


def _words(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text.lower())


def bleu1_fallback(reference: str, hypothesis: str) -> float:
    """Sentence BLEU-1: clipped unigram precision x brevity penalty (used when model.metrics is absent)."""
    ref, hyp = _words(reference), _words(hypothesis)
    if not hyp or not ref:
        return 0.0
    overlap = sum((Counter(hyp) & Counter(ref)).values())
    precision = overlap / len(hyp)
    brevity = 1.0 if len(hyp) >= len(ref) else math.exp(1.0 - len(ref) / len(hyp))
    return float(precision * brevity)


class Scorer:
    """Scores one (sent, received) pair; similarity is optional (loads a small sentence model).

    :param similarity: compute sentence similarity (MiniLM; a few seconds to load, once)
    """

    def __init__(self, similarity: bool = True) -> None:
        self._bleu = None
        try:
            from vlmcsc.model.metrics import bleu

            self._bleu = bleu
        except ImportError:
            pass
        self._sim = None
        self.similarity_enabled = bool(similarity)

    def preload(self) -> "Scorer":
        """Load the sentence model now (seconds), not at the first frame; returns self."""
        if self.similarity_enabled:
            self.similarity("a", "a")
        return self

    def bleu1(self, reference: str, hypothesis: str) -> float:
        if self._bleu is not None:
            return float(self._bleu([reference], [hypothesis], n=1))
        return bleu1_fallback(reference, hypothesis)

    def similarity(self, reference: str, hypothesis: str) -> float | None:
        """Cosine similarity of sentence embeddings, or None when disabled/unavailable."""
        if not self.similarity_enabled:
            return None
        if self._sim is None:
            try:
                from transformers.utils import logging as hf_logging

                from vlmcsc.model.metrics import SentenceSimilarity

                hf_logging.disable_progress_bar()  # no "Loading weights" bar between frame lines
                self._sim = SentenceSimilarity()
            except Exception:  # noqa: BLE001 - model missing: report without similarity
                self.similarity_enabled = False
                return None
        return float(self._sim([reference], [hypothesis])[0]) if hypothesis else 0.0


#: the figures :func:`summarize` returns, in the order :func:`format_summary` prints them
SUMMARY_KEYS = ("frames_sent", "frames_received", "frames_ok", "frame_loss", "bleu1_sent", "bleu1_received",
                "similarity_sent", "similarity_received", "snr_est_mean_db")


def _mean(values) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def summarize(records) -> dict:
    """One run's figures from its per-frame records (``type`` "frame" or "missed"; others ignored).

    A "missed" record is a frame that was sent and never found: it counts in ``frames_sent`` and as
    0 in the ``*_sent`` means. Similarity means are None when no frame carried a similarity.
    Duplicate sequence numbers count once (the first record wins).
    """
    seen, frames, missed = set(), [], 0
    for r in records:
        if r.get("type") not in ("frame", "missed") or r.get("seq") in seen:
            continue
        seen.add(r.get("seq"))
        if r["type"] == "frame":
            frames.append(r)
        else:
            missed += 1
    sent = len(frames) + missed
    sims = [r.get("similarity") for r in frames]
    has_sim = any(s is not None for s in sims)
    return {
        "frames_sent": sent,
        "frames_received": len(frames),
        "frames_ok": sum(1 for r in frames if r.get("status") == "ok"),
        "frame_loss": round(missed / sent, 4) if sent else None,
        "bleu1_sent": _mean([r.get("bleu1") or 0.0 for r in frames] + [0.0] * missed),
        "bleu1_received": _mean([r.get("bleu1") for r in frames]),
        "similarity_sent": _mean([s or 0.0 for s in sims] + [0.0] * missed) if has_sim else None,
        "similarity_received": _mean(sims) if has_sim else None,
        "snr_est_mean_db": _mean([r.get("snr_db") for r in frames]),
    }


_LABELS = {
    "frames_sent": "frames sent", "frames_received": "frames received", "frames_ok": "frames decoded",
    "frame_loss": "frame loss", "bleu1_sent": "BLEU-1 over sent frames (lost = empty)",
    "bleu1_received": "BLEU-1 over received frames", "similarity_sent": "similarity over sent frames (lost = 0)",
    "similarity_received": "similarity over received frames", "snr_est_mean_db": "mean SNR estimate, dB",
}


def format_summary(summary: dict, indent: str = "  ") -> str:
    """The summary as aligned ``label  value`` lines, the same in demo, rx, report and benchmarks."""
    lines = []
    for key in SUMMARY_KEYS:
        if key not in summary:
            continue
        value = summary[key]
        text = "-" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))
        lines.append(f"{indent}{_LABELS[key]:<40} {text}")
    return "\n".join(lines)
