"""Emitters: the graph written out as graph.json, an Anki package and a MkDocs site."""
