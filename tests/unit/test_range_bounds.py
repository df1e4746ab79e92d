"""Ranges as wide as the protocol allows cost what the document holds, not what was asked.

An editor may ask for inlay hints over lines 0..2**31-1. These tests count
the token index's line lookups instead of timing anything: the count must
follow the lines that hold tokens, whatever the width of the request.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from kdlens.analysis import Analysis, analyze
from kdlens.features.hints import inlay_hints
from kdlens.index import Kind, Token, TokenIndex, build_index
from kdlens.lsp.convert import Columns
from kdlens.model import Position, Range
from kdlens.parse import parse_text

from helpers import FIXTURES, REPO

SEED = FIXTURES / "logs" / "seed-c4-62.log"
EXAMPLE = REPO / "examples" / "mydriver-leak" / "kd-session.log"
MAX = 2147483647


class CountingLines(dict[int, list[Token]]):
    """``TokenIndex.by_line`` that counts every lookup by line number."""

    lookups = 0

    def get(self, key: Any, default: Any = None) -> Any:
        self.lookups += 1
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.lookups += 1
        return super().__contains__(key)

    def __getitem__(self, key: int) -> list[Token]:
        self.lookups += 1
        return super().__getitem__(key)


def _counting(index: TokenIndex) -> CountingLines:
    lines = CountingLines(index.by_line)
    index.by_line = lines
    return lines


def _analysed(text: str) -> tuple[Analysis, TokenIndex, list[str]]:
    session = parse_text(text)
    assert not session.faults, session.faults
    a = analyze(session)
    return a, build_index(a), text.split("\n")


def _whole(lines: list[str]) -> Range:
    return Range(Position(0, 0), Position(len(lines) - 1, len(lines[-1])))


def test_in_lines_over_the_widest_range_looks_up_only_lines_with_tokens() -> None:
    _a, index, lines = _analysed(EXAMPLE.read_text(encoding="utf-8"))
    expected = list(index.in_lines(0, len(lines) - 1))
    assert expected
    fresh = build_index(_a)
    counter = _counting(fresh)
    got = list(fresh.in_lines(0, MAX))
    assert got == expected
    token_lines = {t.range.start.line for t in got}
    # a few lookups per line that holds tokens (fill, sort, read); a loop over the
    # asked lines would make 2**31 of them
    assert counter.lookups <= 3 * len(token_lines)


def test_a_region_spanning_a_billion_lines_is_filled_without_walking_them() -> None:
    far = 10**9

    def fill(ix: TokenIndex) -> None:
        ix.add(Token(Range.on_line(0, 0, 4), Kind.SIZE, 16))
        ix.add(Token(Range.on_line(far, 2, 6), Kind.SIZE, 32))

    index = TokenIndex()
    index.add(Token(Range.on_line(5, 0, 3), Kind.TAG, "Mdrv"))
    index.add_lazy(0, far, fill)
    index.freeze()
    counter = _counting(index)
    got = [t.value for t in index.in_lines(0, MAX)]
    assert got == [16, "Mdrv", 32]
    assert counter.lookups <= 3 * 3  # a few per line that holds tokens
    assert [t.value for t in index.in_lines(6, far - 1)] == []
    assert [t.value for t in index.on_line(far)] == [32]


def test_a_backwards_line_range_is_empty() -> None:
    _a, index, _lines = _analysed(SEED.read_text(encoding="utf-8"))
    assert list(index.in_lines(90, 10)) == []


def test_inlay_hints_over_the_widest_range_are_those_of_the_document() -> None:
    a, index, lines = _analysed(EXAMPLE.read_text(encoding="utf-8"))
    expected = inlay_hints(a, index, lines, _whole(lines))
    assert expected
    fresh = build_index(a)
    counter = _counting(fresh)
    widest = Range(Position(0, 0), Position(MAX, MAX))
    assert inlay_hints(a, fresh, lines, widest) == expected
    token_lines = {t.range.start.line for t in index.in_lines(0, len(lines) - 1)}
    assert counter.lookups <= 3 * len(token_lines)


def test_inlay_hints_do_no_work_past_the_end_of_the_document() -> None:
    a, index, lines = _analysed(SEED.read_text(encoding="utf-8"))
    counter = _counting(index)
    past = Range(Position(len(lines) + 5, 0), Position(MAX, MAX))
    assert inlay_hints(a, index, lines, past) == []
    assert counter.lookups == 0


# --------------------------------------------------------------------------- protocol positions


def _pos(line: int, character: int) -> lsp.Position:
    return lsp.Position(line=line, character=character)


def test_a_character_past_the_line_end_means_the_line_end() -> None:
    cols = Columns(["kd> !analyze -v", "Arg1: \U0001f600 00000062"])
    assert cols.model_position(_pos(0, MAX)) == Position(0, 15)
    assert cols.model_position(_pos(1, MAX)) == Position(1, len("Arg1: \U0001f600 00000062"))
    assert cols.model_position(_pos(0, 3)) == Position(0, 3)


def test_a_line_past_the_end_is_not_a_line_of_the_document() -> None:
    cols = Columns(["a", "bb"])
    assert cols.has_line(1) and not cols.has_line(2) and not cols.has_line(MAX)
    assert cols.model_position(_pos(MAX, MAX)) == Position(MAX, MAX)


def test_ranges_are_cut_to_the_document_and_put_in_order() -> None:
    cols = Columns(["first line", "", "last"])
    whole = Range(Position(0, 0), Position(2, 4))
    assert cols.model_range(lsp.Range(start=_pos(0, 0), end=_pos(MAX, MAX))) == whole
    assert cols.model_range(lsp.Range(start=_pos(MAX, 0), end=_pos(0, 0))) == whole
    assert cols.model_range(lsp.Range(start=_pos(2, 1), end=_pos(0, 5))) == Range(
        Position(0, 5), Position(2, 1)
    )
    assert cols.model_range(lsp.Range(start=_pos(1, MAX), end=_pos(1, MAX))) == Range(
        Position(1, 0), Position(1, 0)
    )
    empty = Columns([])
    assert empty.model_range(lsp.Range(start=_pos(0, 0), end=_pos(MAX, MAX))) == Range(
        Position(0, 0), Position(0, 0)
    )
