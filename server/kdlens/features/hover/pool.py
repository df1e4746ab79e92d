"""Hovers on pool tags, sizes and counts.

A tag Driver Verifier puts on a driver's behalf (``VMdl``, ``Vfwi``) says
which kernel call made the block; any other tag is the driver's own, and
the hover shows how it is spelled in C (``mdrv`` is ``'vrdm'``) and where
the workspace writes that literal. Finding those places walks the
workspace, so results are kept in a small, short-lived cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable

from ... import knowledge
from ...analysis.leaks import Leak
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
from ..navigation import Target, c_literal, find_tag_literals
from .format import address, byte_size, code, esc, paragraphs, plural, workspace_path
from .types import HoverContext

#: How many literal places a hover lists.
SHOWN_LITERALS = 5
_CACHE_SIZE = 64
#: Seconds a literal search stays valid (sources change while the log is open).
_CACHE_SECONDS = 30.0
_literal_cache: OrderedDict[Hashable, tuple[float, tuple[Target, ...]]] = OrderedDict()


def tag_literals(mapper: SourceMapper, tag: str) -> tuple[Target, ...]:
    """Up to ``SHOWN_LITERALS + 1`` places writing ``tag`` as a C literal (cached)."""
    key = (
        tuple(str(r) for r in mapper.roots),
        tuple((a, str(b)) for a, b in mapper.source_map),
        tag,
    )
    now = time.monotonic()
    hit = _literal_cache.get(key)
    if hit is not None and now - hit[0] < _CACHE_SECONDS:
        _literal_cache.move_to_end(key)
        return hit[1]
    found = tuple(find_tag_literals(mapper, tag, limit=SHOWN_LITERALS + 1))
    _literal_cache[key] = (now, found)
    _literal_cache.move_to_end(key)
    while len(_literal_cache) > _CACHE_SIZE:
        _literal_cache.popitem(last=False)
    return found


def clear_tag_cache() -> None:
    _literal_cache.clear()


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
    parts: list[str | None] = []
    if info is not None and info.verifier:
        call = f" for {code(info.allocator)}" if info.allocator else ""
        parts.append(f"**Pool tag {shown}**: Driver Verifier's tag{call}")
        parts.append(info.meaning)
        if info.allocator and info.release:
            parts.append(f"Made by {code(info.allocator)}; freed by {code(info.release)}.")
    elif info is not None:
        parts.append(f"**Pool tag {shown}**: {esc(info.owner)}")
        parts.append(info.meaning)
        if info.allocator and info.release:
            parts.append(f"Made by {code(info.allocator)}; freed by {code(info.release)}.")
    else:
        parts.append(f"**Pool tag {shown}**: the driver's own tag")
        parts.extend(_literal_lines(ctx.mapper, tag))
    parts.append(block_context(owner))
    return paragraphs(parts)


def _literal_lines(mapper: SourceMapper, tag: str) -> list[str | None]:
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
    hits = tag_literals(mapper, tag)
    if not hits:
        out.append(f"No {code(literal)} in the workspace sources.")
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
