"""`deckforge diff OLD NEW`: what a change does to the deck, card by card.

OLD and NEW are graph.json files, project folders, or git revisions of the current project
(built with the current code, so the diff shows what the notes changed, not the tool).
Cards are matched by GUID, because the GUID is what ties a note to a user's review history:
a card whose GUID disappears while a look-alike appears is called out as a lost GUID.
"""

from __future__ import annotations

import difflib
import io
import json
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

COMPARED_FIELDS = ("question", "answer", "options", "kind", "deck")
LOST_GUID_SIMILARITY = 80  # rapidfuzz ratio above which a new card replaces a removed one


@dataclass
class CardChange:
    old: dict
    new: dict
    fields: tuple[str, ...]


@dataclass
class GraphDiff:
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    changed: list[CardChange] = field(default_factory=list)
    lost_guids: list[tuple[dict, dict]] = field(default_factory=list)  # (old, its replacement)
    unchanged: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_graphs(old: dict, new: dict) -> GraphDiff:
    old_cards = {c["guid"]: c for c in old["cards"]}
    new_cards = {c["guid"]: c for c in new["cards"]}
    result = GraphDiff()
    for guid, new_card in new_cards.items():
        old_card = old_cards.get(guid)
        if old_card is None:
            result.added.append(new_card)
            continue
        fields = tuple(f for f in COMPARED_FIELDS if old_card.get(f) != new_card.get(f))
        if fields:
            result.changed.append(CardChange(old_card, new_card, fields))
        else:
            result.unchanged += 1
    result.removed = [c for guid, c in old_cards.items() if guid not in new_cards]
    result.lost_guids = _lost_guids(result.removed, result.added)
    return result


def _lost_guids(removed: list[dict], added: list[dict]) -> list[tuple[dict, dict]]:
    """Pairs (removed, added) that look like the same card under a new GUID."""
    pairs = []
    for old_card in removed:
        best = max(added, default=None, key=lambda c: _likeness(old_card, c))
        if best is not None and _likeness(old_card, best) >= LOST_GUID_SIMILARITY:
            pairs.append((old_card, best))
    return pairs


def _likeness(a: dict, b: dict) -> float:
    if a["id"] == b["id"]:
        return 100.0
    return fuzz.ratio(a["question"], b["question"])


# Loading OLD / NEW ----------------------------------------------------------------------------


def load_graph(spec: str, project: Path) -> dict:
    """A graph.json path, a project folder (built now), or a git revision of `project`."""
    path = Path(spec)
    if path.is_file():
        return check_graph(_read_json(path), spec)
    if path.is_dir():
        return _build(path)
    with tempfile.TemporaryDirectory(prefix="deckforge-diff-") as tmp:
        _export_revision(project, spec, Path(tmp))
        return _build(Path(tmp))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text("utf-8"))
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({err.strerror or err})") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: is not a graph.json (not JSON: {err})") from err


# What diff reads of each card; anything else in a graph.json is not needed here.
_CARD_FIELDS = {"id": str, "guid": str, "question": str, "sources": list}


def check_graph(data, spec: str) -> dict:
    """`data` if it has the shape of a deckforge graph (cards with id, guid, question and
    sources), else ValueError naming `spec`: a usage error, not a lost GUID."""
    if not isinstance(data, dict) or not isinstance(data.get("cards"), list):
        raise ValueError(f"{spec}: is not a graph.json (no list of \"cards\"); give a "
                         "graph.json from `deckforge build`, a project folder or a git revision")
    for i, card in enumerate(data["cards"]):
        bad = [k for k, kind in _CARD_FIELDS.items()
               if not isinstance(card, dict) or not isinstance(card.get(k), kind)]
        if bad:
            raise ValueError(f"{spec}: is not a graph.json (card {i} lacks "
                             f"{', '.join(bad)})")
    return data


def _export_revision(project: Path, rev: str, dest: Path) -> None:
    # --end-of-options: a revision such as `--output=FILE` is a name to git, never an option
    # (it made `git archive` write over FILE).
    proc = subprocess.run(["git", "-C", str(project), "archive", "--format=tar",
                           "--end-of-options", rev], capture_output=True)
    if proc.returncode != 0:
        raise ValueError(f"{rev!r} is neither a graph.json file, a folder nor a git revision "
                         f"of {project}: {proc.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")


def _build(project: Path) -> dict:
    from deckforge.build import run_build

    with tempfile.TemporaryDirectory(prefix="deckforge-diff-out-") as out:
        report = run_build(root=project, out=Path(out), with_site=False, write_lock=False)
        return json.loads((report.config.out_dir / "graph.json").read_text("utf-8"))


# Reporting ------------------------------------------------------------------------------------


def _where(card: dict) -> str:
    src = card["sources"][0] if card["sources"] else {}
    return f"{src.get('path', '?')}:{src.get('line', '?')}"


def _one_line(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field_diff(old: dict, new: dict, name: str) -> list[str]:
    def lines(card):
        value = card.get(name)
        return [str(v) for v in value] if isinstance(value, list) else str(value).splitlines()

    return [ln.rstrip("\n") for ln in difflib.unified_diff(lines(old), lines(new), lineterm="", n=0)
            if not ln.startswith(("---", "+++", "@@"))]


def to_markdown(diff: GraphDiff) -> str:
    out = [f"## deckforge diff: {len(diff.changed)} changed, {len(diff.added)} added, "
           f"{len(diff.removed)} removed, {diff.unchanged} unchanged", ""]
    if diff.lost_guids:
        out += [f"> [!CAUTION]\n> **{len(diff.lost_guids)} card(s) lost their GUID.** Users who "
                "re-import get a new note and lose its review history. Keep the question closer "
                "to the old wording, or carry the GUID over: `deckforge carry OLD-GUID NEW-GUID`, "
                "then rebuild.", ""]
        out += [f"- `{old['guid']}` {_one_line(old['question'])} ({_where(old)}) → "
                f"new GUID `{new['guid']}` ({_where(new)})" for old, new in diff.lost_guids]
        out.append("")
    if diff.changed:
        out += ["### Changed (GUID kept: updates in place on re-import)", ""]
        for change in diff.changed:
            out.append(f"- **{_one_line(change.new['question'])}** ({_where(change.new)}), "
                       f"GUID `{change.new['guid']}` kept")
            for name in change.fields:
                out += ["", f"  `{name}`:", "  ```diff"]
                out += [f"  {ln}" for ln in _field_diff(change.old, change.new, name)]
                out.append("  ```")
        out.append("")
    for title, cards in (("Added", diff.added), ("Removed", diff.removed)):
        if cards:
            out += [f"### {title}", ""]
            out += [f"- {_one_line(c['question'])} ({_where(c)}), GUID `{c['guid']}`"
                    for c in cards]
            out.append("")
    if diff.is_empty:
        out.append("No card changed.")
    return "\n".join(out).rstrip() + "\n"


def to_json(diff: GraphDiff) -> str:
    return json.dumps({
        "added": [c["id"] for c in diff.added],
        "removed": [c["id"] for c in diff.removed],
        "changed": [{"id": ch.new["id"], "guid": ch.new["guid"], "fields": list(ch.fields)}
                    for ch in diff.changed],
        "lost_guids": [{"old": o["guid"], "new": n["guid"]} for o, n in diff.lost_guids],
        "unchanged": diff.unchanged,
    }, indent=1) + "\n"
