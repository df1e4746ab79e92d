"""Command echoes: every prompt shape and where each command's output ends."""

from __future__ import annotations

from kdlens.model import PromptKind, Range
from kdlens.parse import parse_text

from helpers import log


def test_prompt_shapes() -> None:
    text = log(
        """
        kd> lm
        2: kd> !verifier 3 MyDriver.sys
        lkd> !pool 0
        3: lkd> k
        0:000> ~*k
        0:024:x86> kb
        kd>!analyze -v
        0: kd>  !thread
            1: kd> ln 0x9a3bf6ac
        0:000>3: kd> lm m nt
        """
    )
    cmds = parse_text(text).commands
    assert [c.text for c in cmds] == [
        "lm",
        "!verifier 3 MyDriver.sys",
        "!pool 0",
        "k",
        "~*k",
        "kb",
        "!analyze -v",
        "!thread",
        "ln 0x9a3bf6ac",
        "lm m nt",
    ]
    assert cmds[0].prompt.kind is PromptKind.KERNEL and cmds[0].prompt.processor is None
    assert cmds[1].prompt.processor == 2
    assert cmds[2].prompt.kind is PromptKind.LOCAL_KERNEL
    assert cmds[3].prompt.processor == 3 and cmds[3].prompt.kind is PromptKind.LOCAL_KERNEL
    assert cmds[4].prompt.kind is PromptKind.USER and cmds[4].prompt.thread == 0
    assert cmds[5].prompt.thread == 24 and cmds[5].prompt.process == 0
    # the last of two glued prompts wins
    assert cmds[9].prompt.text == "3: kd>" and cmds[9].prompt.processor == 3
    assert cmds[8].prompt.range == Range.on_line(8, 4, 10)
    assert cmds[8].text_range == Range.on_line(8, 11, 24)
    assert cmds[8].verb == "ln" and cmds[8].args == "0x9a3bf6ac"


def test_output_spans_until_the_next_prompt_and_blank_lines_do_not_end_it() -> None:
    text = log(
        """
        kd> !verifier 0x80 0x982a8fe0

        Log of recent kernel pool Allocate and Free operations:

        kd> ln 0x9a3bf6ac
        d:\\coding\\handleioctl.c(50)+0x15
        """
    )
    s = parse_text(text)
    first, second = s.commands
    assert (first.output_start, first.output_end) == (1, 4)
    assert (second.output_start, second.output_end) == (5, 7)
    assert s.command_at(2) is first
    assert s.command_at(5) is second


def test_console_prompts_are_not_debugger_prompts() -> None:
    text = "C:\\> verifier /querysettings\n0> verifier /flags 0x8\n 1: Kernel Version 2081 MP Checked\n"
    assert parse_text(text).commands == []


def test_a_bare_prompt_is_an_empty_command() -> None:
    s = parse_text("kd> \n")
    assert len(s.commands) == 1 and s.commands[0].text == ""
