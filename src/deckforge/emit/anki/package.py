"""A byte-reproducible .apkg: genanki's collection schema and note types, our rows and zip.

genanki's `Package.write_to_file` stamps every note, card and model with one wall-clock
timestamp, numbers notes and cards from that timestamp in build order, and zips a temp file
with its filesystem mtime; all three break reproducible builds and the "mtime moves only when
the note changed" rule. So we reuse genanki's schema (`APKG_SCHEMA`, `APKG_COL`), its deck and
model JSON, and write the rows ourselves:

- note id, card id and deck id are hashes of the GUID / deck name (card ids: the note's
  card base plus the ordinal), so adding a card never renumbers the others;
- each note and its cards carry the note's own mtime (from deckforge.lock), each note type its
  own mtime;
- the SQLite image comes from an in-memory database (`Connection.serialize`) and the zip
  entries have fixed timestamps, names and order. Rows go in with `executemany`.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import genanki
from genanki.apkg_col import APKG_COL
from genanki.apkg_schema import APKG_SCHEMA

_SPLIT = APKG_SCHEMA.index("CREATE INDEX")
_TABLES, _INDEXES = APKG_SCHEMA[:_SPLIT], APKG_SCHEMA[_SPLIT:]
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the zip format's epoch: no wall clock in the archive
ZIP_LEVEL = 1  # a 100,000-note collection still shrinks ~4x, at a fraction of level 6's time
_NOTE_ID_BASE = 1_262_304_000_000  # 2010-01-01 in ms: ids look like Anki's creation stamps
_ID_SPAN = 300_000_000_000
_first = itemgetter(0)


@dataclass(slots=True)
class NoteRow:
    guid: str
    model_id: int
    deck: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    mtime: int
    ords: tuple[int, ...]  # card ordinals (templates for Basic, cloze numbers - 1 for Cloze)
    due: int  # position of its new cards, so the deck is studied in the notes' order


def stable_id(*parts: object, base: int = _NOTE_ID_BASE, span: int = _ID_SPAN) -> int:
    digest = hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return base + int.from_bytes(digest[:8], "big") % span


def deck_id(name: str) -> int:
    return stable_id("deck", name, base=1 << 30, span=1 << 30)


def _collection(rows: list[NoteRow], models: dict[int, tuple[genanki.Model, int]],
                description: str) -> bytes:
    conn = sqlite3.connect(":memory:")
    try:
        cur = conn.cursor()
        # No rollback journal for a scratch in-memory database (the image is the same bytes).
        cur.execute("PRAGMA journal_mode = OFF")
        cur.executescript(_TABLES)
        cur.executescript(APKG_COL)
        names = sorted({r.deck for r in rows})
        deck_ids = {name: deck_id(name) for name in names}
        decks = json.loads(cur.execute("SELECT decks FROM col").fetchone()[0])
        for name in names:
            decks[str(deck_id(name))] = genanki.Deck(deck_id(name), name, description).to_json()
        first_deck = deck_id(names[0]) if names else 1
        model_json = {str(mid): model.to_json(mtime, first_deck)
                      for mid, (model, mtime) in sorted(models.items())}
        cur.execute("UPDATE col SET decks = ?, models = ?",
                    (json.dumps(decks, sort_keys=True), json.dumps(model_json, sort_keys=True)))
        note_rows, card_rows, taken, taken_cards = [], [], set(), set()
        sha1, from_bytes, sep = hashlib.sha1, int.from_bytes, "\x1f"
        tag_text = {}  # most notes share one tag set: join it once
        for row in rows:
            digest = sha1(row.guid.encode("utf-8")).digest()
            nid = _NOTE_ID_BASE + from_bytes(digest[:8], "big") % _ID_SPAN
            cid = _NOTE_ID_BASE + from_bytes(digest[8:16], "big") % _ID_SPAN
            while nid in taken:  # a hash collision: step to the next free id, deterministically
                nid += 1
            taken.add(nid)
            tags = tag_text.get(row.tags)
            if tags is None:
                tags = tag_text[row.tags] = " " + " ".join(row.tags) + " "
            fields, mtime = row.fields, row.mtime
            note_rows.append((nid, row.guid, row.model_id, mtime, -1, tags, sep.join(fields),
                              fields[0], 0, 0, ""))
            did = deck_ids[row.deck]
            for ord_ in row.ords:
                card_id = cid + ord_
                while card_id in taken_cards:  # as for notes: deterministic on collision
                    card_id += 1_000
                taken_cards.add(card_id)
                card_rows.append((card_id, nid, did, ord_, mtime,
                                  -1, 0, 0, row.due, 0, 0, 0, 0, 0, 0, 0, 0, ""))
        # Rows in id order and indexes built afterwards: sequential B-tree appends, dense pages.
        note_rows.sort(key=_first)  # ids are unique: the same order as sorting whole tuples
        card_rows.sort(key=_first)
        cur.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?)", note_rows)
        cur.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", card_rows)
        cur.executescript(_INDEXES)
        conn.commit()
        return conn.serialize()
    finally:
        conn.close()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # the same bytes whichever OS builds it
    info.external_attr = 0o644 << 16
    return info


def package_bytes(rows: list[NoteRow], models: dict[int, tuple[genanki.Model, int]],
                  media: dict[str, Path], description: str = "") -> bytes:
    """The .apkg as bytes. `media` maps the name used in the fields to the file on disk."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # The level must go to writestr: with a ZipInfo, the ZipFile's own level is ignored.
        archive.writestr(_entry("collection.anki2"), _collection(rows, models, description),
                         compresslevel=ZIP_LEVEL)
        names = sorted(media)
        archive.writestr(_entry("media"), json.dumps({str(i): n for i, n in enumerate(names)}),
                         compresslevel=ZIP_LEVEL)
        for i, name in enumerate(names):
            archive.writestr(_entry(str(i)), media[name].read_bytes(), compresslevel=ZIP_LEVEL)
    return buffer.getvalue()
