"""One module per LSP feature; ``register_all`` wires them to a server."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..server import KdlensServer

#: Feature modules, each with ``register(server)``. A module that fails to
#: load is skipped (and logged) so the others still work.
FEATURES = (
    "lifecycle",
    "outline",
    "actions",
    "hints",
    "hover",
    "navigation",
)


def register_all(server: KdlensServer) -> None:
    for name in FEATURES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(server)
