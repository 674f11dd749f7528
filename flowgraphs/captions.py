"""Test texts: built-in captions and the numbered, seeded test sequence a field test sends.

TX and RX build the same :class:`TestSequence` from the same captions and seed, so the receiver
looks up what was sent from the sequence number in the frame header alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Short Flickr8k-style captions (written for this project), used when nothing else is given.
BUILTIN_CAPTIONS: tuple[str, ...] = (
    "a black dog runs through the grass",
    "two children play on the beach",
    "a man rides a bicycle down the street",
    "a woman in a red jacket stands in the snow",
    "a brown dog jumps into the water",
    "a group of people walk along the road",
    "a little girl smiles at the camera",
    "a boy jumps off a wooden dock into a lake",
    "a white dog carries a stick in its mouth",
    "a person climbs a large rock",
    "two dogs play together in the field",
    "a man in a blue shirt sits on a bench",
)


def load_captions(spec: str | None) -> list[str]:
    """``"builtin"``/``None``/``""`` -> the built-in captions; else a text file, one caption a line."""
    if not spec or spec == "builtin":
        return list(BUILTIN_CAPTIONS)
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"caption file {path} not found (use 'builtin' or one caption per line)")
    captions = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not captions:
        raise ValueError(f"caption file {path} holds no captions (one per line expected)")
    return captions


class TestSequence:
    """``text(seq)``: the caption sent as frame ``seq`` (a seeded permutation, repeated).

    :param captions: the caption pool (same list on TX and RX)
    :param seed: permutation seed (same on TX and RX)
    """

    __test__ = False  # not a pytest test class

    def __init__(self, captions: list[str], seed: int = 1) -> None:
        if not captions:
            raise ValueError("TestSequence needs at least one caption")
        self.captions = list(captions)
        self.seed = int(seed)
        self._order = np.random.default_rng(self.seed).permutation(len(self.captions))

    def text(self, seq: int) -> str:
        if seq < 0:
            raise ValueError(f"sequence numbers are >= 0, got {seq}")
        return self.captions[int(self._order[seq % len(self.captions)])]

    def __len__(self) -> int:
        return len(self.captions)


def unsendable(codec, text: str) -> str | None:
    """Why the codec cannot send ``text`` (empty, or more than ``codec.max_tokens`` tokens), or None.

    The one policy for captions the codec cannot carry, the same in ``tx``, ``rx`` and ``demo``: the
    caption is **skipped** (named, with its sequence number, on the terminal and as a ``"skipped"``
    record), never truncated and never the end of the run. Its sequence number is used up, so both
    ends keep the same seq -> caption mapping; the receiver, applying the same rule, logs the frame
    as skipped (not lost) and leaves it out of every score.
    """
    try:
        codec.tokenize([text])
    except ValueError as exc:
        return str(exc).replace("text 0 ", "caption ", 1)
    return None
