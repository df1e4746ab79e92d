"""Reading the JSON data files shipped in ``knowledge/data`` into typed records.

The JSON is compiled from the sources in ``knowledge/src`` (``tools/gen_knowledge.py``); only
the JSON ships. Each file is read at most once per process (``functools.cache``) and only when first asked
for, so importing kdlens costs nothing. Malformed data raises ``KnowledgeDataError``: the
files are generated and committed, so a bad shape is a packaging bug worth failing loudly on.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .records import (
    ArgMeaning,
    ArgVariant,
    BugCheckInfo,
    C4Subcode,
    DisplayBit,
    FlagBugCheck,
    FlagInfo,
    PoolTypeInfo,
    StatusInfo,
    TagInfo,
    VerifierStopInfo,
)

_PACKAGE = "kdlens.knowledge"
DATA_FILES = (
    "bugchecks.json",
    "c4.json",
    "verifier_flags.json",
    "pool_tags.json",
    "status_codes.json",
    "irql.json",
    "pool_types.json",
    "app_verifier.json",
)


class KnowledgeDataError(ValueError):
    """A data file does not have the expected shape."""


def read_data(name: str) -> dict[str, Any]:
    """The parsed content of one data file (a JSON object)."""
    text = resources.files(_PACKAGE).joinpath("data").joinpath(name).read_text(encoding="utf-8")
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise KnowledgeDataError(f"{name}: top level is not an object")
    return doc


# ----------------------------------------------------------------------------- field access


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise KnowledgeDataError(f"{where}: missing {key!r}")
    value = obj[key]
    if isinstance(value, bool) and kind is int:
        raise KnowledgeDataError(f"{where}: {key!r} is a bool, not an int")
    if not isinstance(value, kind):
        raise KnowledgeDataError(f"{where}: {key!r} has type {type(value).__name__}")
    return value


def _str(obj: dict[str, Any], key: str, where: str) -> str:
    value: str = _get(obj, key, str, where)
    return value


def _opt_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    if obj.get(key) is None:
        return None
    return _str(obj, key, where)


def _int(obj: dict[str, Any], key: str, where: str) -> int:
    value: int = _get(obj, key, int, where)
    return value


def _opt_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    if obj.get(key) is None:
        return None
    return _int(obj, key, where)


def _bool(obj: dict[str, Any], key: str, where: str) -> bool:
    value: bool = _get(obj, key, bool, where)
    return value


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value: list[Any] = _get(obj, key, list, where)
    return value


def _objects(obj: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = _list(obj, key, where)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise KnowledgeDataError(f"{where}.{key}[{i}] is not an object")
    return items


def _strs(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = _list(obj, key, where) if key in obj else []
    if not all(isinstance(s, str) for s in items):
        raise KnowledgeDataError(f"{where}: {key!r} must hold strings")
    return tuple(items)


def _ints(obj: dict[str, Any], key: str, where: str) -> tuple[int, ...]:
    items = _list(obj, key, where) if key in obj else []
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in items):
        raise KnowledgeDataError(f"{where}: {key!r} must hold integers")
    return tuple(items)


def _args(obj: dict[str, Any], key: str, where: str) -> tuple[ArgMeaning, ...]:
    out: list[ArgMeaning] = []
    for a in _objects(obj, key, where) if key in obj else []:
        w = f"{where}.{key}"
        out.append(ArgMeaning(_int(a, "index", w), _str(a, "label", w), _str(a, "meaning", w)))
    return tuple(out)


# ----------------------------------------------------------------------------- loaders


@cache
def bugcheck_table() -> dict[int, BugCheckInfo]:
    """All bug check and live-dump codes by code."""
    doc = read_data("bugchecks.json")
    table: dict[int, BugCheckInfo] = {}
    for row in _objects(doc, "bugchecks", "bugchecks.json"):
        code = _int(row, "code", "bugchecks.json")
        where = f"bugchecks.json[0x{code:X}]"
        variants = tuple(
            ArgVariant(
                _ints(v, "values", where), _str(v, "meaning", where), _args(v, "args", where)
            )
            for v in (_objects(row, "variants", where) if "variants" in row else [])
        )
        table[code] = BugCheckInfo(
            code=code,
            name=_str(row, "name", where),
            url=_str(row, "url", where),
            live_dump=_bool(row, "live_dump", where),
            summary=_opt_str(row, "summary", where),
            args=_args(row, "args", where),
            selector=_opt_int(row, "selector", where),
            variants=variants,
            hints=_strs(row, "hints", where),
            arg1_table=_opt_str(row, "arg1_table", where),
            labels=_strs(row, "labels", where),
            arg_kinds=tuple(
                (_int(k, "index", where), _str(k, "kind", where))
                for k in (_objects(row, "arg_kinds", where) if "arg_kinds" in row else [])
            ),
            access_kinds=tuple(
                (_int(k, "value", where), _str(k, "kind", where))
                for k in (_objects(row, "access_kinds", where) if "access_kinds" in row else [])
            ),
        )
    return table


@cache
def c4_table() -> dict[int, C4Subcode]:
    """The Arg1 values of bug check 0xC4 by value."""
    doc = read_data("c4.json")
    table: dict[int, C4Subcode] = {}
    for row in _objects(doc, "subcodes", "c4.json"):
        arg1 = _int(row, "arg1", "c4.json")
        where = f"c4.json[0x{arg1:X}]"
        table[arg1] = C4Subcode(
            arg1=arg1,
            meaning=_str(row, "meaning", where),
            args=_args(row, "args", where),
            group=_str(row, "group", where),
            rule=_opt_str(row, "rule", where),
            option_name=_opt_str(row, "option_name", where),
            option_value=_opt_int(row, "option_value", where),
            option_basis=_opt_str(row, "option_basis", where),
            explanation=_opt_str(row, "explanation", where),
            hints=_strs(row, "hints", where),
        )
    return table


@cache
def flag_table() -> dict[int, FlagInfo]:
    """Driver Verifier option bits by mask value (0 = Automatic Checks)."""
    doc = read_data("verifier_flags.json")
    table: dict[int, FlagInfo] = {}
    for row in _objects(doc, "options", "verifier_flags.json"):
        value = _int(row, "value", "verifier_flags.json")
        where = f"verifier_flags.json options[0x{value:X}]"
        checks = tuple(
            FlagBugCheck(_int(b, "code", where), _ints(b, "arg1", where), _str(b, "note", where))
            for b in _objects(row, "bugchecks", where)
        )
        table[value] = FlagInfo(
            value=value,
            bit=_opt_int(row, "bit", where),
            name=_str(row, "name", where),
            ext_name=_opt_str(row, "ext_name", where),
            legacy_name=_opt_str(row, "legacy_name", where),
            legacy_name_basis=_opt_str(row, "legacy_name_basis", where),
            querysettings_name=_opt_str(row, "querysettings_name", where),
            standard=_bool(row, "standard", where),
            volatile=_bool(row, "volatile", where),
            description=_str(row, "description", where),
            bugchecks=checks,
        )
    return table


@cache
def display_table() -> dict[int, DisplayBit]:
    """Bits of the ``!verifier`` extension's first argument by value."""
    doc = read_data("verifier_flags.json")
    table: dict[int, DisplayBit] = {}
    for row in _objects(doc, "display_bits", "verifier_flags.json"):
        value = _int(row, "value", "verifier_flags.json")
        where = f"verifier_flags.json display_bits[0x{value:X}]"
        table[value] = DisplayBit(
            value=value,
            bit=_int(row, "bit", where),
            name=_str(row, "name", where),
            meaning=_str(row, "meaning", where),
            extra_args=_str(row, "extra_args", where),
        )
    return table


@cache
def tag_table() -> dict[str, TagInfo]:
    """Documented pool tags by their exact four characters."""
    doc = read_data("pool_tags.json")
    table: dict[str, TagInfo] = {}
    for row in _objects(doc, "tags", "pool_tags.json"):
        tag = _str(row, "tag", "pool_tags.json")
        where = f"pool_tags.json[{tag!r}]"
        table[tag] = TagInfo(
            tag=tag,
            owner=_str(row, "owner", where),
            meaning=_str(row, "meaning", where),
            basis=_str(row, "basis", where),
            verifier=_bool(row, "verifier", where),
            allocator=_opt_str(row, "allocator", where),
            release=_opt_str(row, "release", where),
        )
    return table


@cache
def status_table() -> dict[int, StatusInfo]:
    """NTSTATUS and exception codes by 32-bit value."""
    doc = read_data("status_codes.json")
    table: dict[int, StatusInfo] = {}
    for row in _objects(doc, "codes", "status_codes.json"):
        code = _int(row, "code", "status_codes.json")
        where = f"status_codes.json[0x{code:08X}]"
        table[code] = StatusInfo(
            code=code,
            name=_str(row, "name", where),
            meaning=_str(row, "meaning", where),
            group=_str(row, "group", where),
        )
    return table


@cache
def irql_table() -> dict[tuple[str, int], str]:
    """IRQL names by (architecture, level)."""
    doc = read_data("irql.json")
    table: dict[tuple[str, int], str] = {}
    for row in _objects(doc, "levels", "irql.json"):
        table[(_str(row, "arch", "irql.json"), _int(row, "value", "irql.json"))] = _str(
            row, "name", "irql.json"
        )
    return table


@cache
def pool_type_table() -> dict[int, PoolTypeInfo]:
    """``_POOL_TYPE`` values."""
    doc = read_data("pool_types.json")
    table: dict[int, PoolTypeInfo] = {}
    for row in _objects(doc, "types", "pool_types.json"):
        value = _int(row, "value", "pool_types.json")
        where = f"pool_types.json[{value}]"
        table[value] = PoolTypeInfo(value, _str(row, "name", where), _bool(row, "paged", where))
    return table


@cache
def app_verifier_table() -> dict[int, VerifierStopInfo]:
    """Application Verifier stops by stop code."""
    doc = read_data("app_verifier.json")
    table: dict[int, VerifierStopInfo] = {}
    for row in _objects(doc, "stops", "app_verifier.json"):
        code = _int(row, "code", "app_verifier.json")
        where = f"app_verifier.json[0x{code:X}]"
        table[code] = VerifierStopInfo(
            code=code,
            name=_str(row, "name", where),
            layer=_str(row, "layer", where),
            meaning=_str(row, "meaning", where),
            args=_args(row, "args", where),
        )
    return table
