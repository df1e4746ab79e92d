"""Short annotations drawn next to the log text: inlay hints and code lenses.

The debugger prints sizes in hex, callers as addresses and option sets as
bit masks; a reader wants bytes in decimal, the source line and the option
names. Inlay hints put those right after the value they explain. Each leak
table also gets a lens above its column header that sums it up, because
"how much leaked, from how many places" is the first question a leak
report raises.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from .. import knowledge
from ..analysis import Analysis, Origin, SourceLocation
from ..analysis.leaks import BUGCHECK_VERIFIER, C4_LEAK_AT_UNLOAD, Leak
from ..analysis.usermode_leaks import (
    LeakOrigin,
    LeakRecord,
    leak_message,
    summarize,
)
from ..index import Kind, Token, TokenIndex
from ..model import BugCheck, BugCheckArg, PoolAllocationTable, Position, Range, VerifierFlags
from .actions import verifier_log_command
from .crash import reported, user_frames_summary

#: Values below this read the same in hex and decimal; a hint would only repeat them.
MIN_DECIMAL_HINT = 10
#: Option names spelled out in a mask hint before the rest is elided.
MASK_NAMES_SHOWN = 2


class HintKind(str, Enum):
    SIZE = "size"  # decimal bytes after a hex size
    COUNT = "count"  # decimal value after a hex counter
    SOURCE = "source"  # file:line after a leak's caller
    LEAK_COUNT = "leak-count"  # what Arg4 of 0xC4/0x62 counts
    OPTIONS = "options"  # the options a verifier level mask turns on


@dataclass(frozen=True, slots=True)
class Hint:
    position: Position  # drawn right after the value, a space before the label
    label: str
    kind: HintKind
    tooltip: str | None = None


@dataclass(frozen=True, slots=True)
class Lens:
    """A line of text above ``range``; choosing it copies ``text``."""

    range: Range
    title: str
    text: str


# --------------------------------------------------------------------------- inlay hints


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _printed(lines: Sequence[str], r: Range) -> str:
    if r.start.line != r.end.line or not 0 <= r.start.line < len(lines):
        return ""
    return lines[r.start.line][r.start.character : r.end.character]


def _printed_in_hex(text: str, value: int) -> bool:
    """True unless ``text`` is a plain decimal spelling of ``value`` (``!poolused`` style)."""
    t = text.strip().lower().replace("`", "")
    if t.startswith("0x"):
        return True
    try:
        return int(t, 10) != value
    except ValueError:
        return True


def _tokens(index: TokenIndex, rng: Range, line_count: int) -> Iterator[Token]:
    """The tokens inside ``rng``, which is first cut to the document's lines.

    An editor may ask for lines up to 2**31-1 (or start after it ends); the
    work is the tokens that exist there, not the lines that were asked for.
    """
    first = max(rng.start.line, 0)
    last = min(rng.end.line, line_count - 1)
    for tok in index.in_lines(first, last):
        if rng.contains(tok.range.start) and rng.contains(tok.range.end):
            yield tok


def _how(src: SourceLocation) -> str:
    where = (
        f" on line {src.evidence.start.line + 1} of this log" if src.evidence is not None else ""
    )
    if src.origin is Origin.LN:
        how = f"Resolved from `ln` output{where}."
    elif src.origin is Origin.ANNOTATION:
        how = f"Resolved from a `[file @ line]` stack annotation{where}."
    else:
        how = "Resolved from the driver's symbol file."
    if src.note:
        how += f" {src.note}"
    return how


def source_hint(leak: Leak, at: Position) -> Hint | None:
    src = leak.source
    if src is None:
        return None
    lines = [f"{src.path}, line {src.line}"]
    if src.function:
        lines.append(f"in {src.function}")
    if src.inline_chain:
        lines.append("inlined: " + " → ".join(src.inline_chain))
    lines.append(_how(src))
    return Hint(at, f"→ {src.short}", HintKind.SOURCE, "\n".join(lines))


def _caller_token(tok: Token, leak: Leak) -> bool:
    """The token a leak row's source hint follows: the caller symbol, else the caller address."""
    row = leak.allocation
    if row.caller_symbol is not None:
        return tok.kind is Kind.SYMBOL and tok.range == row.caller_symbol.range
    return row.caller is not None and tok.kind is Kind.ADDRESS and tok.range == row.caller.range


def _is_leak_bugcheck(bc: BugCheck) -> bool:
    arg1 = bc.arg(1)
    return (
        bc.code == BUGCHECK_VERIFIER and arg1 is not None and arg1.value.value == C4_LEAK_AT_UNLOAD
    )


def options_hint(flags: VerifierFlags, at: Position) -> Hint | None:
    """``10 options: Special pool, Force IRQL checking, …`` for a level mask."""
    if flags.level is None:
        return None
    mask = flags.level.value
    # Missing or malformed knowledge tables cost this one hint, not every hint of the request.
    try:
        infos = knowledge.decode_mask(mask)
        unknown = knowledge.unknown_bits(mask)
    except (OSError, ValueError):
        return None
    if not infos and not unknown:
        return None

    def wording(info: knowledge.FlagInfo) -> str:
        if flags.legacy and info.legacy_name:
            return info.legacy_name
        return info.ext_name or info.name

    named = [(i.value, wording(i)) for i in infos]
    shown = [n for v, n in named if v != 0][:MASK_NAMES_SHOWN]
    rest = len(shown) < len(named) or unknown
    label = _plural(len(named), "option")
    if shown:
        label += ": " + ", ".join(shown) + (", …" if rest else "")
    tip = [f"Verifier options set in 0x{mask:x}:"]
    tip.extend(f"0x{v:08x}  {n}" if v else f"(always)    {n}" for v, n in named)
    if unknown:
        tip.append(f"unknown bits: 0x{unknown:x}")
    return Hint(at, label, HintKind.OPTIONS, "\n".join(tip))


def inlay_hints(
    analysis: Analysis, index: TokenIndex, lines: Sequence[str], rng: Range
) -> list[Hint]:
    """Hints for the tokens that lie inside ``rng``, in text order."""
    out: list[Hint] = []
    seen: set[tuple[Position, str]] = set()
    for tok in _tokens(index, rng, len(lines)):
        at = tok.range.end
        hint: Hint | None = None
        if tok.kind in (Kind.SIZE, Kind.COUNT) and isinstance(tok.value, int):
            v = tok.value
            if v >= MIN_DECIMAL_HINT and _printed_in_hex(_printed(lines, tok.range), v):
                if tok.kind is Kind.SIZE:
                    hint = Hint(at, f"{v:,} B", HintKind.SIZE, f"0x{v:x} = {_plural(v, 'byte')}")
                else:
                    hint = Hint(at, f"{v:,}", HintKind.COUNT)
        elif tok.kind is Kind.MASK and isinstance(tok.value, VerifierFlags):
            hint = options_hint(tok.value, at)
        elif tok.kind is Kind.ARG and isinstance(tok.value, BugCheckArg):
            arg, bc = tok.value, tok.bugcheck
            if (
                arg.index == 4
                and tok.range == arg.value.range
                and bc is not None
                and _is_leak_bugcheck(bc)
            ):
                n = arg.value.value
                hint = Hint(
                    at,
                    _plural(n, "leaked allocation"),
                    HintKind.LEAK_COUNT,
                    "Pool allocations the driver had not freed when it unloaded (paged and nonpaged).",
                )
        elif isinstance(tok.owner, Leak) and _caller_token(tok, tok.owner):
            hint = source_hint(tok.owner, at)
        # A value can be indexed twice (an argument's label and value share a range in
        # ``.bugcheck``-style tuples); it gets one hint.
        if hint is not None and (hint.position, hint.label) not in seen:
            seen.add((hint.position, hint.label))
            out.append(hint)
    out.sort(key=lambda h: h.position)
    return out


# --------------------------------------------------------------------------- code lenses


def _leak_line(leak: Leak) -> str:
    where = leak.source.short if leak.source is not None else "source unknown"
    return f"0x{leak.address:x}  0x{leak.size:x} ({leak.size:,} B)  {leak.tag}  {leak.call_site_label}  {where}"


def _tables(leaks: Sequence[Leak]) -> list[tuple[PoolAllocationTable, list[Leak]]]:
    seen: dict[int, tuple[PoolAllocationTable, list[Leak]]] = {}
    for leak in leaks:
        seen.setdefault(id(leak.table), (leak.table, []))[1].append(leak)
    return list(seen.values())


def stack_lenses(analysis: Analysis) -> list[Lens]:
    """Over the stack of each stop: how many frames are the user's (``3 of 14 frames are
    yours: MyDriver``); choosing it copies the user's frames with their source lines."""
    out: list[Lens] = []
    for t in analysis.triage:
        if t.stack is None or not t.frames or not reported(t):
            continue
        n, mods = user_frames_summary(t.frames)
        total = len(t.frames)
        names = t.user_modules or mods
        if n:
            title = (
                f"{n} of {_plural(total, 'frame')} {'is' if n == 1 else 'are'} yours: "
                + ", ".join(names)
            )
        else:
            title = f"none of the {_plural(total, 'frame')} is yours (kdlens.myModules names your modules)"
        rows = [t.title]
        for f in t.frames:
            if f.user:
                where = f"  {f.source.short}" if f.source is not None else ""
                rows.append(f"#{f.index:02d} {f.label}{where}")
        start = t.stack.range.start
        out.append(Lens(Range(start, start), title, "\n".join(rows)))
    return out


def lenses(analysis: Analysis) -> list[Lens]:
    """A summary lens over each table of leaks; a second one when some leaks lack a stack;
    one over each stop's stack (``stack_lenses``)."""
    out: list[Lens] = []
    for table, leaks in _tables(analysis.leaks):
        total = sum(leak.size for leak in leaks)
        sites = len({leak.group_key for leak in leaks})
        title = " · ".join(
            (_plural(len(leaks), "leak"), _plural(total, "byte"), _plural(sites, "call site"))
        )
        driver = leaks[0].driver.name
        summary = [f"{driver}: {title.replace(' · ', ', ')}", *(_leak_line(leak) for leak in leaks)]
        out.append(Lens(table.header_range, title, "\n".join(summary)))
        missing = [verifier_log_command(leak) for leak in leaks if not leak.history]
        if missing:
            if len(missing) == 1:
                label = f"Copy `{missing[0]}` (no allocation history)"
            else:
                label = (
                    f"Copy `!verifier 0x80` for the {len(missing)} leaks without allocation history"
                )
            out.append(Lens(table.header_range, label, "; ".join(missing)))
    out.extend(leak_lenses(analysis))
    out.extend(stack_lenses(analysis))
    return out


# --------------------------------------------------------------------------- lenses: every leak kind


def _record_lines(records: Sequence[LeakRecord]) -> list[str]:
    return [f"line {r.range.start.line + 1}: {leak_message(r)}" for r in records]


def _section_lens(at: Range, records: Sequence[LeakRecord], head: str) -> Lens:
    title = summarize(records)
    return Lens(at, title, "\n".join([f"{head}: {title}", *_record_lines(records)]))


def _within(records: Sequence[LeakRecord], rng: Range) -> list[LeakRecord]:
    return [r for r in records if rng.covers(r.range)]


def _umdh_sections(analysis: Analysis) -> list[list[LeakRecord]]:
    """UMDH growth records, one list per comparison (each closed by its total line)."""
    recs = [r for r in analysis.leak_records if r.origin is LeakOrigin.UMDH]
    ends = sorted(t.range.start.line for t in analysis.session.umdh_totals)
    sections: dict[int, list[LeakRecord]] = {}
    for r in recs:
        line = r.range.start.line
        end = next((e for e in ends if e > line), -1)
        sections.setdefault(end, []).append(r)
    return list(sections.values())


def _growth_lenses(analysis: Analysis) -> list[Lens]:
    out: list[Lens] = []
    for snap in analysis.session.poolused_snapshots:
        grew = [g for g in analysis.pool_growth if snap.range.covers(g.after.range)]
        if not grew:
            continue
        since = grew[0].before.range.start.line + 1
        names = ", ".join(
            f"{g.tag.rstrip()} +{_plural(g.allocations, 'allocation')}" for g in grew[:3]
        )
        more = f", … {len(grew) - 3} more" if len(grew) > 3 else ""
        title = f"{_plural(len(grew), 'pool tag')} grew since line {since}: {names}{more}"
        text = [
            f"{g.tag.rstrip()}: +{_plural(g.allocations, 'allocation')}, +{_plural(g.bytes, 'byte')} "
            f"(line {g.before.range.start.line + 1} to line {g.after.range.start.line + 1})"
            for g in grew
        ]
        out.append(Lens(snap.header_range, title, "\n".join(text)))
    return out


def leak_lenses(analysis: Analysis) -> list[Lens]:
    """A lens at the top of the log summing up every leak, then one over each section.

    Sections: ``!heap -l`` tables, ``!htrace -diff`` reports, UMDH comparisons,
    CRT dumps, Application Verifier XML logs and ``!poolused`` snapshots that
    grew (Driver Verifier's tables have their own lenses above).
    """
    records = analysis.leak_records
    out: list[Lens] = []
    if records:
        top = Range.on_line(0, 0, 0)
        out.append(_section_lens(top, records, "This log"))
    session = analysis.session
    for scan in session.heap_leak_scans:
        recs = _within(records, scan.range)
        if recs:
            at = scan.header_range if scan.header_range is not None else scan.range
            out.append(_section_lens(at, recs, "!heap -l"))
    for report in session.handle_traces:
        recs = _within(records, report.range)
        if recs:
            out.append(_section_lens(report.range, recs, "!htrace -diff"))
    for section in _umdh_sections(analysis):
        out.append(_section_lens(section[0].range, section, "UMDH comparison"))
    for crt in session.crt_leaks:
        recs = _within(records, crt.range)
        if recs:
            at = crt.header_range if crt.header_range is not None else crt.range
            out.append(_section_lens(at, recs, "CRT leak dump"))
    xml = [r for r in records if r.origin is LeakOrigin.APPVERIF_LOG]
    if xml and session.appverif_entries:
        out.append(
            _section_lens(session.appverif_entries[0].range, xml, "Application Verifier log")
        )
    out.extend(_growth_lenses(analysis))
    return out
