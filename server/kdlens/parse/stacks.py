"""Stack traces: ``k``-family output, ``STACK_TEXT`` rows and address+symbol lists.

(Placeholder API; the full implementation replaces the body, not the signature.)
"""

from __future__ import annotations

from ..model import Stack, StackKind
from .core import Cursor


def read_frames(cur: Cursor, first: int, end: int, kind: StackKind) -> tuple[Stack, int]:
    """Read frame rows from line ``first`` (exclusive ``end``) into a ``Stack``.

    Accepts every row shape of FORMATS.md section 10 and 5.3 (x86/x64, with or
    without frame numbers, ``kb`` argument columns, ``STACK_TEXT`` ``sp ret :
    args : site`` rows, inline frames, source annotations, FPO/TrapFrame
    suffixes) and skips symbol-loader noise lines between frames. Stops at the
    first line that is neither a frame nor noise (a blank line ends a
    ``STACK_TEXT`` value). Returns the stack and the first line not consumed.
    """
    stack = Stack(kind=kind, range=cur.span(first, max(first, min(end, first + 1) - 1)))
    return stack, first
