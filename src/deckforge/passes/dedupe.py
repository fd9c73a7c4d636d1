"""dedupe: merge cards that are the same card; flag contradicting answers, never drop them.

Sub-quadratic in three steps:

1. *Features* per card (once): question/answer content tokens (label-free, stopword-free,
   stemmed), the true/false verdict, the quiz label, registry formulas and concepts the card
   mentions (aliases from ctx.registry plus `card.formulas` set by repair).
2. *Candidate pairs* from blocking: equal question keys, equal answer keys, equal quiz labels
   in one file, shared registry formulas, and MinHash-LSH over token sets (the whole card, a
   true/false statement, each answer sentence) - see passes/minhash.py.
3. *Decisions* per candidate pair (`decide`, rapidfuzz token similarities), union-find over
   the merges, and one merged card per cluster.

Contradictions (the contract others rely on):
- two members of one cluster with opposite true/false verdicts on the same statement become
  ONE card flagged `conflict`; its answer lists every verdict with its file:line;
- a true/false statement that another card *asserts* in its answer (a basic card saying
  "Deeper layer activations are kept longer." vs Quiz 2 Q2a "… kept longer" -> False) keeps
  both cards, each flagged `conflict` naming the other's file:line.
The merged card keeps the most complete question and answer (a real answer beats a
registry-repaired one, which then loses `repaired`), the provenance of every member in
source order, and the union of tags, concepts, formulas and flags.
"""

from __future__ import annotations

import gc
import re
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from rapidfuzz import fuzz

from deckforge.model import Card, Flag, KnowledgeGraph, Merge
from deckforge.passes.cards import (
    is_placeholder,
    normalize_verdict,
    verdict,
)
from deckforge.passes.minhash import candidate_pairs, signatures_flat
from deckforge.passes.repair import FILLED, LETTER_CAUSES
from deckforge.text.keys import content_tokens, fast_key, numbers, question_tokens, sentences
from deckforge.text.structure import (
    MISSING_ANSWER,
    STATEMENT_MISSING,
    canonical_label,
    is_bare_label,
    quiz_of,
)

EXACT_ONLY = {"multiple-choice", "cloze"}
GROUP_CAP = 50  # blocking groups bigger than this are template noise, left to LSH

# Decision thresholds (rapidfuzz scores are 0..100; jaccard 0..1)
SAME_STATEMENT = 88  # true/false statements that are the same claim
ASSERTED = 85  # an answer sentence that states a true/false claim
REWORDED_Q_JACCARD = 0.5
REWORDED_Q_RATIO = 85
ANSWER_MATCH = 75
ANSWER_SAME = 90


@dataclass(frozen=True)
class Features:
    q: tuple[str, ...]
    a: tuple[str, ...]
    qs: frozenset
    as_: frozenset
    qtext: str
    atext: str
    verdict: str | None
    label: str | None  # quiz-local label 'Q1a'
    full_label: str | None
    bare: bool
    empty: bool
    mathy: bool
    formulas: frozenset
    path: str
    kind: str
    repaired: bool
    qnums: frozenset
    compact: str
    symbols: frozenset  # single-letter variables of the answer: M vs M/G tells formulas apart
    claims: tuple  # (sentence, its content-token set) of a non-true/false answer
    anums: frozenset  # numbers of the answer: "2 (# tokens)" vs "4 (# tokens)" are two facts
    context: str  # heading path / shared stem the card sits under (Card.context)
    asks_for: str  # "X" of a formula question "… X = ?": what the formula computes
    # (what the question asks, registry formula, answer) of a question-aware repair: "what is
    # LoRA?" (a definition) and "number of LoRA parameters" (a count) were filled differently,
    # and so were two counts written in the letters of two questions
    filled: tuple[str, str, str]


_MATH = re.compile(r"\$|\\[A-Za-z]+|=")


def features(card: Card, aliases: tuple[re.Pattern, dict[str, str]] | None) -> Features:
    # a quiz item without its statement (the cards pass says so with a cause)
    bare = any(card.has_cause(c) for c in STATEMENT_MISSING) or is_bare_label(card.question)
    q = () if bare else tuple(question_tokens(card.question))
    v = verdict(card.answer) if card.kind == "true-false" else None
    body = card.answer
    if v:
        body = normalize_verdict(card.answer)[len(v):].lstrip(" —")
    claims: tuple = ()
    if v:
        a = tuple(content_tokens(body))
    else:  # tokenize sentence by sentence once: the answer's tokens and its claims
        per_sentence = [(s, content_tokens(s)) for s in sentences(body)]
        a = tuple(t for _s, toks in per_sentence for t in toks)
        claims = tuple((s, frozenset(toks)) for s, toks in per_sentence[:8] if len(toks) >= 3)
    formulas = set(card.formulas)
    if aliases is not None:
        pattern, by_alias = aliases
        formulas.update(by_alias[m] for m in pattern.findall(fast_key(card.question)))
    return Features(
        q=q, a=a, qs=frozenset(q), as_=frozenset(a), qtext=" ".join(q), atext=" ".join(a),
        verdict=v, label=canonical_label(card.label or ""), full_label=card.label, bare=bare,
        empty=is_placeholder(card.answer), mathy=bool(_MATH.search(card.answer)) and len(a) <= 14,
        formulas=frozenset(formulas), path=card.sources[0].path if card.sources else "",
        kind=card.kind, repaired=card.has_flag("repaired"), qnums=numbers(list(q)), compact=compact_math(body),
        symbols=frozenset(_SYMBOL.findall(body)),
        claims=claims,
        anums=numbers(list(a)), context=card.context,
        asks_for=_asks_for(card.question),
        filled=next(((f.cause, f.formula, card.answer) for f in card.flags
                     if (f.name == "repaired" and f.cause.startswith(FILLED))
                     or f.cause in LETTER_CAUSES), ("", "", "")),
    )


_ASKS_FOR = re.compile(r"([^\s:$]+)\s*=\s*\?\$?\s*$")


def _asks_for(question: str) -> str:
    match = _ASKS_FOR.search(question)
    return match.group(1).lower() if match else ""


def _jaccard(x: frozenset, y: frozenset) -> float:
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def _answer_score(fa: Features, fb: Features) -> float:
    """Token similarity of two answers. A short answer that is a subset of a long one only
    counts when it is the long one's *prefix* ("α = CT / MB." vs "α = CT / MB = compute
    throughput ÷ memory bandwidth."), so three common symbols do not make a twin."""
    if not fa.atext or not fb.atext:
        return 0.0
    score = fuzz.token_sort_ratio(fa.atext, fb.atext)
    short, long = sorted((fa.a, fb.a), key=len)
    if len(short) >= 3 and long[: len(short)] == short:
        return max(score, 95.0)
    if sum(1 for t in short if len(t) >= 2) >= 5:  # words, not single-letter symbols
        return max(score, 0.9 * fuzz.token_set_ratio(fa.atext, fb.atext))
    return score


def _math_score(fa: Features, fb: Features) -> float:
    if not fa.compact or not fb.compact:
        return 0.0
    return fuzz.ratio(fa.compact, fb.compact)


_SYMBOL = re.compile(r"(?<![A-Za-z\\])[A-Za-z](?![A-Za-z])")
_COMPACT_DROP = re.compile(r"\$|\s+|\\[,;!]|\.$")
_COMPACT_TIMES = re.compile(r"\\cdot|\\times|[·⋅×*]")


def compact_math(answer: str) -> str:
    """'$CT = min(peak CT, \\alpha \\cdot MB)$.' -> 'ct=min(peakct,\\alpha*mb)'."""
    text = _COMPACT_TIMES.sub("*", answer.strip())
    return _COMPACT_DROP.sub("", text).lower()


class _Apart:
    """A rule's verdict that two cards are different cards: no later rule is asked."""

    def __repr__(self) -> str:
        return "APART"


APART = _Apart()
Decision = "tuple[str, str] | _Apart | None"  # ('merge' | 'conflict', reason), APART, or no opinion


class Pair:
    """Two cards' features and the scores the rules read, each computed at most once."""

    def __init__(self, a: Features, b: Features):
        self.a, self.b = a, b

    @cached_property
    def jq(self) -> float:  # question token-set overlap
        return _jaccard(self.a.qs, self.b.qs)

    @cached_property
    def rq(self) -> float:  # question similarity, word order ignored
        return fuzz.token_sort_ratio(self.a.qtext, self.b.qtext)

    @cached_property
    def solid(self) -> bool:  # both answers say enough for their similarity to mean something
        return len(self.a.as_) >= 3 and len(self.b.as_) >= 3

    @cached_property
    def empty(self) -> bool:
        # a registry-repaired answer was a placeholder in the notes: it does not tell cards apart
        return self.a.empty or self.b.empty or self.a.repaired or self.b.repaired

    @cached_property
    def both_math(self) -> bool:
        return self.a.mathy and self.b.mathy

    @cached_property
    def ans_tokens(self) -> float:  # answer similarity by tokens
        return _answer_score(self.a, self.b)

    @cached_property
    def ans(self) -> float:
        # single-letter symbols make token scores meaningless for formulas
        return _math_score(self.a, self.b) if self.both_math else _answer_score(self.a, self.b)


# -- the rules, in order: the first that has an opinion decides ------------------------------


def _other_numbers(p: Pair) -> Decision:
    # "Stride 3→2 incurs 2× more ops" vs "… 1.5× more ops"
    if p.a.qnums and p.b.qnums and p.a.qnums != p.b.qnums:
        return APART
    return None


def _other_quiz_item(p: Pair) -> Decision:
    # Quiz 2 Q1c and Quiz 2 Q1d are two items, however alike their words
    qa, qb = quiz_of(p.a.full_label), quiz_of(p.b.full_label)
    if qa and qa == qb and p.a.label and p.b.label and p.a.label != p.b.label:
        return APART
    return None


def _bare_label(p: Pair) -> Decision:
    """A bare label ("Quiz 4 Q1c") only joins its own full wording, or an identical answer."""
    if not (p.a.bare or p.b.bare):
        return None
    if p.a.label and p.a.label == p.b.label and p.solid and p.ans_tokens >= ANSWER_SAME:
        return _verdicts(p.a, p.b, f"bare label {p.a.label} + its full wording")
    if p.solid and p.a.atext == p.b.atext and len(p.a.as_) >= 5:
        return _verdicts(p.a, p.b, "same answer, one side a bare label")
    return APART


def _no_question(p: Pair) -> Decision:
    return APART if not p.a.qs or not p.b.qs else None


def _told_apart_by_construction(p: Pair) -> Decision:
    return APART if p.a.qtext != p.b.qtext and _told_apart(p.a, p.b) else None


# Words that name the two sides of one distinction: questions that differ by such a pair ask
# about different things, however alike the rest and the answers ("FLOPs for the forward pass" vs
# "… the backward pass", both "2 (# tokens)(# params)" in one note: one of them is wrong, and
# merging would lose which). Keyed like question tokens (content_tokens: lower case, singular).
CONTRASTS: frozenset[frozenset[str]] = frozenset(frozenset(pair) for pair in (
    ("forward", "backward"), ("encoder", "decoder"), ("prefill", "decode"), ("input", "output"),
    ("min", "max"), ("minimum", "maximum"), ("training", "inference"), ("read", "write"),
    ("upper", "lower"), ("increase", "decrease"), ("larger", "smaller"), ("more", "fewer"),
    ("first", "last"), ("compute", "memory"), ("weight", "activation"), ("key", "value"),
    ("row", "column"), ("width", "height"), ("before", "after"), ("static", "dynamic"),
    ("symmetric", "asymmetric"), ("signed", "unsigned"), ("dense", "sparse"),
))


def _contrasting_questions(p: Pair) -> Decision:
    only_a, only_b = p.a.qs - p.b.qs, p.b.qs - p.a.qs
    if any(frozenset((x, y)) in CONTRASTS for x in only_a for y in only_b):
        return APART
    return None


def _same_repair(p: Pair) -> Decision:
    # "LoRA — what is it?" and "Low-Rank Adaptation (LoRA)": two empty answers that the
    # repair read as the same question about the same formula, answered alike
    fa, fb = p.a, p.b
    if fa.filled[0] and fa.filled == fb.filled and fa.filled[0] not in LETTER_CAUSES:
        return "merge", f"the same question-aware repair ({fa.filled[1]})"
    return None


def _options_or_cloze(p: Pair) -> Decision:
    # options / cloze text are their own identity; only true repeats merge
    if p.a.kind not in EXACT_ONLY and p.b.kind not in EXACT_ONLY:
        return None
    return ("merge", "exact repeat") if p.a.qtext == p.b.qtext and p.a.atext == p.b.atext else APART


def _true_false_statements(p: Pair) -> Decision:
    """Two true/false items: the same statement (merge, or conflict on opposite verdicts)."""
    fa, fb = p.a, p.b
    if not (fa.verdict and fb.verdict):
        return None
    if fa.qnums != fb.qnums:
        return APART
    if _letters(fa) and _letters(fb) and _letters(fa) != _letters(fb):
        return APART  # "saving decreases as N increases" vs "… as k increases": other claims
    same_label = fa.full_label and fa.full_label == fb.full_label and p.jq >= 0.4
    if p.rq >= SAME_STATEMENT or fa.qtext == fb.qtext or same_label:
        return _verdicts(fa, fb, f"same statement (question {p.rq:.0f})")
    return APART


def _one_true_false(p: Pair) -> Decision:
    # a true/false item and a basic card: different cards (see asserted())
    return APART if p.a.verdict or p.b.verdict else None


def _words_reordered(p: Pair) -> Decision:
    if p.a.qs == p.b.qs and len(p.a.qs) >= 2 and p.a.qtext != p.b.qtext:
        return "merge", "same question, words reordered"
    return None


def _same_question(p: Pair) -> Decision:
    if p.a.qtext != p.b.qtext:
        return None
    same = p.a.empty or p.b.empty or p.ans_tokens >= ANSWER_SAME
    return "merge", "exact repeat" if same else "same question"


def _nothing_close(p: Pair) -> Decision:
    # a cheap reject before the scores below: none of the later rules can fire
    if (p.jq < 0.34 and p.rq < REWORDED_Q_RATIO and _jaccard(p.a.as_, p.b.as_) < 0.3
            and not p.a.formulas & p.b.formulas):
        return APART
    return None


def _other_formula(p: Pair) -> Decision:
    # E·F·K·K·C·M vs E·F·K·K·C·M/G: different formulas
    return APART if p.both_math and p.a.symbols != p.b.symbols and not p.empty else None


def _reworded_twin(p: Pair) -> Decision:
    close_q = p.jq >= REWORDED_Q_JACCARD or p.rq >= REWORDED_Q_RATIO
    if p.empty and p.a.path != p.b.path:
        close_q = p.jq >= 0.75 or p.rq >= REWORDED_Q_RATIO  # across files, a short title is not enough
    if close_q and (p.empty or p.ans >= ANSWER_MATCH):
        return "merge", f"reworded twin (question {p.rq:.0f}, answer {p.ans:.0f})"
    return None


def _same_answer_related_question(p: Pair) -> Decision:
    if p.jq >= 0.34 and p.solid and p.ans >= ANSWER_SAME:
        return "merge", f"same answer, related question (answer {p.ans:.0f})"
    return None


def _same_formula_twice(p: Pair) -> Decision:
    if p.both_math and p.ans >= 90 and (p.jq > 0 or len(p.a.compact) >= 12):
        return "merge", f"same formula written twice (answer {p.ans:.0f})"
    return None


def _same_registry_formula(p: Pair) -> Decision:
    shared = sorted(p.a.formulas & p.b.formulas)
    formulaish = all(f.kind == "formula" or f.mathy or f.empty for f in (p.a, p.b))
    related = p.jq >= 0.34
    close_math = p.both_math and p.ans >= 60 and (related or p.a.path == p.b.path)
    if shared and formulaish and ((p.empty and related) or close_math):
        return "merge", f"same registry formula {shared[0]}"
    return None


# The decision procedure is this list (the table of contents of `decide`): vetoes that say two
# cards are different by construction first, then the ways two cards are one, strictest first.
RULES: list[tuple[str, Callable[[Pair], Decision]]] = [
    ("other-numbers", _other_numbers),
    ("other-quiz-item", _other_quiz_item),
    ("bare-label", _bare_label),
    ("no-question", _no_question),
    ("told-apart", _told_apart_by_construction),
    ("contrasting-questions", _contrasting_questions),
    ("same-repair", _same_repair),
    ("options-or-cloze", _options_or_cloze),
    ("true-false-statements", _true_false_statements),
    ("one-true-false", _one_true_false),
    ("words-reordered", _words_reordered),
    ("same-question", _same_question),
    ("nothing-close", _nothing_close),
    ("other-formula", _other_formula),
    ("reworded-twin", _reworded_twin),
    ("same-answer-related-question", _same_answer_related_question),
    ("same-formula-twice", _same_formula_twice),
    ("same-registry-formula", _same_registry_formula),
]


def decide(fa: Features, fb: Features) -> tuple[str, str] | None:
    """('merge' | 'conflict', reason) for two cards, or None when they are different cards."""
    pair = Pair(fa, fb)
    for _name, rule in RULES:
        decision = rule(pair)
        if decision is APART:
            return None
        if decision is not None:
            return decision
    return None


def _letters(f: Features) -> frozenset:
    """Single-letter variables a statement is about (N, k, d)."""
    return frozenset(t for t in f.q if len(t) == 1 and t.isalpha())


def _told_apart(fa: Features, fb: Features) -> bool:
    """Two differently worded cards that are different facts by construction:
    - items of one file under different contexts (heading paths, stems): an author's two list
      items under two headings are two study items, however alike their words;
    - unanswered questions under different stems (an exam question asks about its own numbers)
      and unanswered sub-questions of one stem;
    - formula questions asking for different quantities ("num_gradients = ?" vs
      "num_optimizer_states = ?", both "= num_parameters");
    - empty answers repaired as different questions (a definition vs a count, or counts of
      two quantities);
    - answers that state different numbers ("2 (# tokens)(# params)" vs "4 (# tokens)…")."""
    if fa.context and fb.context:
        if fa.context != fb.context and (fa.path == fb.path or fa.empty or fb.empty):
            return True  # under other headings of one file, or unanswered under other stems
        if fa.path == fb.path and fa.empty and fb.empty:
            return True  # sub-questions of one stem
    if fa.asks_for and fb.asks_for and fa.asks_for != fb.asks_for:
        return True
    if fa.filled[0] and fb.filled[0] and fa.filled != fb.filled:
        return True  # two empty answers that the repair read as different questions
    if fa.filled[0] in LETTER_CAUSES or fb.filled[0] in LETTER_CAUSES:
        return True  # a question in its own letters that no formula could be written in
    return bool(fa.anums and fb.anums and fa.anums != fb.anums)


def _verdicts(fa: Features, fb: Features, why: str) -> tuple[str, str]:
    if fa.verdict and fb.verdict and fa.verdict != fb.verdict:
        return "conflict", why
    return "merge", why


def asserted(statement: Features, other: Features) -> str | None:
    """The sentence of `other`'s answer that states the true/false `statement`, if any."""
    if not statement.verdict or other.verdict or len(statement.qs) < 3:
        return None
    for sentence, toks in other.claims:
        if len(statement.qs & toks) / len(toks) >= 0.8 or (
            len(statement.qs & toks) >= 3
            and fuzz.token_sort_ratio(statement.qtext, " ".join(sorted(toks))) >= ASSERTED
        ):
            return sentence
    return None


# -- candidate generation ------------------------------------------------------------------


def _group_pairs(keys: list, pairs: set[tuple[int, int]]) -> None:
    groups: dict = defaultdict(list)
    for i, key in enumerate(keys):
        if key:
            groups[key].append(i)
    for members in groups.values():
        if 1 < len(members) <= GROUP_CAP:
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    pairs.add((members[x], members[y]))


def candidates(feats: list[Features], cards: list[Card]) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    _group_pairs([f.qtext if f.qs else None for f in feats], pairs)
    _group_pairs([f.atext if len(f.as_) >= 3 else None for f in feats], pairs)
    _group_pairs([(f.path, f.full_label) if f.full_label else None for f in feats], pairs)
    by_formula: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(feats):
        for fid in f.formulas:
            by_formula[fid].append(i)
    for members in by_formula.values():
        if 1 < len(members) <= GROUP_CAP:
            pairs.update((members[x], members[y]) for x in range(len(members)) for y in range(x + 1, len(members)))
    pairs.update(_lsh_pairs(feats, cards))
    return pairs


def _lsh_pairs(feats: list[Features], cards: list[Card]) -> set[tuple[int, int]]:
    vocab: dict[str, int] = {}
    ids: list[int] = []
    lengths: list[int] = []
    owner: list[int] = []

    def add(tokens, card_index: int) -> None:
        ids.extend(vocab.setdefault(t, len(vocab)) for t in tokens)
        lengths.append(len(tokens))
        owner.append(card_index)

    for i, f in enumerate(feats):
        add(f.q + f.a, i)
        if f.verdict and f.qs:
            add(f.q, i)  # the statement alone, to meet answer sentences that assert it
        elif not f.verdict:
            if len(f.qs) >= 2:
                add(f.q, i)  # the question alone: twins whose answers differ (one repaired)
            for _sentence, toks in f.claims:
                add(tuple(toks), i)
    flat = np.asarray(ids, dtype=np.int64)
    lens = np.asarray(lengths, dtype=np.int64)
    # Very common tokens make every pair look alike to MinHash; they carry no identity.
    common = max(30, len(feats) // 200)
    keep = np.bincount(flat, minlength=len(vocab))[flat] <= common if len(flat) else np.zeros(0, bool)
    doc_of = np.repeat(np.arange(len(lens)), lens)
    kept_lens = np.bincount(doc_of[keep], minlength=len(lens))
    useful = kept_lens >= 2
    kept_lens = np.where(useful, kept_lens, 0)
    flat = flat[keep & useful[doc_of]]
    owner_arr = np.asarray(owner)
    rows = np.nonzero(useful)[0]
    # Small note sets afford a generous banding (more candidates, higher recall).
    bands, width = (30, 2) if len(rows) < 20000 else (20, 5)
    sig = signatures_flat(flat.astype(np.uint64), kept_lens[rows], bands * width)
    out = set()
    for x, y in candidate_pairs(sig, bands, width):
        a, b = int(owner_arr[rows[x]]), int(owner_arr[rows[y]])
        if a != b:
            out.add((min(a, b), max(a, b)))
    return out


# -- clustering and merging ----------------------------------------------------------------


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, x: int, y: int) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            self.parent[max(rx, ry)] = min(rx, ry)


def _completeness(card: Card, f: Features) -> tuple:
    """Most complete question: not a bare label, most content words (boilerplate excluded)."""
    return (not f.bare, len(f.q), len(card.question))


def _answer_rank(card: Card, f: Features) -> tuple:
    return (not f.empty, not card.has_flag("repaired"), len(card.answer))


def merge_cluster(members: list[Card], feats: list[Features], reasons: list[str], conflict: bool) -> tuple[Card, Merge]:
    order = sorted(range(len(members)), key=lambda k: (members[k].sources[0], k))
    members = [members[k] for k in order]
    feats = [feats[k] for k in order]
    qi = max(range(len(members)), key=lambda k: (_completeness(members[k], feats[k]), -k))
    ai = max(range(len(members)), key=lambda k: (_answer_rank(members[k], feats[k]), -k))
    base, best = members[qi], members[ai]
    sources = tuple(sorted({s for m in members for s in m.sources}))
    flags = _merged_flags(members, feats, best, qi, ai)
    answer, kind = best.answer, best.kind if best.kind != "basic" else base.kind
    extra_parts = [m.extra for m in members if m.extra]
    if conflict:
        answer, reason = _conflict_answer(members, feats)
        # The sides as data: every member with a verdict; `check` reads each side's verdict
        # from that item, never from this reason's wording.
        sides = tuple(sorted(m.sources[0] for m, f in zip(members, feats, strict=True) if f.verdict))
        flags.append(Flag("conflict", reason, cause="conflict", sides=sides))
        kind = "true-false"
    else:
        for m, f in zip(members, feats, strict=True):
            if m is best or f.empty or m.answer == best.answer or m.has_flag("repaired"):
                continue  # a registry repair is not "in the notes"
            if fuzz.token_sort_ratio(f.atext, feats[ai].atext) < 80:
                # no file:line here: card text must not change when unrelated lines move
                extra_parts.append(f"Also in the notes: {m.answer}")
    mc = next((m for m in members if m.options), None)
    merged = replace(
        base,
        kind=kind,
        answer=answer,
        sources=sources,
        options=mc.options if mc else base.options,
        correct=mc.correct if mc else base.correct,
        label=base.label or next((m.label for m in members if m.label), None),
        # the quiz stem of any member: a repeat pasted without its setup is the same item
        context=base.context or next((m.context for m in members if m.context), ""),
        tags=_union(m.tags for m in members),
        concepts=_union(m.concepts for m in members),
        formulas=_union(m.formulas for m in members),
        flags=tuple(_dedupe_flags(flags)),
        extra="\n".join(dict.fromkeys(extra_parts)),
    )
    reason = "; ".join(dict.fromkeys(reasons)) or "same card"
    return merged, Merge(merged.id, sources, reason)


def _union(groups) -> tuple[str, ...]:
    return tuple(sorted({x for g in groups for x in g}))


def _merged_flags(members, feats, best, qi, ai) -> list[Flag]:
    flags = []
    real_answer = not feats[ai].empty and not best.has_flag("repaired")
    for m in members:
        for flag in m.flags:
            if flag.name == "repaired" and real_answer:
                continue  # a member's own answer beat the registry repair
            if flag.cause in STATEMENT_MISSING and not feats[qi].bare:
                continue  # the full wording of the quiz item was found
            if flag.cause == MISSING_ANSWER and not feats[ai].empty:
                continue
            flags.append(flag)
    return flags


def _dedupe_flags(flags: list[Flag]) -> list[Flag]:
    seen, out = set(), []
    for flag in flags:
        if (flag.name, flag.reason) not in seen:
            seen.add((flag.name, flag.reason))
            out.append(flag)
    return out


def _conflict_answer(members: list[Card], feats: list[Features]) -> tuple[str, str]:
    by_verdict: dict[str, list[tuple[Card, Features]]] = defaultdict(list)
    for m, f in zip(members, feats, strict=True):
        if f.verdict:
            by_verdict[f.verdict].append((m, f))
    lines, parts = [], []
    for v in sorted(by_verdict):
        group = by_verdict[v]
        where = ", ".join(str(m.sources[0]) for m, _ in group)
        text = max((m.answer for m, _ in group), key=len)
        lines.append(f"- {text}")  # locations go in the flag reason, not in the card text
        parts.append(f"{text!r} at {where}")
    answer = "The notes disagree:\n" + "\n".join(lines)
    reason = "contradicting answers for one statement: " + " vs ".join(parts) + "; fix the notes"
    return answer, reason


def _registry_aliases(ctx) -> tuple[re.Pattern, dict[str, str]] | None:
    """One regex over every formula name/alias of the registry (longest first)."""
    registry = getattr(ctx, "registry", None)
    by_alias: dict[str, str] = {}
    for formula in sorted(getattr(registry, "formulas", ()) or (), key=lambda f: f.id):
        for alias in (formula.name, *formula.aliases):
            key = fast_key(alias)
            if len(key) >= 4:
                by_alias.setdefault(key, formula.id)
    if not by_alias:
        return None
    alternatives = "|".join(re.escape(a) for a in sorted(by_alias, key=lambda a: (-len(a), a)))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"), by_alias


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while building acyclic bulk data: at 100k cards
    its repeated full scans of the growing heap cost as much as the dedupe work itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def dedupe(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    with _gc_paused():
        return _dedupe(graph, ctx)


def _dedupe(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    cards = list(graph.cards)
    if len(cards) < 2:
        return graph
    aliases = _registry_aliases(ctx)
    feats = [features(c, aliases) for c in cards]
    uf = _UnionFind(len(cards))
    reasons: dict[tuple[int, int], str] = {}
    conflict_pairs: list[tuple[int, int]] = []
    assertions: list[tuple[int, int, str]] = []
    for i, j in sorted(candidates(feats, cards)):
        decision = decide(feats[i], feats[j])
        if decision is None:
            for s, o in ((i, j), (j, i)):
                sentence = asserted(feats[s], feats[o])
                if sentence and feats[s].verdict == "False":
                    assertions.append((s, o, sentence))
            continue
        verb, why = decision
        uf.union(i, j)
        reasons[(i, j)] = why
        if verb == "conflict":
            conflict_pairs.append((i, j))
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(len(cards)):
        clusters[uf.find(i)].append(i)
    conflicted_roots = {uf.find(i) for i, _ in conflict_pairs}
    why_by_root: dict[int, list[str]] = defaultdict(list)
    for pair in sorted(reasons):
        why_by_root[uf.find(pair[0])].append(reasons[pair])
    new_cards: dict[int, Card] = {}
    merges = []
    for root, idx in clusters.items():
        if len(idx) == 1:
            new_cards[root] = cards[idx[0]]
            continue
        members = [cards[k] for k in idx]
        why = why_by_root[root]
        conflict = root in conflicted_roots and len({feats[k].verdict for k in idx if feats[k].verdict}) > 1
        merged, record = merge_cluster(members, [feats[k] for k in idx], why, conflict)
        new_cards[root] = merged
        merges.append(record)
    for s, o, sentence in assertions:
        rs, ro = uf.find(s), uf.find(o)
        claim = cards[s]
        sides = (claim.sources[0], cards[o].sources[0])  # the quiz item, the stated fact
        new_cards[rs] = new_cards[rs].with_flag(
            "conflict", f"the notes call this {feats[s].verdict} at {claim.sources[0]}, but "
            f"{cards[o].sources[0]} states it as fact: {sentence!r}", cause="conflict", sides=sides)
        new_cards[ro] = new_cards[ro].with_flag(
            "conflict", f"{cards[o].sources[0]} states {sentence!r}, but {claim.label or 'a quiz item'} "
            f"at {claim.sources[0]} marks it {feats[s].verdict}", cause="conflict", sides=sides)
    out = [new_cards[root] for root in sorted(clusters)]
    merges.sort(key=lambda m: (m.members[0], m.card_id))
    return graph.replace(cards=tuple(out), merges=graph.merges + tuple(merges))
