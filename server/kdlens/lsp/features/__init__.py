"""One module per LSP feature; ``register_all`` wires them to a server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..server import KdlensServer


def register_all(server: KdlensServer) -> None:
    from . import lifecycle

    lifecycle.register(server)
