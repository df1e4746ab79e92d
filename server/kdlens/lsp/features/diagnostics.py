"""Publishing: the core's diagnostics on the log, each leak on the source line that
allocated it, and each crash on its faulting line and the user's lines of its stack (merged
across every open log, withdrawn when the log closes)."""

from __future__ import annotations

import traceback
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as lsp

from ...analysis import Diagnostic, Severity
from ...features.crash import source_findings
from ...features.leaks import record_label, site_message, source_sites
from ...features.tag_literals import read_source
from ...pipeline import Snapshot
from ..server import KdlensServer

_SEVERITY = {
    Severity.ERROR: lsp.DiagnosticSeverity.Error,
    Severity.WARNING: lsp.DiagnosticSeverity.Warning,
    Severity.INFORMATION: lsp.DiagnosticSeverity.Information,
    Severity.HINT: lsp.DiagnosticSeverity.Hint,
}


def to_lsp(ls: KdlensServer, snap: Snapshot, d: Diagnostic) -> lsp.Diagnostic:
    cols = ls.columns(snap)
    related = [
        lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=rel.path or snap.uri, range=cols.range(rel.range)),
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
    return [to_lsp(ls, snap, d) for d in snap.analysis.diagnostics]


#: Source files larger than this are not read to place a diagnostic.
_MAX_SOURCE_BYTES = 16 * 1024 * 1024


def _line_extent(snap: Snapshot, path: Path, line: int) -> tuple[int, int] | None:
    """First non-blank column and length of 0-based ``line`` of a source file.

    Read only when the path is a regular file of bounded size (never a FIFO or
    a device), and only from the worker thread (``Publisher.prepare``).
    """
    text = read_source(snap.mapper, path, _MAX_SOURCE_BYTES)
    if text is None:
        return None
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    row = lines[line]
    return len(row) - len(row.lstrip()), len(row)


def _merge(into: dict[str, list[lsp.Diagnostic]], more: dict[str, list[lsp.Diagnostic]]) -> None:
    for uri, diags in more.items():
        into.setdefault(uri, []).extend(diags)


def source_diagnostics(ls: KdlensServer, snap: Snapshot) -> dict[str, list[lsp.Diagnostic]]:
    """Everything the log says about workspace source files, by file uri."""
    out: dict[str, list[lsp.Diagnostic]] = {}
    _merge(out, leak_source_diagnostics(ls, snap))
    _merge(out, crash_source_diagnostics(ls, snap))
    return out


def leak_source_diagnostics(ls: KdlensServer, snap: Snapshot) -> dict[str, list[lsp.Diagnostic]]:
    """Leaks of every kind on the line that allocated them: one diagnostic per source line.

    The grouping and the words are ``features.leaks.source_sites``/``site_message``;
    this only reads the line's extent (worker thread) and converts.
    """
    log_name = unquote(snap.uri.rsplit("/", 1)[-1])
    cols = ls.columns(snap)
    out: dict[str, list[lsp.Diagnostic]] = {}

    def locate(build_path: str) -> Path | None:
        return snap.local_source(build_path)[0]

    for site in source_sites(snap.analysis.leak_records, locate):
        line = site.line - 1
        extent = _line_extent(snap, site.path, line)
        if extent is None:
            continue
        start, end = extent
        uri = site.path.resolve().as_uri()
        out.setdefault(uri, []).append(
            lsp.Diagnostic(
                range=lsp.Range(
                    start=lsp.Position(line=line, character=start),
                    end=lsp.Position(line=line, character=end),
                ),
                severity=lsp.DiagnosticSeverity.Warning,
                code=site.code,
                source="kdlens",
                message=site_message(site, log_name),
                related_information=[
                    lsp.DiagnosticRelatedInformation(
                        location=lsp.Location(uri=snap.uri, range=cols.range(rec.range)),
                        message=record_label(rec),
                    )
                    for rec in site.records
                ],
                data={"fingerprints": [rec.fingerprint for rec in site.records]},
            )
        )
    return out


def crash_source_diagnostics(ls: KdlensServer, snap: Snapshot) -> dict[str, list[lsp.Diagnostic]]:
    """Each stop's faulting line (an error) and the user's other lines on its stack
    (information), on the workspace source files (``features.crash.source_findings``)."""
    log_name = snap.uri.rsplit("/", 1)[-1]
    cols = ls.columns(snap)
    out: dict[str, list[lsp.Diagnostic]] = {}
    for finding in source_findings(snap.analysis, log_name):
        local, _why = snap.local_source(finding.path)
        if local is None:
            continue
        line = finding.line - 1
        extent = _line_extent(snap, local, line)
        if extent is None:
            continue
        start, end = extent
        out.setdefault(local.resolve().as_uri(), []).append(
            lsp.Diagnostic(
                range=lsp.Range(
                    start=lsp.Position(line=line, character=start),
                    end=lsp.Position(line=line, character=end),
                ),
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
        )
    return out


class Publisher:
    """Publishes each new snapshot's diagnostics; remembers what it put on source files."""

    def __init__(self, ls: KdlensServer) -> None:
        self.ls = ls
        #: log uri -> source file uri -> diagnostics published there for that log
        self.on_sources: dict[str, dict[str, list[lsp.Diagnostic]]] = {}
        #: log uri -> (snapshot id, its source diagnostics), computed in the worker thread;
        #: a newer version of the same log replaces an older one never published
        self._prepared: dict[str, tuple[int, dict[str, list[lsp.Diagnostic]]]] = {}

    def prepare(self, snap: Snapshot) -> None:
        """Read the source lines the diagnostics point at (worker thread: it opens files)."""
        self._prepared[snap.uri] = (id(snap), source_diagnostics(self.ls, snap))

    def publish(self, snap: Snapshot) -> None:
        ls = self.ls
        try:
            diags = log_diagnostics(ls, snap)
        except Exception:
            ls.log_error(f"diagnostics failed for {snap.uri}:\n{traceback.format_exc()}")
            diags = []
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=snap.uri, diagnostics=diags, version=snap.version)
        )
        prepared = self._prepared.get(snap.uri)
        per_file = prepared[1] if prepared is not None and prepared[0] == id(snap) else {}
        if prepared is not None and prepared[0] == id(snap):
            del self._prepared[snap.uri]
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
