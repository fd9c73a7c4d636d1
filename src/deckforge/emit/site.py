"""The MkDocs Material knowledge base, generated from the graph.

How it is built (both ways give the same site):

* `deckforge build` calls `build_site(graph, config)`: the generated pages and a copy of
  `docs/` are staged in `build/site-src/` (generated files are never committed), MathJax is
  copied in from the vendor cache, and MkDocs builds `build/site/` from the root `mkdocs.yml`
  with `docs_dir` pointed at the staging folder.
* `mkdocs build` / `mkdocs serve` on the root `mkdocs.yml` (developers): the hook
  `src/deckforge/emit/pages/hook.py` runs the pipeline on `sources/` and stages the same pages
  before MkDocs reads them.

Warnings of MkDocs (dead links, missing anchors, missing snippets) are collected; in strict
mode they raise `SiteBuildError` carrying them as diagnostics, after the site was written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from deckforge.config import Config
from deckforge.diagnostics import Diagnostic
from deckforge.fsutil import atomic_write_bytes
from deckforge.model import KnowledgeGraph

STAGING = "site-src"
SITE = "site"
MATHJAX_TARGET = "assets/mathjax"
# The parts of MathJax's es5 build the pages load: the TeX->CHTML bundle, its fonts, the TeX
# extensions it autoloads (\boldsymbol, \color, …) and the menu/a11y modules it may pull in.
MATHJAX_PARTS = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y")
# A fixed build date (sitemap lastmod) keeps the output byte-identical; SOURCE_DATE_EPOCH wins.
DEFAULT_EPOCH = "315532800"  # 1980-01-01


def _umask_mode(folder: Path) -> None:
    """mkdtemp makes a 0700 folder; the site is for web servers and teammates: umask mode."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)


def _swap_in(fresh: Path, site_dir: Path) -> None:
    old = None
    if site_dir.exists():
        old = site_dir.with_name(f"{fresh.name}.old")
        os.rename(site_dir, old)
    os.rename(fresh, site_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class SiteBuildError(RuntimeError):
    def __init__(self, diagnostics: list[Diagnostic], site: Path):
        self.diagnostics = diagnostics
        self.site = site
        super().__init__(f"the site build reported {len(diagnostics)} problem(s): "
                         + "; ".join(d.message for d in diagnostics[:3]))


# deckforge's own site files: the default mkdocs.yml and home page of a project without its own
# (also what `deckforge init` writes), and the script and style every site needs.
SITE_ASSETS = Path(__file__).resolve().parent.parent / "assets" / "site"
HOOK = Path(__file__).resolve().parent / "pages" / "hook.py"


def site_base(config: Config) -> Path | None:
    """The project's folder with mkdocs.yml and docs/, or None: the built-in defaults are used
    (never another project's, so a user's site never carries this repository's pages)."""
    return config.root if (config.root / "mkdocs.yml").is_file() else None


def default_mkdocs_yml(title: str) -> str:
    import json

    template = (SITE_ASSETS / "mkdocs.yml.template").read_text("utf-8")
    return template.replace("{site_name}", json.dumps(title))  # a JSON string is YAML


def default_home(title: str) -> str:
    return (SITE_ASSETS / "index.md.template").read_text("utf-8").replace("{title}", title)


def _declares_hooks(mkdocs_yml: Path) -> bool:
    return any(line.startswith("hooks:") for line in mkdocs_yml.read_text("utf-8").splitlines())


def mathjax_files() -> dict[str, Path]:
    from deckforge import vendor

    es5 = vendor.mathjax_dir()
    files: dict[str, Path] = {}
    for part in MATHJAX_PARTS:
        src = es5 / part
        paths = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for path in paths:
            files[f"{MATHJAX_TARGET}/{path.relative_to(es5).as_posix()}"] = path
    return files


def docs_files(docs: Path) -> dict[str, Path]:
    if not docs.is_dir():
        return {}
    return {p.relative_to(docs).as_posix(): p for p in sorted(docs.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(docs).parts)}


def sync_tree(folder: Path, files: dict[str, str | bytes | Path]) -> None:
    """Make `folder` hold exactly `files`; unchanged files are not rewritten (keeps `mkdocs
    serve` from reloading in a loop and makes rebuilds cheap)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.rglob("*"), reverse=True):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for rel, content in files.items():
        target = folder / rel
        if isinstance(content, Path):
            if target.is_file() and target.stat().st_size == content.stat().st_size \
                    and target.read_bytes() == content.read_bytes():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(content, target)
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        if target.is_file() and target.read_bytes() == data:
            continue
        atomic_write_bytes(target, data)


def stage(graph: KnowledgeGraph, config: Config, docs: Path, staging: Path, registry=None):
    """Write docs/ + the generated pages + MathJax into `staging`; returns the Generated."""
    from deckforge.emit import pages

    own = docs_files(docs)
    # The script and style every site needs, unless the project's docs/ brings its own.
    hand = {**docs_files(SITE_ASSETS / "docs"), **own}
    template = own["index.md"].read_text("utf-8") if "index.md" in own \
        else default_home(config.site_title)
    generated = pages.generate(graph, config, home_template=template, registry=registry)
    files: dict[str, str | bytes | Path] = {**hand}
    for rel in generated.files:
        if rel in hand and rel != "index.md":
            generated.problems.append(Diagnostic(f"docs/{rel}", 1, "page-clash",
                                                 "is also a generated page; the generated one is used. Rename it."))
    files.update(generated.files)
    files.update(mathjax_files())
    sync_tree(staging, dict(sorted(files.items())))
    return generated


def expand_nav(nav, sections: dict[str, list[tuple[str, str]]], exists) -> list:
    """The root nav with its generated placeholders (`lectures/index.md`, `concepts/index.md`)
    turned into sections of their pages; entries whose page does not exist are dropped."""
    out = []
    for item in nav or []:
        if isinstance(item, str):
            if item in sections:
                out.append({"Pages": [item, *({t: p} for t, p in sections[item])]})
            elif exists(item):
                out.append(item)
            continue
        (title, value), = item.items()
        if isinstance(value, list):
            children = expand_nav(value, sections, exists)
            if children:
                out.append({title: children})
        elif isinstance(value, str) and value in sections:
            out.append({title: [value, *({t: p} for t, p in sections[value])]})
        elif isinstance(value, str) and ("://" in value or exists(value)):
            out.append({title: value})
    return out


def configure(mk, config: Config, staging: Path, generated) -> None:
    """Point a loaded MkDocs config at the staged pages (used by build_site and the hook)."""
    mk["docs_dir"] = str(staging)
    mk["nav"] = expand_nav(mk.get("nav"), generated.sections, lambda p: (staging / p).is_file())
    snippets = mk["mdx_configs"].setdefault("pymdownx.snippets", {})
    snippets["base_path"] = [str(b) for b in (generated.snippet_bases or [config.root])]
    mk["extra"]["deckforge"] = {"repo_url": config.repo_url, "edit_uri": config.edit_uri}


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _build_epoch():
    if "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = DEFAULT_EPOCH
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


def run_mkdocs(mk) -> list[Diagnostic]:
    """Build the site; every MkDocs warning comes back as a diagnostic."""
    from mkdocs.commands.build import build
    from mkdocs.exceptions import MkDocsException

    handler = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    problems: list[Diagnostic] = []
    try:
        with _build_epoch():
            build(mk)
    except MkDocsException as err:
        problems.append(Diagnostic("mkdocs.yml", 1, "site-build-failed", str(err), level="error"))
    except Exception as err:  # a Markdown extension failing on a page must not crash the build
        problems.append(Diagnostic("mkdocs.yml", 1, "site-build-failed",
                                   f"MkDocs failed: {type(err).__name__}: {err}", level="error"))
    finally:
        logger.removeHandler(handler)
    problems += [Diagnostic("mkdocs.yml", 1, "site-warning", " ".join(r.getMessage().split()))
                 for r in handler.records]
    return problems


def mkdocs_options(config: Config) -> tuple[object, dict]:
    """(config_file, overrides) for MkDocs: the project's mkdocs.yml, else the default one
    titled after the project; deckforge's hook is added unless the file names hooks itself."""
    import io

    base = site_base(config)
    if base is None:
        return io.StringIO(default_mkdocs_yml(config.site_title)), {"hooks": [str(HOOK)]}
    config_file = base / "mkdocs.yml"
    return str(config_file), ({} if _declares_hooks(config_file) else {"hooks": [str(HOOK)]})


def load_mkdocs_config(config: Config, site_dir: Path, docs_dir: Path, site_url: str | None = None):
    from mkdocs.config import load_config

    config_file, overrides = mkdocs_options(config)
    return load_config(config_file=config_file, site_dir=str(site_dir), strict=False,
                       site_url=site_url, docs_dir=str(docs_dir), **overrides)


def build_site(graph: KnowledgeGraph, config: Config, strict: bool = True,
               site_url: str | None = None, registry=None) -> Path:
    """Stage the pages and build the site into `<out>/site/`; returns that folder.

    `site_url` overrides mkdocs.yml's for a local preview: Material's instant navigation only
    takes over links whose URL matches the sitemap's, host, port and path included.
    Raises SiteBuildError (after writing the site) when strict and anything was reported.
    """
    from deckforge.vendor import VendorError

    staging = config.out_dir / STAGING
    site_dir = config.out_dir / SITE
    try:
        generated = stage(graph, config, config.root / "docs", staging, registry)
    except VendorError as err:  # no npm / offline on the first build: say so, build the rest
        raise SiteBuildError([Diagnostic("mkdocs.yml", 1, "site-not-built", f"{err} The site was "
                                         "not built.", level="error")], site_dir) from err
    # Built in a fresh folder beside the site and swapped in whole: a build killed half-way
    # (or one MkDocs gave up on) leaves the previous site as it was, never half of each.
    fresh = Path(tempfile.mkdtemp(prefix=".site.", dir=config.out_dir))
    try:
        _umask_mode(fresh)
        mk = load_mkdocs_config(config, fresh, staging, site_url)
        configure(mk, config, staging, generated)
        problems = generated.problems + run_mkdocs(mk)
        if not any(p.code == "site-build-failed" for p in problems):
            _swap_in(fresh, site_dir)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    if strict and problems:
        raise SiteBuildError(problems, site_dir)
    for problem in problems:
        logging.getLogger("deckforge").warning(str(problem))
    return site_dir
