"""Caption tokenizer: byte-level BPE learned with the ``tokenizers`` library.

Codec v2 (issue 14): the 256 byte symbols are the base alphabet, so any text (any case, any
Unicode) is spelt without an ``[UNK]``, and ``decode(encode(t)) == t`` exactly: the BLEU reference
is the caption as the user wrote it. Merges are learned from the training captions only, so every
merged token occurs in the data the codec is trained on (``token_coverage`` checks it; the byte
tokens that captions never use are covered by the trainer's spelling augmentation, see
:mod:`.train`). Id 0 is ``[PAD]``; there is no ``[UNK]``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

PAD = "[PAD]"
UNK = "[UNK]"  # v1 WordPiece tokenizers only; the byte-level tokenizer has none
SPECIAL_TOKENS = [PAD]


def train_tokenizer(texts: list[str], vocab_size: int = 4000, min_frequency: int = 2) -> Tokenizer:
    """Learn a byte-level BPE tokenizer from ``texts``; id 0 is ``[PAD]``, then the 256 byte
    symbols, then the merges (ids renumbered canonically, so the same data give the same ids).

    The vocabulary always holds the 257 base entries, so ``vocab_size`` below that learns no
    merges. Raises ValueError on no texts or ``vocab_size`` < 64."""
    if not texts:
        raise ValueError("train_tokenizer needs at least one text")
    if vocab_size < 64:
        raise ValueError(f"vocab_size must be >= 64, got {vocab_size}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  min_frequency=min_frequency, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    # the trainer's ids follow hash-map order in places; renumber canonically: [PAD], bytes, merges
    # in the order they were learned (a merge's parts always precede it)
    data = json.loads(tok.to_str())
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in data["model"]["merges"]]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {PAD: 0}
    for a in alphabet:
        vocab.setdefault(a, len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    tok.model = models.BPE(vocab=vocab, merges=merges)
    return tok


def token_coverage(tok: Tokenizer, texts: list[str]) -> Counter:
    """How often each token id occurs when ``texts`` are tokenized (ids never produced are absent)."""
    counts: Counter = Counter()
    for enc in tok.encode_batch(list(texts)):
        counts.update(enc.ids)
    return counts


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a tokenizer saved with ``Tokenizer.save`` (JSON)."""
    return Tokenizer.from_file(str(path))
