"""Building and running the language server: the state of ``server`` plus every feature."""

from __future__ import annotations

import logging

from .features import register_all
from .server import KdlensServer


def create_server() -> KdlensServer:
    server = KdlensServer()
    register_all(server)
    return server


def serve(tcp: str | None = None) -> int:
    """Run the server on stdio (default) or on ``HOST:PORT``."""
    logging.basicConfig(level=logging.WARNING, format="kdlens: %(message)s")  # stderr, never stdout
    server = create_server()
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit():
            raise SystemExit("kdlens serve: --tcp expects HOST:PORT")
        server.start_tcp(host, int(port))
    else:
        server.start_io()
    return 0
