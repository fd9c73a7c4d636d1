"""Card text (Markdown + `$…$` LaTeX, written by people) -> safe HTML for Anki fields.

- Raw HTML in the notes is escaped, never passed through (markdown-it with `html=False`), so a
  `<script>` in a note is shown as text. markdown-it's link validation drops `javascript:` URLs.
- `$…$` / `$$…$$` become MathJax `\\(…\\)` / `\\[…\\]`, which Anki desktop, AnkiMobile and
  AnkiDroid typeset natively; the TeX is HTML-escaped like any other text.
- Obsidian embeds `![[file|600]]` become images, `[[target|alias]]` their visible text.
- Images go through `env["image"]`, a callback that packages the file as media and returns its
  media name, or None for a missing/remote one, which shows as a visible placeholder.
- `{{` / `}}` in note text are entity-escaped so Anki never reads them as template syntax.
- Most card text is one plain line; it skips the parser (`_PLAIN`), with output identical to
  markdown-it's (a test checks this), because rendering is most of the emitter's time.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

ImageResolver = Callable[[str], "str | None"]

# markdown-it renders a line as `<p>escaped</p>` when it holds no emphasis, code, escape, HTML
# or math character, no inline link or entity, and starts with nothing that opens a block.
# An underscore between two letters/digits is literal (CommonMark's intraword rule).
_PLAIN_CHARS = r"[^\\`*<$\x00-\x1f\x7f-\x9f\u2028\u2029]"
_PLAIN = re.compile(rf"[A-Za-z(\"']{_PLAIN_CHARS}*")
_PIECE = re.compile(rf"{_PLAIN_CHARS}*")
# inline link, wikilink/embed, image, entity, an underscore that could open or close emphasis
_TRAPS = re.compile(r"\]\(|\[\[|!\[|&#?\w+;|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_DISPLAY = re.compile(r"\$\$([^$\n]*[^$\n\\])\$\$")
_MATH_SPLIT = re.compile(r"(\$\$[^$\n]*?[^$\n\\]\$\$|\$[^$\n]*?[^$\n\\]\$)")
# Bold / code content the fast path takes: starts and ends with a letter or digit.
_SAFE_SPAN = r"[A-Za-z0-9](?:[A-Za-z0-9 .,:;()+=/%-]*[A-Za-z0-9])?"
_STYLED_SPLIT = re.compile(
    rf"(\$\$[^$\n]*?[^$\n\\]\$\$|\$[^$\n]*?[^$\n\\]\$|\*\*{_SAFE_SPAN}\*\*|`{_SAFE_SPAN}`)")
_STRONG_FOLLOW = frozenset(" .,:;?!)")
_EMBED = re.compile(r"!\[\[([^\]|\n]+)(?:\|[^\]\n]*)?\]\]")
_WIKILINK = re.compile(r"(?<!!)\[\[([^\]|\n]+)(?:\|([^\]\n]+))?\]\]")
_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)\}\}", re.S)
_HIGHLIGHT = re.compile(r"==(?=\S)(.+?)(?<=\S)==", re.S)
# Private-use characters stand in for cloze markers while the Markdown is rendered.
_OPEN, _SEP, _CLOSE = "\ue000", "\ue001", "\ue002"
_CLOZE_MARK = re.compile(f"{_OPEN}(\\d+){_SEP}")


def escape(text: str) -> str:
    """markdown-it's own escaping (so the fast path matches its output exactly)."""
    # Most card text holds none of the four: test before copying (a hot path at 100,000 cards).
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    return text


def _render_math_inline(self, tokens, idx, options, env) -> str:
    return "\\(" + escape(tokens[idx].content) + "\\)"


def _render_math_inline_double(self, tokens, idx, options, env) -> str:
    return "\\[" + escape(tokens[idx].content) + "\\]"


def _render_math_block(self, tokens, idx, options, env) -> str:
    return '<div class="df-math-block">\\[' + escape(tokens[idx].content.strip()) + "\\]</div>\n"


def _render_image(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    src = token.attrGet("src") or ""
    alt = escape(token.content or src)
    resolve: ImageResolver | None = env.get("image")
    name = resolve(src) if resolve else None
    if name is None:
        return f'<span class="df-missing-image">missing image: {escape(src) or alt}</span>'
    return f'<img src="{escape(name)}" alt="{alt}">'


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    md.use(dollarmath_plugin, allow_space=True, allow_digits=True, double_inline=True)
    md.add_render_rule("math_inline", _render_math_inline)
    md.add_render_rule("math_inline_double", _render_math_inline_double)
    md.add_render_rule("math_block", _render_math_block)
    md.add_render_rule("math_block_label", _render_math_block)
    md.add_render_rule("image", _render_image)
    return md


_MD = _parser()


def _has_trap(text: str) -> bool:
    return ("[" in text or "&" in text or "_" in text) and _TRAPS.search(text) is not None


def is_plain(text: str) -> bool:
    return (_PLAIN.fullmatch(text) is not None and not text[-1].isspace()
            and not _has_trap(text))


def _no_templates(html: str) -> str:
    if "{{" in html:
        html = html.replace("{{", "{&#123;")
    if "}}" in html:
        html = html.replace("}}", "}&#125;")
    return html


def inline_line(text: str) -> str | None:
    """The inner HTML of one line of plain text with optional inline `$…$` math, `**bold**` and
    `` `code` ``, exactly as markdown-it renders it inside a paragraph; None when the line
    needs the real parser."""
    if is_plain(text):
        return escape(text)
    if not text or text.startswith("$$") or text[-1].isspace():
        return None  # `$$` at the start of a line opens a display-math block
    if "*" in text or "`" in text:
        return _styled_line(text)
    if "$" not in text:
        return None
    parts = _MATH_SPLIT.split(text)
    if len(parts) == 1 or (parts[0] and not _PLAIN.fullmatch(parts[0])):
        return None
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            if _PIECE.fullmatch(part) is None or _has_trap(part):
                return None
            out.append(escape(part))
        elif part.startswith("$$"):
            out.append("\\[" + escape(part[2:-2]) + "\\]")
        else:
            out.append("\\(" + escape(part[1:-1]) + "\\)")
    return "".join(out)


def _styled_line(text: str) -> str | None:
    """`inline_line` for a line with `**bold**` / `` `code` `` spans (and maybe math) whose
    content is letters, digits, spaces and a little punctuation. Bold opens after a space (or
    the line start) and closes before a space, the line end or `.,:;?!)`, so each `**` is
    unambiguously an opener or a closer under CommonMark's flanking rules; anything else
    (`*`, `_`, a stray backtick, `\\`, `<`, links, entities) goes to the parser."""
    parts = _STYLED_SPLIT.split(text)
    if parts[0] and not _PLAIN.fullmatch(parts[0]):
        return None
    out = []
    last = len(parts) - 1
    for i, part in enumerate(parts):
        if i % 2 == 0:
            if _PIECE.fullmatch(part) is None or _has_trap(part):
                return None
            out.append(escape(part))
        elif part[0] in "*`":
            before, after = parts[i - 1], parts[i + 1]
            if (not before and i > 1) or (not after and i + 1 < last):
                return None  # touches another span: `**a****b**`, `` `a``b` ``
            if part[0] == "`":
                out.append("<code>" + escape(part[1:-1]) + "</code>")
                continue
            if (before and before[-1] != " ") or (after and after[0] not in _STRONG_FOLLOW):
                return None
            out.append("<strong>" + escape(part[2:-2]) + "</strong>")
        elif part.startswith("$$"):
            out.append("\\[" + escape(part[2:-2]) + "\\]")
        else:
            out.append("\\(" + escape(part[1:-1]) + "\\)")
    return "".join(out)


def _fast_html(text: str) -> str | None:
    """Parser-free rendering of the common shapes of card text (tests check it is identical to
    markdown-it's): a paragraph of plain lines with inline math, a bullet list of such lines,
    one display formula."""
    if "\n" not in text and not text.startswith(("- ", "$$")):  # the common case: one line
        inner = inline_line(text)
        return None if inner is None else f"<p>{inner}</p>"
    lines = text.split("\n")
    if all(line.startswith("- ") for line in lines):
        items = [inline_line(line[2:]) for line in lines]
        if all(items):
            return "<ul>\n" + "".join(f"<li>{item}</li>\n" for item in items) + "</ul>"
        return None
    if len(lines) == 1 and text.startswith("$$"):
        match = _DISPLAY.fullmatch(text)
        if match and match.group(1).strip():
            return '<div class="df-math-block">\\[' + escape(match.group(1).strip()) + "\\]</div>"
        return None
    rendered = [inline_line(line) for line in lines]
    if all(rendered):
        return "<p>" + "<br />\n".join(rendered) + "</p>"
    return None


def markdown_to_html(text: str, image: ImageResolver | None = None) -> str:
    """Markdown + LaTeX -> sanitized HTML (no trailing newline)."""
    text = text.strip()
    if not text:
        return ""
    fast = _fast_html(text)
    if fast is not None:
        return _no_templates(fast)
    text = _EMBED.sub(lambda m: f"![{m.group(1).strip()}](<{m.group(1).strip()}>)", text)
    text = _WIKILINK.sub(lambda m: (m.group(2) or m.group(1)).strip(), text)
    return _no_templates(_MD.render(text, {"image": image}).strip())


def inline_html(text: str, image: ImageResolver | None = None) -> str:
    """Like markdown_to_html, without the wrapping paragraph of a one-paragraph text."""
    html = markdown_to_html(text, image)
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        return html[3:-4]
    return html


def has_cloze(text: str) -> bool:
    return bool(_CLOZE.search(text) or _HIGHLIGHT.search(text))


def cloze_to_html(text: str, image: ImageResolver | None = None) -> str:
    """Cloze text (`{{c1::…}}` or Obsidian `==…==` highlights, numbered in order) -> HTML with
    Anki cloze markers kept intact around the rendered Markdown."""
    counter = iter(range(1, 10_000))
    if not _CLOZE.search(text):
        text = _HIGHLIGHT.sub(lambda m: f"{{{{c{next(counter)}::{m.group(1)}}}}}", text)
    text = _CLOZE.sub(lambda m: f"{_OPEN}{m.group(1)}{_SEP}{m.group(2)}{_CLOSE}", text)
    html = markdown_to_html(text, image)
    html = _CLOZE_MARK.sub(lambda m: "{{c" + m.group(1) + "::", html)
    return html.replace(_CLOSE, "}}")


def cloze_numbers(html: str) -> list[int]:
    return sorted({int(n) for n in re.findall(r"\{\{c(\d+)::", html)})
