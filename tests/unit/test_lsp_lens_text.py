"""A lens's copy text stays within what the copy command accepts."""

from __future__ import annotations

from kdlens.features.actions import MAX_COPY_TEXT, copy_text
from kdlens.lsp.features.hints import copyable


def test_short_texts_are_copied_as_they_are() -> None:
    assert copyable("a\nb") == "a\nb"


def test_a_long_leak_list_is_cut_at_a_line_and_counts_the_rest() -> None:
    lines = [
        f"0x{0x82000000 + 64 * i:x}  0x20 (32 B)  Mdrv  MyDriver!AllocBuffer+0x1c"
        for i in range(20_000)
    ]
    text = copyable("\n".join(lines))
    assert len(text) <= MAX_COPY_TEXT
    head, last = text.rsplit("\n", 1)
    shown = head.split("\n")
    assert shown == lines[: len(shown)]
    assert last == f"... {len(lines) - len(shown):,} more not copied"
    # the copy command takes it
    assert copy_text([text]) == text


def test_a_long_command_list_is_cut_at_a_command() -> None:
    commands = [f"!verifier 0x80 0x{0x82000000 + 64 * i:x}" for i in range(10_000)]
    text = copyable("; ".join(commands))
    assert len(text) <= MAX_COPY_TEXT
    parts = text.split("; ")
    assert parts[:-1] == commands[: len(parts) - 1]
    assert parts[-1] == f"... {len(commands) - len(parts) + 1:,} more not copied"
