"""Command echoes: prompts and the command typed after them.

A prompt is ``kd>``, ``lkd>``, ``N: kd>``, ``P:TTT>`` or ``P:TTT:arch>``,
possibly indented, possibly glued to another prompt (the last one wins), with
or without a space before the command. Console prompts such as ``C:\\>`` or the
verifier tool's ``0>`` are not debugger prompts.
"""

from __future__ import annotations

import re

from ..model import Command, Prompt, PromptKind, Range
from ..numbers import dec_int
from ..text import Document, LineIndex

_ONE = r"(?:\d+:[ \t]?l?kd>|l?kd>|\d+:\d{3,}(?::[A-Za-z0-9_]+)?>)"
PROMPT_LINE = re.compile(rf"^(?P<indent>[ \t]*)(?P<prompts>(?:{_ONE})+)(?P<cmd>.*)$", re.MULTILINE)
_SINGLE = re.compile(
    r"(?:(?P<cpu>\d+):[ \t]?)?(?P<kd>l?kd)>|(?P<proc>\d+):(?P<thr>\d{3,})(?::(?P<arch>[A-Za-z0-9_]+))?>"
)


def find_commands(doc: Document, text: str, index: LineIndex) -> list[Command]:
    """Every command echo in the document, in order, with its output's line span."""
    found: list[tuple[int, Prompt, str, Range]] = []
    match = PROMPT_LINE.match
    # Every prompt holds a '>': testing for it first skips almost every line
    # far faster than a regular expression scan of the whole text can.
    for line, line_text in enumerate(doc.lines):
        if ">" not in line_text:
            continue
        m = match(line_text)
        if m is None:
            continue
        prompts = m.group("prompts")
        singles = list(_SINGLE.finditer(prompts))
        if not singles:  # pragma: no cover - the outer pattern guarantees one
            continue
        last = singles[-1]
        base = m.start("prompts")
        p_start = base + last.start() - m.start()
        p_end = base + last.end() - m.start()
        if last.group("kd"):
            kind = PromptKind.LOCAL_KERNEL if last.group("kd") == "lkd" else PromptKind.KERNEL
            cpu = last.group("cpu")
            processor = dec_int(cpu) if cpu else None
            if cpu and processor is None:
                continue  # an absurd processor number: not a prompt, the line is text
            prompt = Prompt(
                text=last.group(0),
                kind=kind,
                range=Range.on_line(line, doc.col(line, p_start), doc.col_end(line, p_end)),
                processor=processor,
            )
        else:
            process = dec_int(last.group("proc"))
            thread = dec_int(last.group("thr"))
            if process is None or thread is None:
                continue  # absurd numbers: not a prompt, the line is text
            prompt = Prompt(
                text=last.group(0),
                kind=PromptKind.USER,
                range=Range.on_line(line, doc.col(line, p_start), doc.col_end(line, p_end)),
                process=process,
                thread=thread,
            )
        raw_cmd = m.group("cmd")
        lead = len(raw_cmd) - len(raw_cmd.lstrip())
        cmd_text = raw_cmd.strip()
        c_start = m.start("cmd") - m.start() + lead
        found.append(
            (
                line,
                prompt,
                cmd_text,
                Range.on_line(
                    line, doc.col(line, c_start), doc.col_end(line, c_start + len(cmd_text))
                ),
            )
        )
    commands: list[Command] = []
    for k, (line, prompt, cmd_text, rng) in enumerate(found):
        end = found[k + 1][0] if k + 1 < len(found) else len(doc)
        commands.append(Command(prompt, cmd_text, rng, line, line + 1, end))
    return commands
