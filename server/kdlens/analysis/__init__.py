"""Analysis of a parsed session: bug checks, leaks, evidence links, diagnostics.

``analyze`` is the one entry point the CLI and the language server share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..gcpause import paused_gc
from ..model import Session, Stack
from .bugchecks import BugCheckCase, merge_bugchecks
from .diagnostics import Code, Diagnostic, Related, Severity
from .evidence import Evidence, Origin, SourceLocation, gather
from .findings import (
    bugcheck_diagnostics,
    cross_check_diagnostics,
    leak_diagnostics,
    sort_key,
    triage_diagnostics,
)
from .frames import FrameKind, FrameKindCache
from .leaks import CallSiteGroup, Leak, find_leaks, group_by_call_site
from .resolve import LogResolver, Resolver, ResolverChain, SessionResolver, SymbolSource
from .settings import AnalysisSettings
from .symbol_doctor import doctor_diagnostics
from .triage import Triage, build_triage, fault_addresses
from .usermode_leaks import (
    LeakKind,
    LeakRecord,
    PoolGrowth,
    cross_checks,
    find_all_leaks,
    leak_record_diagnostics,
    pool_growth,
    pool_growth_diagnostics,
    summarize,
)


@dataclass(slots=True)
class Analysis:
    session: Session
    settings: AnalysisSettings
    evidence: Evidence
    resolver: Resolver
    cases: list[BugCheckCase] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    groups: list[CallSiteGroup] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: The per-session symbol-file resolver, when a symbol path is configured.
    symbol_files: SessionResolver | None = None
    #: One crash-triage record per stop (bug check, exception, verifier stop).
    triage: list[Triage] = field(default_factory=list)
    _frame_kinds: FrameKindCache = field(default_factory=FrameKindCache)

    def frame_kinds(self, stack: Stack) -> list[FrameKind]:
        """Per frame of ``stack``: exact (faulting / current) or a return address (look up -1)."""
        return self._frame_kinds.kinds(stack)

    #: Every leak of every kind (pool-table rows included), in log order.
    leak_records: list[LeakRecord] = field(default_factory=list)
    #: Pool tags that grew between two ``!poolused`` snapshots.
    pool_growth: list[PoolGrowth] = field(default_factory=list)

    @property
    def leak_summary(self) -> str:
        """``12 leaks: 8 heap blocks (unreachable), 3 handles, 1 pool block · 2 call sites``."""
        return summarize(self.leak_records)

    def symbol_status(self, module: str) -> str | None:
        """What became of ``module``'s symbol file, in a sentence (for hovers)."""
        return self.symbol_files.status_text(module) if self.symbol_files is not None else None


def analyze(
    session: Session,
    settings: AnalysisSettings | None = None,
    resolvers: Sequence[Resolver] = (),
    symbols: SymbolSource | None = None,
    is_workspace_source: Callable[[SourceLocation], bool] | None = None,
) -> Analysis:
    """Analyse ``session``.

    The log's own evidence answers first; then ``resolvers``, then the
    resolver ``symbols`` builds for this session (symbol files).
    ``is_workspace_source`` (the front end's source mapping) says whether a
    source line is in the user's workspace: crash triage then counts a
    module as the user's by its sources only when they are there.
    """
    with paused_gc():
        return _analyze(
            session, settings or AnalysisSettings(), resolvers, symbols, is_workspace_source
        )


def _analyze(
    session: Session,
    settings: AnalysisSettings,
    resolvers: Sequence[Resolver],
    symbols: SymbolSource | None,
    is_workspace_source: Callable[[SourceLocation], bool] | None = None,
) -> Analysis:
    evidence = gather(session)
    chain: list[Resolver] = [LogResolver(evidence), *resolvers]
    symbol_diagnostics: list[Diagnostic] = []
    sym_resolver: SessionResolver | None = None
    if symbols is not None:
        sym_resolver, symbol_diagnostics = symbols.for_session(session, evidence)
        chain.append(sym_resolver)
    resolver = ResolverChain(chain, session.faults)
    cases = merge_bugchecks(session)
    leaks = find_leaks(session, cases, evidence, resolver, settings)
    triage = build_triage(session, cases, evidence, resolver, settings, is_workspace_source)
    records = find_all_leaks(session, cases, evidence, resolver, settings, leaks)
    growth = pool_growth(session)
    diagnostics = [
        *bugcheck_diagnostics(cases, leaks, triage),
        *triage_diagnostics(triage),
        *leak_diagnostics(leaks),
        *cross_check_diagnostics(leaks),
        *leak_record_diagnostics(records),
        *cross_checks(session),
        *pool_growth_diagnostics(growth),
        *symbol_diagnostics,
        *doctor_diagnostics(session, sym_resolver),
    ]
    diagnostics.sort(key=sort_key)
    return Analysis(
        session=session,
        settings=settings,
        evidence=evidence,
        resolver=resolver,
        cases=cases,
        leaks=leaks,
        groups=group_by_call_site(leaks),
        diagnostics=diagnostics,
        symbol_files=sym_resolver,
        triage=triage,
        _frame_kinds=FrameKindCache(fault_addresses(triage)),
        leak_records=records,
        pool_growth=growth,
    )


__all__ = [
    "Analysis",
    "AnalysisSettings",
    "BugCheckCase",
    "CallSiteGroup",
    "Code",
    "Diagnostic",
    "Evidence",
    "FrameKind",
    "Leak",
    "LeakKind",
    "LeakRecord",
    "Origin",
    "Related",
    "Resolver",
    "SessionResolver",
    "Severity",
    "SourceLocation",
    "SymbolSource",
    "Triage",
    "analyze",
]
