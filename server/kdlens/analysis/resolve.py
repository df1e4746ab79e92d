"""The resolver chain: from an address or ``Module!Function+0xoff`` to a source line.

Each link answers from one kind of evidence. The log's own facts come first
(``ln`` output, ``[file @ line]`` annotations); symbol files plug in behind the
same interface. The first link that answers wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..faults import FaultLog
from ..model import Session, SymbolRef
from .diagnostics import Diagnostic
from .evidence import Evidence, SourceLocation


class Resolver(Protocol):
    """Anything that can turn code locations into source lines."""

    def resolve(
        self, address: int | None, symbol: SymbolRef | None, *, return_address: bool = False
    ) -> SourceLocation | None:
        """The source line of ``address`` (or of ``symbol``).

        ``return_address`` says the address is where a call returns to (a
        caller column, a frame's RetAddr): symbol files look it up one byte
        earlier so the answer is the call statement, not the line after it.
        """
        ...


class SessionResolver(Resolver, Protocol):
    """The resolver a ``SymbolSource`` builds for one session."""

    def status_text(self, module: str) -> str | None:
        """What became of ``module``'s symbol file in this session, in a sentence (for hovers)."""
        ...


class SymbolSource(Protocol):
    """A long-lived provider of resolvers (symbol files on a symbol path).

    It keeps what is expensive (loaded symbol files, caches) across analyses
    and builds, for each session, a resolver that knows that session's module
    load addresses. Problems it meets (a symbol file that does not match, an
    inconsistent load address) come back as diagnostics on the log.
    """

    def for_session(
        self, session: Session, evidence: Evidence
    ) -> tuple[SessionResolver, list[Diagnostic]]: ...


class LogResolver:
    """Answers from what the session printed about itself."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence

    def resolve(
        self, address: int | None, symbol: SymbolRef | None, *, return_address: bool = False
    ) -> SourceLocation | None:
        ev = self.evidence
        if address is not None:
            hit = ev.source_for_address(address)
            if hit is not None:
                return hit
        if symbol is not None and symbol.offset is not None:
            return ev.source_for_symbol(symbol)
        return None


class ResolverChain:
    """Asks each resolver in turn.

    A resolver that raises is a bug: it is recorded in ``faults`` and the next
    one is asked, so one broken link costs answers, never the analysis.
    """

    def __init__(self, resolvers: Sequence[Resolver], faults: FaultLog | None = None) -> None:
        self.resolvers = list(resolvers)
        self.faults = faults if faults is not None else FaultLog()

    def resolve(
        self, address: int | None, symbol: SymbolRef | None, *, return_address: bool = False
    ) -> SourceLocation | None:
        for r in self.resolvers:
            try:
                hit = r.resolve(address, symbol, return_address=return_address)
            except Exception as exc:
                self.faults.record(f"resolver {type(r).__name__}", exc)
                continue
            if hit is not None:
                return hit
        return None
