"""The knowledge base, built from the bundled notes (and from small graphs made for one
property each), checked on the generated files: strict build, every card where it belongs,
formulas with their snippet code and test status, GPU results, escaping, byte-identity."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from deckforge.emit.pages import text
from deckforge.emit.site import SiteBuildError, build_site
from deckforge.model import Card, Concept, Flag, Formula, KnowledgeGraph, SourceSpan

CARD_DIV = re.compile(r'<div class="df-card" id="(c[0-9a-f]{12})">')


def _site_config(bundled_build, out: Path):
    for apkg in bundled_build.config.out_dir.glob("*.apkg"):
        shutil.copy(apkg, out / apkg.name)
    return replace(bundled_build.config, out_dir=out)


@pytest.fixture(scope="module")
def bundled_site_and_warnings(bundled_build, tmp_path_factory):
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logging.getLogger("mkdocs").addHandler(handler)
    try:
        config = _site_config(bundled_build, tmp_path_factory.mktemp("site"))
        site = build_site(bundled_build.graph, config, strict=True)  # raises on any MkDocs warning
    finally:
        logging.getLogger("mkdocs").removeHandler(handler)
    return site, [r.getMessage() for r in records]


@pytest.fixture(scope="module")
def bundled_site(bundled_site_and_warnings) -> Path:
    return bundled_site_and_warnings[0]


def html_of(site: Path, page: str) -> str:
    """`concepts/roofline.md` -> the built HTML of that page."""
    stem = page.removesuffix(".md")
    path = site / ("index.html" if stem == "index" else stem.removesuffix("/index") + "/index.html")
    return path.read_text("utf-8")


def plain(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_strict_build_of_the_bundled_notes_has_no_warnings(bundled_site_and_warnings):
    site, warnings = bundled_site_and_warnings
    assert (site / "index.html").is_file()
    assert warnings == []


def test_every_card_is_on_exactly_one_lecture_page_and_on_its_concept_pages(bundled_build, bundled_site):
    from deckforge.emit.pages.context import make_context

    graph = bundled_build.graph
    on_lectures = Counter()
    for page in (bundled_site / "lectures").glob("*/index.html"):
        on_lectures.update(CARD_DIV.findall(page.read_text("utf-8")))
    assert set(on_lectures) == {c.id for c in graph.cards}
    assert {n for n in on_lectures.values()} == {1}
    ctx = make_context(graph, bundled_build.config)
    linked = 0
    for card in graph.cards:
        for concept in card.concepts:
            assert f'id="{card.id}"' in html_of(bundled_site, ctx.concept_page[concept]), (card.id, concept)
            linked += 1
    print(f"{len(graph.cards)} cards on lecture pages; {linked} card/concept placements checked")


def _section_lines(root: Path, formula: Formula) -> list[str]:
    source = (root / formula.module).read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(source) if f"[start:{formula.section}]" in line)
    end = next(i for i, line in enumerate(source) if f"[end:{formula.section}]" in line)
    return [line.strip() for line in source[start + 1:end] if line.strip() and "--8<--" not in line]


def test_every_concept_with_a_formula_shows_its_snippet_code_and_test_status(bundled_build, bundled_site):
    from deckforge.emit.pages.context import concept_formulas, make_context

    ctx = make_context(bundled_build.graph, bundled_build.config)
    checked = 0
    for cid, concept in ctx.concepts.items():
        formulas = concept_formulas(ctx, concept)
        if not formulas:
            continue
        page = html_of(bundled_site, ctx.concept_page[cid])
        for formula in formulas:
            section = page.split(f'id="formula-{formula.id}"', 1)[1]
            section = section.split('id="formula-', 1)[0]
            code = plain(section)
            assert "Test status:" in code, formula.id
            assert re.search(r"Test status:\s*(passed|failed|error|skipped|missing|no tests|not run)", code), formula.id
            missing = [line for line in _section_lines(bundled_build.config.root, formula) if line not in code]
            assert not missing, (formula.id, missing[:3])
            checked += 1
    assert checked >= 10
    print(f"{checked} formulas with their snippet code and test status")


def test_cards_show_their_source_lines_with_edit_links(bundled_build, bundled_site):
    config = bundled_build.config
    pages = {p: p.read_text("utf-8") for p in (bundled_site / "lectures").glob("*/index.html")}
    blocks = {}
    for text_ in pages.values():
        for part in text_.split('<div class="df-card" id="')[1:]:
            blocks[part[:13]] = part
    for card in bundled_build.graph.cards:
        for span in card.sources:
            url = config.source_url(span.path, span.line)
            assert url and html.escape(url) in blocks[card.id], (card.id, url)


def test_home_page_counts_and_deck_download(bundled_build, bundled_site):
    page = plain(html_of(bundled_site, "index.md"))
    assert f"Cards {len(bundled_build.graph.cards)}" in " ".join(page.split())
    apkgs = list(bundled_build.config.out_dir.glob("*.apkg"))
    if apkgs:
        assert (bundled_site / "downloads" / apkgs[0].name).read_bytes() == apkgs[0].read_bytes()


def test_mathjax_is_served_by_the_site(bundled_site):
    assert (bundled_site / "assets/mathjax/tex-chtml.js").stat().st_size > 500_000
    assert list((bundled_site / "assets/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    index = html_of(bundled_site, "index.md")
    assert "cdn" not in index.lower() and "fonts.googleapis" not in index


# --- small graphs: one property each -------------------------------------------------------

def _project(tmp_path: Path, root: Path) -> Path:
    """A project with the real snippets (formula code) and no notes; returns its root."""
    project = tmp_path / "project"
    shutil.copytree(root / "snippets", project / "snippets", ignore=shutil.ignore_patterns("results", "__pycache__"))
    (project / "pyproject.toml").write_text('[tool.deckforge]\nrepo_url = "https://example.org/r"\n', "utf-8")
    return project


def _tiny_graph(cards, concepts=(), formulas=()) -> KnowledgeGraph:
    return KnowledgeGraph(cards=tuple(cards), concepts=tuple(concepts), formulas=tuple(formulas))


def _card(cid: str, question: str, answer: str, **kw) -> Card:
    return Card(id=cid, kind=kw.pop("kind", "basic"), question=question, answer=answer,
                sources=(SourceSpan("sources/n.txt", 3, 3),), deck=("course", "Lecture 1"), **kw)


def _build(project: Path, graph: KnowledgeGraph, out: Path) -> Path:
    from deckforge.config import load_config

    return build_site(graph, load_config(root=project, out=out), strict=True)


ROOFLINE = Concept(id="roofline", name="Roofline model", aliases=("roofline",), definition="Two roofs.",
                   formulas=("value-scaling",))
SCALING = Formula(id="value-scaling", name="Value scaling", latex=r"x' = 2\frac{x-a}{b-a}-1", concept="roofline",
                  module="snippets/scaling.py", section="value_scaling", tests=("tests/snippets/test_scaling.py",))


def test_note_text_is_escaped(tmp_path, root):
    evil = _card("c000000000001", "<script>alert(1)</script> **bold** [x](javascript:alert(1)) # h",
                 "<img src=x onerror=alert(1)> --8<-- \"pyproject.toml\" | a | b |\n1. not a list",
                 flags=(Flag("needs-review", "<b>reason</b>"),), label="<i>Q1</i>")
    site = _build(_project(tmp_path, root), _tiny_graph([evil]), tmp_path / "out")
    page = (site / "lectures/lecture-1/index.html").read_text("utf-8")
    body = page.split('<div class="df-card"', 1)[1]
    assert "<script>alert" not in body and "<script>alert(1)</script>" in plain(body)  # shown as text
    assert "<img src=x" not in body and "javascript:" not in body.replace("javascript:alert(1))", "")
    assert 'href="javascript' not in body
    assert "<strong>bold</strong>" not in body and "**bold**" in plain(body)
    assert "<b>reason</b>" not in body and "<i>Q1</i>" not in body
    assert "[tool.deckforge]" not in body  # no snippet include from note text
    assert "<ol>" not in body and "<table>" not in body


def test_concept_names_are_linked_in_text_but_never_in_math_or_code(tmp_path, root):
    card = _card("c000000000002", r"Roofline: is $roofline$ or `roofline` the roofline?", "the Roofline again",
                 concepts=("roofline",))
    site = _build(_project(tmp_path, root), _tiny_graph([card], [ROOFLINE], [SCALING]), tmp_path / "out")
    page = (site / "lectures/lecture-1/index.html").read_text("utf-8")
    block = page.split('id="c000000000002"', 1)[1]
    question = block.split("<details", 1)[0]
    assert question.count('href="../../concepts/roofline/"') == 1
    assert "<a href=\"../../concepts/roofline/\">Roofline</a>: is" in question
    assert r'<span class="arithmatex">\(roofline\)</span>' in question and "<code>roofline</code>" in question


def test_segments_keep_math_and_code_apart():
    segs = text.segments(r"a $x_1$ b $$\sum_i y$$ c \(z\) `d $e$` f \[w\] 5$ and 6$")
    assert [(s.kind, s.text) for s in segs if s.kind != "text"] == [
        ("math", "x_1"), ("display", r"\sum_i y"), ("math", "z"), ("code", "d $e$"), ("display", "w")]
    assert "5&#36; and 6&#36;" in text.to_markdown("5$ and 6$")[0]


def test_formula_test_status_comes_from_check_json(tmp_path, root):
    project = _project(tmp_path, root)
    out = tmp_path / "out"
    out.mkdir()
    (out / "check.json").write_text(json.dumps({"tests": {"tests/snippets/test_scaling.py::test_a": "passed"}}))
    card = _card("c000000000003", "value scaling?", "$x$", concepts=("roofline",), formulas=("value-scaling",))
    site = _build(project, _tiny_graph([card], [ROOFLINE], [SCALING]), out)
    page = plain((site / "concepts/roofline/index.html").read_text("utf-8"))
    assert re.search(r"Test status:\s*passed", page)
    assert "def scale_to_unit" in page


def test_gpu_results_render_as_table_plot_and_verdict(tmp_path, root):
    project = _project(tmp_path, root)
    results = project / "snippets/bench/results"
    results.mkdir(parents=True)
    (results / "roofline.json").write_text(json.dumps({
        "schema": "deckforge.bench/1", "case": "roofline", "title": "GEMM roofline sweep",
        "formulas": ["value-scaling"], "concepts": ["roofline"], "claim": "MMM is compute-bound",
        "verdict": "supports", "summary": "bf16 GEMM reached 712 TFLOP/s (72% of peak).",
        "environment": {"device": "NVIDIA H200", "torch": "2.x", "date": "2026-12-01"},
        "columns": [{"key": "k", "label": "inner dim", "unit": ""}, {"key": "tflops", "label": "TFLOP/s", "unit": ""}],
        "rows": [{"k": 64, "tflops": 100.5}, {"k": 8192, "tflops": 712.25}],
        "plots": [{"title": "roofline", "x": "k", "y": ["tflops"], "logx": True, "logy": True,
                   "hlines": [{"y": 989.0, "label": "peak"}]}]}))
    site = _build(project, _tiny_graph([], [ROOFLINE], [SCALING]), tmp_path / "out")
    page = (site / "concepts/roofline/index.html").read_text("utf-8")
    assert "The measurement supports the note&#39;s claim" in page or "supports the note's claim" in page
    assert "bf16 GEMM reached 712 TFLOP/s (72% of peak)." in plain(page)
    assert "712.2" in plain(page) and "inner dim" in plain(page)
    svg = site / "assets/bench/roofline-1.svg"
    assert svg.read_bytes().startswith(b"<?xml") and b"<svg" in svg.read_bytes()
    assert "../../assets/bench/roofline-1.svg" in page


def test_missing_snippet_fails_the_strict_build(tmp_path, root):
    broken = replace(SCALING, section="no_such_section")
    with pytest.raises(SiteBuildError) as err:
        _build(_project(tmp_path, root), _tiny_graph([], [ROOFLINE], [broken]), tmp_path / "out")
    assert any(d.code == "missing-snippet" for d in err.value.diagnostics)


def test_same_inputs_give_a_byte_identical_site(bundled_build, bundled_site, tmp_path):
    def tree(site: Path) -> dict[str, bytes]:
        return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}

    first = tree(bundled_site)
    second = tree(build_site(bundled_build.graph, _site_config(bundled_build, tmp_path), strict=True))
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_no_npm_on_a_first_build_is_a_diagnostic_not_a_crash(tmp_path, root, monkeypatch):
    monkeypatch.setenv("DECKFORGE_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("deckforge.vendor.shutil.which", lambda name: None)
    with pytest.raises(SiteBuildError) as err:
        _build(_project(tmp_path, root), _tiny_graph([], [ROOFLINE], [SCALING]), tmp_path / "out")
    assert [d.code for d in err.value.diagnostics] == ["site-not-built"]
    assert "npm" in err.value.diagnostics[0].message
