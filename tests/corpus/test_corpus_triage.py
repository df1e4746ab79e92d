"""Crash triage over the shared corpus: every bug check gets a record, a curated few are exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.analysis import Analysis, analyze
from kdlens.analysis.triage import StopKind, Triage
from kdlens.parse import parse_bytes

from helpers import shared_path


def _files() -> list[Path]:
    root = shared_path("corpus")
    return sorted([*root.glob("real/windbg/*.log"), *root.glob("msdocs/*.txt")])


def _analyse(path: Path) -> Analysis:
    session, _ = parse_bytes(path.read_bytes())
    assert not session.faults, session.faults
    return analyze(session)


def test_every_bug_check_has_a_triage_record() -> None:
    files = _files()
    assert files
    stops = 0
    for path in files:
        a = _analyse(path)
        covered = {id(t.case) for t in a.triage if t.case is not None}
        for case in a.cases:
            assert id(case) in covered, (path.name, hex(case.code))
        for t in a.triage:
            assert t.message.startswith(t.title), (path.name, t.message)
            if t.kind is not StopKind.BUG_CHECK:
                assert t.case is None
        stops += len(a.triage)
    assert stops >= 40


def _one(relative: str) -> Triage:
    a = _analyse(shared_path("corpus", *relative.split("/")))
    assert len(a.triage) == 1, [t.message for t in a.triage]
    return a.triage[0]


#: file -> (kind, code, culprit, faulting symbol), read off the files by hand.
CURATED = {
    "real/windbg/bugcheck-d1-x64-analyze-v.log": (
        StopKind.BUG_CHECK,
        0xD1,
        "fileinfo.sys",
        "Ntfs!NtfsChangeAttributeValue+0x392",
    ),
    "real/windbg/bugcheck-7e-x64-analyze-v.log": (
        StopKind.BUG_CHECK,
        0x7E,
        "EvilDriver.sys",
        "nt!RtlpHpVsFreeChunkInsert+0x1b4",
    ),
    "real/windbg/bugcheck-139-1d-x64-analyze-v.log": (
        StopKind.BUG_CHECK,
        0x139,
        "Driver.sys",
        "nt!RtlRbRemoveNode+0x249f73",
    ),
    "real/windbg/bugcheck-50-x64-analyze-v-keyvalues.log": (
        StopKind.BUG_CHECK,
        0x50,
        "Driver.sys",
        "Driver+0x1d1e",
    ),
    "real/windbg/bugcheck-50-x64-applockerfltr-elided.log": (
        StopKind.BUG_CHECK,
        0x50,
        "applockerfltr",
        "applockerfltr!SmpRegistryCallback+0xc8",
    ),
    "real/windbg/usermode-x64-heap-double-free-c0000374-analyze.log": (
        StopKind.EXCEPTION,
        0xC0000374,
        "ntdll.dll",
        "ntdll!RtlReportFatalFailure+0x9",
    ),
    "real/windbg/usermode-x86-exr-cxr-kv-source-lines.log": (
        StopKind.EXCEPTION,
        0xE06D7363,
        "KERNELBASE",
        "KERNELBASE!RaiseException+0x62",
    ),
    "msdocs/getting-started-with-windbg-05.txt": (
        StopKind.EXCEPTION,
        0xC0000094,
        "MyApp",
        "MyApp!MyFunction+0x44",
    ),
}


@pytest.mark.parametrize("relative", sorted(CURATED))
def test_curated_culprit_and_faulting_symbol(relative: str) -> None:
    kind, code, culprit, symbol = CURATED[relative]
    t = _one(relative)
    assert (t.kind, t.code, t.culprit, t.fault_label) == (kind, code, culprit, symbol)


def test_real_log_blames_a_system_driver_over_the_users() -> None:
    t = _one("real/windbg/bugcheck-d1-x64-analyze-v.log")
    assert t.blamed is not None and t.blamed.how == "IMAGE_NAME" and t.blamed.system
    assert t.blame_differs
    user = t.first_user_frame
    assert user is not None and user.label == "TestDriver!LogCurrentIrql+0x92"
    assert user.source is not None and (user.source.file_name, user.source.line) == ("Driver.c", 21)
    assert (t.access, t.irql_name) == ("write", "DISPATCH_LEVEL")


def test_fatal_error_blame_comes_from_driver_at_fault() -> None:
    a = _analyse(
        shared_path(
            "corpus", "real", "windbg", "bugcheck-ce-x86-win7-fatal-reconnect-manual-breakin.log"
        )
    )
    (t,) = [t for t in a.triage if t.code == 0xCE]
    assert t.blamed is not None and t.blamed.module == "IOCTL_fuzzer.sys"
    assert t.blamed.how == "Driver at fault"


def test_exception_bug_check_decodes_its_code_and_record() -> None:
    t = _one("real/windbg/bugcheck-7e-x64-analyze-v.log")
    assert t.exception_code == 0xC0000005
    assert t.exception is not None and t.context is not None
    assert (t.access, t.access_address) == ("read", 0xFFFFFFFFFFFFFFFF)
    status = next(p for p in t.params if p.index == 1)
    assert status.decoded == "STATUS_ACCESS_VIOLATION"
