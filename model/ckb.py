"""Cross-modal knowledge base: BLIP captions images at the transmitter, Stable Diffusion redraws them
from the received captions at the receiver.

Both ends run on the GPU when there is one (``device="auto"``) and fall back to the CPU. Weights
come from a local folder or the Hugging Face cache, and only in safetensors form (pickle
checkpoints can execute code). Where weights are missing, :class:`ModelUnavailableError` names the
model and the command that fetches it on a machine with internet. Loaded models are kept in a small
per-process cache, keyed by (model, device, dtype, options), so a second ``Captioner`` is free.

Example::

    from vlmcsc.model.ckb import Captioner, ImageGenerator
    captions = Captioner().caption([PIL.Image.open("dog.jpg")])       # ['a dog running on grass']
    images = ImageGenerator().generate(captions, seed=0, steps=25)     # [PIL.Image 512x512]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import torch

if TYPE_CHECKING:  # PIL is imported where images are handled
    from PIL import Image

DEFAULT_CAPTION_MODEL = "Salesforce/blip-image-captioning-base"
DEFAULT_IMAGE_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
# components of a Stable Diffusion folder that we load (the safety checker is not loaded)
_PIPELINE_WEIGHTS = ("unet", "vae", "text_encoder")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")


class _NoTorchvisionAdvice:
    """Drops transformers' "requires torchvision (not installed) ... Install torchvision" notice.

    The PIL image processors it falls back to are the ones this project uses, and the advice is
    harmful here: the torchvision wheel matching our torch breaks ``import torchvision`` and with it
    the BLIP and CLIP imports (docs/ckb.md, hardware.md).
    """

    @staticmethod
    def filter(record) -> bool:
        return "requires torchvision (not installed)" not in record.getMessage()


def _silence_torchvision_advice() -> None:
    import logging

    log = logging.getLogger("transformers.utils.import_utils")
    if not any(isinstance(f, _NoTorchvisionAdvice) for f in log.filters):
        log.addFilter(_NoTorchvisionAdvice())


_silence_torchvision_advice()


class ModelUnavailableError(RuntimeError):
    """The weights of a model are not on this machine (or not in safetensors form).

    The message names the model and the command that fetches it on a machine with internet.
    """


class DeviceUnavailableError(RuntimeError):
    """The requested torch device (e.g. ``cuda``) does not exist on this machine."""


# ---------------------------------------------------------------------------------------------
# device and dtype


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Map ``"auto" | "cpu" | "cuda" | "cuda:N"`` to a torch device that exists here.

    ``auto`` picks ``cuda`` when CUDA is available, else ``cpu``. Asking for CUDA on a machine
    without it raises :class:`DeviceUnavailableError` (rather than silently running on the CPU).
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got {device!r}")
    name = device.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                f"device {device!r} requested but CUDA is not available here "
                f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA); "
                "use --device cpu or --device auto"
            )
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"device {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return dev
    raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")


_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
           "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """``"auto"`` -> float16 on CUDA, float32 on the CPU; or an explicit name / torch dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if dtype not in _DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use 'auto', 'float32', 'float16' or 'bfloat16'")
    return _DTYPES[dtype]


# ---------------------------------------------------------------------------------------------
# where the weights are


def _looks_like_path(model: str) -> bool:
    """A folder name rather than a hub id ("org/name"): absolute, relative or home paths."""
    return (
        model.startswith(("/", "./", "../", "~", "."))
        or model.count("/") > 1
        or (os.sep != "/" and os.sep in model)
        or Path(model).expanduser().is_dir()
    )


def _has_safetensors(folder: Path) -> bool:
    return any(folder.glob("*.safetensors"))


def _folder_complete(folder: Path) -> bool:
    """A model folder (config.json + safetensors) or a diffusers pipeline folder (model_index.json +
    safetensors in each component we load)."""
    if (folder / "model_index.json").is_file():
        return all(_has_safetensors(folder / part) for part in _PIPELINE_WEIGHTS)
    return (folder / "config.json").is_file() and _has_safetensors(folder)


def local_weights_path(model: str) -> Path | None:
    """The local folder holding ``model``'s safetensors weights, or None; never touches the network.

    ``model`` is a folder, or a hub id looked up in the Hugging Face cache (``HF_HOME`` /
    ``HF_HUB_CACHE``, default ``~/.cache/huggingface/hub``).
    """
    if _looks_like_path(model):
        folder = Path(model).expanduser()
        return folder if folder.is_dir() and _folder_complete(folder) else None
    try:
        from huggingface_hub import snapshot_download

        snapshot = Path(snapshot_download(model, local_files_only=True))
    except Exception:  # not cached, or not a valid hub id: either way not available locally
        return None
    return snapshot if _folder_complete(snapshot) else None


def weights_available(model: str) -> bool:
    """True if ``model`` (hub id or folder) has safetensors weights on this machine (no network)."""
    return local_weights_path(model) is not None


def image_mode_available(caption_model: str = DEFAULT_CAPTION_MODEL,
                         image_model: str = DEFAULT_IMAGE_MODEL) -> bool:
    """True when both ends of the image mode (BLIP and Stable Diffusion) have weights here."""
    return weights_available(caption_model) and weights_available(image_model)


def fetch_command(model: str, pipeline: bool = False) -> str:
    """The shell command that downloads ``model``'s safetensors weights on a machine with internet.

    Only the files this module loads: configs, tokenizer files and safetensors weights (for a
    pipeline, the per-component full-precision files; SD repos also hold multi-GB single-file
    checkpoints, fp16/non-EMA variants and a safety checker that are not needed).
    """
    if pipeline:
        patterns = ["*.json", "*.txt", "*/*.safetensors"]
        excludes = ["safety_checker/*", "*.fp16.*", "*non_ema*"]
    else:
        patterns, excludes = ["*.json", "*.txt", "*.safetensors"], []
    args = "".join(f' --include "{p}"' for p in patterns) + "".join(f' --exclude "{p}"' for p in excludes)
    return f"hf download {model}{args}"


def _unavailable(model: str, what: str, pipeline: bool, reason: str) -> ModelUnavailableError:
    if _looks_like_path(model):
        example = DEFAULT_IMAGE_MODEL if pipeline else DEFAULT_CAPTION_MODEL
        return ModelUnavailableError(
            f"{what} folder '{model}' cannot be used: {reason}\n"
            f"  Pass a folder made by save_pretrained, or download one on a machine with internet, e.g.\n"
            f"    {fetch_command(example, pipeline)} --local-dir {model}"
        )
    return ModelUnavailableError(
        f"{what} '{model}' is not available on this machine: {reason}\n"
        f"  On a machine with internet run:\n    {fetch_command(model, pipeline)}\n"
        f"  then copy the Hugging Face cache (~/.cache/huggingface/hub, or $HF_HOME/hub) to this machine,\n"
        f"  or add --local-dir DIR to the command and pass DIR as the model. (With the older\n"
        f"  huggingface-cli: huggingface-cli download {model} --include PATTERN [PATTERN ...].)"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def hub_unreachable(timeout_s: float = 3.0) -> str | None:
    """Why the Hugging Face hub cannot be reached from here (None if it answers a TCP connect).

    ``HF_HUB_OFFLINE`` set (to anything but 0/false/no) counts as offline. Otherwise one TCP connect
    to the hub's host (``HF_ENDPOINT``, default huggingface.co:443), DNS included, must succeed
    within ``timeout_s`` seconds; the hub clients would otherwise retry for minutes.
    """
    import os
    import socket
    import threading
    from urllib.parse import urlparse

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    if flag and flag not in ("0", "false", "no", "off"):
        return "HF_HUB_OFFLINE is set, so the hub is not contacted"
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    result: list = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            result.append(None)
        except OSError as exc:
            result.append(exc)

    thread = threading.Thread(target=probe, daemon=True)  # DNS has no timeout of its own
    thread.start()
    thread.join(timeout_s)
    if not result:
        return f"no answer from {host}:{port} within {timeout_s:g} s (this machine looks offline)"
    if result[0] is not None:
        return f"cannot reach {host}:{port} ({result[0]}); this machine looks offline"
    return None


def load_pretrained(
    model: str,
    loader: Callable[[str, bool], object],
    what: str,
    pipeline: bool = False,
    local_files_only: bool = False,
):
    """Resolve ``model`` to local weights (or, if allowed, the hub) and call ``loader(source, local_only)``.

    Local weights are preferred and loaded with ``local_only=True``, so a cached model costs no
    network round trip. Missing weights and loader OSErrors become :class:`ModelUnavailableError`
    (raised ``from None``: the message is the whole story, no library traceback).
    """
    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a hub id or a folder, got {model!r}")
    local = local_weights_path(model)
    if local is not None:
        source, local_only = str(local), True
    elif _looks_like_path(model):
        folder = Path(model).expanduser()
        reason = (
            f"folder {folder} does not exist" if not folder.is_dir()
            else f"folder {folder} has no safetensors weights (only safetensors are loaded; pickle "
                 "checkpoints can run code)"
        )
        raise _unavailable(model, what, pipeline, reason)
    elif local_files_only:
        raise _unavailable(model, what, pipeline, "not in the local Hugging Face cache and local_files_only is set")
    else:
        offline = hub_unreachable()
        if offline:  # fail in seconds, not after minutes of download retries
            raise _unavailable(model, what, pipeline, offline)
        source, local_only = model, False
    try:
        return loader(source, local_only)
    except (OSError, ModelUnavailableError) as exc:
        raise _unavailable(model, what, pipeline, _first_line(exc)) from None
    except ValueError as exc:  # e.g. "no safetensors file" from use_safetensors=True
        if "safetensors" in str(exc).lower() or "repo id" in str(exc).lower():
            raise _unavailable(model, what, pipeline, _first_line(exc)) from None
        raise


def _dtype_kwarg(library) -> str:
    """``dtype`` where the library takes it, else ``torch_dtype`` (same meaning).

    transformers renamed the argument in 4.56; diffusers accepts ``dtype`` only since mid 2026
    (detected by its deprecation helper, as no release number is documented for it).
    """
    if library.__name__ == "diffusers":
        try:
            from diffusers.utils.deprecation_utils import _resolve_dtype  # noqa: F401
        except ImportError:
            return "torch_dtype"
        return "dtype"
    from packaging.version import Version

    return "dtype" if Version(library.__version__) >= Version("4.56") else "torch_dtype"


def _model_kwargs(library, dtype: torch.dtype, local_only: bool) -> dict:
    return {_dtype_kwarg(library): dtype, "local_files_only": local_only, "use_safetensors": True}


@functools.lru_cache(maxsize=8)
def _cached(kind: str, model: str, device: str, dtype: str, local_files_only: bool, options: tuple):
    """The per-process model cache: ``kind`` selects the builder; the key is all the arguments.

    The models are frozen (``eval`` + ``requires_grad_(False)``) so sharing them is safe.
    """
    return _BUILDERS[kind](model, torch.device(device), _DTYPES[dtype], local_files_only, dict(options))


def clear_model_cache() -> None:
    """Drop every cached model (frees memory; the next construction loads again)."""
    _cached.cache_clear()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def get_cached(kind: str, model: str, device: torch.device, dtype: torch.dtype,
               local_files_only: bool, **options):
    """Load (or reuse) a model: ``kind`` is one of ``blip``, ``sd``, ``classifier``, ``clip``."""
    return _cached(kind, model, str(device), _dtype_name(dtype), bool(local_files_only),
                   tuple(sorted(options.items())))


def _register(kind: str):
    def wrap(fn):
        _BUILDERS[kind] = fn
        return fn
    return wrap


_BUILDERS: dict[str, Callable] = {}


def load_transformers_pair(model, processor_cls, model_cls, what, device, dtype, local_files_only):
    """Load a transformers processor + model pair (safetensors only), frozen, in eval mode on ``device``."""
    import transformers

    def load(source, local_only):
        processor = processor_cls.from_pretrained(source, local_files_only=local_only)
        net = model_cls.from_pretrained(source, **_model_kwargs(transformers, dtype, local_only))
        return net, processor

    net, processor = load_pretrained(model, load, what, local_files_only=local_files_only)
    net.to(device).eval().requires_grad_(False)
    return net, processor


@_register("blip")
def _build_blip(model, device, dtype, local_files_only, options):
    from transformers import BlipForConditionalGeneration, BlipProcessor

    return load_transformers_pair(model, BlipProcessor, BlipForConditionalGeneration,
                                  "BLIP captioning model", device, dtype, local_files_only)


@_register("sd")
def _build_sd(model, device, dtype, local_files_only, options):
    import diffusers
    from diffusers import StableDiffusionPipeline

    def load(source, local_only):
        kwargs = _model_kwargs(diffusers, dtype, local_only)
        if local_only and _fp16_variant_only(Path(source)):
            kwargs["variant"] = "fp16"  # a folder fetched with only the fp16 weight files
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return StableDiffusionPipeline.from_pretrained(
                source, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
                **kwargs)

    pipe = load_pretrained(model, load, "Stable Diffusion model", pipeline=True,
                           local_files_only=local_files_only)
    for part in (pipe.unet, pipe.vae, pipe.text_encoder):
        part.eval().requires_grad_(False)
    if options.get("cpu_offload"):
        # accelerate hooks move each component to the GPU only while it runs
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    if options.get("attention_slicing"):
        pipe.enable_attention_slicing()
    return pipe


def _fp16_variant_only(folder: Path) -> bool:
    """True when a pipeline folder's UNet has only ``*.fp16.safetensors`` weights."""
    unet = folder / "unet"
    files = [p.name for p in unet.glob("*.safetensors")]
    return bool(files) and all(".fp16." in name for name in files)


def _model_bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


# ---------------------------------------------------------------------------------------------
# images in and out


def load_image(image) -> "Image.Image":
    """A PIL image (converted to RGB) from a PIL image, a file path, or a uint8 HxWx3 array."""
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f"image file {path} does not exist")
        with Image.open(path) as im:
            return im.convert("RGB")
    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    try:
        import numpy as np

        if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim in (2, 3):
            return Image.fromarray(image).convert("RGB")
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"expected a PIL image, an image file path or a uint8 array, got {type(image).__name__}")


def _check_batch_size(batch_size: int) -> int:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


class Captioner:
    """Image -> caption with BLIP (``BlipForConditionalGeneration`` + ``BlipProcessor``).

    :param model: hub id (default ``Salesforce/blip-image-captioning-base``) or a local folder.
    :param device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    :param dtype: ``"auto"`` (float16 on CUDA, float32 on CPU) or an explicit dtype.
    :param local_files_only: never contact the hub; missing weights raise ModelUnavailableError.
    :param batch_size: images per forward pass (the result does not depend on it).

    Loading happens here, once per process for a given (model, device, dtype).
    """

    def __init__(self, model: str = DEFAULT_CAPTION_MODEL, device: str = "auto", dtype: str = "auto",
                 local_files_only: bool = False, batch_size: int = 16):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.model_name = model
        self.batch_size = _check_batch_size(batch_size)
        self.model, self.processor = get_cached("blip", model, self.device, self.dtype, local_files_only)

    def __repr__(self) -> str:
        return (f"Captioner(model={self.model_name!r}, device={str(self.device)!r}, "
                f"dtype={_dtype_name(self.dtype)!r}, batch_size={self.batch_size}, "
                f"weights={self.memory_bytes / 2**20:.0f} MB)")

    @property
    def memory_bytes(self) -> int:
        """Bytes of parameters and buffers of the loaded model."""
        return _model_bytes(self.model)

    @torch.inference_mode()
    def caption(self, images: Sequence, prompt: str | None = None, num_beams: int = 1,
                max_new_tokens: int = 30) -> list[str]:
        """Caption each image.

        :param images: list of PIL images (any size; resized by the processor), file paths or
            uint8 HxWx3 arrays.
        :param prompt: optional text the caption starts with (e.g. ``"a photography of"``); BLIP
            returns it as part of the caption.
        :param num_beams: 1 = greedy decoding, >1 = beam search.
        :param max_new_tokens: caption length limit in tokens.
        :returns: one caption (lower-case string) per image, in order.
        """
        if isinstance(images, (str, os.PathLike)) or not isinstance(images, Iterable):
            raise TypeError("images must be a list of images (wrap a single image in a list)")
        images = [load_image(im) for im in images]
        if not images:
            return []
        if not isinstance(num_beams, int) or num_beams < 1:
            raise ValueError(f"num_beams must be a positive integer, got {num_beams!r}")
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
        if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
            raise ValueError("prompt must be a non-empty string or None")
        captions: list[str] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start:start + self.batch_size]
            text = [prompt] * len(chunk) if prompt else None
            inputs = self.processor(images=chunk, text=text, return_tensors="pt").to(self.device)
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
            out = self.model.generate(**inputs, num_beams=num_beams, max_new_tokens=max_new_tokens,
                                      do_sample=False)
            captions += [c.strip() for c in self.processor.batch_decode(out, skip_special_tokens=True)]
        return captions


class ImageGenerator:
    """Caption -> image with Stable Diffusion (diffusers ``StableDiffusionPipeline``).

    :param model: hub id (default a Stable Diffusion 1.5 model) or a local pipeline folder.
    :param device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    :param dtype: ``"auto"`` (float16 on CUDA, float32 on CPU) or an explicit dtype.
    :param local_files_only: never contact the hub.
    :param attention_slicing: compute attention in slices (less GPU memory, a little slower).
    :param cpu_offload: keep components on the CPU and move each to the GPU only while it runs
        (accelerate's model offload; for GPUs with little memory). CUDA only.
    :param batch_size: prompts per denoising batch (the result does not depend on it).
    :param show_progress: show diffusers' per-step progress bar.

    The safety checker is not loaded (it is a separate model; SD 1.5 output is returned as drawn).
    """

    def __init__(self, model: str = DEFAULT_IMAGE_MODEL, device: str = "auto", dtype: str = "auto",
                 local_files_only: bool = False, attention_slicing: bool = False,
                 cpu_offload: bool = False, batch_size: int = 4, show_progress: bool = False):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        if cpu_offload and self.device.type != "cuda":
            raise ValueError("cpu_offload moves models between CPU and GPU; it needs a CUDA device")
        self.model_name = model
        self.batch_size = _check_batch_size(batch_size)
        self.pipe = get_cached("sd", model, self.device, self.dtype, local_files_only,
                               attention_slicing=bool(attention_slicing), cpu_offload=bool(cpu_offload))
        self.pipe.set_progress_bar_config(disable=not show_progress)

    def __repr__(self) -> str:
        return (f"ImageGenerator(model={self.model_name!r}, device={str(self.device)!r}, "
                f"dtype={_dtype_name(self.dtype)!r}, size={self.default_size}px, "
                f"batch_size={self.batch_size}, weights={self.memory_bytes / 2**20:.0f} MB)")

    @property
    def default_size(self) -> int:
        """The pipeline's native image side in pixels (512 for SD 1.5)."""
        return int(self.pipe.unet.config.sample_size * self.pipe.vae_scale_factor)

    @property
    def memory_bytes(self) -> int:
        """Bytes of parameters and buffers of the UNet, VAE and text encoder."""
        return sum(_model_bytes(m) for m in (self.pipe.unet, self.pipe.vae, self.pipe.text_encoder))

    @torch.inference_mode()
    def generate(self, prompts: Sequence[str] | str, seed: int = 0, steps: int = 25,
                 guidance: float = 7.5, height: int | None = None, width: int | None = None,
                 negative_prompt: str | None = None) -> list:
        """Draw one image per prompt.

        :param prompts: list of captions (a single string is accepted as a list of one).
        :param seed: image ``i`` starts from noise seeded with ``seed + i`` (CPU generator), so a
            prompt's image does not depend on the batch it was drawn in.
        :param steps: denoising steps.
        :param guidance: classifier-free guidance scale (<= 1 disables guidance).
        :param height, width: output size in pixels, multiples of 8 (default: the model's native size).
        :param negative_prompt: optional text to steer away from (same for all prompts).
        :returns: list of RGB PIL images, ``width`` x ``height``.
        """
        if isinstance(prompts, str):
            prompts = [prompts]
        prompts = list(prompts)
        if not all(isinstance(p, str) for p in prompts):
            raise TypeError("prompts must be strings")
        if not prompts:
            return []
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        height = self.default_size if height is None else height
        width = self.default_size if width is None else width
        for name, value in (("height", height), ("width", width)):
            if not isinstance(value, int) or value < 8 or value % 8:
                raise ValueError(f"{name} must be a positive multiple of 8 pixels, got {value!r}")
        images = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = prompts[start:start + self.batch_size]
            # the initial noise is drawn on the CPU: the same seed gives the same start on any device
            generators = [torch.Generator("cpu").manual_seed(seed + start + i) for i in range(len(chunk))]
            out = self.pipe(
                prompt=chunk, negative_prompt=[negative_prompt] * len(chunk) if negative_prompt else None,
                num_inference_steps=steps, guidance_scale=float(guidance), height=height, width=width,
                generator=generators, output_type="pil",
            )
            images += list(out.images)
        return images


# ---------------------------------------------------------------------------------------------
# command line: `vlmcsc caption` and `vlmcsc generate`


def _add_common(parser: argparse.ArgumentParser, default_model: str) -> None:
    parser.add_argument("--model", default=default_model,
                        help=f"hub id or local folder (default {default_model})")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    parser.add_argument("--dtype", default="auto", help="auto (fp16 on CUDA, fp32 on CPU) | float32 | float16")
    parser.add_argument("--local-files-only", action="store_true",
                        help="never contact the model hub (use the local cache or folder only)")


def add_caption_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vlmcsc caption``."""
    parser.add_argument("images", nargs="+", help="image files or folders of images")
    _add_common(parser, DEFAULT_CAPTION_MODEL)
    parser.add_argument("--prompt", default=None, help="text each caption starts with")
    parser.add_argument("--beams", type=int, default=1, help="beam width (1 = greedy, default)")
    parser.add_argument("--max-new-tokens", type=int, default=30, help="caption length limit (tokens)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass")
    parser.add_argument("--json", metavar="PATH", help="also write [{file, caption}, ...] to PATH")


def _image_files(items: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} is neither an image file nor a folder")
    if not files:
        raise FileNotFoundError("no image files found in " + ", ".join(items))
    return files


def main_caption(args: argparse.Namespace) -> int:
    """Run ``vlmcsc caption``: prints ``file<TAB>caption`` per image."""
    try:
        files = _image_files(args.images)
        captioner = Captioner(args.model, device=args.device, dtype=args.dtype,
                              local_files_only=args.local_files_only, batch_size=args.batch_size)
        captions = captioner.caption(files, prompt=args.prompt, num_beams=args.beams,
                                     max_new_tokens=args.max_new_tokens)
    except (ModelUnavailableError, DeviceUnavailableError, FileNotFoundError, ValueError, TypeError) as exc:
        print(f"vlmcsc caption: {exc}", file=sys.stderr)
        return 2
    for path, text in zip(files, captions):
        print(f"{path}\t{text}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(
            [{"file": str(p), "caption": c} for p, c in zip(files, captions)], indent=2))
    return 0


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vlmcsc generate``."""
    parser.add_argument("captions", nargs="*", help="captions to draw (or use --captions-file)")
    parser.add_argument("--captions-file", metavar="PATH",
                        help="one caption per line, or the JSON written by `vlmcsc caption --json`")
    parser.add_argument("--out", default="generated", help="output folder for PNG files (default generated/)")
    _add_common(parser, DEFAULT_IMAGE_MODEL)
    parser.add_argument("--seed", type=int, default=0, help="image i uses seed+i (default 0)")
    parser.add_argument("--steps", type=int, default=25, help="denoising steps (default 25)")
    parser.add_argument("--guidance", type=float, default=7.5, help="guidance scale (default 7.5)")
    parser.add_argument("--height", type=int, default=None, help="pixels, multiple of 8 (default: model's)")
    parser.add_argument("--width", type=int, default=None, help="pixels, multiple of 8 (default: model's)")
    parser.add_argument("--batch-size", type=int, default=4, help="prompts per batch (default 4)")
    parser.add_argument("--attention-slicing", action="store_true", help="less GPU memory, slower")
    parser.add_argument("--cpu-offload", action="store_true", help="offload idle components to CPU (CUDA)")


def _read_captions(args: argparse.Namespace) -> list[str]:
    captions = list(args.captions)
    if args.captions_file:
        text = Path(args.captions_file).read_text(encoding="utf-8")
        if args.captions_file.endswith(".json"):
            captions += [row["caption"] if isinstance(row, dict) else str(row) for row in json.loads(text)]
        else:
            captions += [line.strip() for line in text.splitlines() if line.strip()]
    if not captions:
        raise ValueError("no captions given (pass them as arguments or with --captions-file)")
    return captions


def main_generate(args: argparse.Namespace) -> int:
    """Run ``vlmcsc generate``: writes ``OUT/0000.png ...`` and ``OUT/captions.json``."""
    try:
        captions = _read_captions(args)
        generator = ImageGenerator(args.model, device=args.device, dtype=args.dtype,
                                   local_files_only=args.local_files_only,
                                   attention_slicing=args.attention_slicing,
                                   cpu_offload=args.cpu_offload, batch_size=args.batch_size)
        images = generator.generate(captions, seed=args.seed, steps=args.steps, guidance=args.guidance,
                                    height=args.height, width=args.width)
    except (ModelUnavailableError, DeviceUnavailableError, FileNotFoundError, ValueError, TypeError) as exc:
        print(f"vlmcsc generate: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for i, (caption, image) in enumerate(zip(captions, images)):
        path = out / f"{i:04d}.png"
        image.save(path)
        index.append({"file": path.name, "caption": caption, "seed": args.seed + i})
        print(f"{path}\t{caption}")
    (out / "captions.json").write_text(json.dumps(index, indent=2))
    return 0
