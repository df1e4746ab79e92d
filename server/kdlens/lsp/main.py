"""Building and running the language server: the state of ``server`` plus every feature."""

from __future__ import annotations

import logging

from .features import register_all
from .protocol import KdlensProtocol, leave_now, run_stdio, run_tcp
from .server import KdlensServer
from .transport import max_message_bytes as transport_limit


def create_server() -> KdlensServer:
    server = KdlensServer()
    register_all(server)
    return server


def serve(tcp: str | None = None, max_message_bytes: int | None = None) -> int:
    """Run the server on stdio (default) or on ``HOST:PORT``; the process exit status.

    The status follows the LSP: 0 when ``exit`` came after ``shutdown`` (or the
    client simply closed the connection after ``shutdown``), 1 otherwise.
    ``max_message_bytes`` caps one message (default: ``KDLENS_MAX_MESSAGE_BYTES``
    or 256 MiB).
    """
    logging.basicConfig(level=logging.WARNING, format="kdlens: %(message)s")  # stderr, never stdout
    try:
        limit = transport_limit(None if max_message_bytes is None else str(max_message_bytes))
    except ValueError as exc:
        raise SystemExit(f"kdlens serve: {exc}") from None
    server = create_server()
    protocol = server.protocol
    assert isinstance(protocol, KdlensProtocol)
    protocol.max_message_bytes = limit
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit():
            raise SystemExit("kdlens serve: --tcp expects HOST:PORT")
        code = run_tcp(server, host, int(port))
    else:
        code = run_stdio(server)
    if code is None:
        code = 0 if protocol.shutdown_requested else 1
    server.executor.shutdown(wait=False, cancel_futures=True)
    server.scanner.shutdown(wait=False, cancel_futures=True)
    leave_now(code)
    return code
