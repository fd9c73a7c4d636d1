"""One huge item: a notes file whose separators are missing, so a whole file is one question.

`python -m benchmarks single_item [--sizes 1 2.5 5 10] [--budget 120]` writes, for each size
in MB, a dotted-style file of dot-less lines full of formula phrases (the text matching the
link, repair and check passes run on every question) ending in one `........answer` line, and
builds it with `deckforge build --no-site` in a fresh process. It prints the build time, the
peak memory (max RSS of that process) and the growth exponent between sizes: ~1 means linear.
Before issue 16 alias matching compared every phrase with every other: 1 MB took 11.7 s and
4 MB 161 s (exponent ~1.9). Prints numbers; the only verdict is whether the largest size
finished within the budget.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHRASES = ("the roofline model bounds attainable FLOP/s by arithmetic intensity",
           "flash attention tiles the softmax and the KV cache grows with the sequence",
           "LoRA adapters add a low-rank update to a frozen weight matrix",
           "layer norm and RMSNorm rescale activations before attention",
           "data parallel training all-reduces gradients across GPUs")


def make_notes(size_mb: float) -> str:
    """About `size_mb` MB: one question of dot-less lines, then its answer."""
    target = int(size_mb * 1_000_000)
    lines, n, i = [], 0, 0
    while n < target:
        line = f"{PHRASES[i % len(PHRASES)]} {i}"
        lines.append(line)
        n += len(line) + 1
        i += 1
    return "\n".join(lines) + "\nWhat bounds all of this?........The roofline\n"


def build_once(size_mb: float) -> None:
    """Runs in a child process: build one file of `size_mb` MB, print seconds."""
    with tempfile.TemporaryDirectory(prefix="deckforge-bench-single-") as tmp:
        project = Path(tmp)
        (project / "sources").mkdir()
        shutil.copytree(ROOT / "snippets", project / "snippets",
                        ignore=shutil.ignore_patterns("__pycache__", "results", "bench"))
        (project / "pyproject.toml").write_text("[project]\nname = 'bench'\n", "utf-8")
        (project / "sources" / "huge.txt").write_text(make_notes(size_mb), "utf-8")
        from deckforge.build import run_build

        start = time.perf_counter()
        report = run_build(root=project, out=project / "build", with_site=False)
        seconds = time.perf_counter() - start
        codes = sorted({d.code for d in report.graph.diagnostics})
        print(json.dumps({"seconds": seconds, "cards": len(report.graph.cards), "codes": codes}))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks single_item")
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 2.5, 5, 10])
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds the largest size may take")
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        build_once(args.one)
        return 0
    print(f"{'MB':>6} {'build s':>9} {'peak RSS MB':>12} {'exponent':>9}  cards  diagnostics")
    previous = None
    seconds = 0.0
    for size in args.sizes:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(  # this checkout's deckforge
            [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-m", "benchmarks", "single_item", "--one",
                               str(size)], cwd=ROOT, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            return 1
        # ru_maxrss of children is the largest child so far: sizes grow, so it is this one's.
        peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        seconds, cards, codes = result["seconds"], result["cards"], ",".join(result["codes"])
        exponent = (f"{math.log(seconds / previous[1]) / math.log(size / previous[0]):9.2f}"
                    if previous else f"{'':>9}")
        print(f"{size:6g} {seconds:9.2f} {peak:12.0f} {exponent}  {cards:>5}  {codes}")
        previous = (size, seconds)
    verdict = "within" if seconds <= args.budget else "OVER"
    print(f"largest size: {seconds:.1f} s, {verdict} the {args.budget:g} s budget")
    return 0
