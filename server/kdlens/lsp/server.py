"""The kdlens language server: document lifecycle, analysis scheduling, diagnostics.

Analysis runs in a worker thread, debounced after edits; a result computed
for a version the editor has moved past is dropped. Every feature handler
runs behind ``guard``: a failure is logged to the client and answered with
an empty result, so one broken feature never takes the server down.
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

from lsprotocol import types as lsp
from pygls.exceptions import FeatureRequestError
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..analysis.resolve import SymbolSource
from ..sources import SourceMapper
from .config import ServerSettings, parse_settings
from .convert import Columns
from .protocol import KdlensProtocol, leave_now, run_stdio, run_tcp
from .state import Snapshot, compute, make_mapper, uri_to_path
from .transport import max_message_bytes as transport_limit

log = logging.getLogger("kdlens")

T = TypeVar("T")

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
        self.settings = ServerSettings()
        self.snapshots: dict[str, Snapshot] = {}
        self.pending: dict[str, asyncio.Task[Snapshot | None]] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kdlens-analysis")
        self.mapper: SourceMapper = make_mapper(self.settings, [])
        self.symbols: SymbolSource | None = None
        #: log uri -> source file uri -> diagnostics published there for that log
        self.source_diagnostics: dict[str, dict[str, list[lsp.Diagnostic]]] = {}
        self.debounce = DEBOUNCE_SECONDS
        self.initialization_options: Any = None
        self.client_name: str | None = None

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
        self.pending[uri] = asyncio.get_running_loop().create_task(self._analyse(uri, delay))

    async def _analyse(self, uri: str, delay: float) -> Snapshot | None:
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
                self.executor,
                functools.partial(
                    compute, uri, version, text, self.settings, self.mapper, self.symbols
                ),
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
        self.publish(snap)
        return snap

    def publish(self, snap: Snapshot) -> None:
        from .features.diagnostics import log_diagnostics, source_diagnostics

        try:
            diags = log_diagnostics(self, snap)
        except Exception:
            self.log_error(f"diagnostics failed for {snap.uri}:\n{traceback.format_exc()}")
            diags = []
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=snap.uri, diagnostics=diags, version=snap.version)
        )
        try:
            per_file = source_diagnostics(self, snap)
        except Exception:
            self.log_error(f"source diagnostics failed for {snap.uri}:\n{traceback.format_exc()}")
            per_file = {}
        self.update_source_diagnostics(snap.uri, per_file)

    def update_source_diagnostics(
        self, log_uri: str, per_file: dict[str, list[lsp.Diagnostic]]
    ) -> None:
        """Publish leaks on source files, merging what every open log says about each file."""
        old = self.source_diagnostics.get(log_uri, {})
        if per_file:
            self.source_diagnostics[log_uri] = per_file
        else:
            self.source_diagnostics.pop(log_uri, None)
        for file_uri in set(old) | set(per_file):
            merged: list[lsp.Diagnostic] = []
            for by_file in self.source_diagnostics.values():
                merged.extend(by_file.get(file_uri, []))
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=file_uri, diagnostics=merged)
            )

    def forget(self, uri: str) -> None:
        task = self.pending.pop(uri, None)
        if task is not None and not task.done():
            task.cancel()
        self.snapshots.pop(uri, None)
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )
        self.update_source_diagnostics(uri, {})

    def reanalyse_all(self) -> None:
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
        self.settings = parse_settings(raw, self.folders())
        for p in self.settings.problems:
            self.log_info(p)
        from .symbols import configure_symbols

        try:
            self.symbols = configure_symbols(self)
        except Exception:
            self.log_error(f"symbol files could not be set up:\n{traceback.format_exc()}")
            self.symbols = None
        self.mapper = make_mapper(self.settings, self.folders())


def is_log(uri: str, server: KdlensServer) -> bool:
    """Diagnostics and features apply to debugger logs, not to the source files we annotate."""
    try:
        doc = server.workspace.get_text_document(uri)
        lang = doc.language_id
    except Exception:
        lang = None
    if lang == "windbg-log":
        return True
    low = uri.lower()
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

        return wrapper  # type: ignore[return-value]

    return deco


def create_server() -> KdlensServer:
    server = KdlensServer()
    from .features import register_all

    register_all(server)
    return server


def serve(tcp: str | None = None, max_message_bytes: int | None = None) -> int:
    """Run the server on stdio (default) or on ``HOST:PORT``; the process exit status.

    The status follows the LSP: 0 when ``exit`` came after ``shutdown`` (or the
    client simply closed the connection after ``shutdown``), 1 otherwise.
    ``max_message_bytes`` caps one message (default: ``KDLENS_MAX_MESSAGE_BYTES``
    or 256 MiB).
    """
    logging.basicConfig(level=logging.WARNING, format="kdlens: %(message)s")  # stderr, never stdout
    try:
        limit = transport_limit(None if max_message_bytes is None else str(max_message_bytes))
    except ValueError as exc:
        raise SystemExit(f"kdlens serve: {exc}") from None
    server = create_server()
    protocol = server.protocol
    assert isinstance(protocol, KdlensProtocol)
    protocol.max_message_bytes = limit
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit():
            raise SystemExit("kdlens serve: --tcp expects HOST:PORT")
        code = run_tcp(server, host, int(port))
    else:
        code = run_stdio(server)
    if code is None:
        code = 0 if protocol.shutdown_requested else 1
    server.executor.shutdown(wait=False, cancel_futures=True)
    leave_now(code)
    return code
