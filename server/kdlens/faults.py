"""Internal failures, recorded where they happen and shown where the user looks.

kdlens promises that no log can make it fail, so every place that catches an
unexpected exception (a block parser, a lazy frame reader, a symbol lookup,
an editor feature) keeps going. Keeping going must not mean forgetting: each
such place records a ``Fault`` in the session's ``FaultLog``. The language
server writes new faults to its log after each analysis and request,
``kdlens check`` prints them on stderr (and ``--strict`` turns them into exit
status 3), and the tests assert the log stays empty on real text.

The log is append-only and safe to share between the analysis thread and the
event loop: lazy parts of a published snapshot may still record into it.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fault:
    """One internal failure: which part, on which log line, and what it raised."""

    #: The parser, analysis step or feature that failed (``pool-log``, ``symbols``...).
    where: str
    #: 0-based line of the log being read, when there is one.
    line: int | None
    #: ``repr`` of the exception.
    error: str
    #: A short traceback, for bug reports.
    detail: str = ""

    def summary(self) -> str:
        at = f" at line {self.line + 1}" if self.line is not None else ""
        return f"{self.where}{at}: {self.error}"


class FaultLog:
    """The faults of one log's parse and analysis, in the order they happened."""

    __slots__ = ("_items", "_lock", "_reported")

    def __init__(self) -> None:
        self._items: list[Fault] = []
        self._lock = threading.Lock()
        self._reported = 0

    def record(self, where: str, exc: BaseException, line: int | None = None) -> None:
        """Keep ``exc`` (call from the ``except`` block that caught it)."""
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=6))
        fault = Fault(where, line, repr(exc)[:500], detail)
        with self._lock:
            self._items.append(fault)

    def unreported(self) -> list[Fault]:
        """The faults not handed out by an earlier call (each is reported once)."""
        with self._lock:
            new = self._items[self._reported :]
            self._reported = len(self._items)
        return new

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            items = list(self._items)
        return iter(items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __getstate__(self) -> tuple[list[Fault], int]:
        """Sessions are pickled and copied whole (tests, caches): the lock is not state."""
        with self._lock:
            return list(self._items), self._reported

    def __setstate__(self, state: tuple[list[Fault], int]) -> None:
        self._items, self._reported = list(state[0]), state[1]
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FaultLog({[f.summary() for f in self]!r})"
