"""Reading the logs ``kdlens check`` is given, without hanging and without unbounded memory.

A log named on the command line is opened through ``workspace_io``: the
name is resolved first (a symbolic link the user named is followed, a loop
of them is an error), then the file is opened without blocking and
``fstat``-ed, so a FIFO, a socket, a device such as ``/dev/zero`` or a
directory is refused at once instead of hanging or filling memory. Its size
is not capped: a debugger log of several gigabytes is legitimate.

Standard input cannot be judged that way (a pipe is what it usually is), so
it is read in chunks up to a cap (``--max-stdin-bytes``); past the cap the
check stops with a message rather than growing without end.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import BinaryIO

from ..workspace_io import Refused, open_regular_file

#: The default for ``--max-stdin-bytes``.
DEFAULT_MAX_STDIN_BYTES = 2 * 1024**3
_CHUNK = 1024 * 1024

_UNITS = {
    "": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}
_SIZE = re.compile(r"\s*(\d{1,15})\s*([a-z]*)\s*", re.IGNORECASE)


class InputError(Exception):
    """A log could not be read; the text is one line for the user."""


class InputTooLarge(InputError):
    """Standard input went past ``--max-stdin-bytes``."""


def parse_size(text: str) -> int:
    """``2GiB``, ``500M``, ``1048576`` -> bytes; ``ValueError`` for anything else.

    Units follow the usual convention: ``K``/``M``/``G`` are powers of 1000,
    ``KiB``/``MiB``/``GiB`` powers of 1024.
    """
    m = _SIZE.fullmatch(text)
    if m is None or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (examples: 1048576, 500M, 2GiB)")
    value = int(m.group(1)) * _UNITS[m.group(2).lower()]
    if value <= 0:
        raise ValueError("the size must be more than 0")
    return value


def size_label(n: int) -> str:
    """A byte count as the user likely wrote it: ``2 GiB`` when exact, else ``1,000,000 bytes``."""
    for unit, scale in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n:,} bytes"


def _reason(exc: OSError) -> str:
    if isinstance(exc, Refused):
        return exc.reason
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a loop?)"
    return exc.strerror or str(exc)


def read_named(path: str) -> bytes:
    """The bytes of the regular file ``path``; ``InputError`` with the reason otherwise.

    The user named this file, so a symbolic link is followed (to its end:
    ``open_regular_file`` then sees the real file and refuses a link swapped
    in meanwhile). Whole-file reads are fine here: the analysis needs the
    whole text anyway.
    """
    try:
        real = Path(path).resolve(strict=True)
    except RuntimeError:  # Python 3.10-3.12 report a link loop this way
        raise InputError("too many levels of symbolic links (a loop?)") from None
    except OSError as exc:
        raise InputError(_reason(exc)) from None
    try:
        with open_regular_file(real) as f:
            return f.read()
    except OSError as exc:
        raise InputError(_reason(exc)) from None


def read_stdin(stream: BinaryIO | None, limit: int) -> bytearray:
    """Standard input, at most ``limit`` bytes; ``InputError`` when closed or too long.

    Read in chunks into one buffer so that the cap is checked as the data
    arrives: ``/dev/zero`` on standard input stops at the cap.
    """
    if stream is None:
        raise InputError("standard input is closed")
    buf = bytearray()
    try:
        while True:
            chunk = stream.read(min(_CHUNK, limit + 1 - len(buf)))
            if not chunk:
                return buf
            buf += chunk
            if len(buf) > limit:
                raise InputTooLarge(
                    f"standard input is larger than {size_label(limit)} "
                    f"(--max-stdin-bytes); save the log to a file and name it instead"
                )
    except OSError as exc:
        if exc.errno == errno.EBADF:
            raise InputError("standard input is closed") from None
        raise InputError(_reason(exc)) from None
