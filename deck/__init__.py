"""Test decks: print real ballots, fill, damage and scan them, and check a scan against the truth.

A tool, not product: `ocr` never imports `deck`; `deck` uses `forms`, `ocr` and `hybrid`.
"""
