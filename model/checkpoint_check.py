"""Checks a codec checkpoint folder before it is loaded, so a corrupt or mismatched one fails with
one line naming the file and the culprit instead of a traceback or, worse, a codec that loads
silently and decodes ``''`` (integer or NaN weights).

What is checked, generically (no knowledge of the network beyond its config and state dict):
``config.json`` is a JSON object whose ``"model"`` builds the config class; ``tokenizer.json``
loads and fits the config's vocabulary; ``model.safetensors`` has a readable header, only
floating-point tensors, no NaN/inf, exactly the tensor names of the network built from the
config, each with the expected shape. Never unpickles anything.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

CONFIG_NAME, WEIGHTS_NAME, TOKENIZER_NAME = "config.json", "model.safetensors", "tokenizer.json"
_FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
_MAX_LISTED = 3


class CheckpointError(ValueError):
    """A codec checkpoint is corrupt or does not match its config; the message names file and key."""


def _names(items) -> str:
    items = sorted(items)
    more = f" (+{len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more


def load_config(path: Path, config_cls):
    """``config.json`` -> (meta dict, config object); :class:`CheckpointError` on any defect."""
    f = path / CONFIG_NAME
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{f}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("model"), dict):
        raise CheckpointError(f"{f}: expected an object with a \"model\" object of codec sizes")
    model = meta["model"]
    for key, value in model.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise CheckpointError(f"{f}: model.{key} is {value!r}")
    try:
        cfg = config_cls(**model)
    except TypeError as exc:
        raise CheckpointError(f"{f}: model has an unknown or missing key ({exc})") from exc
    except ValueError as exc:
        raise CheckpointError(f"{f}: {exc}") from exc
    return meta, cfg


def check_tokenizer(path: Path, vocab_size: int | None = None) -> None:
    """``tokenizer.json`` loads with the tokenizers library and fits ``vocab_size``."""
    f = path / TOKENIZER_NAME
    try:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(f))
    except Exception as exc:  # noqa: BLE001 - the Rust library raises its own exception types
        first = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{f}: not a valid tokenizer file ({first})") from exc
    n = tok.get_vocab_size()
    if vocab_size is not None and n > int(vocab_size):
        raise CheckpointError(f"{f}: {n} tokens, more than the config's vocab_size={vocab_size}: "
                              "the tokenizer belongs to another checkpoint")


def check_weights(path: Path, expected: dict[str, tuple] | None = None) -> None:
    """``model.safetensors``: readable, floating-point, finite, names and shapes as ``expected``.

    :param expected: tensor name -> shape of the network built from the config (``None``: skip).
    """
    f = path / WEIGHTS_NAME
    try:
        import numpy as np
        from safetensors import safe_open

        with safe_open(str(f), framework="numpy") as sf:
            found: dict[str, tuple] = {}
            for key in sf.keys():
                sl = sf.get_slice(key)
                dtype = sl.get_dtype()
                if dtype not in _FLOAT_DTYPES:
                    raise CheckpointError(f"{f}: tensor {key!r} has dtype {dtype}; weights must be "
                                          "floating point (an integer checkpoint decodes nothing)")
                found[key] = tuple(sl.get_shape())
                if dtype != "BF16" and not np.isfinite(sf.get_tensor(key)).all():  # numpy has no bf16
                    raise CheckpointError(f"{f}: tensor {key!r} contains NaN or inf")
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors raises SafetensorError / OSError
        first = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{f}: unreadable or truncated safetensors file ({first})") from exc
    if expected is None:
        return
    missing = set(expected) - set(found)
    extra = set(found) - set(expected)
    if missing:
        raise CheckpointError(f"{f}: missing tensors {_names(missing)} for the config in {CONFIG_NAME}")
    if extra:
        raise CheckpointError(f"{f}: unexpected tensors {_names(extra)} (not in the network of {CONFIG_NAME})")
    for key, shape in expected.items():
        if tuple(found[key]) != tuple(shape):
            raise CheckpointError(f"{f}: tensor {key!r} has shape {list(found[key])}, the config in "
                                  f"{CONFIG_NAME} needs {list(shape)}")


def check_checkpoint(path: str | Path, config_cls=None, net_cls=None) -> None:
    """Validate a codec checkpoint folder; raise :class:`CheckpointError` with one clear line.

    :param config_cls: the codec's config dataclass (built from ``config.json["model"]``)
    :param net_cls: the network class; ``net_cls(config)`` gives the expected tensor names and
        shapes (its ``state_dict``). Without the classes only files, dtypes and values are checked.
    """
    path = Path(path)
    cfg = None
    if config_cls is not None:
        _meta, cfg = load_config(path, config_cls)
    check_tokenizer(path, getattr(cfg, "vocab_size", None))
    expected = None
    if net_cls is not None and cfg is not None:
        try:
            state = net_cls(cfg).state_dict()
        except Exception as exc:  # noqa: BLE001 - a config the network cannot be built from
            raise CheckpointError(f"{path / CONFIG_NAME}: the codec cannot be built from it ({exc})") from exc
        expected = {k: tuple(v.shape) for k, v in state.items()}
    check_weights(path, expected)
