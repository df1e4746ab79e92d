"""Helpers for file-system safety tests: record what gets touched, run with a time limit."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

#: Functions that look at a path (existence, type, contents).
_PROBES = ("stat", "lstat", "listdir", "scandir", "open", "readlink")


class Touched:
    """Every path handed to ``os.stat``/``lstat``/``listdir``/``scandir``/``open``/``readlink``."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def under(self, folder: Path) -> list[str]:
        """The recorded paths inside ``folder`` (or ``folder`` itself)."""
        base = os.path.abspath(folder)
        return [p for p in self.paths if p == base or p.startswith(base + os.sep)]


def record_touches(monkeypatch: pytest.MonkeyPatch) -> Touched:
    touched = Touched()
    for name in _PROBES:
        real = getattr(os, name)

        def probe(path: Any = ".", *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if isinstance(path, (str, bytes, os.PathLike)):
                touched.paths.append(os.path.abspath(os.fsdecode(path)))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, probe)
    return touched


def within(seconds: float, fn: Callable[[], T]) -> T:
    """``fn()`` run in a thread; fails the test (instead of hanging it) after ``seconds``."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the test thread below
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"still running after {seconds} s: the call blocked")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def make_fifo(path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs are not available")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


def symlink(target: Path | str, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError):
        pytest.skip("symbolic links are not available")
