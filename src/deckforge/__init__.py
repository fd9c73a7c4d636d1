"""deckforge: messy course notes in, an Anki deck and a cross-linked knowledge base out."""

__version__ = "0.1.0"
