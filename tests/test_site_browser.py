"""The knowledge base in a real browser: headless Debian Chromium driven by playwright.

Every generated page is opened from a local HTTP server and must load without console errors
or failed requests, with every formula typeset by the site's own MathJax; every internal link
must resolve (page and anchor); Material's search must find "roofline" and "LoRA"; instant
navigation must re-typeset. Screenshots (desktop and phone width) land in test-artifacts/site/.
"""

from __future__ import annotations

import functools
import html
import http.server
import re
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "site"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Resolves once MathJax has typeset the page (startup and our document$ re-typeset) and fonts loaded.
WAIT_MATH = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;
  return true;
}"""
# Text outside code that still looks like TeX delimiters, and MathJax error nodes.
MATH_PROBLEMS = r"""() => {
  const walker = document.createTreeWalker(document.querySelector('article') || document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest('pre, code, script, style, mjx-container')) continue;
    if (/\\\(|\\\)|\\\[|\\\]|\$\$/.test(n.textContent)) raw.push(n.textContent.trim().slice(0, 80));
  }
  return {raw, errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
          math: document.querySelectorAll('.arithmatex').length,
          typeset: document.querySelectorAll('.arithmatex mjx-container').length};
}"""
# getAttribute: SVG links (the concept graph) have no string `.href`.
LINKS = """() => Array.from(document.querySelectorAll('article a[href], .md-sidebar a[href]'),
                          a => new URL(a.getAttribute('href'), document.baseURI).href)"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a tab closed mid-download (the search index) is not a site problem


def reviewed_cards(graph) -> list:
    """Three cards with review data (as `deckforge pull` writes it): a leech, a card forgotten
    twice and one never forgotten; the first has math in its question."""
    single = [c for c in graph.cards if len(c.sources) == 1]
    with_math = next(c for c in single if "$" in c.question)
    others = [c for c in single if c is not with_math][:2]
    return [with_math, *others]


def write_review_data(graph, out: Path) -> None:
    from deckforge.pull import reviews_json

    entries = []
    for card, (reviews, lapses, leech) in zip(reviewed_cards(graph), ((12, 8, True), (7, 2, False),
                                                                      (5, 0, False)), strict=True):
        entries.append({"id": card.id, "guid": card.guid, "question": card.question,
                        "sources": [{"path": s.path, "line": s.line, "end_line": s.end_line}
                                    for s in card.sources],
                        "reviews": reviews, "lapses": lapses, "ease": 1.3 if leech else 2.5,
                        "difficulty": None, "weight": reviews, "leech": leech, "users": 1})
    (out / "reviews.json").write_text(reviews_json(sorted(entries, key=lambda e: e["id"])), "utf-8")


@pytest.fixture(scope="module")
def served(bundled_build, tmp_path_factory):
    """(site folder, base URL). The port is bound first: the site is built with that URL as
    site_url, as `mkdocs serve` does, because Material's instant navigation only handles
    links that match the sitemap's URLs (host, port and path)."""
    from deckforge.emit.site import build_site

    out = tmp_path_factory.mktemp("site-browser")
    for apkg in bundled_build.config.out_dir.glob("*.apkg"):
        shutil.copy(apkg, out / apkg.name)
    write_review_data(bundled_build.graph, out)
    site_dir = out / "site"
    httpd = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site_dir)))
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    site = build_site(bundled_build.graph, replace(bundled_build.config, out_dir=out), strict=True, site_url=base)
    assert site == site_dir
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site, base
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def site(served) -> Path:
    return served[0]


@pytest.fixture(scope="module")
def server(served) -> str:
    return served[1]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def page_urls(site: Path) -> list[str]:
    """Every HTML page of the site as a URL path (directory URLs), 404 page excluded."""
    pages = []
    for path in sorted(site.rglob("index.html")):
        rel = path.parent.relative_to(site).as_posix()
        pages.append("" if rel == "." else rel + "/")
    return pages


def anchors_of(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text("utf-8")))


def resolve(site: Path, url_path: str) -> Path | None:
    target = site / unquote(url_path).lstrip("/")
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


class Visit:
    """One page load with its console errors and failed requests recorded."""

    def __init__(self, browser, url: str, viewport=DESKTOP, color_scheme="light", context=None):
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.own_context = context is None
        self.context = context or browser.new_context(viewport=viewport, color_scheme=color_scheme)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        self.page.on("response", lambda r: self.failed.append(f"{r.url} HTTP {r.status}") if r.status >= 400 else None)
        self.page.goto(url, wait_until="load")
        self.page.evaluate(WAIT_MATH)

    def close(self):
        if self.own_context:
            self.context.close()
        else:
            self.page.close()


def test_every_page_loads_clean_typesets_math_and_links_resolve(browser, server, site):
    pages = page_urls(site)
    assert len(pages) > 10
    origin = urlsplit(server).netloc
    problems: list[str] = []
    anchors: dict[Path, set[str]] = {}
    checked_links = 0
    typeset = 0
    context = browser.new_context(viewport=DESKTOP)
    for path in pages:
        errors: list[str] = []
        failed: list[str] = []
        page = context.new_page()
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("requestfailed", lambda r, failed=failed: failed.append(f"{r.url} {r.failure}"))
        page.on("response", lambda r, failed=failed: failed.append(f"{r.url} HTTP {r.status}") if r.status >= 400 else None)
        page.goto(server + path, wait_until="load")
        page.evaluate(WAIT_MATH)
        math = page.evaluate(MATH_PROBLEMS)
        links = page.evaluate(LINKS)
        errors, failed = list(errors), list(failed)  # closing the tab aborts the search index download
        page.close()
        problems += [f"/{path}: console error: {e}" for e in errors]
        problems += [f"/{path}: failed request: {f}" for f in failed]
        problems += [f"/{path}: raw TeX left: {r!r}" for r in math["raw"]]
        if math["errors"]:
            problems.append(f"/{path}: {math['errors']} MathJax error node(s)")
        if math["typeset"] < math["math"]:
            problems.append(f"/{path}: {math['math'] - math['typeset']} of {math['math']} formulas not typeset")
        typeset += math["typeset"]
        for href in links:
            parts = urlsplit(href)
            if parts.netloc != origin:
                continue  # external (the repository's edit links): not fetched, not checked here
            checked_links += 1
            target = resolve(site, parts.path)
            if target is None:
                problems.append(f"/{path}: link to missing page {parts.path}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = anchors.setdefault(target, anchors_of(target))
                if html.unescape(unquote(parts.fragment)) not in ids:
                    problems.append(f"/{path}: link to missing anchor {parts.path}#{parts.fragment}")
    context.close()
    print(f"{len(pages)} pages, {typeset} formulas typeset, {checked_links} internal links checked")
    assert typeset > 0
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} problems)"


def test_search_finds_roofline_and_lora(browser, server):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    visit = Visit(browser, server)
    try:
        page = visit.page
        for query, expect in (("roofline", "roofline"), ("LoRA", "lora")):
            if not page.is_visible(".md-search__input"):
                page.click("label[for='__search']")
            results = ""
            # The index builds in a web worker after the page loads; on a busy machine a query
            # typed before it is ready can go unanswered, so it is typed again until answered.
            for _attempt in range(24):
                page.fill(".md-search__input", "")
                page.fill(".md-search__input", query)
                page.press(".md-search__input", "End")
                try:
                    page.wait_for_function(
                        "q => document.querySelector('.md-search__input').value === q"
                        " && document.querySelector('.md-search-result__item')", arg=query, timeout=5000)
                except PlaywrightTimeout:  # not answered yet
                    continue
                results = page.inner_text(".md-search-result")
                if expect in results.lower():
                    break
            assert expect in results.lower(), (query, results[:500])
        assert not visit.errors and not visit.failed, (visit.errors, visit.failed)
    finally:
        visit.close()


def test_instant_navigation_retypesets_math(browser, server, site):
    """Material swaps pages without a reload; our document$ hook must typeset the new page."""
    visit = Visit(browser, server + "concepts/")
    try:
        page = visit.page
        page.evaluate("() => { window.__marker = 'same document'; }")
        page.click("article a[href*='roofline']")
        page.wait_for_url("**/concepts/roofline/")
        page.evaluate(WAIT_MATH)
        page.wait_for_function("() => document.querySelectorAll('.arithmatex mjx-container').length > 0", timeout=15000)
        assert page.evaluate("() => window.__marker") == "same document", "navigation was not instant"
        math = page.evaluate(MATH_PROBLEMS)
        assert math["math"] > 0 and math["typeset"] == math["math"] and not math["raw"], math
        assert not visit.errors and not visit.failed, (visit.errors, visit.failed)
    finally:
        visit.close()


def test_quality_page_ranks_the_hardest_cards_with_their_source_lines(browser, server, bundled_build):
    """build/reviews.json (from `deckforge pull`) -> the quality report's hardest cards."""
    leech, twice, never = reviewed_cards(bundled_build.graph)
    visit = Visit(browser, server + "quality/#hardest-cards")
    try:
        page = visit.page
        items = page.locator("#hardest-cards ~ ol").first.locator(":scope > li")
        assert items.count() == 2  # the never-forgotten card is not ranked
        first, second = items.nth(0).inner_text(), items.nth(1).inner_text()
        assert "8 lapses in 12 answers" in first and "leech" in first
        assert "2 lapses in 7 answers" in second
        for item, card in ((items.nth(0), leech), (items.nth(1), twice)):
            span = card.sources[0]
            assert f"{span.path}:{span.line}" in item.inner_text()
            href = item.locator("a").first.get_attribute("href")
            assert card.id in href  # the card's own anchor on its lecture page
        assert never.question[:20] not in page.locator("#hardest-cards ~ ol").first.inner_text()
        math = page.evaluate(MATH_PROBLEMS)
        assert math["typeset"] == math["math"] and not math["errors"], math
        assert not visit.errors and not visit.failed, (visit.errors, visit.failed)
    finally:
        visit.close()


# name -> (page, element to scroll to or None, viewports, colour scheme)
SHOTS = {
    "home": ("", None, ("desktop", "phone"), "light"),
    "concept": ("concepts/roofline/", None, ("desktop",), "light"),
    "concept-formula": ("concepts/roofline/", "#formulas", ("phone",), "light"),
    "concept-gpu": ("concepts/roofline/", "#measured-on-a-gpu", ("desktop", "phone"), "light"),
    "quality": ("quality/", None, ("desktop", "phone"), "light"),
    "graph": ("graph/", None, ("desktop",), "light"),
}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def test_screenshots(browser, server, site):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lectures = sorted(p for p in page_urls(site) if p.startswith("lectures/") and p != "lectures/")
    shots = {**SHOTS, "lecture-dark": (lectures[min(3, len(lectures) - 1)], "details summary", ("desktop",), "dark")}
    written = []
    contexts = {}  # one browser context per (viewport, colour scheme)
    try:
        for name, (path, target, viewports, scheme) in shots.items():
            for label in viewports:
                key = (label, scheme)
                if key not in contexts:
                    contexts[key] = browser.new_context(viewport=VIEWPORTS[label], color_scheme=scheme)
                visit = Visit(browser, server + path, context=contexts[key])
                try:
                    page = visit.page
                    if target == "details summary":  # a turned flashcard
                        page.click(target)
                    elif target and page.query_selector(target):
                        page.eval_on_selector(target, "el => el.scrollIntoView()")
                    page.wait_for_timeout(300)
                    out = ARTIFACTS / f"{name}-{label}.png"
                    page.screenshot(path=str(out), full_page=False)
                    written.append(out)
                    assert not visit.errors and not visit.failed, (path, visit.errors, visit.failed)
                finally:
                    visit.close()
    finally:
        for context in contexts.values():
            context.close()
    assert all(p.stat().st_size > 10_000 for p in written)
