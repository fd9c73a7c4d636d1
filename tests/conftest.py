"""Shared fixtures: the real notes and one build of them, reused across tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deckforge.registry import builtin_folder

ROOT = Path(__file__).resolve().parents[1]
# `import deckforge_snippets` (the built-in registry) works from a checkout that is not
# installed too: the loader registers this repository's snippets/ under that name.
builtin_folder()
SOURCES = ROOT / "sources"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def bundled_build(tmp_path_factory):
    """One `deckforge build --no-site` of the bundled notes into a temp folder."""
    from deckforge.build import run_build

    out = tmp_path_factory.mktemp("build")
    project = tmp_path_factory.mktemp("project")
    for name in ("sources", "snippets"):
        shutil.copytree(ROOT / name, project / name)
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    if (ROOT / "deckforge.lock").exists():
        shutil.copy(ROOT / "deckforge.lock", project / "deckforge.lock")
    return run_build(root=project, out=out, with_site=False)


@pytest.fixture(scope="session")
def graph_json(bundled_build) -> dict:
    import json

    return json.loads((bundled_build.config.out_dir / "graph.json").read_text("utf-8"))


@pytest.fixture(scope="session")
def bundled_graph():
    """The KnowledgeGraph of the bundled notes (readers + every pass, no emitters)."""
    from deckforge.config import load_config
    from deckforge.pipeline import build_graph

    return build_graph(load_config(root=ROOT))


def card_at(graph, ref: str):
    """The card whose sources cover `path:line` (None if no card does)."""
    path, line = ref.rsplit(":", 1)
    for card in graph.cards:
        for span in card.sources:
            if span.path == path and span.line <= int(line) <= span.end_line:
                return card
    return None
