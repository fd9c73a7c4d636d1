"""check: claims in the notes evaluated by the registry's own code; LaTeX validated.

The engine knows a few claim TEMPLATES, and nothing about any one formula:

- ratio / "k× more/less": a variable changes (`3→2`, `by 2 bits`, `from 4 to 8`, `doubling`)
  and the quantity is said to change by a factor (`halves`, `2× more`, `×0.25`);
- trend: the quantity rises or falls as a variable rises or falls (`increases as N increases`,
  `moves right if BW decreases`, `deeper layer … kept longer`); also `depends on` /
  `independent of`, and `<variable> can prevent <quantity>`;
- identity: the quantity equals an expression (`saves V·d`, `= d_model/h = 512/8 = 64`, `n×n`);
- value mapping: `w = [x, …] → [y, …]`;
- normalizes by: `<operation> normalizes by the <std | largest | sum | RMS | norm>`.

What a phrase means (which quantity, which snippet function, which argument) is declared by the
snippet modules as `CLAIMS` (deckforge.claims) and collected by the registry. The evaluator calls
the snippet code (never a re-derivation here) and says whether the claim holds, with the computed
values. The card's own verdict (True/False for quiz items; a plain answer asserts its statement;
each side of a dedupe conflict, read from the flag's `sides`) is compared with it:

- the code contradicts the notes -> flag `claim-mismatch`, reason with the computed values;
- the code confirms them        -> an entry in `card.verified`.

A claim whose snippet function is missing is skipped: unchecked, not judged. Afterwards every
math span in the graph is validated (deckforge.latex).
"""

from __future__ import annotations

import functools
import importlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deckforge import latex
from deckforge.claims import Mapping, Normalizes, Quantity, Var
from deckforge.diagnostics import Diagnostic
from deckforge.model import Card, KnowledgeGraph, _replace
from deckforge.passes.cards import verdict
from deckforge.registry import Registry
from deckforge.text.structure import STATEMENT_MISSING


@dataclass(frozen=True)
class Verdict:
    holds: bool  # does the statement hold, according to the code?
    detail: str  # the computed values, in words


class Snippets:
    """Access to snippet functions by formula id (module from the registry)."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.cache: dict = {}

    def fn(self, formula_id: str, name: str) -> Callable:
        key = (formula_id, name)
        if key not in self.cache:
            self.cache[key] = self._lookup(formula_id, name)
        return self.cache[key]

    def _lookup(self, formula_id: str, name: str) -> Callable:
        formula = self.registry.formula(formula_id)
        if formula is None or not formula.module:
            raise LookupError(f"formula {formula_id} is not in the registry")
        origin = self.registry.origin(formula)
        module_name = (origin.module_name(formula) if origin is not None
                       else Path(formula.module).with_suffix("").as_posix().replace("/", "."))
        module = self.cache.get(module_name) or importlib.import_module(module_name)
        self.cache[module_name] = module
        func = getattr(module, name, None)
        if func is None:
            raise LookupError(f"{formula.module} has no {name}()")
        return func


@dataclass
class RuleContext:
    snippets: Snippets
    graph: KnowledgeGraph
    memo: dict = field(default_factory=dict)

    @property
    def claims(self) -> tuple:
        return getattr(self.snippets.registry, "claims", ())

    @functools.cached_property
    def any_phrase(self) -> re.Pattern:
        """Every claim's phrases in one pattern (value mappings are found by their "[")."""
        phrases = [p for c in self.claims if not isinstance(c, Mapping) for p in c.phrases]
        return _rx(phrases or [r"(?!)"])


@dataclass(frozen=True)
class Found:
    """One claim found in a card: the template that read it and its verdict."""

    template: str
    formula: str
    verdict: Verdict


def _fmt(x: float) -> str:
    if isinstance(x, tuple):
        return "×".join(_fmt(v) for v in x)
    if abs(x - round(x)) < 1e-9 and abs(x) < 1e15:
        return f"{int(round(x)):,}" if abs(x) >= 10_000 else str(int(round(x)))
    return f"{x:.4g}"


# -- plain text ------------------------------------------------------------------------------

_PLAIN = [(r"\\times(?![a-zA-Z])", "×"), (r"\\cdot(?![a-zA-Z])", "·"), (r"⋅", "·"),
          (r"\\(?:to|rightarrow)(?![a-zA-Z])", "→"), (r"->|⇒|=>", lambda m: "→" if m.group() == "->" else "⇒"),
          (r"\\alpha(?![a-zA-Z])", "α"), (r"\\top(?![a-zA-Z])", "T"), (r"\\text\{([^}]*)\}", r"\1"),
          (r"\{\{c\d+::(.*?)(?:::[^}]*)?\}\}", r"\1"), (r"(?<!\\)\$", ""), (r"[−–]", "-"),
          (r"\b([a-zA-Z0-9])x([a-zA-Z0-9])\b", r"\1×\2"),  # "nxn", "3x3": a shape, not a word
          (r"[ \t]+", " ")]
_PLAIN = [(re.compile(p), r) for p, r in _PLAIN]


def plain(text: str) -> str:
    """Claims are read as plain text: the normalize pass writes `3×3` as `$3 \\times 3$`."""
    for pattern, repl in _PLAIN:
        text = pattern.sub(repl, text)
    return text


_VERDICT_LEAD = re.compile(r"^\s*(?:true|false)\b[\s.—–:-]*", re.I)


def claim_text(card: Card) -> str:
    """Where the card's statement is: the question after the quiz's shared stem (its setup:
    "stride 3 → 2", "n tokens"), or for a quiz item whose statement is missing (a bare label)
    the explanation after its True/False."""
    question = card.question.strip()
    if any(card.has_cause(c) for c in STATEMENT_MISSING) or (
            card.label and question.casefold() == card.label.casefold()):
        return plain(_VERDICT_LEAD.sub("", card.answer))
    stated = f"{card.context}\n{question}" if card.context else question
    return plain(stated if card.kind == "true-false" else f"{stated}\n{card.answer}")


def explanation(card: Card) -> str:
    """The text after a True/False verdict: the notes' own reasoning, asserted as true."""
    return plain(_VERDICT_LEAD.sub("", card.answer)) if verdict(card) else ""


_SENTENCE = re.compile(r"\n|;\s|(?<=[.!?])\s+(?=[A-Z\"'(])|(?<=[a-z)])\.\s*$")


def sentences(text: str) -> list[str]:
    return [s.strip(" .\"'“”") for s in _SENTENCE.split(text) if s and s.strip(" .\"'“”")]


# -- phrases and cues --------------------------------------------------------------------------

def _rx(phrases) -> re.Pattern:
    return _compiled(tuple(phrases))


@functools.lru_cache(maxsize=1024)
def _compiled(phrases: tuple[str, ...]) -> re.Pattern:
    alts = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(alts) + r")(?![\w])", re.I)


_UP = (r"increase[sd]?|increasing|grows?|growing|grown|rises?|rising|larger|bigger|more|higher|longer|"
       r"raises?|raising|deeper|later|moves? right|go(?:es)? up")
_DOWN = (r"decrease[sd]?|decreasing|shrinks?|shrinking|falls?|falling|smaller|fewer|less|lower|shorter|"
         r"reduces?|reduced|reducing|lowers|cuts?|earlier|shallower|moves? left|go(?:es)? down|drops?")
_HALF = r"halves|halve|halved|halving"
_DOUBLE = r"doubles|double|doubled|doubling"
_QUARTER = r"quarters|quartered|quartering"
# Words that modify the phrase AFTER them ("increasing N", "deeper layers", "4× more ops").
_PREFIX = re.compile(r"^(?:\w+ing|larger|bigger|more|higher|longer|deeper|later|smaller|fewer|less|lower|"
                     r"shorter|earlier|shallower)$")
# Verbs that may take the phrase after them as an object ("reduces swamping", "halves the ridge").
_TRANSITIVE = re.compile(r"^(?:increases?|reduces?|raises?|lowers|cuts?|halves|doubles|decreases?|"
                         r"shrinks?|triples)$")
_NUM = r"(\d+(?:\.\d+)?)"
_CUE = re.compile(
    rf"(?P<not>\bnot\s+)?(?:"
    rf"(?:~|≈|about\s+|roughly\s+)?{_NUM}\s*[×x]\s*(?P<kdir>more|fewer|less|larger|smaller|bigger|higher|lower|faster|slower)\b"
    rf"|(?P<half>\b(?:{_HALF})\b)|(?P<double>\b(?:{_DOUBLE})\b)|(?P<quarter>\b(?:{_QUARTER})\b)"
    rf"|\b(?P<triple>triples|tripled|tripling)\b"
    rf"|(?P<up>\b(?:{_UP})\b)(?:\s+(?:by\s+)?(?:~|≈|about\s+|roughly\s+)?{_NUM}\s*[×x](?![\w]))?"
    rf"|(?P<down>\b(?:{_DOWN})\b)(?:\s+(?:by\s+)?(?:~|≈|about\s+|roughly\s+)?{_NUM}\s*[×x](?![\w]))?"
    rf"|(?:×|\bx)\s*{_NUM}(?![\w.])|\bto\s+(?:about\s+|roughly\s+)?(?P<frac>a\s+quarter|a\s+half|half|an?\s+eighth)\b"
    rf")", re.I)
_FRACTIONS = {"a quarter": 0.25, "a half": 0.5, "half": 0.5, "an eighth": 0.125, "a eighth": 0.125}
# Where a clause ends: a cue never reaches across these.
_BOUNDARY = re.compile(r"[,;:—⇒]|\s(?:as|if|when|while|than|so|because|whereas|but)\s|\s-\s", re.I)


@dataclass
class Cue:
    start: int
    end: int
    sign: int  # +1 up, -1 down, 0 a bare factor
    factor: float | None  # a multiplicative factor, when the cue states one
    word: str


def cues(text: str) -> list[Cue]:
    found = []
    for m in _CUE.finditer(text):
        if m.group("not"):
            continue  # "halves, not quarters": the negated cue is not the claim
        nums = [g for g in m.groups() if g and re.fullmatch(r"\d+(?:\.\d+)?", g)]
        k = float(nums[0]) if nums else None
        word = m.group(0).strip().lower()
        if m.group("kdir"):
            up = m.group("kdir").lower() in ("more", "larger", "bigger", "higher", "faster")
            found.append(Cue(m.start(), m.end(), 1 if up else -1, k if up else 1 / k, word))
        elif m.group("half"):
            found.append(Cue(m.start(), m.end(), -1, 0.5, word))
        elif m.group("double"):
            found.append(Cue(m.start(), m.end(), 1, 2.0, word))
        elif m.group("quarter"):
            found.append(Cue(m.start(), m.end(), -1, 0.25, word))
        elif m.group("triple"):
            found.append(Cue(m.start(), m.end(), 1, 3.0, word))
        elif m.group("up"):
            found.append(Cue(m.start(), m.end(), 1, k, word))
        elif m.group("down"):
            found.append(Cue(m.start(), m.end(), -1, 1 / k if k else None, word))
        elif m.group("frac"):
            found.append(Cue(m.start(), m.end(), -1, _FRACTIONS[re.sub(r"\s+", " ", m.group("frac").lower())], word))
        elif k is not None:
            found.append(Cue(m.start(), m.end(), 0, k, word))
    return found


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause holding text[start:end]: from the boundary before it to the one after."""
    left = max((m.end() for m in _BOUNDARY.finditer(text, 0, start)), default=0)
    right = next((m.start() for m in _BOUNDARY.finditer(text, end)), len(text))
    return left, right


@dataclass
class Mention:
    """A phrase of a quantity ("q") or of a variable (its arg) found in a sentence."""

    who: str
    start: int
    end: int
    sign: int = 0
    factor: float | None = None
    change: tuple[float, float] | None = None  # (old, new) values written beside it
    delta: float | None = None  # "by 2 bits"


def attach(text: str, mentions: list[Mention], found: list[Cue]) -> None:
    """Give each cue to the phrase it is about: a modifier ("increasing N", "4× more ops") or a
    transitive verb ("reduces swamping") to the phrase right after it, else a verb to the
    nearest phrase before it in its clause; a clause with none ("it shrinks") speaks of the
    quantity."""
    for cue in found:
        first_word = cue.word.split()[0].lstrip("~≈")
        after = [m for m in mentions if 0 <= m.start - cue.end <= 25 and
                 not _BOUNDARY.search(text, cue.end, m.start)]
        after = [m for m in after if re.fullmatch(r"[\s\w/'-]*", text[cue.end:m.start])]
        target = None
        if after and (_PREFIX.match(first_word) or _TRANSITIVE.match(first_word) or cue.word[0].isdigit()
                      or re.match(r"[~≈]|about|roughly", cue.word)):
            target = min(after, key=lambda m: m.start)
        if target is None:
            left, _right = _clause(text, cue.start, cue.end)
            before = [m for m in mentions if left <= m.start and m.end <= cue.start]
            if before:
                target = max(before, key=lambda m: m.end)
            elif not after or not (left <= after[0].start):
                target = next((m for m in mentions if m.who == "q"), None)
        if target is None:
            continue
        if target.sign == 0 and cue.sign:
            target.sign = cue.sign
        if target.factor is None and cue.factor is not None:
            target.factor = cue.factor
            if not target.sign:
                target.sign = 1 if cue.factor > 1 else -1


_CHANGE_AFTER = re.compile(rf"^\s*(?:=\s*)?{_NUM}\s*→\s*{_NUM}")
_CHANGE_BEFORE = re.compile(rf"{_NUM}\s*(?:\w+\s*)?→\s*{_NUM}\s*(?:\w+\s*)?$")
_FROM_TO = re.compile(rf"from\s+{_NUM}\s*(?:[\w-]+\s+)?to\s+{_NUM}", re.I)
_DELTA = re.compile(rf"(?:\bby\s+|\badding\s+|\+\s*){_NUM}\s*$|^\s*by\s+{_NUM}|^\s*\+\s*{_NUM}", re.I)


def read_change(text: str, m: Mention) -> None:
    """The values written beside a variable: `stride 3→2`, `8 → 10 bits`, `from 4 bits to 8 bits`,
    `by 2 bits`, `adding 1 bit`."""
    after, before = text[m.end:m.end + 20], text[max(0, m.start - 24):m.start]
    hit = _CHANGE_AFTER.match(after) or _CHANGE_BEFORE.search(before)
    if hit:
        m.change = (float(hit.group(1)), float(hit.group(2)))
        return
    around = text[max(0, m.start - 30):m.end + 30]
    hit = _FROM_TO.search(around)
    if hit:
        m.change = (float(hit.group(1)), float(hit.group(2)))
        return
    hit = _DELTA.search(before) or _DELTA.search(after)
    if hit:
        m.delta = float(next(g for g in hit.groups() if g))


# -- evaluating a quantity ----------------------------------------------------------------------

def _call(q: Quantity, fn: Callable, values: dict) -> tuple:
    args = dict(q.fixed)
    for var in q.variables:
        args.setdefault(var.arg, var.base if var.base is not None else var.low)
    args.update(values)
    args = {k: (int(round(v)) if _var(q, k) is not None and _var(q, k).integer and float(v).is_integer()
                else v) for k, v in args.items()}
    out = fn(**args)
    if q.output:
        return tuple(float(out[k]) for k in q.output)
    if isinstance(out, tuple | list) and not isinstance(out, str):
        return (tuple(float(v) for v in out),)
    return (float(out),)


def _var(q: Quantity, arg: str) -> Var | None:
    return next((v for v in q.variables if v.arg == arg), None)


def _args_text(q: Quantity, values: dict) -> str:
    shown = {v.arg: values.get(v.arg, v.base if v.base is not None else v.low) for v in q.variables}
    return ", ".join(f"{k}={_fmt(v)}" for k, v in shown.items())


def _same(a: tuple, b: tuple) -> bool:
    flat_a, flat_b = _flat(a), _flat(b)
    return len(flat_a) == len(flat_b) and all(
        abs(x - y) <= 1e-12 * max(1.0, abs(x)) for x, y in zip(flat_a, flat_b, strict=True))


def _flat(values) -> list[float]:
    return [x for v in values for x in (_flat(v) if isinstance(v, tuple) else [float(v)])]


def _out_text(q: Quantity, out: tuple) -> str:
    if q.output:
        return ", ".join(f"{k} {_fmt(v)}" for k, v in zip(q.output, out, strict=True))
    return _fmt(out[0])


def eval_ratio(q: Quantity, fn: Callable, var: Var, old: float, new: float, claimed: float) -> Verdict:
    a, b = _call(q, fn, {var.arg: old}), _call(q, fn, {var.arg: new})
    ratio = b[0] / a[0]
    holds = abs(ratio - claimed) <= q.tolerance * abs(claimed)
    detail = (f"{q.function}({var.arg}={_fmt(old)}) = {_out_text(q, a)}, {q.function}({var.arg}={_fmt(new)}) = "
              f"{_out_text(q, b)}: the {q.name} changes ×{ratio:.4g}" +
              (f" (the claimed ×{claimed:.4g} is within {q.tolerance:.0%})" if holds
               else f", not ×{claimed:.4g} ({_times(ratio)})"))
    return Verdict(holds, detail)


def _times(ratio: float) -> str:
    return f"{ratio:.3g}× more" if ratio >= 1 else f"{1 / ratio:.3g}× less"


def eval_trend(q: Quantity, fn: Callable, var: Var, claimed: int, low: float | None = None,
               high: float | None = None) -> Verdict:
    low = var.low if low is None else low
    high = var.high if high is None else high
    a, b = _call(q, fn, {var.arg: low}), _call(q, fn, {var.arg: high})
    signs = [0 if abs(y - x) <= 1e-12 * max(abs(x), abs(y), 1) else (1 if y > x else -1) for x, y in zip(a, b, strict=True)]
    holds = all(s == claimed for s in signs)
    words = {1: "rises", -1: "falls", 0: "does not change"}
    detail = (f"{q.function} with {var.arg} {_fmt(low)} → {_fmt(high)}: " +
              "; ".join(f"{name} {_fmt(x)} → {_fmt(y)}" for name, x, y in
                        zip(q.output or (q.name,), a, b, strict=True)) +
              f": the {q.name} {words[signs[0]] if len(set(signs)) == 1 else 'moves both ways'} as {var.arg} rises")
    return Verdict(holds, detail)


# -- expressions (identity template) -----------------------------------------------------------

_OPS = "+-*/^·×()"


def _tokens(expr: str, symbols: dict[str, str]) -> tuple[list[tuple[str, str]], int]:
    """(kind, value) tokens of the longest expression at the start of `expr`, and its length."""
    names = sorted(symbols, key=len, reverse=True)
    out, i = [], 0
    while i < len(expr):
        ch = expr[i]
        if ch.isspace():
            i += 1
            continue
        m = re.match(r"\d+(?:\.\d+)?", expr[i:])
        if m:
            out.append(("num", m.group()))
            i += m.end()
            continue
        name = next((n for n in names if expr[i:i + len(n)].lower() == n and
                     not (n[-1].isalnum() and i + len(n) < len(expr) and (expr[i + len(n)].isalnum() or
                                                                           expr[i + len(n)] == "_"))), None)
        if name:
            out.append(("sym", symbols[name]))
            i += len(name)
            continue
        if ch in _OPS or (ch in "xX" and out and out[-1][0] in ("num", "sym", ")")):
            out.append(("op", "×" if ch in "xX" else ch))
            i += 1
            continue
        break
    while out and out[-1][0] == "op" and out[-1][1] != ")":
        out.pop()
    depth = 0
    for n, (kind, v) in enumerate(out):
        depth += (v == "(") - (v == ")") if kind == "op" else 0
        if depth < 0:
            out = out[:n]
            break
    return out, i


def _pyexpr(tokens: list[tuple[str, str]], env: dict[str, float]) -> float | None:
    """Evaluate tokens with implicit multiplication ("2 (# tokens)(# params)", "2Vd")."""
    parts, prev = [], None
    for kind, v in tokens:
        operand_start = kind in ("num", "sym") or v == "("
        if operand_start and prev in ("num", "sym", ")"):
            parts.append("*")
        if kind == "num":
            parts.append(v)
        elif kind == "sym":
            if v not in env:
                return None
            parts.append(repr(float(env[v])))
        else:
            parts.append({"·": "*", "×": "*", "^": "**"}.get(v, v))
        prev = kind if kind != "op" else (")" if v == ")" else "op")
    code = "".join(parts)
    if not re.fullmatch(r"[\d.eE+\-*/() ]+", code):
        return None
    try:
        return float(eval(code, {"__builtins__": {}}, {}))  # only digits and operators: checked above
    except (SyntaxError, ZeroDivisionError, TypeError):
        return None


def _shape(tokens):
    """`n×n` (a shape) as its factors, split at top-level ×."""
    dims, cur = [], []
    for t in tokens:
        if t == ("op", "×"):
            dims.append(cur)
            cur = []
        else:
            cur.append(t)
    dims.append(cur)
    return dims


_LINK = re.compile(r"^\s*(?:,\s*)?(?:is|are|equals|=|:|::|—|saves?|uses?|takes?|costs?|needs?|has|have)?\s*:?\s*"
                   r"(?:always\s+)?(?:an?\s+|exactly\s+)?", re.I)


def eval_identity(q: Quantity, fn: Callable, text: str, start: int, bound: dict) -> Verdict | None:
    """`<quantity> = e1 = e2 …`: symbolic sides evaluated at every low/high corner of their
    variables, numeric sides bound to the symbols by position ("d_model/h = 512/8") or compared
    with the code's value for the values the card states."""
    symbols = {s.lower(): v.arg for v in q.variables for s in v.symbols}
    rest = text[start:]
    link = _LINK.match(rest)
    rest = rest[link.end():] if link else rest
    sides = []
    qrx = _rx(q.phrases)
    while rest:
        m = qrx.match(rest)
        if m:  # "d_k = d_v = …": another name of the same quantity
            rest = rest[m.end():]
        else:
            toks, used = _tokens(rest, symbols)
            if not toks or not any(k in ("num", "sym") for k, _ in toks):
                break
            sides.append(toks)
            rest = rest[used:]
        eq = re.match(r"\s*=\s*", rest)
        if not eq:
            break
        rest = rest[eq.end():]
    if not sides:
        return None
    symbolic = [s for s in sides if any(k == "sym" for k, _ in s)]
    numeric = [s for s in sides if not any(k == "sym" for k, _ in s)]
    if not symbolic and not bound:
        return None
    tuple_out = None
    problems, shown = [], []
    for side in symbolic:
        args = sorted({v for k, v in side if k == "sym"})
        for corner in itertools.product(*[(_var(q, a).low, _var(q, a).high) for a in args]):
            env = dict(zip(args, corner, strict=True))
            out = _call(q, fn, env)[0]
            if isinstance(out, tuple):
                tuple_out = out
                dims = [_pyexpr(d, env) for d in _shape(side)]
                got = tuple(dims)
                ok = all(d is not None for d in dims) and len(dims) == len(out) and all(
                    abs(x - y) <= 1e-9 * max(1, abs(y)) for x, y in zip(dims, out, strict=True))
            else:
                got = _pyexpr(side, env)
                if got is None:
                    return None
                ok = abs(got - out) <= 1e-9 * max(1.0, abs(out))
            text_side = "".join(v for _, v in side)
            shown.append(f"{q.function}({_args_text(q, env)}) = {_fmt(out)}")
            if not ok:
                problems.append(f"{text_side} gives {_fmt(got) if got is not None else '?'} at "
                                f"{_args_text(q, env)}")
                break
        if problems:
            break
    # numbers: bound by position to a symbolic side's symbols, else the card's stated values
    env = dict(bound)
    if symbolic and numeric:
        pattern = symbolic[0]
        for side in numeric:
            if len(side) == len(pattern) and all(
                    (ka == kb or (ka == "sym" and kb == "num")) and (ka != "op" or va == vb)
                    for (ka, va), (kb, vb) in zip(pattern, side, strict=True)):
                env.update({va: float(vb) for (ka, va), (_kb, vb) in zip(pattern, side, strict=True) if ka == "sym"})
    if numeric and env and tuple_out is None:
        try:
            out = _call(q, fn, env)[0]
        except TypeError:
            out = None
        if out is not None and not isinstance(out, tuple):
            shown.append(f"{q.function}({_args_text(q, env)}) = {_fmt(out)}")
            for side in numeric:
                got = _pyexpr(side, env)
                if got is not None and abs(got - out) > 1e-9 * max(1.0, abs(out)):
                    problems.append(f"{''.join(v for _, v in side)} = {_fmt(got)}, not {_fmt(out)}")
    if not shown:
        return None
    detail = "; ".join(dict.fromkeys(shown[:4]))
    if problems:
        return Verdict(False, f"{detail}: {problems[0]}")
    return Verdict(True, detail)


# -- the templates, run over one sentence ------------------------------------------------------

_DEPENDS = re.compile(r"\b(?P<neg>(?:is|are)\s+independent\s+of|(?:does|do)\s+not\s+depend\s+on|"
                      r"(?:is|are)\s+not\s+affected\s+by)|\b(?:depends?|depending)\s+on|"
                      r"\b(?:scales?|grows?|varies|vary)\s+with", re.I)
_PREVENT = re.compile(r"\b(?:can\s+|could\s+|may\s+)?(?:prevents?|avoids?|eliminates?)\b", re.I)


def _mentions(q: Quantity, text: str) -> tuple[list[Mention], list[Mention]]:
    qs = [Mention("q", m.start(), m.end()) for m in _rx(q.phrases).finditer(text)]
    vs = []
    for var in q.variables:
        spans = [(p, 0) for p in var.phrases] + [(p, 1) for p in var.more] + [(p, -1) for p in var.less]
        for phrase, sign in spans:
            for m in _rx([phrase]).finditer(text):
                if any(o.start <= m.start() < o.end for o in qs + vs):
                    continue
                vs.append(Mention(var.arg, m.start(), m.end(), sign=sign))
    return qs, vs


def _letters(q: Quantity, text: str) -> Quantity:
    """Letters the card introduces for a variable ("N kxkxM filters": N counts filters)."""
    extra: dict[str, list[str]] = {}
    for pattern in q.letters:
        for m in re.finditer(pattern, text, re.I):
            for arg, letter in m.groupdict().items():
                if letter:
                    extra.setdefault(arg, []).append(re.escape(letter.lower()))
    if not extra:
        return q
    taken = {x for v in extra.values() for x in v}
    variables = tuple(
        _replace(v, phrases=tuple(p for p in v.phrases if p not in taken) + tuple(extra.get(v.arg, ())))
        for v in q.variables)
    return _replace(q, variables=variables)


def eval_quantity(q: Quantity, text: str, card_text: str, ctx: RuleContext) -> Verdict | None:
    if not _rx(q.phrases).search(text):
        return None
    fn = ctx.snippets.fn(q.formula, q.function)
    q = _letters(q, card_text)
    qs, vs = _mentions(q, text)
    if not qs:
        return None
    # identity: "<quantity> = expression"
    for m in qs:
        bound = _bindings(q, card_text)
        result = eval_identity(q, fn, text, m.end, bound)
        if result is not None:
            return result
    # dependence: "<q> depends on / is independent of <v>"
    for dm in _DEPENDS.finditer(text):
        after = [v for v in vs if v.start >= dm.end() and v.start - dm.end() < 30]
        if after and any(m.end <= dm.start() for m in qs):
            var = _var(q, after[0].who)
            a, b = _call(q, fn, {var.arg: var.low}), _call(q, fn, {var.arg: var.high})
            differs = not _same(a, b)
            claimed = not dm.group("neg")
            return Verdict(differs == claimed, f"{q.function} with {var.arg} {_fmt(var.low)} → "
                           f"{_fmt(var.high)}: {_out_text(q, a)} → {_out_text(q, b)}"
                           f" (the {q.name} {'changes' if differs else 'does not change'})")
    # "<v> can prevent <q>"
    for pm in _PREVENT.finditer(text):
        before = [v for v in vs if v.end <= pm.start() and _var(q, v.who).values]
        if before and any(m.start >= pm.end() for m in qs):
            var = _var(q, before[-1].who)
            outs = [(val, _call(q, fn, {var.arg: val})[0]) for val in var.values]
            prevented = any(abs(o) < 1e-12 for _v, o in outs)
            return Verdict(prevented, f"{q.function} with " + ", ".join(
                f"{var.arg}={_fmt(v)}: {_fmt(o)}" for v, o in outs) +
                f" (no {var.arg} brings the {q.name} to 0)" * (not prevented))
    if not vs:
        return None
    attach(text, qs + vs, cues(text))
    for v in vs:
        read_change(text, v)
    qsign = next((m.sign for m in qs if m.sign), 0)
    qfactor = next((m.factor for m in qs if m.factor is not None), None)
    by_var: dict[str, Mention] = {}
    for v in vs:
        cur = by_var.setdefault(v.who, Mention(v.who, v.start, v.end))
        cur.sign = cur.sign or v.sign
        cur.factor = cur.factor if cur.factor is not None else v.factor
        cur.change = cur.change or v.change
        cur.delta = cur.delta if cur.delta is not None else v.delta
    moving = [v for v in by_var.values() if v.sign or v.change or v.delta is not None or v.factor]
    if len(moving) != 1:
        return None
    v = moving[0]
    var = _var(q, v.who)
    base = var.base if var.base is not None else var.low
    old_new = v.change
    if old_new is None and v.delta is not None:
        old_new = (base, base + (v.delta if v.sign >= 0 else -v.delta))
    if old_new is None and v.factor:
        old_new = (base, base * v.factor)
    if qfactor is not None and old_new is not None:
        return eval_ratio(q, fn, var, *old_new, claimed=qfactor)
    vsign = v.sign or (0 if old_new is None else (1 if old_new[1] > old_new[0] else -1))
    if qsign and vsign:
        return eval_trend(q, fn, var, qsign * vsign)
    return None


_BIND = re.compile(r"(?<![\w])(?P<name>[\w{}\\]+)\s*=\s*(?P<value>\d+(?:\.\d+)?)(?![\d.]*\s*[/*·×^])")


def _bindings(q: Quantity, text: str) -> dict[str, float]:
    """Values the card states for the variables ("d_model = 768", "h=8"), when stated once."""
    symbols = {s.lower(): v.arg for v in q.variables for s in v.symbols}
    seen: dict[str, set[float]] = {}
    for m in _BIND.finditer(text):
        arg = symbols.get(m.group("name").lower())
        if arg:
            seen.setdefault(arg, set()).add(float(m.group("value")))
    return {a: next(iter(vals)) for a, vals in seen.items() if len(vals) == 1}


def card_change(q: Quantity, card_text: str) -> tuple[Var, float, float] | None:
    """A variable the card states twice ("stride = 3" … "stride = 2"): old and new value."""
    for var in q.variables:
        found = [float(m.group(1)) for p in var.phrases
                 for m in re.finditer(rf"(?<![\w])(?:{p})\s*(?:=|of)\s*{_NUM}", card_text, re.I)]
        ordered = list(dict.fromkeys(found))
        if len(ordered) == 2:
            return var, ordered[0], ordered[1]
    return None


def eval_card_level(q: Quantity, text: str, card_text: str, ctx: RuleContext) -> Verdict | None:
    """A factor claimed in one sentence about a change the card states elsewhere."""
    qs, _vs = _mentions(q, text)
    if not qs:
        return None
    change = card_change(q, card_text)
    if change is None:
        return None
    attach(text, qs, cues(text))
    factor = next((m.factor for m in qs if m.factor is not None), None)
    if factor is None:
        return None
    var, old, new = change
    return eval_ratio(q, ctx.snippets.fn(q.formula, q.function), var, old, new, factor)


# value mappings ---------------------------------------------------------------------------------

_ARROW = r"\s*(?:→|->|\\to|\\rightarrow)\s*"


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text.replace("−", "-").replace("–", "-"))]


def _mapping_rx(claim: Mapping) -> re.Pattern:
    names = "|".join(re.escape(n) for n in claim.names)
    return re.compile(rf"(?<![\w])(?:{names})\s*=\s*\[([^\]]+)\]{_ARROW}\[([^\]]+)\]", re.I)


def _mapping_params(claim: Mapping, ctx: RuleContext):
    """The parameters most (x, y) pairs of all this mapping's cards agree with."""
    import numpy as np

    key = ("mapping", claim.formula, claim.function)
    if key in ctx.memo:
        return ctx.memo[key]
    rx = _mapping_rx(claim)
    per_card = []
    for card in ctx.graph.cards:
        m = rx.search(plain(card.question)) or rx.search(plain(card.answer))
        if m:
            xs, ys = _numbers(m.group(1)), _numbers(m.group(2))
            if len(xs) == len(ys) >= 2:
                per_card.append(list(zip(xs, ys, strict=True)))
    fn = ctx.snippets.fn(claim.formula, claim.function)
    propose = ctx.snippets.fn(claim.formula, claim.candidates)
    everything = [p for pairs in per_card for p in pairs]
    xs = np.array([x for x, _ in everything], dtype=float)
    ys = np.array([y for _, y in everything], dtype=float)
    candidates = dict.fromkeys(c for pairs in per_card for c in propose(pairs))
    best = None
    for params in candidates:
        agree = int(np.sum(np.abs(fn(xs, *params) - ys) <= claim.tolerance))
        if best is None or agree > best[1]:
            best = (params, agree, len(everything))
    ctx.memo[key] = best
    return best


def eval_mapping(claim: Mapping, text: str, ctx: RuleContext) -> Verdict | None:
    m = _mapping_rx(claim).search(text)
    if not m:
        return None
    xs, ys = _numbers(m.group(1)), _numbers(m.group(2))
    best = _mapping_params(claim, ctx)
    if best is None or len(xs) != len(ys):
        return None
    params, agree, total = best
    fn = ctx.snippets.fn(claim.formula, claim.function)
    got = [float(fn(x, *params)) for x in xs]
    wrong = [(x, g, y) for x, g, y in zip(xs, got, ys, strict=True) if abs(g - y) > claim.tolerance]
    where = (f"with [{', '.join(claim.params)}] = [{', '.join(_fmt(p) for p in params)}] (the values "
             f"{agree} of the {total} quiz values agree with), {claim.function} gives ")
    if wrong:
        return Verdict(False, where + "; ".join(f"{_fmt(x)} → {g:.3f} (claimed {y:.3f})" for x, g, y in wrong))
    return Verdict(True, where + ", ".join(f"{_fmt(x)} → {g:.3f}" for x, g in zip(xs, got, strict=True)))


# normalizes by -------------------------------------------------------------------------------

def _measures():
    import numpy as np

    return [  # (words naming a measure, the measure): generic mathematics, not one formula's
        (r"standard deviation|std|stdev|spread", "std", lambda y: float(np.std(y))),
        (r"root mean square|rms|root-mean-square", "RMS", lambda y: float(np.sqrt(np.mean(y**2)))),
        (r"largest|maximum|max|biggest", "max |·|", lambda y: float(np.max(np.abs(y)))),
        (r"sum|total", "sum", lambda y: float(np.sum(y))),
        (r"(?:l2[- ])?norm|length|magnitude", "L2 norm", lambda y: float(np.linalg.norm(y))),
        (r"mean|average", "mean", lambda y: float(np.mean(y))),
    ]


_NORMALIZES = re.compile(r"\b(?:normali[sz]\w*|divid\w*|rescal\w*|scal\w*)\b(?:\s+[\w'-]+){0,5}?\s+by\s+"
                         r"(?:the\s+|their\s+|its\s+|a\s+)?(?P<m>[\w\s-]{2,40})", re.I)


def eval_normalizes(claim: Normalizes, text: str, context: str, ctx: RuleContext) -> Verdict | None:
    import numpy as np

    m = _NORMALIZES.search(text)
    if not m or not _rx(claim.phrases).search(f"{context}\n{text}"):
        return None
    said = m.group("m").lower()
    measure = next(((name, f) for words, name, f in _measures() if re.match(rf"(?:{words})\b", said)), None)
    if measure is None:
        return None
    name, f = measure
    fn = ctx.snippets.fn(claim.formula, claim.function)
    x = np.random.default_rng(0).normal(1.0, 3.0, size=8)
    y = np.asarray(fn(x, **dict(claim.fixed)), dtype=float)
    got = f(y)
    holds = abs(got - 1.0) <= 1e-3
    others = ", ".join(f"{n} {fm(y):.3g}" for _w, n, fm in _measures() if n != name)
    return Verdict(holds, f"{claim.function}(x) for a random x: the output's {name} is {got:.4g}"
                   + ("" if holds else f", not 1 (its {others})"))


# -- applying the templates --------------------------------------------------------------------

def mentioned(claim, text: str) -> bool:
    """Could the card hold this claim at all? One search per claim and card, before any parsing."""
    if isinstance(claim, Mapping):
        return "[" in text
    return bool(_rx(claim.phrases).search(text))


def claims_in(text: str, context: str, card_text: str, ctx: RuleContext) -> list[Found]:
    """Every claim a sentence of `text` makes, evaluated; `context` is the card's question (the
    subject an answer sentence may leave out)."""
    out: list[Found] = []
    if "[" not in card_text and not ctx.any_phrase.search(card_text):
        return out  # most cards name no declared quantity: one search decides
    claims = [c for c in ctx.claims if mentioned(c, card_text)]
    for claim in claims:
        if isinstance(claim, Mapping):
            v = eval_mapping(claim, text, ctx)
            if v:
                out.append(Found("value mapping", claim.formula, v))
    for sentence in sentences(text):
        for claim in claims:
            verdict_ = None
            if isinstance(claim, Normalizes):
                verdict_ = eval_normalizes(claim, sentence, context, ctx)
                kind = "normalizes by"
            elif isinstance(claim, Quantity):
                unit = sentence
                if context and context not in sentence and not _rx(claim.phrases).search(sentence):
                    unit = f"{context} — {sentence}"
                elif context and context not in sentence and not _has_var(claim, sentence):
                    unit = f"{context} — {sentence}"
                verdict_ = eval_quantity(claim, unit, card_text, ctx) or eval_card_level(claim, unit, card_text, ctx)
                kind = claim.name
            if verdict_ is not None:
                out.append(Found(kind, claim.formula, verdict_))
    return list({(f.formula, f.verdict.detail): f for f in out}.values())


def _has_var(q: Quantity, text: str) -> bool:
    return any(_rx(list(v.phrases) + list(v.more) + list(v.less)).search(text)
               for v in q.variables if v.phrases or v.more or v.less)


def claimed_truths(card: Card, graph: KnowledgeGraph) -> list[tuple[bool, str]]:
    """What the notes say about the statement: one (truth, where) per side. A dedupe conflict
    names its sides as source spans (`Flag.sides`); each side's verdict is that item's own."""
    for flag in card.flags:
        if flag.cause == "conflict" and len(flag.sides) >= 2:
            by_truth: dict[bool, list[str]] = {}
            for span in flag.sides:
                item = next((r for r in graph.raw_items if r.span == span), None)
                said = verdict(item.answer) if item else None
                if said:
                    by_truth.setdefault(said == "True", []).append(str(span))
            if len(by_truth) == 2:
                return [(truth, ", ".join(where)) for truth, where in sorted(by_truth.items())]
    return [(verdict(card) != "False", "")]  # a plain answer asserts its statement


def check_card(card: Card, ctx: RuleContext) -> tuple[Card, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    statement = claim_text(card)
    conflict = any(f.cause == "conflict" for f in card.flags) or card.has_flag("conflict")
    reasoning = explanation(card) if card.kind == "true-false" and not conflict else ""
    full = plain("\n".join(x for x in (card.context, card.question, card.answer) if x))
    context = plain(card.question.strip()) if card.kind != "true-false" else ""
    try:
        found = claims_in(statement, context, full, ctx)
        in_explanation = False
        if not found and reasoning:
            found, in_explanation = claims_in(reasoning, "", full, ctx), True
    except LookupError:
        return card, diags  # a snippet function is not there (yet): unchecked, not judged
    except Exception as err:  # a snippet bug must not stop the build
        src = card.sources[0]
        return card, [Diagnostic(src.path, src.line, "claim-check-error", f"{type(err).__name__}: {err}")]
    for f in found:
        module = ctx.snippets.registry.formula(f.formula).module
        card = _replace(card, formulas=tuple(dict.fromkeys((*card.formulas, f.formula))))
        sides = [(True, "")] if in_explanation else claimed_truths(card, ctx.graph)
        for said, where in sides:
            says = f"the notes say {'True' if said else 'False'}" + (f" at {where}" if where else "")
            if f.verdict.holds == said:
                # No file:line in what the card shows (moving other lines must not change it);
                # flag reasons keep locations, as dedupe's do.
                agreed = f"the notes say {'True' if said else 'False'}" + (" (one side)" if where else "")
                note = f"{f.template}: {agreed}; {f.verdict.detail} ({module})"
                card = _replace(card, verified=tuple(dict.fromkeys((*card.verified, note))))
            else:
                card = card.with_flag("claim-mismatch", (
                    f"{f.template}: {says}, but the registry code says "
                    f"{'True' if f.verdict.holds else 'False'}: {f.verdict.detail} ({module})."),
                    cause="claim-mismatch", formula=f.formula)
    return card, diags


def check(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    rctx = RuleContext(Snippets(ctx.registry), graph)
    cards, diags = [], []
    for card in graph.cards:
        checked, found = check_card(card, rctx)
        cards.append(checked)
        diags.extend(found)
    graph = graph.replace(cards=tuple(cards))
    return graph.warn(*diags, *latex.graph_diagnostics(graph, ctx.config.root, ctx.registry))
