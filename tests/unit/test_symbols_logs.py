"""The logs of the symbol tests and of the bundled example agree with the binaries they describe."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kdlens.analysis import analyze
from kdlens.analysis.evidence import Origin
from kdlens.model import StackKind
from kdlens.parse import parse_text
from kdlens.symbols.resolver import SymbolFiles, SymbolState

from fixtures.symbols import make_logs
from fixtures.symbols.symtest import X64_LOG, X86_LOG
from helpers import REPO

EXAMPLE = REPO / "examples" / "mydriver-leak"
FULL_LOG = EXAMPLE / "kd-session.log"
BARE_LOG = EXAMPLE / "kd-session-nosymbols.log"
#: POSIX absolute paths of a build machine, or a drive path other than the session's build path.
_LOCAL = re.compile(rb"(?:(?<![A-Za-z]:)/(?:work|tmp|home|root|usr|opt|var|mnt|Users)/)")


@pytest.mark.parametrize(
    ("path", "render"), [(X64_LOG, make_logs.x64_log), (X86_LOG, make_logs.x86_log)]
)
def test_fixture_logs_are_what_the_script_writes(path: Path, render: object) -> None:
    assert callable(render)
    assert path.read_text(encoding="utf-8") == render()


def _example_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "example_make_logs", EXAMPLE / "rebuild" / "make_logs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_example_logs_are_what_the_script_writes() -> None:
    script = _example_script()
    driver = script.Driver()
    assert FULL_LOG.read_text(encoding="utf-8") == script.render(driver, True)
    assert BARE_LOG.read_text(encoding="utf-8") == script.render(driver, False)


def test_example_store_is_small_and_has_no_local_paths() -> None:
    files = sorted(f for f in (EXAMPLE / "symbols").rglob("*") if f.is_file())
    assert [f.relative_to(EXAMPLE / "symbols").parts[0] for f in files] == [
        "MyDriver.pdb",
        "MyDriver.sys",
    ]
    assert sum(f.stat().st_size for f in files) < 200_000
    for f in files:
        data = f.read_bytes()
        assert _LOCAL.findall(data) == [], f
        assert str(REPO).encode() not in data
    pdb = next(f for f in files if f.suffix == ".pdb")
    assert b"d:\\work\\mydriver\\src\\handleioctl.c" in pdb.read_bytes()


def _symbols(tmp_path: Path) -> SymbolFiles:
    return SymbolFiles([str(EXAMPLE / "symbols")], cache_dir=tmp_path / "cache")


def test_example_pdb_agrees_with_what_the_debugger_printed(tmp_path: Path) -> None:
    """Every ``ln`` answer and ``[file @ line]`` annotation of the full log is the PDB's line."""
    session = parse_text(FULL_LOG.read_text(encoding="utf-8"))
    assert not session.faults, session.faults
    symbols = _symbols(tmp_path)
    resolver, diagnostics = symbols.for_session(session, analyze(session).evidence)
    assert diagnostics == []
    status = symbols.status("MyDriver")
    assert status is not None and status.state is SymbolState.VERIFIED
    assert status.base == 0xA1C30000
    checked = 0
    for ln in session.ln_results:
        assert ln.query is not None and ln.source is not None
        src = resolver.resolve(ln.query.value, None)
        assert src is not None and (src.path, src.line) == (ln.source.path, ln.source.line)
        checked += 1
    for stack in session.stacks:
        if stack.kind is not StackKind.K:
            continue
        for i, fr in enumerate(stack.frames):
            if fr.source is None or fr.symbol is None:
                continue
            if i == 0:
                src = resolver.resolve(None, fr.symbol)
            else:
                prev = stack.frames[i - 1].return_address
                assert prev is not None
                src = resolver.resolve(prev.value, fr.symbol, return_address=True)
            assert src is not None and (src.path, src.line) == (fr.source.path, fr.source.line)
            assert src.function == fr.symbol.display
            checked += 1
    assert checked == 9


def test_example_without_symbols_finds_the_same_lines(tmp_path: Path) -> None:
    full = analyze(parse_text(FULL_LOG.read_text(encoding="utf-8")))
    bare_session = parse_text(BARE_LOG.read_text(encoding="utf-8"))
    assert not bare_session.faults, bare_session.faults
    assert "MyDriver!" not in BARE_LOG.read_text(encoding="utf-8")
    bare = analyze(bare_session, symbols=_symbols(tmp_path))
    assert [leak.source.origin for leak in full.leaks if leak.source] == [Origin.LN] * 3
    assert [leak.source.origin for leak in bare.leaks if leak.source] == [Origin.SYMBOL_FILE] * 3
    lines = [(leak.source.path, leak.source.line) for leak in full.leaks if leak.source]
    assert lines == [(leak.source.path, leak.source.line) for leak in bare.leaks if leak.source]
    assert [(p.rsplit("\\", 1)[-1], n) for p, n in lines] == [
        ("handleioctl.c", 89),
        ("handleioctl.c", 58),
        ("workitem.c", 23),
    ]
