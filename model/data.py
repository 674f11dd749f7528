"""Where the data sets live: ``$VLMCSC_DATA``, else ``../shared/data`` beside the repository or cwd."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def data_dir(required: bool = False) -> Path | None:
    """Return the data root (folder holding ``flickr8k_captions/`` etc.), or None if absent.

    Looked up in order: the ``VLMCSC_DATA`` environment variable, ``<repo>/../shared/data``,
    ``<cwd>/../shared/data``. With ``required=True`` a missing folder raises FileNotFoundError
    that says where the data are expected.
    """
    candidates = []
    if os.environ.get("VLMCSC_DATA"):
        candidates.append(Path(os.environ["VLMCSC_DATA"]).expanduser())
    candidates += [_REPO.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for path in candidates:
        if path.is_dir():
            return path
    if required:
        raise FileNotFoundError(
            "data sets not found; set VLMCSC_DATA to the folder holding flickr8k_captions/, "
            "coco2017_val_captions/, europarl_deepsc/ and imagenette2_224_val500/ "
            f"(looked in: {', '.join(str(p) for p in candidates)})"
        )
    return None


# ----------------------------------------------------------------------------------------------
# Caption / sentence corpora. Each loader returns a list of strings for one split; splits are
# deterministic (no randomness) so every run, test and benchmark sees the same sentences.

import json  # noqa: E402  (kept below the original data_dir code on purpose)


def _root(root: Path | str | None) -> Path:
    return Path(root) if root is not None else data_dir(required=True)


def flickr8k_captions(split: str = "train", root: Path | str | None = None) -> list[str]:
    """Flickr8k captions of the standard image split ``train`` (30,000), ``dev`` or ``test`` (5,000).

    Captions keep their original text (the tokenizer lower-cases and splits punctuation).
    """
    names = {"train": "Flickr_8k.trainImages.txt", "dev": "Flickr_8k.devImages.txt",
             "test": "Flickr_8k.testImages.txt"}
    if split not in names:
        raise ValueError(f"flickr8k split must be one of {sorted(names)}, got {split!r}")
    folder = _root(root) / "flickr8k_captions"
    images = set((folder / names[split]).read_text().split())
    out = []
    for line in (folder / "Flickr8k.token.txt").read_text().splitlines():
        if "\t" not in line:
            continue
        key, caption = line.split("\t", 1)
        # "2258277193_586949ec62.jpg.1#0" is a known quirk of the file; strip the ".1"
        image = key.split("#")[0].removesuffix(".1")
        if image in images and caption.strip():
            out.append(caption.strip())
    return out


def coco_captions(split: str = "train", root: Path | str | None = None) -> list[str]:
    """COCO val2017 captions split by image id: ``train`` (image_id % 5 != 0, ~80 %) / ``test``."""
    if split not in ("train", "test"):
        raise ValueError(f"coco split must be 'train' or 'test', got {split!r}")
    data = json.loads((_root(root) / "coco2017_val_captions" / "captions_val2017.json").read_text())
    want_test = split == "test"
    return [a["caption"].strip() for a in data["annotations"]
            if (a["image_id"] % 5 == 0) == want_test and a["caption"].strip()]


def europarl_sentences(split: str = "test", root: Path | str | None = None) -> list[str]:
    """Europarl sentences (DeepSC preprocessing).

    ``test``: DeepSC test split A (7,347), held out from every training run of this project.
    ``train``: split C minus every sentence of A (~6,800), used only as continual-learning task 3.
    """
    folder = _root(root) / "europarl_deepsc"
    a = [s.strip() for s in (folder / "deepsc_europarl_testsplit_A.txt").read_text().splitlines()
         if s.strip()]
    if split == "test":
        return a
    if split == "train":
        held = set(a)
        return [s.strip() for s in (folder / "deepsc_europarl_testsplit_C.txt").read_text().splitlines()
                if s.strip() and s.strip() not in held]
    raise ValueError(f"europarl split must be 'train' or 'test', got {split!r}")


TASKS = {"flickr8k": flickr8k_captions, "coco": coco_captions, "europarl": europarl_sentences}


def load_task(name: str, split: str, root: Path | str | None = None) -> list[str]:
    """Corpus ``name`` (flickr8k | coco | europarl) split ``split``."""
    if name not in TASKS:
        raise ValueError(f"unknown corpus {name!r}; choose from {sorted(TASKS)}")
    return TASKS[name](split, root)
