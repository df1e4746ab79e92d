"""Public symbol names as the debugger prints them.

Publics keep the linker's decorated names: ``_DriverEntry@8`` and
``@IofCompleteRequest@8`` on x86, ``?NewStream@CMiniport@@QEAAJKPEAX@Z`` for
C++. WinDbg shows ``DriverEntry`` and ``CMiniport::NewStream``. Only the
common shapes are undone here; anything else keeps its decorated name.
"""

from __future__ import annotations

import re

_X86_STDCALL = re.compile(r"^_([A-Za-z_$?][\w$?]*)@\d+$")
_X86_FASTCALL = re.compile(r"^@([A-Za-z_$?][\w$?]*)@\d+$")
_VECTORCALL = re.compile(r"^([A-Za-z_$?][\w$?]*)@@\d+$")


def undecorate(name: str, x86: bool) -> str:
    """The name WinDbg would print for the public ``name``."""
    if name.startswith("?"):
        return _undecorate_cpp(name) or name
    m = _VECTORCALL.match(name)
    if m:
        return m.group(1)
    if x86:
        m = _X86_STDCALL.match(name) or _X86_FASTCALL.match(name)
        if m:
            return m.group(1)
        if name.startswith("_") and len(name) > 1:
            return name[1:]
    return name


def _undecorate_cpp(name: str) -> str | None:
    """``Scope::Name`` for simple MSVC-mangled names, None for anything harder."""
    special = None
    pos = 1
    if name.startswith("??0"):
        special, pos = "ctor", 3
    elif name.startswith("??1"):
        special, pos = "dtor", 3
    elif name.startswith("??"):
        return None  # operators, vftables, string literals, templates
    parts: list[str] = []
    while pos < len(name):
        if name[pos] == "@":
            break  # "@@": end of the qualified name
        if name[pos] in "?0123456789":
            return None  # templates, anonymous namespaces, back-references
        at = name.find("@", pos)
        if at < 0:
            return None
        parts.append(name[pos:at])
        pos = at + 1
    if not parts:
        return None
    parts.reverse()
    if special == "ctor":
        parts.append(parts[-1])
    elif special == "dtor":
        parts.append("~" + parts[-1])
    return "::".join(parts)
