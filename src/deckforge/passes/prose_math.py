"""prose_math: roots and exponents that copying lost from math written in prose.

Exports from slides and PDFs drop what was drawn as a radical or a superscript: "dividing by
√d_k" becomes "dividing by dk", "O(N²·d)" becomes "O(N2·d)". Such a sentence teaches a wrong
fact, and nothing in the sentence alone says what was lost. The card's linked registry formula
does: its LaTeX shows which symbols stand under a root and which carry an exponent.

- A symbol that an operation is applied to in prose ("divided / multiplied / scaled /
  normalized by X") is written `√X` when every linked formula that has X has it only under a
  root (`\\sqrt{X}` alone, never bare): the reading is unambiguous. Flag `repaired`, cause
  `prose-math`, formula = that formula. A linked formula having X both ways: `needs-review`.
- Inside `O(…)`, a letter glued to a digit ("N2", "d2") is `N^2` when a linked formula has that
  letter with that exponent; otherwise the glued form is flagged `needs-review` (the exponent
  was probably lost, and nothing says which).

The evidence is the registry's LaTeX, never a list of sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from deckforge.model import Card, Formula, KnowledgeGraph, _replace

CAUSE = "prose-math"

# -- evidence from a formula's LaTeX --------------------------------------------------------------

_SYMBOL_TEX = re.compile(r"(?<![\\A-Za-z])([A-Za-z])(?:_(\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9]))?")


def symbol_key(text: str) -> str:
    """`d_{\\text{model}}`, `d_model`, `dmodel`, `$d_k$` -> `dmodel` / `dk`: one spelling."""
    text = re.sub(r"\\(?:text|mathrm|mathit|operatorname)\b", "", text)
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _braced(tex: str, start: int) -> tuple[str, int] | None:
    """The content of the {…} group opening at tex[start], and the index after it."""
    if start >= len(tex) or tex[start] != "{":
        return None
    depth = 0
    for i in range(start, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[i], 0)
        if depth == 0:
            return tex[start + 1:i], i + 1
    return None


@dataclass
class Evidence:
    rooted: dict[str, str] = field(default_factory=dict)  # key -> the symbol's LaTeX, alone under a root
    bare: set[str] = field(default_factory=set)  # keys that appear outside any root
    powers: set[tuple[str, str]] = field(default_factory=set)  # (lowercase letter key, exponent)
    letters: set[str] = field(default_factory=set)


def evidence(formula: Formula) -> Evidence:
    tex = formula.latex
    ev = Evidence()
    outside = []
    pos = 0
    for m in re.finditer(r"\\sqrt\s*", tex):
        if m.start() < pos:
            continue
        group = _braced(tex, m.end())
        if group is None:
            continue
        inner, end = group
        outside.append(tex[pos:m.start()])
        pos = end
        if _SYMBOL_TEX.fullmatch(inner.strip()):
            ev.rooted[symbol_key(inner)] = inner.strip()
    outside.append(tex[pos:])
    rest = " ".join(outside)
    rest_no_cmds = re.sub(r"\\[A-Za-z]+", " ", rest)
    for m in _SYMBOL_TEX.finditer(rest_no_cmds):
        ev.bare.add(symbol_key(m.group(0)))
    plain_tex = re.sub(r"\\[A-Za-z]+", " ", tex)
    for m in re.finditer(r"(?<![A-Za-z])([A-Za-z])(?:_\{?[A-Za-z0-9]+\}?)?\s*\^\s*\{?(\d)\}?", plain_tex):
        ev.powers.add((m.group(1).lower(), m.group(2)))
    ev.letters = {m.group(1).lower() for m in re.finditer(r"(?<![A-Za-z])([A-Za-z])(?![A-Za-z])", plain_tex)}
    return ev


# -- finding lost math in a card's text ------------------------------------------------------------

_OPERATION = re.compile(
    r"\b(?P<op>divid(?:e|es|ed|ing)|multipl(?:y|ies|ied|ying)|scal(?:e|es|ed|ing)|normali[sz](?:e|es|ed|ing))"
    r"(?:\s+[\w-]+){0,4}?\s+by\s+(?P<sym>\$[^$\s]{1,30}\$|[A-Za-z](?:_?\{?[A-Za-z]{1,8}\}?)?)(?![\w{])",
    re.I)
_BIG_O = re.compile(r"\bO\(([^()$]{1,40})\)")
_GLUED = re.compile(r"(?<![A-Za-z0-9_^])([A-Za-z])(\d)(?![\w])")


def _in_math(text: str, pos: int) -> bool:
    return text.count("$", 0, pos) % 2 == 1


@dataclass
class Finding:
    repaired: str  # the new text
    flags: list[tuple[str, str, str]]  # (flag name, reason, formula id)


def repair_text(text: str, formulas: list[Formula]) -> Finding:
    evs = [(f, evidence(f)) for f in formulas]
    flags: list[tuple[str, str, str]] = []
    out = text

    def root(m: re.Match) -> str:
        sym = m.group("sym")
        key = symbol_key(sym)
        if len(key) < 2 or _in_math(m.string, m.start("sym")) and not sym.startswith("$"):
            return m.group(0)
        rooted = [(f, ev.rooted[key]) for f, ev in evs if key in ev.rooted]
        if not rooted:
            return m.group(0)
        both = [f for f, ev in evs if key in ev.rooted and key in ev.bare]
        if both:
            flags.append(("needs-review", f"'{m.group(0)}': {both[0].name} ({both[0].id}) has {sym.strip('$')} "
                          "both under a root and bare, so a lost √ cannot be told apart", both[0].id))
            return m.group(0)
        formula, tex = rooted[0]
        new = m.group(0)[:m.start("sym") - m.start()] + f"$\\sqrt{{{tex}}}$"
        flags.append(("repaired", f"'{m.group(0)}' read as '{new}': the √ was lost in the prose; "
                      f"{formula.name} ({formula.id}) has √{tex}", formula.id))
        return new

    out = _OPERATION.sub(root, out)

    def big_o(m: re.Match) -> str:
        inner = m.group(1)
        glued = list(_GLUED.finditer(inner))
        if not glued:
            return m.group(0)
        found = []
        for g in glued:
            letter, power = g.group(1).lower(), g.group(2)
            source = next((f for f, ev in evs if (letter, power) in ev.powers), None)
            found.append((g, source))
        missing = [g.group(0) for g, src in found if src is None]
        if missing:
            why = (f"no linked formula has {', '.join(g[0] + '^' + g[1] for g in missing)}" if formulas
                   else "the card has no linked formula to tell")
            flags.append(("needs-review", f"'{m.group(0)}' looks like a lost exponent ({', '.join(missing)}): "
                          f"{why}", ""))
            return m.group(0)
        new_inner = _GLUED.sub(lambda g: f"{g.group(1)}^{g.group(2)}", inner)
        formula = found[0][1]
        if _in_math(m.string, m.start()):
            new = f"O({new_inner})"
        else:
            new = "$O(" + re.sub(r"\s*[·⋅]\s*", r" \\cdot ", new_inner) + ")$"
        flags.append(("repaired", f"'{m.group(0)}' read as '{new}': the exponent was lost; "
                      f"{formula.name} ({formula.id}) has it", formula.id))
        return new

    out = _BIG_O.sub(big_o, out)
    return Finding(out, flags)


def repair_card(card: Card, registry) -> Card:
    formulas = [f for f in (registry.formula(i) for i in card.formulas) if f is not None]
    changed = {}
    all_flags = []
    for name in ("question", "answer"):
        text = getattr(card, name)
        if not text:
            continue
        found = repair_text(text, formulas)
        if found.repaired != text:
            changed[name] = found.repaired
        all_flags.extend(found.flags)
    if changed:
        card = _replace(card, **changed)
    for flag, reason, formula in all_flags:
        card = card.with_flag(flag, reason, cause=CAUSE, formula=formula)
    if all_flags:  # link tagged the flags it saw; this pass runs after it
        tags = set(card.tags) | {f"flag::{name}" for name, _r, _f in all_flags}
        card = _replace(card, tags=tuple(sorted(tags)))
    return card


def prose_math(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    registry = ctx.registry
    return graph.replace(cards=tuple(repair_card(c, registry) for c in graph.cards))
