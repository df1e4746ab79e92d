"""Crash triage for the editor: which stop a record belongs to, and the source-file findings.

The core (``analysis/triage.py``) builds one ``Triage`` per stop. The editor
features ask it two kinds of questions: "what stop is this register dump,
exception record or stack frame part of" (hover, outline, code lens), and
"which lines of the user's own sources should be flagged while the log is
open" (diagnostics on source files). Both answers are plain data here; the
protocol layer only converts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..analysis import Analysis, Severity, SourceLocation
from ..analysis.evidence import symbol_key
from ..analysis.frames import FrameKind
from ..analysis.triage import StopKind, Triage, TriageFrame
from ..analysis.usermode_leaks import VERIFIER_LEAK_STOPS
from ..model import BugCheck, Frame, Range

#: Diagnostic codes of the findings put on source files.
CRASH_SITE = "crash-site"  # the faulting line (or, for a verifier stop, the user's call)
CRASH_CALLER = "crash-caller"  # another line of the user's code on the same stack


def reported(t: Triage) -> bool:
    """False for the stops reported as leaks (App Verifier leak stops): they are not crashes."""
    return not (t.kind is StopKind.VERIFIER_STOP and t.code in VERIFIER_LEAK_STOPS)


def triage_of(analysis: Analysis, owner: object) -> Triage | None:
    """The stop ``owner`` (a bug check, analysis, exception record, register dump,
    ``FAULTING_IP``, verifier stop or stack) belongs to, if the triage used it."""
    if owner is None:
        return None
    for t in analysis.triage:
        if owner is t.analysis or owner is t.verifier_stop or owner is t.exception:
            return t
        if owner is t.context or owner is t.trap_frame or owner is t.faulting_ip:
            return t
        if owner is t.stack:
            return t
        if (
            t.case is not None
            and isinstance(owner, BugCheck)
            and any(o is owner for o in t.case.occurrences)
        ):
            return t
        if t.trap_frame is not None and owner is t.trap_frame.site:
            return t
        if t.context is not None and owner is t.context.site:
            return t
    return None


def frame_of(analysis: Analysis, frame: Frame) -> tuple[Triage, TriageFrame] | None:
    """The triage frame standing for ``frame`` (a row of a stop's stack)."""
    for t in analysis.triage:
        for f in t.frames:
            if f.frame is frame:
                return t, f
    return None


def frame_source(
    analysis: Analysis, frame: Frame, next_frame: bool = False
) -> SourceLocation | None:
    """The source line the triage found for ``frame`` (or, with ``next_frame``, for the frame
    after it: a row's RetAddr is the next frame's code). A faulting frame the stack prints
    without an address gets the stop's own faulting line (from ``FAULTING_IP``)."""
    found = frame_of(analysis, frame)
    if found is None:
        return None
    t, tf = found
    if next_frame:
        nxt = next((f for f in t.frames if f.index == tf.index + 1), None)
        if nxt is None:
            return None
        tf = nxt
    if tf.source is not None:
        return tf.source
    sym = tf.frame.symbol
    if (
        tf.kind is FrameKind.FAULTING
        and t.fault_symbol is not None
        and sym is not None
        and symbol_key(sym) == symbol_key(t.fault_symbol)
    ):
        return t.fault_source
    return None


def lookup_words(kind: FrameKind) -> str:
    """How a frame's address is looked up, in words (exact or one byte earlier)."""
    if kind is FrameKind.FAULTING:
        return "exact lookup: the faulting instruction itself"
    if kind is FrameKind.CURRENT:
        return "exact lookup: where the thread was running"
    return "return address: looked up one byte earlier, at the call"


# --------------------------------------------------------------------------- source findings


@dataclass(frozen=True, slots=True)
class SourceFinding:
    """A finding for a line of the user's source file (build path, 1-based line)."""

    location: SourceLocation
    severity: Severity
    code: str
    message: str
    #: Places in the log that explain it: (range, text).
    related: tuple[tuple[Range, str], ...] = ()

    @property
    def path(self) -> str:
        return self.location.path

    @property
    def line(self) -> int:
        return self.location.line


def _what(t: Triage) -> str:
    """``write of paged pool at DISPATCH_LEVEL``: what the stop says happened, without where."""
    parts: list[str] = []
    if t.kind is StopKind.VERIFIER_STOP and t.verifier_stop is not None:
        msg = t.verifier_stop.message.strip().rstrip(".")
        if msg:
            parts.append(msg)
    if t.access is not None:
        if t.memory:
            parts.append(f"{t.access} of {t.memory}")
        elif t.access_address is not None:
            parts.append(f"{t.access} of 0x{t.access_address:x}")
        else:
            parts.append(t.access)
    if t.kind is StopKind.BUG_CHECK:
        if t.irql_name is not None:
            parts.append(f"at {t.irql_name}")
        elif t.irql is not None:
            parts.append(f"at IRQL {t.irql}")
    return " ".join(parts)


def _frame_for(t: Triage, loc: SourceLocation) -> TriageFrame | None:
    key = (loc.path.lower(), loc.line)
    for f in t.frames:
        if f.source is not None and (f.source.path.lower(), f.source.line) == key:
            return f
    return None


def source_findings(analysis: Analysis, log_name: str) -> list[SourceFinding]:
    """The faulting line of each stop (an error) and the user's other lines on its stack
    (information), with the log line to look at; ``log_name`` is how the message names the log."""
    out: list[SourceFinding] = []
    for t in analysis.triage:
        if reported(t):
            out.extend(stop_findings(t, log_name))
    return out


def stop_findings(t: Triage, log_name: str) -> list[SourceFinding]:
    """The source findings of one stop (see ``source_findings``)."""
    out: list[SourceFinding] = []
    stop_line = t.range.start.line + 1
    what = _what(t)
    for mark in t.source_marks():
        frame = _frame_for(t, mark.location)
        if mark.faulting:
            head = f"{t.title} here" + (f": {what}" if what else "")
            message = f"{head}, see {log_name}:{stop_line}"
            related: list[tuple[Range, str]] = [(t.range, t.message or t.title)]
            if frame is not None:
                related.append((frame.frame.range, f"frame {frame.index}: {frame.label}"))
            out.append(
                SourceFinding(mark.location, Severity.ERROR, CRASH_SITE, message, tuple(related))
            )
            continue
        if frame is None:
            continue
        line = frame.frame.range.start.line + 1
        message = (
            f"on the stack of {t.title}: {frame.label} (frame {frame.index}), see {log_name}:{line}"
        )
        out.append(
            SourceFinding(
                mark.location,
                Severity.INFORMATION,
                CRASH_CALLER,
                message,
                ((frame.frame.range, f"frame {frame.index}: {frame.label}"), (t.range, t.title)),
            )
        )
    return out


# --------------------------------------------------------------------------- summaries


def stop_where(t: Triage) -> str:
    """``mydriver!DeviceControlDispatch+0x23 (driver.c:26)``: where the stop happened."""
    label = t.fault_label
    if label is None and t.fault_address is not None:
        label = f"0x{t.fault_address:x}"
    if label is None:
        return ""
    return label + (f" ({t.fault_source.short})" if t.fault_source is not None else "")


def user_frames_summary(frames: Sequence[TriageFrame]) -> tuple[int, list[str]]:
    """How many frames are the user's and the user's modules, in stack order."""
    mods: dict[str, None] = {}
    n = 0
    for f in frames:
        if f.user:
            n += 1
            if f.module:
                mods.setdefault(f.module, None)
    return n, list(mods)


__all__ = [
    "CRASH_CALLER",
    "CRASH_SITE",
    "SourceFinding",
    "frame_of",
    "frame_source",
    "lookup_words",
    "reported",
    "source_findings",
    "stop_findings",
    "stop_where",
    "triage_of",
    "user_frames_summary",
]
