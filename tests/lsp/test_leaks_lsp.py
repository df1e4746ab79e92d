"""Every leak kind through the real server: log and source diagnostics, hovers,
definitions, references, lenses and the poolTagFile setting."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from helpers import FIXTURES
from lsp_support import open_log, wait_diagnostics

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.checks.LspSpecificationWarning")

MIXED = FIXTURES / "logs" / "leak-mixed.log"
LEAK_CODES = {"leaked-allocation", "leaked-handle"}
POOLTAG = "rem the user's own table\nAbcd - widget.sys - Widget buffers\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Overrides the seed workspace of conftest: the mixed log and its sources."""
    root = tmp_path_factory.mktemp("leaks")
    src = root / "sampler"
    src.mkdir()
    body = [f"// worker.cpp stand-in, line {i}" for i in range(1, 41)]
    body[11] = "    m_event = CreateEventW(nullptr, TRUE, FALSE, nullptr);"
    body[13] = "    m_buffer = new char[64];"
    (src / "worker.cpp").write_text("\n".join(body) + "\n")
    shutil.copy(MIXED, root / "app.log")
    shutil.copy(FIXTURES / "logs" / "leak-poolused.log", root / "pool.log")
    shutil.copy(FIXTURES / "logs" / "leak-crt.log", root / "crt.log")
    (root / "pooltag.txt").write_text(POOLTAG)
    return root


def _leaks(diags: object) -> list[lsp.Diagnostic]:
    return [d for d in diags if d.code in LEAK_CODES]  # type: ignore[attr-defined]


def _pos(text: str, needle: str, nth: int = 0) -> lsp.Position:
    seen = 0
    for i, line in enumerate(text.splitlines()):
        col = line.find(needle)
        if col >= 0:
            if seen == nth:
                return lsp.Position(line=i, character=col + 1)
            seen += 1
    raise AssertionError(f"{needle!r} not in the log")


async def _open(client: LanguageClient, path: Path) -> tuple[str, str, list[lsp.Diagnostic]]:
    text = path.read_text(encoding="utf-8")
    uri = open_log(client, path)
    diags = await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 5)
    return uri, text, list(diags)


async def _hover(client: LanguageClient, uri: str, pos: lsp.Position) -> str:
    result = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)
    )
    assert result is not None and isinstance(result.contents, lsp.MarkupContent)
    return result.contents.value


async def _definition(client: LanguageClient, uri: str, pos: lsp.Position) -> tuple[str, int]:
    result = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)
    )
    assert isinstance(result, list) and len(result) == 1, (pos, result)
    return result[0].uri.rsplit("/", 1)[-1], result[0].range.start.line + 1


async def test_every_kind_on_the_log_and_on_the_source(
    client: LanguageClient, workspace: Path
) -> None:
    uri, text, diags = await _open(client, workspace / "app.log")
    lines = text.splitlines()
    got = sorted((d.range.start.line + 1, d.code) for d in _leaks(diags))
    assert got == [
        (8, "leaked-handle"),  # !htrace -diff
        (25, "leaked-allocation"),  # !heap -l
        (39, "leaked-allocation"),  # CRT dump
        (41, "leaked-allocation"),
        (45, "leaked-handle"),  # Application Verifier stop 0x901
    ]
    assert lines[44].startswith("VERIFIER STOP 00000901")

    src_uri = (workspace / "sampler" / "worker.cpp").resolve().as_uri()
    src = await wait_diagnostics(client, src_uri, lambda d: len(d) == 2)
    by_line = {d.range.start.line + 1: d for d in src}
    assert set(by_line) == {12, 14}
    assert by_line[12].message == (
        "4 leaks here: 2 handles, 2 heap blocks (0x40, 0x40 bytes), see app.log:8"
    )
    assert by_line[14].message == "leaked heap block of 0x40 (64) bytes, see app.log:25"
    related = by_line[12].related_information or []
    assert sorted(r.location.range.start.line + 1 for r in related) == [8, 39, 41, 45]
    assert all(r.location.uri == uri for r in related)
    # the diagnostic covers the text of the allocating line
    assert by_line[14].range.start.character == 4

    client.text_document_did_close(
        lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    )
    await wait_diagnostics(client, src_uri, lambda d: len(d) == 0)


async def test_hovers_and_definitions_on_each_kind(client: LanguageClient, workspace: Path) -> None:
    uri, text, _ = await _open(client, workspace / "app.log")
    handle = await _hover(client, uri, _pos(text, "0x00000128"))
    assert handle.startswith("**Handle `0x128`**: OPEN")
    assert "Opened by `Sampler!Worker::Start+0x32`" in handle
    row = await _hover(client, uri, _pos(text, "0052b128  00520000"))
    assert "Size: `0x40` = 64 bytes" in row and "!heap -p -a record for this block" in row
    crt = await _hover(client, uri, _pos(text, "{232}"))
    assert "`_CrtSetBreakAlloc(232)`" in crt
    stop = await _hover(client, uri, _pos(text, "00000128 :"))
    assert "the leaked handle (parameter 1)" in stop
    assert "!htrace record of this handle (line 8)" in stop
    frame = await _hover(client, uri, _pos(text, "Sampler!Worker::Start+0x0000005d"))
    assert "**the allocating site**" in frame

    expected = {
        "0x00000128": 12,  # the handle -> the line that opened it
        "00000128 :": 12,  # the same handle in the verifier stop
        "0052b128  00520000": 14,  # the unreachable block -> its allocating line
        "{231}": 12,  # the CRT block number
        "Sampler!Worker::Start+0x0000005d": 14,  # a frame of the !heap -p -a stack
    }
    for needle, line in expected.items():
        assert await _definition(client, uri, _pos(text, needle)) == ("worker.cpp", line), needle


async def test_references_of_a_handle_across_kinds(client: LanguageClient, workspace: Path) -> None:
    uri, text, _ = await _open(client, workspace / "app.log")
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            position=_pos(text, "00000128 :"),
            context=lsp.ReferenceContext(include_declaration=True),
        )
    )
    assert refs is not None
    assert sorted(r.range.start.line + 1 for r in refs) == [8, 47]


async def test_lenses_and_outline(client: LanguageClient, workspace: Path) -> None:
    uri, _, _ = await _open(client, workspace / "app.log")
    doc = lsp.TextDocumentIdentifier(uri=uri)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=doc))
    assert lenses is not None
    titles = {(lens.range.start.line, lens.command.title) for lens in lenses if lens.command}
    assert (
        0,
        "5 leaks: 2 handles, 2 heap blocks (CRT debug heap), 1 heap block (unreachable) · 2 call sites",
    ) in titles
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(text_document=doc)
    )
    names: list[str] = []
    stack = list(symbols or [])
    while stack:
        s = stack.pop()
        assert isinstance(s, lsp.DocumentSymbol)
        names.append(s.name)
        stack.extend(s.children or [])
    assert "!htrace -diff" in names and "CRT leak dump (2 blocks)" in names


async def test_crt_dump_alone_lands_on_its_printed_line(
    client: LanguageClient, workspace: Path
) -> None:
    (workspace / "tally").mkdir(exist_ok=True)
    (workspace / "tally" / "ledger.cpp").write_text(
        "".join(f"    ledger line {i};\n" for i in range(1, 100))
    )
    path = workspace / "crt.log"
    uri = open_log(client, path)
    await wait_diagnostics(client, uri, lambda d: len(_leaks(d)) == 4)
    src_uri = (workspace / "tally" / "ledger.cpp").resolve().as_uri()
    (diag,) = await wait_diagnostics(client, src_uri, lambda d: len(d) == 1)
    assert diag.range.start.line == 87
    assert diag.message == "2 leaks here: 2 heap blocks (0x40, 0x40 bytes), see crt.log:5"


async def test_pool_tag_file_setting(client: LanguageClient, workspace: Path) -> None:
    path = workspace / "pool.log"
    text = path.read_text(encoding="utf-8")
    uri = open_log(client, path)
    await wait_diagnostics(client, uri, lambda d: any(x.code == "pool-growth" for x in d))
    before = await _hover(client, uri, _pos(text, "Abcd", 1))
    assert before.startswith("**Pool tag `Abcd`**: the driver's own tag")
    settings = {"poolTagFile": "pooltag.txt"}
    client.set_configuration(settings, section="kdlens")
    client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"kdlens": settings})
    )
    want = (
        "**Pool tag `Abcd`**: widget.sys: Widget buffers (your pooltag.txt `pooltag.txt`, line 2)"
    )
    # the server reads the file when it analyses the log again (it publishes afterwards)
    for _ in range(20):
        after = await _hover(client, uri, _pos(text, "Abcd", 1))
        if after.startswith(want):
            break
        await asyncio.wait_for(
            client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 30
        )
    assert after.startswith(want)


async def test_an_app_verifier_xml_export_is_read_by_its_content(
    client: LanguageClient, workspace: Path
) -> None:
    """An ``.xml`` file opened as XML is analysed when it is an App Verifier log, else left alone."""
    xml = workspace / "appverif-export.xml"
    shutil.copy(FIXTURES / "logs" / "leak-appverif.xml", xml)
    other = workspace / "project.xml"
    other.write_text('<?xml version="1.0"?>\n<project><name>kd</name></project>\n')
    for path in (other, xml):
        client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(
                    uri=path.as_uri(), language_id="xml", version=1, text=path.read_text()
                )
            )
        )
    got = await wait_diagnostics(
        client, xml.as_uri(), lambda d: any(x.code in LEAK_CODES for x in d)
    )
    assert any(d.code in LEAK_CODES for d in got)
    assert other.as_uri() not in client.diagnostics  # plain XML is never analysed
