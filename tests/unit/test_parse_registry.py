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
    "traces": "frame rows shared by the user-mode stack parsers",
    "appverif_xml": "a whole-document format, not a block (parse_bytes routes to it)",
}


def test_every_parser_module_registers_a_parser() -> None:
    modules = {p.stem for p in PARSE.glob("*.py")} - set(MACHINERY)
    fns = [b.fn for b in REGISTRY.blocks] + [c.fn for c in REGISTRY.commands]
    registered = {fn.__module__.rsplit(".", 1)[-1] for fn in fns}
    registered |= {p.fn.__module__.rsplit(".", 1)[-1] for p in REGISTRY.passes}
    assert modules - registered == set(), "import the module in parse/blocks.py"
    assert registered <= modules


def test_parser_names_are_unique() -> None:
    names = [b.name for b in REGISTRY.blocks] + [c.name for c in REGISTRY.commands]
    names += [p.name for p in REGISTRY.passes]
    assert len(names) == len(set(names))
