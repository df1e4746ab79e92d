"""The user's own ``pooltag.txt``: which binary owns a pool tag, as their Debugging Tools say.

kdlens never ships that file (its text is not ours to copy); a user who has
one names it in the ``poolTagFile`` setting. Its lines are
``<Tag> - <binary> - <description>``; ``rem`` lines are comments; a tag has
one to four characters and may hold ``?`` (one character) and ``*`` (any
run) wildcards; the binary may be ``<unknown>`` or a component such as
``nt!io``. This module only turns the text into a lookup table: reading the
file (bounded, regular files only) is the pipeline's job, in its worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: The longest tag a pool allocation can carry.
MAX_TAG = 4

_ENTRY = re.compile(
    r"^(?P<tag>[^\s].{0,7}?)[ \t]+-[ \t]+(?P<binary>[^\t]*?)[ \t]+-[ \t]*(?P<desc>.*)$"
)
_ENTRY_NO_DESC = re.compile(r"^(?P<tag>[^\s].{0,7}?)[ \t]+-[ \t]+(?P<binary>\S.*?)[ \t]*$")
_REM = re.compile(r"^[ \t]*rem\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class UserTag:
    """One entry of the user's pooltag.txt."""

    tag: str
    binary: str
    description: str
    line: int  # 1-based line in the file

    @property
    def owner(self) -> str:
        """``binary: description`` (either alone when the other is missing or unknown)."""
        binary = "" if self.binary.strip().lower() in ("", "<unknown>") else self.binary.strip()
        if binary and self.description:
            return f"{binary}: {self.description}"
        return binary or self.description or "unknown"


def _wildcard(tag: str) -> re.Pattern[str]:
    parts = ["." if ch == "?" else ".*" if ch == "*" else re.escape(ch) for ch in tag]
    return re.compile("".join(parts))


@dataclass(frozen=True, slots=True)
class UserPoolTags:
    """The entries of one pooltag.txt, looked up by the tag as a log prints it."""

    source: str  # the path as configured, for hovers
    exact: dict[str, UserTag] = field(default_factory=dict)
    patterns: tuple[tuple[re.Pattern[str], UserTag], ...] = ()
    #: Why the file could not be used (unreadable, too large), for hovers.
    error: str | None = None
    #: Lines that were neither comments nor entries.
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.exact) + len(self.patterns)

    def lookup(self, tag: str) -> UserTag | None:
        """The entry for ``tag``: an exact one first, then the first wildcard that matches.

        Trailing blanks of a three-character tag are ignored on both sides: logs
        print ``Tkn`` and ``Tkn `` alike.
        """
        key = tag.rstrip()
        hit = self.exact.get(key)
        if hit is not None:
            return hit
        for pattern, entry in self.patterns:
            if pattern.fullmatch(key) or pattern.fullmatch(tag):
                return entry
        return None


def parse_pool_tags(text: str, source: str) -> UserPoolTags:
    """Read pooltag.txt ``text`` (``source`` names it in hovers); never raises."""
    exact: dict[str, UserTag] = {}
    patterns: list[tuple[re.Pattern[str], UserTag]] = []
    skipped = 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or _REM.match(line):
            continue
        m = _ENTRY.match(line) or _ENTRY_NO_DESC.match(line)
        if m is None:
            skipped += 1
            continue
        tag = m.group("tag").rstrip()
        if not 0 < len(tag) <= MAX_TAG:
            skipped += 1
            continue
        desc = m.groupdict().get("desc") or ""
        entry = UserTag(tag, m.group("binary").strip(), desc.strip(), n)
        if "?" in tag or "*" in tag:
            patterns.append((_wildcard(tag), entry))
        else:
            exact.setdefault(tag, entry)
    return UserPoolTags(source, exact, tuple(patterns), skipped=skipped)


__all__ = ["MAX_TAG", "UserPoolTags", "UserTag", "parse_pool_tags"]
