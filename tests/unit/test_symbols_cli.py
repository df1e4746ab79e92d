"""``kdlens check --symbol-path``: source lines from PDBs, remote servers skipped with one note."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kdlens.cli.main import main

from fixtures.symbols.symtest import X64_LOG, X86_LOG, copy_sources, flat, store
from helpers import REPO


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KDLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("_NT_SYMBOL_PATH", raising=False)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_check_prints_the_source_lines_from_the_pdb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    copy_sources(ws)
    log = ws / "session.log"
    shutil.copy(X64_LOG, log)
    sym = store(tmp_path / "sym", "x64-O2")
    url = "https://msdl.microsoft.com/download/symbols"
    code, out, err = run(
        ["check", str(log), "--symbol-path", f"srv*{sym}*{url}", "--fail-on", "never"], capsys
    )
    assert code == 0
    lines = out.splitlines()
    leaks = [ln for ln in lines if "[leaked-allocation]" in ln]
    assert [ln.rsplit(" at ", 1)[-1] for ln in leaks] == [
        "alloc.c:13",
        "workitem.c:28",
        "alloc.c:13",
    ]
    # the summary names the workspace file of each call site
    assert f"          at {ws / 'src' / 'alloc.c'}:13" in lines
    assert f"          at {ws / 'src' / 'workitem.c'}:28" in lines
    assert not any(ln.startswith(str(log)) and "[symbol-" in ln for ln in lines)
    notes = [ln for ln in err.splitlines() if "remote symbol servers are not contacted" in ln]
    assert len(notes) == 1 and url in notes[0]


def test_the_note_about_servers_is_printed_once_for_many_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sym = store(tmp_path / "sym", "x64-O2", "x86-O0")
    code, out, err = run(
        [
            "check",
            str(X64_LOG),
            str(X86_LOG),
            "--symbol-path",
            f"srv*{sym}*https://a.example/",
            "--symbol-path",
            "srv*https://b.example/",
            "--fail-on",
            "never",
        ],
        capsys,
    )
    assert code == 0
    assert err.count("remote symbol servers are not contacted") == 1
    assert "https://a.example/" in err and "https://b.example/" in err
    assert out.count("at alloc.c:13") == 4  # two leaks in each log


def test_environment_symbol_path_and_mismatch_diagnostic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("_NT_SYMBOL_PATH", str(flat(tmp_path / "out", "x64-O0")))
    code, out, err = run(["check", str(X64_LOG), "--fail-on", "never"], capsys)
    assert code == 0
    (line,) = [ln for ln in out.splitlines() if "[symbol-mismatch]" in ln]
    assert ": information [symbol-mismatch] mydriver.pdb does not match mydriver" in line
    assert "remote" not in err


def test_without_a_symbol_path_nothing_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["check", str(X64_LOG), "--fail-on", "never"], capsys)
    assert code == 0
    assert " at alloc.c" not in out and "[symbol-" not in out
    assert err == ""


def test_demo_example(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    example = Path("examples") / "mydriver-leak"
    code, out, _ = run(
        [
            "check",
            str(example / "kd-session-nosymbols.log"),
            "--symbol-path",
            str(example / "symbols"),
            "--fail-on",
            "never",
        ],
        capsys,
    )
    assert code == 0
    lines = out.splitlines()
    for where in ("handleioctl.c:89", "handleioctl.c:58", "workitem.c:23"):
        assert f"          at {example / 'src' / where}" in lines
