"""The long fuzz run (``make fuzz``): sessions from consecutive seeds until the time is up.

Environment:

- ``FUZZ_SECONDS``: how long to run (default 600);
- ``FUZZ_SEED``: the first seed (default 1000); seed N always makes the same session;
- ``FUZZ_STEPS``: steps per session (default 150);
- ``FUZZ_BIG``: 1 (default) lets sessions open the very large documents
  (a 200,000-row pool table), 0 keeps them small;
- ``FUZZ_KNOWN_SLOW``: 1 also sends the requests known to be slow in the
  feature code (inlay hints up to line 2**31-1); default 0.

New failures are written to ``tests/fuzz/corpus/`` (the replay test in
``test_fuzz.py`` runs them); failures that match a known feature-code problem
are listed but not recorded again. Exit status 1 when a new failure was found.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.generate import SessionGenerator
from fuzz.harness import known_issue, record, run_session


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def main() -> int:
    seconds = _env_int("FUZZ_SECONDS", 600)
    seed = _env_int("FUZZ_SEED", 1000)
    steps_per = _env_int("FUZZ_STEPS", 150)
    big = _env_int("FUZZ_BIG", 1) != 0
    known_slow = _env_int("FUZZ_KNOWN_SLOW", 0) != 0
    deadline = time.monotonic() + seconds
    print(
        f"fuzz: seeds from {seed}, {steps_per} steps each, for {seconds} s"
        f" (big documents {'on' if big else 'off'}, known-slow requests {'on' if known_slow else 'off'})",
        flush=True,
    )
    sessions = requests = 0
    new: list[str] = []
    known: list[str] = []
    peak = 0
    while time.monotonic() < deadline:
        steps = SessionGenerator(seed, big=big, known_slow=known_slow).session(steps_per)
        report = run_session(steps)
        sessions += 1
        requests += report.requests
        peak = max(peak, report.peak_rss)
        if report.finding is not None:
            label = known_issue(steps, report.finding)
            if label:
                known.append(f"seed {seed}: {label}: {report.finding.reason}")
                print(f"seed {seed}: known ({label}): {report.finding.reason}", flush=True)
                print(f"  {report.finding.detail}", flush=True)
            else:
                path = record(steps, report.finding, seed)
                new.append(f"seed {seed}: {report.finding.reason} -> {path.name}")
                print(f"seed {seed}: FAILED\n{report.finding}\n  recorded as {path}", flush=True)
        else:
            print(
                f"seed {seed}: ok ({report.requests} requests, {report.seconds:.1f} s,"
                f" peak {report.peak_rss / 2**20:.0f} MiB)",
                flush=True,
            )
        seed += 1
    print(
        f"fuzz: {sessions} sessions, {requests} requests, peak resident memory {peak / 2**20:.0f} MiB;"
        f" {len(new)} new failure(s), {len(known)} known"
    )
    for line in new:
        print("  new:", line)
    return 1 if new else 0


if __name__ == "__main__":
    raise SystemExit(main())
