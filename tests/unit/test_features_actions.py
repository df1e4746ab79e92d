"""Code actions that copy a debugger command: what is offered where, and for which diagnostic."""

from __future__ import annotations

from kdlens.analysis import Analysis, Code, analyze
from kdlens.features.actions import (
    ActionKind,
    DiagnosticRef,
    code_actions,
    copy_text,
    image_name,
)
from kdlens.model import ModuleInfo, Range
from kdlens.parse import parse_text

from helpers import FIXTURES, log

SEED = FIXTURES / "logs" / "seed-c4-62.log"

# Two leaks with neither a 0x80 record nor ln output; an lm list with a mix of symbol states.
GAPS = log(
    """
    kd> !verifier 3 widget.sys

    Driver Verification List

      MODULE: 0xffffc30a55aa1230 widget.sys (Unloaded)

        Pool Allocations:

          Address             Length      Tag   Caller
          ------------------  ----------  ----  ------------------
          0xffffc30a6e0d1000  0x00000200  Wdgt  0xfffff80712341a2b
          0xffffc30a6e0d2200  0x00000040  Wdgx  0xfffff80712341c40

    kd> lm
    start             end                 module name
    fffff807`12340000 fffff807`1234b000   widget     (no symbols)
    fffff807`20000000 fffff807`20a00000   nt         (pdb symbols)          c:\\sym\\ntkrnlmp.pdb
    fffff807`13000000 fffff807`13010000   helper     (deferred)
    fffff807`14000000 fffff807`14020000   hal        (export symbols)

    Unloaded modules:
    fffff807`15000000 fffff807`15010000   gone.sys
    """
)
ROW1, ROW2 = 10, 11
LM_WIDGET, LM_NT, LM_HELPER, LM_HAL, LM_GONE = 15, 16, 17, 18, 21


def analysed(text: str) -> Analysis:
    session = parse_text(text)
    assert not session.faults, session.faults
    return analyze(session)


def refs(a: Analysis) -> list[DiagnosticRef]:
    return [DiagnosticRef(d.code, d.range, d.data) for d in a.diagnostics]


def test_line_numbers_of_the_fixture() -> None:
    lines = GAPS.split("\n")
    assert lines[ROW1].strip().startswith("0xffffc30a6e0d1000")
    assert lines[ROW2].strip().startswith("0xffffc30a6e0d2200")
    assert [lines[i].split()[2] for i in (LM_WIDGET, LM_NT, LM_HELPER, LM_HAL, LM_GONE)] == [
        "widget",
        "nt",
        "helper",
        "hal",
        "gone.sys",
    ]


def test_seed_leaks_need_nothing() -> None:
    a = analysed(SEED.read_text(encoding="utf-8"))
    assert len(a.leaks) == 3
    # every leak has its 0x80 record and an ln line: nothing to suggest
    assert code_actions(a, 0, 400, refs(a)) == []


def test_leak_row_without_history_or_source() -> None:
    a = analysed(GAPS)
    got = code_actions(a, ROW1, ROW1)
    assert [(x.title, x.text, x.kind) for x in got] == [
        (
            "Copy `!verifier 0x80 0xffffc30a6e0d1000`",
            "!verifier 0x80 0xffffc30a6e0d1000",
            ActionKind.QUICKFIX,
        ),
        ("Copy `ln 0xfffff80712341a2b`", "ln 0xfffff80712341a2b", ActionKind.QUICKFIX),
    ]
    assert all(x.range.start.line == ROW1 and x.diagnostics == () for x in got)


def test_actions_attach_to_the_diagnostics_they_answer() -> None:
    a = analysed(GAPS)
    sent = [r for r in refs(a) if r.range.start.line == ROW2]
    assert sorted(r.code for r in sent) == [Code.LEAKED_ALLOCATION, Code.NO_ALLOCATION_HISTORY]
    got = {x.text: x for x in code_actions(a, ROW2, ROW2, sent)}
    assert set(got) == {"!verifier 0x80 0xffffc30a6e0d2200", "ln 0xfffff80712341c40"}
    history = got["!verifier 0x80 0xffffc30a6e0d2200"]
    assert [sent[i].code for i in history.diagnostics] == [Code.NO_ALLOCATION_HISTORY]
    ln = got["ln 0xfffff80712341c40"]
    assert [sent[i].code for i in ln.diagnostics] == [Code.LEAKED_ALLOCATION]


def test_diagnostic_outside_the_requested_lines_still_brings_its_actions() -> None:
    a = analysed(GAPS)
    sent = [
        r for r in refs(a) if r.code == Code.NO_ALLOCATION_HISTORY and r.range.start.line == ROW1
    ]
    got = code_actions(a, 0, 0, sent)
    assert [x.text for x in got] == ["!verifier 0x80 0xffffc30a6e0d1000", "ln 0xfffff80712341a2b"]
    assert got[0].diagnostics == (0,)


def test_diagnostic_command_is_offered_even_when_the_analysis_has_no_such_leak() -> None:
    a = analysed(GAPS)
    stale = DiagnosticRef(
        Code.NO_ALLOCATION_HISTORY,
        Range.on_line(3, 0, 5),
        {"command": "!verifier 0x80 0x1234"},
    )
    got = code_actions(a, 3, 3, [stale])
    assert [(x.text, x.kind, x.diagnostics) for x in got] == [
        ("!verifier 0x80 0x1234", ActionKind.QUICKFIX, (0,))
    ]


def test_reload_on_lm_rows() -> None:
    a = analysed(GAPS)
    one = code_actions(a, LM_WIDGET, LM_WIDGET)
    assert [(x.title, x.kind) for x in one] == [("Copy `.reload /f widget.sys`", ActionKind.SOURCE)]
    assert one[0].range.start.line == LM_WIDGET
    assert code_actions(a, LM_NT, LM_NT) == []  # pdb symbols: nothing to reload
    assert code_actions(a, LM_GONE, LM_GONE) == []  # unloaded: cannot be reloaded
    block = code_actions(a, LM_WIDGET, LM_GONE)
    assert [x.text for x in block] == [
        ".reload /f widget.sys",
        ".reload /f helper.sys",
        ".reload /f hal.dll",
    ]


def test_user_mode_reload_uses_the_image_file() -> None:
    a = analysed(
        log(
            """
            0:000> lm
            start             end                 module name
            00007ff6`6e780000 00007ff6`6e7b8000   tinyapp    (deferred)
            00007ffb`12340000 00007ffb`12400000   ntdll      (export symbols)       C:\\Windows\\SYSTEM32\\ntdll.dll
            0:000> lmvm kernelbase
            start             end                 module name
            00007ffb`10000000 00007ffb`10200000   KERNELBASE   (no symbols)
                Image path: C:\\Windows\\System32\\KERNELBASE.dll
                Image name: KERNELBASE.dll
            """
        )
    )
    assert [x.text for x in code_actions(a, 0, 20)] == [
        ".reload /f tinyapp.dll",
        ".reload /f ntdll.dll",
        ".reload /f KERNELBASE.dll",
    ]
    # any line of an lmv entry counts as the module's row
    assert [x.text for x in code_actions(a, 8, 8)] == [".reload /f KERNELBASE.dll"]


def test_image_name_guesses() -> None:
    r = Range.on_line(0, 0, 1)
    assert image_name(ModuleInfo("mydrv", r, r)) == "mydrv.sys"
    assert image_name(ModuleInfo("nt", r, r)) == "ntoskrnl.exe"
    assert image_name(ModuleInfo("Helper.SYS", r, r)) == "Helper.SYS"
    assert image_name(ModuleInfo("nt", r, r, image_name="ntkrpamp.exe")) == "ntkrpamp.exe"
    assert image_name(ModuleInfo("mydrv", r, r, symbol_file="c:\\sym\\mydrv.pdb")) == "mydrv.sys"
    assert image_name(ModuleInfo("app", r, r), kernel=False) == "app.dll"


def test_copy_text_accepts_one_string() -> None:
    assert copy_text(["  ln 0x1234 "]) == "ln 0x1234"
    assert copy_text([]) is None
    assert copy_text(None) is None
    assert copy_text(["a", "b"]) is None
    assert copy_text([42]) is None
    assert copy_text(["   "]) is None
    assert copy_text(["x" * 100_000]) is None
