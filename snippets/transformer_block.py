"""The Transformer block: residual connections, post-norm vs pre-norm, the position-wise FFN,
gated (GLU/SwiGLU) FFNs and the language-modeling head.

Vectors are rows: x is (n, d), weights are (d_in, d_out), so a linear layer is x @ W + b.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Fingerprint
from deckforge.registry import formula_factory

from .attention import multi_head_attention

MODULE = "snippets/transformer_block.py"
TESTS = "tests/snippets/test_transformer_block.py"

CONCEPTS = [
    Concept(
        id="transformer-block",
        name="Transformer block",
        aliases=(
            "transformer block",
            "encoder block",
            "decoder block",
            "residual stream",
            "pre-norm",
            "post-norm",
            "feed-forward network",
        ),
        definition=(
            "A Transformer block is two sub-layers, multi-head self-attention and a "
            "position-wise feed-forward network $\\max(0,xW_1+b_1)W_2+b_2$ applied to each token "
            "independently, each wrapped in a residual connection and a normalisation. The "
            "original (post-norm) block computes $\\operatorname{LayerNorm}(x+\\operatorname{Sublayer}(x))$; "
            "modern LLMs use pre-norm, $x+\\operatorname{Sublayer}(\\operatorname{LayerNorm}(x))$, "
            "which keeps the residual stream un-normalised (so gradients flow through the "
            "identity path) and needs one final LayerNorm before the language-modeling head. The "
            "residual stream view treats the sum of all sub-layer outputs as a shared channel that "
            "each sub-layer reads from and writes to. The head maps the last hidden state to "
            "vocabulary logits, $p(y_{t+1}\\mid y_{1:t})=\\operatorname{softmax}(h_tU)$."
        ),
        formulas=("residual-connection", "post-norm-sublayer", "pre-norm-block", "position-wise-ffn", "lm-head"),
        related=("attention", "layer-norm", "gated-linear-unit"),
    ),
    Concept(
        id="gated-linear-unit",
        name="Gated linear units (GLU, SwiGLU)",
        aliases=("gated linear unit", "gated linear units", "glu", "swiglu"),
        definition=(
            "A gated linear unit multiplies a linear projection by a non-linear gate computed "
            "from another projection, $\\sigma(W_1x)\\odot W_2x$; the linear path eases gradient "
            "flow while the gate keeps the non-linearity. As a feed-forward layer, "
            "$W_3(\\sigma(W_1x)\\odot W_2x)$ has three matrices instead of two, so the hidden "
            "width is set to $d_{ff}=\\tfrac{8}{3}d_{\\text{model}}$ instead of "
            "$4d_{\\text{model}}$ to keep the parameter count. SwiGLU uses the SiLU (swish) gate."
        ),
        formulas=("glu-ffn",),
        related=("transformer-block",),
    ),
]


_formula = formula_factory(MODULE, TESTS)


FORMULAS = [
    _formula(
        "residual-connection", "Residual connection",
        r"x_{l+1}=x_l+F_l(x_l),\qquad \frac{\partial x_{l+1}}{\partial x_l}=I+\frac{\partial F_l}{\partial x_l}",
        "transformer-block",
        ("residual stream", "residual connections", "residual connection", "fl(x)+x"),
        "residual_connection", ("test_residual_keeps_an_identity_gradient_path",),
        symbols=(
            ("x_l", "input of layer l"),
            ("F_l", "residual branch of layer l"),
            ("I", "identity matrix"),
        ),
    ),
    _formula(
        "post-norm-sublayer", "Post-norm sub-layer (original Transformer)",
        r"\operatorname{LayerNorm}\bigl(x+\operatorname{Sublayer}(x)\bigr)",
        "transformer-block",
        ("transformer encoder stack", "layernorm(x+sublayer(x))", "post-norm", "sub-layer layout"),
        "post_norm", ("test_post_norm_layer_matches_torch",),
        symbols=(
            ("x", "sub-layer input"),
            (r"\operatorname{Sublayer}", "attention or feed-forward sub-layer"),
        ),
    ),
    _formula(
        "pre-norm-block", "Pre-norm Transformer block",
        r"t^1_i=\operatorname{LN}(x_i),\ t^2_i=\operatorname{MHA}(t^1_i,t^1_{1:N}),\ t^3_i=t^2_i+x_i,\ "
        r"t^4_i=\operatorname{LN}(t^3_i),\ t^5_i=\operatorname{FFN}(t^4_i),\ h_i=t^5_i+t^3_i",
        "transformer-block",
        ("pre-norm architecture", "pre-norm block", "pre-norm", "final layer norm"),
        "pre_norm", ("test_pre_norm_layer_matches_torch",),
        symbols=(
            ("x_i", "input token i"),
            ("h_i", "block output for token i"),
            ("N", "number of tokens"),
        ),
    ),
    _formula(
        "position-wise-ffn", "Position-wise feed-forward network",
        r"\operatorname{FFN}(x)=\max(0,\,xW_1+b_1)\,W_2+b_2,\quad W_1\in\mathbb{R}^{d_{\text{model}}\times d_{ff}},\ W_2\in\mathbb{R}^{d_{ff}\times d_{\text{model}}}",
        "transformer-block",
        (
            "position-wise feed-forward",
            "feed-forward network (ffn)",
            "neuron in a feed forward layer",
            "ffn and mlp are different",
            "ffn(x)=max(0,xw1+b1)w2+b2",
        ),
        "position_wise_ffn", ("test_ffn_matches_torch_and_is_per_token",),
        symbols=(
            ("x", "token representation"),
            ("W_1", "first linear layer"),
            ("b_1", "first bias"),
            ("W_2", "second linear layer"),
            ("b_2", "second bias"),
            ("d_{ff}", "hidden dimension of the FFN"),
            (r"d_{\text{model}}", "model dimension"),
        ),
    ),
    _formula(
        "glu-ffn", "Gated linear unit feed-forward (GLU, SwiGLU)",
        r"\operatorname{GLU}(x,W_1,W_2)=\sigma(W_1x)\odot W_2x,\quad \operatorname{FFN}_{\text{GLU}}(x)=W_3\bigl(\sigma(W_1x)\odot W_2x\bigr),\quad d_{ff}=\tfrac{8}{3}d_{\text{model}}",
        "gated-linear-unit",
        ("gated linear units", "gated linear unit", "glu", "swiglu"),
        "glu_ffn", ("test_glu_matches_torch_and_8_3_keeps_params",),
        symbols=(
            ("x", "input vector"),
            ("W_1", "gate projection"),
            ("W_2", "value projection"),
            ("W_3", "output projection"),
            (r"\sigma", "gate activation"),
            ("d_{ff}", "hidden dimension of the FFN"),
            (r"d_{\text{model}}", "model dimension"),
        ),
    ),
    _formula(
        "lm-head", "Language-modeling head (unembedding)",
        r"p(y_{t+1}\mid y_{1:t})=\operatorname{softmax}(h_tU),\qquad U\in\mathbb{R}^{d\times|V|}",
        "transformer-block",
        ("language modeling head", "unembedding matrix", "linear layer before softmax", "softmax(htu)"),
        "lm_head", ("test_lm_head_gives_a_distribution_over_the_vocabulary",),
        symbols=(
            ("y_{t+1}", "next token"),
            ("h_t", "final hidden state at position t"),
            ("U", "unembedding (output projection) matrix"),
            ("d", "model dimension"),
            ("V", "vocabulary"),
        ),
    ),
]


# --8<-- [start:residual_connection]
def residual(x, sublayer):
    """x + F(x): the identity path carries the signal (and its gradient) past F."""
    return x + sublayer(x)
# --8<-- [end:residual_connection]


# --8<-- [start:position_wise_ffn]
def ffn(x, w1, b1, w2, b2):
    """max(0, x W1 + b1) W2 + b2, the same weights for every token (row) of x."""
    return np.maximum(0.0, x @ w1 + b1) @ w2 + b2
# --8<-- [end:position_wise_ffn]


# --8<-- [start:post_norm]
def layer_norm(x, gamma, beta, eps=1e-5):
    """Per token (row): standardise over the features, then scale and shift."""
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def self_attention(x, p, h):
    """Multi-head self-attention (snippets/attention.py) plus the output bias."""
    return multi_head_attention(x, x, p["w_q"], p["w_k"], p["w_v"], p["w_o"], h) + p["b_o"]


def post_norm_layer(x, p, h):
    """Original Transformer: normalise after each residual sum."""
    x = layer_norm(x + self_attention(x, p, h), p["g1"], p["be1"])
    return layer_norm(x + ffn(x, p["w1"], p["b1"], p["w2"], p["b2"]), p["g2"], p["be2"])
# --8<-- [end:post_norm]


# --8<-- [start:pre_norm]
def pre_norm_layer(x, p, h):
    """Pre-norm: normalise the sub-layer input; the residual stream itself is never normalised."""
    t3 = self_attention(layer_norm(x, p["g1"], p["be1"]), p, h) + x
    return ffn(layer_norm(t3, p["g2"], p["be2"]), p["w1"], p["b1"], p["w2"], p["b2"]) + t3
# --8<-- [end:pre_norm]


# --8<-- [start:glu_ffn]
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def glu(x, w1, w2, gate=sigmoid):
    """gate(x W1) * (x W2), elementwise; gate = SiLU gives SwiGLU."""
    return gate(x @ w1) * (x @ w2)


def glu_ffn(x, w1, w2, w3, gate=sigmoid):
    return glu(x, w1, w2, gate) @ w3


def glu_hidden_width(d_model: int) -> float:
    """Three d x d_ff matrices at 8/3 d hold as many weights as two at 4 d: 8 d^2."""
    return 8 * d_model / 3
# --8<-- [end:glu_ffn]


# --8<-- [start:lm_head]
def lm_head(h_last, unembedding):
    """softmax(h_t U): a probability for every vocabulary entry (U is d x |V|)."""
    logits = h_last @ unembedding
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
# --8<-- [end:lm_head]


def ffn_neuron_fan_in(n: int, d_model: int) -> int:
    """Inputs of one hidden neuron of ffn(): a column of W1 has d_model entries, whatever n is."""
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((int(d_model), 4)), rng.standard_normal((4, int(d_model)))
    ffn(rng.standard_normal((int(n), int(d_model))), w1, np.zeros(4), w2, np.zeros(int(d_model)))
    return w1.shape[0]


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Quantity, Var  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Quantity(formula="position-wise-ffn", function="ffn_neuron_fan_in", name="inputs of an FFN neuron",
             phrases=(r"(?:each )?neuron in (?:a|the) feed ?-?forward(?: layer| network)?(?: takes)?",
                      r"(?:each )?feed ?-?forward neuron(?: takes)?", r"(?:each )?ffn neuron(?: takes)?"),
             variables=(Var("n", phrases=(r"seq(?:uence)? len(?:g?th)?",), symbols=("n",), low=3, high=17),
                        Var("d_model", symbols=("d_{model}", "d_model", "dmodel"), low=8, high=32))),
]


# How these formulas look in notes (regexes over formula_match.compact() text); `example` is
# a spelling from the notes each must match, pinned by tests/test_repair.py.
FINGERPRINTS = [
    Fingerprint("position-wise-ffn",
                r"ffn\(x\)=max\(0,xw1\+b1\)w2\+b2",
                "FFN(x)=max(0,xW1+b1)W2+b2",
                mangled=False,
                flat=True),
    Fingerprint("lm-head",
                r"p\(yt\+1\|y1:t\)=softmax\(htu\)",
                "p(yt+1∣y1:t)=softmax(htU)",
                mangled=False,
                flat=True),
    Fingerprint("pre-norm-block", r"hi=ti5\+ti3", "6. hi=ti5+ti3 (Second Residual Connection)"),
]
