"""Lecture notes become cards (issue 12, must-holds 1-2), on the real notes and two new ones.

Recall: the labelled study items (tests/data/study_items.json) that lie in some card's source
span. Precision: the card-by-card judgement recorded in tests/data/lecture_precision.json
("after"), which must cover exactly the cards built now. Both run the whole pipeline (readers
and every pass) on the four lecture files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from deckforge.model import normalize_key
from deckforge.passes.compute import UNANSWERED
from deckforge.readers import file_lines, lecture, slides
from tests.lecture_notes import DATA, LECTURE_FILES, ROOT, build_lecture_graph, cards_of, recall

CS336, EFFICIENT, NEW_MD, NEW_SLIDES, HELD_OUT = LECTURE_FILES
RECALL_FLOOR = 0.90
# Precision among the cards in the study path (needs-review cards are kept out of it): every
# file reaches 1.0 (judged card by card in lecture_precision.json).
PRECISION_FLOOR = dict.fromkeys(LECTURE_FILES, 1.0)


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return build_lecture_graph(tmp_path_factory.mktemp("lecture"))


@pytest.mark.parametrize("rel", LECTURE_FILES)
def test_recall_of_labelled_study_items(graph, rel):
    share, missed = recall(graph, rel)
    assert share >= RECALL_FLOOR, f"{rel}: recall {share:.3f}, missed {missed}"


def _judged() -> dict:
    return json.loads((DATA / "lecture_precision.json").read_text("utf-8"))["after"]


@pytest.mark.parametrize("rel", LECTURE_FILES)
def test_precision_judged_card_by_card(graph, rel):
    judged = _judged()[rel]
    cards = {str(c.sources[0].line): c for c in cards_of(graph, rel)}
    assert set(cards) == set(judged), "the judgement no longer matches the cards: re-judge them"
    for line, card in cards.items():
        verdict = judged[line]
        assert card.question.startswith(verdict["question"]), (rel, line)
        assert (verdict["verdict"] == "unfinished") == card.unfinished, (rel, line)
    study = [v for v in judged.values() if v["verdict"] != "unfinished"]
    share = sum(v["verdict"] == "keep" for v in study) / len(study)
    assert share >= PRECISION_FLOOR[rel], f"{rel}: precision {share:.3f}"


def _titles(rel: str) -> set[str]:
    text = (ROOT / rel).read_text("utf-8")
    if rel.endswith(".md"):
        heads = [re.sub(r"#\S+", "", m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.M)]
    else:
        heads = [s.title for s in slides._slides(file_lines(text))]
    # a title that asks ("Why KV Cache Saves Computation?") may be the question itself
    return {normalize_key(h) for h in heads if not h.strip().endswith("?")}


@pytest.mark.parametrize("rel", LECTURE_FILES)
def test_no_question_is_only_a_title_and_every_card_carries_its_context(graph, rel):
    titles = _titles(rel)
    for card in cards_of(graph, rel):
        assert normalize_key(card.question) not in titles, card.question
        assert card.context.strip(), f"{card.sources[0]}: no context for {card.question!r}"


def test_not_study_material_gives_no_card(graph):
    covered = {n for c in cards_of(graph, NEW_MD) for s in c.sources
               for n in range(s.line, s.end_line + 1)}
    # tag line, image embed, the author's open questions, references
    assert not covered & {3, 17, 44, 45, 46, 48, 49, 50}
    covered = {n for c in cards_of(graph, CS336) for s in c.sources
               for n in range(s.line, s.end_line + 1)}
    assert not covered & {61, 72, 73, 76, 101, 102, 122, 175, 176, 177, 178, 179}


def test_exam_questions_are_computed_by_the_snippet_or_left_for_review(graph):
    by_line = {(Path(c.sources[0].path).name, c.sources[0].line): c for c in graph.cards}
    numeric = by_line[(Path(NEW_SLIDES).name, 76)]
    symbolic = by_line[(Path(EFFICIENT).name, 435)]
    for card in (numeric, symbolic):
        flag = next(f for f in card.flags if f.name == "computed")
        assert flag.formula == "conv-macs" and not card.unfinished
        assert r"\text{MACs} = B \times M" in card.answer  # the registry formula is shown
    assert numeric.answer.startswith("**75,497,472**")  # 1·128·3·3·64·32·32
    assert "batch = 1, channels = 64, in_h = 32" in numeric.answer
    assert symbolic.answer.startswith("**$9 B C H M W$**")  # E = H, F = W with padding 1
    # a question that changes the setup ($p\%$ pruned) or asks prose is not computed, and no
    # registry formula's LaTeX stands in for its answer
    for name, line in ((Path(EFFICIENT).name, 436), (Path(EFFICIENT).name, 437),
                       (Path(NEW_SLIDES).name, 77)):
        card = by_line[(name, line)]
        assert card.unfinished and card.has_cause(UNANSWERED) and not card.answer
        assert not card.has_flag("repaired") and not card.has_flag("computed")


def test_dedupe_keeps_distinct_lecture_cards_apart(graph):
    merged = [c for c in graph.cards if len(c.sources) > 1]
    # only the SVD slide the recap repeats merges (its bullets under the same title)
    assert [[(Path(s.path).name, s.line) for s in c.sources] for c in merged] == [
        [("efficient-dl-midterm-recap.txt", 355), ("efficient-dl-midterm-recap.txt", 416)]]


def _by_line(graph, rel):
    return {c.sources[0].line: c for c in cards_of(graph, rel)}


def test_title_slide_taglines_and_figure_captions_give_no_card(graph):
    # a one-line title slide (no math, no table) and a caption of a lost plot teach nothing
    for rel, lines in ((EFFICIENT, {149, 169, 391}), (HELD_OUT, {55, 59})):
        covered = {n for c in cards_of(graph, rel) for s in c.sources
                   for n in range(s.line, s.end_line + 1)}
        assert not covered & lines, (rel, covered & lines)
    # one bullet beside the slide's math and question is a point, not a tagline
    assert _by_line(graph, EFFICIENT)[256].question.startswith("Floating Point Arithmetic")


def test_a_point_about_an_undefined_letter_is_its_own_card_for_review(graph):
    for rel, line, letter, siblings in ((EFFICIENT, 332, "c", 330), (EFFICIENT, 395, "x_2", None),
                                        (HELD_OUT, 60, "k", None)):
        cards = _by_line(graph, rel)
        loose = cards[line]
        assert loose.unfinished and loose.has_cause(lecture.LOOSE_SYMBOL), (rel, line)
        assert loose.question.endswith(f"what do the notes say about {letter}?")
        if siblings:  # the points beside it stay in the study path
            kept = cards[siblings]
            assert not kept.unfinished and kept.sources[0].end_line == line - 1


def test_formulas_ending_in_an_open_question_ask_it_with_the_formulas_as_setup(graph):
    for rel, line, asked in ((EFFICIENT, 283, "How to compute"), (HELD_OUT, 44, "How many")):
        card = _by_line(graph, rel)[line]
        assert card.question.startswith(asked) and "$$" in card.context
        assert card.unfinished and card.has_cause(UNANSWERED) and not card.answer
        assert not card.has_flag("repaired")


def test_fragments_and_examples_the_notes_do_not_give_are_flagged(graph):
    cards = _by_line(graph, CS336)
    assert cards[155].has_cause(lecture.FRAGMENT) and cards[155].unfinished
    assert cards[95].has_cause(lecture.EXAMPLE_NOT_GIVEN) and cards[95].unfinished


def _leaf(text: str, line: int) -> lecture.Node:
    return lecture.Node(text, line, line)


def test_point_rules_on_their_own_notes():
    # thresholds and definitions, not sentences: a letter a legend defines is no loose letter,
    # a value with a number is no fragment, a claim about a plot is no caption
    nodes = [_leaf("T is the temperature of the softmax", 1), _leaf("T tends to be 2 to 4", 2),
             _leaf("c stays below the ridge for small batches", 3)]
    drafts = lecture.cards(nodes, "Distillation Loss", ("Lecture 6", "Distillation Loss"))
    assert {d.question.rsplit(" ", 1)[-1] for d in drafts if d.review} == {"c?"}
    defined = lecture.cards([_leaf("k grows with the batch size", 1)], "Roofline", ("Roofline",),
                            known="k: arithmetic intensity")  # the slide's legend
    assert [d.review for d in defined] == [""]
    counted = lecture.cards([_leaf("L layers are split over p pipeline stages", 1)], "Pipelines",
                            ("Pipelines",))  # "L layers" says what L counts
    assert [d.review for d in counted] == [""]
    assert lecture.is_caption("Latency of decoding across batch sizes")
    assert not lecture.is_caption("Accuracy of pruned models drops beyond 50% sparsity")
    assert not lecture.is_caption("Latency of attention grows quadratically over sequence length")
    labelled = lecture.cards([_leaf("Peak: 989 TFLOP/s", 1), _leaf("Bottleneck: memory bound", 2)],
                             "H100", ("H100",))
    assert [d.review for d in labelled] == ["", lecture.FRAGMENT]
    points = [_leaf("assume every layer has the same width", 1),
              _leaf("the gradient of each layer doubles the work", 2)]
    for topic, cause in (("in class example", lecture.EXAMPLE_NOT_GIVEN),
                         ("the example from the slides", lecture.EXAMPLE_NOT_GIVEN),
                         ("Example: a deep linear network", "")):  # the example itself
        assert [d.review for d in lecture.cards(points, topic, ("Backward", topic))] == [cause]
    tagline = [_leaf("Pruning can also be applied to attention heads.", 1)]
    assert lecture.cards(tagline, "Head Pruning", ("Head Pruning",), tagline=True) == []
    assert lecture.cards(tagline, "Head Pruning", ("Head Pruning",))  # under a heading: a point
