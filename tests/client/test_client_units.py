"""The extension's TypeScript unit tests (node's test runner), run from pytest.

They cover the parts of the client that do not need VS Code: recognising
debugger logs, finding a Python, and how the shipped server is launched (and
the clean-up of the private environment older versions made). `make client`
(a prerequisite of `make test`) installs what they need.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import REPO

CLIENT = REPO / "client"
NPM = shutil.which("npm")


@pytest.mark.skipif(
    NPM is None or shutil.which("node") is None, reason="node/npm are not installed"
)
def test_client_unit_tests_pass() -> None:
    if not (CLIENT / "node_modules" / "esbuild").exists():
        pytest.skip("client/node_modules is missing; run `make client`")
    assert NPM is not None
    res = subprocess.run(
        [NPM, "test", "--silent"],
        cwd=CLIENT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "# fail 0" in out
    passed = int(out.split("# pass ")[1].split()[0])
    assert passed >= 15, out[-2000:]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_build_refuses_to_package_without_the_grammar(tmp_path: Path) -> None:
    if not (CLIENT / "node_modules" / "esbuild").exists():
        pytest.skip("client/node_modules is missing; run `make client`")
    node = shutil.which("node")
    assert node is not None
    res = subprocess.run(
        [node, str(CLIENT / "scripts" / "build.mjs")],
        cwd=CLIENT,
        env=dict(os.environ, KDLENS_BUILD_ROOT=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 1
    assert "windbg-log.tmLanguage.json does not exist yet" in res.stderr
    assert "cannot be packaged without it" in res.stderr
