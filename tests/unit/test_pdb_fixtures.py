"""The committed PDB fixtures: small, complete, and free of this machine's paths."""

from __future__ import annotations

import re

import pytest

from fixtures.pdb.pdbtest import BUILD_DIR, BUILDS, PDB_DIR, pdb_path, sys_path
from helpers import REPO

# Any POSIX-style absolute path of a build machine, or a Windows drive path other
# than the compilation directory the build script records on purpose (also in its
# escaped command-line spelling ``C:\\build\\mydriver``).
_LOCAL = re.compile(
    rb"(?:/(?:work|tmp|home|root|usr|opt|var|mnt|Users)/)|[A-Za-z]:[\\/](?![\\/]?build[\\/]+mydriver)"
)


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("kind", ["pdb", "sys"])
def test_no_local_paths_in_binaries(build: str, kind: str) -> None:
    path = pdb_path(build) if kind == "pdb" else sys_path(build)
    data = path.read_bytes()
    assert _LOCAL.findall(data) == []
    assert str(REPO).encode() not in data
    if kind == "pdb":
        # The compilation directory and the compiler command line are recorded,
        # but only with the Windows-style directory the build script chose.
        assert BUILD_DIR.encode() in data
        assert b'"-cc1"' in data
        assert b"C:/build/mydriver/" + build.encode() + b"/ntoskrnl.lib" in data


def test_fixtures_stay_small() -> None:
    binaries = [p for b in BUILDS for p in (pdb_path(b), sys_path(b))]
    assert sum(p.stat().st_size for p in binaries) < 500_000


def test_sources_and_build_script_are_present() -> None:
    names = {p.name for p in (PDB_DIR / "src").iterdir()}
    assert {
        "driver.c",
        "handleioctl.c",
        "workitem.c",
        "alloc.c",
        "stream.cpp",
        "mydriver.h",
        "kd.h",
    } <= names
    script = (PDB_DIR / "build.sh").read_text()
    assert "clang-14" in script and "lld-link-14" in script and "/pdbsourcepath:" in script
