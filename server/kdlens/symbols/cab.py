"""Unpacking the compressed copies a symbol server keeps (``name.pd_``, ``name.sy_``).

SymStore compresses a file into a one-file cabinet (CAB); some servers put a
ZIP archive under the same name. No pure-Python CAB reader with a permissive
licence and all three platforms fits (the one that works everywhere is
LGPL, the MIT one calls Windows' ``cabinet.dll``), so this module reads the
cabinet format itself. It understands:

- stored (uncompressed) folders;
- MSZIP: each data block is ``CK`` followed by a raw deflate stream whose
  window starts with the previous block's output, which ``zlib`` decodes
  with ``wbits=-15`` and that output as the preset dictionary;
- ZIP archives (``zipfile`` of the standard library).

LZX and Quantum folders raise ``ArchiveError`` with a sentence naming the
file and the method, so the user knows which file to fetch by hand.

The input is untrusted server output: every count and offset is checked
against the file, the output is bounded (``max_bytes``) and written to a
stream as it is produced, and nothing here trusts a name in the archive for
anything but choosing the member.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

#: Compression methods by the low four bits of a folder's ``typeCompress``.
METHODS = {0: "none", 1: "MSZIP", 2: "Quantum", 3: "LZX"}
#: An MSZIP block never holds more than this much output.
MSZIP_BLOCK = 32768

_HEADER = struct.Struct("<4sIIIIIBBHHHHH")
_FOLDER = struct.Struct("<IHH")
_FILE = struct.Struct("<IIHHHH")
_DATA = struct.Struct("<IHH")
_FLAG_PREV, _FLAG_NEXT, _FLAG_RESERVE = 0x1, 0x2, 0x4
_MAX_NAME = 1024


class ArchiveError(Exception):
    """The archive cannot be unpacked; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class Member:
    """One file listed in a cabinet."""

    name: str
    size: int
    folder: int
    offset: int  # where the file starts in its folder's uncompressed data


@dataclass(frozen=True, slots=True)
class Folder:
    start: int  # offset of the first CFDATA block
    blocks: int
    method: int  # low four bits of typeCompress


def is_cab(head: bytes) -> bool:
    return head[:4] == b"MSCF"


def is_zip(head: bytes) -> bool:
    return head[:4] == b"PK\x03\x04"


def unpack(src: BinaryIO, size: int, want: str, out: BinaryIO, max_bytes: int, label: str) -> str:
    """Write the member ``want`` (or the only member) of the archive in ``src`` to ``out``.

    ``size`` is the archive's length, ``label`` names it in messages.
    Returns the compression method used. Raises ``ArchiveError``.
    """
    src.seek(0)
    head = src.read(4)
    src.seek(0)
    if is_cab(head):
        return _unpack_cab(src, size, want, out, max_bytes, label)
    if is_zip(head):
        return _unpack_zip(src, want, out, max_bytes, label)
    raise ArchiveError(f"{label} is neither a CAB nor a ZIP archive")


# --------------------------------------------------------------------------- ZIP


def _unpack_zip(src: BinaryIO, want: str, out: BinaryIO, max_bytes: int, label: str) -> str:
    try:
        with zipfile.ZipFile(src) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            info = infos[_choose([i.filename for i in infos], want, label)]
            if info.file_size > max_bytes:
                raise ArchiveError(f"{label}: {info.filename} is larger than {max_bytes} bytes")
            with archive.open(info) as member:
                _copy_bounded(member, out, max_bytes, label)  # type: ignore[arg-type]
            return "ZIP"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise ArchiveError(f"{label} is a damaged or unsupported ZIP archive: {exc}") from exc
    except (ValueError, RuntimeError, zlib.error) as exc:
        raise ArchiveError(f"{label}: {exc}") from exc


def _copy_bounded(member: BinaryIO, out: BinaryIO, max_bytes: int, label: str) -> None:
    written = 0
    while True:
        chunk = member.read(1 << 16)
        if not chunk:
            return
        written += len(chunk)
        if written > max_bytes:
            raise ArchiveError(f"{label} unpacks to more than {max_bytes} bytes")
        out.write(chunk)


def _choose(names: list[str], want: str, label: str) -> int:
    """The index of the member named ``want`` (any case, any folder), else of the only one."""
    low = want.lower()
    for i, name in enumerate(names):
        if name.replace("\\", "/").rsplit("/", 1)[-1].lower() == low:
            return i
    if len(names) == 1:
        return 0
    if not names:
        raise ArchiveError(f"{label} holds no file")
    raise ArchiveError(f"{label} holds {len(names)} files and none is named {want}")


# --------------------------------------------------------------------------- CAB


def _read_exact(src: BinaryIO, n: int, label: str, what: str) -> bytes:
    data = src.read(n)
    if len(data) != n:
        raise ArchiveError(f"{label} is truncated (in its {what})")
    return data


def _read_name(src: BinaryIO, label: str) -> str:
    raw = bytearray()
    while len(raw) <= _MAX_NAME:
        c = src.read(1)
        if not c:
            raise ArchiveError(f"{label} is truncated (in a file name)")
        if c == b"\0":
            return raw.decode("utf-8", "replace")
        raw += c
    raise ArchiveError(f"{label} has a file name longer than {_MAX_NAME} bytes")


def list_cab(src: BinaryIO, size: int, label: str) -> tuple[list[Folder], list[Member], int]:
    """The folders and files of a cabinet, and the reserved bytes per data block."""
    src.seek(0)
    fields = _HEADER.unpack(_read_exact(src, _HEADER.size, label, "header"))
    sig, _r1, cb_cabinet, _r2, coff_files, _r3, _minor, major = fields[:8]
    n_folders, n_files, flags = fields[8], fields[9], fields[10]
    if sig != b"MSCF":
        raise ArchiveError(f"{label} is not a CAB archive")
    if major != 1:
        raise ArchiveError(f"{label} is a CAB archive of unknown version {major}")
    if cb_cabinet > size:
        raise ArchiveError(f"{label} is truncated ({size} of {cb_cabinet} bytes)")
    if flags & (_FLAG_PREV | _FLAG_NEXT):
        raise ArchiveError(f"{label} is one part of a multi-cabinet set, which is not supported")
    folder_reserve = data_reserve = 0
    if flags & _FLAG_RESERVE:
        cb_header, folder_reserve, data_reserve = struct.unpack(
            "<HBB", _read_exact(src, 4, label, "header")
        )
        _read_exact(src, cb_header, label, "header")
    if not 0 < n_folders <= 0xFFFF or n_files == 0:
        raise ArchiveError(f"{label} holds no file")
    folders: list[Folder] = []
    for _ in range(n_folders):
        start, blocks, method = _FOLDER.unpack(_read_exact(src, _FOLDER.size, label, "folders"))
        _read_exact(src, folder_reserve, label, "folders")
        if start >= size:
            raise ArchiveError(f"{label}: a folder starts past the end of the file")
        folders.append(Folder(start, blocks, method & 0x000F))
    if coff_files >= size:
        raise ArchiveError(f"{label}: the file list starts past the end of the file")
    src.seek(coff_files)
    members: list[Member] = []
    for _ in range(n_files):
        cb_file, off, i_folder, _date, _time, _attr = _FILE.unpack(
            _read_exact(src, _FILE.size, label, "file list")
        )
        name = _read_name(src, label)
        if i_folder >= len(folders):
            raise ArchiveError(f"{label}: {name} continues in another cabinet (not supported)")
        members.append(Member(name, cb_file, i_folder, off))
    return folders, members, data_reserve


def _unpack_cab(
    src: BinaryIO, size: int, want: str, out: BinaryIO, max_bytes: int, label: str
) -> str:
    folders, members, data_reserve = list_cab(src, size, label)
    chosen = members[_choose([m.name for m in members], want, label)]
    if chosen.size > max_bytes:
        raise ArchiveError(f"{label}: {chosen.name} is larger than {max_bytes} bytes")
    folder = folders[chosen.folder]
    method = METHODS.get(folder.method, f"unknown method {folder.method}")
    if folder.method not in (0, 1):
        raise ArchiveError(
            f"{label} is compressed with {method}, which kdlens cannot unpack; "
            f"expand it with another tool (expand.exe, cabextract, gcab) into the symbol path"
        )
    skip, left = chosen.offset, chosen.size
    src.seek(folder.start)
    window = b""
    for _ in range(folder.blocks):
        if left <= 0:
            break
        head = _read_exact(src, _DATA.size, label, "data")
        csum, cb_data, cb_uncomp = _DATA.unpack(head)
        _read_exact(src, data_reserve, label, "data")
        raw = _read_exact(src, cb_data, label, "data")
        if csum and checksum(head[4:], checksum(raw)) != csum:
            raise ArchiveError(f"{label}: a data block fails its checksum (damaged download)")
        if folder.method == 0:
            block = raw
        else:
            block = _mszip_block(raw, window, label)
            window = block
        if len(block) != cb_uncomp:
            raise ArchiveError(
                f"{label}: a data block unpacks to {len(block)} bytes, its header says {cb_uncomp}"
            )
        if skip >= len(block):
            skip -= len(block)
            continue
        piece = block[skip : skip + left]
        skip = 0
        out.write(piece)
        left -= len(piece)
    if left > 0:
        raise ArchiveError(f"{label} ends {left} bytes before the end of {chosen.name}")
    return method


def checksum(data: bytes, seed: int = 0) -> int:
    """The cabinet format's block checksum: the XOR of the little-endian 32-bit words.

    Trailing bytes form one more word, the first of them the most significant.
    The words are folded as one big integer (halves XORed together), so a
    block costs a few big-number operations instead of a loop per word.
    """
    whole = len(data) // 4 * 4
    x = int.from_bytes(data[:whole], "little")
    words = whole // 4
    while words > 1:
        half = (words + 1) // 2
        bits = half * 32
        x = (x & ((1 << bits) - 1)) ^ (x >> bits)
        words = half
    tail = 0
    for b in data[whole:]:
        tail = (tail << 8) | b
    return (x ^ tail ^ seed) & 0xFFFFFFFF


def _mszip_block(raw: bytes, window: bytes, label: str) -> bytes:
    """One MSZIP block: ``CK`` then deflate data whose history is the previous block."""
    if raw[:2] != b"CK":
        raise ArchiveError(f"{label}: an MSZIP block does not start with its 'CK' signature")
    try:
        d = zlib.decompressobj(-15, zdict=window) if window else zlib.decompressobj(-15)
        block = d.decompress(raw[2:], MSZIP_BLOCK + 1)
    except zlib.error as exc:
        raise ArchiveError(f"{label}: damaged MSZIP data ({exc})") from exc
    if len(block) > MSZIP_BLOCK:
        raise ArchiveError(f"{label}: an MSZIP block unpacks to more than {MSZIP_BLOCK} bytes")
    return block
