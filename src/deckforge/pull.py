"""`deckforge pull EXPORT`: edits made in Anki come back as patches to the notes' lines, and the
collection's review history comes back as `build/reviews.json`.

The export (`.apkg` or `.colpkg`, Anki's File → Export) is opened with Anki's own backend in a
temporary folder. A deckforge note is one whose note type is a deckforge note type; its GUID
leads through `deckforge.lock` to the card this build emits. When the note's fields differ from
the fields this build would write, the difference is mapped back to the card's source lines:

- the changed stretch of text (the edit, with as little surrounding text as makes it unique)
  must occur exactly once, verbatim, in the card's own source lines; it is replaced there and
  nothing else in the file moves, so a dotted line stays a dotted line and an Obsidian item an
  item (no reader has to be run backwards);
- an edit that cannot be mapped is listed with its reason and never guessed: a merged card
  (several source items), a repaired formula (the answer is the registry's LaTeX, not the
  notes' text), a formatting-only change, a field deckforge writes itself (source, extra), a
  stretch of text the tool rewrote (normalized math, markup), or an added line break.

Review data per card (reviews, lapses, ease, FSRS difficulty, the leech tag) is summed over the
exports given, so several users' exports aggregate (docs/contributing.md).
"""

from __future__ import annotations

import difflib
import html
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

REVIEWS_SCHEMA = "deckforge.reviews/1"
REVIEWS_FILE = "reviews.json"
_CONTEXT_LIMIT = 80  # characters of surrounding text tried on each side to make an edit unique
_MIN_WINDOW = 12  # characters: the least text a mapped edit is anchored by


class PullError(Exception):
    """A usage problem with the export: the CLI prints it and exits 2, writing nothing."""


# --- reading the export with Anki's backend ----------------------------------------------------


@dataclass(frozen=True)
class ExportCard:
    reps: int
    lapses: int
    factor: int  # ease in permille (SM-2); 0 for new cards
    difficulty: float | None  # FSRS difficulty 1-10, when FSRS scheduled the card
    reviews: int  # answers in the review log


@dataclass(frozen=True)
class ExportNote:
    guid: str
    notetype_id: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    cards: tuple[ExportCard, ...]
    mod: int = 0  # the note's modification time (seconds): a user's edit moves it


def read_export(path: Path) -> list[ExportNote]:
    """Every note of the export with its cards' review data, read through Anki's backend."""
    path = Path(path)
    if not path.is_file():
        raise PullError(f"{path}: no such file")
    if path.suffix.lower() not in (".apkg", ".colpkg"):
        raise PullError(f"{path}: not an Anki export (expected a .apkg or .colpkg file from "
                        "Anki's File → Export)")
    if not zipfile.is_zipfile(path):
        raise PullError(f"{path}: the file is corrupt or not an Anki export (it is not a zip "
                        "archive); export it again from Anki")
    try:
        from anki.collection import Collection
    except ImportError as err:  # pragma: no cover - the anki package is a dependency
        raise PullError("`deckforge pull` needs the `anki` package: pip install 'deckforge[pull]'") from err
    tmp = Path(tempfile.mkdtemp(prefix="deckforge-pull-"))
    try:
        col_path = tmp / "collection.anki2"
        try:
            if path.suffix.lower() == ".colpkg":
                from anki._backend import RustBackend

                RustBackend().import_collection_package(
                    col_path=str(col_path), backup_path=str(path.resolve()),
                    media_folder=str(tmp / "media"), media_db=str(tmp / "media.db"))
                col = Collection(str(col_path))
            else:
                from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

                col = Collection(str(col_path))
                col.import_anki_package(ImportAnkiPackageRequest(
                    package_path=str(path.resolve()),
                    options=ImportAnkiPackageOptions(with_scheduling=True)))
        except Exception as err:  # the backend's own errors: a corrupt or foreign file
            raise PullError(f"{path}: Anki could not read this export ({err}); export it again "
                            "from Anki") from err
        try:
            return _notes(col)
        finally:
            col.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _notes(col) -> list[ExportNote]:
    reviews = dict(col.db.all("select cid, count() from revlog where type < 4 group by cid"))
    notes = []
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        cards = []
        for card in note.cards():
            state = card.memory_state
            cards.append(ExportCard(card.reps, card.lapses, card.factor,
                                    round(state.difficulty, 3) if state else None,
                                    reviews.get(card.id, 0)))
        notes.append(ExportNote(note.guid, note.mid, tuple(note.fields), tuple(note.tags),
                                tuple(cards), note.mod))
    return notes


# --- fields back to text -------------------------------------------------------------------------


class _Text(HTMLParser):
    """The visible text of a field: blocks become lines, MathJax delimiters become `$`."""

    BLOCKS = {"p", "div", "li", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "ul",
              "pre", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def field_text(field_html: str) -> str:
    parser = _Text()
    parser.feed(field_html or "")
    parser.close()
    text = html.unescape("".join(parser.parts))
    text = text.replace("\\[", "$$").replace("\\]", "$$").replace("\\(", "$").replace("\\)", "$")
    lines = (" ".join(line.split()) for line in text.replace("\xa0", " ").splitlines())
    return "\n".join(line for line in lines if line)


# --- mapping an edit back to the source lines ----------------------------------------------------


@dataclass(frozen=True)
class Edit:
    card_id: str
    field: str
    path: str
    line: int
    old: str  # the replaced stretch of the line, with a few characters around it
    new: str


@dataclass(frozen=True)
class Unmapped:
    card_id: str
    field: str
    where: str  # path:line of the card's first source
    reason: str


# Which card text each note-type field shows; the other fields are written by deckforge itself.
EDITABLE = {
    "basic": {0: "question", 1: "answer"},
    "cloze": {0: "question"},
    "choice": {0: "question", 1: "options", 2: "answer"},
}


def _changed_stretch(old: str, new: str) -> tuple[int, int, int]:
    """Common prefix length and the ends of the differing middle in `old` and in `new`."""
    a = 0
    while a < min(len(old), len(new)) and old[a] == new[a]:
        a += 1
    b_old, b_new = len(old), len(new)
    while b_old > a and b_new > a and old[b_old - 1] == new[b_new - 1]:
        b_old -= 1
        b_new -= 1
    return a, b_old, b_new


def locate(old: str, new: str, source: str) -> tuple[str, str] | None:
    """(stretch of `source`, its replacement): the smallest window of `old` around the changed
    text that occurs exactly once in `source`, and that window with the edit applied."""
    a, b_old, b_new = _changed_stretch(old, new)
    middle_new = new[a:b_new]
    for total in range(0, 2 * _CONTEXT_LIMIT + 1):
        for left in range(max(0, total - _CONTEXT_LIMIT), min(total, _CONTEXT_LIMIT) + 1):
            right = total - left
            if left > a or right > len(old) - b_old:
                continue
            window = old[a - left:b_old + right]
            # Enough context that a match elsewhere in the lines (the question of a dotted
            # line) is unlikely, and the same stretch once in the field and once in the lines.
            if (len(window) >= min(_MIN_WINDOW, len(old)) and window.strip()
                    and source.count(window) == 1 and old.count(window) == 1):
                return window, old[a - left:a] + middle_new + old[b_old:b_old + right]
    return None


@dataclass
class PullResult:
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (before, after)
    edits: list[Edit] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    notes_seen: int = 0

    def diff(self) -> str:
        out = []
        for path, (before, after) in sorted(self.files.items()):
            out += difflib.unified_diff(before.splitlines(keepends=True),
                                        after.splitlines(keepends=True),
                                        fromfile=f"a/{path}", tofile=f"b/{path}")
        return "".join(out)


def _unmappable(card, name: str, spec_type: str, old_text: str, new_text: str) -> str | None:
    """Why this field's edit cannot go back to one source line (None: try to map it)."""
    if name is None:
        return ("this field is written by deckforge (source line, flags, measurements, "
                "explanations); edit the notes instead")
    if old_text == new_text:
        return "formatting-only change (the text is the same); the notes keep their own markup"
    if len(card.sources) > 1:
        where = ", ".join(str(s) for s in card.sources)
        return (f"merged card: its text comes from {len(card.sources)} source items ({where}); "
                "edit the one you mean by hand")
    if name == "answer" and card.has_flag("repaired"):
        return ("repaired formula: the answer is the registry's LaTeX, not text from the notes; "
                "fix the formula in snippets/ or write the answer into the notes")
    if not card.sources:
        return "the card has no source lines"
    return None


def map_note(card, spec, note: ExportNote, texts: dict[str, str], result: PullResult) -> None:
    """Compare one exported note with what this build emits; record edits or reasons."""
    where = str(card.sources[0]) if card.sources else card.id
    names = EDITABLE.get(spec.note_type, {})
    for index, (ours, theirs) in enumerate(zip(spec.fields, note.fields, strict=False)):
        if ours == theirs:
            continue
        name = names.get(index)
        old_text, new_text = field_text(ours), field_text(theirs)
        label = name or f"field {index + 1}"
        reason = _unmappable(card, name, spec.note_type, old_text, new_text)
        if reason is None:
            reason = _apply(card, label, old_text, new_text, texts, result)
        if reason:
            result.unmapped.append(Unmapped(card.id, label, where, reason))


def _apply(card, label: str, old_text: str, new_text: str, texts: dict[str, str],
           result: PullResult) -> str | None:
    span = card.sources[0]
    if span.path not in texts:
        return f"{span.path} is not a file of this project's notes"
    lines = texts[span.path].splitlines(keepends=True)
    lo, hi = span.line - 1, min(span.end_line, len(lines))
    source = "".join(lines[lo:hi])
    found = locate(old_text, new_text, source)
    if found is None:
        return ("the edited text does not appear verbatim in the card's source lines (the tool "
                "rewrote it: normalized math, markup, a shared stem); edit the notes by hand")
    window, replacement = found
    if "\n" in replacement and "\n" not in window:
        return "the edit adds a line break, which the card's source line cannot hold"
    at = source.find(window)
    patched = source[:at] + replacement + source[at + len(window):]
    texts[span.path] = "".join(lines[:lo]) + patched + "".join(lines[hi:])
    # For the report: the edit with a few words around it, on the line where it happened.
    before = source[max(0, at - 24):at].rsplit("\n", 1)[-1]
    after = source[at + len(window):at + len(window) + 24].split("\n", 1)[0]
    line = span.line + source[:at].count("\n")
    result.edits.append(Edit(card.id, label, span.path, line, before + window + after,
                             before + replacement + after))
    return None


# --- review data ---------------------------------------------------------------------------------


def review_entry(card, note: ExportNote) -> dict:
    reviewed = [c for c in note.cards if c.reps]
    factors = [c.factor for c in reviewed if c.factor]
    difficulties = [c.difficulty for c in reviewed if c.difficulty is not None]
    return {
        "id": card.id,
        "guid": note.guid,
        "question": card.question,
        "sources": [{"path": s.path, "line": s.line, "end_line": s.end_line} for s in card.sources],
        "reviews": sum(c.reviews for c in note.cards),
        "lapses": sum(c.lapses for c in note.cards),
        # Averages over reviewed cards; `weight` (their answers) lets several exports combine.
        "ease": round(sum(factors) / len(factors) / 1000, 3) if factors else None,
        "difficulty": round(sum(difficulties) / len(difficulties), 3) if difficulties else None,
        "weight": sum(c.reviews for c in reviewed),
        "leech": any(t.lower() == "leech" for t in note.tags),
        "users": 1,
    }


def _weighted(a, wa, b, wb):
    if a is None:
        return b
    if b is None:
        return a
    return round((a * wa + b * wb) / (wa + wb), 3) if wa + wb else round((a + b) / 2, 3)


def merge_reviews(entries: list[dict]) -> list[dict]:
    """Several users' entries for the same card add up: reviews, lapses and users are sums,
    ease and difficulty are averages weighted by answers, a leech for anyone is a leech."""
    merged: dict[str, dict] = {}
    for entry in entries:
        have = merged.get(entry["id"])
        if have is None:
            merged[entry["id"]] = dict(entry)
            continue
        for key in ("ease", "difficulty"):
            have[key] = _weighted(have[key], have["weight"], entry[key], entry["weight"])
        for key in ("reviews", "lapses", "weight", "users"):
            have[key] += entry[key]
        have["leech"] = have["leech"] or entry["leech"]
    return [merged[k] for k in sorted(merged)]


def hardness(entry: dict) -> tuple:
    """Hardest first: leeches, then lapses per answer, lapses, then difficulty / low ease."""
    answers = max(entry.get("reviews") or 0, 1)
    difficulty = entry.get("difficulty")
    ease = entry.get("ease")
    return (not entry.get("leech"), -(entry.get("lapses") or 0) / answers, -(entry.get("lapses") or 0),
            -(difficulty if difficulty is not None else 0.0), ease if ease is not None else 9.9,
            entry["id"])


def hardest(entries: list[dict], limit: int = 20) -> list[dict]:
    struggled = [e for e in entries if e.get("lapses") or e.get("leech")]
    return sorted(struggled, key=hardness)[:limit]


def read_reviews(out_dir: Path) -> list[dict]:
    """The entries of `build/reviews.json` (empty when there is none or it is unreadable)."""
    path = Path(out_dir) / REVIEWS_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("schema") != REVIEWS_SCHEMA:
        return []
    return [e for e in data.get("cards", []) if isinstance(e, dict) and "id" in e]


def reviews_json(entries: list[dict]) -> str:
    return json.dumps({"schema": REVIEWS_SCHEMA, "cards": entries}, indent=2,
                      ensure_ascii=False, sort_keys=True) + "\n"


# --- the command -------------------------------------------------------------------------------


def pull(config, exports: list[Path]) -> PullResult:
    """Map every export's edits onto the notes and collect review data; writes nothing."""
    from deckforge.emit.anki import Media, note_specs
    from deckforge.emit.anki.notetypes import note_types
    from deckforge.lock import apply_lock
    from deckforge.pipeline import build_graph

    ours = {nt.model.model_id for nt in note_types().values()}
    read = [(path, read_export(path)) for path in exports]
    graph, lock = apply_lock(build_graph(config), config.lock_path)
    if lock.broken:
        raise PullError(f"{config.relpath(config.lock_path)} has errors; run `deckforge lint` "
                        "and fix the lock before pulling")
    media = Media(search_dirs=(Path(config.sources_dir), Path(config.root)))
    cards = {c.guid: c for c in graph.cards if c.guid}
    specs = {s.guid: s for s in note_specs(graph, config, media)}
    known = cards.keys() | {e.guid for e in lock.previous.values()}
    texts: dict[str, str] = {}
    originals: dict[str, str] = {}
    for span_path in sorted({s.path for c in graph.cards for s in c.sources}):
        file = Path(config.root) / span_path
        if file.is_file():
            originals[span_path] = texts[span_path] = file.read_text("utf-8")
    result = PullResult()
    entries = []
    for path, notes in read:
        mine = [n for n in notes if n.notetype_id in ours]
        if not mine:
            raise PullError(f"{path}: the export contains no deckforge notes ({len(notes)} notes, "
                            "none of a deckforge note type); export the deck built from these "
                            "notes")
        matched = [n for n in mine if n.guid in known]
        if not matched:
            raise PullError(f"{path}: the export is from another deck: none of its {len(mine)} "
                            f"deckforge notes has a GUID in {config.relpath(config.lock_path)}; "
                            "run pull in the project that built it")
        for note in matched:
            card = cards.get(note.guid)
            if card is None:  # retired in this build: nothing to patch, no line to rank
                continue
            result.notes_seen += 1
            spec = specs[note.guid]
            stale = _stale(lock, card, spec, note)
            if stale:
                if any(a != b for a, b in zip(spec.fields, note.fields, strict=False)):
                    where = str(card.sources[0]) if card.sources else card.id
                    result.unmapped.append(Unmapped(card.id, "note", where, stale))
            else:
                map_note(card, spec, note, texts, result)
            entries.append(review_entry(card, note))
    result.reviews = merge_reviews(entries)
    result.files = {p: (originals[p], texts[p]) for p in texts if texts[p] != originals[p]}
    return result


def _stale(lock, card, spec, note: ExportNote) -> str | None:
    """Why the exported note is not an edit of what this build emits (None: it may be).

    Only a note edited after the deck version it came from is a user's edit; a note older than
    the last build of its card, or a card whose notes changed since that build, would carry an
    old text back over a newer fix."""
    from deckforge.emit.anki import content_hash

    entry = lock.previous.get(lock.matched.get(card.id, card.id))
    if entry is None:
        return "the card is new since the last build; build and re-import first"
    if entry.content_hash not in ("-", "", content_hash(spec)):
        return ("the notes changed since the last build (its text is not the one you edited); "
                "build, re-import, then edit")
    if note.mod <= entry.mtime:
        return ("the note is not newer than the deck version it came from: it holds an older "
                "version, not an edit; import the current deck first")
    return None


def write_result(config, result: PullResult) -> list[Path]:
    """Apply the patches to the notes and write build/reviews.json, each atomically."""
    from deckforge.fsutil import atomic_write_text

    written = []
    for path, (_before, after) in sorted(result.files.items()):
        file = Path(config.root) / path
        written.append(atomic_write_text(file, after))
    written.append(atomic_write_text(Path(config.out_dir) / REVIEWS_FILE,
                                     reviews_json(result.reviews)))
    return written


def report(result: PullResult) -> str:
    lines = [f"{result.notes_seen} deckforge notes read; {len(result.edits)} edits mapped to "
             f"{len(result.files)} files; {len(result.unmapped)} not mapped"]
    lines += [f"  {e.path}:{e.line}: {e.field}: {e.old!r} -> {e.new!r}" for e in result.edits]
    if result.unmapped:
        lines.append("not mapped (edit these by hand if you want them):")
        lines += [f"  {u.where}: {u.field}: {u.reason}" for u in result.unmapped]
    leeches = [e for e in result.reviews if e["leech"]]
    lines.append(f"review data: {len(result.reviews)} cards, "
                 f"{sum(e['reviews'] for e in result.reviews)} answers, {len(leeches)} leeches")
    return "\n".join(lines)

