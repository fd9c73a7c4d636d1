"""The formula registry: formulas and concepts declared by the modules in `snippets/`.

Each snippet module declares `FORMULAS` (a list of deckforge.model.Formula) and may declare
`CONCEPTS`, `CLAIMS` (deckforge.claims: how notes state claims about its formulas) and
`FINGERPRINTS` (deckforge.model.Fingerprint: how its formulas look in notes). Loading imports
only the modules themselves; they import torch lazily inside functions, so building a deck never
pays for torch.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path

from deckforge.model import Concept, Fingerprint, Formula


@dataclass(frozen=True)
class Registry:
    formulas: tuple[Formula, ...] = ()
    concepts: tuple[Concept, ...] = ()
    claims: tuple = ()  # deckforge.claims declarations (`CLAIMS` of the snippet modules)
    # How formulas look in notes (each module's `FINGERPRINTS`), in module order.
    fingerprints: tuple[Fingerprint, ...] = ()

    def formula(self, formula_id: str) -> Formula | None:
        return next((f for f in self.formulas if f.id == formula_id), None)

    def concept(self, concept_id: str) -> Concept | None:
        return next((c for c in self.concepts if c.id == concept_id), None)


def load_registry(snippets_dir: Path) -> Registry:
    """Import every module of the `snippets` package in `snippets_dir` and collect declarations."""
    if not (snippets_dir / "__init__.py").is_file():
        return Registry()
    package = _import_package(snippets_dir)
    formulas: list[Formula] = []
    concepts: list[Concept] = []
    claims: list = []
    fingerprints: list[Fingerprint] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        # Subpackages (snippets/bench/: GPU cases) are not formula families; importing them
        # would pull torch into `deckforge build`.
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"{snippets_dir.name}.{info.name}")
        formulas.extend(getattr(module, "FORMULAS", ()))
        concepts.extend(getattr(module, "CONCEPTS", ()))
        claims.extend(getattr(module, "CLAIMS", ()))
        fingerprints.extend(getattr(module, "FINGERPRINTS", ()))
    return Registry(
        formulas=tuple(sorted(formulas, key=lambda f: f.id)),
        concepts=tuple(sorted(concepts, key=lambda c: c.id)),
        claims=tuple(claims),  # module order (sorted above), then as declared
        fingerprints=tuple(fingerprints),
    )


def _import_package(snippets_dir: Path):
    """Import `snippets_dir` as a package, also when another project's `snippets` package was
    imported earlier in this process (`deckforge diff` builds two revisions in one process):
    a cached package of another folder is dropped with its modules, or the second build would
    silently use the first one's registry."""
    name, folder = snippets_dir.name, snippets_dir.resolve()
    cached = sys.modules.get(name)
    if cached is not None and [Path(p).resolve() for p in getattr(cached, "__path__", ())] != [folder]:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]
    parent = str(folder.parent)
    if parent in sys.path:
        sys.path.remove(parent)
    sys.path.insert(0, parent)
    importlib.invalidate_caches()
    return importlib.import_module(name)


def formula_factory(module: str, tests_file: str):
    """A `Formula` builder for one snippet module: `module` and the test node ids' file are
    filled in, so a family's declarations list only what differs between its formulas."""

    def formula(id, name, latex, concept, aliases, section, tests, symbols=(), counts=(),
                definition="") -> Formula:
        return Formula(id=id, name=name, latex=latex, concept=concept, aliases=tuple(aliases),
                       module=module, section=section,
                       tests=tuple(f"{tests_file}::{t}" for t in tests), symbols=tuple(symbols),
                       counts=tuple(counts), definition=definition)

    return formula
