"""Hovers on Driver Verifier settings: the option mask and single option lines.

``Verify Flags Level 0x000209bb`` (or the legacy ``Verify Level 9bb``) is a
bit mask of ``verifier /flags`` options; the hover spells out every bit, says
which belong to the standard set and lists bits no known option explains.
An option line (``[X] (0x00000008) Pool tracking``, or a legacy line that
prints only a name) gets what the check does and what it can crash with.
"""

from __future__ import annotations

from functools import cache

from ... import knowledge
from ...knowledge import FlagInfo
from ...model import VerifierFlag, VerifierFlags
from .format import bullets, esc, paragraphs, plural


@cache
def standard_mask() -> int:
    """The options ``verifier /standard`` turns on."""
    mask = 0
    for f in knowledge.verifier_flags():
        if f.standard:
            mask |= f.value
    return mask


def _bit_text(value: int) -> str:
    return f"0x{value:08X}"


def mask_markdown(flags: VerifierFlags) -> str:
    level = flags.level
    if level is None:
        return "**Driver Verifier options**"
    mask = level.value
    known = knowledge.decode_mask(mask, include_automatic=True)
    set_count = sum(1 for f in known if f.value)
    word = "Verify Level (legacy layout)" if flags.legacy else "Verify Flags Level"
    parts: list[str | None] = [
        f"**Driver Verifier options {_bit_text(mask)}**: {plural(set_count, 'option')} set",
        f"{word}: the `verifier /flags` mask of the options active when this was printed.",
    ]
    rows = ["| Bit | Option | Standard |", "|---|---|---|"]
    for f in known:
        bit = "always" if f.value == 0 else _bit_text(f.value)
        rows.append(f"| {bit} | {f.name.replace('|', '/')} | {'yes' if f.standard else 'no'} |")
    parts.append("\n".join(rows))
    std = standard_mask()
    unknown = knowledge.unknown_bits(mask)
    if mask & ~unknown == std:
        parts.append("This is exactly the standard set (`verifier /standard`).")
    else:
        missing = [f.name for f in knowledge.decode_mask(std & ~mask, include_automatic=False)]
        extra = [f.name for f in known if f.value and not f.standard]
        notes: list[str] = []
        if missing:
            notes.append("Standard options not set: " + ", ".join(missing))
        if extra:
            notes.append("Options beyond the standard set: " + ", ".join(extra))
        parts.append(bullets(notes))
    if unknown:
        bits = ", ".join(_bit_text(1 << b) for b in range(unknown.bit_length()) if unknown >> b & 1)
        parts.append(f"Bits no known option explains: {bits}.")
    return paragraphs(parts)


def flag_info(flag: VerifierFlag) -> FlagInfo | None:
    """The option a printed line stands for; legacy lines print no bit, only a wording."""
    if flag.section != "legacy":
        info = knowledge.verifier_flag(flag.bit)
        if info is not None and (
            flag.bit != 0 or knowledge.verifier_flag_by_name(flag.name) in (None, info)
        ):
            return info
    return knowledge.verifier_flag_by_name(flag.name)


def _raises(info: FlagInfo) -> str | None:
    if not info.bugchecks:
        return None
    items: list[str] = []
    for bc in info.bugchecks:
        known = knowledge.bugcheck(bc.code)
        text = f"0x{bc.code:X}" + (f" {known.name}" if known else "")
        if bc.arg1:
            shown = ", ".join(f"0x{a:X}" for a in bc.arg1[:10])
            more = f" and {len(bc.arg1) - 10} more" if len(bc.arg1) > 10 else ""
            text += f" (Arg1 {shown}{more})"
        if bc.note:
            text += f": {bc.note}"
        items.append(text)
    return "Can stop the system with:\n" + (bullets(items) or "")


def flag_markdown(flag: VerifierFlag, owner: VerifierFlags | None) -> str:
    info = flag_info(flag)
    state = "enabled" if flag.enabled else "not enabled"
    if info is None:
        return paragraphs(
            [f"**{esc(flag.name)}**: {state}", "kdlens does not know this Driver Verifier option."]
        )
    bit = "an automatic check, always on" if info.value == 0 else f"option {_bit_text(info.value)}"
    parts: list[str | None] = [f"**{info.name}** ({bit}): {state}"]
    if info.description:
        parts.append(info.description)
    facts: list[str] = []
    if info.value:
        facts.append(
            "Part of the standard set (`verifier /standard`)"
            if info.standard
            else "Not part of the standard set; enable it with "
            + f"`verifier /flags 0x{info.value:x}`"
        )
    if info.volatile:
        facts.append("Can be switched on or off without a reboot (`/volatile`)")
    if flag.section == "legacy" and flag.name.casefold() != info.name.casefold():
        facts.append(f"The older `!verifier` output calls it “{esc(flag.name)}”")
    level = owner.level if owner is not None else None
    if level is not None and info.value and bool(level.value & info.value) != flag.enabled:
        in_mask = "set" if level.value & info.value else "not set"
        facts.append(
            f"The mask {_bit_text(level.value)} above has this bit {in_mask}: the two disagree"
        )
    parts.append(bullets(facts))
    parts.append(_raises(info))
    return paragraphs(parts)
