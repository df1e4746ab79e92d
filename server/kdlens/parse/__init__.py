"""Parse debugger log text into the ``kdlens.model`` records.

``parse_text`` and ``parse_bytes`` are the entry points; importing this
package registers every block parser.
"""

from __future__ import annotations

from ..model import Session
from ..text import Document, decode
from . import blocks as _blocks  # noqa: F401  (registers the parsers)
from .scan import scan


def parse_text(text: str) -> Session:
    """Parse a log already decoded to text (as an editor holds it)."""
    return scan(Document(text))


def parse_document(doc: Document) -> Session:
    return scan(doc)


def parse_bytes(data: bytes) -> tuple[Session, Document]:
    """Decode a log file's bytes (any encoding) and parse it."""
    decoded = decode(data)
    doc = Document(decoded.text)
    session = scan(doc)
    session.encoding = decoded.encoding
    return session, doc


__all__ = ["parse_bytes", "parse_document", "parse_text"]
