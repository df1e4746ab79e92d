"""Write a large synthetic KD session log for benchmarking kdlens.

The log imitates what a driver developer ends up with after a long Driver
Verifier session on an x64 target: bug check 0xC4/0x62 with ``!analyze -v``,
``lm``, a ``!verifier 3`` report whose Pool Allocations table has 10,000 rows,
``ln`` for a sample of the callers, a series of ``kn`` stacks, and a full
``!verifier 0x80`` dump of 65,536 records. That is about a million lines and
50 MB. Everything is derived from one seeded random generator, so a given seed
and size always produce the same bytes.

    python bench/gen.py OUT.log                 # the full-size session
    python bench/gen.py OUT.log --lines 300000  # exactly 300,000 lines
    python bench/gen.py OUT.log --noise-mb 360  # 360 MB of driver prints, then a session

The ``--noise-mb`` log is what a long debugging run writes when a driver
prints a lot: hundreds of megabytes of ``DbgPrint`` lines with no prompt in
them, then one short leak session (bug check, ``!verifier 3``, a pool-log
dump) at the end. It is written in chunks, never held whole in memory.
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Sizes of the full session.
TABLE_ROWS = 10_000
LOG_RECORDS = 65_536
LN_QUERIES = 256
K_STACKS = 4_000
#: Roughly how many lines the full session has (used to scale ``--lines``).
FULL_LINES = 960_000

SRC_ROOT = "d:\\bench\\mydriver\\src\\"


def bt(value: int) -> str:
    """A 64-bit value the way ``k`` and ``lm`` print it: ``fffff803`1c7e4f2a``."""
    return f"{value >> 32:08x}`{value & 0xFFFFFFFF:08x}"


def h16(value: int) -> str:
    return f"{value:016x}"


@dataclass(frozen=True, slots=True)
class Function:
    module: str
    name: str
    start: int
    size: int
    file: str = ""
    line: int = 0  # line of the opening brace

    @property
    def qualified(self) -> str:
        return f"{self.module}!{self.name}"


@dataclass(frozen=True, slots=True)
class Site:
    """A return address inside a function, with the source line it belongs to."""

    function: Function
    offset: int
    line: int = 0
    line_offset: int = 0

    @property
    def address(self) -> int:
        return self.function.start + self.offset

    @property
    def symbol(self) -> str:
        return f"{self.function.qualified}+0x{self.offset:x}"


# --------------------------------------------------------------------------- the world

NT_BASE = 0xFFFFF8031C600000
NT_END = 0xFFFFF8031D0B2000
VFX_BASE = 0xFFFFF80320C10000
VFX_END = 0xFFFFF80320C4E000

# (name, offset of the function in the image, offset of the call we return to)
_NT = [
    ("KeBugCheckEx", 0x1752A0, 0x0),
    ("VerifierBugCheckIfAppropriate", 0x6B1A40, 0x4C),
    ("VfPoolCheckForLeaks", 0x6B7C10, 0x41),
    ("VfTargetDriversRemove", 0x6A8E20, 0xCA),
    ("VfDriverUnloadImage", 0x6A9360, 0x65),
    ("MiUnloadSystemImage", 0x3C2B80, 0x15D),
    ("MmUnloadSystemImage", 0x3C2A50, 0x4E),
    ("IopDeleteDriver", 0x4F6410, 0x48),
    ("ObpRemoveObjectRoutine", 0x3E8B90, 0x78),
    ("ObfDereferenceObjectWithTag", 0x0ABC10, 0x99),
    ("IopUnloadDriver", 0x5A77E0, 0x1E3),
    ("IopLoadUnloadDriver", 0x5A7690, 0x57),
    ("ExpWorkerThread", 0x0E9240, 0x10B),
    ("PspSystemThreadStartup", 0x4B6B70, 0x55),
    ("KiStartSystemThread", 0x1AD9C0, 0x16),
    ("IovAllocateMdl", 0x6A12A0, 0x41),
    ("VerifierIoAllocateMdl", 0x6A54C0, 0x2E),
    ("IovAllocateWorkItem", 0x6A1900, 0x1B),
    ("VerifierIoAllocateWorkItem", 0x6A5980, 0x22),
    ("VerifierExAllocatePoolWithTag", 0x6A25E0, 0x3A),
    ("VerifierExAllocatePoolWithTagPriority", 0x6A2710, 0x4F),
    ("VerifierExFreePoolWithTag", 0x6A2780, 0x2D),
    ("IovFreeMdl", 0x6A13C0, 0x33),
    ("VerifierIoFreeMdl", 0x6A5540, 0x1C),
    ("IovCallDriver", 0x6A0880, 0x2F1),
    ("IofCallDriver", 0x0A1710, 0x62),
    ("IopSynchronousServiceTail", 0x3F34F0, 0x1A4),
    ("IopXxxControlFile", 0x3F7130, 0x6D2),
    ("NtDeviceIoControlFile", 0x3F64F0, 0x56),
    ("KiSystemServiceCopyEnd", 0x1B3F10, 0x13),
    ("IopParseDevice", 0x40B4A0, 0x13EE),
    ("ObpLookupObjectName", 0x40E930, 0x6A1),
    ("ObOpenObjectByNameEx", 0x40A2C0, 0x1DD),
    ("IopCreateFile", 0x409B00, 0x8A8),
    ("NtCreateFile", 0x4097F0, 0x79),
    ("IopProcessWorkItem", 0x0E8A30, 0xF2),
    ("KiProcessExpiredTimerList", 0x0C7E40, 0x210),
    ("KiTimerExpiration", 0x0C8350, 0x4D8),
    ("KiRetireDpcList", 0x0C5A20, 0x4A7),
    ("KiIdleLoop", 0x1AE1B0, 0x5A),
    ("PnpCallDriverEntry", 0x5A91C0, 0x4C),
    ("IopLoadDriver", 0x5A8440, 0x7B6),
]
_VFX = [
    ("ExAllocatePoolWithTagPriority_internal_wrapper", 0x114A0, 0x6D),
    ("IoAllocateMdl_internal_wrapper", 0x10FE0, 0x4B),
    ("IoAllocateWorkItem_internal_wrapper", 0x11280, 0x39),
    ("ExFreePoolWithTag_wrapper", 0x11720, 0x2E),
    ("IoFreeMdl_wrapper", 0x117C0, 0x22),
    ("xdv_IRP_MJ_DEVICE_CONTROL_wrapper", 0x133C0, 0xF6),
    ("xdv_IRP_MJ_CREATE_wrapper", 0x12C80, 0xE4),
]

_VERBS = ["Rx", "Tx", "Ctl", "Dma", "Irp", "Pnp", "Power", "Wmi", "Queue", "Timer"]
_NOUNS = ["Setup", "Dispatch", "Complete", "Process", "Init", "Cleanup", "Build", "Release"]
_OBJECTS = ["Request", "Buffers", "Context", "Descriptor", "QueueEntry", "WorkItem", "Mapping"]
_FILES = ["rx.c", "tx.c", "control.c", "dma.c", "queue.c", "power.c", "init.c"]
_TAGS = ["mdrv", "MdRx", "MdTx", "MdQ ", "Md-c", "VMdl", "Vfwi"]
_OTHER_DRIVERS = ["NetFlt", "StorHelp", "UsbAux"]


class World:
    """Modules, functions and call sites that every section of the log agrees on."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.nt = {n: Site(Function("nt", n, NT_BASE + s, 0x2000), o) for n, s, o in _NT}
        self.vfx = {n: Site(Function("VerifierExt", n, VFX_BASE + s, 0x200), o) for n, s, o in _VFX}
        self.modules: list[tuple[str, int, int, str]] = []
        self._layout_modules()
        self.mydriver = self._functions("MyDriver", self.mydriver_base, 40, with_source=True)
        self.others = {
            name: self._functions(name, base, 12, with_source=False)
            for name, base in self.other_bases.items()
        }
        # call sites inside driver functions: the ones that allocate, and the callers above them
        self.alloc_sites = [self._site(f) for f in self.mydriver for _ in range(3)]
        self.other_sites = {m: [self._site(f) for f in fs] for m, fs in self.others.items()}
        self.threads = [0xFFFFE00040000080 + rng.randrange(0, 0x400000) * 0x100 for _ in range(200)]

    def _layout_modules(self) -> None:
        rng = self.rng
        mods: list[tuple[str, int, int, str]] = [
            ("nt", NT_BASE, NT_END, "(pdb symbols)"),
            ("hal", NT_END, NT_END + 0x6F000, "(deferred)"),
            ("VerifierExt", VFX_BASE, VFX_END, "(pdb symbols)"),
        ]
        base = 0xFFFFF80321000000
        self.other_bases: dict[str, int] = {}
        for i in range(150):
            size = rng.randrange(0x8, 0x90) * 0x1000
            if i == 77:
                name, status = "MyDriver", "(private pdb symbols)"
                self.mydriver_base = base
                size = 0x48000
            elif i in (20, 95, 130):
                name, status = _OTHER_DRIVERS[(i > 20) + (i > 95)], "(pdb symbols)"
                self.other_bases[name] = base
                size = 0x30000
            else:
                name, status = f"drv{i:03d}", "(deferred)"
            mods.append((name, base, base + size, status))
            base += size + rng.randrange(0, 4) * 0x1000
        self.modules = mods

    def _functions(self, module: str, base: int, count: int, with_source: bool) -> list[Function]:
        rng = self.rng
        funcs: list[Function] = []
        addr = base + 0x1000
        line = 20
        for i in range(count):
            size = rng.randrange(0x10, 0x60) * 0x10
            name = (
                _VERBS[i % len(_VERBS)]
                + _NOUNS[(i * 3 + i // len(_VERBS)) % len(_NOUNS)]
                + _OBJECTS[(i * 5 + len(module)) % len(_OBJECTS)]
            )
            if any(f.name == name for f in funcs):
                name += str(i)
            file = _FILES[i % len(_FILES)] if with_source else ""
            funcs.append(Function(module, name, addr, size, file, line if with_source else 0))
            addr += size + 0x10
            line += rng.randrange(30, 120)
        return funcs

    def _site(self, f: Function) -> Site:
        off = self.rng.randrange(0x10, f.size - 4)
        if not f.file:
            return Site(f, off)
        return Site(f, off, f.line + 3 + off // 12, self.rng.randrange(0x5, 0x20))

    def next_function(self, f: Function) -> Function | None:
        funcs = self.mydriver if f.module == "MyDriver" else self.others.get(f.module, [])
        for a, b in itertools.pairwise(funcs):
            if a is f:
                return b
        return None

    def tails(self) -> list[list[Site]]:
        """Bottom parts of kernel stacks: the paths that reach a driver."""
        nt, vx = self.nt, self.vfx
        ioctl = [
            vx["xdv_IRP_MJ_DEVICE_CONTROL_wrapper"],
            nt["IovCallDriver"],
            nt["IofCallDriver"],
            nt["IopSynchronousServiceTail"],
            nt["IopXxxControlFile"],
            nt["NtDeviceIoControlFile"],
            nt["KiSystemServiceCopyEnd"],
        ]
        create = [
            vx["xdv_IRP_MJ_CREATE_wrapper"],
            nt["IovCallDriver"],
            nt["IofCallDriver"],
            nt["IopParseDevice"],
            nt["ObpLookupObjectName"],
            nt["ObOpenObjectByNameEx"],
            nt["IopCreateFile"],
            nt["NtCreateFile"],
            nt["KiSystemServiceCopyEnd"],
        ]
        worker = [
            nt["IopProcessWorkItem"],
            nt["ExpWorkerThread"],
            nt["PspSystemThreadStartup"],
            nt["KiStartSystemThread"],
        ]
        dpc = [
            nt["KiProcessExpiredTimerList"],
            nt["KiTimerExpiration"],
            nt["KiRetireDpcList"],
            nt["KiIdleLoop"],
        ]
        load = [
            nt["PnpCallDriverEntry"],
            nt["IopLoadDriver"],
            nt["IopLoadUnloadDriver"],
            nt["ExpWorkerThread"],
            nt["PspSystemThreadStartup"],
            nt["KiStartSystemThread"],
        ]
        return [ioctl, create, worker, dpc, load]


# --------------------------------------------------------------------------- sections


def header(out: list[str]) -> None:
    out += [
        "Connected to Windows 10 19041 x64 target at (Tue Mar  4 09:12:40.118 2025 (UTC + 1:00)), ptr64 TRUE",
        "Kernel Debugger connection established.",
        "Symbol search path is: srv*c:\\symbols*https://msdl.microsoft.com/download/symbols;d:\\bench\\mydriver\\build\\x64\\Debug",
        "Executable search path is: ",
        "Windows 10 Kernel Version 19041 MP (8 procs) Free x64",
        "Product: WinNt, suite: TerminalServer SingleUserTS",
        "Edition build lab: 19041.1.amd64fre.vb_release.191206-1406",
        "Machine Name:",
        f"Kernel base = 0x{NT_BASE:x} PsLoadedModuleList = 0x{NT_BASE + 0xA2A5B0:x}",
        "Debug session time: Tue Mar  4 09:12:39.502 2025 (UTC + 1:00)",
        "System Uptime: 0 days 2:41:07.330",
    ]


def bugcheck(out: list[str], w: World, leaked: int, arg2: int, arg3: int) -> None:
    out += [
        "MyDriver: unloading",
        "",
        "*** Fatal System Error: 0x000000c4",
        f"                       (0x0000000000000062,0x{arg2:016X},0x{arg3:016X},0x{leaked:016X})",
        "",
        "Break instruction exception - code 80000003 (first chance)",
        "",
        "A fatal system error has occurred.",
        "Debugger entered on first try; Bugcheck callbacks have not been invoked.",
        "",
        "A fatal system error has occurred.",
        "",
        "For analysis of this file, run !analyze -v",
        "nt!DbgBreakPointWithStatus:",
        f"{bt(NT_BASE + 0x1F6D30)} cc              int     3",
        "kd> !analyze -v",
        "*" * 79,
        "*" + " " * 77 + "*",
        "*" + (" " * 24 + "Bugcheck Analysis").ljust(77) + "*",
        "*" + " " * 77 + "*",
        "*" * 79,
        "",
        "DRIVER_VERIFIER_DETECTED_VIOLATION (c4)",
        "Driver Verifier caught a driver doing something that can corrupt the system.",
        "Arguments:",
        "Arg1: 0000000000000062, A driver has forgotten to free its pool allocations prior to unloading.",
        f"Arg2: {h16(arg2)}, name of the driver having the issue.",
        f"Arg3: {h16(arg3)}, verifier internal structure with driver information.",
        f"Arg4: {h16(leaked)}, total # of (paged+nonpaged) allocations that weren't freed.",
        "\tType !verifier 3 drivername.sys for info on the allocations",
        "\tthat were leaked that caused the bugcheck.",
        "",
        "Debugging Details:",
        "------------------",
        "",
        "BUGCHECK_CODE:  c4",
        "",
        "BUGCHECK_P1: 62",
        "",
        f"BUGCHECK_P2: {arg2:x}",
        "",
        f"BUGCHECK_P3: {arg3:x}",
        "",
        f"BUGCHECK_P4: {leaked:x}",
        "",
        "BUGCHECK_STR:  0xc4_62",
        "",
        "IMAGE_NAME:  MyDriver.sys",
        "",
        "MODULE_NAME: MyDriver",
        "",
        f"FAULTING_MODULE: {h16(w.mydriver_base)} MyDriver",
        "",
        "PROCESS_NAME:  System",
        "",
        "STACK_TEXT:  ",
    ]
    chain = [
        w.nt["KeBugCheckEx"],
        w.nt["VerifierBugCheckIfAppropriate"],
        w.nt["VfPoolCheckForLeaks"],
        w.nt["VfTargetDriversRemove"],
        w.nt["VfDriverUnloadImage"],
        w.nt["MiUnloadSystemImage"],
        w.nt["MmUnloadSystemImage"],
        w.nt["IopDeleteDriver"],
        w.nt["ObpRemoveObjectRoutine"],
        w.nt["ObfDereferenceObjectWithTag"],
        w.nt["IopUnloadDriver"],
        w.nt["IopLoadUnloadDriver"],
        w.nt["ExpWorkerThread"],
        w.nt["PspSystemThreadStartup"],
        w.nt["KiStartSystemThread"],
    ]
    sp = 0xFFFFF80A2A1B3F08
    args = f"00000000`000000c4 00000000`00000062 {bt(arg2)} {bt(arg3)}"
    for i, site in enumerate(chain):
        ret = chain[i + 1].address if i + 1 < len(chain) else 0
        sym = site.function.qualified if site.offset == 0 else site.symbol
        out.append(f"{bt(sp)} {bt(ret)} : {args} : {sym}")
        sp += 0x40 + (i % 5) * 0x30
        args = "00000000`00000000 00000000`00000000 00000000`00000000 00000000`00000000"
    out += [
        "",
        "",
        "STACK_COMMAND:  .cxr; .ecxr ; kb",
        "",
        "FAILURE_BUCKET_ID:  0xc4_62_VRF_LEAKED_POOL_IMAGE_MyDriver.sys",
        "",
        "Followup:     MachineOwner",
        "---------",
        "",
    ]


def lm(out: list[str], w: World) -> None:
    out.append("kd> lm")
    out.append("start             end                 module name")
    for name, start, end, status in sorted(w.modules, key=lambda m: m[1]):
        if status == "(deferred)":
            out.append(f"{bt(start)} {bt(end)}   {name:<10} {status}")
        else:
            pdb = (
                f"d:\\bench\\mydriver\\build\\x64\\Debug\\{name}.pdb"
                if name == "MyDriver"
                else f"c:\\symbols\\{name}.pdb\\{start & 0xFFFFFFFF:08X}0A1B2C3D4E5F60718293A4B51\\{name}.pdb"
            )
            out.append(f"{bt(start)} {bt(end)}   {name:<10} {status:<22} {pdb}")
    out += ["", "Unloaded modules:"]
    md = next(m for m in w.modules if m[0] == "MyDriver")
    out.append(f"{bt(md[1])} {bt(md[2])}   MyDriver.sys")
    out.append(f"{bt(0xFFFFF80320A00000)} {bt(0xFFFFF80320A1E000)}   dump_storport.sys")


@dataclass(frozen=True, slots=True)
class Leak:
    address: int
    size: int
    tag: str
    site: Site
    paged: bool


def make_leaks(w: World, rows: int) -> list[Leak]:
    rng = w.rng
    seen: set[int] = set()
    leaks: list[Leak] = []
    while len(leaks) < rows:
        tag = rng.choice(_TAGS)
        if tag == "VMdl":
            size = rng.choice([0x30, 0x38, 0x40, 0x48])
        elif tag == "Vfwi":
            size = 0x58
        else:
            size = rng.randrange(2, 512) * 8
        page = 0xFFFFCF8000000000 + rng.randrange(0, 1 << 26) * 0x1000
        address = page + 0x1000 - size if size < 0x1000 else page
        if address in seen:
            continue
        seen.add(address)
        paged = tag in ("MdQ ", "Md-c") and rng.random() < 0.5
        leaks.append(Leak(address, size, tag, rng.choice(w.alloc_sites), paged))
    return leaks


def verifier3(out: list[str], leaks: list[Leak]) -> None:
    np_count = sum(1 for x in leaks if not x.paged)
    p_count = len(leaks) - np_count
    np_bytes = sum(x.size for x in leaks if not x.paged)
    p_bytes = sum(x.size for x in leaks if x.paged)
    out += [
        "kd> !verifier 3 MyDriver.sys",
        "",
        "Verify Flags Level 0x000209bb",
        "",
        "  STANDARD FLAGS:",
    ]
    for bit, name in [
        (0x0, "Automatic Checks"),
        (0x1, "Special pool"),
        (0x2, "Force IRQL checking"),
        (0x8, "Pool tracking"),
        (0x10, "I/O verification"),
        (0x20, "Deadlock detection"),
        (0x80, "DMA checking"),
        (0x100, "Security checks"),
        (0x800, "Miscellaneous checks"),
        (0x20000, "DDI compliance checking"),
    ]:
        out.append(f"    [X] (0x{bit:08x}) {name}")
    out += ["", "  ADDITIONAL FLAGS:"]
    for bit, name in [
        (0x4, "Randomized low resources simulation"),
        (0x200, "Force pending I/O requests"),
        (0x400, "IRP logging"),
        (0x40000, "Systematic low resources simulation"),
    ]:
        out.append(f"    [ ] (0x{bit:08x}) {name}")
    out += [
        "",
        "    [X] Indicates flag is enabled",
        "",
        "",
        "Summary of All Verifier Statistics",
        "",
        "  RaiseIrqls           0x0",
        "  AcquireSpinLocks     0x3b1f2",
        "  Synch Executions     0x0",
        "  Trims                0x0",
        "",
        "  Pool Allocations Attempted             0x4e21c",
        "  Pool Allocations Succeeded             0x4e21c",
        "  Pool Allocations Succeeded SpecialPool 0x4d9f0",
        "  Pool Allocations With NO TAG           0x0",
        "  Pool Allocations Failed                0x0",
        "",
        f"  Current paged pool allocations         0x{p_count:x} for {p_bytes:08X} bytes",
        f"  Peak paged pool allocations            0x{p_count + 7:x} for {p_bytes + 0x2A0:08X} bytes",
        f"  Current nonpaged pool allocations      0x{np_count:x} for {np_bytes:08X} bytes",
        f"  Peak nonpaged pool allocations         0x{np_count + 19:x} for {np_bytes + 0x9C40:08X} bytes",
        "",
        "Driver Verification List",
        "------------------------",
        "",
        "  MODULE: 0xffffe0003b1f2c40 MyDriver.sys (Loaded)",
        "",
        "    Pool Allocation Statistics: ( NonPagedPool / PagedPool )",
        "",
        f"      Current Pool Allocations: ( 0x{np_count:08x} / 0x{p_count:08x} )",
        f"      Current Pool Bytes:       ( 0x{np_bytes:08x} / 0x{p_bytes:08x} )",
        f"      Peak Pool Allocations:    ( 0x{np_count + 19:08x} / 0x{p_count + 7:08x} )",
        f"      Peak Pool Bytes:          ( 0x{np_bytes + 0x9C40:08x} / 0x{p_bytes + 0x2A0:08x} )",
        "      Contiguous Memory Bytes:       0x00000000",
        "      Peak Contiguous Memory Bytes:  0x00000000",
        "",
        "    Pool Allocations:",
        "",
        "      Address             Length      Tag   Caller Address      ",
        "      ------------------  ----------  ----  ------------------",
    ]
    for x in leaks:
        out.append(
            f"      0x{x.address:016x}  0x{x.size:08x}  {x.tag}  0x{x.site.address:016x}  {x.site.symbol}"
        )
    out.append("")


def ln(out: list[str], w: World, leaks: list[Leak], count: int) -> None:
    done: set[Site] = set()
    for x in leaks:
        if len(done) >= count:
            break
        s = x.site
        if s in done:
            continue
        done.add(s)
        f = s.function
        nxt = w.next_function(f)
        after = f"  |  ({bt(nxt.start)})   {nxt.qualified}" if nxt else ""
        out.append(f"kd> ln 0x{s.address:016x}")
        out.append(f"{SRC_ROOT}{f.file}({s.line})+0x{s.line_offset:x}")
        out.append(f"({bt(f.start)})   {s.symbol} {after}".rstrip())
        out.append("")


def k_stacks(out: list[str], w: World, count: int) -> None:
    rng = w.rng
    tails = w.tails()
    for n in range(count):
        drv = [rng.choice(w.alloc_sites) for _ in range(rng.randrange(2, 5))]
        frames: list[tuple[Site, bool]] = [(s, True) for s in drv]
        frames += [(s, False) for s in rng.choice(tails)]
        out.append("kd> kn")
        out.append(" # Child-SP          RetAddr           Call Site")
        sp = 0xFFFFF80A2B000000 + n * 0x10000 + 0x6C8
        for i, (site, src) in enumerate(frames):
            ret = frames[i + 1][0].address if i + 1 < len(frames) else 0
            text = f"{i:02x} {bt(sp)} {bt(ret)} {site.symbol}"
            if src and site.function.file:
                text += f" [{SRC_ROOT}{site.function.file} @ {site.line}]"
            out.append(text)
            sp += rng.randrange(2, 20) * 0x10


def pool_log_records(w: World, leaks: list[Leak], total: int, spread: int) -> Iterator[list[str]]:
    """``!verifier 0x80`` records, newest first, each a list of lines ending with a blank.

    The leaked blocks' own allocations are spaced evenly over the first
    ``spread`` records, so the analysis finds a history for each of them.
    """
    rng = w.rng
    nt, vx = w.nt, w.vfx
    tops = {
        "pool": [
            vx["ExAllocatePoolWithTagPriority_internal_wrapper"],
            nt["VerifierExAllocatePoolWithTag"],
        ],
        "mdl": [
            nt["IovAllocateMdl"],
            vx["IoAllocateMdl_internal_wrapper"],
            nt["VerifierIoAllocateMdl"],
        ],
        "wi": [
            nt["IovAllocateWorkItem"],
            vx["IoAllocateWorkItem_internal_wrapper"],
            nt["VerifierIoAllocateWorkItem"],
        ],
        "free": [vx["ExFreePoolWithTag_wrapper"], nt["VerifierExFreePoolWithTag"]],
        "freemdl": [nt["IovFreeMdl"], vx["IoFreeMdl_wrapper"], nt["VerifierIoFreeMdl"]],
    }
    cache: dict[Site, str] = {}

    def line(site: Site) -> str:
        text = cache.get(site)
        if text is None:
            sym = site.function.qualified if site.offset == 0 else site.symbol
            text = cache[site] = f"{h16(site.address)} {sym}"
        return text

    tails = w.tails()
    every = max(1, spread // max(1, len(leaks)))
    leak_iter = iter(leaks)
    other_sites = [s for sites in w.other_sites.values() for s in sites]
    for i in range(total):
        leak = next(leak_iter, None) if i % every == 0 else None
        if leak is not None:
            kind = {"VMdl": "mdl", "Vfwi": "wi"}.get(leak.tag, "pool")
            block, size, first = leak.address, leak.size, leak.site
        else:
            kind = rng.choice(("pool", "pool", "pool", "mdl", "free", "free", "freemdl", "wi"))
            if kind in ("mdl", "freemdl"):
                size = rng.choice((0x30, 0x38, 0x40, 0x48))
            elif kind == "wi":
                size = 0x58
            else:
                size = rng.randrange(2, 300) * 8
            block = 0xFFFFE00000000000 + rng.randrange(0, 1 << 30) * 0x10
            first = rng.choice(w.alloc_sites) if rng.random() < 0.5 else rng.choice(other_sites)
        depth = rng.randrange(10, 15)
        top = tops[kind]
        tail = rng.choice(tails)
        # deeper driver call chains make up for short kernel paths
        n_callers = min(6, max(rng.randrange(2, 5), depth - len(top) - len(tail)))
        module = first.function.module
        pick = w.alloc_sites if module == "MyDriver" else w.other_sites[module]
        callers = [first] + [rng.choice(pick) for _ in range(n_callers - 1)]
        frames = [*top, *callers, *tail][:depth]
        rec = [f"Pool block {h16(block)}, Size {size:016x}, Thread {h16(rng.choice(w.threads))}"]
        rec += [line(s) for s in frames]
        rec.append("")
        yield rec


def build(seed: int = 1, lines: int | None = None, crlf: bool = False) -> str:
    """The whole session as text; exactly ``lines`` lines when given."""
    rng = random.Random(seed)
    w = World(rng)
    scale = 1.0 if lines is None else min(1.0, lines / FULL_LINES)
    rows = max(8, int(TABLE_ROWS * scale))
    leaks = make_leaks(w, rows)
    head: list[str] = []
    header(head)
    bugcheck(head, w, len(leaks), 0xFFFFE0003B2C1D10, 0xFFFFE0003B1F0A70)
    lm(head, w)
    verifier3(head, leaks)
    ln(head, w, leaks, max(2, int(LN_QUERIES * scale)))
    k_stacks(head, w, max(2, int(K_STACKS * scale)))
    head += [
        "kd> !verifier 0x80",
        "",
        "Log of recent kernel pool Allocate and Free operations:",
        "",
        "There are up to 0x10000 entries in the log.",
        "",
        "Parsing 0x00010000 log entries.",
        "",
        "",
        "=" * 70,
    ]
    body: list[str] = head
    if lines is None:
        for rec in pool_log_records(w, leaks, LOG_RECORDS, LOG_RECORDS):
            body += rec
        body.append("kd> ")
    else:
        budget = lines - 1  # keep the last line for the closing prompt
        if len(body) > budget:
            del body[budget:]
        else:
            expected = (budget - len(body)) // 14 + 1
            for rec in pool_log_records(w, leaks, 1 << 30, expected):
                if len(body) + len(rec) >= budget:
                    body += rec[: budget - len(body)]
                    break
                body += rec
        body.append("kd> ")
    eol = "\r\n" if crlf else "\n"
    return eol.join(body) + eol


def write(path: Path, seed: int = 1, lines: int | None = None, crlf: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = build(seed, lines, crlf).encode("ascii")
    path.write_bytes(data)
    return path


#: ``DbgPrint`` line shapes of the noise log (``{n}`` a counter, ``{a}`` an address,
#: ``{v}`` a small hex value, ``{c}`` a processor, ``{t}`` a time stamp).
NOISE_TEMPLATES = (
    "MyDriver: [{c}] IoctlDispatch: code 0x{v:08x} status 0x0 bytes {n}",
    "MyDriver: [{c}] DmaBuildWorkItem: item {a} len 0x{v:x}",
    "[{t}] StorHelp: TxProcessMapping queued request {a} ({n} pending)",
    "NetFlt: RxReleaseRequest: buffer {a} returned, refcount {v}",
    "MyDriver: QueueCleanupContext -> context {a}, flags 0x{v:04x}",
    "StorHelp!TimerProcessQueueEntry: tick {n} elapsed {v} ms",
    "[{t}] MyDriver: PowerCompleteBuffers: D0 -> D3 transition for device {a}",
    "NetFlt: WmiCleanupMapping: mapping {n} freed at {a}",
)


def noise_lines(rng: random.Random, count: int, start: int) -> list[str]:
    """``count`` driver debug prints, numbered from ``start``; never a prompt."""
    out: list[str] = []
    templates = NOISE_TEMPLATES
    for n in range(start, start + count):
        ms = n * 7
        out.append(
            templates[n % len(templates)].format(
                n=n,
                a=h16(0xFFFFE00000000000 + rng.randrange(0, 1 << 30) * 0x10),
                v=rng.randrange(0, 1 << 16),
                c=n % 8,
                t=f"{ms // 3_600_000 % 24:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}",
            )
        )
    return out


def write_noise(path: Path, megabytes: int, seed: int = 1, tail_lines: int = 60_000) -> Path:
    """About ``megabytes`` MB of driver prints, then a ``tail_lines``-line leak session."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    tail = build(seed, tail_lines).encode("ascii")
    budget = max(0, megabytes * 1_000_000 - len(tail))
    written = 0
    n = 0
    with path.open("wb") as f:
        while written < budget:
            chunk = ("\n".join(noise_lines(rng, 20_000, n)) + "\n").encode("ascii")
            n += 20_000
            f.write(chunk)
            written += len(chunk)
        f.write(tail)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out", type=Path, help="file to write")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--lines", type=int, default=None, help="write exactly this many lines")
    ap.add_argument("--crlf", action="store_true", help="CRLF line ends, as .logopen writes them")
    ap.add_argument(
        "--noise-mb",
        type=int,
        default=None,
        help="write this many MB of driver prints followed by a short leak session",
    )
    args = ap.parse_args(argv)
    if args.noise_mb is not None:
        path = write_noise(args.out, args.noise_mb, args.seed)
    else:
        path = write(args.out, args.seed, args.lines, args.crlf)
    size = path.stat().st_size
    with path.open("rb") as f:
        count = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    print(f"{path}: {count:,} lines, {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
