"""Decoding bytes of every encoding a debugger log can have, and the matching view."""

from __future__ import annotations

import codecs

from kdlens.parse import parse_bytes
from kdlens.text import Document, decode

SAMPLE = "kd> !analyze -v\r\nBugCheck C4, {62, 9707712c, 9c1faf70, 3}\r\nProbably caused by : MyDriver.sys\r\n"


def test_plain_ascii_is_utf8() -> None:
    d = decode(SAMPLE.encode("ascii"))
    assert d.text == SAMPLE
    assert d.encoding == "utf-8"


def test_utf8_bom_is_dropped() -> None:
    d = decode(codecs.BOM_UTF8 + "kd> lm\nstart end module name é\n".encode())
    assert d.text.startswith("kd> lm")
    assert "é" in d.text


def test_utf16_le_with_and_without_bom() -> None:
    for data in (codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"), SAMPLE.encode("utf-16-le")):
        d = decode(data)
        assert d.text == SAMPLE
        assert d.encoding == "utf-16-le"


def test_utf16_be_with_and_without_bom() -> None:
    for data in (codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"), SAMPLE.encode("utf-16-be")):
        d = decode(data)
        assert d.text == SAMPLE
        assert d.encoding == "utf-16-be"


def test_ansi_bytes_fall_back_to_a_single_byte_code_page() -> None:
    data = "Image path: C:\\Treiber\\Gerät.sys\n".encode("cp1252") + bytes([0x81, 0x8D])
    d = decode(data)
    assert "Gerät.sys" in d.text
    assert d.encoding in ("cp1252", "latin-1")


def test_every_byte_value_decodes() -> None:
    d = decode(bytes(range(256)) * 3)
    assert isinstance(d.text, str)


def test_logappend_mixing_ansi_and_unicode_recovers_both_parts() -> None:
    ansi = (
        "kd> .logopen c:\\logs\\a.log\n" + "kd> lm\nstart    end        module name\n" * 40
    ).encode("cp1252")
    unicode_part = ("kd> !analyze -v\nBugCheck C4, {62, 1, 2, 3}\n" * 40).encode("utf-16-le")
    d = decode(ansi + unicode_part + ansi)
    assert d.encoding == "mixed"
    assert d.text.count("kd> lm") == 80
    assert d.text.count("BugCheck C4, {62, 1, 2, 3}") == 40
    assert "\x00" not in d.text


def test_line_endings_crlf_lf_and_lone_cr() -> None:
    doc = Document("a\r\nb\nc\rd")
    assert doc.raw == ["a", "b", "c", "d"]


def test_ansi_colour_codes_are_hidden_from_matching_but_columns_stay_true() -> None:
    raw = "\x1b[1m\x1b[31mArg1: 00000062\x1b[0m, leak"
    doc = Document(raw)
    assert doc.lines[0] == "Arg1: 00000062, leak"
    start = doc.lines[0].index("00000062")
    assert raw[doc.col(0, start) : doc.col_end(0, start + 8)] == "00000062"


def test_stripped_escape_colour_codes() -> None:
    doc = Document("[1m[31mDirect leak of 16 byte(s)[0m")
    assert doc.lines[0] == "Direct leak of 16 byte(s)"


def test_nul_bytes_inside_lines_are_ignored_for_matching() -> None:
    doc = Document("B\x00u\x00gCheck C4, {62, 1, 2, 3}")
    assert doc.lines[0] == "BugCheck C4, {62, 1, 2, 3}"


def test_parse_bytes_reports_the_encoding() -> None:
    session, doc = parse_bytes(codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"))
    assert session.encoding == "utf-16-le"
    assert doc.raw[0] == "kd> !analyze -v"


def test_very_long_lines_are_fine() -> None:
    session, doc = parse_bytes(b"kd> db 0\n" + b"A" * 2_000_000 + b"\n")
    assert len(doc.raw[1]) == 2_000_000
    assert len(session.commands) == 1
