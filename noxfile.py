"""Developer sessions. `nox -s tests` is the README's test command; CI runs it via .ci/run."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

# A CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
TORCH = "torch==2.13.0"


def _install(session: nox.Session, extras: str = "test") -> None:
    session.install(TORCH)
    session.install("-e", f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: readers, passes, Anki import, snippets, site in headless Chromium."""
    _install(session)
    session.run("pytest", "-n", "2", "--dist", "loadfile", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the code (the notes are linted by `deckforge lint`)."""
    session.install("ruff>=0.5")
    paths = [p for p in ("src", "snippets", "tests", "benchmarks", "noxfile.py") if Path(p).exists()]
    session.run("ruff", "check", *paths)


@nox.session
def bench(session: nox.Session) -> None:
    """Speed and memory benchmarks; they print numbers, they assert nothing."""
    _install(session)
    session.run("python", "-m", "benchmarks", *session.posargs)
