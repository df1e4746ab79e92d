"""Hovers on bug checks: the code or name, and each of its four arguments.

The text is assembled from the knowledge tables (what a code and its
arguments mean, per Arg1 sub-code for 0xC4) and from what this log adds:
the value printed, the driver the crash blames and, for the unload leak
code 0xC4/0x62, whether the ``Pool Allocations`` table holds as many rows
as Arg4 announces.
"""

from __future__ import annotations

from collections.abc import Sequence

from ... import knowledge
from ...analysis import Analysis, BugCheckCase
from ...analysis.leaks import BUGCHECK_VERIFIER, C4_LEAK_AT_UNLOAD, Leak
from ...knowledge import ArgMeaning, BugCheckInfo, C4Subcode
from ...model import BugCheck, BugCheckArg
from ...numbers import canonical_address, normalize_module
from .format import bullets, byte_size, code, doc_link, esc, hexnum, paragraphs, plural

#: Names of the IRQL values a bug check argument can hold (x86 and x64 agree on these).
_IRQL = {0: "PASSIVE_LEVEL", 1: "APC_LEVEL", 2: "DISPATCH_LEVEL"}
_MAX_HINTS = 3


# --------------------------------------------------------------------------- which case


def case_of(analysis: Analysis, bc: BugCheck) -> BugCheckCase | None:
    """The merged case a printed bug check belongs to."""
    for case in analysis.cases:
        if any(o is bc for o in case.occurrences):
            return case
    return None


def case_near(analysis: Analysis, line: int, code: int | None = None) -> BugCheckCase | None:
    """The case whose block holds ``line``, else the last one printed above it."""
    best: BugCheckCase | None = None
    best_line = -1
    for case in analysis.cases:
        if code is not None and case.code != code:
            continue
        for o in case.occurrences:
            block = o.block_range or o.range
            if block.start.line <= line <= block.end.line:
                return case
            if best_line < o.range.start.line <= line:
                best, best_line = case, o.range.start.line
    if best is None and code is not None:
        return next((c for c in analysis.cases if c.code == code), None)
    return best


def _case_leaks(analysis: Analysis, case: BugCheckCase) -> list[Leak]:
    seen: set[int] = set()
    out: list[Leak] = []
    for leak in analysis.leaks:
        if leak.case is case and id(leak.allocation) not in seen:
            seen.add(id(leak.allocation))
            out.append(leak)
    return out


def blamed_drivers(analysis: Analysis, case: BugCheckCase) -> list[tuple[str, str]]:
    """Driver names the log gives for ``case``, each with where it was read."""
    found: dict[str, tuple[str, str]] = {}

    def add(name: str, where: str) -> None:
        key = normalize_module(name)
        if key and key not in found:
            found[key] = (name, where)

    for name in case.driver_names():
        add(name, "named by the bug check analysis")
    for leak in _case_leaks(analysis, case):
        add(leak.driver.name, "its Pool Allocations table")
    if not found:
        for cmd in analysis.session.commands:
            if cmd.verb == "!verifier":
                for word in cmd.args.split()[1:]:
                    if "." in word:
                        add(word, f"the command {code(cmd.text.strip())}")
    return list(found.values())


# --------------------------------------------------------------------------- bug check


def _title(code_value: int, info: BugCheckInfo | None, printed: str | None) -> str:
    kind = "Live dump" if info is not None and info.live_dump else "Bug check"
    if info is not None:
        return f"**{kind} 0x{code_value:X}: {info.name}**"
    return f"**{kind} 0x{code_value:X}" + (f": {esc(printed)}**" if printed else "**")


def _subcode_line(sub: C4Subcode) -> str:
    return f"0x{sub.arg1:X}: {sub.meaning}"


def bugcheck_markdown(
    analysis: Analysis,
    code_value: int,
    case: BugCheckCase | None,
    *,
    arg1: int | None = None,
    printed_name: str | None = None,
) -> str:
    """What bug check ``code_value`` is, and what this log says about its occurrence."""
    info = knowledge.bugcheck(code_value)
    if case is not None and arg1 is None:
        arg1 = case.arg(1)
    parts: list[str | None] = [
        _title(code_value, info, printed_name or (case.name if case else None))
    ]
    if info is None:
        parts.append("kdlens does not know this code.")
    elif info.summary:
        parts.append(info.summary)
    facts: list[str] = []
    if info is not None and arg1 is not None:
        if info.arg1_table == "c4":
            sub = knowledge.c4_subcode(arg1)
            facts.append(
                f"Arg1 {_subcode_line(sub)}"
                if sub
                else f"Arg1 0x{arg1:X} is not a violation code kdlens knows"
            )
        else:
            m = knowledge.arg_meaning(code_value, 1, args=case.args if case else [arg1])
            if m is not None and info.selector == 1 and info.variant(arg1) is not None:
                facts.append(f"Arg1 0x{arg1:X}: {m.meaning}")
    if case is not None:
        rule = case.primary.rule
        if rule:
            facts.append(f"Rule: {code(rule)}")
        args = ", ".join("?" if a is None else hexnum(a) for a in case.args)
        facts.append(f"Arguments in this log: {code(args)}")
        drivers = blamed_drivers(analysis, case)
        if drivers:
            facts.append("Driver: " + ", ".join(f"{code(n)} ({w})" for n, w in drivers))
        leaks = _case_leaks(analysis, case)
        if leaks:
            total = sum(leak.size for leak in leaks)
            facts.append(f"{plural(len(leaks), 'leaked block')} listed, {byte_size(total)} in all")
        if len(case.occurrences) > 1:
            facts.append(
                f"Printed {len(case.occurrences)} times in this log (merged into one case)"
            )
    if facts:
        parts.append(bullets(facts))
    if info is not None and info.hints:
        parts.append("Next steps:\n" + (bullets(list(info.hints[:_MAX_HINTS])) or ""))
    parts.append(doc_link(info.url if info else None))
    return paragraphs(parts)


# --------------------------------------------------------------------------- arguments


def _looks_like_kernel_address(value: int) -> bool:
    return value >= 0xFFFF800000000000 or 0x80000000 <= value <= 0xFFFFFFFF


def _decode_value(analysis: Analysis, meaning: ArgMeaning | None, value: int) -> list[str]:
    """Plain facts about an argument value, guided by its label."""
    label = (meaning.label if meaning else "").lower()
    out: list[str] = []
    if "irql" in label and value <= 31:
        out.append(f"IRQL {value}" + (f" ({_IRQL[value]})" if value in _IRQL else ""))
    elif "byte" in label or "size" in label:
        out.append(byte_size(value))
    elif "count" in label or "number" in label:
        out.append(f"{value:,} in decimal")
    elif value == 0:
        out.append(
            "zero" + (": no pointer given" if "pointer" in label or "address" in label else "")
        )
    elif _looks_like_kernel_address(value):
        text = "a kernel-mode address"
        module = analysis.evidence.module_for_address(value)
        if module is not None and module.start is not None:
            text += f" inside {code(module.name)} (+0x{value - module.start.value:x})"
        sym = analysis.evidence.symbol_at(value)
        if sym is not None:
            text += f", {code(sym.display)}"
        out.append(text)
    elif value < 0x1000 and ("address" in label or "pointer" in label):
        out.append(
            "below 0x1000: not a valid pointer (a NULL pointer plus an offset, or a plain number)"
        )
    elif value < 0x10000 and value >= 10:
        out.append(f"a small number: {value:,} in decimal")
    return out


def _leak_count_check(analysis: Analysis, case: BugCheckCase, count: int) -> str:
    leaks = _case_leaks(analysis, case)
    head = f"**{plural(count, 'allocation')}** still outstanding when the driver unloaded."
    if not leaks:
        drivers = blamed_drivers(analysis, case)
        name = drivers[0][0] if drivers else "<driver>.sys"
        return head + (
            f" No Pool Allocations table in this log lists them; {code(f'!verifier 3 {name}')} would."
        )
    per_driver: dict[str, int] = {}
    truncated = False
    for leak in leaks:
        per_driver[leak.driver.name] = per_driver.get(leak.driver.name, 0) + 1
        truncated = truncated or leak.table.truncated
    rows = len(leaks)
    where = ", ".join(f"{code(n)}: {plural(c, 'row')}" for n, c in per_driver.items())
    if rows == count:
        verdict = "which agrees with Arg4."
    elif truncated:
        verdict = f"but the table was cut short in the log, so Arg4's {count:,} cannot be checked."
    else:
        verdict = f"which does **not** agree with Arg4 ({count:,})."
    return f"{head}\n\nThe Pool Allocations table lists {where}, {verdict}"


def _driver_name_note(analysis: Analysis, case: BugCheckCase) -> str:
    drivers = blamed_drivers(analysis, case)
    if not drivers:
        return "The value is a pointer to the driver's name; this log does not print the name."
    names = ", ".join(f"{code(n)} ({w})" for n, w in drivers)
    return f"The value is a pointer to the driver's name; this log names {names}."


def arg_markdown(analysis: Analysis, bc: BugCheck, arg: BugCheckArg) -> str:
    """What argument ``arg`` of ``bc`` means for this bug check, and its value decoded."""
    case = case_of(analysis, bc)
    args = _args(case, bc)
    value = arg.value.value
    arg1 = args[0]
    info = knowledge.bugcheck(bc.code)
    is_c4 = info is not None and info.arg1_table == "c4"
    sub = knowledge.c4_subcode(arg1) if is_c4 and arg1 is not None else None
    where = f"0x{bc.code:X}" + (f"/0x{arg1:X}" if sub is not None and arg.index > 1 else "")
    title = f"**Arg{arg.index} of bug check {where} = {hexnum(value)}**"
    meaning = knowledge.arg_meaning(bc.code, arg.index, args=list(args))
    parts: list[str | None] = [title]
    if meaning is not None:
        text = f"*{meaning.label}*"
        if meaning.meaning and not (is_c4 and arg.index == 1):
            text += f": {meaning.meaning}"
        parts.append(text)
    elif info is None:
        parts.append(f"kdlens does not know bug check 0x{bc.code:X}.")
    else:
        label = knowledge.arg_label(bc.code, arg.index)
        if label:
            parts.append(f"*{label}*")
    if is_c4 and arg.index == 1:
        parts.extend(_c4_arg1(value))
    elif (
        case is not None
        and bc.code == BUGCHECK_VERIFIER
        and arg1 == C4_LEAK_AT_UNLOAD
        and arg.index == 2
    ):
        parts.append(_driver_name_note(analysis, case))
    elif (
        case is not None
        and is_c4
        and meaning is not None
        and "unfreed allocations" in meaning.label
    ):
        parts.append(_leak_count_check(analysis, case, value))
    else:
        facts = _decode_value(analysis, meaning, value)
        decoded = knowledge.decode_arg(bc.code, arg.index, value)
        if decoded is None and value >> 32 == 0xFFFFFFFF:  # a status code, sign-extended
            decoded = knowledge.decode_arg(bc.code, arg.index, value & 0xFFFFFFFF)
        kind = info.arg_kind(arg.index) if info is not None else None
        if decoded and (not facts or kind == "status"):
            # from the tables: a status code is never "an address", whatever it looks like
            facts = [esc(decoded.rstrip("."))]
        if facts:
            parts.append("Value: " + "; ".join(facts) + ".")
    if arg.description:
        parts.append(f"The log says: {esc(arg.description)}")
    parts.append(doc_link(info.url if info else None))
    return paragraphs(parts)


def _args(case: BugCheckCase | None, bc: BugCheck) -> Sequence[int | None]:
    if case is not None:
        return case.args
    out: list[int | None] = [None, None, None, None]
    for a in bc.args:
        if 1 <= a.index <= 4:
            out[a.index - 1] = canonical_address(a.value.value)
    return out


def _c4_arg1(value: int) -> list[str | None]:
    sub = knowledge.c4_subcode(value)
    if sub is None:
        return [f"0x{value:X} is not a Driver Verifier violation code kdlens knows."]
    out: list[str | None] = [f"**{sub.meaning}**"]
    if sub.explanation:
        out.append(sub.explanation)
    if sub.rule:
        out.append(f"Rule: {code(sub.rule)}")
    if sub.option_name:
        opt = f"Needs the Driver Verifier option **{sub.option_name}**"
        if sub.option_value is not None:
            opt += f" ({code(f'/flags 0x{sub.option_value:x}')})"
        opt += (
            "."
            if sub.option_basis == "row"
            else " (implied by where the documentation lists this code)."
        )
        out.append(opt)
    if sub.hints:
        out.append("Next steps:\n" + (bullets(list(sub.hints[:_MAX_HINTS])) or ""))
    return out


__all__ = ["arg_markdown", "blamed_drivers", "bugcheck_markdown", "case_near", "case_of"]
