"""``kdlens check`` and ``serve`` on hostile inputs and broken outputs, run as real processes.

Each case once ended in a hang, unbounded memory or a traceback with exit
status 1 (which means "findings" to a CI script). Now each is one line on
stderr and exit status 2, or, for a reader that went away (``| head``), a
quiet exit with status 141. The timeouts are hang detectors, not speed
checks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest

from helpers import REPO

EXAMPLE = REPO / "examples" / "mydriver-leak" / "kd-session.log"
#: Long enough to notice a hang, short enough not to stall the suite.
HANG = 60

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX files and shells")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    server = str(REPO / "server")
    env["PYTHONPATH"] = server + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def kdlens(
    *args: str,
    stdin: int | IO[Any] = subprocess.DEVNULL,
    stdout: int | IO[Any] = subprocess.PIPE,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kdlens", *args],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=HANG,
        env={**_env(), **(env or {})},
        check=False,
    )


def shell(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` run by ``sh`` with ``$0`` = this Python (for redirections like ``<&-``)."""
    return subprocess.run(
        ["sh", "-c", script, sys.executable, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=HANG,
        env=_env(),
        check=False,
    )


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kdlens: "), err
    assert "Traceback" not in err
    return lines[0]


def pool_table_log(rows: int) -> str:
    """Bug check 0xC4/0x62 and a ``!verifier 3`` report with ``rows`` leaked blocks."""
    head = [
        "*** Fatal System Error: 0x000000c4",
        f"                       (0x00000062,0x9E1B2D64,0x9E17A6E8,0x{rows:08X})",
        "",
        "kd> !verifier 3 BigLeak.sys",
        "",
        "Driver Verification List",
        "------------------------",
        "",
        "  MODULE: 0x9d0f3b20 BigLeak.sys (Loaded)",
        "",
        "    Pool Allocations:",
        "",
        "      Address     Length      Tag   Caller    ",
        "      ----------  ----------  ----  ----------",
    ]
    body = [
        f"      0x{0xA4000000 + 0x40 * i:08x}  0x00000040  BgLk  0x{0xA1C31000 + (i % 97) * 16:08x}"
        f"  BigLeak!Worker{i % 97}+0x{(i % 97) * 16:x}"
        for i in range(rows)
    ]
    return "\n".join([*head, *body, "", "kd> "]) + "\n"


# --------------------------------------------------------------------------- inputs


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)
    done = kdlens("check", str(fifo))
    assert done.returncode == 2
    line = one_line_error(done.stderr)
    assert "FIFO" in line and "not a regular file" in line


def test_dev_zero_is_refused_as_a_device() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    done = kdlens("check", "/dev/zero")
    assert done.returncode == 2
    assert "device" in one_line_error(done.stderr)


def test_directory_is_refused(tmp_path: Path) -> None:
    done = kdlens("check", str(tmp_path))
    assert done.returncode == 2
    assert "directory" in one_line_error(done.stderr)


def test_standard_input_stops_at_the_cap() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with open("/dev/zero", "rb") as zero:
        done = kdlens("check", "--max-stdin-bytes", "1MiB", "-", stdin=zero)
    assert done.returncode == 2
    line = one_line_error(done.stderr)
    assert "larger than 1 MiB" in line and "--max-stdin-bytes" in line


def test_standard_input_under_the_cap_is_checked() -> None:
    with EXAMPLE.open("rb") as f:
        done = kdlens("check", "--max-stdin-bytes", "1MiB", stdin=f)
    assert done.returncode == 1  # the example has findings
    assert "[leaked-allocation]" in done.stdout


def test_bad_stdin_cap_is_a_usage_error() -> None:
    done = kdlens("check", "--max-stdin-bytes", "lots", str(EXAMPLE))
    assert done.returncode == 2
    assert "not a size" in done.stderr


def test_symlink_loop_is_one_line(tmp_path: Path) -> None:
    loop = tmp_path / "loop.log"
    loop.symlink_to(loop.name)
    done = kdlens("check", str(loop))
    assert done.returncode == 2
    assert "symbolic links" in one_line_error(done.stderr)


def test_a_symlink_the_user_names_is_followed(tmp_path: Path) -> None:
    link = tmp_path / "latest.log"
    link.symlink_to(EXAMPLE)
    done = kdlens("check", "--fail-on", "never", str(link))
    assert done.returncode == 0, done.stderr
    assert "[leaked-allocation]" in done.stdout


def test_stdin_closed_is_one_line() -> None:
    done = shell('exec "$0" -m kdlens check <&-')
    assert done.returncode == 2
    assert "standard input is closed" in one_line_error(done.stderr)


def test_missing_workspace_is_an_error() -> None:
    done = kdlens("check", str(EXAMPLE), "--workspace", str(REPO / "no-such-folder"))
    assert done.returncode == 2
    assert "--workspace" in one_line_error(done.stderr)


# --------------------------------------------------------------------------- outputs


def test_stdout_closed_is_one_line() -> None:
    done = shell('exec "$0" -m kdlens check "$1" >&-', str(EXAMPLE))
    assert done.returncode == 2
    assert "standard output is closed" in one_line_error(done.stderr)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_stdout_to_a_full_device_is_one_line(fmt: str) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        done = kdlens("check", "--format", fmt, str(EXAMPLE), stdout=full)
    assert done.returncode == 2
    assert "No space left" in one_line_error(done.stderr)


def test_output_file_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    done = kdlens("check", str(EXAMPLE), "-o", str(tmp_path / "missing" / "out.txt"))
    assert done.returncode == 2
    assert "cannot write" in one_line_error(done.stderr)


def test_characters_the_terminal_cannot_print_are_escaped() -> None:
    """An ASCII-only standard output still gets the whole report (the summary has a '·')."""
    done = kdlens("check", str(EXAMPLE), env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 1, done.stderr
    assert "3 leaks: 3 pool blocks \\xb7 2 call sites" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("kdlens: 1 file checked")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_reader_going_away_ends_quietly(tmp_path: Path, fmt: str) -> None:
    """``kdlens check big.log | head -1``: status 141, nothing on stderr."""
    log = tmp_path / "big.log"
    log.write_text(pool_table_log(4000), encoding="utf-8")  # far more output than a pipe holds
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdlens", "check", "--format", fmt, str(log)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(4096)  # compact JSON is one long line: read bytes, not a line
    assert len(first) == 4096
    proc.stdout.close()
    try:
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=HANG)
    finally:
        proc.kill()
        proc.stderr.close()
    assert code == 141
    assert err == ""


# --------------------------------------------------------------------------- serve


def test_serve_with_stdin_closed_is_one_line() -> None:
    done = shell('exec "$0" -m kdlens serve <&-')
    assert done.returncode == 2
    assert "closed" in one_line_error(done.stderr)


def test_serve_on_a_port_in_use_is_one_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = kdlens("serve", "--tcp", f"127.0.0.1:{port}")
    assert done.returncode == 2
    assert f"127.0.0.1:{port}" in one_line_error(done.stderr)


def test_serve_with_a_malformed_address_is_a_usage_error() -> None:
    done = kdlens("serve", "--tcp", "nowhere")
    assert done.returncode == 2
    assert "HOST:PORT" in one_line_error(done.stderr)
