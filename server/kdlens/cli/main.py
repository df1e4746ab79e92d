"""The ``kdlens`` command line: ``check`` and ``serve``.

Exit codes of ``check``: 0 when no finding reaches ``--fail-on``, 1 when one
does, 2 for usage and I/O errors (one line on stderr saying which), 3 with
``--strict`` when kdlens itself failed somewhere while reading a log (its
internal faults are printed on stderr either way).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..analysis import Severity
from ..pipeline import DownloadEvent, SymbolFilesCache, build_snapshot, make_mapper
from ..settings import Settings, SettingsError, add_arguments
from ..text import Document, decode
from .formats import FileResult, write_json, write_sarif, write_text

_FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "never": None}
#: Files at least this big get a progress line on a terminal.
_PROGRESS_BYTES = 8 * 1024 * 1024


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdlens",
        description="Read WinDbg/KD/CDB session logs: bug checks, leaked pool allocations, source lines.",
    )
    parser.add_argument("--version", action="version", version=f"kdlens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="report the findings of debugger logs")
    check.add_argument(
        "files", nargs="*", metavar="FILE", help="log files; '-' or none reads standard input"
    )
    check.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    add_arguments(check)
    check.add_argument(
        "--workspace",
        metavar="DIR",
        action="append",
        default=[],
        help="folder searched for source files (default: the folder of each log)",
    )
    check.add_argument("--fail-on", choices=tuple(_FAIL_ON), default="warning")
    check.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 3 when kdlens met an internal fault while reading a log",
    )
    check.add_argument(
        "-o", "--output", metavar="FILE", help="write the report here instead of stdout"
    )

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP address instead")
    return parser


def _read(path: str, stdin: TextIO) -> bytes:
    if path == "-":
        return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    return Path(path).read_bytes()


def _uri(path: str) -> str:
    if path == "-":
        return "stdin"
    return Path(path).resolve().as_uri()


def run_check(args: argparse.Namespace, stdout: TextIO, stderr: TextIO, stdin: TextIO) -> int:
    files: list[str] = args.files or ["-"]
    if files.count("-") > 1:
        raise UsageError("standard input ('-') can be read only once")
    try:
        settings = Settings.from_args(args)
    except SettingsError as exc:
        raise UsageError(str(exc)) from exc

    def told(event: DownloadEvent) -> None:  # on the download thread; check waits for it
        if event.kind == "end" and event.result is not None and event.message:
            stderr.write(f"kdlens: {event.message}\n")

    cache = SymbolFilesCache(listener=told, wait_for_downloads=True)
    symbols, messages = cache.source(settings, Path.cwd())
    for message in messages:
        stderr.write(f"kdlens: {message}\n")
    progress = hasattr(stderr, "isatty") and stderr.isatty()
    results: list[FileResult] = []
    io_error = False
    faults = 0
    for path in files:
        result = FileResult(path=path if path != "-" else "<stdin>", uri=_uri(path))
        try:
            data = _read(path, stdin)
        except OSError as exc:
            result.error = f"cannot read: {exc.strerror or exc}"
            io_error = True
            results.append(result)
            continue
        started = time.perf_counter()
        big = progress and len(data) >= _PROGRESS_BYTES
        if big:
            stderr.write(f"kdlens: analysing {result.path} ({len(data) / 1e6:.0f} MB)...\r")
            stderr.flush()
        roots = [Path(w) for w in args.workspace] or (
            [Path(path).resolve().parent] if path != "-" else [Path.cwd()]
        )
        decoded = decode(data)
        snap = build_snapshot(
            Document(decoded.text),
            settings,
            make_mapper(settings, roots),
            uri=result.uri,
            symbols=symbols,
        )
        snap.analysis.session.encoding = decoded.encoding
        if big:
            stderr.write(
                f"kdlens: analysed {result.path} in {time.perf_counter() - started:.1f} s   \n"
            )
        result.analysis = snap.analysis
        result.diagnostics = snap.analysis.diagnostics
        for leak in snap.analysis.leaks:
            if leak.source is not None and leak.source.path not in result.mapped_sources:
                local, _why = snap.local_source(leak.source.path)
                if local is not None:
                    result.mapped_sources[leak.source.path] = _display(local)
        for fault in snap.faults.unreported():
            faults += 1
            stderr.write(f"kdlens: internal fault in {result.path}: {fault.summary()}\n")
        results.append(result)

    writer = {"text": write_text, "json": write_json, "sarif": write_sarif}[args.format]
    report = writer(results)
    if args.output:
        try:
            Path(args.output).write_text(report, encoding="utf-8")
        except OSError as exc:
            stderr.write(f"kdlens: cannot write {args.output}: {exc.strerror or exc}\n")
            return 2
    else:
        stdout.write(report)
    if io_error:
        for r in results:
            if r.error:
                stderr.write(f"kdlens: {r.path}: {r.error}\n")
        return 2
    if faults and args.strict:
        return 3
    threshold = _FAIL_ON[args.fail_on]
    if threshold is None:
        return 0
    failing = any(d.severity <= threshold for r in results for d in r.diagnostics)
    return 1 if failing else 0


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "check":
            return run_check(args, sys.stdout, sys.stderr, sys.stdin)
        if args.command == "serve":
            from ..lsp.main import serve

            return serve(tcp=args.tcp)
    except UsageError as exc:
        sys.stderr.write(f"kdlens: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return 2
