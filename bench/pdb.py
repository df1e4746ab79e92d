"""Time the pure-Python PDB reader on a large generated driver (``make bench``).

A script writes the C sources of a driver with ``--functions`` functions
(30,000 by default, spread over ``--files`` source files, each with small
``static inline`` helpers that leave inline sites at -O2, a few imports from
ntoskrnl.exe and calls between the functions). Debian's ``clang-14``
compiles them for x64 with CodeView debug information and ``lld-link-14``
links ``bench.sys`` and ``bench.pdb`` (about 29 MB at the default size)
into ``bench/out/pdb/``. The build is kept and redone only when the sizes or
this script change; it takes a few minutes of CPU the first time. Without
clang-14, lld-link-14 and llvm-dlltool-14 the benchmark says so and stops
(``apt-get install clang-14 lld-14 llvm-14``).

What is measured, each in a fresh process unless said otherwise:

- kdlens, uncached: ``PdbFile.open`` and the first ``lookup`` (the first
  answer), then ``--lookups`` random code addresses one by one (the cold
  pass includes loading each module the first time one of its addresses is
  asked for), then the same addresses again (warm);
- the kdlens symbols cache (``kdlens.symbols.cache``, when present): building
  a table (reads every module for the function list, then writes it to a
  private cache folder), and a cached reopen in a new process: the table
  back from disk, then the first line lookup, which opens the PDB itself;
- Sentry's ``symbolic`` (when installed): ``Archive.open`` plus
  ``make_symcache`` (it converts the whole PDB up front), then the same lookups;
- ``llvm-symbolizer-14``: one long-lived process reading addresses on its
  standard input; its first answer includes starting it, and each lookup is
  one round trip through the pipe, as a tool using it would pay.

The last column says on how many addresses the function (outermost frame)
agrees with kdlens. Aims: lookups faster than llvm-symbolizer's; the first
answer from an uncached 28 MB PDB under 1 s; a cached reopen under 50 ms.
Times are wall clock (``time.perf_counter``); the machine's other load shows
in them. Benchmarks are not tests: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "pdb"
SYS_NAME = "bench.sys"
PDB_NAME = "bench.pdb"
TOOLS = ("clang-14", "lld-link-14", "llvm-dlltool-14")
SYMBOLIZER = "llvm-symbolizer-14"
IMAGE_BASE = 0x140000000

LINK_FLAGS = (
    "/nologo",
    "/debug",
    "/driver",
    "/subsystem:native",
    "/entry:DriverEntry",
    "/nodefaultlib",
    "/machine:x64",
)

AIM_FIRST_ANSWER_S = 1.0
AIM_REOPEN_S = 0.050
AIM_PDB_BYTES = 28 * 1024 * 1024

# --------------------------------------------------------------------------- generating


def _helpers(f: int, rnd: random.Random) -> list[str]:
    out = []
    for k in range(6):
        out.append(
            f"static inline ULONG Mix{f}_{k}(ULONG a, ULONG b)\n{{\n"
            f"    ULONG t = a * {rnd.randrange(3, 99999) | 1}u + b;\n"
            f"    t ^= t >> {rnd.randrange(3, 17)};\n"
            f"    return t + {k}u;\n}}"
        )
    out.append(
        f"static inline ULONG Walk{f}(REQ *r, ULONG seed)\n{{\n"
        "    ULONG acc = seed;\n"
        "    while (r) {\n"
        f"        acc = Mix{f}_0(acc, r->Tag);\n"
        "        r = r->Next;\n"
        "    }\n"
        "    return acc;\n}"
    )
    return out


def _function(f: int, i: int, rnd: random.Random) -> str:
    a, b = rnd.randrange(6), rnd.randrange(6)
    body = [
        f"__declspec(noinline) NTSTATUS Bench{f}_{i}(REQ *r, ULONG n)\n{{",
        f"    ULONG acc = Mix{f}_{a}(r->Tag, n);",
        f"    for (ULONG i = 0; i < (n & {rnd.randrange(3, 15)}); i++) {{",
        f"        acc = Mix{f}_{b}(acc, r->Buffer[i]);",
        "    }",
    ]
    if i:
        callee = rnd.randrange(i)
        body.append(f"    if (acc & {1 << rnd.randrange(5)})")
        body.append(f"        acc += (ULONG)Bench{f}_{callee}(r->Next, acc);")
    if rnd.random() < 0.3:
        body.append(f"    acc ^= Walk{f}(r->Next, acc);")
    if rnd.random() < 0.1:
        body.append(f'    DbgPrint("bench {f}.{i} %lu\\n", acc);')
    body.append(f"    return (NTSTATUS)(acc - {rnd.randrange(1000)}u);\n}}")
    return "\n".join(body)


HEADER = """\
typedef unsigned long ULONG;
typedef long NTSTATUS;
typedef unsigned long long ULONG64;
typedef struct _REQ {
    ULONG Tag;
    ULONG Length;
    unsigned char *Buffer;
    struct _REQ *Next;
    ULONG64 Stamp;
} REQ;
__declspec(dllimport) void *__stdcall ExAllocatePoolWithTag(int, ULONG64, ULONG);
__declspec(dllimport) void __stdcall ExFreePoolWithTag(void *, ULONG);
__declspec(dllimport) ULONG DbgPrint(const char *, ...);
"""

DRIVER_ENTRY = """\
NTSTATUS __stdcall DriverEntry(void *driver, void *path)
{
    REQ *r = ExAllocatePoolWithTag(0, sizeof(REQ), 'hcnB');
    NTSTATUS status = Bench0_0(r, 3);
    ExFreePoolWithTag(r, 'hcnB');
    return status;
}
"""


def generate(folder: Path, functions: int, files: int, seed: int) -> list[Path]:
    """Write the sources; return the C files."""
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.h").write_text(HEADER)
    (folder / "ntoskrnl.def").write_text(
        "LIBRARY ntoskrnl.exe\nEXPORTS\nExAllocatePoolWithTag\nExFreePoolWithTag\nDbgPrint\n"
    )
    sources = []
    per_file = [functions // files + (1 if f < functions % files else 0) for f in range(files)]
    for f, count in enumerate(per_file):
        parts = ['#include "bench.h"', *_helpers(f, rnd)]
        parts += [_function(f, i, rnd) for i in range(count)]
        if f == 0:
            parts.append(DRIVER_ENTRY)
        path = folder / f"part{f:02d}.c"
        path.write_text("\n\n".join(parts) + "\n")
        sources.append(path)
    return sources


def _compile(source: Path) -> Path:
    obj = source.with_suffix(".obj")
    cmd = [
        "clang-14",
        "--target=x86_64-pc-windows-msvc",
        "-O2",
        "-g",
        "-gcodeview",
        "-ffreestanding",
        "-fms-extensions",
        "-c",
        str(source),
        "-o",
        str(obj),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return obj


def _digest() -> str:
    """A hash of everything that shapes the build, so that editing the report does not
    rebuild."""
    parts = [inspect.getsource(fn) for fn in (_helpers, _function, generate, _compile)]
    parts += [HEADER, DRIVER_ENTRY, " ".join(LINK_FLAGS)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def ensure_build(functions: int, files: int, seed: int) -> Path | None:
    """The PDB, built when missing or stale; None when the toolchain is absent."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print(f"PDB benchmark skipped: {', '.join(missing)} not found")
        print("(Debian: apt-get install clang-14 lld-14 llvm-14)")
        return None
    wanted = {"functions": functions, "files": files, "seed": seed, "generator": _digest()}
    stamp = OUT / "build.json"
    pdb = OUT / PDB_NAME
    try:
        if pdb.is_file() and json.loads(stamp.read_text()) == wanted:
            return pdb
    except (OSError, ValueError):
        pass
    shutil.rmtree(OUT, ignore_errors=True)
    sources = generate(OUT, functions, files, seed)
    print(f"building a {functions:,}-function driver in {OUT.relative_to(HERE.parent)} ...")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        objs = list(pool.map(_compile, sources))
    lib = OUT / "ntoskrnl.lib"
    subprocess.run(
        ["llvm-dlltool-14", "-m", "i386:x86-64", "-d", str(OUT / "ntoskrnl.def"), "-l", str(lib)],
        check=True,
        capture_output=True,
    )
    link = [
        "lld-link-14",
        *LINK_FLAGS,
        f"/out:{OUT / SYS_NAME}",
        f"/pdb:{pdb}",
        *map(str, objs),
        str(lib),
    ]
    subprocess.run(link, check=True, capture_output=True)
    for obj in objs:
        obj.unlink()
    stamp.write_text(json.dumps(wanted))
    print(f"built in {time.perf_counter() - t0:.0f} s")
    return pdb


# --------------------------------------------------------------------------- children


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    n = len(ordered)
    return {"p50": ordered[n // 2], "p99": ordered[min(n - 1, int(n * 0.99))], "max": ordered[-1]}


def _timed_lookups(lookup: Any, addresses: list[int]) -> tuple[list[float], list[str | None]]:
    times: list[float] = []
    names: list[str | None] = []
    clock = time.perf_counter
    for rva in addresses:
        t0 = clock()
        found = lookup(rva)
        times.append(clock() - t0)
        names.append(found)
    return times, names


def child_kdlens(pdb_path: Path, addresses: list[int]) -> dict[str, Any]:
    from kdlens.symbols.pdb import PdbFile

    t0 = time.perf_counter()
    pdb = PdbFile.open(pdb_path)
    opened = time.perf_counter() - t0
    first = pdb.lookup(addresses[0])
    first_s = time.perf_counter() - t0

    def outer(rva: int) -> str | None:
        loc = pdb.lookup(rva)
        return None if loc is None else loc.function

    cold, names = _timed_lookups(outer, addresses)
    warm, _ = _timed_lookups(outer, addresses)
    return {
        "open": opened,
        "first": first_s,
        "first_function": first.function if first else None,
        "cold": _percentiles(cold),
        "warm": _percentiles(warm),
        "names": names,
    }


def child_cache(pdb_path: Path, address: int, folder: Path) -> dict[str, Any]:
    try:
        from kdlens.symbols.cache import DiskCache, TableCache
    except ImportError as exc:
        return {"error": f"no cache module ({exc})"}
    cache = TableCache(DiskCache(folder))
    t0 = time.perf_counter()
    table = cache.get(pdb_path, time.monotonic() + 600)
    ready = time.perf_counter() - t0
    loc = table.lookup(address)
    total = time.perf_counter() - t0
    return {
        "ready": ready,
        "first_lookup": total - ready,
        "from_cache": bool(getattr(table, "from_cache", False)),
        "functions": len(table.data.functions),
        "found": loc is not None,
    }


def _bare(name: str) -> str:
    return name.split("(", 1)[0]


def child_symbolic(pdb_path: Path, addresses: list[int]) -> dict[str, Any]:
    try:
        from symbolic.debuginfo import Archive
    except ImportError as exc:
        return {"error": f"symbolic is not installed ({exc})"}
    t0 = time.perf_counter()
    (obj,) = list(Archive.open(str(pdb_path)).iter_objects())
    symcache = obj.make_symcache()
    load = time.perf_counter() - t0
    symcache.lookup(addresses[0])  # type: ignore[no-untyped-call]
    first = time.perf_counter() - t0

    def outer(rva: int) -> str | None:
        frames = symcache.lookup(rva)  # type: ignore[no-untyped-call]
        return _bare(frames[-1].symbol) if frames else None

    times, names = _timed_lookups(outer, addresses)
    return {"load": load, "first": first, "lookups": _percentiles(times), "names": names}


def run_symbolizer(sys_path: Path, addresses: list[int]) -> dict[str, Any]:
    """llvm-symbolizer as a long-lived process: one address per line, one answer each."""
    exe = shutil.which(SYMBOLIZER)
    if exe is None:
        return {"error": f"{SYMBOLIZER} not found"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [exe, f"--obj={sys_path}", "--relative-address", "--inlining"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def ask(rva: int) -> str | None:
        stdin.write(f"0x{rva:x}\n")
        stdin.flush()
        lines = []
        while True:
            line = stdout.readline()
            if not line or line == "\n":
                break
            lines.append(line.rstrip("\n"))
        # Pairs of (function, file:line:column), innermost first: the outer function is last.
        names = lines[0::2]
        return _bare(names[-1]) if names and names[-1] != "??" else None

    try:
        ask(addresses[0])
        first = time.perf_counter() - t0
        times, names = _timed_lookups(ask, addresses)
    finally:
        stdin.close()
        proc.wait(timeout=30)
    return {"first": first, "lookups": _percentiles(times), "names": names}


def _run_child(stage: str, pdb_path: Path, addresses: list[int], extra: str = "") -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", stage, str(pdb_path)]
    payload = json.dumps({"addresses": addresses, "extra": extra})
    proc = subprocess.run(cmd, input=payload, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"{stage} failed ({proc.returncode}): {tail[0]}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _child_main(stage: str, pdb_path: Path) -> int:
    payload = json.loads(sys.stdin.read())
    addresses: list[int] = payload["addresses"]
    if stage == "kdlens":
        result = child_kdlens(pdb_path, addresses)
    elif stage == "cache":
        result = child_cache(pdb_path, addresses[0], Path(payload["extra"]))
    elif stage == "symbolic":
        result = child_symbolic(pdb_path, addresses)
    else:
        raise SystemExit(f"unknown stage {stage}")
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- parent


def sample_addresses(pdb_path: Path, count: int, seed: int) -> tuple[list[int], int, float]:
    """Random code addresses inside functions, the number of functions, and the
    time ``functions()`` took (a full index of the PDB, in this process)."""
    from kdlens.symbols.pdb import PdbFile

    with PdbFile.open(pdb_path) as pdb:
        t0 = time.perf_counter()
        functions = [f for f in pdb.functions() if f.length > 0]
        index_s = time.perf_counter() - t0
    rnd = random.Random(seed)
    weights = [f.length for f in functions]
    picked = rnd.choices(functions, weights=weights, k=count)
    return [f.rva + rnd.randrange(f.length) for f in picked], len(functions), index_s


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def _agree(names: list[str | None] | None, ours: list[str | None]) -> str:
    if not names:
        return "-"
    same = sum(a == b for a, b in zip(names, ours, strict=True))
    return f"{same}/{len(ours)}"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--functions", type=int, default=30_000, help="functions in the driver")
    ap.add_argument("--files", type=int, default=10, help="C source files (modules)")
    ap.add_argument("--lookups", type=int, default=3_000, help="random addresses to look up")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("pdb", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child_main(args.child, args.pdb)

    pdb_path = ensure_build(args.functions, max(1, args.files), args.seed)
    if pdb_path is None:
        return 0
    size = pdb_path.stat().st_size
    addresses, nfunc, index_s = sample_addresses(pdb_path, args.lookups, args.seed)

    ours = _run_child("kdlens", pdb_path, addresses)
    if "error" in ours:
        print(ours["error"])
        return 1
    cache_dir = OUT / "cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    built = _run_child("cache", pdb_path, addresses, str(cache_dir))
    reopened = (
        _run_child("cache", pdb_path, addresses, str(cache_dir)) if "error" not in built else built
    )
    theirs = _run_child("symbolic", pdb_path, addresses)
    llvm = run_symbolizer(OUT / SYS_NAME, addresses)

    names: list[str | None] = ours["names"]
    head = f"{'':<28}{'load/open':>12}{'first answer':>14}{'lookup p50':>12}{'lookup p99':>12}{'max':>10}{'same fn':>11}"
    rows = [
        f"PDB {pdb_path.name}: {size / 2**20:.1f} MB, {nfunc:,} functions, {args.files} modules; "
        f"{len(addresses):,} random code addresses",
        "",
        head,
        f"{'kdlens, cold modules':<28}{_ms(ours['open']):>12}{_ms(ours['first']):>14}"
        f"{_ms(ours['cold']['p50']):>12}{_ms(ours['cold']['p99']):>12}"
        f"{_ms(ours['cold']['max']):>10}{'-':>11}",
        f"{'kdlens, warm':<28}{'-':>12}{'-':>14}"
        f"{_ms(ours['warm']['p50']):>12}{_ms(ours['warm']['p99']):>12}"
        f"{_ms(ours['warm']['max']):>10}{'-':>11}",
        f"{'kdlens functions() (index)':<28}{_ms(index_s):>12}",
    ]
    if "error" in built:
        rows.append(f"{'kdlens cache':<28}  {built['error']}")
    else:
        rows.append(
            f"{'kdlens cache, build+write':<28}{_ms(built['ready']):>12}"
            f"{_ms(built['ready'] + built['first_lookup']):>14}"
        )
        note = "" if reopened.get("from_cache") else "  (not served from disk!)"
        rows.append(
            f"{'kdlens cache, reopen':<28}{_ms(reopened['ready']):>12}"
            f"{_ms(reopened['ready'] + reopened['first_lookup']):>14}{note}"
        )
    if "error" in theirs:
        rows.append(f"{'symbolic':<28}  {theirs['error']}")
    else:
        rows.append(
            f"{'symbolic (symcache)':<28}{_ms(theirs['load']):>12}{_ms(theirs['first']):>14}"
            f"{_ms(theirs['lookups']['p50']):>12}{_ms(theirs['lookups']['p99']):>12}"
            f"{_ms(theirs['lookups']['max']):>10}"
            f"{_agree(theirs['names'], names):>11}"
        )
    if "error" in llvm:
        rows.append(f"{SYMBOLIZER:<28}  {llvm['error']}")
    else:
        rows.append(
            f"{SYMBOLIZER + ' (pipe)':<28}{'-':>12}{_ms(llvm['first']):>14}"
            f"{_ms(llvm['lookups']['p50']):>12}{_ms(llvm['lookups']['p99']):>12}"
            f"{_ms(llvm['lookups']['max']):>10}"
            f"{_agree(llvm['names'], names):>11}"
        )

    rows.append("")
    rows.append("aims:")
    llvm_p50 = None if "error" in llvm else llvm["lookups"]["p50"]
    faster = None if llvm_p50 is None else ours["cold"]["p50"] < llvm_p50
    rows.append(
        f"  lookups faster than llvm-symbolizer's (p50 {_ms(ours['cold']['p50'])} vs "
        f"{_ms(llvm_p50)}): {_verdict(faster)}"
    )
    big = size >= AIM_PDB_BYTES
    rows.append(
        f"  first answer from an uncached {size / 2**20:.0f} MB PDB under 1 s "
        f"({_ms(ours['first'])}): {_verdict(ours['first'] < AIM_FIRST_ANSWER_S)}"
        + ("" if big else "  (PDB smaller than 28 MB: raise --functions)")
    )
    if "error" in reopened or not reopened.get("from_cache"):
        rows.append("  cached reopen under 50 ms: n/a")
    else:
        rows.append(
            f"  cached reopen under 50 ms ({_ms(reopened['ready'])}; the first line lookup "
            f"after it opens the PDB: +{_ms(reopened['first_lookup'])}): "
            f"{_verdict(reopened['ready'] < AIM_REOPEN_S)}"
        )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
