"""FlashAttention's online softmax: exact attention computed block by block.

softmax over a row can be assembled from per-block pieces if each piece keeps two numbers,
its max m and its sum of exponentials l; merging two pieces rescales each by alpha/beta.
The tiled loop below never holds the n x n score matrix, only one (B_r x B_c) tile.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/flash_attention.py"
TESTS = "tests/snippets/test_flash_attention.py"

CONCEPTS = [
    Concept(
        id="flash-attention",
        name="FlashAttention",
        aliases=("flashattention", "flash attention", "online softmax", "tiled attention"),
        definition=(
            "FlashAttention computes exact softmax attention without ever writing the $n\\times n$ "
            "score matrix to GPU main memory (HBM). It splits $Q$, $K$ and $V$ into tiles that "
            "fit in on-chip SRAM and, for each query tile, streams over the key/value tiles while "
            "keeping per-row running statistics: the maximum $m$ seen so far and the sum $\\ell$ "
            "of exponentials relative to it. When a new tile raises the maximum, the partial "
            "output and sum are rescaled by $e^{m_{\\text{old}}-m_{\\text{new}}}$ (the "
            "$\\alpha$/$\\beta$ factors of the lecture), so the final result equals the full "
            "softmax exactly. Arithmetic stays $O(n^2 d)$, extra memory drops from $O(n^2)$ to "
            "$O(n)$, and HBM traffic drops from $\\Theta(nd+n^2)$ to $\\Theta(n^2d^2/M)$ for SRAM "
            "size $M$, which is where the speed-up comes from."
        ),
        formulas=("online-softmax", "softmax-block-decomposition", "flash-attention-io"),
        related=("attention", "roofline", "kv-cache"),
    )
]

FORMULAS = [
    Formula(
        id="online-softmax",
        name="Online softmax (running max and sum)",
        latex=(
            r"m^{(j)}=\max\bigl(m^{(j-1)},\operatorname{rowmax}(S_j)\bigr),\quad "
            r"\ell^{(j)}=e^{m^{(j-1)}-m^{(j)}}\ell^{(j-1)}+\operatorname{rowsum}\bigl(e^{S_j-m^{(j)}}\bigr),\quad "
            r"O^{(j)}=e^{m^{(j-1)}-m^{(j)}}O^{(j-1)}+e^{S_j-m^{(j)}}V_j,\quad "
            r"\operatorname{Attention}(Q,K,V)=O^{(T)}/\ell^{(T)}"
        ),
        concept="flash-attention",
        aliases=(
            "online softmax",
            "online-softmax",
            "running max",
            "flash attention tiling",
            "how does flashattention improve efficiency",
            "fuses softmax",
        ),
        module=MODULE,
        section="online_softmax",
        tests=(
            f"{TESTS}::test_tiled_attention_matches_torch_sdpa",
            f"{TESTS}::test_online_softmax_matches_softmax_for_any_block_size",
            f"{TESTS}::test_online_softmax_survives_large_scores",
        ),
        symbols=(
            ("m^{(j)}", "running row maximum after block j"),
            (r"\ell^{(j)}", "running softmax denominator after block j"),
            ("O^{(j)}", "running (unnormalised) output after block j"),
            ("S_j", "score block j"),
            ("V_j", "value block j"),
            ("T", "number of blocks"),
        ),
    ),
    Formula(
        id="softmax-block-decomposition",
        name="Softmax of a concatenation from the softmaxes of its blocks",
        latex=(
            r"\operatorname{softmax}([A_1,A_2])=[\alpha\operatorname{softmax}(A_1),\ \beta\operatorname{softmax}(A_2)],\quad "
            r"\alpha=\frac{e^{m_1-m}\ell_1}{\ell},\ \beta=\frac{e^{m_2-m}\ell_2}{\ell},\quad "
            r"m=\max(m_1,m_2),\ \ell=e^{m_1-m}\ell_1+e^{m_2-m}\ell_2"
        ),
        concept="flash-attention",
        aliases=(
            "alpha and beta be obtained",
            "parameters like alpha and beta",
            "softmax computation can be broken down",
            "decomposing large softmax",
            "softmax([a1,a2])",
        ),
        module=MODULE,
        section="softmax_block_decomposition",
        tests=(
            f"{TESTS}::test_block_decomposition_alpha_beta",
            f"{TESTS}::test_block_decomposition_of_attention_output",
        ),
        symbols=(
            ("A_1", "first block of scores"),
            ("A_2", "second block of scores"),
            ("m_1", "maximum of the first block"),
            ("m_2", "maximum of the second block"),
            (r"\ell_1", "sum of exponentials of the first block"),
            (r"\ell_2", "sum of exponentials of the second block"),
            ("m", "overall maximum"),
            (r"\ell", "overall sum of exponentials"),
        ),
    ),
    Formula(
        id="flash-attention-io",
        name="HBM traffic and memory of standard vs tiled attention",
        latex=(
            r"\text{standard: }\Theta(Nd+N^2)\text{ HBM accesses},\ O(N^2)\text{ memory};\quad "
            r"\text{FlashAttention: }\Theta\!\left(\frac{N^2d^2}{M}\right)\text{ HBM accesses},\ O(N)\text{ extra memory},\ O(N^2d)\text{ FLOPs}"
        ),
        concept="flash-attention",
        aliases=(
            "complexity improvement of flashattention",
            "what problem does flashattention solve",
            "memory bottleneck of quadratic attention",
        ),
        module=MODULE,
        section="flash_attention_io",
        tests=(f"{TESTS}::test_io_counts_of_the_simulation_match_the_formulas",),
        symbols=(
            ("N", "sequence length"),
            ("d", "head dimension"),
            ("M", "on-chip SRAM size (elements)"),
        ),
    ),
]


# --8<-- [start:online_softmax]
def online_softmax(x: np.ndarray, block: int) -> np.ndarray:
    """softmax(x) for a 1-D x read `block` entries at a time, keeping only (m, ell)."""
    m, ell = -np.inf, 0.0
    for start in range(0, len(x), block):
        xb = x[start : start + block]
        m_new = max(m, float(xb.max()))
        ell = np.exp(m - m_new) * ell + np.exp(xb - m_new).sum()  # rescale the old sum
        m = m_new
    return np.exp(x - m) / ell


def tiled_attention(q, k, v, block_q: int = 16, block_k: int = 16, io=None):
    """Exact softmax(Q K^T / sqrt(d)) V, one (block_q x block_k) score tile at a time.

    For each query tile the loop streams over key/value tiles with running row statistics
    m (max) and ell (sum of exp); `io`, if given, counts elements moved from/to "HBM".
    """
    n, d = q.shape
    out = np.empty((n, v.shape[1]))
    count = io if io is not None else {}
    count.setdefault("read", 0)
    count.setdefault("write", 0)
    for i in range(0, n, block_q):
        qi = q[i : i + block_q] / np.sqrt(d)
        count["read"] += qi.size
        m = np.full(len(qi), -np.inf)
        ell = np.zeros(len(qi))
        acc = np.zeros((len(qi), v.shape[1]))
        for j in range(0, k.shape[0], block_k):
            kj, vj = k[j : j + block_k], v[j : j + block_k]
            count["read"] += kj.size + vj.size
            s = qi @ kj.T  # the only score tile that exists
            m_new = np.maximum(m, s.max(axis=1))
            scale = np.exp(m - m_new)  # alpha: shrink what was accumulated under the old max
            p = np.exp(s - m_new[:, None])
            ell = scale * ell + p.sum(axis=1)
            acc = scale[:, None] * acc + p @ vj
            m = m_new
        out[i : i + block_q] = acc / ell[:, None]  # normalize once, at the end
        count["write"] += acc.size
    return out
# --8<-- [end:online_softmax]


# --8<-- [start:softmax_block_decomposition]
def block_stats(a: np.ndarray) -> tuple[float, float]:
    """The two numbers a block must keep: m = max(a), ell = sum(exp(a - m))."""
    m = float(np.max(a))
    return m, float(np.exp(a - m).sum())


def alpha_beta(a1: np.ndarray, a2: np.ndarray) -> tuple[float, float]:
    """softmax([a1, a2]) = [alpha softmax(a1), beta softmax(a2)], from local (m, ell) only."""
    (m1, l1), (m2, l2) = block_stats(a1), block_stats(a2)
    m = max(m1, m2)
    ell = np.exp(m1 - m) * l1 + np.exp(m2 - m) * l2
    return np.exp(m1 - m) * l1 / ell, np.exp(m2 - m) * l2 / ell
# --8<-- [end:softmax_block_decomposition]


# --8<-- [start:flash_attention_io]
def standard_attention_hbm_accesses(n: int, d: int) -> int:
    """Read Q, K; write S; read S, write P; read P, V; write O (elements)."""
    return 2 * n * d + n * n + 2 * n * n + n * n + n * d + n * d


def flash_attention_hbm_accesses(n: int, d: int, block_q: int) -> int:
    """Q read and O written once; K and V read once per query tile (n / block_q tiles).

    With block_q ~ M / (4d) for SRAM size M this is Theta(n^2 d^2 / M).
    """
    tiles = -(-n // block_q)
    return n * d + 2 * n * d * tiles + n * d
# --8<-- [end:flash_attention_io]
