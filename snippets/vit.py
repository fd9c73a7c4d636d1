"""Vision Transformer input: an image becomes N = HW/P^2 patch tokens plus a [class] token."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/vit.py"
TESTS = "tests/snippets/test_vit.py"

CONCEPTS = [
    Concept(
        id="vision-transformer",
        name="Vision Transformer (ViT)",
        aliases=("vision transformer", "vit", "cls token", "class token"),
        definition=(
            "ViT feeds an image to a standard Transformer encoder by cutting it into "
            "$N=HW/P^2$ non-overlapping $P\\times P$ patches (16×16 in the paper), flattening "
            "each to a $P^2C$ vector and projecting it linearly to the model width $D$ (the "
            "same as a convolution with kernel and stride $P$). A learnable [class] embedding, "
            "of the same width as every patch token, is prepended, learned position embeddings "
            "are added, and the [class] token's final state, which attends to all patches, is "
            "the image representation used by the classification head."
        ),
        formulas=("vit-patch-embedding",),
        related=("attention", "positional-encoding"),
    )
]

FORMULAS = [
    Formula(
        id="vit-patch-embedding",
        name="ViT patch embedding",
        latex=(
            r"z_0=[x_{\text{class}};\,x_p^1E;\,x_p^2E;\,\dots;\,x_p^NE]+E_{\text{pos}},\quad "
            r"E\in\mathbb{R}^{(P^2C)\times D},\ E_{\text{pos}}\in\mathbb{R}^{(N+1)\times D},\ N=\frac{HW}{P^2}"
        ),
        concept="vision-transformer",
        aliases=(
            "vision transformer (vit)",
            "vision transformer",
            "process two-dimensional images",
            "embedding vector of the cls token",
            "cls token embedding",
            "patch embedding",
        ),
        module=MODULE,
        section="vit_patch_embedding",
        tests=(
            f"{TESTS}::test_patch_embedding_equals_strided_conv",
            f"{TESTS}::test_token_count_and_cls_width",
        ),
        symbols=(
            ("z_0", "input sequence of the encoder"),
            (r"x_{\text{class}}", "learnable class token"),
            ("x_p^1", "first flattened patch"),
            ("E", "patch embedding projection"),
            (r"E_{\text{pos}}", "position embeddings"),
            ("P", "patch size"),
            ("C", "number of image channels"),
            ("D", "embedding dimension"),
            ("N", "number of patches"),
            ("H", "image height"),
            ("W", "image width"),
        ),
    )
]


# --8<-- [start:vit_patch_embedding]
def patchify(image: np.ndarray, p: int) -> np.ndarray:
    """(C, H, W) -> (N, P*P*C) with N = (H/P)(W/P), patches in row-major order."""
    c, h, w = image.shape
    x = image.reshape(c, h // p, p, w // p, p)  # c, row, i, col, j
    return x.transpose(1, 3, 0, 2, 4).reshape((h // p) * (w // p), c * p * p)


def vit_tokens(image, p, proj, cls, pos):
    """[class; patches @ E] + E_pos: N + 1 tokens, all of width D."""
    patches = patchify(image, p) @ proj  # (N, D)
    return np.vstack([cls[None, :], patches]) + pos
# --8<-- [end:vit_patch_embedding]
