"""The speed switches are on, and the fast paths read exactly what the general ones read.

The lazy pool-log records and stacks set their slots directly while the model's
dataclasses have the fields they know; a changed dataclass silently turns them
off. The fast stack-row reader skips the general tokeniser for the common row
shape. Both are checked here so a speed-up can neither vanish nor drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kdlens.parse import parse_bytes, pool_log, stacks

from helpers import FIXTURES, REPO, SHARED


def _logs() -> list[Path]:
    roots = [FIXTURES, REPO / "examples", SHARED / "corpus"]
    out: list[Path] = []
    for root in roots:
        if root.exists():
            out.extend(
                p for p in root.rglob("*") if p.is_file() and p.suffix in (".log", ".txt", ".kdlog")
            )
    return sorted(out)


LOGS = _logs()


def test_lazy_pool_log_paths_are_on() -> None:
    assert pool_log._STACK_DIRECT, "Stack's fields changed: update LazyStack.deferred"
    assert pool_log._LAZY_OK, "PoolLogRecord's fields changed: update LazyRecord"


def test_the_fast_stack_row_path_is_on() -> None:
    assert stacks.FAST_ROWS


@pytest.fixture
def general_rows_only() -> Iterator[None]:
    stacks.FAST_ROWS = False
    try:
        yield
    finally:
        stacks.FAST_ROWS = True


def _frames(data: bytes) -> list[object]:
    session, _doc = parse_bytes(data)
    return [(s.range, s.kind, list(s.frames)) for s in session.stacks]


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_fast_rows_agree_with_the_general_reader(path: Path) -> None:
    data = path.read_bytes()
    fast = _frames(data)
    stacks.FAST_ROWS = False
    try:
        general = _frames(data)
    finally:
        stacks.FAST_ROWS = True
    assert fast == general


def test_the_comparison_sees_a_difference(general_rows_only: None) -> None:
    """Proof the check can fail: a fast reader that drops the source line differs."""
    text = (
        b"kd> kb\n"
        b" # ChildEBP RetAddr  Args to Child\n"
        b"00 9a3bf6a0 9a3bf6ac 00000001 00000002 00000003 MyDriver!Alloc+0x1c [c:\\src\\a.c @ 38]\n"
    )
    general = _frames(text)
    stacks.FAST_ROWS = True
    original = stacks._fast_row

    def lossy(i: int, line: str, m: object) -> object:
        frame = original(i, line, m)  # type: ignore[arg-type]
        if frame is not None:
            frame.source = None
        return frame

    stacks._fast_row = lossy  # type: ignore[assignment]
    try:
        assert _frames(text) != general
    finally:
        stacks._fast_row = original
