"""`vlmcsc caption` and `vlmcsc generate` end to end on tiny models: outputs, files, and clean errors."""

import argparse
import json

import numpy as np
import pytest
import torch
from PIL import Image

from tiny_ckb import make_tiny_blip, make_tiny_sd
from vlmcsc.model import ckb


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckb_cli")
    return {"blip": str(make_tiny_blip(root)), "sd": str(make_tiny_sd(root))}


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def _run(adder, runner, argv):
    parser = argparse.ArgumentParser()
    adder(parser)
    return runner(parser.parse_args(argv))


def test_caption_then_generate(models, image_folder, tmp_path, capsys):
    captions_json = tmp_path / "captions.json"
    rc = _run(ckb.add_caption_arguments, ckb.main_caption,
              [str(image_folder), "--model", models["blip"], "--device", "cpu", "--max-new-tokens", "6",
               "--json", str(captions_json)])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith(str(image_folder / "0.png") + "\t")
    rows = json.loads(captions_json.read_text())
    assert [r["file"] for r in rows] == [str(image_folder / f"{i}.png") for i in range(3)]

    out = tmp_path / "generated"
    rc = _run(ckb.add_generate_arguments, ckb.main_generate,
              ["--captions-file", str(captions_json), "--model", models["sd"], "--device", "cpu",
               "--steps", "2", "--seed", "4", "--out", str(out)])
    assert rc == 0
    index = json.loads((out / "captions.json").read_text())
    assert [r["caption"] for r in index] == [r["caption"] for r in rows]
    assert [r["seed"] for r in index] == [4, 5, 6]
    with Image.open(out / "0002.png") as image:
        assert image.size == (16, 16)


def test_generate_from_arguments_and_text_file(models, tmp_path):
    text = tmp_path / "captions.txt"
    text.write_text("a dog\n\na cat\n")
    out = tmp_path / "out"
    rc = _run(ckb.add_generate_arguments, ckb.main_generate,
              ["a red car", "--captions-file", str(text), "--model", models["sd"], "--device", "cpu",
               "--steps", "1", "--out", str(out)])
    assert rc == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["0000.png", "0001.png", "0002.png"]


def test_missing_weights_is_a_short_message(image_folder, capsys):
    rc = _run(ckb.add_caption_arguments, ckb.main_caption,
              [str(image_folder), "--model", "vlmcsc-test/no-such-model", "--local-files-only"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "vlmcsc-test/no-such-model" in err and "hf download" in err and "Traceback" not in err
    rc = _run(ckb.add_generate_arguments, ckb.main_generate,
              ["a dog", "--model", "vlmcsc-test/no-such-model", "--local-files-only"])
    assert rc == 2 and "Stable Diffusion model" in capsys.readouterr().err


def test_cuda_without_cuda_and_bad_input(models, image_folder, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rc = _run(ckb.add_caption_arguments, ckb.main_caption,
              [str(image_folder), "--model", models["blip"], "--device", "cuda"])
    assert rc == 2 and "CUDA is not available" in capsys.readouterr().err
    rc = _run(ckb.add_caption_arguments, ckb.main_caption, [str(tmp_path / "nothing-here")])
    assert rc == 2 and "neither an image file nor a folder" in capsys.readouterr().err
    rc = _run(ckb.add_generate_arguments, ckb.main_generate, ["--model", models["sd"]])
    assert rc == 2 and "no captions given" in capsys.readouterr().err


def test_registered_in_the_vlmcsc_command(models, image_folder, monkeypatch, capsys):
    from vlmcsc.flowgraphs import cli

    monkeypatch.setattr("sys.argv", ["vlmcsc"])
    rc = cli.main(["caption", str(image_folder / "1.png"), "--model", models["blip"], "--device", "cpu"])
    assert rc == 0
    assert capsys.readouterr().out.startswith(str(image_folder / "1.png") + "\t")
