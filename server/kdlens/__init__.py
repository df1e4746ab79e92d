"""kdlens: WinDbg, KD and CDB session logs as documents an editor understands."""

__version__ = "0.1.0"
