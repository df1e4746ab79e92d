"""Turn the analysed session into diagnostics: bug checks, leaks and the cross-checks.

The messages are written for the person reading the log: what happened, how
much, where in the source, and which command would tell more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .. import knowledge
from ..model import PoolAllocationTable, Range, VerifiedDriver
from ..numbers import normalize_module
from .bugchecks import BugCheckCase
from .diagnostics import Code, Diagnostic, Related, Severity
from .frames import FrameKind
from .leaks import BUGCHECK_VERIFIER, C4_LEAK_AT_UNLOAD, Leak
from .triage import StopKind, Triage, blame_message
from .usermode_leaks import VERIFIER_LEAK_STOPS, _pool_table_leak, fingerprint


def size_text(n: int) -> str:
    """``0x1008 (4,104) bytes`` — hex as the debugger prints it, decimal for people."""
    return f"0x{n:x} ({n:,}) bytes" if n != 1 else "0x1 (1) byte"


def bugcheck_title(code: int, name: str | None) -> str:
    info = knowledge.bugcheck(code)
    label = name or (info.name if info else None) or "unknown bug check"
    return f"0x{code:X} {label}"


def bugcheck_summary(case: BugCheckCase, leaks: Sequence[Leak]) -> str:
    """One line saying what this bug check means here."""
    arg1 = case.arg(1)
    if case.code == BUGCHECK_VERIFIER and arg1 is not None:
        if arg1 == C4_LEAK_AT_UNLOAD:
            drivers = sorted({leak.driver.name for leak in leaks if leak.case is case})
            who = ", ".join(drivers) if drivers else (case.driver_names() or ["a driver"])[0]
            count = case.arg(4)
            n = (
                f"{count} pool allocation{'s' if count != 1 else ''}"
                if count is not None
                else "pool allocations"
            )
            return f"{who} unloaded without freeing {n}"
        sub = knowledge.c4_subcode(arg1)
        if sub is not None:
            rule = case.primary.rule
            text = sub.meaning
            return f"{text} (rule {rule})" if rule and rule not in text else text
        return f"Driver Verifier violation 0x{arg1:X}"
    info = knowledge.bugcheck(case.code)
    if info is not None and info.summary:
        first = info.summary.split(". ")[0].rstrip(".")
        return first
    return "the system stopped with this bug check"


def bugcheck_diagnostics(
    cases: Sequence[BugCheckCase], leaks: Sequence[Leak], triage: Sequence[Triage] = ()
) -> list[Diagnostic]:
    """One error per bug check, in the triage's one-line form when it knows the fault."""
    by_case = {id(t.case): t for t in triage if t.case is not None}
    out: list[Diagnostic] = []
    for case in cases:
        primary = case.primary
        info = knowledge.bugcheck(case.code)
        t = by_case.get(id(case))
        related = [
            Related(b.range, f"also reported here ({b.source.value})")
            for b in case.occurrences
            if b is not primary
        ]
        args = ", ".join("?" if a is None else f"0x{a:x}" for a in case.args)
        data: dict[str, object] = {"bugcheck": case.code, "args": args}
        title = bugcheck_title(case.code, case.name)
        detail = bugcheck_summary(case, leaks)
        message = f"{title}: {detail}"
        if t is not None:
            related.extend(triage_related(t))
            data.update(triage_data(t))
            who = t.culprit
            if t.detail and (t.fault_label is not None or t.access is not None):
                detail = t.detail
            in_who = f" in {who}" if who and not detail.startswith(who) else ""
            message = f"{title}{in_who}: {detail}"
        out.append(
            Diagnostic(
                range=primary.range,
                severity=Severity.ERROR,
                code=Code.BUG_CHECK,
                message=message,
                related=tuple(related),
                doc_url=info.url if info else None,
                data=data,
            )
        )
    return out


def triage_related(t: Triage) -> list[Related]:
    """The places that explain a stop: faulting frames, trap frame, context, blamed module."""
    out: list[Related] = []
    if t.faulting_ip is not None:
        out.append(Related(t.faulting_ip.range, "faulting instruction (FAULTING_IP)"))
    if t.trap_frame is not None:
        out.append(Related(t.trap_frame.range, "trap frame"))
    if t.context is not None:
        out.append(Related(t.context.range, f"exception context ({t.context.kind.value})"))
    if t.exception is not None:
        out.append(Related(t.exception.range, "exception record"))
    for f in t.faulting_frames:
        where = f" ({f.source.short})" if f.source is not None else ""
        out.append(Related(f.frame.range, f"faulting frame {f.label}{where}"))
    user = t.first_user_frame
    if user is not None and user.kind is not FrameKind.FAULTING:
        where = f" ({user.source.short})" if user.source is not None else ""
        out.append(Related(user.frame.range, f"first frame of your code: {user.label}{where}"))
    if t.blamed is not None and t.blamed.range is not None:
        out.append(Related(t.blamed.range, f"the debugger blames {t.blamed.module} here"))
    for rng, text in t.related:
        out.append(Related(rng, text))
    return out


def triage_fingerprint_key(t: Triage) -> str:
    """What identifies a stop across reruns: its kind and code, the culprit, the faulting function.

    Never an address, a process id or an offset: a rebuilt driver crashing in
    the same function for the same reason is the same finding.
    """
    culprit = normalize_module(t.culprit) if t.culprit else ""
    function = ""
    if t.fault_symbol is not None and t.fault_symbol.function:
        module = normalize_module(t.fault_symbol.module) if t.fault_symbol.module else ""
        function = f"{module}!{t.fault_symbol.function}"
    elif t.fault_label:
        function = t.fault_label.split("+", 1)[0]
    code = f"0x{t.code:x}" if t.code is not None else ""
    return "|".join((t.kind.value, code, culprit, function.lower()))


def triage_fingerprint(t: Triage) -> str:
    """A stable 16-hex-digit identity for a stop (see ``triage_fingerprint_key``)."""
    return hashlib.sha256(triage_fingerprint_key(t).encode("utf-8")).hexdigest()[:16]


def triage_data(t: Triage) -> dict[str, object]:
    """The stop in machine-readable form: code, decoded parameters, culprit, fault site, frames."""
    data: dict[str, object] = {"kind": t.kind.value, "fingerprint": triage_fingerprint(t)}
    if t.code is not None:
        data["code"] = f"0x{t.code:x}"
    if t.name:
        data["name"] = t.name
    if t.params:
        data["params"] = [
            {
                "index": p.index,
                "value": f"0x{p.value:x}",
                "label": p.label,
                "kind": p.kind.value,
                **({"decoded": p.decoded} if p.decoded else {}),
            }
            for p in t.params
        ]
    if t.culprit:
        data["culprit"] = t.culprit
    if t.blamed is not None:
        data["blamed"] = {"module": t.blamed.module, "how": t.blamed.how, "system": t.blamed.system}
        data["blameDiffers"] = t.blame_differs
    if t.fault_address is not None:
        data["faultAddress"] = f"0x{t.fault_address:x}"
    if t.fault_label:
        data["faultSymbol"] = t.fault_label
    if t.fault_module:
        data["faultModule"] = t.fault_module
    if t.fault_source is not None:
        data["source"] = {"path": t.fault_source.path, "line": t.fault_source.line}
    if t.access is not None:
        data["access"] = t.access
    if t.access_address is not None:
        data["accessAddress"] = f"0x{t.access_address:x}"
    if t.irql is not None:
        data["irql"] = t.irql_name or t.irql
    if t.user_modules:
        data["userModules"] = list(t.user_modules)
    user = [f for f in t.frames if f.user]
    if user:
        data["userFrames"] = [
            {
                "index": f.index,
                "symbol": f.label,
                **({"module": f.module} if f.module else {}),
                **(
                    {"source": {"path": f.source.path, "line": f.source.line}}
                    if f.source is not None
                    else {}
                ),
            }
            for f in user
        ]
    return data


def triage_diagnostics(triage: Sequence[Triage]) -> list[Diagnostic]:
    """Exceptions and Application Verifier stops (errors), and blame-differs notes."""
    out: list[Diagnostic] = []
    for t in triage:
        if t.kind is StopKind.VERIFIER_STOP and t.code in VERIFIER_LEAK_STOPS:
            continue  # a leak stop is reported as the leak it names (leaked-*)
        if t.kind is StopKind.EXCEPTION or t.kind is StopKind.VERIFIER_STOP:
            code = Code.EXCEPTION if t.kind is StopKind.EXCEPTION else Code.VERIFIER_STOP
            out.append(
                Diagnostic(
                    range=t.range,
                    severity=Severity.ERROR,
                    code=code,
                    message=t.message,
                    related=tuple(triage_related(t)),
                    data=triage_data(t),
                )
            )
        text = blame_message(t)
        if text is not None and t.blamed is not None:
            user = t.first_user_frame
            related = []
            if user is not None:
                related.append(Related(user.frame.range, f"your code: {user.label}"))
            out.append(
                Diagnostic(
                    range=t.blamed.range or t.range,
                    severity=Severity.INFORMATION,
                    code=Code.BLAME_DIFFERS,
                    message=text,
                    related=tuple(related),
                    data=triage_data(t),
                )
            )
    return out


def leak_diagnostics(leaks: Sequence[Leak]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for leak in leaks:
        row = leak.allocation
        where = f" at {leak.source.short}" if leak.source else ""
        message = (
            f"Leaked {size_text(leak.size)}, tag '{leak.tag}', "
            f"allocated by {leak.call_site_label}{where}"
        )
        related: list[Related] = []
        if leak.record is not None:
            related.append(
                Related(
                    leak.record.header_range,
                    "allocation stack (!verifier 0x80)",
                )
            )
        if leak.frame is not None:
            related.append(Related(leak.frame.range, "first frame outside the allocator wrappers"))
        if leak.ln is not None:
            related.append(Related(leak.ln.range, "ln output for the caller"))
        if leak.source is not None and leak.source.evidence is not None and leak.ln is None:
            related.append(Related(leak.source.evidence, f"source line {leak.source.short}"))
        if leak.case is not None:
            related.append(Related(leak.case.range, bugcheck_title(leak.case.code, leak.case.name)))
        data: dict[str, object] = {
            "address": f"0x{leak.address:x}",
            "size": leak.size,
            "tag": leak.tag,
            "driver": leak.driver.name,
            "hasHistory": bool(leak.history),
            # the same identity the general leak records carry (usermode_leaks.fingerprint)
            "fingerprint": fingerprint(_pool_table_leak(leak)),
        }
        if leak.call_site_address is not None:
            data["caller"] = f"0x{leak.call_site_address:x}"
        if leak.source is not None:
            data["source"] = {"path": leak.source.path, "line": leak.source.line}
        fp = data["fingerprint"]
        out.append(
            Diagnostic(
                range=row.range,
                severity=Severity.WARNING,
                code=Code.LEAKED_ALLOCATION,
                message=message,
                related=tuple(related),
                data=data,
            )
        )
        if not leak.history:
            out.append(
                Diagnostic(
                    range=row.address.range,
                    severity=Severity.INFORMATION,
                    code=Code.NO_ALLOCATION_HISTORY,
                    message=(
                        f"No allocation history for 0x{leak.address:x} in this log; "
                        f"'!verifier 0x80 0x{leak.address:x}' prints the stack that allocated it"
                    ),
                    # the leak's fingerprint: this note comes and goes with its leak
                    data={"command": f"!verifier 0x80 0x{leak.address:x}", "fingerprint": fp},
                )
            )
    return out


def _tables(leaks: Sequence[Leak]) -> list[tuple[VerifiedDriver, PoolAllocationTable, list[Leak]]]:
    seen: dict[int, tuple[VerifiedDriver, PoolAllocationTable, list[Leak]]] = {}
    for leak in leaks:
        key = id(leak.table)
        if key not in seen:
            seen[key] = (leak.driver, leak.table, [])
        seen[key][2].append(leak)
    return list(seen.values())


def _rows(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def cross_check_diagnostics(leaks: Sequence[Leak]) -> list[Diagnostic]:
    """Arg4 against the table, the driver's counters against the table."""
    out: list[Diagnostic] = []
    for driver, table, rows in _tables(leaks):
        n = len(rows)
        total = sum(leak.size for leak in rows)
        cut = " (the table is cut short with '...')" if table.truncated else ""
        table_note = (Related(table.range, f"Pool Allocations of {driver.name}"),)

        def mismatch(
            where: Range,
            code: str,
            message: str,
            cut: str = cut,
            note: tuple[Related, ...] = table_note,
        ) -> None:
            out.append(Diagnostic(where, Severity.WARNING, code, message + cut, note))

        case = rows[0].case
        arg4 = case.primary.arg(4) if case is not None else None
        if arg4 is not None and arg4.value.value != n:
            mismatch(
                arg4.value.range,
                Code.LEAK_COUNT_MISMATCH,
                f"Arg4 says {arg4.value.value} allocations were not freed, but the "
                f"Pool Allocations table of {driver.name} lists {_rows(n)}",
            )
        count_stat = driver.stat("Current Pool Allocations")
        if count_stat is not None and count_stat.total != n:
            mismatch(
                count_stat.range,
                Code.LEAK_COUNT_MISMATCH,
                f"{driver.name} reports {count_stat.total} current pool allocations, "
                f"but its Pool Allocations table lists {_rows(n)}",
            )
        bytes_stat = driver.stat("Current Pool Bytes")
        if bytes_stat is not None and bytes_stat.total != total:
            mismatch(
                bytes_stat.range,
                Code.LEAK_BYTES_MISMATCH,
                f"{driver.name} reports {size_text(bytes_stat.total)} in current pool "
                f"allocations, but its table rows add up to {size_text(total)}",
            )
    return out


def sort_key(d: Diagnostic) -> tuple[int, int, int, str]:
    r: Range = d.range
    return (r.start.line, r.start.character, int(d.severity), d.code)
