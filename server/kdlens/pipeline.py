"""From a log's text and the user's settings to an analysed snapshot: the one way both
``kdlens check`` and the language server read a log.

``build_snapshot`` parses, analyses, indexes and prepares the source mapping
(with the log's own ``.srcpath``). ``SymbolFilesCache`` keeps one symbol-file
source alive for as long as the symbol settings stay the same, so its table
cache makes the next analysis of any log cheap.

A ``Snapshot`` is never changed once built. Its lazy parts (the token index's
chunks, pool-log frames, the per-snapshot source-mapping memo) only ever fill in
values that are a pure function of the immutable text and settings, so two
threads racing to fill one compute the same answer and either may win.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .analysis import Analysis, SourceLocation, SymbolSource, analyze
from .faults import FaultLog
from .gcpause import paused_gc
from .index import TokenIndex, build_index
from .knowledge.user_tags import UserPoolTags, parse_pool_tags
from .parse import looks_like_appverif_xml as looks_like_appverif_xml  # for the server
from .parse import parse_document
from .settings import Settings
from .sources import SourceMapper
from .symbols.resolver import SymbolFiles
from .symbols.symsrv import DownloadEvent as DownloadEvent  # re-exported for cli and lsp
from .symbols.symsrv import Listener
from .text import Document, decode
from .workspace_io import PathPolicy, read_regular_file

#: The largest pooltag.txt read (the Debugging Tools' own copy is well under a megabyte).
POOL_TAG_FILE_MAX_BYTES = 4 * 1024 * 1024


@dataclass(slots=True)
class Snapshot:
    """Everything the features need to answer about one version of one log."""

    uri: str
    version: int | None
    doc: Document
    analysis: Analysis
    index: TokenIndex
    mapper: SourceMapper
    #: build path -> local file (or None with the reason), filled lazily
    mapped: dict[str, tuple[Path | None, str]] = field(default_factory=dict)
    #: The user's pooltag.txt (``poolTagFile``), None when not configured.
    pool_tags: UserPoolTags | None = None

    @property
    def lines(self) -> list[str]:
        return self.doc.raw

    @property
    def faults(self) -> FaultLog:
        return self.analysis.session.faults

    def local_source(self, build_path: str) -> tuple[Path | None, str]:
        """The workspace file for a build path, cached per snapshot."""
        hit = self.mapped.get(build_path)
        if hit is None:
            m, why = self.mapper.explain(build_path)
            hit = (m.path if m else None, why)
            self.mapped[build_path] = hit
        return hit


def make_mapper(settings: Settings, roots: Sequence[Path]) -> SourceMapper:
    """Build paths to files under ``roots`` and the folders the settings name."""
    return SourceMapper.create(
        roots, source_map=settings.source_map, trusted_unc_hosts=settings.trusted_unc_hosts
    )


def build_snapshot(
    doc: Document,
    settings: Settings,
    mapper: SourceMapper,
    *,
    uri: str,
    version: int | None = None,
    log_path: Path | None = None,
    symbols: SymbolSource | None = None,
) -> Snapshot:
    """Parse, analyse and index ``doc`` (the editor calls this in a worker thread).

    A log opened outside every workspace root gets its own folder as the root
    for source files. The cyclic collector is paused meanwhile: a big log
    makes millions of small acyclic records, and its passes over them would
    cost as much as the parsing.
    """
    mapped: dict[str, tuple[Path | None, str]] = {}
    with paused_gc():
        session = parse_document(doc)
        srcpath = [
            p for s in session.paths if s.kind == "source" for p in s.value.split(";") if p.strip()
        ]
        if not mapper.roots and log_path is not None:
            mapper = make_mapper(settings, [log_path.parent])
        mapper = mapper.with_srcpath(srcpath)
        analysis = analyze(
            session,
            settings.analysis(),
            symbols=symbols,
            is_workspace_source=_in_workspace(mapper, mapped),
        )
        index = build_index(analysis)
    return Snapshot(
        uri=uri,
        version=version,
        doc=doc,
        analysis=analysis,
        index=index,
        mapper=mapper,
        mapped=mapped,
        pool_tags=load_pool_tags(settings, mapper.roots[0] if mapper.roots else None),
    )


def _in_workspace(
    mapper: SourceMapper, mapped: dict[str, tuple[Path | None, str]]
) -> Callable[[SourceLocation], bool]:
    """Whether a source line maps to a local file; the answers seed the snapshot's memo."""

    def check(src: SourceLocation) -> bool:
        hit = mapped.get(src.path)
        if hit is None:
            m, why = mapper.explain(src.path)
            hit = (m.path if m else None, why)
            mapped[src.path] = hit
        return hit[0] is not None

    return check


def document_symbols(symbols: SymbolSource | None, uri: str) -> SymbolSource | None:
    """``symbols`` as seen by the document ``uri``: the downloads it starts belong to it.

    When the document changes and its next analysis no longer wants a file,
    or when it closes (``release_document``), a download only it wanted is
    cancelled.
    """
    if isinstance(symbols, SymbolFiles):
        return symbols.for_document(uri)
    return symbols


def release_document(symbols: SymbolSource | None, uri: str) -> None:
    """The document ``uri`` closed: cancel the downloads only it wanted."""
    if isinstance(symbols, SymbolFiles):
        symbols.release(uri)


class _PoolTagMemo:
    """The last pooltag.txt read and its table: parsed again only when its bytes change.

    One tuple, replaced whole, so a reader never pairs one file's key with
    another's table.
    """

    def __init__(self) -> None:
        self.entry: tuple[tuple[str, bytes], UserPoolTags] | None = None


_POOL_TAGS = _PoolTagMemo()


def load_pool_tags(
    settings: Settings, base: Path | None, max_bytes: int = POOL_TAG_FILE_MAX_BYTES
) -> UserPoolTags | None:
    """The table of ``settings.pool_tag_file`` (None when unset; ``.error`` when unreadable).

    Read through ``workspace_io`` (a regular file of bounded size, never a FIFO
    or a device); called from the worker thread, never on the event loop. A
    relative path is taken from ``base`` (the first workspace folder).
    """
    configured = settings.pool_tag_file
    if not configured:
        return None
    path = Path(configured).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    # The user's own setting, judged like their other folders: never a device,
    # and a network path only on a host they trust.
    policy = PathPolicy([path.parent], settings.trusted_unc_hosts)
    try:
        data = read_regular_file(path, max_bytes, policy)
    except OSError as exc:
        return UserPoolTags(configured, error=str(exc) or type(exc).__name__)
    key = (str(path), data)
    entry = _POOL_TAGS.entry
    if entry is not None and entry[0] == key:
        return entry[1]
    table = parse_pool_tags(decode(data).text, configured)
    _POOL_TAGS.entry = (key, table)
    return table


class SymbolFilesCache:
    """The symbol-file source for the current settings, rebuilt only when they change.

    ``source`` returns the messages about the symbol path (skipped servers,
    refused folders) only when it builds a new source, so they are shown once.
    ``listener`` hears about downloads from trusted symbol servers (the
    language server's progress and re-analysis); ``wait_for_downloads`` makes
    an analysis wait for them instead (``kdlens check``).
    """

    def __init__(self, listener: Listener | None = None, wait_for_downloads: bool = False) -> None:
        self._current: SymbolFiles | None = None
        self.listener = listener
        self.wait_for_downloads = wait_for_downloads

    def source(
        self, settings: Settings, base_dir: Path | None
    ) -> tuple[SymbolFiles | None, list[str]]:
        if not settings.symbol_path:
            self._drop()
            return None, []
        config = (
            settings.symbol_path,
            settings.trusted_unc_hosts,
            base_dir,
            settings.trusted_symbol_servers,
            settings.symbol_server_auth,
            settings.http_proxy,
        )
        if self._current is not None and self._current.config == config:
            return self._current, []
        self._drop()
        self._current = SymbolFiles(
            settings.symbol_path,
            trusted_unc_hosts=settings.trusted_unc_hosts,
            base_dir=base_dir,
            trusted_servers=settings.trusted_symbol_servers,
            server_auth=settings.symbol_server_auth,
            http_proxy=settings.http_proxy,
            wait_for_downloads=self.wait_for_downloads,
            listener=self.listener,
        )
        return self._current, list(self._current.messages)

    def _drop(self) -> None:
        """Forget the current source, cancelling its downloads (the settings changed)."""
        if self._current is not None and self._current.downloads is not None:
            self._current.downloads.cancel_all()
        self._current = None
