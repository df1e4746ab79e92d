"""Compiling the knowledge sources (``knowledge/src``) into the shipped JSON (``knowledge/data``).

The sources are the single place where a fact or an explanation is written (see
``knowledge.source`` for the format and why it was chosen). Compiling checks them thoroughly
(every reference resolves, every bug check with an explanation explains four arguments, per-value
tables are keyed by a valid argument, no code appears twice) and renders stable JSON, which
is committed: kdlens reads only the JSON at run time, so an installed copy needs neither the
sources nor this module, and a test checks that the committed JSON is what the sources give.

``tools/gen_knowledge.py`` is the command-line front end (``--check`` compares only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .source import (
    Section,
    SourceError,
    parse_int,
    parse_int_list,
    read_markdown,
    read_table,
)

SRC = Path(__file__).resolve().parent / "src"
DATA = Path(__file__).resolve().parent / "data"
DOC_BASE = "https://learn.microsoft.com/windows-hardware/drivers/debugger/"

_NAME = re.compile(r"^[A-Z0-9_]+$")
_BUGCHECK_FILE = re.compile(r"^(0x[0-9A-F]{8})-([A-Z0-9_]+)\.md$")
_ARG_ITEM = re.compile(r"^Arg([1-4])\s+([^:]+?)\s*(?::\s*(.*))?$")
_ARG_HEADING = re.compile(r"^Arg([1-4])$")
_VALUES_HEADING = re.compile(r"^Values of Arg([1-4])$")
_LABEL_ITEM = re.compile(r"^([^:]+?):\s*(.+)$")
_FLAG_CHECK = re.compile(r"^(0x[0-9A-Fa-f]+)(?:\s+Arg1\s+([0-9A-Fa-fx, ]+?))?\s*(?::\s*(.*))?$")
_STATUS_ITEM = re.compile(r"^(0x[0-9A-Fa-f]{8})\s+([A-Za-z0-9_]+):\s*(.+)$")
_STOP_HEADING = re.compile(r"^(0x[0-9A-Fa-f]+)\s+([A-Z0-9_]+)$")
_TAG_HEADING = re.compile(r"^`([^`]{4})`$")

ARG_KINDS = ("status", "irql", "pool-type", "access")
ACCESS_KINDS = ("read", "write", "execute")
C4_GROUPS = (
    "core",
    "deadlock",
    "code integrity",
    "VM switch",
    "DDI rule",
    "AVStream rule",
    "NDIS/WIFI rule",
)
OPTION = re.compile(r"^(?P<name>.*?)\s*\((?P<value>0x[0-9A-Fa-f]+|[^)]*)\)$")

# Sections a bug check explanation may have (besides "Values of ArgN").
_BUGCHECK_SECTIONS = {"summary", "arg1", "arg2", "arg3", "arg4", "hints"}
_BUGCHECK_FIELDS = {"code", "name", "arg1-table"}


def doc_url(page: str) -> str:
    """The published address of a documentation page given its path in the docs repository."""
    return DOC_BASE + Path(page).stem.lower()


def _hex(value: int) -> str:
    return f"0x{value:X}"


def _only_fields(section: Section, allowed: set[str]) -> None:
    extra = set(section.fields) - allowed
    if extra:
        raise section.error(f"unknown field(s) {sorted(extra)}")


def _no_stray_text(section: Section) -> None:
    if section.paragraphs or section.items:
        raise section.error("text outside a section")


def _items_only(section: Section) -> list[str]:
    if section.paragraphs or section.children or section.fields:
        raise section.error("expected only a list of '- ' items")
    return section.items


def _paragraph(section: Section, what: str) -> str:
    if section.items or section.children or not section.paragraphs:
        raise section.error(f"expected {what} as plain text")
    return section.text


# ----------------------------------------------------------------------------- bug checks


def _bugcheck_table(src: Path) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    names: set[str] = set()
    for row in read_table(src / "bugchecks.tsv", src):
        where = row["_where"]
        code = parse_int(row["code"], where)
        if code in rows:
            raise SourceError(f"{where}: code {_hex(code)} listed twice")
        if not _NAME.match(row["name"]) or row["name"] in names:
            raise SourceError(f"{where}: bad or repeated name {row['name']!r}")
        names.add(row["name"])
        if row["listed"] not in ("bugcheck", "livedump", "both"):
            raise SourceError(f"{where}: listed must be bugcheck, livedump or both")
        page = row["page"]
        if not re.fullmatch(
            r"windows-driver-docs-pr/debugger/bug-check-0x[0-9a-fA-F]+-[a-z0-9-]+\.md", page
        ):
            raise SourceError(f"{where}: unexpected documentation page {page!r}")
        labels = [row[f"arg{i}"] for i in (1, 2, 3, 4)]
        if any(labels) and not all(labels):
            raise SourceError(f"{where}: give all four argument labels or none")
        if any(":" in label for label in labels):
            raise SourceError(f"{where}: a label may not hold ':'")
        rows[code] = {"code": code, "row": row, "labels": labels}
    return rows


def _variants(section: Section, selector: int) -> list[dict[str, Any]]:
    _no_stray_text(section)
    if section.fields:
        raise section.error("no fields expected here")
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for case in section.children:
        values = parse_int_list(case.title, case.where)
        if not values:
            raise case.error("a value heading needs at least one value")
        for v in values:
            if v in seen:
                raise case.error(f"value {_hex(v)} listed twice")
            seen.add(v)
        if case.children or case.fields or len(case.paragraphs) != 1:
            raise case.error("a value entry is one paragraph and optional Arg items")
        args: dict[int, dict[str, Any]] = {}
        for item in case.items:
            m = _ARG_ITEM.match(item)
            if not m:
                raise case.error(f"not an 'ArgN label: meaning' item: {item!r}")
            index = int(m.group(1))
            if index == selector:
                raise case.error(f"Arg{index} is the selector; describe it in the paragraph")
            if index in args:
                raise case.error(f"Arg{index} given twice")
            args[index] = {"index": index, "label": m.group(2), "meaning": m.group(3) or ""}
        out.append(
            {
                "values": values,
                "meaning": case.paragraphs[0],
                "args": [args[i] for i in sorted(args)],
            }
        )
    if not out:
        raise section.error("a per-value table needs at least one value")
    return out


def _explanation(path: Path, src: Path, table: dict[int, dict[str, Any]]) -> dict[str, Any]:
    doc = read_markdown(path, src)
    m = _BUGCHECK_FILE.match(path.name)
    if not m:
        raise doc.error("file name must be 0xXXXXXXXX-NAME.md (eight upper-case hex digits)")
    _only_fields(doc, _BUGCHECK_FIELDS)
    _no_stray_text(doc)
    for key in ("code", "name"):
        if key not in doc.fields:
            raise doc.error(f"missing field {key!r}")
    code = parse_int(doc.fields["code"], doc.where)
    if code != int(m.group(1), 16) or doc.fields["name"] != m.group(2):
        raise doc.error("code and name must match the file name")
    entry = table.get(code)
    if entry is None:
        raise doc.error(f"{_hex(code)} is not in bugchecks.tsv")
    if entry["row"]["name"] != doc.fields["name"]:
        raise doc.error(f"name differs from bugchecks.tsv ({entry['row']['name']})")
    labels: list[str] = entry["labels"]
    if not all(labels):
        raise doc.error("bugchecks.tsv must give the four argument labels of an explained code")
    out: dict[str, Any] = {}
    selector: int | None = None
    args: dict[int, str] = {}
    for section in doc.children:
        title = section.title
        arg = _ARG_HEADING.match(title)
        values = _VALUES_HEADING.match(title)
        if values:
            if selector is not None:
                raise section.error("only one per-value table per bug check")
            selector = int(values.group(1))
            out["variants"] = _variants(section, selector)
        elif arg:
            index = int(arg.group(1))
            if index in args:
                raise section.error(f"Arg{index} explained twice")
            args[index] = _paragraph(section, f"Arg{index}'s meaning")
        elif title.casefold() == "summary":
            if "summary" in out:
                raise section.error("summary given twice")
            out["summary"] = _paragraph(section, "the summary")
        elif title.casefold() == "hints":
            if "hints" in out:
                raise section.error("hints given twice")
            out["hints"] = _items_only(section)
        else:
            raise section.error(
                f"unknown section {title!r} (expected {sorted(_BUGCHECK_SECTIONS)})"
            )
    if "summary" not in out:
        raise doc.error("missing '## Summary'")
    if sorted(args) != [1, 2, 3, 4]:
        raise doc.error("an explanation describes all four arguments (## Arg1 .. ## Arg4)")
    out["args"] = [{"index": i, "label": labels[i - 1], "meaning": args[i]} for i in (1, 2, 3, 4)]
    if selector is not None:
        out["selector"] = selector
    out.setdefault("hints", [])
    if "arg1-table" in doc.fields:
        if doc.fields["arg1-table"] != "c4":
            raise doc.error("arg1-table can only be 'c4'")
        out["arg1_table"] = "c4"
    out["code"] = code
    return out


def _arg_kinds(src: Path, table: dict[int, dict[str, Any]]) -> dict[int, dict[int, str]]:
    kinds: dict[int, dict[int, str]] = {}
    for row in read_table(src / "arg-kinds.tsv", src):
        where = row["_where"]
        code = parse_int(row["code"], where)
        index = parse_int(row["arg"], where)
        if code not in table:
            raise SourceError(f"{where}: {_hex(code)} is not in bugchecks.tsv")
        if not 1 <= index <= 4:
            raise SourceError(f"{where}: argument must be 1..4")
        if row["kind"] not in ARG_KINDS:
            raise SourceError(f"{where}: kind must be one of {ARG_KINDS}")
        if index in kinds.setdefault(code, {}):
            raise SourceError(f"{where}: Arg{index} of {_hex(code)} given twice")
        kinds[code][index] = row["kind"]
    return kinds


def _access_kinds(
    src: Path, arg_kinds: dict[int, dict[int, str]]
) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for row in read_table(src / "access-kinds.tsv", src):
        where = row["_where"]
        code = parse_int(row["code"], where)
        value = parse_int(row["value"], where)
        if "access" not in arg_kinds.get(code, {}).values():
            raise SourceError(f"{where}: arg-kinds.tsv gives {_hex(code)} no 'access' argument")
        if row["kind"] not in ACCESS_KINDS:
            raise SourceError(f"{where}: kind must be one of {ACCESS_KINDS}")
        rows = out.setdefault(code, [])
        if any(r["value"] == value for r in rows):
            raise SourceError(f"{where}: value {value} of {_hex(code)} given twice")
        rows.append({"value": value, "kind": row["kind"]})
    for code, kinds in arg_kinds.items():
        if "access" in kinds.values() and code not in out:
            raise SourceError(f"arg-kinds.tsv: {_hex(code)} has an access argument but no values")
    return out


def build_bugchecks(src: Path) -> dict[str, Any]:
    table = _bugcheck_table(src)
    explained: dict[int, dict[str, Any]] = {}
    for path in sorted((src / "bugchecks").glob("*")):
        parsed = _explanation(path, src, table)
        explained[parsed["code"]] = parsed
    arg_kinds = _arg_kinds(src, table)
    access = _access_kinds(src, arg_kinds)
    out = []
    for code in sorted(table):
        row = table[code]["row"]
        entry: dict[str, Any] = {
            "code": code,
            "name": row["name"],
            "page": row["page"],
            "url": doc_url(row["page"]),
            "live_dump": row["listed"] in ("livedump", "both"),
        }
        if row["listed"] == "livedump":
            entry["in_bugcheck_table"] = False
        if all(table[code]["labels"]):
            entry["labels"] = table[code]["labels"]
        text = explained.get(code)
        if text:
            entry["summary"] = text["summary"]
            entry["args"] = text["args"]
            if "selector" in text:
                entry["selector"] = text["selector"]
                entry["variants"] = text["variants"]
            entry["hints"] = text["hints"]
            if "arg1_table" in text:
                entry["arg1_table"] = text["arg1_table"]
        if code in arg_kinds:
            entry["arg_kinds"] = [
                {"index": i, "kind": k} for i, k in sorted(arg_kinds[code].items())
            ]
        if code in access:
            entry["access_kinds"] = sorted(access[code], key=lambda r: r["value"])
        out.append(entry)
    return {
        "about": (
            "Bug check and live dump codes. Codes, names and pages follow the Microsoft bug "
            "check code reference; labels, summaries, argument meanings and hints are written "
            "for kdlens. Generated from knowledge/src by tools/gen_knowledge.py."
        ),
        "doc_base": DOC_BASE,
        "bugchecks": out,
    }


# ----------------------------------------------------------------------------- 0xC4


def _parse_option(text: str) -> tuple[str | None, int | None]:
    if not text:
        return None, None
    m = OPTION.match(text)
    if not m:
        return text, None
    value = m.group("value")
    return m.group("name"), int(value, 16) if value.lower().startswith("0x") else None


def _c4_group_file(doc: Section) -> tuple[str, dict[str, Any], dict[int, Section]]:
    _only_fields(doc, {"group", "meaning"})
    _no_stray_text(doc)
    group = doc.fields.get("group", "")
    if group not in C4_GROUPS:
        raise doc.error(f"group must be one of {C4_GROUPS}")
    common: dict[str, Any] = {
        "hints": [],
        "arg_meanings": {},
        "template": doc.fields.get("meaning"),
    }
    if group.endswith("rule") and not common["template"]:
        raise doc.error("a rule group needs a 'meaning:' template with {rule} and {gloss}")
    entries: dict[int, Section] = {}
    for section in doc.children:
        if section.title.casefold() == "every code":
            _no_stray_text(section)
            for sub in section.children:
                if sub.title.casefold() == "hints":
                    common["hints"] = _items_only(sub)
                elif sub.title.casefold() == "argument meanings":
                    for item in _items_only(sub):
                        m = _LABEL_ITEM.match(item)
                        if not m:
                            raise sub.error(f"not a 'label: meaning' item: {item!r}")
                        common["arg_meanings"][m.group(1)] = m.group(2)
                else:
                    raise sub.error(f"unknown section {sub.title!r}")
            continue
        arg1 = parse_int(section.title, section.where)
        if arg1 in entries:
            raise section.error(f"{_hex(arg1)} given twice")
        entries[arg1] = section
    return group, common, entries


def build_c4(src: Path) -> dict[str, Any]:
    rows: dict[int, dict[str, str]] = {}
    for row in read_table(src / "c4-subcodes.tsv", src):
        arg1 = parse_int(row["arg1"], row["_where"])
        if arg1 in rows:
            raise SourceError(f"{row['_where']}: Arg1 {_hex(arg1)} listed twice")
        if row["group"] not in C4_GROUPS:
            raise SourceError(f"{row['_where']}: unknown group {row['group']!r}")
        if any(not row[f"arg{i}"] or ":" in row[f"arg{i}"] for i in (2, 3, 4)):
            raise SourceError(f"{row['_where']}: labels must be present and hold no ':'")
        rows[arg1] = row
    groups: dict[str, tuple[dict[str, Any], dict[int, Section]]] = {}
    for path in sorted((src / "c4").glob("*")):
        group, common, entries = _c4_group_file(read_markdown(path, src))
        if group in groups:
            raise SourceError(f"{path.name}: group {group!r} has another file too")
        groups[group] = (common, entries)
    out = []
    for arg1 in sorted(rows):
        row = rows[arg1]
        common, entries = groups.get(row["group"], ({"hints": [], "arg_meanings": {}}, {}))
        section = entries.pop(arg1, None)
        if section is None:
            raise SourceError(f"c4: no entry for {_hex(arg1)} in the {row['group']!r} file")
        _only_fields(section, set())
        if len(section.paragraphs) != 1 or section.items:
            raise section.error("an entry starts with exactly one paragraph")
        if row["rule"]:
            meaning = common["template"].format(rule=row["rule"], gloss=section.paragraphs[0])
        else:
            meaning = section.paragraphs[0]
        explanation: str | None = None
        own_args: dict[int, str] = {}
        hints: list[str] = []
        for sub in section.children:
            arg = _ARG_HEADING.match(sub.title)
            if arg and int(arg.group(1)) in (2, 3, 4):
                own_args[int(arg.group(1))] = _paragraph(sub, "the argument's meaning")
            elif sub.title.casefold() == "explanation":
                explanation = _paragraph(sub, "the explanation")
            elif sub.title.casefold() == "hints":
                hints = list(_items_only(sub))
            else:
                raise sub.error(f"unknown section {sub.title!r}")
        args = []
        for i in (2, 3, 4):
            label = row[f"arg{i}"]
            meaning_i = own_args.get(i) or common["arg_meanings"].get(label, "")
            args.append({"index": i, "label": label, "meaning": meaning_i})
        hints += [h for h in common["hints"] if h not in hints]
        option_name, option_value = _parse_option(row["verifier_option"])
        out.append(
            {
                "arg1": arg1,
                "meaning": meaning,
                "args": args,
                "rule": row["rule"] or None,
                "group": row["group"],
                "verifier_option": row["verifier_option"] or None,
                "option_name": option_name,
                "option_value": option_value,
                "option_basis": row["option_basis"] or None,
                "explanation": explanation,
                "hints": hints,
            }
        )
    for group, (_, entries) in groups.items():
        for arg1, section in entries.items():
            raise section.error(f"{_hex(arg1)} is not a {group!r} code in c4-subcodes.tsv")
    return {
        "about": (
            "Arg1 values of bug check 0xC4 (DRIVER_VERIFIER_DETECTED_VIOLATION). Values, "
            "groups and option requirements follow the bug check reference; meanings, "
            "explanations and hints are written for kdlens. Generated from knowledge/src."
        ),
        "subcodes": out,
    }


# ----------------------------------------------------------------------------- verifier options


def _keyed_sections(doc: Section) -> dict[int, Section]:
    _no_stray_text(doc)
    out: dict[int, Section] = {}
    for section in doc.children:
        value = parse_int(section.title, section.where)
        if value in out:
            raise section.error(f"{_hex(value)} given twice")
        out[value] = section
    return out


def build_flags(src: Path, c4: dict[str, Any], bugchecks: dict[str, Any]) -> dict[str, Any]:
    known_codes = {b["code"] for b in bugchecks["bugchecks"]}
    known_arg1 = {s["arg1"] for s in c4["subcodes"]}
    by_option: dict[int, list[int]] = {}
    for sub in c4["subcodes"]:
        if sub["option_value"] is not None:
            by_option.setdefault(sub["option_value"], []).append(sub["arg1"])
    texts = _keyed_sections(read_markdown(src / "verifier" / "options.md", src))
    display_texts = _keyed_sections(read_markdown(src / "verifier" / "display-bits.md", src))
    options = []
    display = []
    for row in read_table(src / "verifier-flags.tsv", src):
        where = row["_where"]
        value = parse_int(row["value"], where)
        bit = parse_int(row["bit"], where) if row["bit"] else None
        if row["table"] == "option":
            section = texts.pop(value, None)
            if section is None:
                raise SourceError(f"verifier/options.md: no description for {_hex(value)}")
            _only_fields(section, set())
            checks = []
            derived = sorted(by_option.get(value, []))
            has_c4 = False
            bug_section = section.child("Bug checks")
            for sub in section.children:
                if sub is not bug_section:
                    raise sub.error(f"unknown section {sub.title!r}")
            for item in _items_only(bug_section) if bug_section else []:
                m = _FLAG_CHECK.match(item)
                if not m:
                    raise section.error(f"not a '0xCODE [Arg1 v, ...]: note' item: {item!r}")
                code = int(m.group(1), 16)
                if code not in known_codes:
                    raise section.error(f"unknown bug check {_hex(code)}")
                arg1 = parse_int_list(m.group(2) or "", section.where)
                if code != 0xC4 and arg1:
                    raise section.error("Arg1 values are known only for 0xC4")
                if any(v not in known_arg1 for v in arg1):
                    raise section.error("an Arg1 value is not in c4-subcodes.tsv")
                values = sorted(set(arg1) | (set(derived) if code == 0xC4 else set()))
                has_c4 = has_c4 or code == 0xC4
                checks.append({"code": code, "arg1": values, "note": m.group(3) or ""})
            if derived and not has_c4:
                checks.append({"code": 0xC4, "arg1": derived, "note": ""})
            options.append(
                {
                    "value": value,
                    "bit": bit,
                    "name": row["name"] or row["verifier_ext_name"],
                    "ext_name": row["verifier_ext_name"] or None,
                    "legacy_name": row["verifier_ext_legacy_name"] or None,
                    "legacy_name_basis": row["legacy_name_basis"] or None,
                    "querysettings_name": row["querysettings_name"] or None,
                    "standard": row["standard"] == "X" or value == 0,
                    "volatile": row["volatile"] == "yes",
                    "description": _paragraph_only(section),
                    "bugchecks": checks,
                }
            )
        elif row["table"] == "kdext-display":
            if bit is None:
                raise SourceError(f"{where}: display bit without a bit number")
            section = display_texts.pop(value, None)
            if section is None:
                raise SourceError(f"verifier/display-bits.md: no meaning for {_hex(value)}")
            _only_fields(section, set())
            extra = section.child("Extra arguments")
            for sub in section.children:
                if sub is not extra:
                    raise sub.error(f"unknown section {sub.title!r}")
            display.append(
                {
                    "value": value,
                    "bit": bit,
                    "name": row["name"],
                    "meaning": _paragraph_only(section),
                    "extra_args": _paragraph(extra, "the extra arguments") if extra else "",
                }
            )
        else:
            raise SourceError(f"{where}: unknown table {row['table']!r}")
    for leftover in (*texts.values(), *display_texts.values()):
        raise leftover.error("not in verifier-flags.tsv")
    return {
        "about": (
            "Driver Verifier option bits (verifier /flags, Verify Flags Level) with the "
            "wordings different tools print, and the bits of the !verifier extension's first "
            "argument. Wordings follow the reference tables; descriptions are written for "
            "kdlens. Generated from knowledge/src."
        ),
        "options": options,
        "display_bits": display,
    }


def _paragraph_only(section: Section) -> str:
    if section.items or not section.paragraphs:
        raise section.error("expected plain text")
    return section.text


# ----------------------------------------------------------------------------- pool tags


def build_pool_tags(src: Path) -> dict[str, Any]:
    doc = read_markdown(src / "pool-tags.md", src)
    _no_stray_text(doc)
    tags = []
    seen: set[str] = set()
    for section in doc.children:
        m = _TAG_HEADING.match(section.title)
        if not m:
            raise section.error("a tag heading is the four characters in backticks")
        tag = m.group(1)
        if tag in seen:
            raise section.error(f"tag {tag!r} given twice")
        seen.add(tag)
        _only_fields(section, {"owner", "basis", "verifier", "allocator", "release"})
        for key in ("owner", "basis"):
            if key not in section.fields:
                raise section.error(f"missing field {key!r}")
        if section.fields.get("verifier", "no") not in ("yes", "no"):
            raise section.error("verifier: yes or no")
        tags.append(
            {
                "tag": tag,
                "owner": section.fields["owner"],
                "meaning": _paragraph(section, "the meaning"),
                "basis": section.fields["basis"],
                "verifier": section.fields.get("verifier") == "yes",
                "allocator": section.fields.get("allocator"),
                "release": section.fields.get("release"),
            }
        )
    return {
        "about": (
            "Pool tags that appear in leak tables, limited to tags with a documented owner "
            "(see each entry's basis); meanings are written for kdlens. Generated from "
            "knowledge/src."
        ),
        "tags": tags,
    }


# ----------------------------------------------------------------------------- triage tables


def build_status_codes(src: Path) -> dict[str, Any]:
    doc = read_markdown(src / "status-codes.md", src)
    _no_stray_text(doc)
    codes: list[dict[str, Any]] = []
    seen_codes: set[int] = set()
    seen_names: set[str] = set()
    for section in doc.children:
        for item in _items_only(section):
            m = _STATUS_ITEM.match(item)
            if not m:
                raise section.error(f"not a '0xXXXXXXXX NAME: meaning' item: {item!r}")
            code, name = int(m.group(1), 16), m.group(2)
            if code in seen_codes or name in seen_names:
                raise section.error(f"{m.group(1)} / {name} given twice")
            seen_codes.add(code)
            seen_names.add(name)
            codes.append(
                {"code": code, "name": name, "meaning": m.group(3), "group": section.title}
            )
    codes.sort(key=lambda c: c["code"])
    return {
        "about": (
            "NTSTATUS and exception codes seen in crash triage, with a one-line meaning written "
            "for kdlens. Generated from knowledge/src."
        ),
        "codes": codes,
    }


def build_irql(src: Path) -> dict[str, Any]:
    levels: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for row in read_table(src / "irql.tsv", src):
        where = row["_where"]
        value = parse_int(row["value"], where)
        if row["arch"] not in ("x64", "x86", "arm64"):
            raise SourceError(f"{where}: unknown architecture {row['arch']!r}")
        if not 0 <= value <= 31 or (row["arch"], value) in seen:
            raise SourceError(f"{where}: IRQL out of range or given twice")
        if not _NAME.match(row["name"]):
            raise SourceError(f"{where}: bad name {row['name']!r}")
        seen.add((row["arch"], value))
        levels.append({"arch": row["arch"], "value": value, "name": row["name"]})
    return {
        "about": "Named interrupt request levels per processor architecture.",
        "levels": levels,
    }


def build_pool_types(src: Path) -> dict[str, Any]:
    types: list[dict[str, Any]] = []
    seen: set[int] = set()
    for row in read_table(src / "pool-types.tsv", src):
        where = row["_where"]
        value = parse_int(row["value"], where)
        if value in seen or not re.fullmatch(r"[A-Za-z]+", row["name"]):
            raise SourceError(f"{where}: repeated value or bad name")
        seen.add(value)
        if row["paged"] not in ("yes", "no"):
            raise SourceError(f"{where}: paged must be yes or no")
        types.append({"value": value, "name": row["name"], "paged": row["paged"] == "yes"})
    return {
        "about": "Values of the kernel's _POOL_TYPE enumeration (with session and NX variants).",
        "types": types,
    }


def build_app_verifier(src: Path) -> dict[str, Any]:
    stops: list[dict[str, Any]] = []
    seen: set[int] = set()
    names: set[str] = set()
    for path in sorted((src / "app-verifier").glob("*.md")):
        doc = read_markdown(path, src)
        _only_fields(doc, {"layer"})
        _no_stray_text(doc)
        layer = doc.fields.get("layer")
        if not layer:
            raise doc.error("missing field 'layer'")
        for section in doc.children:
            m = _STOP_HEADING.match(section.title)
            if not m:
                raise section.error("a stop heading is '0xCODE NAME'")
            code, name = int(m.group(1), 16), m.group(2)
            if code in seen or name in names:
                raise section.error(f"stop {_hex(code)} / {name} given twice")
            seen.add(code)
            names.add(name)
            if section.children or section.fields or len(section.paragraphs) != 1:
                raise section.error("a stop is one paragraph and four Arg items")
            args: dict[int, dict[str, Any]] = {}
            for item in section.items:
                a = _ARG_ITEM.match(item)
                if not a or int(a.group(1)) in args:
                    raise section.error(f"not an 'ArgN label: meaning' item: {item!r}")
                args[int(a.group(1))] = {
                    "index": int(a.group(1)),
                    "label": a.group(2),
                    "meaning": a.group(3) or "",
                }
            if sorted(args) != [1, 2, 3, 4]:
                raise section.error("a stop lists the labels of all four arguments")
            stops.append(
                {
                    "code": code,
                    "name": name,
                    "layer": layer,
                    "meaning": section.paragraphs[0],
                    "args": [args[i] for i in (1, 2, 3, 4)],
                }
            )
    stops.sort(key=lambda s: s["code"])
    return {
        "about": (
            "Application Verifier stop codes (user-mode verifier breaks) with their parameter "
            "labels; meanings are written for kdlens. Generated from knowledge/src."
        ),
        "stops": stops,
    }


# ----------------------------------------------------------------------------- driver


def render(doc: dict[str, Any]) -> str:
    """Stable JSON text: the same sources always give byte-identical files."""
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def compile_sources(src: Path = SRC) -> dict[str, str]:
    """Every data file's JSON text, by file name, compiled from the sources in ``src``."""
    bugchecks = build_bugchecks(src)
    c4 = build_c4(src)
    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "bugchecks.json": lambda: bugchecks,
        "c4.json": lambda: c4,
        "verifier_flags.json": lambda: build_flags(src, c4, bugchecks),
        "pool_tags.json": lambda: build_pool_tags(src),
        "status_codes.json": lambda: build_status_codes(src),
        "irql.json": lambda: build_irql(src),
        "pool_types.json": lambda: build_pool_types(src),
        "app_verifier.json": lambda: build_app_verifier(src),
    }
    return {name: render(build()) for name, build in builders.items()}


def stale_files(files: dict[str, str], data: Path = DATA) -> list[str]:
    """Names of the data files whose committed text differs from ``files``."""
    return [
        name
        for name, text in files.items()
        if not (data / name).exists() or (data / name).read_text(encoding="utf-8") != text
    ]
