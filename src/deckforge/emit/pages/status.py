"""Test status of the formulas, read from `build/check.json` if `deckforge check` wrote it.

Running the snippet tests inside the site build would take far longer than the build itself,
so the site shows what the last `deckforge check` recorded. Accepted shapes (documented in
docs/schema.md):

    {"formulas": {"<formula id>": "passed" | {"status": "passed", ...}, ...}}
    {"tests": {"<pytest node id or file>": "passed" | "failed" | "skipped" | "error", ...}}

A formula's status from `tests` combines the entries that equal or start with one of its
declared tests: any failure or error wins, then passed, then skipped. Nothing recorded: "not run".
"""

from __future__ import annotations

import json
from pathlib import Path

from deckforge.diagnostics import Diagnostic
from deckforge.model import Formula

STATUS_FILE = "check.json"
NOT_RUN = "not run"
WORDS = ("passed", "failed", "error", "skipped", "missing", "no tests", NOT_RUN)


def _word(value) -> str:
    if isinstance(value, dict):
        value = value.get("status", value.get("outcome"))
    word = str(value or "").strip().lower()
    return {"pass": "passed", "ok": "passed", "fail": "failed"}.get(word, word if word in WORDS else NOT_RUN)


def _combine(words: list[str]) -> str:
    for word in ("error", "failed", "passed", "skipped"):
        if word in words:
            return "failed" if word == "error" else word
    return NOT_RUN


def _test_table(data: dict) -> dict[str, str]:
    tests = data.get("tests", {})
    if isinstance(tests, list):  # [{"nodeid": ..., "outcome": ...}]
        return {str(t.get("nodeid", "")): _word(t) for t in tests if isinstance(t, dict)}
    return {str(k): _word(v) for k, v in tests.items()} if isinstance(tests, dict) else {}


def load_test_status(out_dir: Path, formulas) -> tuple[dict[str, str], str, list[Diagnostic]]:
    """formula id -> status word, a description of where it came from, problems."""
    path = out_dir / STATUS_FILE
    formulas: list[Formula] = list(formulas)
    if not path.is_file():
        return {f.id: NOT_RUN for f in formulas}, "", []
    try:
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("the top level is not an object")
    except (OSError, ValueError) as err:
        return ({f.id: NOT_RUN for f in formulas}, "",
                [Diagnostic(str(path), 1, "bad-check-file", f"could not be read ({err}); "
                            "run `deckforge check` again.")])
    by_formula = data.get("formulas", {}) if isinstance(data.get("formulas"), dict) else {}
    tests = _test_table(data)
    status = {}
    for f in formulas:
        if f.id in by_formula:
            status[f.id] = _word(by_formula[f.id])
            continue
        words = [w for node, w in tests.items() for t in f.tests if t and (node == t or node.startswith(t + "::"))]
        status[f.id] = _combine(words)
    when = data.get("date") or data.get("generated") or ""
    return status, "`deckforge check`" + (f" on {when}" if when else ""), []
