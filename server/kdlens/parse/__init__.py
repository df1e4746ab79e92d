"""Parse debugger log text into the ``kdlens.model`` records.

``parse_text`` and ``parse_bytes`` are the entry points; importing this
package registers every block parser.
"""

from __future__ import annotations

from ..model import Session
from ..text import Document, decode
from . import blocks as _blocks  # noqa: F401  (registers the parsers)
from .appverif_xml import looks_like_appverif_xml, parse_appverif_xml
from .scan import scan


def parse_text(text: str) -> Session:
    """Parse a log already decoded to text (as an editor holds it).

    An Application Verifier XML export is a whole document of its own and is
    read as one (``parse_appverif_xml``).
    """
    if looks_like_appverif_xml(text):
        xml = parse_appverif_xml(text)
        if xml is not None:
            return xml
    return scan(Document(text))


def parse_document(doc: Document) -> Session:
    if looks_like_appverif_xml(doc.text):
        xml = parse_appverif_xml(doc.text)
        if xml is not None:
            return xml
    return scan(doc)


def parse_bytes(data: bytes) -> tuple[Session, Document]:
    """Decode a log file's bytes (any encoding) and parse it."""
    decoded = decode(data)
    doc = Document(decoded.text)
    session = parse_document(doc)
    session.encoding = decoded.encoding
    return session, doc


__all__ = [
    "looks_like_appverif_xml",
    "parse_appverif_xml",
    "parse_bytes",
    "parse_document",
    "parse_text",
]
