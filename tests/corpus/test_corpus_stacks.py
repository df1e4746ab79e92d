"""Stacks, ``ln`` and module listings read from real and documentation logs (exact facts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.model import Range, Session, Stack, StackKind
from kdlens.parse import parse_bytes

from helpers import SHARED, shared_path


def parse(*parts: str) -> Session:
    session, _ = parse_bytes(shared_path("corpus", *parts).read_bytes())
    assert not session.faults, session.faults
    return session


def k_stacks(session: Session) -> list[Stack]:
    return [s for s in session.stacks if s.kind is StackKind.K]


def displays(stack: Stack) -> list[str | None]:
    return [f.symbol.display if f.symbol else None for f in stack.frames]


# --------------------------------------------------------------------------- ln


def test_ln_with_source_lines() -> None:
    s = parse("msdocs", "c4-0x62-memory-leaks-03.txt")
    assert [r.query.value if r.query else None for r in s.ln_results] == [
        0x9A3BF6AC,
        0x9A3BF687,
        0x9A3BF6ED,
    ]
    assert [(r.source.line, r.source.byte_offset) for r in s.ln_results if r.source] == [
        (50, 0x15),
        (38, 0x12),
        (72, 0xA),
    ]
    first = s.ln_results[0]
    assert first.source is not None and first.source.path.endswith("mydriver\\handleioctl.c")
    assert first.before is not None and first.after is not None
    assert first.before.address.value == 0x9A3BF660
    assert first.before.symbol.display == "MyDriver!DeviceControlDispatch+0x4c"
    assert first.after.address.value == 0x9A3BF6D0
    assert first.after.symbol.display == "MyDriver!DeviceControlDispatch"
    last = s.ln_results[2]
    assert (
        last.before is not None
        and last.before.symbol.display == "MyDriver!GetNecessaryObjects+0x1d"
    )


def test_ln_old_kd_with_wrapped_and_glued_halves() -> None:
    s = parse("msdocs", "manually-walking-a-stack-01.txt")
    assert len(s.ln_results) == 14
    assert all(r.after is not None and (r.after.symbol.offset or 0) < 0 for r in s.ln_results)
    assert all(
        r.query and r.before and r.query.value == r.before.address.value for r in s.ln_results
    )
    by_query = {r.query.value: r for r in s.ln_results if r.query}
    wrapped = by_query[0xFE68F57A]
    assert wrapped.after is not None
    assert wrapped.after.symbol.display == "rdr!_RdrUninitializeDiscardableCode-0xa"
    assert wrapped.range.start.line + 1 == wrapped.range.end.line
    glued = by_query[0xFE6B2C04]
    assert glued.after is not None and glued.after.symbol.function == "_RdrReferenceServer"
    assert glued.after.symbol.offset == -0x20
    assert by_query[0x80136039].after is not None
    assert by_query[0x80136039].after.symbol.display == "NT!_KiServiceExit2-0x177"


def test_ln_exact_matches_and_kvn_annotations() -> None:
    s = parse("real", "windbg", "win32k-x86-kvn-fpo-ln-dx.log")
    (stack,) = k_stacks(s)
    assert stack.header == "# ChildEBP RetAddr  Args to Child"
    assert stack.x64 is False
    assert [f.number for f in stack.frames] == [0, 1, 2, 3, 4, 5]
    f0 = stack.frames[0]
    assert f0.symbol is not None and f0.symbol.display == "CVE_2014_4113!WndProcCallbackHook+0x74"
    assert f0.annotation == "(FPO: [Non-Fpo]) (CONV: stdcall)"
    assert [a.value for a in f0.args] == [0, 0, 0x0076F964]
    assert stack.frames[5].annotation == "(FPO: [3,0,4])"
    assert (
        stack.frames[5].symbol is not None
        and stack.frames[5].symbol.display == "nt!KiCallUserMode+0x4"
    )

    exact, truncated = s.ln_results
    assert exact.query is not None and exact.query.value == 0x9263E37E
    assert exact.after is not None and exact.after.symbol.display == "win32k!IncSFWLockCount"
    assert exact.after.address.value == 0x9263F318
    assert [e.symbol.display for e in exact.exact] == ["win32k!xxxMenuWindowProc"]
    assert exact.exact[0].address.value == 0x9263E37E
    assert truncated.before is not None and truncated.before.symbol.module == "CVE_2014_4113"
    assert truncated.after is None


def test_ln_and_lm_x64_user_mode() -> None:
    s = parse("real", "windbg", "lm-ln-x64-usermode-private-pdb.log")
    assert [m.name for m in s.modules] == ["ntdll", "ntdll"]
    first, second = s.modules
    assert first.start is not None and first.start.value == 0x00007FFD29DB0000
    assert first.end is not None and first.end.value == 0x00007FFD29FA5000
    assert first.symbol_status == "private pdb symbols"
    assert first.symbol_file is not None and first.symbol_file.endswith("\\ntdll.pdb")
    assert second.symbol_status == "service symbols: Symbol Builder Symbols"
    assert second.symbol_file is None
    assert [r.before.symbol.display if r.before else None for r in s.ln_results] == [
        "ntdll!test",
        "ntdll!test+0x4",
        "ntdll!test+0x9",
    ]
    assert all(r.before and r.before.address.value == 0x00007FFD29DB0100 for r in s.ln_results)
    assert [e.symbol.display for e in s.ln_results[0].exact] == ["ntdll!test"]
    assert all(r.query is None for r in s.ln_results)  # ``ln ntdll+100`` is an expression


# --------------------------------------------------------------------------- modules


def test_lm_with_unloaded_modules() -> None:
    s = parse("msdocs", "lm-01.txt")
    assert [(m.name, m.unloaded) for m in s.modules] == [
        ("sysaudio", False),
        ("srv", False),
        ("sr", False),
        ("serial", False),
        ("serenum", False),
        ("swenum", False),
        ("swmidi.sys", True),
        ("splitter.sys", True),
        ("Sfloppy.SYS", True),
    ]
    serenum = s.modules[4]
    assert serenum.symbol_status is None
    assert serenum.symbol_file == "e:\\mysymbols\\SereEnum.pdb\\......."
    assert s.modules[0].symbol_status == "deferred"
    assert s.modules[0].end is not None and s.modules[0].end.value == 0xF9F7FD80
    assert s.modules[8].start is not None and s.modules[8].start.value == 0xFB040000


def test_lm_and_lmi_user_mode_x86() -> None:
    s = parse("msdocs", "lmi-01.txt")
    prymes, kernel32, ntdll, lmi = s.modules
    assert prymes.properties.get("marker") == "C"
    assert (prymes.symbol_status, prymes.symbol_file) == ("pdb symbols", "Prymes.pdb")
    assert (kernel32.symbol_status, kernel32.symbol_file) == (
        "export symbols",
        "C:\\WINNT\\system32\\KERNEL32.dll",
    )
    assert ntdll.name == "ntdll"
    assert lmi.name == "Prymes"
    assert lmi.start is not None and lmi.start.value == 0x400000
    assert lmi.end is not None and lmi.end.value == 0x42D000
    assert lmi.image_size == 0x2D000
    assert lmi.image_name == "Prymes.exe"
    assert lmi.timestamp == 0x3C76C346
    assert lmi.checksum == 0
    assert lmi.symbol_status == "export symbols"
    assert lmi.properties["Machine Type"] == "332 (I386)"
    assert lmi.pdb_guid is None


def test_lmi_x64_kernel_with_codeview() -> None:
    s = parse("msdocs", "debug-universal-drivers-kernel-mode-02.txt")
    (mod,) = s.modules
    assert mod.name == "tabletaudiosample"
    assert mod.start is not None and mod.start.value == 0xFFFFF8069AD90000
    assert mod.end is not None and mod.end.value == 0xFFFFF8069AD90000 + 0x48000
    assert mod.image_name == "tabletaudiosample.sys"
    assert mod.timestamp == 0x58EBE848
    assert mod.checksum == 0x42DF7
    assert mod.pdb_guid == "5395F0C5-AE50-4C56-AD31-DD5473BD318F"
    assert mod.pdb_age == 1
    assert mod.symbol_file is not None and mod.symbol_file.endswith(
        "\\x64\\Debug\\TabletAudioSample.pdb"
    )
    assert mod.symbol_status == "private symbols & lines, not source indexed"
    assert mod.range.start.line == 1 and mod.range.end.line == 19


def test_lmvm_x64_no_symbols() -> None:
    s = parse("msdocs", "bug-check-0x116-video-tdr-failure-03.txt")
    (mod,) = s.modules
    assert mod.name == "nvlddmkm"
    assert mod.properties["marker"] == "T"
    assert mod.symbol_status == "no symbols"
    assert mod.image_path == "\\SystemRoot\\system32\\DRIVERS\\nvlddmkm.sys"
    assert mod.image_name == "nvlddmkm.sys"
    assert mod.timestamp == 0x559DA7A0
    assert mod.checksum == 0x00AA7491
    assert mod.image_size == 0x00AE7000
    assert mod.start is not None and mod.end is not None
    assert mod.end.value - mod.start.value == mod.image_size
    assert mod.properties["Translations"] == "0000.04b0 0000.04e4 0409.04b0 0409.04e4"


# --------------------------------------------------------------------------- stacks


def test_x64_k_with_source_lines() -> None:
    s = parse("msdocs", "bug-check-0x116-video-tdr-failure-06.txt")
    (stack,) = k_stacks(s)
    assert stack.x64 is True
    assert len(stack.frames) == 9
    f0 = stack.frames[0]
    assert f0.symbol is not None and f0.symbol.display == "nt!KeBugCheckEx"
    assert f0.source is not None
    assert (f0.source.path, f0.source.line) == (
        "d:\\th\\minkernel\\ntos\\ke\\amd64\\procstat.asm",
        122,
    )
    assert f0.frame_pointer is not None and f0.frame_pointer.value == 0xFFFFD0017D53D918
    assert displays(stack)[3] == "dxgkrnl!DXGADAPTER::Reset+0x177"
    assert stack.frames[8].return_address is not None and stack.frames[8].return_address.value == 0


def test_x64_kn_with_inline_frame_and_spaces_in_path() -> None:
    s = parse("msdocs", "debug-universal-drivers-lab-echo-03.txt")
    (stack,) = k_stacks(s)
    assert len(stack.frames) == 6
    f0, f1 = stack.frames[:2]
    assert f0.source is not None
    assert f0.source.path == "c:\\Samples\\kmdf echo sample\\c++\\driver\\autosync\\driver.c"
    assert f0.source.line == 138
    assert f1.inline is True and f1.frame_pointer is None
    assert f1.symbol is not None and f1.symbol.display == "Wdf01000!FxDriverDeviceAdd::Invoke+0x30"
    assert f1.source is not None and f1.source.line == 61


def test_x86_kb_kv_with_trap_frame_and_wrapped_symbol() -> None:
    s = parse("msdocs", "bug-check-0xa-irql-not-less-or-equal-01.txt")
    kb, kv, kb2 = k_stacks(s)
    assert [len(kb.frames), len(kv.frames), len(kb2.frames)] == [5, 5, 3]
    assert kb.frames[3].symbol is None and len(kb.frames[3].args) == 3
    assert kv.frames[0].annotation == "(FPO: [0,0,0])"
    assert kv.frames[2].annotation == "(FPO: [0,0] TrapFrame @ 8013eee8)"
    assert kv.frames[2].symbol is not None and kv.frames[2].symbol.display == "NT!_KiTrap0E+0x256"
    wrapped = kb2.frames[1]
    assert (
        wrapped.symbol is not None
        and wrapped.symbol.display == "NDIS!_EthFilterIndicateReceiveComplete+0x31"
    )
    assert wrapped.range.start.line + 1 == wrapped.range.end.line


def test_tilde_star_k_threads() -> None:
    s = parse("msdocs", "debugging-a-stack-overflow-02.txt")
    stacks = k_stacks(s)
    assert [st.thread.split()[0] if st.thread else None for st in stacks] == ["0", "1", ".", "3"]
    assert [len(st.frames) for st in stacks] == [0, 0, 1, 0]
    assert displays(stacks[2]) == ["COMCTL32!_chkstk+0x25"]
    assert stacks[2].header == "ChildEBP RetAddr"


def test_tilde_star_kv_with_interleaved_noise() -> None:
    s = parse("real", "windbg", "usermode-x86-tilde-kv-dbghelp-noise.log")
    (stack,) = k_stacks(s)
    assert stack.thread == ".  0  Id: 1944.2ac8 Suspend: 0 Teb: 00c06000 Unfrozen"
    assert [f.number for f in stack.frames] == list(range(0x13))
    assert displays(stack)[3] == "vssdk_full+0x306c"
    assert stack.frames[3].symbol is not None and stack.frames[3].symbol.function is None
    assert stack.frames[2].annotation == "(FPO: [Non-Fpo])"
    assert displays(stack)[-1] == "ntdll!_RtlUserThreadStart+0x1b"


def test_knL_x64() -> None:
    s = parse("real", "windbg", "knL-x64-139.log")
    (stack,) = k_stacks(s)
    assert len(stack.frames) == 0x12
    assert displays(stack)[8] == "Driver+0x11b1"
    assert displays(stack)[0] == "nt!KeBugCheckEx"
    assert (
        stack.frames[-1].return_address is not None and stack.frames[-1].return_address.value == 0
    )


def test_k_x64_kernel_to_user() -> None:
    s = parse("real", "windbg", "k-x64-d1-notmyfault-kernel-to-user.log")
    (stack,) = k_stacks(s)
    assert len(stack.frames) == 0x26
    f = stack.frames[0x0B]
    assert f.number == 0x0B
    assert f.frame_pointer is not None and f.frame_pointer.text == "0000008e`15fbe968"
    assert f.symbol is not None and f.symbol.display == "ntdll!NtDeviceIoControlFile+0x14"
    assert displays(stack)[3] == "myfault+0x12d0"


def test_kf_row_without_header() -> None:
    s = parse("msdocs", "bug-check-0x1aa-exception-on-invalid-stack-05.txt")
    (stack,) = k_stacks(s)
    (frame,) = stack.frames
    assert frame.number == 2
    assert frame.frame_pointer is not None and frame.frame_pointer.value == 0xFFFFDC0E9EE66850
    assert frame.return_address is not None and frame.return_address.value == 0xFFFFF8002B7F8801
    assert (
        frame.symbol is not None and frame.symbol.display == "dxgmms2!VidSchiMarkDeviceAsError+0x4d"
    )


# --------------------------------------------------------------------------- every file

CORPUS = SHARED / "corpus"
FILES = (
    sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".txt", ".log"))
    if CORPUS.exists()
    else []
)


def _inside(r: Range, raw: list[str]) -> bool:
    return (
        0 <= r.start.line <= r.end.line < len(raw)
        and r.end.character <= len(raw[r.end.line])
        and (r.start.line, r.start.character) <= (r.end.line, r.end.character)
    )


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not available")
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(CORPUS)))
def test_stack_ln_module_ranges_stay_inside_the_document(path: Path) -> None:
    session, doc = parse_bytes(path.read_bytes())
    assert not session.faults, session.faults
    ranges: list[Range] = []
    for st in session.stacks:
        ranges.append(st.range)
        for f in st.frames:
            ranges.append(f.range)
            ranges.extend(
                n.range for n in (f.frame_pointer, f.return_address, f.address, f.symbol) if n
            )
    for ln in session.ln_results:
        ranges.append(ln.range)
        for half in (ln.before, ln.after, *ln.exact):
            if half:
                ranges.extend((half.address.range, half.symbol.range))
    for m in session.modules:
        ranges.extend((m.range, m.name_range))
    assert all(_inside(r, doc.raw) for r in ranges)
