"""Scale-out benchmark: sweeps on Ray, confidence-based stopping, data-parallel training.

Measures (JSON keys):
- ``frame_cpu_s``: {system: {channel: CPU seconds per frame}} of one sweep worker (codec encode,
  PHY TX, channel, streaming receiver, decode, BLEU-1), measured serially in this process;
  ``frame_cpu_s_mean`` their mean (the per-frame cost of the scaling model in docs/scale.md).
- ``sweep_speedup_2_workers``: wall time of a fixed sweep on a local Ray with 1 worker over the
  same sweep with 2 workers (actors started and codecs loaded before the clock starts);
  ``sweep_efficiency_2_workers`` = speedup / 2. ``load_avg_1min`` says how busy the machine was.
- ``sweep_identical_results``: 1.0 when the 2-worker Ray rows equal the serial rows exactly (every
  key but wall-clock ones), else the fraction of equal rows.
- ``ray_overhead_s_per_chunk``: (Ray 1-worker wall - serial wall) / chunks (load-sensitive);
  ``ray_driver_cpu_s_per_chunk``: the driver's CPU seconds per chunk (the serial part of a sweep).
- ``ci_stop_frames_saved``: 1 - frames used with confidence-based stopping / frames of the
  fixed-count sweep of equal precision (every point given the frames its hardest point needed);
  ``ci_stop_frames``, ``ci_fixed_frames`` and per-point ``ci_points`` beside it.
- ``train_ddp_loss_match``: max relative difference of the logged loss curves of ``vlmcsc train``
  in one process and under ``torchrun --nproc_per_node=2`` (gloo, CPU), same seed and batches.
- ``estimate_hours``: {workers: hours} of a 10^4-frames x 20 SNR x 4 channels x 2 systems sweep
  from the scaling model (:func:`scaling_model`, docs/scale.md), ``scaling_limit_workers`` where it
  stops scaling; ``*_sequential_points`` the same with confidence-based stopping in its worst case.

Usage: ``python benchmarks/scale.py [--quick] [--json PATH]`` (needs the [ray] extra).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from vlmcsc.flowgraphs.jsonlog import read_jsonl  # noqa: E402
from vlmcsc.flowgraphs.sweep import (  # noqa: E402
    StopRule, SerialExecutor, init_worker, make_cells, run_cell, run_sweep,
)

WALL_KEYS = ("time", "seconds")
INITARGS = ("", {}, False, 1)  # shipped codec, default PHY, no sentence similarity, 1 torch thread


def _rows(path: Path) -> dict:
    return {(r["system"], r["channel"], r["snr_db"], r["trial"]): {k: v for k, v in r.items() if k not in WALL_KEYS}
            for r in read_jsonl(path) if r.get("type") == "sweep"}


def frame_cost(tmp: Path, frames: int) -> dict:
    """CPU seconds per frame for each system x channel (serial, this process, one thread)."""
    init_worker(*INITARGS)
    cost = {}
    for system in ("semantic", "digital"):
        cost[system] = {}
        for channel in ("awgn", "rayleigh", "tdl", "tdl_static"):
            cell = make_cells([system], [channel], [10.0], 1, frames, seed=9)[0]
            run_cell({**cell, "frames": 1})  # warm caches (numba, first-call allocations)
            t0 = time.process_time()
            run_cell(cell)
            cost[system][channel] = (time.process_time() - t0) / frames
    return cost


class _KeepOpen:
    """An executor that survives ``run_sweep`` (which closes what it is given): reuse the actors."""

    def __init__(self, executor) -> None:
        self.executor = executor
        self.capacity = executor.capacity
        self.submit, self.next_done = executor.submit, executor.next_done

    def close(self) -> None:
        pass


def timed_sweep(cells, out: Path, executor, stop: StopRule | None = None) -> tuple[float, float, dict]:
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_sweep(cells, out, run_cell, stop=stop, executor=executor, progress=False)
    return time.perf_counter() - t0, time.process_time() - c0, res


def bench_sweeps(tmp: Path, quick: bool) -> dict:
    import ray

    from vlmcsc.flowgraphs.sweep_ray import RayExecutor, start_local_ray

    snrs = [0.0, 6.0, 12.0, 18.0] if quick else [-3.0, 0.0, 3.0, 6.0, 9.0, 12.0, 15.0, 18.0]
    frames = 6 if quick else 16
    repeats = 1 if quick else 2
    cells = make_cells(["semantic", "digital"], ["awgn"], snrs, 1, frames, seed=5)
    out = {}
    serial_wall, serial_cpu, _ = timed_sweep(cells, tmp / "serial.jsonl", SerialExecutor(run_cell, init_worker, INITARGS))
    start_local_ray(3)  # logical CPUs: the 1-worker actor idles while the 2-worker pair runs
    try:
        executors = {n: RayExecutor(run_cell, init_worker, INITARGS, address="local", workers=n) for n in (1, 2)}
        walls: dict[int, list[float]] = {1: [], 2: []}
        driver_cpu = []
        load = [os.getloadavg()[0]]
        for r in range(repeats):  # alternate 1, 2, 1, 2, ...: a shared machine's load hits both alike
            for n in (1, 2):
                wall, cpu, _ = timed_sweep(cells, tmp / f"ray{n}_{r}.jsonl", _KeepOpen(executors[n]))
                walls[n].append(wall)
                driver_cpu.append(cpu / len(cells))
                load.append(os.getloadavg()[0])
        executors[1].close()
        ray2_executor = executors[2]
        serial, ray2 = _rows(tmp / "serial.jsonl"), _rows(tmp / "ray2_0.jsonl")
        same = sum(serial[k] == ray2.get(k) for k in serial) / len(serial)
        best = {n: min(w) for n, w in walls.items()}
        out.update(
            sweep_cells=len(cells), sweep_frames=len(cells) * frames, sweep_repeats=repeats,
            sweep_serial_wall_s=round(serial_wall, 3), sweep_serial_cpu_s=round(serial_cpu, 3),
            sweep_ray_wall_s={str(n): [round(x, 3) for x in w] for n, w in walls.items()},
            sweep_speedup_2_workers=round(best[1] / best[2], 3),
            sweep_efficiency_2_workers=round(best[1] / best[2] / 2, 3),
            sweep_identical_results=round(same, 4),
            ray_overhead_s_per_chunk=round((best[1] - serial_wall) / len(cells), 4),
            ray_driver_cpu_s_per_chunk=round(min(driver_cpu), 5),
            load_avg_1min=round(max(load), 2),
        )

        # confidence-based stopping on a standard sweep (2 Ray workers), vs the fixed count it replaces
        std_snrs = [0.0, 10.0, 20.0] if quick else [-3.0, 0.0, 3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 21.0]
        cap = 48 if quick else 256
        rule = StopRule(target_errors=10, ci_halfwidth=0.05 if quick else 0.03, chunk_frames=16, min_frames=32)
        std = make_cells(["semantic"], ["awgn", "tdl"], std_snrs, 1, cap, seed=7)
        wall, _, res = timed_sweep(std, tmp / "ci.jsonl", ray2_executor, stop=rule)
        rows = list(_rows(tmp / "ci.jsonl").values())
        used = sum(r["frames"] for r in rows)
        fixed = len(rows) * max(r["frames"] for r in rows)
        out.update(
            ci_stop_rule={"target_errors": rule.target_errors, "ci_halfwidth": rule.ci_halfwidth,
                          "chunk_frames": rule.chunk_frames, "min_frames": rule.min_frames, "max_frames": cap},
            ci_stop_frames=used, ci_fixed_frames=fixed, ci_stop_frames_saved=round(1 - used / fixed, 4),
            ci_stop_wall_s=round(wall, 2),
            ci_points=[{"channel": r["channel"], "snr_db": r["snr_db"], "frames": r["frames"],
                        "frame_losses": r["frame_losses"], "bleu1": r["bleu1"],
                        "bleu1_ci_halfwidth": r["bleu1_ci_halfwidth"], "stop": r["stop"]}
                       for r in sorted(rows, key=lambda r: (r["channel"], r["snr_db"]))],
        )
    finally:
        ray.shutdown()
    return out


def _fake_flickr(root: Path, images: int = 60) -> Path:
    caps = ["a dog runs across the green grass .", "two children play football in a park .",
            "a man in a red shirt rides a bicycle .", "a black cat sleeps on a wooden chair .",
            "people walk along the beach at sunset .", "a girl jumps into a swimming pool .",
            "an old man reads a newspaper on a bench .", "three birds sit on a wire ."]
    folder = root / "flickr8k_captions"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{i}.jpg#{k}\t{caps[(i + k) % len(caps)]}" for i in range(images) for k in range(3)]
    (folder / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    (folder / "Flickr_8k.trainImages.txt").write_text("\n".join(f"{i}.jpg" for i in range(images - 6)) + "\n")
    (folder / "Flickr_8k.testImages.txt").write_text("\n".join(f"{i}.jpg" for i in range(images - 6, images)) + "\n")
    (folder / "Flickr_8k.devImages.txt").write_text("\n")
    return root


def bench_ddp(tmp: Path, quick: bool) -> dict:
    """Loss curves of one process vs ``torchrun --nproc_per_node=2`` from the same initial codec."""
    from vlmcsc.model.data import data_dir

    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    real = data_dir() is not None and not quick
    if real:
        model = ["--tokenizer-corpora", "flickr8k", "--batch-size", "32", "--steps", "40"]
    else:
        env["VLMCSC_DATA"] = str(_fake_flickr(tmp / "data"))
        model = ["--width", "32", "--heads", "4", "--layers", "1", "--ff", "64", "--vocab-size", "80",
                 "--symbols-per-token", "4", "--tokenizer-corpora", "flickr8k", "--batch-size", "8",
                 "--steps", "8"]
    common = [*model, "--warmup", "2", "--threads", "1", "--no-progress", "--device", "cpu", "--seed", "3",
              "--lr", "2e-3", "--save-every", "1" if not real else "4"]

    def run_here(argv: list[str]) -> tuple[float, float]:
        from vlmcsc.model import train

        parser = argparse.ArgumentParser()
        train.add_arguments(parser)
        saved = os.environ.get("VLMCSC_DATA"), Path.cwd()
        if "VLMCSC_DATA" in env:
            os.environ["VLMCSC_DATA"] = env["VLMCSC_DATA"]
        os.chdir(tmp)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            if train.main(parser.parse_args(argv)) != 0:
                raise RuntimeError(f"vlmcsc train {' '.join(argv[:4])} ... failed")
        finally:
            os.chdir(saved[1])
            if saved[0] is None:
                os.environ.pop("VLMCSC_DATA", None)
            else:
                os.environ["VLMCSC_DATA"] = saved[0]
        return time.perf_counter() - t0, time.process_time() - c0

    def run(cmd: list[str]) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), os.times()
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:6])} ... failed: {proc.stderr[-1500:]}")
        c1 = os.times()
        return time.perf_counter() - t0, (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)

    init = [*common]
    init[init.index("--steps") + 1] = "1"
    run_here(["--out", "init", *init])  # one codec (and tokenizer) both runs start from
    w1, c1 = run_here(["--out", "one", *common, "--init", "init"])
    w2, c2 = run(["torchrun", "--standalone", "--nproc_per_node=2", "--no-python", "vlmcsc", "train", "--out", "two",
                  *common, "--init", "init"])
    curve = {}
    for name in ("one", "two"):
        curve[name] = {r["step"]: r["loss"] for r in read_jsonl(tmp / name / "train_log.jsonl")}
    diffs = [abs(curve["two"][s] - loss) / loss for s, loss in curve["one"].items()]
    return {"train_ddp_loss_match": round(max(diffs), 4), "train_ddp_steps": len(diffs),
            "train_ddp_data": "flickr8k" if real else "tiny fake captions",
            "train_loss_curve_1proc": curve["one"], "train_loss_curve_2proc": curve["two"],
            "train_wall_s": {"1": round(w1, 2), "2": round(w2, 2)}, "train_cpu_s": {"1": round(c1, 2), "2": round(c2, 2)}}


def scaling_model(cost_s: float, driver_s: float, chunk_frames: int = 16, startup_s: float = 30.0) -> dict:
    """Hours for 10^4 frames x 20 SNR x 4 channels x 2 systems on N workers (docs/scale.md).

    F = 1.6e6 frames of CPU cost ``cost_s`` each, in C = F / ``chunk_frames`` chunks; the driver
    spends ``driver_s`` CPU seconds per chunk (submit, receive, merge, log), one chunk at a time.
    Fixed count (chunks of a point run in parallel):
        T(N) = max(F c / N, C d, chunk_frames c) + startup
    Confidence-based stopping, worst case (every point needs all 10^4 frames; a point's chunks run
    one after another): T(N) = max(F c / N, C d, 10^4 c) + startup.
    Scaling stops where F c / N meets the larger of the other two terms.
    """
    frames_per_point, points = 10_000, 20 * 4 * 2
    frames = frames_per_point * points
    chunks = frames / chunk_frames
    work, driver = frames * cost_s, chunks * max(driver_s, 1e-9)
    fixed, adaptive = {}, {}
    for n in (1, 2, 8, 32, 64, 160, 320, 1000):
        fixed[str(n)] = round((max(work / n, driver, chunk_frames * cost_s) + startup_s) / 3600, 3)
        adaptive[str(n)] = round((max(work / n, driver, frames_per_point * cost_s) + startup_s) / 3600, 3)
    limit_fixed = work / max(driver, chunk_frames * cost_s)
    limit_adaptive = work / max(driver, frames_per_point * cost_s)
    return {"estimate_hours": fixed, "estimate_hours_sequential_points": adaptive,
            "scaling_limit_workers": int(limit_fixed), "scaling_limit_workers_sequential_points": int(limit_adaptive),
            "model_inputs": {"frame_cpu_s": cost_s, "driver_cpu_s_per_chunk": driver_s, "chunk_frames": chunk_frames,
                             "frames": frames, "points": points, "startup_s": startup_s}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small grids (CI)")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--skip-train", action="store_true", help="no DDP training comparison")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    res: dict = {"quick": bool(args.quick), "cores": os.cpu_count()}
    tmp = Path(tempfile.mkdtemp(prefix="vlmcsc-scale-"))
    try:
        t0 = time.process_time()
        cost = frame_cost(tmp, 4 if args.quick else 24)
        res["frame_cpu_s"] = {s: {c: round(v, 5) for c, v in d.items()} for s, d in cost.items()}
        values = [v for d in cost.values() for v in d.values()]
        res["frame_cpu_s_mean"] = round(sum(values) / len(values), 5)
        res.update(bench_sweeps(tmp, args.quick))
        if not args.skip_train:
            res.update(bench_ddp(tmp, args.quick))
        res.update(scaling_model(res["frame_cpu_s_mean"], res["ray_driver_cpu_s_per_chunk"]))
        res["driver_cpu_s"] = round(time.process_time() - t0, 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{'quantity':34s} value")
    for key in ("frame_cpu_s_mean", "sweep_serial_wall_s", "sweep_ray_wall_s", "sweep_speedup_2_workers",
                "sweep_efficiency_2_workers", "sweep_identical_results", "ray_overhead_s_per_chunk",
                "load_avg_1min", "ci_stop_frames", "ci_fixed_frames", "ci_stop_frames_saved",
                "ray_driver_cpu_s_per_chunk", "train_ddp_loss_match", "train_wall_s", "estimate_hours",
                "scaling_limit_workers", "estimate_hours_sequential_points", "scaling_limit_workers_sequential_points"):
        if key in res:
            print(f"{key:34s} {res[key]}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
