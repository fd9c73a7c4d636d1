"""Third-party browser assets fetched from the npm registry at build time, never from a CDN at
view time and never committed: MathJax 3 for the site and for the card screenshots.

They are cached per user (DECKFORGE_CACHE, default ~/.cache/deckforge) so a rebuild is offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

MATHJAX_VERSION = "3.2.2"


class VendorError(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("DECKFORGE_CACHE", Path.home() / ".cache" / "deckforge"))


def mathjax_dir() -> Path:
    """The folder holding MathJax's `es5/` build (tex-chtml.js, fonts), installed on first use."""
    prefix = cache_dir() / f"mathjax-{MATHJAX_VERSION}"
    es5 = prefix / "node_modules" / "mathjax" / "es5"
    if (es5 / "tex-chtml.js").is_file():
        return es5
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError("MathJax is needed for the site but npm is not installed: "
                          "install Node.js/npm (apt-get install npm) and rebuild.")
    prefix.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent",
         f"mathjax@{MATHJAX_VERSION}"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0 or not (es5 / "tex-chtml.js").is_file():
        raise VendorError(f"npm could not install mathjax@{MATHJAX_VERSION}: {proc.stderr.strip()[-500:]}")
    return es5
