"""GPU benchmark cases for the performance formulas (`deckforge bench`).

One module per case (module name = case id with '-' -> '_'); each declares `CASE`
(deckforge.bench.result.CaseInfo: the formula and concept ids it backs, the note's claim) and
`run(ctx) -> Outcome`. Results measured on the GPU are committed in `results/<case>.json`
(schema `deckforge.bench/1`). Nothing here imports torch at import time: the formula registry
skips this subpackage, and `deckforge build` only reads the committed JSON.
"""

# The order they run in: the roofline first (it also brings the GPU clocks up).
CASES = [
    "roofline",
    "harness-validation",
    "attention",
    "flash-attention",
    "kv-cache",
    "mqa-gqa",
    "layernorm-rmsnorm",
    "depthwise-separable-conv",
    "sparse-2-4",
    "low-precision-matmul",
    "lora-merge",
    "ring-allreduce",
    "ddp-scaling",
    "tensor-parallel-mlp",
]
