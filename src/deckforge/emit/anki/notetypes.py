"""The three Anki note types, with FIXED model ids.

Anki matches note types by id on import. Changing a note type's fields (not its templates or
CSS, which reach users through the notetype's mtime in deckforge.lock) is a schema change:
give it a NEW id here and write a migration note in docs/anki.md, or users' imports break.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import genanki

# Chosen once at random in genanki's recommended range; never change them (see module doc).
BASIC_MODEL_ID = 1_718_204_031
CLOZE_MODEL_ID = 1_718_204_032
CHOICE_MODEL_ID = 1_718_204_033

BASIC_FIELDS = ("Question", "Answer", "Extra", "Source")
CLOZE_FIELDS = ("Text", "Extra", "Source")
CHOICE_FIELDS = ("Question", "Options", "Answer", "Explanation", "Source")

_META = '{{#Source}}<div class="df-meta">{{Source}}</div>{{/Source}}'

BASIC_TEMPLATES = [{
    "name": "Card 1",
    "qfmt": '<div class="df-card df-basic"><div class="df-question">{{Question}}</div></div>',
    "afmt": '<div class="df-card df-basic"><div class="df-question">{{Question}}</div>'
            '<hr id="answer"><div class="df-answer">{{Answer}}</div>'
            '{{#Extra}}<div class="df-extra">{{Extra}}</div>{{/Extra}}' + _META + "</div>",
}]
CLOZE_TEMPLATES = [{
    "name": "Cloze",
    "qfmt": '<div class="df-card df-cloze">{{cloze:Text}}</div>',
    "afmt": '<div class="df-card df-cloze">{{cloze:Text}}'
            '{{#Extra}}<div class="df-extra">{{Extra}}</div>{{/Extra}}' + _META + "</div>",
}]
CHOICE_TEMPLATES = [{
    "name": "Card 1",
    "qfmt": '<div class="df-card df-choice"><div class="df-question">{{Question}}</div>'
            '{{Options}}</div>',
    "afmt": '<div class="df-card df-choice"><div class="df-question">{{Question}}</div>'
            '<hr id="answer"><div class="df-answer">{{Answer}}</div>'
            '{{#Explanation}}<div class="df-extra">{{Explanation}}</div>{{/Explanation}}'
            + _META + "</div>",
}]


@dataclass(frozen=True)
class NoteType:
    key: str  # "basic", "cloze", "choice": the lock entry is `notetype:<key>`
    model: genanki.Model

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in self.model.fields)

    def digest(self) -> str:
        """Hash of everything Anki stores for the note type: a change must move its mtime."""
        payload = json.dumps([self.model.name, self.model.fields, self.model.templates,
                              self.model.css, self.model.model_type], sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@cache
def card_css() -> str:
    return resources.files("deckforge").joinpath("assets/anki/card.css").read_text("utf-8")


def _model(model_id: int, name: str, fields, templates, model_type=genanki.Model.FRONT_BACK):
    return genanki.Model(model_id, name, fields=[{"name": f} for f in fields],
                         templates=[dict(t) for t in templates], css=card_css(),
                         model_type=model_type)


def note_types() -> dict[str, NoteType]:
    """Fresh models on each call: genanki's `Model.to_json` adds keys to the field and template
    dicts, which would change `digest()` (and the notetype mtime) on a second build in-process."""
    return {
        "basic": NoteType("basic", _model(BASIC_MODEL_ID, "deckforge Basic", BASIC_FIELDS,
                                          BASIC_TEMPLATES)),
        "cloze": NoteType("cloze", _model(CLOZE_MODEL_ID, "deckforge Cloze", CLOZE_FIELDS,
                                          CLOZE_TEMPLATES, genanki.Model.CLOZE)),
        "choice": NoteType("choice", _model(CHOICE_MODEL_ID, "deckforge Multiple choice",
                                            CHOICE_FIELDS, CHOICE_TEMPLATES)),
    }
