"""``dps`` dumps read as stacks."""

from __future__ import annotations

from kdlens.parse import parse_bytes, parse_text

from helpers import FIXTURES, log


def test_dps_fixture_rows_and_stack() -> None:
    s, _ = parse_bytes((FIXTURES / "logs" / "leak-appverif-stop.log").read_bytes())
    (dump,) = s.dps_dumps
    assert dump.query is not None and dump.query.value == 0xC4D1F70
    assert len(dump.rows) == 10
    assert dump.rows[0].symbol is None and dump.rows[0].value.value == 0
    assert dump.stack is not None
    assert [f.symbol.qualified for f in dump.stack.frames if f.symbol] == [
        "verifier!AVrfDebugPageHeapAllocate",
        "ntdll!RtlDebugAllocateHeap",
        "ntdll!RtlpAllocateHeap",
        "ntdll!RtlAllocateHeap",
        "plugin!Registry::Remember",
        "plugin!PluginInit",
        "Tally!wmain",
    ]
    assert dump.stack.frames[4].address is not None
    assert dump.stack.frames[4].address.value == 0x6A2C1A3D


def test_dps_x64_backticks_and_strings_are_not_symbols() -> None:
    s = parse_text(
        log(
            """
            0:000> dqs 00000012`3456f000 L3
            00000012`3456f000  00007ffb`1c2d3e4f ntdll!RtlAllocateHeap+0x4f
            00000012`3456f008  00000000`00000041 "A"
            00000012`3456f010  00007ff6`00401b2e Widget!Make+0x1e
            0:000> g
            """
        )
    )
    assert not s.faults, s.faults
    (dump,) = s.dps_dumps
    assert dump.query is not None and dump.query.value == 0x123456F000
    assert [r.symbol is not None for r in dump.rows] == [True, False, True]
    assert dump.stack is not None and len(dump.stack.frames) == 2
