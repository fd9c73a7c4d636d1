"""Pruning and sparsity: magnitude and filter pruning, N:M (2:4) masks, MACs of sparse
convolution, and the storage size of sparse encodings (bitmap, run-length, COO)."""

from __future__ import annotations

import math

import numpy as np

from deckforge.model import Concept, Formula

_MODULE = "snippets/sparsity.py"
_TESTS = "tests/snippets/test_sparsity.py"

CONCEPTS = [
    Concept(
        id="pruning",
        name="Pruning",
        aliases=("pruning", "magnitude pruning", "unstructured sparsity", "structured sparsity",
                 "filter pruning", "train-prune-retrain", "lottery ticket hypothesis",
                 "winning ticket", "post-training pruning"),
        definition=(
            "Pruning removes low-importance weights to shrink a model and cut compute and "
            "memory, usually with little accuracy loss after retraining. Magnitude pruning "
            "zeroes the weights with the smallest |w| (weight distributions are bell-shaped, so "
            "many are near zero); structured pruning removes whole filters, channels or blocks "
            "(for example the filters with the smallest L1/L2 norm), which hardware can exploit "
            "directly. With a fraction p of the weights and q of the inputs zero, at most "
            "(1 − p)(1 − q) of the MACs remain. Train–prune–retrain iterates this, and the "
            "lottery-ticket hypothesis says a sparse subnetwork reset to its initial weights "
            "can train to dense accuracy."
        ),
        formulas=("magnitude-pruning", "filter-pruning", "sparse-conv-macs"),
        related=("n-m-sparsity", "sparse-encoding", "systolic-array"),
    ),
    Concept(
        id="n-m-sparsity",
        name="N:M structured sparsity",
        aliases=("n:m sparsity", "n:m structured sparsity", "2:4 sparsity", "2:4",
                 "sparse tensor cores", "semi-structured sparsity"),
        definition=(
            "N:M sparsity allows at most N non-zero weights in every block of M consecutive "
            "weights (2:4 keeps the two largest of every four). The fixed pattern lets sparse "
            "tensor cores skip the zeros with a small index per block, halving the multiply "
            "work for 2:4 (a theoretical 2× on the matmul, less end to end), while keeping most "
            "of the flexibility of unstructured pruning."
        ),
        formulas=("nm-sparsity",),
        related=("pruning", "sparse-encoding"),
    ),
    Concept(
        id="sparse-encoding",
        name="Sparse matrix encodings",
        aliases=("sparse matrix encoding", "sparse matrices encodings", "bitmap",
                 "run length encoding", "run-length encoding", "coordinate format"),
        definition=(
            "Sparse encodings store only the non-zeros plus enough metadata to place them. A "
            "bitmap keeps one bit per position and the non-zero values; run-length encoding "
            "stores each non-zero with the count of zeros before it (a run field of r bits, "
            "with padding entries for longer runs); the coordinate format (COO) stores every "
            "non-zero with its row and column indices. Which is smallest depends on the "
            "density: bitmaps win for moderate sparsity, COO and RLE for very sparse data."
        ),
        formulas=("sparse-encoding-size",),
        related=("pruning", "n-m-sparsity"),
    ),
]

FORMULAS = [
    Formula(
        id="magnitude-pruning",
        name="Magnitude pruning",
        latex=(
            r"M_{ij} = \mathbb{1}\left[|W_{ij}| \ge \tau\right],\quad W' = M \odot W,\quad "
            r"\tau = \text{the } p\text{-quantile of } |W|"
        ),
        concept="pruning",
        aliases=(
            "magnitude pruning",
            "why magnitude pruning often works",
            "pruning — purpose & big picture",
            "train-prune-retrain loop",
            "prune small-magnitude weights",
            "unstructured vs structured sparsity",
            "sensitivity & thresholds",
        ),
        module=_MODULE,
        section="magnitude_pruning",
        tests=(f"{_TESTS}::test_magnitude_pruning_matches_torch_prune",),
        symbols=(
            ("M", "binary pruning mask"),
            ("W", "weights"),
            (r"\tau", "magnitude threshold"),
            ("p", "target sparsity (fraction pruned)"),
        ),
    ),
    Formula(
        id="filter-pruning",
        name="Structured filter pruning by norm",
        latex=(
            r"\text{keep the } k \text{ filters with the largest } \lVert W_f \rVert_p,\quad "
            r"p \in \{1, 2\}"
        ),
        concept="pruning",
        aliases=(
            "structured filter pruning criterion",
            "filter pruning",
            "small l_1/l_2 norms",
        ),
        module=_MODULE,
        section="filter_pruning",
        tests=(f"{_TESTS}::test_filter_pruning_matches_torch_ln_structured",),
        symbols=(
            ("k", "number of filters kept"),
            ("W_f", "weights of filter f"),
            ("p", "norm order (1 or 2)"),
        ),
    ),
    Formula(
        id="sparse-conv-macs",
        counts=("macs",),
        name="MACs of a convolution with sparse weights and inputs",
        latex=(
            r"\text{MACs} \ge (1 - p)(1 - q) \times M \times C \times R \times S \times E"
            r" \times F"
        ),
        concept="pruning",
        aliases=(
            "convolution with sparse weight",
            "number of macs of a convolution with sparse weight",
            "computational cost saving with pruning",
            "new total of mac operations",
            "how does this affect the computational cost",
            "of the filters within the weight are pruned",
        ),
        module=_MODULE,
        section="sparse_conv_macs",
        tests=(f"{_TESTS}::test_sparse_conv_macs_by_counting_nonzero_products",),
        symbols=(
            ("p", "weight sparsity"),
            ("q", "activation sparsity"),
            ("M", "number of filters (output channels)"),
            ("C", "number of input channels"),
            ("R", "kernel height"),
            ("S", "kernel width"),
            ("E", "output height"),
            ("F", "output width"),
        ),
    ),
    Formula(
        id="nm-sparsity",
        name="N:M (2:4) structured sparsity mask",
        latex=(
            r"\forall\ \text{blocks } B \text{ of } M \text{ consecutive weights}:\ "
            r"\lVert W_B \rVert_0 \le N,\quad \text{density} = \frac{N}{M}"
        ),
        concept="n-m-sparsity",
        aliases=(
            "n:m structured sparsity",
            "n:m structured sparsity — define & hardware link",
            "n:m sparsity",
            "2:4 sparsity",
            "2:4",
            "sparse tensor cores",
        ),
        module=_MODULE,
        section="nm_sparsity",
        tests=(
            f"{_TESTS}::test_nm_mask_keeps_best_pattern_by_brute_force",
            f"{_TESTS}::test_nm_mask_structure",
        ),
        symbols=(
            ("N", "non-zero weights kept per block"),
            ("M", "block size (consecutive weights)"),
            ("W_B", "weights of block B"),
        ),
    ),
    Formula(
        id="sparse-encoding-size",
        counts=("bytes",),
        name="Storage of sparse encodings (bitmap, RLE, COO)",
        latex=(
            r"S_{\text{bitmap}} = n + \mathrm{nnz}\,b,\quad "
            r"S_{\text{RLE}} = (\mathrm{nnz} + \text{pad})(r + b),\quad "
            r"S_{\text{COO}} = \mathrm{nnz}\left(b + \lceil \log_2 R \rceil + "
            r"\lceil \log_2 C \rceil\right)"
        ),
        concept="sparse-encoding",
        aliases=(
            "sparse matrices encodings",
            "sparse matrix encoding",
            "bitmap",
            "run length encoding",
            "run-length encoding",
            "coordinate format",
            "coordinate format (coo)",
        ),
        module=_MODULE,
        section="sparse_encodings",
        tests=(f"{_TESTS}::test_encodings_roundtrip_and_sizes",),
        symbols=(
            ("n", "number of elements"),
            (r"\mathrm{nnz}", "number of non-zero elements"),
            ("b", "bits per value"),
            ("r", "bits per run length"),
            ("R", "number of rows"),
            ("C", "number of columns"),
        ),
    ),
]


# --8<-- [start:magnitude_pruning]
def magnitude_prune_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Zero the round(sparsity · n) weights of smallest |w| (ties broken by position)."""
    flat = np.abs(w).ravel()
    n_prune = int(round(sparsity * flat.size))
    mask = np.ones(flat.size, dtype=bool)
    mask[np.argsort(flat, kind="stable")[:n_prune]] = False
    return mask.reshape(w.shape)
# --8<-- [end:magnitude_pruning]


# --8<-- [start:filter_pruning]
def filter_prune_mask(w: np.ndarray, n_prune: int, p: int = 2) -> np.ndarray:
    """Remove the `n_prune` filters (axis 0) with the smallest L_p norm; keep whole filters."""
    norms = np.linalg.norm(w.reshape(w.shape[0], -1), ord=p, axis=1)
    keep = np.ones(w.shape[0], dtype=bool)
    keep[np.argsort(norms, kind="stable")[:n_prune]] = False
    return np.broadcast_to(keep.reshape((-1,) + (1,) * (w.ndim - 1)), w.shape).copy()
# --8<-- [end:filter_pruning]


# --8<-- [start:sparse_conv_macs]
def sparse_conv_macs(dense_macs: int, weight_sparsity: float, input_sparsity: float) -> float:
    """(1 − p)(1 − q) × dense MACs: only products of two non-zeros need computing."""
    return (1 - weight_sparsity) * (1 - input_sparsity) * dense_macs
# --8<-- [end:sparse_conv_macs]


# --8<-- [start:nm_sparsity]
def nm_mask(w: np.ndarray, n: int = 2, m: int = 4) -> np.ndarray:
    """Keep the n largest |w| in every group of m consecutive weights along the last axis."""
    assert w.shape[-1] % m == 0
    groups = np.abs(w).reshape(-1, m)
    order = np.argsort(-groups, axis=1, kind="stable")[:, :n]
    mask = np.zeros_like(groups, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask.reshape(w.shape)


def is_nm_sparse(w: np.ndarray, n: int = 2, m: int = 4) -> bool:
    return bool(((w.reshape(-1, m) != 0).sum(axis=1) <= n).all())


def nm_compute_fraction(n: int, m: int) -> float:
    """Fraction of the dense multiplies left (2:4 → 0.5, i.e. at most a 2× matmul speedup)."""
    return n / m
# --8<-- [end:nm_sparsity]


# --8<-- [start:sparse_encodings]
def bitmap_bits(numel: int, nnz: int, value_bits: int) -> int:
    """One presence bit per position plus the non-zero values."""
    return numel + nnz * value_bits


def rle_encode(flat: np.ndarray, run_bits: int) -> list[tuple[int, float]]:
    """(zeros before it, value) per non-zero; a run longer than 2^r − 1 emits (max, 0) pads."""
    max_run = 2**run_bits - 1
    out, run = [], 0
    for v in flat:
        if v == 0:
            run += 1
            if run > max_run:
                out.append((max_run, 0.0))  # padding entry: max_run zeros then a stored zero
                run = 0
            continue
        out.append((run, float(v)))
        run = 0
    return out


def rle_decode(entries: list[tuple[int, float]], numel: int) -> np.ndarray:
    out = []
    for run, v in entries:
        out.extend([0.0] * run)
        out.append(v)
    out.extend([0.0] * (numel - len(out)))  # trailing zeros are implicit
    return np.array(out)


def rle_bits(flat: np.ndarray, run_bits: int, value_bits: int) -> int:
    return len(rle_encode(flat, run_bits)) * (run_bits + value_bits)


def coo_bits(shape: tuple[int, ...], nnz: int, value_bits: int) -> int:
    """Each non-zero stores its value and one ⌈log2 dim⌉-bit index per dimension."""
    index_bits = sum(max(1, math.ceil(math.log2(d))) for d in shape)
    return nnz * (value_bits + index_bits)
# --8<-- [end:sparse_encodings]
