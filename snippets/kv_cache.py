"""KV cache: its size, what it saves at decode time, and how MQA/GQA shrink it.

During autoregressive decoding the keys and values of past tokens never change, so they are
computed once (prefill) and kept; each new token then only projects itself and attends to
the cache. Multi-query / grouped-query attention share K/V heads across query heads.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/kv_cache.py"
TESTS = "tests/snippets/test_kv_cache.py"

CONCEPTS = [
    Concept(
        id="kv-cache",
        name="KV cache",
        aliases=("kv cache", "kv-cache", "kv caching", "key-value caching", "key-value cache"),
        definition=(
            "A KV cache stores the key and value vectors of every token already processed, per "
            "layer and per KV head, so that generating the next token only needs the new token's "
            "projections plus one attention read over the cache instead of re-running the whole "
            "prefix. Prefill fills the cache for the prompt in one parallel pass; each decode step "
            "appends one entry. It costs memory, $2\\cdot n_{\\text{layers}}\\cdot "
            "n_{\\text{kv heads}}\\cdot d_{\\text{head}}\\cdot \\text{seq}\\cdot\\text{batch}"
            "\\cdot\\text{bytes}$, which at long contexts rivals the weights, and it makes decoding "
            "memory-bound: every step reads the whole cache and does about one multiply-add per "
            "cached number."
        ),
        formulas=("kv-cache-size", "kv-cache-decode-cost"),
        related=("attention", "grouped-query-attention", "flash-attention", "roofline"),
    ),
    Concept(
        id="grouped-query-attention",
        name="Multi-query and grouped-query attention",
        aliases=("grouped-query attention", "grouped query attention", "multi-query attention", "gqa", "mqa"),
        definition=(
            "Multi-query attention (MQA) keeps many query heads but a single key/value head; "
            "grouped-query attention (GQA) is the middle ground where each group of "
            "$n_{\\text{heads}}/n_{\\text{kv heads}}$ query heads shares one K/V head. The "
            "attention math is unchanged (it equals multi-head attention with the shared K/V "
            "heads repeated), but the KV cache and the memory traffic of each decode step shrink "
            "by the factor $n_{\\text{heads}}/n_{\\text{kv heads}}$, which raises the arithmetic "
            "intensity of decoding by up to that factor."
        ),
        formulas=("mqa-gqa-cache",),
        related=("kv-cache", "attention", "roofline"),
    ),
]

FORMULAS = [
    Formula(
        id="kv-cache-size",
        counts=("bytes",),
        name="KV-cache size",
        latex=(
            r"\text{KV bytes}=2\cdot n_{\text{layers}}\cdot n_{\text{kv heads}}\cdot d_{\text{head}}"
            r"\cdot \text{seq}\cdot \text{batch}\cdot \text{bytes per element}"
        ),
        concept="kv-cache",
        aliases=(
            "kv cache size",
            "kv-cache size",
            "size of the kv cache",
            "buffer the v and k",
            "small kv caches",
        ),
        module=MODULE,
        section="kv_cache_size",
        tests=(f"{TESTS}::test_cache_size_matches_allocated_tensors",),
        symbols=(
            (r"n_{\text{layers}}", "number of layers"),
            (r"n_{\text{kv heads}}", "number of key-value heads"),
            (r"d_{\text{head}}", "head dimension"),
            (r"\text{seq}", "sequence length (tokens cached)"),
            (r"\text{batch}", "batch size"),
            (r"\text{bytes per element}", "bytes per element (precision)"),
        ),
    ),
    Formula(
        id="kv-cache-decode-cost",
        counts=("flops",),
        name="Decode cost with and without a KV cache",
        latex=(
            r"\text{FLOPs}_{\text{cached}}(t)=n_{\text{layers}}\,(8d^2+4td),\qquad "
            r"\text{FLOPs}_{\text{recompute}}(t)=n_{\text{layers}}\,(8td^2+4t^2d)"
        ),
        concept="kv-cache",
        aliases=(
            "key-value caching",
            "kv caching",
            "kv-caching",
            "kv cache saves computation",
            "prefilling",
            "decoding phase",
        ),
        module=MODULE,
        section="kv_cache_decode_cost",
        tests=(
            f"{TESTS}::test_cached_decode_equals_recomputation",
            f"{TESTS}::test_decode_flops_match_flop_counter",
        ),
        symbols=(
            (r"n_{\text{layers}}", "number of layers"),
            ("d", "model (hidden) dimension"),
            ("t", "number of tokens so far (context length)"),
        ),
    ),
    Formula(
        id="mqa-gqa-cache",
        name="MQA/GQA cache reduction and decode arithmetic intensity",
        latex=(
            r"\frac{\text{KV}_{\text{MHA}}}{\text{KV}_{\text{GQA}}}=\frac{n_{\text{heads}}}{n_{\text{kv heads}}},\qquad "
            r"I_{\text{MHA}}=O\!\left(\Bigl(\frac{n}{d}+\frac{1}{b}\Bigr)^{-1}\right),\quad "
            r"I_{\text{MQA}}=O\!\left(\Bigl(\frac{n}{dh}+\frac{1}{b}\Bigr)^{-1}\right)"
        ),
        concept="grouped-query-attention",
        aliases=(
            "multi-query attention",
            "grouped-query attention",
            "grouped query attention",
            "gqa reduces kv cache",
            "mqa",
            "gqa",
        ),
        module=MODULE,
        section="mqa_gqa_cache",
        tests=(
            f"{TESTS}::test_gqa_equals_mha_with_repeated_kv_heads",
            f"{TESTS}::test_gqa_cache_reduction",
            f"{TESTS}::test_arithmetic_intensity_of_decoding",
        ),
        symbols=(
            (r"n_{\text{heads}}", "number of query heads"),
            (r"n_{\text{kv heads}}", "number of key-value heads"),
            ("n", "sequence length"),
            ("d", "model dimension"),
            ("b", "batch size"),
            ("h", "number of heads"),
        ),
    ),
]


# --8<-- [start:kv_cache_size]
def kv_cache_bytes(n_layers, n_kv_heads, d_head, seq, batch, bytes_per_element=2):
    """K and V (the factor 2), for every layer, KV head, position and sequence in the batch."""
    return 2 * n_layers * n_kv_heads * d_head * seq * batch * bytes_per_element
# --8<-- [end:kv_cache_size]


# --8<-- [start:kv_cache_decode_cost]
def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def decode_without_cache(x, w_q, w_k, w_v, w_o):
    """What a model without a cache does: a full causal pass over the prefix x (t, d).

    (In a deep model every layer needs all positions of the layer below, so nothing can be
    skipped.) Returns the last token's output.
    """
    t = x.shape[0]
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    mask = np.triu(np.full((t, t), -np.inf), k=1)
    return (_softmax(q @ k.T / np.sqrt(q.shape[1]) + mask) @ v @ w_o)[-1:]


def decode_with_cache(x_new, cache, w_q, w_k, w_v, w_o):
    """Project only the new token (1, d), append its k, v to the cache, attend over the cache."""
    cache["k"] = np.vstack([cache["k"], x_new @ w_k])
    cache["v"] = np.vstack([cache["v"], x_new @ w_v])
    q = x_new @ w_q
    return _softmax(q @ cache["k"].T / np.sqrt(q.shape[1])) @ cache["v"] @ w_o


def decode_flops(t, d, n_layers=1, cached=True):
    """Attention-block FLOPs to produce token t (t tokens of context, 2 FLOPs per MAC).

    cached: Q, K, V, O projections of one token (4 d^2 MACs) + q K^T and p V over t keys.
    recompute: a full causal pass over all t tokens (4 t d^2 MACs + 2 t^2 d MACs).
    """
    if cached:
        return n_layers * (8 * d * d + 4 * t * d)
    return n_layers * (8 * t * d * d + 4 * t * t * d)
# --8<-- [end:kv_cache_decode_cost]


# --8<-- [start:mqa_gqa_cache]
def gqa_attention(q, k, v):
    """q: (n_heads, n, d_head); k, v: (n_kv_heads, m, d_head); each K/V head serves a group."""
    group = q.shape[0] // k.shape[0]
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    return _softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])) @ v


def gqa_cache_reduction(n_heads, n_kv_heads):
    """MHA cache / GQA cache = n_heads / n_kv_heads (MQA: n_kv_heads = 1, a factor h)."""
    return n_heads / n_kv_heads


def decode_arithmetic_intensity(b, n, d, h, n_kv_heads=None):
    """FLOPs / memory moved over n incremental decode steps (cs336, Lecture 3).

    FLOPs: b n d^2 (the matmuls). Memory: the cache read at every step, b n^2 d for MHA
    (b n^2 d / h for MQA, since one head of size k = d / h is read), plus the weights n d^2.
    """
    n_kv_heads = h if n_kv_heads is None else n_kv_heads
    flops = b * n * d * d
    memory = b * n * n * d * n_kv_heads / h + n * d * d
    return flops / memory
# --8<-- [end:mqa_gqa_cache]


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Quantity, Var  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Quantity(formula="kv-cache-size", function="kv_cache_bytes", name="KV cache size",
             phrases=(r"kv[- ]cache(?: size| memory| footprint)?",),
             variables=(Var("seq", phrases=(r"sequence length", r"context length", r"seq(?:uence)? len(?:gth)?",
                                            r"(?:number of )?tokens"), low=1024, high=4096),
                        Var("n_kv_heads", phrases=(r"(?:number of )?kv heads",), low=2, high=8),
                        Var("batch", phrases=(r"batch(?: size)?",), low=1, high=8),
                        Var("n_layers", phrases=(r"(?:number of )?layers",), low=12, high=24),
                        Var("d_head", phrases=(r"head dim(?:ension)?",), low=64, high=128))),
]
