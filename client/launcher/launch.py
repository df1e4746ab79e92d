"""Starts the kdlens command that ships inside the VS Code extension.

The extension runs ``python -I <extension>/server/launch.py serve`` (and
``... check FILE`` in a terminal). Isolated mode keeps the user's PYTHONPATH,
user site-packages and current folder out of the server; in exchange Python
does not put this script's folder on the path either, so this file does it:
the shipped ``kdlens`` package and the libraries in ``vendor/`` (pinned in
client/server-requirements.lock) come before anything the interpreter has
installed. Nothing is installed or downloaded at run time.

Only the standard library is used before the path is set, and the file stays
valid on old Pythons so that they get a sentence rather than a syntax error.
"""

import os
import runpy
import sys

MIN_PYTHON = (3, 10)


def add_shipped_paths():  # type: () -> None
    """Puts the shipped kdlens and its libraries before everything else on sys.path."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [here, os.path.join(here, "vendor")]


def main():  # type: () -> int
    if sys.version_info < MIN_PYTHON:
        # %-formatting and tuple concatenation: they parse on any Python.
        found = (sys.version.split()[0], sys.executable)
        sys.stderr.write(
            "kdlens needs Python %d.%d or newer; this is %s (%s)\n"  # noqa: UP031
            % (MIN_PYTHON + found)
        )
        return 2
    add_shipped_paths()
    sys.argv[0] = "kdlens"
    # The same as `python -m kdlens ...`: kdlens/__main__.py ends in SystemExit.
    runpy.run_module("kdlens", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
