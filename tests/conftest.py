"""pytest configuration; shared helpers live in ``helpers.py``."""
