"""``kdlens check --baseline`` and ``kdlens diff``: CI that fails only on new leaks.

The baseline is the bundled example session. The "next run" is a copy in
which one leak was fixed (the 'VMdl' MDL of DeviceControlDispatch is gone),
one was added (a 'Nwlk' block of LogFlushWorker), and the block that stayed
was allocated at another address, as it would be on any rerun.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from kdlens.analysis.usermode_leaks import LeakKind, LeakOrigin, LeakRecord
from kdlens.cli.baseline import LEAK_KEY, STOP_KEY, Baseline, identity_of, masked
from kdlens.cli.diff import by_site, diff_leaks
from kdlens.cli.main import main
from kdlens.model import Position, Range

from helpers import REPO

EXAMPLE = REPO / "examples" / "mydriver-leak" / "kd-session.log"
SCHEMA_CANDIDATES = (
    REPO / ".venv" / "share" / "sarif-schema-2.1.0.json",
    Path(sys.prefix) / "share" / "sarif-schema-2.1.0.json",
)

FIXED_ROW = "      0xa4b6efe0  0x00000020  VMdl  0xa1c31645  MyDriver!DeviceControlDispatch\n"
KEPT_ROW = "      0x8c9d2000  0x00001008  mdrv  0xa1c31512  MyDriver!DeviceControlDispatch\n"
MOVED_ROW = "      0x8c9e5000  0x00001008  mdrv  0xa1c31512  MyDriver!DeviceControlDispatch\n"
LAST_ROW = "      0xa4b93fd0  0x00000030  Vfwi  0xa1c318f0  MyDriver!GetNecessaryObjects\n"
ADDED_ROW = "      0xa4b70fc0  0x00000040  Nwlk  0xa1c31960  MyDriver!LogFlushWorker\n"


def next_session(text: str) -> str:
    """The example after one fix and one new leak (counters kept consistent)."""
    assert FIXED_ROW in text and KEPT_ROW in text and LAST_ROW in text
    text = text.replace(FIXED_ROW, "").replace(KEPT_ROW, MOVED_ROW)
    text = text.replace(LAST_ROW, LAST_ROW + ADDED_ROW)
    # 0x1008 + 0x30 + 0x40: the driver's own counters agree with the new table
    return text.replace("( 0x00001058 / 0x00000000 )", "( 0x00001078 / 0x00000000 )")


@pytest.fixture()
def sessions(tmp_path: Path) -> tuple[Path, Path]:
    old = tmp_path / "old.log"
    new = tmp_path / "new.log"
    text = EXAMPLE.read_text(encoding="utf-8")
    old.write_text(text, encoding="utf-8")
    new.write_text(next_session(text), encoding="utf-8")
    return old, new


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def validate(log: dict[str, Any]) -> None:
    schema_path = next((p for p in SCHEMA_CANDIDATES if p.exists()), None)
    if schema_path is None:
        pytest.skip("the SARIF schema was not fetched (make test fetches it)")
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(log, json.loads(schema_path.read_text(encoding="utf-8")))


def states(log: dict[str, Any]) -> dict[str, list[str]]:
    """baselineState -> the messages of the leak results in that state."""
    out: dict[str, list[str]] = {}
    for r in log["runs"][0]["results"]:
        if r["ruleId"] == "leaked-allocation":
            out.setdefault(r["baselineState"], []).append(r["message"]["text"])
    return out


# --------------------------------------------------------------------------- fingerprints


def test_every_leak_and_stop_has_a_fingerprint_in_sarif(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["check", "--format", "sarif", str(EXAMPLE)], capsys)
    assert code == 1
    log = json.loads(out)
    validate(log)
    results = log["runs"][0]["results"]
    leaks = [r for r in results if r["ruleId"] == "leaked-allocation"]
    assert len(leaks) == 3
    for r in leaks:
        fp = r["partialFingerprints"][LEAK_KEY]
        assert fp == r["properties"]["data"]["fingerprint"]
    assert len({r["partialFingerprints"][LEAK_KEY] for r in leaks}) == 3
    (bug,) = [r for r in results if r["ruleId"] == "bug-check"]
    assert bug["partialFingerprints"][STOP_KEY] == bug["properties"]["data"]["fingerprint"]
    assert "baselineState" not in bug  # no baseline, no states


def test_pool_leak_fingerprints_match_the_core_records(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kdlens.analysis import analyze
    from kdlens.parse import parse_document
    from kdlens.text import Document

    a = analyze(parse_document(Document(EXAMPLE.read_text(encoding="utf-8"))))
    records = {r.range.start.line: r.fingerprint for r in a.leak_records}
    leaks = [d for d in a.diagnostics if d.code == "leaked-allocation"]
    assert leaks and all(d.data["fingerprint"] == records[d.range.start.line] for d in leaks)


def test_fingerprints_ignore_addresses(sessions: tuple[Path, Path]) -> None:
    """The block that only moved to another address keeps its fingerprint."""
    from kdlens.analysis import analyze
    from kdlens.parse import parse_document
    from kdlens.text import Document

    old, new = sessions
    by_tag = []
    for path in (old, new):
        a = analyze(parse_document(Document(path.read_text(encoding="utf-8"))))
        by_tag.append({r.tag: r.fingerprint for r in a.leak_records})
    assert by_tag[0]["mdrv"] == by_tag[1]["mdrv"]
    assert by_tag[0]["Vfwi"] == by_tag[1]["Vfwi"]
    assert "VMdl" not in by_tag[1] and "Nwlk" not in by_tag[0]


def test_findings_without_fingerprint_are_known_by_their_masked_message() -> None:
    assert masked("Arg4 says 3 allocations, table lists 0x1008 (4,104) bytes") == (
        "Arg# says # allocations, table lists # (#) bytes"
    )
    a = identity_of("leak-count-mismatch", {}, "Arg4 says 3 allocations were not freed")
    b = identity_of("leak-count-mismatch", {}, "Arg4 says 5 allocations were not freed")
    c = identity_of("leak-bytes-mismatch", {}, "Arg4 says 5 allocations were not freed")
    assert a == b and a != c


# --------------------------------------------------------------------------- check --baseline


@pytest.mark.parametrize("baseline_kind", ["log", "sarif", "json"])
def test_baseline_marks_new_unchanged_and_absent(
    sessions: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    baseline_kind: str,
) -> None:
    old, new = sessions
    baseline = old
    if baseline_kind != "log":
        baseline = tmp_path / f"old.{baseline_kind}"
        code, _, _ = run(
            ["check", "--format", baseline_kind, str(old), "-o", str(baseline)], capsys
        )
        assert code == 1 and baseline.exists()
    code, out, err = run(
        ["check", "--format", "sarif", "--baseline", str(baseline), str(new)], capsys
    )
    assert err == ""
    assert code == 1  # one new leak
    log = json.loads(out)
    validate(log)
    got = states(log)
    assert len(got["new"]) == 1 and "'Nwlk'" in got["new"][0]
    assert len(got["unchanged"]) == 2
    assert any("'mdrv'" in m for m in got["unchanged"])
    assert any("'Vfwi'" in m for m in got["unchanged"])
    assert len(got["absent"]) == 1 and "'VMdl'" in got["absent"][0]
    results = log["runs"][0]["results"]
    assert all("baselineState" in r for r in results)  # on every result or on none
    (bug,) = [r for r in results if r["ruleId"] == "bug-check"]
    assert bug["baselineState"] == "unchanged"
    (gone,) = [r for r in results if r["baselineState"] == "absent"]
    gone_uri = gone["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert gone_uri.endswith("old.log")


def test_exit_code_counts_only_new_findings(
    sessions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = sessions
    # against itself: everything is unchanged, nothing fails
    assert run(["check", "--baseline", str(old), str(old)], capsys)[0] == 0
    # the new leak is a warning: it fails --fail-on warning, not --fail-on error
    assert run(["check", "--baseline", str(old), str(new)], capsys)[0] == 1
    assert run(["check", "--baseline", str(old), str(new), "--fail-on", "error"], capsys)[0] == 0
    # without a baseline the unchanged bug check fails --fail-on error as before
    assert run(["check", str(new), "--fail-on", "error"], capsys)[0] == 1
    # going back to the old log: 'VMdl' is new again; 'Nwlk' is fixed, with the notes
    # that no allocation history was printed for it and for the moved 'mdrv' block
    code, out, _ = run(["check", "--baseline", str(new), str(old)], capsys)
    assert code == 1
    fixed = out.split("fixed since the baseline (3):\n")[1].split("\n\n")[0].splitlines()
    assert [ln.split(" [")[1].split("]")[0] for ln in fixed] == [
        "no-allocation-history",
        "leaked-allocation",
        "no-allocation-history",
    ]
    assert "0x8c9e5000" in fixed[0] and "'Nwlk'" in fixed[1] and "0xa4b70fc0" in fixed[2]


def test_text_says_new_unchanged_and_fixed(
    sessions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = sessions
    code, out, _ = run(["check", "--baseline", str(old), str(new)], capsys)
    assert code == 1
    lines = out.splitlines()
    (added,) = [ln for ln in lines if "'Nwlk'" in ln]
    assert "[leaked-allocation] (new) Leaked" in added
    (kept,) = [ln for ln in lines if "'mdrv'" in ln and "[leaked-allocation]" in ln]
    assert "(unchanged)" in kept
    fixed_at = lines.index("fixed since the baseline (1):")
    assert "(fixed)" in lines[fixed_at + 1] and "'VMdl'" in lines[fixed_at + 1]
    assert lines[fixed_at + 1].startswith(f"{old}:")
    # new: the 'Nwlk' leak and the two notes that no allocation history was printed
    # for it and for the moved 'mdrv' block; unchanged: the bug check, 'mdrv', 'Vfwi',
    # the note about 'Vfwi' and the symbol doctor's note about mydrvtest.sys
    (note,) = [ln for ln in lines if "0xa4b93fd0" in ln and "[no-allocation-history]" in ln]
    assert "(unchanged)" in note
    (doctor,) = [ln for ln in lines if "[symbol-doctor]" in ln]
    assert "(unchanged)" in doctor
    assert lines[-1].endswith("(3 new, 5 unchanged, 1 fixed since the baseline)")


def test_json_with_baseline(
    sessions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = sessions
    code, out, _ = run(["check", "--format", "json", "--baseline", str(old), str(new)], capsys)
    assert code == 1
    doc = json.loads(out)
    diags = doc["files"][0]["diagnostics"]
    leaks = {d["data"]["tag"]: d for d in diags if d["code"] == "leaked-allocation"}
    assert leaks["Nwlk"]["baselineState"] == "new"
    assert leaks["mdrv"]["baselineState"] == "unchanged"
    assert all(len(d["data"]["fingerprint"]) == 16 for d in leaks.values())
    (gone,) = doc["absent"]
    assert gone["data"]["tag"] == "VMdl" and gone["baselineState"] == "absent"


def test_a_baseline_that_is_not_from_kdlens_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.sarif"
    other.write_text(
        json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}}]})
    )
    code, _, err = run(["check", "--baseline", str(other), str(EXAMPLE)], capsys)
    assert code == 2
    assert "not written by kdlens" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["check", "--baseline", str(tmp_path / "none"), str(EXAMPLE)], capsys)
    assert code == 2 and "--baseline" in err


def test_baseline_counts_repeated_leaks_one_for_one() -> None:
    def rec(line: int, fp: str) -> LeakRecord:
        pos = Position(line, 0)
        return LeakRecord(
            LeakKind.HEAP_BLOCK, LeakOrigin.HEAP_SCAN, Range(pos, pos), fingerprint=fp
        )

    d = diff_leaks([rec(1, "a"), rec(2, "a"), rec(3, "b")], [rec(5, "a"), rec(6, "a"), rec(7, "a")])
    assert [r.range.start.line for r in d.unchanged] == [5, 6]
    assert [r.range.start.line for r in d.new] == [7]
    assert [r.range.start.line for r in d.fixed] == [3]
    b = Baseline([], "x")
    assert b.absent() == []


# --------------------------------------------------------------------------- diff


def test_diff_text(sessions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = sessions
    code, out, _ = run(["diff", str(old), str(new)], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"kdlens diff: {old} -> {new}: 1 fixed, 1 new, 2 unchanged leaks"
    sections = {ln.split(" (")[0]: i for i, ln in enumerate(lines) if ln and ln[0] != " "}
    new_at, fixed_at, kept_at = sections["new"], sections["fixed"], sections["unchanged"]
    assert lines[new_at] == "new (1 leak at 1 site):"
    assert "MyDriver!LogFlushWorker" in lines[new_at + 1] and "Nwlk" in lines[new_at + 1]
    assert lines[fixed_at] == "fixed (1 leak at 1 site):"
    assert "MyDriver!DeviceControlDispatch" in lines[fixed_at + 1]
    assert "VMdl" in lines[fixed_at + 1]
    assert "handleioctl.c:89" in lines[fixed_at + 2]
    assert lines[kept_at] == "unchanged (2 leaks at 2 sites):"


def test_diff_json(sessions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = sessions
    code, out, _ = run(["diff", "--format", "json", str(old), str(new)], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"] == {"new": 1, "fixed": 1, "unchanged": 2}
    (site,) = doc["fixed"]
    assert site["site"] == "MyDriver!DeviceControlDispatch"
    assert site["tags"] == ["VMdl"] and site["bytes"] == 0x20
    assert site["sources"][0]["line"] == 89
    assert doc["new"][0]["leaks"][0]["tag"] == "Nwlk"
    assert {s["site"] for s in doc["unchanged"]} == {
        "MyDriver!DeviceControlDispatch",
        "MyDriver!GetNecessaryObjects",
    }


def test_diff_of_a_log_with_itself_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["diff", str(EXAMPLE), str(EXAMPLE)], capsys)
    assert code == 0
    assert out.splitlines()[0].endswith("0 fixed, 0 new, 3 unchanged leaks")


def test_sites_group_by_function() -> None:
    def rec(fp: str) -> LeakRecord:
        pos = Position(0, 0)
        return LeakRecord(LeakKind.HANDLE, LeakOrigin.HTRACE, Range(pos, pos), fingerprint=fp)

    sites = by_site([rec("a"), rec("b")])
    assert len(sites) == 1 and len(sites[0].records) == 2
