"""graph.json follows the deckforge.graph/1 contract and is byte-identical across builds."""

from __future__ import annotations

import jsonschema

from deckforge.emit.graph_json import load_schema


def test_graph_json_validates_against_schema(graph_json):
    jsonschema.validate(graph_json, load_schema())
    assert graph_json["schema"] == "deckforge.graph/1"
    assert graph_json["cards"], "the bundled notes must yield cards"


def test_every_card_source_points_into_the_notes(graph_json, root):
    for card in graph_json["cards"]:
        for src in card["sources"]:
            path = root / src["path"]
            assert path.is_file(), src
            n_lines = len(path.read_bytes().splitlines())
            assert 1 <= src["line"] <= src["end_line"] <= n_lines, (card["id"], src)
