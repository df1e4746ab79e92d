"""``!verifier 0x80`` pool allocate/free records and the other Verifier trace logs."""

from __future__ import annotations

import copy
import pickle

from kdlens.model import PoolOp, Range, Session, Stack, StackKind
from kdlens.parse import parse_text

from helpers import log


def parse(text: str) -> Session:
    session = parse_text(text)
    assert not session.faults, session.faults
    return session


def rng(line: int, start: int, end: int) -> Range:
    return Range.on_line(line, start, end)


NEW = log(
    """
    kd> !verifier 0x80 0x8d1e2f40

    Log of recent kernel pool Allocate and Free operations:

    There are up to 0x10000 entries in the log.

    Parsing 0x00010000 log entries, searching for address 0x8d1e2f40.

    # 

    Pool block 8d1e2f40, Size 00000048, Thread 9a0b1c20
    81c2d3e4 nt!IovFreeMdl+0x1a
    81c2d4a0 nt!VerifierIoFreeMdl+0x12
    9b1c2d3e Widget!CleanupRequest+0x31

    Pool block 8d1e2f40, Size 00000048, Thread 9a0b1c20
    81c2e5f6 nt!IovAllocateMdl+0x3d
    9b1c2a10 Widget!StartRequest0x51
    9b1c2b20 Widget!Dispatch+0x1a

    kd> !verifier 0x80 0x8e000000

    Parsing 0x00010000 log entries, searching for address 0x8e000000.

    Pool block 8e000000, Size 00001000, Thread 9a0b1c20
    8060ee4f VerifierExt!ExAllocatePoolWithTagPriority_internal_wrapper+0x5b
    81b2619e nt!VerifierExAllocatePoolWithTag+0x24
    kd> 
    """  # noqa: W291
)


def test_records_of_two_searches() -> None:
    s = parse(NEW)
    assert [(r.address.value, r.size.value, r.index, r.op) for r in s.pool_log] == [
        (0x8D1E2F40, 0x48, 0, PoolOp.FREE),
        (0x8D1E2F40, 0x48, 1, PoolOp.ALLOCATE),
        (0x8E000000, 0x1000, 0, PoolOp.ALLOCATE),
    ]
    assert [r.searched_address for r in s.pool_log] == [0x8D1E2F40, 0x8D1E2F40, 0x8E000000]
    assert [len(r.stack.frames) for r in s.pool_log] == [3, 3, 2]
    assert all(r.stack.kind is StackKind.POOL_LOG and r.stack.x64 is False for r in s.pool_log)
    assert s.stacks == []  # the record stacks live on the records only


def test_record_header_and_ranges() -> None:
    r = parse(NEW).pool_log[0]
    assert r.address.text == "8d1e2f40" and r.address.range == rng(10, 11, 19)
    assert r.size.text == "00000048" and r.size.range == rng(10, 26, 34)
    assert r.thread is not None and r.thread.value == 0x9A0B1C20
    assert r.thread.range == rng(10, 43, 51)
    assert r.header_range == rng(10, 0, 51)
    assert r.range == Range.lines(10, 13, 35)
    assert r.stack.range == Range.lines(11, 13, 35)
    assert r.stack.header == "Pool block 8d1e2f40, Size 00000048, Thread 9a0b1c20"


def test_frames() -> None:
    r = parse(NEW).pool_log[1]
    top, broken, last = r.stack.frames
    assert top.address is not None and top.address.value == 0x81C2E5F6
    assert top.address.range == rng(16, 0, 8)
    assert top.symbol is not None and top.symbol.range == rng(16, 9, 31)
    assert (top.symbol.module, top.symbol.function, top.symbol.offset) == (
        "nt",
        "IovAllocateMdl",
        0x3D,
    )
    assert top.range == rng(16, 0, 31)
    # a symbol that lost its ``+`` stays a function name
    assert broken.symbol is not None
    assert (broken.symbol.function, broken.symbol.offset) == ("StartRequest0x51", None)
    assert last.symbol is not None and last.symbol.qualified == "Widget!Dispatch"


def test_legacy_search_line_and_artifacts() -> None:
    text = log(
        """
        0: kd> !verifier 80 a2c3d4e0
        # Parsing 00004000 array entries, searching for address a2c3d4e0.

        Pool block a2c3d400, Size 00000168, Thread a2c3d400
        808f1be6 ndis!ndisFreeToNPagedPool+0x39
        # 8ac4a8ba net1!HandleTx+0xea

        Pool block a2c3d400, Size 00000164, Thread a2c3d400
        822af87f nt!VerifierExAllocatePoolWithTagPriority+0x5d
        808f1c88 ndis!ndisAllocateFromNPagedPool+0x1d
        """
    )
    s = parse(text)
    assert [(r.op, r.index, r.searched_address) for r in s.pool_log] == [
        (PoolOp.FREE, 0, 0xA2C3D4E0),
        (PoolOp.ALLOCATE, 1, 0xA2C3D4E0),
    ]
    frames = s.pool_log[0].stack.frames
    assert len(frames) == 2
    assert frames[1].address is not None and frames[1].address.range == rng(5, 2, 10)


def test_searched_address_from_command_and_counts() -> None:
    text = log(
        """
        kd> !verifier 0x80 0x8a1b2c3d
        Pool block 8a1b2c3d, Size 00000010, Thread 81234567
        81c2d3e4 nt!ExFreePoolWithTag+0x1a
        kd> !verifier 0x80 20
        Pool block 8a1b2c40, Size 00000010, Thread 81234567
        81c2d3e4 nt!SomethingElse+0x1a
        81c2d3f0 nt!Deallocate+0x1a
        """
    )
    s = parse(text)
    assert [(r.searched_address, r.index, r.op) for r in s.pool_log] == [
        (0x8A1B2C3D, 0, PoolOp.FREE),
        (None, 0, PoolOp.FREE),
    ]


def test_operation_from_the_top_frames_only() -> None:
    text = log(
        """
        Pool block 8a1b2c40, Size 00000010, Thread 81234567
        81c2d3e4 nt!KiSomething+0x1a
        81c2d3e5 nt!KiOther+0x1a
        81c2d3e6 nt!KiThird+0x1a
        81c2d3e7 nt!KiFourth+0x1a
        81c2d3e8 Drv!AllocateBuffers+0x10

        Pool block 8a1b2c80, Size 00000010, Thread 81234567
        81c2d3e4 allocmod+0x1a
        81c2d3e5 Drv!IoAllocateWorkItem_wrapper+0x10
        """
    )
    s = parse(text)
    assert [r.op for r in s.pool_log] == [PoolOp.UNKNOWN, PoolOp.ALLOCATE]
    assert [r.searched_address for r in s.pool_log] == [None, None]


def test_x64_records() -> None:
    text = log(
        """
        0: kd> !verifier 0x80

        Parsing 0x00010000 log entries.

        ======================================================================
        Pool block ffffe0001a2b3c40, Size 0000000000000030, Thread ffffe0001f00d080
        fffff803`1a2b3c4d nt!VerifierExAllocatePoolWithTag+0x3a
        fffff8076d8a1014 leaky!LeakyAlloc+0x14
        """
    )
    s = parse(text)
    (r,) = s.pool_log
    assert r.address.value == 0xFFFFE0001A2B3C40 and r.stack.x64 is True
    assert r.size.value == 0x30 and r.op is PoolOp.ALLOCATE
    top, second = r.stack.frames
    assert top.address is not None and top.address.value == 0xFFFFF8031A2B3C4D
    assert top.address.range == rng(6, 0, 17)
    assert second.symbol is not None and second.symbol.range == rng(7, 17, 38)


def test_lazy_stack_behaves_as_a_stack() -> None:
    s = parse(NEW)
    stack = s.pool_log[0].stack
    assert isinstance(stack, Stack)
    frames = list(stack.frames)
    assert stack.frames is stack.frames  # read once
    plain = copy.deepcopy(stack)
    assert type(plain) is Stack and plain.frames == frames
    assert plain == stack and stack == plain
    again = pickle.loads(pickle.dumps(s))
    assert type(again.pool_log[0].stack) is Stack
    assert again.pool_log[0].stack.frames == frames


def test_colour_codes_map_to_editor_columns() -> None:
    text = "Pool block 8d1e2f40, Size 00000048, Thread 9a0b1c20\n81c2d3e4 \x1b[1mnt!IovFreeMdl+0x1a\x1b[0m\n"
    s = parse(text)
    (f,) = s.pool_log[0].stack.frames
    assert f.symbol is not None and f.symbol.text == "nt!IovFreeMdl+0x1a"
    assert f.symbol.range == rng(1, 13, 31)
    assert f.address is not None and f.address.range == rng(1, 0, 8)


def test_stops_at_unknown_line_and_resumes_numbering() -> None:
    text = log(
        """
        kd> !verifier 0x80 0x8d1e2f40
        Parsing 0x00010000 log entries, searching for address 0x8d1e2f40.
        Pool block 8d1e2f40, Size 00000048, Thread 9a0b1c20
        81c2d3e4 nt!IovFreeMdl+0x1a
        something unexpected
        Pool block 8d1e2f40, Size 00000048, Thread 9a0b1c20
        81c2e5f6 nt!IovAllocateMdl+0x3d
        """
    )
    s = parse(text)
    assert [(r.index, r.searched_address) for r in s.pool_log] == [
        (0, 0x8D1E2F40),
        (1, 0x8D1E2F40),
    ]
    assert s.pool_log[0].range.end.line == 3


def test_fault_injection_history() -> None:
    text = log(
        """
        kd> !verifier 4
        Resource fault injection history:
        Tracker @ 8354A000 (# entries: 80, size: 80, depth: 8)

        Entry @ 8354B258 (index 75)

            Thread: C2638220

            816760CB nt!VerifierExAllocatePoolWithTag+0x49
            A4720443 gfx!DeleteEntry+0x15d

        Entry @ 8354B230 (index 74)

            Thread: 8436D770

            816760CB nt!VerifierExAllocatePoolWithTag+0x49
        """
    )
    s = parse(text)
    assert [(x.kind, x.header, x.thread, len(x.frames)) for x in s.stacks] == [
        (StackKind.TRACE, "Entry @ 8354B258 (index 75)", "C2638220", 2),
        (StackKind.TRACE, "Entry @ 8354B230 (index 74)", "8436D770", 1),
    ]
    first = s.stacks[0]
    assert first.range == Range(rng(4, 0, 0).start, rng(9, 0, 34).end)
    assert first.frames[1].address is not None and first.frames[1].address.value == 0xA4720443
    assert first.frames[1].symbol is not None and first.frames[1].symbol.range == rng(9, 13, 34)


def test_forced_pending_irps() -> None:
    text = log(
        """
        kd> !verifier 40
        # Size of the log is 0x40
        ========================================================
        IRP: 8f84ef00 - forced pending from stack trace:

             817b21e4 nt!IovpLocalCompletionRoutine+0xb2
         84fec820 pci!PciDevice_DeviceUsageNotification+0x6e
             8142218e nt!IofCallDriver+0x1c
        IRP: 8f84ef80 - forced pending from stack trace:

             817b21e4 nt!IovpLocalCompletionRoutine+0xb2
        """
    )
    s = parse(text)
    assert [(x.header, len(x.frames)) for x in s.stacks] == [
        ("IRP: 8f84ef00 - forced pending from stack trace:", 3),
        ("IRP: 8f84ef80 - forced pending from stack trace:", 1),
    ]
    assert s.stacks[0].frames[1].address is not None
    assert s.stacks[0].frames[1].address.range == rng(6, 1, 9)


def test_irql_records_alone() -> None:
    text = log(
        """
        Thread:             fffffa80068c9400
        Old irql:           0000000000000002
        New irql:           0000000000000000
        Processor:          0000000000000002
        Time stamp:         0000000000000857

            fffff8800140f12a ndis!ndisNsiGetInterfaceInformation+0x20a
            fffff88001509478 NETIO!NsiGetParameterEx+0x178

        Thread:             fffffa80068c9500
        Old irql:           0000000000000002
        New irql:           0000000000000002
        Processor:          0000000000000002
        Time stamp:         0000000000000858

            fffff8800140d48d ndis!ndisReferenceTopMiniportByNameForNsi+0x1ce
        """
    )
    s = parse(text)
    assert [(x.thread, len(x.frames), x.x64) for x in s.stacks] == [
        ("fffffa80068c9400", 2, True),
        ("fffffa80068c9500", 1, True),
    ]
    assert s.stacks[0].header == "Thread: fffffa80068c9400"


def test_lone_thread_line_is_not_an_irql_record() -> None:
    text = log(
        """
        Thread:             fffffa80068c9400
        Something else
            fffff8800140f12a ndis!ndisNsiGetInterfaceInformation+0x20a
        """
    )
    s = parse(text)
    assert all(x.kind is not StackKind.TRACE for x in s.stacks)


def test_garbage_does_not_fault() -> None:
    text = log(
        """
        kd> !verifier 0x80 zz
        Parsing
        Pool block 8d1e2f40, Size 00000048, Thread
        Pool block zz, Size 1
        Pool block 8d1e2f40, Size 00000048
        81c2d3e4
        81c2d3e4 !
        81c2d3e4 nt!
        81c2d3e4 !+0x
        Thread: 1
        Old irql: 2
        Entry @ 1 (index 1)
        IRP: 1 - forced pending from stack trace:
        """
    )
    s = parse(text)
    for r in s.pool_log:
        assert r.stack.frames is not None


def test_a_header_without_digits_is_not_a_record() -> None:
    text = "Pool block 982a8fe0, Size 0x`, Thread 9c158bc0\n81b250cd nt!IovAllocateMdl+0x3d\n"
    session = parse_text(text)
    assert not session.faults, session.faults
    assert session.pool_log == []
