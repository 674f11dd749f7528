"""Benchmark of the cross-modal knowledge base: BLIP captioning and Stable Diffusion generation.

Measures, per device: caption latency per image (batched and single), image generation latency per
image and per denoising step, model memory and peak memory. Then, on the labelled Imagenette set,
the image-level quality of the link: SSQ (ImageNet classifier accuracy on regenerated / on original
images) and CLIP scores, for the original BLIP captions and for the captions after the semantic codec
over AWGN at 0/5/10 dB.

With real weights (BLIP base, Stable Diffusion 1.5, ViT-B/16, CLIP ViT-B/32 in the Hugging Face cache;
see docs/ckb.md) run on a GPU machine:

    python benchmarks/ckb.py --real --device cuda --limit 500 --steps 50 --json build/ckb_real.json

Without them it runs tiny random models built on the spot and says so: then latencies only show
that the code path works, and the quality numbers are meaningless.

    python benchmarks/ckb.py --quick --json build/ckb.json
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent

from vlmcsc.model import ckb, image_metrics  # noqa: E402

REAL = {
    "caption": ckb.DEFAULT_CAPTION_MODEL,
    "image": ckb.DEFAULT_IMAGE_MODEL,
    "classifier": image_metrics.DEFAULT_CLASSIFIER,
    "clip": image_metrics.DEFAULT_CLIP,
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few images and steps (CI smoke run)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--models", choices=["auto", "real", "tiny"], default="auto",
                   help="real weights, tiny random models, or real if all four are present (default)")
    p.add_argument("--real", action="store_true", help="same as --models real")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA if present, else CPU) | cpu | cuda | all (latency on CPU and CUDA)")
    p.add_argument("--limit", type=int, default=None,
                   help="Imagenette images for SSQ / CLIP (default 100 real, 16 tiny; quick 10 / 8)")
    p.add_argument("--steps", type=int, default=None, help="denoising steps (default 25; quick: 20 real, 2 tiny)")
    p.add_argument("--guidance", type=float, default=7.5, help="guidance scale (default 7.5)")
    p.add_argument("--size", type=int, default=None, help="generated image side, px (default: model's)")
    p.add_argument("--snrs", type=float, nargs="*", default=[0.0, 5.0, 10.0],
                   help="AWGN SNRs (Es/N0 dB) for the codec conditions (default 0 5 10)")
    p.add_argument("--codec", default=None, help="codec checkpoint folder (default: the shipped one)")
    p.add_argument("--batch-size", type=int, default=8, help="images per batch (default 8)")
    p.add_argument("--seed", type=int, default=0, help="generation and channel seed (default 0)")
    for key, default in REAL.items():
        p.add_argument(f"--{key}-model", default=default, help=f"real {key} model (default {default})")
    p.add_argument("--no-quality", action="store_true", help="latency only")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: all, at most 2 on a machine without CUDA)")
    args = p.parse_args(argv)
    if args.real:
        args.models = "real"
    return args


# ---------------------------------------------------------------------------------------------


def choose_models(args) -> tuple[str, dict[str, str], str]:
    """(mode, {caption, image, classifier, clip} -> model id or folder, note)."""
    real = {key: getattr(args, f"{key}_model") for key in REAL}
    missing = [m for m in real.values() if not ckb.weights_available(m)]
    if args.models == "real" or (args.models == "auto" and not missing):
        if missing:
            lines = [f"real weights missing for: {', '.join(missing)}. On a machine with internet run:"]
            lines += [f"  {ckb.fetch_command(m, pipeline=(m == real['image']))}" for m in missing]
            raise SystemExit("\n".join(lines))
        return "real", real, "real weights"
    sys.path.insert(0, str(REPO / "tests"))
    try:
        import tiny_ckb
    except ImportError as exc:  # pragma: no cover - installed without the tests folder
        raise SystemExit(f"tiny models need tests/tiny_ckb.py from the repository: {exc}")
    root = Path(tempfile.mkdtemp(prefix="vlmcsc_ckb_bench_"))
    tiny = {key: str(path) for key, path in tiny_ckb.make_all(root).items()}
    tiny = {"caption": tiny["blip"], "image": tiny["sd"], "classifier": tiny["classifier"], "clip": tiny["clip"]}
    why = "requested" if args.models == "tiny" else f"real weights not found ({', '.join(missing)})"
    note = (f"TINY RANDOM MODELS ({why}): latencies only exercise the code path and the SSQ / CLIP "
            "values are meaningless; run with real weights (docs/ckb.md) for real numbers")
    return "tiny", tiny, note


def devices(spec: str) -> list[str]:
    if spec == "all":
        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    return [str(ckb.resolve_device(spec))]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _peak_mb(device: str) -> tuple[float, str]:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20, "cuda_peak_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process_peak_rss"


def _reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


def test_images(n: int, seed: int) -> list:
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)) for _ in range(n)]


def measure_latency(device: str, models: dict, args, n_images: int, n_prompts: int, steps: int) -> dict:
    """Timed runs after one warm-up call each; milliseconds."""
    row: dict = {"device": device}
    images = test_images(n_images, args.seed)
    t0 = time.perf_counter()
    captioner = ckb.Captioner(models["caption"], device=device, batch_size=args.batch_size)
    row["caption_load_s"] = time.perf_counter() - t0
    captioner.caption(images[:1])  # warm-up (kernels, allocator)
    _reset_peak(device)
    _sync(device)
    t0 = time.perf_counter()
    captions = captioner.caption(images)
    _sync(device)
    row["caption_ms_per_image"] = 1e3 * (time.perf_counter() - t0) / n_images
    t0 = time.perf_counter()
    captioner.caption(images[:1])
    _sync(device)
    row["caption_ms_single"] = 1e3 * (time.perf_counter() - t0)
    row["caption_model_mb"] = captioner.memory_bytes / 2**20
    row["caption_peak_mb"], row["memory_kind"] = _peak_mb(device)

    t0 = time.perf_counter()
    generator = ckb.ImageGenerator(models["image"], device=device, batch_size=args.batch_size)
    row["generate_load_s"] = time.perf_counter() - t0
    size = args.size or generator.default_size
    prompts = (captions * n_prompts)[:n_prompts]
    generator.generate(prompts[:1], seed=args.seed, steps=1, height=size, width=size)  # warm-up
    _reset_peak(device)
    _sync(device)
    t0 = time.perf_counter()
    generator.generate(prompts, seed=args.seed, steps=steps, guidance=args.guidance, height=size, width=size)
    _sync(device)
    elapsed = time.perf_counter() - t0
    row.update(generate_ms_per_image=1e3 * elapsed / n_prompts,
               generate_ms_per_step=1e3 * elapsed / (n_prompts * steps),
               steps=steps, size=size, generator_model_mb=generator.memory_bytes / 2**20)
    row["generate_peak_mb"], _ = _peak_mb(device)
    return row


def awgn(symbols: list[np.ndarray], snr_db: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Complex AWGN at Es/N0 = snr_db for unit-power symbols (noise variance 10^(-snr/10))."""
    std = math.sqrt(10 ** (-snr_db / 10) / 2)
    return [(s + std * (rng.standard_normal(s.shape) + 1j * rng.standard_normal(s.shape))).astype(np.complex64)
            for s in symbols]


def codec_conditions(captions: list[str], args) -> tuple[dict[str, list[str]], str | None]:
    """{"original": captions, "codec_0dB": received captions, ...}; a note when the codec is unusable."""
    conditions = {"original": list(captions)}
    try:
        from vlmcsc.model.codec import SemanticCodec

        codec = SemanticCodec.from_pretrained(args.codec)
    except (ImportError, FileNotFoundError, OSError, ValueError, RuntimeError) as exc:
        return conditions, f"codec conditions skipped: SemanticCodec.from_pretrained() failed: {exc}"
    rng = np.random.default_rng(args.seed)
    for snr in args.snrs:
        try:
            tx = codec.encode_text(captions, snr_db=snr)
            conditions[f"codec_{snr:g}dB"] = codec.decode_symbols(awgn(tx, snr, rng), snr_db=[snr] * len(tx))
        except (ValueError, RuntimeError) as exc:  # e.g. a caption longer than the codec carries
            return conditions, f"codec condition at {snr:g} dB failed: {exc}"
    return conditions, None


def measure_quality(device: str, models: dict, args, limit: int, steps: int) -> dict:
    data = image_metrics.load_imagenette(limit=limit)
    captioner = ckb.Captioner(models["caption"], device=device, batch_size=args.batch_size)
    generator = ckb.ImageGenerator(models["image"], device=device, batch_size=args.batch_size)
    classifier = image_metrics.ImageClassifier(models["classifier"], device=device, batch_size=args.batch_size)
    scorer = image_metrics.ClipScorer(models["clip"], device=device, batch_size=args.batch_size)
    size = args.size or generator.default_size
    captions = captioner.caption(data.images)
    conditions, note = codec_conditions(captions, args)
    try:
        from vlmcsc.model.metrics import bleu
    except ImportError:  # pragma: no cover - metrics module not present
        bleu = None
    rows = []
    for name, texts in conditions.items():
        t0 = time.perf_counter()
        regenerated = generator.generate(texts, seed=args.seed, steps=steps, guidance=args.guidance,
                                         height=size, width=size)
        result = classifier.ssq(data.images, regenerated, data.labels)
        rows.append({
            "condition": name,
            "snr_db": None if name == "original" else float(name.split("_")[1][:-2]),
            **result,
            "clip_image_caption": float(scorer.image_text(data.images, texts).mean()),
            "clip_image_regenerated": float(scorer.image_image(data.images, regenerated).mean()),
            "bleu1_vs_original": None if bleu is None else float(bleu(captions, texts, n=1)),
            "seconds": time.perf_counter() - t0,
        })
    return {"n_images": len(data), "device": device, "steps": steps, "size": size,
            "examples": [{"file": f, "caption": c, **{k: v[i] for k, v in conditions.items() if k != "original"}}
                         for i, (f, c) in enumerate(zip(data.files[:3], captions[:3]))],
            "codec_note": note, "conditions": rows}


def _fmt(value, spec=".1f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec)


def print_tables(result: dict) -> None:
    print(f"CKB benchmark — models: {result['models']} ({result['note']})")
    print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
    print()
    head = (f"{'device':<8}{'caption ms/img':>16}{'single ms':>11}{'gen ms/img':>12}{'ms/step':>9}"
            f"{'steps':>6}{'px':>5}{'BLIP MB':>9}{'SD MB':>8}{'peak MB':>9}  memory")
    print(head)
    print("-" * len(head))
    for r in result["latency"]:
        peak = max(r["caption_peak_mb"], r["generate_peak_mb"])
        print(f"{r['device']:<8}{_fmt(r['caption_ms_per_image']):>16}{_fmt(r['caption_ms_single']):>11}"
              f"{_fmt(r['generate_ms_per_image']):>12}{_fmt(r['generate_ms_per_step'], '.2f'):>9}"
              f"{r['steps']:>6}{r['size']:>5}{_fmt(r['caption_model_mb']):>9}{_fmt(r['generator_model_mb']):>8}"
              f"{_fmt(peak, '.0f'):>9}  {r['memory_kind']}")
    quality = result.get("quality")
    if not quality:
        return
    print()
    print(f"Imagenette, {quality['n_images']} images, {quality['steps']} steps, {quality['size']} px, "
          f"device {quality['device']}")
    if quality["codec_note"]:
        print(f"  note: {quality['codec_note']}")
    head = f"{'condition':<14}{'acc orig':>9}{'acc regen':>10}{'SSQ':>7}{'CLIP img-cap':>14}{'CLIP img-img':>14}{'BLEU-1':>8}"
    print(head)
    print("-" * len(head))
    for r in quality["conditions"]:
        print(f"{r['condition']:<14}{_fmt(r['accuracy_original'], '.3f'):>9}{_fmt(r['accuracy_regenerated'], '.3f'):>10}"
              f"{_fmt(r['ssq'], '.3f'):>7}{_fmt(r['clip_image_caption'], '.2f'):>14}"
              f"{_fmt(r['clip_image_regenerated'], '.2f'):>14}{_fmt(r['bleu1_vs_original'], '.3f'):>8}")
    print("examples (sent caption, then as received after the codec):")
    for ex in quality["examples"]:
        print(f"  {ex['file']}: {ex['caption']!r}")
        for key, text in ex.items():
            if key.startswith("codec_"):
                print(f"    {key}: {text!r}")


def _json_safe(obj):
    """NaN -> None (JSON has no NaN)."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def _quiet_libraries() -> None:
    """Keep the table readable: no per-load progress bars or truncation warnings from the libraries."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()


def main(argv=None) -> int:
    args = parse_args(argv)
    _quiet_libraries()
    if args.threads:
        torch.set_num_threads(args.threads)
    elif not torch.cuda.is_available():
        # a shared CPU machine: leave the other cores to the others
        torch.set_num_threads(min(2, torch.get_num_threads()))
    mode, models, note = choose_models(args)
    print(f"[ckb bench] models: {mode} — {note}", file=sys.stderr)
    if mode == "real":
        steps = args.steps or (20 if args.quick else 25)
        limit = args.limit or (10 if args.quick else 100)
        n_images, n_prompts = (4, 2) if args.quick else (16, 4)
    else:
        steps = args.steps or (2 if args.quick else 25)
        limit = args.limit or (8 if args.quick else 16)
        n_images, n_prompts = (4, 2) if args.quick else (16, 8)
    run_devices = devices(args.device)
    result = {"benchmark": "ckb", "models": mode, "note": note, "model_ids": models,
              "torch": torch.__version__, "cuda_available": torch.cuda.is_available(),
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "latency": [measure_latency(d, models, args, n_images, n_prompts, steps) for d in run_devices]}
    if not args.no_quality:
        if image_metrics.imagenette_dir() is None:
            result["quality"] = None
            print("[ckb bench] Imagenette not found (set VLMCSC_DATA): SSQ / CLIP skipped", file=sys.stderr)
        else:
            device = "cuda" if "cuda" in run_devices else run_devices[0]
            result["quality"] = measure_quality(device, models, args, limit, steps)
    print_tables(result)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_json_safe(result), indent=2) + "\n")
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
