"""Internal faults are recorded, shown and (with --strict) fail the check; never swallowed."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator

import pytest

from kdlens.analysis import analyze
from kdlens.cli.main import main
from kdlens.faults import FaultLog
from kdlens.model import Frame, PoolLogRecord
from kdlens.parse import parse_text
from kdlens.parse import pool_log as pool_log_module
from kdlens.parse.core import REGISTRY, CommandParser

from helpers import FIXTURES

SEED = FIXTURES / "logs" / "seed-c4-62.log"


@pytest.fixture
def broken_ln_parser() -> Iterator[None]:
    """The ``ln`` block parser replaced by one that raises, for one test."""
    index = next(i for i, c in enumerate(REGISTRY.commands) if c.name == "ln")
    original = REGISTRY.commands[index]

    def explode(cursor: object) -> int:
        raise RuntimeError("forced parser bug")

    REGISTRY.commands[index] = CommandParser(original.name, original.verbs, explode)
    try:
        yield
    finally:
        REGISTRY.commands[index] = original


def test_a_failing_parser_is_recorded_with_its_name_and_line(broken_ln_parser: None) -> None:
    text = SEED.read_text(encoding="utf-8")
    session = parse_text(text)
    faults = list(session.faults)
    assert faults, "the forced fault was swallowed"
    first = faults[0]
    assert first.where == "ln"
    assert "forced parser bug" in first.error
    assert first.line is not None


def test_check_prints_faults_and_strict_exits_3(
    broken_ln_parser: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(SEED), "--fail-on", "never"]) == 0
    err = capsys.readouterr().err
    assert "internal fault" in err and "forced parser bug" in err
    assert main(["check", str(SEED), "--fail-on", "never", "--strict"]) == 3


def test_strict_without_faults_keeps_the_usual_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SEED), "--strict"]) == 1  # the seed's leaks are warnings
    assert "internal fault" not in capsys.readouterr().err


class ThrowingSource:
    """A symbol source whose resolver fails on every call."""

    def for_session(self, session: object, evidence: object) -> tuple[object, list[object]]:
        return ThrowingResolver(session.faults), []  # type: ignore[attr-defined]


class ThrowingResolver:
    def __init__(self, faults: FaultLog) -> None:
        self.faults = faults

    def resolve(self, address: object, symbol: object, *, return_address: bool = False) -> None:
        raise AssertionError("resolver bug")

    def status_text(self, module: str) -> str | None:
        return None


def test_a_resolver_that_throws_is_a_fault_not_a_crash() -> None:
    session = parse_text(SEED.read_text(encoding="utf-8"))
    session.ln_results.clear()  # so the log cannot answer and the symbol link is asked
    a = analyze(session, symbols=ThrowingSource())  # type: ignore[arg-type]
    assert a.leaks, "the analysis went on"
    assert any("resolver bug" in f.error for f in a.session.faults)


def test_lazy_pool_log_frames_record_their_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (FIXTURES / "logs" / "seed-c4-62.log").read_text(encoding="utf-8")
    session = parse_text(text)
    records: list[PoolLogRecord] = list(session.pool_log)
    assert records, "the seed has !verifier 0x80 records"
    lazy = [r for r in records if type(r.stack).__name__ == "LazyStack"]
    assert lazy, "the lazy pool-log path is on for the seed"

    def boom(self: object, i: int, m: object) -> Frame:
        raise ValueError("frame reader bug")

    monkeypatch.setattr(pool_log_module.FrameReader, "frame", boom)
    fresh = parse_text(text)
    stack = next(r.stack for r in fresh.pool_log if type(r.stack).__name__ == "LazyStack")
    assert stack is not None
    assert list(stack.frames) == []
    assert any("frame reader bug" in f.error for f in fresh.faults)


def test_the_fault_log_is_copied_and_pickled_with_its_faults() -> None:
    log = FaultLog()
    try:
        raise KeyError("x")
    except KeyError as exc:
        log.record("somewhere", exc, 4)
    assert [f.summary() for f in pickle.loads(pickle.dumps(log))] == [
        "somewhere at line 5: KeyError('x')"
    ]
    assert len(copy.deepcopy(log)) == 1
    assert [f.where for f in log.unreported()] == ["somewhere"]
    assert log.unreported() == []
