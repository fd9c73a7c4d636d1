"""GPU (and CPU-fallback) benchmarks of the performance formulas: harness, runner, results.

The cases live in `snippets/bench/` beside the formula snippets they back; this package holds
what every case shares: the timer (`harness`), the device peaks and roofline arithmetic
(`roofline`), the environment record (`env`), the result contract (`result`,
`result.schema.json`) and the runner behind `deckforge bench` (`runner`).

Nothing here imports torch at module level, so `deckforge build` (which reads committed
results through `deckforge.passes.measured`) never pays for it.
"""

from deckforge.bench.result import RESULT_SCHEMA_ID, load_result_schema

__all__ = ["RESULT_SCHEMA_ID", "load_result_schema"]
