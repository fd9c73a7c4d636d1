"""deckforge.lock: card id -> Anki GUID, content hash, mtime (ARCHITECTURE: card identity).

Why a lock at all: Anki ties a user's review history to a note's GUID, and its importer only
updates a note whose mtime is newer than the copy in the collection. So the GUID must survive
rewording, and the mtime must move exactly when the note's content moves:

- a card whose id is in the lock keeps its GUID;
- a card with a new id (its question was reworded) takes the GUID of the closest *orphaned*
  entry (an id that is no longer in the graph) of the same source file when the normalized
  questions are at least `FUZZY_THRESHOLD` similar (rapidfuzz `ratio`, 0-100); pairs are taken
  best-first, one-to-one. Never across files: a similar card elsewhere is another card, and
  inheriting its GUID would overwrite that note, and its review history, in users' collections;
- anything else gets a fresh, deterministic GUID derived from its id;
- `Lock.stamp` (called by the Anki emitter with the hash of the note it wrote) moves a note's
  mtime to `max(clock, old_mtime + 1)` only when the hash changed, so unchanged cards keep
  their mtime and a rebuild is byte-identical. `clock` is SOURCE_DATE_EPOCH when set.

The lock never forgets: a card missing from this build (its file unreadable today, an empty
sources folder, a reader bug) keeps its entry, marked `retired:<date>`, so the card gets its
GUID back when it returns; 119 of the bundled GUIDs carry earlier wordings and could never be
recomputed. Only `deckforge prune` (`prune_lock`) drops retired entries.

Format: UTF-8 text, a header of `#` comments, then one tab-separated line per entry, sorted by
id: `id  guid  content-hash  mtime  source  question`, plus `retired:YYYY-MM-DD` on retired
entries (`source`: the card's first note file, relative to the project; empty on note types).
Note types are entries too (`notetype:<name>` with the model id as GUID), so a template change
also reaches users. The last line is a trailer, `# end: N entries, sha256 <digest of the entry
lines>`: a lock cut short or emptied (a full disk, a bad merge, an editor crash) is refused
like a corrupt one instead of being read as "these cards are new". A corrupt, conflicting or
truncated lock is reported with its line and is never overwritten; in `recover` mode the
readable entries are used and the original is copied to `deckforge.lock.bak` before it is
replaced.

Older formats are read and rewritten as format 3 when next written: format 2 (`(format 2)` in
the header: trailer, no `source` column) and format 1 (neither). Their entries have no source
file; they still keep their GUIDs by id, and may still be inherited by a reworded card (the
lock is this project's own, never another project's).
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import genanki

from deckforge.diagnostics import Diagnostic
from deckforge.fsutil import atomic_write_text
from deckforge.model import KnowledgeGraph, normalize_key

FUZZY_THRESHOLD = 85  # rapidfuzz ratio of normalized questions for "the same card, reworded"
NOTETYPE_PREFIX = "notetype:"
COLUMNS = ("id", "guid", "content-hash", "mtime", "source", "question")
LEGACY_COLUMNS = ("id", "guid", "content-hash", "mtime", "question")  # formats 1 and 2
RETIRED = "retired:"  # the optional last column: the date a card was last missing
FORMAT_MARK = "(format 3)"  # this format: a `source` column, and a trailer
TRAILED_MARKS = (FORMAT_MARK, "(format 2)")  # a lock with one of these must end with its trailer
HEADER_V1 = (
    "# deckforge.lock: the Anki identity of every card (see ARCHITECTURE.md, docs/anki.md).\n"
    "# Written by `deckforge build`; commit it. A GUID ties a note to its users' review history:\n"
    "# never change one by hand. Columns (tab-separated, sorted by id):\n"
    "# " + "\t".join(LEGACY_COLUMNS) + "\n"
)
HEADER_V2 = (
    "# deckforge.lock (format 2): the Anki identity of every card (see ARCHITECTURE.md,\n"
    "# docs/anki.md). Written by `deckforge build`; commit it. A GUID ties a note to its users'\n"
    "# review history: never change one by hand. Cards missing from a build stay, marked\n"
    "# retired:<date>, until `deckforge prune`. Columns (tab-separated, sorted by id):\n"
    "# " + "\t".join(LEGACY_COLUMNS) + "\t[retired:YYYY-MM-DD]\n"
)
HEADER = (
    f"# deckforge.lock {FORMAT_MARK}: the Anki identity of every card (see ARCHITECTURE.md,\n"
    "# docs/anki.md). Written by `deckforge build`; commit it. A GUID ties a note to its users'\n"
    "# review history: never change one by hand. Cards missing from a build stay, marked\n"
    "# retired:<date>, until `deckforge prune`. Columns (tab-separated, sorted by id):\n"
    "# " + "\t".join(COLUMNS) + "\t[retired:YYYY-MM-DD]\n"
)
TRAILER = "# end: "
_TRAILER = re.compile(r"# end: (\d+) entries, sha256 ([0-9a-f]{64})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HASH = re.compile(r"[0-9a-f]{8,64}|-")
_BASE91 = "".join(genanki.util.BASE91_TABLE)
_BASE91_PAIRS = [a + b for a in _BASE91 for b in _BASE91]  # index = 91 * high + low
_ZERO = _BASE91[0]


@dataclass
class LockEntry:
    id: str
    guid: str
    content_hash: str = "-"
    mtime: int = 0
    question: str = ""
    line: int = 0  # where it was read from (0: new in this build)
    retired: str = ""  # YYYY-MM-DD: missing from the builds since that day ("" = live)
    source: str = ""  # the card's first note file ("": a note type, or read from an older lock)

    def to_line(self) -> str:
        cells = [self.id, self.guid, self.content_hash or "-", str(self.mtime),
                 one_line(self.source), one_line(self.question)]
        if self.retired:
            cells.append(RETIRED + self.retired)
        return "\t".join(cells) + "\n"


@dataclass
class Lock:
    """The lock as read (`previous`) and as this build will write it (`entries`)."""

    path: Path
    clock: int
    entries: dict[str, LockEntry] = field(default_factory=dict)
    previous: dict[str, LockEntry] = field(default_factory=dict)
    errors: list[Diagnostic] = field(default_factory=list)
    recovered: bool = False  # built from a corrupt lock in recover mode: back it up first
    matched: dict[str, str] = field(default_factory=dict)  # new id -> previous id (fuzzy)

    @property
    def broken(self) -> bool:
        """A lock with errors that was not explicitly recovered: GUIDs cannot be trusted."""
        return bool(self.errors) and not self.recovered

    def stamp(self, key: str, content_hash: str, guid: str | None = None, question: str = "") -> int:
        """Record the hash of what was emitted for `key`; return the mtime to write for it."""
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = LockEntry(key, guid or fresh_guid(key, self.guids()),
                                                  "-", 0, question)
        if entry.content_hash != content_hash or entry.mtime <= 0:
            entry.mtime = max(self.clock, entry.mtime + 1) if entry.mtime > 0 else self.clock
            entry.content_hash = content_hash
        return entry.mtime

    def guids(self) -> set[str]:
        return {e.guid for e in self.entries.values()}

    def text(self) -> str:
        entries = self.entries
        body = "".join([e.to_line() for e in map(entries.__getitem__, sorted(entries))])
        return HEADER + body + trailer(len(entries), body)


def trailer(count: int, body: str) -> str:
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f"{TRAILER}{count} entries, sha256 {digest}\n"


def clock_date(clock: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(clock))


def one_line(text: str) -> str:
    """Whitespace runs (tabs, newlines, U+2028, ...) to one space: a lock line stays one line."""
    # Fast path: every whitespace character but the ASCII space is non-printable, so a
    # printable text without doubled or edge spaces is already one line.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


@contextmanager
def no_cyclic_gc():
    """Bulk phases (100,000 cards) allocate millions of small tuples and strings and create no
    reference cycles; Python's cyclic GC would still re-traverse the whole live heap again and
    again, which makes them superlinear. Switched off for the phase, restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # The phase's survivors are all still in the young generation: the first
            # allocation after gc.enable() would traverse every one of them (0.5 s at 100,000
            # cards), and again on promotion. freeze+unfreeze moves them straight to the oldest
            # generation (two list splices, no traversal); a later full collection still sees
            # them, so nothing escapes the collector.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def build_clock() -> int:
    """Seconds for new mtimes: SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(epoch) if epoch.isdigit() else int(time.time())


def guid_for(*values: object) -> str:
    """genanki.guid_for, same output (a test pins it), about twice as fast: 100,000 new cards
    spend a noticeable part of a fresh build here."""
    key = values[0] if len(values) == 1 and type(values[0]) is str else "__".join(map(str, values))
    number = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    # 2**64 < 91**10: five base-91 digit pairs (unrolled), high zeros stripped at the end.
    number, p0 = divmod(number, 8281)
    number, p1 = divmod(number, 8281)
    number, p2 = divmod(number, 8281)
    p4, p3 = divmod(number, 8281)
    pairs = _BASE91_PAIRS
    return (pairs[p4] + pairs[p3] + pairs[p2] + pairs[p1] + pairs[p0]).lstrip(_ZERO)


def fresh_guid(card_id: str, taken: set[str]) -> str:
    """A GUID derived from the id (deterministic), salted if an older card already holds it."""
    guid, salt = guid_for(card_id), 0
    while guid in taken:
        salt += 1
        guid = guid_for(card_id, salt)
    return guid


# --- reading -------------------------------------------------------------------------------


def parse_lock(text: str, path: str = "deckforge.lock") -> tuple[dict[str, LockEntry], list[Diagnostic]]:
    """Entries and problems; a bad line is reported and left out, never guessed at."""
    entries: dict[str, LockEntry] = {}
    by_guid: dict[str, LockEntry] = {}
    errors: list[Diagnostic] = []
    if not text.strip():
        return entries, [_truncated(path, 1, "the lock is empty")]
    lines = text.split("\n")
    header = [ln for ln in lines[:3] if ln.startswith("#")]
    versioned = any(mark in ln for ln in header for mark in TRAILED_MARKS)
    columns = COLUMNS if any(FORMAT_MARK in ln for ln in header) else LEGACY_COLUMNS
    end = None  # (line number, count, digest) of the trailer
    body: list[str] = []
    for lineno, raw in enumerate(lines, start=1):
        if raw.startswith(TRAILER) and end is None:
            match = _TRAILER.fullmatch(raw.rstrip("\r"))
            end = (lineno, int(match.group(1)), match.group(2)) if match else (lineno, -1, "")
            continue
        if not raw.strip() or raw.startswith("#"):
            continue
        if end is not None:
            errors.append(_corrupt(path, lineno, "an entry after the trailer line ('# end: …')"))
            continue
        body.append(raw + "\n")
        problem, entry = _parse_line(raw, lineno, columns)
        if entry is not None:
            if entry.id in entries:
                problem = f"card id {entry.id!r} appears twice (also on line {entries[entry.id].line})"
            elif entry.guid in by_guid:
                other = by_guid[entry.guid]
                problem = (f"GUID {entry.guid!r} is given to two cards, {other.id} (line "
                           f"{other.line}) and {entry.id}")
        if problem:
            errors.append(_corrupt(path, lineno, problem))
            continue
        entries[entry.id] = entry
        by_guid[entry.guid] = entry
    if end is None and (versioned or not body):
        # A lock we wrote always ends with its trailer; one in the older format always has
        # entries (the note types at least). Anything else was cut short or emptied.
        errors.append(_truncated(path, len(lines), "the lock has no trailer line ('# end: N "
                                 "entries, sha256 …'): it was cut short"))
    elif end is not None:
        lineno, count, digest = end
        if count < 0:
            errors.append(_truncated(path, lineno, "the trailer line is malformed"))
        elif count != len(body) or digest != hashlib.sha256("".join(body).encode()).hexdigest():
            errors.append(_truncated(path, lineno, f"the trailer counts {count} entries but "
                                     f"{len(body)} were read, or their digest differs: lines "
                                     "were lost or edited"))
    return entries, errors


def _corrupt(path: str, lineno: int, problem: str) -> Diagnostic:
    return Diagnostic(path, lineno, "lock-corrupt", f"{problem}. Restore the committed lock "
                      "(git checkout deckforge.lock) or fix/delete this line, then rebuild.",
                      level="error")


def _truncated(path: str, lineno: int, problem: str) -> Diagnostic:
    return Diagnostic(path, lineno, "lock-truncated", f"{problem}. Its GUIDs cannot be trusted, "
                      "so nothing was written. Restore it (git checkout deckforge.lock); to "
                      "start over on purpose, delete the file.", level="error")


def _parse_line(raw: str, lineno: int, columns: tuple[str, ...] = COLUMNS
                ) -> tuple[str | None, LockEntry | None]:
    """One entry line of a lock whose format has `columns` (COLUMNS, or LEGACY_COLUMNS for
    formats 1 and 2: no source column), each optionally followed by `retired:DATE`."""
    parts = raw.rstrip("\r").split("\t")
    retired = ""
    if len(parts) == len(columns) + 1:
        mark = parts.pop()
        if not (mark.startswith(RETIRED) and _DATE.fullmatch(mark[len(RETIRED):])):
            return f"the last column {mark!r} is not 'retired:YYYY-MM-DD'", None
        retired = mark[len(RETIRED):]
    if len(parts) != len(columns):
        return (f"expected {len(columns)} tab-separated columns ({', '.join(columns)}), "
                f"found {len(parts)}"), None
    if columns is LEGACY_COLUMNS:
        parts.insert(4, "")  # formats 1 and 2 have no source column
    cid, guid, digest, mtime, source, question = parts
    if not cid or any(ch.isspace() for ch in cid):
        return "empty or malformed card id", None
    if not guid or any(ch.isspace() for ch in guid):
        return "empty or malformed GUID", None
    if not _HASH.fullmatch(digest):
        return f"content hash {digest!r} is not hexadecimal", None
    if not mtime.isdigit():
        return f"mtime {mtime!r} is not a whole number of seconds", None
    return None, LockEntry(cid, guid, digest, int(mtime), question, lineno, retired, source)


def read_lock(lock_path: Path, recover: bool = False) -> Lock:
    lock = Lock(path=lock_path, clock=build_clock())
    if lock_path.exists():  # a lock that is a folder or unreadable is refused, not skipped
        try:
            text = lock_path.read_text("utf-8", errors="replace")
        except OSError as err:
            lock.errors = [_corrupt(lock_path.name, 1, f"cannot read the lock ({err.strerror})")]
            return lock
        lock.previous, lock.errors = parse_lock(text, lock_path.name)
        lock.recovered = recover and bool(lock.errors)
    return lock


# --- assigning identities ------------------------------------------------------------------


def apply_lock(graph: KnowledgeGraph, lock_path: Path, recover: bool = False
               ) -> tuple[KnowledgeGraph, Lock]:
    """Fill `card.guid` from the lock; return the graph and the lock to stamp and write."""
    with no_cyclic_gc():
        return _apply_lock(graph, lock_path, recover)


def _apply_lock(graph: KnowledgeGraph, lock_path: Path, recover: bool
                ) -> tuple[KnowledgeGraph, Lock]:
    lock = read_lock(lock_path, recover=recover)
    previous = lock.previous
    ids = {c.id for c in graph.cards}
    carried = {c.id: previous[c.id] for c in graph.cards if c.id in previous}
    orphans = [e for k, e in previous.items() if k not in ids and not k.startswith(NOTETYPE_PREFIX)]
    newcomers = [c for c in graph.cards if c.id not in previous]
    lock.matched = match_reworded(newcomers, orphans)
    for key, entry in previous.items():
        if key.startswith(NOTETYPE_PREFIX):
            lock.entries[key] = replace(entry)
    for cid, entry in carried.items():
        lock.entries[cid] = replace(entry, retired="")
    taken = lock.guids() | _guids(previous)  # fresh GUIDs avoid every GUID ever seen here
    for card in newcomers:
        if card.id in lock.entries:
            continue  # a duplicate card id in the graph: the first one holds the identity
        old = lock.matched.get(card.id)
        if old is not None:
            lock.entries[card.id] = replace(previous[old], id=card.id, question=card.question)
        else:
            guid = fresh_guid(card.id, taken)
            taken.add(guid)
            lock.entries[card.id] = LockEntry(card.id, guid, "-", 0, card.question)
    for card in graph.cards:
        entry = lock.entries[card.id]
        entry.question = card.question
        entry.source = card.sources[0].path if card.sources else ""
    # The lock never forgets: whatever did not come back (and was not inherited by a reworded
    # card) stays, retired since today unless it already was.
    inherited = set(lock.matched.values())
    today = clock_date(lock.clock)
    for key, entry in previous.items():
        if key not in lock.entries and key not in inherited:
            lock.entries[key] = replace(entry, retired=entry.retired or today)
    cards = tuple(_with_guid(c, lock.entries[c.id].guid) for c in graph.cards)
    return graph.replace(cards=cards).warn(*lock.errors), lock


def _with_guid(card, guid: str):
    """`dataclasses.replace(card, guid=guid)`, without re-running __init__ over every field
    (a 100,000-card deck spends most of apply_lock there otherwise)."""
    if card.guid == guid:
        return card
    new = object.__new__(type(card))
    new.__dict__.update(card.__dict__, guid=guid)  # a fresh copy of a frozen dataclass
    return new


def _guids(entries: dict[str, LockEntry]) -> set[str]:
    return {e.guid for e in entries.values()}


def same_scope(card, entry: LockEntry) -> bool:
    """May `card` inherit `entry`'s GUID? Only within one note file: the entry's file is one
    the card was read from. An entry from a lock written before files were recorded has no
    file; it is still matched (the lock is this project's own, never another project's)."""
    return not entry.source or any(span.path == entry.source for span in card.sources)


def match_reworded(newcomers, orphans: list[LockEntry]) -> dict[str, str]:
    """new card id -> orphaned lock id of the same scope (`same_scope`), best pairs first,
    each side used once."""
    if not newcomers or not orphans:
        return {}
    import numpy as np
    from rapidfuzz import fuzz, process

    previous = [normalize_key(e.question) for e in orphans]
    scores = process.cdist([normalize_key(c.question) for c in newcomers], previous,
                           scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
    # a card whose setup moved out of its question into `context` (a quiz's shared stem) is
    # the same card: its question and context together read like the old question
    with_context = process.cdist([normalize_key(f"{c.question} {c.context}") for c in newcomers],
                                 previous, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
    scores = np.maximum(scores, with_context)
    pairs = sorted(((float(scores[i][j]), i, j) for i in range(len(newcomers))
                    for j in range(len(orphans)) if scores[i][j] >= FUZZY_THRESHOLD
                    and same_scope(newcomers[i], orphans[j])),
                   key=lambda p: (-p[0], p[1], p[2]))
    used_new, used_old, out = set(), set(), {}
    for _score, i, j in pairs:
        if i in used_new or j in used_old:
            continue
        used_new.add(i)
        used_old.add(j)
        out[newcomers[i].id] = orphans[j].id
    return out


# --- writing -------------------------------------------------------------------------------


def write_lock(lock: Lock | None, lock_path: Path | None = None) -> Path | None:
    """Write the lock atomically. A broken lock is left alone (its errors say what to fix);
    a recovered one, or any existing file that no longer parses, is backed up first."""
    if lock is None or lock.broken:
        return None
    path = Path(lock_path or lock.path)
    with no_cyclic_gc():
        text = lock.text()
    if path.is_file():
        old = path.read_text("utf-8", errors="replace")
        if old == text:
            return path
        if lock.recovered or parse_lock(old, path.name)[1]:
            shutil.copyfile(path, path.with_name(path.name + ".bak"))
    return atomic_write_text(path, text)


def carry_guid(lock_path: Path, old: str, new: str) -> tuple[LockEntry, LockEntry]:
    """Give card `new` the GUID of the retired card `old` (each named by its id or its GUID),
    so users' notes of `old` update in place into `new`, review history kept, instead of
    `new` arriving as a second note. `old`'s entry leaves the lock (its GUID now lives on in
    `new`); `new`'s own GUID is dropped. Returns (old, new) entries as they end up. Refuses
    (ValueError) a lock with errors, an unknown name, or a live `old`: two live cards cannot
    share a GUID."""
    lock = read_lock(Path(lock_path))
    if lock.errors:
        raise ValueError("; ".join(str(d) for d in lock.errors[:3]))

    def entry(name: str) -> LockEntry:
        found = lock.previous.get(name) or next(
            (e for e in lock.previous.values() if e.guid == name), None)
        if found is None:
            raise ValueError(f"{name!r} is neither a card id nor a GUID in {lock_path}")
        return found

    source, target = entry(old), entry(new)
    if source is target:
        raise ValueError(f"{old!r} and {new!r} name the same card")
    if not source.retired:
        raise ValueError(f"{old!r} is a live card (built today): its GUID stays with it; "
                         "carry only from a card the build retired")
    if target.retired:
        raise ValueError(f"{new!r} is retired: carry a GUID to a card the build makes")
    lock.entries = {k: e for k, e in lock.previous.items() if k != source.id}
    target.guid = source.guid
    target.mtime += 1  # newer than what users hold, so Anki's import updates the note
    write_lock(lock, lock_path)
    return source, target


def prune_lock(lock_path: Path, before: str | None = None, dry_run: bool = False) -> list[str]:
    """Drop the retired entries (those retired before `before`, YYYY-MM-DD, if given); return
    their ids. The one way a GUID leaves the lock: users who still hold those notes get a
    duplicate if the card ever comes back. Refuses (ValueError) a lock with errors."""
    lock = read_lock(Path(lock_path))
    if lock.errors:
        raise ValueError("; ".join(str(d) for d in lock.errors[:3]))
    gone = sorted(k for k, e in lock.previous.items()
                  if e.retired and (before is None or e.retired < before))
    if gone and not dry_run:
        lock.entries = {k: e for k, e in lock.previous.items() if k not in gone}
        write_lock(lock, lock_path)
    return gone
