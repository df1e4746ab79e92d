"""Every file of ../shared/corpus parses and analyses without a fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.analysis import analyze
from kdlens.parse import parse_bytes

from helpers import SHARED

CORPUS = SHARED / "corpus"
FILES = (
    sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".txt", ".log"))
    if CORPUS.exists()
    else []
)


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not available")
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(CORPUS)))
def test_corpus_file_parses_cleanly(path: Path) -> None:
    data = path.read_bytes()
    session, doc = parse_bytes(data)
    assert not session.faults, session.faults
    a = analyze(session)
    for d in a.diagnostics:
        # every range points inside the document
        assert 0 <= d.range.start.line <= d.range.end.line < len(doc.raw)
        assert d.range.end.character <= len(doc.raw[d.range.end.line])
