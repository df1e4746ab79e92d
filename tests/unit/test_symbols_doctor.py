"""The symbol doctor: symbol-loader lines read, one finding per module, hover and the fix to copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.analysis import Analysis, analyze
from kdlens.features.actions import ActionKind, DiagnosticRef, code_actions
from kdlens.features.hover import hover
from kdlens.index import build_index
from kdlens.model import Position, SymbolNoteKind
from kdlens.parse import parse_text
from kdlens.sources import SourceMapper
from kdlens.symbols.resolver import SymbolFiles

from fixtures.symbols.symtest import key_of, store
from helpers import log, shared_path

#: A kernel session without the driver's symbols: the loader's complaints sit before,
#: inside and after the stack (where the stack parser reads past them).
SESSION = log(
    """
    0: kd> .sympath
    Symbol search path is: srv*c:\\symcache*http://127.0.0.1:9/symbols
    0: kd> kn
    *** ERROR: Module load completed but symbols could not be loaded for mydriver.sys
     # Child-SP          RetAddr               Call Site
    00 ffffd30c`5e7f69f8 fffff807`1b2b136d     nt!ExAllocatePoolWithTag
    01 ffffd30c`5e7f6a00 fffff807`1b2b143f     mydriver+0x136d
    *** WARNING: Unable to verify checksum for mydriver.sys
    02 ffffd30c`5e7f6a30 fffff807`1b2b101a     mydriver+0x143f
    03 ffffd30c`5e7f6a70 fffff807`197f1d1e     mydriver+0x101a
    04 ffffd30c`5e7f6ad0 fffff807`19a7b3f4     nt!IofCallDriver+0x55
    0: kd> lm m mydriver
    start             end                 module name
    fffff807`1b2b0000 fffff807`1b2b4000   mydriver   (no symbols)
    0: kd> !lmi mydriver
    Loaded Module Info: [mydriver]
             Module: mydriver
       Base Address: fffff8071b2b0000
         Image Name: mydriver.sys
               Size: 4000
    Debug Data Dirs: Type  Size     VA  Pointer
                 CODEVIEW    24,  2000,    1200 RSDS - GUID: {7834772B-26A0-5685-4C4C-44205044422E}
                   Age: 1, Pdb: mydriver.pdb

    0: kd> !sym noisy
    DBGHELP: mydriver - no symbols loaded
    SYMSRV:  HttpQueryInfo: 80190194 - HTTP_STATUS_NOT_FOUND for mydriver.pdb
    *** WARNING: symbols timestamp is wrong 0x5e7f6a00 0x6037d862 for hal.dll
    """
)


def _analysis(text: str, symbols: SymbolFiles | None = None) -> Analysis:
    session = parse_text(text)
    analysis = analyze(session, symbols=symbols)
    assert not session.faults, session.faults
    return analysis


def _line(text: str, needle: str) -> int:
    (hit,) = [i for i, ln in enumerate(text.splitlines()) if needle in ln]
    return hit


def test_loader_lines_are_read_wherever_they_stand() -> None:
    session = parse_text(SESSION)
    lines = SESSION.splitlines()
    got = [(n.kind, n.module, n.status) for n in session.symbol_notes]
    assert got == [
        (SymbolNoteKind.LOAD_FAILED, "mydriver.sys", None),
        (SymbolNoteKind.CHECKSUM, "mydriver.sys", None),
        (SymbolNoteKind.DBGHELP, "mydriver", "no symbols loaded"),
        (SymbolNoteKind.SYMSRV, "mydriver.pdb", "HTTP_STATUS_NOT_FOUND"),
        (SymbolNoteKind.MISMATCH, "hal.dll", None),
    ]
    for note in session.symbol_notes:
        assert note.module_range is not None
        row = lines[note.module_range.start.line]
        assert (
            row[note.module_range.start.character : note.module_range.end.character] == note.module
        )
        assert row.strip() == note.text
    # the stack parser still read every frame around the notes
    (stack,) = session.stacks
    assert len(stack.frames) == 5


def test_one_finding_per_module_with_the_pdb_to_look_for() -> None:
    analysis = _analysis(SESSION)
    found = [d for d in analysis.diagnostics if d.code == "symbol-doctor"]
    assert sorted(d.data["module"] for d in found) == ["hal", "mydriver"]
    (mine,) = [d for d in found if d.data["module"] == "mydriver"]
    assert mine.range.start.line == _line(SESSION, "*** ERROR: Module load")
    assert mine.message == (
        "mydriver.sys had no symbols in this session (the debugger could not load its symbols): "
        "3 frame(s) show mydriver+0x136d and the like; set kdlens.symbolPath to the folder "
        "holding mydriver.pdb (GUID {7834772B-26A0-5685-4C4C-44205044422E}, age 1)"
    )
    assert (
        mine.data["command"] == ".sympath+ <folder holding mydriver.pdb>; .reload /f mydriver.sys"
    )
    related_lines = {r.range.start.line for r in mine.related}
    assert _line(SESSION, "mydriver+0x143f") in related_lines
    (hal,) = [d for d in found if d.data["module"] == "hal"]
    assert "do not match the image" in hal.message


def test_when_kdlens_has_the_pdb_the_finding_says_where_and_the_fix_names_the_store(
    tmp_path: Path,
) -> None:
    sym = store(tmp_path / "sym", "x64-O2")
    symbols = SymbolFiles([str(sym)], cache_dir=tmp_path / "cache")
    analysis = _analysis(SESSION, symbols)
    (mine,) = [
        d
        for d in analysis.diagnostics
        if d.code == "symbol-doctor" and d.data["module"] == "mydriver"
    ]
    assert mine.message.endswith(f"kdlens resolved them from mydriver.pdb in {sym.resolve()}")
    assert mine.data["command"] == f".sympath+ {sym.resolve()}; .reload /f mydriver.sys"
    stored = sym / "mydriver.pdb" / key_of("x64-O2") / "mydriver.pdb"
    assert stored.is_file()


def test_checksum_warnings_and_symbolised_frames_alone_are_no_finding() -> None:
    text = log(
        """
        1: kd> kb
        *** WARNING: Unable to verify checksum for win32k.sys
        ChildEBP RetAddr  Args to Child
        be682b80 a00f5646 e1145100 e1cee560 e1cee560 win32k!vPatCpyRect1_6x6+0x20b
        """
    )
    assert not [d for d in _analysis(text).diagnostics if d.code == "symbol-doctor"]


def _hover_at(analysis: Analysis, text: str, line: int, col: int) -> str | None:
    result = hover(
        analysis,
        build_index(analysis),
        text.splitlines(),
        SourceMapper.create([]),
        Position(line, col),
    )
    return result.markdown if result is not None else None


def test_hover_on_the_loader_line_and_on_the_logs_own_symbol_path() -> None:
    analysis = _analysis(SESSION)
    line = _line(SESSION, "*** ERROR: Module load")
    md = _hover_at(analysis, SESSION, line, 10)
    assert md is not None
    assert "could not load symbols" in md and "set kdlens.symbolPath" in md
    assert "`.sympath+ <folder holding mydriver.pdb>; .reload /f mydriver.sys`" in md
    md = _hover_at(analysis, SESSION, _line(SESSION, "Symbol search path is:"), 5)
    assert md is not None
    assert "never uses a symbol path printed in a log" in md
    assert "`http://127.0.0.1:9/symbols`" in md


def test_the_code_action_copies_the_fix() -> None:
    analysis = _analysis(SESSION)
    line = _line(SESSION, "*** ERROR: Module load")
    (finding,) = [
        d
        for d in analysis.diagnostics
        if d.code == "symbol-doctor" and d.data["module"] == "mydriver"
    ]
    ref = DiagnosticRef(finding.code, finding.range, finding.data)
    (action,) = [a for a in code_actions(analysis, line, line, [ref]) if a.diagnostics == (0,)]
    assert action.text == ".sympath+ <folder holding mydriver.pdb>; .reload /f mydriver.sys"
    assert action.kind is ActionKind.QUICKFIX
    # without the finding in the request, the lines alone offer no fix
    assert not [a for a in code_actions(analysis, line, line) if a.text == action.text]


@pytest.mark.parametrize(
    ("name", "modules"),
    [
        ("msdocs/verifying-symbols-02.txt", {"ntkrnlmp"}),
        ("msdocs/verifying-symbols-03.txt", {"glintMP"}),
        ("msdocs/verifying-symbols-04.txt", {"agpCPQ"}),
        ("msdocs/c4-0x92003-ndis-wifi-timeouts-02.txt", {"NdisTimedOidComplete"}),
        ("real/windbg/usermode-x86-tilde-kv-dbghelp-noise.log", {"vssdk_full"}),
        ("real/windbg/lmvm-x64-driver-no-symbols.log", {"EvilDriver"}),
        ("real/windbg/bugcheck-7e-x64-analyze-v.log", {"EvilDriver"}),
        ("real/windbg/umdh-compare-x64-head-dbghelp-header-entries.log", {"notepad"}),
        ("real/windbg/k-x64-d1-notmyfault-kernel-to-user.log", {"myfault", "notmyfault64"}),
        ("real/windbg/usermode-x64-heap-double-free-c0000374-analyze.log", set()),
    ],
)
def test_corpus_logs_with_symbol_errors_name_exactly_their_modules(
    name: str, modules: set[str]
) -> None:
    path = shared_path("corpus", *name.split("/"))
    analysis = _analysis(path.read_text(encoding="utf-8", errors="replace"))
    found = {d.data["module"] for d in analysis.diagnostics if d.code == "symbol-doctor"}
    assert found == modules
