"""Codec v2 (issue 14): byte-level tokenizer without [UNK], keyword accuracy, shipped v2 checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rare_captions import rare_captions
from vlmcsc.flowgraphs.captions import BUILTIN_CAPTIONS
from vlmcsc.model.codec import WEIGHTS_DIR, SemanticCodec
from vlmcsc.model.metrics import keyword_accuracy, keywords
from vlmcsc.model.tokenizer import token_coverage, train_tokenizer


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(list(BUILTIN_CAPTIONS) * 3, vocab_size=600)


def test_rare_words_and_non_ascii_round_trip_exactly(tok):
    # the v1 WordPiece lost these: unseen characters became [UNK], "giraffe" became other pieces
    caps = rare_captions(200)
    assert len(set(caps)) > 150 and any(not c.isascii() for c in caps)
    for c in caps:
        ids = tok.encode(c).ids
        assert tok.decode(ids) == c
    assert tok.token_to_id("[UNK]") is None


def test_tokenizer_ids_are_canonical(tok):
    again = train_tokenizer(list(BUILTIN_CAPTIONS) * 3, vocab_size=600)
    assert again.get_vocab() == tok.get_vocab()
    assert tok.token_to_id("[PAD]") == 0


def test_spelling_augmentation_widens_token_coverage(tok):
    from vlmcsc.model.train import augment_texts

    texts = list(BUILTIN_CAPTIONS) * 20
    aug = augment_texts(texts, tok, 3.0, seed=0)
    assert aug == augment_texts(texts, tok, 3.0, seed=0)  # deterministic (resume-exact)
    assert any(not t.isascii() for t in aug)
    plain, wide = token_coverage(tok, texts), token_coverage(tok, texts + aug)
    assert len(wide) > len(plain) + 50


def test_keywords_and_keyword_accuracy():
    assert keywords("A black dog is running near a golf ball .") == ["golf ball", "black", "dog", "running"]
    assert keyword_accuracy(["a black dog runs"], ["a black cat runs"]) == pytest.approx(2 / 3)
    assert keyword_accuracy(["the dog and the dog"], ["a dog"]) == pytest.approx(0.5)
    assert keyword_accuracy(["a a a"], ["b"]) == 1.0  # no keyword to lose
    with pytest.raises(ValueError):
        keyword_accuracy(["a"], [])


V2 = (WEIGHTS_DIR / "config.json").is_file() and json.loads((WEIGHTS_DIR / "config.json").read_text()).get("format_version", 1) >= 2


@pytest.mark.skipif(not V2, reason="no v2 codec checkpoint shipped")
def test_shipped_checkpoint_has_policy_range_and_no_unk():
    codec = SemanticCodec.from_pretrained()
    pol = codec.rate_policy
    assert pol is not None and len(pol["snr_db"]) == len(pol["symbols_per_token"])
    ks = pol["symbols_per_token"]
    assert all(b <= a for a, b in zip(ks, ks[1:]))  # never more symbols at a higher SNR
    lo, hi = codec.snr_range
    assert lo < 0 < hi and codec.unk_id is None
    assert codec.rate_for(-10.0) >= codec.rate_for(20.0)
    for c in rare_captions(20):
        assert codec.normalize(c) == c
