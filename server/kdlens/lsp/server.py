"""The kdlens language server's state: open logs, their snapshots, the analysis schedule.

Analysis runs in a worker thread, debounced after edits; a result computed
for a version the editor has moved past is dropped. A new snapshot is handed
to the ``on_snapshot`` hooks the features registered (the diagnostics feature
publishes it). Every feature handler runs behind ``guard``: a failure is
logged to the client and answered with an empty result, so one broken
feature never takes the server down. This module knows no feature; the
features know it (``kdlens.lsp.main`` wires them together).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import traceback
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.exceptions import FeatureRequestError
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..analysis.resolve import SymbolSource
from ..features.tag_literals import LiteralIndex
from ..pipeline import (
    Snapshot,
    SymbolFilesCache,
    build_snapshot,
    document_symbols,
    looks_like_appverif_xml,
    make_mapper,
)
from ..settings import Settings
from ..sources import SourceMapper
from ..text import Document
from .convert import Columns
from .protocol import KdlensProtocol, run_stdio, run_tcp

log = logging.getLogger("kdlens")


#: Quiet time after an edit before the log is analysed again.
DEBOUNCE_SECONDS = 0.15
#: How long a request waits for an analysis in progress before using the last one.
REQUEST_WAIT_SECONDS = 10.0
#: Documents larger than this are not analysed (editors do not sync them anyway).
MAX_DOCUMENT_CHARS = 512 * 1024 * 1024


class KdlensServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "kdlens",
            __version__,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            protocol_cls=KdlensProtocol,
        )
        self.settings = Settings()
        self.snapshots: dict[str, Snapshot] = {}
        self.pending: dict[str, asyncio.Task[Snapshot | None]] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kdlens-analysis")
        #: Workspace walks (pool-tag literals) get their own thread: they never delay an analysis.
        self.scanner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kdlens-workspace")
        self.literals = LiteralIndex()
        self._scanning = False
        self.mapper: SourceMapper = make_mapper(self.settings, [])
        self.symbol_files = SymbolFilesCache()
        self.symbols: SymbolSource | None = None
        #: called in the worker thread with each new snapshot (for work that reads files),
        #: then on the event loop (to publish), and with the uri of a closed log
        self.on_prepare: list[Callable[[Snapshot], None]] = []
        self.on_snapshot: list[Callable[[Snapshot], None]] = []
        self.on_forget: list[Callable[[str], None]] = []
        self.debounce = DEBOUNCE_SECONDS
        self.initialization_options: Any = None

    # -- transport: pygls' reader and message structuring are replaced (protocol.py
    # and transport.py say why, and what upstream pygls would have to change).

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        run_stdio(self, stdin, stdout)

    def start_tcp(self, host: str, port: int) -> None:
        run_tcp(self, host, port)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log what pygls reports; pygls' default shows the user an "Error in server" popup."""
        if source is FeatureRequestError:
            return  # the request was answered with the error already
        protocol = self.protocol
        if isinstance(protocol, KdlensProtocol):
            protocol.report(f"internal error: {error}", logging.ERROR)
        else:
            log.error("internal error: %s", error)

    # -- helpers used by the features

    def folders(self) -> list[Path]:
        out: list[Path] = []
        try:
            for f in self.workspace.folders.values():
                p = uri_to_path(f.uri)
                if p is not None:
                    out.append(p)
            if not out and self.workspace.root_uri:
                p = uri_to_path(self.workspace.root_uri)
                if p is not None:
                    out.append(p)
        except Exception:  # the workspace is not set up before initialize
            return out
        return out

    def columns(self, snap: Snapshot) -> Columns:
        enc = self.workspace.position_encoding if self.protocol.workspace is not None else None
        name = enc.value if isinstance(enc, lsp.PositionEncodingKind) else enc
        return Columns(snap.lines, str(name or "utf-16"))

    def log_error(self, message: str) -> None:
        log.error(message)
        with contextlib.suppress(Exception):
            self.window_log_message(
                lsp.LogMessageParams(type=lsp.MessageType.Error, message=message)
            )

    def log_info(self, message: str) -> None:
        with contextlib.suppress(Exception):
            self.window_log_message(
                lsp.LogMessageParams(type=lsp.MessageType.Info, message=message)
            )

    def refresh_literals(self, mapper: SourceMapper) -> None:
        """Walk the workspace for pool-tag literals in the background when a walk is due."""
        if self._scanning or not mapper.roots or not self.literals.stale(mapper):
            return
        self._scanning = True

        def done(_future: object) -> None:
            self._scanning = False

        self.scanner.submit(self.literals.refresh, mapper).add_done_callback(done)

    def prepare(self, snap: Snapshot) -> Snapshot:
        """Run the ``on_prepare`` hooks (in the worker thread, after building ``snap``)."""
        for hook in self.on_prepare:
            try:
                hook(snap)
            except Exception as exc:
                snap.faults.record(f"prepare {hook.__qualname__}", exc)
        return snap

    def build(self, doc: Document, uri: str, version: int | None) -> Snapshot:
        """Analyse one version of a log and prepare what publishing needs (worker thread)."""
        snap = build_snapshot(
            doc,
            self.settings,
            self.mapper,
            uri=uri,
            version=version,
            log_path=uri_to_path(uri),
            symbols=document_symbols(self.symbols, uri),
        )
        return self.prepare(snap)

    def report_faults(self, snap: Snapshot) -> None:
        """Write the snapshot's internal failures not written yet to the client's log."""
        for fault in snap.faults.unreported():
            self.log_error(
                f"kdlens internal fault in {snap.uri}: {fault.summary()}\n{fault.detail}"
            )

    async def snapshot(self, uri: str) -> Snapshot | None:
        """The newest analysis of ``uri``, waiting for one in progress."""
        task = self.pending.get(uri)
        if task is not None and not task.done():
            # asyncio.wait neither raises for the analysis task's own failure or
            # cancellation nor cancels it; a cancelled request still raises here.
            await asyncio.wait({task}, timeout=REQUEST_WAIT_SECONDS)
        snap = self.snapshots.get(uri)
        if snap is None and uri in self.pending:
            return None
        return snap

    # -- analysis scheduling

    def schedule(self, uri: str, delay: float) -> None:
        old = self.pending.get(uri)
        if old is not None and not old.done():
            old.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(self._analyze(uri, delay))

    async def _analyze(self, uri: str, delay: float) -> Snapshot | None:
        if delay:
            await asyncio.sleep(delay)
        try:
            doc = self.workspace.get_text_document(uri)
        except Exception:
            return None
        version = doc.version
        text = doc.source
        if len(text) > MAX_DOCUMENT_CHARS:
            self.log_error(
                f"{uri}: the document is too large to analyse ({len(text):,} characters)"
            )
            return None
        loop = asyncio.get_running_loop()
        try:
            snap = await loop.run_in_executor(
                self.executor, functools.partial(self.build, Document(text), uri, version)
            )
        except Exception:
            self.log_error(f"kdlens could not analyse {uri}:\n{traceback.format_exc()}")
            return None
        try:
            current = self.workspace.get_text_document(uri).version
        except Exception:
            return None
        if uri not in self.workspace.text_documents or current != version:
            return None  # stale: a newer version is on its way
        # A snapshot is millions of small, acyclic records that live until the
        # next edit. Moving them out of the collector's generations keeps its
        # periodic passes (which would walk all of them) off the event loop.
        gc.freeze()
        self.snapshots[uri] = snap
        self.report_faults(snap)
        self.refresh_literals(snap.mapper)
        for hook in self.on_snapshot:
            try:
                hook(snap)
            except Exception:
                self.log_error(f"kdlens: {hook.__qualname__} failed:\n{traceback.format_exc()}")
        return snap

    def forget(self, uri: str) -> None:
        task = self.pending.pop(uri, None)
        if task is not None and not task.done():
            task.cancel()
        self.snapshots.pop(uri, None)
        for hook in self.on_forget:
            try:
                hook(uri)
            except Exception:
                self.log_error(f"kdlens: {hook.__qualname__} failed:\n{traceback.format_exc()}")

    def reanalyze_all(self) -> None:
        self.mapper = make_mapper(self.settings, self.folders())
        for uri in list(self.workspace.text_documents):
            if is_log(uri, self):
                self.schedule(uri, 0)

    async def pull_configuration(self) -> None:
        caps = self.client_capabilities.workspace
        if not (caps and caps.configuration):
            return
        try:
            result = await self.workspace_configuration_async(
                lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="kdlens")])
            )
        except Exception as exc:
            self.log_info(
                f"kdlens: workspace/configuration failed ({exc}); keeping the current settings"
            )
            return
        if result and isinstance(result[0], dict):
            self.apply_settings(result[0])

    def apply_settings(self, raw: Any) -> None:
        folders = self.folders()
        self.settings = Settings.from_json(raw, folders)
        for p in self.settings.problems:
            self.log_info(p)
        try:
            self.symbols, messages = self.symbol_files.source(
                self.settings, folders[0] if folders else None
            )
        except Exception:
            self.log_error(f"symbol files could not be set up:\n{traceback.format_exc()}")
            self.symbols, messages = None, []
        for message in messages:
            self.log_info(f"kdlens: {message}")
        self.mapper = make_mapper(self.settings, folders)


def is_log(uri: str, server: KdlensServer) -> bool:
    """Diagnostics and features apply to debugger logs, not to the source files we annotate."""
    try:
        doc = server.workspace.get_text_document(uri)
        lang = doc.language_id
    except Exception:
        doc, lang = None, None
    if lang == "windbg-log":
        return True
    low = uri.lower()
    if low.endswith(".xml"):  # an Application Verifier log exported as XML, by its content
        return (
            lang in (None, "", "plaintext", "xml")
            and doc is not None
            and looks_like_appverif_xml(doc.source[:65536])
        )
    return low.endswith((".log", ".kdlog", ".dbglog", ".txt")) and lang in (
        None,
        "",
        "plaintext",
        "log",
    )


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def guard(default: Callable[[], Any]) -> Callable[[F], F]:
    """Wrap a feature handler: log and answer ``default()`` instead of failing."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        async def wrapper(ls: KdlensServer, params: Any) -> Any:
            try:
                return await fn(ls, params)
            except asyncio.CancelledError:
                raise
            except Exception:
                ls.log_error(f"kdlens: {fn.__name__} failed:\n{traceback.format_exc()}")
                return default()
            finally:
                for snap in ls.snapshots.values():
                    ls.report_faults(snap)

        return wrapper  # type: ignore[return-value]

    return deco


def uri_to_path(uri: str) -> Path | None:
    """The local path of a ``file:`` URI (None for any other scheme)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if len(path) > 2 and path[0] == "/" and path[2] == ":":  # /c:/x on Windows
        path = path[1:]
    return Path(path)
