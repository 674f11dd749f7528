"""Image-level metrics for the cross-modal link: SSQ with an ImageNet classifier, and CLIP score.

SSQ (semantic service quality, as in VLM-CSC) = top-1 accuracy of an ImageNet-1k classifier on the
regenerated images / its accuracy on the original images (1.0 = the regenerated images keep all the
class information the classifier could see in the originals). CLIP score follows torchmetrics'
convention: ``100 * max(cos(E_a, E_b), 0)`` between CLIP embeddings of an image and a caption (or of
two images); identical inputs score 100.

The labelled evaluation set is ``imagenette2_224_val500`` in the data folder (labels.csv holds
ImageNet-1k class indices), read with :func:`load_imagenette`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .ckb import (
    _check_batch_size,
    _register,
    get_cached,
    load_image,
    load_transformers_pair,
    resolve_device,
    resolve_dtype,
)

# ImageNet-1k classifiers whose label order is the standard one (0 = tench ... 999 = toilet tissue)
DEFAULT_CLASSIFIER = "google/vit-base-patch16-224"
DEFAULT_CLIP = "openai/clip-vit-base-patch32"
IMAGENETTE_FOLDER = "imagenette2_224_val500"


# ---------------------------------------------------------------------------------------------
# data


@dataclass
class LabelledImages:
    """Images with ImageNet-1k labels.

    :ivar images: list of RGB PIL images (224x224 for Imagenette).
    :ivar labels: int64 [n], ImageNet-1k class index of each image.
    :ivar files: relative file name of each image.
    :ivar class_names: human-readable class name of each image.
    """

    images: list
    labels: np.ndarray
    files: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def imagenette_dir(root: str | Path | None = None) -> Path | None:
    """The Imagenette folder (``<data root>/imagenette2_224_val500``), or None if absent."""
    if root is None:
        from .data import data_dir

        base = data_dir()
        if base is None:
            return None
        root = base / IMAGENETTE_FOLDER
    root = Path(root)
    return root if (root / "labels.csv").is_file() else None


def load_imagenette(limit: int | None = None, root: str | Path | None = None) -> LabelledImages:
    """Load the labelled Imagenette evaluation images (500 images, 10 ImageNet classes).

    :param limit: take this many images, spread evenly over the (class-sorted) list so every class
        is represented; None = all.
    :param root: the ``imagenette2_224_val500`` folder (default: found through ``data_dir()``).
    :raises FileNotFoundError: the folder or an image is missing (message says where to put it).
    """
    folder = imagenette_dir(root)
    if folder is None:
        raise FileNotFoundError(
            f"{IMAGENETTE_FOLDER}/labels.csv not found (looked in {root or 'the data folder'}); set "
            "VLMCSC_DATA to the folder holding imagenette2_224_val500/ or pass root="
        )
    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise FileNotFoundError(f"{folder / 'labels.csv'} lists no images")
    if limit is not None:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
        if limit < len(rows):
            picks = np.linspace(0, len(rows) - 1, limit).round().astype(int)
            rows = [rows[i] for i in picks]
    images = [load_image(folder / row["file"]) for row in rows]
    return LabelledImages(
        images=images,
        labels=np.array([int(row["imagenet1k_idx"]) for row in rows], dtype=np.int64),
        files=[row["file"] for row in rows],
        class_names=[row["class_name"] for row in rows],
    )


# ---------------------------------------------------------------------------------------------
# SSQ


def accuracy(labels: Sequence[int], predictions: Sequence[int]) -> float:
    """Top-1 accuracy: fraction of ``predictions`` equal to ``labels`` (both int [n], n > 0)."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels and predictions must be equal-length non-empty 1-D arrays, "
                         f"got shapes {labels.shape} and {predictions.shape}")
    return float(np.mean(labels == predictions))


def ssq(labels: Sequence[int], pred_original: Sequence[int], pred_regenerated: Sequence[int]) -> float:
    """SSQ = accuracy on regenerated images / accuracy on originals.

    Returns NaN when the classifier gets no original right (the ratio is undefined).
    """
    acc_original = accuracy(labels, pred_original)
    acc_regenerated = accuracy(labels, pred_regenerated)
    return acc_regenerated / acc_original if acc_original > 0 else math.nan


@_register("classifier")
def _build_classifier(model, device, dtype, local_files_only, options):
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    return load_transformers_pair(model, AutoImageProcessor, AutoModelForImageClassification,
                                  "image classifier", device, dtype, local_files_only)


class ImageClassifier:
    """Top-1 ImageNet-1k classification through ``AutoModelForImageClassification`` (no torchvision).

    :param model: hub id (default ``google/vit-base-patch16-224``) or folder of a classifier whose
        label order is ImageNet-1k's (e.g. ViT, ConvNeXt, DeiT, Swin ImageNet-1k checkpoints).
    :param device, dtype, local_files_only: as for :class:`vlmcsc.model.ckb.Captioner`.
    :param batch_size: images per forward pass.
    """

    def __init__(self, model: str = DEFAULT_CLASSIFIER, device: str = "auto", dtype: str = "auto",
                 local_files_only: bool = False, batch_size: int = 32):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.batch_size = _check_batch_size(batch_size)
        self.model, self.processor = get_cached("classifier", model, self.device, self.dtype,
                                                local_files_only)

    @property
    def num_labels(self) -> int:
        return int(self.model.config.num_labels)

    @torch.inference_mode()
    def predict(self, images: Sequence) -> np.ndarray:
        """Top-1 class index (int64 [n]) of each image (PIL images, paths or uint8 arrays)."""
        images = [load_image(im) for im in images]
        preds = []
        for start in range(0, len(images), self.batch_size):
            inputs = self.processor(images=images[start:start + self.batch_size], return_tensors="pt")
            pixels = inputs["pixel_values"].to(self.device, self.dtype)
            preds.append(self.model(pixel_values=pixels).logits.argmax(-1).cpu())
        return torch.cat(preds).numpy().astype(np.int64) if preds else np.zeros(0, np.int64)

    def ssq(self, originals: Sequence, regenerated: Sequence, labels: Sequence[int]) -> dict:
        """SSQ of ``regenerated`` against ``originals`` (same order, labels int [n]).

        :returns: ``{"accuracy_original", "accuracy_regenerated", "ssq"}`` (floats; ssq NaN when no
            original is classified correctly).
        """
        labels = np.asarray(labels)
        if not (len(originals) == len(regenerated) == len(labels)):
            raise ValueError(f"need as many regenerated images ({len(regenerated)}) and labels "
                             f"({len(labels)}) as originals ({len(originals)})")
        if labels.size and labels.max() >= self.num_labels:
            raise ValueError(f"label {labels.max()} is outside the classifier's {self.num_labels} classes; "
                             "use an ImageNet-1k classifier")
        pred_o, pred_r = self.predict(originals), self.predict(regenerated)
        return {"accuracy_original": accuracy(labels, pred_o),
                "accuracy_regenerated": accuracy(labels, pred_r),
                "ssq": ssq(labels, pred_o, pred_r)}


# ---------------------------------------------------------------------------------------------
# CLIP score


@_register("clip")
def _build_clip(model, device, dtype, local_files_only, options):
    from transformers import CLIPModel, CLIPProcessor

    return load_transformers_pair(model, CLIPProcessor, CLIPModel, "CLIP model", device, dtype,
                                  local_files_only)


def _features(output) -> torch.Tensor:
    """``get_*_features`` returns a tensor in older transformers and a model output in newer ones."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class ClipScorer:
    """CLIP score between images and captions, or between two images.

    :param model: hub id (default ``openai/clip-vit-base-patch32``) or folder of a CLIP model.
    :param device, dtype, local_files_only: as for :class:`vlmcsc.model.ckb.Captioner`.
    :param batch_size: pairs per forward pass.

    Scores are ``100 * max(cos, 0)`` per pair (float64 [n]); captions longer than CLIP's context
    (77 tokens) are truncated.
    """

    def __init__(self, model: str = DEFAULT_CLIP, device: str = "auto", dtype: str = "auto",
                 local_files_only: bool = False, batch_size: int = 32):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.batch_size = _check_batch_size(batch_size)
        self.model, self.processor = get_cached("clip", model, self.device, self.dtype, local_files_only)

    @torch.inference_mode()
    def image_embeddings(self, images: Sequence) -> torch.Tensor:
        """Unit-norm CLIP image embeddings, float32 [n, projection_dim] on the CPU."""
        images = [load_image(im) for im in images]
        out = []
        for start in range(0, len(images), self.batch_size):
            inputs = self.processor(images=images[start:start + self.batch_size], return_tensors="pt")
            pixels = inputs["pixel_values"].to(self.device, self.dtype)
            out.append(_features(self.model.get_image_features(pixel_values=pixels)).float().cpu())
        emb = torch.cat(out) if out else torch.zeros(0, self.model.config.projection_dim)
        return torch.nn.functional.normalize(emb, dim=-1)

    @torch.inference_mode()
    def text_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-norm CLIP text embeddings, float32 [n, projection_dim] on the CPU."""
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("texts must be strings")
        out = []
        tokenizer = self.processor.tokenizer
        # some tokenizer configs leave model_max_length unset (a huge number): the model's limit rules
        max_length = min(tokenizer.model_max_length, self.model.config.text_config.max_position_embeddings)
        for start in range(0, len(texts), self.batch_size):
            tokens = tokenizer(list(texts[start:start + self.batch_size]), padding=True, truncation=True,
                               max_length=max_length, return_tensors="pt").to(self.device)
            out.append(_features(self.model.get_text_features(
                input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])).float().cpu())
        emb = torch.cat(out) if out else torch.zeros(0, self.model.config.projection_dim)
        return torch.nn.functional.normalize(emb, dim=-1)

    @staticmethod
    def _score(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
        return (100.0 * (a * b).sum(-1).clamp(min=0)).double().numpy()

    def image_text(self, images: Sequence, texts: Sequence[str]) -> np.ndarray:
        """CLIP score of each (image, caption) pair, float64 [n] in [0, 100]."""
        if len(images) != len(texts):
            raise ValueError(f"got {len(images)} images but {len(texts)} captions")
        return self._score(self.image_embeddings(images), self.text_embeddings(texts))

    def image_image(self, images_a: Sequence, images_b: Sequence) -> np.ndarray:
        """CLIP similarity of each (image, image) pair, float64 [n] in [0, 100] (100 = same embedding)."""
        if len(images_a) != len(images_b):
            raise ValueError(f"got {len(images_a)} and {len(images_b)} images")
        return self._score(self.image_embeddings(images_a), self.image_embeddings(images_b))
