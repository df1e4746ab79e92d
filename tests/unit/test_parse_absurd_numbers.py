"""Numbers far too long to be numbers stay text, and the block around them survives.

Python refuses to turn more than 4,300 decimal digits into an ``int``; a
parser that tried used to raise, and its whole block was dropped (or, for a
prompt, the whole parse failed). Each test puts such a digit run where a
number is expected and checks that the rest of the block is still read.
"""

from __future__ import annotations

import pytest

from kdlens.model import Session
from kdlens.numbers import (
    MAX_DECIMAL_DIGITS,
    MAX_HEX_DIGITS,
    dec_int,
    hex_int,
    parse_hex,
    split_symbol,
)
from kdlens.parse import parse_text

from helpers import log

#: More digits than Python's int-conversion limit.
DEC = "9" * 5000
HEX = "f" * 5000


def _parse(text: str) -> Session:
    session = parse_text(text)
    assert not session.faults, session.faults
    return session


# --------------------------------------------------------------------------- helpers


def test_dec_int_bounds() -> None:
    assert dec_int("0") == 0
    assert dec_int("117") == 117
    assert dec_int("1" * MAX_DECIMAL_DIGITS) == int("1" * MAX_DECIMAL_DIGITS)
    assert dec_int("1" * (MAX_DECIMAL_DIGITS + 1)) is None
    assert dec_int(DEC) is None
    for not_digits in ("", "-1", "+1", " 1", "1_000", "0x10", "1e3"):
        assert dec_int(not_digits) is None, not_digits


def test_hex_int_bounds() -> None:
    assert hex_int("fffff801`3c2a1000") == 0xFFFFF8013C2A1000
    assert hex_int("0x9a0b1C20") == 0x9A0B1C20
    assert hex_int("f" * MAX_HEX_DIGITS) == (1 << 64) - 1
    assert hex_int("f" * (MAX_HEX_DIGITS + 1)) is None
    assert hex_int("0x" + HEX) is None
    for not_hex in ("", "0x", "`", "-1", "+a", " a", "a_b", "0x0x1", "g"):
        assert hex_int(not_hex) is None, not_hex


def test_parse_hex_refuses_absurd_decimal_and_hex() -> None:
    assert parse_hex("0n42") == 42
    assert parse_hex("0n" + DEC) is None
    assert parse_hex(HEX) is None
    assert parse_hex("0x" + HEX) is None


def test_split_symbol_keeps_an_absurd_offset_as_text() -> None:
    assert split_symbol("drv!Foo+0x10") == ("drv", "Foo", 0x10)
    assert split_symbol("drv!Foo+0x" + HEX) == ("drv", "Foo+0x" + HEX, None)
    assert split_symbol("drv+0x" + HEX) == (None, "drv+0x" + HEX, None)
    assert split_symbol("drv!Foo+" + HEX, bare_offset=True) == ("drv", "Foo+" + HEX, None)


# --------------------------------------------------------------------------- the brief's inputs


def test_ln_source_line_with_absurd_line_number() -> None:
    text = log(
        f"""
        kd> ln 8c1d2e3f
        e:\\work\\drv\\file.c({DEC})+0x1a
        (8c1d2e00)   drv!HandleIoctl+0x3f   |  (8c1d2f10)   drv!CompleteRequest
        kd> g
        """
    )
    (res,) = _parse(text).ln_results
    assert res.source is None  # the source line is plain text
    assert res.query is not None and res.query.value == 0x8C1D2E3F
    assert res.before is not None and res.before.symbol.qualified == "drv!HandleIoctl"
    assert res.after is not None and res.after.symbol.qualified == "drv!CompleteRequest"
    assert res.range.start.line == 2


def test_ln_result_after_absurd_source_keeps_a_good_source_that_follows() -> None:
    text = log(
        f"""
        kd> ln 8c1d2e3f
        e:\\work\\drv\\file.c({DEC})
        e:\\work\\drv\\file.c(117)
        (8c1d2e00)   drv!HandleIoctl+0x3f   |  (8c1d2f10)   drv!CompleteRequest
        """
    )
    (res,) = _parse(text).ln_results
    assert res.source is not None and res.source.line == 117
    assert res.range.start.line == 2


def test_poolused_absurd_count_keeps_the_other_rows() -> None:
    text = log(
        f"""
        1: kd> !poolused
           Sorting by  Tag

                    NonPaged            Paged
         Tag    Allocs     Used    Allocs     Used
         Bq01        2      640         0        0first
         Abcd {DEC}      100         0        0second
         Ckt         0        0        12     7680third
         Zzzz        1 {DEC}         3        4fourth
         usb3        1      112         0        0fifth
        """
    )
    rows = _parse(text).pool_usage
    assert [r.tag for r in rows] == ["Bq01", "Ckt ", "usb3"]
    assert [(r.nonpaged_allocs, r.paged_bytes) for r in rows] == [(2, 0), (0, 7680), (1, 0)]


def test_bugcheck_p1_absurd_decimal_keeps_the_other_fields() -> None:
    banner = (
        "*" * 79 + "\n*" + " " * 77 + "*\n*" + "Bugcheck Analysis".center(77) + "*\n*"
        " " * 77 + "*\n" + "*" * 79 + "\n"
    )
    text = banner + log(
        f"""

        Debugging Details:
        ------------------

        BUGCHECK_CODE:  c4

        BUGCHECK_P1: 0n{DEC}

        BUGCHECK_P2: 0

        BUGCHECK_P3: ffffc30a5b2d1008

        BUGCHECK_P4: 0n3
        """
    )
    (bc,) = _parse(text).bugchecks
    assert bc.code == 0xC4
    assert [(a.index, a.value.value) for a in bc.args] == [(2, 0), (3, 0xFFFFC30A5B2D1008), (4, 3)]


# --------------------------------------------------------------------------- other places


@pytest.mark.parametrize("echo", [f"{DEC}: kd> k", f"0:{DEC}> k", f"1:{DEC}:x86> k"])
def test_prompt_with_absurd_numbers_is_text(echo: str) -> None:
    text = f"0: kd> r\n{echo}\n1: kd> g\n"
    s = _parse(text)
    assert [c.text for c in s.commands] == ["r", "g"]
    assert [c.line for c in s.commands] == [0, 2]


def test_stack_row_with_absurd_source_line_keeps_the_frame() -> None:
    text = log(
        f"""
        0: kd> kn
         # Child-SP          RetAddr           Call Site
        00 fffff801`3c2a1000 fffff801`3c2a2000 nt!KeBugCheckEx+0x10 [d:\\a.c @ {DEC}]
        01 fffff801`3c2a1008 fffff801`3c2a3000 drv!Leak+0x20 [d:\\drv\\leak.c @ 42]
        02 fffff801`3c2a1010 fffff801`3c2a4000 drv!Caller+0x{HEX}
        """
    )
    (stack,) = _parse(text).stacks
    f0, f1, f2 = stack.frames
    assert f0.symbol is not None and f0.symbol.qualified == "nt!KeBugCheckEx"
    assert f0.source is None
    assert f1.source is not None and f1.source.line == 42
    assert f2.symbol is not None and f2.symbol.offset is None
    assert f2.return_address is not None and f2.return_address.value == 0xFFFFF8013C2A4000


def test_umdh_comparison_with_absurd_numbers() -> None:
    text = log(
        f"""
        + {DEC} ( 30 - 0) 3 allocs BackTrace00B53

        \tntdll!RtlAllocateHeap+0x10 (d:\\a.c, {DEC})
        \twidget!Fill+3B (src\\widget\\cache.cpp, 212)

        + 30 ( 30 - 0) 3 allocs BackTrace00B54
        """
    )
    first, second = _parse(text).umdh
    assert first.delta is None and first.bytes == 0x30 and first.count == 3
    assert first.stack is not None
    f0, f1 = first.stack.frames
    assert f0.symbol is not None and f0.symbol.qualified == "ntdll!RtlAllocateHeap"
    assert f0.source is None
    assert f1.source is not None and f1.source.line == 212
    assert second.delta == 0x30


def test_umdh_raw_and_snapshot_with_absurd_numbers() -> None:
    text = log(
        f"""
        {HEX} bytes + 30 at 0000020A4C1D2E30 by BackTrace01
        \t7FF8B1C2D3E4

        0x{HEX} bytes in 0x2 allocations (@ 0x10) by: BackTrace02
        \tntdll!RtlAllocateHeap+0x10
        """
    )
    raw, snap = _parse(text).umdh
    assert raw.bytes is None and raw.overhead == 0x30
    assert raw.address is not None and raw.address.value == 0x20A4C1D2E30
    assert snap.bytes is None and snap.count == 2 and snap.size_each == 0x10


def test_pool_log_header_with_absurd_address_is_not_a_record() -> None:
    text = log(
        f"""
        Pool block {HEX}, Size 00000048, Thread 9a0b1c20
        81b250cd nt!IovAllocateMdl+0x3d

        Pool block 8d1e2f40, Size 0x{HEX}, Thread 9a0b1c20
        81b250cd nt!IovAllocateMdl+0x3d

        Pool block 8e000000, Size 00001000, Thread {HEX}
        81b250cd nt!IovFreeMdl+0x3d
        """
    )
    (rec,) = _parse(text).pool_log
    assert rec.address.value == 0x8E000000
    assert rec.size is not None and rec.size.value == 0x1000
    assert rec.thread is None


def test_lmi_absurd_age_and_checksum() -> None:
    text = log(
        f"""
        0: kd> lmvm drv
        start             end                 module name
        fffff801`3c2a0000 fffff801`3c2b0000   drv        (private pdb symbols)  d:\\sym\\drv.pdb
            Loaded symbol image file: drv.sys
            Image path: \\SystemRoot\\system32\\drivers\\drv.sys
            Image name: drv.sys
            CheckSum:         {HEX}
            ImageSize:        00010000
        """
    )
    (mod,) = _parse(text).modules
    assert mod.checksum is None
    assert mod.image_size == 0x10000
    assert mod.image_name == "drv.sys"
