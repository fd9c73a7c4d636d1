"""The `deckforge` command line: a thin layer over the library API.

Exit codes: 0 success; 1 problems found (errors, or warnings under --strict); 2 bad usage.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deckforge import __version__


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


class _Main(click.Group):
    """Problems that are not in the notes end as one line and an exit code, never a traceback:
    a config or --out the tool cannot use is bad usage (2); a file it cannot read or write
    halfway through is a problem found (1)."""

    def invoke(self, ctx: click.Context):
        from deckforge.config import ConfigError
        from deckforge.outdir import OutDirError

        try:
            return super().invoke(ctx)
        except (ConfigError, OutDirError) as err:
            _echo_err(f"error: {err}")
            ctx.exit(2)
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            _echo_err(f"error: {where}{err.strerror or err}")
            ctx.exit(1)


def _usage_exit(message: str) -> None:
    """Bad usage or a missing extra: one line saying what to do, exit 2 (README: exit codes)."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _needs(module: str, command: str, extra: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        _usage_exit(f"deckforge {command} needs {module}, which is not installed: "
                    f"pip install 'deckforge[{extra}]'")


_SOURCES_HELP = "Folder of notes to read (default: sources/ of the project)."
_PROJECT_HELP = ("The project the notes belong to: its config, deckforge.lock and site "
                 "(default: the project whose sources folder holds the notes, else the notes' "
                 "folder itself).")


def project_options(func):
    """--sources / --project: which notes, and which project (lock, config, site) they
    belong to (deckforge.config explains the rule)."""
    func = click.option("--project", "project", type=click.Path(file_okay=False, path_type=Path),
                        help=_PROJECT_HELP)(func)
    return click.option("--sources", "sources", type=click.Path(file_okay=False, path_type=Path),
                        help=_SOURCES_HELP)(func)


def _config(sources: Path | None, project: Path | None, out: Path | None = None,
            lock: Path | None = None):
    """The project's Config, or exit 2 naming the path when there are no notes to read."""
    from deckforge.config import load_config
    from deckforge.pipeline import discover

    if project is not None and not project.is_dir():
        _usage_exit(f"--project {project}: no such folder")
    if sources is not None and not sources.is_dir():
        _usage_exit(f"--sources {sources}: no such folder")
    config = load_config(root=project, sources=sources, out=out, lock=lock)
    if not config.sources_dir.is_dir():
        _usage_exit(f"no notes folder at {config.sources_dir}: pass --sources DIR, or run "
                    "`deckforge init` to start a notes project here")
    if not discover(config):
        _usage_exit(f"{config.sources_dir} holds no notes (.txt or .md files); add some, or "
                    "pass --sources DIR")
    return config


def lock_options(func):
    """--project / --lock: which deckforge.lock a lock command edits (as `build` reads it)."""
    func = click.option("--lock", "lock", type=click.Path(dir_okay=False, path_type=Path),
                        help="The lock to edit (default: deckforge.lock of the project).")(func)
    return click.option("--project", "project", type=click.Path(file_okay=False, path_type=Path),
                        help="The project whose lock to edit (default: the project this folder "
                        "is in).")(func)


def _lock_path(project: Path | None, lock: Path | None) -> Path:
    """The lock a lock command edits, or exit 2 naming the path when there is none."""
    from deckforge.config import LOCK_FILE, find_root

    if project is not None and not project.is_dir():
        _usage_exit(f"--project {project}: no such folder")
    path = lock or find_root(project or Path.cwd()) / LOCK_FILE
    if not path.is_file():
        _usage_exit(f"no lock at {path}: build the deck first, or pass --project/--lock")
    return path


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deckforge")
def main() -> None:
    """Turn messy course notes into an Anki deck and a cross-linked knowledge base.

    \b
    Typical use, from the project folder (the one with sources/; `deckforge init` makes one):
      deckforge build            build/graph.json, build/<deck>.apkg, build/site/
      deckforge lint             what is wrong with the notes, as file:line:col
      deckforge check            run the snippet tests behind the formulas
    """


@main.command()
@project_options
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the outputs (default: build/ of the project).")
@click.option("--lock", "lock", type=click.Path(dir_okay=False, path_type=Path),
              help="The lock to read and update (default: deckforge.lock of the project).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1): use in CI.")
@click.option("--no-site", is_flag=True, help="Skip the MkDocs site (faster).")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems and the summary.")
def build(sources: Path | None, project: Path | None, out: Path | None, lock: Path | None,
          strict: bool, no_site: bool, quiet: bool) -> None:
    """Build graph.json, the Anki deck and the site from the notes.

    Problems in the notes are reported as file:line:col (the same list `deckforge lint`
    gives) and the rest of the build goes on; outputs are written atomically, so an
    interrupted build never leaves a half-written file.
    """
    from deckforge.build import run_build

    config = _config(sources, project, out, lock)
    report = run_build(config=config, with_site=not no_site,
                       progress=None if quiet else _echo_err)
    for diag in report.diagnostics:
        _echo_err(str(diag))
    click.echo(report.summary())
    sys.exit(report.exit_code(strict=strict))


@main.command()
@click.argument("old")
@click.argument("new")
@lock_options
def carry(old: str, new: str, project: Path | None, lock: Path | None) -> None:
    """Give card NEW the GUID of retired card OLD (card ids or GUIDs from deckforge.lock).

    For a card reworded so much that the build could not tell it is the same card (`deckforge
    diff` lists it under "lost their GUID"): users' notes of OLD then update in place into NEW,
    with their review history, instead of NEW arriving as a duplicate. Rebuild afterwards.
    """
    from deckforge import lock as lockfile

    path = _lock_path(project, lock)
    try:
        source, target = lockfile.carry_guid(path, old, new)
    except ValueError as err:
        _usage_exit(str(err))
    click.echo(f"{target.id} ({target.question[:60]}) now has GUID {target.guid} of "
               f"{source.id} ({source.question[:60]}); rebuild to write the deck ({path})")


@main.command()
@click.option("--before", metavar="YYYY-MM-DD", default=None,
              help="Only entries retired before this date.")
@click.option("--dry-run", is_flag=True, help="List what would be dropped; change nothing.")
@lock_options
def prune(before: str | None, dry_run: bool, project: Path | None, lock: Path | None) -> None:
    """Drop retired entries from deckforge.lock (cards missing from recent builds).

    A build never forgets a card: one missing today (an unreadable file, an empty folder) keeps
    its GUID, marked retired, so it gets the same GUID back when it returns. Prune only cards
    that are gone for good: if one ever comes back, users get it as a duplicate note.
    """
    import re

    from deckforge import lock as lockfile

    if before is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", before):
        raise click.UsageError(f"--before {before!r}: give a date as YYYY-MM-DD")
    path = _lock_path(project, lock)
    try:
        gone = lockfile.prune_lock(path, before=before, dry_run=dry_run)
    except ValueError as err:
        _echo_err(f"error: {err}")
        sys.exit(1)
    for cid in gone:
        click.echo(cid)
    verb = "would be dropped" if dry_run else "dropped"
    click.echo(f"{len(gone)} retired entr{'y' if len(gone) == 1 else 'ies'} {verb} ({path})")


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def schema(out: Path | None) -> None:
    """Print the JSON Schema of build/graph.json (deckforge.graph/1)."""
    import json

    from deckforge.emit.graph_json import load_schema
    from deckforge.fsutil import atomic_write_text

    text = json.dumps(load_schema(), indent=2) + "\n"
    if out:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            _usage_exit(f"--out {out}: cannot create the folder ({err.strerror})")
        click.echo(str(atomic_write_text(out / "graph.schema.json", text)))
    else:
        click.echo(text, nl=False)




@main.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", default=None, help="The project's title (default: the folder's name).")
def init(folder: Path, title: str | None) -> None:
    """Start a notes project in FOLDER (default: here), ready for `deckforge build`.

    \b
    Writes sources/ (a short example in each note style), deckforge.toml, mkdocs.yml and
    docs/index.md titled after the project, .gitignore and a pull-request workflow.
    Existing files are kept; nothing is overwritten.
    """
    from deckforge.scaffold import init_project

    if folder.exists() and not folder.is_dir():
        _usage_exit(f"{folder} is a file, not a folder")
    try:
        written, kept = init_project(folder, title)
    except OSError as err:
        _usage_exit(f"cannot write the project into {folder}: {err.strerror}")
    for rel in written:
        click.echo(f"  wrote {rel}")
    for rel in kept:
        click.echo(f"  kept  {rel} (exists)")
    where = "" if folder.resolve() == Path.cwd().resolve() else f"cd {folder} && "
    click.echo(f"\nNext: {where}deckforge build    (the deck, graph.json and the site, in build/)")


@main.command()
@project_options
@click.option("--format", "fmt", type=click.Choice(["text", "github", "json"]), default="text",
              show_default=True, help="github: workflow annotations shown inline on PR diffs.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def lint(sources: Path | None, project: Path | None, fmt: str, paths: tuple[Path, ...]) -> None:
    """List every remaining problem in the notes as path:line:col: CODE message.

    With PATHS (note files, as a pre-commit hook passes them), only findings in those files are
    listed; the whole corpus is still read, since duplicates and conflicts span files.

    \b
    Levels: error (the deck would be wrong: an empty answer, invalid LaTeX), warning (a human
    should look: conflicts, needs-review, claim mismatches, missing images, dead links) and
    info (cards without a concept, duplicate candidates). Exit 1 when an error remains.
    """
    from deckforge import lint as linting
    from deckforge.diagnostics import sort_key
    from deckforge.pipeline import build_graph
    from deckforge.pull import read_reviews

    config = _config(sources, project)
    graph = build_graph(config)
    findings = linting.lint_graph(graph)
    leeches = linting.leech_findings(graph, read_reviews(config.out_dir))
    findings = sorted(findings + leeches, key=sort_key) if leeches else findings
    if paths:
        wanted = {config.relpath(p) for p in paths}
        findings = [d for d in findings if d.path in wanted]
    click.echo(linting.FORMATS[fmt](findings), nl=False)
    if fmt == "text":
        levels = {lvl: sum(d.level == lvl for d in findings) for lvl in ("error", "warning", "info")}
        _echo_err(", ".join(f"{n} {lvl}s" for lvl, n in levels.items()))
    sys.exit(linting.exit_code(findings))


@main.command()
@click.argument("exports", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the patch as a unified diff; write nothing.")
def pull(exports: tuple[Path, ...], dry_run: bool) -> None:
    """Bring edits made in Anki back into the notes, and review data into build/reviews.json.

    EXPORTS are .apkg or .colpkg files from Anki's File → Export (several users' exports add
    up). An edited note becomes a patch to its card's source line, in that file's own style;
    edits that cannot be mapped (merged cards, repaired formulas, formatting only) are listed
    with the reason and left alone. Review the diff (`git diff`), then commit.
    """
    from deckforge import pull as pulling
    from deckforge.config import load_config

    _needs("anki", "pull", "pull")
    config = load_config()
    try:
        result = pulling.pull(config, list(exports))
    except pulling.PullError as err:
        _echo_err(f"error: {err}")
        sys.exit(2)
    if dry_run:
        click.echo(result.diff(), nl=False)
    else:
        for path in pulling.write_result(config, result):
            _echo_err(f"wrote {config.relpath(path)}")
    click.echo(pulling.report(result))


@main.command()
@click.argument("old")
@click.argument("new", default=".")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown",
              show_default=True)
def diff(old: str, new: str, fmt: str) -> None:
    """Show what changed between two versions of the deck, card by card.

    OLD and NEW are graph.json files, project folders or git revisions (NEW defaults to the
    working tree). The Markdown output is made for a pull-request comment; a card that lost
    its GUID (users would get a duplicate) is called out at the top. Exit 1 when a GUID is lost.
    """
    from deckforge import diff as diffing
    from deckforge.config import find_root

    project = find_root(Path.cwd())
    try:
        result = diffing.diff_graphs(diffing.load_graph(old, project),
                                     diffing.load_graph(new, project))
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    click.echo(diffing.to_markdown(result) if fmt == "markdown" else diffing.to_json(result), nl=False)
    sys.exit(1 if result.lost_guids else 0)


@main.command()
@click.option("--device", type=click.Choice(["cuda", "cpu"]), default=None,
              help="Where to run (default: cuda if a GPU is visible, else cpu).")
@click.option("--only", "only", multiple=True, metavar="CASE",
              help="Run only this case (repeatable); see snippets/bench/__init__.py CASES.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for <case>.json (default: snippets/bench/results on cuda, "
                   "build/bench on cpu, so CPU runs never overwrite the committed GPU results).")
@click.option("--size", type=click.Choice(["tiny", "full"]), default=None,
              help="Problem sizes (default: full on cuda, tiny on cpu).")
@click.option("--bundle", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write all results so far into this one JSON after each case.")
@click.option("--from-bundle", "from_bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Run nothing: split a bundle from a remote run into --out.")
def bench(device: str | None, only: tuple[str, ...], out: Path | None, size: str | None,
          bundle: Path | None, from_bundle: Path | None) -> None:
    """Run the GPU benchmark cases and write one deckforge.bench/1 JSON per case.

    \b
    On the GPU:  deckforge bench --device cuda          (writes snippets/bench/results/)
    In CI / CPU: deckforge bench --device cpu           (tiny sizes, proves the code runs)
    """
    from deckforge.bench import runner
    from deckforge.config import find_root

    root = find_root(Path.cwd())
    if from_bundle is not None:
        for path in runner.split_bundle(from_bundle, out or root / "snippets" / "bench" / "results"):
            click.echo(str(path))
        return
    _needs("torch", "bench", "bench")
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if out is None:
        out = root / ("snippets/bench/results" if device == "cuda" else "build/bench")
    try:
        results = runner.run_suite(device, out, only=only, size=size, bundle=bundle, root=root,
                                   progress=_echo_err)
    except (ValueError, RuntimeError) as err:
        raise click.UsageError(str(err)) from err
    failed = [r["case"] for r in results if r.get("error")]
    click.echo(f"{len(results)} case(s) written to {out}" +
               (f"; failed: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


@main.command()
@project_options
@click.option("--no-tests", is_flag=True, help="Only the coverage of links; do not run pytest.")
@click.option("--timeout", type=float, default=600, show_default=True,
              help="Seconds the snippet tests may take.")
def check(sources: Path | None, project: Path | None, no_tests: bool, timeout: float) -> None:
    """Run the snippet tests behind the graph's formulas and print formula coverage.

    \b
    Formula-bearing cards are those whose answer holds math or whose question asks for a
    formula; each must be linked to a registry formula whose tests pass. Uncovered cards are
    listed as file:line. Exit 1 when coverage is below 100% or a snippet test fails.
    """
    from deckforge.checking import check_project

    if not no_tests:
        _needs("pytest", "check", "test")
    config = _config(sources, project)
    if not no_tests:
        _echo_err("running the snippet tests (pytest -q) ...")
    report = check_project(config, run=not no_tests, timeout=timeout)
    if report.ran_tests:  # the site shows these beside each formula (docs/schema.md)
        import json

        from deckforge.fsutil import atomic_write_text
        from deckforge.outdir import claim

        claim(config.out_dir, config)  # OutDirError (exit 2): --out must be the tool's own
        atomic_write_text(config.out_dir / "check.json", json.dumps(
            {"schema": "deckforge.check/1", "formulas": report.status}, indent=1, sort_keys=True) + "\n")
    click.echo(report.table())
    sys.exit(report.exit_code())


@main.command()
@project_options
@click.option("-a", "--dev-addr", default="127.0.0.1:8000", show_default=True,
              metavar="IP:PORT", help="Address to serve the preview on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser.")
def serve(sources: Path | None, project: Path | None, dev_addr: str, open_browser: bool) -> None:
    """Preview the knowledge base while you edit the notes (live reload).

    Runs `mkdocs serve` on the project's mkdocs.yml (or deckforge's default one): its hook
    rebuilds the graph from the notes on every change to them, to snippets/ or to docs/, and
    the open page reloads itself. Stop with Ctrl-C. The deck and graph.json are not written:
    use `deckforge build` for those.
    """
    import json
    import os

    from mkdocs.commands.serve import serve as mkdocs_serve

    from deckforge.emit import site
    from deckforge.emit.pages.hook import SERVE_ENV
    from deckforge.fsutil import atomic_write_text
    from deckforge.outdir import claim

    config = _config(sources, project)
    claim(config.out_dir, config)  # OutDirError (exit 2): --out must be the tool's own
    config_file, overrides = site.mkdocs_options(config)
    if not isinstance(config_file, str):  # no mkdocs.yml of its own: MkDocs re-reads a file
        config_file = str(atomic_write_text(config.out_dir / "mkdocs.yml",
                                            site.default_mkdocs_yml(config.site_title)))
    staging = config.out_dir / site.STAGING
    staging.mkdir(parents=True, exist_ok=True)
    os.environ[SERVE_ENV] = json.dumps({"root": str(config.root), "out": str(config.out_dir),
                                        "sources": str(config.sources_dir)})
    watch = [str(p) for p in (config.sources_dir, config.snippets_dir, config.root / "docs")
             if p.is_dir()]
    mkdocs_serve(config_file=config_file, dev_addr=dev_addr, open_in_browser=open_browser,
                 watch=watch, docs_dir=str(staging), **overrides)
