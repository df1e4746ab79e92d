"""Corrupted PDBs made from good ones: a deterministic, seeded mutant generator.

The generator reads the MSF layout of a pristine PDB with its own few lines
of ``struct`` code (not the reader under test), so it can aim at structure:
the superblock, the stream directory, the block lists of single streams,
fields of the info, DBI, TPI/IPI, ``/names`` and module streams. Each mutant
is a copy of the file with one kind of damage:

- ``truncate``: the file cut short (inside the superblock, at and around
  block boundaries, at random points);
- ``flip``: one to three bits flipped in bytes some stream (or the
  superblock, or the directory's block map) really uses;
- ``zero``: every block of one stream overwritten with zeros;
- ``cycle``: a stream's block list rewritten to point at one block over and
  over, at another stream's blocks, at the superblock or at the directory;
  the directory's own block map made to point at itself;
- ``huge``: a declared size or count set near 2^31 or 2^32 (block count,
  directory size, stream count and sizes, DBI substream sizes, module symbol
  and line sizes, C13 subsection lengths, line block counts, TPI record
  ranges, the named stream map and ``/names`` sizes, symbol record lengths);
- ``sections`` and ``names``: the section header and ``/names`` streams
  zeroed, cut to nothing or pointed at foreign blocks.

``mutants(name, data, count, seed)`` yields the structured mutants first (in
a fixed order) and then random truncations and bit flips, so a small count
still covers every structured kind and a large one adds random damage. The
same arguments always give the same mutants.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass

MAGIC = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0"
_SUPER = struct.Struct("<6I")
_NIL = 0xFFFFFFFF
#: Values a lying size or count takes: around 2^31 and 2^32, and just past small limits.
HUGE = (0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF)

INFO, TPI, DBI, IPI = 1, 2, 3, 4


@dataclass(frozen=True)
class Mutant:
    """One damaged copy: ``name`` says what was done (stable across runs), ``data`` is the file."""

    name: str
    data: bytes


class Layout:
    """The MSF layout of a pristine PDB, and the file offset of any stream byte."""

    def __init__(self, data: bytes) -> None:
        if not data.startswith(MAGIC):
            raise ValueError("not an MSF 7.00 file")
        self.data = data
        at = len(MAGIC)
        fields: tuple[int, ...] = _SUPER.unpack_from(data, at)
        bs, _fpm, nblocks, ndir, _unknown, map_addr = fields
        self.block_size, self.num_blocks, self.dir_bytes, self.map_addr = (
            bs,
            nblocks,
            ndir,
            map_addr,
        )
        #: file offsets of the superblock fields
        self.super_fields = {
            "block size": at,
            "block count": at + 8,
            "directory size": at + 12,
            "block map address": at + 20,
        }
        dir_count = -(-ndir // bs)
        self.dir_blocks: list[int] = list(struct.unpack_from(f"<{dir_count}I", data, map_addr * bs))
        directory = b"".join(data[b * bs : (b + 1) * bs] for b in self.dir_blocks)[:ndir]
        self._dir_offsets = [b * bs for b in self.dir_blocks]
        (count,) = struct.unpack_from("<I", directory, 0)
        self.sizes = list(struct.unpack_from(f"<{count}I", directory, 4))
        self.blocks: list[list[int]] = []
        #: directory offset of each stream's first block number
        self.block_list_at: list[int] = []
        pos = 4 + 4 * count
        for size in self.sizes:
            n = 0 if size == _NIL else -(-size // bs)
            self.block_list_at.append(pos)
            self.blocks.append(list(struct.unpack_from(f"<{n}I", directory, pos)))
            pos += 4 * n

    # ------------------------------------------------------------ addressing
    def dir_offset(self, offset: int) -> int:
        """File offset of byte ``offset`` of the stream directory."""
        return self._dir_offsets[offset // self.block_size] + offset % self.block_size

    def has(self, stream: int) -> bool:
        return 0 <= stream < len(self.sizes) and self.sizes[stream] != _NIL

    def offset(self, stream: int, offset: int) -> int:
        """File offset of byte ``offset`` of ``stream``."""
        bs = self.block_size
        return self.blocks[stream][offset // bs] * bs + offset % bs

    def stream(self, stream: int) -> bytes:
        bs = self.block_size
        raw = b"".join(self.data[b * bs : (b + 1) * bs] for b in self.blocks[stream])
        return raw[: self.sizes[stream]]

    def live_offsets(self) -> list[int]:
        """File offsets that the superblock, the block map, the directory or a stream use."""
        bs = self.block_size
        live = set(range(len(MAGIC) + _SUPER.size))
        live.update(range(self.map_addr * bs, self.map_addr * bs + 4 * len(self.dir_blocks)))
        live.update(self.dir_offset(i) for i in range(self.dir_bytes))
        for s, size in enumerate(self.sizes):
            if size != _NIL:
                live.update(self.offset(s, i) for i in range(size))
        return sorted(live)

    # ------------------------------------------------------------ what the streams hold
    def u32(self, stream: int, offset: int) -> int:
        value: int = struct.unpack_from("<I", self.stream(stream), offset)[0]
        return value

    def u16(self, stream: int, offset: int) -> int:
        value: int = struct.unpack_from("<H", self.stream(stream), offset)[0]
        return value

    def named_stream(self, wanted: str) -> int | None:
        """The stream the info stream's name map gives ``wanted`` (``/names``)."""
        info = self.stream(INFO)
        pos = 28
        (buf_size,) = struct.unpack_from("<I", info, pos)
        names = info[pos + 4 : pos + 4 + buf_size]
        pos += 4 + buf_size
        _size, capacity, words = struct.unpack_from("<III", info, pos)
        pos += 12
        present = struct.unpack_from(f"<{words}I", info, pos)
        pos += 4 * words
        (deleted,) = struct.unpack_from("<I", info, pos)
        pos += 4 + 4 * deleted
        for bit in range(min(capacity, 32 * words)):
            if present[bit // 32] >> (bit % 32) & 1:
                key, value = struct.unpack_from("<II", info, pos)
                pos += 8
                if names[key:].split(b"\0", 1)[0].decode() == wanted:
                    return int(value)
        return None

    def dbi_layout(self) -> tuple[list[tuple[int, int]], int | None, int, int]:
        """``([(record offset, module stream)], section header stream, symbol record stream,
        debug header offset)`` from the DBI stream."""
        dbi = self.stream(DBI)
        sizes = struct.unpack_from("<iiiiiIii", dbi, 24)
        mod, contrib, secmap, srcinfo, tsm, _mfc, dbg, ec = sizes
        modules: list[tuple[int, int]] = []
        pos, end = 64, 64 + mod
        while end - pos >= 64:
            (stream,) = struct.unpack_from("<H", dbi, pos + 34)
            name_end = dbi.index(b"\0", dbi.index(b"\0", pos + 64) + 1) + 1
            modules.append((pos, stream))
            pos = (name_end + 3) & ~3
        debug_at = 64 + mod + contrib + secmap + srcinfo + tsm + ec
        sections = None
        if dbg >= 12:
            (value,) = struct.unpack_from("<H", dbi, debug_at + 10)
            sections = None if value == 0xFFFF else value
        (symrec,) = struct.unpack_from("<H", dbi, 20)
        return modules, sections, symrec, debug_at

    def c13_fields(self, stream: int, sym_size: int, c11_size: int, c13_size: int) -> list[int]:
        """Stream offsets of a module's C13 subsection lengths and line block counts/sizes."""
        data = self.stream(stream)
        fields: list[int] = []
        pos, end = sym_size + c11_size, sym_size + c11_size + c13_size
        while end - pos >= 8:
            kind, length = struct.unpack_from("<II", data, pos)
            fields.append(pos + 4)
            body = pos + 8
            if kind == 0xF2 and length >= 12 + 12:
                # the first file block of a line table: file, count, block size
                fields.extend((body + 12 + 4, body + 12 + 8))
            pos = body + ((length + 3) & ~3)
        return fields


def _u32(value: int) -> bytes:
    return struct.pack("<I", value & 0xFFFFFFFF)


class _Builder:
    """Edits of one pristine file; each returns a new mutant."""

    def __init__(self, base: str, layout: Layout) -> None:
        self.base = base
        self.lay = layout

    def raw(self, what: str, edits: dict[int, int]) -> Mutant:
        out = bytearray(self.lay.data)
        for at, value in edits.items():
            if 0 <= at < len(out):
                out[at] = value
        return Mutant(f"{self.base}/{what}", bytes(out))

    def put(self, what: str, at: int, value: bytes) -> Mutant:
        return self.raw(what, {at + i: b for i, b in enumerate(value)})

    def put_stream(self, what: str, stream: int, offset: int, value: bytes) -> Mutant:
        lay = self.lay
        edits = {lay.offset(stream, offset + i): b for i, b in enumerate(value)}
        return self.raw(what, edits)

    def put_dir(self, what: str, offset: int, value: bytes) -> Mutant:
        lay = self.lay
        edits = {lay.dir_offset(offset + i): b for i, b in enumerate(value)}
        return self.raw(what, edits)

    def zero_stream(self, what: str, stream: int) -> Mutant:
        lay = self.lay
        bs = lay.block_size
        edits = {}
        for b in lay.blocks[stream]:
            edits.update({b * bs + i: 0 for i in range(bs)})
        return self.raw(what, edits)

    def block_list(self, what: str, stream: int, blocks: list[int]) -> Mutant:
        """``stream``'s block list replaced by ``blocks`` (same length, in place)."""
        lay = self.lay
        at = lay.block_list_at[stream]
        value = b"".join(_u32(b) for b in blocks[: len(lay.blocks[stream])])
        return self.put_dir(what, at, value)

    def stream_size(self, what: str, stream: int, size: int) -> Mutant:
        return self.put_dir(what, 4 + 4 * stream, _u32(size))

    def dbi_u16(self, what: str, offset: int, value: int) -> Mutant:
        return self.put_stream(what, DBI, offset, struct.pack("<H", value))


def structured(base: str, data: bytes) -> list[Mutant]:
    """Every aimed mutant of one pristine PDB, in a fixed order."""
    lay = Layout(data)
    b = _Builder(base, lay)
    bs = lay.block_size
    out: list[Mutant] = []
    modules, sections, symrec, debug_at = lay.dbi_layout()
    names = lay.named_stream("/names")
    streams = [s for s in range(len(lay.sizes)) if lay.has(s) and lay.sizes[s] > 0]

    # -- the superblock and the directory
    for field, at in lay.super_fields.items():
        for value in HUGE:
            out.append(b.put(f"huge superblock {field}={value:#x}", at, _u32(value)))
    out.append(
        b.put("superblock block map address=0", lay.super_fields["block map address"], _u32(0))
    )
    for value in (0x7FFFFFFF, 0xFFFFFFFF):
        out.append(b.put_dir(f"huge stream count={value:#x}", 0, _u32(value)))
    map_at = lay.map_addr * bs
    out.append(b.put("cycle directory block map -> itself", map_at, _u32(lay.map_addr)))
    out.append(b.put("cycle directory -> superblock", map_at, _u32(0)))
    if len(lay.dir_blocks) > 1:
        first = _u32(lay.dir_blocks[0]) * len(lay.dir_blocks)
        out.append(b.put("cycle directory blocks repeat", map_at, first))

    # -- every stream: zeroed, cyclic, declared huge
    for s in streams:
        own = lay.blocks[s]
        out.append(b.zero_stream(f"zero stream {s}", s))
        out.append(b.block_list(f"cycle stream {s} -> block map", s, [lay.map_addr] * len(own)))
        out.append(b.block_list(f"cycle stream {s} -> superblock", s, [0] * len(own)))
        if len(own) > 1:
            out.append(b.block_list(f"cycle stream {s} -> first block", s, [own[0]] * len(own)))
        out.append(b.stream_size(f"huge stream {s} size", s, 0x7FFFFFFF))
        out.append(b.stream_size(f"huge stream {s} size=2^32-2", s, 0xFFFFFFFE))
        # one block more than it has: the next stream's first block number is read as its own
        out.append(b.stream_size(f"stream {s} one block longer", s, (len(own) + 1) * bs))
    # a stream pointed at another's blocks (the directory's, the DBI's)
    for s in streams:
        if s != DBI:
            other = (lay.blocks[DBI] * (len(lay.blocks[s]) + 1))[: len(lay.blocks[s])]
            out.append(b.block_list(f"cycle stream {s} -> DBI blocks", s, other))
        dirs = (lay.dir_blocks * (len(lay.blocks[s]) + 1))[: len(lay.blocks[s])]
        out.append(b.block_list(f"cycle stream {s} -> directory", s, dirs))

    # -- the info stream and its named stream map
    for value in HUGE:
        out.append(b.put_stream(f"huge info name buffer={value:#x}", INFO, 28, _u32(value)))
    buf = lay.u32(INFO, 28)
    for field, at in (("size", 32), ("capacity", 36), ("present words", 40)):
        for value in (0x7FFFFFFF, 0xFFFFFFFF):
            out.append(
                b.put_stream(f"huge info map {field}={value:#x}", INFO, at + buf, _u32(value))
            )

    # -- the DBI stream
    dbi_fields = {
        "module info": 24,
        "contributions": 28,
        "section map": 32,
        "source info": 36,
        "type servers": 40,
        "debug header": 48,
        "EC": 52,
    }
    for field, at in dbi_fields.items():
        for value in HUGE:
            out.append(b.put_stream(f"huge DBI {field} size={value:#x}", DBI, at, _u32(value)))
    out.append(b.put_stream("DBI symbol record stream=0x7fff", DBI, 20, struct.pack("<H", 0x7FFF)))
    for k, (rec, _stream) in enumerate(modules[:4]):
        for field, at in (("symbols", 36), ("C11", 40), ("C13", 44)):
            for value in (0x7FFFFFFF, 0xFFFFFFFF):
                what = f"huge module {k} {field} size={value:#x}"
                out.append(b.put_stream(what, DBI, rec + at, _u32(value)))
        out.append(b.put_stream(f"module {k} stream=0", DBI, rec + 34, struct.pack("<H", 0)))
        if k > 0:
            # the first module's stream claimed again: read once per claimant unless refused
            first = struct.pack("<H", modules[0][1])
            out.append(b.put_stream(f"module {k} stream=module 0's", DBI, rec + 34, first))
        out.append(b.put_stream(f"module {k} stream=DBI", DBI, rec + 34, struct.pack("<H", DBI)))

    # -- module streams: C13 subsection lengths, line block counts, symbol record lengths
    dbi = lay.stream(DBI)
    for k, (rec, stream) in enumerate(modules):
        if not lay.has(stream):
            continue
        sym, c11, c13 = struct.unpack_from("<III", dbi, rec + 36)
        for n, at in enumerate(lay.c13_fields(stream, sym, c11, c13)[:6]):
            for value in (0x7FFFFFFF, 0xFFFFFFFF):
                what = f"huge module {k} C13 field {n}={value:#x}"
                out.append(b.put_stream(what, stream, at, _u32(value)))
        if sym > 8:
            what = f"module {k} first symbol record length=0xffff"
            out.append(b.put_stream(what, stream, 4, struct.pack("<H", 0xFFFF)))
        if k >= 3:
            break

    # -- type streams
    for s in (TPI, IPI):
        if lay.has(s) and lay.sizes[s] >= 20:
            for field, at in (("header size", 4), ("end", 12), ("record bytes", 16)):
                for value in (0x7FFFFFFF, 0xFFFFFFFF):
                    what = f"huge {'TPI' if s == TPI else 'IPI'} {field}={value:#x}"
                    out.append(b.put_stream(what, s, at, _u32(value)))

    # -- symbol records, section headers, /names
    if lay.has(symrec) and lay.sizes[symrec] > 4:
        out.append(b.put_stream("symbol records first length=0xffff", symrec, 0, b"\xff\xff"))
        out.append(b.put_stream("symbol records first length=0", symrec, 0, b"\0\0"))
    if sections is not None and lay.has(sections):
        out.append(b.zero_stream("sections zeroed", sections))
        out.append(b.stream_size("sections size 0", sections, 0))
        out.append(b.stream_size("sections size 39", sections, 39))
        out.append(b.block_list("sections cyclic -> DBI", sections, lay.blocks[DBI]))
        out.append(b.block_list("sections cyclic -> names", sections, lay.blocks[names or 0]))
        out.append(b.put_stream("sections first RVA=0", sections, 12, _u32(0)))
        out.append(b.dbi_u16("sections slot nil", debug_at + 10, 0xFFFF))
        out.append(b.dbi_u16("sections slot -> DBI", debug_at + 10, DBI))
    if names is not None and lay.has(names):
        out.append(b.zero_stream("names zeroed", names))
        out.append(b.stream_size("names size 0", names, 0))
        out.append(b.block_list("names cyclic -> sections", names, lay.blocks[sections or 0]))
        out.append(b.block_list("names cyclic -> directory", names, lay.dir_blocks))
        for value in (0x7FFFFFFF, 0xFFFFFFFF):
            out.append(b.put_stream(f"huge names size={value:#x}", names, 8, _u32(value)))
        out.append(b.put_stream("names zero size", names, 8, _u32(0)))
    # an edit that writes what was there already is no mutant
    return [m for m in out if m.data != data]


def random_mutants(base: str, data: bytes, seed: int) -> Iterator[Mutant]:
    """An endless, seeded stream of truncations and bit flips of one pristine PDB."""
    lay = Layout(data)
    b = _Builder(base, lay)
    rng = random.Random(f"{seed}:{base}")
    live = lay.live_offsets()
    bs = lay.block_size
    # every block boundary (and one byte either side) first, then random points
    cuts: list[int] = [0, 1, 31, 32, 52, 56]
    for k in range(1, len(data) // bs + 1):
        cuts.extend(at for at in (k * bs - 1, k * bs, k * bs + 1) if at < len(data))
    cuts.reverse()
    n = 0
    while True:
        n += 1
        if n % 2:
            at = cuts.pop() if cuts else rng.randrange(len(data))
            yield Mutant(f"{base}/truncate@{at}", data[:at])
            continue
        flips = rng.randint(1, 3)
        edits: dict[int, int] = {}
        for _ in range(flips):
            at = rng.choice(live)
            edits[at] = edits.get(at, data[at]) ^ (1 << rng.randrange(8))
        where = ",".join(f"{at}" for at in sorted(edits))
        mutant = b.raw(f"flip@{where}", edits)
        if mutant.data != data:  # two flips of one bit undo each other
            yield mutant


def mutants(bases: dict[str, bytes], count: int, seed: int) -> list[Mutant]:
    """``count`` mutants of the pristine PDBs ``bases`` (name -> bytes), deterministic in ``seed``.

    First every kind of structured damage once, each applied to one base in
    turn; then the remaining structured mutants alternate with random
    truncations and bit flips (round-robin over the bases). So a few hundred
    mutants already hold every structured kind, and more add the rest.
    """
    # kind (the name without its base) -> that kind's mutant of each base having it
    kinds: dict[str, list[Mutant]] = {}
    for name, data in bases.items():
        for m in structured(name, data):
            kinds.setdefault(m.name.split("/", 1)[1], []).append(m)
    first: list[Mutant] = []
    rest: list[Mutant] = []
    for k, of_kind in enumerate(kinds.values()):
        pick = k % len(of_kind)
        first.append(of_kind[pick])
        rest.extend(m for i, m in enumerate(of_kind) if i != pick)
    streams = [random_mutants(name, data, seed) for name, data in bases.items()]
    out = first[:count]
    turn = 0
    while len(out) < count:
        if turn % 2 == 0 and rest:
            out.append(rest.pop(0))
        else:
            out.append(next(streams[(turn // 2) % len(streams)]))
        turn += 1
    return out


#: Named damage for focused tests: each makes lookups lose their source lines
#: while the file still opens and keeps its identity.
DAMAGE = (
    "sections zeroed",
    "sections missing",
    "names zeroed",
    "names missing",
    "no line data",
    "module stream shared",
)


def damaged(data: bytes, kind: str) -> bytes:
    """``data`` with one named kind of damage (see ``DAMAGE``)."""
    lay = Layout(data)
    b = _Builder("", lay)
    modules, sections, _symrec, debug_at = lay.dbi_layout()
    names = lay.named_stream("/names")
    if kind == "sections zeroed" and sections is not None:
        return b.zero_stream(kind, sections).data
    if kind == "sections missing":
        return b.dbi_u16(kind, debug_at + 10, 0xFFFF).data
    if kind == "names zeroed" and names is not None:
        return b.zero_stream(kind, names).data
    if kind == "names missing":
        # the name map keeps its entry, spelled so that nobody asks for it
        at = lay.stream(INFO).index(b"/names\0")
        return b.put_stream(kind, INFO, at + 5, b"z").data
    if kind == "no line data":
        edits: dict[int, int] = {}
        for rec, _stream in modules:
            for i in range(4):  # the C13 line data size of every module
                edits[lay.offset(DBI, rec + 44 + i)] = 0
        return b.raw(kind, edits).data
    if kind == "module stream shared" and len(modules) > 1:
        return b.dbi_u16(kind, modules[1][0] + 34, modules[0][1]).data
    raise ValueError(f"no such damage: {kind}")
