#!/usr/bin/env python3
"""Compile kdlens' knowledge sources into the shipped JSON tables.

Usage, from the repository root:

    python tools/gen_knowledge.py          # rewrite server/kdlens/knowledge/data/*.json
    python tools/gen_knowledge.py --check  # exit 1 (naming the files) when they are out of date

The sources are server/kdlens/knowledge/src: tab-separated tables for the facts (codes, names,
documentation pages, argument labels, option bits) and Markdown files for the explanations.
The compiler is ``kdlens.knowledge.build``; this script only runs it. It needs nothing outside
the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "server"))

from kdlens.knowledge.build import DATA, SRC, compile_sources, stale_files  # noqa: E402
from kdlens.knowledge.source import SourceError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare with committed files")
    parser.add_argument(
        "--src", type=Path, default=SRC, help="source folder (default: the package's)"
    )
    parser.add_argument(
        "--out", type=Path, default=DATA, help="data folder (default: the package's)"
    )
    opts = parser.parse_args(argv)
    try:
        files = compile_sources(opts.src)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stale = stale_files(files, opts.out)
    if opts.check:
        for name in stale:
            print(f"out of date: {name} (run python tools/gen_knowledge.py)", file=sys.stderr)
        return 1 if stale else 0
    opts.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (opts.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files; changed: {', '.join(stale) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
