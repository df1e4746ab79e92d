"""Hover text on the seed 0xC4/0x62 log and on small snippets.

Knowledge prose may be reworded at any time, so the tests compare with the
knowledge tables where they quote them and assert log facts exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import pytest

from kdlens import knowledge
from kdlens.analysis import Analysis, analyze
from kdlens.features import tag_literals as tag_literals_module
from kdlens.features.hover import HoverResult, hover
from kdlens.features.hover import pool as hover_pool
from kdlens.features.navigation import definition
from kdlens.index import TokenIndex, build_index
from kdlens.model import Position, Range
from kdlens.parse import parse_text
from kdlens.pipeline import build_snapshot, make_mapper
from kdlens.settings import Settings
from kdlens.sources import SourceMapper
from kdlens.text import Document

from helpers import FIXTURES, log

SEED = FIXTURES / "logs" / "seed-c4-62.log"
C4_URL = "https://learn.microsoft.com/windows-hardware/drivers/debugger/bug-check-0xc4"
#: 1-based line of the stand-in source that writes the ``mdrv`` tag.
TAG_LINE = 38


@dataclass
class Log:
    lines: list[str]
    analysis: Analysis
    index: TokenIndex
    mapper: SourceMapper

    def pos(self, needle: str, offset: int = 1, nth: int = 0, after: str | None = None) -> Position:
        """Where ``needle`` starts (plus ``offset``), in the first line after ``after``."""
        start = 0
        if after is not None:
            start = next(i for i, line in enumerate(self.lines) if after in line)
        seen = 0
        for i in range(start, len(self.lines)):
            col = self.lines[i].find(needle)
            if col >= 0:
                if seen == nth:
                    return Position(i, col + offset)
                seen += 1
        raise AssertionError(f"{needle!r} is not in the log")

    def at(self, pos: Position) -> HoverResult | None:
        return hover(self.analysis, self.index, self.lines, self.mapper, pos)

    def md(self, needle: str, offset: int = 1, **kw: object) -> str:
        res = self.at(self.pos(needle, offset, **kw))  # type: ignore[arg-type]
        assert res is not None, needle
        return res.markdown

    def text(self, r: Range) -> str:
        assert r.start.line == r.end.line
        return self.lines[r.start.line][r.start.character : r.end.character]


def make_log(text: str, roots: Sequence[Path] = ()) -> Log:
    session = parse_text(text)
    assert not session.faults, session.faults
    a = analyze(session)
    return Log(text.splitlines(), a, build_index(a), SourceMapper.create(list(roots)))


def write_workspace(root: Path) -> Path:
    src = root / "wdmdrivers" / "mydriver" / "handleioctl.c"
    src.parent.mkdir(parents=True)
    body = [f"/* line {i} */" for i in range(1, TAG_LINE)]
    body.append("    buffer = ExAllocatePoolWithTag(NonPagedPool, size, 'vrdm');")
    body.extend(f"/* line {i} */" for i in range(TAG_LINE + 1, 80))
    src.write_text("\n".join(body) + "\n", encoding="utf-8")
    return src


@pytest.fixture(autouse=True)
def _fresh_tag_cache() -> Iterator[None]:
    hover_pool.clear_tag_cache()
    yield
    hover_pool.clear_tag_cache()


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Log:
    root = tmp_path_factory.mktemp("ws")
    write_workspace(root)
    return make_log(SEED.read_text(encoding="utf-8"), [root])


# --------------------------------------------------------------------------- bug check arguments


def test_arg1_explains_the_c4_subcode_on_label_value_and_description(seed: Log) -> None:
    sub = knowledge.c4_subcode(0x62)
    assert sub is not None and sub.option_name
    label = seed.at(seed.pos("Arg1:"))
    assert label is not None
    md = label.markdown
    assert md.splitlines()[0] == "**Arg1 of bug check 0xC4 = 0x62**"
    assert sub.meaning in md
    assert f"**{sub.option_name}**" in md and "`/flags 0x8`" in md
    assert md.rstrip().endswith(")") and md.splitlines()[-1].startswith(f"[Documentation]({C4_URL}")
    assert seed.text(label.range) == "Arg1"
    value = seed.at(seed.pos("00000062", after="Arg1:"))
    desc = seed.at(seed.pos("driver unloaded while", 5))
    assert value is not None and desc is not None
    assert seed.text(value.range) == "00000062"
    assert value.markdown == md == desc.markdown


def test_arg4_counts_the_allocations_and_checks_the_table(seed: Log) -> None:
    md = seed.md("Arg4:")
    assert md.splitlines()[0] == "**Arg4 of bug check 0xC4/0x62 = 0x3**"
    assert "**3 allocations**" in md
    assert "`MyDriver.sys`: 3 rows, which agrees with Arg4" in md


def test_arg4_says_when_the_table_disagrees() -> None:
    text = SEED.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if "0x9a836fd0  0x00000030" in line)
    short = make_log(text.replace(row + "\n", ""))
    md = short.md("Arg4:")
    assert "`MyDriver.sys`: 2 rows, which does **not** agree with Arg4 (3)" in md


def test_arg2_points_at_the_driver_name(seed: Log) -> None:
    md = seed.md("Arg2:")
    assert md.splitlines()[0] == "**Arg2 of bug check 0xC4/0x62 = 0x9707712c**"
    assert "pointer to the driver's name" in md and "`MyDriver.sys`" in md


def test_arguments_of_another_bug_check() -> None:
    lg = make_log(
        log("""
            kd> !analyze -v
            IRQL_NOT_LESS_OR_EQUAL (a)
            An attempt was made to access a pageable address at a raised IRQL.
            Arguments:
            Arg1: 00000000000000a8, memory referenced
            Arg2: 0000000000000002, IRQL
            Arg3: 0000000000000000, bitfield
            Arg4: fffff8054c8a1b2c, address which referenced memory
            """)
    )
    irql = lg.md("Arg2:")
    assert irql.splitlines()[0] == "**Arg2 of bug check 0xA = 0x2**"
    assert "IRQL 2 (DISPATCH_LEVEL)" in irql
    assert "not a valid pointer" in lg.md("Arg1:")
    assert "a kernel-mode address" in lg.md("Arg4:")
    name = lg.md("IRQL_NOT_LESS")
    info = knowledge.bugcheck(0xA)
    assert info is not None and info.summary
    assert name.splitlines()[0] == "**Bug check 0xA: IRQL_NOT_LESS_OR_EQUAL**"
    assert info.summary in name


# --------------------------------------------------------------------------- bug check codes and names


def test_code_and_name_tokens(seed: Log) -> None:
    code = seed.at(seed.pos("(c4)"))
    assert code is not None and seed.text(code.range) == "c4"
    first = code.markdown.splitlines()[0]
    assert first == "**Bug check 0xC4: DRIVER_VERIFIER_DETECTED_VIOLATION**"
    assert "- Arg1 0x62: " in code.markdown
    assert "3 leaked blocks listed, 4,184 bytes = 4.1 KiB in all" in code.markdown
    assert code.markdown.splitlines()[-1].startswith(f"[Documentation]({C4_URL}")
    name = seed.at(seed.pos("DRIVER_VERIFIER_DETECTED_VIOLATION"))
    assert name is not None and name.markdown == code.markdown
    assert seed.text(name.range) == "DRIVER_VERIFIER_DETECTED_VIOLATION"


FREE = log("""
    kd> r
    The target hit DRIVER_VERIFIER_DETECTED_VIOLATION again.
    BUGCHECK_STR:  0xc4_62
    The register value c4 is unrelated, and so is the word added.
    BUGCHECK_CODE:  c4
    There are up to 0x10000 entries; level 0x0 and 0x2a.
    """)


def test_bug_check_codes_in_free_text_only_in_bug_check_contexts() -> None:
    lg = make_log(FREE)
    by_name = lg.at(lg.pos("DRIVER_VERIFIER"))
    assert by_name is not None
    assert by_name.markdown.startswith("**Bug check 0xC4: DRIVER_VERIFIER_DETECTED_VIOLATION**")
    assert lg.text(by_name.range) == "DRIVER_VERIFIER_DETECTED_VIOLATION"

    bstr = lg.at(lg.pos("0xc4_62", 3))
    sub = knowledge.c4_subcode(0x62)
    assert bstr is not None and sub is not None
    assert lg.text(bstr.range) == "0xc4_62"
    assert f"Arg1 0x62: {sub.meaning}" in bstr.markdown
    on_subcode = lg.at(lg.pos("_62", 2))
    assert on_subcode is not None and on_subcode.markdown == bstr.markdown

    key = lg.at(lg.pos("c4", after="BUGCHECK_CODE"))
    assert key is not None and "DRIVER_VERIFIER_DETECTED_VIOLATION" in key.markdown

    plain = lg.at(lg.pos("c4 is unrelated"))
    assert plain is not None
    assert "Bug check" not in plain.markdown and "= 196**" in plain.markdown
    assert lg.at(lg.pos("added", 2)) is None


def test_hex_numbers_in_free_text() -> None:
    lg = make_log(FREE)
    big = lg.at(lg.pos("0x10000", 3))
    assert big is not None and lg.text(big.range) == "0x10000"
    assert big.markdown.startswith("**`0x10000` = 65,536**")
    assert "= 42**" in lg.md("0x2a")
    assert lg.at(lg.pos("0x0 ", 2)) is None  # a single digit reads the same in decimal
    assert lg.at(lg.pos("There")) is None


# --------------------------------------------------------------------------- verifier options


def test_flags_mask_is_decoded_into_a_table(seed: Log) -> None:
    res = seed.at(seed.pos("0x000209bb", 4))
    assert res is not None and seed.text(res.range) == "0x000209bb"
    md = res.markdown
    assert md.startswith("**Driver Verifier options 0x000209BB**: 9 options set")
    rows = [line for line in md.splitlines() if line.startswith("| 0x")]
    assert [r.split(" | ")[0] for r in rows] == [
        "| 0x00000001",
        "| 0x00000002",
        "| 0x00000008",
        "| 0x00000010",
        "| 0x00000020",
        "| 0x00000080",
        "| 0x00000100",
        "| 0x00000800",
        "| 0x00020000",
    ]
    assert all(r.endswith("| yes |") for r in rows)
    assert "| 0x00000008 | Pool Tracking | yes |" in rows
    assert "exactly the standard set" in md
    assert "no known option" not in md


LEGACY = log("""
    kd> !verifier 1
    Verify Level 8009bb ... enabled options are:
        Special pool
        Special irql
        All pool allocations checked on unload
        Io subsystem checking enabled

    Summary of All Verifier Statistics

    RaiseIrqls                             0x0
    """)


def test_legacy_level_mask_and_option_names() -> None:
    lg = make_log(LEGACY)
    md = lg.md("8009bb")
    assert md.startswith("**Driver Verifier options 0x008009BB**")
    assert "| 0x00000800 | Miscellaneous Checks | yes |" in md
    assert "| 0x00800000 | Kernel synchronization delay fuzzing | no |" in md
    assert "Standard options not set: DDI compliance checking" in md
    assert "Options beyond the standard set: Kernel synchronization delay fuzzing" in md

    irql = lg.md("Special irql")
    assert irql.startswith("**Force IRQL Checking** (option 0x00000002): enabled")
    assert "calls it “Special irql”" in irql
    assert lg.md("All pool allocations").startswith("**Pool Tracking** (option 0x00000008)")


def test_unknown_mask_bits_are_listed() -> None:
    lg = make_log(LEGACY.replace("8009bb", "800009bb"))
    md = lg.md("800009bb")
    assert md.splitlines()[-1] == "Bits no known option explains: 0x80000000."


def test_flag_lines(seed: Log) -> None:
    info = knowledge.verifier_flag(0x8)
    assert info is not None
    md = seed.md("Pool tracking")
    assert md.splitlines()[0] == "**Pool Tracking** (option 0x00000008): enabled"
    assert info.description in md
    assert "Part of the standard set" in md
    assert "- 0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION (Arg1 0x51" in md
    off = seed.md("IRP logging")
    assert off.splitlines()[0] == "**IRP Logging** (option 0x00000400): not enabled"
    assert "`verifier /flags 0x400`" in off
    auto = seed.md("Automatic Checks")
    assert auto.startswith("**Automatic Checks** (an automatic check, always on): enabled")


# --------------------------------------------------------------------------- pool tags and sizes


def test_verifier_tags(seed: Log) -> None:
    mdl = seed.at(seed.pos("VMdl"))
    assert mdl is not None and seed.text(mdl.range) == "VMdl"
    assert mdl.markdown.startswith("**Pool tag `VMdl`**: Driver Verifier's tag for `IoAllocateMdl`")
    assert "freed by `IoFreeMdl`" in mdl.markdown
    assert "Leaked block 0x982a8fe0 of `MyDriver.sys`: 32 bytes" in mdl.markdown
    wi = seed.md("Vfwi")
    assert wi.startswith("**Pool tag `Vfwi`**: Driver Verifier's tag for `IoAllocateWorkItem`")
    assert "(handleioctl.c:72)" in wi


def test_driver_tag_shows_the_c_literal_and_where_it_is_written(seed: Log) -> None:
    md = seed.md("mdrv")
    assert md.startswith("**Pool tag `mdrv`**: the driver's own tag")
    assert "written `'vrdm'`" in md
    assert f"- `wdmdrivers/mydriver/handleioctl.c:{TAG_LINE}`" in md


def test_driver_tag_missing_from_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "other.c").write_text("int x = 'abcd';\n", encoding="utf-8")
    lg = make_log(SEED.read_text(encoding="utf-8"), [tmp_path])
    assert "No `'vrdm'` in the workspace sources." in lg.md("mdrv")


def test_tag_literal_search_walks_the_workspace_once_for_every_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_workspace(tmp_path)
    mapper = SourceMapper.create([tmp_path])
    calls: list[object] = []
    real = tag_literals_module.scan_literals

    def counting(m: SourceMapper, limits: object = tag_literals_module.Limits()) -> object:
        calls.append(m)
        return real(m, limits)  # type: ignore[arg-type]

    monkeypatch.setattr(tag_literals_module, "scan_literals", counting)
    hover_pool.clear_tag_cache()
    first = hover_pool.tag_literals(mapper, "mdrv")
    assert [t.range.start.line + 1 for t in first.targets] == [TAG_LINE]
    assert hover_pool.tag_literals(mapper, "mdrv") == first
    for i in range(200):
        assert hover_pool.tag_literals(mapper, f"t{i:03d}").targets == ()
    assert len(calls) == 1


def test_sizes_and_counts(seed: Log) -> None:
    size = seed.at(seed.pos("0x00001008", 4))
    assert size is not None and seed.text(size.range) == "0x00001008"
    assert size.markdown.startswith("**`0x00001008` = 4,104 bytes = 4.0 KiB**")
    assert "record gives `00001000` (4,096 bytes = 4.0 KiB) instead" in size.markdown
    count = seed.md("0x2db1a", after="Pool Allocations Attempted")
    assert count.startswith("**`0x2db1a` = 187,162**")
    assert "Pool Allocations Attempted" in count
    small = seed.md("0x00000020", 4, after="Address     Length")
    assert small.startswith("**`0x00000020` = 32 bytes**")


# --------------------------------------------------------------------------- addresses, symbols, sources


def test_caller_address_leads_to_the_source_line(seed: Log) -> None:
    res = seed.at(seed.pos("0x9a3bf687", 4))
    assert res is not None and seed.text(res.range) == "0x9a3bf687"
    md = res.markdown
    assert md.startswith("**Caller `0x9a3bf687`**")
    assert "Symbol: `MyDriver!DeviceControlDispatch+0x27`" in md
    assert "Source: **handleioctl.c:38** from `ln`" in md
    assert "`d:\\coding\\wdmdrivers\\mydriver\\handleioctl.c`" in md
    assert "In the workspace: `wdmdrivers/mydriver/handleioctl.c:38`" in md


def test_leaked_block_address(seed: Log) -> None:
    md = seed.md("0x8645a000", 4)
    assert md.startswith("**Leaked pool block `0x8645a000`**")
    assert "4,104 bytes = 4.0 KiB, tag `mdrv`, driver `MyDriver.sys`" in md
    assert "1 `!verifier 0x80` record of this block (1 allocate, 0 free)." in md


def test_unresolvable_address_says_why(seed: Log) -> None:
    pos = seed.pos("81b250cd", 2)
    res = seed.at(pos)
    assert res is not None and seed.text(res.range) == "81b250cd"
    why = definition(seed.analysis, seed.index, seed.mapper, pos).why
    assert why
    assert f"Source: unknown: {why}" in res.markdown
    assert "Symbol: `nt!IovAllocateMdl+0x3d`" in res.markdown


def test_symbol_and_source_tokens(seed: Log) -> None:
    sym = seed.md("MyDriver!DeviceControlDispatch+0x27", 3, after="kd> !verifier 0x80 0x8645a000")
    assert sym.startswith("**`MyDriver!DeviceControlDispatch+0x27`**")
    assert "handleioctl.c:38" in sym
    src = seed.at(seed.pos("d:\\coding\\wdmdrivers\\mydriver\\handleioctl.c(38)"))
    assert src is not None
    assert src.markdown.startswith("**handleioctl.c line 38** (+0x12 bytes into the line's code)")
    assert "In the workspace: `wdmdrivers/mydriver/handleioctl.c:38`" in src.markdown


def test_source_outside_the_workspace_says_why(tmp_path: Path) -> None:
    write_workspace(tmp_path)
    lg = make_log(
        log(r"""
            kd> kb
            ChildEBP RetAddr  Args to Child
            8d7cf9d4 9a3bf6ac 00000000 00000001 00000000 nt!IoAllocateMdl+0x20 [e:\base\io\iomgr.c @ 1200]
            8d7cf9f0 81703772 84a3c0e8 8fe2c3d0 00000000 MyDriver!DeviceControlDispatch+0x4c [\\buildsrv\src\mydriver\handleioctl.c @ 50]
            """),
        [tmp_path],
    )
    unc = lg.md("buildsrv")
    assert unc.startswith("**handleioctl.c line 50**")
    assert "Not in the workspace: network path on host 'buildsrv' is not trusted" in unc
    missing = lg.md("e:\\base")
    assert "Not in the workspace: no file named 'iomgr.c' in the workspace" in missing
    ret = lg.md("9a3bf6ac")
    assert "Source: **handleioctl.c:50** from a `[file @ line]` annotation" in ret


# --------------------------------------------------------------------------- cost


class _CountingLines(Sequence[str]):
    """A log whose line reads are counted: hovers must not walk the document."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self.reads = 0

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        self.reads += 1
        return self._lines[i]


@pytest.mark.parametrize(
    "needle", ["(c4)", "Arg4:", "0x000209bb", "mdrv", "0x9a3bf687", "81b250cd", "There are up"]
)
def test_a_hover_reads_only_its_own_line(seed: Log, needle: str) -> None:
    lines = _CountingLines(seed.lines)
    hover(seed.analysis, seed.index, lines, seed.mapper, seed.pos(needle, 2))
    assert lines.reads <= 2


def _arg_hover(text: str, needle: str) -> str:
    settings = Settings()
    snap = build_snapshot(
        Document(text), settings, make_mapper(settings, []), uri="file:///tmp/args.log"
    )
    line = next(i for i, t in enumerate(snap.lines) if t.startswith(needle))
    got = hover(snap.analysis, snap.index, snap.lines, snap.mapper, Position(line, 7))
    assert got is not None
    return got.markdown


def test_argument_values_are_decoded_through_the_tables() -> None:
    text = log(
        """
        kd> !analyze -v
        KMODE_EXCEPTION_NOT_HANDLED (1e)
        Arguments:
        Arg1: ffffffffc0000005, The exception code that was not handled
        Arg2: fffff8071b2b1023, The address that the exception occurred at
        Arg3: 0000000000000000, Parameter 0 of the exception
        Arg4: 0000000000000000, Parameter 1 of the exception

        kd> !analyze -v
        DRIVER_IRQL_NOT_LESS_OR_EQUAL (d1)
        Arguments:
        Arg1: ffffc50a1d2e4010, memory referenced
        Arg2: 0000000000000002, IRQL
        Arg3: 0000000000000008, value 0 = read operation, 1 = write operation
        Arg4: fffff8071b2b1023, address which referenced memory

        kd> !analyze -v
        APC_INDEX_MISMATCH (1)
        Arguments:
        Arg1: 00007ff6a1c21234
        Arg2: 0000000000000000
        Arg3: 000000000000ffff
        Arg4: 0000000000000000
        """
    )
    assert "Value: STATUS\\_ACCESS\\_VIOLATION" in _arg_hover(text, "Arg1: ffffffffc0000005")
    assert "IRQL 2 (DISPATCH_LEVEL)" in _arg_hover(text, "Arg2: 0000000000000002")
    assert "Value: execute." in _arg_hover(text, "Arg3: 0000000000000008")
    # a bug check without an explanation still names its arguments
    label = knowledge.arg_label(0x1, 1)
    assert label and f"*{label}*" in _arg_hover(text, "Arg1: 00007ff6a1c21234")
