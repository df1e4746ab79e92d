"""The one exception the PDB reader lets out."""

from __future__ import annotations


class PdbError(Exception):
    """A PDB (or a part of it) could not be read; ``reason`` says why.

    Every malformed input ends here, so callers need to catch only this.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
