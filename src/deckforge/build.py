"""`deckforge build` as a library call: graph, identities, emitters, and a summary."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from deckforge.config import Config, load_config
from deckforge.diagnostics import Diagnostic
from deckforge.model import KnowledgeGraph
from deckforge.outdir import claim as claim_out
from deckforge.outdir import clean_stale_lock_temps


@dataclass
class BuildReport:
    config: Config
    graph: KnowledgeGraph
    outputs: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """What `deckforge lint` reports for the same notes (one code path: lint_graph)."""
        from deckforge.lint import lint_graph

        return lint_graph(self.graph)

    def exit_code(self, strict: bool) -> int:
        levels = {d.level for d in self.diagnostics}
        if "error" in levels or (strict and "warning" in levels):
            return 1
        return 0

    def summary(self) -> str:
        g = self.graph
        flags = Counter(f.name for c in g.cards for f in {f.name: f for f in c.flags}.values())
        kinds = Counter(c.kind for c in g.cards)
        merged = sum(len(m.members) - 1 for m in g.merges)
        levels = Counter(d.level for d in self.diagnostics)
        width = max((len(s.path) for s in g.sources), default=10)
        lines = ["", "deckforge build summary", "-" * 23, "raw items read:"]
        lines += [f"  {s.path:<{width}}  {s.raw_items:>5}  ({s.reader})" for s in g.sources]
        lines.append(f"  {'total':<{width}}  {len(g.raw_items):>5}")
        lines.append(
            f"cards out:  {len(g.cards)}  ("
            + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")"
        )
        lines.append(f"merged:     {merged} items into {len(g.merges)} cards")
        lines.append(f"repaired:   {flags.get('repaired', 0)}")
        lines.append(
            "flagged:    "
            + ", ".join(f"{name} {flags.get(name, 0)}" for name in ("conflict", "needs-review", "claim-mismatch"))
        )
        causes = Counter(f.cause for c in g.cards for f in c.flags)
        lines.append(f"formulas:   {causes.get('formula-verified', 0)} cards verified, "
                     f"{causes.get('formula-mismatch', 0)} mismatched against the registry "
                     "(all counts: the formula-verification line)")
        lines.append(f"problems:   {levels.get('error', 0)} errors, {levels.get('warning', 0)} "
                     f"warnings, {levels.get('info', 0)} infos (as `deckforge lint` lists them)")
        lines.append("outputs:")
        lines += [f"  {name:<10} {path}" for name, path in self.outputs.items()]
        lines.append(f"done in {self.seconds:.1f}s")
        return "\n".join(lines)


def run_build(
    sources: Path | None = None,
    out: Path | None = None,
    root: Path | None = None,
    lock: Path | None = None,
    config: Config | None = None,
    with_site: bool = True,
    write_lock: bool = True,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    from deckforge import lock as lockfile
    from deckforge.emit.anki import write_apkg
    from deckforge.emit.graph_json import write_graph_json
    from deckforge.pipeline import build_graph
    from deckforge.registry import load_registry

    say = progress or (lambda _msg: None)
    start = time.perf_counter()
    if config is None:
        config = load_config(root=root, sources=sources, out=out, lock=lock)
    claim_out(config.out_dir, config)  # OutDirError (exit 2) before anything is read or written
    clean_stale_lock_temps(config.lock_path)  # left by a build killed while writing the lock
    say(f"reading {config.relpath(config.sources_dir)}/ ...")
    registry = load_registry(config.snippets_dir)
    graph = build_graph(config, registry)
    say(f"{len(graph.raw_items)} raw items -> {len(graph.cards)} cards")
    graph, lock = lockfile.apply_lock(graph, config.lock_path)
    report = BuildReport(config=config, graph=graph)
    if lock.broken:
        # The GUIDs just assigned are guesses: graph.json, the deck and the site would carry
        # them to users (and `deckforge diff`), so nothing is written until the lock is mended.
        report.graph = graph.warn(Diagnostic(
            lock.path.name, lock.errors[0].line, "outputs-not-written", "graph.json, the deck "
            "and the site were not written because deckforge.lock was refused (see above).",
            level="error"))
        report.seconds = time.perf_counter() - start
        return report
    report.outputs["graph"] = write_graph_json(graph, config.out_dir / "graph.json")
    say("writing the Anki deck ...")
    anki_problems: list[Diagnostic] = []  # missing images, a deck held back by a broken lock
    apkg = write_apkg(graph, config, lock, problems=anki_problems)
    graph = graph.warn(*anki_problems)
    if apkg:
        report.outputs["deck"] = apkg
    if with_site:
        from deckforge.emit.site import SiteBuildError, build_site

        say("building the site ...")
        try:  # strict: any MkDocs warning (dead link, missing snippet) is a build error
            report.outputs["site"] = build_site(graph, config, strict=True, registry=registry)
        except SiteBuildError as err:
            graph = graph.warn(*(replace(d, level="error") for d in err.diagnostics))
            if err.site.is_dir():
                report.outputs["site"] = err.site
    if write_lock:
        lockfile.write_lock(lock, config.lock_path)
    report.graph = graph
    report.seconds = time.perf_counter() - start
    return report
