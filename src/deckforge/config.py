"""Project configuration: `[tool.deckforge]` in the project's pyproject.toml.

A project is a folder with `sources/` (the notes), `snippets/` (the formula registry) and
`deckforge.lock`. The config is optional; every key has a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Config:
    root: Path
    sources_dir: Path
    out_dir: Path
    styles: dict[str, str] = field(default_factory=dict)  # file name -> forced reader name
    repo_url: str = ""
    edit_uri: str = "blob/main/"
    deck_name: str = "deckforge"

    @property
    def lock_path(self) -> Path:
        return self.root / "deckforge.lock"

    @property
    def snippets_dir(self) -> Path:
        return self.root / "snippets"

    def relpath(self, path: Path) -> str:
        """Paths in the graph are relative to the project root, or to the working directory
        when `--sources` points outside the project (ARCHITECTURE: graph.json sources)."""
        path = path.resolve()
        for base in (self.root.resolve(), Path.cwd().resolve()):
            try:
                return path.relative_to(base).as_posix()
            except ValueError:
                continue
        return path.as_posix()

    def source_url(self, path: str, line: int) -> str | None:
        if not self.repo_url:
            return None
        return f"{self.repo_url.rstrip('/')}/{self.edit_uri.strip('/')}/{path}#L{line}"


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` with a pyproject.toml or sources/ (else `start`)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / "sources").is_dir():
            return folder
    return start


def load_config(
    root: Path | None = None, sources: Path | None = None, out: Path | None = None
) -> Config:
    root = find_root(root or Path.cwd())
    table: dict = {}
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        table = tomllib.loads(pyproject.read_text("utf-8")).get("tool", {}).get("deckforge", {})
    return Config(
        root=root,
        sources_dir=(sources or root / "sources").resolve(),
        out_dir=(out or root / "build").resolve(),
        styles=dict(table.get("styles", {})),
        repo_url=table.get("repo_url", ""),
        edit_uri=table.get("edit_uri", "blob/main/"),
        deck_name=table.get("deck_name", "deckforge"),
    )
