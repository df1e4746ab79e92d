"""Fixtures for the tests of the packaged extension (kdlens-<version>.vsix).

The package is read as a user's VS Code gets it, and its server is started
the way the extension starts it: a plain Python 3.10+ running the shipped
launcher in isolated mode, with nothing installed (see vsix_support.py for
which interpreters).
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vsix_support import VSIX, system_pythons


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "system_python" in metafunc.fixturenames:
        found = system_pythons()
        params = [pytest.param(i, id=str(i)) for i in found] or [
            pytest.param(
                None, id="none", marks=pytest.mark.skip(reason="no Python 3.10+ outside a venv")
            )
        ]
        metafunc.parametrize("system_python", params, scope="module")


@pytest.fixture(scope="session")
def vsix_file() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not installed, so the VS Code extension is not built")
    if not VSIX.exists():
        pytest.skip(f"{VSIX.name} is not built; run `make vsix`")
    return VSIX


@pytest.fixture(scope="session")
def extracted(vsix_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The package unpacked as VS Code installs it; yields its extension folder."""
    root = tmp_path_factory.mktemp("vsix")
    with zipfile.ZipFile(vsix_file) as zf:
        zf.extractall(root)
    yield root / "extension"
    shutil.rmtree(root, ignore_errors=True)
