"""The Anki emitter: graph cards -> `build/<deck_name>.apkg` (docs/anki.md explains the deck).

`write_apkg(graph, config, lock)` renders every card to a note (`fields.note_spec`), hashes
what it rendered, lets the lock decide the note's mtime (`Lock.stamp`: it only moves when the
hash does), and writes a reproducible package (`package.package_bytes`) atomically.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from deckforge.diagnostics import Diagnostic
from deckforge.emit.anki.fields import NoteSpec, note_spec
from deckforge.emit.anki.html import cloze_numbers
from deckforge.emit.anki.notetypes import note_types
from deckforge.emit.anki.package import NoteRow, package_bytes
from deckforge.fsutil import atomic_write_bytes
from deckforge.lock import NOTETYPE_PREFIX, Lock, build_clock, no_cyclic_gc
from deckforge.model import Card, KnowledgeGraph

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp"}
# What Anki can show or play; any other file (a .txt, a key, a database) is never packed.
MEDIA_SUFFIXES = IMAGE_SUFFIXES | {".mp3", ".ogg", ".oga", ".wav", ".m4a", ".flac", ".opus"}
_REMOTE = ("http://", "https://", "data:", "//")


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path`, symlinks followed, lies inside `folder` (also resolved)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


@dataclass
class Media:
    """Images found for the cards: media name -> file, plus the warnings for missing ones.

    A deck is shared: only files inside the sources folder (`allowed`) may go into it. An embed
    is looked up relative to each of `search_dirs` (the sources folder, and the project root
    for the project-relative paths the Obsidian reader writes), and kept only when the file,
    symlinks followed, lies inside an allowed folder and has a media type Anki can show:
    `![](../../etc/passwd)`, `![](/etc/hostname)` or a symlink out of sources/ are warnings,
    never media."""

    search_dirs: tuple[Path, ...]
    allowed: tuple[Path, ...] = ()
    files: dict[str, Path] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    _index: dict[str, Path] | None = None

    def __post_init__(self):
        if not self.allowed:
            self.allowed = self.search_dirs[:1]

    def _by_name(self) -> dict[str, Path]:
        # Obsidian resolves `![[name]]` anywhere in the vault, so index files by name once.
        if self._index is None:
            self._index = {}
            for folder in self.allowed:
                if folder.is_dir():
                    for path in sorted(folder.rglob("*")):
                        if path.suffix.lower() in IMAGE_SUFFIXES and self._allowed(path):
                            self._index.setdefault(path.name, path)
        return self._index

    def _allowed(self, path: Path) -> bool:
        return path.is_file() and any(_inside(path, folder) for folder in self.allowed)

    def resolver(self, card: Card):
        def resolve(src: str) -> str | None:
            target = unquote(src.strip().strip("<>"))
            if target.lower().startswith(_REMOTE):
                self._report(card, target, "is remote; Anki would fetch it at review time, so "
                             "it is not shown")
                return None
            why, found = self._find(target)
            if found is None:
                self._report(card, target, why)
                return None
            return self._name_for(found)

        return resolve

    def _find(self, target: str) -> tuple[str, Path | None]:
        if Path(target).suffix.lower() not in MEDIA_SUFFIXES:
            return "is not an image or sound Anki can show, so it is not packed", None
        if Path(target).is_absolute() or ".." in Path(target).parts:
            return ("points outside the sources folder (an absolute path or '..'), so it is "
                    "not packed"), None
        outside = False
        for folder in self.search_dirs:
            candidate = folder / target
            if candidate.is_file():
                if self._allowed(candidate):
                    return "", candidate
                outside = True
        if outside:
            return ("leads outside the sources folder (a symlink?), so it is not packed"), None
        found = self._by_name().get(Path(target).name)
        return ("was not found next to the notes", found)

    def _name_for(self, path: Path) -> str:
        name = path.name
        if name in self.files and self.files[name].resolve() != path.resolve():
            digest = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:8]
            name = f"{path.stem}-{digest}{path.suffix}"
        self.files[name] = path
        return name

    def _report(self, card: Card, target: str, why: str) -> None:
        span = card.sources[0] if card.sources else None
        code = "missing-image" if why.startswith(("was not found", "is remote")) else "media-refused"
        diag = Diagnostic(span.path if span else "deckforge.lock", span.line if span else 1,
                          code, f"image {target!r} {why}: the card shows a placeholder. Put "
                          "the file in the sources folder or remove the embed.")
        if diag not in self.problems:
            self.problems.append(diag)


def content_hash(spec: NoteSpec) -> str:
    payload = "\x1e".join((spec.note_type, spec.deck, " ".join(spec.tags), "\x1f".join(spec.fields)))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _embeds_images(card: Card) -> bool:
    return ("![" in card.question or "![" in card.answer or "![" in card.extra
            or any("![" in option for option in card.options))


def note_specs(graph: KnowledgeGraph, config, media: Media) -> list[NoteSpec]:
    """One note per GUID, as this build writes it (`deckforge pull` compares exports to it)."""
    specs = []
    seen: set[str] = set()
    for card in graph.cards:
        if card.guid in seen:  # the lock gives one GUID per card; never emit a GUID twice
            continue
        seen.add(card.guid)
        specs.append(note_spec(card, config.deck_name, config.source_url,
                               media.resolver(card) if _embeds_images(card) else None))
    return specs


def _ords(spec: NoteSpec) -> tuple[int, ...]:
    if spec.note_type == "cloze":
        return tuple(n - 1 for n in cloze_numbers(spec.fields[0]) if n > 0) or (0,)
    return (0,)


def build_rows(graph: KnowledgeGraph, config, lock: Lock | None, media: Media
               ) -> tuple[list[NoteRow], dict]:
    """Note rows (with mtimes stamped into the lock) and the note types with their mtimes."""
    clock = build_clock()
    types = note_types()
    models = {}
    for key, nt in sorted(types.items()):
        mtime = lock.stamp(NOTETYPE_PREFIX + key, nt.digest(), guid=str(nt.model.model_id),
                           question=nt.model.name) if lock else clock
        models[nt.model.model_id] = (nt.model, mtime)
    model_ids = {key: nt.model.model_id for key, nt in types.items()}
    rows = []
    for due, spec in enumerate(note_specs(graph, config, media)):
        mtime = lock.stamp(spec.card_id, content_hash(spec)) if lock else clock
        rows.append(NoteRow(spec.guid, model_ids[spec.note_type], spec.deck,
                            spec.fields, spec.tags, mtime, _ords(spec), due))
    return rows, models


def apkg_path(config) -> Path:
    return config.out_dir / f"{config.deck_name}.apkg"


def write_apkg(graph: KnowledgeGraph, config, lock: Lock | None = None,
               problems: list[Diagnostic] | None = None) -> Path | None:
    """Write `build/<deck_name>.apkg`; append missing-image warnings to `problems`.

    A broken lock (see deckforge.lock) means the GUIDs cannot be trusted, so no deck is written
    rather than one that would duplicate every user's notes."""
    if lock is not None and lock.broken:
        if problems is not None:
            problems.append(Diagnostic(lock.path.name, lock.errors[0].line, "deck-not-written",
                                       "the Anki deck was not written because deckforge.lock "
                                       "has errors (see above).", level="error"))
        return None
    sources_dir = Path(config.sources_dir)
    media = Media(search_dirs=(sources_dir, Path(config.root)), allowed=(sources_dir,))
    with no_cyclic_gc():
        rows, models = build_rows(graph, config, lock, media)
        data = package_bytes(rows, models, media.files)
    if problems is not None:
        problems.extend(media.problems)
    return atomic_write_bytes(apkg_path(config), data)


__all__ = ["apkg_path", "build_rows", "content_hash", "note_specs", "write_apkg"]
