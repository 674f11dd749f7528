"""Training across processes and GPUs: the torchrun/DDP plumbing of ``vlmcsc train``.

``vlmcsc train`` runs unchanged in one process; under ``torchrun --nproc_per_node=N`` (which sets
``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT``) every process joins one
process group (gloo on the CPU, NCCL on GPUs, one GPU per process: ``cuda:LOCAL_RANK``).

How a step is shared (data parallel, the same arithmetic as one process):
- every rank draws the same global batch (same seed, same NumPy generator), then keeps every
  N-th sample from its rank on (:meth:`DistContext.shard`; a length-sorted batch splits into
  shards of similar token counts);
- the rank's token-mean loss is weighted by its share of the batch's tokens, so the SUM of the
  gradients over ranks (:meth:`DistContext.all_reduce_grads`, one flat all-reduce) is the gradient
  of the global token-mean loss, as in one process;
- channel noise and dropout draw from a per-rank torch seed, so they differ from the one-process
  run draw by draw but not in distribution: loss curves agree within noise, not bit for bit;
- only rank 0 writes logs and checkpoints; all ranks resume from the same checkpoint.

Mixed precision (:class:`Precision`): ``bf16`` autocast (no loss scaling needed) or ``fp16``
autocast with a gradient scaler; ``auto`` is bf16 on CUDA devices that support it and fp32
elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist

from .ckb import DeviceUnavailableError, resolve_device

__all__ = ["DistContext", "Precision", "setup", "DeviceUnavailableError", "resolve_device"]


@dataclass
class DistContext:
    """Where this process sits in the job. ``world_size == 1``: a plain single-process run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str | None = None

    @property
    def active(self) -> bool:
        """True under torchrun with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes logs, checkpoints and the final codec."""
        return self.rank == 0

    # -- the batch ----------------------------------------------------------------------------
    def shard(self, ids: torch.Tensor, pad: torch.Tensor, snr: torch.Tensor, kinds: list) -> tuple:
        """This rank's part of a global batch and its token share.

        :param ids: [B, T] long token ids; ``pad`` [B, T] bool (True = padding); ``snr`` [B] dB;
            ``kinds`` list of B channel names
        :returns: (ids [b, T], pad [b, T], snr [b], kinds [b], share) with b = ceil((B - rank) / N)
            and ``share`` = this rank's non-pad tokens / the batch's (a float; 1.0 in one process)
        """
        if not self.active:
            return ids, pad, snr, kinds, 1.0
        sel = slice(self.rank, None, self.world_size)
        total = int((~pad).sum())
        mine = int((~pad[sel]).sum())
        return ids[sel], pad[sel], snr[sel], list(kinds)[sel], mine / max(1, total)

    # -- collectives ----------------------------------------------------------------------------
    def all_reduce_grads(self, module: torch.nn.Module) -> None:
        """Sum every parameter's gradient over the ranks (one flat buffer; missing grads count as 0)."""
        if not self.active:
            return
        params = [p for p in module.parameters() if p.requires_grad]
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for p in params:
            n = p.numel()
            p.grad = flat[offset: offset + n].view_as(p).clone()
            offset += n

    def global_loss(self, loss: torch.Tensor, share: float) -> float:
        """The global batch's token-mean loss from each rank's (loss, share); a Python float."""
        if not self.active:
            return float(loss.detach())
        value = (loss.detach().float() * share).reshape(1).to(self.device)
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return float(value)

    def max(self, value: float) -> float:
        """The largest ``value`` over the ranks (so that every rank takes the same decision)."""
        if not self.active:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t)

    def broadcast_params(self, module: torch.nn.Module) -> None:
        """Rank 0's parameters and buffers to every rank (start from identical weights)."""
        if not self.active:
            return
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)

    def barrier(self) -> None:
        if self.active:
            if self.backend == "nccl":
                dist.barrier(device_ids=[self.device.index or 0])
            else:
                dist.barrier()

    def seed_torch(self, seed: int, step: int = 0) -> None:
        """Per-rank torch seed (noise, dropout) on ranks > 0; rank 0 keeps the one-process stream."""
        if self.active and not self.is_main:
            torch.manual_seed((int(seed) * 1_000_003 + self.rank * 7_919 + int(step)) % (2**63 - 1))

    def build_on_main(self, build: Callable[[], object], folder: Path, load: Callable[[Path], object]):
        """``build()`` on rank 0 only, shared through ``folder`` (``save_pretrained``/``load``).

        A fresh codec trains its tokenizer, whose tie-breaking follows the process's hash seed: built
        on every rank it could number word pieces differently. Rank 0 builds and saves it, the
        others load the same files; the folder is removed afterwards.
        """
        if not self.active:
            return build()
        obj = None
        if self.is_main:
            obj = build()
            obj.save_pretrained(folder)
        self.barrier()
        if not self.is_main:
            obj = load(folder)
        self.barrier()
        if self.is_main:
            shutil.rmtree(folder, ignore_errors=True)
        return obj

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def setup(device: str = "auto", env: dict | None = None) -> DistContext:
    """The process group for this run, from torchrun's environment (one process without it).

    :param device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` (single process; under torchrun a CUDA
        run uses ``cuda:LOCAL_RANK``)
    :param env: environment to read (default ``os.environ``)
    :raises DeviceUnavailableError: CUDA asked for but absent, or fewer GPUs than local ranks
    """
    env = os.environ if env is None else env
    world = int(env.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return DistContext(device=resolve_device(device))
    rank, local_rank = int(env["RANK"]), int(env.get("LOCAL_RANK", env["RANK"]))
    base = resolve_device(device)
    if base.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"local rank {local_rank} needs GPU {local_rank} but only {torch.cuda.device_count()} "
                "exist; start at most that many processes per node (--nproc_per_node)")
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
        backend = "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world)
    return DistContext(rank=rank, world_size=world, local_rank=local_rank, device=dev, backend=backend)


class Precision:
    """Autocast + (for fp16) gradient scaling around a training step.

    :param device: the torch device the step runs on
    :param name: ``auto`` (bf16 on a CUDA device that supports it, else fp32), ``fp32``, ``bf16``
        or ``fp16`` (fp16 only on CUDA)
    :raises ValueError: unknown name, or fp16 asked for on the CPU
    """

    def __init__(self, device: torch.device, name: str = "auto") -> None:
        if name not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"--precision must be auto, fp32, bf16 or fp16, got {name!r}")
        if name == "auto":
            name = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
        if name == "fp16" and device.type != "cuda":
            raise ValueError("--precision fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
        self.name = name
        self.device = device
        self.dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[name]
        self.scaler = torch.amp.GradScaler("cuda") if name == "fp16" else None

    def attach(self, net: torch.nn.Module) -> None:
        """Make ``net``'s top-level blocks hand float32 to whatever follows them (reduced precision only).

        Inside autocast a block's output is bf16/fp16; the codec then builds complex symbols and
        runs the channel on them, and ``torch.complex`` has no bf16 (nor should power normalisation
        and noise run in 8 mantissa bits). So matmuls stay in reduced precision and the glue
        between blocks runs in float32.
        """
        if self.dtype is None:
            return

        def to_float(_module, _inputs, output):
            if torch.is_tensor(output) and output.dtype in (torch.bfloat16, torch.float16):
                return output.float()
            return output

        for child in net.children():
            child.register_forward_hook(to_float)

    def autocast(self):
        """Context for the forward pass (and loss); a no-op in fp32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, opt: torch.optim.Optimizer, params, clip: float = 1.0) -> None:
        """Unscale (fp16), clip the gradient norm to ``clip``, step, update the scale."""
        if self.scaler is not None:
            self.scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, clip)
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()
