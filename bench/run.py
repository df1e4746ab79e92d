"""Time kdlens on large synthetic logs (``make bench``; ``make bench BIG=1`` adds a 360 MB log).

Stages, each in a fresh child process and all on the same file:

- floor: ``open(path).read()`` and ``str.splitlines()``, the least any reader of
  the text has to pay; every other stage is shown as a multiple of it;
- parse: ``kdlens.parse.parse_bytes(data)`` with the file's bytes already in
  memory (reading them is not timed);
- analyze: ``kdlens.analysis.analyze(session)`` on the parsed session (the
  same child, right after parsing);
- parse + analyze: the sum of both, the figure the aims are about;
- whole process (``--cli``, on by default for the session log): ``kdlens check
  --format json`` as a user runs it, against a Python process that only reads
  and splits the file, both timed from outside (start-up and imports included).

The machine this runs on may be shared: every stage runs ``--repeat`` times,
interleaved with the floor, and the table shows medians; "x floor" divides a
stage's median by the floor's median of the same run. Both wall-clock and CPU
time (``time.process_time``, less sensitive to other people's load) are kept;
the ratios use wall-clock time unless ``--cpu`` is given.

The cyclic garbage collector is paused during parse and analyze, as
``kdlens.pipeline`` (the code path of ``kdlens check`` and the language
server) pauses it.

Memory is the growth of the child's peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over the stage: the baseline is
taken after the imports and, for parse, after the bytes were read. The peak
never goes down, so the analyze row only shows what analysis adds beyond the
parse peak. Where ``resource`` does not exist (Windows) memory is n/a.

``--profile`` adds, per log, the functions with the most cumulative time under
``cProfile`` (parse and analyze of one run; the profiler slows everything down,
so those times are only comparable with each other).

Aims, checked on parse + analyze: 5x the floor's time, peak memory under 4x
the file size.

The logs are written by ``bench/gen.py`` into ``bench/out/`` when missing or
older than the generator. Benchmarks are not tests: nothing here fails a
build; the table is for people.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVER = HERE.parent / "server"
OUT = HERE / "out"
DEFAULT_LOG = OUT / "session.log"
#: The optional big logs: file name and size in MB of the driver prints.
BIG_LOGS = {"big": ("noise-360mb.log", 360), "huge": ("noise-1gb.log", 1000)}

AIM_FLOOR_RATIO = 5.0
AIM_MEMORY_RATIO = 4.0
PROFILE_TOP = 25


# --------------------------------------------------------------------------- child side


def _peak_rss() -> int | None:
    """Peak resident set size of this process in bytes, or None when unknown."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _delta(before: int | None, after: int | None) -> int | None:
    return None if before is None or after is None else after - before


def _timed(fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    w0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    return value, {"seconds": time.perf_counter() - w0, "cpu": time.process_time() - c0}


def child_floor(path: Path) -> dict[str, Any]:
    gc.collect()
    base = _peak_rss()

    def read_split() -> int:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            text = f.read()
        return len(text.splitlines())

    lines, times = _timed(read_split)
    return {**times, "memory": _delta(base, _peak_rss()), "lines": lines}


def child_parse(path: Path, with_analysis: bool) -> dict[str, Any]:
    from kdlens.parse import parse_bytes

    analyze: Any = None
    if with_analysis:
        from kdlens.analysis import analyze

    data = path.read_bytes()
    gc.collect()
    gc.disable()  # as kdlens.pipeline does around parse, analysis and indexing
    base = _peak_rss()
    (session, _doc), parse_times = _timed(lambda: parse_bytes(data))
    after_parse = _peak_rss()
    result: dict[str, Any] = {
        "parse": {**parse_times, "memory": _delta(base, after_parse)},
        "counts": _counts(session),
    }
    if analyze is not None:
        analysis, times = _timed(lambda: analyze(session))
        after = _peak_rss()
        result["analyze"] = {**times, "memory": _delta(after_parse, after)}
        result["total_memory"] = _delta(base, after)
        result["counts"]["diagnostics"] = len(analysis.diagnostics)
        result["counts"]["faults"] = len(session.faults)
    gc.enable()
    return result


def child_profile(path: Path) -> dict[str, Any]:
    """cProfile over parse + analyze: the top functions by cumulative time, as text."""
    import cProfile
    import io
    import pstats

    from kdlens.analysis import analyze
    from kdlens.parse import parse_bytes

    data = path.read_bytes()
    gc.disable()
    profiler = cProfile.Profile()
    profiler.enable()
    session, _doc = parse_bytes(data)
    analyze(session)
    profiler.disable()
    buf = io.StringIO()
    stats = pstats.Stats(profiler, stream=buf)
    stats.strip_dirs().sort_stats("cumulative").print_stats(PROFILE_TOP)
    return {"profile": buf.getvalue()}


def _counts(session: Any) -> dict[str, int]:
    rows = sum(len(d.allocations.rows) for d in session.drivers if d.allocations is not None)
    return {
        "commands": len(session.commands),
        "bugchecks": len(session.bugchecks),
        "allocation rows": rows,
        "pool-log records": len(session.pool_log),
        "ln results": len(session.ln_results),
        "stacks": len(session.stacks),
        "modules": len(session.modules),
    }


# --------------------------------------------------------------------------- parent side


def _env() -> dict[str, str]:
    """The children import this checkout's kdlens, whatever is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SERVER), env.get("PYTHONPATH")) if p)
    return env


def _run_child(stage: str, path: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", stage, str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=_env())
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"{stage} child failed ({proc.returncode}): {tail[0]}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _run_process(cmd: list[str]) -> dict[str, Any]:
    """Wall-clock and CPU time (user + system of the child) of a whole process."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, env=_env()
    )
    seconds = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if proc.returncode not in (0, 1, 2):  # 1/2: findings at --fail-on; not a failure here
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return {"error": f"{cmd[2:4]} exited {proc.returncode}: {tail[0]}"}
    return {"seconds": seconds, "cpu": cpu}


def _floor_process(path: Path) -> list[str]:
    code = (
        "import sys\n"
        "with open(sys.argv[1], encoding='utf-8', errors='replace', newline='') as f:\n"
        "    len(f.read().splitlines())\n"
    )
    return [sys.executable, "-c", code, str(path)]


def _cli_process(path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kdlens",
        "check",
        "--format",
        "json",
        "--fail-on",
        "never",
        str(path),
    ]


def ensure_log(path: Path, regenerate: bool, noise_mb: int | None = None) -> None:
    gen = HERE / "gen.py"
    stale = path.exists() and path.parent == OUT and path.stat().st_mtime < gen.stat().st_mtime
    if regenerate or not path.exists() or stale:
        print(f"generating {path} ...", flush=True)
        extra = [] if noise_mb is None else ["--noise-mb", str(noise_mb)]
        subprocess.run([sys.executable, str(gen), str(path), *extra], check=True)


def _median(runs: list[dict[str, Any]], *keys: str) -> float | None:
    values: list[float] = []
    for r in runs:
        v: Any = r
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            values.append(float(v))
    return statistics.median(values) if values else None


def _fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def measure(path: Path, repeat: int, analyze: bool, cli: bool) -> dict[str, Any]:
    """Interleaved runs of every stage; the raw runs are kept for ``--json``."""
    floors: list[dict[str, Any]] = []
    parses: list[dict[str, Any]] = []
    procs: dict[str, list[dict[str, Any]]] = {"floor": [], "cli": []}
    stage = "parse+analyze" if analyze else "parse"
    for _ in range(repeat):
        floors.append(_run_child("floor", path))
        parses.append(_run_child(stage, path))
        if cli:
            procs["floor"].append(_run_process(_floor_process(path)))
            procs["cli"].append(_run_process(_cli_process(path)))
    return {"floor": floors, "parse": parses, "process": procs if cli else None}


def report(path: Path, runs: dict[str, Any], use_cpu: bool) -> list[str]:
    size = path.stat().st_size
    mb = size / 1e6
    key = "cpu" if use_cpu else "seconds"
    floors, parses = runs["floor"], runs["parse"]
    lines = next((f["lines"] for f in floors if "lines" in f), 0)
    n = len(floors)
    out = [f"{path.name}: {mb:.1f} MB, {lines:,} lines; medians of {n} run(s), ratios on {key}"]
    out.append(
        f"  {'stage':<24}{'wall s':>8}{'cpu s':>8}{'MB/s':>8}{'x floor':>9}{'peak MB':>9}{'x file':>8}"
    )
    floor = _median(floors, key)
    rows: list[tuple[str, float | None, float | None, float | None]] = [
        ("floor (read+split)", _median(floors, "seconds"), _median(floors, "cpu"),
         _median(floors, "memory")),
    ]  # fmt: skip
    parse_s = _median(parses, "parse", "seconds")
    parse_c = _median(parses, "parse", "cpu")
    rows.append(("parse_bytes", parse_s, parse_c, _median(parses, "parse", "memory")))
    totals_s = [r["parse"]["seconds"] + r["analyze"]["seconds"] for r in parses if "analyze" in r]
    if totals_s:
        totals_c = [r["parse"]["cpu"] + r["analyze"]["cpu"] for r in parses if "analyze" in r]
        rows.append(
            (
                "analyze",
                _median(parses, "analyze", "seconds"),
                _median(parses, "analyze", "cpu"),
                _median(parses, "analyze", "memory"),
            )
        )
        rows.append(
            (
                "parse + analyze",
                statistics.median(totals_s),
                statistics.median(totals_c),
                _median(parses, "total_memory"),
            )
        )
    for name, wall, cpu, mem in rows:
        base = cpu if use_cpu else wall
        ratio = None if base is None or not floor else base / floor
        rate = None if not wall else mb / wall
        out.append(
            f"  {name:<24}{_fmt(wall, '.3f'):>8}{_fmt(cpu, '.3f'):>8}{_fmt(rate, '.1f'):>8}"
            f"{_fmt(ratio, '.2f'):>9}{_fmt(None if mem is None else mem / 1e6, '.1f'):>9}"
            f"{_fmt(None if mem is None else mem / size, '.2f'):>8}"
        )
    procs = runs.get("process")
    if procs:
        pf_wall = _median(procs["floor"], "seconds")
        pf = _median(procs["floor"], key)
        for name, runs_ in (("process: read+split", procs["floor"]), ("process: kdlens check", procs["cli"])):  # fmt: skip
            wall = _median(runs_, "seconds")
            cpu = _median(runs_, "cpu")
            base = cpu if use_cpu else wall
            ratio = None if base is None or not pf else base / pf
            rate = None if not wall else mb / wall
            out.append(
                f"  {name:<24}{_fmt(wall, '.3f'):>8}{_fmt(cpu, '.3f'):>8}{_fmt(rate, '.1f'):>8}"
                f"{_fmt(ratio, '.2f'):>9}{'':>9}{'':>8}"
            )
        errors = [r["error"] for r in procs["cli"] if "error" in r]
        if errors:
            out.append(f"  {errors[0]}")
        if pf_wall is None:
            out.append("  the whole-process floor failed")
    errors = [r["error"] for r in floors + parses if "error" in r]
    if errors:
        out.append(f"  {errors[0]}")
    if totals_s and floor:
        total = statistics.median(
            [r["parse"][key] + r["analyze"][key] for r in parses if "analyze" in r]
        )
        mem = _median(parses, "total_memory")
        ratio = total / floor
        verdict = "met" if ratio <= AIM_FLOOR_RATIO else "NOT met"
        line = (
            f"  aims (parse + analyze): time {ratio:.2f}x floor (<= {AIM_FLOOR_RATIO:g}x {verdict})"
        )
        if mem is not None:
            m_ratio = mem / size
            m_verdict = "met" if m_ratio <= AIM_MEMORY_RATIO else "NOT met"
            line += f", peak {m_ratio:.2f}x file (<= {AIM_MEMORY_RATIO:g}x {m_verdict})"
        out.append(line)
    counts = next((r["counts"] for r in parses if "counts" in r), None)
    if counts:
        out.append("  parsed: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("log", nargs="*", type=Path, help="logs to measure (default: the session)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per stage; medians are shown")
    ap.add_argument("--big", action="store_true", help="add the 360 MB driver-print log")
    ap.add_argument("--huge", action="store_true", help="add the 1 GB driver-print log")
    ap.add_argument("--regenerate", action="store_true", help="rewrite the synthetic logs first")
    ap.add_argument("--no-analyze", action="store_true", help="measure parsing only")
    ap.add_argument(
        "--cli",
        choices=("session", "all", "none"),
        default="session",
        help="time whole `kdlens check` processes on: the session log (default), every log, none",
    )
    ap.add_argument("--cpu", action="store_true", help="ratios on CPU time instead of wall clock")
    ap.add_argument("--profile", action="store_true", help="add a cProfile summary per log")
    ap.add_argument("--json", type=Path, help="also write the raw numbers here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        path = args.log[0]
        if args.child == "floor":
            res = child_floor(path)
        elif args.child == "profile":
            res = child_profile(path)
        else:
            res = child_parse(path, with_analysis=args.child == "parse+analyze")
        print(json.dumps(res))
        return 0

    logs: list[Path] = list(args.log)
    if not logs:
        ensure_log(DEFAULT_LOG, args.regenerate)
        logs.append(DEFAULT_LOG)
    for flag, (name, size_mb) in BIG_LOGS.items():
        if getattr(args, flag):
            ensure_log(OUT / name, args.regenerate, size_mb)
            logs.append(OUT / name)
    repeat = max(1, args.repeat)
    everything: dict[str, Any] = {}
    print("kdlens benchmark (times in seconds; memory is peak RSS growth)\n", flush=True)
    for path in logs:
        cli = args.cli == "all" or (args.cli == "session" and path.resolve() == DEFAULT_LOG)
        runs = measure(path, repeat, not args.no_analyze, cli)
        if args.profile:
            runs["profile"] = _run_child("profile", path)
        everything[str(path)] = runs
        print("\n".join(report(path, runs, args.cpu)), flush=True)
        if args.profile:
            text = runs["profile"].get("profile") or runs["profile"].get("error", "")
            print(f"\n  cProfile, parse + analyze of {path.name}, top {PROFILE_TOP} by cumulative:")
            print("\n".join("    " + line for line in text.strip().splitlines()))
        print(flush=True)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
