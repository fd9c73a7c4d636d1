"""`deckforge init [DIR]`: a notes project a user owns, ready for `deckforge build`.

It writes a short example in each note style (sources/), the project's settings
(deckforge.toml), its site (mkdocs.yml, docs/index.md, both titled after the project), a
.gitignore for the build output and a pull-request workflow. Files that exist are kept, never
overwritten; an existing sources/ folder with notes in it gets no examples.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from deckforge.fsutil import atomic_write_text

TEMPLATES = Path(__file__).resolve().parent / "assets" / "init"


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def deck_name_for(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-.") or "notes"


def planned_files(title: str) -> dict[str, str]:
    """Project-relative path -> content of every file init writes."""
    from deckforge.emit.site import default_home, default_mkdocs_yml

    settings = (TEMPLATES / "deckforge.toml").read_text("utf-8")
    settings = settings.replace("{title}", _toml_string(title))
    settings = settings.replace("{deck_name}", _toml_string(deck_name_for(title)))
    files = {
        "deckforge.toml": settings,
        "mkdocs.yml": default_mkdocs_yml(title),
        "docs/index.md": default_home(title),
        ".gitignore": (TEMPLATES / "gitignore").read_text("utf-8"),
        ".github/workflows/deckforge.yml": (TEMPLATES / "workflows" / "deckforge.yml").read_text("utf-8"),
    }
    for example in sorted((TEMPLATES / "sources").iterdir()):
        files[f"sources/{example.name}"] = example.read_text("utf-8")
    return files


def init_project(folder: Path, title: str | None = None) -> tuple[list[str], list[str]]:
    """Write the project into `folder`; returns (written, kept) project-relative paths."""
    folder = folder.resolve()
    title = title or folder.name or "notes"
    has_notes = (folder / "sources").is_dir() and any((folder / "sources").iterdir())
    written, kept = [], []
    for rel, text in planned_files(title).items():
        target = folder / rel
        if target.exists() or (has_notes and rel.startswith("sources/")):
            kept.append(rel)
            continue
        atomic_write_text(target, text)
        written.append(rel)
    return written, kept
