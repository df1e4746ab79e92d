"""What the tests of the packaged extension share: where the package is, and
which interpreters start its server.

The interpreters are the machine's own ``python3`` (never a virtual
environment, which could hold the libraries the package is meant to carry),
any ``python3.1X`` on the PATH, and those listed in ``KDLENS_TEST_PYTHONS``
(separated like PATH). Fixtures using these are in conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from helpers import REPO

CLIENT = REPO / "client"
VERSION = json.loads((CLIENT / "package.json").read_text(encoding="utf-8"))["version"]
VSIX = REPO / f"kdlens-{VERSION}.vsix"
LOCK = CLIENT / "server-requirements.lock"
OLDEST, NEWEST = (3, 10), (3, 13)

_ABOUT = (
    "import json, sys; print(json.dumps([sys.executable, list(sys.version_info[:2]), "
    "sys.prefix != getattr(sys, 'base_prefix', sys.prefix), "
    "getattr(sys, '_base_executable', '')]))"
)


@dataclass(frozen=True)
class Interpreter:
    executable: str
    version: tuple[int, int]

    def __str__(self) -> str:
        return f"python{self.version[0]}.{self.version[1]}"


def minimal_env() -> dict[str, str]:
    """An environment with nothing but PATH (and what Windows cannot start without)."""
    env = {"PATH": os.environ.get("PATH", "")}
    for key in ("SYSTEMROOT", "SystemRoot"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _about(command: str) -> tuple[str, tuple[int, int], bool, str] | None:
    try:
        res = subprocess.run(
            [command, "-I", "-c", _ABOUT], capture_output=True, text=True, timeout=60
        )
        exe, version, is_venv, base = json.loads(res.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return exe, (version[0], version[1]), bool(is_venv), base


def _resolve(command: str) -> Interpreter | None:
    """The real, non-venv interpreter behind a command, when it is Python 3.10+."""
    about = _about(command)
    if about is not None and about[2] and about[3]:
        about = _about(about[3])  # a venv's python: use the interpreter it was made from
    if about is None or about[2] or about[1] < OLDEST:
        return None
    return Interpreter(about[0], about[1])


def _candidates() -> list[str]:
    names = ["python3"] + [f"python3.{minor}" for minor in range(OLDEST[1], NEWEST[1] + 1)]
    found = [path for name in names if (path := shutil.which(name))]
    extra = os.environ.get("KDLENS_TEST_PYTHONS", "")
    return found + [p for p in extra.split(os.pathsep) if p]


@lru_cache(maxsize=1)
def system_pythons() -> tuple[Interpreter, ...]:
    """Distinct usable interpreters, the PATH's python3 first."""
    out: list[Interpreter] = []
    for command in _candidates():
        interp = _resolve(command)
        if interp and all(
            os.path.realpath(i.executable) != os.path.realpath(interp.executable) for i in out
        ):
            out.append(interp)
    return tuple(out)
