"""deckforge on anyone's notes (issue 13): the built-in registry everywhere, `deckforge init`,
identities that never cross projects, outputs never read back as notes, clear exit codes.

The commands run as a user runs them: `python -m deckforge` in a subprocess whose working
directory is a temporary folder outside this repository, with only `src/` on the path (the
registry is found the way an installed deckforge finds it, never through the working
directory). Decks are imported into real Anki collections.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckforge.cli import main
from tests.serving import fetch, free_port

ROOT = Path(__file__).resolve().parents[1]
PERSONAL = ROOT / "tests" / "data" / "notes" / "ownnotes-personal"
BUNDLED_SIGMOID = "Derivative of Sigmoid"
PERSONAL_SIGMOID = "Derivative of the sigmoid"


def deckforge(*args: str, cwd: Path, check: bool = False, timeout: float = 600
              ) -> subprocess.CompletedProcess:
    """`deckforge ARGS` as a user runs it, from `cwd`: only src/ on the path, so nothing of
    this repository is found through the working directory."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # No top-level `snippets` package may be found by chance either (another checkout's,
    # installed in editable mode, would be): the built-in registry is deckforge_snippets.
    run = ("import sys; sys.modules['snippets'] = None; sys.argv[0] = 'deckforge'; "
           "from deckforge.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", run, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


def card_facts(graph: dict) -> list[tuple]:
    """What a card is, identity aside: text, kind, repairs and flags, formula/concept links."""
    return sorted(
        (c["id"], c["kind"], c["question"], c["answer"], tuple(c["formulas"]),
         tuple(c["concepts"]), json.dumps(c["flags"], sort_keys=True),
         json.dumps(c["sources"], sort_keys=True))
        for c in graph["cards"])


def read_graph(folder: Path) -> dict:
    return json.loads((folder / "graph.json").read_text("utf-8"))


# --- must-hold 1: the same notes give the same deck wherever deckforge runs -----------------


@pytest.mark.slow
def test_outside_the_repository_the_notes_get_the_same_cards_repairs_and_links(
        tmp_path, bundled_build):
    notes = tmp_path / "my-course"
    shutil.copytree(ROOT / "sources", notes / "sources")
    proc = deckforge("build", "--no-site", "-q", cwd=notes)
    # the bundled notes may hold errors (exit 1): the same verdict as inside
    assert proc.returncode == bundled_build.exit_code(strict=False), proc.stderr[-2000:]
    outside = read_graph(notes / "build")
    inside = read_graph(bundled_build.config.out_dir)
    assert len(outside["cards"]) == len(inside["cards"]) > 300
    assert card_facts(outside) == card_facts(inside)
    repaired = [c for c in outside["cards"] if "repaired" in c["flags"]]
    linked = [c for c in outside["cards"] if c["formulas"]]
    checked = [c for c in outside["cards"]
               if {"verified", "claim-mismatch"} & set(c["flags"])]  # the claim checks ran
    print(f"outside == inside: {len(outside['cards'])} cards, {len(repaired)} repaired, "
          f"{len(linked)} with formula links, {len(checked)} claim-checked")
    assert len(repaired) > 10 and len(linked) > 200 and checked
    assert {f["id"] for f in outside["formulas"]} == {f["id"] for f in inside["formulas"]}
    # The lock is the notes' project's own, next to them.
    assert (notes / "deckforge.lock").is_file()


# --- must-hold 2: init -> build -> Anki -> serve in a fresh folder --------------------------


@pytest.mark.slow
@pytest.mark.anki
def test_init_build_import_serve_end_to_end(tmp_path):
    collection = pytest.importorskip("anki.collection")
    deckforge("init", "physics-notes", "--title", "Physics of ML", cwd=tmp_path, check=True)
    project = tmp_path / "physics-notes"
    for rel in ("deckforge.toml", "mkdocs.yml", "docs/index.md", ".gitignore",
                ".github/workflows/deckforge.yml"):
        assert (project / rel).is_file(), rel
    examples = sorted(p.name for p in (project / "sources").iterdir())
    assert len(examples) == 5

    proc = deckforge("build", cwd=project, check=True)
    graph = read_graph(project / "build")
    readers = {s["reader"] for s in graph["sources"]}
    assert readers == {"dotted", "alternating", "slides", "lms_quiz", "obsidian"}
    # 10 cards, 11 since the lecture reader also asks for a heading's key points
    assert len(graph["cards"]) >= 10 and "problems:   0 errors, 0 warnings" in proc.stdout
    assert any("repaired" in c["flags"] for c in graph["cards"])
    assert sum(1 for c in graph["cards"] if c["formulas"]) >= 7  # the built-in registry links
    home = (project / "build" / "site" / "index.html").read_text("utf-8")
    assert "<title>Physics of ML</title>" in home and "Physics of ML" in home
    assert "cs242" not in home and "Course notes on ML systems" not in home  # not this repo's

    apkg = project / "build" / "Physics-of-ML.apkg"
    (tmp_path / "col").mkdir()
    col = collection.Collection(str(tmp_path / "col" / "collection.anki2"))
    try:
        request = collection.ImportAnkiPackageRequest(
            package_path=str(apkg), options=collection.ImportAnkiPackageOptions())
        col.import_anki_package(request)
        assert col.note_count() == len(graph["cards"])
        guids = {c["guid"] for c in graph["cards"]}
        assert {col.get_note(n).guid for n in col.find_notes("")} == guids
    finally:
        col.close()

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen([sys.executable, "-m", "deckforge", "serve", "-a", f"127.0.0.1:{port}"],
                              cwd=project, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline, page = time.monotonic() + 180, None
        while time.monotonic() < deadline and page is None:
            page = fetch(f"http://127.0.0.1:{port}/")
            time.sleep(0 if page else 1)
        assert page is not None, "serve never came up"
        assert "Physics of ML" in page
        index = fetch(f"http://127.0.0.1:{port}/search/search_index.json") or ""
        assert "ridge point" in index.lower()  # the notes' own cards are served
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


# --- must-hold 3: identities never cross projects -------------------------------------------


def _project_copy(dest: Path) -> Path:
    """deckforge's own project (notes, config, committed lock) in a temp folder."""
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "sources", dest / "sources")
    for name in ("pyproject.toml", "deckforge.lock"):
        shutil.copy(ROOT / name, dest / name)
    return dest


@pytest.mark.slow
def test_other_notes_built_from_inside_a_project_never_touch_its_lock(tmp_path):
    project = _project_copy(tmp_path / "deckforge")
    inside = project / "tests" / "data" / "personal"  # other notes inside the project tree
    shutil.copytree(PERSONAL, inside)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(PERSONAL, elsewhere)
    before = (project / "deckforge.lock").read_bytes()
    for notes in (inside, elsewhere):
        proc = deckforge("build", "--sources", str(notes), "--no-site", "-q", cwd=project,
                         check=True)
        assert "cards out:  3" in proc.stdout
        assert (project / "deckforge.lock").read_bytes() == before
        assert (notes / "deckforge.lock").is_file()  # the notes' own lock, beside them
        assert (notes / "build" / "graph.json").is_file()  # and their own build folder
    assert not (project / "build").exists()


@pytest.mark.slow
@pytest.mark.anki
def test_a_personal_card_like_a_bundled_one_is_its_own_note_in_anki(tmp_path):
    collection = pytest.importorskip("anki.collection")
    project = _project_copy(tmp_path / "deckforge")
    proc = deckforge("build", "--no-site", "-q", cwd=project)  # exit 1 if the notes hold errors
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    bundled = read_graph(project / "build")
    personal_notes = tmp_path / "personal"
    shutil.copytree(PERSONAL, personal_notes)
    deckforge("build", "--sources", str(personal_notes), "--no-site", "-q", cwd=project,
              check=True)
    personal = read_graph(personal_notes / "build")

    theirs = next(c for c in bundled["cards"] if c["question"] == BUNDLED_SIGMOID)
    mine = next(c for c in personal["cards"] if c["question"] == PERSONAL_SIGMOID)
    assert mine["guid"] != theirs["guid"]
    assert not {c["guid"] for c in personal["cards"]} & {c["guid"] for c in bundled["cards"]}

    (tmp_path / "col").mkdir()
    col = collection.Collection(str(tmp_path / "col" / "collection.anki2"))
    try:
        def import_deck(apkg: Path):
            col.import_anki_package(collection.ImportAnkiPackageRequest(
                package_path=str(apkg), options=collection.ImportAnkiPackageOptions()))

        import_deck(next((project / "build").glob("*.apkg")))
        nid = col.db.scalar("select id from notes where guid = ?", theirs["guid"])
        cid = col.find_cards(f"nid:{nid}")[0]
        card = col.get_card(cid)
        card.start_timer()
        col.sched.answerCard(card, 4)
        history = (col.get_card(cid).reps, col.get_card(cid).ivl)
        fields_before = col.get_note(nid).fields

        import_deck(next((personal_notes / "build").glob("*.apkg")))
        assert col.note_count() == len(bundled["cards"]) + len(personal["cards"])
        assert col.get_note(nid).fields == fields_before  # the bundled note is untouched
        assert (col.get_card(cid).reps, col.get_card(cid).ivl) == history
        assert col.db.scalar("select count() from revlog where cid = ?", cid) == 1
        mine_nid = col.db.scalar("select id from notes where guid = ?", mine["guid"])
        assert mine_nid and mine_nid != nid
    finally:
        col.close()


# --- must-hold 4: outputs are never read back as notes --------------------------------------


def test_out_inside_the_sources_gives_the_same_graph_twice(tmp_path):
    notes = tmp_path / "notes"
    shutil.copytree(PERSONAL, notes)
    (notes / ".cache").mkdir()
    (notes / ".cache" / "junk.txt").write_text("Cached?........never a card\n", "utf-8")
    runner = CliRunner()
    args = ["build", "--sources", str(notes), "--out", str(notes / "out"), "--no-site", "-q"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    graph = (notes / "out" / "graph.json").read_bytes()
    second = runner.invoke(main, args)
    assert second.exit_code == 0, second.output
    assert (notes / "out" / "graph.json").read_bytes() == graph
    assert len(json.loads(graph)["cards"]) == 3
    assert (notes / "deckforge.lock").is_file()  # beside the notes, never read as one
    # An earlier output folder (another --out) is not read either.
    third = runner.invoke(main, ["build", "--sources", str(notes), "--out",
                                 str(notes / "out-2"), "--no-site", "-q"])
    assert third.exit_code == 0, third.output
    assert (notes / "out-2" / "graph.json").read_bytes() == graph


@pytest.mark.slow
def test_out_inside_the_sources_with_the_site_gives_the_same_graph(tmp_path):
    notes = tmp_path / "notes"
    shutil.copytree(PERSONAL, notes)
    for _ in range(2):
        deckforge("build", "--sources", ".", "--out", "out", "-q", cwd=notes, check=True)
        assert len(read_graph(notes / "out")["cards"]) == 3
        assert (notes / "out" / "site" / "index.html").is_file()


# --- must-hold 5: README's exit codes and the missing-extra messages ------------------------


def test_exit_0_build_and_lint_of_good_notes(tmp_path):
    notes = tmp_path / "notes"
    shutil.copytree(PERSONAL, notes)
    runner = CliRunner()
    assert runner.invoke(main, ["build", "--sources", str(notes), "--no-site"]).exit_code == 0
    assert runner.invoke(main, ["lint", "--sources", str(notes)]).exit_code == 0


def test_exit_1_when_the_notes_have_an_error_and_build_agrees_with_lint(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "ownnotes-empty.txt").write_text(
        "What is a tensor?........\nWhat is a batch?........A group of examples.\n", "utf-8")
    runner = CliRunner()
    lint = runner.invoke(main, ["lint", "--sources", str(notes), "--format", "json"])
    build = runner.invoke(main, ["build", "--sources", str(notes), "--no-site"])
    assert lint.exit_code == build.exit_code == 1
    findings = json.loads(lint.stdout)
    assert any(f["code"] == "empty-answer" for f in findings)
    levels = {lvl: sum(f["level"] == lvl for f in findings) for lvl in ("error", "warning", "info")}
    assert (f"problems:   {levels['error']} errors, {levels['warning']} warnings, "
            f"{levels['info']} infos") in build.stdout


def test_build_and_lint_report_the_same_counts_on_the_bundled_notes(bundled_build):
    from deckforge.lint import lint_graph
    from deckforge.pipeline import build_graph

    linted = lint_graph(build_graph(bundled_build.config))
    built = bundled_build.diagnostics
    assert [(d.path, d.line, d.code) for d in built] == [(d.path, d.line, d.code) for d in linted]
    # Both lists are non-trivial (the counts move with other work on the passes; what must
    # hold is that build and lint give the same list).
    assert sum(d.level == "warning" for d in built) > 10
    assert sum(d.level == "info" for d in built) > 10


def test_exit_1_under_strict_with_warnings(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "ownnotes-link.md").write_text("# Notes\n- **Term**: see [[Nowhere]].\n", "utf-8")
    result = CliRunner().invoke(main, ["build", "--sources", str(notes), "--no-site", "--strict"])
    assert result.exit_code == 1, result.output


@pytest.mark.parametrize("setup, args, says", [
    ("missing", ["build", "--sources", "{tmp}/nothing"], "no such folder"),
    ("empty", ["build", "--sources", "{tmp}/empty"], "holds no notes"),
    ("empty", ["lint", "--sources", "{tmp}/empty"], "holds no notes"),
    ("bare", ["build"], "no notes folder at"),
    ("bare", ["lint", "{tmp}/nosuchfile.txt"], "does not exist"),
    ("bare", ["build", "--bogus-option"], "No such option"),
    ("bare", ["schema", "--out", "{tmp}/afile/sub"], "cannot create the folder"),
])
def test_exit_2_for_bad_usage_names_the_path(tmp_path, monkeypatch, setup, args, says):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".hidden.txt").write_text("Q........A\n", "utf-8")
    (tmp_path / "afile").write_text("not a folder", "utf-8")
    bare = tmp_path / "bare"
    bare.mkdir()
    monkeypatch.chdir(bare)
    result = CliRunner().invoke(main, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "Traceback" not in result.output


def test_schema_out_creates_a_missing_folder(tmp_path):
    result = CliRunner().invoke(main, ["schema", "--out", str(tmp_path / "new" / "dir")])
    assert result.exit_code == 0, result.output
    schema = json.loads((tmp_path / "new" / "dir" / "graph.schema.json").read_text("utf-8"))
    assert "deckforge.graph/1" in json.dumps(schema)


@pytest.mark.parametrize("command, module, extra", [
    (["check"], "pytest", "test"),
    (["bench", "--device", "cpu"], "torch", "bench"),
    (["pull", "export.apkg"], "anki", "pull"),
])
def test_a_missing_extra_is_one_line_naming_it_exit_2(tmp_path, monkeypatch, command, module,
                                                      extra):
    """The extras are installed here, so their absence is simulated at the one place the CLI
    asks for them (importlib.util.find_spec); the wheel test below meets the real absence."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == module else real(name, *a))
    shutil.copytree(PERSONAL, tmp_path / "sources")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert lines == [f"Error: deckforge {command[0]} needs {module}, which is not installed: "
                     f"pip install 'deckforge[{extra}]'"]


# --- the registry: built in everywhere, a project's own adds and overrides by id ------------


def test_a_projects_own_snippets_add_and_override_by_id(tmp_path):
    from deckforge.registry import load_registry

    snippets = tmp_path / "snippets"
    snippets.mkdir()
    (snippets / "__init__.py").write_text("", "utf-8")
    (snippets / "mine.py").write_text(
        "from deckforge.model import Formula\n"
        "FORMULAS = [\n"
        "    Formula(id='widget-law', name='Widget law', latex=r'w = 2v', concept='widget',\n"
        "            aliases=('widget law',), module='snippets/mine.py'),\n"
        "    Formula(id='relu-derivative', name='My ReLU derivative', latex=r'1_{x>0}', concept='act',\n"
        "            aliases=('relu slope',), module='snippets/mine.py'),\n"
        "]\n", "utf-8")
    builtin = load_registry()
    registry = load_registry(snippets)
    assert builtin.formula("relu-derivative") is not None and builtin.formula("widget-law") is None
    assert len(registry.formulas) == len(builtin.formulas) + 1
    assert registry.formula("relu-derivative").name == "My ReLU derivative"
    assert registry.origin(registry.formula("relu-derivative")).module_name(registry.formula("relu-derivative")) \
        == "snippets.mine"
    attention = registry.formula("scaled-dot-product-attention")
    assert registry.origin(attention).builtin
    assert registry.source_file(attention).is_file()
    # The built-in layer carries its fingerprints and claims; an overridden formula's go with
    # it (they describe the formula that was replaced), everyone else's stay.
    assert builtin.fingerprints and builtin.claims
    assert registry.fingerprints == builtin.fingerprints  # relu-derivative declares none
    (snippets / "norm.py").write_text(
        "from deckforge.model import Formula\n"
        "FORMULAS = [Formula(id='layer-norm', name='My norm', latex=r'x', concept='norm',\n"
        "                    module='snippets/norm.py')]\n", "utf-8")
    registry = load_registry(snippets)
    assert any(fp.formula == "layer-norm" for fp in builtin.fingerprints)
    assert not any(fp.formula == "layer-norm" for fp in registry.fingerprints)
    assert len(registry.fingerprints) == len(builtin.fingerprints) - sum(
        fp.formula == "layer-norm" for fp in builtin.fingerprints)


def test_the_registry_is_not_a_top_level_snippets_package():
    from deckforge.registry import BUILTIN, builtin_folder

    assert BUILTIN == "deckforge_snippets"
    assert (builtin_folder() / "attention.py").is_file()
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    assert '"deckforge_snippets" = "snippets"' in text


# --- files are written with the umask's permissions ----------------------------------------


def test_outputs_and_lock_follow_the_umask(tmp_path):
    notes = tmp_path / "notes"
    shutil.copytree(PERSONAL, notes)
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(main, ["build", "--sources", str(notes), "--no-site"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    for path in (notes / "build" / "graph.json", notes / "deckforge.lock",
                 next((notes / "build").glob("*.apkg"))):
        assert path.stat().st_mode & 0o777 == 0o644, path


# --- the wheel in a fresh venv (no editable install, no repository on the path) -------------


@pytest.mark.slow
def test_the_wheel_builds_a_users_notes_from_a_fresh_venv(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    str(ROOT), "-w", str(wheels)], check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("deckforge-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    for folder, package in ((ROOT / "src" / "deckforge", "deckforge"),
                            (ROOT / "snippets", "deckforge_snippets")):
        for module in folder.rglob("*.py"):
            rel = module.relative_to(folder).as_posix()
            assert f"{package}/{rel}" in names, f"{package}/{rel} is not in the wheel"
    assert not any(n.startswith("snippets/") for n in names)
    assert any(n.startswith("deckforge_snippets/bench/results/") for n in names)

    # The dependencies come from this environment (no network in a test); the venv's own
    # site-packages, holding only the wheel, come first on its path.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(python), "-c", "import deckforge, deckforge_snippets; "
                            "print(deckforge.__file__); print(deckforge_snippets.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert all(str(venv) in line for line in where.stdout.splitlines()), where.stdout
    # The installed built-in registry is the checkout's: formulas, symbols, claims, fingerprints.
    counts = ("from deckforge.registry import load_registry; r = load_registry(); "
              "print(len(r.formulas), sum(bool(f.symbols) for f in r.formulas), len(r.claims), "
              "len(r.fingerprints), r.folders[0])")
    installed = subprocess.run([str(python), "-c", counts], cwd=tmp_path, env=env,
                               capture_output=True, text=True, check=True).stdout.split()
    from deckforge.registry import load_registry

    here = load_registry()
    assert installed[:4] == [str(len(here.formulas)), str(len(here.formulas)),
                             str(len(here.claims)), str(len(here.fingerprints))]
    assert str(venv) in installed[4] and here.claims and here.fingerprints
    deckforge_bin = venv / "bin" / "deckforge"
    subprocess.run([str(deckforge_bin), "init", "notes"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    proc = subprocess.run([str(deckforge_bin), "build", "--no-site", "-q"], cwd=tmp_path / "notes",
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    graph = read_graph(tmp_path / "notes" / "build")
    assert len(graph["cards"]) >= 10
    assert sum(1 for c in graph["cards"] if c["formulas"]) >= 7
    assert "repaired:   1" in proc.stdout


def test_serve_and_its_hook_refuse_an_out_folder_that_is_not_the_tools(tmp_path, monkeypatch):
    """`serve` (and the mkdocs hook under a plain `mkdocs serve`) write into the project's out
    folder like `build` does: the same ownership rule (deckforge.outdir), exit 2, nothing
    written into a folder holding the user's own files."""
    from mkdocs.exceptions import PluginError

    from deckforge.config import load_config
    from deckforge.emit.pages import hook

    shutil.copytree(PERSONAL, tmp_path / "sources")
    (tmp_path / "deckforge.toml").write_text('out = "mine"\n', "utf-8")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("mine\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2, result.output
    assert "thesis.tex" in result.output and "--out" in result.output
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]
    monkeypatch.setenv(hook.SERVE_ENV, json.dumps({
        "root": str(tmp_path), "out": str(tmp_path / "mine"), "sources": str(tmp_path / "sources")}))
    assert load_config(root=tmp_path).out_dir == (tmp_path / "mine").resolve()
    with pytest.raises(PluginError, match="thesis.tex"):
        hook.on_config(None)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]
