"""MkDocs hook (see `hooks:` in mkdocs.yml): plain `mkdocs build` / `mkdocs serve` on the root
mkdocs.yml generate the knowledge base pages from sources/ exactly like `deckforge build`.

When `deckforge build` drives MkDocs it has already staged the pages (docs_dir points at
build/site-src), so on_config leaves the config alone; the page hook below runs either way.
`deckforge serve` names the project it previews (its notes may be anywhere: `--sources`) in
the environment variable SERVE_ENV, since MkDocs re-reads its config on every rebuild.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SERVE_ENV = "DECKFORGE_SERVE"


def serve_project():
    """The project `deckforge serve` previews, or None under plain `mkdocs serve/build`."""
    from deckforge.config import load_config

    spec = os.environ.get(SERVE_ENV)
    if not spec:
        return None
    given = json.loads(spec)
    return load_config(root=Path(given["root"]), sources=Path(given["sources"]),
                       out=Path(given["out"]), lock=None)


def on_config(config, **_):
    from deckforge.config import load_config
    from deckforge.emit import site
    from deckforge.pipeline import build_graph

    project = serve_project()
    if project is None:
        root = Path(config.config_file_path).resolve().parent
        if Path(config.docs_dir).resolve() != (root / "docs").resolve():
            return config  # already staged by deckforge.emit.site.build_site
        project = load_config(root=root)
    from mkdocs.exceptions import PluginError

    from deckforge.outdir import OutDirError, claim

    try:  # the same ownership rule as `deckforge build`: never stage into someone's folder
        claim(project.out_dir, project)
    except OutDirError as err:
        raise PluginError(str(err)) from err
    graph = build_graph(project)
    staging = project.out_dir / site.STAGING
    generated = site.stage(graph, project, project.root / "docs", staging)
    site.configure(config, project, staging, generated)
    for problem in generated.problems:
        import logging

        logging.getLogger("mkdocs.deckforge").warning(str(problem))
    return config


def on_page_markdown(markdown, page, config, **_):
    """Edit buttons: hand-written pages link to their file in docs/, generated ones have none
    (their cards link to the lines of the notes instead)."""
    settings = config["extra"].get("deckforge") or {}
    if page.meta.get("generated") or not settings.get("repo_url"):
        page.edit_url = None
    else:
        base = settings["repo_url"].rstrip("/") + "/" + settings.get("edit_uri", "blob/main/").strip("/")
        page.edit_url = f"{base}/docs/{page.file.src_uri}"
    return markdown
