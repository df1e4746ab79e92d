"""Render the example's two session logs from kd-session.template and the built driver.

Every MyDriver address in the logs is computed from the binaries in
../symbols, so the session agrees with the PDB byte for byte: a caller
address is the return address of the real call instruction, an offset is
measured from the real function start, a source line is the PDB's line.

- ``kd-session.log``: the debugger had MyDriver's private symbols
  (``[file @ line]`` in stacks, ``ln`` on every caller);
- ``kd-session-nosymbols.log``: the same crash recorded without them:
  ``MyDriver+0x12a9`` frames, callers as bare addresses, no ``ln``. kdlens
  finds the source lines through the symbol store (``--symbol-path``).

Template syntax: a line starting with ``@full `` or ``@bare `` belongs to one
log only; ``{base}``/``{end}`` are the module's bounds; ``{fn:F}`` is F's
address; ``{ret:F>G}`` the return address of F's call to G; ``{sym:F>G}`` the
frame symbol there; ``{src:F>G}``/``{entry:F}`` a ``[file @ line]``
annotation; ``{file:..}``, ``{line:..}``, ``{lnoff:..}``, ``{fullsym:..}``,
``{nextaddr:F}``, ``{nextname:F}`` what ``ln`` prints.

Run from the repository root: ``.venv/bin/python examples/mydriver-leak/rebuild/make_logs.py``.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pefile  # type: ignore[import-untyped]

from kdlens.symbols.pdb import PdbFile

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent
#: Where MyDriver sits in the session (the same as in the debugger's lm output).
BASE = 0xA1C30000
_FIELD = re.compile(r"\{(base|end|[a-z]+:[^{}]+)\}")


def _one(pattern: str) -> Path:
    found = sorted(EXAMPLE.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"expected one {pattern}, found {len(found)}: run build.sh")
    return found[0]


class Driver:
    """The built MyDriver: its functions, calls and line table."""

    def __init__(self) -> None:
        self.pdb = PdbFile.open(_one("symbols/MyDriver.pdb/*/MyDriver.pdb"))
        self.pe = pefile.PE(str(_one("symbols/MyDriver.sys/*/MyDriver.sys")))
        self.size = self.pe.OPTIONAL_HEADER.SizeOfImage
        self.functions = sorted((f.rva, f.name) for f in self.pdb.functions())
        self.start = {name: rva for rva, name in reversed(self.functions)}
        self._calls: dict[tuple[str, str], list[int]] | None = None

    def calls(self) -> dict[tuple[str, str], list[int]]:
        """(caller, callee) -> return RVAs of the direct and import calls."""
        if self._calls is not None:
            return self._calls
        image_base = self.pe.OPTIONAL_HEADER.ImageBase
        slots = {
            imp.address - image_base: imp.name.decode()
            for entry in self.pe.DIRECTORY_ENTRY_IMPORT
            for imp in entry.imports
        }
        names = {rva: name for rva, name in self.functions}
        text = next(s for s in self.pe.sections if s.Name.rstrip(b"\0") == b".text")
        code = text.get_data()
        out: dict[tuple[str, str], list[int]] = {}
        for i in range(len(code) - 6):
            rva = text.VirtualAddress + i
            if code[i] == 0xE8:
                callee = names.get(rva + 5 + struct.unpack_from("<i", code, i + 1)[0])
                size = 5
            elif code[i] == 0xFF and code[i + 1] == 0x15:
                callee = slots.get(struct.unpack_from("<I", code, i + 2)[0] - image_base)
                size = 6
            else:
                continue
            here, back = self.pdb.lookup(rva), self.pdb.lookup(rva + size - 1)
            if callee is None or here is None or back is None:
                continue
            if here.function_rva == back.function_rva:
                out.setdefault((back.function, callee), []).append(rva + size)
        self._calls = out
        return out

    def ret(self, key: str) -> int:
        caller, callee = key.split(">")
        hits = self.calls().get((caller, callee), [])
        if len(hits) != 1:
            raise SystemExit(f"{len(hits)} calls from {caller} to {callee}")
        return hits[0]

    def line_at(self, rva: int) -> tuple[str, int]:
        loc = self.pdb.lookup(rva)
        if loc is None or loc.file is None or loc.line is None:
            raise SystemExit(f"no source line at 0x{rva:x}")
        return loc.file, loc.line

    def line_start(self, rva: int) -> int:
        """The first byte of the line row that holds ``rva`` (what ``ln`` counts from)."""
        here = self.line_at(rva)
        start = rva
        while self.pdb.lookup(start - 1) is not None and self.line_at(start - 1) == here:
            start -= 1
        return start

    def next_function(self, name: str) -> tuple[int, str]:
        i = [n for _, n in self.functions].index(name)
        rva, following = self.functions[i + 1]
        return rva, _printed(following)


def _printed(name: str) -> str:
    """A function name as the debugger prints it (SEH filter funclets undecorated)."""
    m = re.fullmatch(r"\?filt\$(\d+)@0@(\w+)@@", name)
    return f"`{m.group(2)}'::`1'::filt${m.group(1)}" if m else name


def render(driver: Driver, full: bool) -> str:
    def field(m: re.Match[str]) -> str:
        kind, _, arg = m.group(1).partition(":")
        if kind == "base":
            return f"{BASE:08x}"
        if kind == "end":
            return f"{BASE + driver.size:08x}"
        if kind == "fn":
            return f"{BASE + driver.start[arg]:08x}"
        if kind == "nextaddr":
            return f"{BASE + driver.next_function(arg)[0]:08x}"
        if kind == "nextname":
            return driver.next_function(arg)[1]
        if kind == "entry":
            file, line = driver.line_at(driver.start[arg])
            return f" [{file} @ {line}]" if full else ""
        ret = driver.ret(arg)
        caller = arg.split(">")[0]
        offset = ret - driver.start[caller]
        file, line = driver.line_at(ret - 1)
        if kind == "ret":
            return f"{BASE + ret:08x}"
        if kind == "sym":
            return f"MyDriver!{caller}+0x{offset:x}" if full else f"MyDriver+0x{ret:x}"
        if kind == "fullsym":
            return f"MyDriver!{caller}+0x{offset:x}"
        if kind == "src":
            return f" [{file} @ {line}]" if full else ""
        if kind == "file":
            return driver.line_at(ret)[0]
        if kind == "line":
            return str(driver.line_at(ret)[1])
        if kind == "lnoff":
            return f"{ret - driver.line_start(ret):x}"
        raise SystemExit(f"unknown template field {m.group(0)}")

    keep, drop = ("@full ", "@bare ") if full else ("@bare ", "@full ")
    out = []
    for line in (HERE / "kd-session.template").read_text(encoding="utf-8").split("\n"):
        if line.startswith(drop):
            continue
        out.append(_FIELD.sub(field, line.removeprefix(keep)))
    return "\n".join(out)


def main() -> int:
    driver = Driver()
    for name, full in (("kd-session.log", True), ("kd-session-nosymbols.log", False)):
        (EXAMPLE / name).write_text(render(driver, full), encoding="utf-8", newline="\n")
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
