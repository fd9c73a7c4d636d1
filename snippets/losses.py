"""Losses: softmax, cross-entropy, KL, label smoothing, language-model likelihood, contrastive.

Contrastive losses (SimCLR's NT-Xent, CLIP's symmetric InfoNCE) are cross-entropies whose
"classes" are the other samples of the batch: the positive pair is the correct class.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Essential
from deckforge.registry import formula_factory

MODULE = "snippets/losses.py"
TESTS = "tests/snippets/test_losses.py"

CONCEPTS = [
    Concept(
        id="softmax-cross-entropy",
        name="Softmax, cross-entropy and KL divergence",
        aliases=("softmax", "cross-entropy", "cross entropy", "kl divergence", "kullback-leibler"),
        definition=(
            "Softmax turns a vector of scores (logits) into a probability distribution, "
            "$\\operatorname{softmax}(z)_i=e^{z_i}/\\sum_j e^{z_j}$; subtracting $\\max_j z_j$ first "
            "changes nothing mathematically and avoids overflow. Cross-entropy "
            "$H(p,q)=-\\sum_x p(x)\\log q(x)$ measures the cost of coding samples of $p$ with "
            "$q$; with a one-hot target it is the negative log-likelihood of the correct class. "
            "The KL divergence $D_{\\mathrm{KL}}(P\\Vert Q)=H(P,Q)-H(P)$ is the excess cost: "
            "zero exactly when $P=Q$, positive otherwise and not symmetric. Label smoothing "
            "replaces the one-hot target by $(1-\\epsilon)y+\\epsilon/K$ so the model is "
            "penalised for over-confidence."
        ),
        formulas=("softmax", "cross-entropy", "kl-divergence", "label-smoothing"),
        related=("language-modeling", "contrastive-learning"),
    ),
    Concept(
        id="language-modeling",
        name="Autoregressive language modeling",
        aliases=("autoregressive llm", "language model", "next-token prediction", "perplexity"),
        definition=(
            "An autoregressive language model factorises the probability of a sequence as "
            "$p(x_{1:T})=\\prod_t p(x_t\\mid x_{<t})$ and is trained to minimise the average "
            "next-token cross-entropy; perplexity $\\exp(\\text{loss})$ is the effective number "
            "of equally likely choices per token. ELMo trains a forward and a backward LM jointly "
            "and sums their log-likelihoods."
        ),
        formulas=("autoregressive-lm", "bilm-loss"),
        related=("softmax-cross-entropy", "transformer-block"),
    ),
    Concept(
        id="contrastive-learning",
        name="Contrastive learning (SimCLR, CLIP)",
        aliases=("contrastive learning", "contrastive loss", "simclr", "infonce", "nt-xent"),
        definition=(
            "Contrastive learning trains an encoder without labels by pulling the embeddings of "
            "a positive pair together and pushing the other samples of the batch away. SimCLR "
            "makes positives from two augmentations of one image and uses the NT-Xent loss: a "
            "softmax over cosine similarities divided by a temperature $\\tau$ (lower $\\tau$ "
            "sharpens the distribution and weights hard negatives more). CLIP applies the same "
            "InfoNCE loss across modalities: in a batch of $N$ image-text pairs the $N$ matching "
            "pairs are the positives, and the loss is the average of the image-to-text and "
            "text-to-image cross-entropies. Zero-shot classification then picks the class whose "
            "text embedding is most similar to the image embedding."
        ),
        formulas=("simclr-nt-xent",),
        related=("clip", "dino", "softmax-cross-entropy"),
    ),
    Concept(
        id="clip",
        name="CLIP",
        aliases=("clip", "contrastive language-image pre-training"),
        definition=(
            "CLIP trains an image encoder and a text encoder jointly on image-caption pairs so "
            "that matching pairs have similar L2-normalised embeddings: within a batch of $N$ "
            "pairs, the $N\\times N$ cosine-similarity matrix divided by a learned temperature is "
            "read as logits, and the loss averages the cross-entropy of picking the right caption "
            "for each image and the right image for each caption. The shared space gives "
            "zero-shot classification: embed a prompt per class name and pick the most similar."
        ),
        formulas=("clip-loss", "clip-zero-shot"),
        related=("contrastive-learning",),
    ),
    Concept(
        id="dino",
        name="DINO (self-distillation with no labels)",
        aliases=("dino", "self-distillation with no labels"),
        definition=(
            "DINO trains a student network to match the output distribution of a teacher on "
            "different augmented views (global and local crops) of the same image, with a "
            "cross-entropy between the teacher's centred, sharpened softmax and the student's "
            "softmax. The teacher is not trained by gradients: its weights are an exponential "
            "moving average of the student's, $\\theta_t\\leftarrow\\lambda\\theta_t+(1-\\lambda)"
            "\\theta_s$. Centring and sharpening prevent collapse, so no negative pairs are needed."
        ),
        formulas=("dino-loss",),
        related=("contrastive-learning",),
    ),
]


_formula = formula_factory(MODULE, TESTS)


FORMULAS = [
    _formula(
        "softmax", "Softmax",
        r"\operatorname{softmax}(z)_i=\frac{e^{z_i}}{\sum_{j}e^{z_j}}=\frac{e^{z_i-\max_k z_k}}{\sum_j e^{z_j-\max_k z_k}}",
        "softmax-cross-entropy",
        ("softmax function", "numerically stable softmax", "softmax(z)"),
        "softmax", ("test_softmax_matches_torch",),
        symbols=(
            ("z", "logits"),
            ("z_i", "logit of class i"),
        ),
    ),
    _formula(
        "cross-entropy", "Cross-entropy",
        r"H(p,q)=-\sum_{x}p(x)\log q(x),\qquad \mathcal{L}_{\text{CE}}(z,y)=-\log\operatorname{softmax}(z)_y",
        "softmax-cross-entropy",
        ("cross-entropy loss", "cross entropy loss", "negative log-likelihood"),
        "cross_entropy", ("test_cross_entropy_matches_torch",),
        symbols=(
            ("p", "true distribution"),
            ("q", "predicted distribution"),
            ("z", "logits"),
            ("y", "true class"),
        ),
    ),
    _formula(
        "kl-divergence", "Kullback-Leibler divergence",
        r"D_{\mathrm{KL}}(P\parallel Q)=\sum_{x\in\mathcal{X}}P(x)\log\frac{P(x)}{Q(x)}",
        "softmax-cross-entropy",
        ("kl divergence", "kullback-leibler", "kullback leibler", "d_kl"),
        "kl_divergence", ("test_kl_matches_torch_and_is_zero_only_at_equality",),
        symbols=(
            ("P", "true (reference) distribution"),
            ("Q", "approximating distribution"),
            ("x", "outcome"),
        ),
    ),
    _formula(
        "label-smoothing", "Label smoothing",
        r"y^{\text{LS}}_k=(1-\epsilon_{ls})\,y_k+\frac{\epsilon_{ls}}{K},\qquad \mathcal{L}=-\sum_k y^{\text{LS}}_k\log\operatorname{softmax}(z)_k",
        "softmax-cross-entropy",
        ("label smoothing", "regularization techniques used to stabilize transformer training"),
        "label_smoothing", ("test_label_smoothing_matches_torch",),
        symbols=(
            ("y_k", "one-hot target of class k"),
            (r"\epsilon_{ls}", "smoothing amount"),
            ("K", "number of classes"),
            ("z", "logits"),
        ),
    ),
    _formula(
        "autoregressive-lm", "Autoregressive factorisation, next-token loss and perplexity",
        r"p(x_{1:T})=\prod_{t=1}^{T}p(x_t\mid x_{<t}),\quad \mathcal{L}=-\frac{1}{T}\sum_{t=1}^{T}\log p(x_t\mid x_{<t}),\quad \mathrm{PPL}=e^{\mathcal{L}}",
        "language-modeling",
        ("central idea of an autoregressive llm", "autoregressive llm", "perplexity", "next-token prediction", "p(x_t | x_{<t})"),
        "autoregressive_lm", ("test_next_token_loss_and_perplexity",),
        symbols=(
            ("x_t", "token at position t"),
            ("T", "sequence length (number of tokens)"),
            (r"\mathcal{L}", "average negative log-likelihood per token"),
            (r"\mathrm{PPL}", "perplexity"),
        ),
    ),
    _formula(
        "bilm-loss", "Bidirectional language-model loss (ELMo)",
        r"\mathcal{L}(\theta)=-\sum_{t=1}^{T}\Bigl[\log p(x_t\mid x_{1:t-1};\theta_e,\overrightarrow{\theta},\theta_s)"
        r"+\log p(x_t\mid x_{t+1:T};\theta_e,\overleftarrow{\theta},\theta_s)\Bigr]",
        "language-modeling",
        ("elmo", "loss function minimized during the unsupervised", "bidirectional language model"),
        "bilm_loss", ("test_bilm_loss_is_forward_plus_backward_nll",),
        symbols=(
            ("x_t", "token at position t"),
            ("T", "sequence length"),
            (r"\theta_e", "token embedding parameters (shared)"),
            (r"\theta_s", "softmax layer parameters (shared)"),
            (r"\overrightarrow{\theta}", "forward LSTM parameters"),
            (r"\overleftarrow{\theta}", "backward LSTM parameters"),
        ),
    ),
    _formula(
        "simclr-nt-xent", "SimCLR NT-Xent (InfoNCE) loss",
        r"\ell_{i,j}=-\log\frac{\exp(\operatorname{sim}(z_i,z_j)/\tau)}{\sum_{k=1}^{2N}\mathbb{1}_{[k\neq i]}\exp(\operatorname{sim}(z_i,z_k)/\tau)},"
        r"\quad \operatorname{sim}(u,v)=\frac{u^\top v}{\lVert u\rVert\lVert v\rVert},\quad \mathcal{L}=\frac{1}{2N}\sum_{k=1}^{N}\bigl[\ell_{2k-1,2k}+\ell_{2k,2k-1}\bigr]",
        "contrastive-learning",
        ("simclr objective", "simclr loss", "temperature τ in simclr", "pairs in simclr", "nt-xent", "infonce loss"),
        "simclr_nt_xent", ("test_nt_xent_matches_loop", "test_nt_xent_is_cross_entropy_over_the_batch"),
        symbols=(
            ("z_i", "projected embedding of view i"),
            (r"\tau", "temperature"),
            ("N", "batch size (images, two views each)"),
        ),
        essentials=(
            # Summing over every k puts the anchor's similarity with itself (the largest term)
            # among its negatives.
            Essential("the anchor left out of the denominator's sum (k ≠ i)",
                      applies=(r"\\log", r"\\sum"),
                      shows=(r"k\s*(?:\\neq?(?![a-zA-Z])|≠|!=|\\not\s*=)\s*i", r"\\mathbb\s*\{?\s*1",
                             r"\\setminus", r"\\notin", r"exclud\w*|except (?:the anchor|itself|i\b)")),
        ),
    ),
    _formula(
        "clip-loss", "CLIP symmetric contrastive loss",
        r"\mathcal{L}=\frac{1}{2N}\sum_{i=1}^{N}\left[-\log\frac{e^{\langle v_i,t_i\rangle/\tau}}{\sum_{j}e^{\langle v_i,t_j\rangle/\tau}}"
        r"-\log\frac{e^{\langle v_i,t_i\rangle/\tau}}{\sum_{j}e^{\langle v_j,t_i\rangle/\tau}}\right],\quad v,t\text{ L2-normalised}",
        "clip",
        ("clip loss", "clip's key idea", "clip contrastive loss"),
        "clip_loss", ("test_clip_loss_matches_torch_cross_entropy",),
        symbols=(
            ("N", "batch size (image-text pairs)"),
            ("v_i", "normalised image embedding i"),
            ("t_i", "normalised text embedding i"),
            (r"\tau", "temperature"),
        ),
        essentials=(
            # One log term is the image-to-text half: the text encoder then only learns from
            # being ranked, never from ranking the images.
            Essential("both directions, image-to-text and text-to-image, averaged",
                      applies=(r"\\log", r"\\sum"),
                      shows=(r"\\log[\s\S]*\\log", r"symmetric", r"both directions",
                             r"image[- ]to[- ]text[\s\S]*text[- ]to[- ]image",
                             r"text[- ]to[- ]image[\s\S]*image[- ]to[- ]text")),
        ),
    ),
    _formula(
        "clip-zero-shot", "CLIP zero-shot classification",
        r"\hat{y}=\arg\max_{c}\ \cos\bigl(f_{\text{img}}(x),\,f_{\text{text}}(\text{``a photo of a }c\text{''})\bigr)",
        "clip",
        ("zero-shot classification", "clip linear probe"),
        "clip_zero_shot", ("test_zero_shot_picks_the_most_similar_class",),
        symbols=(
            ("x", "input image"),
            ("c", "candidate class name"),
            (r"f_{\text{img}}", "image encoder"),
            (r"f_{\text{text}}", "text encoder"),
        ),
    ),
    _formula(
        "dino-loss", "DINO loss and EMA teacher",
        r"\mathcal{L}=-\sum_k P_t(x)_k\log P_s(x')_k,\quad P_t=\operatorname{softmax}\!\left(\frac{g_t-c}{\tau_t}\right),\ "
        r"P_s=\operatorname{softmax}\!\left(\frac{g_s}{\tau_s}\right),\quad \theta_t\leftarrow\lambda\theta_t+(1-\lambda)\theta_s",
        "dino",
        ("dino", "ema play in dino", "self-distillation with no labels", "dino not need negatives", "student/teacher setup with ema"),
        "dino_loss", ("test_dino_loss_matches_torch_soft_cross_entropy", "test_ema_teacher_matches_torch_lerp"),
        symbols=(
            ("P_t", "teacher output distribution"),
            ("P_s", "student output distribution"),
            ("g_t", "teacher network output"),
            ("g_s", "student network output"),
            ("c", "centre (running mean of teacher outputs)"),
            (r"\tau_t", "teacher temperature"),
            (r"\tau_s", "student temperature"),
            (r"\lambda", "EMA momentum of the teacher"),
            (r"\theta_t", "teacher parameters"),
            (r"\theta_s", "student parameters"),
        ),
    ),
]


# --8<-- [start:softmax]
def softmax(z, axis: int = -1):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))  # shift by the max: no overflow
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis: int = -1):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
# --8<-- [end:softmax]


# --8<-- [start:cross_entropy]
def cross_entropy(logits, target):
    """Mean over rows of -log softmax(logits)[target] (integer class targets)."""
    logp = log_softmax(logits)
    return float(-logp[np.arange(len(target)), target].mean())


def soft_cross_entropy(p, logits):
    """H(p, softmax(logits)) for a target distribution p, averaged over rows."""
    return float(-(np.asarray(p) * log_softmax(logits)).sum(axis=-1).mean())
# --8<-- [end:cross_entropy]


# --8<-- [start:kl_divergence]
def kl_divergence(p, q) -> float:
    """sum_x P(x) log(P(x) / Q(x)); terms with P(x) = 0 contribute 0."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))
# --8<-- [end:kl_divergence]


# --8<-- [start:label_smoothing]
def smooth_labels(target, n_classes: int, eps: float = 0.1):
    """(1 - eps) * one_hot + eps / K: every class keeps eps / K of the mass."""
    one_hot = np.eye(n_classes)[target]
    return (1 - eps) * one_hot + eps / n_classes


def label_smoothing_loss(logits, target, eps: float = 0.1):
    return soft_cross_entropy(smooth_labels(target, logits.shape[-1], eps), logits)
# --8<-- [end:label_smoothing]


# --8<-- [start:autoregressive_lm]
def next_token_loss(logits, tokens):
    """logits[t] predicts tokens[t + 1]: the mean of -log p(x_t | x_<t)."""
    return cross_entropy(logits[:-1], tokens[1:])


def perplexity(loss: float) -> float:
    """exp(mean NLL): a uniform guess over V tokens has perplexity V."""
    return float(np.exp(loss))
# --8<-- [end:autoregressive_lm]


# --8<-- [start:bilm_loss]
def bilm_loss(fwd_logits, bwd_logits, tokens):
    """ELMo: -sum_t [log p(x_t | x_<t) + log p(x_t | x_>t)].

    fwd_logits[t] predicts tokens[t + 1] (reading left to right); bwd_logits[t] predicts
    tokens[t - 1] (reading right to left). Returns the summed negative log-likelihood.
    """
    lf, lb = log_softmax(fwd_logits), log_softmax(bwd_logits)
    t = np.arange(len(tokens))
    forward = lf[t[:-1], tokens[1:]].sum()
    backward = lb[t[1:], tokens[:-1]].sum()
    return float(-(forward + backward))
# --8<-- [end:bilm_loss]


# --8<-- [start:simclr_nt_xent]
def l2_normalize(x, axis: int = -1):
    return x / np.linalg.norm(x, axis=axis, keepdims=True)


def nt_xent(z, tau: float = 0.5):
    """SimCLR loss for 2N embeddings where rows 2k and 2k+1 are two views of one image.

    Each row's positive is its partner; the other 2N - 2 rows are negatives; the row itself
    is excluded from the denominator.
    """
    z = l2_normalize(np.asarray(z, dtype=np.float64))
    sim = z @ z.T / tau
    np.fill_diagonal(sim, -np.inf)  # k != i
    partner = np.arange(len(z)) ^ 1  # 0<->1, 2<->3, ...
    return cross_entropy(sim, partner)
# --8<-- [end:simclr_nt_xent]


# --8<-- [start:clip_loss]
def clip_loss(image_emb, text_emb, tau: float = 0.07):
    """Average of image->text and text->image cross-entropy; pair i is the right class for i."""
    v, t = l2_normalize(image_emb), l2_normalize(text_emb)
    logits = v @ t.T / tau
    labels = np.arange(len(v))
    return 0.5 * (cross_entropy(logits, labels) + cross_entropy(logits.T, labels))
# --8<-- [end:clip_loss]


# --8<-- [start:clip_zero_shot]
def zero_shot_predict(image_emb, class_text_emb):
    """Index of the class prompt whose embedding has the highest cosine similarity."""
    return np.argmax(l2_normalize(image_emb) @ l2_normalize(class_text_emb).T, axis=-1)
# --8<-- [end:clip_zero_shot]


# --8<-- [start:dino_loss]
def dino_loss(student_out, teacher_out, center, tau_s: float = 0.1, tau_t: float = 0.04):
    """H(P_t, P_s): teacher centred and sharpened (low tau_t), no gradient through it."""
    p_t = softmax((teacher_out - center) / tau_t)
    return soft_cross_entropy(p_t, student_out / tau_s)


def ema_update(teacher, student, momentum: float = 0.996):
    """theta_t <- lambda theta_t + (1 - lambda) theta_s, parameter by parameter."""
    return [momentum * t + (1 - momentum) * s for t, s in zip(teacher, student, strict=True)]
# --8<-- [end:dino_loss]


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Normalizes  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Normalizes(formula="softmax", function="softmax", phrases=(r"softmax",)),
]
