"""Tests of the TextMate grammar for debugger logs (syntaxes/windbg-log.tmLanguage.json).

Three layers:

* structure: the JSON is a usable grammar (includes resolve, every scope carries the
  ``.windbg-log`` suffix, every regex compiles);
* speed: every regex is run through Python's ``re`` on long pathological lines, in a child
  process that is killed when one pair stalls, so a regex that backtracks badly fails the test
  instead of hanging it; the same lines also go through vscode-textmate (``long-lines.js``);
* behaviour: the ``vscode-tmgrammar-test`` assertion files (``cases/``) and the
  ``vscode-tmgrammar-snap`` snapshots (``snapshots/``).

The node-based tests skip when node or npm is missing and fail with the tool's output otherwise.
Refresh the snapshots after an intended grammar change with ``npm run update-snapshots`` in this
folder, and review the diff of the ``.snap`` files before committing them.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GRAMMAR = REPO / "syntaxes" / "windbg-log.tmLanguage.json"
SCOPE = "source.windbg-log"
SUFFIX = ".windbg-log"
CASES = HERE / "cases"
SNAPSHOTS = HERE / "snapshots"
BIN = HERE / "node_modules" / ".bin"

REGEX_KEYS = ("match", "begin", "end", "while")
LIMIT_MS = 50.0  # per regex and line; a linear scan of 100,000 characters takes a few ms
STALL_S = 10.0  # a pair that runs this long is quadratic or worse
TOOL_DEADLINE_S = 300.0
ENGINE_LIMIT_MS = 2000.0  # a whole 100,000-character line, tens of thousands of tokens


# --------------------------------------------------------------------------- grammar walking


def load_grammar() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    return data


def walk(node: Any, where: str = "") -> Iterator[tuple[str, str, Any]]:
    """Yield (location, key, value) for every key of every object in the grammar."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield where, key, value
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from walk(item, f"{where}[{i}]")


def grammar_regexes(grammar: dict[str, Any]) -> list[tuple[str, str]]:
    """(location, Oniguruma source) of every regex in the grammar."""
    return [(f"{loc}/{key}", value) for loc, key, value in walk(grammar) if key in REGEX_KEYS]


_ONIG_ONLY = (
    (re.compile(r"\\h"), "[0-9a-fA-F]"),
    (re.compile(r"\\H"), "[^0-9a-fA-F]"),
    (re.compile(r"\\G"), ""),
    (re.compile(r"\\z"), r"\\Z"),
    (re.compile(r"\(\?<(?=[A-Za-z_])"), "(?P<"),
)


def to_python(source: str) -> str:
    """Translate the few Oniguruma-only escapes into Python ``re`` syntax.

    ``\\G`` (anchor at the end of the previous match) has no equivalent; dropping it only makes
    the Python search try more start positions, which is the harsher case for the speed test.
    """
    out = source
    for pattern, replacement in _ONIG_ONLY:
        out = pattern.sub(replacement, out)
    return out


# --------------------------------------------------------------------------- structure


def test_grammar_identity() -> None:
    grammar = load_grammar()
    assert grammar["scopeName"] == SCOPE
    assert grammar["patterns"], "the grammar has no top-level patterns"


def test_includes_resolve_and_every_rule_is_used() -> None:
    grammar = load_grammar()
    repository = grammar["repository"]
    included = {value for _, key, value in walk(grammar) if key == "include"}
    local = {ref[1:] for ref in included if ref.startswith("#")}
    assert not (included - {f"#{name}" for name in local} - {"$self", "$base"}), included
    assert local <= set(repository), f"unknown rules: {sorted(local - set(repository))}"
    assert set(repository) <= local, f"unused rules: {sorted(set(repository) - local)}"


def test_every_scope_carries_the_suffix() -> None:
    grammar = load_grammar()
    names = [
        value
        for _, key, value in walk(grammar)
        if key in ("name", "contentName") and isinstance(value, str)
    ]
    names.remove(grammar["name"])  # the display name of the grammar itself
    assert len(names) > 50
    bad = [part for name in names for part in name.split() if not part.endswith(SUFFIX)]
    assert bad == []


def test_every_regex_compiles_in_python() -> None:
    regexes = grammar_regexes(load_grammar())
    assert len(regexes) >= 40
    for where, source in regexes:
        try:
            re.compile(to_python(source))
        except re.error as exc:
            pytest.fail(f"{where}: {exc}: {source}")


# --------------------------------------------------------------------------- speed


def pathological_lines() -> dict[str, str]:
    """Long lines that make a backtracking regex blow up.

    Uniform runs catch unanchored quantifier chains; the prefixed ones walk the anchored line
    rules past their literal start, into the part where nested or adjacent quantifiers live.
    """
    lines = {
        "a*100000": "a" * 100_000,
        "0*100000": "0" * 100_000,
        "backtick*50000": "`" * 50_000,
        "space*100000": " " * 100_000,
        "x!*50000": "x!" * 50_000,
        "tab*100000": "\t" * 100_000,
        "a_space*50000": "a " * 50_000,
        "star*100000": "*" * 100_000,
        "dash*100000": "-" * 100_000,
        "dot*100000": "." * 100_000,
        "A_*50000": "A_" * 50_000,
        "0x*50000": "0x" * 50_000,
        "hex_backtick*10000": "fffff801`" * 10_000,
        "bracket_a*50000": "[a" * 50_000,
        "colon*100000": ":" * 100_000,
        "a.*50000": "a." * 50_000,
        "lt*100000": "<" * 100_000,
        "a-*50000": "a-" * 50_000,
        "a:*50000": "a:" * 50_000,
        "quote_a*50000": "'a" * 50_000,
        "a_quote*50000": "a'" * 50_000,
        "dquote*100000": '"' * 100_000,
        "0-*50000": "0-" * 50_000,
        "bang*100000": "!" * 100_000,
        "paren*100000": "(" * 100_000,
    }
    prefixed = {
        "prompt": "0: kd> !analyze " + "a " * 50_000,
        "prompt-path": "kd> .logopen c:\\" + "a" * 100_000,
        "star-title": "*  a" + " " * 100_000 + "b",
        "star-notice": "*** " + "a " * 50_000,
        "flag": "    [X] (0x00000001) " + "a" * 100_000,
        "arg": "Arg1: " + "0" * 100_000,
        "bugcheck-summary": "BugCheck C4, {" + "1, " * 33_000,
        "bugcheck-name": "A_" + "B" * 100_000 + " (c4",
        "field": "A" * 100_000 + ":",
        "pool-row": "      0x1  0x2  " + " " * 100_000,
        "pool-row-legacy": "fffff9800157efc0     0x0000003c     " + " " * 100_000,
        "pool-block": " e1001000 size:" + " " * 100_000,
        "lm-row": "fffff807`1b2b0000 fffff807`1b2c8000" + " " * 100_000 + "a",
        "lm-name": "f9f53000 f9f61000   " + "a" * 100_000 + "!",
        "ln-path": "c:\\" + "a." * 50_000,
        "annotation": "[" + "a " * 50_000,
        "symbol": "nt!" + "a::" * 33_000 + "+",
        "symbol-offset": "nt!a+" + "0" * 100_000 + "g",
        "heading": "Debugging Details" + " " * 100_000,
        "separator": "--- " * 25_000 + "x",
        "poolused-row": " Tag1" + " 1" * 50_000,
    }
    return {**lines, **prefixed}


def _probe(limit_ms: float) -> None:
    """Child process: time every (regex, line) pair and print one JSON record per pair."""
    regexes = grammar_regexes(load_grammar())
    lines = pathological_lines()
    for where, source in regexes:
        compiled = re.compile(to_python(source))
        for name, line in lines.items():
            print(json.dumps({"start": where, "line": name}), flush=True)
            best = float("inf")
            for _ in range(5):  # retried only when slow, to filter out scheduling noise
                t0 = time.perf_counter()
                compiled.search(line)
                best = min(best, (time.perf_counter() - t0) * 1000.0)
                if best < limit_ms:
                    break
            print(json.dumps({"rule": where, "line": name, "ms": best}), flush=True)


def test_regexes_stay_linear_on_long_lines() -> None:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--probe"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    records: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    try:
        while True:
            try:
                line = lines.get(timeout=STALL_S)
            except queue.Empty:
                pytest.fail(
                    f"{current.get('start')} has run for over {STALL_S} s on the "
                    f"{current.get('line')} line: it backtracks"
                )
            if line is None:
                break
            record = json.loads(line)
            if "start" in record:
                current = record
            else:
                records.append(record)
    finally:
        proc.kill()
        proc.wait()
    assert len(records) == len(grammar_regexes(load_grammar())) * len(pathological_lines())
    slow = [r for r in records if r["ms"] >= LIMIT_MS]
    assert slow == [], "regexes that backtrack on long lines:\n" + "\n".join(
        f"{r['rule']} on {r['line']}: {r['ms']:.1f} ms" for r in slow
    )


# --------------------------------------------------------------------------- case files


def case_files() -> list[Path]:
    return sorted(CASES.glob("*.test.kdlog"))


def snapshot_sources() -> list[Path]:
    return sorted(SNAPSHOTS.glob("*.kdlog"))


ASSERTION = re.compile(r"^#\s*(\^|<~*-+)")


def test_case_files_are_well_formed() -> None:
    files = case_files()
    assert len(files) >= 10
    header = re.compile(r'^# SYNTAX TEST "' + re.escape(SCOPE) + r'" "[^"]+"$')
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert header.match(lines[0]), f"{path.name}: bad header {lines[0]!r}"
        assertions = [line for line in lines[1:] if ASSERTION.match(line)]
        assert len(assertions) >= 3, f"{path.name} asserts almost nothing"
        assert not ASSERTION.match(lines[1]), f"{path.name}: an assertion needs a line above it"


def test_every_snapshot_has_a_committed_snap() -> None:
    sources = snapshot_sources()
    assert len(sources) >= 4
    missing = [p.name for p in sources if not Path(f"{p}.snap").is_file()]
    orphans = [p.name for p in SNAPSHOTS.glob("*.snap") if not p.with_suffix("").is_file()]
    assert missing == [], "run the snapshot tool with --updateSnapshot and commit the .snap files"
    assert orphans == []


# --------------------------------------------------------------------------- node tools


def node_tool(name: str) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed; the grammar tool tests need them")
    tool = BIN / name
    if not tool.exists():
        pytest.fail(f"{tool.relative_to(REPO)} is missing: run `make grammar-deps`")
    return tool


def run_tool(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args,
            cwd=HERE,
            capture_output=True,
            text=True,
            input=stdin,
            timeout=TOOL_DEADLINE_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{args[0]} did not finish in {TOOL_DEADLINE_S} s:\n{exc.stdout!r}\n{exc.stderr!r}"
        )


def grammar_arg() -> str:
    """The grammar path relative to this folder, where the tools run."""
    return os.path.relpath(GRAMMAR, HERE)


def test_assertion_cases_pass() -> None:
    tool = node_tool("vscode-tmgrammar-test")
    result = run_tool([str(tool), "--compact", "-g", grammar_arg(), "cases/*.test.kdlog"])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = [line for line in output.splitlines() if "run successfuly" in line]
    assert len(passed) == len(case_files()), output


def test_snapshots_match() -> None:
    tool = node_tool("vscode-tmgrammar-snap")
    before = {p.name: p.read_bytes() for p in SNAPSHOTS.glob("*.snap")}
    result = run_tool([str(tool), "-s", SCOPE, "-g", grammar_arg(), "snapshots/*.kdlog"])
    output = result.stdout + result.stderr
    after = {p.name: p.read_bytes() for p in SNAPSHOTS.glob("*.snap")}
    assert after == before, "the snapshot tool rewrote .snap files:\n" + output
    assert result.returncode == 0, output
    assert "Generating snapshot" not in output, output


def test_vscode_engine_tokenizes_long_lines_quickly() -> None:
    """The same long lines through vscode-textmate, the engine VS Code itself runs."""
    node_tool("vscode-tmgrammar-test")
    lines = pathological_lines()
    result = run_tool(["node", "long-lines.js", grammar_arg()], stdin=json.dumps(lines))
    assert result.returncode == 0, result.stdout + result.stderr
    records = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["name"] for r in records] == list(lines)
    assert all(r["tokens"] >= 1 for r in records)
    slow = [f"{r['name']}: {r['ms']:.0f} ms" for r in records if r["ms"] >= ENGINE_LIMIT_MS]
    assert slow == []


if __name__ == "__main__" and sys.argv[1:] == ["--probe"]:
    _probe(LIMIT_MS)
