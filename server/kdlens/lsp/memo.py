"""Answers computed once per snapshot, off the event loop.

Some answers cost seconds on a big log (the outline of 500,000 prompts, the
lens text of a 200,000-row table) and editors ask for them again after every
edit or scroll. A snapshot never changes once published, so such an answer
is a function of it: computed once in a worker thread and shared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from ..pipeline import Snapshot
from .server import KdlensServer

T = TypeVar("T")

#: One thread for every such answer: they queue behind each other, never behind an analysis.
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kdlens-answers")
    return _POOL


class PerSnapshot(Generic[T]):
    """One answer per open log's current snapshot, computed once in a worker thread.

    Requests arriving while it is computed share the computation; a request
    cancelled meanwhile does not cancel it. A log's entry is dropped when a
    newer snapshot is published or the log closes, so no old snapshot is
    kept alive here.
    """

    def __init__(self, server: KdlensServer, compute: Callable[[Snapshot], T]) -> None:
        self._compute = compute
        self._by_uri: dict[str, tuple[Snapshot, asyncio.Future[T]]] = {}
        server.on_snapshot.append(self._published)
        server.on_forget.append(self.drop)

    async def get(self, snap: Snapshot) -> T:
        hit = self._by_uri.get(snap.uri)
        if hit is None or hit[0] is not snap:
            loop = asyncio.get_running_loop()
            hit = (snap, loop.run_in_executor(_pool(), self._compute, snap))
            self._by_uri[snap.uri] = hit
        return await asyncio.shield(hit[1])

    def _published(self, snap: Snapshot) -> None:
        self.drop(snap.uri)

    def drop(self, uri: str) -> None:
        self._by_uri.pop(uri, None)
