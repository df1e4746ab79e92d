"""Reading the knowledge *source* files (``knowledge/src``): tables and explanation texts.

Why this format. The explanations are prose that people review and edit, so they live in
Markdown files a diff shows line by line and any forge renders. The layout is a deliberately
small subset that the standard library can read on Python 3.10 (``tomllib`` only arrived in
3.11 and a ``tomli`` dependency for a build step is not worth it; JSON holds prose badly:
one long escaped line per text, no comments, noisy diffs):

- ``key: value`` lines at the top of the file, or right under a heading, are *fields*;
- ``#`` to ``####`` headings open *sections*, nested under the nearest shallower heading;
- a run of unindented lines is a *paragraph* (its lines are joined with single blanks, so
  texts may be wrapped freely);
- ``- `` opens a list *item*; indented lines continue it.

Facts that are naturally tabular (codes, names, documentation pages, argument labels, option
bits) live in tab-separated files beside the prose, read with :mod:`csv`.

Nothing here runs when kdlens analyses a log: ``knowledge.build`` compiles these files into
the JSON under ``knowledge/data`` and the JSON is what ships. Errors raise ``SourceError``
with the file and line, because a bad source file is a mistake to fix before committing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

_HEADING = re.compile(r"^(#{1,4})\s+(.*?)\s*$")
_FIELD = re.compile(r"^([a-z][a-z0-9-]*):[ \t]+(\S.*?)\s*$")
_ITEM = re.compile(r"^- (.*)$")


class SourceError(ValueError):
    """A knowledge source file is malformed (message names the file and line)."""


@dataclass
class Section:
    """A heading and what follows it up to the next heading of the same or a higher level.

    The file itself is the level-0 section whose title is the file name.
    """

    title: str
    level: int
    where: str  # "path:line", for messages
    fields: dict[str, str] = field(default_factory=dict)
    paragraphs: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The section's paragraphs, separated by a blank line."""
        return "\n\n".join(self.paragraphs)

    def child(self, title: str) -> Section | None:
        """The sub-section with this title (case-insensitive), if there is exactly one."""
        found = [c for c in self.children if c.title.casefold() == title.casefold()]
        if len(found) > 1:
            raise SourceError(f"{found[1].where}: section {title!r} appears twice")
        return found[0] if found else None

    def error(self, message: str) -> SourceError:
        return SourceError(f"{self.where}: {message}")


def parse_markdown(text: str, name: str) -> Section:
    """Parse one source file into its section tree (see the module docstring for the rules)."""
    root = Section(title=name, level=0, where=f"{name}:1")
    stack = [root]
    block: list[str] = []  # lines of the paragraph or item being read
    block_kind = ""  # "para", "item" or ""
    block_start = 0
    fields_open = True  # fields are allowed until the section's first paragraph or item

    def flush() -> None:
        nonlocal block, block_kind, fields_open
        if not block:
            return
        section = stack[-1]
        joined = " ".join(part.strip() for part in block)
        if block_kind == "item":
            section.items.append(joined)
        else:
            matches = [_FIELD.match(line) for line in block]
            if fields_open and all(matches):
                for m in matches:
                    assert m is not None
                    if m.group(1) in section.fields:
                        raise SourceError(f"{name}:{block_start}: field {m.group(1)!r} repeated")
                    section.fields[m.group(1)] = m.group(2)
            else:
                section.paragraphs.append(joined)
        fields_open = False
        block, block_kind = [], ""

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if "\t" in line:
            raise SourceError(f"{name}:{number}: tab character (indent with blanks)")
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            while stack[-1].level >= level:
                stack.pop()
            section = Section(title=heading.group(2), level=level, where=f"{name}:{number}")
            stack[-1].children.append(section)
            stack.append(section)
            fields_open = True
            continue
        if not line:
            flush()
            continue
        item = _ITEM.match(line)
        if item:
            flush()
            block, block_kind, block_start = [item.group(1)], "item", number
        elif line.startswith(" "):
            if block_kind != "item":
                raise SourceError(f"{name}:{number}: indented line outside a list item")
            block.append(line)
        else:
            if block_kind == "item":
                raise SourceError(f"{name}:{number}: list item continues without indentation")
            if not block:
                block_kind, block_start = "para", number
            block.append(line)
    flush()
    return root


def read_markdown(path: Path, root: Path) -> Section:
    """Parse a source file; messages name it relative to ``root`` (never a machine path)."""
    return parse_markdown(path.read_text(encoding="utf-8"), path.relative_to(root).as_posix())


def read_table(path: Path, root: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated table with one header row; cells are stripped.

    Each row also gets ``"_where"`` ("file:line") for messages.
    """
    name = path.relative_to(root).as_posix()
    rows: list[dict[str, str]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = reader.fieldnames or []
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise SourceError(f"{name}:{reader.line_num}: expected {len(header)} cells")
            clean = {k: v.strip() for k, v in row.items()}
            clean["_where"] = f"{name}:{reader.line_num}"
            rows.append(clean)
    return rows


def parse_int(text: str, where: str) -> int:
    """A number written as ``0x...`` hex or plain decimal."""
    t = text.strip()
    try:
        if re.fullmatch(r"0[xX][0-9A-Fa-f]+", t):
            return int(t, 16)
        if re.fullmatch(r"[0-9]+", t):
            return int(t)
    except ValueError:  # pragma: no cover - the patterns above admit only digits
        pass
    raise SourceError(f"{where}: not a number: {text!r}")


def parse_int_list(text: str, where: str) -> list[int]:
    """``0x1, 0x2, 0x4`` -> [1, 2, 4]."""
    return [parse_int(part, where) for part in text.split(",") if part.strip()]
