"""Tiny random BLIP, Stable Diffusion, ImageNet classifier and CLIP models for offline tests.

Each builder creates a model from a small config (seeded, no network), saves it with
``save_pretrained`` (safetensors) together with its processor / tokenizer into a folder, and returns
that folder. Loading the folder with ``from_pretrained`` exercises the same code path as real weights.
The tokenizers are built from vocabulary files written here, so nothing is fetched.

Used by ``tests/test_ckb_*.py``, by the image-mode tests of ``flowgraphs/`` and by
``benchmarks/ckb.py`` when real weights are absent::

    from tiny_ckb import make_tiny_blip, make_tiny_sd   # pytest puts tests/ on sys.path
    blip_dir = make_tiny_blip(tmp_path)      # -> tmp_path / "tiny-blip"
    sd_dir = make_tiny_sd(tmp_path)          # -> tmp_path / "tiny-sd"

Sizes (all fit in a few MB and run in well under a second on a CPU core):
BLIP 32x32 input images; Stable Diffusion 16x16 output images (latents 8x8, VAE factor 2);
classifier 32x32 input, 1000 ImageNet-1k classes; CLIP 32x32 input, width 32.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import torch

# A small English vocabulary: enough whole words for captions like "a dog runs on the grass".
WORDS = (
    "a an the of on in at with and is are two dog dogs cat cats man woman child people car red "
    "blue green white black small big runs running sits sitting stands standing grass street "
    "water beach ball field photo picture fish truck church building parachute golf player"
).split()

BLIP_IMAGE_SIZE = 32
SD_IMAGE_SIZE = 16
CLASSIFIER_IMAGE_SIZE = 32
CLIP_IMAGE_SIZE = 32
NUM_IMAGENET_CLASSES = 1000


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed a forked global RNG: building a model neither depends on nor disturbs the caller's RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _bert_vocab(folder: Path) -> Path:
    """Write a WordPiece vocab.txt with BLIP's special tokens ([DEC] is BLIP's decoder BOS)."""
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]
    pieces = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"] + list("abcdefghijklmnopqrstuvwxyz")
    vocab = special + WORDS + pieces
    path = folder / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return path


def _clip_bpe_files(folder: Path) -> tuple[Path, Path]:
    """Write a character-level CLIP BPE vocabulary (vocab.json, merges.txt) plus a few merges."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in letters:
        vocab[c] = len(vocab)
    for c in letters:
        vocab[c + "</w>"] = len(vocab)
    merges = ["#version: 0.2"]
    # a few merges so the BPE path is real, each result added to the vocabulary
    for a, b in [("t", "h"), ("th", "e</w>"), ("d", "o"), ("do", "g</w>"), ("c", "a"), ("ca", "t</w>")]:
        merges.append(f"{a} {b}")
        vocab[a + b] = len(vocab)
    vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
    vocab_path.write_text(json.dumps(vocab), encoding="utf-8")
    merges_path.write_text("\n".join(merges) + "\n", encoding="utf-8")
    return vocab_path, merges_path


def _clip_tokenizer(folder: Path, max_length: int):
    from transformers import CLIPTokenizer

    vocab_path, merges_path = _clip_bpe_files(folder)
    return CLIPTokenizer(str(vocab_path), str(merges_path), model_max_length=max_length)


def make_tiny_blip(directory: str | os.PathLike, name: str = "tiny-blip", seed: int = 0) -> Path:
    """Build a random BLIP captioner (BlipForConditionalGeneration + BlipProcessor) into a folder.

    :param directory: parent folder; the model goes to ``directory/name``.
    :returns: the model folder (config.json, model.safetensors, processor and tokenizer files).
    The vision initialisation is scaled up so that different images give different captions.
    """
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipProcessor

    try:  # transformers >= 5 names the PIL processor explicitly (no torchvision here)
        from transformers import BlipImageProcessorPil as ImageProcessor
    except ImportError:  # pragma: no cover - older transformers
        from transformers import BlipImageProcessor as ImageProcessor

    out = Path(directory) / name
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizer(str(_bert_vocab(out)), bos_token="[DEC]")
    ids = tokenizer.convert_tokens_to_ids
    config = BlipConfig(
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            image_size=BLIP_IMAGE_SIZE, patch_size=8, initializer_range=0.5,
        ),
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=64, initializer_range=0.2,
            bos_token_id=ids("[DEC]"), sep_token_id=ids("[SEP]"), pad_token_id=ids("[PAD]"),
            eos_token_id=ids("[SEP]"),
        ),
        projection_dim=32,
    )
    with _seeded(seed):
        model = BlipForConditionalGeneration(config).eval()
    processor = BlipProcessor(
        image_processor=ImageProcessor(size={"height": BLIP_IMAGE_SIZE, "width": BLIP_IMAGE_SIZE}),
        tokenizer=tokenizer,
    )
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    return out


def make_tiny_sd(directory: str | os.PathLike, name: str = "tiny-sd", seed: int = 0) -> Path:
    """Build a random Stable Diffusion pipeline (UNet, VAE, CLIP text encoder, DDIM) into a folder.

    :returns: the pipeline folder (model_index.json and one subfolder per component, safetensors).
    Generated images are ``SD_IMAGE_SIZE`` x ``SD_IMAGE_SIZE`` by default (8x8 latents).
    """
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    out = Path(directory) / name
    out.mkdir(parents=True, exist_ok=True)
    vocab_dir = out.parent / f".{name}-vocab"
    vocab_dir.mkdir(exist_ok=True)
    tokenizer = _clip_tokenizer(vocab_dir, max_length=77)
    with _seeded(seed):
        unet = UNet2DConditionModel(
            block_out_channels=(32, 64), layers_per_block=1, sample_size=SD_IMAGE_SIZE // 2,
            in_channels=4, out_channels=4, norm_num_groups=32, attention_head_dim=8,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        )
        vae = AutoencoderKL(
            block_out_channels=(32, 64), in_channels=3, out_channels=3, latent_channels=4,
            down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
            norm_num_groups=32, sample_size=SD_IMAGE_SIZE,
        )
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=77, projection_dim=32,
                bos_token_id=0, eos_token_id=1, pad_token_id=1,
            )
        )
    # SD 1.5's scheduler settings; steps_offset=1 avoids diffusers' deprecation path
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(out, safe_serialization=True)
    return out


def make_tiny_classifier(
    directory: str | os.PathLike, name: str = "tiny-classifier", seed: int = 0,
    constant_class: int | None = None,
) -> Path:
    """Build a random ViT ImageNet-1k classifier (AutoModelForImageClassification) into a folder.

    :param constant_class: if given, the head's weights are zeroed and its bias favours this class,
        so every image is classified as ``constant_class`` (hand-checkable accuracies).
    :returns: the model folder (config.json with 1000 labels, model.safetensors, preprocessor).
    """
    from transformers import ViTConfig, ViTForImageClassification

    try:
        from transformers import ViTImageProcessorPil as ImageProcessor
    except ImportError:  # pragma: no cover - older transformers
        from transformers import ViTImageProcessor as ImageProcessor

    out = Path(directory) / name
    out.mkdir(parents=True, exist_ok=True)
    config = ViTConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=CLASSIFIER_IMAGE_SIZE, patch_size=8, num_labels=NUM_IMAGENET_CLASSES,
        initializer_range=0.5,
    )
    with _seeded(seed):
        model = ViTForImageClassification(config).eval()
    if constant_class is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.zero_()
            model.classifier.bias[constant_class] = 1.0
    model.save_pretrained(out, safe_serialization=True)
    ImageProcessor(size={"height": CLASSIFIER_IMAGE_SIZE, "width": CLASSIFIER_IMAGE_SIZE}).save_pretrained(out)
    return out


def make_tiny_clip(directory: str | os.PathLike, name: str = "tiny-clip", seed: int = 0) -> Path:
    """Build a random CLIP model (CLIPModel + CLIPProcessor) into a folder.

    :returns: the model folder (config.json, model.safetensors, processor and tokenizer files).
    """
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    try:
        from transformers import CLIPImageProcessorPil as ImageProcessor
    except ImportError:  # pragma: no cover - older transformers
        from transformers import CLIPImageProcessor as ImageProcessor

    out = Path(directory) / name
    out.mkdir(parents=True, exist_ok=True)
    vocab_dir = out.parent / f".{name}-vocab"
    vocab_dir.mkdir(exist_ok=True)
    tokenizer = _clip_tokenizer(vocab_dir, max_length=32)
    config = CLIPConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=32, bos_token_id=0, eos_token_id=1,
            pad_token_id=1,
        ),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            image_size=CLIP_IMAGE_SIZE, patch_size=8,
        ),
        projection_dim=32,
    )
    with _seeded(seed):
        model = CLIPModel(config).eval()
    image_processor = ImageProcessor(
        size={"shortest_edge": CLIP_IMAGE_SIZE}, crop_size={"height": CLIP_IMAGE_SIZE, "width": CLIP_IMAGE_SIZE}
    )
    model.save_pretrained(out, safe_serialization=True)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(out)
    return out


def make_all(directory: str | os.PathLike) -> dict[str, Path]:
    """Build all four tiny models under ``directory``; returns {"blip", "sd", "classifier", "clip"}."""
    return {
        "blip": make_tiny_blip(directory),
        "sd": make_tiny_sd(directory),
        "classifier": make_tiny_classifier(directory),
        "clip": make_tiny_clip(directory),
    }
