"""Write diagnostics as compiler-style text, JSON (LSP-shaped) or SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..analysis import Analysis, Diagnostic, Severity
from ..analysis.findings import size_text
from ..model import Range


@dataclass(slots=True)
class FileResult:
    path: str  # as the user named it
    uri: str
    analysis: Analysis | None = None
    error: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    mapped_sources: dict[str, str] = field(default_factory=dict)  # build path -> local path


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


def write_json(results: Sequence[FileResult]) -> str:
    doc = {
        "version": 1,
        "files": [
            {
                "path": r.path,
                **({"error": r.error} if r.error else {}),
                "diagnostics": [lsp_diagnostic(d, r.uri) for d in r.diagnostics],
            }
            for r in results
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _count(results: Sequence[FileResult]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for r in results:
        for d in r.diagnostics:
            counts[d.severity] += 1
    return counts


def _plural(n: int, word: str) -> str:
    if word == "information":
        return f"{n} information"
    return f"{n} {word}{'s' if n != 1 else ''}"


def write_text(results: Sequence[FileResult]) -> str:
    """``path:line:col: severity [code] message`` (1-based), leak summaries, then totals."""
    lines: list[str] = []
    for r in results:
        if r.error:
            lines.append(f"{r.path}: error: {r.error}")
            continue
        for d in r.diagnostics:
            s = d.range.start
            lines.append(
                f"{r.path}:{s.line + 1}:{s.character + 1}: {d.severity.label} [{d.code}] {d.message}"
            )
        a = r.analysis
        if a is not None and a.groups:
            total = sum(g.bytes for g in a.groups)
            n = sum(g.count for g in a.groups)
            lines.append("")
            lines.append(
                f"{r.path}: {_plural(n, 'leaked allocation')}, {size_text(total)}, "
                f"{_plural(len(a.groups), 'call site')}:"
            )
            for g in a.groups:
                tags = ", ".join(sorted({leak.tag for leak in g.leaks}))
                lines.append(f"  {g.count:>4} x  {size_text(g.bytes):<24} {g.label}  tags: {tags}")
                for src in g.sources:
                    local = r.mapped_sources.get(src.path)
                    lines.append(f"          at {local or src.path}:{src.line}")
            lines.append("")
    counts = _count(results)
    files = len(results)
    lines.append(
        f"kdlens: {_plural(files, 'file')} checked: {_plural(counts[Severity.ERROR], 'error')}, "
        f"{_plural(counts[Severity.WARNING], 'warning')}, "
        f"{_plural(counts[Severity.INFORMATION] + counts[Severity.HINT], 'information')}"
    )
    return "\n".join(lines) + "\n"


_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
    Severity.HINT: "note",
}

_RULES: dict[str, str] = {
    "bug-check": "The system stopped with a bug check.",
    "leaked-allocation": "A driver left a pool allocation behind when it unloaded.",
    "leak-count-mismatch": "Counts of leaked allocations disagree between two parts of the log.",
    "leak-bytes-mismatch": "Byte totals of leaked allocations disagree between two parts of the log.",
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


def write_sarif(results: Sequence[FileResult]) -> str:
    """SARIF 2.1.0 with one run; columns are counted in Unicode code points."""
    used = sorted({d.code for r in results for d in r.diagnostics} | set(_RULES))
    rule_index = {code: i for i, code in enumerate(used)}
    sarif_results: list[dict[str, Any]] = []
    artifacts: list[dict[str, Any]] = []
    for ai, r in enumerate(results):
        artifacts.append({"location": {"uri": r.uri}})
        for d in r.diagnostics:
            res: dict[str, Any] = {
                "ruleId": d.code,
                "ruleIndex": rule_index[d.code],
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
            if d.related:
                res["relatedLocations"] = [
                    {
                        "id": i,
                        "message": {"text": rel.message},
                        "physicalLocation": {
                            "artifactLocation": {"uri": rel.path or r.uri},
                            "region": _region(rel.range),
                        },
                    }
                    for i, rel in enumerate(d.related)
                ]
            if d.data:
                res["properties"] = {"data": d.data}
            sarif_results.append(res)
    rules = []
    for code in used:
        rule: dict[str, Any] = {"id": code, "shortDescription": {"text": _RULES.get(code, code)}}
        rules.append(rule)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "kdlens", "version": __version__, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "artifacts": artifacts,
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
