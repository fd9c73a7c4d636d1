"""Convolution cost: MACs, storage, output size, depthwise-separable and group convolution, im2col.

Symbols follow the midterm recap: B batch, C input channels, H×W input, M filters (output
channels), K kernel size, E×F output, G groups. (The CS242 flashcards call the input channels
M and the filters N; the function arguments below are named, so either reading works.)
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula
from deckforge.passes.compute import Compute

_MODULE = "snippets/convolution.py"
_TESTS = "tests/snippets/test_convolution.py"

CONCEPTS = [
    Concept(
        id="convolution",
        name="Convolution (Conv2D)",
        aliases=(
            "convolution",
            "conv2d",
            "conv filter",
            "group convolution",
            "groupwise convolution",
        ),
        definition=(
            "A 2-D convolution slides M filters of size K×K×C over a C-channel H×W input and "
            "takes a dot product at every position, giving an M-channel E×F output "
            "(E = ⌊(H + 2P − K)/S⌋ + 1 for padding P and stride S). Its cost is "
            "B·M·K·K·C·E·F multiply-accumulates; the number of output feature maps is the number "
            "of filters, while the stride only changes E×F. Group convolution splits the channels "
            "into G groups that are convolved separately, dividing MACs and weights by G. Via "
            "im2col every convolution becomes one matrix multiplication, which is how it is run "
            "on GEMM hardware such as systolic arrays."
        ),
        formulas=("conv-macs", "conv-storage", "conv-output-size", "group-conv-macs", "im2col"),
        related=("depthwise-separable-conv", "systolic-array", "batch-norm", "pruning"),
    ),
    Concept(
        id="depthwise-separable-conv",
        name="Depthwise-separable convolution",
        aliases=(
            "depthwise separable convolution",
            "depthwise-separable convolution",
            "depthwise separable conv",
            "dsc",
            "mobilenet",
            "depthwise conv",
            "pointwise 1×1",
            "pointwise convolution",
        ),
        definition=(
            "A depthwise-separable convolution (MobileNet) factors a standard K×K×C×M "
            "convolution into a depthwise step (one K×K filter per input channel, no channel "
            "mixing) followed by a pointwise 1×1 convolution that mixes channels into M outputs. "
            "Weights drop from K²·C·M to K²·C + C·M and MACs from K²·C·M·E·F to "
            "(K² + M)·C·E·F, a ratio of 1/M + 1/K²: the saving grows with the kernel size and "
            "with the number of filters, and does not depend on the number of input channels."
        ),
        formulas=("dsc-macs", "dsc-params", "dsc-storage"),
        related=("convolution", "low-rank-decomposition"),
    ),
]

FORMULAS = [
    Formula(
        id="conv-macs",
        counts=("macs",),
        name="MACs of a standard convolution",
        latex=r"\text{MACs} = B \times M \times K \times K \times C \times E \times F",
        concept="convolution",
        aliases=(
            "number of macs of a standard convolution",
            "macs of a standard convolution",
            "computational cost: standard convolution",
            "computational cost of a standard convolution",
            "multiply-accumulate (mac) operations",
            "mac operations are required for conventional conv2d",
            "conventional conv2d",
            "original number of macs of a group convolution",
            "what does a 3×3×d conv filter do",
            "conv filter",
            "# of output feature maps",
            "output feature maps",
            "preceding layer has d filters",
        ),
        module=_MODULE,
        section="conv_macs",
        tests=(
            f"{_TESTS}::test_conv_macs_match_torch_flop_counter",
            f"{_TESTS}::test_conv_macs_match_brute_force_loop",
        ),
        symbols=(
            ("B", "batch size"),
            ("M", "number of filters (output channels)"),
            ("K", "kernel size (height and width)"),
            ("C", "number of input channels"),
            ("E", "output height"),
            ("F", "output width"),
        ),
    ),
    Formula(
        id="conv-storage",
        counts=("bytes",),
        name="Storage cost of a convolution layer (bits)",
        latex=(
            r"32 \times \left(M \times C \times K \times K + B \times C \times H \times W"
            r" + B \times M \times E \times F\right)"
        ),
        concept="convolution",
        aliases=("storage cost of a standard convolution", "storage cost: standard convolution",
                 "conv storage", "memory storage of a conv layer"),
        module=_MODULE,
        section="conv_storage",
        tests=(f"{_TESTS}::test_conv_storage_counts_weight_input_output",),
        symbols=(
            ("M", "number of filters (output channels)"),
            ("C", "number of input channels"),
            ("K", "kernel size"),
            ("B", "batch size"),
            ("H", "input height"),
            ("W", "input width"),
            ("E", "output height"),
            ("F", "output width"),
        ),
    ),
    Formula(
        id="conv-output-size",
        name="Convolution output size",
        latex=r"E = \left\lfloor \frac{H + 2P - K}{S} \right\rfloor + 1",
        concept="convolution",
        aliases=(
            "output size",
            "size of the output feature maps",
            "changing stride",
            "stride 3→2",
            "stride 3 → 2",
            "stride = 2 instead of a stride = 3",
            "more arithmetic operations",
            "same # feature maps after stride change",
        ),
        module=_MODULE,
        section="conv_output_size",
        tests=(
            f"{_TESTS}::test_output_size_matches_torch",
            f"{_TESTS}::test_stride_ops_ratio",
        ),
        symbols=(
            ("E", "output size (height)"),
            ("H", "input size (height)"),
            ("P", "padding"),
            ("K", "kernel size"),
            ("S", "stride"),
        ),
    ),
    Formula(
        id="group-conv-macs",
        counts=("macs", "parameters"),
        name="Group convolution MACs and weights",
        latex=(
            r"\text{MACs} = \frac{E \times F \times K \times K \times C \times M}{G},\quad "
            r"\text{weights} = \frac{K^2 C M}{G}"
        ),
        concept="convolution",
        aliases=("group convolution", "groupwise convolution", "group size",
                 "number of macs of a group convolution"),
        module=_MODULE,
        section="group_conv",
        tests=(f"{_TESTS}::test_group_conv_counts_match_torch",),
        symbols=(
            ("E", "output height"),
            ("F", "output width"),
            ("K", "kernel size"),
            ("C", "number of input channels"),
            ("M", "number of filters (output channels)"),
            ("G", "number of groups"),
        ),
    ),
    Formula(
        id="im2col",
        name="im2col: convolution as one matrix multiplication",
        latex=(
            r"Y = W_{\text{mat}}\, X_{\text{col}},\quad W_{\text{mat}} \in \mathbb{R}^{M \times "
            r"C K^2},\ X_{\text{col}} \in \mathbb{R}^{C K^2 \times E F}"
        ),
        concept="convolution",
        aliases=("im2col", "im2col purpose", "convolution → matrix multiplication",
                 "linearize conv patches", "conv as matmul"),
        module=_MODULE,
        section="im2col",
        tests=(f"{_TESTS}::test_im2col_matmul_equals_conv2d",),
        symbols=(
            ("Y", "output feature map as a matrix"),
            (r"W_{\text{mat}}", "filters flattened into a matrix"),
            (r"X_{\text{col}}", "input patches unrolled as columns"),
            ("M", "number of filters"),
            ("C", "number of input channels"),
            ("K", "kernel size"),
            ("E", "output height"),
            ("F", "output width"),
        ),
    ),
    Formula(
        id="dsc-macs",
        counts=("macs",),
        name="Depthwise-separable convolution MACs",
        latex=(
            r"\text{MACs} = K \times K \times C \times E \times F + M \times C \times E \times F"
        ),
        concept="depthwise-separable-conv",
        aliases=(
            "depthwise separable convolution",
            "depthwise separable conv",
            "depthwise-separable convolution",
            "number of macs of a depthwise separable convolution",
            "dsc macs",
            "dsc compute",
            "depthwise separable convolutions save compute",
        ),
        module=_MODULE,
        section="dsc",
        tests=(f"{_TESTS}::test_dsc_macs_match_torch_flop_counter",),
        symbols=(
            ("K", "kernel size (height and width)"),
            ("C", "number of input channels"),
            ("M", "number of filters (output channels)"),
            ("E", "output height"),
            ("F", "output width"),
        ),
    ),
    Formula(
        id="dsc-params",
        counts=("parameters",),
        name="Depthwise-separable convolution parameters and savings",
        latex=(
            r"\frac{K^2 C + C M}{K^2 C M} = \frac{1}{M} + \frac{1}{K^2},\quad "
            r"\text{saving} = 1 - \frac{1}{M} - \frac{1}{K^2}"
        ),
        concept="depthwise-separable-conv",
        aliases=(
            "dsc parameter count",
            "dsc parameter count vs standard",
            "parameter count vs standard",
            "mobilenet — depthwise separable convolution",
            "mobilenet",
            "depthwise separable convolution (dsc)",
            "depthwise separable convolution can save model parameters",
            "savings of depthwise separable convolution",
            "savings decrease as input channels increase",
            "the saving decreases as n increases",
            "the saving increases as k increases",
            "savings increase as spatial filter size increases",
            "pointwise 1×1 role in dsc",
            "depthwise conv filters differ per input channel",
            "dsc",
        ),
        module=_MODULE,
        section="dsc",
        tests=(
            f"{_TESTS}::test_dsc_params_match_torch_modules",
            f"{_TESTS}::test_dsc_savings_trends",
        ),
        symbols=(
            ("K", "kernel size (height and width)"),
            ("C", "number of input channels"),
            ("M", "number of filters (output channels)"),
        ),
    ),
    Formula(
        id="dsc-storage",
        counts=("bytes",),
        name="Depthwise-separable convolution storage cost (bits)",
        latex=(
            r"32 \times (C \times H \times W + C \times K \times K + C \times E \times F"
            r" + M \times C + M \times E \times F)"
        ),
        concept="depthwise-separable-conv",
        aliases=("storage cost of a depthwise separable convolution", "dsc storage"),
        module=_MODULE,
        section="dsc",
        tests=(f"{_TESTS}::test_dsc_storage_counts_tensors",),
        symbols=(
            ("C", "number of input channels"),
            ("H", "input height"),
            ("W", "input width"),
            ("K", "kernel size"),
            ("E", "output height"),
            ("F", "output width"),
            ("M", "number of filters (output channels)"),
        ),
    ),
]


# --8<-- [start:conv_output_size]
def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """E = ⌊(H + 2P − D(K − 1) − 1) / S⌋ + 1 (D = 1: ⌊(H + 2P − K) / S⌋ + 1)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def stride_ops_ratio(h: int, w: int, kernel: int, stride_old: int, stride_new: int,
                     padding: int = 0) -> float:
    """MACs(new stride) / MACs(old stride): only E×F changes, so → (S_old/S_new)² for large h, w."""
    def positions(s: int) -> int:
        return conv_output_size(h, kernel, s, padding) * conv_output_size(w, kernel, s, padding)

    return positions(stride_new) / positions(stride_old)
# --8<-- [end:conv_output_size]


# --8<-- [start:conv_macs]
def conv_macs(batch: int, filters: int, channels: int, kernel: int, out_h: int,
              out_w: int) -> int:
    """B × M × K × K × C × E × F: one K·K·C dot product per output element."""
    return batch * filters * kernel * kernel * channels * out_h * out_w
# --8<-- [end:conv_macs]


# How a worked exam question's stem gives conv_macs its arguments (deckforge.passes.compute):
# "input $B \times C \times H \times W$", "filters $M \times C \times 3 \times 3$" or
# "128 filters of size $3 \times 3$", "stride 1 and padding 1"; E, F from conv_output_size.
COMPUTE = [
    Compute(
        formula="conv-macs",
        function="conv_macs",
        asks=("multiply-accumulate", "mac operations", "number of macs", "how many macs"),
        names={"filters": ("filters", "weight filters", "output channels"),
               "channels": ("input channels", "channels"), "batch": ("batch size", "batch"),
               "stride": ("stride",), "padding": ("padding",)},
        shapes={("input", "feature map"): ("batch", "channels", "in_h", "in_w"),
                ("weight", "filter", "kernel"): ("filters", "channels", "kernel", "kernel")},
        derived={"out_h": ("conv_output_size", ("in_h", "kernel", "stride", "padding")),
                 "out_w": ("conv_output_size", ("in_w", "kernel", "stride", "padding"))},
        defaults={"stride": 1, "padding": 0},
        derived_formula="conv-output-size",
    ),
]


# --8<-- [start:conv_storage]
def conv_storage_bits(batch: int, filters: int, channels: int, kernel: int, in_h: int,
                      in_w: int, out_h: int, out_w: int, bits: int = 32) -> int:
    """bits × (weights M·C·K·K + input B·C·H·W + output B·M·E·F)."""
    weights = filters * channels * kernel * kernel
    inputs = batch * channels * in_h * in_w
    outputs = batch * filters * out_h * out_w
    return bits * (weights + inputs + outputs)
# --8<-- [end:conv_storage]


# --8<-- [start:group_conv]
def group_conv_macs(out_h: int, out_w: int, kernel: int, channels: int, filters: int,
                    groups: int, batch: int = 1) -> int:
    """E × F × K × K × C × M / G: each filter sees only C/G input channels."""
    assert channels % groups == 0 and filters % groups == 0
    return batch * out_h * out_w * kernel * kernel * channels * filters // groups


def group_conv_params(channels: int, filters: int, kernel: int, groups: int) -> int:
    return filters * (channels // groups) * kernel * kernel
# --8<-- [end:group_conv]


# --8<-- [start:dsc]
def standard_conv_params(channels: int, filters: int, kernel: int) -> int:
    """K² · C · M weights (no bias)."""
    return kernel * kernel * channels * filters


def dsc_params(channels: int, filters: int, kernel: int) -> int:
    """Depthwise K²·C + pointwise C·M weights (no bias)."""
    return kernel * kernel * channels + channels * filters


def dsc_macs(channels: int, filters: int, kernel: int, out_h: int, out_w: int,
             batch: int = 1) -> int:
    """K·K·C·E·F (depthwise) + M·C·E·F (pointwise)."""
    return batch * (kernel * kernel * channels + filters * channels) * out_h * out_w


def dsc_ratio(filters: int, kernel: int) -> float:
    """DSC / standard cost (weights and MACs alike) = 1/M + 1/K²; the channels C cancel."""
    return 1.0 / filters + 1.0 / kernel**2


def dsc_savings(channels: int, filters: int, kernel: int) -> dict[str, float]:
    """Saving of DSC over a standard conv: as a fraction, as a factor, and in weights."""
    standard = standard_conv_params(channels, filters, kernel)
    separable = dsc_params(channels, filters, kernel)
    return {
        "fraction": 1.0 - separable / standard,
        "factor": standard / separable,
        "absolute": float(standard - separable),
    }


def dsc_storage_bits(channels: int, filters: int, kernel: int, in_h: int, in_w: int,
                     out_h: int, out_w: int, bits: int = 32) -> int:
    """bits × (input C·H·W + depthwise weights C·K·K + its output C·E·F
    + pointwise weights M·C + output M·E·F), batch 1 as on the slide."""
    return bits * (channels * in_h * in_w + channels * kernel * kernel
                   + channels * out_h * out_w + filters * channels + filters * out_h * out_w)
# --8<-- [end:dsc]


# --8<-- [start:im2col]
def im2col(x: np.ndarray, kernel: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """(B, C, H, W) → (B, C·K·K, E·F): one column per output position, rows ordered (c, i, j)."""
    b, c, h, w = x.shape
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    e = conv_output_size(h, kernel, stride, padding)
    f = conv_output_size(w, kernel, stride, padding)
    cols = np.empty((b, c, kernel, kernel, e, f), dtype=x.dtype)
    for i in range(kernel):
        for j in range(kernel):
            cols[:, :, i, j] = x[:, :, i:i + stride * e:stride, j:j + stride * f:stride]
    return cols.reshape(b, c * kernel * kernel, e * f)


def conv2d_im2col(x: np.ndarray, weight: np.ndarray, stride: int = 1,
                  padding: int = 0) -> np.ndarray:
    """Convolution as a single matmul: (M, C·K·K) @ (B, C·K·K, E·F) → (B, M, E, F)."""
    m, c, k, _ = weight.shape
    b, _, h, w = x.shape
    cols = im2col(x, k, stride, padding)
    out = weight.reshape(m, c * k * k) @ cols
    e, f = conv_output_size(h, k, stride, padding), conv_output_size(w, k, stride, padding)
    return out.reshape(b, m, e, f)
# --8<-- [end:im2col]


def strided_conv_macs(stride: int, size: int = 3000, kernel: int = 3, padding: int = 0) -> int:
    """MACs of one k×k filter over a size×size input at a stride (per channel): E·F·K²."""
    e = conv_output_size(size, kernel, stride, padding)
    return e * e * kernel * kernel


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Quantity, Var  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Quantity(
        formula="conv-output-size", function="strided_conv_macs", name="number of operations",
        phrases=(r"(?:arithmetic )?op(?:eration)?s", r"macs", r"multiply-accumulates?", r"flops",
                 r"(?:conv(?:olution)? )?cost"),
        variables=(Var("stride", phrases=(r"strides?",), low=1, high=2),),
    ),
    Quantity(
        formula="dsc-params", function="dsc_savings", name="depthwise-separable saving",
        phrases=(r"(?:dsc |depthwise[- ]separable (?:conv(?:olution)? )?(?:parameter )?)?savings?",),
        output=("fraction", "absolute"),
        variables=(
            Var("channels", phrases=(r"(?:number of )?input channels", r"channels", r"m"),
                low=32, high=64),
            Var("filters", phrases=(r"(?:number of )?(?:filters|output channels)", r"n"),
                low=64, high=128),
            Var("kernel", phrases=(r"(?:spatial )?(?:filter|kernel) size", r"k"), low=3, high=5),
        ),
        # "N k×k×M filters": the card's own letters for the filter and channel counts
        letters=(r"\b(?P<filters>[a-z])\s*k\s*[x×]\s*k\s*[x×]\s*(?P<channels>[a-z])\s+filters",),
    ),
]
