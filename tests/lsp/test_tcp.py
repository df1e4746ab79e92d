"""``kdlens serve --tcp HOST:PORT`` speaks the same protocol on a socket (loopback only)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import weakref

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _frame(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


#: Bytes received past the last message read, per socket: two messages often
#: arrive in one segment (a log notification and the reply), and the second
#: must not be dropped with the first one's read.
_PENDING: weakref.WeakKeyDictionary[socket.socket, bytes] = weakref.WeakKeyDictionary()


def _read_message(sock: socket.socket) -> dict[str, object]:
    data = _PENDING.pop(sock, b"")
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
    if len(rest) > length:
        _PENDING[sock] = rest[length:]
    return json.loads(rest[:length])  # type: ignore[no-any-return]


def _connect(proc: subprocess.Popen[bytes], port: int) -> socket.socket:
    sock = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.1)  # waiting for the server to listen, bounded by the deadline
    assert sock is not None, "the server did not listen within 30 s"
    sock.settimeout(30)
    return sock


def _start(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kdlens", "serve", "--tcp", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _read_reply(sock: socket.socket, msg_id: int) -> dict[str, object]:
    """The next message answering ``msg_id`` (log notifications on the way are skipped)."""
    while True:
        msg = _read_message(sock)
        if msg.get("id") == msg_id and "method" not in msg:
            return msg


def test_initialize_over_tcp() -> None:
    port = _free_port()
    proc = _start(port)
    try:
        sock = _connect(proc, port)
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


def test_hostile_header_over_tcp_is_refused_and_exit_status_kept() -> None:
    """The same reader serves sockets: a 2**63-1 byte header is refused, the session goes on."""
    port = _free_port()
    proc = _start(port)
    try:
        sock = _connect(proc, port)
        hover = {"jsonrpc": "2.0", "id": 5, "method": "textDocument/hover", "params": {}}
        sock.sendall(b"Content-Length: 9223372036854775807\r\n\r\n" + json.dumps(hover).encode())
        refused = _read_reply(sock, 5)
        assert refused["error"]["code"] == -32600  # type: ignore[index]
        sock.sendall(
            _frame(
                {"jsonrpc": "2.0", "id": 6, "method": "initialize", "params": {"capabilities": {}}}
            )
        )
        assert "result" in _read_reply(sock, 6)
        sock.sendall(_frame({"jsonrpc": "2.0", "method": "exit"}))
        assert proc.wait(timeout=30) == 1  # exit without shutdown
        sock.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)
