"""The speed switches are on, and the fast paths read exactly what the general ones read.

``core.LAZY`` turns off every indexed block and lazy record: a parse with it
off is the eager reference each lazy parse must equal, field by field, on
every fixture and corpus log.

The lazy pool-log records and stacks set their slots directly while the model's
dataclasses have the fields they know; a changed dataclass silently turns them
off. The fast stack-row reader skips the general tokeniser for the common row
shape. Both are checked here so a speed-up can neither vanish nor drift.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from kdlens.model import Session
from kdlens.parse import core, parse_bytes, pool_log, stacks

from helpers import FIXTURES, REPO, SHARED, log


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


# --------------------------------------------------------------------------- lazy / indexed records


def _eager_and_lazy(data: bytes) -> tuple[Session, Session]:
    lazy, _doc = parse_bytes(data)
    core.LAZY = False
    try:
        eager, _doc = parse_bytes(data)
    finally:
        core.LAZY = True
    return lazy, eager


def _differences(lazy: Session, eager: Session) -> list[str]:
    """The session fields (faults aside) where the two parses disagree."""
    return [
        f.name
        for f in fields(Session)
        if f.name != "faults" and getattr(lazy, f.name) != getattr(eager, f.name)
    ]


def test_laziness_is_on() -> None:
    assert core.LAZY


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_lazy_records_agree_with_the_eager_parse(path: Path) -> None:
    lazy, eager = _eager_and_lazy(path.read_bytes())
    assert not lazy.faults and not eager.faults
    assert _differences(lazy, eager) == []


#: A ``!verifier 0x80`` dump with every shape the indexed reader must either
#: take exactly or leave to the line loop: rows with trailing blanks, noise
#: between rows, indented and ``0x`` headers, backtick addresses, a record whose
#: operation only its third row tells, records glued together or closed by a
#: separator, a header without rows, and a record cut by the next prompt.
POOL_DUMP = log(
    """
    kd> !verifier 0x80 3

    Log of recent kernel pool Allocate and Free operations:

    There are up to 0x10000 entries in the log.

    Parsing 0x00010000 log entries.

    Pool block ffffe0012a3b4c50, Size 0000000000000060, Thread ffffe00071de3380
    fffff80320c2150d VerifierExt!ExAllocatePoolWithTagPriority_internal_wrapper+0x6d
    fffff8031cca261a nt!VerifierExAllocatePoolWithTag+0x3a
    fffff80322822bdf MyDriver!DmaBuildWorkItem+0x5f

    Pool block ffffe0012a3b4d70, Size 0000000000000040, Thread ffffe0005bb82a80
    fffff8031cca13f3 nt!IovFreeMdl+0x33
    fffff80322deb16b StorHelp!TimerProcessQueueEntry+0x24b
    Pool block ffffe0012a3b4e90, Size 00000000000000b0, Thread ffffe0005bb82a80
    fffff80322deb16b StorHelp!TimerProcessQueueEntry+0x24b
    fffff80322de9493 StorHelp!TxProcessMapping+0x33
    fffff8031c6c8050 nt!ExAllocatePoolWithTag+0x210
    fffff8031c6c8828 nt!KiTimerExpiration+0x4d8

    Pool block ffffe0012a3b5000, Size 0000000000000020, Thread ffffe0005912bc80
    fffff80320c2174e VerifierExt!ExFreePoolWithTag_wrapper+0x2e \t
    fffff8031cca27ad nt!VerifierExFreePoolWithTag+0x2d

    Pool block ffffe0012a3b5120, Size 0000000000000020, Thread ffffe0005912bc80
    fffff80320c2174e VerifierExt!ExFreePoolWithTag_wrapper+0x2e
    *** WARNING: Unable to verify checksum for StorHelp.sys
    fffff8031cca27ad nt!VerifierExFreePoolWithTag+0x2d

      Pool block ffffe0012a3b5240, Size 0000000000000020, Thread ffffe0005912bc80
    fffff8031cca27ad nt!VerifierExAllocatePoolWithTag+0x2d

    Pool block 0xffffe0012a3b5360, Size 0x20, Thread 0xffffe0005912bc80
    fffff803`1cca27ad nt!VerifierExAllocatePoolWithTag+0x2d

    Pool block ffffe0012a3b5480, Size 0000000000000020
    fffff803`1cca27ad nt!VerifierExAllocatePoolWithTag+0x2d
    ======================================================================
    Pool block 8a3b5480, Size 00000020, Thread 8a5912bc
    81b250cd nt!IovAllocateMdl+0x3d
    81b25000 MyDriver!Helper+0x10
    Pool block ffffe0012a3b55a0, Size 0000000000000030, Thread ffffe0005912bc80

    Pool block ffffe0012a3b56c0, Size 0000000000000030, Thread ffffe0005912bc80
    fffff8031cca27ad nt!VerifierExAllocatePoolWithTag+0x2d
    fffff80322822bdf MyDriver!DmaBuildWorkItem+0x5f
    kd> !verifier 0x80
    Pool block ffffe0012a3b57e0, Size 0000000000000030, Thread ffffe0005912bc80
    fffff8031cca27ad nt!VerifierExAllocatePoolWithTag+0x2d
    fffff80322822bdf MyDriver!DmaBuildWorkItem+0x5f
    """
)


def _variants(text: str) -> list[bytes]:
    """The dump as written, with CRLF line ends, and with colour codes on one line."""
    coloured = text.replace("nt!IovFreeMdl+0x33", "\x1b[1mnt!IovFreeMdl+0x33\x1b[0m")
    return [text.encode(), text.replace("\n", "\r\n").encode(), coloured.encode()]


@pytest.mark.parametrize("variant", [0, 1, 2], ids=["lf", "crlf", "colour"])
def test_the_indexed_dump_reads_as_the_eager_one(variant: int) -> None:
    data = _variants(POOL_DUMP)[variant]
    lazy, eager = _eager_and_lazy(data)
    assert not lazy.faults and not eager.faults
    assert len(eager.pool_log) == 12
    assert _differences(lazy, eager) == []
    # every field of a fresh lazy parse, read in another order than the comparison reads them
    again, _doc = parse_bytes(data)
    for a, b in zip(again.pool_log, eager.pool_log, strict=True):
        assert (a.stack.frames, a.thread, a.size, a.address, a.range) == (
            b.stack.frames,
            b.thread,
            b.size,
            b.address,
            b.range,
        )


def test_usual_records_are_indexed_not_read() -> None:
    """The records of the usual shape keep only line numbers for their stacks until asked."""
    session, _doc = parse_bytes(POOL_DUMP.encode())
    indexed = [
        r
        for r in session.pool_log
        if isinstance(r, pool_log.LazyRecord) and r._pending == pool_log._INDEXED
    ]
    # the first three, the x86 one after the separator and one on each side of the prompt
    assert [r._line for r in indexed] == [8, 13, 16, 40, 45, 49]
    first = indexed[0]
    assert first.stack.range.start.line == 9
    assert first._pending == pool_log._INDEXED & ~pool_log._STACK


def test_the_comparison_sees_a_lazy_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proof the check can fail: indexed records whose header range, read late, is one too long."""
    original = pool_log.LazyRecord._fill_indexed

    def long_header(
        rec: pool_log.LazyRecord, bit: int, reader: pool_log.FrameReader, line: int, text: str
    ) -> None:
        original(rec, bit, reader, line, text + " ")

    monkeypatch.setattr(pool_log.LazyRecord, "_fill_indexed", long_header)
    lazy, eager = _eager_and_lazy(POOL_DUMP.encode())
    assert _differences(lazy, eager) == ["pool_log"]


# --------------------------------------------------------------------------- trigger prefilter


def test_the_trigger_prefilter_is_on() -> None:
    """Every registered trigger has the shape the prefilter needs (else it is silently off)."""
    assert core.REGISTRY.prefilter() is not None


def test_alternatives_split_only_at_the_top_level() -> None:
    pattern = r"^[ \t]*(?:a|b)[|x\]|]c\|d|^[ \t]*e"
    assert core.split_alternatives(pattern) == [r"^[ \t]*(?:a|b)[|x\]|]c\|d", r"^[ \t]*e"]


def test_a_trigger_that_could_see_past_its_line_turns_the_prefilter_off() -> None:
    registry = core.Registry()
    registry.blocks.append(core.BlockParser("a", re.compile(r"^[ \t]*Foo", re.M), lambda c: None))
    assert registry.prefilter() is not None
    registry = core.Registry()
    registry.blocks.append(
        core.BlockParser("b", re.compile(r"^[ \t]*Foo(?=\nBar)", re.M), lambda c: None)
    )
    assert registry.prefilter() is None


def test_candidate_lines_are_the_lines_a_trigger_matches() -> None:
    """The prefilter finds every line some trigger matches, in the first line too."""
    lines = [
        "Arguments:",
        *POOL_DUMP.split("\n"),
        "  > > Detected memory leaks!",
        "MyDriver: ChildEBP RetAddr",
    ]
    text = "\n".join(lines)
    pre = core.REGISTRY.prefilter()
    assert pre is not None
    found = {text.count("\n", 0, m.start() + 1) for m in pre[0].finditer(text)}
    if pre[1].match(text):
        found.add(0)
    expected = {
        i
        for i, line in enumerate(lines)
        if any(b.trigger.match(line) for b in core.REGISTRY.blocks)
    }
    assert {0, len(lines) - 2} <= expected <= found
