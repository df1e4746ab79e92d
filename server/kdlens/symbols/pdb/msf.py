"""The MSF 7.00 container: a file of fixed-size blocks holding numbered streams.

A PDB is a small file system. The superblock names the block size and where
the stream directory's block list lives; the directory lists each stream's
size and blocks. Streams are read on demand, block by block, from a memory
map, and every block number is checked against the file.
"""

from __future__ import annotations

import mmap
import struct
import sys
from array import array
from dataclasses import dataclass

from .binary import Reader
from .errors import PdbError

MAGIC = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0"
_MSF2_MAGIC = b"Microsoft C/C++ program database 2.00\r\n"
_SUPERBLOCK = struct.Struct("<6I")
_SUPERBLOCK_SIZE = len(MAGIC) + _SUPERBLOCK.size
_NIL_STREAM = 0xFFFFFFFF
_BLOCK_SIZES = frozenset(1 << n for n in range(9, 17))

#: What a PDB can be read from: a byte string or a read-only memory map.
Buffer = bytes | mmap.mmap


@dataclass(frozen=True, slots=True)
class SuperBlock:
    """The fixed header at offset 0 of every MSF file."""

    block_size: int
    free_block_map_block: int
    num_blocks: int
    num_directory_bytes: int
    block_map_addr: int


def read_superblock(data: Buffer | bytearray) -> SuperBlock:
    """Parse and sanity-check the superblock."""
    if len(data) < _SUPERBLOCK_SIZE:
        raise PdbError(f"file is too small for an MSF superblock ({len(data)} bytes)")
    if data[: len(MAGIC)] != MAGIC:
        if data[: len(_MSF2_MAGIC)] == _MSF2_MAGIC:
            raise PdbError("PDB 2.00 (pre-2000 format) is not supported")
        raise PdbError("not a PDB: the MSF 7.00 magic is missing")
    head = bytes(data[len(MAGIC) : _SUPERBLOCK_SIZE])
    bs, fpm, nblocks, ndir, _unknown, map_addr = _SUPERBLOCK.unpack(head)
    if bs not in _BLOCK_SIZES:
        raise PdbError(f"unsupported block size {bs}")
    if nblocks == 0 or nblocks > len(data) // bs + 1:
        raise PdbError(f"block count {nblocks} does not match the file size {len(data)}")
    if ndir < 4 or ndir > nblocks * bs:
        raise PdbError(f"stream directory size {ndir} is impossible")
    if map_addr == 0 or map_addr >= nblocks:
        raise PdbError(f"directory block map at block {map_addr} is outside the file")
    return SuperBlock(bs, fpm, nblocks, ndir, map_addr)


class Msf:
    """The streams of one MSF file, read lazily from ``data``."""

    def __init__(self, data: Buffer) -> None:
        self._data = data
        self.superblock = sb = read_superblock(data)
        self.block_size = sb.block_size
        self._file_blocks = min(sb.num_blocks, len(data) // sb.block_size)
        dir_blocks = -(-sb.num_directory_bytes // sb.block_size)
        map_start = sb.block_map_addr * sb.block_size
        map_bytes = bytes(data[map_start : map_start + 4 * dir_blocks])
        if len(map_bytes) != 4 * dir_blocks:
            raise PdbError("the directory block map runs past the end of the file")
        directory_blocks = array("I")
        directory_blocks.frombytes(map_bytes)
        self._check_little_endian(directory_blocks)
        directory = self._read_blocks(directory_blocks, sb.num_directory_bytes, "directory")
        self._sizes: list[int] = []
        self._blocks: list[array[int]] = []
        self._parse_directory(directory)

    @staticmethod
    def _check_little_endian(values: array[int]) -> None:
        if values.itemsize != 4:  # pragma: no cover - every CPython platform has 4-byte "I"
            raise PdbError("this Python has no 4-byte unsigned array type")
        if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
            values.byteswap()

    def _parse_directory(self, directory: bytes) -> None:
        r = Reader(directory, "stream directory")
        count = r.count(r.u32(), 4, "stream sizes")
        sizes = [r.u32() for _ in range(count)]
        bs = self.block_size
        for size in sizes:
            if size == _NIL_STREAM:
                self._sizes.append(-1)
                self._blocks.append(array("I"))
                continue
            if size > self._file_blocks * bs:
                raise PdbError(f"stream of {size} bytes is larger than the file")
            nblocks = r.count(-(-size // bs), 4, "stream blocks")
            blocks = array("I")
            blocks.frombytes(r.take(4 * nblocks))
            self._check_little_endian(blocks)
            self._sizes.append(size)
            self._blocks.append(blocks)

    def _read_blocks(self, blocks: array[int], size: int, what: str) -> bytes:
        bs = self.block_size
        limit = self._file_blocks
        data = self._data
        parts = []
        for b in blocks:
            if b >= limit:
                raise PdbError(f"{what}: block {b} is outside the file ({limit} blocks)")
            start = b * bs
            parts.append(data[start : start + bs])
        joined = b"".join(parts)
        if len(joined) < size:
            raise PdbError(f"{what}: {size} bytes claimed, {len(joined)} present")
        return joined[:size]

    @property
    def stream_count(self) -> int:
        return len(self._sizes)

    def has_stream(self, index: int) -> bool:
        """Whether stream ``index`` exists (0xFFFF and nil streams do not)."""
        return 0 <= index < len(self._sizes) and self._sizes[index] >= 0

    def stream_size(self, index: int) -> int:
        return self._sizes[index] if self.has_stream(index) else 0

    def read_stream(self, index: int, what: str) -> bytes:
        """The whole content of stream ``index``."""
        if not self.has_stream(index):
            raise PdbError(f"{what}: stream {index} does not exist")
        return self._read_blocks(self._blocks[index], self._sizes[index], what)

    def file_offset(self, index: int, offset: int) -> int:
        """Where byte ``offset`` of stream ``index`` sits in the file (for diagnostics)."""
        if not self.has_stream(index) or not 0 <= offset < self._sizes[index]:
            raise PdbError(f"stream {index} has no byte {offset}")
        block = self._blocks[index][offset // self.block_size]
        return block * self.block_size + offset % self.block_size
