"""Image metrics (vlmcsc.model.image_metrics): SSQ with hand-checkable values, the ImageNet
classifier and CLIP score on tiny models, and the Imagenette loader."""

import csv
import math

import numpy as np
import pytest
import torch
from PIL import Image

from tiny_ckb import make_tiny_classifier, make_tiny_clip
from vlmcsc.model import image_metrics as im


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckb_metrics")
    return {
        "classifier": str(make_tiny_classifier(root)),
        "constant7": str(make_tiny_classifier(root, name="constant7", constant_class=7)),
        "clip": str(make_tiny_clip(root)),
    }


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(2)
    return [Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)) for i in range(6)]


# --- SSQ arithmetic --------------------------------------------------------------------------------

def test_ssq_by_hand():
    labels = [1, 2, 3, 4]
    assert im.accuracy(labels, [1, 2, 3, 0]) == 0.75
    assert im.ssq(labels, [1, 2, 3, 0], [1, 0, 0, 0]) == pytest.approx(0.25 / 0.75)
    assert im.ssq(labels, [1, 2, 0, 0], [1, 2, 3, 4]) == 2.0  # regenerated can beat the originals
    assert math.isnan(im.ssq(labels, [0, 0, 0, 0], [1, 2, 3, 4]))
    with pytest.raises(ValueError, match="equal-length"):
        im.accuracy([1, 2], [1])
    with pytest.raises(ValueError):
        im.accuracy([], [])


# --- classifier ------------------------------------------------------------------------------------

def test_constant_classifier_gives_hand_checkable_accuracy(dirs, images):
    classifier = im.ImageClassifier(dirs["constant7"], device="cpu")
    assert classifier.num_labels == 1000
    assert classifier.predict(images).tolist() == [7] * 6
    result = classifier.ssq(images[:4], images[2:6], labels=[7, 7, 1, 2])
    assert result == {"accuracy_original": 0.5, "accuracy_regenerated": 0.5, "ssq": 1.0}


def test_ssq_of_identical_images_is_one(dirs, images):
    classifier = im.ImageClassifier(dirs["classifier"], device="cpu", batch_size=4)
    preds = classifier.predict(images)
    assert preds.shape == (6,) and preds.dtype == np.int64
    assert ((preds >= 0) & (preds < 1000)).all()
    # label each image with the class the model sees: originals are then 100 % right
    result = classifier.ssq(images, list(images), labels=preds)
    assert result["accuracy_original"] == 1.0 and result["ssq"] == 1.0
    # regenerated = originals in reverse order: only images whose mirror shares the class count
    expected = float(np.mean(preds == preds[::-1]))
    assert classifier.ssq(images, images[::-1], labels=preds)["ssq"] == pytest.approx(expected)


def test_classifier_checks_labels(dirs, images):
    classifier = im.ImageClassifier(dirs["classifier"], device="cpu")
    with pytest.raises(ValueError, match="outside the classifier"):
        classifier.ssq(images[:1], images[:1], labels=[1000])
    with pytest.raises(ValueError, match="as many"):
        classifier.ssq(images[:2], images[:1], labels=[0, 1])


# --- CLIP score ------------------------------------------------------------------------------------

def test_clip_image_image_identical_is_100(dirs, images):
    scorer = im.ClipScorer(dirs["clip"], device="cpu", batch_size=4)
    same = scorer.image_image(images, images)
    assert same.shape == (6,) and same == pytest.approx(np.full(6, 100.0), abs=1e-3)
    other = scorer.image_image(images, images[::-1])
    assert ((other >= 0) & (other <= 100 + 1e-3)).all() and other.min() < 99.99


def test_clip_image_text_matches_the_definition(dirs, images):
    scorer = im.ClipScorer(dirs["clip"], device="cpu", batch_size=2)
    captions = ["a dog", "the cat on the grass", "a fish", "a truck", "two dogs", "the church"]
    scores = scorer.image_text(images, captions)
    # by hand: 100 * max(cos(image embedding, text embedding), 0), the cosine read off CLIP's own
    # forward pass (logits_per_image = exp(logit_scale) * cos), independent of the scorer's code
    model, processor = scorer.model, scorer.processor
    with torch.no_grad():
        inputs = processor(images=images, text=captions, padding=True, return_tensors="pt")
        out = model(**inputs)
    cos = out.logits_per_image.diagonal() / model.logit_scale.exp()
    expected = (100 * cos.clamp(min=0)).numpy()
    assert (cos > 0).any() and (cos < 0).any()  # both branches of max(cos, 0) are exercised
    assert scores == pytest.approx(expected, abs=1e-3)
    with pytest.raises(ValueError, match="captions"):
        scorer.image_text(images, captions[:2])


# --- Imagenette loader -----------------------------------------------------------------------------

def _fake_imagenette(root, n_per_class=3):
    root.mkdir()
    rows = []
    for wnid, idx, name in [("n01440764", 0, "tench"), ("n02102040", 217, "English springer")]:
        (root / wnid).mkdir()
        for k in range(n_per_class):
            file = f"{wnid}/img{k}.JPEG"
            Image.new("RGB", (224, 224), (idx, k, 0)).save(root / file, format="JPEG")
            rows.append({"file": file, "wnid": wnid, "imagenette_idx": 0, "class_name": name,
                         "imagenet1k_idx": idx, "source_path": file, "sha256": ""})
    with open(root / "labels.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_loader_reads_labels_and_spreads_the_limit(tmp_path):
    root = _fake_imagenette(tmp_path / "imagenette2_224_val500")
    data = im.load_imagenette(root=root)
    assert len(data) == 6 and data.labels.tolist() == [0, 0, 0, 217, 217, 217]
    assert data.images[0].size == (224, 224) and data.class_names[3] == "English springer"
    two = im.load_imagenette(limit=2, root=root)
    assert two.labels.tolist() == [0, 217]  # first and last: every class is represented
    with pytest.raises(FileNotFoundError, match="labels.csv"):
        im.load_imagenette(root=tmp_path / "nowhere")


def test_shared_imagenette_set():
    if im.imagenette_dir() is None:
        pytest.skip("shared data not found (set VLMCSC_DATA to the folder holding imagenette2_224_val500/)")
    data = im.load_imagenette(limit=20)
    assert len(data) == 20
    assert all(image.size == (224, 224) for image in data.images)
    # Imagenette's 10 classes, ImageNet-1k indices; 20 evenly spread picks hit each class twice
    assert sorted(set(data.labels.tolist())) == [0, 217, 482, 491, 497, 566, 569, 571, 574, 701]
    assert data.labels[data.class_names.index("tench")] == 0


def test_clip_truncates_long_captions(dirs, images):
    scorer = im.ClipScorer(dirs["clip"], device="cpu")
    long = "a dog " * 200  # far beyond CLIP's 32-position tiny context (77 for real CLIP)
    score = scorer.image_text(images[:1], [long])
    assert score.shape == (1,) and 0 <= score[0] <= 100
