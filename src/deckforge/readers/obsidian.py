"""Obsidian lecture notes (cs336-lecture-notes.md), parsed with markdown-it-py.

The structure comes from the markdown-it token stream (block tokens carry `.map` line ranges),
extended with mdit-py-plugins (front matter, `$…$` math) and two small inline rules of ours:
`==highlight==` (mark_open / mark_close) and `[[wikilink]]` / `![[embed]]` (wikilink tokens
whose `meta` holds the target and the character offset, so a warning can name its line).

Items: the list items under each heading become lecture.Nodes (Markdown, `==x==` written
`{{c1::x}}`) and go through the shared lecture rules (readers/lecture.py): clozes, `**term**:`
definitions, questions with their nested list, formulas with their lead-in, comparisons,
"A instead of B", lead-in lists, worked examples, key-term clozes and key points. A heading
that asks (`## What can we learn …?`) and the list under it are one card. Headings that are no
study material (References, Open questions, Overview, …) give none, nor do tags, pointers
("See [[GPU]]"), image embeds and the author's open questions. question / answer = what the
rule makes (a cloze has answer "" and kind_hint "cloze"; a formula kind_hint "formula"; a
`**term**:` item kind_hint "definition"). section = the heading path,
outermost first, `#tags` removed; context = that path and the parent items, joined with " › ".
Code blocks are no cards. label = None; options / correct empty. Inline text is written back as
Markdown ($…$, `code`, *em*, **strong**, [text](url) kept).

Images and links (never fatal):
* `![[file.png|600]]` whose file is absent next to the note (or anywhere below its folder) ->
  warning `missing-image` at its line; in the item text: `[missing image: file.png]`. An
  existing file is written `![file.png](<path/relative/to/project>)` so the Anki emitter can
  package it (the path has the same base as SourceSpan.path).
* `[[target#heading|alias]]` that resolves to no heading of this note and no `target.md` file
  -> warning `unresolved-link` at its line; the item text keeps the alias (or the target).
"""

from __future__ import annotations

import glob
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from deckforge.diagnostics import Diagnostic
from deckforge.model import RawItem, SourceSpan, normalize_key
from deckforge.readers import ReadResult, lecture

NAME = "obsidian"

ASKING_WORDS = ("why", "what", "how", "when", "which", "who", "where")
_TAG = re.compile(r"(?<!\S)#[\w/-]+")
_HEADING_LINE = re.compile(r"^#{1,6}\s+\S", re.M)
_LONE_CR = re.compile(r"\r(?!\n)")
MAX_LINE = 100_000  # characters; longer lines are skipped with a warning
_MAX_LINK = 1_000  # longest [[wikilink]] looked for
_MAX_MARK = 5_000  # longest ==highlight== looked for
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp")


# ---------------------------------------------------------------- markdown-it inline rules
def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    """`[[target#heading|alias]]` and `![[embed|size]]` -> one `wikilink` token."""
    pos, src = state.pos, state.src
    embed = src.startswith("![[", pos)
    if not (embed or src.startswith("[[", pos)):
        return False
    start = pos + (3 if embed else 2)
    end = src.find("]]", start, min(state.posMax, start + _MAX_LINK))  # bounded: stays linear
    if end < 0:
        return False
    inner = src[start:end]
    if not inner.strip() or "\n" in inner or "[" in inner:
        return False
    if not silent:
        target, _, alias = inner.partition("|")
        token = state.push("wikilink", "", 0)
        token.meta = {"target": target.strip(), "alias": alias.strip(), "embed": embed,
                      "offset": pos}
        token.content = inner
    state.pos = end + 2
    return True


def _mark_rule(state: StateInline, silent: bool) -> bool:
    """`==text==` -> mark_open, the inline tokens of text, mark_close."""
    pos, src = state.pos, state.src
    if not src.startswith("==", pos) or src.startswith("===", pos):
        return False
    start = pos + 2
    if start >= state.posMax or src[start].isspace():
        return False
    end = src.find("==", start, min(state.posMax, start + _MAX_MARK))  # bounded: stays linear
    if end < 0 or src[end - 1].isspace():
        return False
    if silent:
        state.pos = end + 2
        return True
    state.push("mark_open", "mark", 1)
    old_max = state.posMax
    state.pos, state.posMax = start, end
    state.md.inline.tokenize(state)
    state.posMax = old_max
    state.push("mark_close", "mark", -1)
    state.pos = end + 2
    return True


def make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark").use(front_matter_plugin).use(dollarmath_plugin, double_inline=True)
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.inline.ruler.before("emphasis", "mark", _mark_rule)
    return md


# ---------------------------------------------------------------- the list-item tree
@dataclass
class _Block:
    """A paragraph (or a list item's text) and the list items nested under it."""

    inline: Token | None
    lines: tuple[int, int]  # 1-based inclusive
    heading: tuple[str, ...]
    children: list[_Block] = field(default_factory=list)
    parent: _Block | None = None
    is_item: bool = False


@dataclass
class _Env:
    path: str
    folder: Path | None
    headings: set[str]
    result: ReadResult
    lines: list[str] = field(default_factory=list)
    seen: set[tuple[int, str]] = field(default_factory=set)


def sniff(text: str) -> float:
    head = text[:200_000]
    score = 0.0
    if _HEADING_LINE.search(head):
        score += 0.4
    if "[[" in head and "]]" in head:
        score += 0.3
    if re.search(r"==[^=\s][^=\n]*==", head):
        score += 0.15
    if re.search(r"^\s*(?:[-*]|\d+\.)\s+\*\*[^*]+\*\*:", head, re.M):
        score += 0.15
    return min(score, 1.0)


def read(text: str, path: str, *, folder: Path | None = None, **_options) -> ReadResult:
    result = ReadResult()
    if folder is None:
        folder = Path(path).parent
    text = _LONE_CR.sub(" ", text)  # markdown-it would count a lone CR as a line break
    text = _drop_giant_lines(text, path, result)
    try:
        tokens = make_parser().parse(text)
    except Exception as err:  # markdown-it is robust, but a note must never crash the build
        result.diagnostics.append(Diagnostic(path, 1, "markdown-error",
                                             f"could not parse the note ({err}); fix the Markdown."))
        return result
    roots, heading_for = _tree(tokens)
    env = _Env(path, folder if folder.is_dir() else None, set(heading_for), result,
               text.split("\n"))
    for token in tokens:
        if token.type == "inline" and token.map:
            _check_links(token, token.map[0] + 1, env)
    _items(roots, tokens, env)
    result.items.sort(key=lambda item: (item.span.line, item.span.end_line))
    return result


def _drop_giant_lines(text: str, path: str, result: ReadResult) -> str:
    """Blank out lines longer than MAX_LINE (keeping line numbers): markdown-it's link-label
    scanning costs ~10 µs a character on bracket-heavy text, and no real note has such lines."""
    if len(text) <= MAX_LINE or max(map(len, text.split("\n"))) <= MAX_LINE:
        return text
    lines = text.split("\n")
    for n, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE:
            result.diagnostics.append(Diagnostic(
                path, n, "line-too-long", f"line is {len(line):,} characters long and was "
                f"skipped (limit {MAX_LINE:,}); break it into paragraphs."))
            lines[n - 1] = ""
    return "\n".join(lines)


def _tree(tokens: list[Token]) -> tuple[list[_Block], dict[str, int]]:
    roots: list[_Block] = []
    headings: dict[str, int] = {}
    path: list[tuple[int, str]] = []  # (level, title)
    items: list[_Block] = []  # open list items
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            level = int(token.tag[1])
            title = _heading_title(tokens[i + 1])
            headings.setdefault(normalize_key(title), level)
            path = [p for p in path if p[0] < level] + [(level, title)]
        elif token.type == "list_item_open":
            block = _Block(None, _lines(token), tuple(t for _lv, t in path), is_item=True)
            block.parent = items[-1] if items else None
            (items[-1].children if items else roots).append(block)
            items.append(block)
        elif token.type == "list_item_close":
            items.pop()
        elif token.type == "inline" and tokens[i - 1].type == "paragraph_open":
            if items and items[-1].inline is None:
                items[-1].inline = token
                items[-1].lines = _lines(token)
            elif not items:
                roots.append(_Block(token, _lines(token), tuple(t for _lv, t in path)))
    return roots, headings


def _lines(token: Token) -> tuple[int, int]:
    start, end = token.map or (0, 1)
    return start + 1, max(start + 1, end)


def _heading_title(inline: Token) -> str:
    return _TAG.sub("", _render(inline.children or [], None)).strip()


def _walk(blocks: list[_Block]):
    for block in blocks:
        yield block
        yield from _walk(block.children)


# ---------------------------------------------------------------- items
def _items(roots: list[_Block], tokens: list[Token], env: _Env) -> None:
    """The blocks under each heading, as lecture.Nodes, through the shared lecture rules."""
    heading_lines = {}
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            heading_lines.setdefault(_heading_path(tokens, i), token.map[0] + 1)
    groups: list[tuple[tuple[str, ...], list[_Block]]] = []
    for block in roots:
        if groups and groups[-1][0] == block.heading:
            groups[-1][1].append(block)
        else:
            groups.append((block.heading, [block]))
    for heading, blocks in groups:
        if any(lecture.is_non_study_topic(h) for h in heading):
            continue
        nodes = [n for n in (_node(b, env) for b in blocks) if n is not None]
        topic = heading[-1] if heading else Path(env.path).stem
        if topic.endswith("?") and any(b.is_item for b in blocks):
            # A heading that asks, and the list under it: one card, the list is its answer.
            first = heading_lines.get(heading, nodes[0].first)
            drafts = [lecture.Draft(topic, lecture._list(nodes), first,
                                    max(n.end for n in nodes), heading[:-1])]
        else:
            drafts = lecture.cards(nodes, topic, heading)
        for d in drafts:
            env.result.items.append(RawItem(
                d.question, d.answer, SourceSpan(env.path, d.first, d.last), NAME,
                section=heading, kind_hint=d.kind_hint, context=" › ".join(d.path),
                needs_review=bool(d.review), cause=d.review, notes=(d.note,) if d.note else ()))


def _heading_path(tokens: list[Token], index: int) -> tuple[str, ...]:
    path: list[tuple[int, str]] = []
    for i, token in enumerate(tokens[: index + 1]):
        if token.type == "heading_open":
            level = int(token.tag[1])
            path = [p for p in path if p[0] < level] + [(level, _heading_title(tokens[i + 1]))]
    return tuple(t for _lv, t in path)


def _node(block: _Block, env: _Env) -> lecture.Node | None:
    children = [n for n in (_node(c, env) for c in block.children) if n is not None]
    if block.inline is None:
        if not children:
            return None
        return lecture.Node("", block.lines[0], block.lines[0], children)
    text = _render(block.inline.children or [], env, cloze=True)
    linked = any(t.type == "link_open" or (t.type == "wikilink" and not t.meta["embed"])
                 for t in _flatten(block.inline.children or []))
    return lecture.Node(text, block.lines[0], block.lines[1], children, has_link=linked)


def _outside_marks(children: list[Token]):
    depth = 0
    for t in children:
        if t.type == "mark_open":
            depth += 1
        elif t.type == "mark_close":
            depth -= 1
        elif depth == 0:
            yield t


def _last_line(block: _Block) -> int:
    return max([block.lines[1], *(_last_line(c) for c in block.children)])


def _span_with_children(block: _Block, env: _Env) -> SourceSpan:
    return SourceSpan(env.path, block.lines[0], _last_line(block))


def _render_list(blocks: list[_Block], env: _Env, depth: int = 0) -> str:
    out = []
    for b in blocks:
        if b.inline is not None:
            text = _render(b.inline.children or [], env)
            if text:
                out.append("  " * depth + "- " + text)
        sub = _render_list(b.children, env, depth + 1)
        if sub:
            out.append(sub)
    return "\n".join(out)


# ---------------------------------------------------------------- inline -> Markdown
_MARKUP = {"em_open": "*", "em_close": "*", "strong_open": "**", "strong_close": "**"}


def _render(children: list[Token], env: _Env | None, cloze: bool = False) -> str:
    out: list[str] = []
    n = 0
    for t in children:
        kind = t.type
        if kind == "text":
            out.append(t.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append(" ")
        elif kind == "code_inline":
            out.append(f"`{t.content}`")
        elif kind == "math_inline":
            out.append(f"${t.content}$")
        elif kind == "math_inline_double":
            out.append(f"$${t.content}$$")
        elif kind in _MARKUP:
            out.append(t.markup or _MARKUP[kind])
        elif kind == "mark_open":
            n += 1
            out.append(f"{{{{c{n}::" if cloze else "")
        elif kind == "mark_close":
            out.append("}}" if cloze else "")
        elif kind == "link_open":
            out.append("[")
        elif kind == "link_close":
            out.append("]")
            href = next((c.attrs.get("href") for c in reversed(children[: children.index(t)])
                         if c.type == "link_open"), "")
            out.append(f"({href})")
        elif kind == "image":
            out.append(f"![{t.content}]({t.attrs.get('src', '')})")
        elif kind == "wikilink":
            out.append(_render_wikilink(t, env))
        elif kind == "html_inline":
            out.append(t.content)
        elif t.children:
            out.append(_render(t.children, env, cloze))
    return re.sub(r"[ \t]+", " ", "".join(out)).strip()


def _render_wikilink(token: Token, env: _Env | None) -> str:
    meta = token.meta
    target = meta["target"]
    if not meta["embed"]:
        return meta["alias"] or target.split("#")[0] or target.lstrip("#^")
    name = target.split("#")[0]
    found = _find_file(name, env) if env else None
    if found is None:
        return f"[missing image: {name}]"
    return f"![{name}](<{found}>)"


# ---------------------------------------------------------------- files and links
def _find_file(name: str, env: _Env) -> str | None:
    """The project-relative path of `name` next to the note or below its folder."""
    # Never outside the note's folder: no '..', no absolute path (`![[/etc/passwd]]` made
    # `folder / name` the absolute path itself), no symlink leading out of it.
    if env.folder is None or not name or ".." in Path(name).parts or Path(name).is_absolute():
        return None
    direct = env.folder / name
    candidates = [direct] if direct.is_file() else []
    if not candidates:
        candidates = sorted(env.folder.rglob(glob.escape(Path(name).name)))
    home = env.folder.resolve()
    for cand in candidates:
        if cand.is_file() and cand.resolve().is_relative_to(home):
            rel = cand.relative_to(env.folder).as_posix()
            return posixpath.join(posixpath.dirname(env.path), rel)
    return None


def _check_links(inline: Token, first_line: int, env: _Env) -> None:
    for token in _flatten(inline.children or []):
        if token.type != "wikilink":
            continue
        line = first_line + inline.content.count("\n", 0, token.meta["offset"])
        raw = env.lines[line - 1] if 0 < line <= len(env.lines) else ""
        col = raw.find(("![[" if token.meta["embed"] else "[[") + token.content) + 1 or 1
        target = token.meta["target"]
        name, _, heading = target.partition("#")
        key = (line, target)
        if key in env.seen:
            continue
        env.seen.add(key)
        if token.meta["embed"]:
            if name.lower().endswith(_IMAGE_SUFFIXES) or "." not in name:
                if _find_file(name, env) is None:
                    env.result.diagnostics.append(Diagnostic(
                        env.path, line, "missing-image",
                        f"image '{name}' is not next to the note; copy it into "
                        f"{posixpath.dirname(env.path) or '.'}/ or remove the embed.", col=col))
            continue
        if not _resolves(name, heading, env):
            env.result.diagnostics.append(Diagnostic(
                env.path, line, "unresolved-link",
                f"link [[{target}]] points to no heading of this note and no file; fix the "
                "target or turn it into plain text.", col=col))


def _resolves(name: str, heading: str, env: _Env) -> bool:
    own = Path(env.path).stem
    if not name or name == own:
        return not heading or heading.startswith("^") or normalize_key(heading) in env.headings
    if env.folder is None:
        return False
    base = Path(name).name
    return any(_find_file(candidate, env) for candidate in (name + ".md", name, base + ".md"))


def _flatten(tokens: list[Token]):
    for t in tokens:
        yield t
        if t.children:
            yield from _flatten(t.children)
