"""Bug checks read from ``!analyze``, fatal-error banners and ``.bugcheck``."""

from __future__ import annotations

from kdlens.model import BugCheck, BugCheckSource, Position, Range, Session
from kdlens.parse import parse_text

from helpers import log

BANNER = (
    "*******************************************************************************\n"
    "*                                                                             *\n"
    "*                        Bugcheck Analysis                                    *\n"
    "*                                                                             *\n"
    "*******************************************************************************\n"
)


def _text(snippet: str) -> str:
    """A dedented snippet; ``<sp>`` marks a trailing space the debugger prints."""
    return log(snippet).replace("<sp>", " ")


def _after_banner(snippet: str) -> str:
    """The banner, the blank line under it, then ``snippet``."""
    return BANNER + "\n" + _text(snippet)


def _parse(text: str) -> Session:
    session = parse_text(text)
    assert not session.faults, session.faults
    return session


def _one(text: str) -> BugCheck:
    session = _parse(text)
    assert len(session.bugchecks) == 1, session.bugchecks
    return session.bugchecks[0]


def _on(line: int, start: int, end: int) -> Range:
    return Range.on_line(line, start, end)


# --------------------------------------------------------------------------- !analyze -v

FULL = (
    "0: kd> !analyze -v\n"
    + BANNER
    + "\n"
    + _text("""
    DRIVER_IRQL_NOT_LESS_OR_EQUAL (d1)
    A made-up first line of the description.
    And a second one.
    Arguments:
    Arg1: ffffc30a5b2d1008, address that was touched
    Arg2: 0000000000000002, IRQL
    Arg3: 0000000000000001, read or write, with a note
    \tthat wraps onto a tab-indented line.
    Arg4: fffff8054a3b1c7e

    Debugging Details:
    ------------------


    KEY_VALUES_STRING: 1

        Key  : Analysis.CPU.mSec
        Value: 1234

        Key  : Failure.Bucket
        Value: AV_sample!ReadThing


    BUGCHECK_CODE:  d1

    BUGCHECK_P1: ffffc30a5b2d1008

    TRAP_FRAME:  ffff9e81c3a7f5e0 -- (.trap 0xffff9e81c3a7f5e0)
    NOTE: The trap frame does not contain all registers.
    rax=0000000000000000 rbx=0000000000000000

    STACK_TEXT: <sp>
    ffff9e81`c3a7f498 fffff805`4a5d2ba9     : 00000000`000000d1 ffffc30a`5b2d1008 00000000`00000002 00000000`00000001 : nt!KeBugCheckEx
    ffff9e81`c3a7f4a0 fffff805`4a5ce5b4     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : nt!KiBugCheckDispatch+0x69
    ffff9e81`c3a7f5e0 fffff805`4a3b1c7e     : 00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000 : sample!ReadThing+0x4e


    SYMBOL_NAME:  sample!ReadThing+4e

    MODULE_NAME: sample

    Followup:     MachineOwner
    ---------

    0: kd> k
    """)
)


def test_analyze_v_name_line_and_description() -> None:
    bc = _one(FULL)
    assert bc.source is BugCheckSource.ANALYZE
    assert bc.code == 0xD1
    assert bc.name == "DRIVER_IRQL_NOT_LESS_OR_EQUAL"
    assert bc.name_range == _on(7, 0, 29)
    assert bc.code_range == _on(7, 31, 33)
    assert bc.range == _on(7, 0, 34)
    assert bc.description == "A made-up first line of the description. And a second one."


def test_analyze_v_arguments_exact_ranges() -> None:
    bc = _one(FULL)
    assert [a.index for a in bc.args] == [1, 2, 3, 4]
    a1 = bc.args[0]
    assert a1.value.value == 0xFFFFC30A5B2D1008
    assert a1.value.text == "ffffc30a5b2d1008"
    assert a1.value.range == _on(11, 6, 22)
    assert a1.label_range == _on(11, 0, 4)
    assert a1.description == "address that was touched"
    assert a1.description_range == _on(11, 24, 48)
    a3 = bc.args[2]
    assert a3.description == "read or write, with a note that wraps onto a tab-indented line."
    assert a3.description_range == Range(Position(13, 24), Position(14, 37))
    assert a3.range == Range(Position(13, 0), Position(14, 37))
    a4 = bc.args[3]
    assert a4.value.value == 0xFFFFF8054A3B1C7E
    assert a4.description is None
    assert a4.description_range is None
    assert a4.range == _on(15, 0, 22)


def test_analyze_v_fields_and_key_values() -> None:
    bc = _one(FULL)
    kvs = bc.field("KEY_VALUES_STRING")
    assert kvs is not None and kvs.value == "1"
    cpu = bc.field("Analysis.CPU.mSec")
    assert cpu is not None and cpu.value == "1234"
    assert cpu.key_range == _on(23, 11, 28)
    assert cpu.value_range == _on(24, 11, 15)
    assert cpu.range == Range(Position(23, 11), Position(24, 15))
    bucket = bc.field("Failure.Bucket")
    assert bucket is not None and bucket.value == "AV_sample!ReadThing"
    code = bc.field("BUGCHECK_CODE")
    assert code is not None and code.value == "d1"
    assert code.key_range == _on(30, 0, 13)
    assert code.value_range == _on(30, 16, 18)
    trap = bc.field("TRAP_FRAME")
    assert trap is not None
    assert trap.value.splitlines()[1].startswith("NOTE: ")
    assert trap.value_range == Range(Position(34, 13), Position(36, 41))
    assert bc.field("NOTE") is None  # a value line, not a field
    follow = bc.field("Followup")
    assert follow is not None and follow.value == "MachineOwner"
    assert [f.key for f in bc.fields][-3:] == ["SYMBOL_NAME", "MODULE_NAME", "Followup"]


def test_analyze_v_stack_text_symbol_and_block_range() -> None:
    session = _parse(FULL)
    bc = session.bugchecks[0]
    text = bc.field("STACK_TEXT")
    assert text is not None
    assert len(text.value.splitlines()) == 3
    assert text.value_range == Range(Position(39, 0), Position(41, 137))
    assert bc.stack is not None and len(bc.stack.frames) == 3
    assert bc.symbol is not None
    assert (bc.symbol.module, bc.symbol.function, bc.symbol.offset) == ("sample", "ReadThing", 0x4E)
    assert bc.symbol.range == _on(44, 14, 33)
    assert bc.block_range == Range(Position(1, 0), Position(49, 9))
    assert [c.verb for c in session.commands] == ["!analyze", "k"]


def test_analyze_v_sees_args_once_even_with_p_fields() -> None:
    bc = _one(FULL)
    # BUGCHECK_P1 is present too, but the Arguments block wins
    assert len(bc.args) == 4
    assert bc.args[0].label_range == _on(11, 0, 4)


def test_c4_rule_name_and_help_lines_after_arg4() -> None:
    text = _after_banner("""
        DRIVER_VERIFIER_DETECTED_VIOLATION (c4)
        Some description.
        Arguments:
        Arg1: 0000000000020007, ID of the 'SpinLockOrder' rule that was violated.
        Arg2: fffff80112345678, pointer to the rule text.
        Arg3: 0000000000000000, state.
        Arg4: 0000000000000003, count.
        \tType !helpcmd 3 for the details
        \tof this check.

        ## Debugging Details:

        ...

        BUGCHECK_STR:  0xc4_SpinLockOrder_XDV

        Probably caused by : mydrv.sys ( mydrv!TakeLocks+2c )
        """)
    bc = _one(text)
    assert bc.code == 0xC4
    assert bc.rule == "SpinLockOrder"
    a4 = bc.arg(4)
    assert a4 is not None
    assert a4.description == "count. Type !helpcmd 3 for the details of this check."
    assert a4.range == Range(Position(12, 0), Position(14, 15))
    assert bc.field("BUGCHECK_STR") is not None
    assert bc.probably_caused_by == "mydrv.sys"
    assert bc.probably_caused_by_range == _on(22, 21, 30)
    assert bc.symbol is not None and bc.symbol.display == "mydrv!TakeLocks+0x2c"
    assert bc.symbol.range == _on(22, 33, 51)


def test_empty_description_after_comma() -> None:
    text = _text("""
        1: kd> !analyze
        BAD_POOL_HEADER (19)
        Arguments:
        Arg1: 0000000000000022,<sp>
        Arg2: ffffa00112340000
        Arg3: 0000000000000001
        Arg4: 0000000000000000
        """)
    bc = _one(text)
    a1 = bc.args[0]
    assert a1.description is None
    assert a1.range == _on(3, 0, 23)
    assert [a.value.value for a in bc.args] == [0x22, 0xFFFFA00112340000, 1, 0]


# --------------------------------------------------------------------------- other shapes


def test_summary_in_banner_with_probably_caused_by() -> None:
    text = _after_banner("""
        Use !analyze -v to get detailed debugging information.

        BugCheck C4, {62, 8a1c2e40, 8b7f3d10, 2}

        Probably caused by : leaky.sys ( leaky!FreeAll+1c )

        Followup:     MachineOwner
        ---------

        nt!RtlpBreakWithStatusInstruction:
        """)
    bc = _one(text)
    assert bc.source is BugCheckSource.ANALYZE_SUMMARY
    assert bc.code == 0xC4
    assert bc.code_range == _on(8, 9, 11)
    assert bc.range == _on(8, 0, 40)
    assert [a.value.value for a in bc.args] == [0x62, 0x8A1C2E40, 0x8B7F3D10, 2]
    assert [a.value.range for a in bc.args] == [
        _on(8, 14, 16),
        _on(8, 18, 26),
        _on(8, 28, 36),
        _on(8, 38, 39),
    ]
    assert bc.args[1].label_range == bc.args[1].value.range
    assert bc.probably_caused_by == "leaky.sys"
    assert bc.symbol is not None and bc.symbol.offset == 0x1C
    assert bc.block_range == Range(Position(0, 0), Position(13, 9))


def test_summary_alone_and_pseudo_module() -> None:
    text = _text("""
        kd> !analyze
        ....
        BugCheck 1000008E, {c0000005, 9f120e48, 9ab75b38, 0}
        Probably caused by : memory_corruption
        CHKIMG_EXTENSION: !chkimg !win32k
        ....
        """)
    bc = _one(text)
    assert bc.source is BugCheckSource.ANALYZE_SUMMARY
    assert bc.code == 0x1000008E
    assert bc.args[3].value.value == 0
    assert bc.probably_caused_by == "memory_corruption"
    assert bc.symbol is None
    chk = bc.field("CHKIMG_EXTENSION")
    assert chk is not None and chk.value == "!chkimg !win32k"


def test_fatal_system_error_with_verifier_explanation() -> None:
    text = _text("""
        *** Fatal System Error: 0x000000c4
                               (0x000000D2,0x8A4C1B20,0x8A4C1AE0,0x000000C8)


                0xD2 : A pool block was freed while it still held a live lock.
                       2 -  lock address.
                       3 -  block start.
                       4 -  block size.

        Break instruction exception - code 80000003 (first chance)
        """)
    bc = _one(text)
    assert bc.source is BugCheckSource.FATAL_ERROR
    assert bc.code == 0xC4
    assert bc.code_range == _on(0, 24, 34)
    assert bc.range == _on(0, 0, 34)
    assert [a.value.text for a in bc.args] == [
        "0x000000D2",
        "0x8A4C1B20",
        "0x8A4C1AE0",
        "0x000000C8",
    ]
    assert bc.args[0].value.range == _on(1, 24, 34)
    assert bc.args[3].value.range == _on(1, 57, 67)
    assert bc.args[0].description == "A pool block was freed while it still held a live lock."
    assert bc.args[0].description_range == _on(4, 15, 70)
    assert bc.args[1].description == "lock address."
    assert bc.args[3].description == "block size."
    assert bc.block_range == Range(Position(0, 0), Position(7, 31))


def test_fatal_system_error_driver_at_fault() -> None:
    text = _text("""
        *** Fatal System Error: 0x000000ce
                               (0x91F31C11,0x00000008,0x91F31C11,0x00000000)

        Driver at fault: fuzzy.sys.
        Break instruction exception - code 80000003 (first chance)
        """)
    bc = _one(text)
    assert bc.code == 0xCE
    assert bc.probably_caused_by == "fuzzy.sys"
    assert bc.probably_caused_by_range == _on(3, 17, 26)
    assert bc.args[0].description is None


def test_dot_bugcheck_x86_and_x64() -> None:
    text = _text("""
        kd> .bugcheck
        Bugcheck code 0000000a
        Arguments 00000000 0000001c 00000000 00000000
        kd> .bugcheck
        Bugcheck code 0000001E
        Arguments ffffffff`c0000005 fffff801`2a3b4c5d 00000000`00000000 00000000`00000000
        """)
    session = _parse(text)
    assert len(session.bugchecks) == 2
    a, b = session.bugchecks
    assert a.source is BugCheckSource.DOT_BUGCHECK
    assert a.code == 0xA and a.code_range == _on(1, 14, 22)
    assert [x.value.value for x in a.args] == [0, 0x1C, 0, 0]
    assert a.args[1].value.range == _on(2, 19, 27)
    assert b.code == 0x1E
    assert b.args[0].value.value == 0xFFFFFFFFC0000005
    assert b.args[1].value.range == _on(5, 28, 45)
    assert a.name is None


def test_analyze_show() -> None:
    text = _text("""
        1: kd> !analyze -show 0x1e 0xc0000005

        KMODE_EXCEPTION_NOT_HANDLED (1e)
        An invented description for this test.

        Arguments:
        Arg1: 00000000c0000005, The exception code that was not handled
        Arg2: 0000000000000000, The address that the exception occurred at
        Arg3: 0000000000000000, Parameter 0 of the exception
        Arg4: 0000000000000000, Parameter 1 of the exception
        1: kd> g
        """)
    bc = _one(text)
    assert bc.source is BugCheckSource.ANALYZE
    assert bc.code == 0x1E
    assert bc.name == "KMODE_EXCEPTION_NOT_HANDLED"
    assert bc.description == "An invented description for this test."
    assert bc.args[0].value.value == 0xC0000005
    assert bc.block_range == Range(Position(2, 0), Position(9, 52))


def test_arguments_alone_without_code_is_not_recorded() -> None:
    text = _text("""
        Arguments:
        Arg1: 00000018940ffbe8
        Arg2: 0000000000000003
        Arg3: ffffe301c8db2900
        Arg4: ffffdc0e9ee665d8
        """)
    assert _parse(text).bugchecks == []


def test_arguments_alone_code_from_bugcheck_code_field() -> None:
    text = _text("""
        Arguments:
        Arg1: 00000018940ffbe8
        Arg2: 0000000000000003

        Debugging Details:
        ------------------

        BUGCHECK_CODE:  1aa

        BUGCHECK_P1: 18940ffbe8
        """)
    bc = _one(text)
    assert bc.source is BugCheckSource.ARGUMENTS
    assert bc.code == 0x1AA
    assert bc.code_range == _on(7, 16, 19)
    assert bc.range == _on(0, 0, 10)
    assert [a.index for a in bc.args] == [1, 2]


def test_arguments_alone_code_from_show_command() -> None:
    text = _text("""
        0: kd> !analyze -show 1ab
        Arguments:
        Arg1: 89344350fffff607
        Arg2: 0000000000000003
        Arg3: fffff607893436c4
        Arg4: fffff60789343ea8
        """)
    bc = _one(text)
    assert bc.source is BugCheckSource.ARGUMENTS
    assert bc.code == 0x1AB
    assert bc.code_range == _on(0, 22, 25)


def test_keys_only_gives_code_and_args() -> None:
    text = _after_banner("""
        Debugging Details:
        ------------------

        BUGCHECK_CODE:  3b

        BUGCHECK_P1: c0000005

        BUGCHECK_P2: fffff80132a1b2c3

        BUGCHECK_P3: ffff9c0a746c2330

        BUGCHECK_P4: 0
        """)
    bc = _one(text)
    assert bc.source is BugCheckSource.ANALYZE_KEYS
    assert bc.code == 0x3B
    assert bc.name is None
    assert bc.range == _on(9, 0, 18)
    assert [a.value.value for a in bc.args] == [
        0xC0000005,
        0xFFFFF80132A1B2C3,
        0xFFFF9C0A746C2330,
        0,
    ]
    assert bc.args[1].label_range == _on(13, 0, 11)
    assert bc.args[1].value.range == _on(13, 13, 29)


def test_unknown_bugcheck_code_zero_records_nothing() -> None:
    text = _after_banner("""
        Unknown bugcheck code (0)
        Unknown bugcheck description
        Arguments:
        Arg1: 00000000
        Arg2: 00000000
        Arg3: 00000000
        Arg4: 00000000

        Debugging Details:
        ------------------

        BUGCHECK_P1: 0

        Followup:     MachineOwner
        ---------
        """)
    assert _parse(text).bugchecks == []


def test_unknown_bugcheck_code_nonzero_has_no_name() -> None:
    text = _after_banner("""
        Unknown bugcheck code (7f)
        Unknown bugcheck description
        Arguments:
        Arg1: 00000008
        Arg2: 80042000
        Arg3: 00000000
        Arg4: 00000000
        """)
    bc = _one(text)
    assert bc.code == 0x7F
    assert bc.name is None
    assert bc.description == ""
    assert bc.code_range == _on(6, 23, 25)


def test_user_mode_exception_analysis_is_not_a_bug_check() -> None:
    text = _text("""
        0:000> !analyze -v
        *******************************************************************************
        *                                                                             *
        *                        Exception Analysis                                   *
        *                                                                             *
        *******************************************************************************

        PROCESS_NAME:  app.exe

        ERROR_CODE: (NTSTATUS) 0xc0000374 - heap trouble

        SYMBOL_NAME:  ntdll!RtlpFreeHeapInternal+0
        """)
    assert _parse(text).bugchecks == []


def test_other_parsers_still_read_blocks_inside_the_analysis() -> None:
    text = _after_banner("""
        DRIVER_POWER_STATE_FAILURE (9f)
        Arguments:
        Arg1: 0000000000000003, a device object blocked an IRP

        Debugging Details:
        ------------------

        Resource @ nt!SomeLock (0xfffff80002a8c400)    Available

        Symbol search path is: srv*c:\\symbols

        SYMBOL_NAME:  pci!Wait+2a
        """)
    session = _parse(text)
    assert len(session.bugchecks) == 1
    assert [p.value for p in session.paths] == ["srv*c:\\symbols"]
    bc = session.bugchecks[0]
    assert bc.symbol is not None and bc.symbol.display == "pci!Wait+0x2a"


def test_fatal_error_inside_an_analysis_is_still_read() -> None:
    text = _after_banner("""
        Use !analyze -v to get detailed debugging information.

        BugCheck C4, {62, 1, 2, 3}

        Some chatter the debugger printed.
        *** Fatal System Error: 0x0000000a
                               (0x00000000,0x0000001C,0x00000000,0x00000000)
        """)
    session = _parse(text)
    assert [(b.source, b.code) for b in session.bugchecks] == [
        (BugCheckSource.ANALYZE_SUMMARY, 0xC4),
        (BugCheckSource.FATAL_ERROR, 0xA),
    ]


def test_long_foreign_text_ends_the_analysis() -> None:
    junk = "".join(f"some unrelated output line {n}\n" for n in range(250))
    text = (
        BANNER
        + "\nFIRST_FAILURE (1a)\nArguments:\nArg1: 00000041\n\n"
        + junk
        + "SECOND_FAILURE (50)\nArguments:\nArg1: 00000002\n"
    )
    session = _parse(text)
    first, second = session.bugchecks
    assert first.block_range is not None and first.block_range.end.line == 8
    assert (second.code, second.source) == (0x50, BugCheckSource.ANALYZE)


def test_two_banners_without_prompt_give_two_records() -> None:
    part = _after_banner("""
        BugCheck {code}, {{1, 2, 3, 4}}

        Followup:     MachineOwner
        ---------
        """)
    text = part.format(code="9F") + part.format(code="D1")
    session = _parse(text)
    assert [b.code for b in session.bugchecks] == [0x9F, 0xD1]
    assert session.bugchecks[1].block_range is not None
    assert session.bugchecks[1].block_range.start == Position(10, 0)


def test_second_banner_right_after_fields_starts_a_new_record() -> None:
    text = (
        BANNER
        + "\nSOME_FAILURE (1a)\nArguments:\nArg1: 00000041\n\nMODULE_NAME: one\n\n"
        + BANNER
        + "\nOTHER_FAILURE (50)\nArguments:\nArg1: 00000002\n"
    )
    session = _parse(text)
    assert [(b.code, b.field("MODULE_NAME") is not None) for b in session.bugchecks] == [
        (0x1A, True),
        (0x50, False),
    ]


def test_block_stops_at_the_next_prompt() -> None:
    text = (
        "0: kd> !analyze -v\n"
        + BANNER
        + "\nVIDEO_TDR_FAILURE (116)\nArguments:\nArg1: ffffe000c2c404c0, ctx\n\nIMAGE_NAME:  gpu.sys\n"
        + "0: kd> lm\nstart             end                 module name\n"
    )
    session = _parse(text)
    bc = session.bugchecks[0]
    assert bc.block_range is not None and bc.block_range.end.line == 11
    assert [c.verb for c in session.commands] == ["!analyze", "lm"]


def test_name_line_alone_is_not_a_bug_check() -> None:
    text = _text("""
        kd> dt something
        SOME_STRUCTURE_NAME (12)
           +0x000 Field : 0
        """)
    assert _parse(text).bugchecks == []


def test_indented_block_and_crlf() -> None:
    body = "\n".join(
        [
            "    kd> !analyze -v",
            *("    " + line for line in BANNER.splitlines()),
            "",
            "    DRIVER_POWER_STATE_FAILURE (9f)",
            "    A power IRP took too long.",
            "    Arguments:",
            "    Arg1: 00000004, The transition timed out waiting",
            "            for the lock.",
            "    Arg2: 00000258, Timeout in seconds.",
            "",
        ]
    )
    bc = _one(body.replace("\n", "\r\n"))
    assert bc.code == 0x9F
    assert bc.name_range == _on(7, 4, 30)
    a1 = bc.args[0]
    assert a1.description == "The transition timed out waiting for the lock."
    assert a1.description_range == Range(Position(10, 20), Position(11, 25))
    assert bc.args[1].value.value == 0x258


def test_followup_ip_symbol_with_source_when_no_symbol_name() -> None:
    text = _after_banner("""
        SYSTEM_SERVICE_EXCEPTION (3b)
        Arguments:
        Arg1: 00000000c0000005, code

        FOLLOWUP_IP:<sp>
        mydrv!Dispatch+44 [c:\\src\\mydrv\\dispatch.c @ 120]
        fffff801`2a3b4c5d 8b08            mov     ecx,dword ptr [rax]

        FAULTING_IP:<sp>
        nt!Other+10
        """)
    bc = _one(text)
    assert bc.symbol is not None
    assert bc.symbol.text == "mydrv!Dispatch+44"
    assert bc.symbol.offset == 0x44
    assert bc.symbol.range == _on(11, 0, 17)


def test_bare_module_offset_symbol_name() -> None:
    text = _after_banner("""
        BAD_POOL_HEADER (19)
        Arguments:
        Arg1: 0000000000000022,<sp>

        SYMBOL_NAME:  Driver+1170
        """)
    bc = _one(text)
    assert bc.symbol is not None
    assert (bc.symbol.module, bc.symbol.function, bc.symbol.offset) == ("Driver", None, 0x1170)


def test_truncations_and_garbage_never_fault() -> None:
    lines = FULL.splitlines(keepends=True)
    for n in range(len(lines) + 1):
        assert not parse_text("".join(lines[:n])).faults
        assert not parse_text("".join(lines[n:])).faults
    odd = [
        "Arguments:\nArg1: zzzz\n",
        "Arguments:\nArg9: 00000001\n",
        "BugCheck 9F, {}\n",
        "BugCheck 9F, {x, y}\n",
        "*** Fatal System Error: 0x000000c4\n(0xZZ,)\n",
        "*** Fatal System Error: 0x000000c4\n",
        "Bugcheck code 0000000a\nArguments\n",
        "Unknown bugcheck code (0)\n",
        BANNER,
        BANNER + "\nBUGCHECK_CODE:  zz\n\nBUGCHECK_P1:\n",
        BANNER + "\nSTACK_TEXT:  \n\n",
        BANNER + "\n    Key  : lonely\n",
        BANNER + "\nFollowup:\n",
    ]
    for text in odd:
        assert not parse_text(text).faults, text
