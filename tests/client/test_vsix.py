"""The packaged VS Code extension (kdlens-<version>.vsix, built by `make vsix`).

A .vsix is a zip. These tests read it as a user's VS Code would get it: the
manifest's contributions, the bundled client, the grammar, and a server
package complete enough to run from the extracted folder alone: kdlens, the
launcher and the third-party libraries pinned in
client/server-requirements.lock (server/vendor), each at its pinned version
with its licence, and nothing else (no tests, no byte code, no programs).
test_vsix_server.py starts that server offline.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import shutil
import struct
import subprocess
import zipfile
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from kdlens.settings import OPTIONS, Kind, Settings

from helpers import REPO
from vsix_support import LOCK, VSIX, Interpreter, minimal_env

EXAMPLE_LOG = REPO / "examples" / "mydriver-leak" / "kd-session.log"

if shutil.which("node") is None or shutil.which("npm") is None:
    pytest.skip(
        "node/npm are not installed, so the VS Code extension is not built", allow_module_level=True
    )
if not VSIX.exists():
    pytest.skip(f"{VSIX.name} is not built; run `make vsix`", allow_module_level=True)

#: The manifest's JSON type and empty default for each kind of server setting.
_KIND_SCHEMA: dict[Kind, tuple[str, Any]] = {
    Kind.SYMBOL_PATH: ("string", ""),
    Kind.SOURCE_MAP: ("object", {}),
    Kind.STRINGS: ("array", []),
    Kind.PATH: ("string", ""),
    Kind.TEXT: ("string", ""),
    Kind.INTEGER: ("integer", None),  # each has its own default, read from Settings
}
#: Settings of the extension itself, then every server setting of kdlens.settings.OPTIONS.
SETTINGS_DEFAULTS: dict[str, Any] = {
    "kdlens.detectLogs": True,
    "kdlens.trace.server": "off",
    "kdlens.server.pythonPath": "",
    **{
        f"kdlens.{o.key}": getattr(Settings(), o.name)
        if o.kind is Kind.INTEGER
        else _KIND_SCHEMA[o.kind][1]
        for o in OPTIONS
    },
}
SETTINGS_TYPES = {
    "kdlens.detectLogs": "boolean",
    "kdlens.trace.server": "string",
    "kdlens.server.pythonPath": "string",
    **{f"kdlens.{o.key}": _KIND_SCHEMA[o.kind][0] for o in OPTIONS},
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
    "extension/server/launch.py",
}
VENDOR = "extension/server/vendor/"


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
        "extension/server/launch.py",
        "extension/server/vendor/pygls/__init__.py",
        "extension/server/vendor/lsprotocol/types.py",
        "extension/readme.md",
        "extension/LICENSE.txt",
        "extension/changelog.md",
        "extension/images/icon.png",
    ):
        assert required in names, required


def test_nothing_else_is_in_the_package(names: set[str]) -> None:
    inside = {n for n in names if n.startswith("extension/")}
    server = {n for n in inside if n.startswith(("extension/server/kdlens/", VENDOR))}
    assert inside - server == ALLOWED
    for n in names:
        assert "node_modules" not in n
        assert "__pycache__" not in n
        assert not n.endswith((".ts", ".pyc", ".pyo", ".map", ".mjs", "package-lock.json")), n
        # Pure Python only: nothing that depends on the user's platform.
        assert not n.endswith((".so", ".pyd", ".dll", ".dylib", ".exe")), n


def test_the_server_package_matches_the_sources(names: set[str]) -> None:
    """A module added to server/kdlens after the last `make vsix` shows up here."""
    packaged = {n for n in names if n.startswith("extension/server/kdlens/")}
    assert packaged == shipped_server_files(), "the .vsix is stale: run `make vsix`"


def locked() -> dict[str, str]:
    """name -> version of every pin in client/server-requirements.lock."""
    out: dict[str, str] = {}
    for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", LOCK.read_text("utf-8"), re.M):
        out[canonicalize_name(m.group(1))] = m.group(2)
    return out


def vendored(names: set[str]) -> dict[str, str]:
    """Top-level .dist-info folders of server/vendor: folder name -> distribution key."""
    out: dict[str, str] = {}
    for n in names:
        if n.startswith(VENDOR):
            top = n[len(VENDOR) :].split("/")[0]
            if top.endswith(".dist-info"):
                out[top] = canonicalize_name(top[: -len(".dist-info")].rsplit("-", 1)[0])
    return out


def test_the_lock_pins_every_library_with_a_hash() -> None:
    """pip's --require-hashes format: one exact version and at least one sha256 each."""
    text = LOCK.read_text("utf-8").replace("\\\n", " ")
    entries = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    pins = locked()
    assert len(entries) == len(pins) >= 7
    for line in entries:
        assert re.fullmatch(r"\S+==\S+( +--hash=sha256:[0-9a-f]{64})+ *", line), line
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^\[project\].*?^dependencies\s*=\s*\[(.*?)\]", pyproject, re.M | re.S)
    assert block is not None
    for text_req in re.findall(r'"([^"]+)"', block.group(1)):
        req = Requirement(text_req)
        key = canonicalize_name(req.name)
        assert key in pins, f"{req.name} from pyproject.toml is not locked"
        assert req.specifier.contains(pins[key], prereleases=True), (text_req, pins[key])
    # What the server needs on its oldest supported Python, beside pyproject.toml's list.
    assert {"attrs", "cattrs", "typing-extensions", "exceptiongroup"} <= set(pins)


def test_the_vendored_libraries_are_the_locked_versions(
    vsix: zipfile.ZipFile, names: set[str]
) -> None:
    pins = locked()
    dists = vendored(names)
    assert sorted(dists.values()) == sorted(pins), "server/vendor differs from the lock file"
    for folder, key in dists.items():
        meta = HeaderParser().parsestr(vsix.read(f"{VENDOR}{folder}/METADATA").decode("utf-8"))
        assert canonicalize_name(meta["Name"]) == key, folder
        assert meta["Version"] == pins[key], f"{folder}: METADATA says {meta['Version']}"


def test_every_vendored_library_carries_its_licence(vsix: zipfile.ZipFile, names: set[str]) -> None:
    for folder in vendored(names):
        prefix = f"{VENDOR}{folder}/"
        inside = {n[len(prefix) :] for n in names if n.startswith(prefix)}
        licences = {
            n
            for n in inside
            if n.startswith("licenses/")
            or re.match(r"(LICEN[CS]E|COPYING|NOTICE)", n.rsplit("/", 1)[-1], re.I)
        }
        assert licences, f"{folder} has no licence file: {sorted(inside)}"
        for name in licences:
            assert len(vsix.read(prefix + name).strip()) > 100, f"{folder}/{name} is empty"
        # Every License-File the metadata names is shipped too.
        meta = HeaderParser().parsestr(vsix.read(prefix + "METADATA").decode("utf-8"))
        for declared in meta.get_all("License-File") or []:
            assert f"licenses/{declared}" in inside or declared in inside, (folder, declared)


def test_the_vendored_files_are_exactly_what_the_wheels_installed(
    vsix: zipfile.ZipFile, names: set[str]
) -> None:
    """Each RECORD lists its wheel's files with their hashes: all shipped, unchanged, none more."""
    recorded: set[str] = set()
    for folder in vendored(names):
        record = vsix.read(f"{VENDOR}{folder}/RECORD").decode("utf-8")
        for row in csv.reader(io.StringIO(record)):
            if not row:
                continue
            path, digest = row[0], row[1]
            assert not path.startswith(("../", "/")), f"{folder} installs outside vendor/: {path}"
            recorded.add(VENDOR + path)
            if digest:
                algo, _, want = digest.partition("=")
                data = vsix.read(VENDOR + path)
                got = base64.urlsafe_b64encode(hashlib.new(algo, data).digest()).rstrip(b"=")
                assert got.decode("ascii") == want, f"{path} differs from its wheel"
    shipped = {n for n in names if n.startswith(VENDOR)}
    assert shipped == recorded
    for n in shipped:
        parts = n[len(VENDOR) :].split("/")
        assert not {"tests", "test", "testing", "bin"} & set(parts[:-1]), n


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


def test_the_shipped_cli_runs_from_the_extracted_package(
    extracted: Path, system_python: Interpreter
) -> None:
    """The terminal fallback for large logs: python -I <extension>/server/launch.py check FILE."""
    res = subprocess.run(
        [
            system_python.executable,
            "-I",
            str(extracted / "server" / "launch.py"),
            "check",
            "--format",
            "json",
            "--fail-on",
            "never",
            str(EXAMPLE_LOG),
        ],
        env=minimal_env(),
        cwd=extracted.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    codes = {d["code"] for f in report["files"] for d in f["diagnostics"]}
    assert {"bug-check", "leaked-allocation"} <= codes
