"""Attention: scaled dot-product, multi-head, causal and cross attention, alignment scores, cost.

Shapes follow the Transformer paper: Q is (n, d_k), K is (m, d_k), V is (m, d_v); a leading
batch axis is allowed everywhere because the code only uses `@` and `swapaxes(-1, -2)`.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Fingerprint, Formula

MODULE = "snippets/attention.py"
TESTS = "tests/snippets/test_attention.py"

CONCEPTS = [
    Concept(
        id="attention",
        name="Attention",
        aliases=(
            "attention mechanism",
            "self-attention",
            "self attention",
            "scaled dot-product attention",
            "multi-head attention",
            "queries, keys and values",
        ),
        definition=(
            "Attention lets every output position read a weighted mixture of value vectors, "
            "where the weights come from comparing its query vector with every key vector: "
            "a softmax over the scores $q\\cdot k_i$ turns them into a probability distribution "
            "over positions. The Transformer scales the scores by $1/\\sqrt{d_k}$ so that their "
            "variance stays near one as the key dimension grows (otherwise the softmax saturates "
            "and its gradients vanish), runs $h$ such attentions in parallel on learned "
            "low-dimensional projections (multi-head attention), masks future positions in the "
            "decoder (causal attention), and lets the decoder query the encoder's keys and values "
            "(cross-attention). Computing all $n^2$ scores costs $O(n^2 d)$ per layer, but every "
            "pair of positions is connected in one step."
        ),
        formulas=(
            "scaled-dot-product-attention",
            "multi-head-attention",
            "attention-weights",
            "alignment-scores",
            "qkv-projections",
            "attention-scores",
            "causal-attention",
            "cross-attention",
            "attention-complexity",
        ),
        related=("flash-attention", "kv-cache", "grouped-query-attention", "positional-encoding"),
    )
]


def _formula(id, name, latex, aliases, section, tests, symbols=()):
    return Formula(
        id=id,
        name=name,
        latex=latex,
        concept="attention",
        aliases=aliases,
        module=MODULE,
        section=section,
        tests=tuple(f"{TESTS}::{t}" for t in tests),
        symbols=symbols,
    )


FORMULAS = [
    _formula(
        "scaled-dot-product-attention",
        "Scaled dot-product attention",
        r"\operatorname{Attention}(Q,K,V)=\operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V",
        (
            "scaled dot-product attention",
            "scaled dot product attention",
            "define self-attention mathematically",
            "self-attention mathematically",
            "self-attention block",
            "attention(q,k,v)",
            "softmax(dkqkt)v",
            "scale factor (dk)",
            "scale factor dk",
        ),
        "scaled_dot_product_attention",
        ("test_sdpa_matches_torch", "test_scale_keeps_score_variance_near_one"),
        symbols=(
            ("Q", "query matrix"),
            ("K", "key matrix"),
            ("V", "value matrix"),
            ("d_k", "key dimension"),
        ),
    ),
    _formula(
        "multi-head-attention",
        "Multi-head attention",
        r"\operatorname{MultiHead}(Q,K,V)=\operatorname{Concat}(\mathrm{head}_1,\dots,\mathrm{head}_h)\,W^O,"
        r"\quad \mathrm{head}_i=\operatorname{Attention}(QW_i^Q,KW_i^K,VW_i^V),"
        r"\quad W_i^Q,W_i^K\in\mathbb{R}^{d_{\text{model}}\times d_k},\ W_i^V\in\mathbb{R}^{d_{\text{model}}\times d_v},"
        r"\ W^O\in\mathbb{R}^{h d_v\times d_{\text{model}}},\ d_k=d_v=d_{\text{model}}/h",
        (
            "multi-head attention",
            "multi head attention",
            "multihead attention",
            "multiple attention heads",
            "single attention head",
            "attention hyperparameters",
            "heads and attention dimensions",
            "final projection matrix wo",
            "multihead(q,k,v)",
        ),
        "multi_head_attention",
        ("test_mha_matches_torch", "test_head_dim_of_the_base_transformer"),
        symbols=(
            ("Q", "query matrix"),
            ("K", "key matrix"),
            ("V", "value matrix"),
            ("h", "number of heads"),
            ("W^O", "output projection"),
            ("W_i^Q", "query projection of head i"),
            ("d_k", "key dimension per head"),
            ("d_v", "value dimension per head"),
            (r"d_{\text{model}}", "model dimension"),
        ),
    ),
    _formula(
        "attention-weights",
        "General attention step and attention weights",
        r"\operatorname{Attn}\bigl(q,(k_{1:m},v_{1:m})\bigr)=\sum_{i=1}^{m}\alpha_i(q,k_{1:m})\,v_i,"
        r"\qquad \alpha_i(q,k_{1:m})=\frac{\exp a(q,k_i)}{\sum_{j=1}^{m}\exp a(q,k_j)}",
        (
            "general mathematical equation for an attention",
            "attention mechanism step",
            "attention weight αi",
            "calculation of the attention weight",
            "bahdanau et al",
            "attn(q,(k1:m,v1:m))",
        ),
        "attention_weights",
        ("test_general_attention_is_a_convex_mixture",),
        symbols=(
            ("q", "query vector"),
            ("k_i", "key vector i"),
            ("v_i", "value vector i"),
            ("m", "number of key-value pairs"),
            (r"\alpha_i", "attention weight of position i"),
            ("a", "alignment score function"),
        ),
    ),
    _formula(
        "alignment-scores",
        "Alignment score functions",
        r"a(s_t,h_i)=\begin{cases}\cos(s_t,h_i) & \text{content-based}\\"
        r" v_a^\top\tanh(W_a[s_t;h_i]) & \text{additive}\\"
        r" s_t^\top W_a h_i & \text{general}\\"
        r" s_t^\top h_i & \text{dot-product}\\"
        r" s_t^\top h_i/\sqrt{n} & \text{scaled dot-product}\end{cases},"
        r"\qquad \alpha_t=\operatorname{softmax}(W_a s_t)\ \text{(location-based)}",
        (
            "alignment score functions",
            "dot-product attention preferred over additive attention",
            "alignment score function",
            "attention variations",
        ),
        "alignment_scores",
        ("test_alignment_scores",),
        symbols=(
            ("s_t", "decoder state at step t (the query)"),
            ("h_i", "encoder hidden state i (the key)"),
            ("W_a", "learned alignment weight matrix"),
            ("v_a", "learned alignment vector"),
            ("n", "dimension of the hidden states"),
            (r"\alpha_t", "location-based attention weights over the source positions"),
        ),
    ),
    _formula(
        "qkv-projections",
        "Query, key and value projections",
        r"Q=XW^Q\in\mathbb{R}^{N\times d_k},\quad K=XW^K\in\mathbb{R}^{N\times d_k},\quad V=XW^V\in\mathbb{R}^{N\times d_v},\quad X\in\mathbb{R}^{N\times d}",
        (
            "q, k, and v matrices",
            "q k and v matrices",
            "attention projections simultaneously",
            "linear projection matrices qw and qk",
            "linear projection matrices wq and wk",
            "three main vectors used in an attention mechanism",
        ),
        "qkv_projections",
        ("test_qkv_projection_shapes_independent_of_n",),
        symbols=(
            ("X", "input embeddings (one row per token)"),
            ("Q", "query matrix"),
            ("K", "key matrix"),
            ("V", "value matrix"),
            ("W^Q", "query projection"),
            ("W^K", "key projection"),
            ("W^V", "value projection"),
            ("N", "number of tokens"),
            ("d_k", "key dimension"),
            ("d_v", "value dimension"),
            ("d", "embedding dimension"),
        ),
    ),
    _formula(
        "attention-scores",
        "Attention score matrix",
        r"S=QK^\top\in\mathbb{R}^{N\times N}",
        (
            "pairwise token similarity",
            "matrix qkt is always",
            "matrix kqt is always",
            "qkt is always an nxn",
            "kqt is always an nxn",
        ),
        "attention_scores",
        ("test_score_matrix_is_n_by_n",),
        symbols=(
            ("S", "attention score matrix"),
            ("Q", "query matrix"),
            ("K", "key matrix"),
            ("N", "number of tokens (sequence length)"),
        ),
    ),
    _formula(
        "causal-attention",
        "Causal (masked) self-attention",
        r"\operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}+M\right)V,\qquad M_{ij}=\begin{cases}0 & j\le i\\ -\infty & j>i\end{cases}",
        (
            "causal mask",
            "masking used in decoder self-attention",
            "masked multi-head self-attention",
            "sub-layers exist in the transformer decoder",
            "token processing in an autoregressive transformer decoder",
        ),
        "causal_attention",
        ("test_causal_matches_torch", "test_causal_output_ignores_future_tokens"),
        symbols=(
            ("Q", "query matrix"),
            ("K", "key matrix"),
            ("V", "value matrix"),
            ("d_k", "key dimension"),
            ("M", "causal mask (minus infinity above the diagonal)"),
        ),
    ),
    _formula(
        "cross-attention",
        "Encoder-decoder (cross) attention",
        r"\operatorname{CrossAttn}(X_{\text{dec}},X_{\text{enc}})=\operatorname{softmax}\!\left(\frac{(X_{\text{dec}}W^Q)(X_{\text{enc}}W^K)^\top}{\sqrt{d_k}}\right)X_{\text{enc}}W^V",
        (
            "encoder-decoder attention",
            "encoder decoder attention",
            "cross-attention",
            "cross attention",
            "origins of the queries",
            "decoder attends to all",
            "decoding the next italian word",
            "text conditioning added in stable diffusion",
            "stable diffusion cross-attention",
        ),
        "cross_attention",
        ("test_cross_attention_matches_torch",),
        symbols=(
            (r"X_{\text{dec}}", "decoder states (the queries)"),
            (r"X_{\text{enc}}", "encoder outputs (keys and values)"),
            ("W^Q", "query projection"),
            ("W^K", "key projection"),
            ("W^V", "value projection"),
            ("d_k", "key dimension"),
        ),
    ),
    _formula(
        "attention-complexity",
        "Per-layer cost of self-attention vs recurrent and convolutional layers",
        r"\text{self-attention: }O(n^2 d),\ O(1)\text{ sequential},\ O(1)\text{ path};\quad"
        r"\text{recurrent: }O(n d^2),\ O(n),\ O(n);\quad"
        r"\text{convolutional: }O(k n d^2),\ O(1),\ O(\log_k n)",
        (
            "complexity per layer",
            "maximum path length",
            "context span and computational efficiency",
            "o(n2) computational complexity",
            "efficient transformer variants",
        ),
        "attention_complexity",
        ("test_attention_flops_match_flop_counter", "test_rnn_flops_match_flop_counter"),
        symbols=(
            ("n", "sequence length"),
            ("d", "representation dimension"),
            ("k", "convolution kernel width"),
        ),
    ),
]


# --8<-- [start:scaled_dot_product_attention]
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax: subtracting the max changes nothing mathematically."""
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(Q K^T / sqrt(d_k) + mask) V; `mask` is additive (0 or -inf), broadcastable."""
    d_k = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d_k)
    if mask is not None:
        scores = scores + mask
    return softmax(scores, axis=-1) @ v
# --8<-- [end:scaled_dot_product_attention]


# --8<-- [start:multi_head_attention]
def split_heads(x: np.ndarray, h: int) -> np.ndarray:
    """(n, h*d_head) -> (h, n, d_head): head i owns columns i*d_head ... (i+1)*d_head - 1."""
    n, d = x.shape
    return x.reshape(n, h, d // h).transpose(1, 0, 2)


def multi_head_attention(xq, xkv, w_q, w_k, w_v, w_o, h, mask=None):
    """Concat(head_1..head_h) W^O with head_i = Attention(X W_i^Q, X W_i^K, X W_i^V).

    The h per-head projections are stored side by side as one (d_model, h*d_k) matrix,
    which is how every framework implements them.
    """
    q, k, v = split_heads(xq @ w_q, h), split_heads(xkv @ w_k, h), split_heads(xkv @ w_v, h)
    heads = scaled_dot_product_attention(q, k, v, mask)  # (h, n, d_v)
    concat = heads.transpose(1, 0, 2).reshape(xq.shape[0], -1)  # (n, h*d_v)
    return concat @ w_o


def head_dim(d_model: int, h: int) -> int:
    """d_k = d_v = d_model / h (the paper: 512 / 8 = 64)."""
    if d_model % h:
        raise ValueError(f"d_model={d_model} is not divisible by h={h}")
    return d_model // h
# --8<-- [end:multi_head_attention]


# --8<-- [start:attention_weights]
def attention_weights(scores: np.ndarray) -> np.ndarray:
    """alpha_i = exp(a(q, k_i)) / sum_j exp(a(q, k_j)): a softmax over alignment scores."""
    return softmax(np.asarray(scores, dtype=np.float64))


def general_attention(q, keys, values, score):
    """Attn(q, (k, v)) = sum_i alpha_i(q, k) v_i for any alignment score function a(q, k_i)."""
    alpha = attention_weights(np.array([score(q, k) for k in keys]))
    return alpha @ values
# --8<-- [end:attention_weights]


# --8<-- [start:alignment_scores]
def score_dot(s, h):
    return float(s @ h)


def score_scaled_dot(s, h):
    """Vaswani et al.: the dot product divided by sqrt(n), n the vector dimension."""
    return float(s @ h) / np.sqrt(s.shape[-1])


def score_general(s, h, w_a):
    return float(s @ w_a @ h)


def score_additive(s, h, w_a, v_a):
    """Bahdanau et al.: v_a^T tanh(W_a [s; h])."""
    return float(v_a @ np.tanh(w_a @ np.concatenate([s, h])))


def score_content(s, h):
    """Graves et al.: cosine similarity."""
    return float(s @ h) / (np.linalg.norm(s) * np.linalg.norm(h))


def weights_location(s, w_a):
    """Luong et al.'s location-based attention: the weights over the m source positions come
    from the decoder state alone, softmax(W_a s_t) with W_a of shape (m, n); no key is scored."""
    return softmax(w_a @ s)
# --8<-- [end:alignment_scores]


# --8<-- [start:qkv_projections]
def qkv_projections(x, w_q, w_k, w_v):
    """Pack N token embeddings as rows of X (N, d): one matmul per projection for all tokens.

    The weights are (d, d_k), (d, d_k), (d, d_v): none of their dimensions involves N.
    """
    return x @ w_q, x @ w_k, x @ w_v
# --8<-- [end:qkv_projections]


# --8<-- [start:attention_scores]
def attention_scores(q, k):
    """S = Q K^T: all pairwise query-key dot products at once, shape (N_q, N_k)."""
    return q @ np.swapaxes(k, -1, -2)


def attention_scores_shape(n_queries: int, n_keys: int) -> tuple[int, int]:
    """Self-attention over n tokens has n_queries = n_keys = n: an n x n matrix."""
    return (n_queries, n_keys)
# --8<-- [end:attention_scores]


# --8<-- [start:causal_attention]
def causal_mask(n: int) -> np.ndarray:
    """M[i, j] = -inf for j > i: position i may only look at positions <= i."""
    return np.triu(np.full((n, n), -np.inf), k=1)


def causal_attention(q, k, v):
    return scaled_dot_product_attention(q, k, v, mask=causal_mask(q.shape[-2]))
# --8<-- [end:causal_attention]


# --8<-- [start:cross_attention]
def cross_attention(x_dec, x_enc, w_q, w_k, w_v, w_o, h):
    """Queries from the decoder, keys and values from the encoder output (n_dec x n_enc scores)."""
    return multi_head_attention(x_dec, x_enc, w_q, w_k, w_v, w_o, h)
# --8<-- [end:cross_attention]


# --8<-- [start:attention_complexity]
def self_attention_flops(n: int, d: int) -> int:
    """Q K^T and softmax(.) V: two (n x d) @ (d x n)-sized matmuls, 2 FLOPs per MAC -> 4 n^2 d."""
    return 4 * n * n * d


def recurrent_flops(n: int, d: int) -> int:
    """h_t = tanh(W_h h_{t-1} + W_x x_t): two d x d matvecs per step, n sequential steps."""
    return 4 * n * d * d


def convolution_flops(n: int, d: int, k: int) -> int:
    """A width-k 1-D conv with d in/out channels: k d^2 MACs per position."""
    return 2 * k * n * d * d


def max_path_length(layer: str, n: int, k: int = 3) -> float:
    """Layers a signal crosses between two far-apart tokens (dilated convs: log_k n)."""
    return {"self-attention": 1, "recurrent": n, "convolutional": np.log(n) / np.log(k)}[layer]
# --8<-- [end:attention_complexity]


def self_attention_scores_shape(n: int) -> tuple[int, int]:
    """Q Kᵀ of self-attention over n tokens: attention_scores_shape(n, n)."""
    return attention_scores_shape(n, n)


def projection_weight_shapes(n: int, d_model: int = 16, d_k: int = 4) -> tuple[int, int]:
    """The shape of W_Q (and W_K) that qkv_projections applies to n tokens of width d_model."""
    rng = np.random.default_rng(0)
    w = [rng.standard_normal((d_model, d_k)) for _ in range(3)]
    qkv_projections(rng.standard_normal((int(n), d_model)), *w)  # runs for any n
    return w[0].shape


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Quantity, Var  # noqa: E402  (declarations stay at the module's end)

_N = Var("n", phrases=(r"sequence length", r"seq(?:uence)? len(?:gth)?", r"number of tokens"),
         symbols=("n", "seq length", "sequence length"), low=5, high=128)

CLAIMS = [
    Quantity(formula="multi-head-attention", function="head_dim", name="per-head dimension",
             phrases=(r"d_?\{?k\}?", r"d_?\{?v\}?", r"head dim(?:ension)?", r"per-head dim(?:ension)?"),
             variables=(Var("d_model", symbols=("d_model", "d_{model}", "dmodel", "d"), low=512, high=768),
                        Var("h", phrases=(r"(?:number of )?heads",), symbols=("h",), low=8, high=16))),
    Quantity(formula="attention-scores", function="self_attention_scores_shape",
             name="attention score matrix shape",
             phrases=(r"(?:the )?(?:matrix )?(?:qk\^?t|kqt|qkᵀ|kqᵀ|qk\^\{?t\}?)",
                      r"attention (?:score )?matrix"),
             variables=(_N,)),
    Quantity(formula="qkv-projections", function="projection_weight_shapes",
             name="projection matrix shape",
             phrases=(r"(?:linear )?projection matri(?:x|ces)(?: \w+ and \w+)?(?:'s)?(?: dimensions| shapes?)?",
                      r"(?:their|the) dimensions"),
             variables=(_N,)),
]


# How these formulas look in notes (regexes over formula_match.compact() text); `example` is
# a spelling from the notes each must match, pinned by tests/test_repair.py.
FINGERPRINTS = [
    Fingerprint("scaled-dot-product-attention",
                r"softmax\(dkqkt\)\*?v",
                "Attention(Q,K,V)=softmax(dkQKT)V"),
    Fingerprint("scaled-dot-product-attention",
                r"softmax\(qkt/sqrtdk\)v",
                r"softmax(QK^T / \sqrt{d_k})V",
                mangled=False),
    Fingerprint("multi-head-attention",
                r"multihead\(q,k,v\)=concat\(head1,(?:…|\.\.\.),headh\)",
                "MultiHead(Q,K,V)=Concat(head1,…,headh)WO"),
    Fingerprint("multi-head-attention",
                r"headi=attention\(qwiq,kwik,vwiv\)",
                "where headi=Attention(QWiQ,KWiK,VWiV)"),
    Fingerprint("qkv-projections",
                r"(?:q=xwq|k=xwk|v=xwv)\[shape:n\*d[kv]\]",
                "Q=XWQ[Shape:N×dk]",
                mangled=False,
                flat=True),
    Fingerprint("attention-scores", "scores=qkt$", "Scores=QKT", mangled=False, flat=True),
    # the softmax weights with the fraction's denominator printed first
    Fingerprint("attention-weights",
                r"αi\(q,k1:m\)=sumj=1m?exp\(a\(q,kj\)\)exp\(a\(q,ki\)\)",
                "αi(q,k1:m)=∑j=1mexp(a(q,kj))exp(a(q,ki))"),
]
