"""Keep an outline and its folds readable, and small, whatever the size of the log.

A legal log can hold 500,000 prompts without output, a Pool Allocations table
of 200,000 rows or a ``!verifier 0x80`` dump of 65,536 records. Shown as they
are, such outlines are answers of a hundred megabytes that no one can scroll.
This module shapes the result of ``outline()`` after the fact, knowing
nothing of how its nodes were made (so new node kinds need nothing here):

- a run of consecutive commands without output, or of one command repeated
  without anything found in its output, becomes one node ("412 commands
  without output") holding them;
- a node shows at most ``max_children`` children, then one "... N more" node
  covering the rest;
- the whole answer holds at most ``max_nodes`` nodes, given out level by
  level so that the commands of the whole log stay visible before the rows
  inside the first one.

Folds are cut the same way: at most ``max_folds``, the command regions and
the largest blocks first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..model import Range
from .outline import Fold, NodeKind, OutlineNode

#: Children one node shows before a "... N more" node.
MAX_CHILDREN = 200
#: Nodes in the whole answer (the "more" and group nodes included).
MAX_NODES = 5000
#: Folding ranges in one answer.
MAX_FOLDS = 5000
#: Shortest run of like commands that is folded into one node.
MIN_RUN = 3


@dataclass(frozen=True, slots=True)
class OutlineLimits:
    max_children: int = MAX_CHILDREN
    max_nodes: int = MAX_NODES
    min_run: int = MIN_RUN


def count_nodes(nodes: Sequence[OutlineNode]) -> int:
    """Every node of the forest, children included."""
    total = 0
    stack = list(nodes)
    while stack:
        node = stack.pop()
        total += 1
        stack.extend(node.children)
    return total


def bound_outline(
    nodes: Sequence[OutlineNode], limits: OutlineLimits = OutlineLimits()
) -> list[OutlineNode]:
    """``nodes`` with runs grouped, children capped and at most ``limits.max_nodes`` nodes."""
    grouped = _group_runs(nodes, limits.min_run)
    return _cap(grouped, limits.max_children, max(limits.max_nodes, 1))


# --------------------------------------------------------------------------- runs


def _plain_command(node: OutlineNode) -> bool:
    return node.kind is NodeKind.COMMAND and not node.children


def _without_output(node: OutlineNode) -> bool:
    return _plain_command(node) and node.range.start.line == node.range.end.line


def _lines(nodes: Sequence[OutlineNode]) -> str:
    first = nodes[0].range.start.line + 1
    last = nodes[-1].range.end.line + 1
    return f"lines {first:,}-{last:,}"


def _join(nodes: Sequence[OutlineNode]) -> Range:
    return Range(min(n.range.start for n in nodes), max(n.range.end for n in nodes))


def _run_node(run: list[OutlineNode], empty: bool) -> OutlineNode:
    name = f"{len(run):,} commands without output" if empty else f"{run[0].name} × {len(run):,}"
    return OutlineNode(
        name=name,
        kind=NodeKind.COMMAND,
        range=_join(run),
        selection=run[0].selection,
        detail=_lines(run),
        children=tuple(run),
    )


def _group_runs(nodes: Sequence[OutlineNode], min_run: int) -> list[OutlineNode]:
    """Fold runs of like commands (at every level) into one node each."""
    out: list[OutlineNode] = []
    i = 0
    while i < len(nodes):
        node = nodes[i]
        j = i + 1
        empty = _without_output(node)
        if empty:
            while j < len(nodes) and _without_output(nodes[j]):
                j += 1
        elif _plain_command(node):
            while j < len(nodes) and _plain_command(nodes[j]) and nodes[j].name == node.name:
                j += 1
        if j - i >= max(min_run, 2):
            out.append(_run_node(list(nodes[i:j]), empty))
            i = j
            continue
        if node.children:
            node = _with_children(node, _group_runs(node.children, min_run))
        out.append(node)
        i += 1
    return out


# --------------------------------------------------------------------------- caps


def _with_children(node: OutlineNode, children: Sequence[OutlineNode]) -> OutlineNode:
    return OutlineNode(
        node.name, node.kind, node.range, node.selection, node.detail, tuple(children)
    )


def _more(hidden: Sequence[OutlineNode]) -> OutlineNode:
    """One node standing for ``hidden`` (inside their parent, as the protocol wants)."""
    rng = _join(hidden)
    return OutlineNode(
        name=f"... {len(hidden):,} more",
        kind=hidden[0].kind,
        range=rng,
        selection=Range(rng.start, rng.start),
        detail=_lines(hidden),
    )


def _keep(nodes: Sequence[OutlineNode], room: int) -> list[OutlineNode]:
    """The first nodes that fit in ``room`` slots, the last slot saying how many are left."""
    if len(nodes) <= room:
        return list(nodes)
    if room <= 0:
        return []
    return [*nodes[: room - 1], _more(nodes[room - 1 :])]


def _cap(nodes: Sequence[OutlineNode], max_children: int, max_nodes: int) -> list[OutlineNode]:
    """Hand out ``max_nodes`` slots breadth first: every level before the one below it.

    Each list of children gets at most ``max_children`` slots plus one for its
    "more" node, and never more than the slots left.
    """
    per_list = max(max_children, 0) + 1
    allowed: dict[int, int] = {}  # id(node) -> how many slots its children get
    budget = max_nodes
    top = _keep(nodes, min(per_list, budget))
    budget -= len(top)
    level = top
    while level and budget > 0:
        below: list[OutlineNode] = []
        for node in level:
            if not node.children:
                continue
            kept = _keep(node.children, min(per_list, budget))
            allowed[id(node)] = len(kept)
            budget -= len(kept)
            below.extend(kept)
        level = below
    return [_rebuild(n, allowed) for n in top]


def _rebuild(node: OutlineNode, allowed: dict[int, int]) -> OutlineNode:
    if not node.children:
        return node
    n = allowed.get(id(node), 0)
    kids = _keep(node.children, n)
    return _with_children(node, [_rebuild(k, allowed) for k in kids])


# --------------------------------------------------------------------------- folds


def bound_folds(folds: Sequence[Fold], max_folds: int = MAX_FOLDS) -> list[Fold]:
    """At most ``max_folds`` folds: command regions first, then the blocks hiding most lines.

    A subset of folds that never cross still never cross; the result keeps
    the order of ``folds()`` (by start line, outer before inner).
    """
    if len(folds) <= max_folds:
        return list(folds)
    ranked = sorted(
        range(len(folds)), key=lambda i: (not folds[i].region, folds[i].start - folds[i].end)
    )
    return [folds[i] for i in sorted(ranked[: max(max_folds, 0)])]
