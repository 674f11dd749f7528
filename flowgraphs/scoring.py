"""Per-frame text scores: BLEU-1 and sentence similarity (via ``vlmcsc.model.metrics`` when present).

Both are in [0, 1]; references are normalised as the codec sees them (lower case, split
punctuation), so a perfect link scores 1.
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
