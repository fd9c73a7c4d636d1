"""The library API behind `deckforge build`: sources -> readers -> passes -> KnowledgeGraph."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from deckforge import readers
from deckforge.config import Config
from deckforge.diagnostics import Diagnostic
from deckforge.model import KnowledgeGraph, SourceFile
from deckforge.passes import Context, run_passes
from deckforge.registry import Registry, load_registry

NOTE_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*$", re.M | re.S)
_FRONT_MATTER_STYLE = re.compile(r"^deckforge-style:\s*([\w-]+)\s*$", re.M)
# Files a note may embed (Obsidian `![[…]]`): assets, not notes, so neither read nor reported.
ASSET_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp", ".pdf"}
_CONTROL = bytes(range(32)).replace(b"\t", b"").replace(b"\n", b"").replace(b"\r", b"").replace(b"\f", b"")


# Files a project holds beside its notes: configuration and identities, never notes, even
# when the notes folder is the project folder itself (`--sources .`).
PROJECT_FILES = {"deckforge.toml", "pyproject.toml", "mkdocs.yml", "deckforge.lock",
                 "deckforge.lock.bak"}
# A folder holding one of these is a build's output folder (this build's or an earlier one
# with another `--out`): graph.json of our schema, or the marker a build leaves in what it owns.
OUTPUT_MARKERS = (".deckforge-output",)
_GRAPH_SCHEMA = b'"deckforge.graph/'


def is_output_folder(folder: Path) -> bool:
    if any((folder / name).exists() for name in OUTPUT_MARKERS):
        return True
    graph = folder / "graph.json"
    if not graph.is_file():
        return False
    try:
        with graph.open("rb") as fh:
            return _GRAPH_SCHEMA in fh.read(4096)
    except OSError:
        return False


def excluded_folders(config: Config) -> set[Path]:
    """Folders under the notes that the tool owns or that are not notes: the output folder
    (wherever `--out` points), and the project's docs/ and snippets/ when the notes folder
    is the project folder."""
    root = config.root.resolve()
    folders = {config.out_dir.resolve(), root / "docs", root / "snippets"}
    return {f for f in folders if f != config.sources_dir}


def discover(config: Config) -> list[Path]:
    """Note files under the sources folder, in a stable order. Skipped: hidden files and
    folders (.cache, .git), output folders, the lock and the project's config files: nothing
    the tool wrote is ever read back as notes."""
    top = config.sources_dir
    skip = excluded_folders(config)
    lock = config.lock_path.resolve()
    found: list[Path] = []
    for folder, dirs, files in os.walk(top):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not d.startswith(".") and (here / d).resolve() not in skip
                   and not is_output_folder(here / d)]
        for name in files:
            path = here / name
            if name.startswith(".") or name in PROJECT_FILES or path.resolve() == lock:
                continue
            if path.is_file():
                found.append(path)
    return sorted(found)


# Byte-order marks of the encodings Windows editors save as "Unicode"; UTF-32 first, since
# the UTF-32-LE mark begins with the UTF-16-LE one. UTF-8's is stripped by "utf-8-sig".
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_LONE_CR = re.compile(r"\r(?!\n)")


def decode(data: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    """Bytes -> text with "\n" line ends. A UTF-16/32 file with a byte-order mark is decoded
    (its NULs are not binary); other binary files are skipped with a warning; invalid UTF-8 is
    replaced and reported at the line of the first bad byte. Lone CRs (classic Mac line ends)
    become "\n": the readers split on "\n", and a CR-only file would otherwise be one line
    whose cards swallow each other."""
    text, problems = _decode(data, path)
    if text is not None and "\r" in text:
        text = _LONE_CR.sub("\n", text)
    return text, problems


def _decode(data: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = data[len(bom):].decode(codec, errors="replace")
            if "\ufffd" not in text:
                return text, []
            return text, [Diagnostic(path, text.count("\n", 0, text.index("\ufffd")) + 1,
                                     "invalid-utf8", f"is not valid {codec.upper()} (its byte-"
                                     "order mark says it is); bad bytes were replaced with "
                                     "U+FFFD. Re-save the file as UTF-8.")]
    head = data[:8192]
    if b"\x00" in head or (head and len(head) - len(head.translate(None, _CONTROL)) > 0.3 * len(head)):
        return None, [Diagnostic(path, 1, "binary-file", "looks binary (NUL or control bytes); "
                                 "skipped. Remove it from sources/ or convert it to text.")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        text = data.decode("utf-8-sig", errors="replace")
        return text, [Diagnostic(path, line, "invalid-utf8", "is not valid UTF-8; bad bytes were "
                                 "replaced with U+FFFD. Re-save the file as UTF-8.", col=col)]


def blank_front_matter(text: str) -> str:
    """The text with its `---` front matter (if any) replaced by empty lines, so line numbers
    stay those of the file and the front matter never becomes cards."""
    block = _FRONT_MATTER.match(text)
    if block is None:
        return text
    return "\n" * block.group(0).count("\n") + text[block.end():]


def choose_reader(text: str, path: Path, config: Config):
    forced = config.styles.get(path.name)
    if forced is None:
        block = _FRONT_MATTER.match(text)
        match = _FRONT_MATTER_STYLE.search(block.group(1)) if block else None
        forced = match.group(1) if match else None
    return readers.get_reader(forced) if forced else readers.sniff(text, path.name)


def read_sources(config: Config) -> KnowledgeGraph:
    items, files, diags = [], [], []
    for path in discover(config):
        if path.suffix.lower() in ASSET_SUFFIXES:
            continue
        rel = config.relpath(path)
        try:
            data = path.read_bytes()
        except OSError as err:  # permissions, a vanished file, an I/O error: this file only
            why = err.strerror or str(err)
            diags.append(Diagnostic(rel, 1, "unreadable-file", f"cannot be read ({why}); its cards are left out of this build (their GUIDs "
                                    "stay in deckforge.lock). Fix its permissions.", level="error"))
            continue
        text, problems = decode(data, rel)
        diags.extend(problems)
        if text is None:
            continue
        if not text.strip():
            diags.append(Diagnostic(rel, 1, "empty-file", "the file holds no text; add notes "
                                    "to it or remove it from the sources folder."))
            continue
        try:
            reader = choose_reader(text, path, config)
        except KeyError as err:
            diags.append(Diagnostic(rel, 1, "unknown-style", str(err.args[0]), level="error"))
            continue
        if reader.NAME != "obsidian":  # markdown-it reads front matter; the others would not
            text = blank_front_matter(text)
        try:
            result = reader.read(text, rel, folder=path.parent)
        except Exception as err:  # a reader bug must not take the other files down with it
            diags.append(Diagnostic(rel, 1, "reader-error", f"the {reader.NAME} reader failed "
                                    f"({type(err).__name__}: {err}); please report this file.",
                                    level="error"))
            continue
        if not result.items and not result.diagnostics and text.strip():
            result.diagnostics.append(Diagnostic(rel, 1, "no-cards", f"the {reader.NAME} reader "
                                                 "found no cards; force a style in [tool.deckforge] styles."))
        items.extend(result.items)
        diags.extend(result.diagnostics)
        files.append(SourceFile(rel, reader.NAME, hashlib.sha256(data).hexdigest(), len(result.items)))
    return KnowledgeGraph(raw_items=tuple(items), sources=tuple(files), diagnostics=tuple(diags))


def build_graph(config: Config, registry: Registry | None = None) -> KnowledgeGraph:
    if registry is None:
        registry = load_registry(config.snippets_dir)
    graph = read_sources(config).replace(formulas=registry.formulas, concepts=registry.concepts)
    return run_passes(graph, Context(config=config, registry=registry))
