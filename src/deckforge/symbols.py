"""Rename symbols in a registry formula's LaTeX, token by token (never a text replace).

A formula's LaTeX is read as a sequence of atoms: a letter or a Greek command with its
subscript (`W_0`, `d_{\\text{model}}`, `\\sigma_i`), a text group (`\\text{size}`), or anything
else (commands such as `\\frac`, `\\min`, digits, operators), which is copied unchanged. Only
atoms are renamed, so `\\mathbb{R}`, `\\text{MACs}` or the `r` of `\\frac` are never touched, and
all renames happen at once (M→F and F→W swap cleanly).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deckforge.asks import symbol_key

_GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu "
    "xi pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Upsilon Phi Psi Omega".split())
# Commands whose argument is words or a set, not symbols: their group is one atom, renamed
# only as a whole (a declared `\\text{size}`).
_TEXT = frozenset("text mathrm operatorname textrm textit textbf mbox mathbb mathcal".split())
_COMMAND_END = re.compile(r"\\[a-zA-Z]+$")
_TOKEN = re.compile(r"\\[a-zA-Z]+|\\.|[A-Za-z]|\s+|.", re.S)


@dataclass(frozen=True)
class Atom:
    text: str  # as written
    base: str  # the letter / Greek command / whole text group
    sub: str = ""  # the subscript as written, with its `_`
    symbol: bool = False  # a letter-like atom that a rename may touch

    @property
    def key(self) -> str:
        return symbol_key(self.base + self.sub)


def _group(tokens: list[str], i: int) -> int:
    """Index after the brace group starting at tokens[i] (== "{"), or after one token."""
    if i >= len(tokens):
        return i
    if tokens[i] != "{":
        return i + 1
    depth = 0
    for j in range(i, len(tokens)):
        depth += {"{": 1, "}": -1}.get(tokens[j], 0)
        if depth == 0:
            return j + 1
    return len(tokens)


def atoms(latex: str) -> list[Atom]:
    tokens = _TOKEN.findall(latex)
    out: list[Atom] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        name = tok[1:] if tok.startswith("\\") else ""
        if name in _TEXT:
            j = i + 1
            while j < len(tokens) and tokens[j].isspace():
                j += 1
            end = _group(tokens, j)
            text = "".join(tokens[i:end])
            out.append(Atom(text, text, symbol=name in ("text", "mathrm", "operatorname")))
            i = end
            continue
        if len(tok) == 1 and tok.isalpha() or name in _GREEK:
            end = i + 1
            sub = ""
            if end < len(tokens) and tokens[end] == "_":
                sub_end = _group(tokens, end + 1)
                sub = "".join(tokens[end:sub_end])
                end = sub_end
            out.append(Atom("".join(tokens[i:end]), tok, sub, symbol=True))
            i = end
            continue
        out.append(Atom(tok, tok))
        i += 1
    return out


def letters_used(latex: str) -> set[str]:
    """The symbol keys a LaTeX formula writes (`W_0`, `r`, `\\alpha`, `size`): `d` and `d_k`
    are two symbols."""
    return {a.key for a in atoms(latex) if a.symbol}


def rename(latex: str, renames: dict[str, str], declared: set[str] = frozenset()) -> str:
    """`latex` with each symbol in `renames` (declared spelling -> new letter) replaced at once.
    An atom matches by its whole key (`W_0`), or by its base letter with the subscript kept
    (`x_i` for a declared `x`) unless the subscripted form is a declared symbol of its own."""
    by_key = {symbol_key(old): new for old, new in renames.items()}
    declared_keys = {symbol_key(s) for s in declared}
    out: list[str] = []
    renamed_last = False
    for atom in atoms(latex):
        if not atom.symbol:
            piece = atom.text
        elif atom.key in by_key:
            piece = _spaced(by_key[atom.key], atom.text)
        elif atom.sub and symbol_key(atom.base) in by_key and atom.key not in declared_keys:
            piece = _spaced(by_key[symbol_key(atom.base)], atom.base) + atom.sub
        else:
            piece = atom.text
        renamed = piece != atom.text
        # `\cdot\text{size}` renamed to X must not become `\cdotX`; and a renamed letter
        # beside another ("6ND" -> "6P T") keeps a space, so each letter reads as one symbol.
        if (renamed or renamed_last) and out and piece[:1].isalpha() and (
                _COMMAND_END.search(out[-1]) or out[-1][-1:].isalpha()):
            piece = " " + piece
        renamed_last = renamed
        out.append(piece)
    return "".join(out)


def _spaced(new: str, old: str) -> str:
    # a Greek command was followed by a space or a brace ("\\alpha x"): a letter needs none,
    # but a command that replaces a letter needs one before the next letter ("\\alpha{}x").
    return new + "{}" if new.startswith("\\") and not old.startswith("\\") else new
