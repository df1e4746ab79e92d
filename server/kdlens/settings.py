"""Every user setting of kdlens, declared once for the command line and the editor.

A setting is one ``Option`` row in ``OPTIONS``: its field on ``Settings``, its
key in the editor's ``kdlens`` settings object, its ``kdlens check`` flag and
the kind of value it holds. ``Settings.from_json`` (language server) and
``Settings.from_args`` (command line) both read that table, so adding a
setting means adding a field and a row here, and the matching entry in the
VS Code manifest (``client/package.json``); nothing else.

``_NT_SYMBOL_PATH`` is merged into the symbol path here and nowhere else.
Malformed values never stop kdlens: they are dropped and described in
``Settings.problems`` for the caller to show.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from .analysis import AnalysisSettings

#: The environment variable debuggers read for their symbol path.
SYMBOL_PATH_VARIABLE = "_NT_SYMBOL_PATH"


class Kind(Enum):
    """How an option's value is written in JSON and on the command line."""

    #: A list of strings; repeatable flag.
    STRINGS = "strings"
    #: ``_NT_SYMBOL_PATH`` syntax: one string with ``;`` separators, or a list.
    SYMBOL_PATH = "symbol-path"
    #: Build-path prefix -> local folder: a JSON object, or ``FROM=TO`` flags.
    SOURCE_MAP = "source-map"
    #: One file path: a JSON string, or a flag (the last one given wins).
    PATH = "path"
    #: One string that is not a path (a URL): like ``PATH`` without folder expansion.
    TEXT = "text"
    #: A whole number of at least 1.
    INTEGER = "integer"


@dataclass(frozen=True)
class Option:
    """One user setting: where it lives in each front end (``flag`` None: the editor's only)."""

    name: str
    key: str
    flag: str | None
    kind: Kind
    help: str
    metavar: str


OPTIONS: tuple[Option, ...] = (
    Option(
        "symbol_path",
        "symbolPath",
        "--symbol-path",
        Kind.SYMBOL_PATH,
        "symbol search path in _NT_SYMBOL_PATH syntax (repeatable; "
        "the _NT_SYMBOL_PATH variable is read too)",
        "P",
    ),
    Option(
        "source_map",
        "sourceMap",
        "--source-map",
        Kind.SOURCE_MAP,
        "map a build-path prefix to a local folder (repeatable)",
        "FROM=TO",
    ),
    Option(
        "allocator_wrappers",
        "allocatorWrappers",
        "--allocator-wrapper",
        Kind.STRINGS,
        "extra module!function pattern of an allocation helper to look past (repeatable)",
        "GLOB",
    ),
    Option(
        "trusted_unc_hosts",
        "trustedUncHosts",
        "--trust-unc-host",
        Kind.STRINGS,
        "host whose \\\\host\\share paths may be opened (repeatable; none by default)",
        "HOST",
    ),
    Option(
        "trusted_symbol_servers",
        "trustedSymbolServers",
        "--trust-symbol-server",
        Kind.STRINGS,
        "URL prefix of a symbol server kdlens may download from when the symbol path "
        "names it (repeatable; none by default)",
        "URL",
    ),
    Option(
        "symbol_server_auth",
        "symbolServerAuth",
        "--symbol-server-auth",
        Kind.SOURCE_MAP,
        "send the value of environment variable VAR as the Authorization of requests "
        "to symbol servers under URL (repeatable)",
        "URL=VAR",
    ),
    Option(
        "my_modules",
        "myModules",
        "--my-module",
        Kind.STRINGS,
        "a module of yours (name or glob; repeatable): crash triage counts its frames as your code",
        "NAME",
    ),
    Option(
        "pool_tag_file",
        "poolTagFile",
        "--pool-tag-file",
        Kind.PATH,
        "your Debugging Tools' pooltag.txt: pool tag hovers name the owner it lists",
        "FILE",
    ),
    Option(
        "http_proxy",
        "httpProxy",
        "--http-proxy",
        Kind.TEXT,
        "proxy for symbol-server requests (http://host:port); default: the HTTPS_PROXY and "
        "HTTP_PROXY variables (in VS Code: its http.proxy setting)",
        "URL",
    ),
    # Editor only: an editor slows down and the server spends seconds converting
    # hundreds of thousands of diagnostics, while ``kdlens check`` writes a report
    # meant to hold every finding, so it has no such flag.
    Option(
        "max_diagnostics",
        "maxDiagnostics",
        None,
        Kind.INTEGER,
        "most diagnostics published on one file; the rest are summed up per table and call site",
        "N",
    ),
)


class SettingsError(ValueError):
    """A command-line value that cannot be read (the command line is strict; JSON is not)."""


@dataclass(frozen=True)
class Settings:
    """What the user configured, whichever front end it came through."""

    symbol_path: tuple[str, ...] = ()
    source_map: tuple[tuple[str, str], ...] = ()
    allocator_wrappers: tuple[str, ...] = ()
    trusted_unc_hosts: tuple[str, ...] = ()
    trusted_symbol_servers: tuple[str, ...] = ()
    symbol_server_auth: tuple[tuple[str, str], ...] = ()
    my_modules: tuple[str, ...] = ()
    #: The user's own pooltag.txt (never shipped with kdlens); "" for none.
    pool_tag_file: str = ""
    http_proxy: str = ""
    max_diagnostics: int = 2000
    #: What was wrong with the raw values (dropped), for the caller to show.
    problems: tuple[str, ...] = field(default=(), compare=False)

    def analysis(self) -> AnalysisSettings:
        """The part the analysis reads."""
        return AnalysisSettings(
            allocator_wrappers=self.allocator_wrappers, my_modules=self.my_modules
        )

    @staticmethod
    def from_json(
        raw: Any,
        workspace_folders: Sequence[Path] = (),
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Settings from an editor's ``kdlens`` object (or an object holding one).

        ``${workspaceFolder}`` in source-map targets expands to the first folder.
        """
        data = _unwrap(raw)
        folder = str(workspace_folders[0]) if workspace_folders else ""
        problems: list[str] = []
        values: dict[str, Any] = {}
        for opt in OPTIONS:
            value = data.get(opt.key)
            if value is None:
                continue
            read = _from_json(opt, value, folder, problems)
            if read is not _DEFAULT:
                values[opt.name] = read
        return _finish(values, problems, environ)

    @staticmethod
    def from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the flags ``add_arguments`` declared; malformed ones raise."""
        values: dict[str, Any] = {}
        for opt in OPTIONS:
            if opt.flag is None:
                continue
            raw: list[str] = getattr(args, opt.name, None) or []
            values[opt.name] = _from_flags(opt, raw)
        return _finish(values, [], environ)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare every option that has a flag as a repeatable flag of ``parser``."""
    for opt in OPTIONS:
        if opt.flag is None:
            continue
        parser.add_argument(
            opt.flag,
            dest=opt.name,
            metavar=opt.metavar,
            action="append",
            default=[],
            help=opt.help,
        )


def split_symbol_path(value: str) -> tuple[str, ...]:
    """``_NT_SYMBOL_PATH`` syntax: elements separated by ``;``, empty ones dropped."""
    return tuple(p.strip() for p in value.split(";") if p.strip())


def _finish(
    values: dict[str, Any], problems: list[str], environ: Mapping[str, str] | None
) -> Settings:
    env = os.environ if environ is None else environ
    extra = split_symbol_path(env.get(SYMBOL_PATH_VARIABLE, ""))
    settings = Settings(**values, problems=tuple(problems))
    if extra:
        settings = replace(settings, symbol_path=settings.symbol_path + extra)
    return settings


def _unwrap(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        inner = raw.get("kdlens")
        return inner if isinstance(inner, dict) else raw
    return {}


#: What ``_from_json`` answers for a value dropped in favour of the field's default.
_DEFAULT = object()


def _from_json(opt: Option, value: Any, folder: str, problems: list[str]) -> Any:
    if opt.kind is Kind.INTEGER:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        problems.append(f"kdlens.{opt.key} should be a whole number of at least 1; ignored")
        return _DEFAULT
    if opt.kind is Kind.SYMBOL_PATH and isinstance(value, str):
        return split_symbol_path(value)
    if opt.kind in (Kind.PATH, Kind.TEXT):
        if isinstance(value, str):
            text = value.strip()
            return text.replace("${workspaceFolder}", folder) if opt.kind is Kind.PATH else text
        problems.append(f"kdlens.{opt.key} should be a string; ignored")
        return ""
    if opt.kind in (Kind.STRINGS, Kind.SYMBOL_PATH):
        if isinstance(value, str):
            return (value,) if value.strip() else ()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(v.strip() for v in value if v.strip())
        problems.append(f"kdlens.{opt.key} should be a list of strings; ignored")
        return ()
    # Kind.SOURCE_MAP
    if not isinstance(value, dict):
        what = opt.metavar.replace("=", " -> ")
        problems.append(f"kdlens.{opt.key} should be an object of {what}; ignored")
        return ()
    pairs: list[tuple[str, str]] = []
    for k, v in value.items():
        if isinstance(k, str) and isinstance(v, str) and k and v:
            pairs.append((k, v.replace("${workspaceFolder}", folder)))
        else:
            problems.append(f"kdlens.{opt.key} entry {k!r} is not a string pair; ignored")
    return tuple(pairs)


def _from_flags(opt: Option, raw: Sequence[str]) -> Any:
    if opt.kind is Kind.SYMBOL_PATH:
        return tuple(p for v in raw for p in split_symbol_path(v))
    if opt.kind is Kind.STRINGS:
        return tuple(v for v in raw if v.strip())
    if opt.kind in (Kind.PATH, Kind.TEXT):
        given = [v.strip() for v in raw if v.strip()]
        return given[-1] if given else ""
    pairs: list[tuple[str, str]] = []
    for v in raw:
        src, sep, dst = v.partition("=")
        if not sep or not src or not dst:
            raise SettingsError(f"{opt.flag} expects {opt.metavar}, got '{v}'")
        pairs.append((src, dst))
    return tuple(pairs)
