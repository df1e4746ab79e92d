"""Write diagnostics as compiler-style text, JSON (LSP-shaped) or SARIF 2.1.0, as a stream.

A log of a few hundred thousand leaked allocations gives as many findings;
the report is therefore never built as one string. Each writer is fed one
file at a time (``begin``, ``file`` per log, ``end``) and writes as it goes:
text line by line, JSON and SARIF one finding at a time, each finding
encoded by ``json.dumps`` (the C encoder; ``json.dump`` would fall back to
the pure-Python one). Object keys are written in an order that lets a
writer finish with what it only knows at the end (SARIF's rule table and
artifact list come after the results; JSON readers do not care about
order).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any, Protocol

from .. import __version__
from ..analysis import Analysis, Diagnostic, Severity, Triage
from ..analysis.findings import bugcheck_summary, size_text
from ..analysis.triage import StopKind
from ..model import Range
from .baseline import ABSENT, BaselineResult, Identity

_TRIAGE_CODES = frozenset({"bug-check", "exception", "verifier-stop"})


@dataclass(slots=True)
class FileResult:
    """One checked log: its findings and what the writers need to present them."""

    path: str  # as the user named it
    uri: str
    analysis: Analysis | None = None
    error: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: build path -> the local file it maps to (absolute), for source locations
    local_sources: dict[str, Path] = field(default_factory=dict)
    #: build path -> local path as shown to the user (relative to the working folder)
    mapped_sources: dict[str, str] = field(default_factory=dict)
    #: per diagnostic, its identity across runs (same order as ``diagnostics``)
    identities: list[Identity] = field(default_factory=list)
    #: per diagnostic, ``new`` or ``unchanged`` when a baseline was given
    states: list[str] | None = None


class Sink(Protocol):
    """Where a report is written: a text stream, or anything with ``write``."""

    def write(self, text: str, /) -> int: ...


class Writer(Protocol):
    def begin(self) -> None: ...
    def file(self, r: FileResult) -> None: ...
    def end(self, totals: Totals, absent: Sequence[BaselineResult] | None) -> None: ...


@dataclass(slots=True)
class Totals:
    """Counts over every file, kept as files stream past."""

    files: int = 0
    by_severity: dict[Severity, int] = field(default_factory=lambda: dict.fromkeys(Severity, 0))
    new: int = 0
    unchanged: int = 0

    def add(self, r: FileResult) -> None:
        self.files += 1
        for d in r.diagnostics:
            self.by_severity[d.severity] += 1
        if r.states is not None:
            self.new += r.states.count("new")
            self.unchanged += r.states.count("unchanged")


# --------------------------------------------------------------------------- shared shapes


def _range(r: Range) -> dict[str, Any]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


def lsp_diagnostic(d: Diagnostic, uri: str) -> dict[str, Any]:
    """A diagnostic as the Language Server Protocol spells it (0-based)."""
    out: dict[str, Any] = {
        "range": _range(d.range),
        "severity": int(d.severity),
        "code": d.code,
        "source": d.source,
        "message": d.message,
    }
    if d.doc_url:
        out["codeDescription"] = {"href": d.doc_url}
    if d.related:
        out["relatedInformation"] = [
            {
                "location": {"uri": rel.path or uri, "range": _range(rel.range)},
                "message": rel.message,
            }
            for rel in d.related
        ]
    if d.data:
        out["data"] = d.data
    return out


class _Json:
    """Writes JSON values one at a time, compact or indented, never the whole document.

    ``dumps`` with ``indent=None`` goes through the C encoder in one shot per
    value; the indented form (``--pretty``) re-indents each value to its depth.
    """

    def __init__(self, out: Sink, pretty: bool) -> None:
        self.out = out
        self.pretty = pretty

    def value(self, obj: object, depth: int) -> str:
        if not self.pretty:
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        text = json.dumps(obj, ensure_ascii=False, indent=2)
        return text.replace("\n", "\n" + "  " * depth)

    def key(self, name: str) -> str:
        return json.dumps(name) + (": " if self.pretty else ":")

    def newline(self, depth: int) -> str:
        return "\n" + "  " * depth if self.pretty else ""

    def array(self, items: Iterator[object], depth: int) -> None:
        """``[item, item...]`` written item by item at ``depth`` (the array's own depth)."""
        self.out.write("[")
        first = True
        for item in items:
            self.out.write(("" if first else ",") + self.newline(depth + 1))
            self.out.write(self.value(item, depth + 1))
            first = False
        self.out.write(("" if first else self.newline(depth)) + "]")


def _plural(n: int, word: str) -> str:
    if word == "information":
        return f"{n} information"
    return f"{n} {word}{'s' if n != 1 else ''}"


# --------------------------------------------------------------------------- text


class TextWriter:
    """``path:line:col: severity [code] message`` (1-based), stop and leak summaries, totals."""

    def __init__(self, out: Sink) -> None:
        self.out = out

    def begin(self) -> None:
        pass

    def _line(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def file(self, r: FileResult) -> None:
        if r.error:
            self._line(f"{r.path}: error: {r.error}")
            return
        for i, d in enumerate(r.diagnostics):
            s = d.range.start
            mark = f"({r.states[i]}) " if r.states is not None else ""
            self._line(
                f"{r.path}:{s.line + 1}:{s.character + 1}: {d.severity.label} [{d.code}] "
                f"{mark}{d.message}"
            )
        a = r.analysis
        if a is None:
            return
        stops = a.triage
        for n, t in enumerate(stops, 1):
            self._line()
            for text in triage_summary(t, r, n, len(stops)):
                self._line(text)
        if a.leak_records:
            self._line()
            self._line(f"{r.path}: {a.leak_summary}")
        if a.groups:
            total = sum(g.bytes for g in a.groups)
            n = sum(g.count for g in a.groups)
            self._line(
                f"{r.path}: {_plural(n, 'leaked allocation')}, {size_text(total)}, "
                f"{_plural(len(a.groups), 'call site')}:"
            )
            for g in a.groups:
                tags = ", ".join(sorted({leak.tag for leak in g.leaks}))
                self._line(f"  {g.count:>4} x  {size_text(g.bytes):<24} {g.label}  tags: {tags}")
                for src in g.sources:
                    local = r.mapped_sources.get(src.path)
                    self._line(f"          at {local or src.path}:{src.line}")
        if a.leak_records or stops:
            self._line()

    def end(self, totals: Totals, absent: Sequence[BaselineResult] | None) -> None:
        counts = totals.by_severity
        tail = ""
        if absent is not None:
            if absent:
                self._line(f"fixed since the baseline ({len(absent)}):")
                for b in absent:
                    where = f"{b.path}:{b.line}:{b.column or 1}" if b.line else b.path
                    self._line(
                        f"{where}: {b.severity.label} [{b.identity.rule}] (fixed) {b.message}"
                    )
                self._line()
            tail = (
                f" ({totals.new} new, {totals.unchanged} unchanged, "
                f"{len(absent)} fixed since the baseline)"
            )
        self._line(
            f"kdlens: {_plural(totals.files, 'file')} checked: "
            f"{_plural(counts[Severity.ERROR], 'error')}, "
            f"{_plural(counts[Severity.WARNING], 'warning')}, "
            f"{_plural(counts[Severity.INFORMATION] + counts[Severity.HINT], 'information')}"
            f"{tail}"
        )


def _source_text(r: FileResult, path: str, line: int) -> str:
    local = r.mapped_sources.get(path)
    return f"{local or path}:{line}"


def triage_summary(t: Triage, r: FileResult, n: int, total: int) -> list[str]:
    """A few lines about one stop: what stopped, who, where (source file:line), your frames."""
    at = t.range.start.line + 1
    which = f"stop {n} of {total}" if total > 1 else "stop"
    kind = "bug check " if t.kind is StopKind.BUG_CHECK else ""
    out = [f"{r.path}:{at}: {which}: {kind}{t.title}"]
    what = t.detail
    if not what and t.case is not None and r.analysis is not None:
        what = bugcheck_summary(t.case, r.analysis.leaks)
    if what:
        out.append(f"  what:  {what}")
    if t.culprit:
        how = f" ({t.blamed.how})" if t.blamed is not None else " (where it faulted)"
        out.append(f"  who:   {t.culprit}{how}")
    if t.fault_label or t.fault_source is not None:
        where = t.fault_label or "?"
        if t.fault_source is not None:
            where += f" at {_source_text(r, t.fault_source.path, t.fault_source.line)}"
        out.append(f"  where: {where}")
    elif t.fault_address is not None:
        out.append(f"  where: 0x{t.fault_address:x} (no symbol for it in the log)")
    user = [f for f in t.frames if f.user]
    if user:
        first = user[0]
        src = (
            f" at {_source_text(r, first.source.path, first.source.line)}"
            if first.source is not None
            else ""
        )
        mods = f" ({', '.join(t.user_modules)})" if t.user_modules else ""
        out.append(
            f"  your code: {_plural(len(user), 'frame')} on the stack{mods}, "
            f"first {first.label}{src}"
        )
    elif t.frames:
        out.append(f"  your code: not on the stack ({_plural(len(t.frames), 'frame')})")
    if t.blame_differs and t.blamed is not None:
        out.append(
            f"  note:  the debugger blames {t.blamed.module}, a Windows component; "
            f"start with your frames"
        )
    return out


# --------------------------------------------------------------------------- JSON


class JsonWriter:
    """``{"version": 1, "files": [{"path", "diagnostics": [LSP diagnostics]}]}``.

    With a baseline each diagnostic has ``baselineState`` (``new`` or
    ``unchanged``) and the document ends with ``absent``: the baseline's
    findings that are gone.
    """

    def __init__(self, out: Sink, pretty: bool = False) -> None:
        self.json = _Json(out, pretty)
        self.out = out
        self._first = True

    def begin(self) -> None:
        j = self.json
        self.out.write("{" + j.newline(1) + j.key("version") + "1," + j.newline(1))
        self.out.write(j.key("files") + "[")

    def file(self, r: FileResult) -> None:
        j = self.json
        self.out.write(("" if self._first else ",") + j.newline(2) + "{" + j.newline(3))
        self._first = False
        self.out.write(j.key("path") + j.value(r.path, 3) + "," + j.newline(3))
        if r.error:
            self.out.write(j.key("error") + j.value(r.error, 3) + "," + j.newline(3))
        self.out.write(j.key("diagnostics"))

        def items() -> Iterator[object]:
            for i, d in enumerate(r.diagnostics):
                item = lsp_diagnostic(d, r.uri)
                if r.states is not None:
                    item["baselineState"] = r.states[i]
                yield item

        j.array(items(), 3)
        self.out.write(j.newline(2) + "}")

    def end(self, totals: Totals, absent: Sequence[BaselineResult] | None) -> None:
        j = self.json
        self.out.write(("" if self._first else j.newline(1)) + "]")
        if absent is not None:
            self.out.write("," + j.newline(1) + j.key("absent"))
            j.array(
                (
                    {
                        "path": b.path,
                        **({"line": b.line - 1} if b.line else {}),
                        "severity": int(b.severity),
                        "code": b.identity.rule,
                        "message": b.message,
                        "baselineState": ABSENT,
                        **({"data": b.data} if b.data else {}),
                    }
                    for b in absent
                ),
                1,
            )
        self.out.write(j.newline(0) + "}\n")


# --------------------------------------------------------------------------- SARIF

_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
    Severity.HINT: "note",
}

_RULES: dict[str, str] = {
    "bug-check": "The system stopped with a bug check.",
    "exception": "A program stopped on an exception.",
    "verifier-stop": "Application Verifier stopped a program.",
    "blame-differs": "The debugger blames a Windows component while the user's code is on the stack.",
    "leaked-allocation": "Memory (pool, heap or CRT block) was allocated and never freed.",
    "leaked-handle": "A handle was opened and never closed.",
    "leaked-key": "A registry key handle was opened and never closed.",
    "leaked-reservation": "Virtual memory was reserved and never released.",
    "leaked-bstr": "A BSTR was allocated and never freed.",
    "leaked-com-object": "A COM allocation was never freed.",
    "leaked-locked-pages": "Pages were locked and never unlocked.",
    "pool-growth": "A pool tag grew between two snapshots.",
    "leak-count-mismatch": "Counts of leaked allocations disagree between two parts of the log.",
    "leak-bytes-mismatch": "Byte totals of leaked allocations disagree between two parts of the log.",
    "leak-listing-incomplete": "The log lists fewer leaks than the debugger found.",
    "no-allocation-history": "The log holds no allocation history for a leaked block.",
    "symbol-mismatch": "A symbol file was found but belongs to another build of the module.",
    "symbol-error": "A symbol file could not be read.",
    "symbol-timeout": "Loading a symbol file took too long.",
    "symbol-stripped": "A symbol file holds public symbols only, no source lines.",
    "symbol-not-found": "No symbol file was found for a verified driver on the symbol path.",
    "inconsistent-load-base": "The log's addresses disagree about where a module was loaded.",
}


def _region(r: Range) -> dict[str, int]:
    return {
        "startLine": r.start.line + 1,
        "startColumn": r.start.character + 1,
        "endLine": r.end.line + 1,
        "endColumn": max(r.end.character + 1, 1),
    }


def source_uri(r: FileResult, build_path: str) -> str | None:
    """The URI of a source file: the local copy when mapped, else the build path's own."""
    local = r.local_sources.get(build_path)
    if local is not None:
        return local.as_uri()
    try:
        win = PureWindowsPath(build_path)
        if win.is_absolute() and win.drive and not win.drive.startswith("\\\\"):
            return win.as_uri()
    except ValueError:
        pass
    return None


class SarifWriter:
    """SARIF 2.1.0 with one run; columns are counted in Unicode code points.

    Each finding carries its identity in ``partialFingerprints`` (see
    ``baseline``); with a baseline, ``baselineState`` is set on every result
    and the baseline's vanished findings are added as ``absent`` results.
    A finding with a source line (a leak's allocating line, a stop's
    faulting line) names it as a related location, mapped to the local file
    when one was found: the log line stays the result's one location, as
    the specification asks (several locations mean "fix all of them").
    """

    def __init__(self, out: Sink, pretty: bool = False) -> None:
        self.json = _Json(out, pretty)
        self.out = out
        self.rules: dict[str, int] = {code: i for i, code in enumerate(sorted(_RULES))}
        self.artifacts: list[str] = []
        self._first = True

    def _rule(self, code: str) -> int:
        index = self.rules.get(code)
        if index is None:
            index = self.rules[code] = len(self.rules)
        return index

    def _artifact(self, uri: str) -> int:
        try:
            return self.artifacts.index(uri)
        except ValueError:
            self.artifacts.append(uri)
            return len(self.artifacts) - 1

    def begin(self) -> None:
        j = self.json
        self.out.write("{" + j.newline(1))
        self.out.write(
            j.key("$schema") + j.value("https://json.schemastore.org/sarif-2.1.0.json", 1)
        )
        self.out.write("," + j.newline(1) + j.key("version") + '"2.1.0",' + j.newline(1))
        self.out.write(j.key("runs") + "[" + j.newline(2) + "{" + j.newline(3))
        self.out.write(j.key("columnKind") + '"unicodeCodePoints",' + j.newline(3))
        self.out.write(j.key("results") + "[")

    def _emit(self, result: dict[str, Any]) -> None:
        j = self.json
        self.out.write(("" if self._first else ",") + j.newline(4) + j.value(result, 4))
        self._first = False

    def file(self, r: FileResult) -> None:
        ai = self._artifact(r.uri)
        for i, d in enumerate(r.diagnostics):
            self._emit(self._result(r, ai, i, d))

    def _result(self, r: FileResult, ai: int, i: int, d: Diagnostic) -> dict[str, Any]:
        res: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": self._rule(d.code),
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": r.uri, "index": ai},
                        "region": _region(d.range),
                    }
                }
            ],
        }
        related: list[dict[str, Any]] = [
            {
                "id": k,
                "message": {"text": rel.message},
                "physicalLocation": {
                    "artifactLocation": {"uri": rel.path or r.uri},
                    "region": _region(rel.range),
                },
            }
            for k, rel in enumerate(d.related)
        ]
        src = d.data.get("source") if d.data else None
        if isinstance(src, dict) and isinstance(src.get("path"), str):
            uri = source_uri(r, src["path"])
            line = src.get("line")
            if uri is not None and isinstance(line, int) and line >= 1:
                what = "faulting source line" if d.code in _TRIAGE_CODES else "source line"
                loc: dict[str, Any] = {
                    "id": len(related),
                    "message": {"text": f"{what} ({src['path']}:{line})"},
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": line},
                    },
                }
                symbol = d.data.get("faultSymbol")
                if isinstance(symbol, str):
                    name = symbol.split("+", 1)[0]
                    loc["logicalLocations"] = [{"fullyQualifiedName": name, "kind": "function"}]
                related.append(loc)
        if related:
            res["relatedLocations"] = related
        if r.identities:
            ident = r.identities[i]
            res["partialFingerprints"] = {ident.key: ident.value}
        if r.states is not None:
            res["baselineState"] = r.states[i]
        if d.data:
            res["properties"] = {"data": d.data}
        return res

    def end(self, totals: Totals, absent: Sequence[BaselineResult] | None) -> None:
        j = self.json
        for b in absent or ():
            loc: dict[str, Any] = {"artifactLocation": {"uri": b.uri}}
            if b.line:
                loc["region"] = {"startLine": b.line, "startColumn": b.column or 1}
            res: dict[str, Any] = {
                "ruleId": b.identity.rule,
                "ruleIndex": self._rule(b.identity.rule),
                "level": _SARIF_LEVEL[b.severity],
                "message": {"text": b.message},
                "locations": [{"physicalLocation": loc}],
                "partialFingerprints": {b.identity.key: b.identity.value},
                "baselineState": ABSENT,
            }
            if b.data:
                res["properties"] = {"data": b.data}
            self._emit(res)
        self.out.write(("" if self._first else j.newline(3)) + "]," + j.newline(3))
        self.out.write(j.key("artifacts"))
        j.array(({"location": {"uri": uri}} for uri in self.artifacts), 3)
        rules = [
            {"id": code, "shortDescription": {"text": _RULES.get(code, code)}}
            for code in sorted(self.rules, key=self.rules.__getitem__)
        ]
        tool = {"driver": {"name": "kdlens", "version": __version__, "rules": rules}}
        self.out.write("," + j.newline(3) + j.key("tool") + j.value(tool, 3))
        self.out.write(j.newline(2) + "}" + j.newline(1) + "]" + j.newline(0) + "}\n")


WRITERS: dict[str, Callable[[Sink, bool], Writer]] = {
    "text": lambda out, _pretty: TextWriter(out),
    "json": JsonWriter,
    "sarif": SarifWriter,
}
