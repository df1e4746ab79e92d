"""Writes client/server-requirements.lock: the language server's libraries, pinned with hashes.

The VS Code extension carries the server's third-party libraries inside the
.vsix (installed at build time from this lock by client/scripts/build.mjs), so
a user's machine never needs a package index. One set of files has to work on
every Python the extension accepts (3.10 to 3.13), hence:

- versions are resolved for the oldest supported Python (a release that
  dropped 3.10 cannot be shipped);
- a dependency that only some of those Pythons need (``exceptiongroup`` on
  3.10) is pinned unconditionally: pip evaluates markers for the Python it runs
  on, which would leave it out when the build machine runs a newer one;
- only pure-Python wheels (``*-none-any.whl``) are accepted, so nothing in
  the package depends on the user's platform.

The hashes come from the wheels themselves (``pip download`` then ``pip hash``).
Run it from the checkout with any Python 3.10+ that has pip and can reach the
package index::

    python3 client/scripts/lock_server_deps.py          # rewrite the lock
    python3 client/scripts/lock_server_deps.py --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pip always carries a copy
    from pip._vendor.packaging.markers import default_environment  # type: ignore[no-redef, assignment, unused-ignore]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef, assignment, unused-ignore]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef, assignment, unused-ignore]

CLIENT = Path(__file__).resolve().parent.parent
REPO = CLIENT.parent
LOCK = CLIENT / "server-requirements.lock"
# The Pythons the extension accepts; the first one decides the versions.
PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def project_dependencies(pyproject: str) -> list[str]:
    """The strings of ``dependencies = [...]`` in pyproject.toml's [project] table.

    A small reader instead of tomllib, so the script also runs on Python 3.10.
    """
    table = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", pyproject, re.M | re.S)
    if table is None:
        raise SystemExit("lock: pyproject.toml has no [project] table")
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", table.group(1), re.M | re.S)
    if block is None:
        raise SystemExit("lock: pyproject.toml's [project] table has no dependencies")
    return [a or b for a, b in re.findall(r"\"([^\"]+)\"|'([^']+)'", block.group(1))]


def pip(*args: str, cwd: Path | None = None) -> None:
    """Runs this interpreter's pip; its own messages go to the terminal."""
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    res = subprocess.run(cmd, cwd=cwd, check=False)
    if res.returncode != 0:
        raise SystemExit(f"lock: pip failed (exit {res.returncode}): {' '.join(cmd)}")


def resolve(requirements: list[str], work: Path) -> list[dict[str, Any]]:
    """What pip would install for the oldest supported Python: its report's entries."""
    report = work / "report.json"
    pip(
        "install",
        "--dry-run",
        "--quiet",
        "--ignore-installed",
        "--only-binary=:all:",
        "--python-version",
        PYTHONS[0],
        "--target",
        str(work / "unused-target"),
        "--report",
        str(report),
        *requirements,
    )
    entries: list[dict[str, Any]] = json.loads(report.read_text(encoding="utf-8"))["install"]
    return entries


def needed_elsewhere(entries: list[dict[str, Any]], have: set[Any]) -> dict[str, set[str]]:
    """Dependencies some supported Python needs that the resolution left out.

    Returns each missing requirement string with the distributions asking for it.
    """
    base = {key: str(value) for key, value in default_environment().items()}
    missing: dict[str, set[str]] = {}
    for entry in entries:
        meta = entry["metadata"]
        for text in meta.get("requires_dist") or []:
            req = Requirement(text)
            if canonicalize_name(req.name) in have:
                continue
            for version in PYTHONS:
                env = dict(base, python_version=version, python_full_version=f"{version}.0")
                env["extra"] = ""
                if req.marker is None or req.marker.evaluate(env):
                    spec = f"{req.name}{req.specifier}"
                    missing.setdefault(spec, set()).add(meta["name"])
                    break
    return missing


def required_by(entries: list[dict[str, Any]]) -> dict[str, list[str]]:
    """For each locked distribution, the locked distributions that depend on it."""
    names = {canonicalize_name(e["metadata"]["name"]): e["metadata"]["name"] for e in entries}
    out: dict[str, set[str]] = {key: set() for key in names}
    for entry in entries:
        for text in entry["metadata"].get("requires_dist") or []:
            req = Requirement(text)
            key = canonicalize_name(req.name)
            if key in out and not (req.marker and "extra" in str(req.marker)):
                out[key].add(entry["metadata"]["name"])
    return {key: sorted(v, key=str.lower) for key, v in out.items()}


def wheel_hash(name: str, version: str, work: Path) -> tuple[str, str]:
    """Downloads the one pure-Python wheel of name==version; returns its file name and sha256."""
    dest = work / "wheels" / canonicalize_name(name)
    pip(
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        PYTHONS[0],
        "--dest",
        str(dest),
        f"{name}=={version}",
    )
    (wheel,) = dest.glob("*.whl")
    tags = wheel.name[: -len(".whl")].split("-")[-3:]
    if tags[1:] != ["none", "any"] or not tags[0].startswith("py"):
        raise SystemExit(f"lock: {wheel.name} is not a pure-Python wheel; it cannot be shipped")
    out = subprocess.run(
        [sys.executable, "-m", "pip", "hash", "--algorithm", "sha256", str(wheel)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"--hash=sha256:([0-9a-f]{64})", out)
    if match is None:
        raise SystemExit(f"lock: pip hash printed no sha256 for {wheel.name}:\n{out}")
    return wheel.name, match.group(1)


def lock_text(work: Path) -> str:
    top = project_dependencies((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = list(top)
    for _ in range(10):
        entries = resolve(requirements, work)
        have = {canonicalize_name(e["metadata"]["name"]) for e in entries}
        extra = needed_elsewhere(entries, have)
        if not extra:
            break
        requirements += sorted(extra)
    else:
        raise SystemExit("lock: the dependencies did not settle after 10 rounds")

    parents = required_by(entries)
    lines = [
        "# The kdlens language server's third-party libraries, shipped inside the VS Code",
        "# extension. client/scripts/build.mjs installs exactly these wheels with",
        "#   pip install --require-hashes --no-deps --only-binary=:all: --target ... -r this file",
        f"# Resolved for Python {PYTHONS[0]}, the oldest the extension accepts, and shipped for",
        f"# {PYTHONS[0]} to {PYTHONS[-1]} alike (no markers: a library only older Pythons need is",
        "# harmless on newer ones). Made from pyproject.toml's dependencies by",
        "#   python3 client/scripts/lock_server_deps.py",
        "# Do not edit by hand.",
        "",
    ]
    top_keys = {canonicalize_name(Requirement(t).name) for t in top}
    for entry in sorted(entries, key=lambda e: canonicalize_name(e["metadata"]["name"])):
        name, version = entry["metadata"]["name"], entry["metadata"]["version"]
        key = canonicalize_name(name)
        wheel, digest = wheel_hash(name, version, work)
        why = ["pyproject.toml"] if key in top_keys else []
        why += parents.get(key, [])
        lines += [
            f"{key}=={version} \\",
            f"    --hash=sha256:{digest}",
            f"    # {wheel}; for {', '.join(why)}",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="only compare with the committed lock file"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kdlens-lock-") as tmp:
        text = lock_text(Path(tmp))
    if args.check:
        current = LOCK.read_text(encoding="utf-8") if LOCK.exists() else ""
        if current != text:
            print(
                f"lock: {LOCK.relative_to(REPO)} is out of date; run this script", file=sys.stderr
            )
            return 1
        print(f"lock: {LOCK.relative_to(REPO)} is up to date")
        return 0
    LOCK.write_text(text, encoding="utf-8")
    print(f"lock: wrote {LOCK.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
