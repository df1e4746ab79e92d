"""Stack displays: ``k``-family rows of every shape, headers, ``~*k`` threads, ``read_frames``."""

from __future__ import annotations

from kdlens.model import Range, Session, Stack, StackKind
from kdlens.parse import parse_text
from kdlens.parse.core import Cursor
from kdlens.parse.stacks import read_frames
from kdlens.text import Document

from helpers import log


def rng(line: int, start: int, end: int) -> Range:
    return Range.on_line(line, start, end)


def k_stacks(session: Session) -> list[Stack]:
    return [s for s in session.stacks if s.kind is StackKind.K]


def only_stack(text: str) -> Stack:
    session = parse_text(text)
    assert not session.faults, session.faults
    stacks = k_stacks(session)
    assert len(stacks) == 1
    return stacks[0]


def test_x86_k_without_numbers() -> None:
    text = log(
        """
        kd> k
        ChildEBP RetAddr
        a1b2c3d0 80a0b0c0 mydrv!WorkerRoutine+0x3a
        a1b2c3f0 80a0b1d4 nt!ExpWorkerThread+0x10d
        """
    )
    stack = only_stack(text)
    assert stack.header == "ChildEBP RetAddr"
    assert stack.x64 is False
    assert stack.range == Range.lines(1, 3, 42)
    f0, f1 = stack.frames
    assert f0.number is None
    assert f0.frame_pointer is not None and f0.frame_pointer.value == 0xA1B2C3D0
    assert f0.frame_pointer.range == rng(2, 0, 8)
    assert f0.return_address is not None and f0.return_address.range == rng(2, 9, 17)
    assert f0.symbol is not None
    assert (f0.symbol.module, f0.symbol.function, f0.symbol.offset) == (
        "mydrv",
        "WorkerRoutine",
        0x3A,
    )
    assert f0.symbol.range == rng(2, 18, 42)
    assert f0.range == rng(2, 0, 42)
    assert f1.symbol is not None and f1.symbol.qualified == "nt!ExpWorkerThread"


def test_x86_kvn_args_annotations_and_source() -> None:
    text = log(
        """
        1: kd> kvn
         # ChildEBP RetAddr  Args to Child
        00 9b2c1a10 82a1b2c3 00000001 00000000 9b2c1a40 widget!Poll+0x12 (FPO: [Non-Fpo]) (CONV: stdcall) [e:\\src\\my widget\\poll.c @ 88]
        01 9b2c1a40 82a1c000 00000002 8a000000 00000000 nt!KiTrap0E+0x2cf (FPO: [0,0] TrapFrame @ 9b2c1a58)
        0a 9b2c1a90 00000000 00000000 00000000 00000000 nt!KiThreadStartup+0x19
        """
    )
    stack = only_stack(text)
    assert stack.header == "# ChildEBP RetAddr  Args to Child"
    f0, f1, f2 = stack.frames
    assert f0.number == 0
    assert [a.value for a in f0.args] == [1, 0, 0x9B2C1A40]
    assert f0.args[2].range == rng(2, 39, 47)
    assert f0.annotation == "(FPO: [Non-Fpo]) (CONV: stdcall)"
    assert f0.source is not None
    assert f0.source.path == "e:\\src\\my widget\\poll.c"
    assert f0.source.line == 88
    assert f0.source.range == rng(2, 98, 128)
    assert f0.source.line_range == rng(2, 125, 127)
    assert f0.symbol is not None and f0.symbol.range == rng(2, 48, 64)
    assert f1.annotation == "(FPO: [0,0] TrapFrame @ 9b2c1a58)"
    assert f1.symbol is not None and f1.symbol.display == "nt!KiTrap0E+0x2cf"
    assert f2.number == 0x0A


def test_x64_k_with_inline_raw_address_and_module_offset() -> None:
    text = log(
        """
        0: kd> knL
         # Child-SP          RetAddr               Call Site
        00 ffffa001`11112000 fffff806`22223333     nt!KeBugCheckEx
        01 (Inline Function) --------`--------     gadget!Helper::Run+0x20 [c:\\src\\helper.cpp @ 12]
        02 ffffa001`11112100 fffff806`22224444     gadget+0x1a2b
        03 ffffa001`11112200 00000000`00000000     0x00007ffa`5b6c7d8e
        """
    )
    stack = only_stack(text)
    assert stack.x64 is True
    f0, f1, f2, f3 = stack.frames
    assert f0.frame_pointer is not None and f0.frame_pointer.value == 0xFFFFA00111112000
    assert f0.frame_pointer.text == "ffffa001`11112000"
    assert f0.frame_pointer.range == rng(2, 3, 20)
    assert f1.inline is True
    assert f1.frame_pointer is None and f1.return_address is None
    assert f1.symbol is not None and f1.symbol.function == "Helper::Run"
    assert f1.source is not None and f1.source.line == 12
    assert f2.symbol is not None
    assert (f2.symbol.module, f2.symbol.function, f2.symbol.offset) == ("gadget", None, 0x1A2B)
    assert f3.symbol is None
    assert f3.address is not None and f3.address.value == 0x00007FFA5B6C7D8E
    assert f3.address.range == rng(5, 43, 62)


def test_x64_kb_argument_group_and_trap_frame() -> None:
    text = log(
        """
        0: kd> kb
        Child-SP          RetAddr           : Args to Child                                                           : Call Site
        fffff806`10000d18 fffff806`20000852 : 00000000`00000001 00000000`00000002 00000000`00000003 00000000`00000004 : nt!DbgBreakPointWithStatus
        fffff806`10000fb0 fffff806`200002a0 : 00000000`00000090 00000000`0000006a 00000000`00000092 00000000`00000000 : nt!KxRetireDpcList+0x5 (TrapFrame @ fffff806`10000e70)
        00000051`fa00c9c0 00000000`00000000 : 00000000`00ffffff 00000000`00000030 00000000`01010bff 00000000`00000000 : 0x1
        """
    )
    stack = only_stack(text)
    assert stack.x64 is True
    f0, f1, f2 = stack.frames
    assert [a.value for a in f0.args] == [1, 2, 3, 4]
    assert f0.symbol is not None and f0.symbol.range == rng(2, 112, 138)
    assert f1.annotation == "(TrapFrame @ fffff806`10000e70)"
    assert f1.symbol is not None and f1.symbol.offset == 5
    assert f2.address is not None and f2.address.value == 1 and f2.address.range == rng(4, 112, 115)


def test_x64_kb_numbered_without_child_sp() -> None:
    text = log(
        """
        0: kd> kb
        # RetAddr           : Args to Child                                                           : Call Site
        00 fffff806`7a0fa607 : ffffc001`00000001 00000000`00000000 00000000`00000000 00000000`00000000 : audio!Stream::Open+0x1dc
        """
    )
    frame = only_stack(text).frames[0]
    assert frame.number == 0
    assert frame.frame_pointer is None
    assert frame.return_address is not None and frame.return_address.value == 0xFFFFF8067A0FA607
    assert len(frame.args) == 4


def test_kf_size_column_and_no_header() -> None:
    text = log(
        """
        2: kd> kf
        00           ffffb001`00001000 fffff806`00002000     nt!KeBugCheckEx
        01        40 ffffb001`00001040 fffff806`00003000     gfx!Schedule+0x4d
        """
    )
    stack = only_stack(text)
    assert stack.header is None
    assert stack.x64 is True
    assert [f.number for f in stack.frames] == [0, 1]
    f1 = stack.frames[1]
    assert f1.frame_pointer is not None and f1.frame_pointer.value == 0xFFFFB00100001040
    assert f1.symbol is not None and f1.symbol.function == "Schedule"


def test_x86_inline_kb_row_and_row_without_symbol() -> None:
    text = log(
        """
        kd> kb
        ChildEBP RetAddr  Args to Child
        (Inline) -------- -------- -------- -------- nt!IopfCallDriver+0x47
        8a0b0c10 81c0d0e0 00000001 00000002 00000003
        8a0b0c40 81c0d100 00000004 00000005 00000006 nt!IofCallDriver+0x62
        """
    )
    f0, f1, f2 = only_stack(text).frames
    assert f0.inline and f0.symbol is not None and f0.symbol.offset == 0x47
    assert f1.symbol is None and f1.address is None and len(f1.args) == 3
    assert f1.range == rng(3, 0, 44)
    assert f2.symbol is not None


def test_very_old_framptr_layout() -> None:
    text = log(
        """
        kd> kb
        FramePtr  RetAddr   Param1   Param2   Param3   Function Name
        8013ed00  80120000  00000001 00000002 fe400000 NT!_DbgBreakPoint
        """
    )
    stack = only_stack(text)
    assert stack.header is not None and stack.header.startswith("FramePtr")
    frame = stack.frames[0]
    assert frame.frame_pointer is not None and frame.frame_pointer.range == rng(2, 0, 8)
    assert frame.return_address is not None and frame.return_address.range == rng(2, 10, 18)
    assert frame.symbol is not None and frame.symbol.module == "NT"


def test_noise_lines_inside_stack_are_skipped() -> None:
    text = log(
        """
        0:000> kv
          *** Stack trace for last set context - .thread/.cxr resets it
         # ChildEBP RetAddr  Args to Child
        00 0019f100 7701a0b0 00000001 00000002 00000003 ntdll!NtWaitForSingleObject+0xc
        DBGHELP: c:/nowhere is not a valid store
        *** ERROR: Module load completed but symbols could not be loaded for tool.exe
        01 0019f140 00401234 00000004 00000005 00000006 KERNELBASE!WaitForSingleObjectEx+0x98
        WARNING: Stack unwind information not available. Following frames may be wrong.
        02 0019f180 00401300 00000007 00000008 00000009 tool+0x1234
        """
    )
    stack = only_stack(text)
    assert [f.number for f in stack.frames] == [0, 1, 2]
    assert stack.range.start.line == 2
    assert stack.range.end == stack.frames[-1].range.end


def test_symbols_with_spaces_templates_and_decorations() -> None:
    text = log(
        """
        0:000> k
        ChildEBP RetAddr
        0019f000 00401000 app!operator new+0x1e
        0019f010 00401010 app!std::vector<int,std::allocator<int> >::push_back+0x33
        0019f020 00401020 app!<lambda_0f1e2d3c>::operator()+0x9
        0019f030 00401030 RPCRT4!?Invoke@Stub@@QAEJPAU_MSG@@@Z+0xb0
        0019f040 00401040 app!Outer::`anonymous namespace'::Inner+0x4
        """
    )
    syms = [f.symbol for f in only_stack(text).frames]
    assert all(s is not None for s in syms)
    got = [(s.module, s.function, s.offset) for s in syms if s is not None]
    assert got == [
        ("app", "operator new", 0x1E),
        ("app", "std::vector<int,std::allocator<int> >::push_back", 0x33),
        ("app", "<lambda_0f1e2d3c>::operator()", 0x9),
        ("RPCRT4", "?Invoke@Stub@@QAEJPAU_MSG@@@Z", 0xB0),
        ("app", "Outer::`anonymous namespace'::Inner", 0x4),
    ]


def test_kp_parameter_list_on_one_line() -> None:
    text = log(
        """
        0: kd> kp
         # Child-SP          RetAddr           Call Site
        00 ffffb001`00002000 fffff806`00003000 drv!Open(struct _DEVICE_OBJECT * Dev = 0xffffc001`00001000, struct _IRP * Irp = 0xffffc001`00002000)+0x1dc [c:\\src\\open.c @ 597]
        01 ffffb001`00002100 fffff806`00004000 nt!KiSwapContext(void)+0x7a
        """
    )
    f0, f1 = only_stack(text).frames
    assert f0.symbol is not None
    assert (f0.symbol.module, f0.symbol.function, f0.symbol.offset) == ("drv", "Open", 0x1DC)
    assert f0.source is not None and f0.source.line == 597
    assert f1.symbol is not None and f1.symbol.display == "nt!KiSwapContext+0x7a"


def test_kP_parameter_list_spanning_lines() -> None:
    text = log(
        """
        0: kd> kP
         # Child-SP          RetAddr           Call Site
        00 ffffb001`00002000 fffff806`00003000 drv!Open(
        \t\tstruct _DEVICE_OBJECT * Dev = 0xffffc001`00001000,
        \t\tstruct _IRP * Irp = 0xffffc001`00002000)+0x1dc [c:\\src\\open.c @ 597]
        01 ffffb001`00002100 fffff806`00004000 nt!IofCallDriver+0x55
        """
    )
    f0, f1 = only_stack(text).frames
    assert f0.symbol is not None
    assert (f0.symbol.module, f0.symbol.function, f0.symbol.offset) == ("drv", "Open", 0x1DC)
    assert f0.source is not None and f0.source.range.start.line == 4
    assert f0.range.start.line == 2 and f0.range.end.line == 4
    assert f1.number == 1


def test_tilde_star_k_splits_threads() -> None:
    text = log(
        """
        0:001> ~* k

           0  Id: 1a2c.1b3c Suspend: 1 Teb: 7ffde000 Unfrozen
        ChildEBP RetAddr
        0012f000 7c90e000 ntdll!KiFastSystemCallRet
        0012f010 00401000 app!main+0x20

        .  1  Id: 1a2c.2c3d Suspend: 1 Teb: 7ffdd000 Unfrozen
        ChildEBP RetAddr
        0022f000 7c90e100 ntdll!NtDelayExecution+0xc
        """
    )
    session = parse_text(text)
    assert not session.faults, session.faults
    stacks = k_stacks(session)
    assert [s.thread for s in stacks] == [
        "0  Id: 1a2c.1b3c Suspend: 1 Teb: 7ffde000 Unfrozen",
        ".  1  Id: 1a2c.2c3d Suspend: 1 Teb: 7ffdd000 Unfrozen",
    ]
    assert [len(s.frames) for s in stacks] == [2, 1]
    assert stacks[0].range.start == rng(2, 3, 3).start
    assert stacks[1].header == "ChildEBP RetAddr"


def test_header_without_command_echo() -> None:
    text = log(
        """
        Some pasted text
         # Child-SP          RetAddr           Call Site
        00 ffffb001`00002000 fffff806`00003000 nt!KeBugCheckEx

        unrelated 00 ffffb001`00002000 fffff806`00003000 nt!Foo
        """
    )
    stack = only_stack(text)
    assert stack.header == "# Child-SP          RetAddr           Call Site"
    assert len(stack.frames) == 1


def test_kc_call_site_only() -> None:
    text = log(
        """
        0: kd> kc
         # Call Site
        00 nt!KeBugCheckEx
        01 drv!Handler+0x10
        """
    )
    stack = only_stack(text)
    assert [f.symbol.display for f in stack.frames if f.symbol] == [
        "nt!KeBugCheckEx",
        "drv!Handler+0x10",
    ]


def test_wrapped_symbol_is_joined_to_its_row() -> None:
    text = log(
        """
        kd> kb
        ChildEBP RetAddr  Args to Child
        8013ef74 fe5620d2 fe5620da ff690268 80404690
        NDIS!_IndicateReceive+0x31
        8013ef64 00000246 fe551aa1 ff690268 00000002 nic!_Dpc+0x1d0
        """
    )
    f0, f1 = only_stack(text).frames
    assert f0.symbol is not None and f0.symbol.range == rng(3, 0, 26)
    assert f0.range == Range.lines(2, 3, 26)
    assert f1.symbol is not None and f1.symbol.module == "nic"


def test_doc_notes_and_author_notes_are_not_part_of_the_symbol() -> None:
    text = log(
        """
        kd> kb
        ChildEBP RetAddr  Args to Child
        be680018 f22b0000 82700000 f21c0000 826a0000 vid+0x125b [No function listed.]
        be680040 a0140000 826a0000 e1140000 a0130000 nt!Foo+0x3 <--- interesting
        """
    )
    f0, f1 = only_stack(text).frames
    assert f0.symbol is not None and f0.symbol.text == "vid+0x125b" and f0.source is None
    assert f1.symbol is not None and f1.symbol.text == "nt!Foo+0x3"


def test_blank_line_ends_a_plain_stack() -> None:
    text = log(
        """
        kd> k
        ChildEBP RetAddr
        0012f000 7c90e000 ntdll!KiFastSystemCallRet

        0012f010 00401000 app!main+0x20
        """
    )
    stack = only_stack(text)
    assert len(stack.frames) == 1


def cursor_for(text: str) -> Cursor:
    doc = Document(text)
    return Cursor(doc, 0, len(doc), None, Session(line_count=len(doc)))


def test_read_frames_stack_text_x86_and_x64() -> None:
    text = log(
        """
        82f9e000 81dd0000 00000003 86fa0000 00000065 nt!RtlpBreakWithStatusInstruction
        82f9e050 81dd1000 000000c4 00020004 85430000 nt!KeBugCheck2+0x676
        WARNING: Stack unwind information not available. Following frames may be wrong.
        82f9e0a0 9a001000 00000000 00000000 00000000 MyDrv!Leak+0x44 [c:\\drv\\leak.c @ 31]

        FIELD_AFTER:  x
        """
    )
    cur = cursor_for(text)
    stack, nxt = read_frames(cur, 0, len(cur.doc), StackKind.STACK_TEXT)
    assert nxt == 4
    assert stack.kind is StackKind.STACK_TEXT
    assert stack.x64 is False
    assert len(stack.frames) == 3
    assert stack.frames[2].source is not None and stack.frames[2].source.path == "c:\\drv\\leak.c"
    assert cur.session.stacks == []  # the caller decides where the stack goes

    x64 = log(
        """
        ffffd000`21180000 fffff803`4c830000 : 00000000`000000c4 00000000`00000001 ...
        00000063`20360000 00007ff6`3be10000 : ... : MyApp!MyFunction+0x44
        ... : nt!KeBugCheck2+0x79f ...
        ...
        """
    )
    cur = cursor_for(x64)
    stack, nxt = read_frames(cur, 0, len(cur.doc), StackKind.STACK_TEXT)
    assert stack.x64 is True
    f0, f1, f2 = stack.frames
    assert f0.symbol is None and [a.value for a in f0.args] == [0xC4, 1]
    assert f1.symbol is not None and f1.symbol.display == "MyApp!MyFunction+0x44"
    assert f1.args == ()
    assert f2.symbol is not None and f2.symbol.range == rng(2, 6, 26)
    assert nxt == 4


def test_read_frames_address_symbol_list() -> None:
    text = log(
        """
        81b250cd nt!IovAllocateMdl+0x3d
        8060e41d VerifierExt!IoAllocateMdl_wrapper+0x35
        not a frame
        """
    )
    cur = cursor_for(text)
    stack, nxt = read_frames(cur, 0, len(cur.doc), StackKind.POOL_LOG)
    assert nxt == 2
    f0 = stack.frames[0]
    assert f0.address is not None and f0.address.value == 0x81B250CD and f0.frame_pointer is None
    assert f0.symbol is not None and f0.symbol.range == rng(0, 9, 31)


def test_read_frames_stops_at_end_and_on_nothing() -> None:
    text = "0012f000 7c90e000 ntdll!A\n0012f010 00401000 app!B\n"
    cur = cursor_for(text)
    stack, nxt = read_frames(cur, 0, 1, StackKind.K)
    assert len(stack.frames) == 1 and nxt == 1
    stack, nxt = read_frames(cur, 2, 3, StackKind.K)
    assert stack.frames == [] and nxt == 2


def test_no_stack_from_other_output() -> None:
    text = log(
        """
        0: kd> k
        Unable to get thread context
        0: kd> dd nt!PoolHitTag l1
        82b37df4  64636261
        0: kd> r
        eax=00000000 ebx=00000000
        """
    )
    session = parse_text(text)
    assert not session.faults, session.faults
    assert k_stacks(session) == []


def test_garbage_never_faults() -> None:
    junk = log(
        """
        0: kd> kb
        00 (Inline
        ( ) : : : :
        00 ffffb001`00002000 : : : drv!F(
        )
        # ChildEBP RetAddr
        (Inline Function) --------`-------- : --------`-------- : x!y(int a = 1
        0: kd> ~* k
        .  7  Id: 0.0
        """
    )
    session = parse_text(junk)
    assert not session.faults, session.faults
