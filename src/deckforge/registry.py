"""The formula registry: formulas and concepts declared by the modules in `snippets/`.

Each snippet module declares `FORMULAS` (a list of deckforge.model.Formula) and may declare
`CONCEPTS`. Loading imports only the modules themselves; they import torch lazily inside
functions, so building a deck never pays for torch.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path

from deckforge.model import Concept, Formula


@dataclass(frozen=True)
class Registry:
    formulas: tuple[Formula, ...] = ()
    concepts: tuple[Concept, ...] = ()

    def formula(self, formula_id: str) -> Formula | None:
        return next((f for f in self.formulas if f.id == formula_id), None)

    def concept(self, concept_id: str) -> Concept | None:
        return next((c for c in self.concepts if c.id == concept_id), None)


def load_registry(snippets_dir: Path) -> Registry:
    """Import every module of the `snippets` package in `snippets_dir` and collect declarations."""
    if not (snippets_dir / "__init__.py").is_file():
        return Registry()
    parent = str(snippets_dir.parent.resolve())
    if parent not in sys.path:
        sys.path.insert(0, parent)
    package = importlib.import_module(snippets_dir.name)
    formulas: list[Formula] = []
    concepts: list[Concept] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        # Subpackages (snippets/bench/: GPU cases) are not formula families; importing them
        # would pull torch into `deckforge build`.
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"{snippets_dir.name}.{info.name}")
        formulas.extend(getattr(module, "FORMULAS", ()))
        concepts.extend(getattr(module, "CONCEPTS", ()))
    return Registry(
        formulas=tuple(sorted(formulas, key=lambda f: f.id)),
        concepts=tuple(sorted(concepts, key=lambda c: c.id)),
    )
