"""Knowledge distillation: softmax with temperature and the dual (hard + soft) loss with T²."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

_MODULE = "snippets/distillation.py"
_TESTS = "tests/snippets/test_distillation.py"

CONCEPTS = [
    Concept(
        id="knowledge-distillation",
        name="Knowledge distillation",
        aliases=("knowledge distillation", "distillation", "teacher", "student",
                 "dark knowledge", "teacher assistant", "response-based knowledge distillation",
                 "self-distillation"),
        definition=(
            "Knowledge distillation trains a small student to imitate a large teacher (or an "
            "ensemble) through its outputs rather than its weights. Both logit vectors are "
            "softened with a temperature T > 1, which exposes the teacher's 'dark knowledge' — "
            "how similar it finds the wrong classes — and the student minimizes a weighted sum "
            "of the usual cross-entropy on the hard labels and the KL divergence to the "
            "teacher's soft distribution. The soft term is multiplied by T² because its "
            "gradients shrink as 1/T²; without that the balance α between the two terms would "
            "change with T. Only outputs are needed, so a black-box teacher works too."
        ),
        formulas=("kd-loss", "softmax-temperature"),
        related=("low-rank-decomposition", "pruning"),
    )
]

FORMULAS = [
    Formula(
        id="kd-loss",
        name="Knowledge-distillation loss (hard + soft, T² scaling)",
        latex=(
            r"\mathcal{L}_{\text{KD}} = (1 - \alpha)\,\mathrm{CE}\bigl(y, \mathrm{softmax}(z_s)"
            r"\bigr) + \alpha\, T^2\, \mathrm{KL}\bigl(\mathrm{softmax}(z_t / T)\,\big\|\,"
            r"\mathrm{softmax}(z_s / T)\bigr)"
        ),
        concept="knowledge-distillation",
        aliases=(
            "kd dual-loss formula",
            "kd dual-loss formula (concept)",
            "dual-loss",
            "distillation loss",
            "kd loss",
            "knowledge distillation (kd) — high-level",
            "knowledge distillation",
            "kd practicals",
            "kd practicals (α and t)",
            "response-based knowledge distillation",
            "knowledge distillation basics",
            "kd use cases",
            "kd limitations",
            "kd limitations & ta distillation",
        ),
        module=_MODULE,
        section="kd_loss",
        tests=(
            f"{_TESTS}::test_kd_loss_matches_torch_kl_and_ce",
            f"{_TESTS}::test_t_squared_keeps_soft_gradients_comparable",
        ),
        symbols=(
            (r"\alpha", "weight of the soft (distillation) loss"),
            ("T", "softmax temperature"),
            ("y", "true label"),
            ("z_s", "student logits"),
            ("z_t", "teacher logits"),
        ),
    ),
    Formula(
        id="softmax-temperature",
        name="Softmax with temperature",
        latex=r"p_i = \frac{\exp(z_i / T)}{\sum_j \exp(z_j / T)}",
        concept="knowledge-distillation",
        aliases=(
            "softmax temperature",
            "softmax temperature t>1",
            "softmax temperature t>1 — purpose",
            "temperature t",
            "dark knowledge",
        ),
        module=_MODULE,
        section="softmax_temperature",
        tests=(f"{_TESTS}::test_softmax_temperature_matches_torch_and_softens",),
        symbols=(
            ("p_i", "probability of class i"),
            ("z_i", "logit of class i"),
            ("T", "softmax temperature"),
        ),
    ),
]


# --8<-- [start:softmax_temperature]
def softmax_t(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T) over the last axis; T > 1 flattens the distribution."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)  # stable: exp never overflows
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
# --8<-- [end:softmax_temperature]


# --8<-- [start:kd_loss]
def kd_loss(student_logits: np.ndarray, teacher_logits: np.ndarray, labels: np.ndarray,
            temperature: float, alpha: float) -> float:
    """(1 − α) CE(y, softmax(z_s)) + α T² KL(softmax(z_t/T) ‖ softmax(z_s/T)), batch mean."""
    p_student = softmax_t(student_logits)
    hard = -np.log(p_student[np.arange(len(labels)), labels]).mean()
    p_t = softmax_t(teacher_logits, temperature)
    p_s = softmax_t(student_logits, temperature)
    soft = (p_t * (np.log(p_t) - np.log(p_s))).sum(axis=-1).mean()
    return float((1 - alpha) * hard + alpha * temperature**2 * soft)
# --8<-- [end:kd_loss]
