"""snippets/tokenization.py: BPE merges against a brute-force pair count; round trips."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deckforge_snippets import tokenization as T

TEXT = "low lower lowest newer newest wider widest " * 20 + "the quick brown fox jumps 🦊"


def test_each_merge_is_the_most_frequent_pair():
    merges = T.train_bpe(TEXT, 12)
    seq = list(TEXT.encode("utf-8"))
    for pair, new_id in merges.items():
        counts = {}
        for i in range(len(seq) - 1):  # brute force, overlapping pairs included
            counts[(seq[i], seq[i + 1])] = counts.get((seq[i], seq[i + 1]), 0) + 1
        best = max(counts.values())
        assert counts[pair] == best and pair == min(p for p, c in counts.items() if c == best)
        seq = T._merge(seq, pair, new_id)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_roundtrip_on_arbitrary_text(text):
    merges = T.train_bpe(TEXT, 20)
    assert T.decode(T.encode(text, merges), merges) == text  # no UNK: bytes cover everything


def test_vocab_size_and_compression():
    merges = T.train_bpe(TEXT, 30)
    assert sorted(merges.values()) == list(range(256, 256 + 30))  # |V| = 256 + k
    ids = T.encode(TEXT, merges)
    assert len(TEXT.encode("utf-8")) / len(ids) > 2.0  # common sequences became single tokens
    assert T.encode("zq", merges) == list(b"zq")  # rare strings stay split into bytes
