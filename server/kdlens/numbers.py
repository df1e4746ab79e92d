"""Numbers, addresses and symbols in the spellings the debugger prints.

One value has many spellings: ``fffff801`3c2a1000``, ``fffff8013c2a1000``,
``0xfffff801`3c2a1000``; an x86 kernel address may be sign-extended to
``ffffffff9c17b860``. Everything here turns spellings into integers and
back, and splits ``module!function+0xoff`` the way the debugger builds it.
"""

from __future__ import annotations

import re

from .model import Num, Range, SymbolRef

#: An address or hex value as printed (no sign): optional 0x, hex digits, optional backtick group.
HEX_TOKEN = r"(?:0x)?[0-9a-fA-F]{1,8}(?:`[0-9a-fA-F]{8})?|(?:0x)?[0-9a-fA-F]{9,16}"
_HEX_RE = re.compile(rf"^(?:{HEX_TOKEN})$")
_DEC_RE = re.compile(r"^0n(\d+)$")

_X86_SIGN_EXTENSION = 0xFFFFFFFF00000000

#: The longest run of decimal digits read as a number. A 64-bit value has at
#: most 20 digits, so anything much longer is not a count, size or line number
#: the debugger printed: it stays text. The bound also keeps every conversion
#: far from Python's own limit (4,300 digits, where ``int()`` raises) and from
#: the quadratic cost of converting long decimal runs.
MAX_DECIMAL_DIGITS = 32

#: The most hex digits a value may have (a 64-bit address; the backtick and a
#: ``0x`` prefix are not counted).
MAX_HEX_DIGITS = 16


def dec_int(text: str) -> int | None:
    """The value of a run of decimal digits, or None when it is not one or is absurdly long.

    Every decimal number read from log text goes through here (directly or
    through ``parse_hex``'s ``0n`` form), so that a 5,000-digit "line number"
    leaves its token as plain text instead of making a parser raise.
    """
    if not text or len(text) > MAX_DECIMAL_DIGITS or not text.isdecimal():
        return None
    return int(text)


def hex_int(text: str) -> int | None:
    """The value of hex digits (``0x`` prefix and backticks allowed), else None.

    Stricter than ``int(text, 16)``: no sign, blank or underscore, and at most
    ``MAX_HEX_DIGITS`` digits, so an absurd run of digits is text, not a value
    no address could have.
    """
    t = text[2:] if text[:2] in ("0x", "0X") else text
    if "`" in t:
        t = t.replace("`", "")
    # ASCII letters and digits only, and no second "0x" (which int() would accept)
    if (
        not 0 < len(t) <= MAX_HEX_DIGITS
        or not (t.isascii() and t.isalnum())
        or t[1:2] in ("x", "X")
    ):
        return None
    try:
        return int(t, 16)
    except ValueError:  # letters beyond f
        return None


def parse_hex(text: str) -> int | None:
    """The value of a hex spelling (``0x`` optional, backtick allowed, ``0n`` decimal), else None."""
    t = text.strip()
    if not t:
        return None
    m = _DEC_RE.match(t)
    if m:
        return dec_int(m.group(1))
    return hex_int(t)


def canonical_address(value: int) -> int:
    """Fold an x86 address sign-extended to 64 bits back to 32 bits.

    ``ffffffff9c17b860`` and ``9c17b860`` name the same x86 kernel address.
    """
    if value & _X86_SIGN_EXTENSION == _X86_SIGN_EXTENSION and value & 0x80000000:
        return value & 0xFFFFFFFF
    return value


def format_address(value: int, x64: bool | None = None) -> str:
    """The debugger's spelling: 8 digits, or 16 with a backtick."""
    if x64 or (x64 is None and value > 0xFFFFFFFF):
        return f"{value >> 32:08x}`{value & 0xFFFFFFFF:08x}"
    return f"{value:08x}"


def num(text: str, line: int, start: int, end: int | None = None) -> Num | None:
    """A ``Num`` for ``text`` found at ``line``/``start`` (columns of the matching text)."""
    value = parse_hex(text)
    if value is None:
        return None
    return Num(value, text, Range.on_line(line, start, start + len(text) if end is None else end))


# --------------------------------------------------------------------------- symbols

_OFFSET_0X = re.compile(r"([+-])0x([0-9a-fA-F]+)$")
_OFFSET_BARE = re.compile(r"\+([0-9a-fA-F]+)$")
_MODULE_PLUS = re.compile(r"^([A-Za-z0-9_.\-]+)\+0x([0-9a-fA-F]+)$")
_MODULE_ONLY = re.compile(r"^[A-Za-z0-9_.\-]+$")


def split_symbol(text: str, bare_offset: bool = False) -> tuple[str | None, str | None, int | None]:
    """Split ``module!function+0xoff`` into its parts.

    The module ends at the first ``!``; the offset is read from the right, so
    names with ``::``, spaces, ``?`` or ``@`` stay whole. With ``bare_offset``
    a ``+4c`` offset without ``0x`` is accepted (``!analyze`` summary fields).
    Returns ``(module, function, offset)``; a ``module+0xoff`` has no function.
    """
    s = text.strip()
    if not s:
        return None, None, None
    bang = s.find("!")
    if bang < 0:
        m = _MODULE_PLUS.match(s)
        if m:
            plus = hex_int(m.group(2))
            if plus is not None:
                return m.group(1), None, plus
        return (s, None, None) if _MODULE_ONLY.match(s) else (None, s, None)
    module = s[:bang] or None
    rest = s[bang + 1 :]
    offset: int | None = None
    # An offset too long to be one stays part of the function text.
    m = _OFFSET_0X.search(rest)
    if m:
        value = hex_int(m.group(2))
        if value is not None:
            offset = -value if m.group(1) == "-" else value
            rest = rest[: m.start()]
    elif bare_offset:
        mb = _OFFSET_BARE.search(rest)
        if mb:
            offset = hex_int(mb.group(1))
            if offset is not None:
                rest = rest[: mb.start()]
    function = rest.strip() or None
    return module, function, offset


def symbol(text: str, line: int, start: int, bare_offset: bool = False) -> SymbolRef | None:
    """A ``SymbolRef`` for ``text`` found at ``line``/``start``."""
    module, function, offset = split_symbol(text, bare_offset)
    if module is None and function is None:
        return None
    stripped = text.rstrip()
    return SymbolRef(
        text=stripped,
        range=Range.on_line(line, start, start + len(stripped)),
        module=module,
        function=function,
        offset=offset,
    )


_KERNEL_ALIASES = ("nt", "ntoskrnl", "ntkrnlpa", "ntkrnlmp", "ntkrpamp", "ntkrnlup")


def normalize_module(name: str) -> str:
    """A module name for comparisons: lower case, no extension, kernel aliases folded."""
    n = name.strip().lower()
    for ext in (".sys", ".dll", ".exe", ".pdb"):
        if n.endswith(ext):
            n = n[: -len(ext)]
            break
    return "nt" if n in _KERNEL_ALIASES else n
