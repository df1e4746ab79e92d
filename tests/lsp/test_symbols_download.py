"""Symbol downloads through the real server: local diagnostics first, then the download.

A ``kdlens serve`` process gets a symbol path whose only store is a trusted
server on 127.0.0.1 (``fixtures/symbols/symserver.py``). Opening the log
publishes what the local folders allow (no source lines), shows work-done
progress while the PDB arrives, and publishes again with the lines; go to
definition then lands on the fixture sources. A second server process over
the same cache asks nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from fixtures.symbols.symserver import StoreServer, serve_store
from fixtures.symbols.symtest import X64_FRAMES, X64_LOG, copy_sources
from lsp_support import open_log, wait_diagnostics

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.checks.LspSpecificationWarning")


#: Everything of this module (workspace, stores, caches): the server's environment names it.
ROOT = Path(tempfile.mkdtemp(prefix="kdlens-symsrv-lsp-"))


@pytest.fixture(scope="module")
def places() -> Iterator[dict[str, object]]:
    root = ROOT
    ws = root / "ws"
    copy_sources(ws)
    shutil.copy(X64_LOG, ws / "x64.log")
    with serve_store(root / "stores", root / "shared") as server:
        yield {"ws": ws, "server": server, "cache": root / "symcache"}
    shutil.rmtree(root, ignore_errors=True)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "_NT_SYMBOL_PATH"}
    env["KDLENS_CACHE_DIR"] = str(ROOT / "tables")
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        env.pop(name, None)
    return env


async def _start(client: LanguageClient, places: dict[str, object]) -> None:
    ws = places["ws"]
    server = places["server"]
    assert isinstance(ws, Path) and isinstance(server, StoreServer)
    settings = {
        "symbolPath": f"srv*{places['cache']}*{server.url}/packed",
        "trustedSymbolServers": [server.url],
    }
    client.set_configuration(settings, section="kdlens")
    await client.initialize_session(
        lsp.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=ws.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
            initialization_options={"kdlens": settings},
        )
    )


def _leaks(diags: object) -> list[lsp.Diagnostic]:
    return [d for d in diags if d.code == "leaked-allocation"]  # type: ignore[attr-defined]


def _find(text: str, needle: str) -> lsp.Position:
    for i, line in enumerate(text.splitlines()):
        col = line.find(needle)
        if col >= 0:
            return lsp.Position(line=i, character=col + 1)
    raise AssertionError(needle)


async def _definition(client: LanguageClient, uri: str, pos: lsp.Position) -> tuple[str, int]:
    result = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)
    )
    assert isinstance(result, list) and len(result) == 1, (pos, result)
    return result[0].uri.rsplit("/", 1)[-1], result[0].range.start.line + 1


def _resolved(diags: object) -> bool:
    leaks = _leaks(diags)
    return len(leaks) == 3 and all(" at " in d.message for d in leaks)


@pytest_lsp.fixture(  # type: ignore[untyped-decorator]
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "kdlens", "serve"], server_env=_env()
    )
)
async def client(lsp_client: LanguageClient, places: dict[str, object]) -> AsyncIterator[None]:
    await _start(lsp_client, places)
    yield
    await lsp_client.shutdown_session()
    errors = [m.message for m in lsp_client.log_messages if m.type == lsp.MessageType.Error]
    assert errors == []


async def test_local_first_then_the_download_is_published_with_lines(
    client: LanguageClient, places: dict[str, object]
) -> None:
    ws, server = places["ws"], places["server"]
    assert isinstance(ws, Path) and isinstance(server, StoreServer)
    before = len(server.requests)
    text = (ws / "x64.log").read_text(encoding="utf-8")
    uri = open_log(client, ws / "x64.log")
    first = await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 3)
    if not _resolved(first):  # the usual case: the PDB was not there yet
        assert not [d for d in _leaks(first) if " at " in d.message]
    diags = await wait_diagnostics(client, uri, _resolved)
    assert [d.message.rsplit(" at ", 1)[-1] for d in _leaks(diags)] == [
        "alloc.c:13",
        "workitem.c:28",
        "alloc.c:13",
    ]
    assert not [d for d in diags if str(d.code).startswith("symbol-")]
    for display, expected in X64_FRAMES.items():
        assert await _definition(client, uri, _find(text, display)) == expected
    # progress was shown, naming the file and its size
    reports = [
        getattr(value, "message", None) or ""
        for values in client.progress_reports.values()
        for value in values
    ]
    assert any(r.startswith("downloading mydriver.pdb") for r in reports), reports
    assert any(m.message.startswith("kdlens: downloaded mydriver.pdb") for m in client.log_messages)
    assert server.paths("/packed/")[-1].endswith("/mydriver.pd_")
    assert len(server.requests) > before
    cache = places["cache"]
    assert isinstance(cache, Path) and any(cache.rglob("mydriver.pdb"))


async def test_a_second_server_process_reuses_the_cache_without_a_request(
    client: LanguageClient, places: dict[str, object]
) -> None:
    """Runs after the first test (same module): the cache is filled, so nothing is asked."""
    ws, server, cache = places["ws"], places["server"], places["cache"]
    assert isinstance(ws, Path) and isinstance(server, StoreServer) and isinstance(cache, Path)
    if not any(cache.rglob("mydriver.pdb")):
        pytest.skip("needs the download of the previous test")
    before = len(server.requests)
    uri = open_log(client, ws / "x64.log")
    diags = await wait_diagnostics(client, uri, _resolved)
    assert len(_leaks(diags)) == 3
    assert len(server.requests) == before
    assert client.progress_reports == {}
