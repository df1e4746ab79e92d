"""Symbol files through the real server: ``kdlens.symbolPath`` turns bare addresses into lines.

The logs print no ``ln`` and no ``[file @ line]``; every jump below is
computed from the fixture driver's PDBs, found in a symbol store outside the
workspace. The sources are found in the workspace by their path suffix.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from fixtures.symbols.symtest import (
    X64_FRAMES,
    X64_LOG,
    X86_FRAMES,
    X86_LOG,
    copy_sources,
    flat,
    key_of,
    store,
)
from lsp_support import open_log, wait_diagnostics

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.checks.LspSpecificationWarning")

#: The server's table cache, private to this module (KDLENS_CACHE_DIR).
CACHE = Path(tempfile.mkdtemp(prefix="kdlens-symbols-e2e-"))
REMOTE = "https://symbols.invalid/download"
SERVER_ENV = {
    **{k: v for k, v in os.environ.items() if k != "_NT_SYMBOL_PATH"},
    "KDLENS_CACHE_DIR": str(CACHE),
}


@pytest.fixture(scope="module", autouse=True)
def _remove_cache() -> Iterator[None]:
    yield
    shutil.rmtree(CACHE, ignore_errors=True)


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("symbols-e2e")
    ws = root / "ws"
    copy_sources(ws)
    shutil.copy(X64_LOG, ws / "x64.log")
    shutil.copy(X86_LOG, ws / "x86.log")
    good = store(root / "store", "x64-O2", "x86-O0")
    wrong = flat(root / "wrong", "x64-O0")
    broken = store(root / "broken", "x64-O2")
    target = broken / "mydriver.pdb" / key_of("x64-O2") / "mydriver.pdb"
    target.write_bytes(target.read_bytes()[:20000])
    return {"ws": ws, "good": good, "wrong": wrong, "broken": broken}


@pytest_lsp.fixture(  # type: ignore[untyped-decorator]
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "kdlens", "serve"], server_env=SERVER_ENV
    ),
)
async def client(lsp_client: LanguageClient, places: dict[str, Path]):  # type: ignore[no-untyped-def]
    ws = places["ws"]
    settings = {"symbolPath": f"srv*{places['good']}*{REMOTE}"}
    lsp_client.set_configuration(settings, section="kdlens")
    await lsp_client.initialize_session(
        lsp.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=ws.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
            initialization_options={"kdlens": settings},
        )
    )
    yield
    await lsp_client.shutdown_session()


def _leaks(diags: object) -> list[lsp.Diagnostic]:
    return [d for d in diags if d.code == "leaked-allocation"]  # type: ignore[attr-defined]


def _find(text: str, needle: str, nth: int = 0) -> lsp.Position:
    seen = 0
    for i, line in enumerate(text.splitlines()):
        col = line.find(needle)
        if col >= 0:
            if seen == nth:
                return lsp.Position(line=i, character=col + 1)
            seen += 1
    raise AssertionError(f"{needle!r} not in the log")


async def _definition(client: LanguageClient, uri: str, pos: lsp.Position) -> tuple[str, int]:
    result = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)
    )
    assert isinstance(result, list) and len(result) == 1, (pos, result)
    loc = result[0]
    assert isinstance(loc, lsp.Location)
    return loc.uri.rsplit("/", 1)[-1], loc.range.start.line + 1


async def _open(client: LanguageClient, path: Path) -> tuple[str, str, list[lsp.Diagnostic]]:
    text = path.read_text(encoding="utf-8")
    uri = open_log(client, path)
    diags = await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 3)
    return uri, text, list(diags)


async def test_x64_callers_and_frames_jump_to_the_pdb_lines(
    client: LanguageClient, places: dict[str, Path]
) -> None:
    uri, text, diags = await _open(client, places["ws"] / "x64.log")
    assert not [d for d in diags if str(d.code).startswith("symbol-")]
    assert [d.message.rsplit(" at ", 1)[-1] for d in _leaks(diags)] == [
        "alloc.c:13",
        "workitem.c:28",
        "alloc.c:13",
    ]
    # the leaks land on the sources too
    alloc_uri = (places["ws"] / "src" / "alloc.c").resolve().as_uri()
    # two leaks allocated on one line: one diagnostic there, listing both
    (on_source,) = await wait_diagnostics(client, alloc_uri, lambda d: len(d) == 1)
    assert on_source.range.start.line == 12
    assert on_source.message.startswith("2 leaks here: 2 pool blocks (")
    assert on_source.related_information is not None
    assert len(on_source.related_information) == 2

    checked = 0
    for display, expected in X64_FRAMES.items():
        # every spelling of the frame: the table's caller column, 0x80 records, kn rows
        for nth in range(text.count(display)):
            assert await _definition(client, uri, _find(text, display, nth)) == expected
            checked += 1
    assert checked == 12
    for line in text.splitlines():
        if "  MyDr  0x" in line or "  Vfwi  0x" in line:
            caller = line.split()[3]
            pos = _find(text, line)
            pos = lsp.Position(line=pos.line, character=line.index(caller) + 1)
            got = await _definition(client, uri, pos)
            assert got == X64_FRAMES[line.split()[4]]


async def test_x86_legacy_table_resolves_through_the_inferred_base(
    client: LanguageClient, places: dict[str, Path]
) -> None:
    uri, text, diags = await _open(client, places["ws"] / "x86.log")
    assert not [d for d in diags if str(d.code).startswith("symbol-")]
    assert [d.message.rsplit(" at ", 1)[-1] for d in _leaks(diags)] == [
        "alloc.c:13",
        "workitem.c:28",
        "alloc.c:13",
    ]
    rows = [ln for ln in text.splitlines() if ln.startswith("a4b") and "     0x00000" in ln]
    assert len(rows) == 3
    expected = [
        X86_FRAMES["MyDriver!MyAllocate+0x35"],
        X86_FRAMES["MyDriver!QueueDeferredWork+0x83"],
    ]
    expected.append(expected[0])
    for row, want in zip(rows, expected, strict=True):
        caller = row.split()[3]
        pos = _find(text, row)
        pos = lsp.Position(line=pos.line, character=row.index(caller) + 1)
        assert await _definition(client, uri, pos) == want
    checked = 0
    for display, want in X86_FRAMES.items():
        for nth in range(text.count(display)):
            assert await _definition(client, uri, _find(text, display, nth)) == want
            checked += 1
    assert checked == 12
    hover = await client.text_document_hover_async(
        lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            position=_find(text, "MyDriver!StreamRequest+0x37"),
        )
    )
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "stream.cpp:45" in hover.contents.value
    assert "unverified: matched by name only" in hover.contents.value


async def test_remote_servers_are_mentioned_once(
    client: LanguageClient, places: dict[str, Path]
) -> None:
    await _open(client, places["ws"] / "x64.log")
    notes = [
        m for m in client.log_messages if "remote symbol servers are not contacted" in m.message
    ]
    assert len(notes) == 1 and REMOTE in notes[0].message


async def _reconfigure(client: LanguageClient, symbol_path: str) -> None:
    settings = {"symbolPath": symbol_path}
    client.set_configuration(settings, section="kdlens")
    client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"kdlens": settings})
    )


async def test_mismatched_pdb_is_reported_and_not_used(
    client: LanguageClient, places: dict[str, Path]
) -> None:
    uri, text, _ = await _open(client, places["ws"] / "x64.log")
    await _reconfigure(client, str(places["wrong"]))
    diags = await wait_diagnostics(
        client, uri, lambda d: any(x.code == "symbol-mismatch" for x in d)
    )
    (mismatch,) = [d for d in diags if d.code == "symbol-mismatch"]
    assert mismatch.severity == lsp.DiagnosticSeverity.Information
    row = text.splitlines()[mismatch.range.start.line]
    assert row.startswith("fffff807`1b2b0000") and "(private pdb symbols)" in row
    assert "7834772B-26A0-5685-4C4C-44205044422E" in mismatch.message  # expected (!lmi)
    assert "56579EC8-A7D0-6FF5-4C4C-44205044422E" in mismatch.message  # found
    assert not any(" at alloc.c" in d.message for d in _leaks(diags))
    result = await client.text_document_definition_async(
        lsp.DefinitionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            position=_find(text, "mydriver!MyAllocate+0x1d"),
        )
    )
    assert not result


async def test_corrupted_pdb_is_reported_and_the_server_keeps_working(
    client: LanguageClient, places: dict[str, Path]
) -> None:
    uri, text, _ = await _open(client, places["ws"] / "x64.log")
    await _reconfigure(client, str(places["broken"]))
    diags = await wait_diagnostics(client, uri, lambda d: any(x.code == "symbol-error" for x in d))
    (error,) = [d for d in diags if d.code == "symbol-error"]
    assert "cannot be read" in error.message
    assert len(_leaks(diags)) == 3
    hover = await client.text_document_hover_async(
        lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=_find(text, "MyDr")
        )
    )
    assert hover is not None
    # and back to a good store: lines again
    await _reconfigure(client, str(places["good"]))
    diags = await wait_diagnostics(
        client, uri, lambda d: not any(x.code == "symbol-error" for x in d)
    )
    assert any(" at alloc.c:13" in d.message for d in _leaks(diags))
