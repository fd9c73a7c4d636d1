"""Dense vs 2:4 semi-structured sparse matmul (torch.sparse.to_sparse_semi_structured).

Counts (registry `nm-sparsity`): keeping N = 2 of every M = 4 weights halves the multiply-adds
and (with 2-bit indices) stores the weight in about 9/16 of the bytes; Hopper's sparse tensor
cores double the peak rate for it. Whether a matmul gets close to 2x depends on its shape.
"""

from __future__ import annotations

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import randn, rel_err

CASE = CaseInfo(
    id="sparse-2-4",
    title="Dense vs 2:4 sparse matmul (cuSPARSELt and CUTLASS kernels)",
    formulas=("nm-sparsity",),
    concepts=("n-m-sparsity",),
    claim="N:M (2:4) structured sparsity gives about a 2x speed-up of matrix multiplication on "
          "GPUs with sparse tensor cores.",
    measures=(),
    claim_terms=(
        ("2:4", "n:m"),
        ("speed", "faster", "2x", "2×", "tensor core"),
    ),
)


def prune_2_4(w):
    """Keep the 2 largest-magnitude weights of every 4 consecutive ones along the last dim."""
    import torch

    groups = w.reshape(-1, 4)
    keep = groups.abs().topk(2, dim=-1).indices
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, keep, True)
    return (groups * mask).reshape(w.shape)


def _sparse(w, cutlass: bool, alg_id: int = 0):
    from torch.sparse import SparseSemiStructuredTensor, to_sparse_semi_structured

    previous = SparseSemiStructuredTensor._FORCE_CUTLASS
    SparseSemiStructuredTensor._FORCE_CUTLASS = cutlass
    try:
        ws = to_sparse_semi_structured(w)
    finally:
        SparseSemiStructuredTensor._FORCE_CUTLASS = previous
    if alg_id:
        # torch 2.11's to_sparse_semi_structured takes no alg_id; the tensor carries it
        if not hasattr(ws, "alg_id_cusparselt"):
            raise NotImplementedError("this torch cannot choose a cuSPARSELt algorithm")
        ws.alg_id_cusparselt = alg_id
    return ws


def searched_alg_id(ws, x) -> int:
    """cuSPARSELt's own algorithm search for this product (F.linear runs W_s @ x^T)."""
    import torch

    found = torch._cslt_sparse_mm_search(ws.packed, x.T)
    return int(found[0] if isinstance(found, (tuple, list)) else found)


VARIANTS = ("cusparselt", "cusparselt_searched", "cutlass")


def run(ctx) -> Outcome:
    import torch.nn.functional as F

    rows = []
    for size in ctx.pick((64, 128), (4096, 8192, 16384)):
        m = n = k = size
        x = randn((m, k), device=ctx.device, seed=1)
        w = prune_2_4(randn((n, k), device=ctx.device, seed=2))
        dense = F.linear(x, w)
        row = {"m": m, "n": n, "k": k}
        fns = {"dense": lambda x=x, w=w: F.linear(x, w)}
        for name in VARIANTS:
            row.update({f"ms_{name}": None, f"speedup_{name}": None, f"err_{name}": None})
            try:
                ws = _sparse(w, cutlass=name == "cutlass")
                if name == "cusparselt_searched":
                    alg = searched_alg_id(ws, x)
                    row["alg_id"] = alg
                    ws = _sparse(w, cutlass=False, alg_id=alg)
                row[f"err_{name}"] = rel_err(F.linear(x, ws), dense)
                fns[name] = lambda x=x, ws=ws: F.linear(x, ws)
            except Exception as error:  # noqa: BLE001 - any unsupported shape/backend is recorded
                ctx.notes.append(f"{size}: {name} not run ({str(error).splitlines()[0][:140]})")
        times = ctx.time_many(fns)  # interleaved, so dense and sparse see the same clocks
        t_dense = times["dense"]
        row.update(ms_dense=t_dense.median_ms,
                   tflops_dense=2.0 * m * n * k / (t_dense.median_ms / 1e3) / 1e12)
        for name, t in times.items():
            if name != "dense":
                row[f"ms_{name}"] = t.median_ms
                row[f"speedup_{name}"] = t_dense.median_ms / t.median_ms
        rows.append(row)
        del x, w, dense
    columns = (Column("m", "M (tokens)"), Column("n", "N (out features)"), Column("k", "K (in features)"),
               Column("ms_dense", "dense bf16", "ms"), Column("tflops_dense", "dense throughput", "TFLOP/s"),
               Column("ms_cusparselt", "2:4 sparse (cuSPARSELt)", "ms"),
               Column("speedup_cusparselt", "dense / cuSPARSELt", "x"),
               Column("err_cusparselt", "cuSPARSELt vs dense on the pruned weight (rel. error)"),
               Column("ms_cusparselt_searched", "2:4 sparse (cuSPARSELt, searched algorithm)", "ms"),
               Column("speedup_cusparselt_searched", "dense / cuSPARSELt searched", "x"),
               Column("err_cusparselt_searched", "cuSPARSELt searched vs dense (rel. error)"),
               Column("alg_id", "cuSPARSELt algorithm found by search"),
               Column("ms_cutlass", "2:4 sparse (CUTLASS)", "ms"),
               Column("speedup_cutlass", "dense / CUTLASS", "x"),
               Column("err_cutlass", "CUTLASS vs dense (rel. error)"))
    plots = (Plot("2:4 sparse speed-up over dense", "k", tuple(f"speedup_{v}" for v in VARIANTS),
                  "square size (M = N = K)", "speed-up (x)", logx=True, hlines=((2.0, "claimed 2x"),)),)
    params = {"dtype": "bfloat16", "pattern": "2:4 along K, largest magnitudes kept"}
    speedups = [r[f"speedup_{v}"] for r in rows for v in VARIANTS if r.get(f"speedup_{v}")]
    if not ctx.is_cuda or not speedups:
        return Outcome("not-run", "2:4 semi-structured kernels need a CUDA GPU (sm80+); on CPU only "
                       "the pruning and the dense product ran.", columns, tuple(rows), plots, params)
    best = max(speedups)
    best_row = max(rows, key=lambda r: max([r.get(f"speedup_{v}") or 0 for v in VARIANTS]))
    verdict = "supports" if best >= 1.8 else ("partly" if best > 1.1 else "contradicts")
    summary = (f"2:4 sparse matmul was at best {best:.2f}x faster than dense bf16 (at {best_row['k']}^3; "
               f"dense {best_row['ms_dense']:.3g} ms at {best_row['tflops_dense']:.0f} TFLOP/s), "
               f"against the claimed ~2x; speed-ups ranged {min(speedups):.2f}-{best:.2f}x over sizes "
               f"{rows[0]['k']}-{rows[-1]['k']}.")
    return Outcome(verdict, summary, columns, tuple(rows), plots, params)
