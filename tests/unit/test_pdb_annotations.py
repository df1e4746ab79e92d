"""Inline-site line programs (binary annotations) and public name undecoration."""

from __future__ import annotations

import pytest

from kdlens.symbols.pdb import PdbError
from kdlens.symbols.pdb.codeview import decode_annotations
from kdlens.symbols.pdb.names import undecorate

# Opcodes, spelled out for readability.
CODE_OFFSET, CODE_OFFSET_BASE, CHANGE_CODE, CODE_LENGTH, FILE, LINE = 1, 2, 3, 4, 5, 6
LINE_END, RANGE_KIND, COL_START, COL_END_DELTA, CODE_AND_LINE, LENGTH_AND_CODE, COL_END = range(
    7, 14
)


def test_llvm_style_program() -> None:
    program = bytes([LINE, 8, CHANGE_CODE, 0x28, LINE, 6, CHANGE_CODE, 0x13, CODE_LENGTH, 10, 0])
    # Line +4, a row at 0x28; line +3, a row at 0x3b that the length closes at 0x45.
    assert decode_annotations(program, 7, 17, 0x100) == [(0x28, 0x3B, 7, 21), (0x3B, 0x45, 7, 24)]


def test_combined_code_and_line_opcode_and_negative_lines() -> None:
    # 0x4c: code +0xc, line +2 (encoded 4); 0x37: code +7, line -1 (encoded 3).
    program = bytes([CODE_AND_LINE, 0x4C, CODE_AND_LINE, 0x37, CODE_LENGTH, 3])
    assert decode_annotations(program, 0, 10, 0x100) == [(0xC, 0x13, 0, 12), (0x13, 0x16, 0, 11)]


def test_code_length_advances_the_offset() -> None:
    # A gap: row 1 is closed by its length, row 2 starts 5 bytes after that end.
    program = bytes([CHANGE_CODE, 4, CODE_LENGTH, 6, LINE, 2, CHANGE_CODE, 5, CODE_LENGTH, 1])
    assert decode_annotations(program, 0, 1, 0x100) == [(4, 10, 0, 1), (15, 16, 0, 2)]


def test_multibyte_operands() -> None:
    # 0x80 0x8b is the two-byte form of 0x8b; 0xc0 0x01 0x00 0x00 the four-byte form of 0x10000.
    program = bytes([CHANGE_CODE, 0x80, 0x8B, CODE_LENGTH, 0xC0, 0x01, 0x00, 0x00])
    assert decode_annotations(program, 0, 5, 0) == [(0x8B, 0x8B + 0x10000, 0, 5)]


def test_file_change_absolute_offset_and_ignored_opcodes() -> None:
    program = bytes(
        [
            CODE_OFFSET, 0x20,
            FILE, 0x18,
            LINE_END, 1, RANGE_KIND, 1, COL_START, 3, COL_END_DELTA, 2, COL_END, 9, CODE_OFFSET_BASE, 0,
            CHANGE_CODE, 0,
            LINE, 5,  # -2
            FILE, 0,
            CHANGE_CODE, 8,
        ]
    )  # fmt: skip
    # The last row is still open at the end and runs to the procedure's length.
    assert decode_annotations(program, 0, 30, 0x40) == [(0x20, 0x28, 0x18, 30), (0x28, 0x40, 0, 28)]


def test_length_and_offset_opcode_sets_an_explicit_length() -> None:
    program = bytes([LENGTH_AND_CODE, 3, 7, LINE, 2, LENGTH_AND_CODE, 6, 5])
    assert decode_annotations(program, 0, 1, 0x100) == [(7, 10, 0, 1), (12, 18, 0, 2)]


def test_padding_ends_the_program_and_empty_rows_are_dropped() -> None:
    program = bytes([CHANGE_CODE, 4, CHANGE_CODE, 0, CODE_LENGTH, 2, 0, CHANGE_CODE, 99])
    assert decode_annotations(program, 0, 1, 0x100) == [(4, 6, 0, 1)]
    assert decode_annotations(b"", 0, 1, 0x100) == []


@pytest.mark.parametrize(
    ("program", "reason"),
    [
        (bytes([CHANGE_CODE]), "truncated"),
        (bytes([CHANGE_CODE, 0x80]), "truncated"),
        (bytes([CHANGE_CODE, 0xC0, 1, 2]), "truncated"),
        (bytes([CHANGE_CODE, 0xE0, 0, 0, 0]), "bad compressed"),
        (bytes([14, 1]), "unknown opcode"),
        (bytes([0xFF]), "bad compressed"),
    ],
)
def test_malformed_programs(program: bytes, reason: str) -> None:
    with pytest.raises(PdbError, match=reason):
        decode_annotations(program, 0, 1, 0x100)


@pytest.mark.parametrize(
    ("name", "x86", "printed"),
    [
        ("DriverEntry", False, "DriverEntry"),
        ("_DriverEntry@8", True, "DriverEntry"),
        ("@IofCompleteRequest@8", True, "IofCompleteRequest"),
        ("_DbgPrint", True, "DbgPrint"),
        ("_NotStripped", False, "_NotStripped"),
        ("VectorFn@@16", False, "VectorFn"),
        ("?NewStream@CMiniport@@QEAAJKPEAX@Z", False, "CMiniport::NewStream"),
        ("?g_Miniport@mydrv@@3VCMiniport@@A", True, "mydrv::g_Miniport"),
        ("??0CMiniport@@QEAA@K@Z", False, "CMiniport::CMiniport"),
        ("??1CMiniport@ns@@QAE@XZ", True, "ns::CMiniport::~CMiniport"),
        (
            "??_C@_0BC@PFEAGMBP@mydriver?3?5loaded?6?$AA@",
            False,
            "??_C@_0BC@PFEAGMBP@mydriver?3?5loaded?6?$AA@",
        ),
        ("?Get@?$Box@H@@QEAAHXZ", False, "?Get@?$Box@H@@QEAAHXZ"),
        ("?f@1@@YAXXZ", False, "?f@1@@YAXXZ"),
        ("?broken", False, "?broken"),
        ("?@", False, "?@"),
    ],
)
def test_undecorate(name: str, x86: bool, printed: str) -> None:
    assert undecorate(name, x86) == printed
