"""Crash-triage lookups: status codes, IRQLs, pool types, access kinds, argument decoding,
argument labels of every bug check, Application Verifier stops."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from kdlens import knowledge as kn

# ----------------------------------------------------------------------------- status codes


def test_status_code_lookup() -> None:
    av = kn.status_code(0xC0000005)
    assert av is not None and av.name == "STATUS_ACCESS_VIOLATION"
    assert av.hex == "0xC0000005" and av.severity == "error"
    assert "address" in av.meaning
    # the signed spelling some tools print
    assert kn.status_code(-1073741819) == av
    assert kn.status_code(0x12345678) is None
    assert kn.status_code(1 << 40) is None
    assert kn.status_code(-(1 << 40)) is None


@pytest.mark.parametrize(
    ("code", "name", "severity"),
    [
        (0xC0000006, "STATUS_IN_PAGE_ERROR", "error"),
        (0xC000001D, "STATUS_ILLEGAL_INSTRUCTION", "error"),
        (0xC0000094, "STATUS_INTEGER_DIVIDE_BY_ZERO", "error"),
        (0xC00000FD, "STATUS_STACK_OVERFLOW", "error"),
        (0xC0000374, "STATUS_HEAP_CORRUPTION", "error"),
        (0xC0000409, "STATUS_STACK_BUFFER_OVERRUN", "error"),
        (0x80000003, "STATUS_BREAKPOINT", "warning"),
        (0x80000004, "STATUS_SINGLE_STEP", "warning"),
        (0x80000002, "STATUS_DATATYPE_MISALIGNMENT", "warning"),
        (0xC0000008, "STATUS_INVALID_HANDLE", "error"),
        (0xC0000417, "STATUS_INVALID_CRUNTIME_PARAMETER", "error"),
        (0xC0000420, "STATUS_ASSERTION_FAILURE", "error"),
        (0xC00000AA, "STATUS_INSTRUCTION_MISALIGNMENT", "error"),
        (0xC000009A, "STATUS_INSUFFICIENT_RESOURCES", "error"),
        (0xC0000017, "STATUS_NO_MEMORY", "error"),
        (0xC0000022, "STATUS_ACCESS_DENIED", "error"),
        (0xC0000034, "STATUS_OBJECT_NAME_NOT_FOUND", "error"),
        (0xC000000D, "STATUS_INVALID_PARAMETER", "error"),
        (0xC0000010, "STATUS_INVALID_DEVICE_REQUEST", "error"),
        (0xC00000BB, "STATUS_NOT_SUPPORTED", "error"),
        (0xC0000120, "STATUS_CANCELLED", "error"),
        (0xC0000135, "STATUS_DLL_NOT_FOUND", "error"),
        (0xC0000142, "STATUS_DLL_INIT_FAILED", "error"),
        (0xC0000144, "STATUS_UNHANDLED_EXCEPTION", "error"),
        (0xC0000225, "STATUS_NOT_FOUND", "error"),
        (0xC000026E, "STATUS_VOLUME_DISMOUNTED", "error"),
        (0xE06D7363, "EH_EXCEPTION_NUMBER", "error"),
        (0x00000103, "STATUS_PENDING", "success"),
        (0x40000000, "STATUS_OBJECT_NAME_EXISTS", "informational"),
    ],
)
def test_common_status_codes(code: int, name: str, severity: str) -> None:
    info = kn.status_code(code)
    assert info is not None and info.name == name and info.severity == severity
    assert len(info.meaning) > 15
    assert kn.status_by_name(name.lower()) == info


def test_status_table_size_and_order() -> None:
    codes = kn.status_codes()
    assert len(codes) >= 80
    assert [c.code for c in codes] == sorted(c.code for c in codes)
    assert len({c.name for c in codes}) == len(codes)
    assert kn.status_by_name("STATUS_MADE_UP") is None


# ----------------------------------------------------------------------------- IRQL


@pytest.mark.parametrize(
    ("value", "arch", "name"),
    [
        (0, "x64", "PASSIVE_LEVEL"),
        (1, "x64", "APC_LEVEL"),
        (2, "x64", "DISPATCH_LEVEL"),
        (15, "x64", "HIGH_LEVEL"),
        (13, "amd64", "CLOCK_LEVEL"),
        (2, "x86", "DISPATCH_LEVEL"),
        (27, "x86", "PROFILE_LEVEL"),
        (28, "x86", "CLOCK2_LEVEL"),
        (29, "x86", "IPI_LEVEL"),
        (30, "x86", "POWER_LEVEL"),
        (31, "x86", "HIGH_LEVEL"),
        (31, "I386", "HIGH_LEVEL"),
        (15, "arm64", "HIGH_LEVEL"),
    ],
)
def test_irql_names(value: int, arch: str, name: str) -> None:
    assert kn.irql_name(value, arch) == name


def test_irql_names_differ_at_the_top() -> None:
    assert kn.irql_name(2) == "DISPATCH_LEVEL"  # x64 is the default
    assert kn.irql_name(31, "x64") is None
    assert kn.irql_name(15, "x86") is None
    assert kn.irql_name(7, "x64") is None  # a device level has no name
    assert kn.irql_name(2, "mips") is None


# ----------------------------------------------------------------------------- pool types


def test_pool_types() -> None:
    assert kn.pool_type_name(0) == "NonPagedPool"
    assert kn.pool_type_name(1) == "PagedPool"
    assert kn.pool_type_name(0x200) == "NonPagedPoolNx"
    session_paged = kn.pool_type(0x21)
    assert session_paged is not None and session_paged.name == "PagedPoolSession"
    assert session_paged.paged and session_paged.session and not session_paged.no_execute
    nx_session = kn.pool_type(0x220)
    assert nx_session is not None and nx_session.name == "NonPagedPoolSessionNx"
    assert nx_session.no_execute and nx_session.session and not nx_session.paged
    assert kn.pool_type_name(0x7777) is None
    names = [p.name for p in kn.pool_types()]
    assert len(names) == len(set(names))
    assert all(
        p.paged == ("Paged" in p.name and "NonPaged" not in p.name)
        for p in kn.pool_types()
        if "DontUse" not in p.name
    )


# ----------------------------------------------------------------------------- access kinds


def test_access_kinds_are_per_bug_check() -> None:
    assert kn.access_kind(0xD1, 0) == "read"
    assert kn.access_kind(0xD1, 1) == "write"
    assert kn.access_kind(0xD1, 8) == "execute"
    assert kn.access_kind(0xD1, 2) == "execute"
    # on 0x50 (current x64) the same value 2 means write and 0x10 execute
    assert kn.access_kind(0x50, 2) == "write"
    assert kn.access_kind(0x50, 0x10) == "execute"
    assert kn.access_kind(0x0A, 8) == "execute"
    assert kn.access_kind(0xD5, 1) == "write"
    assert kn.access_kind(0xD5, 8) is None
    assert kn.access_kind(0xC4, 0) is None  # no access argument
    assert kn.access_kind(0x12345678, 0) is None


def test_access_argument_matches_the_labels() -> None:
    # wherever an argument decodes as an access kind, its label says so
    for info in kn.all_bugchecks():
        for index, kind in info.arg_kinds:
            label = kn.arg_label(info.code, index) or ""
            if kind == "access":
                assert "access" in label, hex(info.code)
                assert info.access_kinds
            elif kind == "irql":
                assert "IRQL" in label, hex(info.code)
            elif kind == "status":
                assert "code" in label, hex(info.code)


# ----------------------------------------------------------------------------- decode_arg


def test_decode_arg() -> None:
    kmode = kn.decode_arg(0x1E, 1, 0xC0000005)
    assert kmode is not None and kmode.startswith("STATUS_ACCESS_VIOLATION: ")
    for code in (0x3B, 0x7E, 0x8E, 0x1000007E):
        assert kn.decode_arg(code, 1, 0x80000003) == kn.decode_arg(0x1E, 1, 0x80000003)
    assert kn.decode_arg(0x1E, 1, 0x11111111) is None
    assert kn.decode_arg(0xD1, 2, 2) == "DISPATCH_LEVEL"
    assert kn.decode_arg(0xD1, 2, 31, arch="x86") == "HIGH_LEVEL"
    assert kn.decode_arg(0xD1, 3, 1) == "write"
    assert kn.decode_arg(0xD1, 1, 2) is None  # an address, nothing to decode
    assert kn.decode_arg(0xC4, 1, 0x62) is None  # 0xC4 decodes through its own table
    assert kn.decode_arg(0x99999, 1, 0) is None


# ----------------------------------------------------------------------------- labels


def test_every_bug_check_has_four_labels() -> None:
    for info in kn.all_bugchecks():
        labels = [kn.arg_label(info.code, i) for i in (1, 2, 3, 4)]
        assert all(labels), hex(info.code)
        assert info.labels == tuple(labels)
        if info.summary:
            assert tuple(a.label for a in info.args) == info.labels


def test_labels_without_an_explanation() -> None:
    attach = kn.bugcheck(0x5)
    assert attach is not None and attach.summary is None
    assert kn.arg_meaning(0x5, 1) is None
    assert kn.arg_label(0x5, 4) == "DPC running"
    assert kn.arg_label(0x5, 0) is None and kn.arg_label(0x5, 5) is None
    assert kn.arg_label(0xDEADBEE, 1) is None
    assert kn.arg_label(0xD1, 2) == "IRQL"


# ----------------------------------------------------------------------------- App Verifier


def test_verifier_stop_lookup() -> None:
    double = kn.verifier_stop(0x7)
    assert double is not None and double.name == "DOUBLE_FREE" and double.layer == "Heaps"
    assert [a.index for a in double.args] == [1, 2, 3, 4]
    assert double.arg(2) is not None and "block" in double.arg(2).label  # type: ignore[union-attr]
    corrupt = kn.verifier_stop(0x8)
    assert corrupt is not None and corrupt.name == "CORRUPTED_HEAP_BLOCK"
    assert kn.verifier_stop(0x77777) is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        double.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("first", "last", "layer"),
    [
        (0x1, 0x14, "Heaps"),
        (0x300, 0x305, "Handles"),
        (0x200, 0x209, "Locks"),
        (0x210, 0x213, "Locks"),
        (0x600, 0x610, "Memory"),
        (0x900, 0x906, "Leak"),
    ],
)
def test_verifier_stop_ranges(first: int, last: int, layer: str) -> None:
    for code in range(first, last + 1):
        stop = kn.verifier_stop(code)
        assert stop is not None, hex(code)
        assert stop.layer == layer and stop.meaning and len(stop.args) == 4
        assert all(a.label for a in stop.args)


def test_leak_stops_name_what_leaked() -> None:
    words = {
        0x900: "heap",
        0x901: "handle",
        0x902: "registry key",
        0x903: "reservation",
        0x904: "BSTR",
        0x905: "power notification",
        0x906: "COM",
    }
    for code, word in words.items():
        stop = kn.verifier_stop(code)
        assert stop is not None and word in stop.meaning, hex(code)
        assert stop.arg(3).label == "owner DLL name"  # type: ignore[union-attr]


COMMON = (
    0x0A, 0xD1, 0x50, 0x7E, 0x3B, 0x1E, 0x1A, 0x139, 0x19, 0xC2, 0xC4, 0x9F, 0x133, 0xEF, 0xC5,
    0xD5, 0xD6, 0xCB, 0x76, 0xCE, 0xC1, 0xC6, 0xC7, 0xD0, 0xE6, 0x7F, 0x4E, 0x44, 0x35, 0x1D5,
    0xBE, 0xFC, 0x124, 0x101, 0x116, 0x117, 0x141, 0x1C7, 0x10D, 0x7A, 0x77, 0xF4, 0x8E, 0x27,
    0x24, 0x34, 0x9C, 0xDA, 0x109, 0x12B, 0x13A, 0x157, 0x14F, 0x1CA, 0xE3, 0x104,
)  # fmt: skip


def test_common_bug_checks_are_explained() -> None:
    explained = [b.code for b in kn.all_bugchecks() if b.summary]
    assert len(explained) >= 60
    for code in COMMON:
        info = kn.bugcheck(code)
        assert info is not None and info.summary, hex(code)
        assert all(a.meaning for a in info.args), hex(code)


def test_exception_bug_checks_decode_their_code_argument() -> None:
    for code in (0x1E, 0x3B, 0x7E, 0x8E):
        info = kn.bugcheck(code)
        assert info is not None and info.arg_kind(1) == "status", hex(code)
        assert kn.decode_arg(code, 1, 0xC0000094) == (
            "STATUS_INTEGER_DIVIDE_BY_ZERO: " + kn.status_code(0xC0000094).meaning  # type: ignore[union-attr]
        )


def test_importing_reads_no_triage_table() -> None:
    code = (
        "import kdlens.knowledge as k\n"
        "from kdlens.knowledge import load\n"
        "fs = (load.status_table, load.irql_table, load.pool_type_table, load.app_verifier_table)\n"
        "assert all(f.cache_info().currsize == 0 for f in fs)\n"
        "k.status_code(5)\n"
        "assert load.status_table.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
