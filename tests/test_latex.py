"""All LaTeX in the graph parses; an invalid formula is reported as an error with file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckforge.config import load_config
from deckforge.latex import check_field, check_math, math_spans
from deckforge.pipeline import build_graph
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]


def test_all_latex_of_the_bundled_notes_parses():
    graph = build_graph(load_config(root=ROOT))
    invalid = [str(d) for d in graph.diagnostics if d.code == "invalid-latex"]
    assert invalid == []
    spans = sum(len(math_spans(c.answer)[0]) + len(math_spans(c.question)[0]) for c in graph.cards)
    assert spans > 100  # the check really looked at math


def test_every_registry_formula_parses():
    for formula in load_registry(ROOT / "snippets").formulas:
        assert check_math(formula.latex) == [], formula.id


@pytest.mark.parametrize(("field", "message"), [
    (r"$\frac{a}{b$", "expecting '}'"),
    (r"$x^{2}}$", "closing brace"),
    (r"$$\begin{matrix} a \end{pmatrix}$$", "mismatching closing environment"),
    (r"$$\begin{foo} a \end{foo}$$", "unknown environment `foo`"),
    (r"$\left( x$", "`\\left`"),
    (r"costs $x and more", "unmatched `$`"),
    ("$" + "x + " * 2000 + "$", "left open"),
])
def test_invalid_latex_is_found(field, message):
    problems = check_field(field)
    assert problems and message in problems[0].message


@pytest.mark.parametrize("field", [
    r"$$\operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$",
    r"\(x^2\) and \[\sum_i x_i\]", r"a literal \$5 price", r"$$\begin{cases} 1 & x>0 \\ 0 & x\le 0\end{cases}$$",
    "no math at all",
])
def test_valid_latex_passes(field):
    assert check_field(field) == []


@pytest.fixture()
def bad_project(tmp_path):
    """A copy of the project whose notes hold one broken formula, on line 3."""
    for name in ("snippets",):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("bench", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "notes.txt").write_text(
        "Gradient descent update rule........$w_{t+1} = w_t - \\eta \\nabla L(w_t)$\n"
        "Sigmoid derivative........$\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))$\n"
        "Roofline relation........$CT = \\min(\\mathrm{peak}, \\frac{\\alpha \\cdot MB$\n",
        "utf-8")
    return tmp_path


def test_an_invalid_formula_is_an_error_at_its_file_and_line(bad_project):
    graph = build_graph(load_config(root=bad_project))
    found = [d for d in graph.diagnostics if d.code == "invalid-latex"]
    assert len(found) == 1
    assert (found[0].path, found[0].line, found[0].level) == ("sources/notes.txt", 3, "error")
    assert "Roofline relation" in found[0].message


def test_an_invalid_registry_formula_points_at_its_declaration(tmp_path):
    from deckforge.latex import formula_diagnostics
    from deckforge.model import Formula

    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "fam.py").write_text('X = 1\nF = Formula(id="bad-one", latex="...")\n', "utf-8")
    bad = Formula(id="bad-one", name="Bad", latex=r"\frac{a}{b", concept="x", module="snippets/fam.py")
    (diag,) = formula_diagnostics(bad, tmp_path)
    assert (diag.path, diag.line, diag.level, diag.code) == ("snippets/fam.py", 2, "error", "invalid-latex")


def test_lint_and_build_report_it(bad_project, monkeypatch):
    from deckforge.cli import main

    monkeypatch.chdir(bad_project)
    result = CliRunner().invoke(main, ["lint"])
    assert result.exit_code == 1
    assert "sources/notes.txt:3:1: invalid-latex" in result.output
