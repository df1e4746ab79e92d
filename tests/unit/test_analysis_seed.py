"""The seed workflow end to end: one 0xC4/0x62 bug check, three leaks, all evidence linked."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.analysis import AnalysisSettings, Code, Severity, analyze
from kdlens.analysis.evidence import Origin
from kdlens.model import PoolOp
from kdlens.parse import parse_text

from helpers import FIXTURES

SEED = FIXTURES / "logs" / "seed-c4-62.log"


def seed_text() -> str:
    return Path(SEED).read_text(encoding="utf-8")


def test_seed_session_has_one_bug_check_and_three_linked_leaks() -> None:
    session = parse_text(seed_text())
    assert not session.faults, session.faults
    a = analyze(session)

    assert len(a.cases) == 1
    case = a.cases[0]
    assert (case.code, case.args) == (0xC4, [0x62, 0x9707712C, 0x9C1FAF70, 3])

    facts = [(leak.address, leak.tag, leak.size) for leak in a.leaks]
    assert facts == [
        (0x982A8FE0, "VMdl", 0x20),
        (0x8645A000, "mdrv", 0x1008),
        (0x9A836FD0, "Vfwi", 0x30),
    ]
    for leak in a.leaks:
        assert leak.case is case
        assert leak.driver.name == "MyDriver.sys"
        assert leak.ln is not None and leak.ln.query is not None
        assert leak.record is not None and leak.record.op is PoolOp.ALLOCATE
        assert leak.source is not None and leak.source.origin is Origin.LN

    # the first frame below the verifier's wrappers is the driver's own code
    assert [leak.call_site.display for leak in a.leaks if leak.call_site] == [
        "MyDriver!DeviceControlDispatch+0x4c",
        "MyDriver!DeviceControlDispatch+0x27",
        "MyDriver!GetNecessaryObjects+0x1d",
    ]
    assert [(leak.source.file_name, leak.source.line) for leak in a.leaks if leak.source] == [
        ("handleioctl.c", 50),
        ("handleioctl.c", 38),
        ("handleioctl.c", 72),
    ]


def test_seed_diagnostics() -> None:
    text = seed_text()
    lines = text.splitlines()
    a = analyze(parse_text(text))
    codes = [d.code for d in a.diagnostics]
    assert codes.count(Code.BUG_CHECK) == 1
    assert codes.count(Code.LEAKED_ALLOCATION) == 3
    assert Code.LEAK_COUNT_MISMATCH not in codes
    assert Code.LEAK_BYTES_MISMATCH not in codes
    assert Code.NO_ALLOCATION_HISTORY not in codes

    bug = next(d for d in a.diagnostics if d.code == Code.BUG_CHECK)
    assert bug.severity is Severity.ERROR
    assert lines[bug.range.start.line].startswith("DRIVER_VERIFIER_DETECTED_VIOLATION (c4)")
    assert bug.message.startswith("0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION: ")
    assert "MyDriver.sys unloaded without freeing 3 pool allocations" in bug.message
    assert bug.doc_url and bug.doc_url.startswith("https://")

    leaks = [d for d in a.diagnostics if d.code == Code.LEAKED_ALLOCATION]
    for d, addr in zip(leaks, ("0x982a8fe0", "0x8645a000", "0x9a836fd0"), strict=True):
        assert d.severity is Severity.WARNING
        row = lines[d.range.start.line]
        assert row.strip().startswith(addr)
        assert d.range.start.line == d.range.end.line
        assert {r.message.split(" ")[0] for r in d.related} >= {"allocation", "ln"}
    assert leaks[1].message == (
        "Leaked 0x1008 (4,104) bytes, tag 'mdrv', allocated by "
        "MyDriver!DeviceControlDispatch+0x27 at handleioctl.c:38"
    )


def test_groups_by_allocating_function() -> None:
    a = analyze(parse_text(seed_text()))
    assert [(g.label, g.count, g.bytes) for g in a.groups] == [
        ("MyDriver!DeviceControlDispatch", 2, 0x1028),
        ("MyDriver!GetNecessaryObjects", 1, 0x30),
    ]
    assert [s.line for s in a.groups[0].sources] == [50, 38]


def test_count_mismatch_is_flagged_on_arg4() -> None:
    text = seed_text().replace("Arg4: 00000003,", "Arg4: 00000004,")
    a = analyze(parse_text(text))
    mism = [d for d in a.diagnostics if d.code == Code.LEAK_COUNT_MISMATCH]
    assert len(mism) == 1
    line = text.splitlines()[mism[0].range.start.line]
    assert line[mism[0].range.start.character : mism[0].range.end.character] == "00000004"
    assert "4 allocations" in mism[0].message and "3 rows" in mism[0].message


def test_bytes_mismatch_is_flagged_on_the_counter() -> None:
    text = seed_text().replace(
        "Current Pool Bytes:       ( 0x00001058", "Current Pool Bytes:       ( 0x00001060"
    )
    a = analyze(parse_text(text))
    mism = [d for d in a.diagnostics if d.code == Code.LEAK_BYTES_MISMATCH]
    assert len(mism) == 1
    assert "Current Pool Bytes" in text.splitlines()[mism[0].range.start.line]
    assert "0x1060 (4,192) bytes" in mism[0].message and "0x1058 (4,184) bytes" in mism[0].message


def test_a_row_without_history_gets_a_hint() -> None:
    text = seed_text()
    cut = text.index("kd> !verifier 0x80 0x9a836fd0")
    a = analyze(parse_text(text[:cut]))
    hints = [d for d in a.diagnostics if d.code == Code.NO_ALLOCATION_HISTORY]
    assert len(hints) == 1
    assert hints[0].severity is Severity.INFORMATION
    assert "!verifier 0x80 0x9a836fd0" in hints[0].message


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("MyDriver!DeviceControlDispatch", "MyDriver!NonPNPIRPDispatch0x51"),
        ("mydriver!Device*", "MyDriver!NonPNPIRPDispatch0x51"),
    ],
)
def test_configured_allocator_wrappers_move_the_attribution(pattern: str, expected: str) -> None:
    a = analyze(parse_text(seed_text()), AnalysisSettings(allocator_wrappers=(pattern,)))
    assert a.leaks[0].call_site is not None
    assert a.leaks[0].call_site.text == expected
