"""The formula registry: formulas and concepts declared by snippet modules.

Two layers, so the tool works on anyone's notes from any folder:

- the **built-in** registry ships with deckforge as the package `deckforge_snippets` (the
  repository keeps its folder `snippets/` at the top level; the wheel maps it to that name, so
  it never collides with a project's own `snippets` package). A source checkout that is not
  installed loads the same folder under the same name.
- a project's own `snippets/` folder (a package) **adds** formulas and concepts, and
  **overrides** a built-in one that has the same id (docs/own-notes.md).

Each snippet module declares `FORMULAS` (a list of deckforge.model.Formula) and may declare
`CONCEPTS`, `CLAIMS` (deckforge.claims: how notes state claims about its formulas) and
`FINGERPRINTS` (deckforge.model.Fingerprint: how its formulas look in notes). Loading imports
only the modules themselves; they import torch lazily inside functions, so building a deck never
pays for torch. A formula's `module` and `tests` are paths relative to the folder above its
snippets package (`snippets/attention.py`); `Registry.origin` says where each formula's code
really lives and under which name it is imported. A project formula that overrides a built-in
one by id takes the built-in one's fingerprints and claims with it: they describe the formula
that was replaced; the project's module declares its own.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deckforge.model import Concept, Fingerprint, Formula

BUILTIN = "deckforge_snippets"


@dataclass(frozen=True)
class Origin:
    """Where a formula's code lives: `package` is the import name of its snippets package and
    `folder` that package's folder; `base` is the folder its `module`/`tests` paths are
    relative to (the project root, or the folder above the built-in package)."""

    package: str
    folder: Path
    base: Path
    builtin: bool

    def module_name(self, formula: Formula) -> str:
        return f"{self.package}.{Path(formula.module).stem}"

    def source_file(self, formula: Formula) -> Path:
        return self.folder / Path(formula.module).name

    def include_path(self, formula: Formula) -> tuple[Path, str]:
        """(base path, path below it) for the site's `pymdownx.snippets` include."""
        return self.folder.parent, f"{self.folder.name}/{Path(formula.module).name}"


@dataclass(frozen=True)
class Registry:
    formulas: tuple[Formula, ...] = ()
    concepts: tuple[Concept, ...] = ()
    claims: tuple = ()  # deckforge.claims declarations (`CLAIMS` of the snippet modules)
    # How formulas look in notes (each module's `FINGERPRINTS`), in module order.
    fingerprints: tuple[Fingerprint, ...] = ()
    origins: dict[str, Origin] = field(default_factory=dict, compare=False)  # formula id -> Origin
    folders: tuple[Path, ...] = ()  # the snippets packages' folders, built-in first

    def formula(self, formula_id: str) -> Formula | None:
        return next((f for f in self.formulas if f.id == formula_id), None)

    def concept(self, concept_id: str) -> Concept | None:
        return next((c for c in self.concepts if c.id == concept_id), None)

    def origin(self, formula: Formula) -> Origin | None:
        return self.origins.get(formula.id)

    def source_file(self, formula: Formula, root: Path | None = None) -> Path | None:
        """The file holding the formula's code (for formulas not loaded here: below `root`)."""
        origin = self.origin(formula)
        if origin is not None:
            return origin.source_file(formula)
        return root / formula.module if root is not None and formula.module else None


def builtin_folder() -> Path | None:
    """The folder of the built-in registry package, imported as `deckforge_snippets`."""
    package = _builtin_package()
    return Path(next(iter(package.__path__))).resolve() if package is not None else None


def _builtin_package():
    """The built-in registry package. A source checkout (src/deckforge/../../snippets) uses
    its own folder, also when another checkout of deckforge is installed; an installed
    deckforge imports `deckforge_snippets` as installed beside it."""
    folder = Path(__file__).resolve().parents[2] / "snippets"
    if not (folder / "__init__.py").is_file():
        try:
            return importlib.import_module(BUILTIN)
        except ModuleNotFoundError as err:
            if err.name != BUILTIN:
                raise
            return None
    cached = sys.modules.get(BUILTIN)
    if cached is not None:
        if [Path(p).resolve() for p in getattr(cached, "__path__", ())] == [folder]:
            return cached
        for name in [m for m in sys.modules if m == BUILTIN or m.startswith(BUILTIN + ".")]:
            del sys.modules[name]
    spec = importlib.util.spec_from_file_location(BUILTIN, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[BUILTIN] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[BUILTIN]
        raise
    return module


def _declarations(package) -> tuple[list[Formula], list[Concept], list, list[Fingerprint]]:
    formulas: list[Formula] = []
    concepts: list[Concept] = []
    claims: list = []
    fingerprints: list[Fingerprint] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        # Subpackages (snippets/bench/: GPU cases) are not formula families; importing them
        # would pull torch into `deckforge build`.
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        formulas.extend(getattr(module, "FORMULAS", ()))
        concepts.extend(getattr(module, "CONCEPTS", ()))
        claims.extend(getattr(module, "CLAIMS", ()))
        fingerprints.extend(getattr(module, "FINGERPRINTS", ()))
    return formulas, concepts, claims, fingerprints


def load_registry(snippets_dir: Path | None = None, builtin: bool = True) -> Registry:
    """The built-in registry plus the project's `snippets_dir` package (if it is one), whose
    formulas and concepts replace built-in ones with the same id (module docstring)."""
    formulas: dict[str, Formula] = {}
    concepts: dict[str, Concept] = {}
    origins: dict[str, Origin] = {}
    claims: list = []
    fingerprints: list[Fingerprint] = []
    folders: list[Path] = []
    layers = []
    own = builtin_folder() if builtin else None
    if own is not None:
        layers.append((sys.modules[BUILTIN], Origin(BUILTIN, own, own.parent, True)))
    if snippets_dir is not None and (snippets_dir / "__init__.py").is_file():
        folder = snippets_dir.resolve()
        if folder != own:  # deckforge's own repository: its snippets/ is the built-in registry
            package = _import_package(folder)
            layers.append((package, Origin(package.__name__, folder, folder.parent, False)))
    for package, origin in layers:
        found_formulas, found_concepts, found_claims, found_prints = _declarations(package)
        replaced = {f.id for f in found_formulas if f.id in formulas}
        claims = [c for c in claims if getattr(c, "formula", None) not in replaced]
        fingerprints = [fp for fp in fingerprints if fp.formula not in replaced]
        for formula in found_formulas:
            formulas[formula.id] = formula
            origins[formula.id] = origin
        concepts.update((c.id, c) for c in found_concepts)
        claims.extend(found_claims)
        fingerprints.extend(found_prints)
        folders.append(origin.folder)
    return Registry(
        formulas=tuple(sorted(formulas.values(), key=lambda f: f.id)),
        concepts=tuple(sorted(concepts.values(), key=lambda c: c.id)),
        claims=tuple(claims),  # layer, then module order (sorted), then as declared
        fingerprints=tuple(fingerprints),
        origins=origins,
        folders=tuple(folders),
    )


def _import_package(snippets_dir: Path):
    """Import a project's `snippets_dir` as a package, also when another project's `snippets`
    package was imported earlier in this process (`deckforge diff` builds two revisions in one
    process): a cached package of another folder is dropped with its modules, or the second
    build would silently use the first one's registry."""
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
                definition="", essentials=()) -> Formula:
        return Formula(id=id, name=name, latex=latex, concept=concept, aliases=tuple(aliases),
                       module=module, section=section,
                       tests=tuple(f"{tests_file}::{t}" for t in tests), symbols=tuple(symbols),
                       counts=tuple(counts), definition=definition, essentials=tuple(essentials))

    return formula
