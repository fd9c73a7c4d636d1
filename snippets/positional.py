"""Positional information: sinusoidal encodings (Vaswani et al.) and rotary embeddings (RoPE).

Both use the frequencies omega_i = 10000^(-2i/d) on pairs of dimensions. Sinusoidal codes are
added to the embeddings; RoPE rotates each (even, odd) pair of q and k by angle pos * omega_i,
so that q . k depends on the positions only through their difference.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Fingerprint, Formula

MODULE = "snippets/positional.py"
TESTS = "tests/snippets/test_positional.py"

CONCEPTS = [
    Concept(
        id="positional-encoding",
        name="Positional encoding",
        aliases=("positional encoding", "positional encodings", "position encoding", "positional embedding"),
        definition=(
            "Self-attention is permutation-equivariant: without extra information it cannot tell "
            "token order apart. A positional encoding adds a position-dependent vector to each "
            "input embedding. The Transformer's sinusoidal encoding uses, on dimension pairs "
            "$(2i, 2i+1)$, $\\sin$ and $\\cos$ of $pos/10000^{2i/d_{\\text{model}}}$: geometric "
            "wavelengths from $2\\pi$ to $10000\\cdot 2\\pi$, no learned parameters, and for any "
            "fixed offset $k$ the code $PE_{pos+k}$ is a fixed rotation (a linear map) of "
            "$PE_{pos}$, which is why the authors expected relative positions to be easy to learn."
        ),
        formulas=("sinusoidal-positional-encoding", "pe-relative-linearity"),
        related=("rope", "attention"),
    ),
    Concept(
        id="rope",
        name="Rotary positional embeddings (RoPE)",
        aliases=("rope", "rotary positional embeddings", "rotary position embedding", "rotary embeddings"),
        definition=(
            "RoPE encodes position by rotating, rather than adding: each pair of query and key "
            "dimensions $(x_{2i}, x_{2i+1})$ is rotated by the angle $pos\\cdot\\theta_i$ with "
            "$\\theta_i=10000^{-2i/d}$ (a multiplication by $e^{i\\,pos\\,\\theta_i}$ in complex "
            "form). Because rotations compose, $\\langle R_m q, R_n k\\rangle = \\langle q, "
            "R_{n-m} k\\rangle$: attention scores depend only on the relative offset $n-m$. "
            "Values are not rotated, and cached keys can be moved to new positions by one extra "
            "rotation instead of being recomputed."
        ),
        formulas=("rope",),
        related=("positional-encoding", "attention", "kv-cache"),
    ),
]

FORMULAS = [
    Formula(
        id="sinusoidal-positional-encoding",
        name="Sinusoidal positional encoding",
        latex=(
            r"PE_{(pos,2i)}=\sin\!\left(\frac{pos}{10000^{2i/d_{\text{model}}}}\right),\qquad "
            r"PE_{(pos,2i+1)}=\cos\!\left(\frac{pos}{10000^{2i/d_{\text{model}}}}\right)"
        ),
        concept="positional-encoding",
        aliases=(
            "sine and cosine formulas for positional encodings",
            "positional encoding",
            "positional encodings",
            "pe(pos,2i)",
            "sin(100002i/dmodelpos)",
            "cos(100002i/dmodelpos)",
        ),
        module=MODULE,
        section="sinusoidal_positional_encoding",
        tests=(
            f"{TESTS}::test_sinusoidal_matches_formula_elementwise",
            f"{TESTS}::test_sinusoidal_matches_a_torch_implementation",
        ),
        symbols=(
            ("pos", "token position"),
            ("i", "dimension pair index"),
            (r"d_{\text{model}}", "model dimension"),
        ),
    ),
    Formula(
        id="pe-relative-linearity",
        name="Relative positions are linear in the sinusoidal code",
        latex=(
            r"PE_{pos+k}=M_k\,PE_{pos},\qquad M_k=\bigoplus_{i}\begin{pmatrix}\cos k\omega_i & \sin k\omega_i\\ "
            r"-\sin k\omega_i & \cos k\omega_i\end{pmatrix},\quad \omega_i=10000^{-2i/d_{\text{model}}}"
        ),
        concept="positional-encoding",
        aliases=(
            "linear function of pepos",
            "pe(pos+k)",
            "relative-position linearity",
        ),
        module=MODULE,
        section="pe_relative_linearity",
        tests=(f"{TESTS}::test_offset_is_a_rotation_independent_of_pos",),
        symbols=(
            ("PE_{pos}", "positional encoding at position pos"),
            ("k", "position offset"),
            ("M_k", "rotation matrix for offset k"),
            (r"\omega_i", "frequency of dimension pair i"),
            (r"d_{\text{model}}", "model dimension"),
        ),
    ),
    Formula(
        id="rope",
        name="Rotary positional embedding",
        latex=(
            r"\operatorname{RoPE}(x,m)_{2i:2i+1}=\begin{pmatrix}\cos m\theta_i & -\sin m\theta_i\\ "
            r"\sin m\theta_i & \cos m\theta_i\end{pmatrix}\begin{pmatrix}x_{2i}\\ x_{2i+1}\end{pmatrix},\quad "
            r"\theta_i=10000^{-2i/d},\quad \langle \operatorname{RoPE}(q,m),\operatorname{RoPE}(k,n)\rangle=g(q,k,n-m)"
        ),
        concept="rope",
        aliases=(
            "rotary positional embeddings (rope)",
            "rotary positional embeddings",
            "rotary position embedding",
            "rope",
            "position re-encoding of kv states",
            "position re-encoding",
        ),
        module=MODULE,
        section="rope",
        tests=(
            f"{TESTS}::test_rope_matches_complex_multiplication",
            f"{TESTS}::test_rope_scores_depend_only_on_offset",
            f"{TESTS}::test_moving_cached_keys_is_one_more_rotation",
        ),
        symbols=(
            ("x", "query or key vector"),
            ("m", "position of the token"),
            (r"\theta_i", "rotation frequency of dimension pair i"),
            ("d", "head dimension"),
        ),
    ),
]


# --8<-- [start:sinusoidal_positional_encoding]
def frequencies(d_model: int) -> np.ndarray:
    """omega_i = 1 / 10000^(2i / d_model) for i = 0 .. d_model/2 - 1."""
    return 1.0 / 10000.0 ** (np.arange(0, d_model, 2) / d_model)


def sinusoidal_encoding(n_positions: int, d_model: int) -> np.ndarray:
    """PE[pos, 2i] = sin(pos * omega_i), PE[pos, 2i+1] = cos(pos * omega_i)."""
    angles = np.arange(n_positions)[:, None] * frequencies(d_model)[None, :]
    pe = np.empty((n_positions, d_model))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angles), np.cos(angles)
    return pe
# --8<-- [end:sinusoidal_positional_encoding]


# --8<-- [start:pe_relative_linearity]
def offset_matrix(k: int, d_model: int) -> np.ndarray:
    """M_k with PE[pos + k] = M_k @ PE[pos] for every pos: a block-diagonal rotation.

    sin(a + b) = sin a cos b + cos a sin b,  cos(a + b) = cos a cos b - sin a sin b.
    """
    m = np.zeros((d_model, d_model))
    for i, w in enumerate(frequencies(d_model)):
        c, s = np.cos(k * w), np.sin(k * w)
        m[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = [[c, s], [-s, c]]
    return m
# --8<-- [end:pe_relative_linearity]


# --8<-- [start:rope]
def rope(x: np.ndarray, positions: np.ndarray, base: float = 10000.0) -> np.ndarray:
    """Rotate each (x[2i], x[2i+1]) of x (n, d) by positions[n] * theta_i."""
    d = x.shape[-1]
    theta = 1.0 / base ** (np.arange(0, d, 2) / d)
    angle = np.asarray(positions, dtype=np.float64)[:, None] * theta[None, :]
    cos, sin = np.cos(angle), np.sin(angle)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x, dtype=np.float64)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out
# --8<-- [end:rope]


# How these formulas look in notes (regexes over formula_match.compact() text); `example` is
# a spelling from the notes each must match, pinned by tests/test_repair.py.
FINGERPRINTS = [
    Fingerprint("sinusoidal-positional-encoding",
                r"(?:sin|cos)\(100002i/dmodelpos\)",
                "PE(pos,2i)=sin(100002i/dmodelpos)"),
]
