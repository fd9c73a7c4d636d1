"""Resource accounting for Transformers: parameters, training FLOPs, memory, tied embeddings.

The counts are exact for the matrices they name and ignore biases and norms (a fraction of a
percent at realistic widths), the way Kaplan et al. and CS336 count them.
"""

from __future__ import annotations

from deckforge.model import Concept, Fingerprint, Formula

MODULE = "snippets/model_accounting.py"
TESTS = "tests/snippets/test_model_accounting.py"

CONCEPTS = [
    Concept(
        id="resource-accounting",
        name="Parameter, FLOP and memory accounting",
        aliases=("resource accounting", "memory accounting", "compute accounting", "parameter count"),
        definition=(
            "Back-of-the-envelope accounting predicts a model's size, training cost and memory "
            "before anything runs. A Transformer layer holds four $d\\times d_{\\text{attn}}$ "
            "attention matrices and two $d\\times d_{ff}$ feed-forward matrices, so "
            "$N\\approx 2d\\,n_{\\text{layer}}(2d_{\\text{attn}}+d_{ff})=12\\,n_{\\text{layer}}d^2$ "
            "with $d_{\\text{attn}}=d$ and $d_{ff}=4d$. Every parameter costs 2 FLOPs per token "
            "forward (a multiply and an add) and 4 backward (gradients for activations and for "
            "weights), hence $C\\approx 6ND$ for $D$ training tokens. Training memory is weights "
            "+ gradients + optimizer state (+ activations): 16 bytes per parameter for fp32 Adam."
        ),
        formulas=("transformer-param-count", "training-flops", "memory-accounting"),
        related=("scaling-laws", "tied-embeddings", "roofline"),
    ),
    Concept(
        id="tied-embeddings",
        name="Tied input/output embeddings",
        aliases=("tied embeddings", "embedding tying", "weight tying", "tying embeddings"),
        definition=(
            "The input embedding $E\\in\\mathbb{R}^{V\\times d}$ maps token ids to vectors and "
            "the output (unembedding) layer maps the last hidden state back to $V$ logits. Tying "
            "them ($W_{\\text{out}}=E^\\top$) stores one matrix instead of two: $Vd$ parameters "
            "instead of $2Vd$, a saving of $Vd$ that grows with the vocabulary and does not depend "
            "on the number of layers. It matters most for small models (MobileLLM), where the "
            "embedding is a large share of all weights. The original Transformer shares the "
            "matrix and multiplies the input embeddings by $\\sqrt{d_{\\text{model}}}$."
        ),
        formulas=("tied-embeddings",),
        related=("resource-accounting",),
    ),
]

FORMULAS = [
    Formula(
        id="transformer-param-count",
        counts=("parameters",),
        name="Transformer parameter count",
        latex=(
            r"N\approx 2\,d\,n_{\text{layer}}\,(2d_{\text{attn}}+d_{ff})=12\,n_{\text{layer}}\,d^2"
            r"\quad(d_{\text{attn}}=d_{ff}/4=d)"
        ),
        concept="resource-accounting",
        aliases=(
            "parameter estimation equation",
            "relating parameters (n) to transformer depth",
            "n≈2⋅d⋅nlayer(2dattn+dff)",
            "12⋅nlayer⋅d2",
            "transformer parameter count",
            "12 n_layer d^2",
        ),
        module=MODULE,
        section="transformer_param_count",
        tests=(
            f"{TESTS}::test_param_count_matches_a_custom_block",
            f"{TESTS}::test_param_count_matches_torch_transformer_layer",
        ),
        symbols=(
            ("N", "number of parameters (non-embedding)"),
            ("d", "model dimension"),
            (r"n_{\text{layer}}", "number of layers"),
            (r"d_{\text{attn}}", "attention dimension"),
            ("d_{ff}", "feed-forward dimension"),
        ),
    ),
    Formula(
        id="training-flops",
        counts=("flops",),
        name="Training FLOPs (forward 2ND, backward 4ND)",
        latex=r"C_{\text{train}}\approx 6ND=\underbrace{2ND}_{\text{forward}}+\underbrace{4ND}_{\text{backward}}",
        concept="resource-accounting",
        aliases=(
            "flops for forward pass",
            "flops in backward pass",
            "total flops",
            "training flops",
            "training compute",
            "c = 6nd",
            "6nd",
        ),
        module=MODULE,
        section="training_flops",
        tests=(f"{TESTS}::test_training_flops_match_flop_counter",),
        symbols=(
            (r"C_{\text{train}}", "training compute in FLOPs"),
            ("N", "number of parameters"),
            ("D", "number of training tokens"),
        ),
    ),
    Formula(
        id="memory-accounting",
        counts=("bytes",),
        name="Training memory: parameters, activations, gradients, optimizer state",
        latex=(
            r"M=b\,(N_{\text{params}}+N_{\text{act}}+N_{\text{grad}}+N_{\text{opt}}),\quad "
            r"N_{\text{grad}}=N_{\text{params}},\ N_{\text{opt}}=k\,N_{\text{params}}\ (k=2\text{ for Adam});\quad "
            r"\text{fp32 Adam: }16\text{ bytes/parameter}"
        ),
        concept="resource-accounting",
        aliases=(
            "memory accounting",
            "memory breakdown",
            "num_parameters",
            "num_activations",
            "num_gradients",
            "total_memory",
            "optimizer states",
        ),
        module=MODULE,
        section="memory_accounting",
        tests=(
            f"{TESTS}::test_adam_memory_matches_allocated_tensors",
            f"{TESTS}::test_cruncher_counts_match_torch",
        ),
        symbols=(
            ("M", "training memory in bytes"),
            ("b", "bytes per number"),
            (r"N_{\text{params}}", "number of parameters"),
            (r"N_{\text{act}}", "number of stored activations"),
            (r"N_{\text{grad}}", "number of gradients"),
            (r"N_{\text{opt}}", "number of optimizer states"),
            ("k", "optimizer states per parameter"),
        ),
    ),
    Formula(
        id="tied-embeddings",
        counts=("parameters",),
        name="Tied embeddings save V·d parameters",
        latex=(
            r"\underbrace{2Vd}_{\text{untied}}-\underbrace{Vd}_{\text{tied: }W_{\text{out}}=E^\top}=Vd"
            r"\ \text{saved};\qquad x_{\text{in}}=\sqrt{d_{\text{model}}}\,E[\text{token}]"
        ),
        concept="tied-embeddings",
        aliases=(
            "tied embeddings",
            "tying embeddings",
            "embedding tying",
            "tying input/output embeddings",
            "token embedding weights",
            "saves v·d",
        ),
        module=MODULE,
        section="tied_embeddings",
        tests=(f"{TESTS}::test_tied_embeddings_save_vd",),
        symbols=(
            ("V", "vocabulary size"),
            ("d", "model dimension"),
            ("E", "embedding matrix"),
            (r"W_{\text{out}}", "output projection"),
        ),
    ),
]


# --8<-- [start:transformer_param_count]
def transformer_params(n_layer: int, d: int, d_attn: int | None = None, d_ff: int | None = None) -> int:
    """Per layer: W_Q, W_K, W_V, W_O (d x d_attn each) + W_1, W_2 (d x d_ff each).

    4 d d_attn + 2 d d_ff = 2 d (2 d_attn + d_ff); with d_attn = d, d_ff = 4 d: 12 d^2.
    Embeddings, biases and norms are not counted.
    """
    d_attn = d if d_attn is None else d_attn
    d_ff = 4 * d if d_ff is None else d_ff
    return 2 * d * n_layer * (2 * d_attn + d_ff)


def width_for(n_params: float, n_layer: int) -> float:
    """Invert N = 12 n_layer d^2 for d."""
    return (n_params / (12 * n_layer)) ** 0.5
# --8<-- [end:transformer_param_count]


# --8<-- [start:training_flops]
def forward_flops(n_params: int, n_tokens: int) -> int:
    """Each weight does one multiply and one add per token."""
    return 2 * n_params * n_tokens


def backward_flops(n_params: int, n_tokens: int) -> int:
    """Two matmuls per weight matrix: dL/dX (to propagate) and dL/dW (to update)."""
    return 4 * n_params * n_tokens


def training_flops(n_params: int, n_tokens: int) -> int:
    return forward_flops(n_params, n_tokens) + backward_flops(n_params, n_tokens)  # 6 N D
# --8<-- [end:training_flops]


# --8<-- [start:memory_accounting]
def training_memory_bytes(n_params, n_activations=0, optimizer_states_per_param=2, bytes_per_value=4):
    """bytes * (parameters + activations + gradients + optimizer states).

    Adam keeps two states per parameter (first and second moments); AdaGrad (the CS336
    `Cruncher` example) keeps one; plain SGD none.
    """
    n_grads = n_params
    n_opt = optimizer_states_per_param * n_params
    return bytes_per_value * (n_params + n_activations + n_grads + n_opt)


def cruncher_counts(d: int, num_layers: int, batch: int) -> dict:
    """CS336 Lecture 2: num_layers D x D linear layers and a final D -> 1 head, no biases."""
    n_params = d * d * num_layers + d
    return {"parameters": n_params, "activations": batch * d * num_layers, "gradients": n_params}
# --8<-- [end:memory_accounting]


# --8<-- [start:tied_embeddings]
def embedding_params(vocab: int, d: int, tied: bool) -> int:
    """Input embedding E (V x d) plus output projection (d x V) unless it is E^T."""
    return vocab * d if tied else 2 * vocab * d


def tying_savings(vocab: int, d: int, n_layers: int = 0) -> int:
    """V d, whatever the depth: only the embedding matrices are involved."""
    return embedding_params(vocab, d, tied=False) - embedding_params(vocab, d, tied=True)
# --8<-- [end:tied_embeddings]


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Quantity, Var  # noqa: E402  (declarations stay at the module's end)

_N = Var("n_params", phrases=(r"(?:number of )?param(?:eter)?s",),
         symbols=("# parameters", "# params", "#params", "n"), low=1000, high=3000)
_D = Var("n_tokens", phrases=(r"(?:number of )?tokens",), symbols=("# tokens", "#tokens", "d"),
         low=100, high=700)
_V = Var("vocab", phrases=(r"vocab(?:ulary)?(?: size)?",), symbols=("v", "|v|"), low=32000, high=50257)
_DM = Var("d", phrases=(r"(?:model )?width",), symbols=("d", "d_model", "d_{model}", "dmodel"),
          low=512, high=768)

CLAIMS = [
    Quantity(formula="training-flops", function="forward_flops", name="forward FLOPs",
             phrases=(r"flops (?:for|in|of) (?:the |a )?forward(?: pass)?", r"forward(?: pass)? flops"),
             variables=(_N, _D)),
    Quantity(formula="training-flops", function="backward_flops", name="backward FLOPs",
             phrases=(r"flops (?:for|in|of) (?:the |a )?backward(?: pass)?", r"backward(?: pass)? flops"),
             variables=(_N, _D)),
    Quantity(formula="training-flops", function="training_flops", name="training FLOPs",
             phrases=(r"(?:total )?training flops", r"flops (?:for|of) training"), variables=(_N, _D)),
    Quantity(formula="tied-embeddings", function="tying_savings", name="parameters saved by tying",
             phrases=(r"tying (?:the )?(?:input/output |input and output )?embeddings?(?: weights)?",
                      r"tied embeddings? saves?", r"weight tying"),
             variables=(_V, _DM, Var("n_layers", phrases=(r"(?:number of )?(?:transformer )?layers",
                                                          r"depth"), symbols=("l",), low=6, high=48))),
    Quantity(formula="tied-embeddings", function="embedding_params", name="embedding parameters (untied)",
             phrases=(r"untied(?: embeddings?)?",), variables=(_V, _DM), fixed=(("tied", False),)),
    Quantity(formula="tied-embeddings", function="embedding_params", name="embedding parameters (tied)",
             phrases=(r"(?<!un)tied(?: embeddings?)?",), variables=(_V, _DM), fixed=(("tied", True),)),
]


# How these formulas look in notes (regexes over formula_match.compact() text); `example` is
# a spelling from the notes each must match, pinned by tests/test_repair.py.
FINGERPRINTS = [
    Fingerprint("transformer-param-count",
                r"n~2\*d\*nlayer\(2dattn\+dff\)|12\*nlayer\*d2",
                "N≈2⋅d⋅nlayer(2dattn+dff)≈12⋅nlayer⋅d2"),
]
