"""Crash triage in ``kdlens check``: the per-stop summary, the triage fields, source locations."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from kdlens.cli.main import main

from helpers import FIXTURES, REPO

LOGS = FIXTURES / "logs"
USER_AV = LOGS / "crash-user-av.log"  # recparse!ParseRecord+0x1c, c:\src\recparse\parse.cpp @ 88
BLAME = LOGS / "crash-blame-fileinfo-x64-O0.log"  # fileinfo.sys blamed, mydriver on the stack
SCHEMA_CANDIDATES = (
    REPO / ".venv" / "share" / "sarif-schema-2.1.0.json",
    Path(sys.prefix) / "share" / "sarif-schema-2.1.0.json",
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    """A local copy of the crashing program's sources (only the file the crash names)."""
    src = tmp_path / "recparse"
    src.mkdir()
    (src / "parse.cpp").write_text("".join(f"// line {i}\n" for i in range(1, 100)))
    return src


def source_map(src: Path) -> list[str]:
    return ["--source-map", f"c:\\src\\recparse={src}"]


def test_text_prints_a_summary_per_stop(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(USER_AV), *source_map(checkout)], capsys)
    assert code == 1
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith(f"{USER_AV}:11: stop: "))
    assert lines[head].endswith("Exception 0xC0000005 STATUS_ACCESS_VIOLATION")
    block = lines[head + 1 : lines.index("", head)]
    fields = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in block}
    assert fields["what"].startswith("read of 0x8")
    assert fields["who"] == "recparse.exe (IMAGE_NAME)"
    # the build path is mapped to the local checkout
    assert fields["where"] == f"recparse!ParseRecord+0x1c at {checkout / 'parse.cpp'}:88"
    assert fields["your code"].startswith("3 frames on the stack (recparse.exe)")


def test_text_says_when_the_debugger_blames_windows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(BLAME)], capsys)
    assert code == 1
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if ": stop: bug check 0xD1 " in ln)
    block = lines[head + 1 : lines.index("", head)]
    assert any(ln.startswith("  who:   fileinfo.sys (IMAGE_NAME)") for ln in block)
    assert any("your code:" in ln and "mydriver!StreamRequest" in ln for ln in block)
    assert any(ln.startswith("  note:  the debugger blames fileinfo.sys") for ln in block)


def test_json_carries_the_triage_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "--format", "json", str(USER_AV)], capsys)
    assert code == 1
    (d,) = [d for d in json.loads(out)["files"][0]["diagnostics"] if d["code"] == "exception"]
    data = d["data"]
    assert data["kind"] == "exception"
    assert data["code"] == "0xc0000005"
    assert data["culprit"] == "recparse.exe"
    assert data["faultSymbol"] == "recparse!ParseRecord+0x1c"
    assert data["source"] == {"path": "c:\\src\\recparse\\parse.cpp", "line": 88}
    assert data["access"] == "read" and data["accessAddress"] == "0x8"
    assert len(data["userFrames"]) == 3
    assert data["userFrames"][0]["symbol"] == "recparse!ParseRecord+0x1c"
    assert any(p.get("decoded") == "read" for p in data["params"])
    assert len(data["fingerprint"]) == 16


def test_bug_check_data_decodes_its_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "--format", "json", str(LOGS / "crash-d1-x64-O2.log")], capsys)
    assert code == 1
    (d,) = [d for d in json.loads(out)["files"][0]["diagnostics"] if d["code"] == "bug-check"]
    params = {p["index"]: p for p in d["data"]["params"]}
    assert params[2]["decoded"] == "DISPATCH_LEVEL"
    assert params[3]["decoded"] == "write"
    assert params[4]["decoded"] == "mydriver!DeviceControlDispatch+0x23"
    assert d["data"]["irql"] == "DISPATCH_LEVEL"
    assert d["data"]["name"] == "DRIVER_IRQL_NOT_LESS_OR_EQUAL"


def _validate(log: dict[str, Any]) -> None:
    schema_path = next((p for p in SCHEMA_CANDIDATES if p.exists()), None)
    if schema_path is None:
        pytest.skip("the SARIF schema was not fetched (make test fetches it)")
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(log, json.loads(schema_path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("pretty", [False, True])
def test_sarif_points_at_the_source_line_too(
    checkout: Path, capsys: pytest.CaptureFixture[str], pretty: bool
) -> None:
    argv = ["check", "--format", "sarif", str(USER_AV), *source_map(checkout)]
    code, out, _ = run(argv + (["--pretty"] if pretty else []), capsys)
    assert code == 1
    assert (out.count("\n") > 50) is pretty
    log = json.loads(out)
    _validate(log)
    (res,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "exception"]
    (where,) = res["locations"]  # the log line stays the one location
    assert where["physicalLocation"]["artifactLocation"]["uri"].endswith("crash-user-av.log")
    assert where["physicalLocation"]["region"]["startLine"] == 11
    src = [
        rel
        for rel in res["relatedLocations"]
        if rel["physicalLocation"]["artifactLocation"]["uri"] == (checkout / "parse.cpp").as_uri()
    ]
    assert len(src) == 1
    assert src[0]["physicalLocation"]["region"] == {"startLine": 88}
    assert src[0]["logicalLocations"][0]["fullyQualifiedName"] == "recparse!ParseRecord"
    ids = [rel["id"] for rel in res["relatedLocations"]]
    assert len(ids) == len(set(ids))


def test_sarif_keeps_an_unmapped_build_path_as_its_uri(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "--format", "sarif", str(USER_AV)], capsys)
    assert code == 1
    log = json.loads(out)
    _validate(log)
    (res,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "exception"]
    uris = [rel["physicalLocation"]["artifactLocation"]["uri"] for rel in res["relatedLocations"]]
    assert "file:///c:/src/recparse/parse.cpp" in uris


@pytest.mark.parametrize(
    ("log", "summary"),
    [
        ("leak-heap.log", "4 leaks: 4 heap blocks (unreachable) · 1 call site"),
        ("seed-c4-62.log", "3 leaks: 3 pool blocks · 2 call sites"),
    ],
)
def test_text_prints_the_leak_summary(
    log: str, summary: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["check", str(LOGS / log)], capsys)
    assert code == 1
    assert f"{LOGS / log}: {summary}" in out.splitlines()


def test_no_leak_summary_without_leaks(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["check", str(USER_AV)], capsys)
    assert " leaks: " not in out and " leak: " not in out
