"""Hovers on pool tags, sizes and counts.

A tag Driver Verifier puts on a driver's behalf (``VMdl``, ``Vfwi``) says
which kernel call made the block; any other tag is the driver's own, and
the hover shows how it is spelled in C (``mdrv`` is ``'vrdm'``) and where
the workspace writes that literal. Finding those places walks the
workspace, so results are kept in a small, short-lived cache.
"""

from __future__ import annotations

from ... import knowledge
from ...analysis.leaks import Leak
from ...knowledge.user_tags import UserTag
from ...model import (
    PoolAllocation,
    PoolBlock,
    PoolLogRecord,
    PoolOp,
    PoolStat,
    PoolUsage,
    VerifiedDriver,
    VerifierStat,
)
from ...sources import SourceMapper
from ..tag_literals import LiteralAnswer, LiteralIndex, LiteralLookup, c_literal
from .format import address, byte_size, code, esc, paragraphs, plural, workspace_path
from .types import HoverContext

#: How many literal places a hover lists.
SHOWN_LITERALS = 5
#: The walk used when the caller gives no index of its own (CLI, tests).
_LITERALS = LiteralIndex()


def tag_literals(
    mapper: SourceMapper, tag: str, literals: LiteralLookup | None = None
) -> LiteralAnswer:
    """The places writing ``tag`` as a C literal, from ``literals`` or a walk made here."""
    return (literals or _LITERALS.lookup_now)(mapper, tag)


def clear_tag_cache() -> None:
    _LITERALS.invalidate()


# --------------------------------------------------------------------------- tags


def block_context(owner: object) -> str | None:
    """One sentence about the block a tag, size or address sits on."""
    if isinstance(owner, Leak):
        where = (
            f" from {code(owner.call_site_label)}"
            if owner.call_site or owner.call_site_address
            else ""
        )
        src = f" ({owner.source.short})" if owner.source is not None else ""
        return (
            f"Leaked block {address(owner.address)} of {code(owner.driver.name)}: "
            f"{byte_size(owner.size)}, tag {code(owner.tag)}, allocated{where}{src}."
        )
    if isinstance(owner, PoolAllocation):
        return (
            f"Pool block {address(owner.address.value)} still held by the driver: "
            f"{byte_size(owner.size.value)}, tag {code(owner.tag)}."
        )
    if isinstance(owner, PoolBlock):
        state = f" ({esc(owner.state)})" if owner.state else ""
        return (
            f"`!pool` block {address(owner.address.value)}{state}: {byte_size(owner.size.value)}."
        )
    if isinstance(owner, PoolUsage):
        return (
            f"`!poolused`: {plural(owner.nonpaged_allocs, 'nonpaged allocation')} "
            f"({owner.nonpaged_bytes:,} bytes), {plural(owner.paged_allocs, 'paged allocation')} "
            f"({owner.paged_bytes:,} bytes)."
        )
    return None


def tag_markdown(ctx: HoverContext, tag: str, owner: object) -> str:
    info = knowledge.pool_tag(tag)
    shown = code(tag)
    user = ctx.pool_tags.lookup(tag) if ctx.pool_tags is not None else None
    parts: list[str | None] = []
    if info is not None and info.verifier:
        call = f" for {code(info.allocator)}" if info.allocator else ""
        parts.append(f"**Pool tag {shown}**: Driver Verifier's tag{call} ({_KDLENS})")
        parts.append(info.meaning)
        if info.allocator and info.release:
            parts.append(f"Made by {code(info.allocator)}; freed by {code(info.release)}.")
    elif info is not None:
        parts.append(f"**Pool tag {shown}**: {esc(info.owner)} ({_KDLENS})")
        parts.append(info.meaning)
        if info.allocator and info.release:
            parts.append(f"Made by {code(info.allocator)}; freed by {code(info.release)}.")
    else:
        note = _log_notes(ctx, tag)
        if user is not None:
            parts.append(f"**Pool tag {shown}**: {esc(user.owner)} ({_user_source(ctx, user)})")
        elif note is not None:
            parts.append(f"**Pool tag {shown}**: {note}")
        else:
            parts.append(f"**Pool tag {shown}**: the driver's own tag")
        parts.extend(_literal_lines(ctx.mapper, tag, ctx.literals))
    parts.append(_owner_sources(ctx, tag, info, user))
    parts.append(block_context(owner))
    return paragraphs(parts)


#: Where a tag's owner came from, as hovers say it.
_KDLENS = "kdlens' table"


def _user_source(ctx: HoverContext, entry: UserTag) -> str:
    name = ctx.pool_tags.source if ctx.pool_tags is not None else "pooltag.txt"
    return f"your pooltag.txt {code(name)}, line {entry.line}"


def _log_notes(ctx: HoverContext, tag: str) -> str | None:
    """What the log itself prints about ``tag`` (``!poolused``/``!pool`` descriptions)."""
    key = tag.rstrip()
    notes = [n for n in ctx.analysis.session.pool_tag_notes if n.tag.rstrip() == key]
    if not notes:
        return None
    n = notes[0]
    said = n.description + (f", binary {n.binary}" if n.binary else "")
    more = f" (and {plural(len(notes) - 1, 'other line')})" if len(notes) > 1 else ""
    return f"{esc(said)} (this log, line {n.range.start.line + 1}){more}"


def _owner_sources(
    ctx: HoverContext, tag: str, info: object | None, user: UserTag | None
) -> str | None:
    """What else names the tag's owner: the user's pooltag.txt, the log's own notes."""
    lines: list[str] = []
    if user is not None and info is not None:
        lines.append(f"Your pooltag.txt: {esc(user.owner)} ({_user_source(ctx, user)})")
    note = _log_notes(ctx, tag)
    if note is not None and (user is not None or info is not None):
        lines.append(f"This log: {note}")
    tags = ctx.pool_tags
    if tags is not None and tags.error is not None:
        lines.append(f"Your pooltag.txt {code(tags.source)} could not be read: {esc(tags.error)}")
    elif tags is not None and user is None and info is None:
        lines.append(f"Not in your pooltag.txt {code(tags.source)}.")
    return "\n".join(f"- {x}" for x in lines) if lines else None


def _literal_lines(
    mapper: SourceMapper, tag: str, literals: LiteralLookup | None
) -> list[str | None]:
    if len(tag) != 4:
        return [f"A pool tag has four characters; {code(tag)} has {len(tag)}."]
    literal = c_literal(tag)
    out: list[str | None] = [
        f"In C it is written {code(literal)}: a multi-character constant stores its first "
        "character in the highest byte, and the debugger prints the bytes lowest first."
    ]
    if not mapper.roots:
        out.append("No workspace folder is open, so kdlens cannot look for it in the sources.")
        return out
    answer = tag_literals(mapper, tag, literals)
    hits = answer.targets
    if not answer.ready:
        out.append(f"{answer.note or 'The workspace sources are being read'}; hover again shortly.")
        return out
    if not hits:
        out.append(f"No {code(literal)} in the workspace sources.")
        if answer.note:
            out.append(f"({answer.note}.)")
        return out
    items = [
        f"- {code(f'{workspace_path(mapper, t.path)}:{t.range.start.line + 1}')}"
        for t in hits[:SHOWN_LITERALS]
    ]
    more = " (showing the first five)" if len(hits) > SHOWN_LITERALS else ""
    out.append(f"Written in the workspace at{more}:\n" + "\n".join(items))
    return out


# --------------------------------------------------------------------------- sizes and counts


def _side(stat: PoolStat | VerifiedDriver, token_range: object) -> str:
    if isinstance(stat, PoolStat):
        if stat.nonpaged is not None and stat.nonpaged.range == token_range:
            return "nonpaged"
        return "paged"
    if stat.nonpaged_bytes is not None and stat.nonpaged_bytes.range == token_range:
        return "nonpaged"
    return "paged"


def _size_context(owner: object, token_range: object, value: int) -> str | None:
    if isinstance(owner, Leak):
        text = block_context(owner) or ""
        rec = owner.record
        if rec is not None and rec.size.value != value:
            text += (
                f" Its `!verifier 0x80` record gives {code(rec.size.text)} "
                f"({byte_size(rec.size.value)}) instead."
            )
        return text
    if isinstance(owner, PoolLogRecord):
        op = {PoolOp.ALLOCATE: "allocation", PoolOp.FREE: "free"}.get(owner.op, "allocate/free")
        return f"Size of block {address(owner.address.value)} in a `!verifier 0x80` {op} record."
    if isinstance(owner, VerifierStat):
        return f"{esc(owner.name)}: bytes."
    if isinstance(owner, PoolStat):
        return f"{esc(owner.name)} ({_side(owner, token_range)} pool)."
    if isinstance(owner, VerifiedDriver):
        return f"Pool bytes {code(owner.name)} holds ({_side(owner, token_range)})."
    return block_context(owner)


def size_markdown(printed: str, value: int, owner: object, token_range: object) -> str:
    return paragraphs(
        [f"**{code(printed)} = {byte_size(value)}**", _size_context(owner, token_range, value)]
    )


def count_markdown(printed: str, value: int, owner: object, token_range: object) -> str:
    context: str | None = None
    if isinstance(owner, VerifierStat):
        context = esc(owner.name)
    elif isinstance(owner, PoolStat):
        context = f"{esc(owner.name)} ({_side(owner, token_range)} pool)"
    return paragraphs([f"**{code(printed)} = {value:,}**", context])


def number_markdown(printed: str, value: int) -> str:
    """A hex number in free text: its decimal value."""
    return f"**{code(printed)} = {value:,}** in decimal (read as hex)"
