"""Stable Diffusion generation (vlmcsc.model.ckb.ImageGenerator) on a tiny random pipeline saved and
loaded offline: sizes, seeding, batching, options and input checks."""

import numpy as np
import pytest

from tiny_ckb import SD_IMAGE_SIZE, make_tiny_sd
from vlmcsc.model.ckb import ImageGenerator

PROMPTS = ["a dog runs on the grass", "a red car in the street", "two cats"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory):
    return str(make_tiny_sd(tmp_path_factory.mktemp("ckb_generator")))


def _px(image):
    return np.asarray(image).astype(np.int16)


def test_images_have_the_requested_size(sd_dir):
    generator = ImageGenerator(sd_dir, device="cpu")
    assert generator.default_size == SD_IMAGE_SIZE
    images = generator.generate(PROMPTS[:2], steps=2)
    assert [im.size for im in images] == [(SD_IMAGE_SIZE, SD_IMAGE_SIZE)] * 2
    assert all(im.mode == "RGB" for im in images)
    assert all(_px(im).std() > 1 for im in images)  # a picture, not a blank (NaN) frame
    wide = generator.generate(PROMPTS[:1], steps=2, height=16, width=32)
    assert wide[0].size == (32, 16)  # PIL size is (width, height)


def test_seed_decides_the_image(sd_dir):
    generator = ImageGenerator(sd_dir, device="cpu")
    a = generator.generate(PROMPTS[:1], seed=5, steps=2)[0]
    b = generator.generate(PROMPTS[:1], seed=5, steps=2)[0]
    c = generator.generate(PROMPTS[:1], seed=6, steps=2)[0]
    assert np.array_equal(_px(a), _px(b))
    assert np.abs(_px(a) - _px(c)).max() > 5


def test_image_does_not_depend_on_batching(sd_dir):
    batched = ImageGenerator(sd_dir, device="cpu", batch_size=3).generate(PROMPTS, seed=10, steps=2)
    single = ImageGenerator(sd_dir, device="cpu", batch_size=1).generate(PROMPTS, seed=10, steps=2)
    # image i uses seed + i, so the third prompt alone with seed 12 is the same picture
    alone = ImageGenerator(sd_dir, device="cpu").generate(PROMPTS[2:], seed=12, steps=2)
    for x, y in zip(batched, single):
        assert np.abs(_px(x) - _px(y)).max() <= 2  # batched convolutions may round differently
    assert np.abs(_px(batched[2]) - _px(alone[0])).max() <= 2


def test_attention_slicing_and_guidance_options(sd_dir):
    plain = ImageGenerator(sd_dir, device="cpu").generate(PROMPTS[:1], steps=2)[0]
    sliced = ImageGenerator(sd_dir, device="cpu", attention_slicing=True).generate(PROMPTS[:1], steps=2)[0]
    assert np.abs(_px(plain) - _px(sliced)).max() <= 2  # same maths, computed in slices
    unguided = ImageGenerator(sd_dir, device="cpu").generate(
        PROMPTS[:1], steps=2, guidance=1.0, negative_prompt=None)[0]
    assert unguided.size == plain.size
    negative = ImageGenerator(sd_dir, device="cpu").generate(PROMPTS[:1], steps=2, negative_prompt="blurry")
    assert len(negative) == 1


def test_single_string_and_empty_list(sd_dir):
    generator = ImageGenerator(sd_dir, device="cpu")
    assert len(generator.generate("a dog", steps=1)) == 1
    assert generator.generate([], steps=1) == []


def test_bad_arguments_are_rejected(sd_dir):
    generator = ImageGenerator(sd_dir, device="cpu")
    with pytest.raises(ValueError, match="height"):
        generator.generate(PROMPTS[:1], steps=1, height=20)
    with pytest.raises(ValueError, match="steps"):
        generator.generate(PROMPTS[:1], steps=0)
    with pytest.raises(ValueError, match="seed"):
        generator.generate(PROMPTS[:1], steps=1, seed=-1)
    with pytest.raises(TypeError):
        generator.generate([1, 2], steps=1)
    with pytest.raises(ValueError, match="cpu_offload"):
        ImageGenerator(sd_dir, device="cpu", cpu_offload=True)
