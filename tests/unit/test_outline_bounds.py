"""The outline and folds of big logs stay small and readable (features/outline_bounds.py)."""

from __future__ import annotations

from collections.abc import Sequence

from kdlens.analysis import analyze
from kdlens.features.outline import Fold, NodeKind, OutlineNode, folds, outline
from kdlens.features.outline_bounds import (
    MAX_CHILDREN,
    MAX_NODES,
    OutlineLimits,
    bound_folds,
    bound_outline,
    count_nodes,
)
from kdlens.model import Range
from kdlens.parse import parse_text

from lsp_support import pool_table_log, prompt_only_log


def command(line: int, name: str = "", last: int | None = None, kids: int = 0) -> OutlineNode:
    """A command node on ``line`` whose output runs to ``last``, with ``kids`` row children."""
    end = line if last is None else last
    rows = tuple(
        OutlineNode(
            f"row {k}",
            NodeKind.ROW,
            Range.on_line(line + 1 + k, 0, 5),
            Range.on_line(line + 1 + k, 0, 4),
        )
        for k in range(kids)
    )
    if kids:
        end = max(end, line + kids)
    return OutlineNode(
        name or f"cmd{line}",
        NodeKind.COMMAND,
        Range.lines(line, end, 5),
        Range.on_line(line, 0, 3),
        children=rows,
    )


def valid(nodes: Sequence[OutlineNode], parent: Range | None = None) -> None:
    """What the protocol requires: names, selection inside range, children inside parents."""
    for n in nodes:
        assert n.name
        assert n.range.covers(n.selection), n
        if parent is not None:
            assert parent.covers(n.range), (n, parent)
        valid(n.children, n.range)


def test_half_a_million_prompts_without_output_are_one_node() -> None:
    nodes = [command(i) for i in range(500_000)]
    got = bound_outline(nodes)
    assert [n.name for n in got] == ["500,000 commands without output"]
    group = got[0]
    assert group.range == Range.lines(0, 499_999, 5)
    assert len(group.children) == MAX_CHILDREN + 1
    assert group.children[0] is nodes[0]
    assert group.children[-1].name == f"... {500_000 - MAX_CHILDREN:,} more"
    assert count_nodes(got) == 1 + MAX_CHILDREN + 1
    valid(got)


def test_a_real_prompt_only_log_is_bounded() -> None:
    text = prompt_only_log(20_000)
    a = analyze(parse_text(text))
    raw = outline(a, text.split("\n"))
    assert len(raw) == 20_000
    got = bound_outline(raw)
    assert count_nodes(got) <= MAX_NODES
    assert got[0].name == "20,000 commands without output"
    valid(got)


def test_short_runs_and_commands_with_findings_stay_as_they_are() -> None:
    nodes = [command(0), command(1), command(2, "lm", kids=2), command(5), command(6)]
    assert bound_outline(nodes) == nodes


def test_a_repeated_command_with_output_but_nothing_found_is_one_node() -> None:
    nodes = [command(0, "!analyze -v", kids=3)]
    nodes += [command(10 + 3 * k, "g", last=11 + 3 * k) for k in range(5)]
    nodes += [command(40, "k")]
    got = bound_outline(nodes)
    assert [n.name for n in got] == ["!analyze -v", "g × 5", "k"]
    assert got[1].children == tuple(nodes[1:6])
    assert got[1].detail == "lines 11-24"
    valid(got)


def test_children_are_capped_with_a_more_node_covering_the_rest() -> None:
    table = command(0, "!verifier 3 MyDriver.sys", kids=1000)
    got = bound_outline([table], OutlineLimits(max_children=50))
    kids = got[0].children
    assert len(kids) == 51
    assert kids[:50] == table.children[:50]
    more = kids[-1]
    assert more.name == "... 950 more"
    assert more.kind is NodeKind.ROW
    assert more.range == Range(table.children[50].range.start, table.children[-1].range.end)
    valid(got)


def test_the_whole_answer_is_capped_level_by_level() -> None:
    nodes = [command(1000 * k, kids=20) for k in range(30)]
    limits = OutlineLimits(max_children=100, max_nodes=100)
    got = bound_outline(nodes, limits)
    assert count_nodes(got) == 100
    # every command keeps its place before any row is shown
    assert [n.name for n in got] == [n.name for n in nodes]
    assert [len(n.children) for n in got[:3]] == [20, 20, 20]
    fourth = got[3].children
    assert len(fourth) == 100 - 30 - 60
    assert fourth[-1].name == f"... {20 - len(fourth) + 1} more"
    assert all(not n.children for n in got[4:])
    valid(got)


def test_a_top_level_longer_than_the_cap_ends_in_a_more_node() -> None:
    nodes = [command(2 * k, f"r{k}", last=2 * k + 1) for k in range(1000)]
    got = bound_outline(nodes, OutlineLimits(max_children=10, max_nodes=500))
    assert [n.name for n in got[:10]] == [f"r{k}" for k in range(10)]
    assert got[-1].name == "... 990 more" and len(got) == 11


def test_a_big_pool_table_outline_is_bounded() -> None:
    text = pool_table_log(3_000)
    a = analyze(parse_text(text))
    raw = outline(a, text.split("\n"))
    assert count_nodes(raw) > 3_000
    got = bound_outline(raw)
    assert count_nodes(got) <= MAX_NODES
    valid(got)
    verifier = next(n for n in got if n.name.startswith("!verifier 3"))
    table = verifier.children[0].children[0].children[0]
    assert table.kind is NodeKind.TABLE
    assert len(table.children) == MAX_CHILDREN + 1
    assert table.children[-1].name == f"... {3_000 - MAX_CHILDREN:,} more"


def test_folds_keep_command_regions_then_the_largest_blocks() -> None:
    regions = [Fold(100 * k, 100 * k + 90, True) for k in range(3)]
    blocks = [Fold(100 * k + 1, 100 * k + 1 + k + 2) for k in range(3)]
    all_folds = sorted(regions + blocks, key=lambda f: (f.start, -f.end))
    assert bound_folds(all_folds, 10) == all_folds
    assert bound_folds(all_folds, 4) == [regions[0], regions[1], regions[2], blocks[2]]
    assert bound_folds(all_folds, 5) == [
        regions[0],
        regions[1],
        blocks[1],
        regions[2],
        blocks[2],
    ]


def test_folds_of_a_big_log_are_bounded() -> None:
    text = "".join(f"kd> r{k}\nline one\nline two\n" for k in range(6_000))
    a = analyze(parse_text(text))
    raw = folds(a, text.split("\n"))
    assert len(raw) == 6_000
    got = bound_folds(raw)
    assert len(got) == 5_000
    assert got == sorted(got, key=lambda f: (f.start, -f.end))
