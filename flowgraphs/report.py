"""``vlmcsc report LOG...``: plots and a one-page summary from sweep results and field-test logs.

Inputs are JSON-lines files written by ``vlmcsc sweep`` (records of type ``sweep``), ``vlmcsc rx``
and ``vlmcsc demo`` (types ``frame`` and ``missed``), or CSV files with the same columns. Outputs,
in ``--out`` (default ``report/``):

- ``metric_vs_snr.png``: BLEU-1 (and similarity) vs SNR per system and channel, 95 % confidence
  intervals (normal approximation over frames);
- ``time_series.png``: BLEU-1 and estimated SNR vs time (field logs);
- ``cfo_drift.png``: estimated CFO vs time, with the fitted drift in Hz/min;
- ``frame_loss.png``: received / failed / missed frames by sequence number;
- ``summary.md`` (or ``summary.html`` with ``--format html``): the numbers behind the plots.
"""

from __future__ import annotations

import csv
import html
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from .jsonlog import read_jsonl

Z95 = 1.959964  # two-sided 95 % normal quantile


# -- loading ---------------------------------------------------------------------------------------
def load_records(paths: list[str | Path]) -> list[dict]:
    """All records of the given JSON-lines / CSV files, each tagged with ``_source`` (file name)."""
    records: list[dict] = []
    paths = [Path(p) for p in paths]
    names = [p.name for p in paths]
    for path in paths:
        # logs are labelled by file name, or parent/name where two inputs share a name
        label = path.name if names.count(path.name) == 1 else f"{path.parent.name}/{path.name}"
        if not path.is_file():
            raise FileNotFoundError(f"log {path} not found")
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8") as fh:
                rows = [_typed_csv_row(r) for r in csv.DictReader(fh)]
        else:
            rows = list(read_jsonl(path))
        for row in rows:
            row.setdefault("type", "sweep" if "trial" in row else "frame")
            row["_source"] = label
        records.extend(rows)
    return records


def _typed_csv_row(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if value is None or value == "":
            out[key] = None
            continue
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


# -- statistics ------------------------------------------------------------------------------------
def mean_ci(values) -> tuple[float, float, int]:
    """Mean, 95 % CI half-width (normal approximation; 0 for n < 2) and n of the finite values."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return float("nan"), float("nan"), 0
    if arr.size == 1:
        return float(arr[0]), 0.0, 1
    return float(arr.mean()), float(Z95 * arr.std(ddof=1) / math.sqrt(arr.size)), int(arr.size)


def _frame_values(row: dict, metric: str) -> list[float]:
    """Per-frame values of a sweep row (``<metric>_frames`` list) or its single mean."""
    values = row.get(f"{metric}_frames")
    if isinstance(values, list):
        return [float(v) for v in values if v is not None]
    value = row.get(metric)
    return [] if value is None else [float(value)]


def snr_curves(records: list[dict], metric: str = "bleu1") -> dict[tuple[str, str], list[dict]]:
    """{(system, channel): [{snr_db, mean, ci, n}, ...] sorted by SNR} from sweep rows.

    Frame records (demo/field logs) join in too, binned by their configured channel SNR
    (``channel_snr_db``) when present, else by the estimated SNR rounded to 1 dB.
    """
    buckets: dict[tuple[str, str, float], list[float]] = defaultdict(list)
    for row in records:
        if row.get("type") == "sweep":
            snr = row.get("snr_db")
            values = _frame_values(row, metric)
        elif row.get("type") == "frame":
            snr = row.get("channel_snr_db")
            if snr is None and row.get("snr_db") is not None:
                snr = round(float(row["snr_db"]))
                row = {**row, "channel": f"{row['_source']} (est. SNR)"}
            values = [] if row.get(metric) is None else [float(row[metric])]
        else:
            continue
        if snr is None:
            continue
        key = (str(row.get("system", "semantic")), str(row.get("channel", row.get("_source", "?"))), float(snr))
        buckets[key].extend(values)
    curves: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for (system, channel, snr), values in sorted(buckets.items()):
        mean, ci, n = mean_ci(values)
        if n:
            curves[(system, channel)].append({"snr_db": snr, "mean": mean, "ci": ci, "n": n})
    return dict(curves)


def field_stats(records: list[dict]) -> dict[str, dict]:
    """Per source file: frames, decoded, failed, missed, loss rate, mean metrics, CFO drift (Hz/min)."""
    by_source: dict[str, list[dict]] = defaultdict(list)
    for row in records:
        if row.get("type") in ("frame", "missed"):
            by_source[row["_source"]].append(row)
    out = {}
    for source, rows in by_source.items():
        frames = [r for r in rows if r["type"] == "frame"]
        missed = sum(1 for r in rows if r["type"] == "missed")
        ok = [r for r in frames if r.get("status", "ok") == "ok"]
        failed = len(frames) - len(ok)
        total = len(frames) + missed
        stats = {
            "frames": len(frames),
            "frames_ok": len(ok),
            "frames_failed": failed,
            "frames_missed": missed,
            "frames_ok_rate": len(ok) / total if total else float("nan"),
            "loss_rate": (missed + failed) / total if total else float("nan"),
        }
        for metric in ("bleu1", "similarity", "snr_db", "nam_snr_db", "evm_db", "cfo_hz"):
            mean, ci, n = mean_ci([r.get(metric) for r in frames])
            if n:
                stats[f"{metric}_mean"] = mean
                stats[f"{metric}_ci95"] = ci
        t, cfo = _series(frames, "cfo_hz")
        if t.size >= 2 and np.ptp(t) > 0:
            slope = np.polyfit(t, cfo, 1)[0]
            stats["cfo_drift_hz_per_min"] = float(slope * 60.0)
        out[source] = stats
    return out


def _series(frames: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    pts = [
        (float(r["time"]), float(r[key]))
        for r in frames
        if r.get("time") is not None and r.get(key) is not None
    ]
    if not pts:
        return np.zeros(0), np.zeros(0)
    arr = np.asarray(sorted(pts))
    return arr[:, 0] - arr[0, 0], arr[:, 1]


# -- plots -----------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_metric_vs_snr(records: list[dict], path: Path) -> bool:
    metrics = [m for m in ("bleu1", "similarity") if snr_curves(records, m)]
    if not metrics:
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for (system, channel), pts in snr_curves(records, metric).items():
            x = [p["snr_db"] for p in pts]
            y = np.array([p["mean"] for p in pts])
            ci = np.array([p["ci"] for p in pts])
            ax.plot(x, y, marker="o", label=f"{system} / {channel}")
            ax.fill_between(x, y - ci, y + ci, alpha=0.2)
        ax.set_xlabel("SNR (dB, Es/N0)")
        ax.set_ylabel({"bleu1": "BLEU-1", "similarity": "sentence similarity"}[metric])
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(plt, fig, path)


def _save(plt, fig, path: Path) -> bool:
    """Write a figure as PNG and free it; plotters return this (True: a plot was written)."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _frames_by_source(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r.get("type") == "frame":
            out[r["_source"]].append(r)
    return out


def plot_time_series(records: list[dict], path: Path) -> bool:
    groups = _frames_by_source(records)
    if not groups:
        return False
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    for source, frames in groups.items():
        t, bleu = _series(frames, "bleu1")
        ax1.plot(t, bleu, ".-", label=source)
        t, snr = _series(frames, "snr_db")
        ax2.plot(t, snr, ".-", label=f"{source} estimate")
        t, nam = _series(frames, "nam_snr_db")
        if nam.size:
            ax2.plot(t, nam, "--", alpha=0.6, label=f"{source} given to NAM")
    ax1.set_ylabel("BLEU-1")
    ax1.set_ylim(0, 1.02)
    ax2.set_ylabel("SNR (dB)")
    ax2.set_xlabel("time since first frame (s)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_cfo(records: list[dict], path: Path, stats: dict[str, dict]) -> bool:
    groups = {s: f for s, f in _frames_by_source(records).items() if _series(f, "cfo_hz")[0].size}
    if not groups:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for source, frames in groups.items():
        t, cfo = _series(frames, "cfo_hz")
        drift = stats.get(source, {}).get("cfo_drift_hz_per_min")
        label = source if drift is None else f"{source} (drift {drift:+.1f} Hz/min)"
        ax.plot(t, cfo, ".", label=label)
    ax.set_xlabel("time since first frame (s)")
    ax.set_ylabel("estimated CFO (Hz)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_frame_loss(records: list[dict], path: Path) -> bool:
    by_source: dict[str, dict[int, int]] = defaultdict(dict)
    for r in records:
        if r.get("type") in ("frame", "missed") and r.get("seq") is not None:
            # 2 = decoded, 1 = received but failed, 0 = missed
            code = 0 if r["type"] == "missed" else (2 if r.get("status", "ok") == "ok" else 1)
            by_source[r["_source"]][int(r["seq"])] = code
    if not by_source:
        return False
    plt = _pyplot()
    from matplotlib.colors import ListedColormap

    fig, ax = plt.subplots(figsize=(9, 0.8 + 0.6 * len(by_source)))
    hi = max(max(v) for v in by_source.values()) + 1
    grid = np.full((len(by_source), hi), np.nan)
    for i, codes in enumerate(by_source.values()):
        for seq, code in codes.items():
            grid[i, seq] = code
    cmap = ListedColormap(["tab:red", "tab:orange", "tab:green"])
    ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=2, interpolation="nearest")
    ax.set_yticks(range(len(by_source)), list(by_source))
    ax.set_xlabel("sequence number (green decoded, orange failed, red missed)")
    return _save(plt, fig, path)


# -- summary ---------------------------------------------------------------------------------------
def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def summary_tables(records: list[dict]) -> list[tuple[str, list[str], list[list[str]]]]:
    """[(title, header, rows)] for the summary page."""
    tables = []
    bleu = snr_curves([r for r in records if r.get("type") == "sweep"], "bleu1")
    sim = snr_curves([r for r in records if r.get("type") == "sweep"], "similarity")
    if bleu:
        decoded: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
        for r in records:
            if r.get("type") == "sweep" and r.get("frames") and r.get("frames_ok") is not None:
                key = (str(r.get("system", "semantic")), str(r.get("channel")), float(r["snr_db"]))
                decoded[key][0] += int(r["frames_ok"])
                decoded[key][1] += int(r["frames"])
        rows = []
        for key, pts in bleu.items():
            sims = {p["snr_db"]: p for p in sim.get(key, [])}
            for p in pts:
                s = sims.get(p["snr_db"], {})
                ok, total = decoded.get((key[0], key[1], p["snr_db"]), (0, 0))
                rows.append(
                    [key[0], key[1], _fmt(p["snr_db"], 1), str(p["n"]), _fmt(p["mean"]),
                     _fmt(p["ci"]), _fmt(s.get("mean")), _fmt(s.get("ci")),
                     _fmt(ok / total) if total else "-"]
                )
        tables.append((
            "Sweep: metric vs SNR (95 % CI over frames)",
            ["system", "channel", "SNR dB", "frames", "BLEU-1", "±CI", "similarity", "±CI", "decoded"],
            rows,
        ))
    stats = field_stats(records)
    if stats:
        keys = ["frames", "frames_ok", "frames_failed", "frames_missed", "frames_ok_rate", "bleu1_mean",
                "similarity_mean", "snr_db_mean", "nam_snr_db_mean", "evm_db_mean", "cfo_hz_mean",
                "cfo_drift_hz_per_min"]
        rows = [[source] + [_fmt(st.get(k)) for k in keys] for source, st in stats.items()]
        tables.append(("Field / demo logs", ["log"] + keys, rows))
    return tables


def write_summary(records: list[dict], out: Path, plots: list[str], fmt: str = "md") -> Path:
    tables = summary_tables(records)
    if fmt == "html":
        parts = ["<!doctype html><meta charset='utf-8'><title>VLM-CSC report</title>",
                 "<style>body{font-family:sans-serif;max-width:1100px}td,th{padding:2px 8px;"
                 "border-bottom:1px solid #ddd;text-align:right}</style><h1>VLM-CSC report</h1>"]
        for title, header, rows in tables:
            parts.append(f"<h2>{html.escape(title)}</h2><table><tr>")
            parts.append("".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
            for row in rows:
                parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        parts += [f"<p><img src='{html.escape(p)}' style='max-width:100%'></p>" for p in plots]
        path = out / "summary.html"
        path.write_text("\n".join(parts), encoding="utf-8")
        return path
    lines = ["# VLM-CSC report", ""]
    for title, header, rows in tables:
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    lines += [f"![{p}]({p})" for p in plots]
    path = out / "summary.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_report(paths: list[str | Path], out: str | Path = "report", fmt: str = "md") -> dict:
    """Write the plots and the summary; returns {"summary": path, "plots": [...], "field": stats,
    "curves": {"system/channel": [{snr_db, mean, ci, n}]}} (the numbers on the page)."""
    records = load_records(paths)
    if not records:
        raise ValueError("the logs hold no records; were they written by vlmcsc sweep / rx / demo?")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stats = field_stats(records)
    plots = []
    for name, fn in (
        ("metric_vs_snr.png", lambda p: plot_metric_vs_snr(records, p)),
        ("time_series.png", lambda p: plot_time_series(records, p)),
        ("cfo_drift.png", lambda p: plot_cfo(records, p, stats)),
        ("frame_loss.png", lambda p: plot_frame_loss(records, p)),
    ):
        if fn(out / name):
            plots.append(name)
    summary = write_summary(records, out, plots, fmt)
    curves = {f"{s}/{c}": pts for (s, c), pts in snr_curves(records, "bleu1").items()}
    return {"summary": str(summary), "plots": [str(out / p) for p in plots], "field": stats, "curves": curves}


def add_arguments(parser) -> None:
    parser.add_argument("logs", nargs="+", help="sweep results / rx or demo logs (.jsonl or .csv)")
    parser.add_argument("--out", "-o", default="report", help="output folder (default: report/)")
    parser.add_argument("--format", choices=("md", "html"), default="md", help="summary format")


def main(args) -> int:
    try:
        result = make_report(args.logs, args.out, args.format)
    except (FileNotFoundError, ValueError) as exc:
        print(f"vlmcsc report: {exc}")
        return 2
    print(Path(result["summary"]).read_text(encoding="utf-8") if args.format == "md" else result["summary"])
    print("plots:", ", ".join(result["plots"]) or "none (no plottable records)")
    return 0
