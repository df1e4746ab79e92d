"""The ``kdlens`` command line: ``check``, ``diff`` and ``serve``.

Exit codes of ``check``: 0 when no finding reaches ``--fail-on`` (with
``--baseline``: no *new* finding does), 1 when one does, 2 for usage and I/O
errors (one line on stderr saying which: a missing or non-regular file,
standard input closed or over ``--max-stdin-bytes``, standard output closed
or full), 3 with ``--strict`` when kdlens itself failed somewhere while
reading a log (its internal faults are printed on stderr either way), and
141 (128 + SIGPIPE, what a shell reports for a program killed by a closed
pipe) when the reader of standard output went away, as ``| head`` does: the
rest of the report is dropped without a word.

``diff`` exits 0 when the new log has no leak the old one lacked, 1 when it
has, 2 for errors. ``serve`` exits 2 when it cannot start (no standard
input, a TCP address that cannot be listened on).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from io import BytesIO
from pathlib import Path
from typing import IO, BinaryIO, TextIO

from .. import __version__
from ..analysis import Severity, SymbolSource
from ..pipeline import DownloadEvent, Snapshot, SymbolFilesCache, build_snapshot, make_mapper
from ..settings import Settings, SettingsError, add_arguments
from ..text import Document, decode
from .baseline import Baseline, BaselineError, identity, load_report, looks_like_report
from .diff import DIFF_WRITERS, diff_leaks
from .formats import WRITERS, FileResult, Totals
from .inputs import (
    DEFAULT_MAX_STDIN_BYTES,
    InputError,
    parse_size,
    read_named,
    read_stdin,
)

_FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "never": None}
#: Files at least this big get a progress line on a terminal.
_PROGRESS_BYTES = 8 * 1024 * 1024
#: Exit status when the reader of standard output closed it (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """A mistake on the command line or an unusable environment: one line, exit 2."""


class OutputError(Exception):
    """Writing the report failed (closed pipe, full disk); ``exc`` is the cause."""

    def __init__(self, exc: OSError, target: str) -> None:
        super().__init__(f"cannot write the report to {target}: {exc.strerror or exc}")
        self.exc = exc
        self.target = target

    @property
    def broken_pipe(self) -> bool:
        return isinstance(self.exc, BrokenPipeError) or self.exc.errno == errno.EPIPE


class _Guarded:
    """A text stream whose write errors become ``OutputError`` (told apart from read errors)."""

    def __init__(self, stream: IO[str], target: str) -> None:
        self._stream = stream
        self.target = target

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise OutputError(exc, self.target) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputError(exc, self.target) from None


class _Console:
    """Messages on stderr; a closed or failing stderr loses them but never raises."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream

    def say(self, text: str, end: str = "\n") -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(f"kdlens: {text}{end}")
            self.stream.flush()
        except (OSError, ValueError):
            self.stream = None

    @property
    def is_terminal(self) -> bool:
        try:
            return self.stream is not None and self.stream.isatty()
        except (OSError, ValueError):
            return False


def _size_arg(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    add_arguments(p)
    p.add_argument(
        "--workspace",
        metavar="DIR",
        action="append",
        default=[],
        help="folder searched for source files (default: the folder of each log)",
    )
    p.add_argument(
        "--max-stdin-bytes",
        metavar="SIZE",
        type=_size_arg,
        default=DEFAULT_MAX_STDIN_BYTES,
        help="read at most this much from standard input (default 2GiB; 500M, 1GiB...)",
    )
    p.add_argument("--pretty", action="store_true", help="indent JSON and SARIF output for people")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdlens",
        description="Read WinDbg/KD/CDB session logs: bug checks, leaks, crashes, source lines.",
    )
    parser.add_argument("--version", action="version", version=f"kdlens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="report the findings of debugger logs")
    check.add_argument(
        "files", nargs="*", metavar="FILE", help="log files; '-' or none reads standard input"
    )
    check.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    _add_analysis_options(check)
    check.add_argument("--fail-on", choices=tuple(_FAIL_ON), default="warning")
    check.add_argument(
        "--baseline",
        metavar="OLD",
        help="a SARIF/JSON report of kdlens or a debugger log: report which findings are new",
    )
    check.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 3 when kdlens met an internal fault while reading a log",
    )
    check.add_argument(
        "-o", "--output", metavar="FILE", help="write the report here instead of stdout"
    )

    diff = sub.add_parser("diff", help="compare the leaks of two logs: fixed, new, unchanged")
    diff.add_argument("old", metavar="OLD.log")
    diff.add_argument("new", metavar="NEW.log")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    _add_analysis_options(diff)
    diff.add_argument(
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


# --------------------------------------------------------------------------- reading and analysing


class _Checker:
    """What every log of one command shares: settings, symbol files, workspace, messages."""

    def __init__(self, args: argparse.Namespace, console: _Console, stdin: TextIO | None) -> None:
        self.console = console
        self.stdin = stdin
        self.limit: int = args.max_stdin_bytes
        try:
            self.settings = Settings.from_args(args)
        except SettingsError as exc:
            raise UsageError(str(exc)) from exc
        self.workspace: list[Path] = []
        for w in args.workspace:
            try:
                os.stat(w)
            except OSError as exc:
                raise UsageError(f"--workspace {w}: {exc.strerror or exc}") from None
            if not os.path.isdir(w):
                raise UsageError(f"--workspace {w}: not a folder")
            self.workspace.append(Path(w))

        def told(event: DownloadEvent) -> None:  # on the download thread; check waits for it
            if event.kind == "end" and event.result is not None and event.message:
                console.say(event.message)

        cache = SymbolFilesCache(listener=told, wait_for_downloads=True)
        self.symbols: SymbolSource | None
        self.symbols, messages = cache.source(self.settings, Path.cwd())
        for message in messages:
            console.say(message)

    def _stdin_bytes(self) -> BinaryIO | None:
        stdin = self.stdin
        if stdin is None:
            return None
        buffer = getattr(stdin, "buffer", None)
        if buffer is not None:
            return buffer  # type: ignore[no-any-return]
        return BytesIO(stdin.read().encode())  # an in-memory text stream (tests)

    def read(self, path: str) -> tuple[bytes | bytearray, str]:
        """The bytes of ``path`` (``-``: standard input) and its URI; ``InputError``."""
        if path == "-":
            return read_stdin(self._stdin_bytes(), self.limit), "stdin"
        data = read_named(path)
        try:
            uri = Path(path).resolve().as_uri()
        except (OSError, RuntimeError, ValueError):
            uri = Path(os.path.abspath(path)).as_uri()
        return data, uri

    def analyse(self, data: bytes | bytearray, path: str, uri: str, shown: str) -> Snapshot:
        started = time.perf_counter()
        big = self.console.is_terminal and len(data) >= _PROGRESS_BYTES
        if big:
            self.console.say(f"analysing {shown} ({len(data) / 1e6:.0f} MB)...", end="\r")
        roots = self.workspace or ([Path(path).resolve().parent] if path != "-" else [Path.cwd()])
        decoded = decode(data)  # type: ignore[arg-type]  # bytearray reads like bytes
        del data
        snap = build_snapshot(
            Document(decoded.text),
            self.settings,
            make_mapper(self.settings, roots),
            uri=uri,
            symbols=self.symbols,
        )
        snap.analysis.session.encoding = decoded.encoding
        if big:
            self.console.say(f"analysed {shown} in {time.perf_counter() - started:.1f} s   ")
        return snap


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _map_sources(snap: Snapshot, result: FileResult) -> None:
    """Local files for the build paths the report names (leaks, stops, their frames)."""
    a = snap.analysis
    paths: set[str] = {leak.source.path for leak in a.leaks if leak.source is not None}
    paths.update(r.source.path for r in a.leak_records if r.source is not None)
    for t in a.triage:
        if t.fault_source is not None:
            paths.add(t.fault_source.path)
        paths.update(f.source.path for f in t.frames if f.user and f.source is not None)
    for build_path in sorted(paths):
        local, _why = snap.local_source(build_path)
        if local is not None:
            result.local_sources[build_path] = Path(os.path.abspath(local))
            result.mapped_sources[build_path] = _display(local)


@contextlib.contextmanager
def _report_sink(args: argparse.Namespace, stdout: TextIO | None) -> Iterator[_Guarded]:
    """Where the report goes (``-o FILE`` or standard output), flushed and closed at the end.

    A failure to open is a usage error; a failure to write, flush or close
    (a full disk, a closed pipe) is an ``OutputError``.
    """
    if not args.output:
        if stdout is None:
            raise UsageError(
                "standard output is closed (use -o FILE to write the report to a file)"
            )
        reconfigure = getattr(stdout, "reconfigure", None)
        if reconfigure is not None:
            # a log can hold any character; a terminal may not print them all
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors="backslashreplace")
        sink = _Guarded(stdout, "standard output")
        yield sink
        sink.flush()
        return
    try:
        f = open(args.output, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    try:
        sink = _Guarded(f, args.output)
        yield sink
        sink.flush()
        try:
            f.close()
        except OSError as exc:
            raise OutputError(exc, args.output) from None
    finally:
        if not f.closed:
            with contextlib.suppress(OSError):
                f.close()


# --------------------------------------------------------------------------- check


def _load_baseline(path: str, checker: _Checker) -> Baseline:
    try:
        data = read_named(path)
    except InputError as exc:
        raise UsageError(f"--baseline {path}: {exc}") from None
    if looks_like_report(data):
        try:
            return load_report(data, path)
        except BaselineError as exc:
            raise UsageError(f"--baseline {path}: {exc}") from None
    uri = Path(os.path.abspath(path)).as_uri()
    snap = checker.analyse(data, path, uri, path)
    for fault in snap.faults.unreported():
        checker.console.say(f"internal fault in {path}: {fault.summary()}")
    return Baseline.from_diagnostics(snap.analysis.diagnostics, uri, path)


def run_check(
    args: argparse.Namespace, stdout: TextIO | None, stderr: TextIO | None, stdin: TextIO | None
) -> int:
    console = _Console(stderr)
    files: list[str] = args.files or ["-"]
    if files.count("-") > 1:
        raise UsageError("standard input ('-') can be read only once")
    checker = _Checker(args, console, stdin)
    baseline = _load_baseline(args.baseline, checker) if args.baseline else None
    with _report_sink(args, stdout) as sink:
        return _check_files(args, files, checker, baseline, sink)


def _check_files(
    args: argparse.Namespace,
    files: list[str],
    checker: _Checker,
    baseline: Baseline | None,
    sink: _Guarded,
) -> int:
    console = checker.console
    writer = WRITERS[args.format](sink, args.pretty)
    threshold = _FAIL_ON[args.fail_on]
    totals = Totals()
    io_error = False
    failing = False
    faults = 0
    writer.begin()
    for path in files:
        shown = path if path != "-" else "<stdin>"
        try:
            data, uri = checker.read(path)
        except InputError as exc:
            console.say(f"{shown}: cannot read: {exc}")
            io_error = True
            uri = Path(os.path.abspath(path)).as_uri() if path != "-" else "stdin"
            result = FileResult(path=shown, uri=uri, error=f"cannot read: {exc}")
            writer.file(result)
            totals.add(result)
            continue
        result = FileResult(path=shown, uri=uri)
        snap = checker.analyse(data, path, uri, shown)
        del data
        result.analysis = snap.analysis
        result.diagnostics = snap.analysis.diagnostics
        if args.format == "sarif" or baseline is not None:
            result.identities = [identity(d) for d in result.diagnostics]
        if baseline is not None:
            result.states = [baseline.match(i) for i in result.identities]
        _map_sources(snap, result)
        for fault in snap.faults.unreported():
            faults += 1
            console.say(f"internal fault in {shown}: {fault.summary()}")
        writer.file(result)
        totals.add(result)
        if threshold is not None:
            failing = failing or any(
                d.severity <= threshold and (result.states is None or result.states[i] == "new")
                for i, d in enumerate(result.diagnostics)
            )
        del snap, result  # the next log need not share memory with this one
    writer.end(totals, baseline.absent() if baseline is not None else None)
    if io_error:
        return 2
    if faults and args.strict:
        return 3
    return 1 if failing else 0


# --------------------------------------------------------------------------- diff


def run_diff(
    args: argparse.Namespace, stdout: TextIO | None, stderr: TextIO | None, stdin: TextIO | None
) -> int:
    console = _Console(stderr)
    if args.old == "-" and args.new == "-":
        raise UsageError("standard input ('-') can be read only once")
    checker = _Checker(args, console, stdin)
    snaps: list[Snapshot] = []
    for path in (args.old, args.new):
        shown = path if path != "-" else "<stdin>"
        try:
            data, uri = checker.read(path)
        except InputError as exc:
            raise UsageError(f"{shown}: {exc}") from None
        snap = checker.analyse(data, path, uri, shown)
        for fault in snap.faults.unreported():
            console.say(f"internal fault in {shown}: {fault.summary()}")
        snaps.append(snap)
    old, new = snaps
    result = diff_leaks(old.analysis.leak_records, new.analysis.leak_records)
    with _report_sink(args, stdout) as sink:
        DIFF_WRITERS[args.format](sink, args.pretty, args.old, args.new, result)
    return 1 if result.new else 0


# --------------------------------------------------------------------------- serve


def run_serve(args: argparse.Namespace) -> int:
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(f"serve: --tcp expects HOST:PORT, not {args.tcp!r}")
    elif sys.stdin is None or sys.stdout is None:
        raise UsageError(
            "serve: standard input or output is closed; an editor starts the server with both "
            "connected to it (or use --tcp HOST:PORT)"
        )
    from ..lsp.main import serve

    try:
        return serve(tcp=args.tcp, max_message_bytes=args.max_message_bytes)
    except OSError as exc:
        where = f"listen on {args.tcp}" if args.tcp else "talk over standard input and output"
        raise UsageError(f"serve: cannot {where}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- entry point


def _silence_stdout() -> None:
    """Point file descriptor 1 at the null device after a failed write.

    The interpreter flushes ``sys.stdout`` once more on exit; with the reader
    gone or the disk full that flush would fail again and print a traceback
    of its own. Writing what is left into the null device ends quietly.
    """
    stream = sys.stdout
    if stream is None:
        return
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (a test's capture): nothing will flush it later
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except OSError:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = _Console(sys.stderr)
    if args.command is None:
        if sys.stderr is not None:
            parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "check":
            return run_check(args, sys.stdout, sys.stderr, sys.stdin)
        if args.command == "diff":
            return run_diff(args, sys.stdout, sys.stderr, sys.stdin)
        if args.command == "serve":
            return run_serve(args)
    except UsageError as exc:
        console.say(str(exc))
        return 2
    except OutputError as exc:
        if exc.target == "standard output":
            _silence_stdout()
        if exc.broken_pipe:
            return EXIT_BROKEN_PIPE
        console.say(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in kdlens: the traceback is what a report needs
        if console.stream is not None:
            traceback.print_exc(file=console.stream)
        console.say(f"internal error ({type(exc).__name__}: {exc}); please report it")
        return 3
    return 2
