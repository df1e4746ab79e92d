"""Findings compared with a baseline: which are new, which were there before, which are gone.

Every finding gets an identity that survives a rerun of the same program:
``(rule, fingerprint kind, fingerprint)``.

- Leaks (``leaked-*``) carry the core's leak fingerprint (allocating module,
  function, source line or offset, tag or size class:
  ``usermode_leaks.fingerprint``) under ``kdlensLeak/v1``; so does a note
  about one leak (``no-allocation-history``), which comes and goes with it.
- Stops (bug checks, exceptions, Application Verifier stops and the
  blame notes about them) carry the triage fingerprint (kind, code, culprit
  module, faulting function: ``findings.triage_fingerprint``) under
  ``kdlensStop/v1``.
- Anything else (count cross-checks, symbol-file notes) is identified by its
  rule and its message with every number masked, under
  ``kdlensFinding/v1``: the same complaint about the same thing, whatever
  the counts and addresses of this run.

Identities are compared as multisets: a site that leaked twice in the
baseline and three times now has two unchanged leaks and one new one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..analysis import Diagnostic, Severity

LEAK_KEY = "kdlensLeak/v1"
STOP_KEY = "kdlensStop/v1"
FINDING_KEY = "kdlensFinding/v1"
KEYS = (LEAK_KEY, STOP_KEY, FINDING_KEY)

#: Rules whose fingerprint comes from the crash triage.
STOP_RULES = frozenset({"bug-check", "exception", "verifier-stop", "blame-differs"})

NEW = "new"
UNCHANGED = "unchanged"
ABSENT = "absent"

_NUMBER = re.compile(r"0x[0-9a-f`]+|[0-9a-f]{8,}(?:`[0-9a-f]{8})?|\d[\d,]*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Identity:
    """What makes two findings of two runs the same finding."""

    rule: str
    key: str
    value: str


def masked(message: str) -> str:
    """``message`` with every number (hex, decimal, grouped) replaced by ``#``."""
    return _NUMBER.sub("#", message)


def identity_of(rule: str, data: Mapping[str, Any] | None, message: str) -> Identity:
    """The identity of one finding from its rule, its ``data`` and its message."""
    fp = data.get("fingerprint") if data else None
    if isinstance(fp, str) and fp:
        # leaks, and notes about one leak (no-allocation-history) carry the leak's own
        return Identity(rule, STOP_KEY if rule in STOP_RULES else LEAK_KEY, fp)
    text = f"{rule}|{masked(message)}"
    return Identity(rule, FINDING_KEY, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])


def identity(d: Diagnostic) -> Identity:
    return identity_of(d.code, d.data, d.message)


@dataclass(slots=True)
class BaselineResult:
    """One finding of the baseline, with enough to report it when it is gone."""

    identity: Identity
    severity: Severity
    message: str
    uri: str
    path: str  # for text output
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    data: dict[str, Any] = field(default_factory=dict)


class BaselineError(Exception):
    """The baseline file could not be used; the text says why in one line."""


_LEVEL_SEVERITY = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "note": Severity.INFORMATION,
    "none": Severity.HINT,
}


class Baseline:
    """The findings of an earlier run, consumed as the current ones are matched."""

    def __init__(self, items: Iterable[BaselineResult], source: str) -> None:
        self.items = list(items)
        self.source = source
        self._pool: dict[Identity, list[BaselineResult]] = {}
        for item in self.items:
            self._pool.setdefault(item.identity, []).append(item)
        for group in self._pool.values():
            group.reverse()  # pop() takes them in log order
        self._matched: set[int] = set()

    def match(self, ident: Identity) -> str:
        """``unchanged`` (and consume one baseline finding) or ``new``."""
        group = self._pool.get(ident)
        if not group:
            return NEW
        self._matched.add(id(group.pop()))
        return UNCHANGED

    def absent(self) -> list[BaselineResult]:
        """The baseline's findings no current finding matched, in the baseline's order."""
        return [item for item in self.items if id(item) not in self._matched]

    # ----------------------------------------------------------------- loading

    @classmethod
    def from_diagnostics(cls, diagnostics: Iterable[Diagnostic], uri: str, path: str) -> Baseline:
        """The baseline of a debugger log, analysed with the current settings."""
        items = [
            BaselineResult(
                identity=identity(d),
                severity=d.severity,
                message=d.message,
                uri=uri,
                path=path,
                line=d.range.start.line + 1,
                column=d.range.start.character + 1,
                data=dict(d.data),
            )
            for d in diagnostics
        ]
        return cls(items, path)

    @classmethod
    def from_report(cls, doc: object, path: str) -> Baseline:
        """The baseline of a SARIF or JSON report kdlens wrote earlier."""
        if not isinstance(doc, dict):
            raise BaselineError("it is JSON but not a kdlens report")
        if doc.get("version") == "2.1.0" and isinstance(doc.get("runs"), list):
            return cls(_sarif_items(doc, path), path)
        if doc.get("version") == 1 and isinstance(doc.get("files"), list):
            return cls(_json_items(doc, path), path)
        raise BaselineError("it is JSON but neither a SARIF 2.1.0 log nor a kdlens JSON report")


def looks_like_report(data: bytes) -> bool:
    """True when ``data`` starts like a JSON document (a log never starts with ``{``)."""
    return data.lstrip()[:1] == b"{"


def load_report(data: bytes, path: str) -> Baseline:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BaselineError(f"it starts like JSON but cannot be read as JSON ({exc})") from None
    return Baseline.from_report(doc, path)


def _sarif_items(doc: dict[str, Any], path: str) -> list[BaselineResult]:
    items: list[BaselineResult] = []
    runs = [r for r in doc["runs"] if isinstance(r, dict)]
    if not any(_driver_name(r) == "kdlens" for r in runs):
        raise BaselineError("this SARIF log was not written by kdlens")
    for run in runs:
        if _driver_name(run) != "kdlens":
            continue
        for res in run.get("results") or []:
            if not isinstance(res, dict) or res.get("baselineState") == ABSENT:
                continue  # a finding already gone in that run is no part of its baseline
            rule = str(res.get("ruleId") or "")
            message = str((res.get("message") or {}).get("text") or "")
            fps = res.get("partialFingerprints") or {}
            ident: Identity | None = None
            for key in KEYS:
                value = fps.get(key) if isinstance(fps, dict) else None
                if isinstance(value, str) and value:
                    ident = Identity(rule, key, value)
                    break
            if ident is None:
                ident = identity_of(rule, None, message)
            uri, line, column = _sarif_location(res)
            props = res.get("properties") or {}
            data = props.get("data") if isinstance(props, dict) else None
            items.append(
                BaselineResult(
                    identity=ident,
                    severity=_LEVEL_SEVERITY.get(
                        str(res.get("level", "warning")), Severity.WARNING
                    ),
                    message=message,
                    uri=uri or path,
                    path=path,
                    line=line,
                    column=column,
                    data=data if isinstance(data, dict) else {},
                )
            )
    return items


def _driver_name(run: dict[str, Any]) -> str | None:
    try:
        name = run["tool"]["driver"]["name"]
    except (KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def _sarif_location(res: dict[str, Any]) -> tuple[str | None, int | None, int | None]:
    try:
        phys = res["locations"][0]["physicalLocation"]
        uri = phys["artifactLocation"]["uri"]
        region = phys.get("region") or {}
    except (KeyError, IndexError, TypeError):
        return None, None, None
    line = region.get("startLine") if isinstance(region, dict) else None
    column = region.get("startColumn") if isinstance(region, dict) else None
    return (
        uri if isinstance(uri, str) else None,
        line if isinstance(line, int) else None,
        column if isinstance(column, int) else None,
    )


def _json_items(doc: dict[str, Any], path: str) -> list[BaselineResult]:
    items: list[BaselineResult] = []
    for f in doc["files"]:
        if not isinstance(f, dict):
            continue
        fpath = str(f.get("path") or path)
        for d in f.get("diagnostics") or []:
            if not isinstance(d, dict) or d.get("baselineState") == ABSENT:
                continue
            rule = str(d.get("code") or "")
            message = str(d.get("message") or "")
            raw = d.get("data")
            data: dict[str, Any] = raw if isinstance(raw, dict) else {}
            line: int | None = None
            column: int | None = None
            try:
                start = d["range"]["start"]
                line, column = int(start["line"]) + 1, int(start["character"]) + 1
            except (KeyError, TypeError, ValueError):
                pass
            sev = d.get("severity")
            items.append(
                BaselineResult(
                    identity=identity_of(rule, data, message),
                    severity=Severity(sev) if sev in (1, 2, 3, 4) else Severity.WARNING,
                    message=message,
                    uri=fpath,
                    path=fpath,
                    line=line,
                    column=column,
                    data=data,
                )
            )
    return items
