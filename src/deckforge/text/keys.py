"""Matching keys for dedupe: content tokens of questions and answers, label-free, math-light.

`normalize_key` (model) folds case, accents and punctuation. On top of it the keys here drop
quiz labels, boilerplate ("Please indicate true or false…"), question words and LaTeX
plumbing (`\\cdot`, `\\text`), and stem plurals, so "Derivative of Sigmoid" and "Sigmoid
derivative" share the key tokens {derivative, sigmoid}.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from deckforge.text.structure import LABEL

BOILERPLATE = [
    re.compile(r"please indicate (?:whether )?true or false for each of the following statements\.?", re.I),
    re.compile(r"\bT\s*/\s*F\s*:?", re.I),
    re.compile(r"\btrue or false\b\??", re.I),
]
_LABEL_LEAD = re.compile(r"^\s*(?:[—–\-:.\s\"“”']+)")
STOPWORDS = frozenset("""
a an the of in on at to for and or but is are was were be been being it its this that these
those with by from as into than then so do does did can could should would will may might must
what which who whom whose when where why how define definition explain describe name state
give list write out one line briefly mathematically exact exactly precise precisely
vs versus about over under per via e g i eg ie etc also just only very more most less
there their they them we our you your i me my he she his her yes if else s
""".split())
MATH_NOISE = frozenset("""
cdot times text mathrm mathbf mathit operatorname left right frac dfrac tfrac big bigl bigr
quad qquad displaystyle
""".split())
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_WORD = re.compile(r"[^\w]+")  # punctuation and whitespace runs -> one space


def fast_key(text: str) -> str:
    """model.normalize_key, with a fast path for ASCII text (no NFKD pass needed)."""
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def strip_label(question: str) -> str:
    """'Quiz 2 Q1a — "At the ridge point…' -> 'At the ridge point…' (repeated labels too)."""
    text = question
    for _ in range(3):
        match = LABEL.match(text)
        if not match:
            break
        text = _LABEL_LEAD.sub("", text[match.end():])
    return text


def strip_boilerplate(text: str) -> str:
    low = text.lower()
    if "please" not in low and "true" not in low and "/" not in low:
        return text
    for rule in BOILERPLATE:
        text = rule.sub(" ", text)
    return text


@lru_cache(maxsize=65536)
def _content(token: str) -> str | None:
    """The token's matching form, or None for a stopword (cached: vocabularies are small)."""
    if token in STOPWORDS or token in MATH_NOISE:
        return None
    return _stem(token)


def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def content_tokens(text: str) -> list[str]:
    """Ordered content tokens (stopwords and LaTeX plumbing removed, plurals stemmed)."""
    return [c for tok in fast_key(text).split() if (c := _content(tok)) is not None]


def question_tokens(question: str) -> list[str]:
    return content_tokens(strip_boilerplate(strip_label(question)))


# A number leading a token is a coefficient or a count ("6nd" in C = 6ND, "8bit"): "C = 6ND" and
# "C = 4ND" state different numbers, as "2 (# tokens)" and "4 (# tokens)" do.
_LEADING_NUMBER = re.compile(r"^\d+(?:\.\d+)?(?=[a-z]*$)")


def numbers(tokens: list[str]) -> frozenset[str]:
    return frozenset(m.group(0) for t in tokens if (m := _LEADING_NUMBER.match(t)))


_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text or "") if s.strip()]
