"""``kdlens diff OLD NEW``: which leaks were fixed, which are new, which stayed, per allocating site.

Leaks are matched by their fingerprint (``usermode_leaks.fingerprint``: the
allocating module, function and source line or offset, the tag or size
class; never an address), as multisets: a site that leaked twice before
and three times now has two unchanged leaks and one new one. The report
groups each of the three lists by allocating site.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis.findings import size_text
from ..analysis.usermode_leaks import LeakRecord, leak_message
from .formats import Sink


@dataclass(slots=True)
class LeakDiff:
    """The three lists, each in its log's order."""

    new: list[LeakRecord] = field(default_factory=list)
    fixed: list[LeakRecord] = field(default_factory=list)  # records of the old log
    unchanged: list[LeakRecord] = field(default_factory=list)  # records of the new log


def diff_leaks(old: Sequence[LeakRecord], new: Sequence[LeakRecord]) -> LeakDiff:
    """Match ``new`` against ``old`` by fingerprint, one for one."""
    pool: dict[str, list[LeakRecord]] = {}
    for rec in reversed(old):
        pool.setdefault(rec.fingerprint, []).append(rec)
    out = LeakDiff()
    for rec in new:
        group = pool.get(rec.fingerprint)
        if group:
            group.pop()
            out.unchanged.append(rec)
        else:
            out.new.append(rec)
    left = {id(r) for group in pool.values() for r in group}
    out.fixed = [r for r in old if id(r) in left]
    return out


@dataclass(slots=True)
class Site:
    """Leaks of one list allocated at one site."""

    key: str
    label: str
    records: list[LeakRecord] = field(default_factory=list)

    @property
    def bytes(self) -> int | None:
        sizes = [r.size for r in self.records if r.size is not None]
        return sum(sizes) if sizes else None

    @property
    def sources(self) -> list[tuple[str, int]]:
        seen: dict[tuple[str, int], None] = {}
        for r in self.records:
            if r.source is not None:
                seen[(r.source.path, r.source.line)] = None
        return list(seen)

    @property
    def tags(self) -> list[str]:
        return sorted({r.tag for r in self.records if r.tag})

    @property
    def kinds(self) -> list[str]:
        return sorted({r.kind.value for r in self.records})


def by_site(records: Sequence[LeakRecord]) -> list[Site]:
    """``records`` grouped by allocating site, the site with most leaks first."""
    sites: dict[str, Site] = {}
    for r in records:
        key = r.group_key
        site = sites.get(key)
        if site is None:
            label = r.call_site.qualified if r.call_site is not None else key
            if key == "?" and r.owner:
                label = f"(no allocating site; {r.owner})"
            elif key == "?":
                label = "(no allocating site in the log)"
            site = sites[key] = Site(key, label)
        site.records.append(r)
    return sorted(sites.values(), key=lambda s: (-len(s.records), s.label.lower()))


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


_SECTIONS = ("new", "fixed", "unchanged")


def write_text(out: Sink, _pretty: bool, old_path: str, new_path: str, diff: LeakDiff) -> None:
    """The three lists, each grouped by site, with counts, sizes, tags and source lines."""
    out.write(
        f"kdlens diff: {old_path} -> {new_path}: {len(diff.fixed)} fixed, "
        f"{len(diff.new)} new, {len(diff.unchanged)} unchanged "
        f"{'leak' if len(diff.fixed) + len(diff.new) + len(diff.unchanged) == 1 else 'leaks'}\n"
    )
    for name in _SECTIONS:
        records: list[LeakRecord] = getattr(diff, name)
        if not records:
            continue
        sites = by_site(records)
        out.write(f"\n{name} ({_n(len(records), 'leak')} at {_n(len(sites), 'site')}):\n")
        for site in sites:
            size = size_text(site.bytes) if site.bytes is not None else ""
            what = ", ".join(site.kinds)
            tags = f", tags: {', '.join(site.tags)}" if site.tags else ""
            out.write(f"  {len(site.records):>4} x  {size:<24} {site.label}  ({what}{tags})\n")
            for path, line in site.sources:
                out.write(f"          at {path}:{line}\n")


def _record(r: LeakRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "fingerprint": r.fingerprint,
        "kind": r.kind.value,
        "line": r.range.start.line,
        "message": leak_message(r),
    }
    if r.size is not None:
        item["size"] = r.size
    if r.tag is not None:
        item["tag"] = r.tag
    if r.source is not None:
        item["source"] = {"path": r.source.path, "line": r.source.line}
    return item


def _site(site: Site) -> dict[str, Any]:
    return {
        "site": site.label,
        "key": site.key,
        "count": len(site.records),
        "bytes": site.bytes,
        "kinds": site.kinds,
        "tags": site.tags,
        "sources": [{"path": p, "line": n} for p, n in site.sources],
        "leaks": [_record(r) for r in site.records],
    }


def write_json(out: Sink, pretty: bool, old_path: str, new_path: str, diff: LeakDiff) -> None:
    """``{"version": 1, "old", "new", "summary", "new": [sites], "fixed": [...], "unchanged": [...]}``.

    ``line`` is 0-based (as in ``check --format json``): in the old log for
    fixed leaks, in the new one otherwise.
    """
    doc: dict[str, Any] = {
        "version": 1,
        "old": old_path,
        "new": new_path,
        "summary": {name: len(getattr(diff, name)) for name in _SECTIONS},
    }
    for name in _SECTIONS:
        doc[name] = [_site(s) for s in by_site(getattr(diff, name))]
    out.write(json.dumps(doc, indent=2 if pretty else None, ensure_ascii=False) + "\n")


DIFF_WRITERS: dict[str, Callable[[Sink, bool, str, str, LeakDiff], None]] = {
    "text": write_text,
    "json": write_json,
}
