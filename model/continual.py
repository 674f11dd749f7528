"""Continual learning of the semantic codec: one training loop, six methods, one accuracy matrix.

A *stage* is a task (a corpus of token ids) trained for ``steps`` optimizer steps at an SNR range.
:func:`run_sequence` trains a codec through the stages with one of

- ``plain``: fine-tuning, no protection against forgetting;
- ``med``: MED replay (:class:`~vlmcsc.model.memory.MedMemory`, selection by representativeness);
- ``reservoir``: plain replay from a reservoir sample of the stream, same memory and replay share;
- ``ewc``: elastic weight consolidation (Kirkpatrick et al. 2017, PNAS 114(13)): after each stage the
  diagonal empirical Fisher F and the weights theta* are stored, later stages add
  (lambda/2) * sum_i F_i (theta_i - theta*_i)^2 (online form: Fishers of stages are summed);
- ``lwf``: learning without forgetting (Li & Hoiem 2017, TPAMI 40(12)): a frozen copy of the codec
  from the end of the previous stage; the loss adds alpha * T^2 * KL(old || new) of the per-token
  output distributions at temperature T on the new batch, through the same channel noise;
- ``joint``: the upper bound: every stage trains on the union of all tasks so far.

"Equal" across methods: the same number of optimizer steps per stage and the same batch size
(replayed samples take ``replay_fraction`` of each batch's slots, they are not added on top), and
the same memory (MED holds at most ``memory_size`` samples, LTM + STM; the reservoir holds
``memory_size``). EWC stores two copies of the weights, LwF one copy of the codec instead.

The loss is the codec's token cross-entropy after the channel (``model/channels.py``; SNR is Es/N0
per complex symbol). After every stage ``evaluate(codec, stage_index)`` is called; its return value
(task -> score) forms one row of the accuracy matrix.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .symbol_channels import symbol_channel
from .memory import MedMemory, ReservoirMemory

METHODS = ("plain", "med", "reservoir", "ewc", "lwf", "joint")


@dataclass
class Stage:
    """One stage: ``name`` (task label), training token ids, SNR range (dB, Es/N0) drawn uniformly."""

    name: str
    seqs: list
    snr_db: tuple = (0.0, 15.0)


@dataclass
class ContinualConfig:
    """Knobs of :func:`run_sequence` (defaults: the quick form)."""

    steps: int = 200                  # optimizer steps per stage
    batch_size: int = 32
    lr: float = 2e-3
    warmup: int = 20
    channels: tuple = ("awgn", "rayleigh", "ofdm")
    channel_p: tuple = (0.5, 0.25, 0.25)
    replay_fraction: float = 0.5      # share of each batch's slots given to replayed samples
    memory_size: int = 500            # samples any replay method may hold
    stm_size: int = 100               # MED: STM part of memory_size
    admit_quantile: float = 0.5       # MED: share of a typical STM rejected
    med_evict: str = "dense"          # MED: over-quota rule, "dense" or "random" (ablation)
    ewc_lambda: float = 50.0
    fisher_batches: int = 10
    lwf_alpha: float = 1.0
    lwf_temperature: float = 2.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.steps <= 0 or self.batch_size <= 1:
            raise ValueError(f"steps must be > 0 and batch_size > 1, got {self.steps}, {self.batch_size}")
        if not 0.0 <= self.replay_fraction < 1.0:
            raise ValueError(f"replay_fraction must be in [0, 1), got {self.replay_fraction}")
        if not 1 < self.stm_size < self.memory_size:
            raise ValueError(f"need 1 < stm_size < memory_size, got {self.stm_size}, {self.memory_size}")


def batch_tensors(seqs: list, pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists -> ids [B, T] long and pad mask [B, T] bool."""
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.as_tensor(s)
    return ids.to(device), (ids == pad_id).to(device)


def token_logits(net, ids, pad, snr, kinds, gen) -> torch.Tensor:
    """Logits [B, T, V] after the channel kinds (one per frame) at ``snr`` [B] dB, at the codec's
    configured symbols per token (the per-symbol channel of :mod:`.symbol_channels`, as in training)."""
    k = torch.full((ids.shape[0],), net.cfg.symbols_per_token, device=ids.device)
    return net(ids, pad, snr, k, lambda x, sent, s: symbol_channel(x, sent, s, kinds, gen))


def token_ce(logits, ids, pad) -> torch.Tensor:
    target = ids.masked_fill(pad, -100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


def mean_feature(net, ids, pad, snr) -> np.ndarray:
    """Mean-pooled MED-encoder feature [B, width] (what MED's selection scores)."""
    with torch.no_grad():
        h = net.semantic(ids, pad, snr)
        keep = (~pad)[..., None].float()
        return ((h * keep).sum(1) / keep.sum(1)).cpu().numpy()


def lr_at(step: int, steps: int, base: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 10 % within each stage."""
    if step < warmup:
        return base * (step + 1) / warmup
    frac = (step - warmup) / max(1, steps - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0))))


class EWC:
    """Online EWC penalty: (lambda/2) sum_i F_i (theta_i - theta*_i)^2 over the stored stages."""

    def __init__(self, lam: float):
        self.lam = lam
        self.fisher: dict[str, torch.Tensor] = {}
        self.anchor: dict[str, torch.Tensor] = {}

    def consolidate(self, net, batches: list[tuple]) -> None:
        """Add the empirical Fisher of ``batches`` [(ids, pad, snr, kinds, gen)] and anchor the weights.

        Each batch's squared mean gradient is multiplied by the batch size, which estimates the
        per-sample Fisher (the variance of a mean of B gradients is F/B).
        """
        params = {n: p for n, p in net.named_parameters() if p.requires_grad}
        fisher = {n: torch.zeros_like(p) for n, p in params.items()}
        net.eval()
        for ids, pad, snr, kinds, gen in batches:
            net.zero_grad(set_to_none=True)
            token_ce(token_logits(net, ids, pad, snr, kinds, gen), ids, pad).backward()
            for n, p in params.items():
                if p.grad is not None:
                    fisher[n] += p.grad.detach() ** 2 * ids.shape[0] / len(batches)
        net.zero_grad(set_to_none=True)
        net.train()
        for n in params:
            self.fisher[n] = self.fisher.get(n, 0.0) + fisher[n]
            self.anchor[n] = params[n].detach().clone()

    def penalty(self, net) -> torch.Tensor:
        if not self.fisher:
            return torch.zeros(())
        total = 0.0
        for n, p in net.named_parameters():
            if n in self.fisher:
                total = total + (self.fisher[n] * (p - self.anchor[n]) ** 2).sum()
        return 0.5 * self.lam * total


def distillation(new_logits, old_logits, pad, temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(old/T) || softmax(new/T)), mean over non-pad tokens (Hinton et al. 2015)."""
    keep = ~pad
    t = temperature
    p_old = F.softmax(old_logits[keep] / t, dim=-1)
    logp_new = F.log_softmax(new_logits[keep] / t, dim=-1)
    return (t * t) * F.kl_div(logp_new, p_old, reduction="batchmean")


def run_sequence(codec, stages: list[Stage], method: str, cfg: ContinualConfig, seed: int,
                 evaluate: Callable, start_state: dict | None = None, progress=None) -> dict:
    """Train ``codec`` (a :class:`~vlmcsc.model.codec.SemanticCodec`, modified in place) through ``stages``.

    :param method: one of :data:`METHODS`.
    :param evaluate: ``evaluate(codec, stage_index) -> {task: score}`` called after each stage (the
        codec is in eval mode during the call).
    :param start_state: resume after stage 0 from :func:`stage0_state` (the first stage is the same
        for every method, so it can be trained once and shared); ``None`` trains every stage.
    :returns: {"matrix": [[score of task j after stage i]], "tasks": [...], "memory": task counts,
        "admitted": share of scored STM samples MED admitted (MED only)}.
    :raises ValueError: unknown method, empty stage.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    for st in stages:
        if not st.seqs:
            raise ValueError(f"stage {st.name!r} has no training samples")
        longest = max(len(q) for q in st.seqs)
        if longest > codec.max_tokens:
            raise ValueError(f"stage {st.name!r} has a sample of {longest} tokens, more than the codec's "
                             f"max_tokens={codec.max_tokens}; filter the corpus first")
    net = codec.net
    device = codec.device
    rng = np.random.default_rng([seed, 7])
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=0.01)
    memory = None
    if method == "med":
        memory = MedMemory(cfg.stm_size, cfg.memory_size - cfg.stm_size, seed=seed,
                           admit_quantile=cfg.admit_quantile, evict=cfg.med_evict)
    elif method == "reservoir":
        memory = ReservoirMemory(cfg.memory_size, seed=seed)
    ewc = EWC(cfg.ewc_lambda) if method == "ewc" else None
    old_net = None
    rows: list = []
    first = 0
    if start_state is not None:
        net.load_state_dict(start_state["net"])
        opt.load_state_dict(start_state["opt"])
        rows.append(start_state["row"])
        first = 1
        if memory is not None:
            for seqs, snr in start_state["stream"]:
                ids, pad = batch_tensors(seqs, codec.pad_id, device)
                feat = mean_feature(net, ids, pad, torch.as_tensor(snr, dtype=torch.float32, device=device))
                memory.add(seqs, feat, task=0, snr_db=snr)
        if ewc is not None:
            ewc.consolidate(net, _fisher_batches(codec, stages[0], cfg, rng))
    stream: list = []
    for si in range(first, len(stages)):
        st = stages[si]
        if method == "lwf" and si > 0:
            old_net = copy.deepcopy(net).eval()
            for p in old_net.parameters():
                p.requires_grad_(False)
        pools = [s.seqs for s in stages[: si + 1]] if method == "joint" else [st.seqs]
        net.train()
        for step in range(cfg.steps):
            n_new = cfg.batch_size
            replay = []
            if memory is not None and si > 0 and len(memory):
                n_new = max(1, int(round(cfg.batch_size * (1 - cfg.replay_fraction))))
                replay = memory.sample_items(cfg.batch_size - n_new)
            if len(pools) == 1:
                new = [pools[0][k] for k in rng.integers(0, len(pools[0]), n_new)]
            else:
                which = rng.integers(0, len(pools), n_new)
                new = [pools[w][int(rng.integers(0, len(pools[w])))] for w in which]
            snr_new = rng.uniform(st.snr_db[0], st.snr_db[1], n_new)
            snr_rep = [r.snr_db if r.snr_db is not None else rng.uniform(*st.snr_db) for r in replay]
            seqs = new + [r[0] for r in replay]
            ids, pad = batch_tensors(seqs, codec.pad_id, device)
            snr = torch.as_tensor(np.concatenate([snr_new, snr_rep]), dtype=torch.float32, device=device)
            kinds = list(rng.choice(list(cfg.channels), size=len(seqs), p=list(cfg.channel_p)))
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg.steps, cfg.lr, cfg.warmup)
            gseed = int(rng.integers(0, 2**31))
            logits = token_logits(net, ids, pad, snr, kinds, torch.Generator(device=device).manual_seed(gseed))
            loss = token_ce(logits, ids, pad)
            if ewc is not None:
                loss = loss + ewc.penalty(net)
            if old_net is not None:
                with torch.no_grad():
                    old = token_logits(old_net, ids, pad, snr, kinds,
                                       torch.Generator(device=device).manual_seed(gseed))
                loss = loss + cfg.lwf_alpha * distillation(logits, old, pad, cfg.lwf_temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            if si == 0:
                stream.append((new, snr_new))
            if memory is not None:
                nid, npad = ids[:n_new], pad[:n_new]
                feat = mean_feature(net, nid, npad, snr[:n_new]) if method == "med" else None
                memory.add(new, feat, task=si, snr_db=snr_new)
            if progress is not None:
                progress(si, step, float(loss.item()))
        net.eval()
        if ewc is not None and si < len(stages) - 1:
            ewc.consolidate(net, _fisher_batches(codec, st, cfg, rng))
        rows.append(evaluate(codec, si))
        if si == 0:
            # what a later call with start_state needs to skip stage 0 (same for every method)
            last_stage0 = {"net": copy.deepcopy(net.state_dict()), "opt": copy.deepcopy(opt.state_dict()),
                           "row": rows[0], "stream": stream}
    out = {"matrix": [[row[s.name] for s in stages] for row in rows], "tasks": [s.name for s in stages]}
    if memory is not None:
        out["memory"] = {str(k): v for k, v in memory.task_counts().items()}
    if isinstance(memory, MedMemory):
        out["admitted"] = memory.admitted / max(1, memory.scored)
        out["calibration"] = {str(k): v for k, v in memory.calibration.items()}
    if first == 0:
        out["stage0_state"] = last_stage0
    return out


def _fisher_batches(codec, stage: Stage, cfg: ContinualConfig, rng) -> list:
    out = []
    for _ in range(cfg.fisher_batches):
        seqs = [stage.seqs[k] for k in rng.integers(0, len(stage.seqs), cfg.batch_size)]
        ids, pad = batch_tensors(seqs, codec.pad_id, codec.device)
        snr = torch.as_tensor(rng.uniform(*stage.snr_db, len(seqs)), dtype=torch.float32, device=codec.device)
        kinds = list(rng.choice(list(cfg.channels), size=len(seqs), p=list(cfg.channel_p)))
        out.append((ids, pad, snr, kinds, torch.Generator(device=codec.device).manual_seed(int(rng.integers(0, 2**31)))))
    return out


def forgetting(matrix: list) -> float:
    """Average forgetting (Chaudhry et al. 2018): mean over tasks j < last of
    max_{i < last} a[i][j] - a[last][j], with a[i][j] the score of task j after stage i (i >= j)."""
    a = np.asarray(matrix, np.float64)
    last = a.shape[0] - 1
    if last == 0:
        return 0.0
    drops = [max(a[j:last, j]) - a[last, j] for j in range(last)]
    return float(np.mean(drops))


def average_accuracy(matrix: list) -> float:
    """Mean score over all tasks after the last stage."""
    return float(np.mean(np.asarray(matrix, np.float64)[-1]))
