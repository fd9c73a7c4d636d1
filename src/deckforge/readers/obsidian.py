"""Placeholder reader for the 'obsidian' style: replaced by the real reader."""

from __future__ import annotations

from deckforge.readers import ReadResult

NAME = "obsidian"


def sniff(text: str) -> float:
    return 0.0


def read(text: str, path: str) -> ReadResult:
    return ReadResult()
