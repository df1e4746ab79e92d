"""Small Markdown and number helpers shared by the hover modules.

Hover text mixes knowledge prose (already Markdown) with text copied from an
untrusted log (driver names, paths, symbols). Log text goes into code spans
or through ``esc`` so it can never turn into links, HTML or table breaks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ...numbers import format_address
from ...sources import SourceMapper

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_BACKTICKS = re.compile(r"`+")


def esc(text: str) -> str:
    """``text`` shown literally in Markdown prose (one line)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def code(text: str) -> str:
    """``text`` as an inline code span, safe even when it holds backticks (x64 addresses)."""
    text = " ".join(text.split())
    runs = [len(m.group(0)) for m in _BACKTICKS.finditer(text)]
    fence = "`" * ((max(runs) + 1) if runs else 1)
    if runs or text.startswith(" ") or text.endswith(" "):
        return f"{fence} {text} {fence}"
    return f"{fence}{text}{fence}"


def hexnum(value: int) -> str:
    return f"0x{value:x}"


def address(value: int) -> str:
    """An address the way the debugger spells it, ``0x`` added for 32-bit values."""
    if value > 0xFFFFFFFF:
        return format_address(value, x64=True)
    return f"0x{value:08x}"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def byte_size(n: int) -> str:
    """``4,104 bytes = 4.0 KiB``: decimal for people, with a binary unit for larger sizes."""
    text = plural(n, "byte")
    if n >= 1024 * 1024 * 1024:
        return f"{text} = {n / (1024 * 1024 * 1024):.1f} GiB"
    if n >= 1024 * 1024:
        return f"{text} = {n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{text} = {n / 1024:.1f} KiB"
    return text


def paragraphs(parts: Iterable[str | None]) -> str:
    """Join the non-empty parts with blank lines between them."""
    return "\n\n".join(p.strip("\n") for p in parts if p)


def bullets(items: Sequence[str]) -> str | None:
    return "\n".join(f"- {i}" for i in items) if items else None


def doc_link(url: str | None, label: str = "Documentation") -> str | None:
    if not url or not url.startswith("https://"):
        return None
    return f"[{label}]({url})"


def workspace_path(mapper: SourceMapper, path: Path) -> str:
    """``path`` relative to the workspace root (or configured folder) that holds it."""
    bases = [*mapper.roots, *(dst for _, dst in mapper.source_map)]
    for base in bases:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    for base in bases:
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):
            pass
    return path.name
