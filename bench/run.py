"""Time kdlens on a large synthetic session log (``make bench``).

Stages, all on the same file:

- floor: ``open(path).read()`` and ``str.splitlines()``, the least any reader of
  the text has to pay; the other stages are compared with it;
- parse: ``kdlens.parse.parse_bytes(data)`` with the file's bytes already in
  memory (reading them is not timed);
- analyze: ``kdlens.analysis.analyze(session)`` on the parsed session, skipped
  with a note while that module cannot be imported.

Each stage runs in a fresh child process so that one stage's garbage does not
weigh on the next. Times are wall-clock (``time.perf_counter``) with the
garbage collector left on; with ``--repeat N`` the best of N runs is kept.

Memory is the growth of the child's peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over the stage: the baseline is
taken after the imports and, for parse, after the bytes were read. Because the
peak never goes down, the analyze figure only shows what analysis adds beyond
the parse peak; the "parse + analyze" row is the one compared with the aim.
Where ``resource`` does not exist (Windows) memory is reported as n/a.

Aims, checked on parse + analyze: 1 s per 50 MB of log, 5x the floor's time,
peak memory under 5x the file size.

The file is written by ``bench/gen.py`` into ``bench/out/`` when it is missing
or older than the generator. Benchmarks are not tests: nothing here fails a
build; the table is for people.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_LOG = HERE / "out" / "session.log"

AIM_SECONDS_PER_50MB = 1.0
AIM_FLOOR_RATIO = 5.0
AIM_MEMORY_RATIO = 5.0


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


def child_floor(path: Path) -> dict[str, Any]:
    gc.collect()
    base = _peak_rss()
    t0 = time.perf_counter()
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        text = f.read()
    lines = text.splitlines()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "memory": _delta(base, _peak_rss()), "lines": len(lines)}


def child_parse(path: Path, with_analysis: bool) -> dict[str, Any]:
    from kdlens.parse import parse_bytes

    analyze: Any = None
    analyze_error = None
    if with_analysis:
        try:  # being written while this benchmark is: tolerate any import failure
            from kdlens.analysis import analyze
        except Exception as exc:
            analyze_error = f"{type(exc).__name__}: {exc}"

    data = path.read_bytes()
    gc.collect()
    base = _peak_rss()
    t0 = time.perf_counter()
    session, _doc = parse_bytes(data)
    parse_seconds = time.perf_counter() - t0
    after_parse = _peak_rss()
    result: dict[str, Any] = {
        "parse": {"seconds": parse_seconds, "memory": _delta(base, after_parse)},
        "counts": _counts(session),
        "analyze_error": analyze_error,
    }
    if analyze is not None:
        try:
            t0 = time.perf_counter()
            analysis = analyze(session)
            seconds = time.perf_counter() - t0
        except Exception as exc:
            result["analyze_error"] = f"analyze() raised {type(exc).__name__}: {exc}"
        else:
            after = _peak_rss()
            result["analyze"] = {"seconds": seconds, "memory": _delta(after_parse, after)}
            result["total_memory"] = _delta(base, after)
            result["counts"]["diagnostics"] = len(getattr(analysis, "diagnostics", []) or [])
    return result


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
        "parser faults": len(session.faults),
    }


# --------------------------------------------------------------------------- parent side


def _run_child(stage: str, path: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", stage, str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"{stage} child failed ({proc.returncode}): {tail[0]}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _best(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    ok = [r for r in runs if key in r]
    return min(ok, key=lambda r: r[key]["seconds"]) if ok else runs[0]


def ensure_log(path: Path, regenerate: bool) -> None:
    gen = HERE / "gen.py"
    stale = path.exists() and path == DEFAULT_LOG and path.stat().st_mtime < gen.stat().st_mtime
    if regenerate or not path.exists() or stale:
        print(f"generating {path} ...", flush=True)
        subprocess.run([sys.executable, str(gen), str(path)], check=True)


def _fmt_mb(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 1e6:.1f}"


def _fmt_ratio(n: int | None, size: int) -> str:
    return "n/a" if n is None else f"{n / size:.2f}"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def report(path: Path, floor: dict[str, Any], parsed: dict[str, Any]) -> list[str]:
    size = path.stat().st_size
    mb = size / 1e6
    out = [f"kdlens benchmark: {path.name}  ({mb:.1f} MB, {floor.get('lines', 0):,} lines)", ""]
    out.append(f"{'stage':<22}{'seconds':>9}{'MB/s':>9}{'x floor':>9}{'peak MB':>10}{'x file':>8}")
    fs = floor["seconds"]
    rows: list[tuple[str, float, int | None]] = [("floor (read+split)", fs, floor["memory"])]
    parse = parsed.get("parse")
    analyze = parsed.get("analyze")
    if parse:
        rows.append(("parse_bytes", parse["seconds"], parse["memory"]))
    if analyze:
        rows.append(("analyze", analyze["seconds"], analyze["memory"]))
    total_s: float | None = None
    total_m: int | None = None
    if parse:
        total_s = parse["seconds"] + (analyze["seconds"] if analyze else 0.0)
        total_m = parsed.get("total_memory", parse["memory"]) if analyze else parse["memory"]
        if analyze:
            rows.append(("parse + analyze", total_s, total_m))
    for name, secs, mem in rows:
        out.append(
            f"{name:<22}{secs:>9.3f}{mb / secs:>9.1f}{secs / fs:>9.2f}"
            f"{_fmt_mb(mem):>10}{_fmt_ratio(mem, size):>8}"
        )
    if parsed.get("analyze_error"):
        out.append(f"  analyze skipped: {parsed['analyze_error']}")
    if parsed.get("error"):
        out.append(f"  {parsed['error']}")
    out.append("")
    what = "parse + analyze" if analyze else "parse only"
    out.append(f"aims ({what}):")
    if total_s is not None:
        per50 = total_s * 50e6 / size
        out.append(
            f"  {'time per 50 MB <= 1 s':<28}{per50:>9.3f} s   {_verdict(per50 <= AIM_SECONDS_PER_50MB)}"
        )
        ratio = total_s / fs
        out.append(
            f"  {'time <= 5x floor':<28}{ratio:>9.2f} x   {_verdict(ratio <= AIM_FLOOR_RATIO)}"
        )
        mem_ratio = None if total_m is None else total_m / size
        shown = "n/a" if mem_ratio is None else f"{mem_ratio:.2f}"
        ok = None if mem_ratio is None else mem_ratio <= AIM_MEMORY_RATIO
        out.append(f"  {'peak memory <= 5x file':<28}{shown:>9} x   {_verdict(ok)}")
    out.append("")
    out.append("times: best wall clock; memory: growth of peak RSS (ru_maxrss) in a fresh process;")
    out.append("parse input bytes are read before timing starts, the floor's read is timed.")
    counts = parsed.get("counts")
    if counts:
        out.append("")
        out.append("parsed: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("log", nargs="?", type=Path, default=DEFAULT_LOG, help="log to measure")
    ap.add_argument("--repeat", type=int, default=1, help="runs per stage; the best is kept")
    ap.add_argument("--regenerate", action="store_true", help="rewrite the synthetic log first")
    ap.add_argument("--no-analyze", action="store_true", help="measure parsing only")
    ap.add_argument("--json", type=Path, help="also write the raw numbers here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        if args.child == "floor":
            res = child_floor(args.log)
        else:
            res = child_parse(args.log, with_analysis=args.child == "parse+analyze")
        print(json.dumps(res))
        return 0

    ensure_log(args.log, args.regenerate)
    repeat = max(1, args.repeat)
    floors = [_run_child("floor", args.log) for _ in range(max(3, repeat))]
    good = [f for f in floors if "seconds" in f]
    if not good:
        print(floors[0].get("error", "floor measurement failed"))
        return 1
    floor = min(good, key=lambda f: f["seconds"])
    stage = "parse" if args.no_analyze else "parse+analyze"
    parsed = _best([_run_child(stage, args.log) for _ in range(repeat)], "parse")
    lines = report(args.log, floor, parsed)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps({"file": str(args.log), "floor": floor, "parse": parsed}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
