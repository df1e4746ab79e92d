"""Crash triage from the log alone: kinds, culprits, faulting symbols, decoded values, blame."""

from __future__ import annotations

from kdlens.analysis import Analysis, AnalysisSettings, Code, FrameKind, Severity, analyze
from kdlens.analysis.frames import frame_kinds
from kdlens.analysis.triage import (
    StopKind,
    Triage,
    ValueKind,
    access_kind,
    irql_name,
    status_name,
)
from kdlens.model import Frame, Num, Range, Stack, StackKind, SymbolRef
from kdlens.parse import parse_text

from helpers import FIXTURES, log

LOGS = FIXTURES / "logs"


def run(name: str, settings: AnalysisSettings | None = None) -> Analysis:
    session = parse_text((LOGS / name).read_text(encoding="utf-8"))
    assert not session.faults, session.faults
    return analyze(session, settings)


def only(a: Analysis) -> Triage:
    assert len(a.triage) == 1, [t.message for t in a.triage]
    return a.triage[0]


def test_d1_x64_culprit_fault_and_decoded_arguments() -> None:
    a = run("crash-d1-x64-O2.log")
    t = only(a)
    assert t.kind is StopKind.BUG_CHECK and t.code == 0xD1
    assert t.culprit == "mydriver.sys"
    assert t.blamed is not None and t.blamed.how == "IMAGE_NAME" and not t.blamed.system
    assert t.fault_label == "mydriver!DeviceControlDispatch+0x23"
    assert t.fault_address == 0xFFFFF8071B2B1023
    assert t.trap_frame is not None
    assert (t.access, t.access_address, t.memory) == ("write", 0xFFFFC50A1D2E4010, "paged pool")
    assert (t.irql, t.irql_name) == (2, "DISPATCH_LEVEL")
    kinds = {p.index: (p.kind, p.decoded) for p in t.params}
    assert kinds[2] == (ValueKind.IRQL, "DISPATCH_LEVEL")
    assert kinds[3] == (ValueKind.ACCESS, "write")
    assert kinds[4] == (ValueKind.CODE, "mydriver!DeviceControlDispatch+0x23")
    assert kinds[1][0] is ValueKind.ADDRESS
    assert t.message == (
        "0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL in mydriver.sys: write of 0xffffc50a1d2e4010 "
        "(paged pool) at DISPATCH_LEVEL by mydriver!DeviceControlDispatch+0x23"
    )
    # the frame after nt!KiPageFault is the faulting one, the top frame is exact too
    assert [(f.index, f.kind) for f in t.frames if f.kind.exact] == [
        (0, FrameKind.CURRENT),
        (3, FrameKind.FAULTING),
    ]
    assert t.user_modules == ["mydriver.sys"]
    assert not t.blame_differs
    bug = [d for d in a.diagnostics if d.code == Code.BUG_CHECK]
    assert len(bug) == 1 and bug[0].message == t.message and bug[0].severity is Severity.ERROR
    notes = {r.message for r in bug[0].related}
    assert "trap frame" in notes
    assert any(m.startswith("faulting frame mydriver!DeviceControlDispatch+0x23") for m in notes)
    assert "the debugger blames mydriver.sys here" in notes


def test_x86_old_analysis_and_its_frames() -> None:
    t = only(run("crash-50-x86-O0.log"))
    assert t.code == 0x50 and t.culprit == "mydriver.sys"
    assert t.fault_label == "mydriver!HandlePing+0x52"
    assert t.faulting_ip is not None
    assert (t.access, t.memory) == ("write", "nonpaged pool")
    labels = [(f.label, f.kind) for f in t.frames if f.module == "mydriver"]
    assert labels == [
        ("mydriver!HandlePing+0x52", FrameKind.FAULTING),
        ("mydriver!HandleIoctl+0x51", FrameKind.RETURN),
        ("mydriver!DeviceControlDispatch+0x3e", FrameKind.RETURN),
    ]
    first = t.first_user_frame
    assert first is not None and first.label == "mydriver!HandlePing+0x52"


def test_fatal_error_without_analyze_uses_kv_and_trap() -> None:
    a = run("crash-fatal-0a-x86-O2.log")
    t = only(a)
    assert t.kind is StopKind.BUG_CHECK and t.code == 0xA
    assert t.blamed is None and t.culprit == "mydriver"
    assert t.fault_label == "mydriver!CreateCloseDispatch+0xb"
    assert t.trap_frame is not None and not t.trap_frame.in_analysis
    assert t.stack is not None and t.stack.kind is StackKind.K
    faulting = t.faulting_frames
    assert [f.label for f in faulting] == ["mydriver!CreateCloseDispatch+0xb"]
    assert (t.access, t.irql_name) == ("write", "DISPATCH_LEVEL")


def test_blame_differs_names_the_users_frame() -> None:
    a = run("crash-blame-fileinfo-x64-O0.log")
    t = only(a)
    assert t.blamed is not None and t.blamed.module == "fileinfo.sys" and t.blamed.system
    assert t.fault_label == "Ntfs!NtfsChangeAttributeValue+0x392"
    user = t.first_user_frame
    assert user is not None and user.label.startswith("mydriver!StreamRequest+0x")
    assert user.kind is FrameKind.RETURN
    assert t.blame_differs
    notes = [d for d in a.diagnostics if d.code == Code.BLAME_DIFFERS]
    assert len(notes) == 1 and notes[0].severity is Severity.INFORMATION
    assert "fileinfo.sys" in notes[0].message and "mydriver" in notes[0].message
    assert t.blamed.range is not None and notes[0].range == t.blamed.range
    assert notes[0].related[0].range == user.frame.range


def test_user_exception_analysis() -> None:
    a = run("crash-user-av.log")
    t = only(a)
    assert t.kind is StopKind.EXCEPTION and t.code == 0xC0000005
    assert t.culprit == "recparse.exe"
    assert t.fault_label == "recparse!ParseRecord+0x1c"
    assert t.fault_source is not None and (t.fault_source.file_name, t.fault_source.line) == (
        "parse.cpp",
        88,
    )
    assert (t.access, t.access_address) == ("read", 8)
    assert t.process == "recparse.exe"
    assert t.title == "Exception 0xC0000005 STATUS_ACCESS_VIOLATION"
    (d,) = [d for d in a.diagnostics if d.code == Code.EXCEPTION]
    assert d.severity is Severity.ERROR and d.message == t.message
    assert not [d for d in a.diagnostics if d.code == Code.BUG_CHECK]
    marks = t.source_marks()
    assert marks[0].faulting and marks[0].location.line == 88


def test_verifier_stops_are_their_own_kind() -> None:
    a = run("crash-avrf-double-free.log")
    t = only(a)  # the VERIFIER STOP block and the analysis are one stop
    assert t.kind is StopKind.VERIFIER_STOP and t.code == 7
    assert t.name == "APPLICATION_VERIFIER_HEAPS_DOUBLE_FREE"
    assert t.verifier_stop is not None and t.analysis is not None
    assert t.culprit == "cachetool.exe"
    assert t.fault_label == "cachetool!CacheEntry::Release+0x46"
    assert t.fault_source is not None and t.fault_source.short == "entry.cpp:57"
    assert t.exception_code is None  # the verifier's breakpoint is not the error
    assert not [d for d in a.diagnostics if d.code == Code.BUG_CHECK]
    (d,) = [d for d in a.diagnostics if d.code == Code.VERIFIER_STOP]
    assert "Heap block already freed" in d.message
    assert any(r.message == "the VERIFIER STOP block" for r in d.related)
    size = next(p for p in t.params if p.index == 3)
    assert (size.kind, size.decoded) == (ValueKind.SIZE, "32 bytes")


def test_verifier_stop_alone() -> None:
    t = only(run("crash-avrf-heap-corruption.log"))
    assert t.kind is StopKind.VERIFIER_STOP and t.code == 0xF and t.analysis is None
    assert t.culprit == "imgconv"
    assert t.fault_label == "imgconv!FreeRow+0x1b"
    assert t.message.startswith(
        "Application Verifier stop 0xF CORRUPTED_HEAP_BLOCK_SUFFIX in imgconv: "
    )
    assert "Corrupted suffix pattern for heap block" in t.message
    assert "0xF " not in t.title.replace("stop 0xF", "")  # never a bug check title


def test_my_modules_setting_marks_frames_as_the_users() -> None:
    plain = only(run("crash-user-av.log"))
    assert "KERNEL32.dll" not in plain.user_modules
    t = only(run("crash-blame-fileinfo-x64-O0.log", AnalysisSettings(my_modules=("FLTMGR",))))
    first = t.first_user_frame
    assert first is not None and first.label.startswith("FLTMGR!")
    assert t.blame_differs  # FLTMGR is listed as the user's, and it is not fileinfo


def test_standalone_exr_and_cxr_make_an_exception_stop() -> None:
    text = log(
        """
        0:009> .exr 0x0055eac8
        ExceptionAddress: 778a4bb2 (KERNELBASE!RaiseException+0x00000062)
           ExceptionCode: e06d7363 (C++ EH exception)
          ExceptionFlags: 00000001
        NumberParameters: 0
        0:009> .cxr 0x0055eb18
        eax=0055eff8 ebx=00216000 ecx=00000003 edx=00000000 esi=0f2615a8 edi=0055f090
        eip=778a4bb2 esp=0055eff8 ebp=0055f050 iopl=0         nv up ei pl nz ac po nc
        KERNELBASE!RaiseException+0x62:
        778a4bb2 8b4c2454        mov     ecx,dword ptr [esp+54h]
        0:000> kv
         # ChildEBP RetAddr  Args to Child
        00 0055f050 0f2697a9 e06d7363 00000001 00000003 KERNELBASE!RaiseException+0x62
        01 0055f0a4 013ae34e 0055f0c4 013bd278 0055f198 app!Throw+0xa9 [c:\\src\\app\\throw.cpp @ 33]
        02 0055f198 013abbcd 80070003 aff51556 0055fac0 app!Load+0x4e [c:\\src\\app\\load.cpp @ 61]
        """
    )
    a = analyze(parse_text(text))
    t = only(a)
    assert t.kind is StopKind.EXCEPTION and t.code == 0xE06D7363
    assert t.context is not None  # same instruction pointer as the record
    assert t.fault_label == "KERNELBASE!RaiseException+0x62"
    assert t.user_modules == ["app"]
    first = t.first_user_frame
    assert first is not None and first.source is not None and first.source.line == 33
    assert [m.faulting for m in t.source_marks()] == [False, False]


def test_names_and_decoders() -> None:
    assert status_name(0xC0000005) == "STATUS_ACCESS_VIOLATION"
    assert status_name(0xFFFFFFFFC0000005) == "STATUS_ACCESS_VIOLATION"
    assert status_name(0x12345678) is None
    assert irql_name(2) == "DISPATCH_LEVEL" and irql_name(2, x64=False) == "DISPATCH_LEVEL"
    assert irql_name(15) == "HIGH_LEVEL" and irql_name(31, x64=False) == "HIGH_LEVEL"
    assert irql_name(15, x64=False) == "device IRQL"
    assert access_kind(0xA, 0x9) == "execute"
    assert access_kind(0xA, 0x1) == "write"
    assert access_kind(0xD1, 0) == "read" and access_kind(0xD1, 8) == "execute"
    text = "X64: bit 0 set if not present. bit 1 is set if the fault was due to a write"
    assert access_kind(0x50, 2, text) == "write" and access_kind(0x50, 0x11, text) == "execute"
    assert access_kind(0x50, 1, text) == "read"


def _frame(line: int, sym: str, ret: int | None, annotation: str | None = None) -> Frame:
    from kdlens.numbers import split_symbol

    module, function, offset = split_symbol(sym)
    rng = Range.on_line(line, 0, 10)
    return Frame(
        range=rng,
        return_address=Num(ret, f"{ret:x}", rng) if ret is not None else None,
        symbol=SymbolRef(sym, rng, module, function, offset),
        annotation=annotation,
    )


def test_frame_kinds_in_each_layout() -> None:
    from kdlens.analysis.frames import Faults

    k = Stack(
        StackKind.K,
        Range.on_line(0, 0, 1),
        [
            _frame(0, "nt!KeBugCheckEx", 0x1000),
            _frame(1, "nt!KiTrap0E+0xdc", 0x2000, "(FPO: [0,0] TrapFrame @ 8d1f3b6c)"),
            _frame(2, "drv!Fault+0x10", 0x3000),
            _frame(3, "drv!Caller+0x20", 0x4000),
            _frame(4, "nt!KiInterruptDispatchNoLock+0x40", 0x5000),
            _frame(5, "drv!Spin+0x8", 0x6000),
            _frame(6, "nt!RtlDispatchException+0x1", 0x7000),
            _frame(7, "nt!KiDispatchException+0x2", 0x8000),
            _frame(8, "drv!Other+0x3", 0),
        ],
    )
    assert frame_kinds(k) == [
        FrameKind.CURRENT,
        FrameKind.RETURN,
        FrameKind.FAULTING,
        FrameKind.RETURN,
        FrameKind.RETURN,
        FrameKind.CURRENT,
        FrameKind.RETURN,
        FrameKind.RETURN,  # the dispatcher after RtlDispatchException returns normally
        FrameKind.RETURN,
    ]
    # a fault address known from elsewhere marks the frame at that address, any layout
    kinds = frame_kinds(k, Faults.of([0x3000]))
    assert kinds[3] is FrameKind.FAULTING
    pool = Stack(
        StackKind.POOL_LOG,
        Range.on_line(0, 0, 1),
        [
            Frame(Range.on_line(0, 0, 1), address=Num(0x10, "10", Range.on_line(0, 0, 1))),
            Frame(Range.on_line(1, 0, 1), address=Num(0x20, "20", Range.on_line(1, 0, 1))),
        ],
    )
    assert frame_kinds(pool) == [FrameKind.RETURN, FrameKind.RETURN]
    assert frame_kinds(pool, Faults.of([0x20])) == [FrameKind.RETURN, FrameKind.FAULTING]


def test_analysis_exposes_frame_kinds_for_any_stack() -> None:
    a = run("crash-fatal-0a-x86-O2.log")
    (stack,) = a.session.stacks
    kinds = a.frame_kinds(stack)
    names = [f.symbol.display if f.symbol else "" for f in stack.frames]
    assert kinds[names.index("mydriver!CreateCloseDispatch+0xb")] is FrameKind.FAULTING
    assert kinds[0] is FrameKind.CURRENT
    assert a.frame_kinds(stack) is kinds
