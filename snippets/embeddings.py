"""Word and sentence embeddings: skip-gram (word2vec) context pairs and objective, mean pooling."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/embeddings.py"
TESTS = "tests/snippets/test_embeddings.py"

CONCEPTS = [
    Concept(
        id="word-embeddings",
        name="Word and sentence embeddings",
        aliases=("word embeddings", "word2vec", "skip-gram", "static word embeddings", "mean pooling"),
        definition=(
            "Static word embeddings such as word2vec give every vocabulary entry one dense "
            "vector. The skip-gram objective learns them by predicting, for each word $w_t$, the "
            "words within a window of $c$ positions around it, "
            "$\\frac{1}{T}\\sum_t\\sum_{-c\\le j\\le c,\\,j\\ne 0}\\log p(w_{t+j}\\mid w_t)$ with "
            "$p(o\\mid i)=\\operatorname{softmax}(v'_o\\cdot v_i)$, so words that share contexts "
            "get similar vectors; the cost is context-freedom (one vector for every sense of "
            "\"bank\"). A sentence or sequence embedding can be read off a contextual encoder by "
            "mean pooling: the average of the token vectors, ignoring padding."
        ),
        formulas=("skip-gram", "mean-pooling"),
        related=("attention",),
    )
]

FORMULAS = [
    Formula(
        id="skip-gram",
        name="Skip-gram objective and context pairs",
        latex=(
            r"\frac{1}{T}\sum_{t=1}^{T}\sum_{\substack{-c\le j\le c\\ j\neq 0}}\log p(w_{t+j}\mid w_t),\qquad "
            r"p(w_O\mid w_I)=\frac{\exp({v'_{w_O}}^{\top}v_{w_I})}{\sum_{w=1}^{V}\exp({v'_w}^{\top}v_{w_I})}"
        ),
        concept="word-embeddings",
        aliases=(
            "least likely to appear around the word",
            "skip-gram",
            "word2vec",
            "static/shallow word embeddings",
        ),
        module=MODULE,
        section="skip_gram",
        tests=(f"{TESTS}::test_skip_gram_pairs_match_brute_force", f"{TESTS}::test_skip_gram_loss_matches_torch"),
        symbols=(
            ("T", "corpus length (words)"),
            ("c", "context window size"),
            ("w_t", "centre word at position t"),
            ("v_{w_I}", "input vector of word w_I"),
            ("V", "vocabulary size"),
        ),
    ),
    Formula(
        id="mean-pooling",
        name="Mean pooling",
        latex=r"e=\frac{\sum_{i=1}^{n}m_i\,h_i}{\sum_{i=1}^{n}m_i},\qquad m_i\in\{0,1\}\text{ (padding mask)}",
        concept="word-embeddings",
        aliases=("mean pooling", "embedding through mean pooling", "average pooling of token embeddings"),
        module=MODULE,
        section="mean_pooling",
        tests=(f"{TESTS}::test_mean_pooling_matches_torch",),
        symbols=(
            ("e", "sentence embedding"),
            ("h_i", "token embedding i"),
            ("m_i", "padding mask of token i"),
            ("n", "number of tokens"),
        ),
    ),
]


# --8<-- [start:skip_gram]
def skip_gram_pairs(tokens: list[str], window: int) -> list[tuple[str, str]]:
    """(center, context) for every context word at most `window` positions away."""
    pairs = []
    for t, center in enumerate(tokens):
        for j in range(max(0, t - window), min(len(tokens), t + window + 1)):
            if j != t:
                pairs.append((center, tokens[j]))
    return pairs


def skip_gram_log_likelihood(v_in: np.ndarray, v_out: np.ndarray, pairs_idx) -> float:
    """Mean of log softmax(v_out @ v_in[i])[o] over (i, o) index pairs."""
    total = 0.0
    for i, o in pairs_idx:
        scores = v_out @ v_in[i]
        m = scores.max()
        total += scores[o] - m - np.log(np.exp(scores - m).sum())
    return total / len(pairs_idx)
# --8<-- [end:skip_gram]


# --8<-- [start:mean_pooling]
def mean_pool(h: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Average of the token vectors h (n, d), counting only positions with mask = 1."""
    mask = np.ones(h.shape[0]) if mask is None else np.asarray(mask, dtype=np.float64)
    return (mask[:, None] * h).sum(axis=0) / mask.sum()
# --8<-- [end:mean_pooling]
