"""Declared symbols and fingerprints of every registry formula (issue 11): one formula's
knowledge sits beside it in snippets/, and the engine relies on it being well-formed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deckforge.formula_match import compact
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(ROOT / "snippets")


@pytest.mark.parametrize("formula", REGISTRY.formulas, ids=[f.id for f in REGISTRY.formulas])
def test_every_declared_symbol_is_written_in_the_formulas_latex(formula):
    assert formula.symbols, f"{formula.id}: declare its symbols (letter as written -> meaning)"
    letters = [letter for letter, _meaning in formula.symbols]
    assert len(letters) == len(set(letters)), f"{formula.id}: a symbol is declared twice"
    for letter, meaning in formula.symbols:
        assert letter in formula.latex, f"{formula.id}: {letter!r} is not in its LaTeX"
        assert meaning.strip() and meaning == meaning.strip(), (formula.id, letter)


def test_fingerprints_are_collected_from_the_modules_and_match_their_examples():
    ids = {f.id for f in REGISTRY.formulas}
    assert len(REGISTRY.fingerprints) >= 19
    for fp in REGISTRY.fingerprints:
        assert fp.formula in ids, fp
        assert re.search(fp.pattern, compact(fp.example)), fp


def test_src_keeps_no_fingerprint_table():
    text = (ROOT / "src" / "deckforge" / "formula_match.py").read_text("utf-8")
    assert "Fingerprint(\"" not in text
