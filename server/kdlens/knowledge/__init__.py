"""Facts about Windows bug checks, Driver Verifier, pool tags and crash triage, kept as data.

Where things are: the facts and explanations are written in ``knowledge/src`` (tab-separated
tables for codes, names, labels and bits; Markdown files for the prose; the format and the
reason for it are in ``knowledge.source``). ``tools/gen_knowledge.py`` compiles them into
``knowledge/data/*.json`` (``knowledge.build``), which is committed and is all that ships.
Nothing is read at import time; each table loads on first use and is cached.
"""

from __future__ import annotations

from .load import DATA_FILES, KnowledgeDataError, read_data
from .lookup import (
    access_kind,
    all_bugchecks,
    arg_label,
    arg_meaning,
    bugcheck,
    bugcheck_by_name,
    c4_subcode,
    c4_subcodes,
    decode_arg,
    decode_mask,
    display_bit,
    display_bits,
    irql_name,
    pool_tag,
    pool_tags,
    pool_type,
    pool_type_name,
    pool_types,
    status_by_name,
    status_code,
    status_codes,
    unknown_bits,
    verifier_flag,
    verifier_flag_by_name,
    verifier_flags,
    verifier_stop,
    verifier_stops,
)
from .records import (
    ArgMeaning,
    ArgVariant,
    BugCheckInfo,
    C4Subcode,
    DisplayBit,
    FlagBugCheck,
    FlagInfo,
    PoolTypeInfo,
    StatusInfo,
    TagInfo,
    VerifierStopInfo,
)

__all__ = [
    "DATA_FILES",
    "ArgMeaning",
    "ArgVariant",
    "BugCheckInfo",
    "C4Subcode",
    "DisplayBit",
    "FlagBugCheck",
    "FlagInfo",
    "KnowledgeDataError",
    "PoolTypeInfo",
    "StatusInfo",
    "TagInfo",
    "VerifierStopInfo",
    "access_kind",
    "all_bugchecks",
    "arg_label",
    "arg_meaning",
    "bugcheck",
    "bugcheck_by_name",
    "c4_subcode",
    "c4_subcodes",
    "decode_arg",
    "decode_mask",
    "display_bit",
    "display_bits",
    "irql_name",
    "pool_tag",
    "pool_tags",
    "pool_type",
    "pool_type_name",
    "pool_types",
    "read_data",
    "status_by_name",
    "status_code",
    "status_codes",
    "unknown_bits",
    "verifier_flag",
    "verifier_flag_by_name",
    "verifier_flags",
    "verifier_stop",
    "verifier_stops",
]
