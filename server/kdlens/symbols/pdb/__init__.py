"""A pure-Python PDB reader: functions, source lines and inline frames by RVA.

``PdbFile.open(path)`` reads an MSF 7.00 PDB (as written by MSVC's linker or
lld-link); ``lookup(rva)`` answers with a ``Location``. Malformed input only
ever raises ``PdbError``.
"""

from .dbi import SectionHeader
from .errors import PdbError
from .pdbfile import Frame, Function, Location, PdbFile

__all__ = ["Frame", "Function", "Location", "PdbError", "PdbFile", "SectionHeader"]
