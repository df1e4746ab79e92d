"""The layering rules of ARCHITECTURE.md, read off every module's imports.

Each top-level part of ``kdlens`` may import only the parts listed for it in
``ALLOWED``; a part missing from the table fails the test, so a new module is
placed in the architecture (and in ARCHITECTURE.md) before it lands.
Function-level imports of kdlens modules are refused except the ones listed
in ``LATE_IMPORTS`` (each with its reason): they are how import cycles hide.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "kdlens"

#: part -> the parts it may import (itself always allowed).
ALLOWED: dict[str, frozenset[str]] = {
    "__init__": frozenset(),
    "faults": frozenset(),
    "text": frozenset(),
    "gcpause": frozenset(),
    "knowledge": frozenset(),
    "model": frozenset({"faults"}),
    "numbers": frozenset({"model"}),
    "parse": frozenset({"model", "text", "numbers"}),
    "analysis": frozenset({"model", "numbers", "knowledge", "faults", "gcpause"}),
    "winpath": frozenset(),
    "workspace_io": frozenset({"winpath"}),
    "sources": frozenset({"winpath", "workspace_io"}),
    "symbols": frozenset(
        {"analysis", "model", "numbers", "sources", "faults", "winpath", "workspace_io"}
    ),
    "index": frozenset({"analysis", "model", "numbers", "gcpause"}),
    "features": frozenset(
        {"analysis", "index", "model", "numbers", "knowledge", "sources", "workspace_io"}
    ),
    "settings": frozenset({"analysis"}),
    "pipeline": frozenset(
        {
            "parse",
            "analysis",
            "index",
            "sources",
            "symbols",
            "settings",
            "text",
            "faults",
            "gcpause",
            "knowledge",
            "workspace_io",
        }
    ),
    "lsp": frozenset(
        {
            "__init__",
            "analysis",
            "features",
            "index",
            "model",
            "numbers",
            "knowledge",
            "pipeline",
            "settings",
            "sources",
            "text",
            "faults",
        }
    ),
    "cli": frozenset(
        {
            "__init__",
            "analysis",
            "model",
            "numbers",
            "pipeline",
            "settings",
            "text",
            "faults",
            "workspace_io",
        }
    ),
    "__main__": frozenset({"cli"}),
}

#: Third-party packages only the protocol layer may use.
PROTOCOL_ONLY = ("pygls", "lsprotocol")

#: (module, imported module) pairs allowed inside a function, and why.
LATE_IMPORTS: dict[tuple[str, str], str] = {
    # `kdlens check` must not pay for loading pygls: the server is imported
    # only when `kdlens serve` runs. Not a cycle: lsp never imports cli.
    ("kdlens.cli.main", "kdlens.lsp.main"): "startup time of kdlens check",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module, absolute
    line: int
    top_level: bool


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[Import]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top = {id(n) for n in tree.body}
    # statements under `if TYPE_CHECKING:` at the top count as top level
    for n in tree.body:
        if isinstance(n, ast.If):
            top.update(id(c) for c in n.body)
    out: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                prefix = ".".join(base)
                if node.module:
                    targets = [f"{prefix}.{node.module}"]
                else:
                    targets = [f"{prefix}.{a.name}" for a in node.names]
            else:
                targets = [node.module or ""]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for t in targets:
            out.append(Import(module, t, getattr(node, "lineno", 0), id(node) in top))
    return out


def _part(module: str) -> str:
    """The top-level part of ``kdlens`` a module belongs to (``__init__`` for the package's own
    names, such as ``from .. import __version__``)."""
    parts = module.split(".")
    if len(parts) < 2:
        return "__init__"
    name = parts[1]
    if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file():
        return name
    return "__init__"


def _all_imports() -> list[Import]:
    return [i for p in sorted(PACKAGE.rglob("*.py")) for i in _imports(p)]


def test_every_part_is_placed_in_the_architecture() -> None:
    parts = {_part(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert parts <= set(ALLOWED), (
        f"add {sorted(parts - set(ALLOWED))} to ALLOWED and ARCHITECTURE.md"
    )


def test_parts_import_only_what_their_layer_allows() -> None:
    broken = []
    for imp in _all_imports():
        if not imp.target.startswith("kdlens"):
            continue
        src, dst = _part(imp.module), _part(imp.target)
        if src != dst and dst not in ALLOWED.get(src, frozenset()):
            if (imp.module, imp.target) in LATE_IMPORTS and not imp.top_level:
                continue
            broken.append(f"{imp.module}:{imp.line} imports {imp.target}")
    assert broken == []


def test_only_the_protocol_layer_speaks_lsp() -> None:
    broken = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in _all_imports()
        if i.target.split(".")[0] in PROTOCOL_ONLY and _part(i.module) != "lsp"
    ]
    assert broken == []


def test_no_late_imports_of_kdlens_modules() -> None:
    """A function-level import of our own code is how a cycle hides; only the listed ones stay."""
    late = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in _all_imports()
        if i.target.startswith("kdlens")
        and not i.top_level
        and (i.module, i.target) not in LATE_IMPORTS
    ]
    assert late == []


@pytest.mark.parametrize(
    ("source", "target", "expected_broken"),
    [
        ("from ..lsp import server\n", "kdlens.parse.fake", True),
        ("from ..model import Session\n", "kdlens.parse.fake", False),
        ("import pygls\n", "kdlens.analysis.fake", True),
    ],
)
def test_the_rules_catch_a_broken_import(
    tmp_path: Path, source: str, target: str, expected_broken: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker itself: a module that breaks a rule is found."""
    fake_pkg = tmp_path / "kdlens"
    part = target.split(".")[1]
    (fake_pkg / part).mkdir(parents=True)
    (fake_pkg / "__init__.py").write_text("")
    (fake_pkg / "model.py").write_text("")
    (fake_pkg / "lsp").mkdir(exist_ok=True)
    (fake_pkg / "lsp" / "__init__.py").write_text("")
    (fake_pkg / part / "__init__.py").write_text("")
    (fake_pkg / part / "fake.py").write_text(source)
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake_pkg)
    failures = 0
    for check in (
        test_parts_import_only_what_their_layer_allows,
        test_only_the_protocol_layer_speaks_lsp,
    ):
        try:
            check()
        except AssertionError:
            failures += 1
    assert (failures > 0) is expected_broken
