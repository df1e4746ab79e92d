"""End to end against the real server process: diagnostics, definition, edits, settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from lsp_support import open_log, wait_diagnostics

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.checks.LspSpecificationWarning")


def _leaks(diags: object) -> list[lsp.Diagnostic]:
    return [d for d in diags if d.code == "leaked-allocation"]  # type: ignore[attr-defined]


def _pos_of(text: str, needle: str, nth: int = 0) -> lsp.Position:
    lines = text.splitlines()
    seen = 0
    for i, line in enumerate(lines):
        col = line.find(needle)
        if col >= 0:
            if seen == nth:
                return lsp.Position(line=i, character=col + 1)
            seen += 1
    raise AssertionError(f"{needle!r} not in the log")


async def test_seed_diagnostics_on_the_log_and_on_the_source(
    client: LanguageClient, workspace: Path
) -> None:
    log = workspace / "kd.log"
    text = log.read_text(encoding="utf-8")
    uri = open_log(client, log)
    diags = await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 3)
    lines = text.splitlines()
    leaks = sorted(_leaks(diags), key=lambda d: d.range.start.line)
    assert [lines[d.range.start.line].strip().split()[0] for d in leaks] == [
        "0x982a8fe0",
        "0x8645a000",
        "0x9a836fd0",
    ]
    assert all(d.severity == lsp.DiagnosticSeverity.Warning for d in leaks)
    bug = [d for d in diags if d.code == "bug-check"]
    assert len(bug) == 1 and bug[0].severity == lsp.DiagnosticSeverity.Error
    assert bug[0].code_description is not None
    assert leaks[0].related_information

    src_uri = (workspace / "wdmdrivers" / "mydriver" / "handleioctl.c").resolve().as_uri()
    src = await wait_diagnostics(client, src_uri, lambda d: len(d) == 3)
    assert sorted(d.range.start.line for d in src) == [37, 49, 71]
    mdrv = next(d for d in src if d.range.start.line == 37)
    assert mdrv.message.startswith("leaked 0x1008 (4,104) bytes, tag 'mdrv', see kd.log:")


async def test_definition_of_each_caller(client: LanguageClient, workspace: Path) -> None:
    log = workspace / "kd.log"
    text = log.read_text(encoding="utf-8")
    uri = open_log(client, log)
    await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 3)
    expected = {"0x9a3bf6ac": 49, "0x9a3bf687": 37, "0x9a3bf6ed": 71}
    target = (workspace / "wdmdrivers" / "mydriver" / "handleioctl.c").resolve().as_uri()
    for caller, line in expected.items():
        # the caller column of the Pool Allocations table
        pos = _pos_of(text, f"  {caller}  ")
        pos = lsp.Position(line=pos.line, character=pos.character + 2)
        result = await client.text_document_definition_async(
            lsp.DefinitionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)
        )
        assert isinstance(result, list) and len(result) == 1
        loc = result[0]
        assert isinstance(loc, lsp.Location)
        assert loc.uri == target
        assert loc.range.start.line == line


async def test_references_of_an_address(client: LanguageClient, workspace: Path) -> None:
    log = workspace / "kd.log"
    text = log.read_text(encoding="utf-8")
    uri = open_log(client, log)
    await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 3)
    pos = _pos_of(text, "0x982a8fe0  0x00000020")
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            position=pos,
            context=lsp.ReferenceContext(include_declaration=True),
        )
    )
    assert refs is not None
    lines = text.splitlines()
    spelled = {
        lines[r.range.start.line][r.range.start.character : r.range.end.character] for r in refs
    }
    assert spelled == {"0x982a8fe0", "982a8fe0"}
    # the table row, the !verifier 0x80 command, its search line and its Pool block header
    assert len(refs) >= 4


async def test_incremental_edit_updates_diagnostics(
    client: LanguageClient, workspace: Path
) -> None:
    log = workspace / "kd.log"
    text = log.read_text(encoding="utf-8")
    uri = open_log(client, log)
    await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 3)
    pos = _pos_of(text, "Arg4: 00000003")
    col = text.splitlines()[pos.line].index("00000003") + 7
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                lsp.TextDocumentContentChangePartial(
                    range=lsp.Range(
                        start=lsp.Position(line=pos.line, character=col),
                        end=lsp.Position(line=pos.line, character=col + 1),
                    ),
                    text="4",
                )
            ],
        )
    )
    diags = await wait_diagnostics(
        client, uri, lambda d: any(x.code == "leak-count-mismatch" for x in d)
    )
    mism = next(d for d in diags if d.code == "leak-count-mismatch")
    assert mism.range.start.line == pos.line
    assert "4 allocations" in mism.message


async def test_close_withdraws_diagnostics(client: LanguageClient, workspace: Path) -> None:
    log = workspace / "kd.log"
    uri = open_log(client, log)
    await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 3)
    src_uri = (workspace / "wdmdrivers" / "mydriver" / "handleioctl.c").resolve().as_uri()
    await wait_diagnostics(client, src_uri, lambda d: len(d) == 3)
    client.text_document_did_close(
        lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    )
    await wait_diagnostics(client, uri, lambda d: len(d) == 0)
    await wait_diagnostics(client, src_uri, lambda d: len(d) == 0)


async def test_configuration_change_reanalyzes(client: LanguageClient, workspace: Path) -> None:
    log = workspace / "kd.log"
    uri = open_log(client, log)
    await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 3)
    client.set_configuration(
        {"allocatorWrappers": ["MyDriver!DeviceControlDispatch"]}, section="kdlens"
    )
    client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(
            settings={"kdlens": {"allocatorWrappers": ["MyDriver!DeviceControlDispatch"]}}
        )
    )
    diags = await wait_diagnostics(
        client, uri, lambda d: any("NonPNPIRPDispatch" in x.message for x in _leaks(d))
    )
    assert sum("NonPNPIRPDispatch" in x.message for x in _leaks(diags)) == 2


async def test_cancelled_request_leaves_the_server_healthy(
    client: LanguageClient, workspace: Path
) -> None:
    log = workspace / "kd.log"
    # a long session keeps the server busy analysing while the request waits
    filler = "".join(
        f"kd> !verifier 0x80 0x{0x90000000 + i * 0x40:08x}\n\nPool block {0x90000000 + i * 0x40:08x}, Size 00000040, Thread 9c158bc0\n"
        "81b2619e nt!VerifierExAllocatePoolWithTag+0x24\n9a3bf687 MyDriver!DeviceControlDispatch+0x27\n\n"
        for i in range(20000)
    )
    text = log.read_text(encoding="utf-8") + filler
    uri = open_log(client, workspace / "big.log", text)
    params = lsp.ReferenceParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        position=_pos_of(text, "0x982a8fe0  0x00000020"),
        context=lsp.ReferenceContext(include_declaration=True),
    )
    # sent while the log is still being analysed, then cancelled at once
    fut = client.protocol.send_request(lsp.TEXT_DOCUMENT_REFERENCES, params, msg_id="cancel-me")
    client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id="cancel-me"))
    try:
        answer = await asyncio.wait_for(asyncio.wrap_future(fut), 20)
    except JsonRpcRequestCancelled:
        answer = "cancelled"
    assert answer == "cancelled"
    await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 3)
    refs = await client.text_document_references_async(params)
    assert refs is not None and len(refs) >= 4
