"""Measured GPU timings (snippets/bench/results/*.json, schema deckforge.bench/1) as tables,
matplotlib plots (SVG with a fixed hash salt and no date: byte-identical) and a verdict."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from deckforge.bench.result import read_result_files
from deckforge.diagnostics import Diagnostic
from deckforge.emit.pages.text import escape, inline

RESULTS_DIR = Path("bench") / "results"  # under snippets/
VERDICTS = {
    "supports": ("success", "The measurement supports the note's claim"),
    "contradicts": ("failure", "The measurement contradicts the note's claim"),
    "partly": ("warning", "The measurement partly supports the note's claim"),
    "not-run": ("note", "Not measured yet"),
}


@dataclass(frozen=True)
class BenchResult:
    case: str
    path: str  # relative to the project root, for the "source" line
    data: dict

    @property
    def title(self) -> str:
        return str(self.data.get("title") or self.case)

    @property
    def anchor(self) -> str:
        return "bench-" + self.case

    def plot_path(self, i: int) -> str:
        return f"assets/bench/{self.case}-{i + 1}.svg"


def load_results(snippets_dir: Path, root: Path | None = None
                 ) -> tuple[list[BenchResult], list[Diagnostic]]:
    """The results committed beside one snippets package; paths shown relative to the folder
    above it (the project root, or the built-in registry's parent)."""
    results, problems = [], []
    base = root if root is not None else snippets_dir.parent
    for path, data, problem in read_result_files(snippets_dir / RESULTS_DIR):
        rel = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.as_posix()
        if data is None:
            problems.append(Diagnostic(rel, 1, "bad-bench-result", problem))
            continue
        case = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(data.get("case") or path.stem))
        results.append(BenchResult(case=case, path=rel, data=data))
    return results, problems


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return escape(" ".join(str(value).split()))


def _columns(data: dict) -> list[dict]:
    cols = [c for c in data.get("columns", []) if isinstance(c, dict) and "key" in c]
    if not cols:  # no declared columns: every key seen in the rows, in first-seen order
        keys = dict.fromkeys(k for row in data.get("rows", []) if isinstance(row, dict) for k in row)
        cols = [{"key": k, "label": k} for k in keys]
    return cols


def table(data: dict) -> list[str]:
    cols = _columns(data)
    rows = [r for r in data.get("rows", []) if isinstance(r, dict)]
    if not cols or not rows:
        return []
    head = [escape(str(c.get("label") or c["key"])) + (f" ({escape(str(c['unit']))})" if c.get("unit") else "")
            for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" ---: " for _ in cols) + "|"]
    lines += ["| " + " | ".join(_fmt(r.get(c["key"])) for c in cols) + " |" for r in rows]
    return lines


def _numeric(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def plot_svg(data: dict, spec: dict) -> bytes | None:
    """One plot spec -> SVG bytes (None when there is nothing numeric to draw)."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

    rows = [r for r in data.get("rows", []) if isinstance(r, dict)]
    x_key, ys = spec.get("x"), spec.get("y") or []
    ys = [ys] if isinstance(ys, str) else list(ys)
    labels = {c["key"]: str(c.get("label") or c["key"]) for c in _columns(data)}
    series_by = spec.get("series_by")
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(str(row.get(series_by)) if series_by else "", []).append(row)
    # Speed matters (the whole site builds in seconds): SVG text stays text (no glyph paths),
    # tick labels avoid mathtext (EngFormatter: "10 k"), margins are fixed (no tight_layout).
    rc = {"svg.hashsalt": "deckforge", "svg.fonttype": "none", "font.size": 9,
          "axes.formatter.use_mathtext": False}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(6.4, 3.6), dpi=100, facecolor="white")
        fig.subplots_adjust(left=0.12, right=0.97, bottom=0.15, top=0.9)
        ax = fig.add_subplot()
        drawn = 0
        categories = list(dict.fromkeys(r.get(x_key) for r in rows if isinstance(r.get(x_key), str)))
        if categories:  # a categorical x (kernel names): grouped bars
            width = 0.8 / max(len(ys), 1)
            for j, y_key in enumerate(ys):
                vals = [next((r[y_key] for r in rows if r.get(x_key) == c and _numeric(r.get(y_key))), 0.0)
                        for c in categories]
                ax.bar([i + (j - (len(ys) - 1) / 2) * width for i in range(len(categories))], vals,
                       width=width, label=labels.get(y_key, y_key))
                drawn += 1
            ax.set_xticks(range(len(categories)), [str(c) for c in categories], rotation=20, fontsize=7)
            groups = {}
        for group, members in groups.items():
            for y_key in ys:
                pts = sorted((r[x_key], r[y_key]) for r in members
                             if _numeric(r.get(x_key)) and _numeric(r.get(y_key)))
                if not pts:
                    continue
                name = labels.get(y_key, y_key) + (f" ({series_by}={group})" if series_by else "")
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3, label=name)
                drawn += 1
        if not drawn:
            return None
        for h in spec.get("hlines") or []:
            if isinstance(h, dict) and _numeric(h.get("y")):
                ax.axhline(h["y"], linestyle="--", color="grey", linewidth=1, label=str(h.get("label", "")) or None)
        if spec.get("logx"):
            ax.set_xscale("log")
        if spec.get("logy"):
            ax.set_yscale("log")
        for axis, log in ((ax.xaxis, spec.get("logx") and not categories), (ax.yaxis, spec.get("logy"))):
            if categories and axis is ax.xaxis:
                continue
            if log:  # 1-2-5 ticks: a log axis spanning less than a decade still gets labels
                axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(EngFormatter(sep=" "))
            axis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(str(spec.get("xlabel") or labels.get(x_key, x_key)))
        ax.set_ylabel(str(spec.get("ylabel") or ""))
        ax.set_title(str(spec.get("title") or ""))
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "deckforge"})
    return buf.getvalue()


PLOT_VERSION = "2"  # bump when plot_svg draws differently: invalidates the plot cache


def cached_plot(data: dict, spec: dict, cache_dir: Path | None, memo: dict) -> bytes | None:
    """plot_svg, memoized per build and cached on disk by content hash (matplotlib needs
    ~0.2 s a plot; a rebuild with unchanged results draws nothing)."""
    import hashlib

    import matplotlib

    key = hashlib.sha256(json.dumps([PLOT_VERSION, matplotlib.__version__, data, spec],
                                    sort_keys=True, default=str).encode()).hexdigest()[:32]
    if key in memo:
        return memo[key]
    path = cache_dir / f"{key}.svg" if cache_dir else None
    if path and path.is_file():
        svg = path.read_bytes()
    else:
        svg = plot_svg(data, spec)
        if path and svg is not None:
            from deckforge.fsutil import atomic_write_bytes

            atomic_write_bytes(path, svg)
    memo[key] = svg
    return svg


def render(result: BenchResult, page: str, rel, link=None, cache_dir: Path | None = None,
           memo: dict | None = None) -> tuple[list[str], dict[str, bytes]]:
    """Markdown for one result on `page` (rel(page, asset) makes links) and its plot files."""
    data = result.data
    kind, heading = VERDICTS.get(str(data.get("verdict")), VERDICTS["not-run"])
    lines = [f"### {escape(result.title)} {{#{result.anchor}}}", ""]
    if data.get("claim"):
        lines += [f"**Claim in the notes:** {inline(str(data['claim']), link)}", ""]
    lines += [f'!!! {kind} "{heading}"', ""]
    lines += ["    " + (inline(str(data.get("summary") or "No summary recorded."), link)), ""]
    env = data.get("environment") or {}
    if isinstance(env, dict) and env:
        parts = [f"{k} {escape(str(env[k]))}" for k in ("device", "driver", "cuda", "torch", "triton", "date") if env.get(k)]
        # a not-run record measured nothing: it says where it was written
        on = "*Recorded on* " if data.get("verdict") == "not-run" else "*Measured on* "
        lines += [on + " · ".join(parts) + f" · raw data `{result.path}`", ""]
    assets: dict[str, bytes] = {}
    for i, spec in enumerate(p for p in data.get("plots") or [] if isinstance(p, dict)):
        svg = cached_plot(data, spec, cache_dir, {} if memo is None else memo)
        if svg is None:
            continue
        assets[result.plot_path(i)] = svg
        alt = escape(str(spec.get("title") or result.title))
        lines += [f"![{alt}]({rel(page, result.plot_path(i))}){{ .df-plot loading=lazy }}", ""]
    rows = table(data)
    if rows:
        lines += ['??? note "Measurements (table)"', "", *["    " + r for r in rows], ""]
    return lines, assets
