"""Bug checks read from the shared corpus: exact codes and arguments per file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.model import BugCheck, BugCheckSource, Position, Range, Session
from kdlens.parse import parse_bytes

from helpers import shared_path

pytestmark = pytest.mark.corpus

#: The block parsers of parse/analyze.py, as they name themselves in the fault log.
OWN_PARSERS = (
    "analyze-banner",
    "analyze-name",
    "analyze-arguments",
    "analyze-summary",
    "fatal-system-error",
    "dot-bugcheck",
)


def _read(*parts: str) -> Session:
    session, _ = parse_bytes(shared_path("corpus", *parts).read_bytes())
    assert not session.faults, session.faults
    return session


def _summary(bc: BugCheck) -> tuple[BugCheckSource, int, list[int]]:
    return bc.source, bc.code, [a.value.value for a in bc.args]


def test_c4_62_memory_leak_analyze() -> None:
    s = _read("msdocs", "c4-0x62-memory-leaks-01.txt")
    assert [_summary(b) for b in s.bugchecks] == [
        (BugCheckSource.ANALYZE, 0xC4, [0x62, 0x9707712C, 0x9C1FAF70, 3])
    ]
    bc = s.bugchecks[0]
    assert bc.name == "DRIVER_VERIFIER_DETECTED_VIOLATION"
    assert bc.range == Range.on_line(14, 0, 39)
    assert bc.block_range == Range(Position(8, 0), Position(26, 46))
    a4 = bc.arg(4)
    assert a4 is not None and a4.description is not None
    assert "!verifier 3" in a4.description  # the help lines after Arg4 join its description
    assert a4.range.end == Position(26, 46)
    assert bc.rule is None


def test_verifier_rule_fatal_error() -> None:
    s = _read("msdocs", "handling-bug-check-with-verifier-01.txt")
    assert [_summary(b) for b in s.bugchecks] == [
        (BugCheckSource.FATAL_ERROR, 0xC4, [0x20005, 0xFFFFF88000E16F50, 0, 0])
    ]
    bc = s.bugchecks[0]
    assert bc.code_range == Range.on_line(3, 24, 34)
    assert bc.args[1].value.text == "0xFFFFF88000E16F50"
    assert bc.args[1].value.range == Range.on_line(4, 43, 61)


def test_verifier_rule_analyze() -> None:
    s = _read("msdocs", "handling-bug-check-with-verifier-02.txt")
    assert [_summary(b) for b in s.bugchecks] == [
        (BugCheckSource.ANALYZE, 0xC4, [0x20005, 0xFFFFF88000E16F50, 0, 0])
    ]
    bc = s.bugchecks[0]
    assert bc.rule == "IrqlExApcLte1"
    bstr = bc.field("BUGCHECK_STR")
    assert bstr is not None and bstr.value == "0xc4_IrqlExApcLte1_XDV"
    info = bc.field("DV_RULE_INFO")
    assert info is not None and info.value == "!ruleinfo 0x20005"
    assert bc.field("PROCESS_NAME") is not None


def test_dpc_watchdog_wrapped_and_missing_descriptions() -> None:
    s = _read("msdocs", "bug-check-0x133-dpc-watchdog-violation-01.txt")
    assert [_summary(b) for b in s.bugchecks] == [
        (BugCheckSource.ANALYZE, 0x133, [0, 0x501, 0x500, 0])
    ]
    bc = s.bugchecks[0]
    assert bc.name == "DPC_WATCHDOG_VIOLATION"
    a1, a4 = bc.arg(1), bc.arg(4)
    assert a1 is not None and a4 is not None
    assert a1.description_range == Range(Position(11, 24), Position(12, 59))
    assert a4.description is None and a4.description_range is None
    image = bc.field("IMAGE_NAME")
    assert image is not None and image.value == "BthA2DP.sys"


def test_dot_bugcheck() -> None:
    s = _read("msdocs", "bug-check-0x1e-kmode-exception-not-handled-01.txt")
    assert [_summary(b) for b in s.bugchecks] == [
        (BugCheckSource.DOT_BUGCHECK, 0x1E, [0xC0000005, 0x8013CD0A, 0, 0x362CFFFF])
    ]
    assert s.bugchecks[0].code_range == Range.on_line(1, 14, 22)


def test_blue_screen_summary() -> None:
    s = _read("msdocs", "blue-screen-data-01.txt")
    assert [_summary(b) for b in s.bugchecks] == [
        (
            BugCheckSource.ANALYZE_SUMMARY,
            0x9F,
            [3, 0xFFFFE000F38C06A0, 0xFFFFF803C596CAD0, 0xFFFFE000F46A1010],
        )
    ]
    bc = s.bugchecks[0]
    assert bc.probably_caused_by == "hidusb.sys"
    assert bc.probably_caused_by_range == Range.on_line(11, 21, 31)
    assert bc.args[0].value.range == Range.on_line(8, 14, 15)


def test_analyze_show() -> None:
    s = _read("msdocs", "bug-check-code-reference2-01.txt")
    assert [_summary(b) for b in s.bugchecks] == [(BugCheckSource.ANALYZE, 0x9F, [3, 0, 0, 0])]
    assert s.bugchecks[0].name == "DRIVER_POWER_STATE_FAILURE"


def test_real_key_values_generation() -> None:
    s = _read("real", "windbg", "bugcheck-50-x64-analyze-v-keyvalues.log")
    assert [_summary(b) for b in s.bugchecks] == [
        (BugCheckSource.ANALYZE, 0x50, [0xFFFFE5068D8A4000, 2, 0xFFFFF801197F1D1E, 0])
    ]
    bc = s.bugchecks[0]
    a2 = bc.arg(2)
    assert a2 is not None and a2.description_range == Range(Position(12, 24), Position(17, 76))
    code = bc.field("BUGCHECK_CODE")
    assert code is not None and code.value == "50"
    kv = bc.field("Bugcheck.Code.KiBugCheckData")
    assert kv is not None and kv.value == "0x50"
    assert len([f for f in bc.fields if f.key.startswith("Hypervisor.")]) == 40
    assert bc.symbol is not None
    assert (bc.symbol.module, bc.symbol.function, bc.symbol.offset) == ("Driver", None, 0x1D1E)
    assert bc.symbol.range == Range.on_line(271, 14, 25)
    assert bc.stack is not None and len(bc.stack.frames) == 15
    follow = bc.field("Followup")
    assert follow is not None and follow.value == "MachineOwner"
    assert bc.block_range == Range(Position(1, 0), Position(290, 9))


def test_real_fatal_error_and_short_analysis_and_manual_breakin() -> None:
    s = _read("real", "windbg", "bugcheck-ce-x86-win7-fatal-reconnect-manual-breakin.log")
    args = [0x98F31C11, 8, 0x98F31C11, 0]
    # the later "Unknown bugcheck code (0)" analysis of a manual break-in is no bug check
    assert [_summary(b) for b in s.bugchecks] == [
        (BugCheckSource.FATAL_ERROR, 0xCE, args),
        (BugCheckSource.ANALYZE_SUMMARY, 0xCE, args),
    ]
    fatal, summary = s.bugchecks
    assert fatal.probably_caused_by == "IOCTL_fuzzer.sys"
    assert summary.probably_caused_by == "IOCTL_fuzzer.sys"
    assert summary.field("Followup") is not None


def test_real_verifier_leak() -> None:
    s = _read("real", "windbg", "verifier-c4-62-x86-win7-verifier3.log")
    assert [_summary(b) for b in s.bugchecks] == [
        (BugCheckSource.FATAL_ERROR, 0xC4, [0x62, 0x86A84EBC, 0x86A2D4F8, 1]),
        (BugCheckSource.ANALYZE, 0xC4, [0x62, 0x86A84EBC, 0x86A2D4F8, 1]),
    ]
    bc = s.bugchecks[1]
    p2 = bc.field("BUGCHECK_P2")
    assert p2 is not None and p2.value == "ffffffff86a84ebc"
    image = bc.field("IMAGE_NAME")
    assert image is not None and image.value == "Sample.sys"
    entry = bc.field("VERIFIER_DRIVER_ENTRY")
    assert entry is not None and len(entry.value.splitlines()) == 2
    assert bc.block_range is not None and bc.block_range.end.line == 152


def test_real_elided_registry_error() -> None:
    s = _read("real", "windbg", "bugcheck-51-registry-error-x64-elided.log")
    assert [_summary(b) for b in s.bugchecks] == [
        (BugCheckSource.ANALYZE, 0x51, [0x11, 0xFFFFD3015B5266C0, 0, 0])
    ]
    bc = s.bugchecks[0]
    assert bc.name == "REGISTRY_ERROR"
    a4 = bc.arg(4)
    assert a4 is not None and a4.description_range == Range(Position(17, 24), Position(18, 36))
    assert bc.stack is not None and len(bc.stack.frames) == 15
    assert [f.key for f in bc.fields] == ["STACK_TEXT"]


def _corpus_files() -> list[Path]:
    root = shared_path("corpus")
    return sorted(p for p in root.rglob("*") if p.suffix in (".txt", ".log"))


def test_no_bug_check_parser_faults_anywhere() -> None:
    for path in _corpus_files():
        session, _ = parse_bytes(path.read_bytes())
        own = [f.summary() for f in session.faults if f.where.startswith(OWN_PARSERS)]
        assert own == [], path.name
        for bc in session.bugchecks:
            assert bc.block_range is not None and bc.block_range.covers(bc.range), path.name
            assert all(1 <= a.index <= 4 for a in bc.args), path.name
