"""``vlmcsc report LOG...``: plots and a one-page summary from sweep results and field-test logs.

Inputs are JSON-lines files written by ``vlmcsc sweep`` (records of type ``sweep``), ``vlmcsc rx``
and ``vlmcsc demo`` (types ``frame``, ``missed``, ``skipped``), ``vlmcsc tx`` (type ``sent``), or CSV
files with the same columns. Outputs, in ``--out`` (default ``report/``):

- ``metric_vs_snr.png``: BLEU-1 (and similarity) vs SNR per system and channel, 95 % confidence
  intervals (normal approximation over frames);
- ``loss_bleu_vs_measured_snr.png`` (field logs): frame loss and BLEU-1 over sent frames vs the
  receiver's measured SNR (a lost frame is placed at the SNR measured on its nearest received
  neighbour in sequence);
- ``time_series.png``: BLEU-1 and estimated SNR per frame, with gaps where frames were lost;
- ``cfo_drift.png``: estimated CFO vs *sample* time (``start_sample / sample rate``: the radio's
  clock, not the host's), with the fitted drift in Hz/min;
- ``frame_loss.png``: received / failed / missed frames by sequence number;
- ``summary.md`` (or ``summary.html`` with ``--format html``): test settings and radio statistics
  of each log, and the numbers behind the plots, named as :mod:`.scoring` names them.
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


def _sample_rate(records: list[dict], source: str) -> float | None:
    """The sample rate (Hz) a log's start record names (radio read-back, else its profile)."""
    for r in records:
        if r.get("_source") == source and r.get("type") == "start":
            rate = (r.get("radio") or {}).get("sample_rate_hz")
            rate = rate or ((r.get("profile") or {}).get("radio") or {}).get("sample_rate_hz")
            if rate:
                return float(rate)
    return None


def field_stats(records: list[dict]) -> dict[str, dict]:
    """Per rx/demo log: the :func:`.scoring.summarize` figures, failures, mean PHY numbers and the CFO
    drift (Hz/min) fitted against sample time (``cfo_fit_axis`` says which clock was used)."""
    from .scoring import summarize

    by_source: dict[str, list[dict]] = defaultdict(list)
    for row in records:
        if row.get("type") in ("frame", "missed"):
            by_source[row["_source"]].append(row)
    out = {}
    for source, rows in by_source.items():
        frames = [r for r in rows if r["type"] == "frame"]
        stats = summarize(rows)
        stats["frames_failed"] = stats["frames_received"] - stats["frames_ok"]
        stats["frames_missed"] = stats["frames_sent"] - stats["frames_received"]
        for metric in ("snr_db", "nam_snr_db", "evm_db", "cfo_hz"):
            mean, ci, n = mean_ci([r.get(metric) for r in frames])
            if n:
                stats[f"{metric}_mean"] = mean
                stats[f"{metric}_ci95"] = ci
        t, cfo, axis = cfo_series(frames, _sample_rate(records, source))
        if t.size >= 2 and np.ptp(t) > 0:
            stats["cfo_drift_hz_per_min"] = float(np.polyfit(t, cfo, 1)[0] * 60.0)
            stats["cfo_fit_axis"] = axis
        out[source] = stats
    return out


def cfo_series(frames: list[dict], sample_rate: float | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(t in s, CFO in Hz, axis name): sample time ``start_sample / sample_rate`` when every frame has
    a start sample (default rate 1 MS/s), else wall-clock time of the log records."""
    pts = [(r.get("start_sample"), r.get("cfo_hz")) for r in frames if r.get("cfo_hz") is not None]
    if pts and all(s is not None and s >= 0 for s, _ in pts):
        arr = np.asarray(sorted(pts), dtype=float)
        return (arr[:, 0] - arr[0, 0]) / float(sample_rate or 1e6), arr[:, 1], "sample time"
    t, cfo = _series(frames, "cfo_hz")
    return t, cfo, "wall time"


def per_seq(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(seq, value) over 'frame' and 'missed' records, NaN where a frame was lost (plots break there)."""
    pts = {}
    for r in rows:
        if r.get("type") in ("frame", "missed") and r.get("seq") is not None:
            v = r.get(key) if r["type"] == "frame" else None
            pts.setdefault(int(r["seq"]), float("nan") if v is None else float(v))
    seqs = np.array(sorted(pts), dtype=float)
    return seqs, np.array([pts[int(s)] for s in seqs], dtype=float)


def loss_vs_measured_snr(rows: list[dict], bin_db: float = 1.0) -> list[dict]:
    """[{snr_db, sent, lost, frame_loss, bleu1_sent}] per measured-SNR bin (field logs).

    A received frame sits at its own SNR estimate; a lost one at the estimate of the nearest received
    frame in sequence (the channel around it). BLEU-1 counts a lost frame as 0 (``scoring``'s rule).
    """
    frames = sorted((int(r["seq"]), r) for r in rows if r.get("type") == "frame" and r.get("snr_db") is not None)
    if not frames:
        return []
    seqs = np.array([s for s, _ in frames])
    bins: dict[float, list] = defaultdict(lambda: [0, 0, []])
    for r in rows:
        if r.get("type") not in ("frame", "missed") or r.get("seq") is None:
            continue
        if r["type"] == "frame" and r.get("snr_db") is not None:
            snr, lost, bleu = float(r["snr_db"]), 0, float(r.get("bleu1") or 0.0)
        elif r["type"] == "missed":
            near = frames[int(np.argmin(np.abs(seqs - int(r["seq"]))))][1]
            snr, lost, bleu = float(near["snr_db"]), 1, 0.0
        else:
            continue
        b = bins[round(snr / bin_db) * bin_db]
        b[0] += 1
        b[1] += lost
        b[2].append(bleu)
    return [{"snr_db": k, "sent": v[0], "lost": v[1], "frame_loss": v[1] / v[0], "bleu1_sent": float(np.mean(v[2]))}
            for k, v in sorted(bins.items())]


def settings_and_radio(records: list[dict]) -> tuple[list[list[str]], list[list[str]]]:
    """Rows of the test-settings and radio-statistics tables, one per log with start/end records."""
    settings, radio = [], []
    for source in dict.fromkeys(r["_source"] for r in records):
        rows = [r for r in records if r["_source"] == source]
        start = next((r for r in rows if r.get("type") == "start"), None)
        end = next((r for r in reversed(rows) if r.get("type") == "end"), None)
        if start is not None:
            prof = start.get("profile") or {}
            test, codec = prof.get("test") or {}, prof.get("codec") or {}
            rs = start.get("radio") or {}
            sent = sum(1 for r in rows if r.get("type") == "sent")
            settings.append([source, str(start.get("role", "-")), str(rs.get("backend", "-")),
                             _fmt(rs.get("frequency_hz"), 0), _fmt(rs.get("sample_rate_hz"), 0),
                             _fmt(rs.get("tx_gain_db"), 1), _fmt(rs.get("rx_gain_db"), 1),
                             str(test.get("seed", "-")), str(test.get("frames", "-")), str(test.get("captions", "-")),
                             str(codec.get("system", "-")), str(sent) if start.get("role") == "tx" else "-"])
        if end is not None:
            rstats = end.get("radio_stats") or {}
            phy = end.get("phy_stats") or {}
            radio.append([source, str(rstats.get("samples_rx") or rstats.get("samples_tx", "-")),
                          str(rstats.get("overflows", "-")), str(rstats.get("ring_dropped", "-")),
                          str(end.get("samples_missing", "-")), str(end.get("clipped_samples", "-")),
                          str(phy.get("detections", "-")), str(phy.get("header_crc_fail", "-")),
                          str(end.get("interrupted", "-"))])
    return settings, radio


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


def _rows_by_source(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r.get("type") in ("frame", "missed"):
            out[r["_source"]].append(r)
    return out


def plot_time_series(records: list[dict], path: Path) -> bool:
    """BLEU-1 and SNR per frame, by sequence number; lost frames are gaps (NaN), never joined over."""
    groups = _rows_by_source(records)
    if not any(r["type"] == "frame" for rows in groups.values() for r in rows):
        return False
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    for source, rows in groups.items():
        seq, bleu = per_seq(rows, "bleu1")
        ax1.plot(seq, bleu, ".-", label=source)
        seq, snr = per_seq(rows, "snr_db")
        ax2.plot(seq, snr, ".-", label=f"{source} estimate")
        seq, nam = per_seq(rows, "nam_snr_db")
        if np.isfinite(nam).any():
            ax2.plot(seq, nam, "--", alpha=0.6, label=f"{source} given to NAM")
        lost = [int(r["seq"]) for r in rows if r["type"] == "missed"]
        for ax in (ax1, ax2):
            for k in lost:
                ax.axvspan(k - 0.5, k + 0.5, color="tab:red", alpha=0.12, lw=0)
    ax1.set_ylabel("BLEU-1")
    ax1.set_ylim(0, 1.02)
    ax2.set_ylabel("SNR (dB)")
    ax2.set_xlabel("sequence number (red bands: lost frames)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_loss_vs_measured_snr(records: list[dict], path: Path) -> bool:
    curves = {s: c for s, rows in _rows_by_source(records).items() if (c := loss_vs_measured_snr(rows))}
    if not curves:
        return False
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for source, pts in curves.items():
        x = [p["snr_db"] for p in pts]
        ax1.plot(x, [p["frame_loss"] for p in pts], "o-", label=source)
        ax2.plot(x, [p["bleu1_sent"] for p in pts], "o-", label=source)
    ax1.set_ylabel("frame loss")
    ax2.set_ylabel("BLEU-1 over sent frames (lost = 0)")
    for ax in (ax1, ax2):
        ax.set_xlabel("measured SNR (dB, receiver estimate)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_cfo(records: list[dict], path: Path, stats: dict[str, dict]) -> bool:
    series = {}
    for source, frames in _frames_by_source(records).items():
        t, cfo, axis = cfo_series(frames, _sample_rate(records, source))
        if t.size:
            series[source] = (t, cfo, axis)
    if not series:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    axes_used = set()
    for source, (t, cfo, axis) in series.items():
        drift = stats.get(source, {}).get("cfo_drift_hz_per_min")
        label = source if drift is None else f"{source} (drift {drift:+.1f} Hz/min)"
        ax.plot(t, cfo, ".", label=label)
        axes_used.add(axis)
    ax.set_xlabel(f"{' / '.join(sorted(axes_used))} since first frame (s)")
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
    settings, radio = settings_and_radio(records)
    if settings:
        tables.append(("Test settings", ["log", "role", "radio", "frequency Hz", "rate S/s", "TX gain dB",
                                         "RX gain dB", "seed", "frames", "captions", "system", "frames sent (tx)"],
                       settings))
    if radio:
        tables.append(("Radio statistics (end of run)", ["log", "samples", "overflows", "ring dropped",
                                                         "samples missing (clock)", "clipped", "detections",
                                                         "header CRC fail", "interrupted"], radio))
    stats = field_stats(records)
    if stats:
        from .scoring import SUMMARY_KEYS

        keys = list(SUMMARY_KEYS) + ["frames_failed", "frames_missed", "nam_snr_db_mean", "evm_db_mean",
                                     "cfo_hz_mean", "cfo_drift_hz_per_min", "cfo_fit_axis"]
        rows = [[source] + [_fmt(st.get(k)) for k in keys] for source, st in stats.items()]
        tables.append(("Field / demo logs (figures named as in vlmcsc.flowgraphs.scoring)", ["log"] + keys, rows))
        for source, rows_ in _rows_by_source(records).items():
            pts = loss_vs_measured_snr(rows_)
            if pts:
                tables.append((f"{source}: frame loss and BLEU-1 vs measured SNR",
                               ["SNR dB", "frames sent", "lost", "frame loss", "BLEU-1 (sent)"],
                               [[_fmt(p["snr_db"], 1), str(p["sent"]), str(p["lost"]), _fmt(p["frame_loss"]),
                                 _fmt(p["bleu1_sent"])] for p in pts]))
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
        ("loss_bleu_vs_measured_snr.png", lambda p: plot_loss_vs_measured_snr(records, p)),
        ("frame_loss.png", lambda p: plot_frame_loss(records, p)),
    ):
        if fn(out / name):
            plots.append(name)
    summary = write_summary(records, out, plots, fmt)
    curves = {f"{s}/{c}": pts for (s, c), pts in snr_curves(records, "bleu1").items()}
    return {"summary": str(summary), "plots": [str(out / p) for p in plots], "field": stats, "curves": curves}


def add_arguments(parser) -> None:
    parser.add_argument("logs", nargs="+", help="sweep results / rx, tx or demo logs (.jsonl or .csv)")
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
