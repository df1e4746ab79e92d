"""The symbol-file source configured from the settings (the link after the log's own evidence).

One ``SymbolFiles`` lives as long as its configuration: its table cache
makes the next analysis of any log cheap. It is rebuilt only when the
symbol path or the trusted hosts change, and only then are the notes about
skipped symbol servers and refused folders written to the client's log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..symbols.resolver import SymbolFiles

if TYPE_CHECKING:
    from .server import KdlensServer


def configure_symbols(ls: KdlensServer) -> SymbolFiles | None:
    """The ``SymbolSource`` for ``kdlens.symbolPath`` (and ``_NT_SYMBOL_PATH``), None without one."""
    settings = ls.settings
    if not settings.symbol_path:
        return None
    folders = ls.folders()
    base = folders[0] if folders else None
    config = (tuple(settings.symbol_path), tuple(settings.trusted_unc_hosts), base)
    current = ls.symbols
    if isinstance(current, SymbolFiles) and current.config == config:
        return current
    source = SymbolFiles(config[0], trusted_unc_hosts=config[1], base_dir=base)
    for message in source.messages:
        ls.log_info(f"kdlens: {message}")
    return source
