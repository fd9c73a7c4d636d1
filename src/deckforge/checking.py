"""`deckforge check`: are the graph's formulas backed by code whose tests pass?

1. Build the graph (as `deckforge build` would, no outputs written).
2. Run the pytest tests the registry names for its formulas, in a subprocess (`-q`), once per
   test file, and read each test's outcome from pytest's `-rA` summary.
3. Report coverage: formula-bearing cards (the answer holds math, or the question asks for a
   formula), how many are linked to a formula, how many to a formula whose tests pass; list
   every uncovered card as file:line. Exit 1 when coverage is below 100% or a test fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from deckforge.config import Config
from deckforge.formula_match import asks_for_formula, contains_math
from deckforge.model import Card, Formula, KnowledgeGraph

PASSED, FAILED, MISSING, NO_TESTS, NOT_RUN = "passed", "failed", "missing", "no tests", "not run"
# A built-in formula checked from another project: its tests are deckforge's own (they run in
# deckforge's repository and CI, and are not installed with the tool); a project's own
# formulas always need their tests to pass here.
BUILTIN = "built-in"
_RESULT = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\s+(\S+)", re.M)


def formula_bearing(card: Card) -> bool:
    """The cards the registry must back (issue 4, must-hold 1)."""
    if card.kind == "cloze":
        # The cloze text is the question and the answer at once.
        return contains_math(card.question) or contains_math(card.answer)
    return contains_math(card.answer) or asks_for_formula(card.question)


def test_files(formulas: tuple[Formula, ...]) -> list[str]:
    return sorted({t.split("::")[0] for f in formulas for t in f.tests})


def run_tests(files: list[str], root: Path, timeout: float = 600) -> tuple[dict[str, str], str, float]:
    """Outcome per pytest node id ('PASSED', 'FAILED', …), pytest's tail output, seconds."""
    existing = [f for f in files if (root / f).is_file()]
    if not existing:
        return {}, "", 0.0
    cmd = [sys.executable, "-m", "pytest", "-q", "-rA", "--tb=line", "-p", "no:cacheprovider",
           "--no-header", *existing]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
        output = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as err:
        output = f"pytest timed out after {timeout:.0f}s\n{err.stdout or ''}"
    results = {nodeid: outcome for outcome, nodeid in _RESULT.findall(output)}
    return results, output, time.perf_counter() - start


def formula_status(formula: Formula, results: dict[str, str], root: Path) -> str:
    if not formula.tests:
        return NO_TESTS
    outcomes = []
    for test in formula.tests:
        if not (root / test.split("::")[0]).is_file():
            return MISSING
        mine = [o for nodeid, o in results.items()
                if nodeid == test or nodeid.startswith((test + "::", test + "["))]
        if not mine:
            return MISSING
        outcomes += mine
    return PASSED if all(o in ("PASSED", "XFAIL") for o in outcomes) else FAILED


@dataclass
class CheckReport:
    graph: KnowledgeGraph
    status: dict[str, str]  # formula id -> PASSED / FAILED / ...
    ran_tests: bool
    seconds: float = 0.0
    test_counts: Counter = field(default_factory=Counter)
    pytest_output: str = ""

    @property
    def bearing(self) -> list[Card]:
        return [c for c in self.graph.cards if formula_bearing(c)]

    def is_linked(self, card: Card) -> bool:
        return any(f in self.status for f in card.formulas)

    def is_covered(self, card: Card) -> bool:
        ok = (PASSED, BUILTIN) if self.ran_tests else (PASSED, NOT_RUN, BUILTIN)
        return any(self.status.get(f) in ok for f in card.formulas)

    @property
    def uncovered(self) -> list[Card]:
        return [c for c in self.bearing if not self.is_covered(c)]

    @property
    def coverage(self) -> float:
        bearing = self.bearing
        return 100.0 * (len(bearing) - len(self.uncovered)) / len(bearing) if bearing else 100.0

    @property
    def failing(self) -> list[str]:
        return sorted(f for f, s in self.status.items() if s in (FAILED, MISSING, NO_TESTS))

    def exit_code(self) -> int:
        return 1 if self.coverage < 100.0 or (self.ran_tests and self.failing) else 0

    def table(self) -> str:
        bearing = self.bearing
        by_file: dict[str, list[Card]] = {}
        for card in bearing:
            by_file.setdefault(card.sources[0].path, []).append(card)
        width = max((len(p) for p in by_file), default=20)
        rows = [f"{'file':<{width}}  {'formula-bearing':>15}  {'linked':>6}  {'covered':>7}  {'coverage':>8}"]
        for path, cards in sorted(by_file.items()):
            linked = sum(self.is_linked(c) for c in cards)
            covered = sum(self.is_covered(c) for c in cards)
            rows.append(f"{path:<{width}}  {len(cards):>15}  {linked:>6}  {covered:>7}  "
                        f"{100.0 * covered / len(cards):>7.1f}%")
        linked = sum(self.is_linked(c) for c in bearing)
        covered = len(bearing) - len(self.uncovered)
        rows.append(f"{'total':<{width}}  {len(bearing):>15}  {linked:>6}  {covered:>7}  {self.coverage:>7.1f}%")
        passing = sum(s == PASSED for s in self.status.values())
        used = {f for c in self.graph.cards for f in c.formulas if f in self.status}
        lines = ["", "deckforge check", "-" * 15, *rows, ""]
        builtin = sum(s == BUILTIN for s in self.status.values())
        if self.ran_tests:
            counts = ", ".join(f"{n} {k.lower()}" for k, n in sorted(self.test_counts.items()))
            lines.append(f"formulas with passing tests: {passing} / {len(self.status) - builtin}  "
                         f"(pytest: {counts or 'nothing ran'} in {self.seconds:.1f}s)")
        if builtin:
            lines.append(f"built-in formulas:           {builtin} (tested in deckforge's own "
                         "repository; run `deckforge check` there to re-run them)")
        else:
            lines.append(f"formulas: {len(self.status)} (tests not run: --no-tests)")
        lines.append(f"formulas linked by cards:    {len(used)} / {len(self.status)}")
        lines.append(f"coverage: {self.coverage:.1f}% of formula-bearing cards linked to a formula"
                     + (" whose tests pass" if self.ran_tests else ""))
        if self.failing and self.ran_tests:
            lines.append("formulas without passing tests:")
            lines += [f"  {f}: {self.status[f]}" for f in self.failing]
        if self.uncovered:
            lines.append("uncovered cards (link them: an alias or fingerprint in snippets/):")
            for card in sorted(self.uncovered, key=lambda c: (c.sources[0].path, c.sources[0].line)):
                q = " ".join(card.question.split())
                lines.append(f"  {card.sources[0]}: {q[:70]}" + ("…" if len(q) > 70 else ""))
        return "\n".join(lines)


def _base(formula: Formula, root: Path, registry) -> tuple[Path, bool]:
    """The folder a formula's test paths are relative to, and whether it is built in."""
    origin = registry.origin(formula) if registry is not None else None
    if origin is None:
        return root, False
    return origin.base, origin.builtin


def check_graph(graph: KnowledgeGraph, root: Path, run: bool = True, timeout: float = 600,
                registry=None) -> CheckReport:
    formulas = graph.formulas
    if not run:
        return CheckReport(graph, {f.id: NOT_RUN for f in formulas}, ran_tests=False)
    by_base: dict[Path, list[Formula]] = {}
    status: dict[str, str] = {}
    for formula in formulas:
        base, builtin = _base(formula, root, registry)
        if builtin and formula.tests and base.resolve() != root.resolve():
            status[formula.id] = BUILTIN
        else:
            by_base.setdefault(base, []).append(formula)
    counts: Counter = Counter()
    outputs, seconds = [], 0.0
    for base, group in sorted(by_base.items()):
        results, output, took = run_tests(test_files(tuple(group)), base, timeout)
        status.update({f.id: formula_status(f, results, base) for f in group})
        counts.update(results.values())
        outputs.append(output)
        seconds += took
    status = {f.id: status[f.id] for f in formulas}
    return CheckReport(graph, status, ran_tests=True, seconds=seconds,
                       test_counts=counts, pytest_output="".join(outputs))


def check_project(config: Config, run: bool = True, timeout: float = 600) -> CheckReport:
    from deckforge.pipeline import build_graph
    from deckforge.registry import load_registry

    registry = load_registry(config.snippets_dir)
    return check_graph(build_graph(config, registry), config.root, run=run, timeout=timeout,
                       registry=registry)
