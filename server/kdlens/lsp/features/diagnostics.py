"""Publishing: the core's diagnostics on the log, and each leak on the source line that
allocated it (merged across every open log, withdrawn when the log closes).

Both are capped at ``maxDiagnostics`` per file (``features.diagnostic_cap``)
and converted to protocol objects in the worker thread, right after the
analysis: a log with hundreds of thousands of findings used to spend many
seconds of the event loop converting and sending them all.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from lsprotocol import types as lsp

from ...analysis import Diagnostic, Leak, Severity
from ...analysis.findings import size_text
from ...features.diagnostic_cap import NOT_SHOWN, cap_diagnostics, cut_source_findings
from ...features.tag_literals import read_source
from ...pipeline import Snapshot
from ..convert import Columns
from ..server import KdlensServer

_SEVERITY = {
    Severity.ERROR: lsp.DiagnosticSeverity.Error,
    Severity.WARNING: lsp.DiagnosticSeverity.Warning,
    Severity.INFORMATION: lsp.DiagnosticSeverity.Information,
    Severity.HINT: lsp.DiagnosticSeverity.Hint,
}


def to_lsp(cols: Columns, uri: str, d: Diagnostic) -> lsp.Diagnostic:
    related = [
        lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=rel.path or uri, range=cols.range(rel.range)),
            message=rel.message,
        )
        for rel in d.related
    ]
    return lsp.Diagnostic(
        range=cols.range(d.range),
        severity=_SEVERITY[d.severity],
        code=d.code,
        source=d.source,
        message=d.message,
        code_description=lsp.CodeDescription(href=d.doc_url) if d.doc_url else None,
        related_information=related or None,
        data=d.data or None,
    )


def log_diagnostics(ls: KdlensServer, snap: Snapshot) -> list[lsp.Diagnostic]:
    """The log's findings, at most ``maxDiagnostics`` of them (the rest summed up)."""
    shown = cap_diagnostics(
        snap.analysis.diagnostics, ls.settings.max_diagnostics, snap.analysis.leak_records
    )
    cols = ls.columns(snap)
    return [to_lsp(cols, snap.uri, d) for d in shown]


#: Source files larger than this are not read to place a diagnostic.
_MAX_SOURCE_BYTES = 16 * 1024 * 1024


class _SourceLines:
    """Lines of the workspace source files leaks point at, each file read once.

    Read only when the path is a regular file of bounded size (never a FIFO or
    a device), and only from the worker thread (``Publisher.prepare``).
    """

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self._files: dict[Path, list[str] | None] = {}

    def extent(self, path: Path, line: int) -> tuple[int, int] | None:
        """First non-blank column and length of 0-based ``line`` of a source file."""
        if path not in self._files:
            text = read_source(self.snap.mapper, path, _MAX_SOURCE_BYTES)
            self._files[path] = text.splitlines() if text is not None else None
        lines = self._files[path]
        if lines is None or not 0 <= line < len(lines):
            return None
        row = lines[line]
        return len(row) - len(row.lstrip()), len(row)


def _line_range(line: int, extent: tuple[int, int]) -> lsp.Range:
    return lsp.Range(
        start=lsp.Position(line=line, character=extent[0]),
        end=lsp.Position(line=line, character=extent[1]),
    )


def source_diagnostics(
    ls: KdlensServer, snap: Snapshot, limit: int | None = None
) -> dict[str, list[lsp.Diagnostic]]:
    """Leaks published on the allocating line of each workspace source file.

    At most ``limit`` (``maxDiagnostics``) per file, in log order; the last
    slot then says how many more leaks each line of the file allocated.
    """
    limit = ls.settings.max_diagnostics if limit is None else limit
    log_name = snap.uri.rsplit("/", 1)[-1]
    cols = ls.columns(snap)
    files = _SourceLines(snap)
    uris: dict[Path, str] = {}
    found: dict[str, list[tuple[Leak, int, tuple[int, int]]]] = {}
    for leak in snap.analysis.leaks:
        if leak.source is None:
            continue
        local, _why = snap.local_source(leak.source.path)
        if local is None:
            continue
        line = leak.source.line - 1
        extent = files.extent(local, line)
        if extent is None:
            continue
        uri = uris.get(local)
        if uri is None:
            uri = uris[local] = local.resolve().as_uri()
        found.setdefault(uri, []).append((leak, line, extent))
    out: dict[str, list[lsp.Diagnostic]] = {}
    for uri, items in found.items():
        cut = cut_source_findings([line for _, line, _ in items], limit)
        diags = [
            _source_diagnostic(cols, snap.uri, log_name, leak, line, extent)
            for leak, line, extent in items[: cut.kept]
        ]
        if cut.hidden_by_line:
            top_line = cut.hidden_by_line[0][0]
            extent = next(e for _, ln, e in items if ln == top_line)
            diags.append(
                lsp.Diagnostic(
                    range=_line_range(top_line, extent),
                    severity=lsp.DiagnosticSeverity.Warning,
                    code=NOT_SHOWN,
                    source="kdlens",
                    message=cut.message(limit),
                    data={"notShown": cut.hidden},
                )
            )
        out[uri] = diags
    return out


def _source_diagnostic(
    cols: Columns, log_uri: str, log_name: str, leak: Leak, line: int, extent: tuple[int, int]
) -> lsp.Diagnostic:
    row = leak.allocation.range
    return lsp.Diagnostic(
        range=_line_range(line, extent),
        severity=lsp.DiagnosticSeverity.Warning,
        code="leaked-allocation",
        source="kdlens",
        message=(
            f"leaked {size_text(leak.size)}, tag '{leak.tag}', see {log_name}:{row.start.line + 1}"
        ),
        related_information=[
            lsp.DiagnosticRelatedInformation(
                location=lsp.Location(uri=log_uri, range=cols.range(row)),
                message=f"Pool Allocations row of {leak.driver.name}",
            )
        ],
    )


class Publisher:
    """Publishes each new snapshot's diagnostics; remembers what it put on source files."""

    def __init__(self, ls: KdlensServer) -> None:
        self.ls = ls
        #: log uri -> source file uri -> diagnostics published there for that log
        self.on_sources: dict[str, dict[str, list[lsp.Diagnostic]]] = {}
        #: log uri -> (snapshot id, its log diagnostics or the traceback of their
        #: failure, its source diagnostics), computed in the worker thread; a newer
        #: version of the same log replaces an older one never published
        self._prepared: dict[
            str, tuple[int, list[lsp.Diagnostic] | str, dict[str, list[lsp.Diagnostic]]]
        ] = {}

    def prepare(self, snap: Snapshot) -> None:
        """Cap and convert the log's diagnostics, read the source lines they point at.

        Worker thread: the source files are opened here, and the conversion of
        thousands of diagnostics stays off the event loop.
        """
        log: list[lsp.Diagnostic] | str
        try:
            log = log_diagnostics(self.ls, snap)
        except Exception:
            log = traceback.format_exc()  # written to the client's log when published
        self._prepared[snap.uri] = (id(snap), log, source_diagnostics(self.ls, snap))

    def publish(self, snap: Snapshot) -> None:
        ls = self.ls
        prepared = self._prepared.get(snap.uri)
        if prepared is not None and prepared[0] == id(snap):
            del self._prepared[snap.uri]
            log, per_file = prepared[1], prepared[2]
            if isinstance(log, str):
                ls.log_error(f"diagnostics failed for {snap.uri}:\n{log}")
                log = []
            diags = log
        else:
            per_file = {}
            try:
                diags = log_diagnostics(ls, snap)
            except Exception:
                ls.log_error(f"diagnostics failed for {snap.uri}:\n{traceback.format_exc()}")
                diags = []
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=snap.uri, diagnostics=diags, version=snap.version)
        )
        self.update_sources(snap.uri, per_file)

    def forget(self, uri: str) -> None:
        self._prepared.pop(uri, None)
        self.ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )
        self.update_sources(uri, {})

    def update_sources(self, log_uri: str, per_file: dict[str, list[lsp.Diagnostic]]) -> None:
        """Publish on source files, merging what every open log says about each file."""
        old = self.on_sources.get(log_uri, {})
        if per_file:
            self.on_sources[log_uri] = per_file
        else:
            self.on_sources.pop(log_uri, None)
        for file_uri in set(old) | set(per_file):
            merged: list[lsp.Diagnostic] = []
            for by_file in self.on_sources.values():
                merged.extend(by_file.get(file_uri, []))
            self.ls.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=file_uri, diagnostics=merged)
            )


def register(server: KdlensServer) -> None:
    publisher = Publisher(server)
    server.on_prepare.append(publisher.prepare)
    server.on_snapshot.append(publisher.publish)
    server.on_forget.append(publisher.forget)
