"""Where a module was loaded, when the log has no ``lm`` line for it.

Every place that prints an absolute address together with
``Module!Function+0xNN`` (or ``Module+0xNN``) gives an equation: load base
= address - offset - RVA(Function). ``!verifier 0x80`` frames, ``k`` stacks
(a frame's code address is the RetAddr printed on the row above), ``ln``
queries and caller columns with an offset all count. When they agree, that
is the base; when they disagree, nothing is guessed.

A full ``!verifier 0x80`` dump can hold a million frames, read lazily; only
the first few hundred records are sampled, and a module stops collecting
once it has enough sightings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..analysis.evidence import Evidence
from ..model import Range, Session, SymbolRef
from ..numbers import canonical_address, normalize_module

#: ``!verifier 0x80`` records sampled per session.
MAX_RECORDS = 300
#: Sightings kept per module.
MAX_PER_MODULE = 200


@dataclass(frozen=True, slots=True)
class Sighting:
    """An absolute address printed with a symbol of module ``module`` (normalised)."""

    module: str
    function: str | None
    offset: int
    address: int
    symbol: SymbolRef

    @property
    def range(self) -> Range:
        return self.symbol.range


def gather_sightings(session: Session, evidence: Evidence) -> dict[str, list[Sighting]]:
    """Sightings per normalised module name, in the order the log shows them."""
    out: dict[str, list[Sighting]] = {}

    def add(address: int, sym: SymbolRef) -> None:
        if not sym.module or (sym.function is None and sym.offset is None):
            return
        module = normalize_module(sym.module)
        rows = out.setdefault(module, [])
        if len(rows) < MAX_PER_MODULE:
            rows.append(
                Sighting(module, sym.function, sym.offset or 0, canonical_address(address), sym)
            )

    for address, sym in evidence.address_symbol.items():
        add(address, sym)
    for rec in session.pool_log[:MAX_RECORDS]:
        for fr in rec.stack.frames:
            if fr.address is not None and fr.symbol is not None:
                add(fr.address.value, fr.symbol)
    for rows in out.values():
        rows.sort(key=lambda s: (s.range.start.line, s.range.start.character))
    return out


@dataclass(frozen=True, slots=True)
class BaseVerdict:
    """What the sightings say about one module's load base."""

    base: int | None
    sightings: int  # how many sightings could be used
    #: two sightings that disagree, with the base each implies
    conflict: tuple[tuple[int, Sighting], tuple[int, Sighting]] | None = None


def infer_base(sightings: list[Sighting], rva_of: Callable[[str], int | None]) -> BaseVerdict:
    """The load base all usable sightings agree on.

    ``rva_of(function)`` gives a function's RVA from the symbol file, None
    when it has no such function (that sighting is then left out).
    """
    first: tuple[int, Sighting] | None = None
    used = 0
    for s in sightings:
        if s.function is None:
            rva = s.offset
        else:
            start = rva_of(s.function)
            if start is None:
                continue
            rva = start + s.offset
        base = s.address - rva
        if base < 0:
            continue
        used += 1
        if first is None:
            first = (base, s)
        elif base != first[0]:
            return BaseVerdict(None, used, (first, (base, s)))
    return BaseVerdict(first[0] if first else None, used)
