"""Exception records, register dumps, code sites, verifier stops and user-mode analyses."""

from __future__ import annotations

from kdlens.model import ContextKind, Range, Session
from kdlens.parse import parse_text

from helpers import FIXTURES, log

LOGS = FIXTURES / "logs"


def at(text: str, rng: Range) -> str:
    """The text a single-line range covers."""
    assert rng.start.line == rng.end.line
    return text.splitlines()[rng.start.line][rng.start.character : rng.end.character]


def parse(text: str) -> Session:
    s = parse_text(text)
    assert not s.faults, s.faults
    return s


EXR = log(
    """
    0:009> .exr 0x0055eac8
    ExceptionAddress: 778a4bb2 (KERNELBASE!RaiseException+0x00000062)
       ExceptionCode: e06d7363 (C++ EH exception)
      ExceptionFlags: 00000001
    NumberParameters: 3
       Parameter[0]: 19930520
       Parameter[1]: 0055f0c4
       Parameter[2]: 013bd278
      pExceptionObject: 0055f0c4
      Type            : class BadInput
    0:009> .exr -1
    ExceptionAddress: fffff8076624f3d4 (nt!RtlpHpVsFreeChunkInsert+0x00000000000001b4)
       ExceptionCode: c0000005 (Access violation)
      ExceptionFlags: 00000000
    NumberParameters: 2
       Parameter[0]: 0000000000000001
       Parameter[1]: ffffc50a1d2e4010
    Attempt to write to address ffffc50a1d2e4010
    """
)


def test_exr_records_keep_every_value_and_its_range() -> None:
    s = parse(EXR)
    first, second = s.exception_records
    assert first.address is not None and first.address.value == 0x778A4BB2
    assert first.symbol is not None and first.symbol.display == "KERNELBASE!RaiseException+0x62"
    assert first.code is not None and first.code.value == 0xE06D7363
    assert first.code_text == "C++ EH exception"
    assert [p.value.value for p in first.parameters] == [0x19930520, 0x55F0C4, 0x13BD278]
    assert first.record_address is not None and first.record_address.value == 0x55EAC8
    # the C++ detail lines belong to the record
    assert first.range.end.line == 9
    assert at(EXR, first.address.range) == "778a4bb2"
    assert at(EXR, first.code.range) == "e06d7363"
    assert at(EXR, first.parameters[1].value.range) == "0055f0c4"
    assert second.record_address is not None and second.record_address.text == "-1"
    assert second.access == "write"
    assert second.access_address is not None
    assert second.access_address.value == 0xFFFFC50A1D2E4010
    assert at(EXR, second.access_address.range) == "ffffc50a1d2e4010"
    assert not first.in_analysis and not second.in_analysis


REGS = log(
    """
    0: kd> .trap 0xffffed0ee77dce90
    NOTE: The trap frame does not contain all registers.
    rax=00000006991b441c rbx=0000000000000000 rcx=0b4df3b13fee0000
    rdx=0000000000000000 rsi=0000000000000000 rdi=0000000000000000
    rip=fffff802084d9062 rsp=ffffed0ee77dd020 rbp=ffffed0ee77ddb39
     r8=0000000000000000  r9=7ffffffffffffffc r10=ffffb5076d140d70
    r11=0000000000000001 r12=0000000000000000 r13=0000000000000000
    r14=0000000000000000 r15=0000000000000000
    iopl=0         nv up ei ng nz na pe nc
    Ntfs!NtfsChangeAttributeValue+0x392:
    fffff802`084d9062 49894708        mov     qword ptr [r15+8],rax ds:00000000`00000008=????????????????
    0: kd> .cxr 0x0055eb18
    eax=0055eff8 ebx=00216000 ecx=00000003 edx=00000000 esi=0f2615a8 edi=0055f090
    eip=778a4bb2 esp=0055eff8 ebp=0055f050 iopl=0         nv up ei pl nz ac po nc
    cs=0023  ss=002b  ds=002b  es=002b  fs=0053  gs=002b             efl=00000212
    KERNELBASE!RaiseException+0x62 [d:\\os\\raise.c @ 61]:
    778a4bb2 8b4c2454        mov     ecx,dword ptr [esp+54h] ss:002b:0055f04c=abad634e
    """
)


def test_register_dumps_x64_and_x86() -> None:
    s = parse(REGS)
    trap, cxr = s.register_contexts
    assert trap.kind is ContextKind.TRAP and trap.x64
    assert trap.frame_address is not None and trap.frame_address.value == 0xFFFFED0EE77DCE90
    ip = trap.ip
    assert ip is not None and ip.name == "rip" and ip.value.value == 0xFFFFF802084D9062
    assert at(REGS, ip.value.range) == "fffff802084d9062"
    assert at(REGS, ip.range) == "rip=fffff802084d9062"
    r8 = trap.register("R8")
    assert r8 is not None and r8.value.value == 0
    assert trap.site is not None and trap.site.symbol is not None
    assert trap.site.symbol.display == "Ntfs!NtfsChangeAttributeValue+0x392"
    ins = trap.site.instruction
    assert ins is not None and ins.mnemonic == "mov" and ins.opcode == "49894708"
    assert ins.address.value == ip.value.value
    assert ins.memory is not None and ins.memory.value == 8
    assert cxr.kind is ContextKind.CONTEXT and not cxr.x64
    assert cxr.ip is not None and cxr.ip.name == "eip"
    assert cxr.site is not None and cxr.site.source is not None
    assert (cxr.site.source.path, cxr.site.source.line) == ("d:\\os\\raise.c", 61)
    assert cxr.site.instruction is not None and cxr.site.instruction.memory is not None
    assert cxr.site.instruction.memory.value == 0x55F04C


def test_user_mode_analysis_is_not_a_bug_check() -> None:
    text = (LOGS / "crash-user-av.log").read_text(encoding="utf-8")
    s = parse(text)
    assert s.bugchecks == []
    (ea,) = s.exception_analyses
    assert not ea.verifier and ea.name is None
    assert ea.exception is not None and ea.exception.in_analysis
    assert ea.exception.code is not None and ea.exception.code.value == 0xC0000005
    assert ea.exception.record_address is None  # ``(.exr -1)`` names no address
    assert ea.context is not None and ea.context.kind is ContextKind.EXCEPTION
    assert ea.faulting_ip is not None and ea.faulting_ip.source is not None
    assert ea.faulting_ip.source.line == 88
    assert ea.faulting_ip.symbol is not None and ea.faulting_ip.symbol.offset == 0x1C
    assert ea.stack is not None and len(ea.stack.frames) == 5
    field = ea.field("PROCESS_NAME")
    assert field is not None and field.value == "recparse.exe"
    # the break-in label and instruction before the analysis are a plain dump, not a context
    assert all(c.in_analysis for c in s.register_contexts)


def test_verifier_analysis_heading_is_never_kernel_code_7() -> None:
    text = (LOGS / "crash-avrf-double-free.log").read_text(encoding="utf-8")
    s = parse(text)
    assert s.bugchecks == []
    (ea,) = s.exception_analyses
    assert ea.verifier and ea.name == "APPLICATION_VERIFIER_HEAPS_DOUBLE_FREE"
    assert ea.code is not None and ea.code.value == 7
    assert ea.name_range is not None and at(text, ea.name_range) == ea.name
    assert [a.value.value for a in ea.args] == [0x1C4A1D30000, 0x1C4A1D4BFE0, 0x20, 0]
    (stop,) = s.verifier_stops
    assert stop.code.value == 7 and stop.pid is not None and stop.pid.value == 0x2F1C
    assert stop.message == "Heap block already freed."
    assert [p.description for p in stop.params] == [
        "Heap handle for the heap owning the block.",
        "Heap block being freed again.",
        "Size of the heap block.",
        "Not used",
    ]
    assert stop.continuable is False
    assert at(text, stop.params[1].value.range) == "000001C4A1D4BFE0"


def test_name_lines_without_banner() -> None:
    text = log(
        """
        APPLICATION_VERIFIER_HEAPS_CORRUPTED_HEAP_BLOCK_SUFFIX (f)
        The end of a heap block was overwritten.
        Arguments:
        Arg1: 04e21000 , Heap handle used in the call.
        Arg2: 0c6b3fe0 , Heap block involved in the operation.
        Arg3: 00000020 , Size of the heap block.
        Arg4: 0c6b4000 , Corruption address.

        SPIN_LOCK_ALREADY_OWNED (f)
        A thread tried to take a spin lock it already held.
        Arguments:
        Arg1: 00000000, reserved
        Arg2: 00000000
        Arg3: 00000000
        Arg4: 00000000
        """
    )
    s = parse(text)
    assert [b.code for b in s.bugchecks] == [0xF]
    assert s.bugchecks[0].name == "SPIN_LOCK_ALREADY_OWNED"
    (ea,) = s.exception_analyses
    assert ea.code is not None and ea.code.value == 0xF and ea.verifier


def test_leak_stop_with_empty_meaning_and_continuable() -> None:
    text = (
        "=======================================\n"
        "VERIFIER STOP 00000900: pid 0x1F3C: A heap allocation was leaked.\n"
        "\n"
        "\t0C5A2FE8 : Address of the leaked allocation.\n"
        "\t0C4D1F70 : \n"
        "\t0C3B0FF8 : Address of the owner dll name.\n"
        "\t6A2C0000 : Base of the owner dll.\n"
        "\n"
        "=======================================\n"
        "This verifier stop is continuable.\n"
        "After debugging it use `go' to continue.\n"
        "=======================================\n"
        "next line\n"
    )
    s = parse(text)
    (stop,) = s.verifier_stops
    assert stop.code.value == 0x900
    assert [p.value.value for p in stop.params] == [0x0C5A2FE8, 0x0C4D1F70, 0x0C3B0FF8, 0x6A2C0000]
    assert stop.params[1].description == "" and stop.params[1].description_range is None
    assert stop.continuable is True
    assert stop.block_range.end.line == 11  # the closing separator


def test_bug_check_analysis_reads_trap_frame_and_exception_record() -> None:
    text = (LOGS / "crash-50-x86-O0.log").read_text(encoding="utf-8")
    s = parse(text)
    (bc,) = s.bugchecks
    assert bc.code == 0x50
    assert s.exception_analyses == []
    (trap,) = s.register_contexts
    assert trap.kind is ContextKind.TRAP and trap.in_analysis
    assert trap.frame_address is not None and trap.frame_address.value == 0x8F3E7A5C
    assert bc.block_range is not None and bc.block_range.covers(trap.range)
    sites = {c.key for c in s.code_sites}
    assert sites == {"FAULTING_IP", "FOLLOWUP_IP"}


def test_malformed_crash_text_never_faults() -> None:
    text = "\n".join(
        [
            "ExceptionAddress: zz",
            "ExceptionAddress: 00000000",
            "   ExceptionCode:",
            "Parameter[x]: 1",
            "rax=",
            "rax=1 rip=",
            "eax=0 eip=0",
            "VERIFIER STOP : pid",
            "VERIFIER STOP 1:",
            "\tnothex : x",
            "APPLICATION_VERIFIER_ (1)",
            "EXCEPTION_RECORD:  (.exr -1)",
            "CONTEXT:  zz -- (.cxr zz)",
        ]
    )
    s = parse(text)
    assert len(s.exception_records) == 1
    assert len(s.verifier_stops) == 1
