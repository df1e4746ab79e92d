"""``kdlens serve --tcp HOST:PORT`` speaks the same protocol on a socket (loopback only)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _frame(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read_message(sock: socket.socket) -> dict[str, object]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("server closed the connection")
        rest += chunk
    return json.loads(rest[:length])  # type: ignore[no-any-return]


def test_initialize_over_tcp() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdlens", "serve", "--tcp", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        sock = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(
                        f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                    )
                time.sleep(0.1)  # waiting for the server to listen, bounded by the deadline
        assert sock is not None, "the server did not listen within 30 s"
        sock.settimeout(30)
        sock.sendall(
            _frame(
                {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}
            )
        )
        reply = _read_message(sock)
        assert reply["id"] == 1
        caps = reply["result"]["capabilities"]  # type: ignore[index]
        assert caps["hoverProvider"] and caps["definitionProvider"]
        assert reply["result"]["serverInfo"]["name"] == "kdlens"  # type: ignore[index]
        sock.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)
