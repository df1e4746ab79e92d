"""Hundreds of corrupted PDBs through the reader and the resolver: bounded, and never silent.

The mutants come from ``pdbmutants.py`` (truncations, bit flips, zeroed and
cyclic streams, huge declared sizes, damaged section headers and ``/names``)
applied to every PDB fixture: the four builds under ``tests/fixtures/pdb``
(the symbol-file tests store these) and the example's
``examples/mydriver-leak/symbols``. Each mutant goes through both entry
points the analysis uses:

- the reader (``PdbFile``): open, identity, ``functions()``, lookups of the
  addresses that have source lines in the pristine file. No exception but
  ``PdbError`` may leave it; its memory (traced allocations) and its work
  (function calls counted by a profiler, which stops a run that goes past the
  bound) stay bounded; and when no line comes out and no ``PdbError`` was
  raised, ``line_problem`` must say why.
- the resolver (``SymbolFiles.for_session`` with a log whose ``ln`` queries
  name those addresses): no internal error, and either some frame resolves
  to a source line or a ``symbol-*`` diagnostic names the module.

``KDLENS_PDB_MUTANTS`` sets how many mutants are made (default 400, spread
over the fixtures); ``KDLENS_PDB_SEED`` changes the random ones.
"""

from __future__ import annotations

import os
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from kdlens.analysis.evidence import Evidence, gather
from kdlens.model import Session
from kdlens.parse import parse_text
from kdlens.symbols.pdb import PdbError, PdbFile
from kdlens.symbols.resolver import SymbolFiles

from fixtures.pdb.pdbtest import BUILDS, pdb_path
from fuzz.pdbmutants import Mutant, mutants
from helpers import REPO

COUNT = int(os.environ.get("KDLENS_PDB_MUTANTS", "400"))
SEED = int(os.environ.get("KDLENS_PDB_SEED", "1"))
#: Traced allocations one mutant may need at once. Reading a pristine fixture
#: (about 100 KB) peaks well under 1 MB; a declared size that reached an
#: allocation unchecked would ask for hundreds of megabytes or more.
MEMORY_LIMIT = 16 << 20
#: Work one mutant may take, as a multiple of reading its pristine file.
WORK_FACTOR = 25
#: Where the driver is placed in the generated logs.
LOAD_BASE = 0x9A3B0000
#: Addresses per fixture written into the log (and looked up in the reader).
PROBES = 8


def _fixtures() -> dict[str, Path]:
    paths = {build: pdb_path(build) for build in BUILDS}
    example = REPO / "examples" / "mydriver-leak" / "symbols" / "MyDriver.pdb"
    paths["example"] = next(p for p in sorted(example.rglob("*.pdb")) if p.is_file())
    return paths


FIXTURES = _fixtures()


@dataclass(frozen=True)
class Pristine:
    """What the undamaged file gives: addresses with lines, its key, the work to read it."""

    data: bytes
    key: str
    #: (function, rva, offset in the function) of addresses that have a source line
    probes: tuple[tuple[str, int, int], ...]
    work: int


class WorkExceeded(BaseException):
    """Raised from the profiler when a run calls more functions than its bound.

    A BaseException, so that no ``except Exception`` in the code under test
    can swallow it.
    """


class WorkMeter:
    """Counts the calls (Python and C) made while it runs; stops the run past ``limit``."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.calls = 0

    def _profile(self, _frame: FrameType, event: str, _arg: Any) -> None:
        if event in ("call", "c_call"):
            self.calls += 1
            if self.limit is not None and self.calls > self.limit:
                raise WorkExceeded(self.calls)

    def run(self, fn: Callable[[], str | None]) -> str | None:
        sys.setprofile(self._profile)
        try:
            return fn()
        finally:
            sys.setprofile(None)


def _read(data: bytes, probes: tuple[tuple[str, int, int], ...]) -> str | None:
    """Everything the analysis asks of a PDB; a complaint, or None when all is well.

    ``PdbError`` is an answer (with a reason); any other exception escapes
    to the caller, which reports it.
    """
    try:
        pdb = PdbFile.from_bytes(data)
        assert len(pdb.symbol_key) > 32
        functions = pdb.functions()
        for f in functions[:10]:
            pdb.function_by_name(f.name)
        good: int | None = None
        for _name, rva, _offset in probes:
            for at in (rva, rva - 1):
                loc = pdb.lookup(at)
                if loc is not None and loc.file and loc.line and good is None:
                    good = at
        if good is not None:
            problem = pdb.line_problem(good)
            if problem is not None:
                return f"RVA {good:#x} has a line, yet line_problem says {problem!r}"
            return None
        if not pdb.line_problem(probes[0][1]):
            return f"no source line at any probe, and line_problem gives no reason ({probes})"
        return None
    except PdbError as exc:
        if not exc.reason:
            return "PdbError without a reason"
        if "MemoryError" in exc.reason:
            return f"a declared size reached an allocation: {exc.reason}"
        return None


@cache
def _pristine(name: str) -> Pristine:
    data = FIXTURES[name].read_bytes()
    pdb = PdbFile.from_bytes(data)
    probes = []
    for f in pdb.functions():
        loc = pdb.lookup(f.rva + f.length // 2)
        if f.module is not None and loc is not None and loc.file and loc.line:
            probes.append((f.name, f.rva + f.length // 2, f.length // 2))
    assert len(probes) >= PROBES, name
    chosen = tuple(probes[:PROBES])
    meter = WorkMeter()
    assert meter.run(lambda: _read(data, chosen)) is None
    return Pristine(data, pdb.symbol_key, chosen, meter.calls)


def _log(pristine: Pristine) -> str:
    """``ln`` queries at the probe addresses, naming their functions (no ``lm``: the
    resolver infers the base from them, as it does for old logs)."""
    rows = []
    for name, rva, offset in pristine.probes:
        at = LOAD_BASE + rva
        rows.append(
            f"kd> ln {at:x}\n({at - offset:x})   mydriver!{name}+0x{offset:x}   |  "
            f"({at + 0x40:x})   mydriver!NextFunction\n"
        )
    return "".join(rows) + "kd> q\n"


@cache
def _session(name: str) -> tuple[Session, Evidence]:
    session = parse_text(_log(_pristine(name)))
    assert not session.faults, session.faults
    return session, gather(session)


def _check_reader(mutant: Mutant, pristine: Pristine) -> str | None:
    meter = WorkMeter(WORK_FACTOR * pristine.work)
    tracemalloc.start()
    try:
        complaint = meter.run(lambda: _read(mutant.data, pristine.probes))
    except WorkExceeded:
        complaint = f"more than {WORK_FACTOR}x the work of the pristine file"
    except Exception as exc:
        complaint = f"raised {type(exc).__name__}: {exc}"
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if complaint is None and peak > MEMORY_LIMIT:
        complaint = f"peak of {peak >> 20} MB traced allocations"
    return complaint


def _check_resolver(mutant: Mutant, name: str, root: Path, index: int) -> str | None:
    pristine = _pristine(name)
    session, evidence = _session(name)
    folder = root / "mydriver.pdb" / pristine.key
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "mydriver.pdb"
    # a new file each time (an earlier table may still map the old one)
    staged = root / f".staged-{index}"
    staged.write_bytes(mutant.data)
    os.replace(staged, target)
    symbols = SymbolFiles([str(root)], disk_cache=False)
    faults_before = len(session.faults)
    try:
        resolver, diagnostics = symbols.for_session(session, evidence)
        resolved = sum(
            resolver.resolve(address, symbol) is not None
            for address, symbol in evidence.address_symbol.items()
        )
        status = symbols.status("mydriver")
    finally:
        symbols.tables.clear()
    texts = [d.message for d in diagnostics] + ([status.message] if status else [])
    if len(session.faults) > faults_before:
        return f"internal fault: {list(session.faults)[faults_before].summary()}"
    if any("internal error" in t for t in texts):
        return f"internal error: {texts}"
    if status is None:
        return "no status for the module"
    said = [d for d in diagnostics if d.code.startswith("symbol-") or d.code.endswith("-base")]
    if resolved == 0 and not said:
        return f"nothing resolved and nothing said (status: {status.message})"
    return None


def _mutants_of(name: str) -> list[Mutant]:
    bases = {n: _pristine(n).data for n in FIXTURES}
    return [m for m in mutants(bases, COUNT, SEED) if m.name.startswith(f"{name}/")]


@pytest.mark.parametrize("name", list(FIXTURES))
def test_corrupted_pdbs_are_bounded_and_never_silent(name: str, tmp_path: Path) -> None:
    pristine = _pristine(name)
    batch = _mutants_of(name)
    assert batch, "the generator made no mutant of this fixture"
    failures: list[str] = []
    for i, mutant in enumerate(batch):
        complaint = _check_reader(mutant, pristine) or _check_resolver(mutant, name, tmp_path, i)
        if complaint is not None:
            failures.append(f"{mutant.name}: {complaint}")
    assert failures == [], f"{len(failures)} of {len(batch)} mutants:\n" + "\n".join(failures)


def test_the_generator_is_deterministic_and_covers_every_kind() -> None:
    bases = {n: _pristine(n).data for n in FIXTURES}
    again = [(m.name, m.data) for m in mutants(bases, COUNT, SEED)]
    assert [(m.name, m.data) for m in mutants(bases, COUNT, SEED)] == again
    # another seed changes the random mutants only
    other = [m.name for m in mutants(bases, COUNT + 40, SEED + 1)]
    mine = [m.name for m in mutants(bases, COUNT + 40, SEED)]
    assert other != mine
    assert [n for n in other if "@" not in n] == [n for n in mine if "@" not in n]
    names = [m.name.split("/", 1)[1] for m in mutants(bases, COUNT, SEED)]
    for kind in (
        "truncate@",
        "flip@",
        "zero stream",
        "cycle stream",
        "cycle directory",
        "huge stream",
        "huge superblock",
        "huge DBI",
        "huge module",
        "huge TPI",
        "huge names",
        "sections zeroed",
        "sections cyclic",
        "names zeroed",
        "names cyclic",
    ):
        assert any(n.startswith(kind) for n in names), kind
    # every mutant differs from its pristine file
    assert all(m.data != bases[m.name.split("/", 1)[0]] for m in mutants(bases, COUNT, SEED))


def test_the_work_meter_stops_a_run_that_never_ends() -> None:
    """The bound is real: a loop that would spin forever is stopped by counting its calls."""

    def endless() -> str | None:
        while True:
            len("spin")

    meter = WorkMeter(limit=5000)
    with pytest.raises(WorkExceeded):
        meter.run(endless)
    assert meter.calls == 5001
    assert sys.getprofile() is None
