"""The lookup API on the fixture driver: functions, names, lines, inline chains."""

from __future__ import annotations

import itertools

import pytest

from kdlens.symbols.pdb import Frame, Location, PdbFile

from fixtures.pdb.pdbtest import BUILDS, line_of, pdb_bytes, pdb_path, source

COMMON = {
    "DeviceControlDispatch",
    "DriverEntry",
    "DriverUnload",
    "CreateCloseDispatch",
    "HandleIoctl",
    "QueueDeferredWork",
    "DeferredWorkRoutine",
    "MyAllocate",
    "MyFree",
    "CMiniport::NewStream",
    "StreamRequest",
}
THUNKS = {
    "ExAllocatePoolWithTag",
    "ExFreePoolWithTag",
    "IoAllocateWorkItem",
    "IoQueueWorkItem",
    "IoFreeWorkItem",
    "IofCompleteRequest",
    "DbgPrint",
}
#: Helpers that only exist as functions when nothing is inlined.
INLINED_AT_O2 = {
    "HandlePing",
    "NextSequence",
    "BufferLargeEnough",
    "ChecksumBytes",
    "CMiniport::Streams",
    "mydrv::ClampLength",
}


@pytest.fixture(scope="module", params=BUILDS)
def build(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def pdb(build: str) -> PdbFile:
    return PdbFile.open(pdb_path(build))


def test_identity(pdb: PdbFile) -> None:
    assert pdb.age == 1
    assert pdb.symbol_key == pdb.guid.hex.upper() + "1"
    assert "/names" in pdb.named_streams
    assert len(pdb.module_names) == 8


def test_functions(pdb: PdbFile, build: str) -> None:
    funcs = pdb.functions()
    names = {f.name for f in funcs}
    expected = COMMON | THUNKS | (set() if build.endswith("O2") else INLINED_AT_O2)
    assert names == expected
    text = pdb.sections[0]
    rvas = [f.rva for f in funcs]
    assert rvas == sorted(rvas)
    for a, b in itertools.pairwise(funcs):
        assert a.rva + a.length <= b.rva
    for f in funcs:
        assert f.length > 0
        assert (
            text.virtual_address
            <= f.rva
            < f.rva + f.length
            <= text.virtual_address + text.virtual_size
        )
        assert f.module is not None
        assert f.module.endswith(".obj") or f.module == "Import:ntoskrnl.exe"
    # At -O0 the header helper is emitted once per translation unit that uses it.
    assert sum(f.name == "ChecksumBytes" for f in funcs) == (0 if build.endswith("O2") else 2)


def test_function_by_name(pdb: PdbFile) -> None:
    f = pdb.function_by_name("CMiniport::NewStream")
    assert f is not None and f.module is not None and f.module.endswith("stream.obj")
    assert pdb.function_by_name("NoSuchFunction") is None
    assert pdb.function_by_name("?NewStream@CMiniport@@QEAAJKPEAX@Z") is None


@pytest.mark.parametrize(
    ("function", "file", "signature"),
    [
        ("DriverEntry", "driver.c", "NTSTATUS NTAPI DriverEntry("),
        ("DeviceControlDispatch", "driver.c", "NTSTATUS NTAPI DeviceControlDispatch("),
        ("HandleIoctl", "handleioctl.c", "NTSTATUS HandleIoctl("),
        ("MyAllocate", "alloc.c", "PVOID MyAllocate("),
        ("CMiniport::NewStream", "stream.cpp", "NTSTATUS CMiniport::NewStream("),
        ("StreamRequest", "stream.cpp", 'extern "C" NTSTATUS StreamRequest('),
    ],
)
def test_function_entry(pdb: PdbFile, build: str, function: str, file: str, signature: str) -> None:
    f = pdb.function_by_name(function)
    assert f is not None
    loc = pdb.lookup(f.rva)
    assert loc is not None
    assert (loc.function, loc.function_rva, loc.offset) == (function, f.rva, 0)
    assert loc.file == source(file)
    brace = line_of(file, signature) + 1
    if build.endswith("O0"):
        # clang puts the prologue on the line of the opening brace, one below the signature.
        assert loc.line == brace
    else:
        # Optimised code may start with the first statement instead.
        assert loc.line is not None and brace <= loc.line < brace + 12
    assert loc.frames == (Frame(function, loc.file, loc.line),)
    assert loc.inlined == ()


def test_every_byte_of_a_function_resolves_to_it(pdb: PdbFile) -> None:
    f = pdb.function_by_name("QueueDeferredWork")
    assert f is not None
    body = range(
        line_of("workitem.c", "NTSTATUS QueueDeferredWork("),
        line_of("workitem.c", "return STATUS_SUCCESS;") + 2,
    )
    for rva in range(f.rva, f.rva + f.length):
        loc = pdb.lookup(rva)
        assert loc is not None and loc.function == "QueueDeferredWork"
        assert loc.offset == rva - f.rva
        assert loc.file == source("workitem.c") and loc.line in body


def _all_locations(pdb: PdbFile, name: str) -> list[Location]:
    f = pdb.function_by_name(name)
    assert f is not None
    found = [pdb.lookup(rva) for rva in range(f.rva, f.rva + f.length)]
    return [loc for loc in found if loc is not None]


def test_header_helper_inlined_into_the_work_item(pdb: PdbFile, build: str) -> None:
    locs = _all_locations(pdb, "DeferredWorkRoutine")
    inlined = [loc for loc in locs if loc.inlined]
    if build.endswith("O0"):
        assert not inlined
        return
    assert inlined
    call = line_of("workitem.c", "Sum = ChecksumBytes(")
    helper = range(
        line_of("mydriver.h", "static inline ULONG ChecksumBytes("),
        line_of("mydriver.h", "return Sum;") + 1,
    )
    for loc in inlined:
        inner, outer = loc.frames
        assert inner.function == "ChecksumBytes" and inner.file == source("mydriver.h")
        assert inner.line in helper
        assert outer == Frame("DeferredWorkRoutine", source("workitem.c"), call)
        assert (loc.file, loc.line) == (inner.file, inner.line)


def test_nested_inline_chain(pdb: PdbFile, build: str) -> None:
    locs = _all_locations(pdb, "HandleIoctl")
    chains = {tuple(f.function for f in loc.frames) for loc in locs}
    if build.endswith("O0"):
        assert chains == {("HandleIoctl",)}
        return
    deepest = ("BufferLargeEnough", "HandlePing", "HandleIoctl")
    assert deepest in chains
    assert ("NextSequence", "HandleIoctl") in chains
    for loc in locs:
        if tuple(f.function for f in loc.frames) == deepest:
            inner, middle, outer = loc.frames
            assert inner.line == line_of("handleioctl.c", "return Stack->InputLength >= Needed")
            assert middle.line == line_of(
                "handleioctl.c", "if (!BufferLargeEnough(Stack, sizeof(ULONG) * 2))"
            )
            assert outer.line == line_of("handleioctl.c", "Status = HandlePing(Irp, Stack);")
            assert {f.file for f in loc.frames} == {source("handleioctl.c")}


def test_inlined_method_is_qualified(pdb: PdbFile, build: str) -> None:
    locs = _all_locations(pdb, "StreamRequest")
    inner = {loc.frames[0].function for loc in locs if loc.inlined}
    # A method (LF_MFUNC_ID + class) and a namespaced function (LF_FUNC_ID + scope).
    expected = {"CMiniport::NewStream", "mydrv::ClampLength"}
    assert inner == (set() if build.endswith("O0") else expected)


def test_thunks_and_padding(pdb: PdbFile) -> None:
    thunk = pdb.function_by_name("ExFreePoolWithTag")
    assert thunk is not None and thunk.module == "Import:ntoskrnl.exe"
    loc = pdb.lookup(thunk.rva + 2)
    assert loc is not None
    assert (loc.function, loc.offset, loc.file, loc.line) == ("ExFreePoolWithTag", 2, None, None)
    # The int3 padding after a function with line information belongs to nobody.
    first = pdb.functions()[0]
    second = pdb.functions()[1]
    if first.rva + first.length < second.rva:
        assert pdb.lookup(first.rva + first.length) is None


def test_outside_any_code(pdb: PdbFile) -> None:
    assert pdb.lookup(0) is None
    assert pdb.lookup(-5) is None
    assert pdb.lookup(0x7FFFFFFF) is None
    assert pdb.lookup(pdb.sections[1].virtual_address) is None  # .rdata


def test_from_bytes_matches_open(build: str, pdb: PdbFile) -> None:
    again = PdbFile.from_bytes(pdb_bytes(build))
    assert again.guid == pdb.guid
    assert again.functions() == pdb.functions()
    f = pdb.functions()[4]
    assert again.lookup(f.rva + 3) == pdb.lookup(f.rva + 3)


def _strip_module_streams(data: bytes) -> bytes:
    """Point every object module at stream 0xFFFF, like a PDB stripped of private symbols."""
    from fixtures.pdb.pdbtest import patch_stream, stream_data

    dbi = stream_data(data, 3)
    for obj in ("driver", "handleioctl", "workitem", "alloc", "stream"):
        name = f"{source('')}".encode()
        at = dbi.find(name, 64)
        while at >= 0 and not dbi[at:].split(b"\0", 1)[0].endswith(f"\\{obj}.obj".encode()):
            at = dbi.find(name, at + 1)
        assert at > 0
        data = patch_stream(data, 3, at - 64 + 34, b"\xff\xff")
    return data


@pytest.mark.parametrize("build_name", ["x64-O2", "x86-O0"])
def test_publics_stand_in_for_stripped_symbols(build_name: str) -> None:
    full = PdbFile.open(pdb_path(build_name))
    stripped = PdbFile.from_bytes(_strip_module_streams(pdb_bytes(build_name)))
    names = {f.name for f in stripped.functions()}
    # Static functions have no publics; the exported and extern ones keep their names,
    # undecorated as the debugger prints them (x86: _DriverEntry@8 -> DriverEntry).
    statics = {"DriverUnload", "CreateCloseDispatch", "DeferredWorkRoutine"}
    # An inline method that was not inlined is emitted with a public of its own.
    extra = {"CMiniport::Streams", "mydrv::ClampLength"} if build_name.endswith("O0") else set()
    assert names == ((COMMON | THUNKS) - statics) | extra
    for f in stripped.functions():
        assert f.module is None or f.module == "Import:ntoskrnl.exe"
    entry = full.function_by_name("MyAllocate")
    assert entry is not None
    loc = stripped.lookup(entry.rva + 5)
    assert loc is not None
    assert (loc.function, loc.function_rva, loc.offset) == ("MyAllocate", entry.rva, 5)
    assert (loc.file, loc.line, loc.frames) == (None, None, (Frame("MyAllocate", None, None),))
