"""A real ``kdlens serve`` process driven by pytest-lsp, as VS Code and as Neovim."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from helpers import FIXTURES

SEED = FIXTURES / "logs" / "seed-c4-62.log"
CLIENTS = ("visual-studio-code", "neovim")


def stand_in_source(lines: int = 90) -> str:
    """A C file long enough for the seed's ln lines (38, 50, 72)."""
    body = [f"/* handleioctl.c stand-in, line {i} */" for i in range(1, lines + 1)]
    body[37] = "    buffer = ExAllocatePoolWithTag(NonPagedPoolNx, 0x1000, 'vrdm');"
    body[49] = "    mdl = IoAllocateMdl(buffer, length, FALSE, FALSE, NULL);"
    body[71] = "    item = IoAllocateWorkItem(DeviceObject);"
    return "\n".join(body) + "\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    src = root / "wdmdrivers" / "mydriver"
    src.mkdir(parents=True)
    (src / "handleioctl.c").write_text(stand_in_source())
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "handleioctl.c").write_text("/* decoy */\n")
    shutil.copy(SEED, root / "kd.log")
    return root


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "kdlens", "serve"]),
    params=CLIENTS,
)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, workspace: Path):  # type: ignore[no-untyped-def]
    caps = client_capabilities(request.param)
    lsp_client.set_configuration({"allocatorWrappers": []}, section="kdlens")
    await lsp_client.initialize_session(
        lsp.InitializeParams(
            capabilities=caps,
            root_uri=workspace.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
            initialization_options={"kdlens": {"trustedUncHosts": []}},
        )
    )
    yield
    await lsp_client.shutdown_session()
    # A feature or parser that failed is logged as an error: no test passes over one.
    errors = [m.message for m in lsp_client.log_messages if m.type == lsp.MessageType.Error]
    assert errors == []


async def wait_diagnostics(
    client: LanguageClient,
    uri: str,
    ok: Callable[[Sequence[lsp.Diagnostic]], bool] = lambda d: True,
    timeout: float = 60.0,
) -> Sequence[lsp.Diagnostic]:
    """Wait (bounded) until diagnostics for ``uri`` satisfy ``ok``."""

    async def loop() -> Sequence[lsp.Diagnostic]:
        while True:
            got = client.diagnostics.get(uri)
            if got is not None and ok(got):
                return got
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    return await asyncio.wait_for(loop(), timeout)


def open_log(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(
                uri=uri,
                language_id="windbg-log",
                version=version,
                text=text if text is not None else path.read_text(encoding="utf-8"),
            )
        )
    )
    return uri
