"""Inlay hints (decimal sizes, source lines, leak counts, option names) and leak-table lenses."""

from __future__ import annotations

import pytest

from kdlens import knowledge
from kdlens.analysis import Analysis, analyze
from kdlens.features.hints import Hint, HintKind, inlay_hints, lenses
from kdlens.index import TokenIndex, build_index
from kdlens.model import Position, Range
from kdlens.parse import parse_text

from helpers import FIXTURES, log

SEED = FIXTURES / "logs" / "seed-c4-62.log"
EVERYTHING = Range(Position(0, 0), Position(10_000, 0))

GAPS = log(
    """
    *** Fatal System Error: 0x000000c4
                           (0x0000000000000062,0xFFFFC30A11223340,0xFFFFC30A11224400,0x0000000000000002)

    kd> !verifier 3 widget.sys

    Verify Flags Level 0x00000009

    Driver Verification List

      MODULE: 0xffffc30a55aa1230 widget.sys (Unloaded)

        Pool Allocation Statistics: ( NonPagedPool / PagedPool )

          Current Pool Allocations: ( 0x00000002 / 0x00000000 )
          Current Pool Bytes:       ( 0x00000240 / 0x00000000 )

        Pool Allocations:

          Address             Length      Tag   Caller
          ------------------  ----------  ----  ------------------
          0xffffc30a6e0d1000  0x00000200  Wdgt  0xfffff80712341a2b
          0xffffc30a6e0d2200  0x00000040  Wdgx  0xfffff80712341c40
          0xffffc30a6e0d3000  0x00000008  Wdgy  0xfffff80712341c40
    """
)


def analysed(text: str) -> tuple[Analysis, TokenIndex, list[str]]:
    session = parse_text(text)
    assert not session.faults, session.faults
    a = analyze(session)
    return a, build_index(a), text.split("\n")


def seed() -> tuple[Analysis, TokenIndex, list[str]]:
    return analysed(SEED.read_text(encoding="utf-8"))


def at(hints: list[Hint], line: int) -> list[tuple[int, str, HintKind]]:
    return [(h.position.character, h.label, h.kind) for h in hints if h.position.line == line]


def test_seed_table_rows_get_decimal_size_and_source() -> None:
    a, idx, lines = seed()
    got = inlay_hints(a, idx, lines, EVERYTHING)
    row = 95  # 0x8645a000  0x00001008  mdrv  0x9a3bf687  MyDriver!DeviceControlDispatch
    assert lines[row][18:28] == "0x00001008"
    assert at(got, row) == [
        (28, "4,104 B", HintKind.SIZE),
        (len(lines[row].rstrip()), "→ handleioctl.c:38", HintKind.SOURCE),
    ]
    source = next(h for h in got if h.position.line == row and h.kind is HintKind.SOURCE)
    assert source.tooltip is not None
    tip = source.tooltip.splitlines()
    assert tip[0] == "d:\\coding\\wdmdrivers\\mydriver\\handleioctl.c, line 38"
    assert "MyDriver!DeviceControlDispatch+0x27" in tip[1]
    assert "`ln` output on line 104" in tip[-1]
    assert [h.label for h in got if h.kind is HintKind.SOURCE] == [
        "→ handleioctl.c:50",
        "→ handleioctl.c:38",
        "→ handleioctl.c:72",
    ]


def test_seed_bugcheck_mask_stats_and_pool_log() -> None:
    a, idx, lines = seed()
    got = inlay_hints(a, idx, lines, EVERYTHING)
    # Arg4: 00000003, count of ...
    assert at(got, 22) == [(14, "3 leaked allocations", HintKind.LEAK_COUNT)]
    # Verify Flags Level 0x000209bb: Automatic Checks plus nine option bits
    assert at(got, 28) == [
        (29, "10 options: Special pool, Force IRQL checking, …", HintKind.OPTIONS)
    ]
    mask = next(h for h in got if h.kind is HintKind.OPTIONS)
    assert mask.tooltip is not None and "0x00020000  DDI compliance checking" in mask.tooltip
    # Current nonpaged pool allocations 0x3 for 00001058 bytes: the count is too small to hint
    assert at(got, 73) == [(57, "4,184 B", HintKind.SIZE)]
    assert at(got, 65) == [(48, "187,162", HintKind.COUNT)]
    # Current Pool Bytes: ( 0x00001058 / 0x00000000 ): zero gets no hint
    assert at(got, 84) == [(44, "4,184 B", HintKind.SIZE)]
    # Pool block 8645a000, Size 00001000, Thread ...
    assert at(got, 145) == [(34, "4,096 B", HintKind.SIZE)]
    assert got == sorted(got, key=lambda h: h.position)


def test_only_tokens_inside_the_requested_range() -> None:
    a, idx, lines = seed()
    one_row = inlay_hints(a, idx, lines, Range(Position(94, 0), Position(94, len(lines[94]))))
    assert [(h.position.line, h.label) for h in one_row] == [
        (94, "32 B"),
        (94, "→ handleioctl.c:50"),
    ]
    # a range ending inside the row leaves out the caller symbol (and its hint)
    half = inlay_hints(a, idx, lines, Range(Position(94, 0), Position(94, 40)))
    assert [h.label for h in half] == ["32 B"]
    assert inlay_hints(a, idx, lines, Range(Position(1, 0), Position(7, 0))) == []


def test_unresolved_callers_small_values_and_duplicate_arg_tokens() -> None:
    a, idx, lines = analysed(GAPS)
    got = inlay_hints(a, idx, lines, EVERYTHING)
    # the banner's argument tuple: one hint for Arg4 even though it is indexed twice
    assert [(h.position.line, h.label) for h in got if h.kind is HintKind.LEAK_COUNT] == [
        (1, "2 leaked allocations")
    ]
    assert at(got, 5) == [(29, "3 options: Special pool, Pool tracking, …", HintKind.OPTIONS)]
    assert [h.label for h in got if h.kind is HintKind.SIZE] == ["576 B", "512 B", "64 B"]
    assert not any(h.kind is HintKind.SOURCE for h in got)  # no ln output, no annotation
    assert at(got, 22) == []  # 0x00000008 reads the same in decimal


def test_missing_knowledge_costs_only_the_mask_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(mask: int, *, include_automatic: bool = True) -> list[knowledge.FlagInfo]:
        raise knowledge.KnowledgeDataError("verifier_flags.json: broken")

    monkeypatch.setattr(knowledge, "decode_mask", broken)
    a, idx, lines = seed()
    got = inlay_hints(a, idx, lines, EVERYTHING)
    assert not any(h.kind is HintKind.OPTIONS for h in got)
    assert any(h.kind is HintKind.SIZE for h in got)


def test_seed_lens_over_the_leak_table() -> None:
    a, _, lines = seed()
    lens, top = lenses(a)
    # the log's summary lens sits on its first line, over every kind of leak
    assert top.range.start.line == 0
    assert top.title == "3 leaks: 3 pool blocks · 2 call sites"
    assert lens.title == "3 leaks · 4,184 bytes · 2 call sites"
    assert lens.range.start.line == 92
    assert lines[92].split() == ["Address", "Length", "Tag", "Caller"]
    assert lens.text.splitlines() == [
        "MyDriver.sys: 3 leaks, 4,184 bytes, 2 call sites",
        "0x982a8fe0  0x20 (32 B)  VMdl  MyDriver!DeviceControlDispatch+0x4c  handleioctl.c:50",
        "0x8645a000  0x1008 (4,104 B)  mdrv  MyDriver!DeviceControlDispatch+0x27  handleioctl.c:38",
        "0x9a836fd0  0x30 (48 B)  Vfwi  MyDriver!GetNecessaryObjects+0x1d  handleioctl.c:72",
    ]


def test_lenses_for_leaks_without_history() -> None:
    a, _, lines = analysed(GAPS)
    summary, history, top = sorted(lenses(a), key=lambda x: x.range.start.line, reverse=True)
    assert top.range.start.line == 0
    # two rows share a caller: two call sites for three leaks
    assert summary.title == "3 leaks · 584 bytes · 2 call sites"
    assert summary.text.splitlines()[3].endswith("source unknown")
    assert history.title == "Copy `!verifier 0x80` for the 3 leaks without allocation history"
    assert history.text == (
        "!verifier 0x80 0xffffc30a6e0d1000; "
        "!verifier 0x80 0xffffc30a6e0d2200; "
        "!verifier 0x80 0xffffc30a6e0d3000"
    )
    assert summary.range == history.range
    assert lines[summary.range.start.line].split() == ["Address", "Length", "Tag", "Caller"]


def test_no_leaks_no_lens() -> None:
    a, _, _ = analysed(
        log(
            """
            kd> !verifier 3 quiet.sys

              MODULE: 0x88112233 quiet.sys (Loaded)

                Pool Allocations:

                  Address     Length      Tag   Caller
                  ----------  ----------  ----  ----------
                  0x8a001000  0x00000018  Qt01  0x9b001234
            """
        )
    )
    table = a.session.drivers[0].allocations
    assert table is not None and len(table.rows) == 1
    assert a.leaks == []
    assert lenses(a) == []
