"""Requests as wide as the protocol allows, and big legal logs, through the real server.

Every request here is bounded by ``asyncio.wait_for``: a generous bound that
only catches a server stuck on a request (the inlay-hint range up to line
2**31-1 used to take minutes), not a timing.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from kdlens.features.actions import MAX_COPY_TEXT
from kdlens.features.outline_bounds import MAX_CHILDREN

from helpers import REPO
from lsp_support import (
    POOL_TABLE_SITES,
    open_log,
    pool_table_log,
    prompt_only_log,
    row_sites,
    wait_diagnostics,
)

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.checks.LspSpecificationWarning")

EXAMPLE = REPO / "examples" / "mydriver-leak" / "kd-session.log"
MAX = 2147483647
#: Catches a hang; not a speed requirement.
HANG = 20.0
#: The same for requests on logs of several megabytes, whose analysis takes seconds.
BIG = 120.0

T = TypeVar("T")


async def answer(request: Awaitable[T], bound: float = HANG) -> T:
    return await asyncio.wait_for(request, bound)


def _pos(line: int, character: int) -> lsp.Position:
    return lsp.Position(line=line, character=character)


def _range(a: tuple[int, int], b: tuple[int, int]) -> lsp.Range:
    return lsp.Range(start=_pos(*a), end=_pos(*b))


async def _example(client: LanguageClient, workspace: Path) -> tuple[str, list[str]]:
    path = workspace / "example.log"
    shutil.copy(EXAMPLE, path)
    text = path.read_text(encoding="utf-8")
    uri = open_log(client, path)
    await wait_diagnostics(client, uri, lambda d: any(x.code == "leaked-allocation" for x in d))
    return uri, text.split("\n")


async def _hints(client: LanguageClient, uri: str, rng: lsp.Range) -> list[lsp.InlayHint]:
    got = await answer(
        client.text_document_inlay_hint_async(
            lsp.InlayHintParams(text_document=lsp.TextDocumentIdentifier(uri=uri), range=rng)
        )
    )
    return list(got or [])


async def test_inlay_hints_up_to_the_last_possible_line(
    client: LanguageClient, workspace: Path
) -> None:
    uri, lines = await _example(client, workspace)
    whole = await _hints(client, uri, _range((0, 0), (len(lines) - 1, len(lines[-1]))))
    assert any("leaked allocation" in str(h.label) for h in whole)
    widest = await _hints(client, uri, _range((0, 0), (MAX, MAX)))
    assert widest == whole
    # the same again, so a second request is not stuck behind the first
    assert await _hints(client, uri, _range((0, 0), (MAX, 0))) == whole


async def test_inlay_hints_for_a_range_that_starts_after_it_ends(
    client: LanguageClient, workspace: Path
) -> None:
    uri, lines = await _example(client, workspace)
    whole = await _hints(client, uri, _range((0, 0), (len(lines) - 1, len(lines[-1]))))
    assert await _hints(client, uri, _range((MAX, MAX), (0, 0))) == whole
    forward = await _hints(client, uri, _range((260, 0), (300, 0)))
    assert forward and forward != whole
    assert await _hints(client, uri, _range((300, 0), (260, 0))) == forward
    assert await _hints(client, uri, _range((len(lines) + 10, 0), (MAX, MAX))) == []


async def test_code_actions_over_the_widest_range(client: LanguageClient, workspace: Path) -> None:
    uri, lines = await _example(client, workspace)
    doc = lsp.TextDocumentIdentifier(uri=uri)

    async def actions(rng: lsp.Range) -> list[lsp.CodeAction | lsp.Command]:
        got = await answer(
            client.text_document_code_action_async(
                lsp.CodeActionParams(
                    text_document=doc, range=rng, context=lsp.CodeActionContext(diagnostics=[])
                )
            )
        )
        return list(got or [])

    whole = await actions(_range((0, 0), (len(lines) - 1, len(lines[-1]))))
    assert any(".reload /f" in a.title for a in whole)
    assert await actions(_range((0, 0), (MAX, MAX))) == whole
    assert await actions(_range((MAX, MAX), (0, 0))) == whole


async def test_positions_past_the_line_or_the_document(
    client: LanguageClient, workspace: Path
) -> None:
    uri, lines = await _example(client, workspace)
    doc = lsp.TextDocumentIdentifier(uri=uri)
    row = next(
        i
        for i, t in enumerate(lines)
        if t.strip().startswith("0x") and t.rstrip().endswith("MyDriver!DeviceControlDispatch")
    )
    end = len(lines[row].rstrip())
    at_end = await answer(
        client.text_document_hover_async(
            lsp.HoverParams(text_document=doc, position=_pos(row, end))
        )
    )
    assert at_end is not None
    past = await answer(
        client.text_document_hover_async(
            lsp.HoverParams(text_document=doc, position=_pos(row, MAX))
        )
    )
    assert past is not None and past.contents == at_end.contents
    for line in (len(lines) + 3, MAX):
        where = _pos(line, MAX)
        assert (
            await answer(
                client.text_document_hover_async(lsp.HoverParams(text_document=doc, position=where))
            )
            is None
        )
        assert (
            await answer(
                client.text_document_definition_async(
                    lsp.DefinitionParams(text_document=doc, position=where)
                )
            )
            is None
        )
        assert (
            await answer(
                client.text_document_references_async(
                    lsp.ReferenceParams(
                        text_document=doc,
                        position=where,
                        context=lsp.ReferenceContext(include_declaration=True),
                    )
                )
            )
            is None
        )


# --------------------------------------------------------------------------- big legal logs


def _symbol_count(symbols: Sequence[lsp.DocumentSymbol]) -> int:
    return sum(1 + _symbol_count(s.children or []) for s in symbols)


async def test_the_outline_of_half_a_million_prompts_is_bounded(
    client: LanguageClient, workspace: Path
) -> None:
    path = workspace / "prompts.log"
    path.write_text(prompt_only_log(500_000), encoding="utf-8")
    uri = open_log(client, path)
    await wait_diagnostics(client, uri, timeout=BIG)
    doc = lsp.TextDocumentIdentifier(uri=uri)
    # several seconds of work on a loaded machine: the bound only catches a hang
    symbols = await answer(
        client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=doc)),
        BIG,
    )
    assert symbols is not None
    assert all(isinstance(s, lsp.DocumentSymbol) for s in symbols)
    tree = [s for s in symbols if isinstance(s, lsp.DocumentSymbol)]
    assert [s.name for s in tree] == ["500,000 commands without output"]
    assert _symbol_count(tree) == 1 + MAX_CHILDREN + 1
    assert tree[0].range.end.line == 499_999
    assert (tree[0].children or [])[-1].name == f"... {500_000 - MAX_CHILDREN:,} more"
    # asked again (breadcrumbs do), the same answer
    again = await answer(
        client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=doc))
    )
    assert again == symbols
    folds = await answer(
        client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=doc))
    )
    assert list(folds or []) == []


def _table_workspace(workspace: Path, rows: int) -> Path:
    """A log of ``rows`` leaked rows, and the two source files its ``ln`` lines name."""
    src = workspace / "mydriver"
    src.mkdir(exist_ok=True)
    for file in {f for _name, _caller, f, _line in POOL_TABLE_SITES}:
        (src / file).write_text("".join(f"    step({i});\n" for i in range(1, 200)))
    path = workspace / f"table{rows}.log"
    path.write_text(pool_table_log(rows), encoding="utf-8")
    return path


def _site_counts(rows: Sequence[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for site in rows:
        name, _caller, file, line = POOL_TABLE_SITES[site]
        label = f"{name} ({file}:{line})"
        counts[label] = counts.get(label, 0) + 1
    return counts


async def test_diagnostics_are_capped_with_a_summary_by_call_site(
    client: LanguageClient, workspace: Path
) -> None:
    rows = 3_000
    path = _table_workspace(workspace, rows)
    uri = open_log(client, path)
    diags = await wait_diagnostics(client, uri, lambda d: len(d) > 0, timeout=BIG)
    assert len(diags) == 2000
    assert sum(d.code == "bug-check" for d in diags) == 1
    leaked = [d for d in diags if d.code == "leaked-allocation"]
    hidden = [d for d in diags if d.code == "diagnostics-not-shown"]
    assert len(leaked) + len(hidden) == 1999
    lines = path.read_text(encoding="utf-8").split("\n")
    header = next(i for i, t in enumerate(lines) if t.strip().startswith("Address"))
    assert {d.range.start.line for d in hidden} == {header}
    by_sites = [d for d in hidden if "leaked allocations" in d.message]
    assert len(by_sites) == 1
    summary = by_sites[0]
    assert summary.severity == lsp.DiagnosticSeverity.Warning
    not_shown = rows - len(leaked)
    expected = sorted(_site_counts(row_sites(rows)[len(leaked) :]).items(), key=lambda kv: -kv[1])
    assert summary.message == (
        f"{not_shown:,} more leaked allocations not shown (kdlens.maxDiagnostics = 2000): "
        + ", ".join(f"{n:,} from {label}" for label, n in expected)
    )
    # on the source files the leaks of one line are one diagnostic: queue.c gets one per
    # allocating line, counting that line's leaks, with a bounded list of related rows
    queue = (workspace / "mydriver" / "queue.c").resolve().as_uri()
    on_queue = await wait_diagnostics(client, queue, lambda d: len(d) > 0, timeout=BIG)
    per_line: dict[int, int] = {}
    for s in row_sites(rows):
        if POOL_TABLE_SITES[s][2] == "queue.c":
            line = POOL_TABLE_SITES[s][3]
            per_line[line] = per_line.get(line, 0) + 1
    assert sorted(d.range.start.line + 1 for d in on_queue) == sorted(per_line)
    for d in on_queue:
        n = per_line[d.range.start.line + 1]
        assert d.message.startswith(f"{n:,} leaks here: {n:,} pool blocks"), d.message
        assert d.related_information is not None and len(d.related_information) <= 50


async def test_a_lower_max_diagnostics_applies_when_the_settings_change(
    client: LanguageClient, workspace: Path
) -> None:
    path = _table_workspace(workspace, 300)
    uri = open_log(client, path)
    first = await wait_diagnostics(client, uri, lambda d: len(d) > 0, timeout=BIG)
    assert len(first) == 601  # the bug check, a leak and a "no history" note per row
    client.set_configuration({"maxDiagnostics": 40}, section="kdlens")
    client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"kdlens": {"maxDiagnostics": 40}})
    )
    capped = await wait_diagnostics(client, uri, lambda d: len(d) == 40, timeout=BIG)
    hidden = [d for d in capped if d.code == "diagnostics-not-shown"]
    assert [d.message.split(" not shown")[0] for d in hidden] == [
        f"{300 - (40 - 1 - 2):,} more leaked allocations",
        "300 more leaks without allocation history",
    ]


async def test_the_lens_of_a_big_table_copies_a_bounded_text(
    client: LanguageClient, workspace: Path
) -> None:
    rows = 3_000
    uri = open_log(client, _table_workspace(workspace, rows))
    await wait_diagnostics(client, uri, lambda d: len(d) > 0, timeout=BIG)
    doc = lsp.TextDocumentIdentifier(uri=uri)
    lenses = await answer(
        client.text_document_code_lens_async(lsp.CodeLensParams(text_document=doc))
    )
    assert lenses
    titles = [lens.command.title for lens in lenses if lens.command]
    assert titles[0].startswith(f"{rows:,} leaks · ")
    for lens in lenses:
        assert lens.command is not None and lens.command.arguments
        text = lens.command.arguments[0]
        assert isinstance(text, str) and len(text) <= MAX_COPY_TEXT
        assert text.endswith(" more not copied")
    # asked again (editors do, after each scroll), the same answer
    again = await answer(
        client.text_document_code_lens_async(lsp.CodeLensParams(text_document=doc))
    )
    assert again == lenses
