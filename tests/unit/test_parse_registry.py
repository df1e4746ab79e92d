"""Every parser module registers itself: a new parser that is never imported cannot pass."""

from __future__ import annotations

from pathlib import Path

import kdlens.parse
from kdlens.parse.core import REGISTRY

PARSE = Path(kdlens.parse.__file__).parent

#: Modules of parse/ that hold machinery, not block parsers (and why).
MACHINERY = {
    "__init__": "entry points",
    "blocks": "imports the parser modules",
    "core": "the registry and the cursor",
    "scan": "the scanner that runs the parsers",
    "session": "finds the prompts and commands",
}


def test_every_parser_module_registers_a_parser() -> None:
    modules = {p.stem for p in PARSE.glob("*.py")} - set(MACHINERY)
    registered = {
        p.fn.__module__.rsplit(".", 1)[-1] for p in [*REGISTRY.blocks, *REGISTRY.commands]
    }
    assert modules - registered == set(), "import the module in parse/blocks.py"
    assert registered <= modules


def test_parser_names_are_unique() -> None:
    names = [p.name for p in [*REGISTRY.blocks, *REGISTRY.commands]]
    assert len(names) == len(set(names))
