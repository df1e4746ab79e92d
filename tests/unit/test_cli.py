"""``kdlens check``: formats, exit codes, errors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from kdlens.cli.main import main

from helpers import FIXTURES, REPO

SEED = FIXTURES / "logs" / "seed-c4-62.log"
#: ``make test`` fetches the schema into the checkout's .venv; a shared venv has its own copy.
SCHEMA = next(
    (
        p
        for p in (
            REPO / ".venv" / "share" / "sarif-schema-2.1.0.json",
            Path(sys.prefix) / "share" / "sarif-schema-2.1.0.json",
        )
        if p.exists()
    ),
    REPO / ".venv" / "share" / "sarif-schema-2.1.0.json",
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_is_compiler_style(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(SEED)], capsys)
    assert code == 1
    lines = out.splitlines()
    warn = [ln for ln in lines if "[leaked-allocation]" in ln]
    assert len(warn) == 3
    row = SEED.read_text(encoding="utf-8").splitlines()
    path, line, col, rest = warn[0].split(":", 3)
    assert path == str(SEED)
    assert row[int(line) - 1][int(col) - 1 :].startswith("0x982a8fe0")
    assert rest.startswith(" warning [leaked-allocation] Leaked 0x20 (32) bytes, tag 'VMdl'")
    assert any(" error [bug-check] 0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION" in ln for ln in lines)
    assert lines[-1] == "kdlens: 1 file checked: 1 error, 3 warnings, 0 information"
    assert any("3 leaked allocations, 0x1058 (4,184) bytes, 2 call sites" in ln for ln in lines)


@pytest.mark.parametrize(("fail_on", "expected"), [("never", 0), ("error", 1), ("warning", 1)])
def test_fail_on(fail_on: str, expected: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", str(SEED), "--fail-on", fail_on], capsys)[0] == expected


def test_clean_log_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "clean.log"
    f.write_text("kd> lm\nstart    end        module name\n80400000 80800000   nt  (pdb symbols)\n")
    code, out, _ = run(["check", str(f)], capsys)
    assert code == 0
    assert out.splitlines()[-1] == "kdlens: 1 file checked: 0 errors, 0 warnings, 0 information"


def test_json_output_uses_lsp_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "--format", "json", str(SEED)], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == 1
    (f,) = doc["files"]
    assert f["path"] == str(SEED)
    diags = f["diagnostics"]
    leak = next(d for d in diags if d["code"] == "leaked-allocation")
    assert set(leak) >= {"range", "severity", "code", "source", "message"}
    assert leak["severity"] == 2 and leak["source"] == "kdlens"
    start = leak["range"]["start"]
    row = SEED.read_text(encoding="utf-8").splitlines()[start["line"]]
    assert row[start["character"] :].startswith("0x982a8fe0")
    rel = leak["relatedInformation"][0]
    assert rel["location"]["uri"].startswith("file://")
    bug = next(d for d in diags if d["code"] == "bug-check")
    assert bug["codeDescription"]["href"].startswith("https://")


def test_sarif_validates_against_the_official_schema(capsys: pytest.CaptureFixture[str]) -> None:
    if not SCHEMA.exists():
        pytest.skip("the SARIF schema was not fetched (make test fetches it)")
    jsonschema = pytest.importorskip("jsonschema")
    code, out, _ = run(["check", "--format", "sarif", str(SEED)], capsys)
    assert code == 1
    log = json.loads(out)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(log, schema)
    results = log["runs"][0]["results"]
    assert sum(r["ruleId"] == "leaked-allocation" for r in results) == 3
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] >= 1 and region["startColumn"] >= 1


def test_missing_file_is_an_io_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", str(tmp_path / "nope.log")], capsys)
    assert code == 2
    assert err.strip().startswith("kdlens: ") and "cannot read" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_source_map_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", str(SEED), "--source-map", "nothing"], capsys)
    assert code == 2
    assert "FROM=TO" in err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "--format", "xml", str(SEED)])
    assert exc.value.code == 2


def test_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = SEED.read_bytes()
    fake = io.TextIOWrapper(io.BytesIO(data))
    monkeypatch.setattr(sys, "stdin", fake)
    code, out, _ = run(["check", "-", "--format", "json"], capsys)
    assert code == 1
    assert json.loads(out)["files"][0]["path"] == "<stdin>"


def test_source_map_shows_local_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "checkout" / "mydriver"
    src.mkdir(parents=True)
    (src / "handleioctl.c").write_text("/* stand-in */\n")
    code, out, _ = run(
        [
            "check",
            str(SEED),
            "--source-map",
            f"d:\\coding\\wdmdrivers\\mydriver={src}",
            "--fail-on",
            "never",
        ],
        capsys,
    )
    assert code == 0
    assert f"at {src / 'handleioctl.c'}:38" in out or "handleioctl.c:38" in out
    assert str(src / "handleioctl.c") in out
