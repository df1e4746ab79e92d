"""One bug check, however many times the log prints it.

The same crash shows up as the ``*** Fatal System Error`` banner, in the short
``BugCheck C4, {...}`` summary and in ``!analyze -v``. They are merged into one
``BugCheckCase`` so it is reported once, on its most informative occurrence,
with the others as related places.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import BugCheck, BugCheckSource, Range, Session
from ..numbers import canonical_address

#: Which occurrence speaks best for the case (lower is better).
_RANK = {
    BugCheckSource.ANALYZE: 0,
    BugCheckSource.ANALYZE_KEYS: 1,
    BugCheckSource.FATAL_ERROR: 2,
    BugCheckSource.ANALYZE_SUMMARY: 3,
    BugCheckSource.DOT_BUGCHECK: 4,
    BugCheckSource.ARGUMENTS: 5,
}

_DRIVER_FIELDS = ("IMAGE_NAME", "MODULE_NAME", "FAULTING_MODULE")


@dataclass(slots=True)
class BugCheckCase:
    code: int
    args: list[int | None]
    occurrences: list[BugCheck] = field(default_factory=list)

    @property
    def primary(self) -> BugCheck:
        return min(
            self.occurrences,
            key=lambda b: (_RANK.get(b.source, 9), 0 if b.args else 1, b.range.start.line),
        )

    @property
    def name(self) -> str | None:
        for b in self.occurrences:
            if b.name:
                return b.name
        return None

    @property
    def range(self) -> Range:
        return self.primary.range

    def arg(self, index: int) -> int | None:
        return self.args[index - 1] if 1 <= index <= 4 else None

    def driver_names(self) -> list[str]:
        """Driver images the occurrences blame (``IMAGE_NAME``, ``Probably caused by``...)."""
        names: list[str] = []
        for b in self.occurrences:
            for key in _DRIVER_FIELDS:
                f = b.field(key)
                if f and f.value.strip():
                    names.append(f.value.strip().split()[0])
            if b.probably_caused_by:
                names.append(b.probably_caused_by.strip().split()[0])
        return names


def _args_of(b: BugCheck) -> list[int | None]:
    out: list[int | None] = [None, None, None, None]
    for a in b.args:
        if 1 <= a.index <= 4:
            out[a.index - 1] = canonical_address(a.value.value)
    return out


def _compatible(a: list[int | None], b: list[int | None]) -> bool:
    return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))


def merge_bugchecks(session: Session) -> list[BugCheckCase]:
    """Group the session's bug check occurrences into cases, in order of first appearance."""
    cases: list[BugCheckCase] = []
    for b in sorted(session.bugchecks, key=lambda x: (x.range.start.line, x.range.start.character)):
        args = _args_of(b)
        for case in reversed(cases):
            if case.code == b.code and _compatible(case.args, args):
                case.occurrences.append(b)
                case.args = [
                    x if x is not None else y for x, y in zip(case.args, args, strict=True)
                ]
                break
        else:
            cases.append(BugCheckCase(code=b.code, args=args, occurrences=[b]))
    return cases
