"""A bare-bytes LSP client for a real ``python -m kdlens serve`` process.

pytest-lsp builds its messages from lsprotocol types, which refuse to express
a position with line -1 or a header that lies; this client writes whatever
bytes it is given and reads the server's frames on a thread, so a test can
send garbage and still wait (boundedly) for the answers it is owed.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"


def frame(obj: Any) -> bytes:
    """One message in the base protocol's framing."""
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(msg_id: int | str, method: str, params: Any = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def notification(method: str, params: Any = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


INITIALIZE = request(0, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
INITIALIZED = notification("initialized", {})


class WireServer:
    """A server process, its parsed output and the tail of its stderr."""

    def __init__(self, args: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        environ = dict(os.environ)
        environ["PYTHONPATH"] = os.pathsep.join(
            [str(SERVER_DIR), *filter(None, [environ.get("PYTHONPATH")])]
        )
        environ.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kdlens", "serve", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
        )
        self.messages: list[dict[str, Any]] = []
        self.stderr_tail: collections.deque[bytes] = collections.deque(maxlen=200)
        self.output_error: str | None = None
        self._cond = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for t in self._threads:
            t.start()

    # -- output

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length is None:
                    raise ValueError("the server wrote a header without Content-Length")
                body = out.read(length)
                if len(body) < length:
                    return
                msg = json.loads(body)
                with self._cond:
                    self.messages.append(msg)
                    self._cond.notify_all()
        except Exception as exc:  # a broken frame from the server is itself a finding
            with self._cond:
                self.output_error = f"unreadable output from the server: {exc!r}"
                self._cond.notify_all()
        finally:
            with self._cond:
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for line in err:
            self.stderr_tail.append(line)

    def stderr_text(self) -> str:
        return b"".join(self.stderr_tail).decode("utf-8", errors="replace")

    # -- input

    def send(self, data: bytes) -> bool:
        """Write raw bytes; False when the server no longer reads."""
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def send_message(self, obj: Any) -> bool:
        return self.send(frame(obj))

    def close_stdin(self) -> None:
        stdin = self.proc.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):
                stdin.close()

    # -- waiting (always bounded)

    def find_response(self, msg_id: Any) -> dict[str, Any] | None:
        with self._cond:
            for m in self.messages:
                if "method" not in m and m.get("id") == msg_id and ("result" in m or "error" in m):
                    return m
        return None

    def response(self, msg_id: Any, timeout: float = 30.0) -> dict[str, Any] | None:
        """The answer to ``msg_id``, or None when none came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if (
                        "method" not in m
                        and m.get("id") == msg_id
                        and ("result" in m or "error" in m)
                    ):
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.output_error:
                    return None
                self._cond.wait(min(left, 0.5))

    def responses_to(self, msg_id: Any) -> list[dict[str, Any]]:
        with self._cond:
            return [
                m
                for m in self.messages
                if "method" not in m and m.get("id") == msg_id and ("result" in m or "error" in m)
            ]

    def notifications(self, method: str) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.messages if m.get("method") == method and "id" not in m]

    def wait_exit(self, timeout: float = 30.0) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_bytes(self) -> int | None:
        """Resident memory of the server (Linux); None elsewhere or once it is gone."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    def start_session(self, timeout: float = 60.0) -> dict[str, Any]:
        """initialize + initialized; the initialize result."""
        self.send_message(INITIALIZE)
        reply = self.response(0, timeout)
        if reply is None:
            raise AssertionError(f"no answer to initialize; stderr:\n{self.stderr_text()}")
        self.send_message(INITIALIZED)
        return reply

    def stop(self) -> None:
        """Kill the process if it still runs (cleanup only; tests check exits themselves)."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> WireServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
