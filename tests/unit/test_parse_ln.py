"""``ln``: source line, before/after symbols, exact matches, wrapped halves, pasted output."""

from __future__ import annotations

from kdlens.model import Range, Session
from kdlens.parse import parse_text

from helpers import log


def rng(line: int, start: int, end: int) -> Range:
    return Range.on_line(line, start, end)


def parse(text: str) -> Session:
    session = parse_text(text)
    assert not session.faults, session.faults
    return session


def test_ln_with_source_line_and_query() -> None:
    text = log(
        """
        kd> ln 0x8c1d2e3f
        e:\\work\\drv\\ioctl.c(117)+0x1a
        (8c1d2e00)   drv!HandleIoctl+0x3f   |  (8c1d2f10)   drv!CompleteRequest
        kd> g
        """
    )
    (res,) = parse(text).ln_results
    assert res.query is not None and res.query.value == 0x8C1D2E3F
    assert res.query.text == "0x8c1d2e3f"
    assert res.query.range == rng(0, 7, 17)
    src = res.source
    assert src is not None
    assert (src.path, src.line, src.byte_offset) == ("e:\\work\\drv\\ioctl.c", 117, 0x1A)
    assert src.range == rng(1, 0, 29)
    assert src.path_range == rng(1, 0, 19)
    assert src.line_range == rng(1, 20, 23)
    assert res.before is not None and res.after is not None
    assert res.before.address.value == 0x8C1D2E00
    assert res.before.address.range == rng(2, 1, 9)
    assert res.before.symbol.display == "drv!HandleIoctl+0x3f"
    assert res.before.symbol.range == rng(2, 13, 33)
    assert res.after.address.range == rng(2, 40, 48)
    assert res.after.symbol.qualified == "drv!CompleteRequest"
    assert res.after.symbol.range == rng(2, 52, 71)
    assert res.range == Range(rng(1, 0, 0).start, rng(2, 71, 71).end)
    assert res.exact == []


def test_negative_offset_and_glued_second_half() -> None:
    text = log(
        """
        kd> ln fe6a0010
        (fe6a0010)   rdr!_Start+0x64 | (fe6a0010)rdr!_Other-0x20
        """
    )
    (res,) = parse(text).ln_results
    assert res.source is None
    assert res.after is not None
    assert res.after.symbol.offset == -0x20
    assert res.after.symbol.function == "_Other"
    assert res.after.symbol.range == rng(1, 41, 56)
    assert res.after.address.range == rng(1, 32, 40)


def test_exact_matches_and_dml_noise() -> None:
    text = log(
        """
        0:000> ln kernelbase+2000
        Browse module
        Set bu breakpoint

        (00007ffb`12342000)   KERNELBASE!CreateFileW   |  (00007ffb`12342200)   KERNELBASE!CloseHandle
        Exact matches:
            KERNELBASE!CreateFileW (void)
            KERNELBASE!CreateFileWStub = <no type information>
        0:000> k
        """
    )
    (res,) = parse(text).ln_results
    assert res.query is None  # an expression, not a number
    assert res.before is not None and res.before.address.value == 0x00007FFB12342000
    assert [e.symbol.qualified for e in res.exact] == [
        "KERNELBASE!CreateFileW",
        "KERNELBASE!CreateFileWStub",
    ]
    assert res.exact[0].symbol.range == rng(6, 4, 26)
    assert res.exact[0].address.value == 0x00007FFB12342000
    assert res.range.end == rng(7, 54, 54).end


def test_wrapped_second_half_on_the_next_line() -> None:
    text = log(
        """
        kd> ln fe600100
        (fe600100)   rdr!_Reconnect+0x1b6
                                (fe600100)   rdr!_Invalidate-0x32
        kd> ln fe600200
        (fe600200)   rdr!_Other+0x2 | (fe600200)   rdr!_Next-0x4
        """
    )
    first, second = parse(text).ln_results
    assert first.after is not None
    assert first.after.symbol.display == "rdr!_Invalidate-0x32"
    assert first.after.address.range == rng(2, 25, 33)
    assert first.range.end.line == 2
    assert second.query is not None and second.query.value == 0xFE600200


def test_pasted_result_without_echo() -> None:
    text = log(
        """
        Here is what ln said:
        c:\\src\\thing.cpp(12)
        (00401000)   app!Thing::Run+0x10   |  (00401080)   app!Thing::Stop
        """
    )
    (res,) = parse(text).ln_results
    assert res.query is None
    assert res.source is not None and res.source.line == 12 and res.source.byte_offset is None
    assert res.source.range == rng(1, 0, 20)
    assert res.before is not None and res.before.symbol.function == "Thing::Run"
    assert res.range.start == rng(1, 0, 0).start


def test_lines_that_only_look_like_results_are_ignored() -> None:
    text = log(
        """
        (1234) not a symbol here
        (zz) app!x
        """
    )
    assert parse(text).ln_results == []


def test_ln_with_no_output_records_nothing() -> None:
    text = log(
        """
        0:000> ln 0
        0:000> ln
        Browse module
        """
    )
    assert parse(text).ln_results == []


def test_truncated_symbol_is_kept_as_printed() -> None:
    text = log(
        """
        0: kd> ln 0x0102ae0e
        (0102ae0e)   App!ILT+1785(_WndProc
        """
    )
    (res,) = parse(text).ln_results
    assert res.before is not None
    assert res.before.symbol.module == "App"
    assert res.before.symbol.function == "ILT+1785(_WndProc"
    assert res.after is None
