"""Claim declarations: what a snippet module knows about the sentences notes write on its formulas.

A snippet module lists them as `CLAIMS = [...]` at its end; the registry loader collects them and
the `check` pass (deckforge.passes.check) runs the engine's few claim templates over every card:

- a ratio / "k× more/less": a variable changes (3→2, by +2, doubling) and the quantity is said
  to change by a factor;
- a trend: the quantity is said to rise or fall as a variable rises or falls ("increases with N",
  "moves right if BW decreases"), or to depend / not depend on it, or a variable "can prevent" it;
- an identity: the quantity is said to equal an expression in the variables ("= V·d", "= 512/8 = 64");
- a value mapping: `w = [x, …] → [y, …]` through a function with unknown parameters;
- a "normalizes by" property: the output of a normalising function has unit size in the claimed
  measure (std, max, sum, RMS, norm).

Phrases are lowercase regular-expression fragments matched on word boundaries against the card's
plain text (LaTeX commands already rendered as `×`, `·`, `→`); they say how notes name a quantity
or a variable, so they are data, beside the formula they belong to, never in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Var:
    """An argument of the snippet function, as notes name it.

    `low`/`high` are the two values a trend is evaluated at (low < high); `base` the value a
    change "by +Δ" or "doubling" starts from (default: low). `symbols` are the letters an
    expression may use for it ("V", "d_model"). `more`/`less` are phrases that name the variable
    together with a direction ("deeper layer" = a larger layer index). `values` are the settings
    a "can prevent" claim tries (e.g. the sign of an addend)."""

    arg: str
    phrases: tuple[str, ...] = ()
    low: float = 1.0
    high: float = 2.0
    base: float | None = None
    symbols: tuple[str, ...] = ()
    more: tuple[str, ...] = ()
    less: tuple[str, ...] = ()
    values: tuple[float, ...] = ()
    integer: bool = True


@dataclass(frozen=True)
class Quantity:
    """A quantity the snippet function `function` (in formula `formula`'s module) computes.

    `output` picks a key from a dict result (several keys: a trend must hold for each); `fixed`
    are arguments held constant; `tolerance` is the relative error a claimed factor may have."""

    formula: str
    function: str
    name: str  # the quantity in words, for reasons
    phrases: tuple[str, ...]
    variables: tuple[Var, ...] = ()
    fixed: tuple[tuple[str, float], ...] = ()
    output: tuple[str, ...] = ()
    tolerance: float = 0.15
    # Patterns with named groups (group name = argument) for letters a card introduces itself:
    # "N k×k×M filters" makes N the filter count for that card.
    letters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mapping:
    """`name = [x, …] → [y, …]` claims through `function(x, *params)`. The parameters are
    unknown in the notes; `candidates(pairs)` (a snippet function) proposes parameter tuples from
    a card's pairs, and the tuple most pairs of all such cards agree with is used."""

    formula: str
    function: str
    candidates: str
    names: tuple[str, ...]  # the variable the mapping is written on ("w", "x")
    params: tuple[str, ...]  # the parameters' names, for reasons
    tolerance: float = 0.0015  # the notes write three decimals


@dataclass(frozen=True)
class Normalizes:
    """"<subject> normalizes by <measure>": `function(x)` returns the normalised values of a
    random vector x; the claim holds when the named measure of the output is 1."""

    formula: str
    function: str
    phrases: tuple[str, ...]  # how notes name the normalising operation
    fixed: tuple[tuple[str, float], ...] = ()  # further arguments (a gain of 1, an offset of 0)


Claim = Quantity | Mapping | Normalizes
