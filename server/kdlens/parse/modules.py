"""Module lists: ``lm`` (and ``lmv``/``lmvm``) tables and ``!lmi`` reports (FORMATS.md section 9).

A leak or a bug check names a driver; these records say where that driver
sits in memory (start/end), which image and symbols the debugger used, and
whether the driver was already unloaded. ``lm`` is read from its column
header (the command echo varies: ``lm``, ``lm m s*``, ``lmmntdll``, ``lmvm x``),
``!lmi`` from its ``Loaded Module Info:`` line.

Normalisations: a PDB GUID is stored upper case without braces (dashes
kept); the PDB ``Age`` is read as hex (the debugger writes it into symbol
store folder names in hex); an ``lm`` marker letter (``C``, ``T``...) goes into
``properties["marker"]``; for ``!lmi`` the end address is computed as Base
Address + Size, so its ``Num`` carries the ``Size`` value's range.
"""

from __future__ import annotations

import re

from ..model import ModuleInfo, Num, Range
from ..numbers import hex_int, parse_hex
from .core import Cursor, block

_A = r"[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?"
_ROW = re.compile(
    rf"(?P<ind>[ \t]*)(?P<start>{_A})[ \t]+(?P<end>{_A})[ \t]+(?P<name>[^\s(]\S*)"
    r"(?:[ \t]+(?P<marker>[A-Z#$*])(?=[ \t]|$))?"
    r"(?:[ \t]+\((?P<status>[^()]*)\))?"
    r"(?:[ \t]+(?P<file>\S(?:.*\S)?))?[ \t]*$"
)
_HEADER_RE = r"^[ \t]*start[ \t]+end[ \t]+module name"
_UNLOADED_RE = r"^[ \t]*Unloaded modules:"
_UNLOADED = re.compile(_UNLOADED_RE)
_KEY = re.compile(r"(?P<ind>[ \t]+)(?P<key>[A-Za-z][^:]*?):(?:[ \t]+(?P<value>.*))?$")
_SKIP = re.compile(
    r"[ \t]*(?:Browse full module list|\.{3,}[ \t]*$|…|\*\*\*|DBGHELP:|SYMSRV:|Loading symbols)"
)
_STAMP_PAREN = re.compile(r"\((?P<v>[0-9a-fA-F]{8})\)[ \t]*$")
_STAMP_LEAD = re.compile(r"(?P<v>[0-9a-fA-F]{8})\b")
_HEX = re.compile(r"[0-9a-fA-F]+")

_LMI_RE = r"^[ \t]*Loaded Module Info:"
_LMI = re.compile(r"(?P<ind>[ \t]*)Loaded Module Info:[ \t]*\[(?P<arg>[^\]]*)\]")
_LMI_KEYS = (
    "Module|Base Address|Image Name|Machine Type|Time Stamp|Size|CheckSum|Characteristics"
    "|Debug Data Dirs|Image Type|Symbol Type|Compiler|Load Report"
)
_LMI_KEY = re.compile(rf"(?P<ind>[ \t]*)(?P<key>{_LMI_KEYS}):(?:[ \t]+(?P<value>.*))?$")
_LMI_ANY_KEY = re.compile(
    r"(?P<ind>[ \t]*)(?P<key>[A-Za-z][A-Za-z ]*[A-Za-z]):(?:[ \t]+(?P<value>.*))?$"
)
_GUID = re.compile(r"GUID:[ \t]*\{?(?P<guid>[0-9a-fA-F-]{32,36})\}?")
_AGE = re.compile(r"Age:[ \t]*(?P<age>[0-9a-fA-F]+),[ \t]*Pdb:[ \t]*(?P<pdb>.*)$")


def _extent(cur: Cursor, i: int) -> tuple[int, int]:
    line = cur.text(i)
    return len(line) - len(line.lstrip()), len(line.rstrip())


def _extend(cur: Cursor, mod: ModuleInfo, i: int) -> None:
    _, e = _extent(cur, i)
    mod.range = Range(mod.range.start, cur.rng(i, e, e).end)


def _row(cur: Cursor, i: int, unloaded: bool) -> tuple[ModuleInfo, int] | None:
    m = _ROW.match(cur.text(i))
    if not m:
        return None
    s, e = _extent(cur, i)
    mod = ModuleInfo(
        name=m.group("name"),
        name_range=cur.group_range(i, m, "name"),
        range=cur.rng(i, s, e),
        start=cur.num(i, m, "start"),
        end=cur.num(i, m, "end"),
        symbol_status=m.group("status").strip() if m.group("status") is not None else None,
        symbol_file=m.group("file").rstrip() if m.group("file") else None,
        unloaded=unloaded,
    )
    if m.group("marker"):
        mod.properties["marker"] = m.group("marker")
    if unloaded:
        mod.image_name = mod.name
    return mod, len(m.group("ind").expandtabs())


def _verbose(cur: Cursor, mod: ModuleInfo, i: int) -> None:
    """One ``lmv`` property line (``Image path: ...``) of ``mod``."""
    m = _KEY.match(cur.text(i))
    _extend(cur, mod, i)
    if not m:
        return  # hyperlink text (``Browse all global symbols``) and remarks
    key = m.group("key").strip()
    value = (m.group("value") or "").rstrip()
    if key == "Image path":
        mod.image_path = value
    elif key == "Image name":
        mod.image_name = value
    elif key == "Timestamp":
        stamp = _STAMP_PAREN.search(value) or _STAMP_LEAD.match(value)
        if stamp:
            mod.timestamp = int(stamp.group("v"), 16)
        mod.properties[key] = value
    elif key in ("CheckSum", "ImageSize") and _HEX.fullmatch(value):
        # (None for a value too long to be one)
        if key == "CheckSum":
            mod.checksum = hex_int(value)
        else:
            mod.image_size = hex_int(value)
    elif value:
        mod.properties[key] = value


def _read_list(cur: Cursor, first: int, unloaded: bool) -> int:
    """Module rows from ``first``; returns the first line not consumed."""
    end = min(cur.end, len(cur.doc))
    current: ModuleInfo | None = None
    row_indent = 0
    consumed = first
    i = first
    while i < end:
        line = cur.text(i)
        if not line.strip():
            j = i + 1
            while j < end and not cur.text(j).strip():
                j += 1
            if j < end and not unloaded and _UNLOADED.match(cur.text(j)):
                i = j
                continue
            break
        if _UNLOADED.match(line):
            unloaded = True
            current = None
            i += 1
            consumed = i
            continue
        row = _row(cur, i, unloaded)
        if row is not None:
            current, row_indent = row
            cur.session.modules.append(current)
            i += 1
            consumed = i
            continue
        indent = len(line) - len(line.lstrip())
        if current is not None and not unloaded and len(line[:indent].expandtabs()) > row_indent:
            _verbose(cur, current, i)
            i += 1
            consumed = i
            continue
        if _SKIP.match(line):
            i += 1
            continue
        break
    return consumed


@block("lm", _HEADER_RE)
def lm_table(cur: Cursor) -> int | None:
    """``start end module name`` and the rows (plus verbose lines) below it."""
    nxt = _read_list(cur, cur.line + 1, unloaded=False)
    return max(nxt, cur.line + 1)


@block("lm-unloaded", _UNLOADED_RE)
def unloaded_list(cur: Cursor) -> int | None:
    """An ``Unloaded modules:`` list met on its own."""
    return _read_list(cur, cur.line, unloaded=False)


# --------------------------------------------------------------------------- !lmi


def _lmi_key(line: str, colon_col: int) -> re.Match[str] | None:
    m = _LMI_KEY.match(line)
    if m:
        return m
    m = _LMI_ANY_KEY.match(line)
    if m and m.end("key") == colon_col:
        return m
    return None


@block("lmi", _LMI_RE)
def lmi(cur: Cursor) -> int | None:
    """``!lmi``: right-aligned ``Key: value`` lines with indented continuations."""
    first = cur.text(cur.line)
    head = _LMI.match(first)
    if not head:
        return None
    base = len(head.group("ind"))
    colon_col = base + 15
    end = min(cur.end, len(cur.doc))
    s, e = _extent(cur, cur.line)
    arg = head.group("arg").strip()
    mod = ModuleInfo(
        name=arg, name_range=cur.group_range(cur.line, head, "arg"), range=cur.rng(cur.line, s, e)
    )
    size: Num | None = None
    key = ""
    values: dict[str, list[str]] = {}
    i = cur.line + 1
    while i < end:
        line = cur.text(i)
        if not line.strip():
            break
        m = _lmi_key(line, colon_col)
        if m:
            key = m.group("key")
            value = (m.group("value") or "").rstrip()
            values.setdefault(key, []).append(value)
            if key == "Module" and value:
                mod.name = value
                mod.name_range = cur.group_range(i, m, "value")
            elif key == "Base Address":
                mod.start = cur.num(i, m, "value")
            elif key == "Size":
                size = cur.num(i, m, "value")
            elif key == "Image Name":
                mod.image_name = value
            elif key == "Time Stamp":
                stamp = _STAMP_LEAD.match(value)
                if stamp:
                    mod.timestamp = int(stamp.group("v"), 16)
            elif key == "CheckSum":
                mod.checksum = parse_hex(value)
            elif key == "Load Report":
                mod.symbol_status = value
        elif key and line[:1].isspace():
            text = line.strip()
            values.setdefault(key, []).append(text)
            if key == "Debug Data Dirs":
                g = _GUID.search(text)
                if g:
                    mod.pdb_guid = g.group("guid").replace("{", "").replace("}", "").upper()
                a = _AGE.search(text)
                if a:
                    mod.pdb_age = hex_int(a.group("age"))
                    mod.symbol_file = a.group("pdb").rstrip()
        else:
            break
        _extend(cur, mod, i)
        i += 1
    if size is not None:
        mod.image_size = size.value
        if mod.start is not None:
            total = mod.start.value + size.value
            mod.end = Num(total, f"{total:x}", size.range)
    for k, vals in values.items():
        if k not in ("Module", "Base Address", "Size", "Image Name", "CheckSum"):
            mod.properties[k] = "\n".join(v for v in vals if v)
    cur.session.modules.append(mod)
    return i
