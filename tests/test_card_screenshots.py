"""A real card, as Anki renders it, typeset by MathJax in headless Chromium and photographed.

The card HTML comes from Anki itself (`card.question()` / `card.answer()` after importing our
.apkg into a fresh collection); MathJax is the local copy from `vendor.mathjax_dir()`, served
with the page by a local HTTP server, so a request that leaves localhost or fails is a bug.
PNGs land in test-artifacts/cards/ (docs/assets/cards/ holds a copy shown in docs/anki.md).
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.anki]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "cards"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTHS = {"desktop": 900, "phone": 390}
MODES = {"light": "", "night": " nightMode night_mode"}  # Anki desktop / AnkiDroid classes
PREFERRED = "KD dual-loss formula"  # display math, a repaired flag, a long formula for phones

# Anki's own MathJax settings: \( \) inline, \[ \] display, no $ delimiters.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>
window.MathJax = {{
  tex: {{inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]], processEscapes: false}},
  startup: {{typeset: true}}
}};
</script>
<script src="mathjax/tex-chtml.js" async></script>
</head><body class="card card1{mode}">{card}</body></html>
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from deckforge.vendor import VendorError, mathjax_dir

    try:
        mathjax = mathjax_dir()
    except VendorError as err:
        pytest.skip(str(err))
    root = tmp_path_factory.mktemp("cards-www")
    (root / "mathjax").symlink_to(mathjax, target_is_directory=True)
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def anki_card(bundled_build, tmp_path_factory):
    """(question html, answer html) of a card with math, rendered by Anki's templates."""
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    cards = [c for c in bundled_build.graph.cards if "$" in c.answer]
    assert cards, "the bundled notes have cards with math"
    chosen = next((c for c in cards if c.question.startswith(PREFERRED)),
                  next((c for c in cards if "$$" in c.answer), cards[0]))
    col = Collection(str(tmp_path_factory.mktemp("shots-col") / "collection.anki2"))
    try:
        col.import_anki_package(ImportAnkiPackageRequest(
            package_path=str(bundled_build.outputs["deck"]), options=ImportAnkiPackageOptions()))
        nid = col.db.scalar("select id from notes where guid = ?", chosen.guid)
        card = col.get_card(col.find_cards(f"nid:{nid}")[0])
        return chosen, card.question(), card.answer()
    finally:
        col.close()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


SHOTS = [(side, width, mode) for side in ("front", "back") for width in WIDTHS for mode in MODES]


@pytest.mark.parametrize("side, width, mode", SHOTS)
def test_card_screenshot(side, width, mode, server, anki_card, browser):
    root, base = server
    card, question, answer = anki_card
    name = f"{side}-{width}-{mode}"
    (root / f"{name}.html").write_text(PAGE.format(mode=MODES[mode],
                                                   card=question if side == "front" else answer),
                                       "utf-8")
    page = browser.new_page(viewport={"width": WIDTHS[width], "height": 320})
    failed, foreign = [], []
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url} {r.status}"))
    page.on("request", lambda r: r.url.startswith(base) or foreign.append(r.url))
    try:
        page.goto(f"{base}/{name}.html")
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("MathJax.startup.promise")
        page.wait_for_load_state("networkidle")  # the web fonts MathJax asked for
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

        html = question if side == "front" else answer
        has_math = "\\(" in html or "\\[" in html
        assert has_math or side == "front", "the back of the chosen card holds math"
        assert (page.locator("mjx-container").count() > 0) == has_math, "MathJax typeset it"
        assert page.locator("mjx-merror").count() == 0, "no MathJax error nodes"
        text = page.inner_text("body")
        assert "\\(" not in text and "\\[" not in text, "no raw TeX delimiters left"
        assert not failed and not foreign, (failed, foreign)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= WIDTHS[width] + 1, f"page scrolls sideways: {overflow}px"
        if side == "back":
            assert card.sources[0].path in text  # where it came from
            for flag in card.flags:
                assert flag.name in text
        if mode == "night":
            bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert bg != "rgb(255, 255, 255)", "night mode has a dark background"
    finally:
        page.close()
