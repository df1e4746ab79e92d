"""Publishing: the core's diagnostics on the log, each leak on the source line that
allocated it, and each crash on its faulting line and the user's lines of its stack
(merged across every open log, withdrawn when the log closes).

Both are capped at ``maxDiagnostics`` per file (``features.diagnostic_cap``)
and converted to protocol objects in the worker thread, right after the
analysis: a log with hundreds of thousands of findings used to spend many
seconds of the event loop converting and sending them all.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as lsp

from ...analysis import Diagnostic, Severity
from ...features.crash import source_findings
from ...features.diagnostic_cap import NOT_SHOWN, cap_diagnostics, cut_source_findings
from ...features.leaks import record_label, site_message, source_sites
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


#: Rows of the log a source line's diagnostic links to (a line may have allocated thousands).
_RELATED_PER_SITE = 50
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
        self._uris: dict[Path, str] = {}

    def uri(self, path: Path) -> str:
        hit = self._uris.get(path)
        if hit is None:
            hit = self._uris[path] = path.resolve().as_uri()
        return hit

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
    """Everything the log says about workspace source files, by file uri.

    Leaks of every kind on the line that allocated them (one diagnostic per
    line, ``features.leaks``), each stop's faulting line and the user's lines
    of its stack (``features.crash``). At most ``limit`` (``maxDiagnostics``)
    per file, errors first; the last slot then says how many more findings
    each line of the file holds.
    """
    limit = ls.settings.max_diagnostics if limit is None else limit
    files = _SourceLines(snap)
    found: dict[str, list[tuple[int, lsp.Diagnostic]]] = {}
    for uri, line, diag in [*_leak_sites(ls, snap, files), *_crash_marks(ls, snap, files)]:
        found.setdefault(uri, []).append((line, diag))
    out: dict[str, list[lsp.Diagnostic]] = {}
    for uri, items in found.items():
        items.sort(key=lambda item: (item[1].severity or 0, item[0]))
        cut = cut_source_findings([line for line, _ in items], limit)
        diags = [d for _, d in items[: cut.kept]]
        if cut.hidden_by_line:
            top_line = cut.hidden_by_line[0][0]
            at = next(d.range for line, d in items if line == top_line)
            diags.append(
                lsp.Diagnostic(
                    range=at,
                    severity=lsp.DiagnosticSeverity.Warning,
                    code=NOT_SHOWN,
                    source="kdlens",
                    message=cut.message(limit),
                    data={"notShown": cut.hidden},
                )
            )
        out[uri] = diags
    return out


def _leak_sites(
    ls: KdlensServer, snap: Snapshot, files: _SourceLines
) -> list[tuple[str, int, lsp.Diagnostic]]:
    """Leaks of every kind on the line that allocated them: one diagnostic per source line."""
    log_name = unquote(snap.uri.rsplit("/", 1)[-1])
    cols = ls.columns(snap)
    out: list[tuple[str, int, lsp.Diagnostic]] = []

    def locate(build_path: str) -> Path | None:
        return snap.local_source(build_path)[0]

    for site in source_sites(snap.analysis.leak_records, locate):
        line = site.line - 1
        extent = files.extent(site.path, line)
        if extent is None:
            continue
        diag = lsp.Diagnostic(
            range=_line_range(line, extent),
            severity=lsp.DiagnosticSeverity.Warning,
            code=site.code,
            source="kdlens",
            message=site_message(site, log_name),
            related_information=[
                lsp.DiagnosticRelatedInformation(
                    location=lsp.Location(uri=snap.uri, range=cols.range(rec.range)),
                    message=record_label(rec),
                )
                for rec in site.records[:_RELATED_PER_SITE]
            ],
            data={"fingerprints": sorted({rec.fingerprint for rec in site.records})},
        )
        out.append((files.uri(site.path), line, diag))
    return out


def _crash_marks(
    ls: KdlensServer, snap: Snapshot, files: _SourceLines
) -> list[tuple[str, int, lsp.Diagnostic]]:
    """Each stop's faulting line (an error) and the user's other lines on its stack."""
    log_name = unquote(snap.uri.rsplit("/", 1)[-1])
    cols = ls.columns(snap)
    out: list[tuple[str, int, lsp.Diagnostic]] = []
    for finding in source_findings(snap.analysis, log_name):
        local, _why = snap.local_source(finding.path)
        if local is None:
            continue
        line = finding.line - 1
        extent = files.extent(local, line)
        if extent is None:
            continue
        diag = lsp.Diagnostic(
            range=_line_range(line, extent),
            severity=_SEVERITY[finding.severity],
            code=finding.code,
            source="kdlens",
            message=finding.message,
            related_information=[
                lsp.DiagnosticRelatedInformation(
                    location=lsp.Location(uri=snap.uri, range=cols.range(rng)), message=text
                )
                for rng, text in finding.related
            ]
            or None,
        )
        out.append((files.uri(local), line, diag))
    return out


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
