"""Low-rank decomposition: SVD parameter counts, truncated SVD, separable (rank-1) kernels, and
LoRA (update, parameter count, merging for inference)."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

_MODULE = "snippets/lowrank.py"
_TESTS = "tests/snippets/test_lowrank.py"

CONCEPTS = [
    Concept(
        id="low-rank-decomposition",
        name="Low-rank decomposition (SVD)",
        aliases=("low-rank decomposition", "low rank decomposition", "singular value decomposition",
                 "svd", "low-rank approximation", "separable kernel", "rank truncation"),
        definition=(
            "The singular value decomposition writes an m×n matrix as W = U Σ Vᵀ. Keeping only "
            "the r largest singular values gives the best rank-r approximation (Eckart–Young) as "
            "a product W₁W₂ of an m×r and an r×n matrix, storing r(m + n) numbers instead of mn "
            "and replacing one large matmul with two thin ones. It only saves parameters when "
            "r < mn/(m + n); without truncation (r = min(m, n)) the count grows. A k×k kernel of "
            "rank 1 is the outer product of two k-vectors: 2k parameters instead of k²."
        ),
        formulas=("svd-lowrank-params", "truncated-svd", "separable-kernel"),
        related=("lora", "depthwise-separable-conv"),
    ),
    Concept(
        id="lora",
        name="LoRA (low-rank adaptation)",
        aliases=("lora", "low-rank adaptation", "low rank adaptation",
                 "parameter efficient finetuning", "parameter-efficient fine-tuning", "peft",
                 "rosko"),
        definition=(
            "LoRA fine-tunes a large model by freezing each pretrained weight W ∈ ℝ^{d×k} and "
            "learning a low-rank update ΔW = (α/r)·B A with B ∈ ℝ^{d×r}, A ∈ ℝ^{r×k} and "
            "r ≪ min(d, k); B starts at zero so training starts from the pretrained model. Only "
            "r(d + k) parameters per matrix are trained instead of dk, and the rank r trades "
            "expressiveness for cost (r = d recovers full fine-tuning). After training the "
            "update can be merged, W' = W + (α/r) B A, so inference costs exactly what the "
            "original model did; the merged update is dense even when W is sparse."
        ),
        formulas=("lora-update", "lora-params", "lora-merge"),
        related=("low-rank-decomposition",),
    ),
]

FORMULAS = [
    Formula(
        id="svd-lowrank-params",
        counts=("parameters",),
        name="Parameters of a rank-r factorization",
        latex=(
            r"W_{m \times n} \approx W_1 W_2,\quad mn \ \to\ mr + rn = r(m + n),\quad "
            r"r = \min(m, n) \Rightarrow \min(m, n)(m + n) \ge mn"
        ),
        concept="low-rank-decomposition",
        aliases=(
            "singular value decomposition",
            "low-rank decomposition",
            "low-rank decomposition for llm",
            "svd decomposition can potentially save",
            "without rank truncation",
            "lora vs svd intuition",
            "svd",
        ),
        module=_MODULE,
        section="svd_params",
        tests=(f"{_TESTS}::test_svd_factor_parameter_counts",),
        symbols=(
            ("W", "weight matrix"),
            ("m", "rows of W"),
            ("n", "columns of W"),
            ("r", "rank of the factorization"),
            ("W_1", "left factor (m x r)"),
            ("W_2", "right factor (r x n)"),
        ),
    ),
    Formula(
        id="truncated-svd",
        name="Best rank-r approximation (truncated SVD)",
        latex=(
            r"W = U \Sigma V^{\top},\quad W_r = U_r \Sigma_r V_r^{\top},\quad "
            r"\lVert W - W_r \rVert_F = \sqrt{\textstyle\sum_{i > r} \sigma_i^2}"
        ),
        concept="low-rank-decomposition",
        aliases=("truncated svd", "rank-r approximation", "low-rank approximation",
                 "geometric interpretation of lora", "orthonormal eigenvectors",
                 "singular value matrix", "rank of w"),
        module=_MODULE,
        section="truncated_svd",
        tests=(f"{_TESTS}::test_truncated_svd_error_matches_tail_singular_values",),
        symbols=(
            ("W", "matrix being approximated"),
            ("U", "left singular vectors"),
            (r"\Sigma", "singular values (diagonal)"),
            ("V", "right singular vectors"),
            ("r", "kept rank"),
            (r"\sigma_i", "singular value i"),
        ),
    ),
    Formula(
        id="separable-kernel",
        counts=("parameters",),
        name="Rank-1 (separable) kernel",
        latex=r"K = u v^{\top},\ u, v \in \mathbb{R}^{k}:\quad 2k \text{ parameters instead of } k^2",
        concept="low-rank-decomposition",
        aliases=("low-rank view of separable kernels", "separable kernels", "rank-1 kernel",
                 "3×3 rank-1 kernel"),
        module=_MODULE,
        section="separable_kernel",
        tests=(f"{_TESTS}::test_separable_kernel_conv_equals_two_1d_convs",),
        symbols=(
            ("K", "rank-1 kernel"),
            ("u", "vertical 1-D filter"),
            ("v", "horizontal 1-D filter"),
            ("k", "kernel size"),
        ),
    ),
    Formula(
        id="lora-update",
        name="LoRA update",
        latex=(
            r"h = W_0 x + \Delta W x = W_0 x + \frac{\alpha}{r} B A x,\quad "
            r"B \in \mathbb{R}^{d \times r},\ A \in \mathbb{R}^{r \times k},\ "
            r"r \ll \min(d, k)"
        ),
        concept="lora",
        aliases=(
            "lora",
            "low-rank adaptation",
            "full lora update rule",
            "what is the full lora update rule",
            "lora update",
            "what is \\delta w's density",
            "δw's density",
            "density compared to w",
            "how does rosko modify lora",
            "rosko",
            "what happens when r=d",
            "geometric interpretation of lora",
        ),
        module=_MODULE,
        section="lora_update",
        tests=(
            f"{_TESTS}::test_lora_forward_matches_torch_linear",
            f"{_TESTS}::test_full_rank_lora_spans_any_update",
        ),
        symbols=(
            ("h", "layer output"),
            ("W_0", "frozen pretrained weight"),
            (r"\Delta W", "learned low-rank update"),
            ("x", "input"),
            (r"\alpha", "LoRA scaling factor"),
            ("r", "LoRA rank"),
            ("B", "up-projection (d x r), initialised to zero"),
            ("A", "down-projection (r x k)"),
            ("d", "output dimension (rows of W)"),
            ("k", "input dimension (columns of W)"),
        ),
    ),
    Formula(
        id="lora-params",
        counts=("parameters",),
        name="LoRA trainable parameters",
        latex=r"\#\theta_{\text{LoRA}} = r\,(d + k) \ \ll\ d \cdot k",
        concept="lora",
        aliases=(
            "why is lora parameter-efficient",
            "lora parameter-efficient",
            "lora parameter count",
            "lora params",
            "what does r control in lora",
            "parameter efficient finetuning",
        ),
        module=_MODULE,
        section="lora_params",
        tests=(f"{_TESTS}::test_lora_param_count_matches_module",),
        symbols=(
            ("r", "LoRA rank"),
            ("d", "output dimension (rows of W)"),
            ("k", "input dimension (columns of W)"),
        ),
    ),
    Formula(
        id="lora-merge",
        name="Merging LoRA for inference",
        latex=r"W' = W_0 + \frac{\alpha}{r} B A,\quad W' x = W_0 x + \frac{\alpha}{r} B A x",
        concept="lora",
        aliases=(
            "does lora increase inference latency",
            "lora inference latency",
            "merged lora",
            "lora merge",
            "merged lora adds no inference latency",
        ),
        module=_MODULE,
        section="lora_merge",
        tests=(f"{_TESTS}::test_merged_equals_unmerged",),
        symbols=(
            ("W'", "merged weight used for inference"),
            ("W_0", "frozen pretrained weight"),
            ("B", "up-projection (d x r), initialised to zero"),
            ("A", "down-projection (r x k)"),
            ("r", "LoRA rank"),
            (r"\alpha", "LoRA scaling factor"),
            ("x", "input"),
        ),
    ),
]


# --8<-- [start:svd_params]
def dense_params(m: int, n: int) -> int:
    return m * n


def lowrank_params(m: int, n: int, r: int) -> int:
    """W₁ (m×r) and W₂ (r×n): r(m + n), a saving only while r < mn / (m + n)."""
    return r * (m + n)


def break_even_rank(m: int, n: int) -> float:
    return m * n / (m + n)
# --8<-- [end:svd_params]


# --8<-- [start:truncated_svd]
def truncated_svd(w: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """W ≈ W₁ W₂ with W₁ = U_r Σ_r (m×r), W₂ = V_rᵀ (r×n): the best rank-r approximation."""
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    return u[:, :r] * s[:r], vt[:r]
# --8<-- [end:truncated_svd]


# --8<-- [start:separable_kernel]
def separable_kernel(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A rank-1 k×k kernel u vᵀ: 2k numbers, and the 2-D conv splits into two 1-D convs."""
    return np.outer(u, v)


def separable_kernel_params(k: int) -> tuple[int, int]:
    """(rank-1 parameters, full parameters): (2k, k²); 3×3 → 6 vs 9."""
    return 2 * k, k * k
# --8<-- [end:separable_kernel]


# --8<-- [start:lora_update]
def lora_delta(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """ΔW = (α / r) B A, rank ≤ r (A: r×k, B: d×r)."""
    r = a.shape[0]
    return (alpha / r) * (b @ a)


def lora_forward(x: np.ndarray, w0: np.ndarray, a: np.ndarray, b: np.ndarray,
                 alpha: float) -> np.ndarray:
    """h = W₀x + (α/r) B(Ax) for row vectors x (…×k): two thin matmuls, W₀ untouched."""
    r = a.shape[0]
    return x @ w0.T + (alpha / r) * (x @ a.T) @ b.T
# --8<-- [end:lora_update]


# --8<-- [start:lora_params]
def lora_params(d: int, k: int, r: int) -> int:
    """Trainable numbers per adapted matrix: A (r×k) + B (d×r) = r(d + k)."""
    return r * (d + k)


def lora_param_fraction(d: int, k: int, r: int) -> float:
    return lora_params(d, k, r) / (d * k)
# --8<-- [end:lora_params]


# --8<-- [start:lora_merge]
def lora_merge(w0: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """W' = W₀ + (α/r) B A: one matrix again, so inference latency is unchanged."""
    return w0 + lora_delta(a, b, alpha)
# --8<-- [end:lora_merge]


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Quantity, Var  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Quantity(formula="lora-params", function="lora_params", name="LoRA trainable parameters",
             phrases=(r"(?:lora(?:'s)? )?trainable param(?:eter)?s?(?: count)?", r"lora param(?:eter)?s?"),
             variables=(Var("r", phrases=(r"rank(?: r)?", r"r"), symbols=("r",), low=4, high=16),
                        Var("d", symbols=("d",), low=512, high=768),
                        Var("k", symbols=("k",), low=512, high=1024))),
]
