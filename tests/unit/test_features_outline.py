"""The session outline (document symbols) and folding ranges."""

from __future__ import annotations

from collections.abc import Iterator

from kdlens.analysis import Analysis, analyze
from kdlens.features.outline import Fold, NodeKind, OutlineNode, folds, outline
from kdlens.model import Position, Range
from kdlens.parse import parse_text

from helpers import FIXTURES, log

SEED = FIXTURES / "logs" / "seed-c4-62.log"

SMALL = log(
    """
    *** Fatal System Error: 0x000000c4
                           (0x0000000000000062,0xFFFFC30A11223340,0xFFFFC30A11224400,0x0000000000000002)

    kd> !verifier 3 widget.sys

    Verify Flags Level 0x00000009

    Driver Verification List

      MODULE: 0xffffc30a55aa1230 widget.sys (Loaded)

        Pool Allocations:

          Address             Length      Tag   Caller
          ------------------  ----------  ----  ------------------
          0xffffc30a6e0d1000  0x00000200  Wdgt  0xfffff80712341a2b
          0xffffc30a6e0d2200  0x00000040  Wdgx  0xfffff80712341c40

    kd> lm
    start             end                 module name
    fffff807`12340000 fffff807`1234b000   widget     (no symbols)
    fffff807`20000000 fffff807`20a00000   nt         (pdb symbols)          c:\\sym\\ntkrnlmp.pdb

    Unloaded modules:
    fffff807`13000000 fffff807`13010000   oldthing.sys

    kd> k
     # Child-SP          RetAddr               Call Site
    00 ffffa08b`1e2f6f38 fffff807`200a1c52     nt!KeBugCheckEx
    01 ffffa08b`1e2f6f40 fffff807`12341a2b     nt!VerifierBugCheckIfAppropriate+0x3c
    02 ffffa08b`1e2f6f80 00000000`00000000     widget!WidgetUnload+0x44
    kd> r
    """
)


def analysed(text: str) -> tuple[Analysis, list[str]]:
    session = parse_text(text)
    assert not session.faults, session.faults
    return analyze(session), text.split("\n")


def seed() -> tuple[Analysis, list[str]]:
    return analysed(SEED.read_text(encoding="utf-8"))


def walk(nodes: tuple[OutlineNode, ...] | list[OutlineNode]) -> Iterator[OutlineNode]:
    for n in nodes:
        yield n
        yield from walk(n.children)


def shape(n: OutlineNode) -> tuple[str, str, str]:
    return (n.kind.value, n.name, n.detail)


def test_seed_outline_tree() -> None:
    a, lines = seed()
    nodes = outline(a, lines)
    # the stop comes first (crash triage), then the session in log order
    assert shape(nodes[0])[:2] == ("crash", "Crash: 0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION")
    top = nodes[1:]
    assert [n.name for n in top] == [
        "!analyze -v",
        "!verifier 3 Mydriver.sys",
        "ln 0x9a3bf6ac",
        "ln 0x9a3bf687",
        "ln 0x9a3bf6ed",
        "!verifier 0x80 0x982a8fe0",
        "!verifier 0x80 0x8645a000",
        "!verifier 0x80 0x9a836fd0",
    ]
    assert all(n.kind is NodeKind.COMMAND and n.detail == "kd>" for n in top)

    analyze_cmd = top[0]
    assert [shape(c) for c in analyze_cmd.children] == [
        (
            "bugcheck",
            "0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION",
            "Arg1 00000062, Arg2 9707712c, Arg3 9c1faf70, Arg4 00000003",
        )
    ]
    bug = analyze_cmd.children[0]
    assert lines[bug.selection.start.line].startswith("DRIVER_VERIFIER_DETECTED_VIOLATION (c4)")

    verifier = top[1]
    # the command spans its echo through the last non-blank output line, to its end
    assert verifier.range == Range(Position(26, 0), Position(96, len(lines[96])))
    assert verifier.selection == Range.on_line(26, 4, 28)
    (report,) = verifier.children
    assert shape(report) == (
        "verifier-report",
        "Driver Verifier report",
        "level 0x000209bb, 1 driver",
    )
    (driver,) = report.children
    assert shape(driver) == ("driver", "MyDriver.sys", "Loaded")
    (table,) = driver.children
    assert shape(table) == ("pool-table", "Pool Allocations (3 leaked)", "4,184 bytes")
    assert lines[table.selection.start.line].split() == ["Address", "Length", "Tag", "Caller"]
    assert [(r.name, r.detail) for r in table.children] == [
        ("0x982a8fe0 VMdl 0x20", "leaked, MyDriver!DeviceControlDispatch"),
        ("0x8645a000 mdrv 0x1008", "leaked, MyDriver!DeviceControlDispatch"),
        ("0x9a836fd0 Vfwi 0x30", "leaked, MyDriver!GetNecessaryObjects"),
    ]
    assert table.children[1].selection == Range.on_line(95, 6, 16)

    assert [shape(c) for c in top[3].children] == [
        ("ln", "MyDriver!DeviceControlDispatch+0x27", "handleioctl.c:38")
    ]
    assert [shape(c) for c in top[6].children] == [
        ("pool-record", "Pool block 8645a000 (allocate)", "Size 00001000, 13 lines")
    ]
    assert top[6].children[0].selection.start.line == 145


def test_small_outline_top_level_block_modules_and_stack() -> None:
    a, lines = analysed(SMALL)
    nodes = outline(a, lines)
    assert nodes[0].kind is NodeKind.CRASH
    top = nodes[1:]
    # the break-in banner comes before any prompt: its bug check is a top-level entry
    assert [shape(n) for n in top] == [
        (
            "bugcheck",
            "0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION",
            "Arg1 0x0000000000000062, Arg2 0xFFFFC30A11223340, Arg3 0xFFFFC30A11224400, "
            "Arg4 0x0000000000000002",
        ),
        ("command", "!verifier 3 widget.sys", "kd>"),
        ("command", "lm", "kd>"),
        ("command", "k", "kd>"),
        ("command", "r", "kd>"),
    ]
    assert top[0].selection == Range.on_line(0, 0, 34)

    # the 0x62 bug check names no driver, so it speaks for the table shown
    table = top[1].children[0].children[0].children[0]
    assert shape(table) == ("pool-table", "Pool Allocations (2 leaked)", "576 bytes")
    assert [r.detail for r in table.children] == [
        "leaked, 0xfffff80712341a2b",
        "leaked, 0xfffff80712341c40",
    ]

    (mods,) = top[2].children
    assert shape(mods) == ("modules", "Modules", "2 modules, 1 unloaded")
    assert [shape(m) for m in mods.children] == [
        ("module", "widget", "no symbols"),
        ("module", "nt", "pdb symbols"),
        ("module", "oldthing.sys", "unloaded"),
    ]
    assert mods.children[0].selection == Range.on_line(20, 38, 44)

    (stack,) = top[3].children
    assert shape(stack) == ("stack", "Stack", "3 frames")
    assert stack.selection.start.line == 28  # the first frame
    # a command without output is still listed, on its own line
    assert top[4].range == Range(Position(31, 0), Position(31, len(lines[31])))
    assert top[4].children == ()


def test_children_and_selections_stay_inside_their_parent() -> None:
    for a, lines in (seed(), analysed(SMALL)):
        for node in walk(outline(a, lines)):
            assert node.range.covers(node.selection), node.name
            assert node.name
            for child in node.children:
                assert node.range.covers(child.range), (node.name, child.name)


def test_seed_folds() -> None:
    a, lines = seed()
    got = folds(a, lines)
    assert all(f.end > f.start for f in got)
    assert len({(f.start, f.end) for f in got}) == len(got)
    commands = [(f.start, f.end) for f in got if f.region]
    assert commands == [
        (0, 24),
        (26, 96),
        (98, 100),
        (102, 104),
        (106, 108),
        (110, 133),
        (135, 158),
        (160, 183),
    ]
    inner = {(f.start, f.end) for f in got if not f.region}
    assert (8, 24) in inner  # the !analyze block
    assert (28, 96) in inner  # the verifier report
    assert (92, 96) in inner  # its Pool Allocations table
    assert {(120, 133), (145, 158), (170, 183)} <= inner  # the 0x80 records


def test_small_folds_skip_single_lines() -> None:
    a, lines = analysed(SMALL)
    got = folds(a, lines)
    assert all(f.start != 31 for f in got)  # ``r`` has no output
    assert Fold(27, 30) in got  # the k stack (header through the last frame)
    assert Fold(0, 1) in got  # the Fatal System Error banner with its argument line
    assert Fold(18, 24, region=True) in got  # lm, up to its last non-blank line
    assert Fold(13, 16) in got  # the Pool Allocations table


def test_table_of_a_loaded_driver_is_not_called_leaked() -> None:
    a, lines = analysed(
        log(
            """
            kd> !verifier 3 quiet.sys

            Driver Verification List

              MODULE: 0x88112233 quiet.sys (Loaded)

                Pool Allocations:

                  Address     Length      Tag   Caller
                  ----------  ----------  ----  ----------
                  0x8a001000  0x00000018  Qt01  0x9b001234  quiet!OpenThing+0x14
            """
        )
    )
    assert a.leaks == []
    (cmd,) = outline(a, lines)
    table = cmd.children[0].children[0].children[0]
    assert shape(table) == ("pool-table", "Pool Allocations (1 row)", "24 bytes")
    assert [shape(r) for r in table.children] == [
        ("pool-row", "0x8a001000 Qt01 0x18", "quiet!OpenThing+0x14")
    ]


def test_module_rows_without_a_prompt_form_one_list() -> None:
    a, lines = analysed(
        log(
            """
            start    end        module name
            f9f73000 f9f7fd80   sndsys       (deferred)
            fa04b000 fa09b400   netthing     (deferred)

            Unloaded modules:
            f9f53000 f9f61000   oldsnd.sys
            """
        )
    )
    (mods,) = outline(a, lines)
    assert shape(mods) == ("modules", "Modules", "2 modules, 1 unloaded")
    assert [m.name for m in mods.children] == ["sndsys", "netthing", "oldsnd.sys"]
