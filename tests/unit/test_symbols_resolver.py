"""Symbol files in the analysis: which PDB, which load base, which source line."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdlens.analysis import Analysis, Severity, analyze
from kdlens.analysis.evidence import Origin, SourceLocation
from kdlens.model import Range, Session, StackKind, SymbolRef
from kdlens.parse import parse_text
from kdlens.symbols import cache as cache_module
from kdlens.symbols.pdb import PdbFile
from kdlens.symbols.resolver import SymbolFiles, SymbolState

from fixtures.pdb.pdbtest import patch_stream, pdb_bytes, pdb_path, stream_data
from fixtures.symbols.symtest import (
    X64_FRAMES,
    X64_LOG,
    X86_FRAMES,
    X86_LOG,
    analyze_log,
    flat,
    key_of,
    source,
    store,
)
from fuzz.pdbmutants import damaged

X64_BASE = 0xFFFFF8071B2B0000
X86_BASE = 0x9A3B0000
SYMBOL_CODES = {
    "symbol-mismatch",
    "symbol-error",
    "symbol-timeout",
    "symbol-stripped",
    "symbol-not-found",
    "inconsistent-load-base",
}


def driver_frames(session: Session, module: str) -> Iterator[tuple[int, SymbolRef, bool]]:
    """(code address, symbol, is a return address) of every frame of ``module`` in the log."""
    for rec in session.pool_log:
        for i, fr in enumerate(rec.stack.frames):
            if fr.symbol is not None and fr.symbol.module == module and fr.address is not None:
                yield fr.address.value, fr.symbol, i > 0
    for stack in session.stacks:
        if stack.kind is not StackKind.K:
            continue
        for i, fr in enumerate(stack.frames):
            prev = stack.frames[i - 1].return_address if i > 0 else None
            if fr.symbol is not None and fr.symbol.module == module and prev is not None:
                yield prev.value, fr.symbol, True


def symbol_diagnostics(a: Analysis) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in a.diagnostics if d.code in SYMBOL_CODES]


def at(src: SourceLocation | None) -> tuple[str, int] | None:
    return (src.file_name, src.line) if src is not None else None


def test_x64_vf_target_log_resolves_through_lm_and_a_verified_pdb(tmp_path: Path) -> None:
    symbols = source(store(tmp_path / "sym", "x64-O0", "x64-O2", "x86-O0"), tmp_path / "cache")
    session, a = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    assert symbol_diagnostics(a) == []
    status = symbols.status("mydriver.sys")
    assert status is not None and status.state is SymbolState.VERIFIED
    assert status.expected == status.found == key_of("x64-O2")
    assert status.base == X64_BASE

    # every leak's caller, and every driver frame, lands on the call it returns from
    assert [at(leak.source) for leak in a.leaks] == [
        X64_FRAMES["mydriver!MyAllocate+0x1d"],
        X64_FRAMES["mydriver!QueueDeferredWork+0x98"],
        X64_FRAMES["mydriver!MyAllocate+0x1d"],
    ]
    for leak in a.leaks:
        assert leak.source is not None
        assert leak.source.origin is Origin.SYMBOL_FILE
        assert leak.source.path.startswith("C:\\build\\mydriver\\")
        assert leak.source.note is None
    seen = set()
    for address, sym, ret in driver_frames(session, "mydriver"):
        src = a.resolver.resolve(address, sym, return_address=ret)
        assert at(src) == X64_FRAMES[sym.display], sym.display
        assert src is not None and src.function == sym.display
        seen.add(sym.display)
    assert seen == set(X64_FRAMES) - {"mydriver!QueueDeferredWork+0x98"}


def test_inlined_code_reports_its_chain(tmp_path: Path) -> None:
    symbols = source(store(tmp_path / "sym", "x64-O2"), tmp_path / "cache")
    session, a = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    frame = next(f for f in driver_frames(session, "mydriver") if "StreamRequest" in f[1].text)
    src = a.resolver.resolve(frame[0], frame[1], return_address=True)
    assert src is not None
    assert at(src) == X64_FRAMES["mydriver!StreamRequest+0x2f"]
    assert src.inline_chain == ("CMiniport::NewStream", "StreamRequest")


def test_x86_legacy_log_infers_the_base_from_verifier_frames(tmp_path: Path) -> None:
    # Two PDBs of that name and nothing to check them against: the log's
    # addresses pick the one they agree with.
    symbols = source(store(tmp_path / "sym", "x64-O2", "x86-O0"), tmp_path / "cache")
    session, a = analyze_log(X86_LOG.read_text(encoding="utf-8"), symbols)
    assert session.modules == []
    assert symbol_diagnostics(a) == []
    status = symbols.status("MyDriver")
    assert status is not None
    assert (status.state, status.base, status.found) == (
        SymbolState.UNVERIFIED,
        X86_BASE,
        key_of("x86-O0"),
    )
    assert [at(leak.source) for leak in a.leaks] == [
        X86_FRAMES["MyDriver!MyAllocate+0x35"],
        X86_FRAMES["MyDriver!QueueDeferredWork+0x83"],
        X86_FRAMES["MyDriver!MyAllocate+0x35"],
    ]
    assert all(
        leak.source and leak.source.note == "unverified: matched by name only" for leak in a.leaks
    )
    # the table's caller column is a bare address: it resolves through the inferred base
    (driver,) = session.drivers
    assert driver.allocations is not None
    for row in driver.allocations.rows:
        assert row.caller is not None and row.caller_symbol is None
        src = a.resolver.resolve(row.caller.value, None, return_address=True)
        assert src is not None and src.function in X86_FRAMES
        assert at(src) == X86_FRAMES[src.function]
    frames = list(driver_frames(session, "MyDriver"))
    assert {sym.display for _, sym, _ in frames} == set(X86_FRAMES)
    for address, sym, ret in frames:
        assert at(a.resolver.resolve(address, sym, return_address=ret)) == X86_FRAMES[sym.display]


def test_image_on_the_symbol_path_verifies_the_pdb(tmp_path: Path) -> None:
    root = store(tmp_path / "sym", "x64-O2", image=True)
    store(root, "x86-O0", image=True)
    symbols = source(root, tmp_path / "cache")
    _, a = analyze_log(X86_LOG.read_text(encoding="utf-8"), symbols)
    # two images of that name: neither can vouch for a PDB
    status = symbols.status("MyDriver")
    assert status is not None and status.state is SymbolState.UNVERIFIED

    only = store(tmp_path / "only", "x64-O2")
    store(only, "x86-O0", image=True)
    symbols = source(only, tmp_path / "cache")
    _, a = analyze_log(X86_LOG.read_text(encoding="utf-8"), symbols)
    status = symbols.status("MyDriver")
    assert status is not None and status.state is SymbolState.VERIFIED
    assert status.expected == key_of("x86-O0")
    assert all(leak.source and leak.source.note is None for leak in a.leaks)


def test_image_beside_the_pdb_verifies_or_rejects_it(tmp_path: Path) -> None:
    good = source(flat(tmp_path / "good", "x86-O0", "x86-O0"), tmp_path / "cache")
    _, a = analyze_log(X86_LOG.read_text(encoding="utf-8"), good)
    status = good.status("MyDriver")
    assert status is not None and status.state is SymbolState.VERIFIED
    assert all(leak.source is not None for leak in a.leaks)

    bad = source(flat(tmp_path / "bad", "x86-O0", "x86-O2"), tmp_path / "cache")
    session, a = analyze_log(X86_LOG.read_text(encoding="utf-8"), bad)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "symbol-mismatch"
    assert f"the image {tmp_path / 'bad' / 'mydriver.sys'} expects" in message
    assert "C0D6D499-D0DF-429B-4C4C-44205044422E age 1" in message  # what the image wants
    assert "5F3F1FB8-D371-FE99-4C4C-44205044422E age 1" in message  # what the PDB is
    assert all(leak.source is None for leak in a.leaks)
    status = bad.status("MyDriver")
    assert status is not None and status.state is SymbolState.MISMATCH
    assert (status.expected, status.found) == (key_of("x86-O2"), key_of("x86-O0"))
    # no lm: the diagnostic sits on the driver's name in the verifier report
    d = next(d for d in a.diagnostics if d.code == "symbol-mismatch")
    assert d.range == session.drivers[0].name_range
    assert d.severity is Severity.INFORMATION


def test_pdb_that_does_not_match_lmi_is_not_used(tmp_path: Path) -> None:
    symbols = source(flat(tmp_path / "out", "x64-O0"), tmp_path / "cache")
    text = X64_LOG.read_text(encoding="utf-8")
    _, a = analyze_log(text, symbols)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "symbol-mismatch"
    assert (
        "the log's !lmi record expects GUID 7834772B-26A0-5685-4C4C-44205044422E age 1" in message
    )
    assert "56579EC8-A7D0-6FF5-4C4C-44205044422E age 1" in message
    assert "it is not used" in message
    assert all(leak.source is None for leak in a.leaks)
    d = next(d for d in a.diagnostics if d.code == "symbol-mismatch")
    line = text.splitlines()[d.range.start.line]
    assert line.startswith("fffff807`1b2b0000") and "mydriver" in line  # the lm row
    assert line[d.range.start.character : d.range.end.character] == "mydriver"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_pdb_is_reported_not_fatal(tmp_path: Path, damage: str) -> None:
    root = store(tmp_path / "sym", "x64-O2")
    target = root / "mydriver.pdb" / key_of("x64-O2") / "mydriver.pdb"
    data = target.read_bytes()
    if damage == "truncated":
        target.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        target.write_bytes(data[:64] + bytes(range(256)) * 40)
    else:
        target.write_bytes(b"")
    symbols = source(root, tmp_path / "cache")
    _, a = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "symbol-error"
    assert str(target) in message and "cannot be read" in message
    assert all(leak.source is None for leak in a.leaks)
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.ERROR


def _stripped(data: bytes) -> bytes:
    """Every object module pointed at no stream: only publics are left, like a stripped PDB."""
    with PdbFile.from_bytes(data) as pdb:
        names = pdb.module_names
    dbi = stream_data(data, 3)
    at = 64  # module records follow the 64-byte DBI header
    for name in names:
        # a record: 64 bytes of fields, then the module and object names, 4-byte aligned
        end = dbi.index(b"\0", dbi.index(b"\0", at + 64) + 1) + 1
        if name.lower().endswith(".obj"):
            data = patch_stream(data, 3, at + 34, b"\xff\xff")
        at = (end + 3) & ~3
    return data


def test_stripped_pdb_names_no_lines(tmp_path: Path) -> None:
    root = tmp_path / "sym"
    folder = root / "mydriver.pdb" / key_of("x86-O0")
    folder.mkdir(parents=True)
    (folder / "mydriver.pdb").write_bytes(_stripped(pdb_bytes("x86-O0")))
    symbols = source(root, tmp_path / "cache")
    _, a = analyze_log(X86_LOG.read_text(encoding="utf-8"), symbols)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "symbol-stripped"
    assert "public symbols only" in message
    status = symbols.status("MyDriver")
    assert status is not None and status.stripped and status.base == X86_BASE
    assert "no source lines" in status.message
    assert all(leak.source is None for leak in a.leaks)


def test_inconsistent_load_base_is_reported_and_not_guessed(tmp_path: Path) -> None:
    text = X86_LOG.read_text(encoding="utf-8")
    # one frame printed as if the driver sat 64 KB higher
    moved = text.replace(
        "9a3b118c MyDriver!HandleIoctl+0x6c", "9a3c118c MyDriver!HandleIoctl+0x6c", 1
    )
    assert moved != text
    symbols = source(store(tmp_path / "sym", "x86-O0"), tmp_path / "cache")
    session, a = analyze_log(moved, symbols)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "inconsistent-load-base"
    assert "0x9a3b0000" in message and "0x9a3c0000" in message
    d = next(d for d in a.diagnostics if d.code == code)
    assert moved.splitlines()[d.range.start.line].startswith("9a3c118c")
    assert d.related and moved.splitlines()[d.related[0].range.start.line].startswith("9a3b")
    status = symbols.status("MyDriver")
    assert status is not None and status.base is None
    # bare addresses stay unresolved; Function+offset symbols still resolve by name
    (driver,) = session.drivers
    assert driver.allocations is not None
    caller = driver.allocations.rows[0].caller
    assert caller is not None
    assert a.resolver.resolve(caller.value, None, return_address=True) is None
    assert at(a.leaks[0].source) == X86_FRAMES["MyDriver!MyAllocate+0x35"]


def test_module_plus_offset_frames_place_the_module(tmp_path: Path) -> None:
    text = X86_LOG.read_text(encoding="utf-8")
    # as printed by a debugger without the PDB: MyDriver+0x1535
    for display in X86_FRAMES:
        for line in text.splitlines():
            if line.endswith(" " + display):
                address = int(line.split()[0], 16)
                text = text.replace(line, f"{address:08x} MyDriver+0x{address - X86_BASE:x}")
    assert "MyDriver!" not in text
    symbols = source(store(tmp_path / "sym", "x86-O0"), tmp_path / "cache")
    _, a = analyze_log(text, symbols)
    assert symbol_diagnostics(a) == []
    status = symbols.status("MyDriver")
    assert status is not None and status.base == X86_BASE
    assert [at(leak.source) for leak in a.leaks] == [
        X86_FRAMES["MyDriver!MyAllocate+0x35"],
        X86_FRAMES["MyDriver!QueueDeferredWork+0x83"],
        X86_FRAMES["MyDriver!MyAllocate+0x35"],
    ]
    assert [leak.source.function for leak in a.leaks if leak.source] == [
        "MyDriver!MyAllocate+0x35",
        "MyDriver!QueueDeferredWork+0x83",
        "MyDriver!MyAllocate+0x35",
    ]


def test_symbols_resolve_by_name_without_an_address(tmp_path: Path) -> None:
    symbols = source(store(tmp_path / "sym", "x64-O2"), tmp_path / "cache")
    _, a = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    r = Range.on_line(0, 0, 0)
    stream = SymbolRef("x", r, "mydriver", "StreamRequest", 0x2F)
    assert (
        at(a.resolver.resolve(None, stream, return_address=True))
        == (X64_FRAMES["mydriver!StreamRequest+0x2f"])
    )
    # Function alone: where it starts (its opening line)
    entry = a.resolver.resolve(None, SymbolRef("x", r, "MYDRIVER", "MyAllocate"))
    assert at(entry) == ("alloc.c", 7)
    # Function without offset beside an address outside every known module: no guess
    assert a.resolver.resolve(0x1234, SymbolRef("x", r, "mydriver", "MyAllocate")) is None
    assert a.resolver.resolve(None, SymbolRef("x", r, "mydriver", "NoSuchFunction", 4)) is None
    assert a.resolver.resolve(None, SymbolRef("x", r, "otherdrv", "MyAllocate", 4)) is None


def test_missing_pdb_for_a_verified_driver(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    symbols = source(empty, tmp_path / "cache")
    _, a = analyze_log(X86_LOG.read_text(encoding="utf-8"), symbols)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "symbol-not-found"
    assert "MyDriver.pdb" in message
    status = symbols.status("MyDriver")
    assert status is not None and status.state is SymbolState.NOT_FOUND


def test_the_logs_pdb_path_is_never_opened(tmp_path: Path) -> None:
    elsewhere = flat(tmp_path / "elsewhere", "x64-O2")
    text = X64_LOG.read_text(encoding="utf-8").replace(
        "C:\\build\\mydriver\\x64-O2\\mydriver.pdb", str(elsewhere / "mydriver.pdb")
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    symbols = source(empty, tmp_path / "cache")
    _, a = analyze_log(text, symbols)
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.NOT_FOUND
    assert all(leak.source is None for leak in a.leaks)


def test_slow_loading_gives_up_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = cache_module.read_table

    def slow(f: PdbFile) -> object:
        release.wait(10)
        return real(f)

    monkeypatch.setattr(cache_module, "read_table", slow)
    symbols = source(store(tmp_path / "sym", "x64-O2"), tmp_path / "cache", time_limit=0.2)
    text = X64_LOG.read_text(encoding="utf-8")
    _, a = analyze_log(text, symbols)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "symbol-timeout"
    assert "0.2 s" in message
    release.set()
    symbols.time_limit = 20
    _, again = analyze_log(text, symbols)
    assert symbol_diagnostics(again) == []
    assert all(leak.source is not None for leak in again.leaks)


def test_one_source_serves_many_sessions_from_memory(tmp_path: Path) -> None:
    symbols = source(store(tmp_path / "sym", "x64-O2", "x86-O0"), tmp_path / "cache")
    _, first = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    _, second = analyze_log(X86_LOG.read_text(encoding="utf-8"), symbols)
    _, third = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    assert [at(leak.source) for leak in first.leaks] == [at(leak.source) for leak in third.leaks]
    assert all(leak.source is not None for leak in second.leaks)
    # the disk cache holds both tables for the next process
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_pdb_path_is_unaffected_by_a_mismatching_second_copy(tmp_path: Path) -> None:
    # the right build is found after a wrong flat copy earlier on the path
    wrong = flat(tmp_path / "wrong", "x64-O0")
    right = store(tmp_path / "right", "x64-O2")
    symbols = SymbolFiles([f"{wrong};{right}"], cache_dir=tmp_path / "cache")
    _, a = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    assert symbol_diagnostics(a) == []
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.VERIFIED
    assert status.pdb == right / "mydriver.pdb" / key_of("x64-O2") / "mydriver.pdb"
    assert pdb_path("x64-O2").read_bytes() == status.pdb.read_bytes()


@pytest.mark.parametrize(
    "evidence",
    [
        # ln: the query address and the symbol before it
        "kd> ln 9a3b1535\n(9a3b1500)   MyDriver!MyAllocate+0x35   |  (9a3b1560)   MyDriver!MyFree\n",
        # a k stack: a frame's code address is the RetAddr of the row above
        "kd> kn\n # ChildEBP RetAddr  \n00 8d1f3a20 9a3b1535 nt!ExAllocatePoolWithTag\n"
        "01 8d1f3a40 9a3b1347 MyDriver!MyAllocate+0x35\n02 8d1f3a60 9a3b118c MyDriver+0x1347\n",
    ],
)
def test_base_from_ln_or_a_k_stack(tmp_path: Path, evidence: str) -> None:
    text = X86_LOG.read_text(encoding="utf-8")
    text = text[: text.index("kd> !verifier 0x80")] + evidence + "kd> q\n"
    symbols = source(store(tmp_path / "sym", "x86-O0"), tmp_path / "cache")
    _, a = analyze_log(text, symbols)
    assert symbol_diagnostics(a) == []
    status = symbols.status("MyDriver")
    assert status is not None and status.base == X86_BASE
    assert [at(leak.source) for leak in a.leaks] == [
        X86_FRAMES["MyDriver!MyAllocate+0x35"],
        X86_FRAMES["MyDriver!QueueDeferredWork+0x83"],
        X86_FRAMES["MyDriver!MyAllocate+0x35"],
    ]


def test_no_evidence_of_the_base_leaves_addresses_alone(tmp_path: Path) -> None:
    text = X86_LOG.read_text(encoding="utf-8")
    text = text[: text.index("kd> !verifier 0x80")] + "kd> q\n"
    symbols = source(store(tmp_path / "sym", "x86-O0"), tmp_path / "cache")
    _, a = analyze_log(text, symbols)
    status = symbols.status("MyDriver")
    assert status is not None and status.base is None
    assert "load address unknown" in status.message
    assert all(leak.source is None for leak in a.leaks)


def test_a_bug_in_symbol_handling_is_contained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kdlens.symbols import resolver

    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(resolver._Choice, "run", broken)
    symbols = source(store(tmp_path / "sym", "x64-O2"), tmp_path / "cache")
    a = analyze(parse_text(X64_LOG.read_text(encoding="utf-8")), symbols=symbols)
    errors = [d for d in a.diagnostics if d.code == "symbol-error"]
    assert {d.data["module"] for d in errors} == {"mydriver", "nt"}  # every module tried
    assert [f.error for f in a.session.faults] == ["RuntimeError('boom')"] * 2  # and recorded
    assert all("internal error" in d.message and "boom" in d.message for d in errors)
    assert len(a.leaks) == 3 and all(leak.source is None for leak in a.leaks)


_PIECES = [
    "kd> lm",
    "start    end        module name",
    "9a3b0000 9a3b5000   MyDriver   (private pdb symbols)  c:\\x\\MyDriver.pdb",
    "9a3c0000 9a3b0000   MyDriver   (no symbols)",
    "kd> !verifier 0x80 a4b6efe0",
    "Pool block a4b6efe0, Size 00000010, Thread 8a3f5d48",
    "9a3b1535 MyDriver!MyAllocate+0x35",
    "9a3b1535 MyDriver!MyAllocate+0xffffffff",
    "00000000 MyDriver+0x0",
    "9a3b0010 MyDriver!NoSuchFunction+0x10",
    "ffffffff MyDriver!..\\..\\x+0x1",
    "9a3b1347 mydriver!QueueDeferredWork+0x17",
    "kd> ln 9a3b1535",
    "(9a3b1500)   MyDriver!MyAllocate+0x35   |  (9a3b1560)   MyDriver!MyFree",
    "Loaded Module Info: [MyDriver]",
    "         Module: MyDriver",
    "   Base Address: 9a3b0000",
    "Debug Data Dirs: Type  Size     VA  Pointer",
    "             CODEVIEW    24,  2000,    1200 RSDS - GUID: {5F3F1FB8-D371-FE99-4C4C-44205044422E}",
    "               Age: 7, Pdb: ..\\MyDriver.pdb",
    "",
]


def test_odd_logs_never_break_the_symbol_link(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    symbols = source(store(tmp_path / "sym", "x86-O0", "x64-O2"), tmp_path / "cache")
    base = X86_LOG.read_text(encoding="utf-8")

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(_PIECES), max_size=30))
    def check(lines: list[str]) -> None:
        session, a = analyze_log(base + "\n".join(lines) + "\n", symbols)
        for address, sym, ret in driver_frames(session, "MyDriver"):
            a.resolver.resolve(address, sym, return_address=ret)

    check()


def test_hover_on_a_module_says_what_became_of_its_symbol_file(tmp_path: Path) -> None:
    """A mismatched PDB is named in the module's hover, with the key the log asked for."""
    import shutil

    from kdlens.analysis import analyze
    from kdlens.features.hover import hover
    from kdlens.index import build_index
    from kdlens.model import Position
    from kdlens.parse import parse_text
    from kdlens.sources import SourceMapper

    pdb = pdb_path("x64-O0")
    store = tmp_path / "store"
    store.mkdir()
    shutil.copy(pdb, store / pdb.name)
    name = pdb.stem
    text = (
        "0: kd> lm\n"
        "start             end                 module name\n"
        f"fffff807`1b2b0000 fffff807`1b2c8000   {name}   (deferred)\n"
        f"0: kd> !lmi {name}\n"
        f"Loaded Module Info: [{name}]\n"
        f"         Module: {name}\n"
        "   Base Address: fffff8071b2b0000\n"
        f"     Image Name: {name}.sys\n"
        "Debug Data Dirs: Type  Size     VA  Pointer\n"
        "             CODEVIEW    61,  2140,    1540 RSDS - GUID: {00000000-1111-2222-3333-444444444444}\n"
        f"               Age: 1, Pdb: C:\\build\\{name}.pdb\n"
    )
    session = parse_text(text)
    a = analyze(session, symbols=SymbolFiles([str(store)], disk_cache=False))
    assert any(d.code == "symbol-mismatch" for d in a.diagnostics)
    line = text.splitlines()[2]
    res = hover(
        a,
        build_index(a),
        text.splitlines(),
        SourceMapper.create([tmp_path]),
        Position(2, line.index(name) + 1),
    )
    assert res is not None
    assert "Symbol file: mismatch" in res.markdown
    assert "0000000011112222333344444444444" in res.markdown.replace("-", "").upper()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (
            "names zeroed",
            "the /names stream is unreadable: /names string table has a bad signature",
        ),
        ("names missing", "the PDB has no /names stream, so source files cannot be named"),
        ("no line data", "no line data for the module C:\\build\\mydriver\\x64-O2\\"),
        ("sections zeroed", "the section headers are damaged (section 1 '' at RVA 0)"),
    ],
)
def test_pdb_without_source_lines_says_why(tmp_path: Path, damage: str, reason: str) -> None:
    """A PDB that opens but gives no line for any frame of its driver is reported with the reason."""
    root = store(tmp_path / "sym", "x64-O2")
    target = root / "mydriver.pdb" / key_of("x64-O2") / "mydriver.pdb"
    target.write_bytes(damaged(pdb_bytes("x64-O2"), damage))
    symbols = source(root, tmp_path / "cache")
    _, a = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "symbol-error"
    assert str(target) in message and reason in message
    assert all(leak.source is None for leak in a.leaks)
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.ERROR
    assert reason in status.message


def test_a_pdb_that_resolves_some_frames_is_not_reported(tmp_path: Path) -> None:
    """The check asks for one line, not all: the good fixtures above pass it, and so does
    a log with one frame the PDB knows among frames of functions it does not have."""
    text = X64_LOG.read_text(encoding="utf-8")
    text = text.replace("mydriver!StreamRequest+0x2f", "mydriver!NoSuchFunction+0x2f")
    symbols = source(store(tmp_path / "sym", "x64-O2"), tmp_path / "cache")
    _, a = analyze_log(text, symbols)
    assert symbol_diagnostics(a) == []
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.VERIFIED


def test_mismatch_in_a_misnamed_store_folder_prints_the_files_own_identity(
    tmp_path: Path,
) -> None:
    # x64-O0's PDB filed under a folder whose name is neither its key nor the wanted one
    wrong = "0123456789ABCDEF0123456789ABCDEF1"
    folder = tmp_path / "sym" / "mydriver.pdb" / wrong
    folder.mkdir(parents=True)
    shutil.copy(pdb_path("x64-O0"), folder / "mydriver.pdb")
    symbols = source(tmp_path / "sym", tmp_path / "cache")
    _, a = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "symbol-mismatch"
    assert (
        "the log's !lmi record expects GUID 7834772B-26A0-5685-4C4C-44205044422E age 1" in message
    )
    assert "is GUID 56579EC8-A7D0-6FF5-4C4C-44205044422E age 1" in message  # read from the file
    assert f"its store folder {wrong} names GUID 01234567-89AB-CDEF-0123-456789ABCDEF age 1" in (
        message
    )
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.MISMATCH
    assert (status.expected, status.found) == (key_of("x64-O2"), key_of("x64-O0"))


def test_right_pdb_in_a_misnamed_store_folder_is_used(tmp_path: Path) -> None:
    # x64-O2's PDB (the one the log wants) filed under x64-O0's folder
    folder = tmp_path / "sym" / "mydriver.pdb" / key_of("x64-O0")
    folder.mkdir(parents=True)
    shutil.copy(pdb_path("x64-O2"), folder / "mydriver.pdb")
    symbols = source(tmp_path / "sym", tmp_path / "cache")
    _, a = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    assert symbol_diagnostics(a) == []
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.VERIFIED
    assert status.found == key_of("x64-O2")
    assert f"its store folder {key_of('x64-O0')} names" in status.message
    assert [at(leak.source) for leak in a.leaks] == [
        X64_FRAMES["mydriver!MyAllocate+0x1d"],
        X64_FRAMES["mydriver!QueueDeferredWork+0x98"],
        X64_FRAMES["mydriver!MyAllocate+0x1d"],
    ]


def test_damaged_pdb_in_a_misnamed_store_folder_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "sym" / "mydriver.pdb" / key_of("x64-O0")
    folder.mkdir(parents=True)
    (folder / "mydriver.pdb").write_bytes(pdb_bytes("x64-O2")[:5000])
    symbols = source(tmp_path / "sym", tmp_path / "cache")
    _, a = analyze_log(X64_LOG.read_text(encoding="utf-8"), symbols)
    ((code, message),) = symbol_diagnostics(a)
    assert code == "symbol-error"
    assert str(folder / "mydriver.pdb") in message and "cannot be read" in message
