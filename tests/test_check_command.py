"""`deckforge check`: coverage of formula-bearing cards and the snippet tests behind them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckforge.checking import check_graph, check_project, formula_bearing
from deckforge.cli import main
from deckforge.config import load_config
from deckforge.pipeline import build_graph
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]


def test_every_formula_bearing_card_of_the_bundled_notes_is_linked(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["check", "--no-tests"])
    assert result.exit_code == 0, result.output
    total = re.search(r"^total\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)%", result.output, re.M)
    assert total and total.group(1) == total.group(2) == total.group(3) and total.group(4) == "100.0"
    assert int(total.group(1)) >= 80  # the notes really have that many formula-bearing cards


def test_coverage_is_100_percent_with_passing_snippet_tests():
    """Runs the registry's tests in a subprocess, like `deckforge check` does."""
    report = check_project(load_config(root=ROOT))
    assert report.failing == [], report.pytest_output[-3000:]
    assert report.uncovered == [] and report.coverage == 100.0
    assert report.exit_code() == 0
    table = report.table()
    passing = re.search(r"formulas with passing tests: (\d+) / (\d+)", table)
    assert passing and passing.group(1) == passing.group(2)


def test_formula_bearing_cards():
    graph = build_graph(load_config(root=ROOT))
    by_line = {(c.sources[0].path.split("/")[-1], c.sources[0].line): c for c in graph.cards}
    cs242 = "cs242-systems-flashcards.txt"
    assert formula_bearing(by_line[(cs242, 102)])  # wₜ₊₁ = wₜ − η ∇L(wₜ)
    assert formula_bearing(by_line[(cs242, 111)])  # "Derivative of ReLU" asks for a formula
    assert not formula_bearing(by_line[(cs242, 57)])  # "Training = optimize parameters…" is prose
    assert not formula_bearing(by_line[(cs242, 85)])  # SIMD: no math


def _project(tmp_path: Path, notes: str, test_body: str) -> Path:
    """A tiny project: one note file and a one-formula registry with one test."""
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "notes.txt").write_text(notes, "utf-8")
    pkg = tmp_path / "snippets"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", "utf-8")
    (pkg / "widget.py").write_text(
        "from deckforge.model import Formula\n"
        "FORMULAS = [Formula(id='widget-law', name='Widget law', latex=r'w = 2v', concept='widget',\n"
        "    aliases=('widget law',), module='snippets/widget.py',\n"
        "    tests=('tests/test_widget.py::test_widget',))]\n", "utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_widget.py").write_text(f"def test_widget():\n    {test_body}\n", "utf-8")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'tiny'\n", "utf-8")
    return tmp_path


NOTES = ("What is the widget law?........$w = 2v$\n"
         "What is the gadget equation?........$g = h^2$\n"
         "Who invented widgets?........Nobody knows.\n")


@pytest.fixture()
def fresh_snippets():
    """Each tiny project brings its own `snippets` package; do not reuse the real one."""
    import sys

    saved = {k: v for k, v in sys.modules.items() if k == "snippets" or k.startswith("snippets.")}
    for k in saved:
        del sys.modules[k]
    yield
    for k in [k for k in sys.modules if k == "snippets" or k.startswith("snippets.")]:
        del sys.modules[k]
    sys.modules.update(saved)


def _check(project: Path, run: bool = True):
    """check_graph with the tiny project's own registry only (the built-in one left out, so
    the numbers are the widget's)."""
    registry = load_registry(project / "snippets", builtin=False)
    return check_graph(build_graph(load_config(root=project), registry), project, run=run,
                       registry=registry)


def test_an_uncovered_card_is_listed_with_file_line_and_fails(tmp_path, fresh_snippets):
    project = _project(tmp_path, NOTES, "assert 2 * 3 == 6")
    report = _check(project)
    assert report.status == {"widget-law": "passed"}
    assert [c.sources[0].line for c in report.uncovered] == [2]  # the gadget equation
    assert report.exit_code() == 1
    assert "sources/notes.txt:2: What is the gadget equation?" in report.table()
    assert report.coverage == 50.0


def test_a_failing_snippet_test_fails_the_check(tmp_path, fresh_snippets):
    project = _project(tmp_path, NOTES.splitlines(keepends=True)[0], "assert 2 * 3 == 7")
    report = _check(project)
    assert report.status == {"widget-law": "failed"}
    assert report.uncovered and report.exit_code() == 1
    assert "widget-law: failed" in report.table()


def test_no_tests_mode_counts_links_only(tmp_path, fresh_snippets):
    project = _project(tmp_path, NOTES.splitlines(keepends=True)[0], "assert False")
    report = _check(project, run=False)
    assert report.exit_code() == 0 and report.coverage == 100.0


def test_cli_lists_uncovered_cards(tmp_path, fresh_snippets, monkeypatch):
    project = _project(tmp_path, NOTES, "assert True")
    shutil.rmtree(project / "tests")  # a missing test file counts as not passing
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert "widget-law: missing" in result.output
    assert "sources/notes.txt:1: What is the widget law?" in result.output
