"""Symbol downloads in the editor: work-done progress while they run, a new analysis when they end.

The core's download thread (``kdlens.symbols.symsrv.Downloads``) reports
through the listener this module installs on the server's
``SymbolFilesCache``. Events arrive on that thread; each is handed to the
event loop (``call_soon_threadsafe``) and turned there into
``window/workDoneProgress/create`` and ``$/progress`` messages
('downloading mydriver.pdb 3.2 MB'). When the queue empties after a job
finished, every open log is analysed again, so diagnostics computed from
the local folders first are re-published with what arrived. The loop is
learnt from the first snapshot published (always before a download can
start, or soon after: events seen earlier wait in a short buffer).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from lsprotocol import types as lsp

from ...pipeline import DownloadEvent, Snapshot, release_document
from ..server import KdlensServer

TITLE = "kdlens: symbol files"


class DownloadProgress:
    def __init__(self, ls: KdlensServer) -> None:
        self.ls = ls
        self.loop: asyncio.AbstractEventLoop | None = None
        self._early: list[DownloadEvent] = []
        self._lock = threading.Lock()
        #: token -> events waiting for the client to accept the token (None once it has)
        self._tokens: dict[str, list[DownloadEvent] | None] = {}

    # -- any thread

    def on_event(self, event: DownloadEvent) -> None:
        with self._lock:
            loop = self.loop
            if loop is None:
                self._early.append(event)
                return
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
            loop.call_soon_threadsafe(self.handle, event)

    # -- the event loop

    def on_snapshot(self, snap: Snapshot) -> None:
        if self.loop is not None:
            return
        with self._lock:
            self.loop = asyncio.get_running_loop()
            early, self._early = self._early, []
        for event in early:
            self.handle(event)

    def forget(self, uri: str) -> None:
        release_document(self.ls.symbols, uri)

    def _supported(self) -> bool:
        window = self.ls.client_capabilities.window
        return bool(window and window.work_done_progress)

    def handle(self, event: DownloadEvent) -> None:
        if event.kind == "idle":
            if event.changed:
                for uri in list(self.ls.snapshots):
                    self.ls.schedule(uri, 0)
            return
        if event.kind == "end" and event.message:
            self.ls.log_info(f"kdlens: {event.message}")
        if not self._supported() or not event.token:
            return
        token = event.token
        if event.kind == "begin":
            self._tokens[token] = [event]

            def created(*_args: Any) -> None:
                waiting = self._tokens.get(token) or []
                self._tokens[token] = None
                for e in waiting:
                    self._send(e)
                if waiting and waiting[-1].kind == "end":
                    self._tokens.pop(token, None)

            try:
                self.ls.work_done_progress.create(token, created)
            except Exception:
                self._tokens.pop(token, None)
            return
        if token not in self._tokens:
            return  # a job cancelled before it began: nothing was shown
        waiting = self._tokens[token]
        if waiting is not None:
            waiting.append(event)
            return
        self._send(event)
        if event.kind == "end":
            self._tokens.pop(token, None)

    def _send(self, event: DownloadEvent) -> None:
        progress = self.ls.work_done_progress
        if event.kind == "begin":
            progress.begin(
                event.token,
                lsp.WorkDoneProgressBegin(title=TITLE, message=event.message, cancellable=False),
            )
        elif event.kind == "report":
            progress.report(
                event.token,
                lsp.WorkDoneProgressReport(message=event.message, percentage=event.percentage),
            )
        elif event.kind == "end":
            progress.end(event.token, lsp.WorkDoneProgressEnd(message=event.message))


def register(server: KdlensServer) -> None:
    glue = DownloadProgress(server)
    server.symbol_files.listener = glue.on_event
    server.on_snapshot.append(glue.on_snapshot)
    server.on_forget.append(glue.forget)
