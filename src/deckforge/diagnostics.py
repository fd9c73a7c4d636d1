"""Diagnostics: every problem the tool reports names `path:line:col`, a code and what to do.

Readers and passes never print or raise for bad input; they return diagnostics, and the CLI
decides what to show (and, with `--strict`, whether warnings fail the build).
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("error", "warning", "info")


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    code: str
    message: str
    level: str = "warning"
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.level}: {self.code} {self.message}"


def sort_key(d: Diagnostic) -> tuple:
    return (d.path, d.line, d.col, d.code, d.message)


def count(diags, level: str) -> int:
    return sum(1 for d in diags if d.level == level)
