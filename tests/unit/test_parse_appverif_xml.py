"""Application Verifier XML logs: entries, ranges into the XML, defensive reading."""

from __future__ import annotations

from kdlens.model import Range
from kdlens.parse import looks_like_appverif_xml, parse_appverif_xml, parse_bytes, parse_text

from helpers import FIXTURES

XML = (FIXTURES / "logs" / "leak-appverif.xml").read_bytes().decode("utf-8")


def _find(text: str, token: str, nth: int = 0) -> Range:
    lines = text.splitlines()
    seen = 0
    for i, line in enumerate(lines):
        col = line.find(token)
        while col >= 0:
            if seen == nth:
                return Range.on_line(i, col, col + len(token))
            seen += 1
            col = line.find(token, col + 1)
    raise AssertionError(token)


def test_fixture_entries_params_and_stacks() -> None:
    assert "\r\n" in XML
    s = parse_appverif_xml(XML)
    assert s is not None and not s.faults
    leak, handle, nulls = s.appverif_entries
    assert [e.stop_code.value for e in s.appverif_entries if e.stop_code] == [0x900, 0x901, 0x303]
    assert (leak.layer, leak.severity, leak.time) == ("Leak", "Error", "2024-05-14 : 09:12:41")
    assert leak.pid is not None and leak.pid.value == 7996
    assert leak.pid.range == _find(XML, "7996")
    assert leak.stop_code is not None and leak.stop_code.range == _find(XML, "0x900")
    assert leak.message == "A heap allocation was leaked."
    assert leak.message_range == _find(XML, "A heap allocation was leaked.")
    p1 = leak.param(1)
    assert p1 is not None and p1.value is not None and p1.value.value == 0xC5A2FE8
    assert p1.value.range == _find(XML, "c5a2fe8")
    assert p1.description == "Address of the leaked allocation."
    assert leak.stack is not None
    frames = leak.stack.frames
    assert frames[0].symbol is not None and frames[0].symbol.display == (
        "vfbasics!VfBasicsStopMessage+0x1c2"
    )
    assert frames[0].source is None  # ``( @ 0)``: no source
    src = frames[3].source
    assert src is not None and (src.path, src.line) == ("c:\\src\\plugin\\registry.cpp", 118)
    assert src.line_range == _find(XML, "118")
    assert frames[3].range.start == _find(XML, "plugin!Registry::Remember+3d").start
    assert handle.param(1) is not None and handle.param(1).value.value == 0x2A4  # type: ignore[union-attr]
    # ``&amp;`` in the text: the message is decoded, its range still ends at the tag
    assert nulls.message.endswith("used & checked.")
    assert nulls.message_range is not None
    row = XML.splitlines()[nulls.message_range.start.line]
    assert row[nulls.message_range.end.character :].startswith("</avrf:message>")


def test_parse_text_and_bytes_route_xml() -> None:
    assert looks_like_appverif_xml(XML)
    assert len(parse_text(XML).appverif_entries) == 3
    session, _ = parse_bytes((FIXTURES / "logs" / "leak-appverif.xml").read_bytes())
    assert len(session.appverif_entries) == 3
    assert not looks_like_appverif_xml("0:000> !heap -l\n<logEntry>")


def test_doctype_and_entities_are_refused() -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
        '<avrf:logfile xmlns:avrf="x"><avrf:logEntry StopCode="0x900">'
        "<avrf:message>&lol2;</avrf:message></avrf:logEntry></avrf:logfile>"
    )
    assert parse_appverif_xml(bomb) is None
    # parse_text falls back to the plain-text reader and does not expand anything
    s = parse_text(bomb)
    assert s.appverif_entries == [] and not s.faults


def test_malformed_xml_keeps_what_was_read() -> None:
    second = XML.index('StopCode="0x901"')
    broken = XML[:second] + 'StopCode="0x901" <<<'
    s = parse_appverif_xml(broken)
    assert s is not None and not s.faults
    assert [e.stop_code.value for e in s.appverif_entries if e.stop_code] == [0x900]


def test_not_xml_and_garbage() -> None:
    assert parse_appverif_xml("kd> !analyze -v\n") is None
    nul = parse_appverif_xml("<logEntry" + "\x00" * 10)
    assert nul is not None and nul.appverif_entries == []
    s = parse_appverif_xml("<avrf:logfile><avrf:logEntry StopCode='zz'>" + "<a>" * 5000)
    assert s is not None and s.appverif_entries == []
