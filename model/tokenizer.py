"""Caption tokenizer: a WordPiece vocabulary learned with the ``tokenizers`` library.

Text is lower-cased, accents stripped and punctuation split off, so ``decode(encode(t))`` is the
normalised form of ``t`` that BLEU is measured against. Words outside the vocabulary fall back to
word pieces; only characters never seen in training become ``[UNK]``.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD, UNK = "[PAD]", "[UNK]"
SPECIAL_TOKENS = [PAD, UNK]


def train_tokenizer(texts: list[str], vocab_size: int = 4000) -> Tokenizer:
    """Learn a WordPiece tokenizer from ``texts``; ids 0 and 1 are ``[PAD]`` and ``[UNK]``."""
    if not texts:
        raise ValueError("train_tokenizer needs at least one text")
    if vocab_size < 64:
        raise ValueError(f"vocab_size must be >= 64, got {vocab_size}")
    tok = Tokenizer(models.WordPiece(unk_token=UNK, max_input_chars_per_word=50))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                        min_frequency=2, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # the trainer numbers tokens in hash-map order (differs between runs); renumber canonically
    # (special tokens, then sorted) so the same learned vocabulary always gets the same ids
    learned = sorted(t for t in tok.get_vocab() if t not in SPECIAL_TOKENS)
    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS + learned)}
    tok.model = models.WordPiece(vocab=vocab, unk_token=UNK, max_input_chars_per_word=50)
    return tok


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a tokenizer saved with ``Tokenizer.save`` (JSON)."""
    return Tokenizer.from_file(str(path))
