"""verify: formulas written in answers compared numerically with the registry formulas the card
is linked to (deckforge.formula_verify does the comparing).

Runs after `dedupe` (a merged card is checked once, on its merged answer) and before `check`
(which validates every math span, the registry formula this pass puts on the back included).

For every card linked to registry formulas whose answer did not come from the registry (a
`repaired` card would only be checked against itself), the formulas written in the answer are
found: math spans (`$…$`, `$$…$$`) and plain-text equations the normalize pass left, as maximal
runs of math-looking text around a relation (`=`, `≈`). Prose words end a run, so
`Ridge = compute roof intersects …` is no formula. Each equation is compared with every linked
formula; the one with the same left-hand side (through the formula's declared symbols) decides:

- equal at every seeded random point  -> flag `verified` (cause `formula-verified`);
- different                            -> flag `claim-mismatch` (cause `formula-mismatch`), and
  the registry's tested LaTeX is written on the back (`extra`) beside what the notes wrote;
- unparseable / no counterpart         -> unchecked, only counted.

A formula may also declare essential parts (`Formula.essentials`): what every correct statement
shows but random points cannot test, such as an index set (k ≠ i) or the second half of a
symmetric loss. A written equation the part applies to, in an answer that nowhere shows it, gets
`claim-mismatch` (cause `formula-missing-part`) with the registry's formula on the back.

The counts go into one `info` diagnostic (`formula-verification`), shown by the build and on
the quality page. SymPy and the parser are imported only when a card has an equation.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from deckforge.diagnostics import Diagnostic
from deckforge.formula_verify import Verdict, Verifier
from deckforge.model import Card, KnowledgeGraph, _replace
from deckforge.passes.cards import verdict as tf_verdict

_MATH = re.compile(r"\$\$(?P<dd>.+?)\$\$|(?<![\\$\w])\$(?P<d>[^\s$](?:[^$]*?[^\s$\\])?)\$(?!\w)", re.S)
# Plain-text tokens: a LaTeX command, an identifier (`x_max`, `n_{layer}`, `CT_peak`), a
# number, space, or one character.
_TOKEN = re.compile(r"\\[a-zA-Z]+|[A-Za-z][A-Za-z0-9']*(?:_(?:\{[^{}\s]*\}|[A-Za-z0-9]+))*"
                    r"|\d+(?:\.\d+)?|\s+|.", re.S)
# What ends a run of math: clause punctuation, dashes between words, a sentence end.
_BREAK = re.compile(r"[:;?!—\"“”]|\s[-–]\s|\.(?=\s|$)|,(?=\s)")
_RELATION = re.compile(r"≈|\\approx(?![a-zA-Z])|(?<![<>!=\\])=(?!=)")
# Words that are prose even when short; longer words are prose unless applied (`softmax(`),
# subscripted, or a known function name.
_STOPWORDS = {"is", "of", "to", "by", "in", "if", "on", "or", "as", "at", "be", "we", "it", "an",
              "so", "the", "and", "for", "per", "are", "with", "where", "when", "then", "else"}
_FUNCTION_WORDS = {"exp", "log", "ln", "min", "max", "sin", "cos", "tan", "tanh", "sqrt", "mean",
                   "std", "var", "softmax", "round", "clip", "sign", "argmax", "argmin", "diag"}
# At most this many equations per card and formulas per equation are compared (a bound on the
# work one card can cause, never reached by notes written by hand).
MAX_EQUATIONS = 12
MAX_FORMULAS = 6


@dataclass(frozen=True)
class Written:
    """One run of math in an answer, as the notes wrote it (`shown`) and as LaTeX-ish text."""

    shown: str
    text: str
    math_only: bool


def _is_prose(word: str, after: str) -> bool:
    if not word[0].isalpha() or "_" in word or any(ch.isdigit() for ch in word):
        return False
    low = word.casefold()
    if low in _STOPWORDS:
        return True
    if low in _FUNCTION_WORDS or after.lstrip().startswith("("):
        return False
    return len(word) >= 3


def written_formulas(answer: str) -> list[Written]:
    """The runs of math in `answer` that hold a relation (see the module doc)."""
    pieces: list[tuple[str, int, int, bool]] = []  # (kind, start, end, math) in answer
    pos = 0
    for m in _MATH.finditer(answer):
        pieces += _plain_pieces(answer, pos, m.start())
        pieces.append(("math", m.start(), m.end(), True))
        pos = m.end()
    pieces += _plain_pieces(answer, pos, len(answer))
    runs, current = [], []
    for piece in pieces:
        if piece[0] == "break":
            runs.append(current)
            current = []
        else:
            current.append(piece)
    runs.append(current)
    out = []
    for run in runs:
        while run and run[0][0] == "space":
            run = run[1:]
        while run and run[-1][0] == "space":
            run = run[:-1]
        if not run:
            continue
        start, end = run[0][1], run[-1][2]
        shown = answer[start:end].strip()
        text = "".join(answer[a:b] if not is_math else " " + _inner(answer[a:b]) + " "
                       for _k, a, b, is_math in run)
        text = re.sub(r"^\s*(?:" + _RELATION.pattern + r")\s*|\s*(?:" + _RELATION.pattern + r")\s*$",
                      "", text.strip())
        if _RELATION.search(text) and _has_symbolic_side(text):
            out.append(Written(shown, text, all(k == "math" or k == "space" for k, *_ in run)))
    return out


def _inner(span: str) -> str:
    return span.strip("$")


def _has_symbolic_side(text: str) -> bool:
    """`h=8`, `N = 6`: a value, not a formula. A formula has a side past the first with a letter."""
    sides = _RELATION.split(text)
    return len(sides) >= 2 and all(s.strip() for s in sides) and any(
        re.search(r"[A-Za-z\\α-ωΑ-Ω]", s) for s in sides[1:])


def _plain_pieces(answer: str, start: int, end: int) -> list[tuple[str, int, int, bool]]:
    out = []
    text = answer[start:end]
    for m in _TOKEN.finditer(text):
        tok, a, b = m.group(), start + m.start(), start + m.end()
        if tok.isspace():
            kind = "break" if "\n" in tok else "space"
        elif _BREAK.match(text, m.start()) and (tok != "." or not text[m.end():m.end() + 1].isdigit()):
            kind = "break"
        elif tok[0].isalpha() and _is_prose(tok, text[m.end():]):
            kind = "break"
        else:
            kind = "plain"
        out.append((kind, a, b, False))
    return out


def _judge(verifier: Verifier, written: Written, formulas) -> list[Verdict]:
    """One verdict per equation of `written`: verified by any linked formula, else mismatched
    by the first whose left side it shares, else unchecked (unparseable before the rest)."""
    per_formula = [verifier.verify(written.text, f) for f in formulas[:MAX_FORMULAS]]
    out = []
    for i in range(max((len(v) for v in per_formula), default=0)):
        here = [v[i] for v in per_formula if i < len(v)]
        for status in ("verified", "mismatch"):
            found = [v for v in here if v.status == status]
            if found:
                out.append(found[0])
                break
        else:
            order = ("timeout", "too-large", "unparseable", "not-evaluable", "unmapped", "no-counterpart")
            out.append(min(here, key=lambda v: order.index(v.why) if v.why in order else len(order)))
    return out


def _checkable(card: Card) -> bool:
    if not card.formulas or card.has_flag("repaired") or not card.answer.strip():
        return False
    # A "False — …" explanation may restate the rejected statement.
    return not (card.kind == "true-false" and tf_verdict(card) == "False")


def _back(formula, written: Written) -> str:
    notes = f"${written.shown.strip('$')}$" if written.math_only else written.shown
    return (f"The registry's tested formula ({formula.name}): $${formula.latex}$$ "
            f"The notes wrote: {notes}")


def missing_parts(answer: str, written: list[Written], formula) -> list:
    """The essential parts of `formula` that a written equation is subject to and `answer`
    does not show (see the module doc)."""
    out = []
    for part in formula.essentials:
        if not any(all(re.search(p, w.text) for p in part.applies) for w in written):
            continue
        if not any(re.search(p, answer, re.IGNORECASE) for p in part.shows):
            out.append(part)
    return out


def verify_card(card: Card, verifier: Verifier, registry, counts: Counter) -> Card:
    if not _checkable(card):
        return card
    formulas = [f for f in (registry.formula(fid) for fid in card.formulas) if f is not None]
    if not formulas:
        return card
    verified, mismatched = {}, {}
    equations = written_formulas(card.answer)[:MAX_EQUATIONS]
    for written in equations:
        for v in _judge(verifier, written, formulas):
            counts["found"] += 1
            if v.status == "verified":
                counts["verified"] += 1
                verified.setdefault(v.formula, written)
            elif v.status == "mismatch":
                counts["mismatched"] += 1
                mismatched.setdefault(v.formula, written)
            elif v.why in ("unparseable", "too-large", "timeout"):
                counts["unparseable"] += 1
                if v.why != "unparseable":
                    counts[v.why] += 1
            else:
                counts["not comparable"] += 1
    extra = [card.extra] if card.extra.strip() else []
    for fid, written in mismatched.items():
        formula = registry.formula(fid)
        card = card.with_flag("claim-mismatch", (
            f"the answer's formula is not the registry's {formula.name} ({fid}): they differ at "
            "seeded random points; the registry's tested formula is shown on the back."),
            cause="formula-mismatch", formula=fid)
        extra.append(_back(formula, written))
    incomplete = {}
    for formula in formulas:
        missing = missing_parts(card.answer, equations, formula)
        if missing and formula.id not in mismatched:
            counts["missing part"] += 1
            incomplete[formula.id] = missing
            written = next(w for w in equations if all(re.search(p, w.text) for p in missing[0].applies))
            card = card.with_flag("claim-mismatch", (
                f"the answer writes the {formula.name} ({formula.id}) without "
                + "; ".join(m.part for m in missing)
                + "; the registry's tested formula is shown on the back."),
                cause="formula-missing-part", formula=formula.id)
            extra.append(_back(formula, written) + " It lacks " + "; ".join(m.part for m in missing) + ".")
    for fid in verified:
        if fid in mismatched or fid in incomplete:
            continue  # one of its equations is wrong: the card is not "verified"
        formula = registry.formula(fid)
        card = card.with_flag("verified", (
            f"the answer's formula equals the registry's {formula.name} ({fid}) at seeded random "
            "points."), cause="formula-verified", formula=fid)
    if mismatched or incomplete:
        card = _replace(card, extra="\n\n".join(extra))
    return card


def verify(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    verifier, counts = Verifier(), Counter()
    cards = tuple(verify_card(c, verifier, ctx.registry, counts) for c in graph.cards)
    graph = graph.replace(cards=cards)
    if not counts["found"]:
        return graph
    parsed = counts["found"] - counts["unparseable"]
    bounded = "".join(f", {counts[k]} {k}" for k in ("too-large", "timeout") if counts[k])
    where = ctx.config.relpath(ctx.config.sources_dir)
    return graph.warn(Diagnostic(
        str(where), 1, "formula-verification",
        f"answer formulas of cards linked to the registry: {counts['found']} found, {parsed} parsed "
        f"({counts['verified']} verified, {counts['mismatched']} mismatched, "
        f"{counts['not comparable']} not comparable), {counts['unparseable']} unparseable{bounded}; "
        f"{counts['missing part']} written without an essential part.",
        level="info"))
