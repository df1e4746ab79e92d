"""Helpers of the language-server tests: open a log, wait for its diagnostics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient


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


# --------------------------------------------------------------------------- big legal logs

#: The allocating functions of ``pool_table_log``, with the source line ``ln`` gives for each.
POOL_TABLE_SITES: tuple[tuple[str, int, str, int], ...] = (
    ("MyDriver!AllocBuffer", 0x9A3C0100, "queue.c", 41),
    ("MyDriver!QueueWorkItem", 0x9A3C0400, "queue.c", 118),
    ("MyDriver!CreateContext", 0x9A3C0800, "context.c", 27),
)


def pool_table_log(rows: int, weights: Sequence[int] = (3, 2, 1)) -> str:
    """A 0xC4/0x62 session whose Pool Allocations table has ``rows`` leaked rows.

    Rows cycle through ``POOL_TABLE_SITES`` in blocks following ``weights`` (3:2:1 by
    default), so which site allocated each row is known without parsing
    (``row_sites``). One ``ln`` per caller gives each site its source line.
    """
    out = [
        "kd> !analyze -v",
        "DRIVER_VERIFIER_DETECTED_VIOLATION (c4)",
        "Arguments:",
        "Arg1: 00000062, driver unloaded with allocations still live.",
        "Arg2: 9707712c, name of the driver.",
        "Arg3: 9c1faf70, verifier data.",
        f"Arg4: {rows:08x}, allocations left behind.",
        "",
        "kd> !verifier 3 MyDriver.sys",
        "",
        "Driver Verification List",
        "",
        "  MODULE: 0x84226b28 MyDriver.sys (Loaded)",
        "",
        "    Pool Allocations:",
        "",
        "      Address     Length      Tag   Caller    ",
        "      ----------  ----------  ----  ----------",
    ]
    for i, site in enumerate(row_sites(rows, weights)):
        name, caller, _file, _line = POOL_TABLE_SITES[site]
        address = 0x82000000 + 0x40 * i
        out.append(
            f"      0x{address:08x}  0x{0x20 + (i % 64) * 8:08x}  Mdrv  0x{caller + 0x1C:08x}  {name}"
        )
    out.append("")
    for name, caller, file, line in POOL_TABLE_SITES:
        out += [
            f"kd> ln 0x{caller + 0x1C:08x}",
            f"d:\\build\\mydriver\\{file}({line})+0x8",
            f"({caller:08x})   {name}+0x1c   |  ({caller + 0x200:08x})   {name}_next",
            "",
        ]
    return "\n".join(out) + "\n"


def row_sites(rows: int, weights: Sequence[int] = (3, 2, 1)) -> list[int]:
    """The index in ``POOL_TABLE_SITES`` of the site of each row of ``pool_table_log``."""
    pattern = [site for site, w in enumerate(weights) for _ in range(w)]
    return [pattern[i % len(pattern)] for i in range(rows)]


def prompt_only_log(commands: int) -> str:
    """``commands`` prompt lines with no output at all (a 4 MB log at 500,000 of them)."""
    return "0: kd> \n" * commands
