#!/usr/bin/env python3
"""Generate kdlens' knowledge tables (server/kdlens/knowledge/data/*.json).

Usage, from the repository root:

    python tools/gen_knowledge.py [--reference DIR] [--check]

Codes, names, documentation pages, 0xC4 argument labels and verifier option wordings come from
the reference tables in ``../shared/reference`` (or ``--reference``). Everything explanatory
(summaries, argument meanings, hints, option descriptions, tag meanings) is written for kdlens in
this file. When the reference tables are absent, the committed JSON supplies the tabular facts,
so the prose can still be edited and regenerated. ``--check`` regenerates in memory and exits
non-zero when the committed files differ.

The generated JSON is committed: kdlens never needs the reference tables at run time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "server" / "kdlens" / "knowledge" / "data"
DOC_BASE = "https://learn.microsoft.com/windows-hardware/drivers/debugger/"

Arg = tuple[str, str]  # (label, meaning)

# =============================================================================================
# Bug checks: summaries, argument meanings, per-value sub-tables and next steps.
# Facts follow the Microsoft bug check reference pages; the wording is kdlens' own.
# =============================================================================================

FAULT_IRQL_HINTS = [
    "`ln <Arg4>` and `u <Arg4>` show the function and instruction that made the access.",
    "`.trap <trap frame>` (the address !analyze prints under TRAP_FRAME) followed by `kb` "
    "gives the stack as it was at the fault.",
    "`!pool <Arg1>`, `!pte <Arg1>` and `!address <Arg1>` tell whether the target is paged "
    "pool, freed memory or not mapped at all.",
    "`dx KiBugCheckDriver` prints the driver the kernel blamed, when it identified one.",
    "`!irql` confirms the IRQL the processor was at.",
]

SPECIAL_POOL_FAULT_ARGS: list[Arg] = [
    ("address referenced", "The special-pool address the code tried to use."),
    ("access kind", "0 = read, 1 = write."),
    (
        "faulting instruction",
        "Address of the instruction that made the access, when known; `ln` names the function.",
    ),
    ("reserved", "Not used for diagnosis."),
]

EXCEPTION_CODE_ARG: Arg = (
    "exception code",
    "NTSTATUS of the exception. Common values: 0xC0000005 access violation, 0x80000003 "
    "breakpoint or ASSERT hit with no debugger attached, 0x80000002 misaligned data access. "
    "`!error <Arg1>` prints the text.",
)

BUGCHECK_TEXT: dict[int, dict[str, Any]] = {
    0xC4: {
        "summary": (
            "Driver Verifier caught a verified driver breaking a kernel usage rule and stopped "
            "the machine on purpose as soon as it noticed. It can only happen while "
            "Verifier watches at least one driver. Arg1 is a violation code (see the 0xC4 "
            "sub-code table) and decides what Arg2 to Arg4 hold. The fix is nearly always in the "
            "verified driver whose frame appears on the stack."
        ),
        "args": [
            (
                "violation code",
                "Which rule was broken; look the value up in the 0xC4 sub-code table to read "
                "the other three arguments.",
            ),
            (
                "first detail",
                "Depends on Arg1; often the current IRQL, an address, or a pointer to the "
                "driver's name.",
            ),
            ("second detail", "Depends on Arg1."),
            (
                "third detail",
                "Depends on Arg1; for the unload leak codes it is the number of allocations "
                "still outstanding.",
            ),
        ],
        "hints": [
            "`!analyze -v` decodes Arg1 and usually names the offending driver.",
            "`!verifier` shows the active options and per-driver pool counters; "
            "`!verifier 3 <driver>.sys` also lists each outstanding allocation.",
            "`kb`: the first frame inside the verified driver is where the rule was broken.",
            "Rule violations (Arg1 0x20002 and up): `!ruleinfo <Arg1> <Arg3> <Arg4>` explains "
            "the rule state; Static Driver Verifier can find the path in the source.",
            "Deadlock codes (Arg1 0x1000-0x100B): `!deadlock` shows the lock acquisition history.",
        ],
        "arg1_table": "c4",
    },
    0x1C4: {
        "summary": (
            "Live dump, not a crash: Driver Verifier recorded a rule violation of a verified "
            "driver and wrote a dump while the system kept running. Arg1 is the violated "
            "rule's identifier, with the same meaning as the rule codes of bug check 0xC4."
        ),
        "args": [
            ("rule identifier", "The violated rule, as in the 0xC4 sub-code table."),
            ("rule condition text", "Pointer to a description of the violated condition."),
            ("rule state", "Rule-dependent; usually the second argument for `!ruleinfo`."),
            ("extra state", "Rule-dependent; usually the third argument for `!ruleinfo`."),
        ],
        "hints": ["`!ruleinfo <Arg1> <Arg3> <Arg4>` describes the rule and its state."],
        "arg1_table": "c4",
    },
    0xC1: {
        "summary": (
            "Special pool found that a driver damaged memory next to one of its special-pool "
            "blocks, or freed or allocated such a block incorrectly. The check usually runs "
            "when the block is freed, so the stack shows the code that released it, which is "
            "often but not always the code that overwrote it. Arg4 names the sub-case."
        ),
        "args": [
            (
                "block address or IRQL",
                "Usually the address the driver was freeing; for sub-cases 0x30 and 0x31 it is "
                "the IRQL at the time of the call.",
            ),
            (
                "detail",
                "Depends on Arg4: bytes requested, address of the damaged bytes, or the pool type.",
            ),
            ("detail", "Depends on Arg4."),
            ("sub-case", "Which special-pool check failed (0x20-0x24, 0x30-0x32)."),
        ],
        "selector": 4,
        "variants": [
            (
                [0x20],
                "The address being freed was never handed out by special pool.",
                {1: ("address freed", ""), 2: ("reserved", ""), 3: ("zero", "")},
            ),
            (
                [0x21, 0x22],
                "The address being freed does not match the start of the block.",
                {
                    1: ("address freed", ""),
                    2: ("bytes requested", "Size the driver asked for at allocation."),
                    3: ("bytes reserved", "Size the pool actually set aside for the block."),
                },
            ),
            (
                [0x23],
                "When the block was freed, bytes in the same page outside the block had been "
                "changed: the fill pattern around it is damaged.",
                {
                    1: ("address freed", ""),
                    2: ("damaged address", "First byte whose pattern was overwritten."),
                    3: ("reserved", ""),
                },
            ),
            (
                [0x24],
                "When the block was freed, data after its end had been overwritten (an overrun "
                "that stayed within the page).",
                {
                    1: ("address freed", ""),
                    2: ("damaged address", "First overwritten byte past the block."),
                    3: ("reserved", ""),
                },
            ),
            (
                [0x30],
                "Special pool was asked for memory at an IRQL that is too high for the pool type.",
                {1: ("IRQL", ""), 2: ("pool type", "0 nonpaged, 1 paged."), 3: ("byte count", "")},
            ),
            (
                [0x31],
                "A special-pool block was freed at an IRQL that is too high for its pool type.",
                {
                    1: ("IRQL", ""),
                    2: ("pool type", "0 nonpaged, 1 paged."),
                    3: ("address freed", ""),
                },
            ),
            (
                [0x32],
                "When the block was freed, a single bit next to it had flipped; this points to "
                "faulty memory hardware more often than to a driver bug.",
                {
                    1: ("address freed", ""),
                    2: ("damaged address", "Byte holding the flipped bit."),
                    3: ("reserved", ""),
                },
            ),
        ],
        "hints": [
            "`kb`: the freeing code path is on the stack.",
            "`!pool <Arg1>` shows the block and its tag; `db <Arg2>` shows the damaged bytes "
            "next to the fill pattern.",
            "With Pool Tracking on, `!verifier 0x80 <Arg1>` replays where the block was "
            "allocated and freed.",
        ],
    },
    0xC2: {
        "summary": (
            "The pool allocator itself rejected a request from the current thread: an "
            "allocation or free at a wrong IRQL, a double free, a free of an address that is "
            "not pool, a wrong or missing tag, a damaged header and similar. Arg1 names the "
            "sub-case. Running the suspect driver under Driver Verifier with Special Pool and "
            "Pool Tracking usually catches the same bug earlier, as a 0xC4 or 0xC1 with a "
            "clearer report."
        ),
        "args": [
            ("sub-case", "Kind of bad pool request; selects the meaning of Arg2 to Arg4."),
            ("detail", "Depends on Arg1; usually the pool block or header concerned."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1."),
        ],
        "selector": 1,
        "variants": [
            (
                [0x0],
                "The thread asked for a zero-byte allocation.",
                {2: ("zero", ""), 3: ("pool type", ""), 4: ("pool tag", "")},
            ),
            (
                [0x1, 0x2, 0x4],
                "A pool header is corrupt.",
                {
                    2: ("pool header", "Address of the damaged header."),
                    3: ("header contents", "First part of the header's value."),
                    4: ("zero", ""),
                },
            ),
            (
                [0x6],
                "The block was already free when the thread freed it (double free).",
                {2: ("reserved", ""), 3: ("pool header", ""), 4: ("header contents", "")},
            ),
            (
                [0x7],
                "The block was already free when the thread freed it (double free).",
                {2: ("reserved", ""), 3: ("header contents", ""), 4: ("block being freed", "")},
            ),
            (
                [0x8],
                "Allocation at an IRQL not allowed for the pool type.",
                {2: ("IRQL", ""), 3: ("pool type", ""), 4: ("byte count", "")},
            ),
            (
                [0x9],
                "Free at an IRQL not allowed for the pool type.",
                {2: ("IRQL", ""), 3: ("pool type", ""), 4: ("block address", "")},
            ),
            (
                [0xA],
                "Free with a tag that differs from the allocation's tag; the block may belong "
                "to another component.",
                {
                    2: ("block address", ""),
                    3: ("allocation tag", "Tag the block was allocated with."),
                    4: ("tag used to free", "Tag passed to ExFreePoolWithTag."),
                },
            ),
            (
                [0xB, 0xC, 0xD],
                "Quota release on a pool block whose quota information is corrupt.",
                {
                    2: ("block address", ""),
                    3: ("allocation tag", ""),
                    4: ("bad process pointer", "Quota process pointer found in the block."),
                },
            ),
            (
                [0x40],
                "Free of a user-mode address through the kernel pool.",
                {
                    2: ("address", ""),
                    3: ("system space start", "Lowest kernel address."),
                    4: ("zero", ""),
                },
            ),
            (
                [0x41, 0x47],
                "Free of a nonpaged pool address that is not allocated.",
                {
                    2: ("address", ""),
                    3: ("page frame", "Physical page of the address."),
                    4: ("highest page frame", "Highest physical page in the system."),
                },
            ),
            (
                [0x42, 0x43],
                "Free of a virtual address that never belonged to any pool.",
                {2: ("address", ""), 3: ("zero", ""), 4: ("zero", "")},
            ),
            (
                [0x44],
                "Free of a nonpaged pool address that is not allocated.",
                {2: ("address", ""), 3: ("reserved", ""), 4: ("zero", "")},
            ),
            (
                [0x46],
                "Free of an invalid pool address.",
                {2: ("address", ""), 3: ("zero", ""), 4: ("zero", "")},
            ),
            (
                [0x48],
                "Free of a paged pool address that is not allocated.",
                {2: ("address", ""), 3: ("reserved", ""), 4: ("reserved", "")},
            ),
            (
                [0x50],
                "Free of a paged pool address that is not allocated.",
                {
                    2: ("address", ""),
                    3: ("page offset", "Offset in pages from the start of paged pool."),
                    4: ("paged pool size", "In bytes."),
                },
            ),
            (
                [0x60],
                "MmFreeContiguousMemory was given an address that is not contiguous memory.",
                {2: ("address", ""), 3: ("zero", ""), 4: ("zero", "")},
            ),
            (
                [0x99],
                "Free of an invalid address; the pool header may also be corrupt.",
                {2: ("address", ""), 3: ("zero", ""), 4: ("zero", "")},
            ),
            (
                [0x9A],
                "Allocation marked MUST_SUCCEED, a pool type that is no longer supported.",
                {2: ("pool type", ""), 3: ("byte count", ""), 4: ("pool tag", "")},
            ),
            (
                [0x9B],
                "Allocation with a tag of zero, which cannot be tracked.",
                {2: ("pool type", ""), 3: ("byte count", ""), 4: ("caller", "Return address.")},
            ),
            (
                [0x9C],
                'Allocation with the reserved tag "BIG", which cannot be tracked.',
                {2: ("pool type", ""), 3: ("byte count", ""), 4: ("caller", "Return address.")},
            ),
            (
                [0x9D],
                "Allocation with a tag that has no letters or digits.",
                {2: ("bad tag", ""), 3: ("pool type", ""), 4: ("caller", "Return address.")},
            ),
            (
                [0x41286],
                "Free of a paged pool address that lies in the middle of an allocation.",
                {
                    2: ("reserved", ""),
                    3: ("reserved", ""),
                    4: ("page offset", "Offset in pages from the start of paged pool."),
                },
            ),
        ],
        "hints": [
            "`kb`: find the driver frame that called ExAllocatePool*/ExFreePool*.",
            "`!pool <address>` on the block or header in Arg2 to Arg4 shows its header and tag.",
            "Re-run with `verifier /flags 0x9 /driver <name>.sys` (Special Pool plus Pool "
            "Tracking) to catch the bad call directly.",
        ],
    },
    0xD1: {
        "summary": (
            "A driver touched an address that was not resident (pageable and paged out, freed, "
            "or simply invalid) while running at DISPATCH_LEVEL or above, where page faults "
            "cannot be serviced. Usually the pointer is the problem (NULL, stale or freed) "
            "rather than the IRQL; pageable code or data used while holding a spin lock or in "
            "a DPC is the other classic cause."
        ),
        "args": [
            (
                "address referenced",
                "The memory the code tried to use. A value below 0x1000 means a NULL pointer "
                "plus a field offset.",
            ),
            ("IRQL", "IRQL at the time of the access; 2 is DISPATCH_LEVEL."),
            (
                "access kind",
                "0 = read, 1 = write, 2 or 8 = execute (an instruction was fetched from Arg1).",
            ),
            (
                "faulting instruction",
                "Address of the instruction that made the access; `ln` on it names the function.",
            ),
        ],
        "hints": FAULT_IRQL_HINTS,
    },
    0xA: {
        "summary": (
            "Kernel-mode code (Windows itself or a driver) used an invalid or non-resident "
            "address while at a raised IRQL. The mechanics are those of 0xD1, but the faulting "
            "code was not attributed to a driver; the stack often still leads to one. Typical "
            "causes: a bad or stale pointer, a spin lock that was never released, or pageable "
            "code or data used at DISPATCH_LEVEL."
        ),
        "args": [
            (
                "address referenced",
                "The address that could not be accessed. Below 0x1000 suggests a NULL pointer "
                "dereference.",
            ),
            ("IRQL", "IRQL at the time of the fault; 2 is DISPATCH_LEVEL."),
            (
                "access flags",
                "Bit 0: 0 = read, 1 = write. Bit 3, where the chipset reports it, is set for an "
                "execute. So 0x0 read, 0x1 write, 0x8 execute of the address in Arg1.",
            ),
            (
                "instruction pointer",
                "Where the fault happened; `ln` on it names the function.",
            ),
        ],
        "hints": FAULT_IRQL_HINTS,
    },
    0x50: {
        "summary": (
            "Kernel-mode code referenced an address that has no valid mapping and the fault "
            "could not be resolved: typically a freed, never-allocated or corrupted pointer. A "
            "try/except block cannot catch this; only probing a buffer beforehand helps. "
            "Defective RAM and damaged NTFS volumes are rarer causes."
        ),
        "args": [
            ("address referenced", "The address that could not be used."),
            (
                "access kind",
                "Windows 10 1507 and later on x64/x86: 0 = read, 2 = write, 0x10 = execute. On "
                "ARM: 0 = read, 1 = write, 8 = execute. Older x86/x64 versions: 0 = read, "
                "1 = write. Recent debuggers describe it as a bit mask of the page fault: on "
                "x64 bit 1 means write, bit 4 an execute of a no-execute page, bit 0 a "
                "not-present page and bit 3 a corrupted page table entry.",
            ),
            (
                "faulting instruction",
                "Address of the instruction that made the reference, when known (0 otherwise).",
            ),
            (
                "fault type",
                "Why the address was unusable (older debuggers print it as reserved): 0x0 its "
                "page table entry is marked free; 0x2 no "
                "valid page table for it; 0x3 a session address used from a process without a "
                "session (reported as 0x2 from Windows 10 RS4 on); 0x4 the address is not "
                "canonical; 0xF kernel code touched a user address where that is not allowed.",
            ),
        ],
        "hints": [
            "`.trap <trap frame>` (from the TRAP_FRAME line of !analyze) then `kb`.",
            "`ln <Arg3>` and `u <Arg3>` for the faulting code.",
            "`!pte <Arg1>`, `!pool <Arg1>` and `db <Arg1>` to see what is (or was) at the address.",
            "`dx KiBugCheckDriver` prints the driver the kernel blamed, if any.",
            "If a driver is suspected of using freed memory, Special Pool turns the next "
            "occurrence into 0xD5 or 0xCC at the exact access.",
        ],
    },
    0x7E: {
        "summary": (
            "An exception was raised on a system thread (one created by the kernel or a "
            "driver, not a thread serving a user request) and nothing handled it. Arg1 says "
            "which exception and Arg2 where; the context record in Arg4 restores the stack at "
            "the time of the exception."
        ),
        "args": [
            EXCEPTION_CODE_ARG,
            (
                "exception address",
                "Instruction that raised the exception; `ln` names the driver and function.",
            ),
            ("exception record", "Address of the EXCEPTION_RECORD; use `.exr <Arg3>`."),
            (
                "context record",
                "Address of the CONTEXT; `.cxr <Arg4>` then `kb` shows the stack at the exception.",
            ),
        ],
        "hints": [
            "`.exr <Arg3>` for the exception details.",
            "`.cxr <Arg4>` followed by `kb` for the faulting stack.",
            "`ln <Arg2>` / `u <Arg2>` for the faulting instruction.",
            "0x80000003 means a hard-coded breakpoint or ASSERT ran on a machine booted "
            "without a kernel debugger.",
        ],
    },
    0x3B: {
        "summary": (
            "An exception happened while the kernel was executing a system service, i.e. code "
            "entered from a user-mode request into kernel mode, and no handler caught it. "
            "Frequent reasons are NULL or wild pointers, memory freed too early and corrupted "
            "structures."
        ),
        "args": [
            EXCEPTION_CODE_ARG,
            ("faulting instruction", "Address of the instruction that raised the exception."),
            (
                "context record",
                "Address of the CONTEXT; `.cxr <Arg3>` then `kb` shows the stack at the exception.",
            ),
            ("unused", "Always 0."),
        ],
        "hints": [
            "`.cxr <Arg3>` then `kb` for the faulting stack.",
            "`!error <Arg1>` for the exception text.",
            "`ln <Arg2>` / `u <Arg2>` for the faulting code.",
            "`dx KiBugCheckDriver` prints the driver the kernel blamed, if any.",
        ],
    },
    0x1E: {
        "summary": (
            "Kernel-mode code raised an exception that no handler caught. Identify the "
            "exception from Arg1 and the code from Arg2. For an access violation (0xC0000005) "
            "Arg4 is the address that could not be accessed."
        ),
        "args": [
            EXCEPTION_CODE_ARG,
            (
                "exception address",
                "Instruction that raised the exception; `ln` names the driver and function.",
            ),
            (
                "exception info 0",
                "First information word of the exception record; for an access violation it "
                "tells the kind of access (0 = read, 1 = write).",
            ),
            (
                "exception info 1",
                "Second information word; for an access violation, the address that could "
                "not be accessed.",
            ),
        ],
        "hints": [
            "`ln <Arg2>` / `u <Arg2>` for the faulting instruction.",
            "In `kb`, the first argument of nt!PspUnhandledExceptionInSystemThread points to "
            "an EXCEPTION_POINTERS pair: `dps` it, then `.exr` the first value and `.cxr` the "
            "second, then `kb` again.",
            "If that frame is missing, the third argument of nt!KiDispatchException is a trap "
            "frame: `.trap` it.",
        ],
    },
    0x19: {
        "summary": (
            "The pool allocator found a damaged pool header while allocating or freeing. The "
            "thread that trips over it is usually a victim: some earlier code overran its own "
            "block or wrote to freed memory. Arg1 tells which consistency check failed. To "
            "catch the culprit in the act, run the suspects under Special Pool."
        ),
        "args": [
            ("check", "Which header consistency check failed; selects Arg2 to Arg4."),
            ("detail", "Depends on Arg1; usually a pool entry address."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1."),
        ],
        "selector": 1,
        "variants": [
            (
                [0x2],
                "The special pool pattern check failed; the block's owner probably damaged it.",
                {2: ("pool entry", ""), 3: ("block size", ""), 4: ("zero", "")},
            ),
            (
                [0x3],
                "The pool free list is corrupt; in a healthy list Arg2, Arg3 and Arg4 are equal.",
                {
                    2: ("pool entry", ""),
                    3: ("forward link read back", ""),
                    4: ("backward link read back", ""),
                },
            ),
            (
                [0x5],
                "Two neighbouring pool entries have headers that contradict each other; at "
                "least one is damaged.",
                {2: ("one entry", ""), 3: ("reserved", ""), 4: ("the other entry", "")},
            ),
            (
                [0x6],
                "A header's previous-size field is too large.",
                {
                    2: ("entry computed wrongly", ""),
                    3: ("reserved", ""),
                    4: ("damaged entry", "The entry whose header caused the bad computation."),
                },
            ),
            (
                [0x7],
                "A block header's size field is corrupt.",
                {2: ("zero", ""), 3: ("reserved", ""), 4: ("damaged entry", "")},
            ),
            (
                [0x8],
                "A block header's size field is zero.",
                {2: ("zero", ""), 3: ("reserved", ""), 4: ("damaged entry", "")},
            ),
            (
                [0x9],
                "A block header's size field is too large.",
                {
                    2: ("entry computed wrongly", ""),
                    3: ("reserved", ""),
                    4: ("damaged entry", ""),
                },
            ),
            (
                [0xA],
                "A block header's size field is corrupt: an expected entry was not found.",
                {
                    2: ("expected entry", "The entry that should have been found."),
                    3: ("reserved", ""),
                    4: ("page address", "Page that should contain the entry."),
                },
            ),
            (
                [0xD, 0xE, 0xF, 0x23, 0x24, 0x25],
                "The header of a free block changed after it was freed. The previous owner is "
                "rarely at fault; the block just before it was probably overrun.",
                {2: ("reserved", ""), 3: ("reserved", ""), 4: ("reserved", "")},
            ),
            (
                [0x20],
                "A block header's size field is corrupt.",
                {2: ("expected entry", ""), 3: ("next entry", ""), 4: ("reserved", "")},
            ),
            (
                [0x21],
                "Data right after the block being freed is damaged: the block's user overran it.",
                {
                    2: ("block being freed", ""),
                    3: ("bytes allocated", ""),
                    4: ("damaged value", "Value found just past the block."),
                },
            ),
            (
                [0x22],
                "The address being freed has no tracking entry: it was already freed or never "
                "allocated.",
                {2: ("address freed", ""), 3: ("reserved", ""), 4: ("reserved", "")},
            ),
        ],
        "hints": [
            "`!pool <entry>` on the address in Arg2 or Arg4 lists the blocks of that page and "
            "shows where the chain breaks.",
            "The block just before the damaged one is the first overrun suspect: note its tag.",
            "Enable Special Pool for the suspect driver (`verifier /flags 0x1 /driver "
            "<name>.sys`) or, by tag, through gflags.",
        ],
    },
    0x139: {
        "summary": (
            "A kernel integrity check found a critical structure corrupted and stopped at once, "
            "before the damage could spread or be exploited. Arg1 says which check fired. In "
            "drivers the most frequent is 3, a LIST_ENTRY whose links disagree (double remove, "
            "entry freed while still linked, unsynchronized list update), followed by stack "
            "buffer overruns (0 and 2)."
        ),
        "args": [
            ("check", "Kind of corruption detected; see the per-value table."),
            ("trap frame", "Use `.trap <Arg2>` to see the registers at the failure."),
            ("exception record", "Use `.exr <Arg3>`."),
            ("reserved", "Not used for diagnosis."),
        ],
        "selector": 1,
        "variants": [
            ([0], "A stack buffer overrun was detected (older /GS report).", {}),
            (
                [1],
                "VTGuard found an invalid virtual function table: a C++ object was probably "
                "corrupted before a virtual call.",
                {},
            ),
            ([2], "The stack cookie check failed: a stack buffer was overrun (/GS).", {}),
            (
                [3],
                "A doubly linked LIST_ENTRY is inconsistent (double remove, entry freed while "
                "still linked, unsynchronized use). Walk the list with `dl` and `dlb` to find "
                "where the two directions disagree; neighbours of the bad entry are suspects.",
                {},
            ),
            ([5], "A routine that treats invalid parameters as fatal received one.", {}),
            (
                [6],
                "The image's stack cookie was never initialized by the loader, e.g. a driver "
                "built for a newer Windows loaded on an older one.",
                {},
            ),
            ([7], "A fatal program exit was requested.", {}),
            ([8], "A compiler-inserted array bounds check failed.", {}),
            (
                [9],
                "RtlQueryRegistryValues used RTL_QUERY_REGISTRY_DIRECT without "
                "RTL_QUERY_REGISTRY_TYPECHECK on a value outside a trusted hive.",
                {},
            ),
            ([10], "Indirect call guard found an invalid call target.", {}),
            ([11], "Write guard found an invalid memory write.", {}),
            ([12], "Switch to an invalid fiber context.", {}),
            ([13], "An invalid register context was assigned.", {}),
            ([14], "An object's reference count is invalid.", {}),
            ([18], "Switch to an invalid jmp_buf context.", {}),
            ([19], "Read-only data was modified unsafely.", {}),
            ([20], "A cryptographic self-test failed.", {}),
            ([21], "An invalid exception handler chain was found.", {}),
            ([22], "A cryptographic library error occurred.", {}),
            ([23], "An invalid call was made from inside DllMain.", {}),
            ([24], "An invalid image base address was found.", {}),
            ([25], "Protecting a delay-load import failed unrecoverably.", {}),
            ([26], "An unsafe extension was called.", {}),
            ([27], "A deprecated service was invoked.", {}),
            ([28], "An out-of-bounds buffer access was detected.", {}),
            ([29], "An RTL_BALANCED_NODE red-black tree entry is corrupt.", {}),
            ([37], "A switch jump table entry out of range was used.", {}),
            ([38], "A longjmp targeted an invalid location.", {}),
            ([39], "An export-suppressed call target could not be made valid.", {}),
        ],
        "hints": [
            "`.trap <Arg2>` then `kb` for the failing code path.",
            "`.exr <Arg3>` for the exception record.",
            "For Arg1 = 3: `dt nt!_LIST_ENTRY <entry>`, then `dl` / `dlb` from the list head "
            "to compare the two directions.",
            "If the list entry lives in freed pool, Special Pool on the suspect driver makes "
            "the stale access fault at once.",
        ],
    },
    0x13A: {
        "summary": (
            "The kernel-mode heap manager found one of its heaps corrupted: a damaged block "
            "header, an overrun or underrun, use after free, a double free or a bad argument. "
            "On recent Windows 10 and 11 releases the kernel pool is built on this heap, so "
            "pool misuse by drivers shows up here. Arg1 is the kind of damage, Arg2 the heap "
            "and Arg3 where the damage was found."
        ),
        "args": [
            ("corruption kind", "See the per-value table."),
            ("heap", "Address of the heap that reported the problem."),
            ("damaged address", "Where the corruption was detected."),
            ("reserved", "Not used for diagnosis."),
        ],
        "selector": 1,
        "variants": [
            ([0x3], "A corrupt block header was found.", {}),
            ([0x4], "Several corrupt block headers were found.", {}),
            ([0x5], "A corrupt header of a large allocation was found.", {}),
            ([0x6], "The damage looks like a buffer overrun.", {}),
            ([0x7], "The damage looks like a buffer underrun.", {}),
            ([0x8], "A free block was passed to an operation that needs a busy block.", {}),
            ([0x9], "An invalid argument was passed to the heap operation.", {}),
            ([0xA], "Internal heap error related to the allocation type.", {}),
            ([0xB], "The damage looks like use after free.", {}),
            ([0xC], "The wrong heap was given for the operation.", {}),
            (
                [0xD],
                "A free list is corrupt (use after free or overflow of a neighbouring block).",
                {},
            ),
            ([0xE], "A list other than the free list is corrupt.", {}),
            (
                [0xF],
                "An operation that is illegal on a free block (free, size query) was tried.",
                {},
            ),
            ([0x10], "Inconsistent internal state, possibly from a buffer overflow.", {}),
            ([0x11], "Inconsistent internal state, possibly from a double free.", {}),
            (
                [0x12],
                "Inconsistent internal state, possibly from use after free or a neighbour's "
                "overflow.",
                {},
            ),
            ([0x13], "A NULL heap handle was passed.", {}),
            ([0x14], "The allocation is larger than the current limit.", {}),
            ([0x15], "A commit request would exceed the commit limit.", {}),
            ([0x16], "Internal heap error, possibly from a bad address or corruption.", {}),
            (
                [0x17],
                "A block in a delay-free list was damaged (likely use after free or a "
                "neighbour's overflow).",
                {},
            ),
        ],
        "hints": [
            "`!analyze -v` for the stack and the suspected module.",
            "`!pool <Arg3>` to see which tag owns the damaged area and its neighbours.",
            "Special Pool on the suspect driver catches overruns and use after free at the "
            "exact access (0xD5, 0xD6).",
        ],
    },
    0x133: {
        "summary": (
            "The DPC watchdog fired: either one DPC or ISR ran longer than its allotment "
            "(Arg1 = 0), or the processor spent too long in total at DISPATCH_LEVEL or above "
            "(Arg1 = 1). A DPC should finish within about 100 microseconds and an ISR within "
            "about 25; the enforced limits are far higher, so reaching them means code spun, "
            "waited or looped at raised IRQL."
        ),
        "args": [
            ("kind", "0 = a single DPC/ISR timed out, 1 = cumulative time at high IRQL."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1."),
        ],
        "selector": 1,
        "variants": [
            (
                [0],
                "A single DPC or ISR exceeded its time allotment; the stack at the bug check "
                "usually shows the culprit.",
                {
                    2: ("time used", "DPC time count, in clock ticks."),
                    3: ("allotment", "DPC time allotment, in clock ticks."),
                    4: (
                        "triage block",
                        "May point to an nt!DPC_WATCHDOG_GLOBAL_TRIAGE_BLOCK with details "
                        "(often 0).",
                    ),
                },
            ),
            (
                [1],
                "The processor stayed at DISPATCH_LEVEL or above too long in total; the code "
                "running at the bug check is not necessarily the culprit.",
                {
                    2: ("watchdog period", "In clock ticks."),
                    3: (
                        "triage block",
                        "`dt nt!DPC_WATCHDOG_GLOBAL_TRIAGE_BLOCK <Arg3>` shows more detail.",
                    ),
                    4: ("reserved", ""),
                },
            ),
        ],
        "hints": [
            "`k`: for Arg1 = 0 the long-running routine is normally on the stack.",
            "`!pcr` gives the Prcb address; `dt nt!_KPRCB <Prcb> Dpc*` shows the DPC and "
            "watchdog fields.",
            "`!dpcs` lists queued DPCs.",
            "For Arg1 = 1, an ETW trace of DPC/ISR durations usually identifies the driver.",
        ],
    },
    0x9F: {
        "summary": (
            "A driver left a power transition in an inconsistent or stuck state. Most often a "
            "device held a power IRP too long (Arg1 = 3), so sleep, hibernate or resume could "
            "not finish. Other sub-cases: a device object freed with a power request "
            "outstanding, PoStartNextPowerIrp never called, or a PoFx directed power "
            "transition that did not complete."
        ),
        "args": [
            ("sub-case", "Kind of power failure; selects the meaning of Arg2 to Arg4."),
            ("detail", "Depends on Arg1; for Arg1 = 3 the physical device object."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1; for Arg1 = 3 the blocked IRP."),
        ],
        "selector": 1,
        "variants": [
            (
                [0x1],
                "A device object being freed still has an uncompleted power request.",
                {2: ("device object", ""), 3: ("reserved", ""), 4: ("reserved", "")},
            ),
            (
                [0x2],
                "The system power IRP was completed but PoStartNextPowerIrp was not called.",
                {
                    2: ("target device object", "If available."),
                    3: ("device object", ""),
                    4: ("driver object", "If available."),
                },
            ),
            (
                [0x3],
                "A device has held a power IRP for too long.",
                {
                    2: ("PDO", "Physical device object of the stack; use `!devstack <Arg2>`."),
                    3: (
                        "triage data",
                        "nt!_TRIAGE_9F_POWER (Windows 7 and later; the FDO before that): "
                        "lists pending power IRPs and power worker threads.",
                    ),
                    4: ("blocked IRP", "Use `!irp <Arg4>` to see which driver holds it."),
                },
            ),
            (
                [0x4],
                "The power transition timed out waiting to synchronize with Plug and Play.",
                {
                    2: ("timeout", "In seconds."),
                    3: ("PnP lock owner", "Thread holding the PnP lock; use `!thread`."),
                    4: ("triage data", "nt!_TRIAGE_9F_PNP."),
                },
            ),
            (
                [0x5],
                "A device did not finish a directed power transition in time.",
                {2: ("PDO", ""), 3: ("POP_FX_DEVICE", ""), 4: ("reserved", "0.")},
            ),
            (
                [0x6],
                "A device did not complete its directed power transition callback successfully.",
                {
                    2: ("POP_FX_DEVICE", ""),
                    3: ("direction", "1 = directed power down, 0 = power up."),
                    4: ("reserved", "0."),
                },
            ),
            (
                [0x500],
                "The system power IRP was completed but PoStartNextPowerIrp was not called.",
                {
                    2: ("reserved", ""),
                    3: ("target device object", "If available."),
                    4: ("device object", ""),
                },
            ),
        ],
        "hints": [
            "Arg1 = 3: `!irp <Arg4>` shows the pending stack location and its driver; "
            "`!devstack <Arg2>` shows the device stack.",
            "`dt nt!_TRIAGE_9F_POWER <Arg3>` lists outstanding power IRPs and worker threads.",
            "`!poaction` shows the power action in progress and allocated power IRPs.",
            "`!thread` on the worker thread that owns the IRP shows what it waits for.",
            "`dx KiBugCheckDriver` prints the driver the kernel blamed, if any.",
        ],
    },
    0xD5: {
        "summary": (
            "Special Pool caught a verified driver reading or writing a block after freeing "
            "it (use after free). The access faults immediately, so the stack points at the "
            "offending instruction."
        ),
        "args": SPECIAL_POOL_FAULT_ARGS,
        "hints": [
            "`ln <Arg3>` / `u <Arg3>` for the offending code.",
            "`!pool <Arg1>` confirms the address is freed special pool.",
            "With Pool Tracking on, `!verifier 0x80 <Arg1>` shows who allocated and freed "
            "the block.",
        ],
    },
    0xD6: {
        "summary": (
            "A verified driver accessed memory past the end of its pool block: it allocated n "
            "bytes and touched byte n or beyond. Special Pool places the block against the end "
            "of a page followed by an unmapped page, so the overrun faults at the exact access."
        ),
        "args": SPECIAL_POOL_FAULT_ARGS,
        "hints": [
            "`ln <Arg3>` / `u <Arg3>` for the offending code; check the length computations.",
            "`!pool <Arg1>` shows the block size and tag.",
        ],
    },
    0xCC: {
        "summary": (
            "Special Pool caught an access to a block after it was freed, but the access was "
            "not attributed to a verified driver; usually the system and a driver disagree "
            "about the block's lifetime."
        ),
        "args": SPECIAL_POOL_FAULT_ARGS,
        "hints": ["`ln <Arg3>`, `kb`, and `!pool <Arg1>`."],
    },
    0xCD: {
        "summary": (
            "Special Pool caught an access beyond the end of a driver's block, but the access "
            "was made by the system rather than attributed to the driver; often a size passed "
            "to the system does not match the block."
        ),
        "args": SPECIAL_POOL_FAULT_ARGS,
        "hints": ["`ln <Arg3>`, `kb`, and `!pool <Arg1>`."],
    },
    0xCB: {
        "summary": (
            "Pages locked for an I/O (an MDL probed and locked) were still locked when the "
            "process ended: a driver or the I/O manager forgot MmUnlockPages. This precise "
            "form appears when the TrackLockedPages registry value is 1 or Driver Verifier's "
            "Pool Tracking is on; otherwise the less informative 0x76 appears."
        ),
        "args": [
            ("lock tracking record", "Internal structure describing the locked range."),
            ("reserved", "0."),
            ("MDL", "The MDL that still holds the locked pages."),
            ("page count", "Number of pages still locked."),
        ],
        "hints": [
            "`!lockedpages` lists locked MDLs of the current process.",
            "`dt nt!_MDL <Arg3>` shows the MDL; its allocation stack is in the tracking data.",
        ],
    },
    0xCE: {
        "summary": (
            "Code ran in, or memory was touched inside, a driver that had already unloaded: "
            "the driver left timers, DPCs, worker threads, lookaside lists or similar items "
            "alive when it unloaded."
        ),
        "args": [
            ("address referenced", "Address in the unloaded driver's former range."),
            ("access kind", "0 = read, 1 = write."),
            ("faulting instruction", "Address that made the reference, when known."),
            ("reserved", "Not used for diagnosis."),
        ],
        "hints": [
            "`lm` lists unloaded modules at its end; compare their ranges with Arg1/Arg3.",
            "Audit the unload routine: cancel timers, flush DPCs, stop threads and work items, "
            "delete lookaside lists.",
        ],
    },
    0xC5: {
        "summary": (
            "The kernel faulted at raised IRQL while walking pool structures: a driver has "
            "corrupted the pool, usually around a small (below one page) allocation; large "
            "allocations tend to show up as 0xD0 instead. Special Pool on the suspects is the "
            "way to catch the writer."
        ),
        "args": [
            ("address referenced", "The pool memory that could not be used."),
            ("IRQL", "IRQL at the time of the reference."),
            ("access kind", "0 = read, 1 = write."),
            ("faulting instruction", "Address of the instruction that made the reference."),
        ],
        "hints": [
            "`!pool <Arg1>` to see the damaged page and the tags of the neighbouring blocks.",
            "Enable Special Pool for suspect drivers, or by tag with gflags.",
        ],
    },
    0x7F: {
        "summary": (
            "The CPU raised a trap that the kernel could not or may not handle. By far the most "
            "common is a double fault (trap 8), typically caused by a kernel stack overflow "
            "(for example many filter drivers on one stack) or by failing hardware."
        ),
        "args": [
            ("trap number", "Processor trap that occurred; see the per-value table."),
            ("undocumented", "Not described by the documentation."),
            ("undocumented", "Not described by the documentation."),
            ("undocumented", "Not described by the documentation."),
        ],
        "selector": 1,
        "variants": [
            ([0x0], "Divide error: a division by zero.", {}),
            ([0x1], "Debug trap (system debugger call).", {}),
            ([0x3], "Breakpoint (INT 3).", {}),
            ([0x4], "Overflow trap (INTO with the overflow flag set).", {}),
            ([0x5], "BOUND range exceeded.", {}),
            ([0x6], "Invalid opcode, usually a corrupted instruction pointer.", {}),
            ([0x7], "Coprocessor instruction with no coprocessor available.", {}),
            (
                [0x8],
                "Double fault: a fault occurred while handling another one; usually a kernel "
                "stack overflow or hardware.",
                {},
            ),
            ([0xA], "Invalid task state segment.", {}),
            ([0xB], "Segment not present.", {}),
            ([0xC], "Stack fault: access beyond a stack limit.", {}),
            ([0xD], "General protection fault.", {}),
            ([0xF], "Reserved trap.", {}),
            ([0x10], "Coprocessor (floating point) error.", {}),
            ([0x11], "Alignment check.", {}),
        ],
        "hints": [
            "`kv`: if it shows a task gate use `.tss`, if it shows a trap frame use `.trap`, "
            "then `kv` again.",
            "For a double fault, `!thread` gives the stack base and limit to compare with the "
            "stack pointer; `kf` shows how much stack each frame uses.",
        ],
    },
    0x1A: {
        "summary": (
            "The memory manager found one of its structures (page tables, PFN database, "
            "working sets, pool bitmaps) in an impossible state. Arg1 names the check; several "
            "values point at hardware, others at a driver that freed, locked or mapped memory "
            "incorrectly."
        ),
        "args": [
            ("check", "Which memory-management check failed; see the per-value table."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1."),
        ],
        "selector": 1,
        "variants": [
            ([0x31], "An image's relocation table or code was corrupted; likely hardware.", {}),
            (
                [0x3F],
                "An in-page read failed its CRC check.",
                {
                    2: ("pagefile offset", ""),
                    3: ("page CRC", ""),
                    4: ("expected CRC", ""),
                },
            ),
            (
                [0x403],
                "Page table and PFN database disagree; likely hardware when Arg3 and Arg4 "
                "differ by one bit.",
                {},
            ),
            (
                [0x404],
                "While deleting a system page, the PFN and the PTE pointer disagreed.",
                {2: ("expected PTE", ""), 3: ("PTE contents", ""), 4: ("PFN's PTE", "")},
            ),
            ([0x411], "A PTE is corrupt.", {2: ("PTE address", "")}),
            (
                [0x1010],
                "A pageable section was unlocked although it was not locked (never locked or "
                "unlocked twice).",
                {},
            ),
            (
                [0x1233],
                "A driver mapped a physical page that was not locked.",
                {2: ("page frame", "The page the driver tried to map.")},
            ),
            ([0x1234], "Lock of a pageable section that does not exist.", {}),
            (
                [0x1236],
                "An MDL contains an unlocked or invalid physical page.",
                {2: ("MDL", ""), 3: ("pointer to bad PFN", ""), 4: ("bad PFN value", "")},
            ),
            (
                [0x1240],
                "MDL built for a virtual range that is not resident.",
                {2: ("MDL", ""), 3: ("PTE pointer", "")},
            ),
            ([0x3451], "PTEs of a swapped-out kernel stack are corrupt.", {}),
            (
                [0x5305],
                "Free of an invalid pool address.",
                {2: ("address", ""), 3: ("region size", "")},
            ),
            ([0x41286], "Free of an invalid pool address.", {}),
            ([0x41790], "A page table page is corrupt.", {}),
            (
                [0x41792],
                "A corrupt PTE was found.",
                {2: ("PTE address", ""), 3: ("PTE low part", ""), 4: ("PTE high part", "")},
            ),
            (
                [0x5200],
                "A page on a free pool list was corrupted: write after free or overrun from "
                "the previous page.",
                {2: ("free block", ""), 3: ("value found", ""), 4: ("value expected", "")},
            ),
            (
                [0x61946],
                "The MDL being built is flawed; usually the caller of MmProbeAndLockPages is "
                "at fault (e.g. a write MDL while serving a paging read).",
                {},
            ),
        ],
        "hints": [
            "`!analyze -v` for the stack and blamed module.",
            "Values pointing at single-bit differences or CRC failures suggest a memory test "
            "before debugging drivers.",
        ],
    },
    0xEF: {
        "summary": (
            "A process (or a thread of it) that Windows marks as critical, such as csrss.exe, "
            "wininit.exe, smss.exe or services.exe, terminated, so the system stopped. The "
            "reason is usually found in that process: a user-mode dump may exist and should be "
            "examined first."
        ),
        "args": [
            ("process", "The process object; use `!process <Arg1> 7`."),
            ("what ended", "0 = the process terminated, 1 = a thread terminated."),
            ("reserved", "Not used for diagnosis."),
            ("reserved", "Not used for diagnosis."),
        ],
        "hints": [
            "`!process <Arg1> 7` shows the process and its threads.",
            "`!thread` on the terminating thread when Arg2 = 1.",
        ],
    },
    0x116: {
        "summary": (
            "A display driver stopped responding (timeout detection and recovery, TDR) and "
            "the attempt to reset it failed, or TDRs happened too often (by default more than "
            "five within a minute)."
        ),
        "args": [
            (
                "recovery context",
                "Internal TDR recovery context, if available; `dt "
                "dxgkrnl!_TDR_RECOVERY_CONTEXT <Arg1>` with symbols.",
            ),
            (
                "driver pointer",
                "Points into the responsible display driver; `ln`/`ub` on it identifies it.",
            ),
            ("last error", "NTSTATUS of the last failed operation, if available."),
            ("internal data", "Context-dependent internal data, if available."),
        ],
        "hints": [
            "`ln <Arg2>` and `lmvm <module>` identify the display driver and its version.",
            "`!error <Arg3>` for the failing status.",
        ],
    },
    0x117: {
        "summary": (
            "Live dump, not a crash: the display driver failed to respond in time and Windows "
            "reset it (TDR). The system kept running; the dump records the state at the "
            "timeout."
        ),
        "args": [
            ("recovery context", "Internal TDR recovery context, if available."),
            ("driver pointer", "Points into the responsible display driver module."),
            ("bucketing key", "Secondary, driver-specific bucketing key."),
            ("internal data", "Context-dependent internal data, if available."),
        ],
        "hints": ["`ln <Arg2>` identifies the display driver."],
    },
    0x124: {
        "summary": (
            "A fatal hardware error was reported through the Windows Hardware Error "
            "Architecture (machine check, PCI Express, memory, firmware-reported errors). It "
            "is rarely a driver bug: suspect the CPU, memory, overheating, overclocking or "
            "firmware."
        ),
        "args": [
            ("error source", "Type of error source that reported the error."),
            ("error record", "WHEA_ERROR_RECORD describing the error; use `!errrec <Arg2>`."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1."),
        ],
        "selector": 1,
        "variants": [
            (
                [0x0],
                "Machine check exception.",
                {
                    3: ("MCi_STATUS high", "High 32 bits of the failing bank's MCi_STATUS."),
                    4: ("MCi_STATUS low", "Low 32 bits of the failing bank's MCi_STATUS."),
                },
            ),
            ([0x1], "Corrected machine check.", {}),
            ([0x2], "Corrected platform error.", {}),
            ([0x3], "Non-maskable interrupt (NMI) error.", {}),
            ([0x4], "Uncorrectable PCI Express error.", {}),
            ([0x5], "Generic hardware error.", {}),
            ([0x6], "Initialization error.", {}),
            ([0x7], "Boot error.", {}),
            ([0x8], "Scalable coherent interface (SCI) generic error.", {}),
            ([0x9], "Uncorrectable Itanium machine check abort.", {}),
            ([0xA], "Corrected Itanium machine check.", {}),
            ([0xB], "Corrected Itanium platform error.", {}),
            ([0xC], "Other error source (v2).", {}),
            ([0xD], "SCI-based generic hardware error source (GHESv2).", {}),
            ([0xE], "Baseboard management controller error.", {}),
            ([0xF], "Persistent memory address range scrubbing error.", {}),
            ([0x10], "Device driver error source.", {}),
            ([0x11], "Arm synchronous external abort.", {}),
            ([0x12], "Arm SError interrupt.", {}),
        ],
        "hints": [
            "`!errrec <Arg2>` decodes the error record.",
            "`!whea` and `!errpkt` show more WHEA state.",
        ],
    },
    0x101: {
        "summary": (
            "A secondary processor did not take an expected clock interrupt in time: it is "
            "hung, spinning with interrupts disabled, or deadlocked."
        ),
        "args": [
            ("timeout", "Clock interrupt timeout interval, in nominal clock ticks."),
            ("zero", "0."),
            ("PRCB", "Processor control block of the processor that stopped responding."),
            ("processor", "Index of the hung processor."),
        ],
        "hints": [
            "`~<Arg4>s` switches to the hung processor; then `k` shows what it runs.",
            "`!prcb`, `!pcr` and `!irql` for processor state.",
        ],
    },
    0x154: {
        "summary": (
            "The kernel memory store component, which keeps compressed memory, caught an "
            "exception it did not expect."
        ),
        "args": [
            ("store context", "Pointer to the store context or data manager."),
            ("exception information", "Information about the exception."),
            ("reserved", "Not used for diagnosis."),
            ("reserved", "Not used for diagnosis."),
        ],
        "hints": ["`!analyze -v`; compare several dumps for a common code path."],
    },
    0xA0: {
        "summary": (
            "The power policy manager hit a fatal internal error, for example while handling "
            "power IRPs or while checking hibernation data. Arg1 names the failure."
        ),
        "args": [
            ("failure", "Kind of power manager failure; selects Arg2 to Arg4."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1."),
            ("detail", "Depends on Arg1."),
        ],
        "selector": 1,
        "variants": [
            ([0x1], "Error while handling a power IRP.", {}),
            ([0x2], "Internal failure while processing a power event.", {}),
            (
                [0x3],
                "Checksum of a hibernation context page does not match.",
                {
                    2: ("expected checksum", ""),
                    3: ("actual checksum", ""),
                    4: ("line number", "Source line of the failing check."),
                },
            ),
            (
                [0x4],
                "Checksum of a page about to be written to the hibernation file does not match.",
                {
                    2: ("expected checksum", ""),
                    3: ("actual checksum", ""),
                    4: ("line number", "Source line of the failing check."),
                },
            ),
        ],
        "hints": ["`!analyze -v`; `!poaction` shows the power action in progress."],
    },
}

# =============================================================================================
# Bug check 0xC4: one line per Arg1 value, plus fuller notes for pool and leak codes.
# =============================================================================================

C4_MEANING: dict[int, str] = {
    0x0: "The driver asked for a zero-byte pool allocation.",
    0x1: "Paged pool allocation attempted above APC_LEVEL.",
    0x2: "Nonpaged pool allocation attempted above DISPATCH_LEVEL.",
    0x3: "More than one page of must-succeed pool requested; one page is the maximum.",
    0x10: "The driver freed an address that no allocation call returned.",
    0x11: "Paged pool freed above APC_LEVEL.",
    0x12: "Nonpaged pool freed above DISPATCH_LEVEL.",
    0x13: "The driver freed a pool block that was already free (double free).",
    0x14: "The driver freed a pool block that was already free (double free).",
    0x15: "A pool block being freed still contains an active timer.",
    0x16: "Free of a bad pool address, or invalid arguments passed to a memory routine.",
    0x17: "A pool block being freed still contains an active ERESOURCE.",
    0x30: (
        "KeRaiseIrql given a target below the current IRQL or above HIGH_LEVEL (often an "
        "uninitialized variable)."
    ),
    0x31: (
        "KeLowerIrql given a target above the current IRQL or above HIGH_LEVEL, or one not "
        "allowed inside a DPC."
    ),
    0x32: "KeReleaseSpinLock called at an IRQL other than DISPATCH_LEVEL (maybe a double release).",
    0x33: "Fast mutex acquired above APC_LEVEL.",
    0x34: "Fast mutex released at an IRQL other than APC_LEVEL.",
    0x35: "A spin lock was released while IRQL was not DISPATCH_LEVEL.",
    0x36: "A queued spin lock was released while IRQL was not DISPATCH_LEVEL.",
    0x37: "ERESOURCE acquired while normal kernel APCs were enabled (no critical region).",
    0x38: "ERESOURCE released while normal kernel APCs were enabled.",
    0x39: "Mutex acquired with an 'unsafe' routine while IRQL was not APC_LEVEL.",
    0x3A: "Mutex released with an 'unsafe' routine while IRQL was not APC_LEVEL.",
    0x3B: "KeWaitForXxx called at DISPATCH_LEVEL or above.",
    0x3C: "ObReferenceObjectByHandle given a bad handle.",
    0x3D: "Misaligned ERESOURCE passed to ExAcquireResourceExclusive.",
    0x3E: "KeLeaveCriticalRegion called by a thread that was not in a critical region.",
    0x3F: "Object referenced or dereferenced while its reference count was already zero.",
    0x40: "KeAcquireSpinLockAtDpcLevel called below DISPATCH_LEVEL.",
    0x41: "KeReleaseSpinLockFromDpcLevel called below DISPATCH_LEVEL.",
    0x42: "KeAcquireSpinLock called above DISPATCH_LEVEL.",
    0x51: "At free time, Verifier found the driver had written past the end of the block.",
    0x52: "At free time, Verifier found the driver had written past the end of the block.",
    0x53: "At free time, Verifier found the driver had written past the end of the block.",
    0x54: "At free time, Verifier found the driver had written past the end of the block.",
    0x59: "At free time, Verifier found the driver had written past the end of the block.",
    0x60: "The driver is unloading while pool allocations it made are still outstanding.",
    0x61: "A driver thread allocated pool while the driver was unloading.",
    0x62: (
        "The driver unloaded without freeing all its pool allocations (from Windows 8.1 also "
        "its IoAllocateWorkItem work items)."
    ),
    0x6F: (
        "MmProbeAndLockPages used on pages outside the PFN database (typically the driver's "
        "own device memory)."
    ),
    0x70: "MmProbeAndLockPages called above DISPATCH_LEVEL.",
    0x71: "MmProbeAndLockProcessPages called above DISPATCH_LEVEL.",
    0x72: "MmProbeAndLockSelectedPages called above DISPATCH_LEVEL.",
    0x73: "MmMapIoSpace called above DISPATCH_LEVEL.",
    0x74: "MmMapLockedPages (kernel-mode mapping) called above DISPATCH_LEVEL.",
    0x75: "MmMapLockedPages (user-mode mapping) called above APC_LEVEL.",
    0x76: "MmMapLockedPagesSpecifyCache (kernel-mode mapping) called above DISPATCH_LEVEL.",
    0x77: "MmMapLockedPagesSpecifyCache (user-mode mapping) called above APC_LEVEL.",
    0x78: "MmUnlockPages called above DISPATCH_LEVEL.",
    0x79: "MmUnmapLockedPages (kernel-mode address) called above DISPATCH_LEVEL.",
    0x7A: "MmUnmapLockedPages (user-mode address) called above APC_LEVEL.",
    0x7B: "MmUnmapIoSpace called above APC_LEVEL.",
    0x7C: "MmUnlockPages given an MDL whose pages were never successfully locked.",
    0x7D: "MmUnlockPages given an MDL describing nonpaged pool, which must never be unlocked.",
    0x7E: "MmAllocatePagesForMdl(Ex) or MmFreePagesFromMdl called above DISPATCH_LEVEL.",
    0x7F: "MmBuildMdlForNonPagedPool given an MDL whose pages are paged pool.",
    0x80: "KeSetEvent called above DISPATCH_LEVEL.",
    0x81: (
        "MmMapLockedPages was called; use MmMapLockedPagesSpecifyCache with BugCheckOnFailure "
        "set to FALSE instead."
    ),
    0x82: "MmMapLockedPagesSpecifyCache called with BugCheckOnFailure set to TRUE.",
    0x83: "MmMapIoSpace called on a physical range whose pages are not locked down.",
    0x85: "MmMapLockedPages called on an MDL whose pages are not locked down.",
    0x89: "An MDL not marked as I/O space contains non-RAM page frames.",
    0x91: (
        "The driver switched stacks in an unsupported way; only KeExpandKernelStackAndCallout "
        "may be used to get more stack."
    ),
    0xA0: "Disk integrity check: a sector failed its CRC during a read or write request.",
    0xA1: "Disk integrity check: a sector failed its CRC after the request had completed.",
    0xA2: "Disk integrity check: the stored checksum copies disagree (possibly a paging error).",
    0xB0: (
        "MmProbeAndLockPages given an MDL with wrong flags (e.g. one built by "
        "MmBuildMdlForNonPagedPool)."
    ),
    0xB1: "MmProbeAndLockProcessPages given an MDL with wrong flags.",
    0xB2: "MmMapLockedPages given an MDL with wrong flags (already mapped, or not locked).",
    0xB3: "MmMapLockedPages given an MDL that lacks a required flag (e.g. pages not locked).",
    0xB4: "MmUnlockPages called on a partial MDL (one built by IoBuildPartialMdl).",
    0xB5: "MmUnmapLockedPages called on a partial MDL.",
    0xB6: "MmUnmapLockedPages called on an MDL that is not mapped to a system address.",
    0xB7: "Firmware corrupted low physical memory during a sleep transition.",
    0xB8: "IoFreeMdl called while the MDL's pages were still mapped.",
    0xB9: "MmUnmapLockedPages called with an invalid user-space address.",
    0xC0: "IoCallDriver called with interrupts disabled.",
    0xC1: "A dispatch routine returned with interrupts disabled.",
    0xC2: "A fast I/O routine was called after interrupts had been disabled.",
    0xC3: "A fast I/O routine returned with interrupts disabled.",
    0xC5: (
        "A dispatch routine changed the thread's APC-disable count (unbalanced critical "
        "region, FsRtlEnterFileSystem or mutex)."
    ),
    0xC6: "A fast I/O routine changed the thread's APC-disable count.",
    0xCA: "A lookaside list was initialized a second time.",
    0xCB: "Delete of a lookaside list that was never initialized.",
    0xCC: "A pool block being freed still contains an active lookaside list.",
    0xCD: "Lookaside list created with a block size below the minimum.",
    0xD0: "An ERESOURCE was initialized a second time.",
    0xD1: "Delete of an ERESOURCE that was never initialized.",
    0xD2: "A pool block being freed still contains an active ERESOURCE.",
    0xD5: "IoReleaseRemoveLock tag differs from the tag used to acquire the remove lock.",
    0xD6: "IoReleaseRemoveLockAndWait tag differs from the tag used to acquire the lock.",
    0xD7: "A remove lock was initialized again; a remove lock may be initialized only once.",
    0xDA: "The driver is unloading while its WMI callback is still registered.",
    0xDB: "A device object was deleted without deregistering it from WMI.",
    0xDC: "EtwUnregister called with an invalid registration handle.",
    0xDD: "The driver is unloading without calling EtwUnregister for a provider it registered.",
    0xDF: "A synchronization object lives in session address space.",
    0xE0: "A kernel routine was called with a user-mode address as a parameter.",
    0xE1: "A synchronization object has an invalid or pageable address.",
    0xE2: "An IRP marked as a kernel-mode request carries a user-mode address.",
    0xE3: "A Zw routine was called from the driver with a user-mode address argument.",
    0xE4: "A Zw routine was called with a malformed UNICODE_STRING.",
    0xE5: "A kernel routine was called at a wrong IRQL.",
    0xE6: "A Zw routine was called above PASSIVE_LEVEL or with special kernel APCs disabled.",
    0xEA: "Pushlock acquired while APCs were enabled.",
    0xEB: "Pushlock released while APCs were enabled.",
    0xF0: "memcpy called with overlapping source and destination buffers.",
    0xF5: "NULL handle passed to ObReferenceObjectByHandle.",
    0xF6: "A user-mode handle was referenced as if it were a kernel handle.",
    0xF7: "User-mode reference to a kernel handle attempted in the System process.",
    0xFA: "An IRP completion routine returned at a different IRQL than it was called at.",
    0xFB: "An IRP completion routine changed the thread's APC-disable count.",
    0xFC: "ZwNotifyChangeKey called from kernel mode with an unsupported ApcContext.",
    0x105: "An IRP was released with ExFreePool instead of IoFreeIrp.",
    0x10A: "Pool quota charged to the Idle process (typically an allocation with quota in a DPC).",
    0x10B: "Pool quota charged from a DPC routine, where the current process is arbitrary.",
    0x110: "An interrupt service routine corrupted the thread's extended register context.",
    0x111: "An interrupt service routine returned at a different IRQL.",
    0x115: "Shutdown has run for more than 20 minutes; a thread may be deadlocked.",
    0x11A: "KeEnterCriticalRegion called above APC_LEVEL.",
    0x11B: "KeLeaveCriticalRegion called above APC_LEVEL.",
    0x120: "A thread waits above DISPATCH_LEVEL.",
    0x121: "A thread waits at DISPATCH_LEVEL without a timeout.",
    0x122: "A thread waits at DISPATCH_LEVEL with a nonzero timeout.",
    0x123: "A UserMode wait targets an object that lives on the kernel stack.",
    0x130: "A work item lives in session address space.",
    0x131: "A work item lives in pageable memory.",
    0x135: "A cancelled IRP was not completed within the allowed time.",
    0x13A: "At ExFreePool, a tracking value Verifier keeps for the block is wrong.",
    0x13B: "At ExFreePool, a tracking value Verifier keeps for the block is wrong.",
    0x13C: "At ExFreePool, a tracking value Verifier keeps for the block is wrong.",
    0x13D: "At ExFreePool, a tracking value Verifier keeps for the block is wrong.",
    0x13E: "The address passed to ExFreePool differs from the one Verifier recorded.",
    0x13F: "The size being freed differs from the size Verifier recorded for the block.",
    0x140: "An MDL that was not locked was built over pageable or tradable memory.",
    0x141: "The driver explicitly asked for physical memory below 4 GB.",
    # deadlock detection and related verifier checks
    0x1000: (
        "Self-deadlock: the thread recursively and exclusively acquires a resource it holds "
        "only shared."
    ),
    0x1001: "Lock-order violation: taking this lock closes a cycle that can deadlock.",
    0x1002: "A resource was acquired before being initialized.",
    0x1003: "Resources were released in the wrong order.",
    0x1004: "A resource was released by a thread other than the one that acquired it.",
    0x1005: "A resource was initialized more than once.",
    0x1007: "A resource was released without having been acquired.",
    0x1008: "A lock was acquired with a routine that does not match its lock type.",
    0x1009: "A lock was released with a routine that does not match its lock type.",
    0x100A: "A thread terminated while it still owned a lock.",
    0x100B: "A lock was deleted while a thread still owned it.",
    0x1010: "The buffer of an invariant MDL in a write IRP was modified.",
    0x1011: (
        "The buffer of an invariant MDL in a read IRP was modified during dispatch, or is "
        "backed by dummy pages."
    ),
    0x1012: "Verifier found its extension state storage corrupted.",
    0x1013: "Verifier found its captured copy of the driver's I/O callbacks corrupted.",
    # code integrity (memory integrity compatibility)
    0x2000: "Pool allocation with an executable pool type; NonPagedPoolNx is expected.",
    0x2001: "Allocation or mapping with an executable page protection.",
    0x2002: "MDL mapped with execute access; MdlMappingNoExecute is expected.",
    0x2003: "The image has a section that is both writable and executable.",
    0x2004: "The image has a section that is not page-aligned.",
    0x2005: "The image's import address table lies in an executable section.",
    # Hyper-V extensible switch
    0xA001: "A NET_BUFFER_LIST was supplied without its SourceHandle set.",
    0xA002: "A supplied NET_BUFFER_LIST has a nonzero forwarding detail.",
    0xA003: "A NET_BUFFER_LIST has a NULL packet header or routing context.",
    0xA004: "Invalid combination of port and NIC index.",
    0xA005: "Invalid destination supplied for a NET_BUFFER_LIST.",
    0xA006: "Invalid source NIC or port object.",
    0xA007: "Invalid destination list.",
    0xA008: "A NIC was referenced when that is not allowed.",
    0xA009: "A port was referenced when that is not allowed.",
    0xA00A: "The failure context of a NET_BUFFER_LIST was already set.",
    0xA00B: "Invalid direction given for a dropped NET_BUFFER_LIST.",
    0xA00C: (
        "A NET_BUFFER_LIST chain has several source ports although "
        "NDIS_SEND_FLAGS_SWITCH_SINGLE_SOURCE is set."
    ),
    0xA00D: (
        "NET_BUFFER_LISTs in the chain have invalid destinations although "
        "NDIS_RECEIVE_FLAGS_SWITCH_DESTINATION_GROUP is set."
    ),
    0xA00E: (
        "A NET_BUFFER_LIST was completed through WNV although "
        "VMS_NBL_ROUTING_CONTEXT_FLAG_NO_WNV_PROCESSING is set."
    ),
}

RULE_GLOSS: dict[str, str] = {
    "IrqlApcLte": "ObGetObjectSecurity and ObReleaseObjectSecurity need IRQL <= APC_LEVEL.",
    "IrqlDispatch": "certain routines may only be called at DISPATCH_LEVEL.",
    "IrqlExAllocatePool": (
        "ExAllocatePoolWithTag and ExAllocatePoolWithTagPriority need IRQL <= DISPATCH_LEVEL."
    ),
    "IrqlExApcLte1": "ExAcquireFastMutex and ExTryToAcquireFastMutex need IRQL <= APC_LEVEL.",
    "IrqlExApcLte2": "a set of routines needs IRQL <= APC_LEVEL.",
    "IrqlExApcLte3": "certain executive support routines need IRQL <= APC_LEVEL.",
    "IrqlExPassive": "certain executive support routines need PASSIVE_LEVEL.",
    "IrqlIoApcLte": "certain I/O manager routines need IRQL <= APC_LEVEL.",
    "IrqlIoPassive1": "certain I/O manager routines need PASSIVE_LEVEL.",
    "IrqlIoPassive2": "certain I/O manager routines need PASSIVE_LEVEL.",
    "IrqlIoPassive3": "certain I/O manager routines need PASSIVE_LEVEL.",
    "IrqlIoPassive4": "certain I/O manager routines need PASSIVE_LEVEL.",
    "IrqlIoPassive5": "certain I/O manager routines need PASSIVE_LEVEL.",
    "IrqlKeApcLte1": "certain kernel routines need IRQL <= APC_LEVEL.",
    "IrqlKeApcLte2": "certain kernel routines need IRQL <= APC_LEVEL.",
    "IrqlKeDispatchLte": "certain kernel routines need IRQL <= DISPATCH_LEVEL.",
    "IrqlKeReleaseSpinLock": "KeReleaseSpinLock must be called at DISPATCH_LEVEL.",
    "IrqlKeSetEvent": (
        "KeSetEvent needs IRQL <= DISPATCH_LEVEL when Wait is FALSE and <= APC_LEVEL when "
        "Wait is TRUE."
    ),
    "IrqlMmApcLte": "certain memory manager routines need IRQL <= APC_LEVEL.",
    "IrqlMmDispatch": "MmFreeContiguousMemory was called at an IRQL the rule does not allow.",
    "IrqlObPassive": "the rule requires ObReferenceObjectByHandle to be called at PASSIVE_LEVEL.",
    "IrqlPsPassive": "certain process and thread manager routines need PASSIVE_LEVEL.",
    "IrqlReturn": "a dispatch routine must return at the IRQL it was entered at.",
    "IrqlRtlPassive": "RtlDeleteRegistryValue needs PASSIVE_LEVEL.",
    "IrqlZwPassive": "ZwClose needs PASSIVE_LEVEL.",
    "IrqlIoDispatch": (
        "IoGetDeviceToVerify or IoSetDeviceToVerify was called at an IRQL the rule does not allow."
    ),
    "IrqlIoRtlZwPassive": "the routines the rule lists need PASSIVE_LEVEL.",
    "IrqlNtifsApcPassive": "the routines the rule lists need PASSIVE_LEVEL or at most APC_LEVEL.",
    "IrqlKeMore": "a Microsoft-internal IRQL rule without public documentation.",
    "CriticalRegions": "KeEnterCriticalRegion and KeLeaveCriticalRegion must pair up (nesting is fine).",
    "QueuedSpinLock": (
        "KeAcquireInStackQueuedSpinLock and KeReleaseInStackQueuedSpinLock must pair up."
    ),
    "QueuedSpinLockRelease": "in-stack queued spin lock acquire and release must strictly alternate.",
    "SpinLock": "a spin lock taken with KeAcquireSpinLock must be released before it is taken again.",
    "SpinlockRelease": (
        "KeReleaseSpinLock must strictly alternate with KeAcquireSpinLock / "
        "KeAcquireSpinLockRaiseToDpc."
    ),
    "GuardedRegions": "KeEnterGuardedRegion and KeLeaveGuardedRegion must strictly alternate.",
    "RequestedPowerIrp": "PoRequestPowerIrp must be called with its Irp pointer argument set to NULL.",
    "IoSetCompletionExCompleteIrp": (
        "the status returned by IoSetCompletionRoutineEx (which can fail) was not handled "
        "correctly."
    ),
    "PnpRemove": (
        "surprise-removal, cancel-remove, cancel-stop and remove PnP requests must not be "
        "completed with a failure status."
    ),
    "KsDeviceMutex": "every KsAcquireDevice must be matched by KsReleaseDevice, in order.",
    "KsStreamPointerClone": "KsStreamPointerClone and KsStreamPointerDelete were misused.",
    "KsStreamPointerLock": "KsStreamPointerLock and KsStreamPointerUnlock were called out of sequence.",
    "KsStreamPointerUnlock": "stream pointers must be unlocked before unload or device stop.",
    "KsCallbackReturn": "a KS miniport callback returned a status it may not return.",
    "KsIrqlDeviceCallbacks": "a KS device callback returned at a different IRQL than it was called at.",
    "KsIrqlFilterCallbacks": "a KS filter callback returned at a different IRQL than it was called at.",
    "KsIrqlPinCallbacks": "a KS pin callback returned at a different IRQL than it was called at.",
    "KsIrqlDDIs": "a KS routine was called at a wrong IRQL.",
    "KsFilterMutex": "the filter mutex was acquired and released out of sequence.",
    "KsProcessingMutex": "the processing mutex was used out of sequence (e.g. taken recursively).",
    "KsInvalidStreamPointer": "an invalid KS stream pointer was passed to a routine.",
    "KsTimedPinSetDeviceState": "a pin state transition took longer than allowed.",
    "KsTimedDeviceCallbacks": "a KS device callback took more than 500 ms.",
    "KsTimedFilterCallbacks": "a KS filter callback took more than 500 ms.",
    "KsTimedPinCallbacks": "a KS pin callback took more than 500 ms.",
    "KsTimedProcessingMutex": "the processing mutex was held for more than 100 ms.",
    "NdisOidComplete": "an OID request was not completed correctly by the miniport.",
    "NdisOidDoubleComplete": "NdisMOidRequestComplete was called twice for the same OID request.",
    "NdisOidDoubleRequest": "the pending OID request must be completed before another is handled.",
    "NdisTimedOidComplete": "an OID request was not completed within 12 seconds.",
    "NdisTimedDataSend": "a send request was not completed within 30 seconds.",
    "NdisTimedDataHang": "pending sends were not processed within 22 seconds.",
    "NdisFilterTimedPauseComplete": (
        "FilterPause took more than 10 seconds, failed, or completed twice."
    ),
    "NdisFilterTimedDataSend": "a filter did not complete a send request in time.",
    "NdisFilterTimedDataReceive": "a filter did not complete a receive request in time.",
    "WlanAssociation": "the Native 802.11 association sequence was not followed.",
    "WlanConnectionRoaming": "the Native 802.11 connection and roaming sequence was not followed.",
    "WlanDisassociation": "the Native 802.11 disassociation sequence was not followed.",
    "WlanAssert": "an internal consistency check of the WDI Wi-Fi driver failed.",
    "WlanTimedAssociation": "a WLAN association did not finish within 10 seconds.",
    "WlanTimedConnectionRoaming": "a WLAN connection or roaming did not finish within 10 seconds.",
    "WlanTimedConnectRequest": (
        "a connect request was not followed by a connection-start indication within 10 seconds."
    ),
    "WlanTimedLinkQuality": (
        "no link-quality indication within 15 seconds after a successful association."
    ),
    "WlanTimedScan": "a WLAN scan did not complete within 15 seconds.",
}

RULE_KIND = {
    "DDI rule": "DDI compliance rule",
    "AVStream rule": "AVStream rule",
    "NDIS/WIFI rule": "NDIS/WIFI rule",
}

# Reference-table argument labels that read better in a different form.
C4_LABEL_FIX = {
    "(blank in table)": "not used",
    "not given (row lacks a cell)": "not documented",
}

POOL_TYPE = "0 = nonpaged, 1 = paged (values from the _POOL_TYPE enumeration)."
POOL_LEAK_HINTS = [
    "`!verifier 3 <driver>.sys` lists every outstanding block: address, length, tag and "
    "the caller inside the driver.",
    "`ln <caller>` maps each caller to a function and, with private symbols, a source line.",
    "`!verifier 0x80 <block address>` replays the allocate/free log for that block, with the "
    "allocating thread and stack (the log keeps the most recent 0x10000 operations).",
    "Tags VMdl and Vfwi were added by Verifier: the driver did not free an MDL (IoFreeMdl) or a "
    "work item (IoFreeWorkItem).",
]
OVERRUN_HINTS = [
    "`!pool <Arg2>` shows the block and its tag.",
    "`!verifier 0x80 <Arg2>` shows where the block was allocated.",
    "Enable Special Pool (`verifier /flags 0x1`) for the driver: the overrun then faults at "
    "the writing instruction (bug check 0xD6).",
]
OVERRUN_EXPLANATION = (
    "Pool Tracking keeps bookkeeping next to each block the driver allocates. When the driver "
    "frees the block and that bookkeeping is damaged, the driver wrote beyond the end of the "
    "block some time earlier. The report comes only at free time; Special Pool stops at the "
    "write itself."
)
TRACKING_EXPLANATION = (
    "When the driver frees a block, Verifier checks the values it recorded for it at "
    "allocation. A mismatch means the block or its bookkeeping was overwritten (an overrun of a "
    "neighbouring block, a write after free) or the pointer being freed is not the one that "
    "was allocated."
)

C4_DETAIL: dict[int, dict[str, Any]] = {
    0x10: {
        "explanation": (
            "ExFreePool received an address that is not the start of any live block: a pointer "
            "into the middle of a block, a stack or global address, or garbage. Typical causes "
            "are freeing a pointer that was advanced after allocation, or freeing the wrong "
            "variable."
        ),
        "args": {
            2: "The bad pointer; `!pool` on it shows whether it falls inside some block.",
            3: "Always 0.",
            4: "Always 0.",
        },
        "hints": [
            "`kb`: the driver frame that called ExFreePool.",
            "`!pool <Arg2>`; `ln <Arg2>` if it points into an image (a global variable).",
        ],
    },
    0x11: {
        "explanation": (
            "Paged pool may only be freed at IRQL <= APC_LEVEL. Freeing it while holding a spin "
            "lock or inside a DPC is the classic cause."
        ),
        "args": {2: "IRQL at the call.", 3: POOL_TYPE, 4: "The block being freed."},
        "hints": ["`kb` shows which lock or DPC raised the IRQL."],
    },
    0x12: {
        "explanation": "Nonpaged pool may only be freed at IRQL <= DISPATCH_LEVEL.",
        "args": {2: "IRQL at the call.", 3: POOL_TYPE, 4: "The block being freed."},
        "hints": ["`kb` shows the caller and why IRQL was raised."],
    },
    0x13: {
        "explanation": (
            "The block was already free when the driver freed it: a double free, or a stale "
            "pointer to a block someone else already released."
        ),
        "args": {
            2: "Not used.",
            3: "Header of the block; `!pool <Arg3>` shows the block.",
            4: "The header's contents.",
        },
        "hints": [
            "`!verifier 0x80 <block address>` lists the earlier free with its stack, if still "
            "in the log.",
            "Set the pointer to NULL after freeing and check ownership across threads.",
        ],
    },
    0x14: {
        "explanation": (
            "The block was already free when the driver freed it: a double free, or a stale "
            "pointer to a block someone else already released."
        ),
        "args": {
            2: "Not used.",
            3: "Header of the block; `!pool <Arg3>` shows the block.",
            4: "The header's contents.",
        },
        "hints": [
            "`!verifier 0x80 <block address>` lists the earlier free with its stack, if still "
            "in the log.",
        ],
    },
    0x15: {
        "explanation": (
            "A KTIMER inside the block is still queued; when it expires the kernel would touch "
            "freed memory. Cancel the timer (KeCancelTimer) and make sure its DPC is not running "
            "before freeing the memory that holds it."
        ),
        "args": {
            2: "The active timer; `dt nt!_KTIMER <Arg2>`, and `ln` on its DPC routine.",
            3: POOL_TYPE,
            4: "The block being freed.",
        },
        "hints": ["`dt nt!_KTIMER <Arg2>` shows the due time and the DPC it will queue."],
    },
    0x16: {
        "explanation": (
            "The address handed to a free routine, or the arguments of another memory routine, "
            "are invalid, for example an address that is not pool at all."
        ),
        "args": {2: "Not used.", 3: "The address concerned.", 4: "Always 0."},
        "hints": ["`kb` and `!pool <Arg3>`."],
    },
    0x17: {
        "explanation": (
            "An ERESOURCE inside the block was initialized and never deleted. Call "
            "ExDeleteResourceLite before freeing the memory that contains it."
        ),
        "args": {
            2: "The ERESOURCE still active; `!locks <Arg2>` shows its state.",
            3: POOL_TYPE,
            4: "The block being freed.",
        },
        "hints": ["`!locks <Arg2>`."],
    },
    0x51: {
        "explanation": OVERRUN_EXPLANATION,
        "args": {
            2: "Start of the block being freed.",
            3: "Address past the end that was written.",
            4: "Bytes charged for the block, i.e. the size the driver may use.",
        },
        "hints": OVERRUN_HINTS,
    },
    0x52: {
        "explanation": OVERRUN_EXPLANATION,
        "args": {
            2: "Start of the block being freed.",
            3: "Verifier's tracking entry for the block.",
            4: "Bytes charged for the block.",
        },
        "hints": OVERRUN_HINTS,
    },
    0x53: {
        "explanation": OVERRUN_EXPLANATION,
        "args": {
            2: "Start of the block being freed.",
            3: "The block's pool header.",
            4: "Not used.",
        },
        "hints": OVERRUN_HINTS,
    },
    0x54: {
        "explanation": OVERRUN_EXPLANATION,
        "args": {
            2: "Start of the block being freed.",
            3: "Not used.",
            4: "Size of Verifier's tracking hash table.",
        },
        "hints": OVERRUN_HINTS,
    },
    0x59: {
        "explanation": OVERRUN_EXPLANATION,
        "args": {
            2: "Start of the block being freed.",
            3: "Index of the tracking list concerned.",
            4: "Not used.",
        },
        "hints": OVERRUN_HINTS,
    },
    0x60: {
        "explanation": (
            "Verifier's unload check found pool the driver still owns. Arg2 and Arg3 give the "
            "paged and nonpaged bytes still held and Arg4 the number of blocks. Everything the "
            "driver allocated must be freed in its unload path (or earlier)."
        ),
        "args": {
            2: "Paged pool bytes the driver still holds.",
            3: "Nonpaged pool bytes the driver still holds.",
            4: "Number of blocks not freed.",
        },
        "hints": POOL_LEAK_HINTS,
    },
    0x61: {
        "explanation": (
            "A thread belonging to the driver allocated pool while the driver was being "
            "unloaded: a thread, timer or work item outlived the start of unload. The unload "
            "routine must stop and wait for all of them before returning."
        ),
        "args": {
            2: "Paged pool bytes the driver holds.",
            3: "Nonpaged pool bytes the driver holds.",
            4: "Number of blocks not freed.",
        },
        "hints": [
            "`kb`: the allocating thread and the routine it runs.",
            *POOL_LEAK_HINTS[:1],
        ],
    },
    0x62: {
        "explanation": (
            "Verifier's unload check found blocks the driver allocated and never freed: a "
            "memory leak. From Windows 8.1 work items from IoAllocateWorkItem that were never "
            "freed count too. `!verifier 3 <driver>.sys` lists the outstanding blocks; each row "
            "gives the address, length, pool tag and the address in the driver that asked for "
            "it. Blocks tagged VMdl are MDLs from IoAllocateMdl and blocks tagged Vfwi are work "
            "items from IoAllocateWorkItem, tagged by Verifier on the driver's behalf; all "
            "other tags are the driver's own."
        ),
        "args": {
            2: "Pointer to the name of the leaking driver (printed by !analyze).",
            3: (
                "Verifier's internal per-driver record; the bug check reference calls it "
                "reserved, !analyze calls it the internal structure with driver information."
            ),
            4: (
                "Number of blocks still allocated, paged and nonpaged together; the !verifier 3 "
                "table should list as many rows."
            ),
        },
        "labels": {3: "verifier driver record (documented as reserved)"},
        "hints": POOL_LEAK_HINTS,
    },
    0xCC: {
        "explanation": (
            "The block being freed contains a lookaside list that is still initialized. Delete "
            "it (ExDeleteNPagedLookasideList / ExDeletePagedLookasideList) before freeing the "
            "memory that holds it."
        ),
        "args": {2: "The lookaside list.", 3: "Start of the block.", 4: "Size of the block."},
    },
    0xD2: {
        "explanation": (
            "The block being freed contains an ERESOURCE that is still initialized. Call "
            "ExDeleteResourceLite before freeing the memory that holds it."
        ),
        "args": {2: "The ERESOURCE.", 3: "Start of the block.", 4: "Size of the block."},
        "hints": ["`!locks <Arg2>`."],
    },
    0x105: {
        "explanation": (
            "IRPs from IoAllocateIrp carry I/O manager state and must be released with "
            "IoFreeIrp; ExFreePool bypasses that."
        ),
        "args": {2: "The IRP.", 3: "Always 0.", 4: "Always 0."},
    },
    0x13A: {
        "explanation": TRACKING_EXPLANATION,
        "args": {
            2: "The block being freed.",
            3: "The wrong tracking value.",
            4: "Where the wrong value is stored.",
        },
        "hints": OVERRUN_HINTS[:2],
    },
    0x13B: {
        "explanation": TRACKING_EXPLANATION,
        "args": {
            2: "The block being freed.",
            3: "Where the wrong value is stored.",
            4: "Pointer to the page pointer that is wrong.",
        },
        "hints": OVERRUN_HINTS[:2],
    },
    0x13C: {
        "explanation": TRACKING_EXPLANATION,
        "args": {
            2: "The block being freed.",
            3: "The wrong tracking value.",
            4: "Where the wrong value is stored.",
        },
        "hints": OVERRUN_HINTS[:2],
    },
    0x13D: {
        "explanation": TRACKING_EXPLANATION,
        "args": {
            2: "The block being freed.",
            3: "Where the wrong value is stored.",
            4: "The value Verifier expected there.",
        },
        "hints": OVERRUN_HINTS[:2],
    },
    0x13E: {
        "explanation": (
            "The address passed to ExFreePool is not the address Verifier recorded for the "
            "allocation: the driver frees a pointer it moved (for example incremented) or a "
            "different block."
        ),
        "args": {
            2: "Address given by the caller.",
            3: "Address Verifier recorded.",
            4: "Where Verifier keeps the recorded address.",
        },
    },
    0x13F: {
        "explanation": (
            "The size being freed differs from the size recorded at allocation: the block's "
            "header or bookkeeping was overwritten."
        ),
        "args": {
            2: "The block being freed.",
            3: "Byte count being freed.",
            4: "Where Verifier keeps the recorded size.",
        },
        "hints": OVERRUN_HINTS[:2],
    },
}

RULEINFO_HINT = (
    "`!ruleinfo <Arg1>` describes the rule; add Arg3 and Arg4 when they hold rule state."
)
GROUP_HINTS = {
    "deadlock": ["`!deadlock` shows the locks and acquisition stacks involved."],
    "DDI rule": [
        RULEINFO_HINT,
        "Run Static Driver Verifier with this rule to find the violating path in the source.",
    ],
    "AVStream rule": [RULEINFO_HINT],
    "NDIS/WIFI rule": [RULEINFO_HINT],
}

# =============================================================================================
# Driver Verifier options and !verifier display bits.
# =============================================================================================

FLAG_TEXT: dict[int, dict[str, Any]] = {
    0x0: {
        "description": (
            "Baseline checks applied to every verified driver whatever options are chosen: "
            "raising or lowering IRQL the wrong way, zero-size or must-succeed allocations, "
            "pool allocated or freed at a wrong IRQL, freeing bad or already freed addresses, "
            "fast mutex and spin lock IRQL misuse, double spin lock release, unsupported stack "
            "switching, and timers, DPCs, lookaside lists, worker threads or queues left behind "
            "at unload. From Windows 10 1709 they are folded into the standard options."
        ),
        "bugchecks": [
            (
                0xC4,
                [
                    0x0,
                    0x1,
                    0x2,
                    0x3,
                    0x10,
                    0x11,
                    0x12,
                    0x13,
                    0x14,
                    0x30,
                    0x31,
                    0x32,
                    0x33,
                    0x34,
                    0x91,
                ],
                "Arg1 values whose descriptions match these checks.",
            ),
            (0xC7, [], "A timer or DPC of the driver was still live after it unloaded."),
        ],
    },
    0x1: {
        "description": (
            "Serves the driver's allocations from special pool: each block gets its own page, "
            "placed against the end of the page (default) with an unmapped page behind it and "
            "a fill pattern before it. Reading or writing past the end, or touching a freed "
            "block, faults at once; writes before the start (or after the end when blocks are "
            "aligned to the page start) are found when the block is freed. From Windows 7 it "
            "also covers IoAllocateMdl, IoAllocateIrp, RTL string routines and "
            "IoSetCompletionRoutineEx. Special pool is limited: once used up, allocations "
            "silently come from normal pool."
        ),
        "bugchecks": [
            (0xC1, [], "Damage next to a block, found when it is freed."),
            (0xD5, [], "The driver touched a block after freeing it."),
            (0xD6, [], "The driver accessed past the end of a block."),
            (0xCC, [], "A freed block was touched by code not attributed to the driver."),
            (0xCD, [], "Past-the-end access by code not attributed to the driver."),
        ],
    },
    0x2: {
        "description": (
            "Whenever the driver takes a spin lock, calls KeSynchronizeExecution or raises IRQL "
            "to DISPATCH_LEVEL or above, Verifier trims all pageable system memory (the "
            "driver's own pageable code and data included) from the working set, so any use of "
            "pageable memory at raised IRQL faults every time instead of only when a page "
            "happens to be out. It also reports synchronization objects placed in pageable "
            "memory (Windows Vista and later) and KeEnterCriticalRegion / KeLeaveCriticalRegion "
            "at DISPATCH_LEVEL or above (Windows 7 and later). `!verifier 8` shows recent IRQL "
            "changes."
        ),
        "bugchecks": [
            (0xD1, [], "Pageable memory used at raised IRQL, attributed to the driver."),
            (0xA, [], "Pageable memory used at raised IRQL."),
            (0xC4, [0x11A, 0x11B], "Critical region entered or left above APC_LEVEL."),
        ],
    },
    0x4: {
        "description": (
            "Randomly fails a share of the driver's allocations and resource requests (pool, "
            "MDL mapping, probe-and-lock, IRPs, MDLs, work items, error log entries, GDI "
            "allocations, among others) to exercise its failure paths; by default about 6 "
            "percent fail, starting eight minutes after boot. It raises no bug check of its "
            "own: crashes come from how the driver handles the failure. `!verifier 4` lists "
            "recent injected failures."
        ),
        "bugchecks": [],
    },
    0x8: {
        "description": (
            "Keeps a record of every pool block the driver holds (address, size, tag, caller) "
            "and checks at unload that all were freed; also tracks locked pages (Windows "
            "Vista and later) and quota charged to the Idle process (Windows 7 and later). It "
            "feeds the per-driver counters and the allocation list of `!verifier 3 "
            "<driver>.sys` and the allocate/free log read by `!verifier 0x80`."
        ),
        "bugchecks": [
            (0xC4, [0x10A], "Leaks at unload (0x60-0x62), overruns seen at free, Idle quota."),
            (0xCB, [], "Locked pages still locked when the process ended."),
        ],
    },
    0x10: {
        "description": (
            "Serves the driver's IRPs from a special pool and checks I/O manager usage: "
            "freeing non-IRPs or IRPs still tied to a thread, bad device objects passed to "
            "IoCallDriver, completing IRPs with an invalid status or a cancel routine still "
            "set, IRQL changes across dispatch routines, events or status blocks on a stack "
            "that has unwound, remove lock tag mismatches, slow completion of cancelled user "
            "IRPs and APCs left disabled. From Windows 7 it includes Enhanced I/O Verification."
        ),
        "bugchecks": [
            (0xC9, [], "I/O manager rule broken; Arg1 is the I/O error code."),
            (0xC4, [], "Remove lock tag mismatches and other Verifier error codes."),
        ],
    },
    0x20: {
        "description": (
            "Records the order in which the driver takes spin locks, mutexes and fast mutexes, "
            "builds a lock-order graph across threads and reports any cycle (a lock hierarchy "
            "violation) before a real deadlock happens. Also reports recursive acquisition, "
            "release in the wrong order or by the wrong thread, and uninitialized or twice "
            "initialized locks. `!deadlock` explains the report."
        ),
        "bugchecks": [(0xC4, [], "Arg1 0x1000-0x100B.")],
    },
    0x40: {
        "description": (
            "Stress-tests PnP, power and WMI IRP handling and checks I/O manager calls, e.g. "
            "that STATUS_PENDING is returned exactly when IoMarkIrpPending was called and that "
            "IoDeleteDevice is not misused. From Windows 7 it is part of I/O Verification and "
            "cannot be chosen separately."
        ),
        "bugchecks": [(0xC9, [], "I/O manager rule broken; Arg1 is the I/O error code.")],
    },
    0x80: {
        "description": (
            "Checks the driver's use of the HAL DMA interfaces (adapter objects, map "
            "registers, common buffers, scatter/gather lists), such as overrunning DMA buffers, "
            "double frees and bypassing the HAL. Also called HAL Verification; `!dma` shows "
            "the state it tracks."
        ),
        "bugchecks": [(0xE6, [], "DMA misuse.")],
    },
    0x100: {
        "description": (
            "Looks for behaviour that opens security holes: Zw routines called with user-mode "
            "addresses or malformed UNICODE_STRING / OBJECT_ATTRIBUTES arguments, and IRPs "
            "marked as kernel-mode requests that carry user-mode buffers (Windows Vista and "
            "later)."
        ),
        "bugchecks": [
            (
                0xC4,
                [0xE0, 0xE2, 0xE3, 0xE4],
                "Arg1 values whose descriptions match these checks.",
            )
        ],
    },
    0x200: {
        "description": (
            "Makes IoCallDriver return STATUS_PENDING at random to test how callers handle "
            "pended requests; turning it on also turns on I/O Verification. `!verifier 0x40` "
            "prints the log of forced-pending IRPs."
        ),
        "bugchecks": [],
    },
    0x400: {
        "description": (
            "Records the driver's most recent IRPs (up to twenty per device) as WMI data that "
            "the DC2WMIParser tool converts to text; used together with I/O Verification."
        ),
        "bugchecks": [],
    },
    0x800: {
        "description": (
            "Catches freeing memory that still holds live kernel objects (queued work items, "
            "ERESOURCEs, lookaside lists), WMI or ETW registrations left at unload or device "
            "deletion, bad kernel handle references (it also turns on handle tracing for the "
            "System process), user-mode handles used with KernelMode access, and UserMode "
            "waits on objects living on the kernel stack."
        ),
        "bugchecks": [
            (
                0xC4,
                [0xCC, 0xD2, 0xDA, 0xDB, 0xDC, 0xDD, 0xF6, 0x123],
                "Arg1 values whose descriptions match these checks.",
            ),
            (0x93, [], "INVALID_KERNEL_HANDLE: a closed or bad kernel handle was referenced."),
        ],
    },
    0x2000: {
        "description": (
            "Computes a signature of an invariant MDL buffer when an IRP first enters the stack "
            "and compares it when the IRP completes (writes) or leaves the stack (reads), "
            "reporting changes made anywhere in the stack. Needs I/O Verification on at least "
            "one driver (Windows 8 and later)."
        ),
        "bugchecks": [(0xC4, [0x1010, 0x1011], "Invariant MDL buffer modified.")],
    },
    0x4000: {
        "description": (
            "Like the stack-wide variant, but checks invariant MDL buffers at each driver's "
            "boundary, so the driver that modified the buffer is named. Needs I/O Verification "
            "(Windows 8 and later)."
        ),
        "bugchecks": [(0xC4, [0x1010, 0x1011], "Invariant MDL buffer modified.")],
    },
    0x8000: {
        "description": (
            "Inserts random delays in threads of drivers using the power management framework "
            "(PoFx) to expose races. Deprecated from Windows 10 build 19042."
        ),
        "bugchecks": [],
    },
    0x10000: {
        "description": (
            "Checks the interface between PortCls and audio miniport drivers, and between "
            "ks.sys and AVStream miniport drivers."
        ),
        "bugchecks": [],
    },
    0x20000: {
        "description": (
            "Checks the driver at run time against DDI usage rules (IRQL requirements of "
            "routines, paired acquire/release calls, IRP and PnP handling rules). A broken "
            "rule is reported with its identifier in Arg1; Static Driver Verifier can then "
            "find the path in the source."
        ),
        "bugchecks": [(0xC4, [], "Arg1 is the rule identifier.")],
    },
    0x40000: {
        "description": (
            "Injects resource failures in a predictable order driven by the driver's call "
            "stacks, so error paths are walked systematically and failures can be reproduced; "
            "`!verifier 0x800` lists the injected failures (Windows 8.1 and later). For "
            "targeted testing of single drivers."
        ),
        "bugchecks": [],
    },
    0x80000: {
        "description": "Adds a further set of DDI compliance rules on top of the standard set.",
        "bugchecks": [(0xC4, [], "Arg1 is the rule identifier.")],
    },
    0x200000: {
        "description": (
            "Rules for NDIS miniport and filter drivers and WLAN drivers: OID request "
            "completion, send and receive timing, WLAN association, roaming and scan "
            "sequences."
        ),
        "bugchecks": [(0xC4, [], "Arg1 is the rule identifier.")],
    },
    0x800000: {
        "description": (
            "Inserts random delays around kernel synchronization to expose race conditions; "
            "for targeted testing of single drivers. Deprecated from Windows 10 build 19042."
        ),
        "bugchecks": [],
    },
    0x1000000: {
        "description": (
            "Checks how Hyper-V extensible switch extensions handle NET_BUFFER_LISTs, ports "
            "and network adapters."
        ),
        "bugchecks": [(0xC4, [], "Arg1 0xA001-0xA00E.")],
    },
    0x2000000: {
        "description": (
            "Checks compatibility with memory integrity (hypervisor-protected code integrity): "
            "executable pool types, executable page protections or MDL mappings, images with "
            "writable and executable or unaligned sections, and import tables in executable "
            "sections."
        ),
        "bugchecks": [(0xC4, [], "Arg1 0x2000-0x2005.")],
    },
}

DISPLAY_TEXT: dict[int, tuple[str, str]] = {
    0x1: (
        "List the verified drivers with the paged and nonpaged pool bytes each one currently "
        "holds.",
        "An image name limits the output to that driver.",
    ),
    0x2: (
        "Add pool details (sizes, headers, tags) and the allocations left behind by unloaded "
        "drivers; only effective together with 0x1 (so `!verifier 3` is the usual form).",
        "An image name limits the output to that driver.",
    ),
    0x4: (
        "Show fault injection records: return address, symbol and offset of each failed request.",
        "When the value is exactly 4, a count picks how many records (default 4).",
    ),
    0x8: (
        "Show the most recent IRQL changes made by verified drivers (old and new IRQL, "
        "processor, time). Inline IRQL changes on 64-bit Windows are not logged.",
        "When the value is exactly 8, a count picks how many records (default 4).",
    ),
    0x20: (
        "Print the Driver Hang Verification log and timing values.",
        "When the value is exactly 0x20, completion time, cancel time and force-cancellation "
        "values can be set until the next boot.",
    ),
    0x40: (
        "Show the log of IRPs forced to pend by the Force Pending I/O Requests option.",
        "When the value is exactly 0x40, a count limits the traces (default: whole log).",
    ),
    0x80: (
        "Show the kernel pool allocate/free log kept with Pool Tracking, newest first.",
        "When the value is exactly 0x80, a count limits the traces, and an address shows only "
        "the records of that block.",
    ),
    0x100: (
        "Show the log of IoAllocateIrp, IoCompleteRequest and IoCancelIrp calls.",
        "When the value is exactly 0x100, a count limits the traces and an address selects "
        "one IRP.",
    ),
    0x200: (
        "Show the critical region log.",
        "An address shows only the entries of that thread.",
    ),
    0x400: (
        "Show cancelled IRPs that Verifier is watching.",
        "An address shows only that IRP.",
    ),
    0x800: (
        "Show the fault injection log of Systematic low resources simulation.",
        "",
    ),
}

# =============================================================================================
# Pool tags that matter in leak tables. Each has a documented basis.
# =============================================================================================

BASIS_LEAK_PAGE = (
    "Driver Verifier documentation: walkthrough of a 0xC4/0x62 memory leak (!verifier 3 "
    "allocation table)"
)
BASIS_POOLTAG = "pooltag.txt shipped with Microsoft debugging tools (2003 resource kit copy)"

POOL_TAGS: list[dict[str, Any]] = [
    {
        "tag": "VMdl",
        "owner": "Driver Verifier",
        "meaning": (
            "An MDL that a verified driver obtained from IoAllocateMdl; Verifier tags it on "
            "the driver's behalf. Outstanding at unload means a missing IoFreeMdl."
        ),
        "basis": BASIS_LEAK_PAGE,
        "verifier": True,
        "allocator": "IoAllocateMdl",
        "release": "IoFreeMdl",
    },
    {
        "tag": "Vfwi",
        "owner": "Driver Verifier",
        "meaning": (
            "An IO_WORKITEM that a verified driver obtained from IoAllocateWorkItem; Verifier "
            "tags it on the driver's behalf. Outstanding at unload means a missing "
            "IoFreeWorkItem (counted as a leak from Windows 8.1)."
        ),
        "basis": BASIS_LEAK_PAGE,
        "verifier": True,
        "allocator": "IoAllocateWorkItem",
        "release": "IoFreeWorkItem",
    },
    {
        "tag": "Irp+",
        "owner": "I/O Verifier (nt!vf)",
        "meaning": "An IRP allocated through the I/O verifier for a verified driver.",
        "basis": BASIS_POOLTAG,
        "verifier": True,
        "allocator": "IoAllocateIrp",
        "release": "IoFreeIrp",
    },
    {
        "tag": "IrpB",
        "owner": "I/O Verifier (nt!vf)",
        "meaning": "Double buffer the I/O verifier uses for direct I/O requests.",
        "basis": BASIS_POOLTAG,
        "verifier": True,
    },
    {
        "tag": "IrpC",
        "owner": "I/O Verifier (nt!vf)",
        "meaning": "Stack location contexts kept by the I/O verifier.",
        "basis": BASIS_POOLTAG,
        "verifier": True,
    },
    {
        "tag": "Irpd",
        "owner": "I/O Verifier (nt!vf)",
        "meaning": "Context for a completion the I/O verifier deferred.",
        "basis": BASIS_POOLTAG,
        "verifier": True,
    },
    {
        "tag": "Irpt",
        "owner": "I/O Verifier (nt!vf)",
        "meaning": "Per-IRP tracking data of the I/O verifier.",
        "basis": BASIS_POOLTAG,
        "verifier": True,
    },
    {
        "tag": "IoTt",
        "owner": "I/O Verifier (nt!vf)",
        "meaning": "The I/O verifier's IRP tracking table.",
        "basis": BASIS_POOLTAG,
        "verifier": True,
    },
    {
        "tag": "Dlck",
        "owner": "Deadlock verifier (part of Driver Verifier)",
        "meaning": "Bookkeeping of the Deadlock Detection option.",
        "basis": BASIS_POOLTAG,
        "verifier": True,
    },
    {
        "tag": "Irp ",
        "owner": "I/O manager",
        "meaning": "I/O request packets.",
        "basis": BASIS_POOLTAG,
        "allocator": "IoAllocateIrp",
        "release": "IoFreeIrp",
    },
    {
        "tag": "Mdl ",
        "owner": "I/O manager",
        "meaning": "Memory descriptor lists.",
        "basis": BASIS_POOLTAG,
        "allocator": "IoAllocateMdl",
        "release": "IoFreeMdl",
    },
    {
        "tag": "IoNm",
        "owner": "I/O manager (nt!io)",
        "meaning": "Buffers used while parsing names.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "MmSt",
        "owner": "Memory manager (nt!mm)",
        "meaning": "Prototype PTEs of section objects; grows with mapped files and images.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "MmCm",
        "owner": "Memory manager (nt!mm)",
        "meaning": "Memory obtained with MmAllocateContiguousMemory.",
        "basis": BASIS_POOLTAG,
        "allocator": "MmAllocateContiguousMemory",
        "release": "MmFreeContiguousMemory",
    },
    {
        "tag": "Cont",
        "owner": "kernel",
        "meaning": "Contiguous physical memory allocated for device drivers.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "Ntfx",
        "owner": "NTFS (ntfs.sys)",
        "meaning": "General NTFS allocations.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "File",
        "owner": "Object manager / I/O manager",
        "meaning": "File objects.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "Even",
        "owner": "kernel",
        "meaning": "Event objects.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "Thre",
        "owner": "Process manager (nt!ps)",
        "meaning": "Thread objects.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "Proc",
        "owner": "Process manager",
        "meaning": "Process objects.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "Toke",
        "owner": "Security reference monitor (nt!se)",
        "meaning": "Token objects.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "Devi",
        "owner": "I/O manager",
        "meaning": "Device objects.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "Driv",
        "owner": "I/O manager",
        "meaning": "Driver objects.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "ObNm",
        "owner": "Object manager (nt!ob)",
        "meaning": "Object names.",
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "None",
        "owner": "any caller",
        "meaning": (
            "Allocations made through ExAllocatePool without a tag; the owner cannot be told "
            "from the tag."
        ),
        "basis": BASIS_POOLTAG,
    },
    {
        "tag": "Ddk ",
        "owner": "any driver built with ntddk.h",
        "meaning": "Default tag of driver allocations made without an explicit tag.",
        "basis": BASIS_POOLTAG,
    },
]

# =============================================================================================
# Reading the reference tables (or, without them, the committed JSON).
# =============================================================================================

HEX = re.compile(r"^0x[0-9A-Fa-f]+$")
OPTION = re.compile(r"^(?P<name>.*?)\s*\((?P<value>0x[0-9A-Fa-f]+|[^)]*)\)$")


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            {k: (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(fh, delimiter="\t")
        ]


def default_reference() -> Path:
    shared = os.environ.get("KDLENS_SHARED")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / "reference"


class Reference:
    """The tabular facts: codes, names, pages, labels, option wordings."""

    def __init__(
        self,
        bugchecks: list[dict[str, str]],
        livedumps: list[dict[str, str]],
        c4: list[dict[str, str]],
        flags: list[dict[str, str]],
    ) -> None:
        self.bugchecks = bugchecks
        self.livedumps = livedumps
        self.c4 = c4
        self.flags = flags

    @classmethod
    def from_tsv(cls, folder: Path) -> Reference:
        return cls(
            read_tsv(folder / "bugchecks.tsv"),
            read_tsv(folder / "livedump-codes.tsv"),
            read_tsv(folder / "c4-subcodes.tsv"),
            read_tsv(folder / "verifier-flags.tsv"),
        )

    @classmethod
    def from_json(cls, folder: Path) -> Reference:
        """Rebuild the reference rows from previously generated files."""

        def load(name: str) -> dict[str, Any]:
            doc: dict[str, Any] = json.loads((folder / name).read_text(encoding="utf-8"))
            return doc

        bugchecks: list[dict[str, str]] = []
        livedumps: list[dict[str, str]] = []
        for row in load("bugchecks.json")["bugchecks"]:
            item = {"code": f"0x{row['code']:08X}", "name": row["name"], "page": row["page"]}
            if row.get("in_bugcheck_table", True):
                bugchecks.append(item)
            if row["live_dump"]:
                livedumps.append(item)
        c4 = []
        for row in load("c4.json")["subcodes"]:
            labels = {a["index"]: a["label"] for a in row["args"]}
            c4.append(
                {
                    "arg1": f"0x{row['arg1']:X}",
                    "arg2": row.get("table_labels", {}).get("2", labels.get(2, "")),
                    "arg3": row.get("table_labels", {}).get("3", labels.get(3, "")),
                    "arg4": row.get("table_labels", {}).get("4", labels.get(4, "")),
                    "rule": row["rule"] or "",
                    "group": row["group"],
                    "verifier_option": row["verifier_option"] or "",
                    "option_basis": row["option_basis"] or "",
                }
            )
        doc = load("verifier_flags.json")
        flags = []
        for row in doc["options"]:
            flags.append(
                {
                    "table": "option",
                    "value": f"0x{row['value']:08X}",
                    "bit": "" if row["bit"] is None else str(row["bit"]),
                    "name": row["name"] if row["bit"] is not None else "",
                    "standard": "X" if row["standard"] and row["value"] else "",
                    "volatile": "yes" if row["volatile"] else "",
                    "verifier_ext_name": row["ext_name"] or "",
                    "verifier_ext_legacy_name": row["legacy_name"] or "",
                    "legacy_name_basis": row["legacy_name_basis"] or "",
                    "querysettings_name": row["querysettings_name"] or "",
                }
            )
        for row in doc["display_bits"]:
            flags.append(
                {
                    "table": "kdext-display",
                    "value": f"0x{row['value']:08X}",
                    "bit": str(row["bit"]),
                    "name": row["name"],
                }
            )
        return cls(bugchecks, livedumps, c4, flags)


def parse_hex(text: str) -> int:
    if not HEX.match(text):
        raise SystemExit(f"not a hex number: {text!r}")
    return int(text, 16)


def doc_url(page: str) -> str:
    return DOC_BASE + Path(page).stem.lower()


# =============================================================================================
# Building the documents.
# =============================================================================================


def arg_list(args: list[Arg]) -> list[dict[str, Any]]:
    if len(args) != 4:
        raise SystemExit(f"expected four arguments, got {len(args)}")
    return [{"index": i + 1, "label": a[0], "meaning": a[1]} for i, a in enumerate(args)]


def variant_list(variants: list[tuple[list[int], str, dict[int, Arg]]]) -> list[dict[str, Any]]:
    out = []
    for values, meaning, args in variants:
        out.append(
            {
                "values": values,
                "meaning": meaning,
                "args": [
                    {"index": i, "label": args[i][0], "meaning": args[i][1]} for i in sorted(args)
                ],
            }
        )
    return out


def build_bugchecks(ref: Reference) -> dict[str, Any]:
    rows: dict[int, dict[str, Any]] = {}
    for row in ref.bugchecks:
        code = parse_hex(row["code"])
        rows[code] = {
            "code": code,
            "name": row["name"],
            "page": row["page"],
            "url": doc_url(row["page"]),
            "live_dump": False,
            "in_bugcheck_table": True,
        }
    for row in ref.livedumps:
        code = parse_hex(row["code"])
        entry = rows.setdefault(
            code,
            {
                "code": code,
                "name": row["name"],
                "page": row["page"],
                "url": doc_url(row["page"]),
                "in_bugcheck_table": False,
            },
        )
        if entry["name"] != row["name"]:
            raise SystemExit(f"0x{code:X}: names differ between the two tables")
        entry["live_dump"] = True
    missing = sorted(set(BUGCHECK_TEXT) - set(rows))
    if missing:
        raise SystemExit(f"prose for unknown codes: {[hex(c) for c in missing]}")
    out = []
    for code in sorted(rows):
        entry = rows[code]
        if entry["in_bugcheck_table"]:
            del entry["in_bugcheck_table"]  # only the exceptions are recorded
        text = BUGCHECK_TEXT.get(code)
        if text:
            entry["summary"] = text["summary"]
            entry["args"] = arg_list(text["args"])
            if text.get("selector"):
                entry["selector"] = text["selector"]
                entry["variants"] = variant_list(text["variants"])
            entry["hints"] = list(text.get("hints", []))
            if text.get("arg1_table"):
                entry["arg1_table"] = text["arg1_table"]
        out.append(entry)
    return {
        "about": (
            "Bug check and live dump codes. Codes, names and pages follow the Microsoft bug "
            "check code reference; summaries, argument meanings and hints are written for "
            "kdlens."
        ),
        "doc_base": DOC_BASE,
        "bugchecks": out,
    }


def parse_option(text: str) -> tuple[str | None, int | None]:
    if not text:
        return None, None
    m = OPTION.match(text)
    if not m:
        return text, None
    value = m.group("value")
    return m.group("name"), int(value, 16) if HEX.match(value) else None


def c4_meaning(row: dict[str, str], arg1: int) -> str:
    rule = row["rule"]
    if rule:
        gloss = RULE_GLOSS.get(rule)
        if gloss is None:
            raise SystemExit(f"no gloss for rule {rule}")
        kind = RULE_KIND.get(row["group"], "rule")
        return f"The driver broke the {kind} {rule}: {gloss}"
    meaning = C4_MEANING.get(arg1)
    if meaning is None:
        raise SystemExit(f"no meaning written for 0xC4 Arg1 0x{arg1:X}")
    return meaning


def rule_arg_meaning(index: int, label: str) -> str:
    if index == 2:
        return "Pointer to a text describing the violated condition (!analyze prints it)."
    if "!ruleinfo" in label:
        which = "second" if index == 3 else "third"
        return f"Pass it as the {which} argument of `!ruleinfo`."
    if "state vars" in label:
        return "Optional pointer to the rule's state variables (0 when not supplied)."
    return "Not used." if label == "reserved" else ""


def build_c4(ref: Reference) -> dict[str, Any]:
    out = []
    seen: set[int] = set()
    for row in ref.c4:
        arg1 = parse_hex(row["arg1"])
        if arg1 in seen:
            raise SystemExit(f"duplicate 0xC4 Arg1 0x{arg1:X}")
        seen.add(arg1)
        detail = C4_DETAIL.get(arg1, {})
        table_labels = {str(i): row[f"arg{i}"] for i in (2, 3, 4)}
        args = []
        for i in (2, 3, 4):
            label = detail.get("labels", {}).get(i) or C4_LABEL_FIX.get(
                row[f"arg{i}"], row[f"arg{i}"]
            )
            meaning = detail.get("args", {}).get(i, "")
            if not meaning and row["rule"]:
                meaning = rule_arg_meaning(i, label)
            args.append({"index": i, "label": label, "meaning": meaning})
        option_name, option_value = parse_option(row["verifier_option"])
        hints = list(detail.get("hints", [])) + [
            h for h in GROUP_HINTS.get(row["group"], []) if h not in detail.get("hints", [])
        ]
        entry: dict[str, Any] = {
            "arg1": arg1,
            "meaning": c4_meaning(row, arg1),
            "args": args,
            "rule": row["rule"] or None,
            "group": row["group"],
            "verifier_option": row["verifier_option"] or None,
            "option_name": option_name,
            "option_value": option_value,
            "option_basis": row["option_basis"] or None,
            "explanation": detail.get("explanation"),
            "hints": hints,
        }
        if any(table_labels[k] != a["label"] for k, a in zip(("2", "3", "4"), args, strict=True)):
            entry["table_labels"] = table_labels
        out.append(entry)
    unused = (set(C4_MEANING) | set(C4_DETAIL)) - seen
    if unused:
        raise SystemExit(f"prose for unknown 0xC4 values: {[hex(v) for v in sorted(unused)]}")
    out.sort(key=lambda e: e["arg1"])
    return {
        "about": (
            "Arg1 values of bug check 0xC4 (DRIVER_VERIFIER_DETECTED_VIOLATION). Values, "
            "groups and option requirements follow the bug check reference; meanings, "
            "explanations and hints are written for kdlens."
        ),
        "subcodes": out,
    }


def build_flags(ref: Reference, c4: dict[str, Any]) -> dict[str, Any]:
    options = []
    display = []
    by_option: dict[int, list[int]] = {}
    for sub in c4["subcodes"]:
        if sub["option_value"] is not None:
            by_option.setdefault(sub["option_value"], []).append(sub["arg1"])
    for row in ref.flags:
        value = parse_hex(row["value"])
        bit = int(row["bit"]) if row["bit"] else None
        if row["table"] == "option":
            text = FLAG_TEXT.get(value)
            if text is None:
                raise SystemExit(f"no description for verifier option 0x{value:X}")
            checks = []
            derived = sorted(by_option.get(value, []))
            has_c4 = False
            for code, arg1, note in text["bugchecks"]:
                values = sorted(set(arg1) | (set(derived) if code == 0xC4 else set()))
                has_c4 = has_c4 or code == 0xC4
                checks.append({"code": code, "arg1": values, "note": note})
            if derived and not has_c4:
                checks.append({"code": 0xC4, "arg1": derived, "note": ""})
            name = row["name"] or row["verifier_ext_name"]
            options.append(
                {
                    "value": value,
                    "bit": bit,
                    "name": name,
                    "ext_name": row["verifier_ext_name"] or None,
                    "legacy_name": row["verifier_ext_legacy_name"] or None,
                    "legacy_name_basis": row["legacy_name_basis"] or None,
                    "querysettings_name": row["querysettings_name"] or None,
                    "standard": row["standard"] == "X" or value == 0,
                    "volatile": row["volatile"] == "yes",
                    "description": text["description"],
                    "bugchecks": checks,
                }
            )
        elif row["table"] == "kdext-display":
            if bit is None:
                raise SystemExit(f"display bit 0x{value:X} has no bit number")
            meaning, extra = DISPLAY_TEXT[value]
            display.append(
                {
                    "value": value,
                    "bit": bit,
                    "name": row["name"],
                    "meaning": meaning,
                    "extra_args": extra,
                }
            )
        else:
            raise SystemExit(f"unknown table {row['table']!r}")
    return {
        "about": (
            "Driver Verifier option bits (verifier /flags, Verify Flags Level) with the "
            "wordings different tools print, and the bits of the !verifier extension's first "
            "argument. Wordings follow the reference tables; descriptions are written for "
            "kdlens."
        ),
        "options": options,
        "display_bits": display,
    }


def build_pool_tags() -> dict[str, Any]:
    tags = []
    for item in POOL_TAGS:
        tag = item["tag"]
        if len(tag) != 4:
            raise SystemExit(f"pool tag {tag!r} is not four characters")
        tags.append(
            {
                "tag": tag,
                "owner": item["owner"],
                "meaning": item["meaning"],
                "basis": item["basis"],
                "verifier": bool(item.get("verifier", False)),
                "allocator": item.get("allocator"),
                "release": item.get("release"),
            }
        )
    return {
        "about": (
            "Pool tags that appear in leak tables, limited to tags with a documented owner "
            "(see each entry's basis); meanings are written for kdlens."
        ),
        "tags": tags,
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def generate(ref: Reference) -> dict[str, str]:
    c4 = build_c4(ref)
    return {
        "bugchecks.json": render(build_bugchecks(ref)),
        "c4.json": render(c4),
        "verifier_flags.json": render(build_flags(ref, c4)),
        "pool_tags.json": render(build_pool_tags()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reference", type=Path, default=None, help="folder with the TSV tables")
    parser.add_argument("--check", action="store_true", help="only compare with committed files")
    opts = parser.parse_args(argv)
    folder = opts.reference or default_reference()
    if (folder / "bugchecks.tsv").exists():
        ref = Reference.from_tsv(folder)
        source = "reference tables"
    else:
        ref = Reference.from_json(DATA)
        source = "committed JSON (reference tables not found)"
    files = generate(ref)
    stale = [
        name
        for name, text in files.items()
        if not (DATA / name).exists() or (DATA / name).read_text(encoding="utf-8") != text
    ]
    if opts.check:
        for name in stale:
            print(f"out of date: {name}", file=sys.stderr)
        return 1 if stale else 0
    DATA.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (DATA / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files from {source}; changed: {', '.join(stale) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
