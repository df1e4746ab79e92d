"""Pool commands: ``!pool``, ``!poolfind`` block lines and ``!poolused`` rows.

``!pool`` and ``!poolfind`` print the same block line (address, ``size:``,
``previous size:``, state, tag); ``!pool`` adds a marker column (``*`` for the
block holding the queried address) and optional ``Pooltag``/``Owning
component`` description lines. Pool tags are exactly four characters and may
contain spaces, so they are taken by column, never by splitting on blanks.

``!poolused`` prints DECIMAL numbers right-aligned under the header words and
glues the pooltag.txt description to the last number, so rows are cut at the
header's columns. The ``TOTAL`` row is consumed but not recorded: it is not a
tag, and a consumer ranking tags by bytes would otherwise always pick it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Literal

from ..model import PoolBlock, PoolTagNote, PoolUsage, PoolUsedSnapshot, Range
from ..numbers import dec_int
from .core import Cursor, block

# --------------------------------------------------------------------------- !pool / !poolfind

_ADDR = r"[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?"

_BLOCK = re.compile(
    rf"^(?P<lead>[ \t]*)(?P<mark>\*)?(?P<addr>{_ADDR})[ \t]+size:[ \t]*(?P<size>[0-9a-fA-F]+)[ \t]+"
    rf"(?:previous size:[ \t]*(?P<prev>[0-9a-fA-F]+)|data:[ \t]*(?P<data>{_ADDR}))"
    r"[ \t]+\((?P<state>[A-Za-z][A-Za-z ]*)\)"
)
_PAGE = re.compile(rf"^[ \t]*Pool page (?P<addr>{_ADDR}) region is (?P<region>\S.*?)[ \t]*$")
_SEARCH = re.compile(r"^[ \t]*Searching (?P<kind>[A-Za-z ]*?pool) \(")
_LARGE = re.compile(r"^[ \t]*Scanning large pool allocation table for Tag")
_TERMINATING = re.compile(r"^[ \t]*\.\.\.terminating - searched pool")
_DESC = re.compile(
    r"^[ \t]*(?:Pooltag[ \t](?P<tag>.{4})[ \t]*:|Owning component[ \t]*:)[ \t]*(?P<desc>.*?)[ \t]*$"
)
_DUMP = re.compile(rf"^[ \t]*{_ADDR}[ \t]+[0-9a-fA-F?`]{{2,}}")
_PROCESS = re.compile(r"Process:[ \t]*(?P<proc>[0-9a-fA-F`]+)")
_PROTECTED = re.compile(r"\(Protected\)")
_SKIP = re.compile(r"^[ \t]*(?:$|\.{3,}[ \t]*$|…[ \t]*$|\*\*\* |DBGHELP: |Loading symbols for )")

#: Width of the state column: ``(Free)`` is padded to the width of ``(Allocated)``.
_STATE_WIDTH = len("(Allocated)")
_PADDED_STATES = frozenset({"Allocated", "Free"})


def _is_pool_line(text: str) -> bool:
    return bool(
        _BLOCK.match(text)
        or _PAGE.match(text)
        or _SEARCH.match(text)
        or _LARGE.match(text)
        or _TERMINATING.match(text)
    )


def _tag_start(text: str, m: re.Match[str], marker_col: bool) -> tuple[int, bool]:
    """Column where the tag starts, and whether it carries the ``*`` marker."""
    close = m.end()
    k = close
    n = len(text)
    while k < n and text[k] in " \t":
        k += 1
    if k < n and text[k] == "*":
        return k + 1, True
    state = m.group("state")
    if state in _PADDED_STATES and m.group("data") is None:
        expected = m.start("state") - 1 + _STATE_WIDTH + 1 + (1 if marker_col else 0)
    else:
        expected = close + 1 + (1 if marker_col else 0)
    # Trust the fixed layout only while it agrees with the text: the gap must be
    # blank and the tag may begin with at most a few spaces of its own.
    if close <= expected <= k and k - expected < 4:
        return expected, False
    return k, False


def _block_line(cur: Cursor, i: int, m: re.Match[str], region: str | None) -> PoolBlock | None:
    text = cur.text(i)
    address = cur.num(i, m, "addr")
    size = cur.num(i, m, "size")
    if address is None or size is None:
        return None
    verb = cur.command.verb if cur.command is not None else ""
    marked = m.group("mark") is not None
    marker_col = marked or (len(m.group("lead")) > 0 and verb != "!poolfind")
    ts, tag_marked = _tag_start(text, m, marker_col)
    te = min(ts + 4, len(text))
    raw_tag = text[ts:te] if ts < len(text) else ""
    tag = raw_tag.ljust(4) if raw_tag else ""
    tag_range = cur.rng(i, ts, ts + len(raw_tag))

    state = m.group("state").strip()
    pool_type = region
    data = cur.num(i, m, "data")
    if data is not None:
        # Special pool: the parenthesis holds the pool kind, not a state.
        pool_type = f"{region} ({state})" if region and region != state else state
        state = ""

    rest = text[te:]
    process = None
    pm = _PROCESS.search(rest)
    if pm:
        process = cur.num_at(i, pm.group("proc"), te + pm.start("proc"))
    protected = bool(_PROTECTED.search(rest))
    leftover = _PROTECTED.sub("", _PROCESS.sub("", rest)).strip()
    description = leftover or None
    description_range = None
    if description:
        off = text.find(description, te)
        description_range = cur.rng(i, off, off + len(description))

    start = len(m.group("lead"))
    return PoolBlock(
        range=cur.rng(i, start, len(text.rstrip())),
        address=address,
        size=size,
        tag=tag,
        tag_range=tag_range,
        previous_size=cur.num(i, m, "prev"),
        state=state,
        marked=marked or tag_marked,
        pool_type=pool_type,
        description=description,
        description_range=description_range,
        process=process,
        protected=protected,
        data=data,
    )


@block(
    "pool-blocks",
    r"^[ \t]*(?:Pool page [0-9a-fA-F]|\*?[0-9a-fA-F`]{8,17}[ \t]+size:"
    r"|Scanning large pool allocation table for Tag|Searching [A-Za-z ]*pool \("
    r"|\.\.\.terminating - searched pool)",
)
def pool_blocks(cur: Cursor) -> int | None:
    """A ``!pool`` page listing or ``!poolfind`` result, from its first line on."""
    end = min(cur.end, len(cur.doc))
    i = cur.line
    region: str | None = None
    blocks: list[PoolBlock] = []
    while i < end:
        text = cur.text(i)
        m = _BLOCK.match(text)
        if m:
            b = _block_line(cur, i, m, region)
            if b is None:
                break
            blocks.append(b)
            i += 1
            continue
        pm = _PAGE.match(text)
        if pm:
            region = pm.group("region")
            i += 1
            continue
        sm = _SEARCH.match(text)
        if sm:
            region = sm.group("kind").strip()
            i += 1
            continue
        if _LARGE.match(text):
            region = "Large pool"
            i += 1
            continue
        if _TERMINATING.match(text):
            i += 1
            continue
        if blocks:
            dm = _DESC.match(text)
            if dm:
                desc = dm.group("desc")
                note_tag = dm.group("tag") or blocks[-1].tag
                if desc:
                    note = tag_note(
                        cur,
                        i,
                        note_tag,
                        cur.group_range(i, dm, "tag") if dm.group("tag") else None,
                        dm.start("desc"),
                    )
                    if note is not None:
                        cur.session.pool_tag_notes.append(note)
                blocks[-1] = replace(
                    blocks[-1],
                    description=desc or None,
                    description_range=cur.rng(i, dm.start("desc"), dm.end("desc"))
                    if desc
                    else None,
                )
                i += 1
                continue
            if _DUMP.match(text):
                i += 1
                continue
        if _SKIP.match(text):
            j = i + 1
            while j < end and _SKIP.match(cur.text(j)):
                j += 1
            if j < end and _is_pool_line(cur.text(j)):
                i = j
                continue
        break
    if i == cur.line:
        return None
    cur.session.pool_blocks.extend(blocks)
    return i


# --------------------------------------------------------------------------- !poolused

_SORT = re.compile(r"^[ \t]*Sorting by[ \t]")
_USED_HEADER = re.compile(
    r"^[ \t]*Tag[ \t]+(?:Allocs[ \t]+Used[ \t]+Allocs[ \t]+Used"
    r"|Allocs[ \t]+Frees[ \t]+Diff[ \t]+Used[ \t]+Allocs[ \t]+Frees[ \t]+Diff[ \t]+Used)[ \t]*$"
)
_PRE_HEADER = re.compile(r"^[ \t]*(?:$|Pool Used:|NonPaged[ \t]+Paged[ \t]*$)")
_WORD = re.compile(r"\S+")
_NUMBER = re.compile(r"[ \t]+(\d+)")
_TOTAL = re.compile(r"^[ \t]*TOTAL[ \t]+\d")
_ELISION = re.compile(r"^[ \t]*(?:$|\.{3,}[ \t]*$|…[ \t]*$)")
_BINARY = re.compile(r"[ \t]*,?[ \t]*Binary[ \t]*:[ \t]*(?P<bin>.*?)[ \t]*$")
_UNKNOWN_TAG = re.compile(r"^UNKNOWN pooltag|^Unknown \(update pooltag")

#: How many lines may separate ``Sorting by`` from the column header.
_HEADER_REACH = 6


def _numbers(text: str, base: int, count: int) -> list[tuple[int, int]] | None:
    """Spans of ``count`` blank-separated decimal numbers from column ``base``."""
    spans: list[tuple[int, int]] = []
    pos = base
    for _ in range(count):
        m = _NUMBER.match(text, pos)
        if m is None:
            return None
        spans.append(m.span(1))
        pos = m.end(1)
    return spans


#: What ``_usage_row`` returns for a row whose numbers are too long to be
#: counts: the line belongs to the table but is kept as plain text.
_TEXT_ROW: Literal["text"] = "text"


def _usage_row(
    cur: Cursor, i: int, tag_col: int, ends: list[int]
) -> PoolUsage | Literal["text"] | None:
    """The row on line ``i``; ``_TEXT_ROW`` for a row holding an absurd number; None for no row."""
    text = cur.text(i)
    if len(text) <= tag_col or text[:tag_col].strip():
        return None
    tag = text[tag_col : tag_col + 4]
    if not tag.strip() or len(tag) < 4:
        return None
    base = tag_col + 4
    n = len(ends)
    spans = _numbers(text, base, n)
    if spans is None:
        return None
    if any(e != ends[k] for k, (_, e) in enumerate(spans)):
        # The row is off its columns (a shifted row, an overflowing number):
        # keep the blank-split numbers, the last one as wide as the shift allows.
        shift = spans[n - 2][1] - ends[n - 2]
        want = ends[n - 1] + shift
        s_last, e_last = spans[n - 1]
        if s_last < want < e_last:
            spans[n - 1] = (s_last, want)
    parsed = [dec_int(text[a:b]) for a, b in spans]
    if any(v is None for v in parsed):
        return _TEXT_ROW
    values = [v for v in parsed if v is not None]
    desc_start = spans[-1][1]
    raw_desc = text[desc_start:]
    desc = raw_desc.strip() or None
    desc_range = None
    if desc:
        off = text.find(desc, desc_start)
        desc_range = cur.rng(i, off, off + len(desc))
    ranges = tuple(cur.rng(i, a, b) for a, b in spans)
    if n == 8:
        return PoolUsage(
            range=cur.rng(i, tag_col, max(len(text.rstrip()), tag_col + 4)),
            tag=tag,
            tag_range=cur.rng(i, tag_col, tag_col + 4),
            nonpaged_allocs=values[0],
            nonpaged_bytes=values[3],
            paged_allocs=values[4],
            paged_bytes=values[7],
            description=desc,
            nonpaged_frees=values[1],
            nonpaged_diff=values[2],
            paged_frees=values[5],
            paged_diff=values[6],
            number_ranges=ranges,
            description_range=desc_range,
        )
    return PoolUsage(
        range=cur.rng(i, tag_col, max(len(text.rstrip()), tag_col + 4)),
        tag=tag,
        tag_range=cur.rng(i, tag_col, tag_col + 4),
        nonpaged_allocs=values[0],
        nonpaged_bytes=values[1],
        paged_allocs=values[2],
        paged_bytes=values[3],
        description=desc,
        number_ranges=ranges,
        description_range=desc_range,
    )


def tag_note(
    cur: Cursor, i: int, tag: str, tag_range: Range | None, start: int
) -> PoolTagNote | None:
    """A pool-tag owner text printed on line ``i`` from column ``start`` (``desc, Binary : x``)."""
    text = cur.text(i)
    body = text[start:].rstrip()
    lead = len(body) - len(body.lstrip())
    body = body.strip()
    if not body or _UNKNOWN_TAG.match(body):
        return None
    b0 = start + lead
    description = body
    binary = None
    binary_range = None
    bm = _BINARY.search(body)
    if bm is not None:
        description = body[: bm.start()].strip().rstrip(",").strip()
        binary = bm.group("bin") or None
        if binary:
            binary_range = cur.rng(i, b0 + bm.start("bin"), b0 + bm.end("bin"))
    return PoolTagNote(
        tag=tag,
        range=cur.rng(i, b0, b0 + len(body)),
        description=description,
        tag_range=tag_range,
        binary=binary,
        binary_range=binary_range,
    )


@block(
    "poolused",
    r"^[ \t]*(?:Sorting by[ \t]|Tag[ \t]+Allocs[ \t]+(?:Used[ \t]+Allocs[ \t]+Used[ \t]*$"
    r"|Frees[ \t]+Diff[ \t]+Used))",
)
def poolused(cur: Cursor) -> int | None:
    """``!poolused`` output: the sort line, the two header lines and the rows."""
    end = min(cur.end, len(cur.doc))
    h = cur.line
    sort: str | None = None
    if _SORT.match(cur.text(h)):
        sort = cur.text(h).strip()
        j = h + 1
        limit = min(end, h + 1 + _HEADER_REACH)
        while j < limit and not _USED_HEADER.match(cur.text(j)):
            if not _PRE_HEADER.match(cur.text(j)):
                break
            j += 1
        if j >= limit or not _USED_HEADER.match(cur.text(j)):
            return h + 1
        h = j
    elif not _USED_HEADER.match(cur.text(h)):
        return None
    words = list(_WORD.finditer(cur.text(h)))
    tag_col = words[0].start()
    ends = [w.end() for w in words[1:]]
    rows: list[PoolUsage] = []
    i = h + 1
    while i < end:
        text = cur.text(i)
        if _TOTAL.match(text):
            i += 1
            continue
        if _ELISION.match(text):
            j = i + 1
            while j < end and _ELISION.match(cur.text(j)):
                j += 1
            if j < end and (
                _TOTAL.match(cur.text(j)) or _usage_row(cur, j, tag_col, ends) is not None
            ):
                i = j
                continue
            break
        row = _usage_row(cur, i, tag_col, ends)
        if row is None:
            break
        if isinstance(row, PoolUsage):  # else a row of absurd numbers, kept as text
            rows.append(row)
            if row.description and row.description_range is not None:
                start = row.description_range.start.character
                note = tag_note(cur, i, row.tag, row.tag_range, start)
                if note is not None:
                    cur.session.pool_tag_notes.append(note)
        i += 1
    cur.session.pool_usage.extend(rows)
    header = cur.text(h)
    cur.session.poolused_snapshots.append(
        PoolUsedSnapshot(
            range=cur.span(cur.line, max(i - 1, h)),
            header_range=cur.rng(h, tag_col, len(header.rstrip())),
            columns=len(ends),
            sort=sort,
            rows=rows,
        )
    )
    return i
