"""Which clients copy ``kdlens.copyCommand`` results themselves."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kdlens.lsp.features.actions import client_copies_commands


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (None, False),
        ({}, False),
        ({"clientCopiesCommands": True}, True),
        ({"kdlens": {"clientCopiesCommands": True}}, True),
        ({"kdlens": {"symbolPath": "x"}, "clientCopiesCommands": True}, True),
        ({"kdlens": {"symbolPath": "x"}}, False),
        ({"clientCopiesCommands": "yes"}, False),
    ],
)
def test_flag(options: Any, expected: bool) -> None:
    ls = SimpleNamespace(initialization_options=options)
    assert client_copies_commands(ls) is expected  # type: ignore[arg-type]
