"""At most N diagnostics per file, with the rest counted per table and call site."""

from __future__ import annotations

from collections import Counter

from kdlens.analysis import Analysis, Code, Diagnostic, Severity, analyze
from kdlens.features.diagnostic_cap import (
    MAX_SUMMARIES,
    NOT_SHOWN,
    SiteCount,
    cap_diagnostics,
    count_by_call_site,
    cut_source_findings,
    describe_sites,
)
from kdlens.model import Range
from kdlens.parse import parse_text

from lsp_support import POOL_TABLE_SITES, pool_table_log, row_sites

SOURCE = {name: f"{file}:{line}" for name, _caller, file, line in POOL_TABLE_SITES}


def table(rows: int, weights: tuple[int, ...] = (3, 2, 1)) -> Analysis:
    session = parse_text(pool_table_log(rows, weights))
    assert not session.faults, session.faults
    return analyze(session)


def diag(line: int, severity: Severity, code: str = "x") -> Diagnostic:
    return Diagnostic(Range.on_line(line, 0, 4), severity, code, f"finding on {line}")


def expected_sites(rows: int, first_hidden: int) -> dict[str, int]:
    """Counts per site label of rows ``first_hidden``.. of the generated table."""
    names = [POOL_TABLE_SITES[s][0] for s in row_sites(rows, (3, 2, 1))[first_hidden:]]
    return {f"{name} ({SOURCE[name]})": n for name, n in Counter(names).items()}


def summaries(diags: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.code == NOT_SHOWN]


def test_nothing_changes_under_the_limit() -> None:
    a = table(30)
    assert cap_diagnostics(a.diagnostics, 1000, a.leak_records) == a.diagnostics


def test_a_big_table_keeps_errors_then_warnings_and_counts_the_rest_by_call_site() -> None:
    rows, limit = 600, 200
    a = table(rows)
    diags = a.diagnostics
    assert len(diags) == 1 + 2 * rows  # the bug check, then a leak and a "no history" per row
    got = cap_diagnostics(diags, limit, a.leak_records)
    assert len(got) == limit
    kept = [d for d in got if d.code != NOT_SHOWN]
    # errors first, then warnings; information only if room were left
    assert [d.code for d in kept].count(Code.BUG_CHECK) == 1
    assert all(d.severity <= Severity.WARNING for d in kept)
    leaked_kept = [d for d in kept if d.code == Code.LEAKED_ALLOCATION]
    assert len(leaked_kept) == limit - 1 - 2
    # in log order, the first rows of the table
    assert leaked_kept == [d for d in diags if d.code == Code.LEAKED_ALLOCATION][: len(leaked_kept)]

    leaked, history = summaries(got)
    header = a.leaks[0].table.header_range
    assert leaked.range == history.range == header
    hidden_leaks = rows - len(leaked_kept)
    assert leaked.severity is Severity.WARNING and history.severity is Severity.INFORMATION
    assert leaked.message.startswith(
        f"{hidden_leaks} more leaked allocations not shown (kdlens.maxDiagnostics = {limit}): "
    )
    assert leaked.data["notShown"] == hidden_leaks
    sites = {s["site"]: s["count"] for s in leaked.data["callSites"]}
    assert sites == expected_sites(rows, len(leaked_kept))
    top = max(sites, key=lambda k: sites[k])
    assert f"{sites[top]:,} from {top}" in leaked.message
    assert top == "MyDriver!AllocBuffer (queue.c:41)"
    assert history.data["notShown"] == rows
    assert history.message.startswith(f"{rows} more leaks without allocation history not shown")


def test_counts_have_thousands_separators_and_the_setting_does_not() -> None:
    a = table(4_000)
    leaked = summaries(cap_diagnostics(a.diagnostics, 2000, a.leak_records))[0]
    sites = sorted(expected_sites(4_000, 1_997).items(), key=lambda kv: -kv[1])
    assert sites[0][1] > 1000
    assert leaked.message == (
        "2,003 more leaked allocations not shown (kdlens.maxDiagnostics = 2000): "
        + ", ".join(f"{n:,} from {label}" for label, n in sites)
    )


def test_a_tiny_limit_still_says_what_is_missing() -> None:
    a = table(20)
    got = cap_diagnostics(a.diagnostics, 1, a.leak_records)
    assert len(got) == 1
    (only,) = got
    assert only.code == NOT_SHOWN
    assert only.data["notShown"] == len(a.diagnostics)


def test_diagnostics_without_records_are_grouped_by_code() -> None:
    diags = [diag(i, Severity.HINT, "hint-a") for i in range(10)]
    diags += [diag(100 + i, Severity.ERROR, "err") for i in range(3)]
    diags += [diag(200 + i, Severity.WARNING, "warn-b") for i in range(10)]
    got = cap_diagnostics(diags, 10, ())
    assert len(got) == 10
    kept = [d for d in got if d.code != NOT_SHOWN]
    assert [d.code for d in kept] == ["err"] * 3 + ["warn-b"] * 5
    # kept ones stay in their order
    assert [d.range.start.line for d in kept] == [100, 101, 102, 200, 201, 202, 203, 204]
    by_code = {d.data["code"]: d for d in summaries(got)}
    assert by_code["warn-b"].data["notShown"] == 5
    assert by_code["warn-b"].range == diags[13].range  # the first finding of that kind
    assert by_code["hint-a"].data["notShown"] == 10
    assert by_code["hint-a"].severity is Severity.HINT
    assert by_code["hint-a"].message.startswith("10 more 'hint-a' findings not shown")


def test_too_many_groups_share_the_last_summary() -> None:
    diags = [diag(i, Severity.WARNING, f"code-{i}") for i in range(200)]
    limit = 60
    got = cap_diagnostics(diags, limit, ())
    assert len(got) == limit
    sums = summaries(got)
    assert len(sums) == MAX_SUMMARIES
    kept = limit - MAX_SUMMARIES
    assert sum(d.data["notShown"] for d in sums) == 200 - kept
    last = sums[-1]
    others = 200 - kept - (MAX_SUMMARIES - 1)
    assert last.message.startswith(f"{others} more diagnostics of {others} other tables or kinds")


def test_call_sites_are_counted_most_first() -> None:
    a = table(60, (1, 4, 1))
    sites = count_by_call_site(a.leak_records)
    assert sites == [
        SiteCount("MyDriver!QueueWorkItem (queue.c:118)", 40),
        SiteCount("MyDriver!AllocBuffer (queue.c:41)", 10),
        SiteCount("MyDriver!CreateContext (context.c:27)", 10),
    ]
    assert describe_sites(sites, named=2) == (
        "40 from MyDriver!QueueWorkItem (queue.c:118), 10 from MyDriver!AllocBuffer "
        "(queue.c:41), 10 from 1 other call site"
    )


def test_source_files_keep_their_first_findings_and_count_the_rest_by_line() -> None:
    lines = [40, 117, 40, 40, 26, 117, 40, 117]
    assert cut_source_findings(lines, 8).kept == 8
    cut = cut_source_findings(lines, 4)
    assert cut.kept == 3
    assert cut.hidden_by_line == ((40, 2), (117, 2), (26, 1))
    assert cut.hidden == 5
    assert cut.message(4) == (
        "5 more leaks allocated in this file not shown (kdlens.maxDiagnostics = 4): "
        "2 on line 41, 2 on line 118, 1 on line 27"
    )
