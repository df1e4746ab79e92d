"""kdlens in a second real editor: Neovim's built-in LSP client, headless."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import FIXTURES

NVIM = shutil.which("nvim")
SCRIPT = Path(__file__).with_name("nvim_check.lua")
SEED = FIXTURES / "logs" / "seed-c4-62.log"


@pytest.mark.skipif(NVIM is None, reason="nvim is not installed")
def test_neovim_shows_leaks_and_jumps_to_the_allocating_line(tmp_path: Path) -> None:
    src = tmp_path / "wdmdrivers" / "mydriver"
    src.mkdir(parents=True)
    (src / "handleioctl.c").write_text("".join(f"/* line {i} */\n" for i in range(1, 90)))
    log = tmp_path / "kd.log"
    shutil.copy(SEED, log)
    text = log.read_text(encoding="utf-8").splitlines()
    row = next(i for i, ln in enumerate(text) if "0x9a3bf687  MyDriver" in ln)
    col = text[row].index("0x9a3bf687") + 3
    out = tmp_path / "out.json"
    env = dict(
        os.environ,
        KDLENS_PYTHON=sys.executable,
        KDLENS_LOG=str(log),
        KDLENS_ROOT=str(tmp_path),
        KDLENS_OUT=str(out),
        KDLENS_DEF_LINE=str(row),
        KDLENS_DEF_COL=str(col),
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    assert NVIM is not None
    proc = subprocess.run(
        [NVIM, "--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", f"luafile {SCRIPT}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.exists(), proc.stderr
    result = json.loads(out.read_text())
    assert result.get("error") in (None, ""), result.get("error")
    leaks = sorted(d["lnum"] for d in result["diagnostics"] if d["code"] == "leaked-allocation")
    assert [text[n].strip().split()[0] for n in leaks] == ["0x982a8fe0", "0x8645a000", "0x9a836fd0"]
    assert any(d["code"] == "bug-check" for d in result["diagnostics"])
    target = result["definition"]
    assert target is not None
    assert target["uri"] == (src / "handleioctl.c").resolve().as_uri()
    assert target["range"]["start"]["line"] == 37
