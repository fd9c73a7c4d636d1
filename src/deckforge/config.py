"""Project configuration, and which project a build belongs to.

A project is the folder that holds the notes: `sources/` (the notes), optionally `snippets/`
(formulas of its own, added to the built-in registry), `deckforge.lock` (its cards' Anki
identities), `mkdocs.yml` and `docs/` (its site). Its settings live in `deckforge.toml` (top-level
keys) or in `[tool.deckforge]` of its `pyproject.toml`; every key has a default.

Which project a build belongs to (ARCHITECTURE: identity never crosses projects):
- `--project DIR` (the `root` argument): that folder, as given;
- `--sources DIR`: the project whose sources folder holds DIR, found by walking up from DIR;
  when no project above DIR reads DIR as its notes (a folder of notes anywhere, or other notes
  inside some project), DIR itself is the project: its lock is written next to the notes, and
  no other project's lock, config or site is ever used for them;
- neither: the nearest project at or above the working directory.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_FILE = "deckforge.toml"
LOCK_FILE = "deckforge.lock"
DEFAULT_SOURCES = "sources"
DEFAULT_OUT = "build"


@dataclass(frozen=True)
class Config:
    root: Path
    sources_dir: Path
    out_dir: Path
    styles: dict[str, str] = field(default_factory=dict)  # file name -> forced reader name
    repo_url: str = ""
    edit_uri: str = "blob/main/"
    deck_name: str = "deckforge"
    title: str = ""  # the site's name and home page heading (default: the project folder's name)
    lock_file: Path | None = None  # `--lock`: an explicit lock instead of <root>/deckforge.lock

    @property
    def lock_path(self) -> Path:
        return self.lock_file or self.root / LOCK_FILE

    @property
    def snippets_dir(self) -> Path:
        return self.root / "snippets"

    @property
    def site_title(self) -> str:
        return self.title or self.root.name or "deckforge"

    def relpath(self, path: Path) -> str:
        """Paths in the graph are relative to the project root (the notes' own project, so the
        same notes give the same paths from any working directory); notes outside it (an
        explicit `--project` with `--sources` elsewhere) are relative to their sources folder."""
        path = Path(path).resolve()
        for base in (self.root.resolve(), self.sources_dir):
            try:
                return path.relative_to(base).as_posix()
            except ValueError:
                continue
        return path.as_posix()

    def source_url(self, path: str, line: int) -> str | None:
        """Where a card's "edit" link points; None for a path the repository cannot hold."""
        if not self.repo_url or path.startswith(("/", "../")) or "/../" in path:
            return None
        return f"{self.repo_url.rstrip('/')}/{self.edit_uri.strip('/')}/{path}#L{line}"


def read_table(folder: Path) -> dict | None:
    """The project settings of `folder` (deckforge.toml wins over pyproject.toml), checked, or
    None when the folder declares none; ConfigError naming the file when they can't be used."""
    own = folder / CONFIG_FILE
    if own.is_file():
        return _checked(own, _toml(own), f"{own}:")
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        tool = _toml(pyproject).get("tool", {})
        table = tool.get("deckforge") if isinstance(tool, dict) else None
        if table is not None:
            return _checked(pyproject, table, f"{pyproject}: [tool.deckforge]")
    return None


def is_project(folder: Path) -> bool:
    """A folder that declares itself a deckforge project, or holds notes the default way."""
    try:
        declared = read_table(folder) is not None
    except ConfigError:
        declared = True  # a config that can't be read is still this folder's: report it
    return declared or (folder / LOCK_FILE).is_file() or (folder / DEFAULT_SOURCES).is_dir()


def _nearest_project(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if is_project(folder):
            return folder
    return None


def find_root(start: Path) -> Path:
    """The nearest project at or above `start` (else `start`)."""
    start = start.resolve()
    return _nearest_project(start) or start


def _sources_of(root: Path, table: dict) -> Path:
    return (root / str(table.get("sources", DEFAULT_SOURCES))).resolve()


def project_of_sources(sources: Path) -> Path:
    """The project the notes in `sources` belong to (module docstring): the nearest project
    above them whose sources folder holds them, else the notes' folder itself."""
    sources = sources.resolve()
    for folder in (sources, *sources.parents):
        if not is_project(folder):
            continue
        own = _sources_of(folder, read_table(folder) or {})
        if sources == own or own in sources.parents:
            return folder
    return sources


class ConfigError(ValueError):
    """The project's configuration cannot be used: a usage error (exit 2), with its file."""


# [tool.deckforge] keys and the type each must have; the checks below add what a type can't.
KEYS = {"styles": dict, "repo_url": str, "edit_uri": str, "deck_name": str, "title": str,
        "sources": str, "out": str}


def load_config(
    root: Path | None = None, sources: Path | None = None, out: Path | None = None,
    lock: Path | None = None,
) -> Config:
    if root is not None:
        root = Path(root).resolve()
    elif sources is not None:
        root = project_of_sources(Path(sources))
    else:
        root = find_root(Path.cwd())
    table = read_table(root) or {}
    return Config(
        root=root,
        sources_dir=(Path(sources).resolve() if sources else _sources_of(root, table)),
        out_dir=(Path(out) if out else root / str(table.get("out", DEFAULT_OUT))).resolve(),
        styles=dict(table.get("styles", {})),
        repo_url=table.get("repo_url", ""),
        edit_uri=table.get("edit_uri", "blob/main/"),
        deck_name=table.get("deck_name", "deckforge"),
        title=table.get("title", ""),
        lock_file=Path(lock).resolve() if lock else None,
    )


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read as TOML ({err}).") from err


def _checked(path: Path, table: object, where: str) -> dict:
    """The settings table, checked; ConfigError naming the file otherwise."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of settings.")
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
