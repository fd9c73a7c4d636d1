"""Hostile inputs and commands (issue 16): nothing leaks into the deck, `--out` is ours alone,
odd encodings are read, text matching stays linear, and every error is a message, never a
traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from deckforge.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "notes"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    return subprocess.run([sys.executable, "-m", "deckforge", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr


def small_project(tmp_path: Path, notes: dict[str, str | bytes], config: str = "") -> Path:
    project = tmp_path / "proj"
    (project / "sources").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'notes'\n" + config, "utf-8")
    for name, text in notes.items():
        path = project / "sources" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, "utf-8")
    return project


def build(project: Path, out: Path | None = None, **kwargs):
    from deckforge.build import run_build

    return run_build(root=project, out=out or project / "build", with_site=False, **kwargs)


def media_of(apkg: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(apkg) as z:
        names = json.loads(z.read("media"))
        return {name: z.read(index) for index, name in names.items()}


# --- 1. files outside the notes never go into the deck ---------------------------------------


def test_media_holds_only_files_from_inside_sources(tmp_path):
    """Must-hold 3: `..`, absolute and symlinked embeds build a deck whose media holds only
    files from inside sources/, each refused one a warning at its file:line."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG SECRET")
    (tmp_path / "secret.txt").write_text("password", "utf-8")
    notes = {
        "reliability-embeds.md": (
            "# Lecture 1\n\n"
            "- **Inside**: the good image ![[inside.png]]\n"
            "- **Up**: a relative escape ![[../../secret.png]]\n"
            "- **Absolute**: an absolute path ![[/etc/passwd]]\n"
            "- **Linked**: a symlink out of the folder ![[link.png]]\n"
        ),
        "reliability-images.txt": (
            "What does the inside figure show?........![a](inside.png)\n"
            "What does the secret show?........![b](../secret.png)\n"
            "What is the hostname?........![c](/etc/hostname)\n"
            "What is in the text file?........![d](../secret.txt)\n"
            "What is in the key?........![e](notes.txt)\n"
        ),
        "inside.png": b"\x89PNG INSIDE",
        "notes.txt": "Plain text, not an image........sure\n",
    }
    project = small_project(tmp_path, notes)
    (project / "sources" / "link.png").symlink_to(secret)
    report = build(project)
    assert report.exit_code(strict=False) == 0, report.diagnostics
    media = media_of(report.outputs["deck"])
    assert media, "the inside image is packed"
    assert set(media.values()) == {b"\x89PNG INSIDE"}, media
    refused = [d for d in report.diagnostics if d.code in {"media-refused", "missing-image"}]
    where = {(d.path, d.line) for d in refused}
    txt = "sources/reliability-images.txt"
    assert {(txt, 2), (txt, 3), (txt, 4), (txt, 5)} <= where, refused
    md = "sources/reliability-embeds.md"
    assert {(md, 4), (md, 5), (md, 6)} <= where, refused


def test_a_deck_name_cannot_leave_out(tmp_path):
    project = small_project(tmp_path, {"n.txt": "What is x?........y\n"},
                            '[tool.deckforge]\ndeck_name = "../../../../tmp/reliability-x"\n')
    proc = run_cli("build", "--no-site", cwd=project)
    no_traceback(proc)
    assert proc.returncode == 2 and "deck_name" in proc.stderr, proc.stderr
    assert not list(Path("/tmp").glob("reliability-x*"))
    assert not (project / "build").exists()


@pytest.mark.parametrize("config, needle", [
    ("[tool.deckforge\ndeck_name = 'x'\n", "pyproject.toml"),
    ("[tool.deckforge]\ndeck_name = 3\n", "deck_name"),
    ("[tool.deckforge]\nstyles = 'dotted'\n", "styles"),
    ("[tool.deckforge]\nstyles = {'n.txt' = 1}\n", "styles"),
    ("[tool.deckforge]\nrepo_url = ['x']\n", "repo_url"),
    ("[tool]\ndeckforge = 'x'\n", "tool.deckforge"),
])
def test_a_malformed_or_wrong_typed_config_is_a_usage_error(tmp_path, config, needle):
    project = small_project(tmp_path, {"n.txt": "What is x?........y\n"}, config)
    for command in (["build", "--no-site"], ["lint"]):
        proc = run_cli(*command, cwd=project)
        no_traceback(proc)
        assert proc.returncode == 2 and needle in proc.stderr, (command, proc.stderr)


# --- 3. --out is ours alone --------------------------------------------------------------------


@pytest.mark.parametrize("where", ["/", "home", "root", "sources", "docs", "docs-sub", "foreign",
                                   "parent"])
def test_out_refuses_folders_it_does_not_own(tmp_path, where, monkeypatch):
    project = small_project(tmp_path, {"n.txt": "What is x?........y\n"})
    (project / "docs").mkdir()
    (project / "docs" / "index.md").write_text("# Mine\n", "utf-8")
    foreign = tmp_path / "photos"
    (foreign / "site").mkdir(parents=True)
    (foreign / "site" / "holiday.jpg").write_bytes(b"jpg")
    (foreign / "site-src").mkdir()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    out = {"/": "/", "home": str(home), "root": str(project), "sources": "sources",
           "docs": "docs", "docs-sub": "docs/out", "foreign": str(foreign), "parent": str(tmp_path)}[where]
    before = sorted(p for p in tmp_path.rglob("*"))
    proc = subprocess.run([sys.executable, "-m", "deckforge", "build", "--no-site", "--out", out],
                          cwd=project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HOME": str(home),
                               "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"})
    no_traceback(proc)
    assert proc.returncode == 2, proc.stderr
    assert "--out" in proc.stderr
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written, nothing deleted
    assert (foreign / "site" / "holiday.jpg").read_bytes() == b"jpg"


def test_out_is_marked_and_rebuilt_and_an_old_build_folder_is_adopted(tmp_path):
    from deckforge.outdir import MARKER

    project = small_project(tmp_path, {"n.txt": "What is x?........y\n"})
    out = tmp_path / "new-out"
    build(project, out)
    assert (out / MARKER).is_file()
    build(project, out)  # ours: a second build is fine
    # A build folder written before the marker existed holds only names deckforge writes.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "graph.json").write_text('{\n "schema": "deckforge.graph/1"\n}', "utf-8")
    (legacy / "deckforge.apkg").write_bytes(b"old")
    (legacy / "site").mkdir()
    (legacy / "site" / "index.html").write_text("old", "utf-8")
    build(project, legacy)
    assert (legacy / MARKER).is_file()
    # An empty folder is fine too.
    empty = tmp_path / "empty"
    empty.mkdir()
    build(project, empty)


def test_out_under_a_file_and_read_only_out_are_messages(tmp_path):
    project = small_project(tmp_path, {"n.txt": "What is x?........y\n"})
    (tmp_path / "a-file").write_text("x", "utf-8")
    proc = run_cli("build", "--no-site", "--out", str(tmp_path / "a-file" / "out"), cwd=project)
    no_traceback(proc)
    assert proc.returncode == 2 and "--out" in proc.stderr, proc.stderr
    # A folder that cannot be written: /proc refuses new entries even to root.
    proc = run_cli("build", "--no-site", "--out", "/proc/reliability-out", cwd=project)
    no_traceback(proc)
    assert proc.returncode == 2 and "--out" in proc.stderr, proc.stderr
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        proc = run_cli("build", "--no-site", "--out", str(locked), cwd=project)
        no_traceback(proc)
        assert proc.returncode == 2, proc.stderr


def test_the_site_is_swapped_in_whole(tmp_path, monkeypatch):
    """A site build that dies half-way leaves the previous site as it was, and no temp folder."""
    from deckforge.emit import site as site_mod

    project = small_project(tmp_path, {"n.txt": "What is x?........y\n"})
    out = tmp_path / "out"
    from deckforge.outdir import claim

    claim(out, _config(project, out))
    site = out / "site"
    site.mkdir(parents=True)
    (site / "index.html").write_text("previous site", "utf-8")

    def dies(mk):
        Path(mk["site_dir"], "half.html").write_text("half", "utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(site_mod, "run_mkdocs", dies)
    from deckforge.pipeline import build_graph

    config = _config(project, out)
    with pytest.raises(KeyboardInterrupt):
        site_mod.build_site(build_graph(config), config)
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]
    assert (site / "index.html").read_text("utf-8") == "previous site"
    assert not [p for p in out.iterdir() if p.name.startswith(".site")]


def _config(project: Path, out: Path):
    from deckforge.config import load_config

    return load_config(root=project, out=out)


def test_stale_lock_temp_files_are_cleaned(tmp_path):
    project = small_project(tmp_path, {"n.txt": "What is x?........y\n"})
    stale = project / ".deckforge.lock.abc123.tmp"
    stale.write_text("half a lock", "utf-8")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = project / ".deckforge.lock.def456.tmp"  # a concurrent build's, still being written
    fresh.write_text("in flight", "utf-8")
    build(project)
    assert not stale.exists() and fresh.exists()


# --- 5-7. encodings, line ends, long text -----------------------------------------------------


DOTTED = "What is a roofline?........A plot of attainable FLOP/s\nWhat is DDP?........Data parallel\n"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
                                   "utf-32-be", "utf-8-sig"])
def test_utf16_and_utf32_with_a_bom_are_read(codec):
    from deckforge.pipeline import decode

    data = DOTTED.encode(codec)
    if codec in {"utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"}:
        data = "\ufeff".encode(codec) + data
    text, problems = decode(data, "n.txt")
    assert text == DOTTED and not problems


def test_a_utf16_file_builds_the_same_cards(tmp_path):
    plain = build(small_project(tmp_path / "a", {"reliability-n.txt": DOTTED}))
    wide = build(small_project(tmp_path / "b", {"reliability-n.txt": DOTTED.encode("utf-16")}))
    assert [(c.question, c.answer) for c in wide.graph.cards] == \
        [(c.question, c.answer) for c in plain.graph.cards]
    assert len(plain.graph.cards) == 2


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_lone_cr_line_ends_are_lines(tmp_path, newline):
    report = build(small_project(tmp_path, {"reliability-n.txt": DOTTED.replace("\n", newline)}))
    cards = {c.question: c for c in report.graph.cards}
    assert set(cards) == {"What is a roofline?", "What is DDP?"}
    assert cards["What is DDP?"].answer == "Data parallel"
    assert cards["What is DDP?"].sources[0].line == 2


def test_an_unreadable_file_is_a_diagnostic(tmp_path, monkeypatch):
    project = small_project(tmp_path, {"a.txt": DOTTED, "b.txt": "What is c?........d\n"})
    target = project / "sources" / "b.txt"
    if os.geteuid() == 0:
        real = Path.read_bytes
        monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied")) if self == target else real(self))
    else:
        target.chmod(0)
    report = build(project)
    assert any(d.code == "unreadable-file" and d.path == "sources/b.txt" for d in report.diagnostics)
    assert len(report.graph.cards) == 2 and report.exit_code(strict=False) == 1


def test_an_over_long_question_is_a_warning(tmp_path):
    long = "word " * 2000
    report = build(small_project(tmp_path, {"reliability-n.txt": DOTTED + long + "\n" + long +
                                            "........answer\n"}))
    warned = [d for d in report.diagnostics if d.code == "question-too-long"]
    assert [(d.path, d.line) for d in warned] == [("sources/reliability-n.txt", 3)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["roofline", "model", "roofline model", "arithmetic intensity",
                                 "intensity", "lora", "LoRA", "KV cache", "cache", "the", ",",
                                 "kv cache size", "attention", "flash attention", "x"]),
                max_size=40))
def test_alias_hits_keeps_exactly_the_outermost_phrases(words):
    """The linear sweep gives what the pairwise definition gives: a phrase is dropped exactly
    when a longer matched phrase contains it."""
    from deckforge.formula_match import _ACRONYM, FormulaMatcher, acronyms_in, phrase_key
    from deckforge.registry import load_registry

    matcher = _matcher(FormulaMatcher, load_registry)
    text = " ".join(words)
    key = phrase_key(text)
    spans = [(m.start(1), m.start(1) + len(m.group(1)), m.group(1))
             for m in matcher.alias_re.finditer(key)]
    outermost = [s for s in spans if not any(o[0] <= s[0] and s[1] <= o[1] and
                                              o[1] - o[0] > s[1] - s[0] for o in spans)]
    expected = [(s, e) for s, e, p in outermost
                if not _ACRONYM.fullmatch(p) or p in acronyms_in(text)]
    assert [(h.start, h.end) for h in matcher.alias_hits(text)] == expected


_MATCHERS: dict = {}


def _matcher(cls, load):
    if "m" not in _MATCHERS:
        _MATCHERS["m"] = cls.from_registry(load(ROOT / "snippets"))
    return _MATCHERS["m"]


def test_alias_hits_on_a_long_text_is_fast_enough_to_finish():
    """Not a timing test (benchmarks/single_item.py measures): a 200 kB question full of
    overlapping phrases would take minutes with the pairwise check."""
    from deckforge.formula_match import FormulaMatcher
    from deckforge.registry import load_registry

    matcher = _matcher(FormulaMatcher, load_registry)
    hits = matcher.alias_hits("roofline model arithmetic intensity " * 6000)
    assert len(hits) >= 12000


# --- 4, 7. diff ------------------------------------------------------------------------------


def test_diff_passes_revisions_to_git_after_a_double_dash(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", "utf-8")
    proc = run_cli("diff", "--", f"--output={victim}", cwd=ROOT)
    no_traceback(proc)
    assert victim.read_text("utf-8") == "keep me"
    assert proc.returncode == 2, proc.stderr


@pytest.mark.parametrize("content", ['{"not": "a graph"}', "[1, 2]", "not json at all",
                                     '{"cards": [{"id": 1}]}', b"\xff\xfe\x00binary"])
def test_diff_of_a_file_that_is_not_a_graph_is_a_usage_error(tmp_path, content):
    bad = tmp_path / "bad.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, "utf-8")
    result = CliRunner().invoke(main, ["diff", str(bad), str(bad)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "bad.json" in result.output


def test_docs_say_that_a_build_runs_project_code():
    for doc in (ROOT / "README.md", ROOT / "docs" / "contributing.md"):
        text = " ".join(doc.read_text("utf-8").split())
        assert "runs its `snippets/` code" in text and "hooks" in text, doc


def test_readme_exit_codes_cover_diff_input_errors():
    text = (ROOT / "README.md").read_text("utf-8")
    table = text[text.index("| exit |"):]
    assert "diff" in table[:2000] and "not a graph" in table[:2000]
