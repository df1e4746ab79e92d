"""Our reader against Sentry's ``symbolic`` on every byte of the fixtures' code.

``symbolic`` (a Rust PDB reader) is only a test oracle: the test is skipped
when it is not installed. It formats names with their parameter list
(``HandleIoctl(_DEVICE_OBJECT*, ...)``), which is cut off before comparing.
"""

from __future__ import annotations

from typing import Any

import pytest

from kdlens.symbols.pdb import PdbFile

from fixtures.pdb.pdbtest import BUILDS, pdb_path

symbolic_debuginfo = pytest.importorskip("symbolic.debuginfo")


def _symcache(build: str) -> Any:
    archive = symbolic_debuginfo.Archive.open(str(pdb_path(build)))
    (obj,) = list(archive.iter_objects())
    return obj, obj.make_symcache()


def _theirs(symcache: Any, rva: int) -> tuple[int, list[tuple[str, str | None, int | None]]] | None:
    frames = symcache.lookup(rva)
    if not frames:
        return None
    chain = [(f.symbol.split("(", 1)[0], f.full_path or None, f.line or None) for f in frames]
    return frames[-1].sym_addr, chain


@pytest.mark.parametrize("build", BUILDS)
def test_identity_matches(build: str) -> None:
    obj, _ = _symcache(build)
    pdb = PdbFile.open(pdb_path(build))
    assert obj.debug_id == f"{pdb.guid}-{pdb.age:x}"
    assert obj.arch == ("x86_64" if build.startswith("x64") else "x86")


@pytest.mark.parametrize("build", BUILDS)
def test_every_code_byte_agrees(build: str) -> None:
    _, symcache = _symcache(build)
    pdb = PdbFile.open(pdb_path(build))
    text = pdb.sections[0]
    assert text.name == ".text"
    mismatches = []
    resolved = inlined = 0
    for rva in range(text.virtual_address, text.virtual_address + text.virtual_size):
        loc = pdb.lookup(rva)
        ours = None
        if loc is not None:
            ours = loc.function_rva, [(f.function, f.file, f.line) for f in loc.frames]
            resolved += 1
            inlined += bool(loc.inlined)
        theirs = _theirs(symcache, rva)
        if ours != theirs:
            mismatches.append((hex(rva), ours, theirs))
    assert mismatches[:10] == []
    # Nearly all of .text is code; at -O2 much of it is inlined code.
    assert resolved > 0.9 * text.virtual_size
    if build.endswith("O2"):
        assert inlined > 0.2 * resolved
    else:
        assert inlined == 0
