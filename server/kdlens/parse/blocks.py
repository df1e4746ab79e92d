"""Imports every block-parser module so that each registers itself."""

from __future__ import annotations

from . import paths  # noqa: F401
from . import stacks  # noqa: F401
from . import pool  # noqa: F401
from . import umdh  # noqa: F401
from . import analyze  # noqa: F401
from . import pool_log  # noqa: F401
from . import verifier  # noqa: F401
from . import ln  # noqa: F401
from . import modules  # noqa: F401
