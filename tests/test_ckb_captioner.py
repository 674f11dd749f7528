"""BLIP captioning (vlmcsc.model.ckb.Captioner) on a tiny random BLIP saved and loaded offline."""

import numpy as np
import pytest
from PIL import Image

from tiny_ckb import make_tiny_blip
from vlmcsc.model.ckb import Captioner


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory):
    return str(make_tiny_blip(tmp_path_factory.mktemp("ckb_captioner")))


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    # different sizes on purpose: the processor resizes each image
    return [Image.fromarray(rng.integers(0, 256, (40 + 8 * i, 56, 3), dtype=np.uint8)) for i in range(5)]


def test_one_caption_per_image(blip_dir, images):
    captions = Captioner(blip_dir, device="cpu").caption(images, max_new_tokens=8)
    assert len(captions) == len(images)
    assert all(isinstance(c, str) and c for c in captions)
    # the random model still looks at the image: not every image gets the same caption
    assert len(set(captions)) > 1


def test_deterministic_and_batch_independent(blip_dir, images):
    one = Captioner(blip_dir, device="cpu", batch_size=1).caption(images, max_new_tokens=8)
    three = Captioner(blip_dir, device="cpu", batch_size=3).caption(images, max_new_tokens=8)
    again = Captioner(blip_dir, device="cpu", batch_size=3).caption(images, max_new_tokens=8)
    assert one == three == again


def test_prompt_starts_the_caption(blip_dir, images):
    captions = Captioner(blip_dir, device="cpu").caption(images[:2], prompt="a photo of", max_new_tokens=4)
    assert all(c.startswith("a photo of") for c in captions)


def test_beam_search_and_length_limit(blip_dir, images):
    captioner = Captioner(blip_dir, device="cpu")
    beams = captioner.caption(images[:3], num_beams=3, max_new_tokens=6)
    assert len(beams) == 3 and all(beams)
    short = captioner.caption(images[:3], max_new_tokens=1)
    assert all(len(c.split()) <= 1 for c in short)


def test_accepts_paths_and_arrays(blip_dir, images, tmp_path):
    path = tmp_path / "img.png"
    images[0].save(path)
    captioner = Captioner(blip_dir, device="cpu")
    expected = captioner.caption(images[:1], max_new_tokens=8)
    assert captioner.caption([path], max_new_tokens=8) == expected
    assert captioner.caption([np.asarray(images[0])], max_new_tokens=8) == expected
    assert captioner.caption([images[0].convert("L")], max_new_tokens=8)  # grey -> RGB
    assert captioner.caption([]) == []


def test_bad_input_is_rejected(blip_dir, images, tmp_path):
    captioner = Captioner(blip_dir, device="cpu")
    with pytest.raises(TypeError, match="list of images"):
        captioner.caption(images[0])
    with pytest.raises(TypeError):
        captioner.caption([42])
    with pytest.raises(FileNotFoundError):
        captioner.caption([tmp_path / "missing.png"])
    with pytest.raises(ValueError, match="num_beams"):
        captioner.caption(images[:1], num_beams=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        captioner.caption(images[:1], max_new_tokens=0)
    with pytest.raises(ValueError, match="batch_size"):
        Captioner(blip_dir, device="cpu", batch_size=0)
