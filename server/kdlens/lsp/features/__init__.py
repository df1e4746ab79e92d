"""One module per LSP feature, each with ``register(server)``; ``register_all`` wires them.

The modules are imported here, statically: a feature that cannot be imported
stops the server at start with the import error, where it is seen at once.
A feature whose registration fails is logged and the others still work.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from types import ModuleType

from ..server import KdlensServer
from . import actions, diagnostics, hints, hover, lifecycle, navigation, outline, symbol_downloads

log = logging.getLogger("kdlens")

FEATURES: tuple[ModuleType, ...] = (
    lifecycle,
    diagnostics,
    outline,
    actions,
    hints,
    hover,
    navigation,
    symbol_downloads,
)


def register_all(server: KdlensServer) -> list[str]:
    """Register every feature; the names of those that failed (each one logged)."""
    failed: list[str] = []
    for module in FEATURES:
        register: Callable[[KdlensServer], None] = module.register
        try:
            register(server)
        except Exception:
            name = module.__name__.rsplit(".", 1)[-1]
            failed.append(name)
            log.error(
                "kdlens: the %s feature could not be registered:\n%s", name, traceback.format_exc()
            )
    return failed
