"""The ``kdlens`` command line: ``check`` and ``serve``.

Exit codes of ``check``: 0 when no finding reaches ``--fail-on``, 1 when one
does, 2 for usage and I/O errors (one line on stderr saying which).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..analysis import AnalysisSettings, Severity, SymbolSource, analyze
from ..gcpause import paused_gc
from ..parse import parse_bytes
from ..sources import SourceMapper
from .formats import FileResult, write_json, write_sarif, write_text

_FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "never": None}
#: Files at least this big get a progress line on a terminal.
_PROGRESS_BYTES = 8 * 1024 * 1024


class UsageError(Exception):
    pass


def _source_map(values: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for v in values:
        if "=" not in v:
            raise UsageError(f"--source-map expects FROM=TO, got '{v}'")
        src, dst = v.split("=", 1)
        if not src or not dst:
            raise UsageError(f"--source-map expects FROM=TO, got '{v}'")
        out.append((src, dst))
    return out


def split_symbol_path(value: str) -> list[str]:
    """``_NT_SYMBOL_PATH`` syntax: elements separated by ``;`` (empty ones dropped)."""
    return [p.strip() for p in value.split(";") if p.strip()]


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
    check.add_argument(
        "--symbol-path",
        metavar="P",
        action="append",
        default=[],
        help="symbol search path in _NT_SYMBOL_PATH syntax (repeatable; the _NT_SYMBOL_PATH variable is read too)",
    )
    check.add_argument(
        "--source-map",
        metavar="FROM=TO",
        action="append",
        default=[],
        help="map a build-path prefix to a local folder (repeatable)",
    )
    check.add_argument(
        "--workspace",
        metavar="DIR",
        action="append",
        default=[],
        help="folder searched for source files (default: the folder of each log)",
    )
    check.add_argument(
        "--allocator-wrapper",
        metavar="GLOB",
        action="append",
        default=[],
        help="extra module!function pattern of an allocation helper to look past (repeatable)",
    )
    check.add_argument("--fail-on", choices=tuple(_FAIL_ON), default="warning")
    check.add_argument(
        "-o", "--output", metavar="FILE", help="write the report here instead of stdout"
    )

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP address instead")
    serve.add_argument(
        "--max-message-bytes",
        metavar="N",
        type=int,
        help="largest LSP message accepted (default: KDLENS_MAX_MESSAGE_BYTES or 256 MiB)",
    )
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
    source_map = _source_map(args.source_map)
    symbol_path = [p for v in args.symbol_path for p in split_symbol_path(v)]
    env_path = os.environ.get("_NT_SYMBOL_PATH")
    if env_path:
        symbol_path.extend(split_symbol_path(env_path))
    settings = AnalysisSettings.from_lists(
        allocator_wrappers=args.allocator_wrapper,
        source_map=source_map,
        symbol_path=symbol_path,
    )
    symbols = _symbol_source(symbol_path, stderr)
    progress = hasattr(stderr, "isatty") and stderr.isatty()
    results: list[FileResult] = []
    io_error = False
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
        session, _doc = parse_bytes(data)
        analysis = analyze(session, settings, symbols=symbols)
        if big:
            stderr.write(
                f"kdlens: analysed {result.path} in {time.perf_counter() - started:.1f} s   \n"
            )
        result.analysis = analysis
        result.diagnostics = analysis.diagnostics
        roots = [Path(w) for w in args.workspace] or (
            [Path(path).resolve().parent] if path != "-" else [Path.cwd()]
        )
        mapper = SourceMapper.create(roots, source_map=source_map, srcpath=_srcpaths(analysis))
        for leak in analysis.leaks:
            if leak.source is not None and leak.source.path not in result.mapped_sources:
                hit = mapper.map(leak.source.path)
                if hit is not None:
                    result.mapped_sources[leak.source.path] = _display(hit.path)
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
    threshold = _FAIL_ON[args.fail_on]
    if threshold is None:
        return 0
    failing = any(d.severity <= threshold for r in results for d in r.diagnostics)
    return 1 if failing else 0


def _symbol_source(symbol_path: Sequence[str], stderr: TextIO) -> SymbolSource | None:
    """The symbol files on ``symbol_path``; what it skips is said once, on stderr."""
    if not symbol_path:
        return None
    from ..symbols.resolver import SymbolFiles  # pefile and friends load only when needed

    source = SymbolFiles(symbol_path, base_dir=Path.cwd())
    for message in source.messages:
        stderr.write(f"kdlens: {message}\n")
    return source


def _srcpaths(analysis: object) -> list[str]:
    session = getattr(analysis, "session", None)
    if session is None:
        return []
    return [p for s in session.paths if s.kind == "source" for p in s.value.split(";") if p]


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
            with paused_gc():
                return run_check(args, sys.stdout, sys.stderr, sys.stdin)
        if args.command == "serve":
            from ..lsp.server import serve

            return serve(tcp=args.tcp, max_message_bytes=args.max_message_bytes)
    except UsageError as exc:
        sys.stderr.write(f"kdlens: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return 2
