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


class ConfigError(ValueError):
    """The project's configuration cannot be used: a usage error (exit 2), with its file."""


# [tool.deckforge] keys and the type each must have; the checks below add what a type can't.
KEYS = {"styles": dict, "repo_url": str, "edit_uri": str, "deck_name": str}


def load_config(
    root: Path | None = None, sources: Path | None = None, out: Path | None = None
) -> Config:
    root = find_root(root or Path.cwd())
    table = _table(root / "pyproject.toml")
    return Config(
        root=root,
        sources_dir=(sources or root / "sources").resolve(),
        out_dir=(out or root / "build").resolve(),
        styles=dict(table.get("styles", {})),
        repo_url=table.get("repo_url", ""),
        edit_uri=table.get("edit_uri", "blob/main/"),
        deck_name=table.get("deck_name", "deckforge"),
    )


def _table(pyproject: Path) -> dict:
    """`[tool.deckforge]` of `pyproject`, checked; ConfigError naming the file otherwise."""
    if not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{pyproject}: cannot be read as TOML ({err}).") from err
    tool = data.get("tool", {})
    table = tool.get("deckforge", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.deckforge] must be a table of settings.")
    where = f"{pyproject}: [tool.deckforge]"
    for key, kind in KEYS.items():
        if key in table and not isinstance(table[key], kind):
            raise ConfigError(f"{where} {key} must be a {kind.__name__}, not "
                              f"{type(table[key]).__name__} ({table[key]!r}).")
    for name, style in table.get("styles", {}).items():
        if not isinstance(style, str):
            raise ConfigError(f"{where} styles: the style of {name!r} must be a reader name "
                              f"(a string), not {style!r}.")
    if "deck_name" in table:
        check_file_name(table["deck_name"], f"{where} deck_name")
    return table


def check_file_name(name: str, what: str) -> str:
    """A config value that becomes a file name (`<deck_name>.apkg` in --out) must be one plain
    name: `../../tmp/x` or `/etc/x` would write outside the output folder."""
    bad = (not name.strip() or name in {".", ".."} or "/" in name or "\\" in name
           or "\x00" in name or name.startswith(".") or Path(name).is_absolute())
    if bad:
        raise ConfigError(f"{what} = {name!r} must be a plain name (no '/', '\\', leading "
                          "'.' or '..'): it names the deck file inside --out.")
    return name
