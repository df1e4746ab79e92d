"""A place in a local file: what go to definition and the workspace searches return."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..model import Range


@dataclass(frozen=True, slots=True)
class Target:
    """A place in a local file (0-based line and columns)."""

    path: Path
    range: Range
    label: str = ""
