"""The output folder is the tool's alone (ARCHITECTURE: CLI).

A build deletes and replaces what is in `--out` (the site is rebuilt from scratch), so it
must never take a folder that holds anything else: `--out /`, `--out ~`, `--out .`, `--out
sources` or `--out docs` would otherwise wipe or pollute the user's files. `claim(out, config)`
runs before anything is written:

- refused outright: the filesystem root, the home folder, the project root and any folder
  above it, the sources folder, the docs folder (exit 2, `OutDirError`);
- a folder holding `MARKER` is ours (a previous build wrote it): taken;
- a new or empty folder: created and marked;
- a folder without the marker is adopted only when it holds nothing but names a build writes
  and a graph.json of ours (a `build/` from before markers existed); anything else means it
  is someone else's: refused.

Inside an owned folder the build replaces only the names in `OWNED`; the site is built in a
temp folder beside it and swapped in whole (`emit.site`). Stale temp files of killed builds
(`.<name>.*.tmp`, `.site.*`) are removed once they are older than `STALE_SECONDS`, so a
concurrent build's file in flight is never touched.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from deckforge.fsutil import atomic_write_text

MARKER = ".deckforge-out"
MARKER_TEXT = ("This folder is written by `deckforge build`: it deletes and replaces what it "
               "wrote here\n(graph.json, *.apkg, site/, site-src/, check.json, bench/). Do not "
               "keep your own files in it.\n")
# Names a build (or `deckforge check` / `bench --device cpu`) writes directly in --out.
OWNED_FILES = {"graph.json", "check.json", MARKER}
OWNED_DIRS = {"site", "site-src", "bench", ".cache"}
STALE_SECONDS = 600  # a temp file this old belongs to a build that was killed


class OutDirError(Exception):
    """`--out` names a folder the tool must not write into: a usage error (exit 2)."""


def claim(out: Path, config) -> Path:
    """Check that `out` may be written by a build, create and mark it; raise OutDirError."""
    out = Path(out)
    resolved = out.resolve()
    shown = f"--out {out}"
    for why, folder in _forbidden(config):
        if resolved == folder:
            raise OutDirError(f"{shown}: refusing to write into {why}; builds delete and replace "
                              "what is in --out. Pick a new folder such as build/.")
    root = Path(config.root).resolve()
    if (root / "docs") in resolved.parents:  # the site copies docs/: it would grow each build
        raise OutDirError(f"{shown}: refusing to write inside the docs folder; pick a new "
                          "folder such as build/.")
    if resolved in root.parents:
        raise OutDirError(f"{shown}: refusing to write into a folder that holds the project "
                          f"({root}); pick a new folder such as build/.")
    if resolved.exists() and not resolved.is_dir():
        raise OutDirError(f"{shown}: is a file, not a folder.")
    if resolved.is_dir() and not (resolved / MARKER).is_file():
        entries = list(resolved.iterdir())
        foreign = sorted(p.name for p in entries if not _ours(p))
        if entries and not foreign and not _old_build(resolved):
            foreign = sorted(p.name for p in entries)  # our names, but no graph of ours
        if foreign:
            listed = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
            raise OutDirError(f"{shown}: the folder holds files deckforge did not write "
                              f"({listed}); builds delete and replace what is in --out, so "
                              "pick an empty or new folder.")
    try:
        resolved.mkdir(parents=True, exist_ok=True)
        if not (resolved / MARKER).is_file():
            atomic_write_text(resolved / MARKER, MARKER_TEXT)
        probe = resolved / f".{MARKER}.probe"
        probe.write_bytes(b"")  # a folder that takes the marker but no new file is still read-only
        probe.unlink()
    except OSError as err:
        raise OutDirError(f"{shown}: cannot write there ({err.strerror or err}).") from err
    clean_stale(resolved)
    return resolved


def _forbidden(config) -> list[tuple[str, Path]]:
    root = Path(config.root).resolve()
    out = [("the filesystem root", Path("/").resolve()), ("the project root", root),
           ("the sources folder", Path(config.sources_dir).resolve()),
           ("the docs folder", root / "docs")]
    home = os.environ.get("HOME")
    if home:
        out.append(("the home folder", Path(home).resolve()))
    return out


def _ours(path: Path) -> bool:
    name = path.name
    if path.is_dir():
        return name in OWNED_DIRS or name.startswith(".site.")
    return name in OWNED_FILES or name.endswith(".apkg") or _is_temp(name)


def _old_build(folder: Path) -> bool:
    """A build folder from before the marker: it holds a graph.json of ours (written first by
    every build). Names alone are not enough: a user's own `site/` must never be taken."""
    try:
        head = (folder / "graph.json").read_bytes()[:200]
    except OSError:
        return False
    return b'"schema": "deckforge.graph/' in head


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def clean_stale(folder: Path, now: float | None = None) -> list[Path]:
    """Remove temp files and half-built site folders left by killed builds in `folder`."""
    now = time.time() if now is None else now
    gone = []
    for path in folder.iterdir() if folder.is_dir() else ():
        temp = _is_temp(path.name) and path.is_file()
        half_site = path.name.startswith(".site.") and path.is_dir()
        if not (temp or half_site):
            continue
        try:
            if now - path.stat().st_mtime < STALE_SECONDS:
                continue  # maybe a concurrent build's, still being written
            if half_site:
                shutil.rmtree(path)
            else:
                path.unlink()
            gone.append(path)
        except OSError:
            continue
    return gone


def clean_stale_lock_temps(lock_path: Path, now: float | None = None) -> list[Path]:
    """`.deckforge.lock.*.tmp` beside the lock, left by a build killed while writing it."""
    now = time.time() if now is None else now
    gone = []
    for path in lock_path.parent.glob(f".{lock_path.name}.*.tmp"):
        try:
            if now - path.stat().st_mtime >= STALE_SECONDS:
                path.unlink()
                gone.append(path)
        except OSError:
            continue
    return gone
