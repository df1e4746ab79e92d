"""Imports every block-parser module so that each registers itself."""

from __future__ import annotations

from . import paths  # noqa: F401
from . import stacks  # noqa: F401
