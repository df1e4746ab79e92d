"""The knowledge layer: shape of the shipped JSON, agreement with the reference tables, API."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kdlens import knowledge as kn
from kdlens.knowledge import load

from helpers import REPO, shared_path

REQUIRED = (0xC4, 0xC1, 0xC2, 0xD1, 0x0A, 0x50, 0x7E, 0x3B, 0x1E, 0x19, 0x139, 0x13A, 0x133, 0x9F)
STANDARD = (0x0, 0x1, 0x2, 0x8, 0x10, 0x20, 0x80, 0x100, 0x800, 0x20000)
URL = re.compile(
    r"^https://learn\.microsoft\.com/windows-hardware/drivers/debugger/bug-check-0x[0-9a-f]+-[a-z0-9-]+$"
)
C4_GROUPS = {
    "core",
    "deadlock",
    "code integrity",
    "VM switch",
    "DDI rule",
    "AVStream rule",
    "NDIS/WIFI rule",
}


def _tsv(name: str) -> list[dict[str, str]]:
    with shared_path("reference", name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_args(args: list[dict[str, Any]], indices: set[int]) -> None:
    assert {a["index"] for a in args} == indices
    assert len(args) == len(indices)
    for a in args:
        assert isinstance(a["label"], str) and a["label"].strip()
        assert isinstance(a["meaning"], str)


# ----------------------------------------------------------------------------- JSON shape


def test_bugchecks_json_shape() -> None:
    doc = kn.read_data("bugchecks.json")
    rows = doc["bugchecks"]
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)) and len(codes) > 400
    assert codes == sorted(codes)
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names))
    for r in rows:
        assert _is_int(r["code"]) and r["code"] > 0
        assert re.fullmatch(r"[A-Z0-9_]+", r["name"]), r["name"]
        assert isinstance(r["live_dump"], bool)
        assert URL.match(r["url"]), r["url"]
        assert r["url"].rsplit("/", 1)[1] == Path(r["page"]).stem.lower()
        assert r["page"].startswith("windows-driver-docs-pr/debugger/bug-check-0x")
        if "summary" in r:
            assert isinstance(r["summary"], str) and len(r["summary"]) > 40
            _check_args(r["args"], {1, 2, 3, 4})
            assert all(isinstance(h, str) and h for h in r["hints"])
        else:
            assert "args" not in r and "variants" not in r
        if "selector" in r:
            assert r["selector"] in (1, 2, 3, 4)
            assert r["variants"]
            for v in r["variants"]:
                assert v["values"] and all(_is_int(x) for x in v["values"])
                assert v["meaning"].strip()
                assert all(a["index"] != r["selector"] for a in v["args"])
                _check_args(v["args"], {a["index"] for a in v["args"]})
            values = [x for v in r["variants"] for x in v["values"]]
            assert len(values) == len(set(values)), r["name"]
        assert r.get("arg1_table") in (None, "c4")


def test_required_bugchecks_are_complete() -> None:
    for code in REQUIRED:
        info = kn.bugcheck(code)
        assert info is not None, hex(code)
        assert info.summary, hex(code)
        assert [a.index for a in info.args] == [1, 2, 3, 4]
        assert all(a.label and a.meaning for a in info.args), hex(code)
        assert info.hints, hex(code)


@pytest.mark.parametrize(
    ("code", "selector", "values"),
    [
        (0xC2, 1, {0x0, 0x7, 0x41286}),
        (0x19, 1, {0x3, 0x21, 0x22}),
        (0x139, 1, {0, 3, 39}),
        (0x9F, 1, {0x3, 0x500}),
        (0x133, 1, {0, 1}),
        (0x1A, 1, {0x41792, 0x5200}),
        (0xC1, 4, {0x20, 0x24, 0x32}),
    ],
)
def test_per_value_sub_tables(code: int, selector: int, values: set[int]) -> None:
    info = kn.bugcheck(code)
    assert info is not None and info.selector == selector
    for value in values:
        assert info.variant(value) is not None, (hex(code), hex(value))


def test_c4_json_shape() -> None:
    rows = kn.read_data("c4.json")["subcodes"]
    values = [r["arg1"] for r in rows]
    assert len(values) == 244 and len(set(values)) == 244
    for r in rows:
        assert _is_int(r["arg1"])
        assert isinstance(r["meaning"], str) and len(r["meaning"]) > 10
        _check_args(r["args"], {2, 3, 4})
        assert r["group"] in C4_GROUPS
        assert (r["rule"] is not None) == r["group"].endswith("rule")
        if r["option_value"] is not None:
            flag = kn.verifier_flag(r["option_value"])
            assert flag is not None, r["verifier_option"]
            assert r["option_name"] == flag.name
        assert isinstance(r["hints"], list)


def test_c4_pool_codes_have_full_explanations() -> None:
    for arg1 in (0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x51, 0x52, 0x53, 0x54, 0x59):
        sub = kn.c4_subcode(arg1)
        assert sub is not None and sub.explanation, hex(arg1)
        assert all(a.meaning for a in sub.args), hex(arg1)
    for arg1 in (0x60, 0x61, 0x62):
        sub = kn.c4_subcode(arg1)
        assert sub is not None and sub.explanation and sub.hints
        assert sub.option_value == 0x8 and sub.option_name == "Pool Tracking"
        assert all(a.meaning for a in sub.args)


def test_verifier_flags_json_shape() -> None:
    doc = kn.read_data("verifier_flags.json")
    values = [o["value"] for o in doc["options"]]
    assert len(values) == len(set(values))
    for o in doc["options"]:
        if o["value"] == 0:
            assert o["bit"] is None
        else:
            assert o["value"] == 1 << o["bit"]
        assert o["name"] and len(o["description"]) > 40
        for b in o["bugchecks"]:
            assert kn.bugcheck(b["code"]) is not None, hex(b["code"])
            if b["code"] == 0xC4:
                assert all(kn.c4_subcode(v) is not None for v in b["arg1"])
            else:
                assert b["arg1"] == []
    for d in doc["display_bits"]:
        assert d["value"] == 1 << d["bit"]
        assert d["name"] and d["meaning"]


def test_pool_tags_json_shape() -> None:
    tags = kn.read_data("pool_tags.json")["tags"]
    names = [t["tag"] for t in tags]
    assert len(names) == len(set(names))
    for t in tags:
        assert len(t["tag"]) == 4
        assert t["owner"] and t["meaning"] and t["basis"]
        assert isinstance(t["verifier"], bool)


def test_data_holds_no_machine_paths() -> None:
    for name in kn.DATA_FILES:
        text = (Path(load.__file__).parent / "data" / name).read_text(encoding="utf-8")
        for local in (str(REPO.parent), str(Path.home())):
            assert len(local) < 2 or local not in text, name


# ----------------------------------------------------------------------------- agreement


def test_bugchecks_agree_with_reference_tables() -> None:
    main = {int(r["code"], 16): r for r in _tsv("bugchecks.tsv")}
    live = {int(r["code"], 16): r for r in _tsv("livedump-codes.tsv")}
    table = {b.code: b for b in kn.all_bugchecks()}
    assert set(table) == set(main) | set(live)
    for code, info in table.items():
        row = main.get(code) or live[code]
        assert info.name == row["name"]
        assert info.live_dump == (code in live)
        assert info.url.endswith("/" + Path(row["page"]).stem.lower())


def test_c4_agrees_with_reference_table() -> None:
    rows = {int(r["arg1"], 16): r for r in _tsv("c4-subcodes.tsv")}
    assert {s.arg1 for s in kn.c4_subcodes()} == set(rows)
    for sub in kn.c4_subcodes():
        row = rows[sub.arg1]
        assert sub.group == row["group"]
        assert sub.rule == (row["rule"] or None)
        assert (sub.option_basis or "") == row["option_basis"]
        if row["rule"]:
            assert row["rule"] in sub.meaning


def test_flags_agree_with_reference_table() -> None:
    rows = _tsv("verifier-flags.tsv")
    options = {int(r["value"], 16): r for r in rows if r["table"] == "option"}
    display = {int(r["value"], 16): r for r in rows if r["table"] == "kdext-display"}
    assert {f.value for f in kn.verifier_flags()} == set(options)
    for f in kn.verifier_flags():
        row = options[f.value]
        assert f.name == (row["name"] or row["verifier_ext_name"])
        assert (f.ext_name or "") == row["verifier_ext_name"]
        assert (f.legacy_name or "") == row["verifier_ext_legacy_name"]
        assert (f.querysettings_name or "") == row["querysettings_name"]
        assert f.volatile == (row["volatile"] == "yes")
        assert f.standard == (row["standard"] == "X" or f.value == 0)
    assert {d.value for d in kn.display_bits(0xFFFFFFFF)} == set(display)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gen_knowledge", REPO / "tools" / "gen_knowledge.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_json_is_what_the_generator_produces() -> None:
    assert _generator().main(["--check"]) == 0


def test_generator_needs_nothing_outside_the_repository(tmp_path: Path) -> None:
    # A copy of the sources alone, far from ../shared, compiles to the committed files.
    src = tmp_path / "src"
    shutil.copytree(Path(load.__file__).parent / "src", src)
    assert _generator().main(["--check", "--src", str(src)]) == 0


# ----------------------------------------------------------------------------- bug check API


def test_bugcheck_lookup() -> None:
    info = kn.bugcheck(0xC4)
    assert info is not None
    assert info.name == "DRIVER_VERIFIER_DETECTED_VIOLATION"
    assert info.hex == "0xC4"
    assert info.url.endswith("/bug-check-0xc4--driver-verifier-detected-violation")
    assert info.arg1_table == "c4" and not info.live_dump
    assert kn.bugcheck(0xDEADBEEF) is None


def test_live_dump_flags() -> None:
    tdr = kn.bugcheck(0x117)
    assert tdr is not None and tdr.live_dump and tdr.name == "VIDEO_TDR_TIMEOUT_DETECTED"
    livedump_c4 = kn.bugcheck(0x1C4)
    assert livedump_c4 is not None and livedump_c4.live_dump
    d1 = kn.bugcheck(0xD1)
    assert d1 is not None and not d1.live_dump


@pytest.mark.parametrize(
    "name",
    [
        "BAD_POOL_HEADER",
        "bad_pool_header",
        " Bad Pool Header ",
        "BAD-POOL-HEADER",
        "BAD\\_POOL\\_HEADER",
    ],
)
def test_bugcheck_by_name(name: str) -> None:
    info = kn.bugcheck_by_name(name)
    assert info is not None and info.code == 0x19


def test_bugcheck_by_name_unknown() -> None:
    assert kn.bugcheck_by_name("NOT_A_BUG_CHECK") is None
    assert kn.bugcheck_by_name("") is None


def test_arg_meaning_general_and_bounds() -> None:
    a = kn.arg_meaning(0xD1, 3)
    assert a is not None and a.index == 3 and a.label == "access kind"
    assert "write" in a.meaning
    assert kn.arg_meaning(0xD1, 0) is None
    assert kn.arg_meaning(0xD1, 5) is None
    assert kn.arg_meaning(0x12345678, 1) is None
    assert kn.arg_meaning(0x1, 1) is None  # a code without written notes


def test_arg_meaning_uses_c4_subcodes() -> None:
    leak = kn.c4_subcode(0x62)
    assert leak is not None
    a1 = kn.arg_meaning(0xC4, 1, 0x62)
    assert a1 is not None and a1.meaning == leak.meaning and a1.label == "violation code"
    a3 = kn.arg_meaning(0xC4, 3, 0x62)
    assert a3 is not None and "reserved" in a3.label and "per-driver" in a3.meaning
    a4 = kn.arg_meaning(0xC4, 4, 0x62)
    assert a4 is not None and a4.label == "count of unfreed allocations (paged+nonpaged)"
    # the live-dump flavour shares the rule codes
    rule = kn.arg_meaning(0x1C4, 1, 0x81001)
    assert rule is not None and "KsDeviceMutex" in rule.meaning
    # unknown subcode or no Arg1: the general description
    general = kn.arg_meaning(0xC4, 2)
    assert general is not None and general.label == "first detail"
    assert kn.arg_meaning(0xC4, 2, 0x7777777) == general


def test_arg_meaning_per_arg1_tables() -> None:
    single = kn.arg_meaning(0x133, 2, 0)
    total = kn.arg_meaning(0x133, 2, 1)
    assert single is not None and single.label == "time used"
    assert total is not None and total.label == "watchdog period"
    irp = kn.arg_meaning(0x9F, 4, 3)
    assert irp is not None and irp.label == "blocked IRP" and "!irp" in irp.meaning
    kind = kn.arg_meaning(0x139, 1, 3)
    assert kind is not None and kind.label == "check" and "LIST_ENTRY" in kind.meaning
    # a value the sub-table does not list falls back to the general text
    assert kn.arg_meaning(0x9F, 4, 0x77) == kn.bugcheck(0x9F).arg(4)  # type: ignore[union-attr]


def test_arg_meaning_selector_in_arg4() -> None:
    # 0xC1's sub-table is keyed by Arg4, so the full argument list is needed.
    damaged = kn.arg_meaning(0xC1, 2, args=(0xFFFF0000, 0xFFFF0040, 0, 0x24))
    assert damaged is not None and damaged.label == "damaged address"
    sub_case = kn.arg_meaning(0xC1, 4, args=(0, 0, 0, 0x32))
    assert sub_case is not None and "bit" in sub_case.meaning
    # with only Arg1 known, the general description
    general = kn.arg_meaning(0xC1, 2, 0xFFFF0000)
    assert general is not None and general.label == "detail"


# ----------------------------------------------------------------------------- verifier API


def test_decode_standard_mask() -> None:
    flags = kn.decode_mask(0x209BB)
    assert [f.value for f in flags] == list(STANDARD)
    assert all(f.standard for f in flags)
    assert [f.ext_name for f in flags][:3] == [
        "Automatic Checks",
        "Special pool",
        "Force IRQL checking",
    ]
    assert {f.value for f in kn.verifier_flags() if f.standard} == set(STANDARD)
    assert [f.value for f in kn.decode_mask(0x209BB, include_automatic=False)] == list(STANDARD[1:])
    assert kn.unknown_bits(0x209BB) == 0


def test_decode_mask_reports_unknown_bits() -> None:
    assert [f.value for f in kn.decode_mask(0x1008, include_automatic=False)] == [0x8]
    assert kn.unknown_bits(0x1008) == 0x1000
    assert kn.unknown_bits(0x80000000) == 0x80000000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Special irql", 0x2),
        ("All pool allocations checked on unload", 0x8),
        ("Io subsystem checking enabled", 0x10),
        ("Inject random low-resource API failures", 0x4),
        ("Deadlock detection enabled", 0x20),
        ("DMA checking enabled", 0x80),
        ("Miscellaneous checks enabled", 0x800),
        ("Randomized low resources simulation", 0x4),
        ("pool TRACKING", 0x8),
        ("  Special   Pool ", 0x1),
        ("Force Pending I/O Requests", 0x200),
        ("DDI compliance checking (additional)", 0x80000),
        ("Automatic Checks", 0x0),
    ],
)
def test_flag_by_name(name: str, value: int) -> None:
    info = kn.verifier_flag_by_name(name)
    assert info is not None and info.value == value


def test_every_wording_maps_back_to_its_flag() -> None:
    for flag in kn.verifier_flags():
        for wording in flag.wordings:
            assert kn.verifier_flag_by_name(wording) == flag, wording
    assert kn.verifier_flag_by_name("Made-up option") is None


def test_flag_bugchecks() -> None:
    tracking = kn.verifier_flag(0x8)
    assert tracking is not None and tracking.name == "Pool Tracking"
    c4 = next(b for b in tracking.bugchecks if b.code == 0xC4)
    assert {0x60, 0x61, 0x62, 0x51} <= set(c4.arg1)
    special = kn.verifier_flag(0x1)
    assert special is not None
    assert {0xC1, 0xD5, 0xD6} <= {b.code for b in special.bugchecks}
    deadlock = kn.verifier_flag(0x20)
    assert deadlock is not None and deadlock.volatile
    assert 0x1001 in next(b for b in deadlock.bugchecks if b.code == 0xC4).arg1
    assert kn.verifier_flag(0x1000) is None


def test_display_bits() -> None:
    assert [d.value for d in kn.display_bits(0x3)] == [0x1, 0x2]
    log = kn.display_bit(0x80)
    assert log is not None and log.bit == 7 and "allocate/free" in log.meaning
    assert kn.display_bits(0) == []
    assert kn.display_bit(0x10) is None


# ----------------------------------------------------------------------------- pool tags


def test_pool_tags() -> None:
    mdl = kn.pool_tag("VMdl")
    assert mdl is not None and mdl.verifier
    assert (mdl.allocator, mdl.release) == ("IoAllocateMdl", "IoFreeMdl")
    work = kn.pool_tag("Vfwi")
    assert work is not None and work.allocator == "IoAllocateWorkItem"
    irp = kn.pool_tag("Irp")
    assert irp is not None and irp.tag == "Irp " and not irp.verifier
    assert kn.pool_tag("vmdl") is None  # tags are case-sensitive
    assert kn.pool_tag("") is None
    assert kn.pool_tag("TooLong") is None
    assert all(t.tag == kn.pool_tag(t.tag).tag for t in kn.pool_tags())  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- loading


def test_records_are_frozen() -> None:
    info = kn.bugcheck(0x50)
    assert info is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "x"  # type: ignore[misc]


def test_tables_are_cached() -> None:
    assert load.bugcheck_table() is load.bugcheck_table()
    assert load.c4_table() is load.c4_table()


def test_import_reads_nothing() -> None:
    code = (
        "import kdlens.knowledge as k\n"
        "from kdlens.knowledge import load\n"
        "fs = (load.bugcheck_table, load.c4_table, load.flag_table, load.display_table,"
        " load.tag_table)\n"
        "assert all(f.cache_info().currsize == 0 for f in fs)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_malformed_data_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(name: str) -> dict[str, Any]:
        return {"bugchecks": [{"code": "0xC4", "name": "X", "url": "u", "live_dump": False}]}

    monkeypatch.setattr(load, "read_data", fake)
    with pytest.raises(kn.KnowledgeDataError, match="code"):
        load.bugcheck_table.__wrapped__()
