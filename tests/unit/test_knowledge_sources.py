"""Schema of the knowledge sources (knowledge/src) and the compiler's refusal of bad ones.

The sources are what people edit, so every file is checked here on its own terms (required
sections, code/name agreement with the table, four arguments, valid per-value selectors, no
duplicates, no machine paths), and the compiler is shown to reject each kind of mistake.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from kdlens import knowledge as kn
from kdlens.knowledge import build
from kdlens.knowledge.source import SourceError, parse_markdown, read_markdown

from helpers import REPO

SRC = build.SRC
FILE_NAME = re.compile(r"^(0x[0-9A-F]{8})-([A-Z0-9_]+)\.md$")


def _table(name: str) -> list[dict[str, str]]:
    with (SRC / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def _bugcheck_rows() -> dict[int, dict[str, str]]:
    return {int(r["code"], 16): r for r in _table("bugchecks.tsv")}


def _explanations() -> list[Path]:
    return sorted((SRC / "bugchecks").glob("*"))


# ----------------------------------------------------------------------------- tables


def test_bugcheck_table_has_unique_codes_names_and_four_labels() -> None:
    rows = _table("bugchecks.tsv")
    codes = [r["code"] for r in rows]
    names = [r["name"] for r in rows]
    assert len(codes) == len(set(codes)) and len(names) == len(set(names))
    assert len(rows) > 400
    for r in rows:
        assert re.fullmatch(r"0x[0-9A-F]{8}", r["code"]), r["code"]
        assert r["listed"] in ("bugcheck", "livedump", "both")
        labels = [r[f"arg{i}"] for i in (1, 2, 3, 4)]
        assert all(label.strip() for label in labels), r["code"]
        assert not any(":" in label for label in labels), r["code"]


def test_c4_table_has_unique_values_and_known_groups() -> None:
    rows = _table("c4-subcodes.tsv")
    values = [int(r["arg1"], 16) for r in rows]
    assert len(values) == len(set(values)) == 244
    assert {r["group"] for r in rows} <= set(build.C4_GROUPS)


def test_arg_kind_and_access_tables_name_known_codes() -> None:
    codes = set(_bugcheck_rows())
    for r in _table("arg-kinds.tsv"):
        assert int(r["code"], 16) in codes and r["kind"] in build.ARG_KINDS
        assert 1 <= int(r["arg"]) <= 4
    for r in _table("access-kinds.tsv"):
        assert int(r["code"], 16) in codes and r["kind"] in build.ACCESS_KINDS


# ----------------------------------------------------------------------------- explanations


def test_every_explanation_file_is_complete_and_consistent() -> None:
    rows = _bugcheck_rows()
    seen: set[int] = set()
    for path in _explanations():
        m = FILE_NAME.match(path.name)
        assert m, path.name
        doc = read_markdown(path, SRC)
        code = int(doc.fields["code"], 16)
        assert code == int(m.group(1), 16) and code not in seen, path.name
        seen.add(code)
        assert doc.fields["name"] == m.group(2) == rows[code]["name"], path.name
        titles = [c.title for c in doc.children]
        assert len(titles) == len(set(titles)), path.name
        assert {"Summary", "Arg1", "Arg2", "Arg3", "Arg4"} <= set(titles), path.name
        for child in doc.children:
            if child.title in ("Summary", "Arg1", "Arg2", "Arg3", "Arg4"):
                assert child.text.strip() and not child.items, (path.name, child.title)
        selectors = [t for t in titles if t.startswith("Values of Arg")]
        assert len(selectors) <= 1, path.name
        if selectors:
            selector = int(selectors[0][-1])
            assert 1 <= selector <= 4
            table = doc.child(selectors[0])
            assert table is not None and table.children
            values: list[int] = []
            for case in table.children:
                values += [int(v, 16) for v in case.title.split(",")]
                for item in case.items:
                    assert not item.startswith(f"Arg{selector} "), (path.name, case.title)
            assert len(values) == len(set(values)), path.name


def test_enough_bug_checks_are_explained() -> None:
    explained = [b for b in kn.all_bugchecks() if b.summary]
    assert len(explained) == len(_explanations())
    assert len(explained) >= 31


def test_sources_hold_no_machine_paths() -> None:
    locals_ = [str(REPO.parent), str(Path.home())]
    for path in SRC.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for local in locals_:
                assert len(local) < 2 or local not in text, path
            assert not re.search(r"\b[A-Za-z]:\\Users\\", text), path


# ----------------------------------------------------------------------------- the parser


def test_parser_reads_fields_paragraphs_items_and_nesting() -> None:
    doc = parse_markdown(
        "code: 0x1\nname: X\n\n## A\n\nfirst line\nwrapped here.\n\nsecond paragraph\n\n"
        "### B\n\n- one item\n  continued\n- two\n",
        "t.md",
    )
    assert doc.fields == {"code": "0x1", "name": "X"}
    a = doc.child("A")
    assert a is not None and a.paragraphs == ["first line wrapped here.", "second paragraph"]
    b = a.child("B")
    assert b is not None and b.items == ["one item continued", "two"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("## A\n\n   indented\n", "indented line"),
        ("## A\n\n- item\nnot indented\n", "without indentation"),
        ("## A\n\n\tx\n", "tab"),
        ("a: 1\na: 2\n", "repeated"),
    ],
)
def test_parser_rejects_malformed_text(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_markdown(text, "t.md")


# ----------------------------------------------------------------------------- the compiler


@pytest.fixture
def src_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "src"
    shutil.copytree(SRC, dest)
    return dest


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


C2 = "bugchecks/0x000000C2-BAD_POOL_CALLER.md"


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (C2, "name: BAD_POOL_CALLER", "name: BAD_POOL_CALLERS", "match the file name"),
        (C2, "## Arg3\n", "## Notes\n", "unknown section"),
        (C2, "## Arg4\n", "## Arg3\n", "explained twice"),
        (C2, "### 0x6\n", "### 0x7\n", "listed twice"),
        (C2, "- Arg2 zero", "- Arg1 zero", "selector"),
        (C2, "## Summary", "## Hints\n\n- a\n\n## Summary", "hints given twice"),
        (C2, "## Values of Arg1", "## Values of Arg5", "unknown section"),
        (C2, "- Arg2 pool header:", "- Arg9 pool header:", "ArgN label"),
        ("c4/core.md", "## 0x10\n", "## 0x5555\n", "0x10"),
        ("pool-tags.md", "## `VMdl`", "## `VMdlX`", "four characters"),
        ("status-codes.md", "0xC0000006 STATUS_IN_PAGE_ERROR", "0xC0000005 STATUS_X", "twice"),
        ("app-verifier/heaps.md", "- Arg4 reserved\n\n## 0x9", "\n## 0x9", "all four"),
        ("irql.tsv", "x86\t31\tHIGH_LEVEL", "x86\t32\tHIGH_LEVEL", "out of range"),
        ("arg-kinds.tsv", "0xD1\t2\tirql", "0xD1\t2\tspeed", "kind must be"),
        ("verifier/options.md", "- 0xC7:", "- 0x7777:", "unknown bug check"),
    ],
)
def test_compiler_rejects_mistakes(
    src_copy: Path, file: str, old: str, new: str, message: str
) -> None:
    _edit(src_copy / file, old, new)
    with pytest.raises(SourceError, match=message):
        build.compile_sources(src_copy)


def test_compiler_rejects_a_duplicated_code_in_the_table(src_copy: Path) -> None:
    path = src_copy / "bugchecks.tsv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    with pytest.raises(SourceError, match="listed twice"):
        build.compile_sources(src_copy)


def test_compiler_requires_labels_of_explained_codes_in_the_table(src_copy: Path) -> None:
    _edit(src_copy / "bugchecks.tsv", "\taddress referenced\tIRQL\taccess kind", "\t\t\t")
    with pytest.raises(SourceError, match="all four argument labels or none"):
        build.compile_sources(src_copy)


def test_a_text_edit_reaches_the_compiled_data(src_copy: Path) -> None:
    _edit(
        src_copy / C2,
        "The thread asked for a zero-byte allocation.",
        "A zero-byte request.",
    )
    files = build.compile_sources(src_copy)
    assert "A zero-byte request." in files["bugchecks.json"]
    assert build.stale_files(files) == ["bugchecks.json"]
