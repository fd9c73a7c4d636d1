"""How a question points at setup it does not contain (data for passes/context.py).

A flashcard is read alone, weeks later, shuffled: "in this context", "the company", "the
partitions mentioned in the slides" or a letter nobody defined point at text the card does not
carry. These tables say how notes write such pointers; the engine in passes/context.py decides
with them (and with the registry's declared symbols and names) whether the card, its context or
its answer resolves the pointer. Phrases are lowercase regular-expression fragments matched on
word boundaries, case-insensitively, against the question's plain text.
"""

from __future__ import annotations

# Pointers to text right next to the item ("in this context", "the above"): only a context
# carried onto the card (a quiz stem, a heading path, the item they lean on) resolves them.
DEICTIC = (
    r"in this (?:context|setting|setup|scenario|case|example)",
    r"(?:shown|given|described|defined|mentioned|listed|stated) above",
    r"the above",
    r"as (?:shown )?above",
    r"the previous (?:question|item|card|slide|example|part)",
    r"(?:this|that|the same) (?:example|scenario|setup|setting)",
    r"in (?:the|this) (?:figure|diagram|picture|image|table)(?! below)",
)

# Pointers to the course material ("mentioned in the slides", "on slide 47", "the lecture
# example"). Harmless when the question also names what it asks about ("Explain value scaling
# on slide 47"); a card that names no topic cannot be placed without the slides.
SOURCE_REFERENCES = (
    r"(?:mentioned|shown|discussed|covered|seen|presented|introduced|used) in (?:the )?"
    r"(?:slides?|lectures?|class|lec[- ]?\d+|notes|reading)",
    r"in the (?:slides?|lecture|class)",
    r"on (?:the )?slides?(?: \d+)?",
    r"(?:the |in )?(?:lecture|class|slide)(?:'s)? example",
    r"the example (?:from|in|on) (?:the )?(?:lecture|class|slides?)",
)

# Entities of an exam scenario: "the company", "the startup's model". With a definite article
# and no antecedent ("A company trains …" in the card, or its context) they belong to a stem
# the notes lost.
SCENARIO_NOUNS = (
    "company", "startup", "client", "customer", "vendor", "engineer", "team", "lab", "hospital",
    "bank", "researcher", "developer", "agency", "provider",
)

# Instances a quiz stem usually sets up ("The model needs 2 GiB …"): a definite one of these in a
# statement that also claims a number, with no context, is a claim about an unknown instance.
# Without a number ("copies of the same model") the phrase is generic and fine.
INSTANCE_NOUNS = (
    "model", "network", "layer", "kernel", "gpu", "cluster", "system", "matrix", "tensor",
    "dataset", "array", "accelerator", "chip", "server",
)

# Words around a letter that introduce it in the same sentence ("for N filters", "a large
# model M", "with rank r", "let d be"): within INTRO_WINDOW words before the letter.
INTRODUCERS = (
    "a", "an", "for", "with", "given", "let", "where", "of", "per", "each", "any", "some",
    "call", "called", "denote", "denotes", "denoted", "named",
)
INTRO_WINDOW = 4

# A noun right before a letter names it ("model M", "rank r", "attention head c", "positions
# x_1"). These words are no such noun: verbs, auxiliaries and function words ("has d filters",
# "use D as a teacher", "compute Y").
NON_HEADS = (
    "has", "have", "had", "is", "are", "was", "were", "be", "been", "being", "use", "uses",
    "used", "using", "make", "makes", "get", "gets", "take", "takes", "can", "could", "will",
    "would", "should", "must", "may", "might", "do", "does", "did", "compute", "computes",
    "apply", "applies", "need", "needs", "than", "as", "and", "or", "but", "if", "when", "then",
    "that", "which", "to", "by", "on", "at", "in", "into", "from", "the", "this", "these",
    "those", "its", "their", "our", "we", "you", "they", "it", "not", "no", "all", "only",
    "multiply", "divide", "add", "set", "train", "trains", "distill", "pick", "choose", "what",
    "why", "how", "does", "increase", "decrease", "increases", "decreases", "times", "over",
)

# A head word with one of these endings is a verb form ("Doubling p", "scaled r"), unless one
# of DETERMINERS stands before it ("the padding p").
VERB_ENDINGS = ("ing", "ed")
DETERMINERS = ("a", "an", "the", "this", "that", "each", "every", "its", "their", "one")

# Multi-part questions ("Stochastic rounding — rule & expectation"): an aspect listed here
# must show in the answer through one of its evidence fragments; aspects with no entry
# ("rule", "definition") have no reliable evidence and are not checked.
ASPECTS = {
    "expectation": ("expect", "e[", "𝔼", "unbiased", "mean", "on average", "average"),
    "expected value": ("expect", "e[", "𝔼", "unbiased", "mean", "average"),
    "bias": ("bias",),
    "variance": ("variance", "var(", "σ²", "std"),
    "complexity": ("o(", "linear", "quadratic", "constant", "log"),
    "cost": ("o(", "flop", "mac", "byte", "memory", "linear", "quadratic", "×"),
    "formula": ("=", "$"),
    "example": ("e.g", "for example", "example", "such as"),
}
