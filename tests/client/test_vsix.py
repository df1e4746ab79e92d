"""The packaged VS Code extension (kdlens-<version>.vsix, built by `make vsix`).

A .vsix is a zip. These tests read it as a user's VS Code would get it: the
manifest's contributions, the bundled client, the grammar, and a server
package complete enough to run from the extracted folder alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from helpers import REPO

CLIENT = REPO / "client"
VERSION = json.loads((CLIENT / "package.json").read_text(encoding="utf-8"))["version"]
VSIX = REPO / f"kdlens-{VERSION}.vsix"
EXAMPLE_LOG = REPO / "examples" / "mydriver-leak" / "kd-session.log"

if shutil.which("node") is None or shutil.which("npm") is None:
    pytest.skip(
        "node/npm are not installed, so the VS Code extension is not built", allow_module_level=True
    )
if not VSIX.exists():
    pytest.skip(f"{VSIX.name} is not built; run `make vsix`", allow_module_level=True)

SETTINGS_DEFAULTS: dict[str, Any] = {
    "kdlens.symbolPath": "",
    "kdlens.sourceMap": {},
    "kdlens.allocatorWrappers": [],
    "kdlens.trustedUncHosts": [],
    "kdlens.detectLogs": True,
    "kdlens.trace.server": "off",
    "kdlens.server.pythonPath": "",
}
SETTINGS_TYPES = {
    "kdlens.symbolPath": "string",
    "kdlens.sourceMap": "object",
    "kdlens.allocatorWrappers": "array",
    "kdlens.trustedUncHosts": "array",
    "kdlens.detectLogs": "boolean",
    "kdlens.trace.server": "string",
    "kdlens.server.pythonPath": "string",
}
# Everything besides the server package that the extension folder may hold.
ALLOWED = {
    "extension/package.json",
    "extension/readme.md",
    "extension/changelog.md",
    "extension/LICENSE.txt",
    "extension/images/icon.png",
    "extension/language-configuration.json",
    "extension/out/extension.js",
    "extension/syntaxes/windbg-log.tmLanguage.json",
    "extension/server/requirements.txt",
}


@pytest.fixture(scope="module")
def vsix() -> zipfile.ZipFile:
    return zipfile.ZipFile(VSIX)


@pytest.fixture(scope="module")
def names(vsix: zipfile.ZipFile) -> set[str]:
    return set(vsix.namelist())


@pytest.fixture(scope="module")
def manifest(vsix: zipfile.ZipFile) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(vsix.read("extension/package.json"))
    return data


def shipped_server_files() -> set[str]:
    """What the build copies from server/kdlens: sources, data, the typing marker."""
    root = REPO / "server"
    out: set[str] = set()
    for p in (root / "kdlens").rglob("*"):
        if "__pycache__" in p.parts or not p.is_file():
            continue
        if p.suffix in (".py", ".json") or p.name == "py.typed":
            out.add("extension/server/" + p.relative_to(root).as_posix())
    return out


def test_the_files_a_user_needs_are_in_the_package(names: set[str]) -> None:
    for required in (
        "extension.vsixmanifest",
        "extension/package.json",
        "extension/out/extension.js",
        "extension/syntaxes/windbg-log.tmLanguage.json",
        "extension/language-configuration.json",
        "extension/server/kdlens/__main__.py",
        "extension/server/kdlens/lsp/server.py",
        "extension/server/kdlens/knowledge/data/bugchecks.json",
        "extension/server/kdlens/knowledge/data/c4.json",
        "extension/server/requirements.txt",
        "extension/readme.md",
        "extension/LICENSE.txt",
        "extension/changelog.md",
        "extension/images/icon.png",
    ):
        assert required in names, required


def test_nothing_else_is_in_the_package(names: set[str]) -> None:
    inside = {n for n in names if n.startswith("extension/")}
    server = {n for n in inside if n.startswith("extension/server/kdlens/")}
    assert inside - server == ALLOWED
    for n in names:
        assert "node_modules" not in n
        assert "__pycache__" not in n
        assert not n.endswith((".ts", ".pyc", ".map", ".mjs", "package-lock.json")), n


def test_the_server_package_matches_the_sources(names: set[str]) -> None:
    """A module added to server/kdlens after the last `make vsix` shows up here."""
    packaged = {n for n in names if n.startswith("extension/server/kdlens/")}
    assert packaged == shipped_server_files(), "the .vsix is stale: run `make vsix`"


def test_requirements_are_the_projects_dependencies(vsix: zipfile.ZipFile) -> None:
    text = vsix.read("extension/server/requirements.txt").decode("utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^\[project\].*?^dependencies\s*=\s*\[(.*?)\]", pyproject, re.M | re.S)
    assert block is not None
    assert lines == re.findall(r'"([^"]+)"', block.group(1))
    assert any(ln.startswith("pygls") for ln in lines)


def test_manifest_declares_the_language_and_grammar(manifest: dict[str, Any]) -> None:
    assert manifest["name"] == "kdlens"
    assert manifest["engines"]["vscode"] == "^1.90.0"
    assert manifest["main"] == "./out/extension.js"
    assert {"onLanguage:plaintext", "onLanguage:log"} <= set(manifest["activationEvents"])
    contributes = manifest["contributes"]
    (lang,) = contributes["languages"]
    assert lang["id"] == "windbg-log"
    assert "WinDbg Log" in lang["aliases"]
    assert lang["extensions"] == [".kdlog", ".dbglog"]
    assert lang["configuration"] == "./language-configuration.json"
    (grammar,) = contributes["grammars"]
    assert grammar == {
        "language": "windbg-log",
        "scopeName": "source.windbg-log",
        "path": "./syntaxes/windbg-log.tmLanguage.json",
    }


def test_manifest_declares_commands_and_settings(manifest: dict[str, Any]) -> None:
    contributes = manifest["contributes"]
    commands = {c["command"]: f"{c['category']}: {c['title']}" for c in contributes["commands"]}
    assert commands == {
        "kdlens.restartServer": "kdlens: Restart Server",
        "kdlens.showOutput": "kdlens: Show Output",
    }
    props = contributes["configuration"]["properties"]
    assert set(props) == set(SETTINGS_DEFAULTS)
    for key, default in SETTINGS_DEFAULTS.items():
        assert props[key]["default"] == default, key
        assert props[key]["type"] == SETTINGS_TYPES[key], key
        assert props[key].get("markdownDescription") or props[key].get("description"), key
    assert props["kdlens.trace.server"]["enum"] == ["off", "messages", "verbose"]
    restricted = manifest["capabilities"]["untrustedWorkspaces"]["restrictedConfigurations"]
    assert "kdlens.server.pythonPath" in restricted
    assert "kdlens.trustedUncHosts" in restricted


def test_the_client_is_bundled(vsix: zipfile.ZipFile) -> None:
    js = vsix.read("extension/out/extension.js").decode("utf-8")
    assert 'require("vscode")' in js, "vscode stays external"
    assert not re.search(r"require\(\"vscode-languageclient", js), "the language client is bundled"
    assert "kdlens.copyCommand" in js
    assert "clientCopiesCommands" in js


def test_grammar_and_language_configuration_are_plain_json(vsix: zipfile.ZipFile) -> None:
    shipped = vsix.read("extension/syntaxes/windbg-log.tmLanguage.json")
    source = (REPO / "syntaxes" / "windbg-log.tmLanguage.json").read_bytes()
    assert shipped == source, "the .vsix has an older grammar: run `make vsix`"
    assert json.loads(shipped)["scopeName"] == "source.windbg-log"
    conf = json.loads(vsix.read("extension/language-configuration.json"))
    assert conf["brackets"] == [["(", ")"], ["[", "]"], ["{", "}"]]


def test_the_icon_is_a_png_of_at_least_128_pixels(vsix: zipfile.ZipFile) -> None:
    data = vsix.read("extension/images/icon.png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == height >= 128


def test_the_shipped_server_runs_from_the_extracted_package(
    vsix: zipfile.ZipFile, tmp_path: Path
) -> None:
    """What the extension does: PYTHONPATH=<extension>/server, python -m kdlens."""
    vsix.extractall(tmp_path)
    server_dir = tmp_path / "extension" / "server"
    env = dict(os.environ, PYTHONPATH=str(server_dir))
    where = subprocess.run(
        [sys.executable, "-c", "import kdlens; print(kdlens.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(server_dir)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "kdlens",
            "check",
            "--format",
            "json",
            "--fail-on",
            "never",
            str(EXAMPLE_LOG),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    codes = {d["code"] for f in report["files"] for d in f["diagnostics"]}
    assert {"bug-check", "leaked-allocation"} <= codes
