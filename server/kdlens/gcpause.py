"""Pausing the cyclic garbage collector around bulk work.

Parsing, analysing and indexing a big log create millions of small records
and no reference cycles; the collector's repeated passes over them would cost
as much as the work itself.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
