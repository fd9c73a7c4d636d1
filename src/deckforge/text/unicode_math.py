"""Unicode math (`wₜ₊₁`, `σ′(x)`, `∇L`, `∑`) and bare TeX (`\\alpha_\\text{ridge}`) to `$…$` LaTeX.

The rewrite works on *math runs*: maximal stretches of whitespace-separated tokens that look
like math (symbols, short operands, operators). A run is converted only when it holds a
*strong* sign of math (a Greek letter, a sub/superscript, ∇, ∑, √, ′, a TeX command); a lone
arrow or × between words stays as written, so prose is never broken. Tokens that look like
PDF-mangled formulas (`softmax(dkQKT)V`, `μ=d1∑i=1dxi`) are left verbatim: the repair pass
replaces those from the registry, and rewriting them would only hide them.
"""

from __future__ import annotations

import re

from deckforge.text.segments import map_prose

GREEK = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon",
    "ϵ": r"\epsilon", "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "ι": r"\iota",
    "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi", "π": r"\pi",
    "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\phi", "ϕ": r"\phi",
    "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta",
    "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi", "Σ": r"\Sigma",
    "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega",
}
SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵣᵤᵥ", "0123456789+-=()aeoxhklmnpstijruv", strict=True))
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀᵗ", "0123456789+-=()niTt", strict=True))
SYMBOLS = {
    "∇": r"\nabla", "∑": r"\sum", "∏": r"\prod", "∂": r"\partial", "∘": r"\circ",
    "∈": r"\in", "∉": r"\notin", "∞": r"\infty", "≤": r"\leq", "≥": r"\geq", "≠": r"\neq",
    "±": r"\pm", "⊙": r"\odot", "⊤": r"\top", "∝": r"\propto", "≈": r"\approx",
    "·": r"\cdot", "⋅": r"\cdot", "×": r"\times", "÷": r"\div", "→": r"\rightarrow",
    "⇒": r"\Rightarrow", "←": r"\leftarrow", "⇔": r"\Leftrightarrow", "∣": r"\mid",
    "…": r"\dots", "−": "-", "′": "'", "″": "''",
}

# Signs that make a run math for sure; arrows, ×, · and − alone do not (prose uses them).
STRONG_CHARS = set(GREEK) | set(SUBSCRIPTS) | set(SUPERSCRIPTS) | set("∇∑∏∂∘∈∉∞≤≥≠±⊙⊤′″√")
WEAK_CHARS = set("≈·⋅×÷→⇒←⇔∝−∣…")
TEX_COMMAND = re.compile(r"\\[A-Za-z]{2,}|\\[,;!{}]")
GLUED_PRODUCT = re.compile(r"(?<![A-Za-z]{4})[A-Za-z0-9)][×·⋅][A-Za-z0-9(](?![A-Za-z]{3})")
CONNECTORS = {"=", "+", "-", "−", "/", "*", "<", ">", "≈", "·", "⋅", "×", "÷", "→", "⇒", "←",
              "≤", "≥", "≠", "∝", "∈", "|", ":=", "~", "∼", "∣", "±"}
STOPWORDS = {
    "a", "an", "as", "at", "be", "by", "do", "if", "in", "is", "it", "of", "on", "or", "so",
    "to", "up", "we", "and", "are", "but", "for", "not", "the", "via", "vs", "per", "its",
    "can", "use", "all", "any", "has", "one", "two", "new", "may", "out", "own", "few", "eg",
    "ie", "etc", "see", "yes", "no", "how", "why", "who", "was", "too", "e", "i",
}
_LETTER_RUN = re.compile(r"[A-Za-z]{4,}")
_CALL = re.compile(r"[A-Za-z]{1,12}\([A-Za-z0-9_,'′ ]{1,12}\)")
_EDGE_PUNCT = ".,;:!?"


def _is_garbled(token: str) -> bool:
    """Formulas whose structure PDF extraction destroyed: long glued tokens with `=`/`≈`."""
    if len(token) >= 8 and "=" in token.strip("=") and not TEX_COMMAND.search(token):
        return True
    return len(token) >= 12 and "≈" in token


def _is_strong(token: str) -> bool:
    return (
        any(ch in STRONG_CHARS for ch in token)
        or bool(TEX_COMMAND.search(token))
        or bool(GLUED_PRODUCT.search(token))
    )


def _is_operand(token: str) -> bool:
    core = token.strip(_EDGE_PUNCT + "()[]{}\"'")
    if not core:
        return token in {"(", ")", "[", "]"}
    letters = "".join(ch for ch in core if ch.isalpha())
    if letters.lower() in STOPWORDS and letters == core.strip("'"):
        return False
    if core.endswith("'s"):  # a possessive, not a prime
        return False
    if _CALL.fullmatch(core):
        return True
    if any(mark in core for mark in "_^\\"):
        return True
    return not _LETTER_RUN.search(core) and all(ch.isalnum() or ch in "_^{}()[],.'+-−*/=|<>" for ch in core)


def _classify(token: str) -> str:
    """'strong', 'connector', 'operand' or 'word' (a word ends a math run)."""
    if _is_garbled(token):
        return "word"
    if _is_strong(token):
        return "strong"
    if token in CONNECTORS:
        return "connector"
    if _is_operand(token):
        return "operand"
    return "word"


_OPERATOR_EDGE = re.compile(r"(\\[A-Za-z]+|[=+\-−/*<>≈·⋅×÷→⇒←≤≥≠∝∈])$")
_OPERATOR_START = re.compile(r"^(\\[A-Za-z]+|[=+\-−/*<>≈·⋅×÷→⇒←≤≥≠∝∈^_])")


# A big operator applies to what follows it ("Σ_j exp(z_j/T)", "∇L", "√d"): that operand is
# tied to it even without a connector between them.
_APPLIES_RIGHT = re.compile(r"^[∑Σ∏√∂∇][_^]?")


def _binds_right(token: str, kind: str) -> bool:
    return kind == "connector" or bool(_OPERATOR_EDGE.search(token)) or bool(_APPLIES_RIGHT.match(token))


def _binds_left(token: str, kind: str) -> bool:
    return kind == "connector" or bool(_OPERATOR_START.search(token))


def _trim(tokens: list[str], kinds: list[str]) -> tuple[int, int]:
    """Drop operands and connectors at the run's edges that are not tied to its math."""
    lo, hi = 0, len(tokens)
    while lo < hi:
        if kinds[lo] == "connector":
            lo += 1
            continue
        if kinds[lo] == "operand":
            tied = lo + 1 < hi and (
                _binds_left(tokens[lo + 1], kinds[lo + 1]) or _binds_right(tokens[lo], kinds[lo])
            )
            if not tied:
                lo += 1
                continue
        break
    while hi > lo:
        last = hi - 1
        if kinds[last] == "connector":
            hi -= 1
            continue
        if kinds[last] == "operand":
            tied = last - 1 >= lo and (
                _binds_right(tokens[last - 1], kinds[last - 1]) or _binds_left(tokens[last], kinds[last])
            )
            if not tied:
                hi -= 1
                continue
        break
    return lo, hi


def _depth(text: str) -> int:
    return text.count("(") + text.count("[") - text.count(")") - text.count("]")


def _balance(tokens: list[str], lo: int, hi: int) -> int:
    """Extend a trimmed run to the right until its brackets close (`[−1, 1]` stays whole)."""
    while lo < hi < len(tokens) and _depth("".join(tokens[lo:hi])) > 0:
        hi += 1
    return hi


def _peel(run: str) -> tuple[str, str, str]:
    """Split off trailing sentence punctuation and unmatched/enclosing brackets."""
    head, tail = "", ""
    while run and run[-1] in _EDGE_PUNCT and not run.endswith("..."):
        tail = run[-1] + tail
        run = run[:-1]
    changed = True
    while changed and run:
        changed = False
        if run[0] in "([" and _closer(run, 0) == len(run) - 1:
            head, run, tail = head + run[0], run[1:-1], run[-1] + tail
            changed = True
        elif run[-1] in ")]" and run.count(run[-1]) > run.count("(" if run[-1] == ")" else "["):
            tail = run[-1] + tail
            run = run[:-1]
            changed = True
        elif run[0] in "([" and run.count(run[0]) > run.count(")" if run[0] == "(" else "]"):
            head += run[0]
            run = run[1:]
            changed = True
        while run and run[-1] in _EDGE_PUNCT and not run.endswith("..."):
            tail = run[-1] + tail
            run = run[:-1]
    return head, run, tail


def _closer(text: str, start: int) -> int:
    opener = text[start]
    closer = ")" if opener == "(" else "]"
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opener:
            depth += 1
        elif text[i] == closer:
            depth -= 1
            if depth == 0:
                return i
    return -1


_SUM_LIKE = {"Σ": r"\sum", "Π": r"\prod"}


def to_latex(math: str) -> str:
    """Character-level rewrite of one math run (no `$`): Greek, scripts, operators."""
    out: list[str] = []
    i = 0
    while i < len(math):
        ch = math[i]
        if ch in SUBSCRIPTS or ch in SUPERSCRIPTS:
            table, mark = (SUBSCRIPTS, "_") if ch in SUBSCRIPTS else (SUPERSCRIPTS, "^")
            j = i
            while j < len(math) and math[j] in table:
                j += 1
            body = "".join(table[c] for c in math[i:j])
            out.append(f"{mark}{body}" if len(body) == 1 else f"{mark}{{{body}}}")
            i = j
            continue
        if ch == "√":
            j = i + 1
            if j < len(math) and math[j] == "(":
                end = _closer(math, j)
                if end > 0:
                    out.append(r"\sqrt{" + to_latex(math[j + 1 : end]) + "}")
                    i = end + 1
                    continue
            k = j
            while k < len(math) and (math[k].isalnum() or math[k] in "_"):
                k += 1
            out.append(r"\sqrt{" + to_latex(math[j:k]) + "}")
            i = k
            continue
        command = GREEK.get(ch) or SYMBOLS.get(ch)
        if ch in _SUM_LIKE and i + 1 < len(math) and (math[i + 1] == "_" or math[i + 1] in SUBSCRIPTS):
            command = _SUM_LIKE[ch]  # "Σ_j", "Πᵢ": a capital with an index is the big operator
        if command is None:
            out.append(ch)
        elif command.startswith("\\"):
            nxt = math[i + 1] if i + 1 < len(math) else ""
            if out and out[-1] and (out[-1][-1].isalnum()) and ch in SYMBOLS and ch not in "∇∑∏∂":
                out.append(" ")
            out.append(command)
            if nxt.isalnum() or nxt in GREEK:
                out.append(" ")
        else:
            out.append(command)
        i += 1
    return "".join(out)


_TOKEN = re.compile(r"\S+|\s+")


_TRIGGER = re.compile(
    "[" + re.escape("".join(sorted(STRONG_CHARS))) + r"]|\\[A-Za-z,;!{}]|[A-Za-z0-9)][×·⋅][A-Za-z0-9(]"
)


def _convert_prose(text: str) -> str:
    if not _TRIGGER.search(text):
        return text  # fast path: nothing that could start a math run
    parts = _TOKEN.findall(text)
    words = [(i, p) for i, p in enumerate(parts) if not p.isspace()]
    kinds = [_classify(p) for _, p in words]
    out = list(parts)
    k = 0
    while k < len(words):
        if kinds[k] == "word":
            k += 1
            continue
        end = k
        while end < len(words) and kinds[end] != "word":
            end += 1
        run_tokens = [w for _, w in words[k:end]]
        lo, hi = _trim(run_tokens, kinds[k:end])
        hi = _balance(run_tokens, lo, hi)
        if lo < hi and "strong" in kinds[k + lo : k + hi]:
            first, last = words[k + lo][0], words[k + hi - 1][0]
            head, math, tail = _peel("".join(parts[first : last + 1]))
            if math and any(_is_strong(t) for t in math.split()):
                out[first] = f"{head}${_brace_subscripts(to_latex(math).strip())}${tail}"
                for j in range(first + 1, last + 1):
                    out[j] = ""
        k = end
    return "".join(out)


_MULTI_SUB = re.compile(r"(?<=[A-Za-z0-9])_([A-Za-z]{2,}|\d{2,})")


def _brace_subscripts(math: str) -> str:
    """`y_out` -> `y_{out}`: TeX would subscript only the first letter."""
    return _MULTI_SUB.sub(lambda m: "_{" + m.group(1) + "}", math)


def unicode_math_to_latex(text: str) -> str:
    """Rewrite unicode math and bare TeX outside existing `$…$` into `$…$` LaTeX."""
    if not text or not _TRIGGER.search(text):
        return text  # fast path: most notes lines hold no math at all
    return "\n".join(map_prose(line, _convert_prose) for line in text.split("\n"))
