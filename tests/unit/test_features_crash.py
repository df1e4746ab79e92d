"""Crash triage in the editor features: token index, hover, definition, references, outline,
code lens and the source-file findings, on the crash fixtures (PDBs where lines matter)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from kdlens import knowledge
from kdlens.analysis import Analysis, FrameKind, Severity, analyze
from kdlens.features.crash import CRASH_CALLER, CRASH_SITE, source_findings
from kdlens.features.hints import lenses
from kdlens.features.hover import hover
from kdlens.features.navigation import definition, references
from kdlens.features.outline import NodeKind, outline
from kdlens.index import Kind, TokenIndex, build_index
from kdlens.model import Position, Register
from kdlens.parse import parse_text
from kdlens.pipeline import build_snapshot, make_mapper
from kdlens.settings import Settings
from kdlens.sources import SourceMapper
from kdlens.text import Document

from fixtures.logs import make_crash_logs as crash
from fixtures.pdb.pdbtest import line_of
from fixtures.symbols.symtest import copy_sources, source, store
from helpers import FIXTURES

LOGS = FIXTURES / "logs"


@dataclass
class Log:
    name: str
    lines: list[str]
    analysis: Analysis
    index: TokenIndex
    mapper: SourceMapper

    def pos(self, needle: str, nth: int = 0, offset: int = 1) -> Position:
        seen = 0
        for i, line in enumerate(self.lines):
            col = line.find(needle)
            if col >= 0:
                if seen == nth:
                    return Position(i, col + offset)
                seen += 1
        raise AssertionError(f"{needle!r} is not in {self.name}")

    def hover(self, needle: str, nth: int = 0, offset: int = 1) -> str:
        res = hover(
            self.analysis, self.index, self.lines, self.mapper, self.pos(needle, nth, offset)
        )
        assert res is not None, needle
        return res.markdown

    def goto(self, needle: str, nth: int = 0, offset: int = 1) -> tuple[str, int] | None:
        """(file name, 1-based line) the definition opens, or None."""
        res = definition(self.analysis, self.index, self.mapper, self.pos(needle, nth, offset))
        if not res.targets:
            return None
        t = res.targets[0]
        return t.path.name, t.range.start.line + 1


def _open(tmp_path: Path, name: str, *builds: str) -> Log:
    text = (LOGS / name).read_text(encoding="utf-8")
    session = parse_text(text)
    symbols = source(store(tmp_path / "sym", *builds), tmp_path / "cache") if builds else None
    analysis = analyze(session, symbols=symbols)
    ws = tmp_path / "ws"
    copy_sources(ws)
    log = Log(name, text.splitlines(), analysis, build_index(analysis), SourceMapper.create([ws]))
    assert not session.faults, session.faults
    return log


def _at(file: str, text: str) -> tuple[str, int]:
    return file, line_of(file, text)


# --------------------------------------------------------------------------- definition


def test_faulting_frame_lands_on_the_faulting_line_not_one_early(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.D1_LOG, "x64-O2")
    faulting = _at("driver.c", "Irp->Status = Status;")
    frame = "mydriver!DeviceControlDispatch+0x23"
    # the STACK_TEXT row after nt!KiPageFault: exact, whatever its position in the stack
    assert log.goto(frame, nth=1) == faulting
    # the same instruction in every other spelling the log prints it
    assert log.goto("rip=", offset=5) == faulting
    assert log.goto("fffff8071b2b1023, address") == faulting  # Arg4
    assert log.goto("fffff807`1b2b1023 :") == faulting  # KiPageFault's RetAddr column
    assert log.goto(frame) == faulting  # the label under the trap frame
    assert log.goto("DeviceControlDispatch+23", offset=3) == faulting  # SYMBOL_NAME
    # looked up as a return address it would be another line: the test can tell them apart
    t = log.analysis.triage[0]
    back = log.analysis.resolver.resolve(t.fault_address, None, return_address=True)
    assert back is not None and (back.file_name, back.line) != faulting


def test_return_frames_land_on_their_calls_and_the_fault_on_its_line(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.PF_LOG, "x86-O0")
    assert log.goto("mydriver!HandlePing+0x52", nth=1) == _at(
        "handleioctl.c", "Out[1] = ChecksumBytes("
    )
    assert log.goto("mydriver!HandleIoctl+0x51") == _at("handleioctl.c", "= HandlePing(Irp")
    assert log.goto("mydriver!DeviceControlDispatch+0x3e") == _at(
        "driver.c", "Status = HandleIoctl(Device"
    )
    assert log.goto("mydriver!HandlePing+52") == _at(
        "handleioctl.c", "Out[1] = ChecksumBytes("
    )  # FAULTING_IP


def test_index_marks_frames_by_their_kind(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.D1_LOG)
    stack = log.analysis.triage[0].stack
    assert stack is not None
    kinds = log.analysis.frame_kinds(stack)
    for i, frame in enumerate(stack.frames):
        if frame.symbol is None:
            continue
        tok = log.index.at(frame.symbol.range.start)
        assert tok is not None and tok.kind is Kind.SYMBOL
        assert tok.return_address is (kinds[i] is FrameKind.RETURN), frame.symbol.text
    assert kinds[3] is FrameKind.FAULTING and kinds[4] is FrameKind.RETURN


def test_register_dump_tokens_and_the_instruction_pointer(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.D1_LOG)
    rip = log.index.at(log.pos("rip=", offset=6))
    assert rip is not None and rip.kind is Kind.REGISTER
    assert isinstance(rip.value, Register) and rip.value.name == "rip"
    assert rip.address == log.analysis.triage[0].fault_address
    rsp = log.index.at(log.pos("rsp=", offset=6))
    assert rsp is not None and rsp.kind is Kind.REGISTER and rsp.address is None


# --------------------------------------------------------------------------- hover


def test_hover_on_a_faulting_frame_says_exact_with_the_source(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.D1_LOG, "x64-O2")
    md = log.hover("mydriver!DeviceControlDispatch+0x23", nth=1)
    assert "Frame 3" in md and "exact lookup" in md and "faulting instruction" in md
    assert f"driver.c:{line_of('driver.c', 'Irp->Status = Status;')}" in md
    assert "`mydriver` + 0x1023" in md
    md = log.hover("nt!IofCallDriver+0x55")
    assert "one byte earlier" in md and "Frame 4" in md


def test_hover_on_registers_names_the_frame_and_module(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.D1_LOG)
    md = log.hover("rip=", offset=6)
    assert "instruction pointer of the trap frame" in md
    assert "Frame 3" in md and "`mydriver` + 0x1023" in md and "exact lookup" in md
    md = log.hover("rsp=", offset=6)
    assert "stack pointer of frame 3" in md and "`mydriver`" in md


def test_hover_on_exception_codes_and_parameters(tmp_path: Path) -> None:
    log = _open(tmp_path, "crash-user-av.log")
    info = knowledge.status_code(0xC0000005)
    assert info is not None
    for needle, nth in (("c0000005 (Access", 0), ("c0000005", 3), ("c0000005 (first", 0)):
        md = log.hover(needle, nth=nth)
        assert info.name.replace("_", "\\_") in md and info.meaning in md, needle
    md = log.hover("Parameter[1]: ", offset=16)
    assert "address that was accessed" in md and "NULL pointer" in md
    md = log.hover("Parameter[0]: ", offset=16)
    assert "access kind: read" in md
    md = log.hover("Attempt to read from address ", offset=31)
    assert "tried to read" in md
    md = log.hover("recparse!ParseRecord+1c [")
    assert "FAULTING_IP" in md and "parse.cpp:88" in md


def test_hover_on_verifier_stop_codes_and_params(tmp_path: Path) -> None:
    log = _open(tmp_path, "crash-avrf-double-free.log")
    info = knowledge.verifier_stop(7)
    assert info is not None
    md = log.hover("0000000000000007:")
    assert f"stop 0x7**: `{info.name}`" in md and info.meaning in md
    arg2 = info.arg(2)
    assert arg2 is not None
    for needle in ("000001C4A1D4BFE0", "000001c4a1d4bfe0"):
        md = log.hover(needle)
        assert "Arg2 of Application Verifier stop 0x7" in md and arg2.label in md
    md = log.hover("HEAPS_DOUBLE_FREE (7)", offset=20)
    assert "not a bug check code" in md


def test_hover_on_irql_values(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.PF_LOG)
    name = knowledge.irql_name(0, "x86")
    assert name
    md = log.hover("CURRENT_IRQL:  0", offset=15)
    assert md.startswith(f"**IRQL 0** = `{name}`")


# --------------------------------------------------------------------------- references


def test_references_of_the_instruction_pointer_find_every_spelling(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.D1_LOG)
    found = references(log.analysis, log.index, log.lines, log.pos("rip=", offset=6))
    lines = {r.start.line for r in found}
    for needle, nth in (("Arg4: ", 0), ("BUGCHECK_P4", 0), ("rip=", 0), ("1b2b1023 897e08", 0)):
        assert log.pos(needle, nth).line in lines, needle
    assert log.pos("fffff807`1b2b1023 :").line in lines


# --------------------------------------------------------------------------- source findings


def test_source_findings_put_the_fault_and_the_call_chain_on_the_users_lines(
    tmp_path: Path,
) -> None:
    log = _open(tmp_path, "crash-avrf-double-free.log")
    found = source_findings(log.analysis, "run.log")
    where = [(f.location.file_name, f.line, f.severity, f.code) for f in found]
    assert where == [
        ("entry.cpp", 57, Severity.ERROR, CRASH_SITE),
        ("trim.cpp", 23, Severity.INFORMATION, CRASH_CALLER),
        ("main.cpp", 12, Severity.INFORMATION, CRASH_CALLER),
    ]
    stop = log.analysis.triage[0].range.start.line + 1
    assert found[0].message.endswith(f"see run.log:{stop}")
    assert "Heap block already freed" in found[0].message
    trim = log.pos("cachetool!TrimCache+0x72").line + 1
    assert found[1].message.endswith(f"see run.log:{trim}")


def test_source_finding_of_a_d1_names_memory_and_irql(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.D1_LOG, "x64-O2")
    (site,) = source_findings(log.analysis, "crash.log")
    assert (site.location.file_name, site.line) == _at("driver.c", "Irp->Status = Status;")
    assert site.message == (
        "0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL here: write of paged pool at DISPATCH_LEVEL, "
        f"see crash.log:{log.analysis.triage[0].range.start.line + 1}"
    )


def test_no_source_findings_for_a_leak_stop(tmp_path: Path) -> None:
    log = _open(tmp_path, "leak-appverif-stop.log")
    assert log.analysis.triage
    assert source_findings(log.analysis, "x.log") == []


# --------------------------------------------------------------------------- outline, lens


@pytest.mark.parametrize(
    ("name", "title"),
    [
        (crash.D1_LOG, "1 of 10 frames is yours: mydriver.sys"),
        ("crash-avrf-double-free.log", "3 of 11 frames are yours: cachetool.exe"),
    ],
)
def test_stack_lens_counts_the_users_frames(tmp_path: Path, name: str, title: str) -> None:
    log = _open(tmp_path, name)
    t = log.analysis.triage[0]
    assert t.stack is not None
    (lens,) = [x for x in lenses(log.analysis) if x.range.start == t.stack.range.start]
    assert lens.title == title
    user = [f for f in t.frames if f.user]
    assert len(lens.text.splitlines()) == 1 + len(user)


def test_outline_lists_each_stop_first(tmp_path: Path) -> None:
    log = _open(tmp_path, crash.BLAME_LOG)
    nodes = outline(log.analysis, log.lines)
    first = nodes[0]
    assert first.kind is NodeKind.CRASH
    assert first.name == "Crash: 0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL"
    assert first.detail.startswith("fileinfo.sys · Ntfs!NtfsChangeAttributeValue+0x392")
    assert "3 of 26 frames yours" in first.detail
    assert [n for n in nodes[1:] if n.kind is NodeKind.CRASH] == []


# --------------------------------------------------------------------------- pipeline


def _snapshot_user_modules(root: Path) -> list[str]:
    text = (LOGS / "crash-avrf-double-free.log").read_text(encoding="utf-8")
    settings = Settings()
    snap = build_snapshot(
        Document(text), settings, make_mapper(settings, [root]), uri="file:///x.log"
    )
    assert not snap.faults
    (t,) = snap.analysis.triage
    return t.user_modules


def test_the_workspace_decides_whose_sources_make_a_module_the_users(tmp_path: Path) -> None:
    """The log has no ``lm``: cachetool is the user's because its sources are in the workspace."""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _snapshot_user_modules(empty) == []
    ws = tmp_path / "ws"
    (ws / "cachetool").mkdir(parents=True)
    for name in ("entry.cpp", "trim.cpp", "main.cpp"):
        (ws / "cachetool" / name).write_text("// stand-in\n")
    assert _snapshot_user_modules(ws) == ["cachetool.exe"]
