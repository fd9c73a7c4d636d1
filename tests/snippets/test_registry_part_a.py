"""Registry integrity for the part-A formula families: metadata that the repair/check passes
and the site rely on (ids, concepts, sections, tests, LaTeX), and torch kept out of imports."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deckforge.latex import check_math
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("scaling", "roofline", "convolution", "systolic", "normalization", "optimization",
           "quantization", "sparsity", "distillation", "lowrank", "amm")
REGISTRY = load_registry(ROOT / "snippets")
MINE = [f for f in REGISTRY.formulas if Path(f.module).stem in MODULES]
MY_CONCEPTS = [c for c in REGISTRY.concepts if any(f.concept == c.id for f in MINE)]

# Macros MathJax 3 typesets out of the box (TeX input, base + ams); nothing custom.
MATHJAX_MACROS = set("""
frac tfrac dfrac mathrm text textstyle quad qquad min max left right cdot alpha beta gamma delta
Delta epsilon eta sigma Sigma mu tau theta lambda nabla partial times lfloor rfloor lceil rceil mathbb
mathcal in top sum sqrt odot circ begin end ll le ge leq geq approx log exp Rightarrow to
forall lVert rVert bigl bigr big Big hat quad infty
""".split())

# Functions the check pass (src/deckforge/passes/check.py) and the site call by formula id.
CHECK_FUNCTIONS = {
    "value-scaling": ("scale_to_unit", "unscale_from_unit", "infer_range", "check_scaling_claim"),
    "quantization-error-bound": ("error_bound_ratio", "max_quantization_error"),
    "ridge-point": ("ridge_point", "ridge_shift"),
    "roofline": ("attainable_throughput",),
    "arithmetic-intensity": ("gemm_intensity", "gemv_intensity"),
    "conv-output-size": ("stride_ops_ratio", "conv_output_size"),
    "dsc-params": ("dsc_savings", "dsc_ratio", "dsc_params", "standard_conv_params"),
    "swamping": ("is_swamped", "running_sum", "stall_point"),
    "svd-lowrank-params": ("lowrank_params", "break_even_rank"),
    "separable-kernel": ("separable_kernel_params",),
    "lora-params": ("lora_params",),
    "nm-sparsity": ("nm_compute_fraction",),
    "backprop-linear": ("activation_lifetimes",),
    "log-quantization": ("log_step",),
    "stochastic-rounding": ("round_up_probability", "stochastic_round"),
}


def test_every_family_declares_formulas_and_concepts():
    assert {Path(f.module).stem for f in MINE} == set(MODULES)
    for concept_id in ("roofline", "layer-norm", "rms-norm", "depthwise-separable-conv",
                       "convolution", "n-m-sparsity", "uniform-quantization", "lora"):
        assert REGISTRY.concept(concept_id) is not None, concept_id
    for formula_id in ("roofline", "ridge-point", "arithmetic-intensity", "layer-norm", "rms-norm",
                       "dsc-macs", "dsc-params", "conv-macs", "conv-storage", "nm-sparsity",
                       "uniform-quantization", "lora-update", "lora-params", "lora-merge"):
        assert REGISTRY.formula(formula_id) is not None, formula_id


@pytest.mark.parametrize("formula", MINE, ids=lambda f: f.id)
def test_formula_metadata(formula):
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", formula.id)
    concept = REGISTRY.concept(formula.concept)
    assert concept is not None and formula.id in concept.formulas
    assert formula.aliases and all(a == a.lower() for a in formula.aliases)
    source = (ROOT / formula.module).read_text("utf-8")
    assert source.count(f"# --8<-- [start:{formula.section}]") == 1
    assert source.count(f"# --8<-- [end:{formula.section}]") == 1
    assert formula.tests
    for node in formula.tests:
        path, _, name = node.partition("::")
        tree = ast.parse((ROOT / path).read_text("utf-8"))
        assert name in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, node


@pytest.mark.parametrize("formula", MINE, ids=lambda f: f.id)
def test_latex_parses_and_uses_only_mathjax_macros(formula):
    assert check_math(formula.latex) == []
    macros = set(re.findall(r"\\([a-zA-Z]+)", formula.latex))
    assert macros <= MATHJAX_MACROS, macros - MATHJAX_MACROS


@pytest.mark.parametrize("concept", MY_CONCEPTS, ids=lambda c: c.id)
def test_concept_metadata(concept):
    assert len(concept.definition) > 200  # a real paragraph, not a label
    for fid in concept.formulas:
        assert REGISTRY.formula(fid).concept == concept.id
    known = {c.id for c in REGISTRY.concepts}
    missing = set(concept.related) - known
    assert not missing or missing <= {"kv-cache", "flash-attention"}, missing


def test_check_functions_exist():
    import importlib

    for fid, names in CHECK_FUNCTIONS.items():
        module = importlib.import_module(REGISTRY.formula(fid).module[:-3].replace("/", "."))
        for name in names:
            assert callable(getattr(module, name, None)), f"{fid}: {name}"


def test_loading_the_registry_does_not_import_torch():
    code = ("import sys; from pathlib import Path; from deckforge.registry import load_registry; "
            "load_registry(Path('snippets')); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
