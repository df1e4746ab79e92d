"""Bug checks, from every place the debugger prints one.

The same bug check shows up in several shapes, and each becomes its own
``BugCheck`` record (the analysis merges them later):

* ``!analyze -v`` / ``!analyze``: the star banner, the name line
  ``NAME (c4)``, its description, the ``Arguments:`` block, ``Debugging
  Details:`` and the ``KEY:  value`` fields (source ``ANALYZE``). When the
  output has no name line, the code and arguments come from the
  ``BUGCHECK_CODE`` / ``BUGCHECK_P1..P4`` fields (``ANALYZE_KEYS``), or from
  the one-line summary ``BugCheck C4, {...}`` (``ANALYZE_SUMMARY``).
* ``!analyze -show <code>`` and documentation excerpts: a name line plus its
  ``Arguments:`` block without the banner (``ANALYZE``).
* An ``Arguments:`` block with no name line (``ARGUMENTS``). Its code can only
  come from a ``BUGCHECK_CODE`` field that follows or from the ``!analyze
  -show <code>`` command echo; when neither is there the block is not
  recorded, because a bug check without a code tells nothing.
* ``*** Fatal System Error: 0x...`` and its argument tuple (``FATAL_ERROR``),
  with Driver Verifier's explanation lines attached as argument descriptions.
* ``.bugcheck``: ``Bugcheck code`` + ``Arguments`` (``DOT_BUGCHECK``).

``Unknown bugcheck code (0)`` (a manual break-in analysed by an old
debugger) names no bug check: nothing is recorded for it unless a
``BUGCHECK_CODE`` field gives a code; a non-zero unknown code is recorded
without a name.

Argument descriptions that wrap onto deeper-indented lines are joined with
single spaces; the help lines some codes print after ``Arg4`` (``Type
!verifier 3 ...``) are indented the same way and so join Arg4's description.
Arguments read from a tuple, a summary, ``.bugcheck`` or the ``BUGCHECK_Pn``
fields have no ``ArgN`` label: their ``label_range`` is the value's range
(or the field key's range).

Inside ``!analyze`` output a paragraph that is neither a field nor a known
line is offered to the other block parsers, so that e.g. a stack or a pool
block printed in the middle of the analysis is still read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from re import Match

from ..model import (
    AnalyzeField,
    BugCheck,
    BugCheckArg,
    BugCheckSource,
    CodeSite,
    ContextKind,
    ExceptionAnalysis,
    ExceptionRecord,
    Num,
    Position,
    Range,
    RegisterContext,
    Stack,
    StackKind,
    SymbolRef,
)
from ..numbers import HEX_TOKEN, hex_int, parse_hex
from .core import REGISTRY, BlockFn, Cursor, block
from .exceptions import context_head, read_code_site, read_exception_record, read_registers
from .stacks import read_frames

# --------------------------------------------------------------------------- line shapes

_TITLE = re.compile(r"^[ \t]*\*[ \t]+(?P<kind>Bugcheck|Exception) Analysis\b")
_STAR_BORDER = re.compile(r"^[ \t]*\*{10,}[ \t]*$")
_STAR_SIDE = re.compile(r"^[ \t]*\*(?:[ \t]+\*)?[ \t]*$")
_NAME = re.compile(r"^[ \t]*(?P<name>[A-Z][A-Z0-9_]{3,}) \((?P<code>[0-9a-fA-F]{1,8})\)[ \t]*$")
_UNKNOWN = re.compile(r"^[ \t]*(?P<kw>Unknown bugcheck code) \((?P<code>[0-9a-fA-F]{1,8})\)[ \t]*$")
_ARGS_HEAD = re.compile(r"^[ \t]*(?P<kw>Arguments:)[ \t]*$")
_ARG = re.compile(
    rf"^(?P<ind>[ \t]*)(?P<label>Arg(?P<n>[1-4])):[ \t]*(?P<val>{HEX_TOKEN})(?P<rest>(?:[ \t,].*)?)$"
)
_ARG_ANY = re.compile(r"^[ \t]*Arg\d+:")
_DETAILS = re.compile(r"^[ \t]*(?:#+[ \t]*)?Debugging Details:?[ \t]*$")
_DASHES = re.compile(r"^[ \t]*-{3,}[ \t]*$")
_FIELD = re.compile(
    r"^(?P<ind>[ \t]*)(?P<key>[A-Z][A-Z0-9_]*(?: \([^()]*\))?):(?:[ \t]+(?P<val>.*?))?[ \t]*$"
)
_KV_KEY = re.compile(r"^[ \t]+Key[ \t]*:[ \t]*(?P<v>.*?)[ \t]*$")
_KV_VALUE = re.compile(r"^[ \t]+Value[ \t]*:[ \t]*(?P<v>.*?)[ \t]*$")
_PROBABLY = re.compile(
    r"^[ \t]*Probably caused by[ \t]*:[ \t]*(?P<img>.+?)"
    r"(?:[ \t]+\([ \t]*(?P<sym>[^()]*?)[ \t]*\))?[ \t]*$"
)
_FOLLOWUP = re.compile(r"^[ \t]*(?P<kw>Followup):[ \t]*(?P<v>.*?)[ \t]*$")
_SUMMARY = re.compile(
    r"^[ \t]*(?P<kw>BugCheck)[ \t]+(?P<code>[0-9a-fA-F]{1,8})[ \t]*,[ \t]*\{(?P<args>[^{}]*)\}"
)
_ITEM = re.compile(r"[^,\s]+")
_TOKEN = re.compile(r"\S+")
_FATAL = re.compile(r"^[ \t]*(?P<kw>\*\*\* Fatal System Error): (?P<code>0x[0-9a-fA-F]{1,8})\b")
_TUPLE = re.compile(r"^[ \t]*\((?P<vals>[^()]*)\)[ \t]*$")
_AT_FAULT = re.compile(r"^[ \t]*Driver at fault:[ \t]*(?P<d>\S(?:.*?\S)?)\.?[ \t]*$")
_VF_SUB = re.compile(r"^[ \t]*0x(?P<sub>[0-9a-fA-F]+)[ \t]+:[ \t]+(?P<text>\S.*?)[ \t]*$")
_VF_ARG = re.compile(r"^[ \t]*(?P<n>[2-4])[ \t]+-[ \t]+(?P<text>\S.*?)[ \t]*$")
_DOT_CODE = re.compile(r"^[ \t]*(?P<kw>Bugcheck code) (?P<code>[0-9a-fA-F]{1,8})\b")
_DOT_ARGS = re.compile(r"^[ \t]*Arguments[ \t]+(?P<vals>\S.*?)[ \t]*$")
_RULE = re.compile(r"ID of the '(?P<rule>[^']+)' rule")
_SOURCE_SUFFIX = re.compile(r"[ \t]+\[[^\[\]]+ @ \d+\][ \t]*$")
_MODULE_BARE = re.compile(r"^(?P<mod>[A-Za-z0-9_.\-]+)\+(?P<off>[0-9a-fA-F]+)$")
_SHOW = re.compile(r"-show[ \t]+(?P<code>(?:0[xX])?[0-9a-fA-F]{1,8})\b")
_NOISE_BODY = (
    r"(?:\*\*\* (?:ERROR|WARNING)|\*{3,} (?:Symbol|OS symbols|Stack trace)"
    r"|DBGHELP: |Loading (?:symbols for|Kernel Symbols|User Symbols|unloaded module list)"
    r"|Connected to |Debugger SolutionDb|Unable to load image|WARNING: |Press ctrl-c"
    r"|Run !sym noisy|Implicit thread is now|Use !analyze -v to get|For analysis of this file"
    r"|Browse |Resetting default scope"
    r"|(?:\.{3,}|\u2026+|\[\.\.\.\]|<snipped>|\[snip(?:ped)?\])[ \t]*$)"
)
_NOISE = re.compile(r"^[ \t]*" + _NOISE_BODY)
#: Markdown headings the documentation wraps around output (not ``# ChildEBP`` headers).
_MARKDOWN = re.compile(r"^#{1,3}(?:[ \t]+(?!Child|RetAddr)|$)")

#: One look at a line inside an analysis says which of the shapes above it can be.
_TOP = re.compile(
    r"^[ \t]*(?:(?P<noise>" + _NOISE_BODY + r")"
    r"|(?P<followup>Followup:)"
    r"|(?P<probably>Probably caused by)"
    r"|(?P<summary>BugCheck[ \t]+[0-9a-fA-F]{1,8}[ \t]*,)"
    r"|(?P<border>\*{10,}[ \t]*$)"
    r"|(?P<details>(?:#+[ \t]*)?Debugging Details)"
    r"|(?P<dashes>-{3,}[ \t]*$)"
    r"|(?P<name>[A-Z][A-Z0-9_]{3,} \([0-9a-fA-F]{1,8}\)[ \t]*$|Unknown bugcheck code \()"
    r"|(?P<args>Arguments:[ \t]*$)"
    r"|(?P<kv>Key[ \t]*:)"
    r"|(?P<field>[A-Z][A-Z0-9_]*(?: \([^()]*\))?:(?:[ \t]|$)))"
)
#: Lines that end a field's value even without a blank line before them (elisions included).
_VALUE_STOP = re.compile(
    r"^[ \t]*(?:Followup:|Probably caused by|(?:\*{10,}|\.{3,}|\u2026+|\[\.\.\.\])[ \t]*$)"
)

_STACK_KEY = "STACK_TEXT"
_AV_PREFIX = "APPLICATION_VERIFIER_"
#: Fields whose value lines are ``.exr`` / register / code-site output read into records.
_DETAIL_KEYS = frozenset(
    {"EXCEPTION_RECORD", "CONTEXT", "TRAP_FRAME", "FAULTING_IP", "FOLLOWUP_IP"}
)
#: Where ``bugcheck.symbol`` comes from, best first.
_SYMBOL_KEYS = {"SYMBOL_NAME": 0, "FOLLOWUP_IP": 1, "FAULTING_IP": 3}
_PROBABLY_RANK = 2
_MAX_DESCRIPTION_LINES = 80
#: Lines of unrecognised text after which an analysis is taken to have ended.
_MAX_UNKNOWN_RUN = 200


# --------------------------------------------------------------------------- reading state


@dataclass(slots=True)
class _Read:
    """What one bug-check block has yielded so far."""

    first: int
    last: int
    lenient: bool  # inside !analyze output: skip unknown lines instead of stopping
    code: int | None = None
    code_range: Range | None = None
    range: Range | None = None
    source: BugCheckSource | None = None
    name: str | None = None
    name_range: Range | None = None
    description: list[str] = field(default_factory=list)
    args: list[BugCheckArg] = field(default_factory=list)
    args_range: Range | None = None
    fields: list[AnalyzeField] = field(default_factory=list)
    key_code: tuple[int, Range, Range] | None = None  # value, token range, field range
    key_args: dict[int, BugCheckArg] = field(default_factory=dict)
    probably: str | None = None
    probably_range: Range | None = None
    symbols: dict[int, SymbolRef] = field(default_factory=dict)
    stack: Stack | None = None
    seen_name: bool = False
    slot: int = 0  # index in session.bugchecks: records nested parsers add come after it
    exception_title: bool = False  # the banner says ``Exception Analysis``
    #: ``APPLICATION_VERIFIER_<LAYER>_<NAME> (<code>)``: an Application Verifier stop, not a bug check.
    av_name: str | None = None
    av_name_range: Range | None = None
    av_code: Num | None = None
    exception: ExceptionRecord | None = None
    context: RegisterContext | None = None
    faulting_ip: CodeSite | None = None


def _span(cur: Cursor, l1: int, c1: int, l2: int, c2: int) -> Range:
    """A range from column ``c1`` of line ``l1`` to column ``c2`` of line ``l2``."""
    col = cur.doc.col
    return Range(Position(l1, col(l1, c1)), Position(l2, col(l2, c2)))


def _indent(text: str) -> int:
    n = 0
    for ch in text:
        if ch == " ":
            n += 1
        elif ch == "\t":
            n = (n // 8 + 1) * 8
        else:
            break
    return n


def _in_analyze(cur: Cursor) -> bool:
    return cur.command is not None and cur.command.verb == "!analyze"


def _symbol(cur: Cursor, i: int, text: str, start: int) -> SymbolRef | None:
    """A blamed symbol as ``!analyze`` prints it (offsets without ``0x``)."""
    body = _SOURCE_SUFFIX.sub("", text).rstrip()
    lead = len(body) - len(body.lstrip())
    body = body.strip()
    if not body:
        return None
    s = start + lead
    if "!" not in body:
        m = _MODULE_BARE.match(body)
        if m is None:
            return None  # a bucket word such as memory_corruption, or a bare address
        offset = hex_int(m.group("off"))
        if offset is None:
            return None  # an offset too long to be one: the field stays text
        rng = cur.rng(i, s, s + len(body))
        return SymbolRef(body, rng, m.group("mod"), None, offset)
    return cur.sym_at(i, body, s, bare_offset=True)


# --------------------------------------------------------------------------- pieces


def _read_name(cur: Cursor, i: int, st: _Read) -> int:
    """The name line (or ``Unknown bugcheck code (N)``) and the description under it."""
    text = cur.text(i)
    m = _NAME.match(text)
    unknown = m is None
    mu: Match[str] | None = None
    if m is None:
        mu = _UNKNOWN.match(text)
        if mu is None:  # pragma: no cover - callers check the shape first
            return i
        code = int(mu.group("code"), 16)
        if code != 0:
            st.code = code
            st.code_range = cur.group_range(i, mu, "code")
            st.range = cur.rng(i, mu.start("kw"), mu.end("code") + 1)
            st.source = BugCheckSource.ANALYZE
    elif m.group("name").startswith(_AV_PREFIX):
        # an Application Verifier stop code, never a kernel bug check code
        st.av_name = m.group("name")
        st.av_name_range = cur.group_range(i, m, "name")
        st.av_code = cur.num(i, m, "code")
        st.range = cur.rng(i, m.start("name"), m.end("code") + 1)
    else:
        st.code = int(m.group("code"), 16)
        st.code_range = cur.group_range(i, m, "code")
        st.range = cur.rng(i, m.start("name"), m.end("code") + 1)
        st.name = m.group("name")
        st.name_range = cur.group_range(i, m, "name")
        st.source = BugCheckSource.ANALYZE
    st.seen_name = True
    st.last = i
    i += 1
    end = min(cur.end, i + _MAX_DESCRIPTION_LINES)
    while i < end:
        t = cur.text(i)
        s = t.strip()
        if not s or _ARGS_HEAD.match(t) or _ARG_ANY.match(t) or _DETAILS.match(t):
            break
        if _STAR_BORDER.match(t) or _NAME.match(t) or _SUMMARY.match(t):
            break
        if not _NOISE.match(t) and not unknown:
            st.description.append(s)
        st.last = i
        i += 1
    return i


@dataclass(slots=True)
class _ArgBuild:
    index: int
    value: Num
    label_range: Range
    line: int
    label_start: int
    indent: int
    parts: list[str] = field(default_factory=list)
    desc_start: tuple[int, int] | None = None
    end: tuple[int, int] = (0, 0)

    def add(self, cur: Cursor, i: int, text: str) -> None:
        s = text.strip()
        lead = len(text) - len(text.lstrip())
        self.parts.append(s)
        if self.desc_start is None:
            self.desc_start = (i, lead)
        self.end = (i, lead + len(s))

    def build(self, cur: Cursor) -> BugCheckArg:
        desc_range = None
        if self.desc_start is not None:
            desc_range = _span(cur, self.desc_start[0], self.desc_start[1], *self.end)
        return BugCheckArg(
            index=self.index,
            value=self.value,
            label_range=self.label_range,
            range=_span(cur, self.line, self.label_start, *self.end),
            description=" ".join(self.parts) or None,
            description_range=desc_range,
        )


def _start_arg(cur: Cursor, i: int, m: Match[str]) -> _ArgBuild | None:
    value = cur.num(i, m, "val")
    if value is None:
        return None
    arg = _ArgBuild(
        index=int(m.group("n")),
        value=value,
        label_range=cur.group_range(i, m, "label"),
        line=i,
        label_start=m.start("label"),
        indent=_indent(m.group("ind")),
        end=(i, m.end("val")),
    )
    rest = m.group("rest")
    base = m.start("rest")
    k = len(rest) - len(rest.lstrip())
    if rest[k : k + 1] == ",":
        k += 1
        arg.end = (i, base + k)
        k += len(rest[k:]) - len(rest[k:].lstrip())
    desc = rest[k:].rstrip()
    if desc:
        arg.parts.append(desc)
        arg.desc_start = (i, base + k)
        arg.end = (i, base + k + len(desc))
    return arg


def _read_args(cur: Cursor, i: int, st: _Read) -> int:
    """``Arguments:`` and the ``ArgN:`` lines with their wrapped descriptions."""
    m = _ARGS_HEAD.match(cur.text(i))
    if m is None:  # pragma: no cover - callers check the shape first
        return i
    st.args_range = cur.group_range(i, m, "kw")
    st.last = i
    i += 1
    args: list[BugCheckArg] = []
    pending: _ArgBuild | None = None
    while i < cur.end:
        t = cur.text(i)
        ma = _ARG.match(t)
        if ma is not None:
            if pending is not None:
                args.append(pending.build(cur))
            pending = _start_arg(cur, i, ma)
            if pending is None:
                break
        elif (
            pending is not None
            and t.strip()
            and _indent(t) > pending.indent
            and not _ARG_ANY.match(t)
        ):
            pending.add(cur, i, t)
        else:
            break
        st.last = i
        i += 1
    if pending is not None:
        args.append(pending.build(cur))
    st.args = args
    return i


def _read_summary(cur: Cursor, i: int, m: Match[str], st: _Read) -> None:
    """``BugCheck C4, {62, 9707712c, 9c1faf70, 3}``."""
    st.code = int(m.group("code"), 16)
    st.code_range = cur.group_range(i, m, "code")
    st.range = cur.rng(i, m.start("kw"), m.end())
    st.source = BugCheckSource.ANALYZE_SUMMARY
    base = m.start("args")
    args: list[BugCheckArg] = []
    for k, item in enumerate(_ITEM.finditer(m.group("args")), start=1):
        if k > 4:
            break
        value = cur.num_at(i, item.group(), base + item.start())
        if value is None:
            continue
        args.append(BugCheckArg(k, value, value.range, value.range))
    st.args = args
    st.last = i


def _read_probably(cur: Cursor, i: int, m: Match[str], st: _Read) -> None:
    if st.probably is None:
        st.probably = m.group("img")
        st.probably_range = cur.group_range(i, m, "img")
    if m.group("sym") and _PROBABLY_RANK not in st.symbols:
        sym = _symbol(cur, i, m.group("sym"), m.start("sym"))
        if sym is not None:
            st.symbols[_PROBABLY_RANK] = sym
    st.last = i


def _read_field(cur: Cursor, i: int, m: Match[str], st: _Read) -> int:
    """``KEY:  value`` plus the value lines under it, up to a blank line."""
    key = m.group("key")
    val = m.group("val") or ""
    j = i + 1
    while j < cur.end:
        t = cur.text(j)
        if not t or t.isspace() or _VALUE_STOP.match(t):
            break
        j += 1
    first_cont = i + 1
    cont = [cur.text(k) for k in range(first_cont, j)]
    if val and cont and all(c[:1] in (" ", "\t") for c in cont):
        value = " ".join([val, *(c.strip() for c in cont)])
    else:
        value = "\n".join(([val] if val else []) + [c.rstrip() for c in cont])
    key_range = cur.group_range(i, m, "key")
    colon = m.end("key") + 1
    if val:
        v1, c1 = i, m.start("val")
    elif cont:
        v1, c1 = first_cont, len(cont[0]) - len(cont[0].lstrip())
    else:
        v1, c1 = i, colon
    if cont:
        v2, c2 = j - 1, len(cont[-1].rstrip())
    elif val:
        v2, c2 = i, m.end("val")
    else:
        v2, c2 = i, colon
    value_range = _span(cur, v1, c1, v2, c2)
    rng = _span(cur, i, m.start("key"), v2, c2)
    st.fields.append(AnalyzeField(key, value, key_range, value_range, rng))
    st.last = max(i, j - 1)
    _use_field(cur, i, m, key, val, cont, st, rng, key_range)
    if key in _DETAIL_KEYS and j > first_cont:
        _read_detail(cur, i, m, key, val, first_cont, j, st)
    if key == _STACK_KEY and st.stack is None and j > first_cont:
        stack, _ = read_frames(cur, first_cont, j, StackKind.STACK_TEXT)
        if stack.frames:
            st.stack = stack
    return j


def _read_detail(
    cur: Cursor, i: int, m: Match[str], key: str, val: str, first: int, end: int, st: _Read
) -> None:
    """Read the value lines of an exception record, a register dump or a code site."""
    if key in ("FAULTING_IP", "FOLLOWUP_IP"):
        site, _ = read_code_site(cur, first, end, key)
        if key == "FAULTING_IP" and site is not None and st.faulting_ip is None:
            st.faulting_ip = site
        return
    head_kind, token, col = context_head(val)
    address: Num | None = None
    if token is not None and token.strip("0x`"):
        address = cur.num_at(i, token, m.start("val") + col)
    if key == "EXCEPTION_RECORD":
        rec, _ = read_exception_record(cur, first, end, in_analysis=True, record_address=address)
        if rec is not None and st.exception is None:
            st.exception = rec
        return
    kind = head_kind or (ContextKind.TRAP if key == "TRAP_FRAME" else ContextKind.CONTEXT)
    ctx, _ = read_registers(cur, first, end, kind, frame_address=address, in_analysis=True)
    if ctx is not None and key == "CONTEXT" and st.context is None:
        st.context = ctx


def _use_field(
    cur: Cursor,
    i: int,
    m: Match[str],
    key: str,
    val: str,
    cont: list[str],
    st: _Read,
    rng: Range,
    key_range: Range,
) -> None:
    """Pick out the fields that say something about the bug check itself."""
    if key == "BUGCHECK_CODE" or (key.startswith("BUGCHECK_P") and key[-1:] in "1234"):
        tok = _TOKEN.match(val) if val else None
        if tok is None:
            return
        value = cur.num_at(i, tok.group(), m.start("val") + tok.start())
        if value is None:
            return
        if key == "BUGCHECK_CODE":
            if st.key_code is None:
                st.key_code = (value.value, value.range, rng)
        elif len(key) == len("BUGCHECK_P1"):
            n = int(key[-1])
            st.key_args.setdefault(n, BugCheckArg(n, value, key_range, rng))
        return
    rank = _SYMBOL_KEYS.get(key)
    if rank is None or rank in st.symbols:
        return
    if val:
        sym = _symbol(cur, i, val, m.start("val"))
    elif cont:
        sym = _symbol(cur, i + 1, cont[0], 0)
    else:
        sym = None
    if sym is not None:
        st.symbols[rank] = sym


def _read_pair(cur: Cursor, i: int, m: Match[str], st: _Read) -> int:
    """A ``Key  : X`` / ``Value: Y`` pair of ``KEY_VALUES_STRING``, kept as a field ``X``."""
    key = m.group("v")
    key_range = cur.group_range(i, m, "v")
    j = i + 1
    mv = _KV_VALUE.match(cur.text(j)) if j < cur.end else None
    if mv is not None:
        value = mv.group("v")
        value_range = cur.group_range(j, mv, "v")
        last = j
    else:
        value = ""
        value_range = cur.rng(i, m.end("v"), m.end("v"))
        last = i
    if key:
        rng = Range(key_range.start, value_range.end)
        st.fields.append(AnalyzeField(key, value, key_range, value_range, rng))
    st.last = last
    return last + 1


def _title_follows(cur: Cursor, i: int) -> bool:
    """True when a star border at ``i`` opens another analysis banner."""
    return any(k < cur.end and _TITLE.match(cur.text(k)) for k in (i + 1, i + 2))


def _nested(cur: Cursor, i: int) -> int | None:
    """Offer line ``i`` to the other block parsers; the line after what one consumed."""
    line = cur.text(i)
    if REGISTRY.combined().match(line) is None:
        return None
    for bp in REGISTRY.blocks:
        if bp.fn in _OWN or not bp.trigger.match(line):
            continue
        sub = Cursor(cur.doc, i, cur.end, cur.command, cur.session)
        try:
            nxt = bp.fn(sub)
        except Exception as exc:  # the scanner's rule: a parser bug must not escape
            cur.session.faults.record(f"{bp.name} (inside !analyze)", exc, i)
            continue
        if isinstance(nxt, int) and nxt > i:
            return min(nxt, cur.end)
    return None


# --------------------------------------------------------------------------- the body loop


def _read_body(cur: Cursor, i: int, st: _Read) -> int:
    """Read analysis lines from ``i``; the first line that is not part of them."""
    end = cur.end
    while i < end:
        t = cur.text(i)
        if not t or t.isspace():
            i += 1
            continue
        top = _TOP.match(t)
        kind = top.lastgroup if top is not None else None
        if kind == "noise" or (kind is None and _MARKDOWN.match(t)):
            st.last = i
            i += 1
            continue
        if kind == "field":
            mf = _FIELD.match(t)
            if mf is not None:
                i = _read_field(cur, i, mf, st)
                continue
        elif kind == "kv":
            mk = _KV_KEY.match(t)
            if mk is not None:
                i = _read_pair(cur, i, mk, st)
                continue
        elif kind == "followup":
            m = _FOLLOWUP.match(t)
            if m is not None:
                return _read_followup(cur, i, m, st)
        elif kind == "probably":
            m = _PROBABLY.match(t)
            if m is not None:
                _read_probably(cur, i, m, st)
                i += 1
                continue
        elif kind in ("details", "dashes"):
            st.last = i
            i += 1
            continue
        elif kind == "border":
            if _title_follows(cur, i):
                return i
        else:
            known = st.code is not None or bool(st.args) or st.seen_name
            if kind == "summary":
                m = _SUMMARY.match(t)
                if m is not None and not known:
                    _read_summary(cur, i, m, st)
                    i += 1
                    continue
            elif kind == "name":
                if (_NAME.match(t) or _UNKNOWN.match(t)) and not known and not st.fields:
                    i = _read_name(cur, i, st)
                    continue
            elif kind == "args" and st.args_range is None and not st.args:
                i = _read_args(cur, i, st)
                continue
        # another bug check, or a line that is not part of the analysis: outside
        # !analyze output that ends the block; inside, other parsers get a look
        if not st.lenient:
            return i
        nxt = _nested(cur, i)
        if nxt is not None:
            st.last = nxt - 1
            i = nxt
            continue
        if i - st.last > _MAX_UNKNOWN_RUN:
            return st.last + 1  # a long stretch of foreign text: the analysis is over
        i += 1
    return i


def _read_followup(cur: Cursor, i: int, m: Match[str], st: _Read) -> int:
    """``Followup:  MachineOwner`` and its dashes: the end of an analysis."""
    rng = cur.rng(i, m.start("kw"), m.end("v"))
    key_range = cur.group_range(i, m, "kw")
    st.fields.append(
        AnalyzeField("Followup", m.group("v"), key_range, cur.group_range(i, m, "v"), rng)
    )
    st.last = i
    i += 1
    if i < cur.end and _DASHES.match(cur.text(i)):
        st.last = i
        i += 1
    return i


# --------------------------------------------------------------------------- the record


def _is_exception_analysis(st: _Read) -> bool:
    """A user-mode analysis: an Application Verifier name, or an exception banner without a code."""
    if st.av_name is not None:
        return True
    return st.exception_title and st.code is None and st.key_code is None


def _finish_exception(cur: Cursor, st: _Read) -> ExceptionAnalysis | None:
    """Append the user-mode analysis ``st`` describes (None when it holds nothing)."""
    if not (st.fields or st.av_name or st.exception or st.context or st.faulting_ip or st.stack):
        return None
    rng = st.range or cur.span(st.first, st.first)
    ea = ExceptionAnalysis(
        range=rng,
        block_range=cur.span(st.first, max(st.first, st.last)),
        fields=st.fields,
        name=st.av_name,
        name_range=st.av_name_range,
        code=st.av_code,
        description=" ".join(st.description),
        args=st.args,
        exception=st.exception,
        context=st.context,
        faulting_ip=st.faulting_ip,
        symbol=st.symbols[min(st.symbols)] if st.symbols else None,
        probably_caused_by=st.probably,
        probably_caused_by_range=st.probably_range,
        stack=st.stack,
    )
    cur.session.exception_analyses.append(ea)
    return ea


def _finish(
    cur: Cursor, st: _Read, show_code: tuple[int, Range] | None = None
) -> BugCheck | ExceptionAnalysis | None:
    """Append the bug check (or user-mode analysis) ``st`` describes; None when there is none."""
    if _is_exception_analysis(st):
        return _finish_exception(cur, st)
    code, code_range, rng, source = st.code, st.code_range, st.range, st.source
    if code is None or code_range is None or rng is None or source is None:
        if st.key_code is not None:
            code, code_range, key_rng = st.key_code
            if st.args and st.args_range is not None:
                source, rng = BugCheckSource.ARGUMENTS, st.args_range
            else:
                source, rng = BugCheckSource.ANALYZE_KEYS, key_rng
        elif show_code is not None and st.args and st.args_range is not None:
            code, code_range = show_code
            source, rng = BugCheckSource.ARGUMENTS, st.args_range
        else:
            return None
    args = st.args or [st.key_args[n] for n in sorted(st.key_args)]
    rule = None
    if code == 0xC4:
        for a in args:
            if a.index == 1 and a.description:
                mr = _RULE.search(a.description)
                if mr is not None:
                    rule = mr.group("rule")
    symbol = st.symbols[min(st.symbols)] if st.symbols else None
    bc = BugCheck(
        code=code,
        source=source,
        range=rng,
        code_range=code_range,
        name=st.name,
        name_range=st.name_range,
        args=args,
        description=" ".join(st.description),
        fields=st.fields,
        probably_caused_by=st.probably,
        probably_caused_by_range=st.probably_range,
        symbol=symbol,
        stack=st.stack,
        rule=rule,
        block_range=cur.span(st.first, max(st.first, st.last)),
    )
    cur.session.bugchecks.insert(st.slot, bc)
    return bc


def _show_code(cur: Cursor) -> tuple[int, Range] | None:
    """The code of ``!analyze -show <code>`` in the command echo, with its range."""
    cmd = cur.command
    if cmd is None or cmd.verb != "!analyze":
        return None
    m = _SHOW.search(cmd.text)
    if m is None:
        return None
    value = parse_hex(m.group("code"))
    line_text = cur.text(cmd.line)
    at = line_text.find(cmd.text)
    if value is None or at < 0:
        return None
    return value, cur.rng(cmd.line, at + m.start("code"), at + m.end("code"))


# --------------------------------------------------------------------------- block parsers


@block("analyze-banner", r"^[ \t]*\*[ \t]+(?:Bugcheck|Exception) Analysis")
def analyze_banner(cur: Cursor) -> int | None:
    """The ``!analyze`` star banner and everything under it."""
    line = cur.line
    title = _TITLE.match(cur.text(line))
    if title is None:
        return None
    first = line
    for k in (line - 1, line - 2):
        if k < 0 or not (_STAR_SIDE.match(cur.text(k)) or _STAR_BORDER.match(cur.text(k))):
            break
        first = k
    i = line + 1
    for _ in range(2):
        if i < cur.end and (_STAR_SIDE.match(cur.text(i)) or _STAR_BORDER.match(cur.text(i))):
            i += 1
    st = _Read(first=first, last=i - 1, lenient=True, slot=len(cur.session.bugchecks))
    st.exception_title = title.group("kind") == "Exception"
    if st.exception_title:
        st.range = cur.rng(line, title.start("kind"), title.end())
    i = _read_body(cur, i, st)
    _finish(cur, st)
    return max(i, line + 1)


@block(
    "analyze-name",
    r"^[ \t]*(?:[A-Z][A-Z0-9_]{3,} \([0-9a-fA-F]{1,8}\)|Unknown bugcheck code \([0-9a-fA-F]{1,8}\))[ \t]*$",
)
def analyze_name(cur: Cursor) -> int | None:
    """A name line without the banner (``!analyze -show``, documentation excerpts)."""
    line = cur.line
    text = cur.text(line)
    if _NAME.match(text) is None and _UNKNOWN.match(text) is None:
        return None
    st = _Read(first=line, last=line, lenient=_in_analyze(cur), slot=len(cur.session.bugchecks))
    i = _read_name(cur, line, st)
    if not st.lenient:
        j = i
        while j < cur.end and j < i + 3 and not cur.text(j).strip():
            j += 1
        if j >= cur.end or _ARGS_HEAD.match(cur.text(j)) is None:
            return None
    i = _read_body(cur, i, st)
    if _finish(cur, st) is None and not st.lenient:
        return None
    return max(i, line + 1)


@block("analyze-arguments", r"^[ \t]*Arguments:[ \t]*$")
def analyze_arguments(cur: Cursor) -> int | None:
    """An ``Arguments:`` block with no name line above it."""
    line = cur.line
    if _ARGS_HEAD.match(cur.text(line)) is None:
        return None
    st = _Read(first=line, last=line, lenient=_in_analyze(cur), slot=len(cur.session.bugchecks))
    i = _read_args(cur, line, st)
    if not st.args:
        return None
    i = _read_body(cur, i, st)
    if _finish(cur, st, _show_code(cur)) is None and not st.lenient:
        return None
    return max(i, line + 1)


@block("analyze-summary", r"^[ \t]*BugCheck [0-9a-fA-F]{1,8}, \{")
def analyze_summary(cur: Cursor) -> int | None:
    """``BugCheck C4, {...}`` printed without a banner above it."""
    line = cur.line
    if _SUMMARY.match(cur.text(line)) is None:
        return None
    st = _Read(first=line, last=line, lenient=_in_analyze(cur), slot=len(cur.session.bugchecks))
    i = _read_body(cur, line, st)
    if _finish(cur, st) is None:
        return None
    return max(i, line + 1)


@block("fatal-system-error", r"^[ \t]*\*\*\* Fatal System Error: 0x[0-9a-fA-F]")
def fatal_error(cur: Cursor) -> int | None:
    """``*** Fatal System Error: 0x...``, its tuple, and Verifier's explanation lines."""
    line = cur.line
    m = _FATAL.match(cur.text(line))
    if m is None:
        return None
    args: list[BugCheckArg] = []
    last = line
    i = line + 1
    if i < cur.end:
        mt = _TUPLE.match(cur.text(i))
        if mt is not None:
            base = mt.start("vals")
            for k, item in enumerate(_ITEM.finditer(mt.group("vals")), start=1):
                value = cur.num_at(i, item.group(), base + item.start()) if k <= 4 else None
                if value is not None:
                    args.append(BugCheckArg(k, value, value.range, value.range))
            last = i
            i += 1
    probably: str | None = None
    probably_range: Range | None = None
    blanks = 0
    explained = False  # the ``0xD2 : ...`` line was seen; ``N - ...`` lines follow it
    while i < cur.end and blanks <= 3:
        t = cur.text(i)
        if not t.strip():
            blanks += 1
            i += 1
            continue
        blanks = 0
        ma = _AT_FAULT.match(t)
        ms = _VF_SUB.match(t)
        mn = _VF_ARG.match(t) if explained else None
        if ma is not None and probably is None:
            probably = ma.group("d")
            probably_range = cur.group_range(i, ma, "d")
        elif ms is not None and not explained and args and args[0].index == 1:
            if args[0].value.value != hex_int(ms.group("sub")):
                break
            explained = True
            args[0] = replace(
                args[0],
                description=ms.group("text"),
                description_range=cur.group_range(i, ms, "text"),
            )
        elif mn is not None:
            n = int(mn.group("n"))
            for k, a in enumerate(args):
                if a.index == n and a.description is None:
                    args[k] = replace(
                        a,
                        description=mn.group("text"),
                        description_range=cur.group_range(i, mn, "text"),
                    )
        else:
            break
        last = i
        i += 1
    cur.session.bugchecks.append(
        BugCheck(
            code=int(m.group("code"), 16),
            source=BugCheckSource.FATAL_ERROR,
            range=cur.rng(line, m.start("kw"), m.end("code")),
            code_range=cur.group_range(line, m, "code"),
            args=args,
            probably_caused_by=probably,
            probably_caused_by_range=probably_range,
            block_range=cur.span(line, last),
        )
    )
    return last + 1


@block("dot-bugcheck", r"^[ \t]*Bugcheck code [0-9a-fA-F]")
def dot_bugcheck(cur: Cursor) -> int | None:
    """``.bugcheck``: ``Bugcheck code 0000000a`` and ``Arguments v1 v2 v3 v4``."""
    line = cur.line
    m = _DOT_CODE.match(cur.text(line))
    if m is None:
        return None
    args: list[BugCheckArg] = []
    last = line
    if line + 1 < cur.end:
        ma = _DOT_ARGS.match(cur.text(line + 1))
        if ma is not None:
            base = ma.start("vals")
            for k, item in enumerate(_TOKEN.finditer(ma.group("vals")), start=1):
                if k > 4:
                    break
                value = cur.num_at(line + 1, item.group(), base + item.start())
                if value is not None:
                    args.append(BugCheckArg(k, value, value.range, value.range))
            last = line + 1
    cur.session.bugchecks.append(
        BugCheck(
            code=int(m.group("code"), 16),
            source=BugCheckSource.DOT_BUGCHECK,
            range=cur.rng(line, m.start("kw"), m.end("code")),
            code_range=cur.group_range(line, m, "code"),
            args=args,
            block_range=cur.span(line, last),
        )
    )
    return last + 1


#: The parsers ``_nested`` never calls: the pieces of an analysis itself.
_OWN: frozenset[BlockFn] = frozenset(
    {analyze_banner, analyze_name, analyze_arguments, analyze_summary}
)
