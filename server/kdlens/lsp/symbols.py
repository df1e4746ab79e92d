"""Symbol-file resolvers configured from the settings (the link after the log's own evidence)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..analysis.resolve import Resolver

if TYPE_CHECKING:
    from .server import KdlensServer


def configure_resolvers(ls: KdlensServer) -> list[Resolver]:
    """Resolvers for ``kdlens.symbolPath``; the log's ``ln``/``[file @ line]`` come first anyway."""
    return []
