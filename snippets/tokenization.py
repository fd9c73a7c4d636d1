"""Byte-level BPE (CS336 Lecture 1): start from the 256 byte values, repeatedly merge the most
frequent adjacent pair into a new token; encoding replays the merges in training order."""

from __future__ import annotations

from collections import Counter

from deckforge.model import Concept, Formula

MODULE = "snippets/tokenization.py"
TESTS = "tests/snippets/test_tokenization.py"

CONCEPTS = [
    Concept(
        id="tokenization",
        name="Tokenization and byte-level BPE",
        aliases=("tokenization", "tokenizer", "byte pair encoding", "byte-pair encoding", "bpe"),
        definition=(
            "A tokenizer maps text to a sequence of integer ids. Character or word vocabularies "
            "are either huge (Unicode has over 150k code points; words are unbounded, so "
            "out-of-vocabulary tokens are inevitable) or waste capacity on rare entries, while raw "
            "bytes give a tiny vocabulary but very long sequences. Byte-level BPE starts from the "
            "256 byte values, which cover every string with no UNK token, and learns merges from "
            "data: repeatedly replace the most frequent adjacent pair by a new token, so common "
            "character sequences become single tokens and rare ones stay split into many. After "
            "$k$ merges the vocabulary has $256+k$ entries; the compression ratio (bytes per "
            "token) measures how much shorter sequences get."
        ),
        formulas=("bpe-merge",),
        related=("language-modeling",),
    )
]

FORMULAS = [
    Formula(
        id="bpe-merge",
        name="BPE merge rule, vocabulary size and compression ratio",
        latex=(
            r"(a^*,b^*)=\arg\max_{(a,b)}\operatorname{count}(a\,b),\quad |V|=256+k\text{ after }k\text{ merges},\quad "
            r"\text{compression}=\frac{\#\text{bytes}}{\#\text{tokens}}"
        ),
        concept="tokenization",
        aliases=("bpe and why", "byte-level bpe", "character/word-level tokenizer", "why not byte-level", "byte-level"),
        module=MODULE,
        section="bpe",
        tests=(
            f"{TESTS}::test_each_merge_is_the_most_frequent_pair",
            f"{TESTS}::test_roundtrip_on_arbitrary_text",
            f"{TESTS}::test_vocab_size_and_compression",
        ),
        symbols=(
            ("a", "left token of a pair"),
            ("b", "right token of a pair"),
            ("V", "vocabulary"),
            ("k", "number of merges"),
        ),
    )
]


# --8<-- [start:bpe]
def _merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(text: str, n_merges: int) -> dict[tuple[int, int], int]:
    """Merges in training order; ties go to the smallest pair, so training is deterministic."""
    ids = list(text.encode("utf-8"))
    merges: dict[tuple[int, int], int] = {}
    for k in range(n_merges):
        counts = Counter(zip(ids, ids[1:], strict=False))
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        merges[pair] = 256 + k
        ids = _merge(ids, pair, 256 + k)
    return merges


def encode(text: str, merges: dict[tuple[int, int], int]) -> list[int]:
    ids = list(text.encode("utf-8"))
    for pair, new_id in merges.items():  # dicts keep insertion (training) order
        ids = _merge(ids, pair, new_id)
    return ids


def decode(ids: list[int], merges: dict[tuple[int, int], int]) -> str:
    vocab = {i: bytes([i]) for i in range(256)}
    for (a, b), new_id in merges.items():
        vocab[new_id] = vocab[a] + vocab[b]
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
# --8<-- [end:bpe]
