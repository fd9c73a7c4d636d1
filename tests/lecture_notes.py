"""Shared helpers of the lecture-notes measurements (issue 12): the lecture files built
together in a temp project, and recall of the labelled study items."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
LECTURE_FILES = (
    "sources/cs336-lecture-notes.md",
    "sources/efficient-dl-midterm-recap.txt",
    "tests/data/notes/lecture-gpu-inference-notes.md",
    "tests/data/notes/lecture-compression-recap.txt",
    # held out: written and labelled (study_items.json) before the lecture2 reader change ran
    "tests/data/notes/lecture2-efficient-training-recap.txt",
)


def build_lecture_graph(tmp: Path):
    """Readers + every pass on the four lecture files (each under sources/ of a temp project,
    with this repository's snippets), as `deckforge build` would see them."""
    from deckforge.config import load_config
    from deckforge.pipeline import build_graph

    (tmp / "sources").mkdir(parents=True, exist_ok=True)
    for rel in LECTURE_FILES:
        shutil.copy(ROOT / rel, tmp / "sources" / Path(rel).name)
    shutil.copytree(ROOT / "snippets", tmp / "snippets", dirs_exist_ok=True)
    return build_graph(load_config(root=tmp, sources=tmp / "sources"))


def study_items() -> dict[str, list[dict]]:
    return json.loads((DATA / "study_items.json").read_text("utf-8"))["files"]


def cards_of(graph, rel: str) -> list:
    name = Path(rel).name
    return [c for c in graph.cards if any(Path(s.path).name == name for s in c.sources)]


def recall(graph, rel: str) -> tuple[float, list[dict]]:
    """Share of the labelled study items of `rel` that lie inside some card's source span,
    and the items no card covers."""
    name = Path(rel).name
    spans = [s for c in graph.cards for s in c.sources if Path(s.path).name == name]
    items = study_items()[rel]
    missed = [i for i in items if not any(s.line <= i["line"] <= s.end_line for s in spans)]
    return 1 - len(missed) / len(items), missed
