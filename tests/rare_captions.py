"""The 200 captions with rare words and non-ASCII characters of the issue-14 round-trip test
(see docs/codec.md): each built-in caption with one word replaced by an entry of RARE."""

from vlmcsc.flowgraphs.captions import BUILTIN_CAPTIONS

RARE = ["giraffe", "zebra", "ukulele", "kayak", "tench", "parachute", "Zürich", "café", "naïve",
        "São Paulo", "Ølberg", "東京", "🦒", "crème brûlée", "jalapeño", "Ωmega", "façade",
        "smörgåsbord", "Dvořák", "piñata", "French horn", "chain saw", "garbage truck", "Łódź", "ñandú"]


def rare_captions(n: int = 200) -> list[str]:
    caps = list(BUILTIN_CAPTIONS)
    out = []
    for i in range(n):
        words = caps[i % len(caps)].split(" ")
        words[(7 * i) % len(words)] = RARE[i % len(RARE)]
        out.append(" ".join(words))
    return out
