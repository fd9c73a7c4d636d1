"""Page generators for the knowledge base, one module per page family.

`generate(graph, config, ...)` returns every generated file of the site as
{docs-relative path: text or bytes}; `deckforge.emit.site` stages them beside docs/ and runs
MkDocs. Adding a page family = one module with `pages(ctx)` plus one entry in FAMILIES.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from deckforge.config import Config
from deckforge.diagnostics import Diagnostic
from deckforge.emit.pages import bench, concepts, graph_view, home, lectures, quality, status, tags
from deckforge.emit.pages.context import SiteContext, deck_title, make_context
from deckforge.model import KnowledgeGraph
from deckforge.registry import Registry, builtin_folder, load_registry

# Page families whose `pages(ctx)` needs nothing but the context (home needs its template).
FAMILIES = (lectures, concepts, tags, quality, graph_view)
PLOT_CACHE = ".cache/plots"  # under the build folder


@dataclass
class Generated:
    files: dict[str, str | bytes]
    sections: dict[str, list[tuple[str, str]]]  # nav placeholder page -> [(title, page)]
    problems: list[Diagnostic] = field(default_factory=list)
    snippet_bases: list[Path] = field(default_factory=list)  # pymdownx.snippets base_path


def find_apkg(config: Config) -> Path | None:
    preferred = config.out_dir / f"{config.deck_name}.apkg"
    if preferred.is_file():
        return preferred
    found = sorted(config.out_dir.glob("*.apkg")) if config.out_dir.is_dir() else []
    return found[0] if found else None


def context(graph: KnowledgeGraph, config: Config, registry: Registry | None = None) -> SiteContext:
    ctx = make_context(graph, config)
    ctx.registry = registry if registry is not None else load_registry(config.snippets_dir)
    by_case: dict[str, tuple[bench.BenchResult, bool]] = {}  # a project's own replaces a built-in
    problems: list[Diagnostic] = []
    builtin = builtin_folder()
    if builtin is not None and builtin.parent == config.root.resolve():
        builtin = None  # deckforge's own repository: its results are the project's own
    for folder in ctx.registry.folders:
        found, trouble = bench.load_results(folder)
        by_case.update((r.case, (r, folder == builtin)) for r in found)
        problems += trouble
    for result, shipped in by_case.values():
        ids = [c for c in result.data.get("concepts") or [] if c in ctx.concepts]
        ids += [ctx.formulas[f].concept for f in result.data.get("formulas") or []
                if f in ctx.formulas and ctx.formulas[f].concept in ctx.concepts]
        if not ids and not shipped:  # built-in results for concepts these notes lack: not shown
            problems.append(Diagnostic(result.path, 1, "orphan-bench-result",
                                       "names no concept or formula of the graph; it is not shown on the site."))
        for cid in dict.fromkeys(ids):
            ctx.bench.setdefault(cid, []).append(result)
    ctx.test_status, ctx.status_source, status_problems = status.load_test_status(config.out_dir, graph.formulas)
    ctx.apkg = find_apkg(config)
    ctx.plot_cache_dir = config.out_dir / PLOT_CACHE
    ctx.problems.extend(problems + status_problems)
    return ctx


def generate(graph: KnowledgeGraph, config: Config, home_template: str | None = None,
             registry: Registry | None = None) -> Generated:
    ctx = context(graph, config, registry)
    files: dict[str, str | bytes] = {}
    files.update(home.pages(ctx, home_template))
    for family in FAMILIES:
        files.update(family.pages(ctx))
    sections = {
        lectures.INDEX: [(html.escape(" › ".join(d[1:]) or deck_title(d), quote=False), p)
                         for d, p in ctx.lecture_page.items()],
        concepts.INDEX: [(html.escape(c.name, quote=False), ctx.concept_page[cid]) for cid, c in ctx.concepts.items()],
    }
    problems = sorted(set(ctx.problems), key=lambda d: (d.path, d.line, d.code, d.message))
    bases = [config.root] + [origin.folder.parent for origin in ctx.registry.origins.values()]
    return Generated(files=files, sections=sections, problems=problems,
                     snippet_bases=list(dict.fromkeys(bases)))
