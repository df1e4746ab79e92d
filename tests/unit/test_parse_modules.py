"""Module lists: ``lm`` rows (x86/x64), unloaded modules, ``lmv`` properties, ``!lmi``."""

from __future__ import annotations

from kdlens.model import Range, Session
from kdlens.parse import parse_text

from helpers import log


def rng(line: int, start: int, end: int) -> Range:
    return Range.on_line(line, start, end)


def parse(text: str) -> Session:
    session = parse_text(text)
    assert not session.faults, session.faults
    return session


def test_lm_x86_rows_statuses_and_unloaded() -> None:
    text = log(
        """
        kd> lm
        start    end        module name
        80800000 80a50000   nt         (pdb symbols)          c:\\sym\\ntkrnlpa.pdb
        f7a00000 f7a0c000   gizmo    T (no symbols)
        f7b00000 f7b08000   widget     (deferred)
        f7c00000 f7c01000   oldmod     e:\\mysyms\\oldmod.pdb\\.......

        Unloaded modules:
        f7d00000 f7d10000   leaky.sys
        kd> g
        """
    )
    mods = parse(text).modules
    assert [m.name for m in mods] == ["nt", "gizmo", "widget", "oldmod", "leaky.sys"]
    nt, gizmo, widget, old, leaky = mods
    assert nt.start is not None and nt.start.value == 0x80800000 and nt.start.range == rng(2, 0, 8)
    assert nt.end is not None and nt.end.value == 0x80A50000 and nt.end.range == rng(2, 9, 17)
    assert nt.name_range == rng(2, 20, 22)
    assert nt.symbol_status == "pdb symbols"
    assert nt.symbol_file == "c:\\sym\\ntkrnlpa.pdb"
    assert nt.range == rng(2, 0, 73)
    assert nt.contains(0x80800010) and not nt.contains(0x80A50000)
    assert gizmo.symbol_status == "no symbols" and gizmo.properties == {"marker": "T"}
    assert widget.symbol_status == "deferred" and widget.symbol_file is None
    assert old.symbol_status is None and old.symbol_file == "e:\\mysyms\\oldmod.pdb\\......."
    assert leaky.unloaded is True and not nt.unloaded
    assert leaky.image_name == "leaky.sys"
    assert leaky.name_range == rng(8, 20, 29)


def test_lm_x64_with_backticks_and_dml_line() -> None:
    text = log(
        """
        0:000> lmmapp
        Browse full module list
        start             end                 module name
        00007ff6`10000000 00007ff6`10038000   app        (private pdb symbols)  C:\\sym\\app.pdb\\0123456789ABCDEF1\\app.pdb
        00007ffd`20000000 00007ffd`201f5000   ntdll      (service symbols: Symbol Builder Symbols)
        """
    )
    app, ntdll = parse(text).modules
    assert app.start is not None and app.start.text == "00007ff6`10000000"
    assert app.start.value == 0x00007FF610000000
    assert app.end is not None and app.end.range == rng(3, 18, 35)
    assert app.name_range == rng(3, 38, 41)
    assert app.symbol_status == "private pdb symbols"
    assert app.symbol_file == "C:\\sym\\app.pdb\\0123456789ABCDEF1\\app.pdb"
    assert ntdll.symbol_status == "service symbols: Symbol Builder Symbols"


def test_lmvm_verbose_properties() -> None:
    text = log(
        """
        1: kd> lmvm gfx
        Browse full module list
        start             end                 module name
        fffff806`63000000 fffff806`63ae7000   gfx      T (no symbols)
            Loaded symbol image file: gfx.sys
            Image path: \\SystemRoot\\system32\\DRIVERS\\gfx.sys
            Image name: gfx.sys
            Browse all global symbols  functions  data
            Timestamp:        Tue Mar  3 10:20:30 2020 (5E5E2A5E)
            CheckSum:         00AB1234
            ImageSize:        00AE7000
            File version:     1.2.3.4
            Information from resource tables:
                CompanyName:      Gizmo Corp
        1: kd> g
        """
    )
    (gfx,) = parse(text).modules
    assert gfx.image_name == "gfx.sys"
    assert gfx.image_path == "\\SystemRoot\\system32\\DRIVERS\\gfx.sys"
    assert gfx.timestamp == 0x5E5E2A5E
    assert gfx.checksum == 0x00AB1234
    assert gfx.image_size == 0xAE7000
    assert gfx.end is not None and gfx.start is not None
    assert gfx.end.value - gfx.start.value == gfx.image_size
    assert gfx.properties["Loaded symbol image file"] == "gfx.sys"
    assert gfx.properties["File version"] == "1.2.3.4"
    assert gfx.properties["CompanyName"] == "Gizmo Corp"
    assert gfx.properties["marker"] == "T"
    assert gfx.range == Range(rng(3, 0, 0).start, rng(13, 36, 36).end)


def test_trailing_spaces_after_the_status() -> None:
    text = "kd> lm\nstart    end        module name\n80800000 80a50000   nt         (deferred)        \n"
    (nt,) = parse(text).modules
    assert nt.symbol_status == "deferred" and nt.symbol_file is None
    assert nt.range == rng(2, 0, 41)


def test_reproducible_build_timestamp() -> None:
    text = log(
        """
        kd> lmv m nt
        start             end                 module name
        fffff800`04600000 fffff800`04c00000   nt         (pdb symbols)          c:\\sym\\ntkrnlmp.pdb
            Image was built with /Brepro flag.
            Timestamp:        5A0CA6A1 (This is a reproducible build file hash, not a timestamp)
        """
    )
    (nt,) = parse(text).modules
    assert nt.timestamp == 0x5A0CA6A1
    assert nt.range.end.line == 4


def test_indented_block_and_elisions() -> None:
    lines = [
        "kd> lm",
        "start               end                 module name",
        "fffff800`00000000   fffff800`00088000   CI            (deferred)",
        "...",
        "fffff800`01143000   fffff800`01151000   Basic         (deferred)",
    ]
    text = "".join(f"    {line}\n" for line in lines)
    mods = parse(text).modules
    assert [m.name for m in mods] == ["CI", "Basic"]
    assert mods[1].name_range == rng(4, 44, 49)


def test_lmi_x64() -> None:
    text = log(
        """
        0: kd> !lmi sample
        Loaded Module Info: [sample]
                 Module: sample
           Base Address: fffff80600a00000
             Image Name: sample.sys
           Machine Type: 34404 (X64)
             Time Stamp: 5e1f0a2b Wed Jan 15 13:00:59 2020
                   Size: 48000
               CheckSum: 42df7
        Characteristics: 22
        Debug Data Dirs: Type  Size     VA  Pointer
                     CODEVIEW    a7,  e5f4,    d1f4 RSDS - GUID: {a1b2c3d4-0000-1111-2222-333344445555}
                       Age: 2, Pdb: C:\\build\\sample.pdb
             Image Type: MEMORY   - Image read successfully from loaded memory.
            Symbol Type: PDB      - Symbols loaded successfully from image header.
                         C:\\sym\\sample.pdb\\A1B2C3D4000011112222333344445555 2\\sample.pdb
            Load Report: private symbols & lines, not source indexed
        0: kd> g
        """
    )
    (mod,) = parse(text).modules
    assert mod.name == "sample"
    assert mod.name_range == rng(2, 17, 23)
    assert mod.start is not None and mod.start.value == 0xFFFFF80600A00000
    assert mod.start.range == rng(3, 17, 33)
    assert mod.image_size == 0x48000
    assert mod.end is not None and mod.end.value == 0xFFFFF80600A48000
    assert mod.end.range == rng(7, 17, 22)
    assert mod.image_name == "sample.sys"
    assert mod.timestamp == 0x5E1F0A2B
    assert mod.checksum == 0x42DF7
    assert mod.pdb_guid == "A1B2C3D4-0000-1111-2222-333344445555"
    assert mod.pdb_age == 2
    assert mod.symbol_file == "C:\\build\\sample.pdb"
    assert mod.symbol_status == "private symbols & lines, not source indexed"
    assert mod.properties["Machine Type"] == "34404 (X64)"
    assert mod.properties["Symbol Type"].endswith("sample.pdb")
    assert mod.range == Range(rng(1, 0, 0).start, rng(16, 60, 60).end)


def test_lmi_by_address_takes_name_from_module_key() -> None:
    text = log(
        """
        0:000> !lmi 00400000
        Loaded Module Info: [00400000]
                 Module: Tool
           Base Address: 00400000
                   Size: 2d000
        Debug Data Dirs: Type Size     VA  Pointer
                         MISC  110,     0,   77a00 [Data not mapped]
            Load Report: export symbols
        """
    )
    (mod,) = parse(text).modules
    assert mod.name == "Tool"
    assert mod.end is not None and mod.end.value == 0x42D000
    assert mod.pdb_guid is None and mod.pdb_age is None
    assert mod.symbol_status == "export symbols"


def test_header_alone_and_junk_never_fault() -> None:
    text = log(
        """
        kd> lm
        start    end        module name
        zzzz
        Unloaded modules:
        Loaded Module Info: [x]
                 Module:
        Loaded Module Info: no bracket
        """
    )
    session = parse(text)
    assert [m.name for m in session.modules] == ["x"]
