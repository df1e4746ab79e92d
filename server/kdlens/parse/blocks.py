"""Imports every block-parser module so that each registers itself."""

from __future__ import annotations

from . import (
    analyze,  # noqa: F401
    avrf,  # noqa: F401
    crt,  # noqa: F401
    dps,  # noqa: F401
    exceptions,  # noqa: F401
    heap,  # noqa: F401
    htrace,  # noqa: F401
    ln,  # noqa: F401
    modules,  # noqa: F401
    paths,  # noqa: F401
    pool,  # noqa: F401
    pool_log,  # noqa: F401
    stacks,  # noqa: F401
    symbol_notes,  # noqa: F401
    umdh,  # noqa: F401
    verifier,  # noqa: F401
)
