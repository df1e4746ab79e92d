"""A real ``kdlens serve`` process driven by pytest-lsp, as VS Code and as Neovim."""

from __future__ import annotations

import shutil
import sys
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


@pytest_lsp.fixture(  # type: ignore[untyped-decorator]
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
