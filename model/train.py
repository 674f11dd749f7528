"""``vlmcsc train``: train the semantic codec (one corpus, or a continual-learning task sequence).

One readable loop: random captions, SNR drawn uniformly per sample, channel kind drawn per sample
(AWGN / block Rayleigh with LS estimate / OFDM-effective), token cross-entropy, AdamW with warm-up
and cosine decay. Checkpoints (safetensors + JSON) are written every ``--save-every`` steps to
``OUT/checkpoint`` and ``--resume`` continues from there bit-for-bit in data order and RNG state.

Example (the shipped checkpoint, see docs/codec.md)::

    vlmcsc train --out runs/shipped --steps 6000 --threads 2

Across processes or GPUs (data parallel, see :mod:`.distributed` and docs/scale.md)::

    torchrun --standalone --nproc_per_node=2 --no-python vlmcsc train --out runs/ddp --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from .channels import CHANNELS, apply_channel
from .codec import CodecConfig, CodecNet, SemanticCodec
from .data import load_task
from .distributed import DeviceUnavailableError, Precision, setup as setup_distributed
from .memory import MedMemory
from .symbol_channels import symbol_channel
from .tokenizer import train_tokenizer


# --------------------------------------------------------------------------------------------
# command line
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output folder (final codec + checkpoint/ + train_log.jsonl)")
    p.add_argument("--data", default=None, help="data root (default: $VLMCSC_DATA or ../shared/data)")
    p.add_argument("--tasks", default="flickr8k",
                   help="comma-separated corpora trained in order (flickr8k,coco,europarl)")
    p.add_argument("--steps", type=int, default=6000, help="optimizer steps per task")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--snr-min", type=float, default=0.0, help="training SNR range, dB (Es/N0)")
    p.add_argument("--snr-max", type=float, default=10.0)
    p.add_argument("--fixed-snr", type=float, default=None,
                   help="train at one SNR (a fixed-SNR model, the NAM comparison baseline)")
    p.add_argument("--channels", default="awgn,rayleigh,ofdm",
                   help="channel kinds drawn per sample, optional weights: awgn:2,rayleigh:1,ofdm:1")
    p.add_argument("--symbols-per-token", type=int, default=8,
                   help="default rate (symbols per token) when no rate policy decides")
    p.add_argument("--max-symbols-per-token", type=int, default=16,
                   help="nested symbols the channel encoder makes per token")
    p.add_argument("--rates", default="2,3,4,6,8,12,16",
                   help="symbols per token drawn uniformly per caption while training (nested rates)")
    p.add_argument("--no-snr-input", action="store_true",
                   help="ablation control: every NAM and the per-symbol reliabilities see a constant")
    p.add_argument("--rarity-alpha", type=float, default=0.25,
                   help="token loss weight (count+1)^-alpha, normalised to mean 1 (0 = plain CE)")
    p.add_argument("--augment", type=float, default=0.1,
                   help="fraction of extra captions with one word respelt (random Unicode / rare tokens)")
    p.add_argument("--keep-at", default="",
                   help="comma-separated steps at which a codec snapshot OUT/step_N is kept")
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--ff", type=int, default=256)
    p.add_argument("--vocab-size", type=int, default=4000)
    p.add_argument("--tokenizer-corpora", default="flickr8k",
                   help="train splits the tokenizer is learned from")
    p.add_argument("--init", default=None, help="start from this codec folder (keeps its tokenizer)")
    p.add_argument("--memory", action="store_true", help="continual learning with MED memory replay")
    p.add_argument("--stm-size", type=int, default=500)
    p.add_argument("--ltm-size", type=int, default=2000)
    p.add_argument("--tau", type=float, default=None,
                   help="MED RBF width on unit-norm features (default: calibrated per task, model/memory.py)")
    p.add_argument("--threshold", type=float, default=None,
                   help="MED selection threshold lambda (default: calibrated per task, model/memory.py)")
    p.add_argument("--replay-fraction", type=float, default=0.5)
    p.add_argument("--memory-prefill", default=None, metavar="CORPUS:N",
                   help="with --init: fill the memory from N train samples of CORPUS first (the task "
                        "the initial codec was trained on), as if it had been built during that task")
    p.add_argument("--time-budget-min", type=float, default=0.0,
                   help="stop after this much training time (minutes, 0 = off); the LR schedule then "
                        "follows max(step fraction, time fraction) so a busy CPU still ends annealed")
    p.add_argument("--stop-at", type=int, default=0,
                   help="save and stop at this global step (0 = run to the end); --resume continues")
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--save-dtype", choices=["float32", "float16"], default="float32")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (under torchrun: cuda:LOCAL_RANK)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
                   help="mixed precision: auto = bf16 on a GPU that has it, fp32 on the CPU")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (per process)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")


def parse_channels(spec: str) -> tuple[list[str], np.ndarray]:
    """'awgn:2,rayleigh' -> (['awgn', 'rayleigh'], [2/3, 1/3])."""
    names, weights = [], []
    for part in spec.split(","):
        name, _, w = part.strip().partition(":")
        if name not in CHANNELS:
            raise ValueError(f"unknown channel {name!r} in --channels; choose from {CHANNELS}")
        names.append(name)
        weights.append(float(w) if w else 1.0)
    w = np.asarray(weights)
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"channel weights must be >= 0 and not all zero: {spec}")
    return names, w / w.sum()


# --------------------------------------------------------------------------------------------
# pieces of the loop
def to_batch(seqs: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.as_tensor(s)
    return ids.to(device), (ids == pad_id).to(device)


def tokenize_corpus(codec: SemanticCodec, texts: list[str]) -> list[list[int]]:
    """Token ids of every text the codec can carry (empty and over-long ones are skipped)."""
    out = []
    for ids in (codec.tokenizer.encode_batch(texts)):
        if 0 < len(ids.ids) <= codec.max_tokens:
            out.append(ids.ids)
    return out


def lr_at(step: int, total: int, base: float, warmup: int, time_frac: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to 10 % over max(step fraction, ``time_frac``)."""
    if step < warmup:
        return base * (step + 1) / warmup
    frac = max((step - warmup) / max(1, total - warmup), time_frac)
    return base * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0))))


def loss_on(net: CodecNet, ids, pad, snr, kinds, gen=None, k=None, weights=None) -> torch.Tensor:
    """Token cross-entropy after the channel (pads ignored).

    ``k``: symbols per token per caption ([B] long; default the config's rate); the channel is the
    per-symbol one of :mod:`.symbol_channels` (unbiased symbols + the receiver's noise variance).
    ``weights``: per-vocabulary-id loss weights [V] (rarity weighting) or ``None``.
    """
    if k is None:
        k = torch.full((ids.shape[0],), net.cfg.symbols_per_token, device=ids.device)
    logits = net(ids, pad, snr, k, lambda x, sent, s: symbol_channel(x, sent, s, kinds, gen))
    target = ids.masked_fill(pad, -100)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100,
                         reduction="none")
    keep = (~pad).reshape(-1).to(ce.dtype)
    if weights is not None:
        keep = keep * weights[ids.reshape(-1)]
    return (ce * keep).sum() / keep.sum().clamp_min(1e-6)


def rarity_weights(seqs: list[list[int]], vocab_size: int, alpha: float) -> torch.Tensor:
    """Loss weight per token id: (count + 1)^-alpha, scaled so the average over token occurrences
    is 1 and clipped to [0.2, 5]: rare content words (class names, nouns) weigh more than "a"."""
    counts = np.bincount(np.concatenate([np.asarray(s) for s in seqs]), minlength=vocab_size).astype(np.float64)
    w = (counts + 1.0) ** (-alpha)
    w = w / ((w * counts).sum() / counts.sum())
    return torch.as_tensor(np.clip(w, 0.2, 5.0), dtype=torch.float32)


def byte_level_text(token: str) -> str:
    """The text a byte-level token spells (its bytes decoded as UTF-8, invalid sequences replaced)."""
    from tokenizers import decoders

    return decoders.ByteLevel().decode([token]).strip() or "x"


def augment_texts(texts: list[str], tok, fraction: float, seed: int) -> list[str]:
    """``fraction * len(texts)`` extra captions with one word respelt: half as a random string of
    Unicode characters (accents, other scripts, symbols, emoji), half as a vocabulary entry the
    captions rarely or never produce, so every byte symbol and merge is seen in training."""
    if fraction <= 0:
        return []
    rng = np.random.default_rng([seed, 7])
    vocab = sorted(t for t in tok.get_vocab() if not t.startswith("["))  # sorted: get_vocab() is hash-ordered
    # entries the captions never produce (unused byte symbols, intermediate merges) come first, so
    # every vocabulary entry is seen in training
    from .tokenizer import token_coverage

    counts = token_coverage(tok, texts)
    unseen = [t for t in vocab if tok.token_to_id(t) not in counts]
    blocks = [(0x21, 0x7E), (0xC0, 0x17F), (0x370, 0x3FF), (0x400, 0x4FF), (0x4E00, 0x4FFF),
              (0x2000, 0x206F), (0x1F300, 0x1F64F), (0x80, 0xBF)]
    byte_decoder = None
    out = []
    for n, i in enumerate(rng.choice(len(texts), int(round(fraction * len(texts))), replace=True)):
        words = texts[int(i)].split(" ")
        j = int(rng.integers(len(words)))
        if n < len(unseen):
            words[j] = byte_level_text(unseen[n])
            out.append(" ".join(words))
            continue
        if rng.random() < 0.5:
            lo, hi = blocks[int(rng.integers(len(blocks)))]
            word = "".join(chr(int(c)) for c in rng.integers(lo, hi + 1, int(rng.integers(1, 5))))
        else:
            if byte_decoder is None:
                from tokenizers import decoders

                byte_decoder = decoders.ByteLevel()
            word = byte_decoder.decode([vocab[int(rng.integers(len(vocab)))]]).strip() or "x"
        words[j] = word
        out.append(" ".join(words))
    return out


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    tensors, meta = {}, {}
    for i, (k, st) in enumerate(opt.state_dict()["state"].items()):
        for name, v in st.items():
            if torch.is_tensor(v):
                tensors[f"opt.{k}.{name}"] = v.detach().cpu().contiguous()
            else:
                meta[f"opt.{k}.{name}"] = v
    return tensors, meta


def save_checkpoint(folder: Path, codec: SemanticCodec, opt, state: dict, rng: np.random.Generator,
                    memory: MedMemory | None) -> None:
    """Codec + optimizer + RNG states to ``folder`` (safetensors + JSON; written atomically)."""
    tmp = folder.with_name(folder.name + ".tmp")
    codec.save_pretrained(tmp)
    tensors, meta = _optimizer_tensors(opt)
    tensors["rng.torch"] = torch.get_rng_state()
    save_file(tensors, str(tmp / "trainer.safetensors"))
    extra = {"state": state, "opt_meta": meta, "numpy_rng": rng.bit_generator.state}
    if memory is not None:
        extra["memory"] = {"stm": [s for s, _ in memory.stm], "ltm": [s for s, _ in memory.ltm]}
        feats = [f for _, f in memory.stm + memory.ltm]
        if feats:
            save_file({"features": torch.from_numpy(np.stack(feats))}, str(tmp / "memory.safetensors"))
    (tmp / "trainer.json").write_text(json.dumps(extra))
    if folder.exists():
        old = folder.with_name(folder.name + ".old")
        folder.rename(old)
        tmp.rename(folder)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(folder)


def load_checkpoint(folder: Path, codec: SemanticCodec, opt, rng: np.random.Generator,
                    memory: MedMemory | None) -> dict:
    extra = json.loads((folder / "trainer.json").read_text())
    tensors = load_file(str(folder / "trainer.safetensors"))
    sd = opt.state_dict()
    for key, value in list(tensors.items()):
        if key.startswith("opt."):
            _, k, name = key.split(".", 2)
            sd["state"].setdefault(int(k), {})[name] = value
    for key, value in extra["opt_meta"].items():
        _, k, name = key.split(".", 2)
        sd["state"].setdefault(int(k), {})[name] = value
    opt.load_state_dict(sd)
    torch.set_rng_state(tensors["rng.torch"])
    rng.bit_generator.state = extra["numpy_rng"]
    if memory is not None and "memory" in extra:
        feats = load_file(str(folder / "memory.safetensors"))["features"].numpy()
        n_stm = len(extra["memory"]["stm"])
        memory.stm = list(zip(extra["memory"]["stm"], feats[:n_stm]))
        memory.ltm = list(zip(extra["memory"]["ltm"], feats[n_stm:]))
    return extra["state"]


def build_codec(args, device) -> SemanticCodec:
    if args.init:
        return SemanticCodec.from_pretrained(args.init, device=str(device))
    texts = []
    for name in args.tokenizer_corpora.split(","):
        texts += load_task(name.strip(), "train", args.data)
    tok = train_tokenizer(texts, args.vocab_size)
    rates = tuple(int(r) for r in args.rates.split(","))
    cfg = CodecConfig(vocab_size=tok.get_vocab_size(), width=args.width, heads=args.heads,
                      layers=args.layers, ff=args.ff, symbols_per_token=args.symbols_per_token,
                      max_symbols_per_token=args.max_symbols_per_token, rates=rates,
                      snr_input=not args.no_snr_input, snr_range=(args.snr_min, args.snr_max))
    torch.manual_seed(args.seed)
    return SemanticCodec(CodecNet(cfg), tok, device)


def quick_eval(codec: SemanticCodec, texts: list[str], snrs=(0.0, 6.0), kind="awgn", seed=123) -> dict:
    """BLEU-1 on ``texts`` at a few SNRs (fast progress indicator used in the training log)."""
    from .evaluate import evaluate_texts

    return {f"bleu1_{kind}_{s:g}dB": evaluate_texts(codec, texts, s, kind, seed=seed)["bleu1"] for s in snrs}


# --------------------------------------------------------------------------------------------
def main(args) -> int:
    torch.set_num_threads(max(1, args.threads))
    try:  # one process, or one rank of a torchrun job
        ddp = setup_distributed(args.device)
        amp = Precision(ddp.device, args.precision)
    except (DeviceUnavailableError, ValueError) as exc:
        print(f"vlmcsc train: {exc}", file=sys.stderr)
        return 2
    if ddp.active and (args.memory or args.batch_size < ddp.world_size):
        print(f"vlmcsc train: under torchrun --batch-size must be >= {ddp.world_size} processes and "
              "--memory (replay) is not supported yet", file=sys.stderr)
        ddp.close()
        return 2
    device = ddp.device
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint"
    kinds, kind_p = parse_channels(args.channels)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    total = args.steps * len(tasks)

    if args.resume and ckpt.is_dir():
        codec = SemanticCodec.from_pretrained(ckpt, device=str(device))
    else:  # rank 0 builds (tokenizer training is not reproducible across processes), others load
        codec = ddp.build_on_main(lambda: build_codec(args, device), out / ".codec_rank0",
                                  lambda f: SemanticCodec.from_pretrained(f, device=str(device)))
    net = codec.net
    ddp.broadcast_params(net)
    amp.attach(net)
    decay = [p for n, p in net.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in net.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    memory = MedMemory(args.stm_size, args.ltm_size, args.tau, args.threshold, args.seed) if args.memory else None
    state = {"step": 0, "elapsed_s": 0.0}
    if args.resume and ckpt.is_dir():
        state = load_checkpoint(ckpt, codec, opt, rng, memory)
        print(f"resumed at step {state['step']} / {total}", file=sys.stderr)
    ddp.seed_torch(args.seed, state["step"])

    if memory is not None and args.memory_prefill and state["step"] == 0:
        name, _, n = args.memory_prefill.partition(":")
        prefill = tokenize_corpus(codec, load_task(name, "train", args.data)[: int(n or 5000)])
        net.eval()
        with torch.no_grad():
            for i in range(0, len(prefill), 256):
                chunk = prefill[i: i + 256]
                pids, ppad = to_batch(chunk, codec.pad_id, device)
                psnr = torch.as_tensor(rng.uniform(args.snr_min, args.snr_max, len(chunk)),
                                       dtype=torch.float32, device=device)
                keep = (~ppad)[..., None].float()
                feat = (net.semantic(pids, ppad, psnr) * keep).sum(1) / keep.sum(1)
                memory.add(chunk, feat.cpu().numpy(), task=-1)  # the task before the first
        print(f"memory prefilled from {name}: LTM {len(memory.ltm)}, STM {len(memory.stm)}", file=sys.stderr)
    corpora = {}
    for t in tasks:
        texts = load_task(t, "train", args.data)
        corpora[t] = tokenize_corpus(codec, texts + augment_texts(texts, codec.tokenizer, args.augment, args.seed))
    weights = None
    if args.rarity_alpha > 0:
        weights = rarity_weights([q for c in corpora.values() for q in c], codec.config.vocab_size,
                                 args.rarity_alpha).to(device)
    train_rates = np.asarray([r for r in codec.config.rates], dtype=np.int64)  # trained (not repetition) rates
    keep_at = {int(v) for v in args.keep_at.split(",") if v.strip()}
    eval_texts = {t: load_task(t, "test", args.data)[:200] for t in tasks}
    log = (out / "train_log.jsonl").open("a") if ddp.is_main else None
    if ddp.is_main:
        print(f"codec: {codec.num_parameters():,} parameters, {codec.symbols_per_token} symbols/token; "
              f"tasks {tasks}, {args.steps} steps each, device {device}, {ddp.world_size} process(es), "
              f"{amp.name}", file=sys.stderr)

    from tqdm import tqdm

    bar = tqdm(total=total, initial=state["step"], disable=args.no_progress or not ddp.is_main, desc="train", file=sys.stderr)
    t_start = time.time() - state["elapsed_s"]
    net.train()
    running = None
    budget_s = args.time_budget_min * 60.0
    order: dict[str, np.ndarray] = {}
    while state["step"] < total:
        step = state["step"]
        time_frac = state["elapsed_s"] / budget_s if budget_s > 0 else 0.0
        if budget_s > 0:
            time_frac = ddp.max(time_frac)  # every rank stops at the same step
        if time_frac >= 1.0 or (args.stop_at and step >= args.stop_at):
            print(f"stopping at step {step} (time budget or --stop-at)", file=sys.stderr)
            break
        task_i = step // args.steps
        seqs = corpora[tasks[task_i]]
        n_new = args.batch_size
        replay = []
        if memory is not None and task_i > 0 and len(memory):
            n_new = max(1, int(round(args.batch_size * (1 - args.replay_fraction))))
            replay = memory.sample(args.batch_size - n_new)
        if step % 200 == 0 or tasks[task_i] not in order:
            # length buckets: a window of a (length, random) sort gives batches with little padding;
            # the tie-break is re-drawn every 200 steps from its own seed so --resume is exact
            lengths = np.array([len(q) for q in seqs])
            tie = np.random.default_rng([args.seed, task_i, step // 200]).random(len(seqs))
            order[tasks[task_i]] = np.lexsort((tie, lengths))
        j = int(rng.integers(0, max(1, len(seqs) - n_new + 1)))
        new = [seqs[k] for k in order[tasks[task_i]][j: j + n_new]]
        ids, pad = to_batch(new + replay, codec.pad_id, device)
        b = ids.shape[0]
        if args.fixed_snr is not None:
            snr = torch.full((b,), float(args.fixed_snr), device=device)
        else:
            snr = torch.as_tensor(rng.uniform(args.snr_min, args.snr_max, b), dtype=torch.float32, device=device)
        batch_kinds = list(rng.choice(kinds, size=b, p=kind_p))
        for g in opt.param_groups:
            g["lr"] = lr_at(step % args.steps if memory is not None or len(tasks) > 1 else step,
                            args.steps if len(tasks) > 1 else total, args.lr, args.warmup, time_frac)
        k = torch.as_tensor(rng.choice(train_rates, size=b), device=device)
        r_ids, r_pad, r_snr, r_kinds, share = ddp.shard(ids, pad, snr, batch_kinds)  # this rank's part
        r_k = k[ddp.rank::ddp.world_size] if ddp.active else k
        with amp.autocast():
            loss = loss_on(net, r_ids, r_pad, r_snr, r_kinds, k=r_k, weights=weights)
        opt.zero_grad(set_to_none=True)
        amp.backward(loss * share if ddp.active else loss)
        ddp.all_reduce_grads(net)  # sum of token-weighted gradients = the global batch's gradient
        amp.step(opt, net.parameters(), 1.0)
        loss = torch.tensor(ddp.global_loss(loss, share))
        if memory is not None:
            with torch.no_grad():
                nid, npad = ids[: len(new)], pad[: len(new)]
                feat = net.semantic(nid, npad, snr[: len(new)])
                keep = (~npad)[..., None].float()
                memory.add(new, ((feat * keep).sum(1) / keep.sum(1)).cpu().numpy(), task=task_i)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        state["step"] = step + 1
        state["elapsed_s"] = time.time() - t_start
        bar.update(1)
        bar.set_postfix(loss=f"{running:.3f}", task=tasks[task_i])
        last_of_task = state["step"] % args.steps == 0
        out_of_time = (budget_s > 0 and state["elapsed_s"] >= budget_s) or state["step"] == args.stop_at
        if ddp.is_main and (state["step"] % args.save_every == 0 or state["step"] == total or last_of_task
                            or out_of_time or state["step"] in keep_at):  # --keep-at need not be save steps
            net.eval()
            rec = {"step": state["step"], "task": tasks[task_i], "loss": round(running, 4),
                   "elapsed_s": round(state["elapsed_s"], 1), "lr": opt.param_groups[0]["lr"]}
            rec.update(quick_eval(codec, eval_texts[tasks[task_i]]))
            if memory is not None:
                rec.update(stm=len(memory.stm), ltm=len(memory.ltm))
            log.write(json.dumps(rec) + "\n")
            log.flush()
            save_checkpoint(ckpt, codec, opt, state, rng, memory)
            if state["step"] in keep_at:
                codec.save_pretrained(out / f"step_{state['step']}", dtype=args.save_dtype)
            if last_of_task and len(tasks) > 1:
                codec.save_pretrained(out / f"after_{tasks[task_i]}", dtype=args.save_dtype)
            net.train()
    bar.close()
    net.eval()
    if not ddp.is_main:
        ddp.close()
        return 0
    meta = {"training": {"command": " ".join(sys.argv), "tasks": tasks, "steps_per_task": args.steps,
                         "batch_size": args.batch_size, "snr_db": [args.snr_min, args.snr_max]
                         if args.fixed_snr is None else [args.fixed_snr, args.fixed_snr],
                         "channels": args.channels, "memory": bool(args.memory), "seed": args.seed,
                         "steps_done": state["step"], "lr": args.lr,
                         "elapsed_s": round(state["elapsed_s"], 1), "device": str(device),
                         "threads": args.threads, "processes": ddp.world_size, "precision": amp.name}}
    codec.save_pretrained(out, dtype=args.save_dtype, extra=meta)
    print(f"saved codec to {out} after {state['elapsed_s']:.0f} s", file=sys.stderr)
    ddp.close()
    return 0
