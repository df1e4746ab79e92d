"""What a PE image (.sys, .dll, .exe) says about itself and its PDB.

The CodeView (RSDS) debug record names the PDB and carries the GUID and age
that the PDB must match; the file header's timestamp and the image size
form the key a symbol store files the image under. Parsing uses ``pefile``;
any failure comes out as ``ImageError``.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass

import pefile  # type: ignore[import-untyped]

from ..workspace_io import DEFAULT_MAX_IMAGE_BYTES, read_regular_file
from .pdb.errors import PdbError

_DEBUG_TYPE_CODEVIEW = 2
_RSDS = struct.Struct("<4s16sI")
_MAX_CODEVIEW_BYTES = 4096


class ImageError(PdbError):
    """The image could not be read (a ``PdbError`` so one ``except`` covers both)."""


@dataclass(frozen=True, slots=True)
class CodeViewInfo:
    """An RSDS record: which PDB belongs to the image."""

    guid: uuid.UUID
    age: int
    pdb_name: str

    @property
    def symbol_key(self) -> str:
        """The symbol-store key of the PDB: GUID hex digits then age, upper case."""
        return f"{self.guid.hex.upper()}{self.age:X}"


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """The identity of an image file."""

    machine: int
    timestamp: int
    size_of_image: int
    image_base: int
    codeview: CodeViewInfo | None

    @property
    def is_64bit(self) -> bool:
        return self.machine in (0x8664, 0xAA64)

    @property
    def symbol_key(self) -> str:
        """The symbol-store key of the image itself: timestamp then image size."""
        return f"{self.timestamp:08X}{self.size_of_image:x}"


def read_image(path: str | os.PathLike[str]) -> ImageInfo:
    """Read the identity of the image at ``path``."""
    try:
        data = read_regular_file(path, DEFAULT_MAX_IMAGE_BYTES)  # regular files only, bounded
    except OSError as exc:
        raise ImageError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from exc
    return read_image_bytes(data)


def read_image_bytes(data: bytes) -> ImageInfo:
    """Read the identity of an image held in memory."""
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except Exception as exc:  # pefile raises PEFormatError and, on odd input, others
        raise ImageError(f"not a PE image: {exc}") from exc
    # No pe.close(): it only matters for files pefile maps itself, and it runs a full
    # garbage collection each time.
    try:
        return _identity(pe)
    except ImageError:
        raise
    except Exception as exc:  # a corrupt directory can trip pefile anywhere
        raise ImageError(f"malformed PE image: {exc}") from exc


def _identity(pe: pefile.PE) -> ImageInfo:
    fh = pe.FILE_HEADER
    oh = getattr(pe, "OPTIONAL_HEADER", None)
    if oh is None:
        raise ImageError("the image has no optional header")
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_DEBUG"]])
    codeview = None
    for entry in getattr(pe, "DIRECTORY_ENTRY_DEBUG", []):
        if entry.struct.Type != _DEBUG_TYPE_CODEVIEW:
            continue
        size = min(int(entry.struct.SizeOfData), _MAX_CODEVIEW_BYTES)
        raw = pe.__data__[entry.struct.PointerToRawData : entry.struct.PointerToRawData + size]
        codeview = _parse_rsds(bytes(raw))
        if codeview is not None:
            break
    return ImageInfo(
        machine=int(fh.Machine),
        timestamp=int(fh.TimeDateStamp),
        size_of_image=int(oh.SizeOfImage),
        image_base=int(oh.ImageBase),
        codeview=codeview,
    )


def _parse_rsds(raw: bytes) -> CodeViewInfo | None:
    if len(raw) < _RSDS.size:
        return None
    magic, guid, age = _RSDS.unpack_from(raw, 0)
    if magic != b"RSDS":
        return None
    name = raw[_RSDS.size :].split(b"\0", 1)[0].decode("utf-8", "replace")
    return CodeViewInfo(uuid.UUID(bytes_le=guid), age, name)
