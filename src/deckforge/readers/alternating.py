"""Alternating question / answer export (transformers-flashcards-export.txt).

A flashcard-site export: a few lines of site chrome (`1/47`, "Looks like no tags are added
yet.", a `Name | Mastery | …` table, "No analytics yet", …), then each card as one question line
followed by one or more answer lines.

Which line is a question (checked against every card of the real export):
* it is not export chrome (JUNK_LINES), and
* it ends with `?`, or it starts with an interrogative (What, How, Why, …) or with one of the
  prompt verbs that flashcard writers use (Explain, Describe, Define, Write, Compare, …;
  PROMPT_WORDS), followed by more words, and
* it is not a continuation such as `Formula:` / `1. …` / `Name: text` (a label with a colon
  before the first verb is an answer line, e.g. "Structure: Consists of …"), and it does not
  end with `:` ("Where weights are calculated via … :" introduces the next answer line).
Everything up to the next question line is the answer (lines joined with "\\n", kept verbatim:
the normalize pass repairs clipped first letters, HTML fragments and mangled math).
The `k/N` counter of the header is checked: a different card count is reported as info.

RawItem fields: question = the question line; answer = the answer lines; section = ();
label = None; kind_hint = None; span = question line .. last answer line.
"""

from __future__ import annotations

import re

from deckforge.diagnostics import Diagnostic
from deckforge.model import RawItem, SourceSpan
from deckforge.readers import ReadResult, file_lines
from deckforge.text.structure import INTERROGATIVES, PROMPT_WORDS

NAME = "alternating"

# Site chrome of flashcard exports, matched against the stripped line.
JUNK_LINES = [
    re.compile(r"^\d+\s*/\s*\d+$"),  # the card counter `1/47`
    re.compile(r"^looks like no tags are added yet\.?$", re.I),
    re.compile(r"^\|?\s*name\s*\|\s*mastery\b.*$", re.I),  # the progress table header
    re.compile(r"^\|?[\s|:-]+\|?$"),  # table rules such as `|---|`
    re.compile(r"^no analytics yet\.?$", re.I),
    re.compile(r"^send a link to your students\b.*$", re.I),
]
_COUNTER = re.compile(r"^\d+\s*/\s*(\d+)$")

_FIRST_WORD = re.compile(r"^([A-Za-z]+)\b(.*)$")
_LABEL_COLON = re.compile(r"^[^:]{1,40}:\s")  # `Formula:` / `Structure: …` / `Recurrent: O(N)`


def is_junk(line: str) -> bool:
    return any(p.match(line) for p in JUNK_LINES)


def is_question(line: str) -> bool:
    if not line or is_junk(line):
        return False
    match = _FIRST_WORD.match(line)
    if match is None:
        return False
    word, rest = match.group(1).lower(), match.group(2)
    if _LABEL_COLON.match(line) or line.endswith(":"):
        return False  # "Self-Attention: O(1) …" / "Where weights are … :" introduce answers
    if line.endswith("?"):
        return True
    return (word in INTERROGATIVES or word in PROMPT_WORDS) and len(rest.split()) >= 3


def sniff(text: str) -> float:
    """Share of non-blank lines that are questions followed by an answer line, doubled (an
    alternating file is about half questions), plus a bonus for export chrome; dotted lines
    count against it."""
    lines = [ln.strip() for ln in file_lines(text) if ln.strip()]
    if not lines:
        return 0.0
    dotted = sum("........" in ln for ln in lines)
    pairs = sum(1 for a, b in zip(lines, lines[1:], strict=False)
                if is_question(a) and not is_question(b) and "........" not in a)
    chrome = any(is_junk(ln) for ln in lines[:10])
    score = min(1.0, 2 * pairs / len(lines)) * 0.8 + (0.2 if chrome else 0.0)
    return max(0.0, score - dotted / len(lines))


def read(text: str, path: str, **_options) -> ReadResult:
    result = ReadResult()
    question: tuple[int, str] | None = None
    answer: list[tuple[int, str]] = []
    expected: int | None = None

    def flush() -> None:
        if question is None:
            return
        end = answer[-1][0] if answer else question[0]
        if not answer:
            result.diagnostics.append(Diagnostic(
                path, question[0], "alternating-no-answer",
                "this question has no answer line below it; add the answer on the next line."))
        result.items.append(RawItem(
            question[1], "\n".join(line for _n, line in answer),
            SourceSpan(path, question[0], end), NAME))

    for lineno, raw in enumerate(file_lines(text), start=1):
        line = raw.strip()
        if not line:
            continue
        if is_junk(line):
            counter = _COUNTER.match(line)
            if counter and expected is None:
                expected = int(counter.group(1))
            continue
        if is_question(line):
            flush()
            question, answer = (lineno, line), []
        elif question is not None:
            answer.append((lineno, line))
        else:
            result.diagnostics.append(Diagnostic(
                path, lineno, "alternating-preamble",
                "text before the first question line is ignored; start each card with its "
                "question line (ending in '?' or starting with a prompt such as 'Explain').",
                level="info"))
    flush()
    if expected is not None and expected != len(result.items):
        result.diagnostics.append(Diagnostic(
            path, 1, "alternating-count",
            f"the export header announces {expected} cards but {len(result.items)} were read; "
            "check for a question line that does not look like one.", level="info"))
    return result
