"""Device selection, weight lookup (folders, HF cache, local_files_only), the missing-weights error
and the per-process model cache of vlmcsc.model.ckb, on tiny models built offline."""

import shutil

import numpy as np
import pytest
import torch

from tiny_ckb import make_tiny_blip, make_tiny_sd
from vlmcsc.model import ckb

FAKE_ID = "vlmcsc-test/no-such-model"


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckb_loading")
    return {"blip": make_tiny_blip(root), "sd": make_tiny_sd(root)}


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


# --- devices -----------------------------------------------------------------------------------

def test_auto_device_is_cpu_without_cuda(no_cuda):
    assert ckb.resolve_device("auto") == torch.device("cpu")
    assert ckb.resolve_device("cpu") == torch.device("cpu")


def test_auto_device_is_cuda_with_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert ckb.resolve_device("auto") == torch.device("cuda")


def test_cuda_without_cuda_is_a_clear_error(no_cuda):
    with pytest.raises(ckb.DeviceUnavailableError, match="CUDA is not available.*--device cpu"):
        ckb.resolve_device("cuda")
    with pytest.raises(ckb.DeviceUnavailableError):
        ckb.resolve_device("cuda:0")


def test_unknown_device_rejected():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        ckb.resolve_device("tpu")


def test_dtype_auto_follows_device():
    assert ckb.resolve_dtype("auto", torch.device("cuda")) == torch.float16
    assert ckb.resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert ckb.resolve_dtype("float16", torch.device("cpu")) == torch.float16
    with pytest.raises(ValueError, match="unknown dtype"):
        ckb.resolve_dtype("int8", torch.device("cpu"))


def test_models_refuse_cuda_without_cuda(models, no_cuda):
    with pytest.raises(ckb.DeviceUnavailableError):
        ckb.Captioner(str(models["blip"]), device="cuda")
    with pytest.raises(ckb.DeviceUnavailableError):
        ckb.ImageGenerator(str(models["sd"]), device="cuda")


def test_models_run_on_cpu_with_auto(models, no_cuda):
    assert ckb.Captioner(str(models["blip"]), device="auto").device == torch.device("cpu")
    generator = ckb.ImageGenerator(str(models["sd"]), device="auto")
    assert generator.pipe.unet.device == torch.device("cpu")
    assert generator.pipe.unet.dtype == torch.float32


# --- finding weights ---------------------------------------------------------------------------

def test_weights_available(models, tmp_path):
    assert ckb.weights_available(str(models["blip"]))
    assert ckb.weights_available(str(models["sd"]))
    assert not ckb.weights_available(FAKE_ID)
    assert not ckb.weights_available(str(tmp_path / "missing"))
    assert not ckb.weights_available(str(tmp_path))  # exists, but no config / weights


def test_missing_hub_model_names_model_and_fetch_command():
    with pytest.raises(ckb.ModelUnavailableError) as err:
        ckb.Captioner(FAKE_ID, local_files_only=True)
    message = str(err.value)
    assert FAKE_ID in message
    assert f'hf download {FAKE_ID} --include "*.json" --include "*.txt" --include "*.safetensors"' in message
    # raised `from None`: the user sees the message, not a chain of library tracebacks
    assert err.value.__cause__ is None
    assert err.value.__context__ is None or err.value.__suppress_context__


def test_missing_pipeline_fetch_command_skips_unneeded_files():
    with pytest.raises(ckb.ModelUnavailableError) as err:
        ckb.ImageGenerator(FAKE_ID, local_files_only=True)
    message = str(err.value)
    assert "Stable Diffusion model" in message
    assert '--include "*/*.safetensors" --exclude "safety_checker/*"' in message


def test_missing_folder_is_reported(tmp_path):
    with pytest.raises(ckb.ModelUnavailableError, match="does not exist"):
        ckb.Captioner(str(tmp_path / "nowhere"))


def test_pickle_only_folder_is_refused(models, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(models["blip"], folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    assert not ckb.weights_available(str(folder))
    with pytest.raises(ckb.ModelUnavailableError, match="no safetensors weights"):
        ckb.Captioner(str(folder))


def _fake_hub_cache(cache, repo_id, source):
    """Lay ``source`` out as the HF cache does: models--org--name/{refs/main, snapshots/<rev>/}."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(source, repo / "snapshots" / "0123456789abcdef")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123456789abcdef")


def test_local_files_only_loads_from_hub_cache(models, tmp_path, monkeypatch):
    import huggingface_hub.constants

    _fake_hub_cache(tmp_path, "vlmcsc-test/tiny-blip", models["blip"])
    _fake_hub_cache(tmp_path, "vlmcsc-test/tiny-sd", models["sd"])
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert ckb.weights_available("vlmcsc-test/tiny-blip")
    captioner = ckb.Captioner("vlmcsc-test/tiny-blip", device="cpu", local_files_only=True)
    direct = ckb.Captioner(str(models["blip"]), device="cpu")
    image = torch.zeros(3, 20, 20, dtype=torch.uint8).permute(1, 2, 0).numpy()
    assert captioner.caption([image]) == direct.caption([image])
    generator = ckb.ImageGenerator("vlmcsc-test/tiny-sd", device="cpu", local_files_only=True)
    assert len(generator.generate(["a dog"], steps=1)) == 1


# --- cache ---------------------------------------------------------------------------------------

def test_models_load_once_per_process(models):
    first = ckb.Captioner(str(models["blip"]), device="cpu")
    second = ckb.Captioner(str(models["blip"]), device="cpu", batch_size=2)
    assert second.model is first.model
    half = ckb.Captioner(str(models["blip"]), device="cpu", dtype="bfloat16")
    assert half.model is not first.model and half.model.dtype == torch.bfloat16
    g1 = ckb.ImageGenerator(str(models["sd"]), device="cpu")
    g2 = ckb.ImageGenerator(str(models["sd"]), device="cpu")
    sliced = ckb.ImageGenerator(str(models["sd"]), device="cpu", attention_slicing=True)
    assert g1.pipe is g2.pipe and sliced.pipe is not g1.pipe
    ckb.clear_model_cache()
    assert ckb.Captioner(str(models["blip"]), device="cpu").model is not first.model


def test_models_are_frozen(models):
    captioner = ckb.Captioner(str(models["blip"]), device="cpu")
    assert not captioner.model.training
    assert not any(p.requires_grad for p in captioner.model.parameters())
    assert captioner.memory_bytes > 0


def test_pipeline_with_only_fp16_variant_files_loads(models, tmp_path):
    folder = tmp_path / "fp16-only"
    shutil.copytree(models["sd"], folder)
    for part in ("unet", "vae", "text_encoder"):
        for weights in (folder / part).glob("*.safetensors"):
            weights.rename(weights.with_name(weights.stem + ".fp16.safetensors"))
    generator = ckb.ImageGenerator(str(folder), device="cpu")
    reference = ckb.ImageGenerator(str(models["sd"]), device="cpu")
    a = generator.generate(["a dog"], steps=1)[0]
    b = reference.generate(["a dog"], steps=1)[0]
    assert np.array_equal(np.asarray(a), np.asarray(b))  # same weights, only the file names differ


def test_hub_layout_loads_without_the_excluded_files(models, tmp_path):
    """The layout that `hf download` with our patterns leaves: SD 1.5's model_index.json lists a
    safety checker whose folder was not fetched, tokenizers as vocab/merges files, and BLIP's image
    processor in the older preprocessor_config.json."""
    import json

    blip = tmp_path / "blip"
    shutil.copytree(models["blip"], blip)
    processor = json.loads((blip / "processor_config.json").read_text())
    (blip / "preprocessor_config.json").write_text(
        json.dumps({**processor["image_processor"], "processor_class": "BlipProcessor"}))
    (blip / "processor_config.json").unlink()
    (blip / "tokenizer.json").unlink()  # leaves vocab.txt + tokenizer_config.json
    sd = tmp_path / "sd"
    shutil.copytree(models["sd"], sd)
    (sd / "tokenizer" / "tokenizer.json").unlink()
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(models["sd"].parent / ".tiny-sd-vocab" / name, sd / "tokenizer" / name)
    index = json.loads((sd / "model_index.json").read_text())
    index.update(safety_checker=["stable_diffusion", "StableDiffusionSafetyChecker"],
                 feature_extractor=["transformers", "CLIPImageProcessor"], requires_safety_checker=True)
    (sd / "model_index.json").write_text(json.dumps(index))

    image = np.zeros((24, 24, 3), np.uint8)
    assert ckb.Captioner(str(blip), device="cpu").caption([image]) == \
        ckb.Captioner(str(models["blip"]), device="cpu").caption([image])
    generator = ckb.ImageGenerator(str(sd), device="cpu")
    assert generator.pipe.safety_checker is None
    assert np.array_equal(np.asarray(generator.generate(["a dog"], steps=1)[0]),
                          np.asarray(ckb.ImageGenerator(str(models["sd"]), device="cpu").generate(["a dog"], steps=1)[0]))


def test_repr_shows_the_state(models):
    text = repr(ckb.Captioner(str(models["blip"]), device="cpu"))
    assert "device='cpu'" in text and "dtype='float32'" in text and str(models["blip"]) in text
    assert "size=16px" in repr(ckb.ImageGenerator(str(models["sd"]), device="cpu"))


def test_image_mode_available_needs_both_ends(models):
    assert ckb.image_mode_available(str(models["blip"]), str(models["sd"]))
    assert not ckb.image_mode_available(str(models["blip"]), FAKE_ID)
    assert not ckb.image_mode_available(FAKE_ID, str(models["sd"]))
