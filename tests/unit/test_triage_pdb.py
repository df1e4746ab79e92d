"""Crash triage through the fixture driver's PDBs: faulting lines exact, callers one byte early."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.analysis import Analysis, FrameKind, analyze
from kdlens.analysis.evidence import Origin
from kdlens.model import Range, SymbolRef
from kdlens.parse import parse_text
from kdlens.symbols.pdb import PdbFile

from fixtures.logs import make_crash_logs as crash
from fixtures.pdb.pdbtest import line_of, pdb_path
from fixtures.symbols.symtest import source, store
from helpers import FIXTURES

LOGS = FIXTURES / "logs"


@pytest.mark.parametrize("name", sorted(crash.LOGS))
def test_crash_logs_are_what_the_script_writes(name: str) -> None:
    assert (LOGS / name).read_text(encoding="utf-8") == crash.LOGS[name]()


def _analyse(tmp_path: Path, name: str, *builds: str) -> Analysis:
    symbols = source(store(tmp_path / "sym", *builds), tmp_path / "cache")
    session = parse_text((LOGS / name).read_text(encoding="utf-8"))
    assert not session.faults, session.faults
    return analyze(session, symbols=symbols)


def _at(file: str, text: str) -> tuple[str, int]:
    return file, line_of(file, text)


def _short(loc: object) -> tuple[str, int] | None:
    if loc is None:
        return None
    return loc.file_name, loc.line  # type: ignore[attr-defined]


def test_d1_faulting_line_is_looked_up_exactly(tmp_path: Path) -> None:
    a = _analyse(tmp_path, crash.D1_LOG, "x64-O2")
    (t,) = a.triage
    assert t.fault_source is not None and t.fault_source.origin is Origin.SYMBOL_FILE
    assert _short(t.fault_source) == _at("driver.c", "Irp->Status = Status;")
    # the same address as a return address would be the line before it
    back = a.resolver.resolve(t.fault_address, t.fault_symbol, return_address=True)
    assert _short(back) != _short(t.fault_source)
    assert t.message.endswith("by mydriver!DeviceControlDispatch+0x23 (driver.c:26)")
    (frame,) = t.faulting_frames
    assert frame.source is not None and _short(frame.source) == _short(t.fault_source)
    marks = t.source_marks()
    assert marks[0].faulting and _short(marks[0].location) == _short(t.fault_source)


def test_x86_page_fault_callers_land_on_their_calls(tmp_path: Path) -> None:
    a = _analyse(tmp_path, crash.PF_LOG, "x86-O0")
    (t,) = a.triage
    assert _short(t.fault_source) == _at("handleioctl.c", "Out[1] = ChecksumBytes(")
    driver = [(f.label, f.kind, _short(f.source)) for f in t.frames if f.module == "mydriver"]
    assert driver == [
        ("mydriver!HandlePing+0x52", FrameKind.FAULTING, _short(t.fault_source)),
        ("mydriver!HandleIoctl+0x51", FrameKind.RETURN, _at("handleioctl.c", "= HandlePing(Irp")),
        (
            "mydriver!DeviceControlDispatch+0x3e",
            FrameKind.RETURN,
            _at("driver.c", "Status = HandleIoctl(Device"),
        ),
    ]
    marks = t.source_marks()
    assert [m.faulting for m in marks] == [True, False, False]


def test_fatal_error_resolves_through_the_trap_frame(tmp_path: Path) -> None:
    a = _analyse(tmp_path, crash.FATAL_LOG, "x86-O2")
    (t,) = a.triage
    assert _short(t.fault_source) == _at("driver.c", "Irp->Information = 0;")
    back = a.resolver.resolve(t.fault_address, None, return_address=True)
    assert _short(back) == _at("driver.c", "Irp->Status = STATUS_SUCCESS;")


def test_blamed_system_driver_and_the_users_call_sites(tmp_path: Path) -> None:
    a = _analyse(tmp_path, crash.BLAME_LOG, "x64-O0")
    (t,) = a.triage
    assert t.blame_differs
    user = t.first_user_frame
    assert user is not None and user.kind is FrameKind.RETURN
    assert _short(user.source) == _at("stream.cpp", "mydrv::g_Miniport.NewStream(")
    note = next(d for d in a.diagnostics if d.code == "blame-differs")
    assert "(stream.cpp:" in note.message


@pytest.mark.parametrize("build", ["x64-O0", "x64-O2", "x86-O0", "x86-O2"])
def test_exact_and_return_lookups_differ_where_a_line_starts(tmp_path: Path, build: str) -> None:
    """At the first byte of a line, the instruction is that line; a return address there is not."""
    pdb = PdbFile.open(pdb_path(build))
    try:
        fn = pdb.function_by_name("DeviceControlDispatch")
        assert fn is not None
        rva, line, before = None, None, None
        for r in range(fn.rva + 1, fn.rva + fn.length):
            here, prev = pdb.lookup(r), pdb.lookup(r - 1)
            if here and prev and here.line != prev.line:
                rva, line, before = r, here.line, prev.line
                break
        assert rva is not None
    finally:
        pdb.close()
    base = crash.X64_BASE if build.startswith("x64") else crash.X86_BASE
    text = (
        "0: kd> lm m mydriver\n"
        "start             end                 module name\n"
        f"{crash.q(base)} {crash.q(base + 0x4000)}   mydriver   (private pdb symbols)  "
        "C:\\build\\mydriver\\mydriver.pdb\n"
    )
    symbols = source(store(tmp_path / "sym", build), tmp_path / "cache")
    a = analyze(parse_text(text), symbols=symbols)
    offset = rva - fn.rva
    sym = SymbolRef(
        f"mydriver!DeviceControlDispatch+0x{offset:x}",
        Range.on_line(0, 0, 1),
        "mydriver",
        "DeviceControlDispatch",
        offset,
    )
    for address, symbol in ((base + rva, None), (None, sym)):
        exact = a.resolver.resolve(address, symbol, return_address=False)
        ret = a.resolver.resolve(address, symbol, return_address=True)
        assert exact is not None and ret is not None
        assert (exact.line, ret.line) == (line, before)
