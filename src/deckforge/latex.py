"""LaTeX validation: every math span in the graph must parse, or the deck shows raw TeX.

Spans are `$$…$$`, `$…$`, `\\(…\\)` and `\\[…\\]`. Each is parsed with pylatexenc in strict mode
(unbalanced braces, mismatched `\\begin`/`\\end`), and checked for what MathJax rejects but a
LaTeX parser accepts: unknown environments and `\\left` without `\\right`. An odd `$` is
reported as unmatched. Findings are Diagnostics with code `invalid-latex`, level error,
anchored at the card's first source line (or the formula's module for registry LaTeX).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pylatexenc.latexwalker import (
    LatexEnvironmentNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexWalker,
    LatexWalkerParseError,
)

from deckforge.diagnostics import Diagnostic
from deckforge.model import Card, Formula, KnowledgeGraph

# Environments MathJax 3 (ams + base) typesets; anything else is an error there.
KNOWN_ENVIRONMENTS = frozenset(
    """matrix pmatrix bmatrix Bmatrix vmatrix Vmatrix smallmatrix array subarray cases
    aligned alignedat gathered split align align* alignat alignat* gather gather* equation
    equation* eqnarray eqnarray* multline multline* rcases dcases CD""".split()
)

# `\(…\)`, `\[…\]`, `$$…$$`, `$…$`, in that order of preference at each position. `\$` is a
# literal dollar, not a delimiter.
_SPAN = re.compile(
    r"\\\((?P<paren>.*?)\\\)"
    r"|\\\[(?P<bracket>.*?)\\\]"
    r"|(?<!\\)\$\$(?P<display>.*?)(?<!\\)\$\$"
    r"|(?<!\\)\$(?P<inline>[^$]*?)(?<!\\)\$",
    re.S,
)
_LONE_DOLLAR = re.compile(r"(?<!\\)\$")


MAX_SPAN = 5000  # longer "formulas" are a delimiter left open, not math; never parsed


@dataclass(frozen=True)
class MathSpan:
    text: str  # the content between the delimiters
    start: int  # offset of the opening delimiter in the field
    delimiter: str  # "$", "$$", "\\(", "\\["


@dataclass(frozen=True)
class LatexProblem:
    message: str
    offset: int = 0  # offset in the field where the problem is


def math_spans(text: str) -> tuple[list[MathSpan], list[LatexProblem]]:
    """The math spans of a Markdown field, and any `$` left without a partner."""
    spans, problems, last = [], [], 0
    for m in _SPAN.finditer(text):
        problems.extend(_lone_dollars(text, last, m.start()))
        kind = m.lastgroup
        delim = {"paren": "\\(", "bracket": "\\[", "display": "$$", "inline": "$"}[kind]
        spans.append(MathSpan(m.group(kind), m.start(), delim))
        last = m.end()
    problems.extend(_lone_dollars(text, last, len(text)))
    return spans, problems


def _lone_dollars(text: str, start: int, end: int) -> Iterator[LatexProblem]:
    for m in _LONE_DOLLAR.finditer(text, start, end):
        yield LatexProblem("unmatched `$`: close the math span or write `\\$` for a dollar sign",
                           m.start())


def _simple_and_balanced(tex: str) -> bool:
    """True when pylatexenc could find nothing: no environments or optional arguments, every
    brace closed in order, no command left waiting for its argument at the end. Most spans
    are like this, and pylatexenc costs ~1 ms a span (100k cards)."""
    if "\\begin" in tex or "\\end" in tex or "[" in tex and "\\sqrt" in tex:
        return False
    if re.search(r"\\[a-zA-Z]*\s*$|\\\\\s*$", tex):
        return False
    depth, i = 0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "%":
            return False  # a comment: let the parser decide what it hides
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
        i += 1
    return depth == 0


def check_math(tex: str) -> list[LatexProblem]:
    """Problems in one piece of math-mode LaTeX (no delimiters)."""
    problems = [] if _simple_and_balanced(tex) else _parse_problems(tex)
    lefts, rights = len(re.findall(r"\\left(?![a-zA-Z])", tex)), len(re.findall(r"\\right(?![a-zA-Z])", tex))
    if lefts != rights:
        problems.append(LatexProblem(f"{lefts} `\\left` but {rights} `\\right`: every `\\left` needs a `\\right`"))
    return problems


def _parse_problems(tex: str) -> list[LatexProblem]:
    walker = LatexWalker(tex, tolerant_parsing=False)
    try:
        nodes, _, _ = walker.get_latex_nodes(pos=0, parsing_state=walker.make_parsing_state(in_math_mode=True))
    except LatexWalkerParseError as err:
        return [LatexProblem(_first_line(err), getattr(err, "pos", 0) or 0)]
    return [
        LatexProblem(f"unknown environment `{env.environmentname}` (MathJax cannot typeset it)", env.pos)
        for env in _environments(nodes)
        if env.environmentname not in KNOWN_ENVIRONMENTS
    ]


def check_field(text: str) -> list[LatexProblem]:
    """Problems in a Markdown field with `$…$`-style math spans; offsets are into `text`."""
    if "$" not in text and "\\" not in text:
        return []  # no delimiter at all: nothing to parse (most fields)
    spans, problems = math_spans(text)
    for span in spans:
        inner_offset = span.start + len(span.delimiter)
        if len(span.text) > MAX_SPAN:
            problems.append(LatexProblem(f"a {len(span.text):,}-character math span: probably a `$` "
                                         "left open far above; close it", span.start))
            continue
        problems.extend(
            LatexProblem(p.message, inner_offset + p.offset) for p in check_math(span.text)
        )
    return sorted(problems, key=lambda p: p.offset)


def _environments(nodes) -> Iterator[LatexEnvironmentNode]:
    for node in nodes or ():
        if isinstance(node, LatexEnvironmentNode):
            yield node
        children = getattr(node, "nodelist", None)
        if isinstance(node, (LatexEnvironmentNode, LatexGroupNode)) and children:
            yield from _environments(children)
        if isinstance(node, LatexMacroNode) and node.nodeargd is not None:
            yield from _environments([a for a in node.nodeargd.argnlist if a is not None])


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return re.sub(r"\s*@\s*\(\d+,\s*\d+\)\s*$", "", text)


# Graph-level validation ----------------------------------------------------------------------

CARD_FIELDS = ("question", "answer", "extra")


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset)


def card_diagnostics(card: Card) -> Iterator[Diagnostic]:
    src = card.sources[0] if card.sources else None
    path, line = (src.path, src.line) if src else ("<graph>", 1)
    fields = [(name, getattr(card, name)) for name in CARD_FIELDS]
    fields += [(f"option {i + 1}", opt) for i, opt in enumerate(card.options)]
    for name, text in fields:
        for problem in check_field(text or ""):
            # Questions sit on the card's first line; answers of multi-line items may not, so
            # point at the line inside the item where we can (never past its last line).
            extra = _line_of(text, problem.offset) if name == "question" else 0
            at = min(line + extra, src.end_line) if src else line
            yield Diagnostic(path, at, "invalid-latex",
                             f"{name} of {_quote(card.question)}: {problem.message}; "
                             "fix the LaTeX in the note.", level="error")


def declaration_line(root: Path | None, formula: Formula, registry=None) -> int:
    """The line of the snippet module that declares the formula's id (1 when unknown)."""
    path = (registry.source_file(formula, root) if registry is not None
            else (root / formula.module if root is not None and formula.module else None))
    if path is None:
        return 1
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError:
        return 1
    quoted = (f'"{formula.id}"', f"'{formula.id}'")
    return next((i for i, line in enumerate(lines, 1) if any(q in line for q in quoted)), 1)


def formula_diagnostics(formula: Formula, root: Path | None = None, registry=None
                        ) -> Iterator[Diagnostic]:
    for problem in check_math(formula.latex):
        yield Diagnostic(formula.module or "snippets", declaration_line(root, formula, registry),
                         "invalid-latex",
                         f"registry formula `{formula.id}`: {problem.message}; fix its `latex`.",
                         level="error")


def graph_diagnostics(graph: KnowledgeGraph, root: Path | None = None, registry=None
                      ) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for card in graph.cards:
        diags.extend(card_diagnostics(card))
    for formula in graph.formulas:
        diags.extend(formula_diagnostics(formula, root, registry))
    return _unique(diags)


def _unique(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diags))


def _quote(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return f'"{text[: limit - 1]}…"' if len(text) > limit else f'"{text}"'
