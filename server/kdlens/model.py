"""The typed model of a debugger session log.

Everything the parser recognises becomes one of these records, each
carrying the exact range it was read from. They are immutable by convention,
not frozen: a frozen dataclass costs three times as much to build, and a log
holds millions of them. Positions are
0-based lines and 0-based character offsets (Unicode code points) into the
text as the editor holds it, so every later layer (analysis, LSP, CLI) can
point back at the evidence without re-reading the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .faults import FaultLog


@dataclass(slots=True, order=True, unsafe_hash=True)
class Position:
    line: int
    character: int


@dataclass(slots=True, unsafe_hash=True)
class Range:
    start: Position
    end: Position

    @staticmethod
    def on_line(line: int, start: int, end: int) -> Range:
        return Range(Position(line, start), Position(line, end))

    @staticmethod
    def lines(first: int, last: int, last_end: int = 0) -> Range:
        """A range from the start of ``first`` to ``last_end`` on ``last``."""
        return Range(Position(first, 0), Position(last, last_end))

    def contains(self, pos: Position) -> bool:
        return self.start <= pos <= self.end

    def covers(self, other: Range) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def first_line(self) -> int:
        return self.start.line

    @property
    def last_line(self) -> int:
        return self.end.line


@dataclass(slots=True, unsafe_hash=True)
class Num:
    """A number as printed: its value, its spelling and where it is."""

    value: int
    text: str
    range: Range


@dataclass(slots=True, unsafe_hash=True)
class SymbolRef:
    """``module!function+0xoff`` (any of its spellings) as printed."""

    text: str
    range: Range
    module: str | None
    function: str | None
    offset: int | None = None

    @property
    def qualified(self) -> str:
        """``module!function`` (or what is known of it), without the offset."""
        if self.module and self.function:
            return f"{self.module}!{self.function}"
        return self.function or self.module or self.text

    @property
    def display(self) -> str:
        base = self.qualified
        if self.offset:
            sign = "-" if self.offset < 0 else "+"
            return f"{base}{sign}0x{abs(self.offset):x}"
        return base


@dataclass(slots=True, unsafe_hash=True)
class SourceRef:
    """A source location printed by the debugger: ``[path @ line]`` or ``path(line)``."""

    path: str
    line: int
    range: Range
    path_range: Range
    line_range: Range
    byte_offset: int | None = None  # the ``+0x15`` of ``ln``'s ``file(50)+0x15``


# --------------------------------------------------------------------------- session


class PromptKind(str, Enum):
    KERNEL = "kd"
    LOCAL_KERNEL = "lkd"
    USER = "user"


@dataclass(slots=True, unsafe_hash=True)
class Prompt:
    text: str
    kind: PromptKind
    range: Range
    processor: int | None = None
    process: int | None = None
    thread: int | None = None


@dataclass(slots=True, unsafe_hash=True)
class Command:
    """A command echo (prompt + command text) and the lines of its output."""

    prompt: Prompt
    text: str
    text_range: Range
    line: int
    output_start: int  # first output line
    output_end: int  # exclusive

    @property
    def verb(self) -> str:
        """The command word, lower-cased (``!verifier``, ``ln``, ``kb``, ``.logopen``)."""
        parts = self.text.split(None, 1)
        return parts[0].lower() if parts else ""

    @property
    def args(self) -> str:
        parts = self.text.split(None, 1)
        return parts[1] if len(parts) > 1 else ""

    @property
    def range(self) -> Range:
        last = max(self.line, self.output_end - 1)
        return Range(Position(self.line, 0), Position(last, 0 if last > self.line else 10**6))


# --------------------------------------------------------------------------- bug checks


class BugCheckSource(str, Enum):
    ANALYZE = "analyze"  # !analyze name line + Arguments block
    ANALYZE_SUMMARY = "analyze-summary"  # BugCheck C4, {...}
    ANALYZE_KEYS = "analyze-keys"  # BUGCHECK_CODE / BUGCHECK_P1..P4
    FATAL_ERROR = "fatal-error"  # *** Fatal System Error: 0x000000c4
    DOT_BUGCHECK = "dot-bugcheck"  # .bugcheck output
    ARGUMENTS = "arguments"  # an Arguments: block seen alone


@dataclass(slots=True, unsafe_hash=True)
class BugCheckArg:
    index: int  # 1..4
    value: Num
    label_range: Range  # ``Arg1``
    range: Range  # the whole argument, continuation lines included
    description: str | None = None
    description_range: Range | None = None


@dataclass(slots=True, unsafe_hash=True)
class AnalyzeField:
    """A ``KEY:  value`` field of ``!analyze -v`` (value may span lines)."""

    key: str
    value: str
    key_range: Range
    value_range: Range
    range: Range


def field_named(fields: list[AnalyzeField], key: str) -> AnalyzeField | None:
    """The first ``KEY:`` field of an ``!analyze`` output (a bug check's or an exception's)."""
    return next((f for f in fields if f.key == key), None)


@dataclass(slots=True)
class BugCheck:
    code: int
    source: BugCheckSource
    range: Range  # the line that names the bug check
    code_range: Range
    name: str | None = None
    name_range: Range | None = None
    args: list[BugCheckArg] = field(default_factory=list)
    description: str = ""
    fields: list[AnalyzeField] = field(default_factory=list)
    probably_caused_by: str | None = None
    probably_caused_by_range: Range | None = None
    symbol: SymbolRef | None = None  # Probably caused by ( X!Y+off ) / SYMBOL_NAME
    stack: Stack | None = None  # STACK_TEXT
    rule: str | None = None  # 0xC4 rule violations: rule name from Arg1's text
    block_range: Range | None = None  # everything read for this bug check

    def arg(self, index: int) -> BugCheckArg | None:
        for a in self.args:
            if a.index == index:
                return a
        return None

    def field(self, key: str) -> AnalyzeField | None:
        return field_named(self.fields, key)


# --------------------------------------------------------------------------- stacks


@dataclass(slots=True, unsafe_hash=True)
class Frame:
    range: Range
    number: int | None = None
    frame_pointer: Num | None = None  # ChildEBP / Child-SP
    return_address: Num | None = None  # RetAddr column
    args: tuple[Num, ...] = ()
    symbol: SymbolRef | None = None  # call site
    address: Num | None = None  # raw call-site address or the address column of a log frame
    source: SourceRef | None = None
    inline: bool = False
    annotation: str | None = None  # (FPO: ...), (TrapFrame @ ...), (CONV: ...)


class StackKind(str, Enum):
    K = "k"  # k-family command output
    STACK_TEXT = "stack-text"  # !analyze STACK_TEXT
    POOL_LOG = "pool-log"  # !verifier 0x80 record
    TRACE = "trace"  # other address+symbol lists (!verifier 4/8/0x40, !deadlock, UMDH)


@dataclass(slots=True)
class Stack:
    kind: StackKind
    range: Range
    frames: list[Frame] = field(default_factory=list)
    header: str | None = None
    x64: bool | None = None
    thread: str | None = None  # ~*k thread header text


# --------------------------------------------------------------------------- verifier


@dataclass(slots=True, unsafe_hash=True)
class VerifierFlag:
    bit: int  # the mask value, 0 for Automatic Checks
    name: str
    enabled: bool
    range: Range
    bit_range: Range | None = None  # the ``(0x00000008)``
    name_range: Range | None = None
    section: str = ""  # standard / additional / legacy


@dataclass(slots=True)
class VerifierFlags:
    range: Range
    level: Num | None = None  # Verify Flags Level / Verify Level value
    legacy: bool = False
    flags: list[VerifierFlag] = field(default_factory=list)


@dataclass(slots=True, unsafe_hash=True)
class VerifierStat:
    """A statistic line: ``Trims 0x0`` or ``Current paged pool allocations 0x1a for 00000950 bytes``."""

    name: str
    value: Num
    range: Range
    bytes: Num | None = None


@dataclass(slots=True, unsafe_hash=True)
class PoolStat:
    """``Current Pool Allocations: ( 0x3 / 0x0 )`` — nonpaged and paged."""

    name: str
    range: Range
    nonpaged: Num | None = None
    paged: Num | None = None

    @property
    def total(self) -> int:
        return (self.nonpaged.value if self.nonpaged else 0) + (
            self.paged.value if self.paged else 0
        )


@dataclass(slots=True, unsafe_hash=True)
class PoolAllocation:
    """One row of a ``Pool Allocations`` table."""

    range: Range
    address: Num
    size: Num
    tag: str
    tag_range: Range
    caller: Num | None = None
    caller_symbol: SymbolRef | None = None


@dataclass(slots=True)
class PoolAllocationTable:
    range: Range
    header_range: Range
    rows: list[PoolAllocation] = field(default_factory=list)
    caller_column: str = "Caller"
    truncated: bool = False  # a ``...`` elision inside or after the rows


class DriverLayout(str, Enum):
    MODULE = "module"  # MODULE: 0x84226b28 MyDriver.sys (Loaded)
    VF_TARGET = "vf-target"  # nt!_VF_TARGET_DRIVER 0x...: X.sys (Loaded and Unloaded)
    TABLE = "table"  # Entry State NonPagedPool PagedPool Module


@dataclass(slots=True)
class VerifiedDriver:
    name: str
    name_range: Range
    range: Range
    layout: DriverLayout
    state: str = ""
    entry: Num | None = None
    nonpaged_bytes: Num | None = None  # legacy table columns
    paged_bytes: Num | None = None
    stats: list[PoolStat] = field(default_factory=list)
    allocations: PoolAllocationTable | None = None

    @property
    def unloaded(self) -> bool:
        return "unload" in self.state.lower()

    def stat(self, name: str) -> PoolStat | None:
        low = name.lower()
        for s in self.stats:
            if s.name.lower() == low:
                return s
        return None


@dataclass(slots=True)
class VerifierReport:
    """Output of ``!verifier`` with a status display (1, 3, 0xf ...)."""

    range: Range
    flags: VerifierFlags | None = None
    stats: list[VerifierStat] = field(default_factory=list)
    drivers: list[VerifiedDriver] = field(default_factory=list)


class PoolOp(str, Enum):
    ALLOCATE = "allocate"
    FREE = "free"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class PoolLogRecord:
    """``Pool block <addr>, Size <n>, Thread <addr>`` and its stack (``!verifier 0x80``)."""

    range: Range
    header_range: Range
    address: Num
    size: Num
    thread: Num | None
    stack: Stack
    op: PoolOp = PoolOp.UNKNOWN
    index: int = 0  # position in its search result: 0 = newest
    searched_address: int | None = None


# --------------------------------------------------------------------------- symbols and modules


@dataclass(slots=True, unsafe_hash=True)
class LnSymbol:
    address: Num
    symbol: SymbolRef


@dataclass(slots=True)
class LnResult:
    """Output of ``ln <address>``."""

    range: Range
    query: Num | None = None  # the address asked for, from the command echo
    source: SourceRef | None = None  # ``file.c(50)+0x15``
    before: LnSymbol | None = None
    after: LnSymbol | None = None
    exact: list[LnSymbol] = field(default_factory=list)


@dataclass(slots=True)
class ModuleInfo:
    """A module as ``lm``, ``lmv``, ``lmvm`` or ``!lmi`` print it."""

    name: str
    name_range: Range
    range: Range
    start: Num | None = None
    end: Num | None = None
    symbol_status: str | None = None  # deferred, pdb symbols, no symbols, ...
    symbol_file: str | None = None  # PDB path printed after the status
    unloaded: bool = False
    image_name: str | None = None
    image_path: str | None = None
    timestamp: int | None = None
    checksum: int | None = None
    image_size: int | None = None
    pdb_guid: str | None = None
    pdb_age: int | None = None
    properties: dict[str, str] = field(default_factory=dict)

    def contains(self, address: int) -> bool:
        return (
            self.start is not None
            and self.end is not None
            and self.start.value <= address < self.end.value
        )


# --------------------------------------------------------------------------- pool commands


@dataclass(slots=True, unsafe_hash=True)
class PoolBlock:
    """A ``!pool`` / ``!poolfind`` block line."""

    range: Range
    address: Num
    size: Num
    tag: str
    tag_range: Range
    previous_size: Num | None = None
    state: str = ""  # Allocated / Free
    marked: bool = False  # ``*`` — the block holding the queried address
    pool_type: str | None = None
    description: str | None = None
    description_range: Range | None = None  # the ``Pooltag``/``Owning component`` text
    process: Num | None = None  # ``Process: 8507a030`` suffix (quota-charged process)
    protected: bool = False  # ``(Protected)`` suffix after the tag
    data: Num | None = None  # special pool layout: ``data: <user address>``


@dataclass(slots=True, unsafe_hash=True)
class PoolUsage:
    """A ``!poolused`` row (numbers are decimal)."""

    range: Range
    tag: str
    tag_range: Range
    nonpaged_allocs: int
    nonpaged_bytes: int
    paged_allocs: int
    paged_bytes: int
    description: str | None = None
    #: The eight-column layout (``Allocs Frees Diff Used`` twice): the extra counts.
    nonpaged_frees: int | None = None
    nonpaged_diff: int | None = None
    paged_frees: int | None = None
    paged_diff: int | None = None
    #: Ranges of the numbers in printed order (four or eight of them).
    number_ranges: tuple[Range, ...] = ()
    description_range: Range | None = None


@dataclass(slots=True)
class UmdhRecord:
    """A UMDH allocation record: a snapshot trace or a comparison line (+ its trace)."""

    range: Range
    backtrace: str
    backtrace_range: Range
    comparison: bool
    bytes: int | None = None  # total (snapshot) or new total (comparison)
    old_bytes: int | None = None
    delta: int | None = None
    count: int | None = None
    size_each: int | None = None
    stack: Stack | None = None
    old_count: int | None = None  # comparison ``allocations`` line: count in the older log
    address: Num | None = None  # raw snapshot form: ``... at <address> by ...``
    overhead: int | None = None  # raw snapshot form: the ``+ <n>`` after the size
    decimal: bool = False  # comparison numbers were read as decimal (``umdh -d``)
    #: Where each comparison number is printed (``+ delta ( new - old ) count allocs``).
    delta_range: Range | None = None
    new_range: Range | None = None
    old_range: Range | None = None
    count_range: Range | None = None
    sign_range: Range | None = None


# --------------------------------------------------------------------------- settings read from the log


@dataclass(slots=True, unsafe_hash=True)
class PathSetting:
    """``Symbol search path is: ...`` / ``Source search path is: ...``."""

    kind: str  # "symbol" or "source"
    value: str
    range: Range
    value_range: Range


# --------------------------------------------------------------------------- symbol-loader notes


class SymbolNoteKind(str, Enum):
    """What a symbol-loader line of the debugger says about a module."""

    LOAD_FAILED = "load-failed"  # *** ERROR: ... symbols could not be loaded for X
    EXPORT_ONLY = "export-only"  # ... Defaulted to export symbols for X
    MISMATCH = "mismatch"  # *** WARNING: symbols timestamp (and checksum) is wrong for X
    CHECKSUM = "checksum"  # *** WARNING: Unable to verify checksum for X, checksum mismatch
    DBGHELP = "dbghelp"  # DBGHELP: lines (!sym noisy, UMDH headers)
    SYMSRV = "symsrv"  # SYMSRV: lines (!sym noisy with a symbol server)


@dataclass(slots=True, unsafe_hash=True)
class SymbolNote:
    """One symbol-loader line: which module it is about and what it says."""

    kind: SymbolNoteKind
    range: Range  # the line, without its indentation
    text: str  # the line as printed, trimmed
    module: str | None = None  # as printed (``glintmp.sys``, ``notepad``, ``ntdll.pdb``)
    module_range: Range | None = None
    #: DBGHELP's verdict (``no symbols loaded``, ``export symbols``...) or SYMSRV's result
    status: str | None = None


# --------------------------------------------------------------------------- the whole


@dataclass(slots=True)
class Session:
    """Everything read from one log."""

    line_count: int = 0
    commands: list[Command] = field(default_factory=list)
    bugchecks: list[BugCheck] = field(default_factory=list)
    verifier_reports: list[VerifierReport] = field(default_factory=list)
    pool_log: list[PoolLogRecord] = field(default_factory=list)
    ln_results: list[LnResult] = field(default_factory=list)
    modules: list[ModuleInfo] = field(default_factory=list)
    stacks: list[Stack] = field(default_factory=list)
    pool_blocks: list[PoolBlock] = field(default_factory=list)
    pool_usage: list[PoolUsage] = field(default_factory=list)
    umdh: list[UmdhRecord] = field(default_factory=list)
    paths: list[PathSetting] = field(default_factory=list)
    # leak evidence beyond Driver Verifier's pool tables (records defined at the end)
    heap_leak_scans: list[HeapLeakScan] = field(default_factory=list)
    heap_blocks: list[HeapBlockInfo] = field(default_factory=list)
    handle_traces: list[HandleTraceReport] = field(default_factory=list)
    umdh_totals: list[UmdhTotal] = field(default_factory=list)
    crt_leaks: list[CrtLeakReport] = field(default_factory=list)
    appverif_entries: list[AppVerifierEntry] = field(default_factory=list)
    poolused_snapshots: list[PoolUsedSnapshot] = field(default_factory=list)
    dps_dumps: list[DpsDump] = field(default_factory=list)
    pool_tag_notes: list[PoolTagNote] = field(default_factory=list)
    encoding: str = "utf-8"
    #: Internal failures (bugs, not user errors) of the parsers, the lazy readers
    #: and the analysis of this session; the tests keep it empty.
    faults: FaultLog = field(default_factory=FaultLog)
    # crash triage (records defined at the end of this module)
    #: ``.exr`` records, alone or under an analysis' ``EXCEPTION_RECORD:``.
    exception_records: list[ExceptionRecord] = field(default_factory=list)
    #: Register dumps: ``.trap``, ``.cxr``, ``.ecxr``, ``r``, ``TRAP_FRAME:``, ``CONTEXT:``.
    register_contexts: list[RegisterContext] = field(default_factory=list)
    #: ``FAULTING_IP:`` / ``FOLLOWUP_IP:`` blocks of ``!analyze`` (bug checks and exceptions).
    code_sites: list[CodeSite] = field(default_factory=list)
    #: User-mode ``!analyze`` results (``Exception Analysis``, ``APPLICATION_VERIFIER_*``).
    exception_analyses: list[ExceptionAnalysis] = field(default_factory=list)
    #: Application Verifier ``VERIFIER STOP`` blocks, every stop code (leak stops included).
    verifier_stops: list[VerifierStop] = field(default_factory=list)
    #: Symbol-loader lines (``*** ERROR: ... could not be loaded``, ``DBGHELP:``, ``SYMSRV:``).
    symbol_notes: list[SymbolNote] = field(default_factory=list)

    def command_at(self, line: int) -> Command | None:
        """The command whose echo or output holds ``line``."""
        lo, hi = 0, len(self.commands)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.commands[mid].line <= line:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return None
        cmd = self.commands[lo - 1]
        return cmd if line < max(cmd.output_end, cmd.line + 1) else None

    @property
    def drivers(self) -> list[VerifiedDriver]:
        return [d for r in self.verifier_reports for d in r.drivers]


# --------------------------------------------------------------------------- crash triage
#
# Where a stop happened and what the processor was doing: exception records,
# register dumps, the ``FAULTING_IP`` block, user-mode exception analyses and
# Application Verifier stops. Every value keeps its own range so that hovers
# and go-to-definition can point at exactly what was printed.


@dataclass(slots=True, unsafe_hash=True)
class Instruction:
    """A disassembly line: ``fffff802`084d9062 49894708  mov  qword ptr [r15+8],rax ds:...``."""

    range: Range
    address: Num
    opcode: str  # the instruction bytes as printed
    mnemonic: str
    operands: str
    #: The effective address the debugger appended (``ds:002b:41414141`41414139=????????``).
    memory: Num | None = None


@dataclass(slots=True)
class CodeSite:
    """A ``module!function+off:`` label (or ``FAULTING_IP:`` line) and its instruction."""

    range: Range
    key: str | None = None  # FAULTING_IP / FOLLOWUP_IP, None for a register dump's label
    symbol: SymbolRef | None = None
    source: SourceRef | None = None
    instruction: Instruction | None = None

    @property
    def address(self) -> Num | None:
        return self.instruction.address if self.instruction is not None else None


@dataclass(slots=True, unsafe_hash=True)
class ExceptionParameter:
    """``Parameter[1]: ffffffffffffffff``."""

    index: int
    value: Num
    range: Range


@dataclass(slots=True)
class ExceptionRecord:
    """The output of ``.exr`` (also printed under ``EXCEPTION_RECORD:`` in ``!analyze``)."""

    range: Range
    address: Num | None = None  # ExceptionAddress
    symbol: SymbolRef | None = None  # the ``(module!function+0x...)`` after the address
    code: Num | None = None  # ExceptionCode
    code_text: str | None = None  # ``Access violation``: the debugger's name for the code
    code_text_range: Range | None = None
    flags: Num | None = None
    parameter_count: Num | None = None
    parameters: list[ExceptionParameter] = field(default_factory=list)
    #: ``Attempt to read from address ffff...``: read / write / execute, and the address.
    access: str | None = None
    access_address: Num | None = None
    access_range: Range | None = None
    #: The record's own address: ``.exr <addr>``, ``EXCEPTION_RECORD:  <addr>``; -1 for ``.exr -1``.
    record_address: Num | None = None
    in_analysis: bool = False

    def parameter(self, index: int) -> ExceptionParameter | None:
        for p in self.parameters:
            if p.index == index:
                return p
        return None


class ContextKind(str, Enum):
    TRAP = "trap"  # .trap / TRAP_FRAME:
    CONTEXT = "cxr"  # .cxr / CONTEXT: <address>
    EXCEPTION = "ecxr"  # .ecxr / CONTEXT:  (.ecxr)
    REGISTERS = "r"  # r, or a dump printed by the debugger on a break


@dataclass(slots=True, unsafe_hash=True)
class Register:
    """``rip=fffff802084d9062``: name (lower case) and value."""

    name: str
    value: Num
    range: Range  # ``name=value``


@dataclass(slots=True)
class RegisterContext:
    """A register dump with the label and instruction the debugger prints under it."""

    range: Range
    kind: ContextKind
    registers: list[Register] = field(default_factory=list)
    x64: bool = False
    #: The frame's address: ``.trap <addr>``, ``TRAP_FRAME:  <addr>``, ``.cxr <addr>``.
    frame_address: Num | None = None
    site: CodeSite | None = None
    in_analysis: bool = False

    def register(self, name: str) -> Register | None:
        low = name.lower()
        for r in self.registers:
            if r.name == low:
                return r
        return None

    @property
    def ip(self) -> Register | None:
        """The instruction pointer (``rip`` or ``eip``)."""
        return self.register("rip") or self.register("eip")


@dataclass(slots=True, unsafe_hash=True)
class VerifierStopParam:
    """One of the four parameter lines of a ``VERIFIER STOP`` (``<value> : <meaning>``)."""

    index: int  # 1..4
    value: Num
    range: Range
    description: str = ""
    description_range: Range | None = None


@dataclass(slots=True)
class VerifierStop:
    """``VERIFIER STOP 00000007: pid 0x1A2C: Heap block already freed.`` and what follows.

    Any stop code is read the same way (heap, handle, lock and the 0x9xx leak
    stops); the parameters stay generic, their meaning is the printed text.
    """

    range: Range  # ``VERIFIER STOP 00000007``
    code: Num
    block_range: Range
    pid: Num | None = None
    message: str = ""
    message_range: Range | None = None
    params: list[VerifierStopParam] = field(default_factory=list)
    #: True / False from ``This verifier stop is (not) continuable``; None when absent.
    continuable: bool | None = None
    continuable_range: Range | None = None

    def param(self, index: int) -> VerifierStopParam | None:
        for p in self.params:
            if p.index == index:
                return p
        return None


@dataclass(slots=True)
class ExceptionAnalysis:
    """A user-mode ``!analyze`` result: an ``Exception Analysis`` or an Application Verifier one.

    Never a kernel bug check: ``APPLICATION_VERIFIER_HEAPS_DOUBLE_FREE (7)`` is
    Application Verifier stop 7, not bug check 0x7.
    """

    range: Range  # the banner title, or the name line when there is no banner
    block_range: Range
    fields: list[AnalyzeField] = field(default_factory=list)
    #: ``APPLICATION_VERIFIER_<LAYER>_<NAME>`` and its stop code, for a verifier analysis.
    name: str | None = None
    name_range: Range | None = None
    code: Num | None = None  # the ``(7)`` of the name line
    description: str = ""
    args: list[BugCheckArg] = field(default_factory=list)  # the Arguments block, if any
    exception: ExceptionRecord | None = None
    context: RegisterContext | None = None
    faulting_ip: CodeSite | None = None
    symbol: SymbolRef | None = None  # SYMBOL_NAME / Probably caused by / FAULTING_IP
    probably_caused_by: str | None = None
    probably_caused_by_range: Range | None = None
    stack: Stack | None = None  # STACK_TEXT

    @property
    def verifier(self) -> bool:
        return bool(self.name and self.name.startswith("APPLICATION_VERIFIER_"))

    def field(self, key: str) -> AnalyzeField | None:
        return field_named(self.fields, key)


# --------------------------------------------------------------------------- user-mode and other leak evidence
#
# Records for the other places a Windows debugger (or a tool whose output is
# pasted into a log) shows leaked resources: ``!heap -l``, ``!heap -p -a``,
# ``!htrace``, UMDH totals, CRT debug-heap dumps, Application Verifier XML
# logs, ``!poolused`` snapshots, ``dps`` stack dumps and pool-tag notes.


@dataclass(slots=True, unsafe_hash=True)
class HeapLeakRow:
    """One row of ``!heap -l``: a busy block nothing in memory points to."""

    range: Range
    entry: Num  # the heap entry (header) address
    user: Num  # the address the program was given
    heap: Num
    size: Num  # entry size in bytes, header included (hex)
    segment: Num | None = None
    previous_size: Num | None = None
    unused: Num | None = None
    flags: str = ""
    flags_range: Range | None = None

    @property
    def user_size(self) -> int:
        """Bytes the program asked for: the entry size minus its unused bytes."""
        unused = self.unused.value if self.unused is not None else 0
        return max(self.size.value - unused, 0)


@dataclass(slots=True)
class HeapLeakScan:
    """One ``!heap -l`` output: its rows and the closing count line."""

    range: Range
    rows: list[HeapLeakRow] = field(default_factory=list)
    header_range: Range | None = None
    count: Num | None = None  # ``N potential unreachable blocks were detected.`` (decimal)
    count_range: Range | None = None  # the whole count line
    truncated: bool = False  # a ``...`` elision among the rows
    heaps: list[Num] = field(default_factory=list)  # ``Heap 00520000`` lines before the table


@dataclass(slots=True)
class HeapBlockInfo:
    """``!heap -p -a <address>`` (or a page-heap record): the block and its allocation stack."""

    range: Range
    address: Num | None = None  # the address asked about (``address X found in``)
    heap: Num | None = None  # ``_DPH_HEAP_ROOT @ X`` or ``_HEAP @ X``
    page_heap: bool = False  # a ``_DPH_HEAP_ROOT`` (page heap) record
    state: str = ""  # busy / free (``in busy allocation``, ``(busy)``)
    block: Num | None = None  # DPH_HEAP_BLOCK or HEAP_ENTRY address
    user_address: Num | None = None
    user_size: Num | None = None
    virtual_address: Num | None = None
    virtual_size: Num | None = None
    stack: Stack | None = None

    def holds(self, address: int) -> bool:
        """True when ``address`` lies in this block's user bytes (or is the address asked)."""
        if self.address is not None and self.address.value == address:
            return True
        if self.user_address is None:
            return False
        start = self.user_address.value
        size = self.user_size.value if self.user_size is not None else 1
        return start <= address < start + max(size, 1)


@dataclass(slots=True)
class HandleTrace:
    """One ``!htrace`` record: ``Handle = 0x.. - OPEN``, its thread/process and stack."""

    range: Range
    handle: Num
    op: str  # OPEN / CLOSE / BAD REFERENCE / what was printed
    op_range: Range
    thread: Num | None = None
    process: Num | None = None
    stack: Stack | None = None


@dataclass(slots=True)
class HandleTraceReport:
    """``!htrace -diff`` or ``!htrace <handle>`` output."""

    range: Range
    diff: bool = False  # the records are handles still open since the last snapshot
    records: list[HandleTrace] = field(default_factory=list)
    new_traces: Num | None = None  # ``0x2 new stack traces since the previous snapshot.``
    new_traces_range: Range | None = None
    displayed: Num | None = None  # ``Displayed 0x1 stack traces for outstanding handles...``
    displayed_range: Range | None = None
    query: Num | None = None  # the handle asked for (``!htrace 0x128``)


@dataclass(slots=True, unsafe_hash=True)
class UmdhTotal:
    """``Total increase == X`` (or ``decrease``), with ``requested + overhead = total`` when printed."""

    range: Range
    increase: bool
    value: Num  # the first number (requested bytes in the newer form)
    requested: Num | None = None
    overhead: Num | None = None
    total: Num | None = None
    decimal: bool = False


@dataclass(slots=True, unsafe_hash=True)
class CrtLeakBlock:
    """``{N} normal block at 0x..., S bytes long.`` and its ``Data:`` line."""

    range: Range
    number: Num  # the allocation request number (decimal)
    kind: str  # normal / client / crt / ignore
    kind_range: Range
    address: Num
    size: Num  # decimal
    source: SourceRef | None = None  # ``path(line) :`` prefix (``_CRTDBG_MAP_ALLOC``)
    data: str | None = None  # the printable preview between ``<`` and ``>``
    data_range: Range | None = None  # the whole ``Data:`` line
    subtype: int | None = None  # ``client block ..., subtype 0,``


@dataclass(slots=True)
class CrtLeakReport:
    """A CRT debug-heap dump: ``Detected memory leaks!`` ... ``Object dump complete.``"""

    range: Range
    header_range: Range | None = None
    blocks: list[CrtLeakBlock] = field(default_factory=list)
    complete: bool = False  # ``Object dump complete.`` was read


@dataclass(slots=True, unsafe_hash=True)
class AppVerifierParam:
    """``<avrf:parameterN>value - description</avrf:parameterN>``."""

    index: int
    value: Num | None
    description: str
    range: Range


@dataclass(slots=True)
class AppVerifierEntry:
    """One ``avrf:logEntry`` of an Application Verifier XML log."""

    range: Range
    stop_code: Num | None = None
    layer: str = ""
    severity: str = ""
    time: str = ""
    message: str = ""
    message_range: Range | None = None
    params: list[AppVerifierParam] = field(default_factory=list)
    stack: Stack | None = None
    pid: Num | None = None  # the ``PID`` of the enclosing ``avrf:logSession``

    def param(self, index: int) -> AppVerifierParam | None:
        for p in self.params:
            if p.index == index:
                return p
        return None


@dataclass(slots=True)
class PoolUsedSnapshot:
    """One ``!poolused`` display: its layout and its rows (also in ``Session.pool_usage``)."""

    range: Range
    header_range: Range
    columns: int  # 4 (Allocs Used) or 8 (Allocs Frees Diff Used)
    sort: str | None = None  # ``Sorting by ...`` text
    rows: list[PoolUsage] = field(default_factory=list)


@dataclass(slots=True, unsafe_hash=True)
class DpsRow:
    """``<slot>  <value> module!symbol+off``: one pointer-sized slot of a ``dps`` dump."""

    range: Range
    slot: Num
    value: Num
    symbol: SymbolRef | None = None


@dataclass(slots=True)
class DpsDump:
    """``dps <address>`` output; the symbolised values read as a stack (innermost first)."""

    range: Range
    query: Num | None = None
    rows: list[DpsRow] = field(default_factory=list)
    stack: Stack | None = None


@dataclass(slots=True, unsafe_hash=True)
class PoolTagNote:
    """What the log itself says a pool tag belongs to (``Pooltag X : desc, Binary : drv``)."""

    tag: str
    range: Range
    description: str
    tag_range: Range | None = None
    binary: str | None = None
    binary_range: Range | None = None
