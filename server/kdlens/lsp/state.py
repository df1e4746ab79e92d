"""Per-document analysis snapshots, computed off the event loop.

A ``Snapshot`` is everything the features need to answer a request about
one version of one log: the lines, the model, the analysis and the token
index. It is built in a worker thread and never changed afterwards, so
requests can read it while the next version is being analysed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis import Analysis, analyze
from ..analysis.resolve import SymbolSource
from ..index import TokenIndex, build_index
from ..parse import parse_document
from ..sources import SourceMapper
from ..text import Document
from .config import ServerSettings


@dataclass(slots=True)
class Snapshot:
    uri: str
    version: int | None
    doc: Document
    analysis: Analysis
    index: TokenIndex
    mapper: SourceMapper
    #: build path -> local file (or None with the reason), filled lazily
    mapped: dict[str, tuple[Path | None, str]] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return self.doc.raw

    def local_source(self, build_path: str) -> tuple[Path | None, str]:
        """The workspace file for a build path, cached per snapshot."""
        hit = self.mapped.get(build_path)
        if hit is None:
            m, why = self.mapper.explain(build_path)
            hit = (m.path if m else None, why)
            self.mapped[build_path] = hit
        return hit


def uri_to_path(uri: str) -> Path | None:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if len(path) > 2 and path[0] == "/" and path[2] == ":":  # /c:/x on Windows
        path = path[1:]
    return Path(path)


def make_mapper(settings: ServerSettings, folders: Sequence[Path]) -> SourceMapper:
    """The workspace's mapper; logs opened outside any folder get their own folder as root."""
    return SourceMapper.create(
        folders,
        source_map=settings.source_map,
        trusted_unc_hosts=settings.trusted_unc_hosts,
    )


def compute(
    uri: str,
    version: int | None,
    text: str,
    settings: ServerSettings,
    mapper: SourceMapper,
    symbols: SymbolSource | None = None,
) -> Snapshot:
    """Parse, analyse and index one version of a log (runs in a worker thread)."""
    doc = Document(text)
    session = parse_document(doc)
    analysis = analyze(session, settings.analysis(), symbols=symbols)
    index = build_index(analysis)
    srcpath = [
        p for s in session.paths if s.kind == "source" for p in s.value.split(";") if p.strip()
    ]
    if not mapper.roots:
        log_path = uri_to_path(uri)
        if log_path is not None:
            mapper = SourceMapper.create(
                [log_path.parent],
                source_map=settings.source_map,
                trusted_unc_hosts=settings.trusted_unc_hosts,
            )
    return Snapshot(
        uri=uri,
        version=version,
        doc=doc,
        analysis=analysis,
        index=index,
        mapper=mapper.with_srcpath(srcpath),
    )
