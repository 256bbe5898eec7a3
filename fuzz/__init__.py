"""Hostile-input runs against both apps and the extractor (`python -m fuzz`).

Kept outside the runtime packages: nothing here ships in the wheel.
"""
