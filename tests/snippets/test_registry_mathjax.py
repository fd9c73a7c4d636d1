"""Every registry LaTeX string (formulas and the math in concept definitions) typesets in real
MathJax 3 under Node, with undefined macros treated as errors (issue 4, must-hold 4).

pylatexenc (deckforge.latex) catches structural errors; only MathJax knows which macros and
environments it actually supports, so this runs the same MathJax the site and the deck use.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from deckforge.latex import math_spans
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]

# Node script: typeset each [id, tex] from stdin; print the ids whose output holds an error.
_SCRIPT = r"""
const items = JSON.parse(require('fs').readFileSync(0, 'utf8'));
require(process.argv[2]).init({
  loader: {load: ['input/tex', 'output/svg']},
  // noundefined would render an unknown macro as red text instead of an error.
  tex: {packages: {'[-]': ['noundefined', 'autoload']}},
}).then((MathJax) => {
  const bad = [];
  for (const [id, tex] of items) {
    const html = MathJax.startup.adaptor.outerHTML(MathJax.tex2svg(tex, {display: true}));
    const m = html.match(/data-mjx-error="([^"]*)"/);
    if (m || html.includes('<merror')) bad.push([id, m ? m[1] : 'merror', tex]);
  }
  console.log(JSON.stringify(bad));
}).catch((e) => { console.error(e); process.exit(2); });
"""


def _mathjax_package() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    from deckforge.vendor import VendorError, mathjax_dir

    try:
        return mathjax_dir().parent  # node_modules/mathjax
    except VendorError as err:
        pytest.skip(str(err))


def _typeset_errors(items, tmp_path) -> list:
    script = tmp_path / "typeset.js"
    script.write_text(_SCRIPT, "utf-8")
    proc = subprocess.run(
        ["node", str(script), str(_mathjax_package())],
        input=json.dumps(items), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_all_registry_latex_typesets_in_mathjax(tmp_path):
    registry = load_registry(ROOT / "snippets")
    items = [[f.id, f.latex] for f in registry.formulas]
    for concept in registry.concepts:
        spans, problems = math_spans(concept.definition)
        assert not problems, concept.id
        items += [[f"{concept.id} (definition)", s.text] for s in spans]
    canaries = [["canary-undefined-macro", r"\foobar{x}"], ["canary-open-brace", r"\frac{a}{b"]]
    bad = _typeset_errors(items + canaries, tmp_path)
    assert sorted(b[0] for b in bad if b[0].startswith("canary")) == sorted(c[0] for c in canaries)
    real = [b for b in bad if not b[0].startswith("canary")]
    assert not real, "\n".join(f"{i}: {err}: {tex[:80]}" for i, err, tex in real)
    assert len(items) > 100
