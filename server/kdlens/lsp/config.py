"""The ``kdlens`` settings as clients send them, turned into core settings.

Settings arrive in ``initializationOptions`` (at start), from
``workspace/configuration`` (when the client supports it) and in
``workspace/didChangeConfiguration``. Each may hold the ``kdlens`` object
itself or an object with a ``kdlens`` key. Unknown or malformed values are
ignored with a message, never fatal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis import AnalysisSettings


@dataclass(frozen=True)
class ServerSettings:
    symbol_path: tuple[str, ...] = ()
    source_map: tuple[tuple[str, str], ...] = ()
    allocator_wrappers: tuple[str, ...] = ()
    trusted_unc_hosts: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=(), compare=False)

    def analysis(self) -> AnalysisSettings:
        return AnalysisSettings.from_lists(
            allocator_wrappers=self.allocator_wrappers,
            source_map=self.source_map,
            symbol_path=self.symbol_path,
            trusted_unc_hosts=self.trusted_unc_hosts,
        )


def _strings(value: Any, name: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v.strip())
    problems.append(f"kdlens.{name} should be a list of strings; ignored")
    return ()


def unwrap(raw: Any) -> dict[str, Any]:
    """The ``kdlens`` settings object out of whatever the client sent."""
    if isinstance(raw, dict):
        inner = raw.get("kdlens")
        if isinstance(inner, dict):
            return inner
        return raw
    return {}


def parse_settings(
    raw: Any, workspace_folders: list[Path], environ: dict[str, str] | None = None
) -> ServerSettings:
    """Read the ``kdlens`` settings; ``${workspaceFolder}`` expands to the first folder."""
    env = os.environ if environ is None else environ
    data = unwrap(raw)
    problems: list[str] = []

    sym = data.get("symbolPath")
    if isinstance(sym, str):
        symbol_path = tuple(p.strip() for p in sym.split(";") if p.strip())
    else:
        symbol_path = _strings(sym, "symbolPath", problems)
    env_path = env.get("_NT_SYMBOL_PATH", "")
    symbol_path += tuple(p.strip() for p in env_path.split(";") if p.strip())

    folder = str(workspace_folders[0]) if workspace_folders else ""
    source_map: list[tuple[str, str]] = []
    sm = data.get("sourceMap")
    if isinstance(sm, dict):
        for k, v in sm.items():
            if isinstance(k, str) and isinstance(v, str) and k and v:
                source_map.append((k, v.replace("${workspaceFolder}", folder)))
            else:
                problems.append(f"kdlens.sourceMap entry {k!r} is not a string pair; ignored")
    elif sm is not None:
        problems.append(
            "kdlens.sourceMap should be an object of build-path prefix -> local folder; ignored"
        )

    return ServerSettings(
        symbol_path=symbol_path,
        source_map=tuple(source_map),
        allocator_wrappers=_strings(data.get("allocatorWrappers"), "allocatorWrappers", problems),
        trusted_unc_hosts=_strings(data.get("trustedUncHosts"), "trustedUncHosts", problems),
        problems=tuple(problems),
    )
