"""compute: answer a worked exam question from its stem with the registry's own code.

A slide's "Example Question" gives a stem ("a standard Conv2D … input $B \\times C \\times H
\\times W$ … filters $M \\times C \\times 3 \\times 3$ … padding and stride of 1") and numbered
questions with no answer (the reader flags them needs-review and carries the stem as context).
When a snippet module declares a `Compute` for the quantity a question asks (`COMPUTE = [...]`
in snippets/, beside the formula and its code), this pass

1. reads the givens from the stem: shapes written as `$a \\times b \\times …$` after a role word
   ("input", "filters"), counts written "<number> <name>" ("128 filters") and scalars written
   "<name> … <number>" ("stride of 1"); a letter stays a symbol (SymPy), a number is a number;
2. derives what the declaration derives (the output size from the input size, kernel,
   stride and padding, with the snippet's own function);
3. calls the snippet function and writes the answer: the value, the registry LaTeX of the
   formula and every given, flagged `computed` (formula = the registry id).

A question that brings its own math ("if $p\\%$ of the filters are pruned …") changes the
setup: it is not computed. No declaration, or a missing given: the card keeps its
needs-review flag, now with cause `unanswered-question` so later passes leave it alone
(the repair pass must not answer "how many MACs?" with a formula's LaTeX).
Runs before repair.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace

from deckforge.asks import states_a_claim
from deckforge.model import Card, KnowledgeGraph, normalize_key
from deckforge.text.structure import MISSING_ANSWER

UNANSWERED = "unanswered-question"  # Flag.cause of a question the notes leave open
_ASKS_QUANTITY = re.compile(r"\b(how many|how much|what is the (?:number|total|size|count)|"
                            r"compute|calculate)\b", re.I)
_SHAPE = re.compile(r"\$(?P<dims>[^$]*?\\times[^$]*?)\$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_WORDS_AHEAD = 6  # a scalar's value follows its name within this many words ("padding size and stride of 1")
_MATH = re.compile(r"\$[^$]+\$")


@dataclass(frozen=True)
class Compute:
    """How a snippet function computes a registry formula from a question's givens.

    formula: the registry id; function: the name of the function in the formula's module.
    asks: phrases of a question that asks for this quantity.
    names: parameter -> the words a stem uses for it ("filters": ("filters", "weight filters")).
    shapes: role words -> the parameters its `a × b × …` dimensions bind, in order; a shorter
        shape binds the trailing ones ("filters of size 3 × 3" -> kernel, kernel).
    derived: parameter -> (function in the same module, its argument parameters).
    defaults: parameters a stem may leave out (stride 1, padding 0).
    """

    formula: str
    function: str
    asks: tuple[str, ...]
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    shapes: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    derived: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    defaults: dict[str, int] = field(default_factory=dict)
    derived_formula: str = ""  # registry id shown for the derived parameters


def compute(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    specs = _declarations(ctx.registry)
    cards = tuple(_card(c, specs, ctx.registry) for c in graph.cards)
    return graph.replace(cards=cards)


def _declarations(registry) -> list[tuple[Compute, object]]:
    """(Compute, its module) for every COMPUTE list of the registry's snippet modules."""
    out, seen = [], set()
    for formula in registry.formulas:
        # the name its registry layer imports it under (`deckforge_snippets.x` for built-in
        # formulas, wherever deckforge runs), never a `snippets` found on sys.path by chance
        origin = registry.origin(formula) if formula.module else None
        name = origin.module_name(formula) if origin is not None else _module_name(formula.module)
        if not name or name in seen:
            continue
        seen.add(name)
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        out.extend((spec, module) for spec in getattr(module, "COMPUTE", ()))
    return out


def _module_name(path: str) -> str:
    """'snippets/convolution.py' -> 'snippets.convolution'."""
    if not path.endswith(".py"):
        return path
    return path[:-3].replace("/", ".")


def _is_open_question(card: Card) -> bool:
    return bool(card.context) and card.unfinished and not card.answer.strip() and \
        card.kind == "basic"


def _card(card: Card, specs, registry) -> Card:
    if not _is_open_question(card):
        return card
    result = _answer(card, specs, registry)
    if result is None:
        if states_a_claim(card.question):
            return card  # a statement without its verdict, a bare label: the reader's cause stands
        # An open exam question is more than a missing answer: later passes must not fill it
        # with a formula's LaTeX (the cards pass set cause `missing-answer`).
        flags = tuple(replace(f, cause=UNANSWERED)
                      if f.name == "needs-review" and f.cause in (None, MISSING_ANSWER) else f
                      for f in card.flags)
        return replace(card, flags=flags)
    answer, spec, reason = result
    flags = tuple(f for f in card.flags if f.name != "needs-review")
    card = replace(card, answer=answer, flags=flags,
                   formulas=tuple(dict.fromkeys((spec.formula, *card.formulas))))
    return card.with_flag("computed", reason, cause="computed-from-stem", formula=spec.formula)


def _answer(card: Card, specs, registry):
    question = normalize_key(card.question)
    if not _ASKS_QUANTITY.search(card.question) or _MATH.search(card.question):
        return None  # asks no quantity, or brings its own math (the setup changes)
    for spec, module in specs:
        if not any(normalize_key(a) in question for a in spec.asks):
            continue
        givens = _givens(card.context, spec)
        if givens is None:
            continue
        try:
            value = _evaluate(spec, module, givens)
        except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
            continue
        if value is None:
            continue
        return _write(spec, registry, givens, value)
    return None


# ---------------------------------------------------------------- the stem's givens
def _symbol(token: str):
    token = token.strip().strip("{}")
    if _NUMBER.match(token):
        return int(token) if "." not in token else float(token)
    if re.fullmatch(r"[A-Za-z]", token):
        import sympy

        return sympy.Symbol(token, positive=True, integer=True)
    return None


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.;])\s+", text) if s.strip()]


def _givens(stem: str, spec: Compute) -> dict | None:
    givens: dict = {}
    for sentence in _sentences(stem):
        lower = sentence.lower()
        for match in _SHAPE.finditer(sentence):
            dims = [_symbol(d) for d in re.split(r"\\times", match.group("dims"))]
            if any(d is None for d in dims):
                continue
            before = lower[: match.start()]
            role = max(((before.rfind(word), params) for words, params in spec.shapes.items()
                        for word in words if before.rfind(word) >= 0), default=None,
                       key=lambda r: r[0])
            if role is None:
                continue
            params = role[1][-len(dims):] if len(dims) <= len(role[1]) else None
            if params is None:
                continue
            for param, dim in zip(params, dims, strict=True):
                if givens.setdefault(param, dim) != dim:
                    return None  # the stem disagrees with itself
        plain = _MATH.sub(" ", lower)
        for param, names in spec.names.items():
            for name in names:
                count = re.search(rf"\b(\d+)\s+{re.escape(name)}\b", plain)
                ahead = re.search(rf"\b{re.escape(name)}\b((?:\W+\w+){{0,{_WORDS_AHEAD}}})", plain)
                value = None
                if count:
                    value = int(count.group(1))
                elif ahead:
                    number = re.search(r"\b(\d+)\b", ahead.group(1))
                    value = int(number.group(1)) if number else None
                if value is not None:
                    givens.setdefault(param, value)
                    break
    for param, default in spec.defaults.items():
        givens.setdefault(param, default)
    return givens


def _evaluate(spec: Compute, module, givens: dict):
    values = dict(givens)
    for param, (function, args) in spec.derived.items():
        if param in values:
            continue
        if any(a not in values for a in args):
            return None
        values[param] = getattr(module, function)(*(values[a] for a in args))
    function = getattr(module, spec.function)
    import inspect

    wanted = [p for p in inspect.signature(function).parameters.values()
              if p.default is inspect.Parameter.empty]
    if any(p.name not in values for p in wanted):
        return None
    kwargs = {p: values[p] for p in inspect.signature(function).parameters if p in values}
    givens.update({k: v for k, v in values.items() if k in spec.derived})
    return function(**kwargs)


def _write(spec: Compute, registry, givens: dict, value) -> tuple[str, Compute, str]:
    import sympy

    formula = registry.formula(spec.formula)
    if isinstance(value, sympy.Expr) and not value.is_number:
        shown = f"${sympy.latex(sympy.factor(value))}$"
    else:
        number = int(value) if float(value).is_integer() else float(value)
        shown = f"{number:,}"
    given = ", ".join(f"{k} = {_show(v)}" for k, v in givens.items())
    lines = [f"**{shown}**", "", f"$${formula.latex}$$" if formula else "", f"with {given}."]
    derived = registry.formula(spec.derived_formula) if spec.derived_formula else None
    if derived and spec.derived:
        names = ", ".join(spec.derived)
        lines += ["", f"{names} from $${derived.latex}$$"]
    reason = (f"computed by `{spec.function}` of the registry formula `{spec.formula}` from the "
              f"givens of the question's stem ({given})")
    return "\n".join(lines).strip(), spec, reason


def _show(value) -> str:
    import sympy

    if isinstance(value, sympy.Basic):
        return f"${sympy.latex(value)}$"
    return f"{value:,}" if isinstance(value, int) else str(value)


__all__ = ["Compute", "UNANSWERED", "compute"]
