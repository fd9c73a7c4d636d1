"""What lecture notes are made of, as cards: the rules shared by the Obsidian and slide readers.

Both readers turn their structure into a tree of `Node`s (a list item or slide bullet as
Markdown, its own lines, its nested items) under a topic (a heading or a slide title) and call
`cards(nodes, topic, path)`. The rules below then see only Markdown text, so a new note in
either style gets the same treatment:

RULES, tried in order on each node (the first that applies makes its cards):
* not-study     image embeds, pointers to elsewhere ("See [[GPU]]", a bare link), tag lines,
                symbol legends, captions of a lost figure ("3D plots of x_2 across layers")
                and the author's open questions (a leaf ending with `?`): no card (checked
                before the rules, on every node).
* cloze         `{{c1::…}}` (an Obsidian `==highlight==`); nested items go to the back.
* definition    `**term**: text` / `**term** is …` -> question = term.
* asks          an item that asks ("What is …?", "Why not X", "BPE and why") with nested items.
* lead-in       a line ending with ':' ("… Options:") -> its nested list is the answer.
* enumeration   a line over short names ("Bitmap", "RLE", "COO") -> "…: which are they?".
* example       a worked example with numbers -> "Work out: …", answer = its steps.
* comparison    "A vs B" with nested items -> "How does A compare with B?".
* instead-of    "A instead of B because/to …" -> "Why A instead of B?".
* formula       "X = …", "Label: $… = …$", "Label: expression" -> "X = ?" (a formula card).
* labelled      "Label: value" -> "<topic> — Label?".
* is-a          "X (ABBR) is a …" -> "What is X (ABBR)?".
* key-term      a leaf claim with a marked term (`code`, *em*, **strong**, $math$) -> a cloze of
                that term.
Nodes no rule takes are leftovers: a parent's (or the topic's) leftover leaves become one card
whose question comes from the parent ("Precision `float32`, `bfloat16`: what are the key
points?", "What is Model FLOPs utilization (MFU)?"). A rule that does not use a node's nested
items leaves them to be visited the same way, under the node as their topic.

What the notes cannot carry in full is flagged needs-review (Draft.review, a cause from
REVIEW_CAUSES), out of the study path, never passed off as a card:
* undefined-symbol   a leftover point whose subject is a letter nothing else of its topic
                     names ("c tends to be close to 1"): its own card, the points beside it
                     stay studyable.
* fragment-answer    "Label: value" with a value under MIN_LABEL_ANSWER_WORDS words and no
                     number, math or marked term ("Training objectives: non differentiable").
* example-not-given  points under an example the notes point to ("in lecture example") but do
                     not give.
And a slide of one short plain line (LONE_LINE_MAX_WORDS, `tagline=True`) is a title slide's
tagline: no card.

Every draft carries `path`: the heading path / slide title and the parent items it sits under,
which the reader writes into RawItem.context so the question stands on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ---------------------------------------------------------------- patterns (data, not code)
NON_STUDY_TOPICS = [  # headings / slide titles whose content is no study material
    re.compile(r"^(?:references?|bibliography|sources|see also|further reading|resources|"
               r"links|reading list|readings)$", re.I),
    re.compile(r"^(?:open questions?|questions? (?:i|we) (?:still )?have|to ?do|todo|notes to self)"
               r"\b", re.I),
    re.compile(r"^(?:overview|outline|agenda|summary)(?: of (?:this|the|today'?s) "
               r"(?:lecture|class|talk))?$", re.I),
    re.compile(r"^course (?:components|logistics|structure|overview|information)$", re.I),
]
# Headings that name no subject: their items still make cards by the rules, but there is no
# question to ask about "Misc" as a whole.
GENERIC_TOPICS = re.compile(r"^(?:misc\.?|miscellaneous|others?|other notes|notes|random|"
                            r"extras?|odds and ends)$", re.I)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|\[missing image: [^\]]*\]")
_LINK = re.compile(r"\[([^\]]*)\]\((?:<[^>]*>|[^)]*)\)")
_TAGS = re.compile(r"^(?:tags?\s*:)?\s*(?:#[\w/-]+\s*)+$", re.I)
_POINTER = re.compile(r"^(?:see|cf\.?|refer to|more (?:in|at|on))\b", re.I)
_SEE = re.compile(r"\b(?:see|cf\.)\s", re.I)
_LEGEND_ENTRY = re.compile(r"\$\\?[A-Za-z](?:_\{?\w+\}?)?\$\s+[a-z]")
_LEGEND_LINE = re.compile(r"^\$[A-Za-z](?:_\{?[\w,]+\}?)?\$\s+[A-Z][a-z]+ (?!is\b|are\b)")
_SYMBOL_IS = re.compile(r"(?:^|[;,.]\s*)\(?[A-Za-z](?:\s+[A-Za-z])?\)?\s+(?:is|are|denotes?)\s+the\b")
_CONNECTIVE = re.compile(r"^(?:as opposed to|unlike|but|however|i\.e\.|e\.g\.|see)\b", re.I)
_SENTENCE_MARK = re.compile(r"^\{\{c1::(?P<mark>[^{}]*[.!])\}\}\s+(?P<rest>\S.*)$")
_CLAIM_VERB = re.compile(r"\b(?:is|are|was|were|be|been|has|have|had|can|could|will|would|"
                         r"should|must|may|might|needs?|requires?|becomes?|makes?|gives?|"
                         r"takes?|helps?|leads?|causes?|uses?|means)\b", re.I)
_ILLUSTRATION = re.compile(r"^(?:(?:a|an|the|nice|good|great)\s+)*(?:illustration|figure|diagram|"
                           r"picture|video|animation|post|blog|paper|slides?|talk)\b", re.I)
# A figure's caption kept as a bullet ("3D plots of x_2 across layers", "Throughput of ZeRO-3
# across 8 to 64 GPUs", "Figure: …"): a measure or plot over an axis, with no claim. The figure
# itself is lost in the text, so the caption teaches nothing.
_CAPTIONS = [
    re.compile(r"^(?:(?:\d+-?d|log-log|log|a|the)\s+)*(?:plots?|figures?|graphs?|charts?|curves?|"
               r"heat ?maps?|histograms?|visuali[sz]ations?|distributions?|throughput|latency|"
               r"accuracy|loss|speed-?ups?|memory usage|perplexity)\s+(?:of|for)\s+.+?\s+"
               r"(?:across|over|vs\.?|versus|against|per|as a function of|for different)\s+\S",
               re.I),
    re.compile(r"^(?:figure|fig\.|left|right|top|bottom)\s*\d*\s*[:.)]\s", re.I),
]
MAX_CAPTION_WORDS = 12
# A caption names what is plotted; a line that says how it moves is a claim about the plot
# ("Latency of attention grows quadratically over sequence length"), whatever its form.
_MOVES = re.compile(r"\b(?:grows?|drops?|increases?|decreases?|rises?|falls?|scales?|stays?|"
                    r"remains?|improves?|reduces?|exceeds?|saturates?|shows?|reaches?|"
                    r"doubles?|halves?|dominates?|outperforms?|matches?|degrades?)\b", re.I)
# A point whose subject is a bare letter ("c tends to be close to 1", "x_2 exhibits …").
_LEAD_SYMBOL = re.compile(r"^\$?(?P<sym>[A-Za-z](?:_\{?[\w,]+\}?)?)\$?\s+(?P<rest>[a-z]\w*)")
_NOT_SYMBOLS = {"a", "A", "I"}  # articles and the pronoun, not letters
# The letter is the subject of a claim only when a verb follows it; "L layers split over p
# stages" names what L counts (a definition in passing), "c tends to …" says something of c.
_SUBJECT_VERB = re.compile(r"^(?:tends?|exhibits?|appears?|gets?|goes|converges?|equals?|"
                           r"approaches|varies|depends|is|are|was|were|can|could|will|would|"
                           r"should|must|may|might|has|have|becomes?|stays?|remains?|grows?|"
                           r"drops?|increases?|decreases?|rises?|falls?|scales?|shows?|"
                           r"reaches?|dominates?)$", re.I)
_DEFINES = re.compile(r"^(?:is|are|denotes?|means|stands|refers|=|:)", re.I)
# An example the notes point to but do not give ("in lecture example", "the example from the
# slides"); a bare "Example" topic is the example itself, its points are what it shows.
_EXAMPLE_ELSEWHERE = re.compile(
    r"^(?:in[- ](?:the\s+)?(?:lecture|class|slides?|video)\s+(?:worked\s+)?examples?|"
    r"(?:the\s+)?(?:worked\s+)?examples?\s+(?:from|in|of)\s+(?:the\s+)?(?:lecture|class|"
    r"slides?|video|book|paper))\b", re.I)
_CLOZE = re.compile(r"\{\{c\d+::(.*?)\}\}")
_ASKING = ("why", "what", "how", "when", "which", "who", "where")
_AND_WHY = re.compile(r"^(?P<x>.+?)\s+and\s+(?P<w>why|how)\s*$", re.I)
_EXAMPLE = re.compile(r"^(?:a\s+)?(?:worked\s+|numerical\s+|exemplary\s+)?"
                      r"(?:example|exercise|calculation)s?\b", re.I)
_NUMBER_WORK = re.compile(r"\d\s*(?:[×*/·^+]|\\times|\\cdot)\s*\d|≈\s*\$?\d")
_VERSUS = re.compile(r"^(?P<a>.+?)\s+(?:vs\.?|versus)\s+(?P<b>.+?)\s*:?$", re.I)
_INSTEAD = re.compile(r"^(?P<a>.+?)\s+instead of\s+(?P<b>.+?)"
                      r"(?:\s*[,;]?\s+(?P<why>because|since|as|to|so that)\s+(?P<reason>.+))?$",
                      re.I)
_LABEL = re.compile(r"^(?P<label>[^:$]{2,60}?)\s*:\s+(?P<rest>\S.*)$")
_IS_A = re.compile(r"^(?P<term>[^,;:$]{2,60}?)\s+(?:is|are|refers to)\s+"
                   r"(?P<def>(?:a|an|the)\s+.+)$", re.I)
_BOLD_DEF = re.compile(r"^\*\*(?P<term>[^*]+)\*\*\s*(?::\s*|\s+(?:is|are|refers to|means)\s+)"
                       r"(?P<text>\S.*)$", re.I)
_KEY_TERM = [re.compile(p) for p in (r"\*\*[^*]+\*\*", r"(?<![*\w])\*[^*\s][^*]*\*(?!\*)",
                                     r"`[^`]+`", r"\$[^$]+\$")]
_SYMBOL = re.compile(r"\\?[A-Za-z](?:_\{?\w+\}?)?|\\(?:alpha|beta|gamma|delta|epsilon|theta|lambda|mu|pi|rho|"
                     r"sigma|tau|phi|psi|omega)")
_PLAIN_WORD = re.compile(r"(?<![\w\\$])[A-Za-z]{3,}(?![\w$])")
_ABBR_END = re.compile(r"\(([A-Z][A-Z0-9-]{1,9}s?)\)$")
SEQUENCE_WORDS = {"before", "after", "then", "now", "next", "first", "second", "third", "finally",
                  "note", "e.g.", "i.e.", "example", "result", "so", "thus", "hence"}
MIN_LEFTOVER_WORDS = 5  # a key-points card needs something to say ("6 in total" alone is not)
MAX_LABEL_WORDS = 5
MAX_LHS_WORDS = 8
MAX_MATH_TERM = 24  # characters of a `$…$` key term, dollars included
# A topic whose whole content is one plain line this short is a title slide's tagline
# ("Transformer architecture can also be applied over the computer vision tasks."): the slide
# names a subject that the next slides (or a lost figure) teach; the line alone asks nothing.
LONE_LINE_MAX_WORDS = 12
# A "Label: value" whose value is shorter than this (no number, math or marked term) is a
# fragment ("Training objectives: non differentiable"): no answer a student can learn from.
MIN_LABEL_ANSWER_WORDS = 3

# Causes of the needs-review flag on cards the notes cannot carry in full (Flag.cause).
LOOSE_SYMBOL = "undefined-symbol"  # a point about a letter the notes never define (a lost figure)
FRAGMENT = "fragment-answer"  # a labelled value too short to be an answer
EXAMPLE_NOT_GIVEN = "example-not-given"  # points about an example whose setup is not in the notes
REVIEW_CAUSES = (LOOSE_SYMBOL, FRAGMENT, EXAMPLE_NOT_GIVEN)


@dataclass
class Node:
    """A list item / bullet: its Markdown (clozes written `{{cN::…}}`), its own lines and the
    items nested under it."""

    text: str
    first: int
    last: int
    children: list[Node] = field(default_factory=list)
    has_link: bool = False  # a link or [[wikilink]] (rendered as its words) in the text

    @property
    def end(self) -> int:
        return max([self.last, *(c.end for c in self.children)])


@dataclass(frozen=True)
class Draft:
    question: str
    answer: str
    first: int
    last: int
    path: tuple[str, ...]  # topics above the item (heading path, parent items)
    kind_hint: str | None = None
    # A card the notes cannot carry in full: the cause code (REVIEW_CAUSES) of its needs-review
    # flag, and the note that says why; "" for a card fit to study.
    review: str = ""
    note: str = ""


def is_non_study_topic(title: str) -> bool:
    return any(p.match(unlink(title).strip()) for p in NON_STUDY_TOPICS)


def unlink(text: str) -> str:
    """`[text](url)` -> text (a question reads the link's words, not its address)."""
    return _LINK.sub(lambda m: m.group(1), text)


def uncloze(text: str) -> str:
    return _CLOZE.sub(lambda m: m.group(1), text)


_NUMBERED_PART = re.compile(r"^(?:lecture|lec|week|chapter|part|session|unit)\s*\d+\s*[:.\-–—]\s*",
                            re.I)


_NUMBERED_ONLY = re.compile(r"^(?:lecture|lec|week|chapter|part|session|unit)\s*\d+\s*$", re.I)


def topic_name(title: str) -> str:
    """'Lecture 4: Mixture of experts' -> 'Mixture of experts': the subject, not its number."""
    return _NUMBERED_PART.sub("", title).strip() or title


def words(text: str) -> int:
    return len(text.split())


# ---------------------------------------------------------------- traversal
def cards(nodes: list[Node], topic: str, path: tuple[str, ...],
          defining: bool = True, known: str = "", tagline: bool = False) -> list[Draft]:
    """Drafts for `nodes` (siblings under `topic`); their leftover leaves become one card about
    `topic`. `defining`: the topic is a bare name (a heading, an item naming a thing), so its
    points may define it; else (a formula's label) they only add to it. `known`: more text of
    the topic that defines symbols (a slide's legend). `tagline`: the topic is a slide, where a
    lone short line is the title slide's tagline, not a point (LONE_LINE_MAX_WORDS)."""
    drafts, leftovers = _cards_and_leftovers(nodes, path)
    named = topic_name(topic)
    if (words(topic) <= 2 and len(path) >= 2 and path[-1] == topic
            and not _NUMBERED_ONLY.match(path[-2])):
        named = f"{topic} ({topic_name(path[-2])})"  # "Interpretation" asks nothing
    above = path[:-1] if path and path[-1] == topic else path
    studied = [n for n in nodes if not _not_study(n)]
    seen = " ".join([topic, *path, known, *(_text_all(n) for n in studied)])
    loose = {id(n): sym for n in leftovers if (sym := _loose_symbol(n, seen))}
    for n in leftovers:
        if id(n) in loose:
            # its own card, out of the study path: the points beside it stay studyable
            drafts.append(Draft(f"{named}: what do the notes say about {loose[id(n)]}?",
                                _list([n]), n.first, n.end, above, review=LOOSE_SYMBOL,
                                note=f"'{loose[id(n)]}' is never defined in the notes (it was "
                                     "probably on a figure); say what it stands for"))
    leftovers = [n for n in leftovers if id(n) not in loose]
    if tagline and len(studied) == 1 and leftovers == studied and _plain_line(studied[0]):
        return drafts
    if (leftovers and not GENERIC_TOPICS.match(topic_name(topic))
            and sum(_words_all(n) for n in leftovers) >= MIN_LEFTOVER_WORDS):
        review = note = ""
        if _EXAMPLE_ELSEWHERE.match(topic_name(unlink(uncloze(topic)))):
            # "in lecture example" over its assumptions: the example itself (and its numbers,
            # else the example rule had taken it) is not in the notes
            review, note = EXAMPLE_NOT_GIVEN, ("the notes list points of an example they do "
                                               "not give; write the example out")
        drafts.append(Draft(key_points_question(named, defining), _list(leftovers),
                            min(n.first for n in leftovers), max(n.end for n in leftovers),
                            above, review=review, note=note))
    return drafts


def _text_all(node: Node) -> str:
    return " ".join([node.text, *(_text_all(c) for c in node.children if not _not_study(c))])


def _plain_line(node: Node) -> bool:
    """One short sentence, nothing marked, no number: a tagline, not a fact to recall."""
    text = uncloze(node.text)
    return (not node.children and words(text) <= LONE_LINE_MAX_WORDS and not re.search(r"\d", text)
            and not any(p.search(node.text) for p in _KEY_TERM) and not _CLOZE.search(node.text))


def _loose_symbol(node: Node, seen: str) -> str | None:
    """The letter a leaf is about ("c tends to be close to 1"), when nothing else of its topic
    names that letter (`seen` holds the leaf itself once: one mention is its own)."""
    if node.children:
        return None
    match = _LEAD_SYMBOL.match(unlink(uncloze(node.text)).strip())
    if (not match or match.group("sym") in _NOT_SYMBOLS or _DEFINES.match(match.group("rest"))
            or not _SUBJECT_VERB.match(match.group("rest"))):
        return None
    sym = match.group("sym")
    letter = re.escape(sym.replace("{", "").replace("}", ""))
    mentions = re.findall(rf"(?<![\w\\]){letter}(?![\w])", seen.replace("{", "").replace("}", ""))
    return sym if len(mentions) <= 1 else None


def _words_all(node: Node) -> int:
    return words(uncloze(node.text)) + sum(_words_all(c) for c in node.children
                                           if not _not_study(c))


def _cards_and_leftovers(nodes: list[Node], path: tuple[str, ...]
                         ) -> tuple[list[Draft], list[Node]]:
    drafts: list[Draft] = []
    leftovers: list[Node] = []
    for node in nodes:
        if _not_study(node):
            continue
        made, leftover = _visit(node, path)
        drafts.extend(made)
        if leftover is not None:
            leftovers.append(leftover)
    return drafts, leftovers


def _visit(node: Node, path: tuple[str, ...]) -> tuple[list[Draft], Node | None]:
    """The cards of `node`, and what of it is left for its topic's key-points card."""
    children = [c for c in node.children if not _not_study(c)]
    for _name, rule in RULES:
        result = rule(node, children, path)
        if result is None:
            continue
        made, consumed, topic = result
        if not consumed and children:
            made = made + cards(children, topic, path + (topic,), defining=False)
        return made, None
    if not children or all(_math_only(c) for c in children):
        return [], node  # "Multiply by V" with its shapes: one step, illustrated
    topic = _short(unlink(uncloze(node.text)))
    if _is_claim(node):
        # A claim with details under it ("At training time … recomputed"): details that make
        # cards of their own do; the claim and the rest are one of its topic's key points.
        made, left = _cards_and_leftovers(children, path + (topic,))
        return made, Node(node.text, node.first, node.last, left, node.has_link)
    made = cards(children, topic, path + (topic,))
    if not made:
        return [], node  # what is nested says too little alone: one point with its details
    return made, None


def _math_only(node: Node) -> bool:
    return not node.children and not _PLAIN_WORD.search(re.sub(r"\$[^$]*\$", " ", node.text))


def _is_claim(node: Node) -> bool:
    """A sentence that states something (a verb, six words or more), not a topic's name."""
    text = unlink(uncloze(node.text))
    if node.has_link and not _LINK.sub("", node.text).strip(" .,;:"):
        return False  # a bare link names where to read, it states nothing
    return words(text) >= 6 and bool(_CLAIM_VERB.search(text))


def _list(nodes: list[Node], depth: int = 0) -> str:
    out = []
    for n in nodes:
        if _not_study(n):
            continue
        out.append("  " * depth + "- " + uncloze(n.text))
        sub = _list(n.children, depth + 1)
        if sub:
            out.append(sub)
    return "\n".join(out)


def _span_all(node: Node, children: list[Node]) -> tuple[int, int]:
    return node.first, max([node.last, *(c.end for c in children)])


def _short(text: str, limit: int = 80) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _cap(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def _with_children(text: str, children: list[Node]) -> str:
    sub = _list(children)
    return "\n".join(filter(None, [text.strip(), sub]))


# ---------------------------------------------------------------- questions
def key_points_question(topic: str, defining: bool = True) -> str:
    """The question of a card listing a topic's leftover claims."""
    topic = unlink(uncloze(topic)).strip()
    if not defining:
        return f"{topic.rstrip(':.')}: what else do the notes say?"
    if topic.endswith("?"):
        return topic
    if topic.endswith(":"):
        head = topic[:-1].strip()
        sentences = re.split(r"(?<=[.!])\s+", head)
        if len(sentences) > 1 and words(sentences[-1]) <= 2:
            return f"{' '.join(sentences[:-1])} What are the {sentences[-1].lower()}?"
        return f"{head}: what are they?"
    if _ABBR_END.search(topic) and words(topic) <= 8:
        return f"What is {topic}?"
    return f"{topic}: what are the key points?"


# ---------------------------------------------------------------- rules
Result = tuple[list[Draft], bool, str]  # drafts, nested items used?, topic for nested items


def _not_study(node: Node) -> bool:
    text = node.text.strip()
    bare = _IMAGE.sub("", text).strip(" .,;:-")
    if not bare:  # an image embed (present or missing) and nothing else
        return True
    if _TAGS.match(text):
        return True
    plain = unlink(text)
    linked = node.has_link or bool(_LINK.search(text))
    see = _SEE.search(plain)
    if _POINTER.match(plain) or (linked and see and words(plain[: see.start()]) <= 5) or (
            linked and _ILLUSTRATION.match(plain)):
        return True  # "See [[GPU]] for …": a pointer, and what is nested under it is about there
    studied = [c for c in node.children if not _not_study(c)]
    outside = _LINK.sub("", text)
    if _LINK.search(text) and words(outside) <= 3 and not studied:
        return True  # a bare link / "Nice illustration from [Post](…)"
    if text.endswith("?") and not studied:
        return True  # a question the author left open (no answer under it)
    if is_caption(plain) and not studied:
        return True  # the caption of a figure the text lost
    if (len(_LEGEND_ENTRY.findall(text)) >= 3 or _LEGEND_LINE.match(text) or
            len(_SYMBOL_IS.findall(text)) >= 2) and not studied:
        return True  # "$b$ batch size, $n$ seq length, …": a symbol legend, not a fact
    return False


def is_caption(text: str) -> bool:
    """A figure's caption: a plot or measure over an axis, no claim ("3D plots of x_2 across
    layers."), or a "Figure:" / "Left:" label."""
    text = uncloze(text).strip()
    return (words(text) <= MAX_CAPTION_WORDS and not _CLAIM_VERB.search(text)
            and not _MOVES.search(text) and any(p.match(text) for p in _CAPTIONS))


def _cloze(node: Node, children: list[Node], path) -> Result | None:
    if not _CLOZE.search(node.text):
        return None
    sentence = _SENTENCE_MARK.match(node.text)
    if sentence and words(sentence.group("mark")) >= 4 and words(sentence.group("rest")) >= 5:
        # ==A whole sentence!== followed by its explanation: the author's emphasis, not a
        # deletion (a cloze of the whole claim asks nothing): the claim asks, the rest answers.
        first, last = _span_all(node, children)
        claim = sentence.group("mark").rstrip(".! ")
        return ([Draft(f"{claim}: explain.", _with_children(_cap(sentence.group("rest")),
                                                           children), first, last, path)],
                True, claim)
    question = node.text
    outside = _CLOZE.sub("", question)
    if words(outside) < 3 and len(path) > 0:
        question = f"{path[-1]}: {question}"
    first, last = _span_all(node, children)
    return [Draft(question, _list(children), first, last, path, "cloze")], True, node.text


def _definition(node: Node, children: list[Node], path) -> Result | None:
    match = _BOLD_DEF.match(node.text)
    if not match:
        return None
    term, text = match.group("term").strip(), _cap(match.group("text"))
    first, last = _span_all(node, children)
    return ([Draft(term, _with_children(text, children), first, last, path, "definition")],
            True, term)


def _asks(node: Node, children: list[Node], path) -> Result | None:
    text = unlink(uncloze(node.text)).strip()
    first_word = text.split()[0].lower().strip("*_") if text.split() else ""
    and_why = _AND_WHY.match(text)
    if not children or not (text.endswith("?") or and_why or
                            (first_word in _ASKING and words(text) <= 8)):
        return None
    if and_why:
        text = f"What is {and_why.group('x')}, and {and_why.group('w').lower()} is it used?"
    first, last = _span_all(node, children)
    return [Draft(text, _list(children), first, last, path)], True, text


def _lead_in(node: Node, children: list[Node], path) -> Result | None:
    """"Discrete routing is hard … Options:" / "There are three types:": what is nested under a
    line ending with ':' is what that line announces."""
    text = unlink(uncloze(node.text)).strip()
    if not text.endswith(":") or not children:
        return None
    first, last = _span_all(node, children)
    question = key_points_question(text)
    if len(_PLAIN_WORD.findall(text)) <= 5 and path:  # "Overall, we have:" names no subject
        question = f"{topic_name(path[-1])} — {question[:1].lower()}{question[1:]}"
    return [Draft(question, _list(children), first, last, path)], True, text


def _enumeration(node: Node, children: list[Node], path) -> Result | None:
    """'Efficient encoding schemes for sparse matrices' over 'Bitmap', 'RLE', 'COO': a list of
    names the line announces."""
    if len(children) < 2 or any(c.children or words(uncloze(c.text)) > 4 or
                                _CLAIM_VERB.search(c.text) for c in children):
        return None
    text = unlink(uncloze(node.text)).strip().rstrip(".:")
    first, last = _span_all(node, children)
    return [Draft(f"{text}: which are they?", _list(children), first, last, path)], True, text


def _example(node: Node, children: list[Node], path) -> Result | None:
    text = unlink(uncloze(node.text)).strip()
    if not _EXAMPLE.match(text) and not re.match(r"^in (?:the )?lecture example", text, re.I):
        return None
    body = text + "\n" + _list(children)
    if not _NUMBER_WORK.search(body):
        return None
    rest = re.sub(r"^[^:]*:\s*", "", text) if ":" in text else ""
    steps = list(children)
    givens = ""
    if len(steps) >= 2 and not re.search(r"[=≈]", steps[0].text) and re.search(r"\d", steps[0].text):
        givens = uncloze(steps.pop(0).text)  # "peak 989 TFLOP/s, bandwidth 3.35 TB/s": the data
    question = f"Work out the example: {rest}" if rest else f"Work out: {text.rstrip(':')}"
    if givens:
        question += f", given {givens}"
    first, last = _span_all(node, children)
    return [Draft(question, _list(steps) or text, first, last, path)], True, text


def _comparison(node: Node, children: list[Node], path) -> Result | None:
    match = _VERSUS.match(unlink(uncloze(node.text)).strip())
    if not match or not children:
        return None
    a, b = match.group("a").strip(), match.group("b").strip()
    first, last = _span_all(node, children)
    return ([Draft(f"How does {a} compare with {b}?", _list(children), first, last, path)],
            True, f"{a} vs {b}")


def _instead(node: Node, children: list[Node], path) -> Result | None:
    match = _INSTEAD.match(unlink(uncloze(node.text)).strip())
    if not match or not (match.group("reason") or children):
        return None
    a, b = match.group("a").strip(), match.group("b").strip().rstrip(".,;")
    reason = ""
    if match.group("reason"):
        why = match.group("why").lower()
        reason = _cap(("" if why in ("because", "since", "as") else why + " ") +
                      match.group("reason"))
    first, last = _span_all(node, children)
    return ([Draft(f"Why {a} instead of {b}?", _with_children(reason, children), first, last,
                   path)], True, f"{a} instead of {b}")


def _formula_question(text: str) -> str | None:
    """'X = …' -> 'X = ?' (inside `$…$` when the '=' is), None when the text is no formula."""
    label = None
    body = text
    match = _LABEL.match(text)
    if match and not _good_label(match.group("label")):
        return None  # "After: $mr + rn = …$": a step of a derivation, not a named formula
    if match:
        label, body = match.group("label").strip(), match.group("rest").strip()
    eq = _first_equals(body)
    if eq is None:
        if label and _is_expression(body):
            return f"{label} = ?"
        return None
    lhs = body[:eq].rstrip()
    in_math = lhs.count("$") % 2 == 1
    if in_math:
        close = body.find("$", eq)
        after = body[close + 1:] if close >= 0 else ""
        if len(_PLAIN_WORD.findall(after)) >= 3:
            return None  # "$B=1$ will recover …": an assignment in a sentence, not a formula
    if not lhs.strip("$ ") or words(lhs) > MAX_LHS_WORDS:
        return None
    if _CLAIM_VERB.search(re.sub(r"\$[^$]*\$?", " ", lhs)):
        return None  # "all activations are just identity, i.e. $\sigma(x)=x$": a claim
    rhs = body[eq + 1:].split("$", 1)[0] if in_math else body[eq + 1:]
    if re.fullmatch(r"\s*-?[\d.,]+\s*[.,;]?\s*", rhs):
        return None  # "$t=0$": a value set in a sentence, not a formula
    question = f"{lhs} = ?" + ("$" if in_math else "")
    return f"{label}: {question}" if label else question


def _first_equals(text: str) -> int | None:
    for m in re.finditer(r"(?<![<>!=\\])=(?!=)", text):
        return m.start()
    return None


def _is_expression(text: str) -> bool:
    """`4 * (num_parameters + num_activations)`: operators between identifiers, few plain words."""
    if not re.search(r"[*/+^×·]|\\times|\\cdot|\\frac", text):
        return False
    return len(_PLAIN_WORD.findall(_LINK.sub("", text))) <= 1


def _formula(node: Node, children: list[Node], path) -> Result | None:
    text = unlink(uncloze(node.text)).strip()
    question = _formula_question(text)
    if question is None:
        return None
    # Nested leaves explain the formula (a legend, where a factor comes from): they go to its
    # back; nested structure (items with their own items) is visited on its own.
    consumed = all(not c.children and not _CLOZE.search(c.text) and
                   _formula_question(unlink(c.text)) is None for c in children)
    used = children if consumed else []
    first, last = _span_all(node, used)
    topic = _LABEL.match(text).group("label") if _LABEL.match(text) else question
    return ([Draft(question, _with_children(text, used), first, last, path, "formula")],
            consumed, topic.strip())


def _good_label(label: str) -> bool:
    """'Total memory access' is a label; 'W', 'After', 'e.g.' are not."""
    label = label.strip().strip("*_")
    return (words(label) <= MAX_LABEL_WORDS and bool(re.search(r"[A-Za-z]{3,}", label))
            and label.lower() not in SEQUENCE_WORDS)


def _labelled(node: Node, children: list[Node], path) -> Result | None:
    text = unlink(uncloze(node.text)).strip()
    match = _LABEL.match(text)
    if not match or not _good_label(match.group("label")):
        return None
    label, rest = match.group("label").strip(), match.group("rest").strip()
    if words(rest) < 2 and "$" not in rest:
        return None
    topic = topic_name(path[-1]) if path else ""
    question = f"{topic} — {label}?" if topic else f"{label}?"
    first, last = _span_all(node, children)
    review = note = ""
    if not children and _fragment(rest):
        review, note = FRAGMENT, (f"'{label}: {rest}' is a fragment of the lecture, too short to "
                                  "be an answer; write out what the notes mean")
    return ([Draft(question, _with_children(_cap(rest), children), first, last, path,
                   review=review, note=note)], True, label)


def _fragment(value: str) -> bool:
    """'non differentiable': a value too short to answer anything (a number, math or a marked
    term is an answer however short)."""
    return (words(value) < MIN_LABEL_ANSWER_WORDS and not re.search(r"[\d$`*]", value))


def _is_a(node: Node, children: list[Node], path) -> Result | None:
    text = unlink(uncloze(node.text)).strip()
    match = _IS_A.match(text)
    if not match or words(match.group("term")) > 6:
        return None
    term = match.group("term").strip()
    first, last = _span_all(node, children)
    # no "definition" hint: that one means "the question is the bare term"; the link pass
    # reads the term of a "What is X?" card itself
    return ([Draft(f"What is {term}?", _with_children(_cap(match.group("def")), children),
                   first, last, path)], True, term)


def _key_term(node: Node, children: list[Node], path) -> Result | None:
    if children or _CONNECTIVE.match(node.text):
        return None  # "as opposed to …" elaborates its parent: one of the parent's points
    text = node.text
    for pattern in _KEY_TERM:
        match = pattern.search(text)
        if match is None or _SEE.search(text[max(0, match.start() - 4): match.start()]):
            continue
        if match.group(0).startswith("$") and (len(match.group(0)) > MAX_MATH_TERM or
                                               _SYMBOL.fullmatch(match.group(0).strip("$")) or
                                               "=" in match.group(0)):
            # a long expression is no term to recall word for word, a lone symbol no fact, an
            # equation a whole claim (the check pass reads it in plain text)
            continue
        rest = (text[: match.start()] + text[match.end():]).strip()
        if len(_PLAIN_WORD.findall(rest)) < 3:
            continue
        if re.match(r"\s*,\s*[`*$]", text[match.end():]):
            continue  # one of a list of examples ("`ReLU`, `sigmoid`, …"): no key term
        term = match.group(0)
        inner = term.strip("*") if term.startswith("*") else term
        question = text[: match.start()] + "{{c1::" + inner + "}}" + text[match.end():]
        return [Draft(question, "", node.first, node.last, path, "cloze")], True, text
    return None


RULES = [
    ("cloze", _cloze),
    ("definition", _definition),
    ("asks", _asks),
    ("lead-in", _lead_in),
    ("enumeration", _enumeration),
    ("example", _example),
    ("comparison", _comparison),
    ("instead-of", _instead),
    ("formula", _formula),
    ("labelled", _labelled),
    ("is-a", _is_a),
    ("key-term", _key_term),
]
