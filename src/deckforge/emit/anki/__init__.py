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
_REMOTE = ("http://", "https://", "data:", "//")


@dataclass
class Media:
    """Images found for the cards: media name -> file, plus the warnings for missing ones."""

    search_dirs: tuple[Path, ...]
    files: dict[str, Path] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    _index: dict[str, Path] | None = None

    def _by_name(self) -> dict[str, Path]:
        # Obsidian resolves `![[name]]` anywhere in the vault, so index files by name once.
        if self._index is None:
            self._index = {}
            for folder in self.search_dirs:
                if folder.is_dir():
                    for path in sorted(folder.rglob("*")):
                        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                            self._index.setdefault(path.name, path)
        return self._index

    def resolver(self, card: Card):
        def resolve(src: str) -> str | None:
            target = unquote(src.strip().strip("<>"))
            found = None if target.lower().startswith(_REMOTE) else self._find(target)
            if found is None:
                self._report(card, target)
                return None
            return self._name_for(found)

        return resolve

    def _find(self, target: str) -> Path | None:
        for folder in self.search_dirs:
            candidate = folder / target
            if candidate.is_file():
                return candidate
        return self._by_name().get(Path(target).name)

    def _name_for(self, path: Path) -> str:
        name = path.name
        if name in self.files and self.files[name].resolve() != path.resolve():
            digest = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:8]
            name = f"{path.stem}-{digest}{path.suffix}"
        self.files[name] = path
        return name

    def _report(self, card: Card, target: str) -> None:
        span = card.sources[0] if card.sources else None
        remote = target.lower().startswith(_REMOTE)
        why = ("is remote; Anki would fetch it at review time, so it is not shown"
               if remote else "was not found next to the notes")
        diag = Diagnostic(span.path if span else "deckforge.lock", span.line if span else 1,
                          "missing-image", f"image {target!r} {why}: the card shows a "
                          "placeholder. Put the file in sources/ or remove the embed.")
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
    media = Media(search_dirs=(sources_dir, Path(config.root)))
    with no_cyclic_gc():
        rows, models = build_rows(graph, config, lock, media)
        data = package_bytes(rows, models, media.files)
    if problems is not None:
        problems.extend(media.problems)
    return atomic_write_bytes(apkg_path(config), data)


__all__ = ["apkg_path", "build_rows", "content_hash", "note_specs", "write_apkg"]
