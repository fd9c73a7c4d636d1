"""The contributor loop: lint says what is wrong where, diff shows what a fix does to the deck."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import fetch, free_port

ROOT = Path(__file__).resolve().parents[1]
DOTTED = "sources/cs242-systems-flashcards.txt"


def deckforge(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{cwd}"}
    return subprocess.run([sys.executable, "-m", "deckforge", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A throw-away copy of the repository's notes, snippets, config and lock, under git."""
    dest = tmp_path / "repo"
    dest.mkdir()
    for name in ("sources", "snippets"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "deckforge.lock"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, dest / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "notes"], cwd=dest, check=True)
    return dest


def edit_line(path: Path, lineno: int, old: str, new: str) -> None:
    lines = path.read_bytes().split(b"\n")
    assert old.encode() in lines[lineno - 1], lines[lineno - 1]
    lines[lineno - 1] = lines[lineno - 1].replace(old.encode(), new.encode())
    path.write_bytes(b"\n".join(lines))


def test_lint_findings_point_at_the_line_that_holds_the_card(project):
    proc = deckforge("lint", "--format", "json", cwd=project)
    findings = json.loads(proc.stdout)
    assert findings, proc.stderr
    card_findings = [f for f in findings if f["code"] in {"empty-answer", "no-concept"}]
    assert len(card_findings) >= 10
    for f in card_findings[:10]:
        text = (project / f["path"]).read_text("utf-8", errors="replace").splitlines()
        line = text[f["line"] - 1]
        quoted = re.search(r'"(.{8,}?)[…"]', f["message"]).group(1)
        # The card's question starts on that line (or the multi-line item does).
        window = " ".join(text[f["line"] - 1 : f["line"] + 8])
        assert quoted[:8] in window or quoted[:8] in line, (f, line)


def test_lint_github_format_is_valid_workflow_command_syntax(project):
    proc = deckforge("lint", "--format", "github", cwd=project)
    command = re.compile(r"^::(error|warning|notice) file=[^,:]+,line=\d+,col=\d+,title=[^,:]+::.*$")
    lines = proc.stdout.splitlines()
    assert lines
    for line in lines:
        assert command.match(line), line
    assert proc.returncode == (1 if any(ln.startswith("::error") for ln in lines) else 0)


def test_diff_reports_exactly_the_edited_card_with_its_guid_kept(project):
    deckforge("build", "--no-site", "--out", "build-old", cwd=project)
    edit_line(project / DOTTED, 46, "Mixes information across channels",
              "Mixes information across all channels")
    deckforge("build", "--no-site", "--out", "build-new", cwd=project)
    proc = deckforge("diff", "build-old/graph.json", "build-new/graph.json", "--format", "json",
                     cwd=project)
    result = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert result["added"] == [] and result["removed"] == [] and result["lost_guids"] == []
    assert len(result["changed"]) == 1
    assert result["changed"][0]["fields"] == ["answer"]
    old = json.loads((project / "build-old/graph.json").read_text("utf-8"))
    changed = next(c for c in old["cards"] if c["id"] == result["changed"][0]["id"])
    assert changed["guid"] == result["changed"][0]["guid"]
    assert changed["question"].startswith("Pointwise") and "role in DSC" in changed["question"]


def test_diff_against_a_git_revision_reports_a_removed_card(project):
    path = project / DOTTED
    lines = path.read_bytes().split(b"\n")
    removed = lines.pop(46)  # "Low-rank view of separable kernels........"
    assert removed.startswith(b"Low-rank view of separable kernels")
    path.write_bytes(b"\n".join(lines))
    proc = deckforge("diff", "HEAD", ".", cwd=project)
    assert "### Removed" in proc.stdout, proc.stdout + proc.stderr
    assert "Low-rank view of separable kernels" in proc.stdout.split("### Removed")[1]
    assert "### Changed" not in proc.stdout


@pytest.mark.anki
@pytest.mark.slow
def test_contributing_walkthrough_ends_in_an_update_of_the_users_note(project, tmp_path):
    """docs/contributing.md, followed step by step on a copy of the repository, as a user and a
    contributor would: the fix reaches the user's collection as an update, history intact."""
    from anki.collection import Collection, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageUpdateCondition

    def import_into(col: Collection, apkg: Path) -> None:
        options = ImportAnkiPackageOptions(  # Anki's defaults: update notes if newer
            update_notes=ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
            update_notetypes=ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
            with_scheduling=False, with_deck_configs=False, merge_notetypes=False)
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(apkg), options=options))

    # The published deck, imported by a user who then studies a card.
    assert deckforge("build", "--no-site", cwd=project).returncode == 0
    apkg = next((project / "build").glob("*.apkg"))
    published = tmp_path / "published.apkg"
    shutil.copy(apkg, published)
    graph = json.loads((project / "build/graph.json").read_text("utf-8"))
    card = next(c for c in graph["cards"] if c["question"].startswith("Pointwise")
                and "role in DSC" in c["question"])
    col = Collection(str(tmp_path / "user.anki2"))
    import_into(col, published)
    # GUIDs hold characters that Anki's search syntax treats specially: compare them directly.
    note_id = next(n for n in col.find_notes("") if col.get_note(n).guid == card["guid"])
    anki_card = col.get_note(note_id).cards()[0]
    review = col.get_card(anki_card.id)
    review.start_timer()
    col.sched.answerCard(review, 4)  # "Easy": the card graduates with a real interval
    notes_before = col.note_count()
    studied = col.get_card(anki_card.id)
    assert studied.reps == 1 and studied.ivl > 0

    # Step 1: the back of the card names the source line (the site shows the same link).
    src = card["sources"][0]
    assert f"{src['path']}:{src['line']}" in col.get_card(anki_card.id).answer()
    # Step 2: edit the note at that line.
    edit_line(project / src["path"], src["line"], "Mixes information across channels",
              "Mixes information across all channels")
    # Step 3: lint the changed note: no error on the edited card.
    proc = deckforge("lint", "--format", "json", src["path"], cwd=project)
    assert not [f for f in json.loads(proc.stdout)
                if f["line"] == src["line"] and f["level"] == "error"], proc.stdout
    # Step 4: rebuild and look at the card-level diff.
    assert deckforge("build", "--no-site", cwd=project).returncode == 0
    proc = deckforge("diff", "HEAD", ".", cwd=project)
    assert "role in DSC" in proc.stdout.split("### Changed")[1], proc.stdout
    assert "1 changed, 0 added, 0 removed" in proc.stdout and "lost their GUID" not in proc.stdout
    # Step 5: the lock changed with the note (the contributor commits both).
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True,
                            text=True).stdout
    assert src["path"] in status and "deckforge.lock" in status

    # The user imports the new release: the same note is updated, history intact.
    import_into(col, next((project / "build").glob("*.apkg")))
    assert col.note_count() == notes_before
    updated = col.get_note(note_id)
    assert any("all channels" in field for field in updated.fields)
    after = col.get_card(anki_card.id)
    assert (after.reps, after.ivl) == (studied.reps, studied.ivl)
    col.close()


@pytest.mark.slow
def test_serve_rebuilds_the_site_when_a_note_changes(tmp_path):
    import time

    dest = tmp_path / "repo"
    for name in ("sources", "snippets", "docs", "src"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "mkdocs.yml", "deckforge.lock"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, dest / name)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{dest}"}
    server = subprocess.Popen([sys.executable, "-m", "deckforge", "serve", "-a", f"127.0.0.1:{port}"],
                              cwd=dest, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    index = f"http://127.0.0.1:{port}/deckforge/search/search_index.json"

    def wait_for(predicate, seconds: float) -> str | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = fetch(index)
            if text is not None and predicate(text):
                return text
            time.sleep(1)
        return None

    try:
        assert wait_for(lambda text: "roofline" in text.lower(), 180), "serve never came up"
        with (dest / DOTTED).open("ab") as note:
            note.write(b"\nWhat does the serve test add?........A card named zebra-quokka.\n")
        assert wait_for(lambda text: "zebra-quokka" in text, 180), "no rebuild after the edit"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
