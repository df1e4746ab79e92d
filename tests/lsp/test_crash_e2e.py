"""Crash triage through the real server: hovers, jumps and the faulting line on the source file.

The 0xD1 log prints bare addresses; its lines come from the fixture driver's
PDB in a symbol store outside the workspace (``kdlens.symbolPath``), the
sources from the workspace. The Application Verifier log carries
``[file @ line]`` annotations; its sources are small stand-ins written here.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from fixtures.logs import make_crash_logs as crash
from fixtures.pdb.pdbtest import line_of
from fixtures.symbols.symtest import copy_sources, store
from helpers import FIXTURES
from lsp_support import open_log, wait_diagnostics

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.checks.LspSpecificationWarning")

LOGS = FIXTURES / "logs"
AVRF_LOG = "crash-avrf-double-free.log"
CACHE = Path(tempfile.mkdtemp(prefix="kdlens-crash-e2e-"))
SERVER_ENV = {
    **{k: v for k, v in os.environ.items() if k != "_NT_SYMBOL_PATH"},
    "KDLENS_CACHE_DIR": str(CACHE),
}
#: Stand-ins for the user-mode tool of the verifier log: (file, line the log names, text there).
AVRF_SOURCES = (
    ("entry.cpp", 57, "    HeapFree(Heap, 0, Block);"),
    ("trim.cpp", 23, "        Entry->Release();"),
    ("main.cpp", 12, "    TrimCache(Cache);"),
)


@pytest.fixture(scope="module", autouse=True)
def _remove_cache() -> Iterator[None]:
    yield
    shutil.rmtree(CACHE, ignore_errors=True)


def _stand_in(line: int, text: str) -> str:
    body = [f"// stand-in line {i}" for i in range(1, line + 10)]
    body[line - 1] = text
    return "\n".join(body) + "\n"


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("crash-e2e")
    ws = root / "ws"
    copy_sources(ws)
    tool = ws / "cachetool"
    tool.mkdir()
    for name, line, text in AVRF_SOURCES:
        (tool / name).write_text(_stand_in(line, text))
    for name in (crash.D1_LOG, AVRF_LOG):
        shutil.copy(LOGS / name, ws / name)
    return {"ws": ws, "store": store(root / "store", "x64-O2")}


@pytest_lsp.fixture(  # type: ignore[untyped-decorator]
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "kdlens", "serve"], server_env=SERVER_ENV
    ),
)
async def client(lsp_client: LanguageClient, places: dict[str, Path]):  # type: ignore[no-untyped-def]
    ws = places["ws"]
    settings = {"symbolPath": str(places["store"])}
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
    errors = [m.message for m in lsp_client.log_messages if m.type == lsp.MessageType.Error]
    assert errors == []


def _find(text: str, needle: str, nth: int = 0, offset: int = 1) -> lsp.Position:
    seen = 0
    for i, line in enumerate(text.splitlines()):
        col = line.find(needle)
        if col >= 0:
            if seen == nth:
                return lsp.Position(line=i, character=col + offset)
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


async def _hover(client: LanguageClient, uri: str, pos: lsp.Position) -> str:
    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=pos)
    )
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    return hover.contents.value


def _codes(diags: Sequence[lsp.Diagnostic]) -> list[str]:
    return [str(d.code) for d in diags]


async def test_d1_hovers_jumps_and_the_faulting_line_on_the_source(
    client: LanguageClient, places: dict[str, Path]
) -> None:
    path = places["ws"] / crash.D1_LOG
    text = path.read_text(encoding="utf-8")
    uri = open_log(client, path)
    diags = await wait_diagnostics(client, uri, lambda d: "bug-check" in _codes(d))
    (stop,) = [d for d in diags if d.code == "bug-check"]
    faulting = line_of("driver.c", "Irp->Status = Status;")
    assert stop.message.endswith(f"(driver.c:{faulting})")

    # the faulting line of driver.c carries the error while the log is open
    driver_uri = (places["ws"] / "src" / "driver.c").resolve().as_uri()
    on_source = await wait_diagnostics(client, driver_uri, lambda d: len(d) > 0)
    (err,) = on_source
    assert err.severity == lsp.DiagnosticSeverity.Error and err.code == "crash-site"
    assert err.range.start.line == faulting - 1
    assert err.message.startswith("0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL here: write of paged pool")
    assert err.message.endswith(f"see {crash.D1_LOG}:{stop.range.start.line + 1}")
    assert err.related_information and err.related_information[0].location.uri == uri

    # every spelling of the faulting instruction jumps to that line, not the one before
    for pos in (
        _find(text, "mydriver!DeviceControlDispatch+0x23", nth=1),  # STACK_TEXT frame
        _find(text, "rip=", offset=6),
        _find(text, "fffff8071b2b1023, address"),  # Arg4
    ):
        assert await _definition(client, uri, pos) == ("driver.c", faulting)

    md = await _hover(client, uri, _find(text, "rip=", offset=6))
    assert "instruction pointer of the trap frame" in md and "exact lookup" in md
    assert f"driver.c:{faulting}" in md
    md = await _hover(client, uri, _find(text, "nt!IofCallDriver+0x55"))
    assert "one byte earlier" in md

    # closing the log withdraws what it put on the source file
    client.text_document_did_close(
        lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    )
    await wait_diagnostics(client, driver_uri, lambda d: len(d) == 0)


async def test_verifier_stop_marks_the_users_call_and_its_callers(
    client: LanguageClient, places: dict[str, Path]
) -> None:
    path = places["ws"] / AVRF_LOG
    text = path.read_text(encoding="utf-8")
    uri = open_log(client, path)
    await wait_diagnostics(client, uri, lambda d: "verifier-stop" in _codes(d))
    tool = places["ws"] / "cachetool"
    found: dict[str, lsp.Diagnostic] = {}
    for name, line, _ in AVRF_SOURCES:
        file_uri = (tool / name).resolve().as_uri()
        (d,) = await wait_diagnostics(client, file_uri, lambda d: len(d) > 0)
        assert d.range.start.line == line - 1, name
        found[name] = d
    assert found["entry.cpp"].severity == lsp.DiagnosticSeverity.Error
    assert "Heap block already freed" in found["entry.cpp"].message
    for name in ("trim.cpp", "main.cpp"):
        assert found[name].severity == lsp.DiagnosticSeverity.Information
        assert found[name].code == "crash-caller"

    assert await _definition(client, uri, _find(text, "cachetool!TrimCache+0x72")) == (
        "trim.cpp",
        23,
    )
    md = await _hover(client, uri, _find(text, "0000000000000007:"))
    assert "Application Verifier stop 0x7" in md
    lenses = await client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    )
    titles = [c.command.title for c in lenses or [] if c.command is not None]
    assert "3 of 11 frames are yours: cachetool.exe" in titles
