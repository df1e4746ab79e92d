"""Hover, outline, actions, hints and lenses through the real server; the x64 layout end to end."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from helpers import FIXTURES
from lsp_support import open_log, wait_diagnostics

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.checks.LspSpecificationWarning")

X64 = FIXTURES / "logs" / "x64-vf-target.log"


def _at(text: str, needle: str, offset: int = 0) -> lsp.Position:
    for i, line in enumerate(text.splitlines()):
        col = line.find(needle)
        if col >= 0:
            return lsp.Position(line=i, character=col + offset)
    raise AssertionError(f"{needle!r} not in the log")


async def _hover(client: LanguageClient, uri: str, pos: lsp.Position) -> str:
    h = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)
    )
    assert h is not None
    assert isinstance(h.contents, lsp.MarkupContent)
    assert h.contents.kind == lsp.MarkupKind.Markdown
    return h.contents.value


async def _ready(client: LanguageClient, workspace: Path) -> tuple[str, str]:
    log = workspace / "kd.log"
    text = log.read_text(encoding="utf-8")
    uri = open_log(client, log)
    await wait_diagnostics(
        client, uri, lambda d: sum(x.code == "leaked-allocation" for x in d) == 3
    )
    return uri, text


async def test_hovers_on_the_seed(client: LanguageClient, workspace: Path) -> None:
    uri, text = await _ready(client, workspace)
    arg1 = await _hover(client, uri, _at(text, "Arg1: 00000062", 1))
    assert "0x62" in arg1 and "unload" in arg1.lower()
    arg4 = await _hover(client, uri, _at(text, "Arg4: 00000003", 8))
    assert "3 allocations" in arg4
    mask = await _hover(client, uri, _at(text, "0x000209bb", 3))
    assert "special pool" in mask.lower() and "pool tracking" in mask.lower()
    flag = await _hover(client, uri, _at(text, "Pool tracking", 2))
    assert "0xC4" in flag or "0xc4" in flag
    vmdl = await _hover(client, uri, _at(text, "VMdl", 1))
    assert "IoAllocateMdl" in vmdl
    vfwi = await _hover(client, uri, _at(text, "Vfwi", 1))
    assert "IoAllocateWorkItem" in vfwi
    size = await _hover(client, uri, _at(text, "0x00001008", 4))
    assert "4,104" in size


async def test_outline_folding_hints_lens_and_actions(
    client: LanguageClient, workspace: Path
) -> None:
    uri, text = await _ready(client, workspace)
    doc = lsp.TextDocumentIdentifier(uri=uri)
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(text_document=doc)
    )
    assert symbols
    names = [s.name for s in symbols]
    assert "!analyze -v" in names and "!verifier 3 Mydriver.sys" in names
    folds = await client.text_document_folding_range_async(
        lsp.FoldingRangeParams(text_document=doc)
    )
    assert folds and len(folds) >= 8
    n = len(text.splitlines())
    hints = await client.text_document_inlay_hint_async(
        lsp.InlayHintParams(
            text_document=doc,
            range=lsp.Range(
                start=lsp.Position(line=0, character=0), end=lsp.Position(line=n, character=0)
            ),
        )
    )
    labels = [
        h.label if isinstance(h.label, str) else "".join(p.value for p in h.label)
        for h in hints or []
    ]
    assert any("3 leaked allocations" in x for x in labels)
    assert any("handleioctl.c:38" in x for x in labels)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=doc))
    assert lenses and any(
        lens.command and lens.command.title == "3 leaks · 4,184 bytes · 2 call sites"
        for lens in lenses
    )


async def test_x64_vf_target_layout(client: LanguageClient, workspace: Path) -> None:
    src = workspace / "pooldrv"
    src.mkdir(exist_ok=True)
    (src / "context.c").write_text("\n".join(f"/* line {i} */" for i in range(1, 60)) + "\n")
    (src / "queue.c").write_text("\n".join(f"/* line {i} */" for i in range(1, 100)) + "\n")
    shutil.copy(X64, workspace / "x64.log")
    text = (workspace / "x64.log").read_text(encoding="utf-8")
    uri = open_log(client, workspace / "x64.log")
    diags = await wait_diagnostics(
        client, uri, lambda d: sum(x.code == "leaked-allocation" for x in d) == 3
    )
    assert sum(d.code == "bug-check" for d in diags) == 1
    doc = lsp.TextDocumentIdentifier(uri=uri)
    # the caller column, x64 with 0x and 16 digits; ln resolves it to context.c:41
    res = await client.text_document_definition_async(
        lsp.DefinitionParams(
            text_document=doc, position=_at(text, "0xfffff8071b2c1014  PoolDrv", 3)
        )
    )
    assert isinstance(res, list) and res[0].uri == (src / "context.c").resolve().as_uri()
    assert res[0].range.start.line == 40
    # the caller symbol of the second row resolves through the kn stack's [file @ line]
    res = await client.text_document_definition_async(
        lsp.DefinitionParams(
            text_document=doc, position=_at(text, "PoolDrv!PdQueueRequest+0x88", 9)
        )
    )
    assert isinstance(res, list) and res[0].uri == (src / "queue.c").resolve().as_uri()
    assert res[0].range.start.line == 76
    # references: the backtick spelling in the stack and the 0x spelling in the table
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=doc,
            position=_at(text, "0xfffff8071b2c13a8", 4),
            context=lsp.ReferenceContext(include_declaration=True),
        )
    )
    lines = text.splitlines()
    spelled = {
        lines[r.range.start.line][r.range.start.character : r.range.end.character]
        for r in refs or []
    }
    assert spelled == {"0xfffff8071b2c13a8", "fffff807`1b2c13a8"}
    # the third caller resolves nowhere: no definition, and the hover says why
    pos = _at(text, "0xfffff8071b2c17f0", 4)
    assert (
        await client.text_document_definition_async(
            lsp.DefinitionParams(text_document=doc, position=pos)
        )
        is None
    )
    why = await _hover(client, uri, pos)
    assert "resolve" in why.lower() or "no source" in why.lower()


async def test_copy_command_answers_the_text_and_shows_it(
    client: LanguageClient, workspace: Path
) -> None:
    await _ready(client, workspace)
    result = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(
            command="kdlens.copyCommand", arguments=["!verifier 0x80 0x982a8fe0"]
        )
    )
    assert result == "!verifier 0x80 0x982a8fe0"
    # this client did not say it copies by itself, so the server shows the text
    await asyncio.wait_for(_message_with(client, "!verifier 0x80 0x982a8fe0"), 30)


async def _message_with(client: LanguageClient, needle: str) -> None:
    while not any(needle in m.message for m in client.messages):
        await client.wait_for_notification(lsp.WINDOW_SHOW_MESSAGE)


async def test_a_tag_hover_never_waits_for_the_workspace_walk(
    client: LanguageClient, workspace: Path
) -> None:
    """A FIFO named like a source file cannot block the server; the literal is found beside it."""
    fifo = workspace / "wdmdrivers" / "blocked.c"
    if not fifo.exists():
        os.mkfifo(fifo)
    uri, text = await _ready(client, workspace)
    pos = _at(text, "mdrv", 1)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30.0
    while True:
        md = await asyncio.wait_for(_hover(client, uri, pos), 10.0)  # answered at once either way
        if "hover again shortly" not in md:
            break
        assert loop.time() < deadline, "the workspace walk never finished"
        await asyncio.sleep(0.05)  # polling a condition: each hover is answered immediately
    assert "`wdmdrivers/mydriver/handleioctl.c:38`" in md
    # the server still answers everything else
    assert await asyncio.wait_for(_hover(client, uri, _at(text, "Arg1: 00000062", 1)), 10.0)
