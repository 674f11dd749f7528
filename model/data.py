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
