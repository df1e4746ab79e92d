"""The inputs and the answer of a hover, shared by the hover modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...analysis import Analysis
from ...index import TokenIndex
from ...knowledge.user_tags import UserPoolTags
from ...model import Position, Range
from ...sources import SourceMapper
from ..tag_literals import LiteralLookup


@dataclass(frozen=True, slots=True)
class HoverResult:
    """Markdown to show and the log range it describes."""

    markdown: str
    range: Range


@dataclass(frozen=True, slots=True)
class HoverContext:
    """One snapshot of one log, as far as hovers need it."""

    analysis: Analysis
    index: TokenIndex
    lines: Sequence[str]
    mapper: SourceMapper
    pos: Position
    #: Build path -> (local file or None, how or why not); the server passes its
    #: per-snapshot cache, otherwise the mapper is asked directly.
    local_source: Callable[[str], tuple[Path | None, str]] | None = None
    #: Where pool tags are written in the sources; None walks the workspace when asked.
    literals: LiteralLookup | None = None
    #: The user's own pooltag.txt (``poolTagFile``), when configured.
    pool_tags: UserPoolTags | None = None

    def locate(self, build_path: str) -> tuple[Path | None, str]:
        if self.local_source is not None:
            return self.local_source(build_path)
        mapped, why = self.mapper.explain(build_path)
        return (mapped.path if mapped is not None else None), why
