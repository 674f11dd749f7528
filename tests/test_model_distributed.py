"""Data-parallel training: sharded gradients equal the one-process gradient; ``vlmcsc train`` under
torchrun (2 CPU processes, gloo) writes one log from rank 0, resumes, and follows the one-process loss
curve; device and precision errors are one line."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vlmcsc.model import train
from vlmcsc.model.distributed import DistContext, Precision, setup

CAPTIONS = [
    "a dog runs across the green grass .", "two children play football in a park .",
    "a man in a red shirt rides a bicycle .", "a black cat sleeps on a wooden chair .",
    "people walk along the beach at sunset .", "a girl jumps into a swimming pool .",
    "an old man reads a newspaper on a bench .", "three birds sit on a wire .",
]


def write_fake_flickr(root: Path, images: int = 40) -> Path:
    """A tiny Flickr8k-shaped data folder (captions only)."""
    folder = root / "flickr8k_captions"
    folder.mkdir(parents=True)
    lines, train_ids, test_ids = [], [], []
    for i in range(images):
        image = f"{i}.jpg"
        (test_ids if i >= images - 4 else train_ids).append(image)
        for k in range(3):
            lines.append(f"{image}#{k}\t{CAPTIONS[(i + k) % len(CAPTIONS)]}")
    (folder / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    (folder / "Flickr_8k.trainImages.txt").write_text("\n".join(train_ids) + "\n")
    (folder / "Flickr_8k.testImages.txt").write_text("\n".join(test_ids) + "\n")
    (folder / "Flickr_8k.devImages.txt").write_text("\n")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the arithmetic: 2 gloo processes vs one ------------------------------------------------------
def _batch():
    from vlmcsc.model.codec import CodecConfig, CodecNet

    torch.manual_seed(0)
    net = CodecNet(CodecConfig(vocab_size=50, width=32, heads=4, layers=1, ff=64, symbols_per_token=4)).eval()
    gen = torch.Generator().manual_seed(1)
    lengths = [3, 7, 5, 9, 2, 6, 8]  # odd batch, unequal lengths: the token weighting matters
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    pad = torch.ones_like(ids, dtype=torch.bool)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(4, 50, (n,), generator=gen)
        pad[i, :n] = False
    snr = torch.linspace(0, 10, len(lengths))
    return net, ids, pad, snr, ["awgn"] * len(lengths)


def _loss(net, ids, pad, snr):
    # no noise and no dropout (eval mode): the only difference left is the sharding
    import torch.nn.functional as F

    k = torch.full((ids.shape[0],), net.cfg.symbols_per_token)
    logits = net(ids, pad, snr, k, lambda x, sent, s: (x, torch.zeros(x.shape), s))  # noiseless channel
    target = ids.masked_fill(pad, -100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


class _Saved:
    def __init__(self, value):
        self.value = value

    def save_pretrained(self, folder):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "v.json").write_text(json.dumps(self.value))


def _rank_main(rank: int, port: int, folder: str, results: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    ctx = setup("cpu")
    net, ids, pad, snr, kinds = _batch()
    r_ids, r_pad, r_snr, _, share = ctx.shard(ids, pad, snr, kinds)
    loss = _loss(net, r_ids, r_pad, r_snr)
    (loss * share).backward()
    ctx.all_reduce_grads(net)
    glob = ctx.global_loss(loss, share)
    # rank 0 builds, rank 1 must get rank 0's object, not its own
    got = ctx.build_on_main(lambda: _Saved({"built_by": rank}), Path(folder),
                            lambda f: _Saved(json.loads((Path(f) / "v.json").read_text())))
    flat = torch.cat([p.grad.reshape(-1) for p in net.parameters() if p.grad is not None])
    np.save(Path(results) / f"grad{rank}.npy", flat.numpy())
    (Path(results) / f"info{rank}.json").write_text(json.dumps({"loss": glob, "built_by": got.value["built_by"],
                                                               "rows": int(r_ids.shape[0])}))
    ctx.close()


def test_sharded_gradient_equals_one_process_gradient(tmp_path):
    import torch.multiprocessing as tmp_mp

    tmp_mp.start_processes(_rank_main, args=(free_port(), str(tmp_path / "shared"), str(tmp_path)),
                           nprocs=2, start_method="spawn")
    net, ids, pad, snr, _ = _batch()
    loss = _loss(net, ids, pad, snr)
    loss.backward()
    ref = torch.cat([p.grad.reshape(-1) for p in net.parameters() if p.grad is not None]).numpy()
    infos = [json.loads((tmp_path / f"info{r}.json").read_text()) for r in (0, 1)]
    assert [i["rows"] for i in infos] == [4, 3]
    for r in (0, 1):
        grad = np.load(tmp_path / f"grad{r}.npy")
        assert np.allclose(grad, ref, rtol=1e-4, atol=1e-6), np.abs(grad - ref).max()
        assert infos[r]["loss"] == pytest.approx(float(loss.detach()), rel=1e-5)
        assert infos[r]["built_by"] == 0
    assert not (tmp_path / "shared").exists()  # the hand-over folder is removed


def test_single_process_context_is_a_no_op():
    ctx = setup("cpu", env={})
    assert not ctx.active and ctx.is_main and ctx.device == torch.device("cpu")
    net, ids, pad, snr, kinds = _batch()
    out = ctx.shard(ids, pad, snr, kinds)
    assert out[0] is ids and out[4] == 1.0
    assert ctx.max(3.5) == 3.5
    assert ctx.build_on_main(lambda: "x", Path("/nonexistent"), lambda f: "y") == "x"


def test_device_and_precision_errors_are_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert Precision(torch.device("cpu"), "auto").name == "fp32"
    assert Precision(torch.device("cpu"), "bf16").dtype == torch.bfloat16
    with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
        Precision(torch.device("cpu"), "fp16")
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    assert train.main(p.parse_args(["--out", str(tmp_path / "x"), "--device", "cuda"])) == 2
    err = capsys.readouterr().err
    assert "vlmcsc train: device 'cuda' requested but CUDA is not available" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


# -- the command: torchrun --nproc_per_node=2 ... vlmcsc train --------------------------------------
TINY = ["--width", "32", "--heads", "4", "--layers", "1", "--ff", "64", "--vocab-size", "80",
        "--symbols-per-token", "4", "--tokenizer-corpora", "flickr8k", "--batch-size", "8",
        "--warmup", "2", "--threads", "1", "--no-progress", "--device", "cpu", "--seed", "3",
        "--lr", "3e-3", "--save-every", "1"]
# the README's command (docs/scale.md), run verbatim plus the tiny-model arguments above
README_DDP = "torchrun --standalone --nproc_per_node=2 --no-python vlmcsc train --out runs/ddp --threads 1"


def _curve(folder: Path) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in map(json.loads, (folder / "train_log.jsonl").read_text().splitlines())]


@pytest.mark.slow
def test_torchrun_two_processes_resume_and_loss_curve(tmp_path, monkeypatch):
    if shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("torchrun is not installed beside this Python")
    data = write_fake_flickr(tmp_path / "data")
    monkeypatch.setenv("VLMCSC_DATA", str(data))
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    init, one = tmp_path / "init", tmp_path / "one"
    assert train.main(p.parse_args(["--out", str(init), "--steps", "1", *TINY])) == 0
    # the one-process reference is interrupted and resumed at the same step as the torchrun job (the
    # logged loss is a running mean that restarts on resume)
    for extra in (["--stop-at", "3"], ["--resume"]):
        assert train.main(p.parse_args(["--out", str(one), "--steps", "6", "--init", str(init), *TINY, *extra])) == 0

    env = {**os.environ, "VLMCSC_DATA": str(data), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    cmd = README_DDP.split() + [*TINY, "--steps", "6", "--init", str(init)]
    # interrupted after 3 steps, then resumed: one job of 6 steps in two launches
    for extra in (["--stop-at", "3"], ["--resume"]):
        proc = subprocess.run(cmd + extra, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stderr.count("codec: ") == 1  # only rank 0 talks
    ddp = tmp_path / "runs" / "ddp"
    assert "resumed at step 3" in proc.stderr
    assert sorted(x.name for x in ddp.iterdir()) == ["checkpoint", "config.json", "model.safetensors",
                                                     "tokenizer.json", "train_log.jsonl"]
    meta = json.loads((ddp / "config.json").read_text())
    two, single = _curve(ddp), _curve(one)
    assert [s for s, _ in two] == [s for s, _ in single] == [1, 2, 3, 4, 5, 6]
    two = dict(two)
    # same seed, same global batches: curves agree up to noise/dropout draws (measured < 2 %)
    diffs = [abs(two[s] - l) / l for s, l in single]
    assert max(diffs) < 0.05, diffs
    assert meta["training"]["processes"] == 2 and meta["training"]["steps_done"] == 6


def test_bf16_autocast_step_runs_on_the_cpu_and_tracks_fp32():
    """The mixed-precision code path (bf16 autocast; the codec's complex glue kept in float32)."""
    from vlmcsc.model.symbol_channels import symbol_channel

    losses = {}
    for name in ("fp32", "bf16"):
        net, ids, pad, snr, kinds = _batch()
        amp = Precision(torch.device("cpu"), name)
        amp.attach(net)
        gen = torch.Generator().manual_seed(5)
        with amp.autocast():
            import torch.nn.functional as F

            k = torch.full((ids.shape[0],), net.cfg.symbols_per_token)
            logits = net(ids, pad, snr, k, lambda x, sent, s: symbol_channel(x, sent, s, kinds, gen))
            target = ids.masked_fill(pad, -100)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1), ignore_index=-100)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
        amp.backward(loss)
        amp.step(opt, net.parameters(), 1.0)
        assert all(torch.isfinite(p).all() for p in net.parameters())
        losses[name] = float(loss.detach())
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.02)
