"""The result contract `deckforge.bench/1`: one JSON file per benchmark case.

A case module in `snippets/bench/` declares a `CaseInfo` (what it backs: formula and concept
ids, the note's claim) and returns an `Outcome` (the verdict, a one-sentence summary with the
measured numbers, the table and the plots). `make_result` joins them with the environment
into the JSON the site renders and `deckforge.passes.measured` cites. The JSON Schema is
`result.schema.json` beside this file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

RESULT_SCHEMA_ID = "deckforge.bench/1"
VERDICTS = ("supports", "contradicts", "partly", "not-run")


@dataclass(frozen=True)
class CaseInfo:
    id: str
    title: str
    formulas: tuple[str, ...]
    concepts: tuple[str, ...]
    claim: str
    cite: bool = True  # False: about our tooling (harness validation), not a note's claim
    # What a card must be about to cite this result (deckforge.passes.measured); a shared
    # concept is never enough. `measures`: the formulas whose predicted quantity the run puts
    # numbers on (a card asking for one of them cites it). `claim_terms`: the claim's key terms
    # as groups; a card states the claim when its text holds a term of every group.
    measures: tuple[str, ...] = ()
    claim_terms: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = ""

    def to_json(self) -> dict:
        return {"key": self.key, "label": self.label, "unit": self.unit}


@dataclass(frozen=True)
class Plot:
    """A generic plot: `y` columns against the `x` column; `series_by` splits rows into series
    by that column's value (long-format tables); `hlines` are ceilings such as a peak."""

    title: str
    x: str
    y: tuple[str, ...]
    xlabel: str
    ylabel: str
    logx: bool = False
    logy: bool = False
    series_by: str | None = None
    hlines: tuple[tuple[float, str], ...] = ()

    def to_json(self) -> dict:
        return {"title": self.title, "x": self.x, "y": list(self.y), "xlabel": self.xlabel,
                "ylabel": self.ylabel, "logx": self.logx, "logy": self.logy,
                "series_by": self.series_by,
                "hlines": [{"y": y, "label": label} for y, label in self.hlines]}


@dataclass(frozen=True)
class Outcome:
    verdict: str
    summary: str
    columns: tuple[Column, ...] = ()
    rows: tuple[dict, ...] = ()
    plots: tuple[Plot, ...] = ()
    params: dict = field(default_factory=dict)  # shapes, dtypes, sizes
    notes: tuple[str, ...] = ()  # caveats, backends that did not run, methodology

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} not in {VERDICTS}")


def round_sig(value, digits: int = 4):
    """Floats to `digits` significant digits (readable, diff-friendly JSON); NaN/inf -> None."""
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    if not math.isfinite(value):
        return None
    if value == 0.0:
        return 0.0
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return round_sig(obj)


def make_result(info: CaseInfo, outcome: Outcome, environment: dict, *, size: str,
                peaks: dict | None = None, harness: dict | None = None,
                error: str | None = None) -> dict:
    result = {
        "schema": RESULT_SCHEMA_ID,
        "case": info.id,
        "title": info.title,
        "formulas": list(info.formulas),
        "concepts": list(info.concepts),
        "claim": info.claim,
        "cite": info.cite,
        "measures": list(info.measures),
        "claim_terms": [list(group) for group in info.claim_terms],
        "verdict": outcome.verdict,
        "summary": outcome.summary,
        "environment": environment,
        "size": size,
        "params": outcome.params,
        "columns": [c.to_json() for c in outcome.columns],
        "rows": list(outcome.rows),
        "plots": [p.to_json() for p in outcome.plots],
        "notes": list(outcome.notes),
    }
    if peaks is not None:
        result["peaks"] = peaks
    if harness is not None:
        result["harness"] = harness
    if error is not None:
        result["error"] = error
    return _clean(result)


def dumps(result: dict) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def load_result_schema() -> dict:
    return json.loads(resources.files("deckforge.bench").joinpath("result.schema.json")
                      .read_text("utf-8"))


def read_result_files(folder: Path) -> list[tuple[Path, dict | None, str]]:
    """Every `*.json` in `folder`, in path order, as (path, data, problem): data is None and
    problem says what is wrong when a file is not a deckforge.bench result."""
    folder = Path(folder)
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as err:
            found.append((path, None, f"is not valid JSON ({err}); re-run `deckforge bench` "
                          "for this case."))
            continue
        if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("deckforge.bench/"):
            found.append((path, None, "has no `schema: deckforge.bench/1`; it is not shown on "
                          "the site."))
            continue
        found.append((path, data, ""))
    return found


def load_results(folder: Path) -> list[dict]:
    """Committed results in `folder`, sorted by case id; unreadable files are skipped (the
    schema test in tests/test_bench.py is what keeps them valid)."""
    results = [data for _path, data, _problem in read_result_files(folder)
               if data is not None and data.get("schema") == RESULT_SCHEMA_ID]
    return sorted(results, key=lambda r: str(r.get("case", "")))
