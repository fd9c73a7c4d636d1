"""Text helpers shared by the passes: unicode math, HTML fragments, matching keys.

Pure functions on strings; nothing here knows about cards or graphs.
"""
