"""The part-B formula families as a whole: well-formed metadata, valid LaTeX, a light import,
and every real card of these families linked to the right formula (issue 4, must-holds 1-2)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from deckforge.formula_match import FormulaMatcher
from deckforge.latex import check_field, check_math
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "attention", "flash_attention", "kv_cache", "positional", "lr_schedule", "model_accounting",
    "scaling_laws", "losses", "moe", "distributed", "transformer_block", "vit",
    "speculative_decoding", "diffusion", "embeddings", "optimizers", "grpo", "tokenization",
]


def _modules():
    return [importlib.import_module(f"snippets.{m}") for m in MODULES]


def _formulas():
    return [f for mod in _modules() for f in mod.FORMULAS]


@pytest.fixture(scope="module")
def registry():
    return load_registry(ROOT / "snippets")


def test_registry_import_does_not_import_torch():
    code = (
        "import sys; from pathlib import Path; from deckforge.registry import load_registry; "
        f"r = load_registry(Path({str(ROOT / 'snippets')!r})); "
        "assert 'torch' not in sys.modules, 'torch imported'; print(len(r.formulas))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= len(_formulas())


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


@pytest.mark.parametrize("formula", _formulas(), ids=lambda f: f.id)
def test_formula_metadata_latex_section_and_tests(formula, registry):
    assert check_math(formula.latex) == [], formula.latex
    concept = registry.concept(formula.concept)
    assert concept is not None and formula.id in concept.formulas
    source = (ROOT / formula.module).read_text("utf-8")
    assert source.count(f"# --8<-- [start:{formula.section}]") == 1
    assert source.count(f"# --8<-- [end:{formula.section}]") == 1
    assert formula.tests
    for node in formula.tests:
        path, _, name = node.partition("::")
        assert name in _test_functions(ROOT / path), node
    assert formula.aliases and all(a == a.lower() for a in formula.aliases)


@pytest.mark.parametrize("module", MODULES)
def test_concepts_parse_and_relate_to_known_concepts(module, registry):
    ids = {c.id for c in registry.concepts}
    for concept in importlib.import_module(f"snippets.{module}").CONCEPTS:
        assert len(concept.definition) > 200, concept.id  # a real paragraph
        assert check_field(concept.definition) == [], concept.id
        assert set(concept.related) <= ids, (concept.id, set(concept.related) - ids)
        assert all(registry.formula(f) for f in concept.formulas)


# (file, first line of the card, formula its question must resolve to): every card of these
# families in the bundled notes, from the real graph.
EXPECTED = [
    ("transformers-flashcards-export.txt", 22, "qkv-projections"),
    ("transformers-flashcards-export.txt", 26, "attention-weights"),
    ("transformers-flashcards-export.txt", 30, "alignment-scores"),
    ("transformers-flashcards-export.txt", 37, "bilm-loss"),
    ("transformers-flashcards-export.txt", 40, "attention-complexity"),
    ("transformers-flashcards-export.txt", 44, "post-norm-sublayer"),
    ("transformers-flashcards-export.txt", 47, "sinusoidal-positional-encoding"),
    ("transformers-flashcards-export.txt", 49, "scaled-dot-product-attention"),
    ("transformers-flashcards-export.txt", 52, "multi-head-attention"),
    ("transformers-flashcards-export.txt", 54, "residual-connection"),
    ("transformers-flashcards-export.txt", 61, "kaplan-power-laws"),
    ("transformers-flashcards-export.txt", 64, "transformer-param-count"),
    ("transformers-flashcards-export.txt", 68, "attention-complexity"),
    ("transformers-flashcards-export.txt", 74, "post-norm-sublayer"),
    ("transformers-flashcards-export.txt", 80, "causal-attention"),
    ("transformers-flashcards-export.txt", 88, "alignment-scores"),
    ("transformers-flashcards-export.txt", 90, "multi-head-attention"),
    ("transformers-flashcards-export.txt", 98, "multi-head-attention"),
    ("transformers-flashcards-export.txt", 103, "cross-attention"),
    ("transformers-flashcards-export.txt", 107, "position-wise-ffn"),
    ("transformers-flashcards-export.txt", 112, "tied-embeddings"),
    ("transformers-flashcards-export.txt", 114, "sinusoidal-positional-encoding"),
    ("transformers-flashcards-export.txt", 119, "attention-complexity"),
    ("transformers-flashcards-export.txt", 126, "attention-complexity"),
    ("transformers-flashcards-export.txt", 130, "transformer-lr-schedule"),
    ("transformers-flashcards-export.txt", 134, "label-smoothing"),
    ("transformers-flashcards-export.txt", 137, "multi-head-attention"),
    ("transformers-flashcards-export.txt", 140, "causal-attention"),
    ("transformers-flashcards-export.txt", 142, "lm-head"),
    ("transformers-flashcards-export.txt", 146, "residual-connection"),
    ("transformers-flashcards-export.txt", 149, "multi-head-attention"),
    ("transformers-flashcards-export.txt", 156, "multi-head-attention"),
    ("transformers-flashcards-export.txt", 166, "pre-norm-block"),
    ("transformers-flashcards-export.txt", 170, "pre-norm-block"),
    ("transformers-flashcards-export.txt", 172, "qkv-projections"),
    ("transformers-flashcards-export.txt", 177, "attention-scores"),
    ("transformers-flashcards-export.txt", 59, "vit-patch-embedding"),
    ("transformers-flashcards-export.txt", 7, "skip-gram"),
    ("cs242-systems-flashcards.txt", 1, "ddp-gradient-averaging"),
    ("cs242-systems-flashcards.txt", 2, "ddp-gradient-averaging"),
    ("cs242-systems-flashcards.txt", 3, "ddp-gradient-averaging"),
    ("cs242-systems-flashcards.txt", 4, "ring-allreduce-traffic"),
    ("cs242-systems-flashcards.txt", 5, "ddp-gradient-averaging"),
    ("cs242-systems-flashcards.txt", 149, "autoregressive-lm"),
    ("cs242-systems-flashcards.txt", 150, "scaled-dot-product-attention"),
    ("cs242-systems-flashcards.txt", 151, "causal-attention"),
    ("cs242-systems-flashcards.txt", 152, "qkv-projections"),
    ("cs242-systems-flashcards.txt", 153, "multi-head-attention"),
    ("cs242-systems-flashcards.txt", 154, "residual-connection"),
    ("cs242-systems-flashcards.txt", 155, "cross-attention"),
    ("cs242-systems-flashcards.txt", 156, "sinusoidal-positional-encoding"),
    ("cs242-systems-flashcards.txt", 158, "flash-attention-io"),
    ("cs242-systems-flashcards.txt", 159, "online-softmax"),
    ("cs242-systems-flashcards.txt", 160, "flash-attention-io"),
    ("cs242-systems-flashcards.txt", 161, "speculative-expected-tokens"),
    ("cs242-systems-flashcards.txt", 162, "speculative-sampling"),
    ("cs242-systems-flashcards.txt", 163, "speculative-expected-tokens"),
    ("cs242-systems-flashcards.txt", 164, "speculative-expected-tokens"),
    ("cs242-systems-flashcards.txt", 166, "kv-cache-decode-cost"),
    ("cs242-systems-flashcards.txt", 167, "kv-cache-decode-cost"),
    ("cs242-systems-flashcards.txt", 168, "rope"),
    ("cs242-systems-flashcards.txt", 169, "causal-attention"),
    ("cs242-systems-flashcards.txt", 173, "simclr-nt-xent"),
    ("cs242-systems-flashcards.txt", 174, "simclr-nt-xent"),
    ("cs242-systems-flashcards.txt", 175, "simclr-nt-xent"),
    ("cs242-systems-flashcards.txt", 176, "dino-loss"),
    ("cs242-systems-flashcards.txt", 177, "dino-loss"),
    ("cs242-systems-flashcards.txt", 178, "dino-loss"),
    ("cs242-systems-flashcards.txt", 179, "dino-loss"),
    ("cs242-systems-flashcards.txt", 182, "clip-loss"),
    ("cs242-systems-flashcards.txt", 184, "clip-zero-shot"),
    ("cs242-systems-flashcards.txt", 186, "ddpm-loss"),
    ("cs242-systems-flashcards.txt", 187, "ddpm-loss"),
    ("cs242-systems-flashcards.txt", 189, "latent-compression"),
    ("cs242-systems-flashcards.txt", 200, "cross-attention"),
    ("cs242-systems-flashcards.txt", 208, "attention-scores"),
    ("cs242-systems-flashcards.txt", 211, "position-wise-ffn"),
    ("cs242-systems-flashcards.txt", 214, "vit-patch-embedding"),
    ("cs242-systems-flashcards.txt", 218, "clip-loss"),
    ("cs242-systems-flashcards.txt", 245, "tied-embeddings"),
    ("cs242-systems-flashcards.txt", 246, "tied-embeddings"),
    ("cs242-systems-flashcards.txt", 251, "dino-loss"),
    ("cs242-systems-flashcards.txt", 259, "moe-top-k-routing"),
    ("cs242-systems-flashcards.txt", 260, "moe-top-k-routing"),
    ("cs242-systems-flashcards.txt", 261, "noisy-top-k-gating"),
    ("cs242-systems-flashcards.txt", 262, "moe-active-params"),
    ("cs242-systems-flashcards.txt", 258, "grpo-advantage"),
    ("cs242-systems-flashcards.txt", 239, "mdlm-loss"),
    ("cs242-systems-flashcards.txt", 241, "mdlm-loss"),
    ("cs242-systems-flashcards.txt", 243, "mdlm-loss"),
    ("cs242-systems-flashcards.txt", 248, "mdlm-loss"),
    ("cs242-systems-flashcards.txt", 249, "mdlm-loss"),
    ("cs242-systems-flashcards.txt", 250, "mdlm-loss"),
    ("cs242-systems-flashcards.txt", 268, "latent-compression"),
    ("cs242-systems-flashcards.txt", 269, "ddpm-loss"),
    ("cs242-systems-flashcards.txt", 270, "mdlm-loss"),
    ("cs242-systems-flashcards.txt", 272, "mdlm-loss"),
    ("cs242-systems-flashcards.txt", 185, "ddpm-forward"),
    ("cs242-systems-flashcards.txt", 188, "cross-attention"),
    ("cs242-systems-flashcards.txt", 267, "cross-attention"),
    ("transformers-flashcards-export.txt", 19, "attention-weights"),
    ("cs242-systems-flashcards.txt", 273, "tied-embeddings"),
    ("cs242-systems-flashcards.txt", 274, "tied-embeddings"),
    ("cs336-lecture-notes.md", 18, "bpe-merge"),
    ("cs336-lecture-notes.md", 22, "bpe-merge"),
    ("cs336-lecture-notes.md", 24, "bpe-merge"),
    ("cs336-lecture-notes.md", 74, "memory-accounting"),
    ("cs336-lecture-notes.md", 85, "training-flops"),
    ("cs336-lecture-notes.md", 91, "training-flops"),
    ("cs336-lecture-notes.md", 119, "position-wise-ffn"),
    ("ml-systems-reading-quizzes.txt", 3, "softmax-block-decomposition"),
    ("ml-systems-reading-quizzes.txt", 32, "tensor-parallel-mlp"),
    ("ml-systems-reading-quizzes.txt", 58, "zero-memory"),
    ("ml-systems-reading-quizzes.txt", 75, "rope"),
    ("ml-systems-reading-quizzes.txt", 140, "mean-pooling"),
    ("ml-systems-reading-quizzes.txt", 153, "skip-gram"),
    ("efficient-dl-midterm-recap.txt", 182, "kv-cache-decode-cost"),  # GPT-2 prefilling (171-181 is a symbol legend)
    ("efficient-dl-midterm-recap.txt", 189, "kv-cache-decode-cost"),  # why a KV cache saves computation
    ("efficient-dl-midterm-recap.txt", 337, "kl-divergence"),
]


def _card_at(graph_json, name, line):
    for card in graph_json["cards"]:
        if any(s["path"].endswith(name) and s["line"] <= line <= s["end_line"]
               for s in card["sources"]):
            return card
    return None


def test_real_cards_resolve_to_their_formula(graph_json, registry):
    matcher = FormulaMatcher.from_registry(registry)
    wrong = []
    for name, line, expected in EXPECTED:
        card = _card_at(graph_json, name, line)
        assert card is not None, f"no card at {name}:{line}"
        hit = matcher.question_formula(card["question"])
        got = hit.formula if hit else None
        if got != expected or expected not in card["formulas"]:
            wrong.append(f"{name}:{line} {card['question'][:60]!r}: {got} / {card['formulas']}")
    assert not wrong, "\n".join(wrong)


# The mangled answers of issue 4, repaired with this registry's LaTeX.
GARBLED = [
    (49, "scaled-dot-product-attention"),
    (61, "kaplan-power-laws"),
    (64, "transformer-param-count"),
    (114, "sinusoidal-positional-encoding"),
    (130, "transformer-lr-schedule"),
    (26, "attention-weights"),
]


@pytest.mark.parametrize(("line", "formula_id"), GARBLED)
def test_garbled_export_answers_are_repaired_with_registry_latex(graph_json, registry, line, formula_id):
    card = _card_at(graph_json, "transformers-flashcards-export.txt", line)
    assert registry.formula(formula_id).latex in card["answer"]
    assert "repaired" in card["flags"]
    assert check_field(card["answer"]) == []
