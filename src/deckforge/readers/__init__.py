"""Readers: one module per note style. Each turns a file's text into RawItems.

A reader module defines:

    NAME: str                                   the style name used in config and diagnostics
    sniff(text: str) -> float                   confidence 0..1 that the text is in this style
    read(text: str, path: str, *, folder: Path | None = None, **options) -> ReadResult
        raw items and diagnostics; never raises on bad input. `path` is the project-relative
        path written into every SourceSpan (1-based, inclusive lines of the item's real text);
        `folder` is the note's folder on disk, for readers that resolve embeds and links
        (obsidian); the others ignore it.

Each reader module's docstring says what it puts into question / answer / section / label /
kind_hint / options / correct / notes / needs_review. Problems become
`Diagnostic(path, line, code, message-with-what-to-do)`.

Adding a style means adding one module and listing it in `_readers()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from deckforge.diagnostics import Diagnostic
from deckforge.model import RawItem


@dataclass
class ReadResult:
    items: list[RawItem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def file_lines(text: str) -> list[str]:
    """The lines of a file as editors and GitHub number them: split on "\\n" only (a CR of
    CRLF dropped). `str.splitlines` would also break at form feeds, U+2028 and lone CRs,
    shifting every line number after them."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def _readers() -> list[ModuleType]:
    from deckforge.readers import alternating, dotted, lms_quiz, obsidian, slides

    # Order breaks sniffing ties: the most specific styles first.
    return [obsidian, lms_quiz, dotted, alternating, slides]


def reader_names() -> list[str]:
    return [r.NAME for r in _readers()]


def get_reader(name: str) -> ModuleType:
    for reader in _readers():
        if reader.NAME == name:
            return reader
    raise KeyError(f"unknown reader {name!r}; known: {', '.join(reader_names())}")


def sniff(text: str, path: str = "") -> ModuleType:
    """The reader most confident about `text` (ties go to the earlier reader in the list)."""
    if path.endswith(".md"):
        return get_reader("obsidian")
    scores = [(reader.sniff(text), -i, reader) for i, reader in enumerate(_readers())]
    return max(scores, key=lambda s: (s[0], s[1]))[2]
