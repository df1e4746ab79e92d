"""The server inside the .vsix starts offline, from the package alone.

A driver developer's machine often has no package index. The extension
therefore ships the server's libraries and starts the server as
``python -I <extension>/server/launch.py serve``. Here the package is
unpacked into a temporary folder and the server is started exactly so, by
the machine's own Python with an environment holding only PATH, and spoken
to over stdio: initialize, open a log, diagnostics, shutdown, exit.

Each interpreter runs twice: with ``-I`` as the extension does, and with
``-I -S`` as well, which hides every installed package (site-packages is not
even on the path), so an answer proves the package carries all it needs.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

import pytest

from helpers import REPO
from vsix_support import Interpreter, minimal_env

EXAMPLE_LOG = REPO / "examples" / "mydriver-leak" / "kd-session.log"
# A guard against a hung server, not a measure of speed.
WAIT_S = 120


class StdioPeer:
    """A small JSON-RPC client of a language server over its stdin/stdout."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        assert proc.stdout is not None
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, out: IO[bytes]) -> None:
        try:
            while True:
                headers: dict[str, str] = {}
                while True:
                    line = out.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    key, _, value = line.decode("ascii").partition(":")
                    headers[key.strip().lower()] = value.strip()
                body = out.read(int(headers["content-length"]))
                self.inbox.put(json.loads(body))
        finally:
            self.inbox.put(None)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def wait_for(self, want: Any) -> dict[str, Any]:
        """The first message `want` accepts; requests from the server get an empty answer."""
        while True:
            try:
                msg = self.inbox.get(timeout=WAIT_S)
            except queue.Empty:
                pytest.fail(f"no matching message from the server; seen: {self.seen}")
            if msg is None:
                pytest.fail(f"the server closed its output; seen: {self.seen}")
            self.seen.append(msg)
            if "method" in msg and "id" in msg:
                self.send({"id": msg["id"], "result": None})
            if want(msg):
                return msg


@pytest.mark.parametrize("flags", [("-I",), ("-I", "-S")], ids=["isolated", "no-site"])
def test_the_packaged_server_answers_over_stdio(
    extracted: Path, system_python: Interpreter, flags: tuple[str, ...]
) -> None:
    launcher = extracted / "server" / "launch.py"
    proc = subprocess.Popen(
        [system_python.executable, *flags, str(launcher), "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=extracted.parent,
        env=minimal_env(),
    )
    try:
        peer = StdioPeer(proc)
        peer.send(
            {
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": None, "capabilities": {}},
            }
        )
        init = peer.wait_for(lambda m: m.get("id") == 1)
        assert "error" not in init, init
        caps = init["result"]["capabilities"]
        assert caps["hoverProvider"], caps
        assert caps["definitionProvider"], caps
        assert init["result"]["serverInfo"]["name"] == "kdlens"

        peer.send({"method": "initialized", "params": {}})
        uri = EXAMPLE_LOG.as_uri()
        peer.send(
            {
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": uri,
                        "languageId": "windbg-log",
                        "version": 1,
                        "text": EXAMPLE_LOG.read_text(encoding="utf-8"),
                    }
                },
            }
        )
        published = peer.wait_for(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri
                and m["params"]["diagnostics"]
            )
        )
        codes = {d.get("code") for d in published["params"]["diagnostics"]}
        assert {"bug-check", "leaked-allocation"} <= codes, codes

        peer.send({"id": 2, "method": "shutdown"})
        down = peer.wait_for(lambda m: m.get("id") == 2)
        assert "error" not in down and down["result"] is None, down
        peer.send({"method": "exit"})
        assert proc.wait(timeout=WAIT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert "Traceback" not in stderr, stderr


SHIPPED_MODULES = ("kdlens", "pygls", "lsprotocol", "cattrs", "attrs", "platformdirs", "pefile")


def test_the_packaged_libraries_win_over_installed_ones(
    extracted: Path, system_python: Interpreter, tmp_path: Path
) -> None:
    """-I keeps the interpreter's site-packages on the path; the shipped copies must come first.

    A decoy folder appended to sys.path stands in for site-packages holding
    other versions of the same libraries.
    """
    decoy = tmp_path / "site-packages"
    for name in SHIPPED_MODULES:
        (decoy / name).mkdir(parents=True)
        (decoy / name / "__init__.py").write_text("raise ImportError('the decoy was imported')\n")
    probe = (
        "import runpy, sys\n"
        "launcher, decoy = sys.argv[1:3]\n"
        "sys.path.append(decoy)\n"
        "runpy.run_path(launcher)['add_shipped_paths']()\n"
        f"for name in {SHIPPED_MODULES!r}:\n"
        "    print(__import__(name).__file__)\n"
    )
    res = subprocess.run(
        [
            system_python.executable,
            "-I",
            "-c",
            probe,
            str(extracted / "server" / "launch.py"),
            str(decoy),
        ],
        env=minimal_env(),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert res.returncode == 0, res.stderr
    files = res.stdout.split()
    assert len(files) == len(SHIPPED_MODULES)
    for file in files:
        assert Path(file).is_relative_to(extracted / "server"), file


def _old_python() -> str | None:
    """A Python 3.6 to 3.9 that starts, if the machine has one."""
    for minor in range(9, 5, -1):
        path = shutil.which(f"python3.{minor}")
        if path is None:
            continue
        res = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        if res.returncode == 0 and res.stdout.strip() == str(minor):
            return path
    return None


def test_the_launcher_refuses_an_old_python_with_a_sentence(extracted: Path) -> None:
    old = _old_python()
    if old is None:
        pytest.skip("no Python 3.6 to 3.9 runs on this machine")
    res = subprocess.run(
        [old, "-I", str(extracted / "server" / "launch.py"), "serve"],
        env=minimal_env(),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert res.returncode == 2
    assert "kdlens needs Python 3.10 or newer" in res.stderr
