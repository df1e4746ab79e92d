"""``.sympath`` / ``.srcpath`` echoes: the search paths the session used."""

from __future__ import annotations

import re

from ..model import PathSetting
from .core import Cursor, block

_PATH = re.compile(
    r"^[ \t]*(?P<kind>Expanded Symbol search path is|Symbol search path is|Current Symbol Path is"
    r"|Source search path is):[ \t]*(?P<value>.*?)[ \t]*$"
)


@block(
    "search-path",
    r"^[ \t]*(?:Expanded Symbol search path is|Symbol search path is|Current Symbol Path is|Source search path is):",
)
def search_path(cur: Cursor) -> int | None:
    m = _PATH.match(cur.text(cur.line))
    if not m:
        return None
    kind = "source" if m.group("kind").startswith("Source") else "symbol"
    cur.session.paths.append(
        PathSetting(
            kind=kind,
            value=m.group("value"),
            range=cur.rng(cur.line, m.start("kind"), m.end()),
            value_range=cur.group_range(cur.line, m, "value"),
        )
    )
    return cur.line + 1
