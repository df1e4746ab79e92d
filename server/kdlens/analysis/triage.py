"""Crash triage: one record per stop the log holds, saying what stopped, where and who.

A stop is a kernel bug check (``!analyze`` of either generation, ``*** Fatal
System Error``, ``.bugcheck``, ``BugCheck X, {...}``: merged into cases by
``bugchecks.py``), a user-mode exception analysis, an Application Verifier
stop (``VERIFIER STOP`` and/or an ``APPLICATION_VERIFIER_*`` analysis) or an
``.exr`` record printed on its own. The three kinds never mix: Application
Verifier stop 7 is a double free, not bug check 0x7.

For each stop the triage gathers what the log printed about it: the
exception record, the trap frame and context, the ``FAULTING_IP``, the
stack; then it decodes the parameters (IRQL names, access kinds, status
names, addresses placed in their module and symbol), finds the faulting
instruction and its source line (looked up exactly: a faulting instruction
is not a return address), the module the debugger blames and the user's own
frames on the stack, and says when the debugger blames a system module while
the user's code is on the stack.

Names of codes come from ``kdlens.knowledge`` (``status_code``, ``irql_name``,
``verifier_stop``, ``pool_type``); a value it does not know is shown raw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from .. import knowledge
from ..model import (
    AnalyzeField,
    BugCheckArg,
    CodeSite,
    ContextKind,
    ExceptionAnalysis,
    ExceptionRecord,
    Frame,
    ModuleInfo,
    Num,
    Position,
    Range,
    RegisterContext,
    Session,
    Stack,
    StackKind,
    SymbolRef,
    VerifierStop,
)
from ..numbers import canonical_address, normalize_module
from .bugchecks import BugCheckCase
from .evidence import Evidence, Origin, SourceLocation, symbol_key
from .frames import Faults, FrameKind, frame_address, frame_kinds, module_key
from .resolve import Resolver
from .settings import AnalysisSettings

# --------------------------------------------------------------------------- records


class StopKind(str, Enum):
    BUG_CHECK = "bug-check"  # a kernel bug check
    EXCEPTION = "exception"  # a (user-mode) exception analysis or an .exr record
    VERIFIER_STOP = "verifier-stop"  # an Application Verifier stop


class ValueKind(str, Enum):
    """What a stop parameter holds, so it can be decoded for what it is."""

    ADDRESS = "address"  # memory that was referenced
    CODE = "code-address"  # an instruction address
    IRQL = "irql"
    ACCESS = "access"  # read / write / execute
    STATUS = "status"  # an NTSTATUS / exception code
    POOL_TYPE = "pool-type"
    POINTER = "pointer"  # a structure: trap frame, context or exception record
    SIZE = "size"
    OTHER = "other"


@dataclass(slots=True)
class TriageParam:
    """One parameter of a stop with its printed meaning and its decoded value."""

    index: int
    value: int
    label: str
    kind: ValueKind
    range: Range | None = None
    decoded: str | None = None


@dataclass(slots=True)
class TriageFrame:
    """A stack frame as the triage sees it."""

    index: int
    frame: Frame
    kind: FrameKind
    address: int | None
    module: str | None
    source: SourceLocation | None
    user: bool

    @property
    def label(self) -> str:
        sym = self.frame.symbol
        if sym is not None:
            return sym.display
        return f"0x{self.address:x}" if self.address is not None else f"frame {self.index}"


@dataclass(slots=True)
class Blame:
    """The module the debugger blames and the field it named it in."""

    module: str
    how: str  # IMAGE_NAME, MODULE_NAME, Probably caused by, FAULTING_MODULE, Driver at fault
    range: Range | None
    system: bool
    symbol: SymbolRef | None = None  # SYMBOL_NAME / Probably caused by ( symbol )


@dataclass(slots=True, frozen=True)
class SourceMark:
    """A line of the user's source the editor can flag for this stop."""

    location: SourceLocation
    message: str
    faulting: bool


@dataclass(slots=True)
class Triage:
    kind: StopKind
    range: Range  # where the stop is named: the diagnostic's anchor
    code: int | None = None
    name: str | None = None
    code_range: Range | None = None
    params: list[TriageParam] = field(default_factory=list)
    case: BugCheckCase | None = None
    analysis: ExceptionAnalysis | None = None
    verifier_stop: VerifierStop | None = None
    exception: ExceptionRecord | None = None
    context: RegisterContext | None = None  # .cxr / .ecxr / CONTEXT
    trap_frame: RegisterContext | None = None  # .trap / TRAP_FRAME
    faulting_ip: CodeSite | None = None
    #: Other places printing the same stop (a .exr of the record, a VERIFIER STOP block).
    related: list[tuple[Range, str]] = field(default_factory=list)
    exception_code: int | None = None
    exception_code_range: Range | None = None
    fault_address: int | None = None
    fault_symbol: SymbolRef | None = None
    fault_label: str | None = None  # the faulting symbol as text (printed or resolved)
    fault_module: str | None = None
    fault_source: SourceLocation | None = None
    access: str | None = None  # read / write / execute
    access_address: int | None = None
    memory: str | None = None  # paged pool, nonpaged pool, special pool...
    irql: int | None = None
    irql_name: str | None = None
    blamed: Blame | None = None
    stack: Stack | None = None
    frames: list[TriageFrame] = field(default_factory=list)
    user_modules: list[str] = field(default_factory=list)
    process: str | None = None
    message: str = ""  # the one-line diagnostic text
    detail: str = ""  # the part after ``title in module:`` (empty when nothing is known)

    @property
    def title(self) -> str:
        return stop_title(self.kind, self.code, self.name)

    @property
    def first_user_frame(self) -> TriageFrame | None:
        for f in self.frames:
            if f.user:
                return f
        return None

    @property
    def faulting_frames(self) -> list[TriageFrame]:
        return [f for f in self.frames if f.kind is FrameKind.FAULTING]

    @property
    def culprit(self) -> str | None:
        """The module to look at first: the one blamed, else where it faulted."""
        if self.blamed is not None:
            return self.blamed.module
        return self.fault_module

    @property
    def blame_differs(self) -> bool:
        """The debugger blames a system module while the user's code is on the stack."""
        user = self.first_user_frame
        return (
            self.blamed is not None
            and self.blamed.system
            and user is not None
            and user.module is not None
            and module_key(user.module) != module_key(self.blamed.module)
        )

    def source_marks(self) -> list[SourceMark]:
        """Source lines for the editor: the faulting line, then the user's callers."""
        out: list[SourceMark] = []
        seen: set[tuple[str, int]] = set()
        if self.fault_source is not None:
            out.append(SourceMark(self.fault_source, self.message, True))
            seen.add((self.fault_source.path.lower(), self.fault_source.line))
        for f in self.frames:
            if not f.user or f.source is None:
                continue
            key = (f.source.path.lower(), f.source.line)
            if key in seen:
                continue
            seen.add(key)
            faulting = f.kind is FrameKind.FAULTING
            if faulting:
                text = f"{f.label} faulted here: {self.title}"
            else:
                text = f"{f.label} is on the stack of {self.title} (frame {f.index})"
            out.append(SourceMark(f.source, text, faulting))
        return out


# --------------------------------------------------------------------------- names and tables


def status_name(code: int) -> str | None:
    """The symbolic name of an NTSTATUS / exception code (``0xc0000005`` -> ``STATUS_ACCESS_VIOLATION``)."""
    info = knowledge.status_code(code & 0xFFFFFFFF)
    return info.name if info is not None else None


def irql_name(value: int, x64: bool | None = True) -> str | None:
    """The name of an IRQL on x64 (default) or x86: 2 is ``DISPATCH_LEVEL`` on both;
    levels only device interrupts use are "device IRQL"."""
    arch = "x86" if x64 is False else "x64"
    known = knowledge.irql_name(value, arch)
    if known:
        return known
    device_top = 26 if x64 is False else 12
    return "device IRQL" if 3 <= value <= device_top else None


def pool_type_name(value: int) -> str | None:
    return knowledge.pool_type_name(value)


def verifier_stop_name(code: int) -> str | None:
    """The ``APPLICATION_VERIFIER_*`` name of an Application Verifier stop code."""
    info = knowledge.verifier_stop(code)
    return info.name if info is not None else None


def bugcheck_name(code: int) -> str | None:
    info = knowledge.bugcheck(code)
    return info.name if info is not None else None


def stop_title(kind: StopKind, code: int | None, name: str | None) -> str:
    """``0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL``, ``Exception 0xC0000005 STATUS_ACCESS_VIOLATION``..."""
    if kind is StopKind.BUG_CHECK:
        label = name or (bugcheck_name(code) if code is not None else None)
        return f"0x{code or 0:X} {label or 'unknown bug check'}"
    if kind is StopKind.VERIFIER_STOP:
        head = "Application Verifier stop"
        if code is not None:
            head += f" 0x{code:X}"
        return f"{head} {name}" if name else head
    head = "Exception"
    if code is None:
        return head
    label = name or status_name(code)
    return f"{head} 0x{code:08X}" + (f" {label}" if label else "")


# --------------------------------------------------------------------------- parameters


_CODE_WORDS = re.compile(
    r"address which referenced memory|faulting instruction|instruction pointer|"
    r"instruction address|exception address|address that the exception occurred|"
    r"address of the instruction|\bfaulting ip\b|referencing instruction",
    re.IGNORECASE,
)
_POINTER_WORDS = re.compile(r"trap ?frame|context record|exception record", re.IGNORECASE)
_IRQL_WORDS = re.compile(r"\birql\b", re.IGNORECASE)
_ACCESS_WORDS = re.compile(
    r"read operation|write operation|access kind|access flags|access type|\bbitfield\b",
    re.IGNORECASE,
)
_STATUS_WORDS = re.compile(r"exception code|\bntstatus\b|status code", re.IGNORECASE)
_POOL_WORDS = re.compile(r"pool type", re.IGNORECASE)
_ADDRESS_WORDS = re.compile(
    r"memory referenced|address referenced|referenced address|virtual address|"
    r"address being referenced|\bva\b",
    re.IGNORECASE,
)
_SIZE_WORDS = re.compile(r"\bsize\b", re.IGNORECASE)


#: The first pattern a parameter's description matches says what it holds.
_KIND_WORDS: tuple[tuple[re.Pattern[str], ValueKind], ...] = (
    (_CODE_WORDS, ValueKind.CODE),
    (_POINTER_WORDS, ValueKind.POINTER),
    (_ACCESS_WORDS, ValueKind.ACCESS),
    (_IRQL_WORDS, ValueKind.IRQL),
    (_STATUS_WORDS, ValueKind.STATUS),
    (_POOL_WORDS, ValueKind.POOL_TYPE),
    (_ADDRESS_WORDS, ValueKind.ADDRESS),
    (_SIZE_WORDS, ValueKind.SIZE),
)


def classify(text: str) -> ValueKind:
    """What a parameter holds, from its printed description or documented label."""
    return next((kind for words, kind in _KIND_WORDS if words.search(text)), ValueKind.OTHER)


_WRITE_BIT1 = re.compile(r"bit 1 (?:is )?set if the fault was due to a write", re.IGNORECASE)


def access_kind(code: int | None, value: int, description: str = "") -> str:
    """Decode an access argument for what the debugger says it is.

    Newer 0x50 analyses print the x64 page-fault error code (bit 1 write,
    bit 4 execute); 0xA prints a bit field (bit 0 write, bit 3 execute);
    otherwise 0 is a read, 1 a write and 2, 8 or 0x10 an execute.
    """
    if _WRITE_BIT1.search(description):
        if value & 0x10:
            return "execute"
        return "write" if value & 0x2 else "read"
    if code == 0xA:
        if value & 0x8:
            return "execute"
        return "write" if value & 0x1 else "read"
    if value in (2, 8, 0x10) or value & 0x8:
        return "execute"
    return "write" if value & 0x1 else "read"


def _exception_access(value: int) -> str:
    """Parameter[0] of an access violation: 0 read, 1 write, 8 execute (DEP)."""
    if value == 8:
        return "execute"
    return "write" if value == 1 else "read"


# --------------------------------------------------------------------------- modules

#: Windows components a debugger often blames: never the user's own module.
_SYSTEM_MODULES = frozenset(
    """
    nt hal kdcom kdnet ci clfs tm cng ksecdd ksecpkg pshed werkernel ntdll kernel32
    kernelbase user32 win32u gdi32 gdi32full advapi32 sechost rpcrt4 combase ole32 oleaut32
    shell32 shlwapi shcore comctl32 ws2_32 mswsock crypt32 bcrypt bcryptprimitives msvcrt
    ucrtbase ucrtbased vcruntime140 vcruntime140d vcruntime140_1 vcruntime140_1d msvcp140
    msvcp140d kernel.appcore windows.storage dbghelp dbgcore verifier vrfcore vfbasics
    vfcompat vfluapriv vfprint vfnet verifierext win32k win32kbase win32kfull dxgkrnl
    dxgmms1 dxgmms2 watchdog basicdisplay basicrender ntfs refs fastfat exfat fltmgr
    fileinfo wof luafv bindflt wcifs cldflt applockerfltr storqosflt wdfilter wdboot
    npsvctrig mup rdbss mrxsmb mrxsmb20 csc srv2 srvnet wdf01000 wdfldr ndis netio tcpip afd
    http ndiswan fwpkclnt msquic tdx netbt acpi pci partmgr volmgr volmgrx volsnap mountmgr
    disk classpnp storport stornvme storahci ataport atapi msahci iastorav spaceport fvevol
    rdyboost intelppm amdppm usbport usbhub usbhub3 usbxhci ucx01000 usbccgp hidusb hidclass
    hidparse kbdclass mouclass ks ksthunk portcls hdaudbus drmk
    """.split()  # noqa: SIM905
)
_SYSTEM_PREFIXES = ("api-ms-win-", "ext-ms-", "microsoft.windows.")
_SYSTEM_PATH = re.compile(r"(?:^|\\)(?:windows|systemroot)\\", re.IGNORECASE)


def is_system_module(name: str, module: ModuleInfo | None = None) -> bool:
    """A Windows component (by name, or by an image path under the Windows folder)."""
    key = normalize_module(name)
    if key in _SYSTEM_MODULES or key.startswith(_SYSTEM_PREFIXES):
        return True
    if module is not None:
        for path in (module.image_path, module.image_name):
            if path and _SYSTEM_PATH.search(path):
                return True
    return False


def _private_symbols(module: ModuleInfo | None) -> bool:
    if module is None:
        return False
    status = (module.symbol_status or "").lower()
    report = module.properties.get("Load Report", "").lower()
    return "private" in status or "private" in report


# --------------------------------------------------------------------------- the builder


def _inside(rng: Range, blocks: Iterable[Range]) -> bool:
    return any(b.covers(rng) for b in blocks)


def _field_value(fields: Sequence[AnalyzeField], *keys: str) -> AnalyzeField | None:
    for key in keys:
        for f in fields:
            if f.key == key and f.value.strip():
                return f
    return None


def _first_token(f: AnalyzeField) -> tuple[str, Range] | None:
    """The first word of a single-line field value, with its range."""
    value = f.value
    lead = len(value) - len(value.lstrip())
    tok = value.split()[0] if value.split() else ""
    if not tok or "\n" in value[: lead + len(tok)]:
        return None
    start = f.value_range.start
    rng = Range(
        Position(start.line, start.character + lead),
        Position(start.line, start.character + lead + len(tok)),
    )
    return tok, rng


_HEX_CODE = re.compile(r"(?:0x)?([0-9a-fA-F]{8})\b")


class _Builder:
    def __init__(
        self,
        session: Session,
        evidence: Evidence,
        resolver: Resolver,
        settings: AnalysisSettings,
        is_workspace_source: Callable[[SourceLocation], bool] | None,
    ) -> None:
        self.session = session
        self.evidence = evidence
        self.resolver = resolver
        self.settings = settings
        self.is_workspace_source = is_workspace_source
        self._user_cache: dict[str, bool] = {}
        #: Image names the analyses printed (``IMAGE_NAME:  mydriver.sys``), by module.
        self.images: dict[str, str] = {}
        for fields in [bc.fields for bc in session.bugchecks] + [
            ea.fields for ea in session.exception_analyses
        ]:
            f = _field_value(fields, "IMAGE_NAME")
            tok = _first_token(f) if f is not None else None
            if tok is not None and "." in tok[0]:
                self.images.setdefault(normalize_module(tok[0]), tok[0])
        self._source_modules: set[str] = set()
        # instruction address -> the label the debugger printed for it
        self.labels: dict[int, SymbolRef] = {}
        for ctx in session.register_contexts:
            ip = ctx.ip
            if ip is not None and ctx.site is not None and ctx.site.symbol is not None:
                self.labels.setdefault(canonical_address(ip.value.value), ctx.site.symbol)
        for site in session.code_sites:
            if site.address is not None and site.symbol is not None:
                self.labels.setdefault(canonical_address(site.address.value), site.symbol)
        for rec in session.exception_records:
            if rec.address is not None and rec.symbol is not None:
                self.labels.setdefault(canonical_address(rec.address.value), rec.symbol)

    # ------------------------------------------------------------------ modules

    def module_info(self, name: str) -> ModuleInfo | None:
        return self.evidence.module_named(name)

    def is_user_module(self, name: str | None) -> bool:
        if not name:
            return False
        key = normalize_module(name)
        hit = self._user_cache.get(key)
        if hit is not None:
            return hit
        info = self.module_info(name)
        if self.settings.is_my_module(name):
            user = True
        elif is_system_module(name, info):
            user = False
        else:
            user = _private_symbols(info) or key in self._source_modules
        self._user_cache[key] = user
        return user

    def module_of(self, address: int | None, sym: SymbolRef | None) -> str | None:
        if sym is not None and sym.module:
            return sym.module
        if address is not None:
            m = self.evidence.module_for_address(address)
            if m is not None:
                return m.name
        return None

    def display_module(self, name: str) -> str:
        """``MyDriver.sys`` rather than ``MyDriver`` when the log says which image it is."""
        if "." in name:
            return name
        info = self.module_info(name)
        if info is not None and info.image_name:
            return info.image_name.rsplit("\\", 1)[-1]
        return self.images.get(normalize_module(name), name)

    # ------------------------------------------------------------------ places

    def place(self, address: int) -> tuple[str | None, str | None, SourceLocation | None]:
        """Symbol text, module and exact source line of an instruction address."""
        a = canonical_address(address)
        sym = self.labels.get(a) or self.evidence.symbol_at(a)
        src = self.resolver.resolve(a, sym, return_address=False)
        label = sym.display if sym is not None else (src.function if src is not None else None)
        module = self.module_of(a, sym)
        if label is None and module is not None:
            m = self.evidence.module_for_address(a)
            if m is not None and m.start is not None:
                label = f"{m.name}+0x{a - canonical_address(m.start.value):x}"
        if module is None and src is not None and src.function and "!" in src.function:
            module = src.function.split("!", 1)[0]
        return label, module, src

    def data_place(self, address: int) -> str | None:
        """Where a data address lies: a module (a global), or a pool block the log showed."""
        a = canonical_address(address)
        m = self.evidence.module_for_address(a)
        if m is not None and m.start is not None:
            return f"{m.name}+0x{a - canonical_address(m.start.value):x}"
        for block in self.session.pool_blocks:
            start = canonical_address(block.address.value)
            if start <= a < start + max(block.size.value, 1) and block.pool_type:
                return _pool_words(block.pool_type)
        return None

    # ------------------------------------------------------------------ frames

    def frames(self, t: Triage) -> None:
        stack = t.stack
        if stack is None:
            return
        addresses = [t.fault_address] if t.fault_address is not None else []
        symbols = [symbol_key(t.fault_symbol)] if t.fault_symbol is not None else []
        faults = Faults.of(addresses, [s for s in symbols if s])
        kinds = frame_kinds(stack, faults)
        out: list[TriageFrame] = []
        for i, (fr, kind) in enumerate(zip(stack.frames, kinds, strict=True)):
            addr = frame_address(stack, i)
            sym = fr.symbol
            if (
                kind is FrameKind.CURRENT
                and i == 0
                and t.fault_symbol is not None
                and sym is not None
                and symbol_key(sym) == symbol_key(t.fault_symbol)
            ):
                kind = FrameKind.FAULTING
            src = _annotation(fr) or self.resolver.resolve(
                addr, sym, return_address=kind is FrameKind.RETURN
            )
            module = self.module_of(addr, sym)
            if (
                src is not None
                and module is not None
                and (self.is_workspace_source is None or self.is_workspace_source(src))
                and not is_system_module(module, self.module_info(module))
            ):
                self._source_modules.add(normalize_module(module))
                self._user_cache.pop(normalize_module(module), None)
            out.append(TriageFrame(i, fr, kind, addr, module, src, False))
        for f in out:
            f.user = self.is_user_module(f.module)
        t.frames = out
        seen: dict[str, None] = {}
        for f in out:
            if f.user and f.module:
                seen.setdefault(self.display_module(f.module), None)
        t.user_modules = list(seen)

    # ------------------------------------------------------------------ blame

    def blame(
        self,
        fields: Sequence[AnalyzeField],
        probably: list[tuple[str, Range | None, str]],
        symbol: SymbolRef | None,
    ) -> Blame | None:
        for key in ("IMAGE_NAME", "MODULE_NAME", "FAULTING_MODULE"):
            f = _field_value(fields, key)
            if f is None:
                continue
            tok = _first_token(f)
            if tok is None:
                continue
            word, word_range = tok
            if word.lower() in ("unknown_image", "unknown_module", "memory_corruption"):
                continue
            return self._blame(word, key, word_range, symbol)
        for name, rng, how in probably:
            word = name.strip().split()[0] if name.strip() else ""
            if word and word.lower() not in ("memory_corruption", "unknown_image"):
                r = rng
                if rng is not None and len(word) != len(name):
                    r = Range(rng.start, Position(rng.start.line, rng.start.character + len(word)))
                return self._blame(word, how, r, symbol)
        return None

    def _blame(self, name: str, how: str, rng: Range | None, symbol: SymbolRef | None) -> Blame:
        display = self.display_module(name)
        return Blame(display, how, rng, is_system_module(name, self.module_info(name)), symbol)

    # ------------------------------------------------------------------ fault

    def set_fault(self, t: Triage, address: Num | None, symbol: SymbolRef | None) -> None:
        """The faulting instruction: exact lookup, printed symbol first."""
        if address is None and symbol is None:
            return
        if address is not None:
            t.fault_address = canonical_address(address.value)
        if symbol is not None:
            t.fault_symbol = symbol
        if t.fault_address is not None:
            label, module, src = self.place(t.fault_address)
            if t.fault_symbol is not None:
                src = (
                    self.resolver.resolve(t.fault_address, t.fault_symbol, return_address=False)
                    or src
                )
                label = t.fault_symbol.display
                module = t.fault_symbol.module or module
            t.fault_label, t.fault_module, t.fault_source = label, module, src
        elif symbol is not None:
            t.fault_label = symbol.display
            t.fault_module = symbol.module
            t.fault_source = self.resolver.resolve(None, symbol, return_address=False)
        if t.fault_module is not None:
            t.fault_module = self.display_module(t.fault_module)

    def memory_region(self, fields: Sequence[AnalyzeField], address: int | None) -> str | None:
        for key in ("READ_ADDRESS", "WRITE_ADDRESS", "EXECUTE_ADDRESS"):
            f = _field_value(fields, key)
            if f is None:
                continue
            words = f.value.strip().split(None, 1)
            if len(words) == 2 and "pool" in words[1].lower():
                return words[1].strip().lower()
        if address is not None:
            for block in self.session.pool_blocks:
                start = canonical_address(block.address.value)
                inside = start <= canonical_address(address) < start + max(block.size.value, 1)
                if inside and block.pool_type:
                    return _pool_words(block.pool_type)
        return None


def _annotation(fr: Frame) -> SourceLocation | None:
    """The ``[file @ line]`` the debugger printed for this very frame."""
    src = fr.source
    if src is None:
        return None
    sym = fr.symbol
    return SourceLocation(
        path=src.path,
        line=src.line,
        origin=Origin.ANNOTATION,
        evidence=src.range,
        function=sym.display if sym is not None else None,
    )


def _site_source(site: CodeSite | None) -> SourceLocation | None:
    """The ``[file @ line]`` printed on a ``FAULTING_IP`` line or a register dump's label."""
    if site is None or site.source is None:
        return None
    src = site.source
    return SourceLocation(
        path=src.path,
        line=src.line,
        origin=Origin.ANNOTATION,
        evidence=src.range,
        function=site.symbol.display if site.symbol is not None else None,
    )


def _pool_words(pool_type: str) -> str:
    low = pool_type.lower()
    if "nonpaged" in low:
        return "nonpaged pool"
    if "paged" in low:
        return "paged pool"
    return low


# --------------------------------------------------------------------------- per kind


def _arg_label(code: int, a: BugCheckArg, args: Sequence[int | None]) -> tuple[str, ValueKind, str]:
    """The label to show for a bug check argument, what it holds, and the text that said so.

    The debugger's own description decides first; the documented label only
    when the description says nothing recognisable.
    """
    meaning = knowledge.arg_meaning(code, a.index, args=list(args))
    label = (a.description or "").strip().rstrip(".").rstrip(",").strip()
    doc = meaning.label if meaning is not None else ""
    kind = classify(label) if label else ValueKind.OTHER
    if kind is ValueKind.OTHER and doc:
        kind = classify(doc)
    basis = f"{label} {doc}".strip()
    if kind is ValueKind.IRQL and a.value.value > 0x1F:
        kind = ValueKind.OTHER  # not an interrupt request level, whatever the text says
    return label or doc or f"Arg{a.index}", kind, basis


def _bugcheck_params(b: _Builder, t: Triage, case: BugCheckCase, x64: bool | None) -> None:
    primary = case.primary
    printed = {a.index: a for a in primary.args}
    for occ in case.occurrences:
        for a in occ.args:
            printed.setdefault(a.index, a)
    for index in sorted(printed):
        a = printed[index]
        label, kind, basis = _arg_label(case.code, a, case.args)
        value = a.value.value
        p = TriageParam(index, value, label, kind, a.value.range)
        _decode(b, t, p, case.code, x64, basis)
        t.params.append(p)


def _decode(
    b: _Builder, t: Triage, p: TriageParam, code: int | None, x64: bool | None, basis: str = ""
) -> None:
    v = p.value
    if p.kind is ValueKind.IRQL:
        p.decoded = irql_name(v, x64)
        if t.irql is None:
            t.irql, t.irql_name = v, p.decoded
    elif p.kind is ValueKind.ACCESS:
        p.decoded = access_kind(code, v, basis)
        if t.access is None:
            t.access = p.decoded
    elif p.kind is ValueKind.STATUS:
        p.decoded = status_name(v)
        if t.exception_code is None:
            t.exception_code = v & 0xFFFFFFFF
            t.exception_code_range = p.range
    elif p.kind is ValueKind.POOL_TYPE:
        p.decoded = pool_type_name(v)
    elif p.kind is ValueKind.CODE:
        label, module, src = b.place(v)
        where = label or (f"in {module}" if module else None)
        if where and src is not None:
            where += f" ({src.short})"
        p.decoded = where
    elif p.kind is ValueKind.ADDRESS:
        p.decoded = b.data_place(v)
        if t.access_address is None:
            t.access_address = v
    elif p.kind is ValueKind.SIZE:
        p.decoded = f"{v:,} bytes"


def _x64_of(*nums: Num | None) -> bool | None:
    for n in nums:
        if n is None:
            continue
        digits = n.text.replace("`", "").removeprefix("0x")
        if "`" in n.text or len(digits) > 8:
            return True
        if len(digits) == 8:
            return False
    return None


def _code_arg(t: Triage) -> TriageParam | None:
    for p in t.params:
        if p.kind is ValueKind.CODE and p.value:
            return p
    return None


def _fault_from_records(b: _Builder, t: Triage) -> None:
    """Pick the faulting instruction: FAULTING_IP, trap frame, context, record, Arg."""
    site = t.faulting_ip
    trap = t.trap_frame
    ctx = t.context
    exr = t.exception
    candidates: list[tuple[Num | None, SymbolRef | None]] = []
    if site is not None and (site.address is not None or site.symbol is not None):
        candidates.append((site.address, site.symbol))
    for c in (trap, ctx):
        if c is not None and c.ip is not None:
            ip = c.ip
            candidates.append((ip.value if ip else None, c.site.symbol if c.site else None))
    if exr is not None and exr.address is not None and exr.address.value:
        candidates.append((exr.address, exr.symbol))
    arg = _code_arg(t)
    if arg is not None and arg.range is not None:
        candidates.append((Num(arg.value, f"{arg.value:x}", arg.range), None))
    for address, symbol in candidates:
        if address is not None and address.value == 0 and symbol is None:
            continue
        b.set_fault(t, address, symbol)
        break
    if t.fault_source is None:
        for s in (site, trap.site if trap else None, ctx.site if ctx else None):
            printed = _site_source(s)
            if printed is not None:
                t.fault_source = printed
                break


def _exception_details(b: _Builder, t: Triage, exr: ExceptionRecord | None) -> None:
    if exr is None:
        return
    if exr.code is not None and t.exception_code is None:
        t.exception_code = exr.code.value & 0xFFFFFFFF
        t.exception_code_range = exr.code.range
    if exr.access is not None and t.access is None:
        t.access = exr.access
        if exr.access_address is not None:
            t.access_address = exr.access_address.value
    code = exr.code.value & 0xFFFFFFFF if exr.code is not None else None
    if code in (0xC0000005, 0xC0000006):
        p0, p1 = exr.parameter(0), exr.parameter(1)
        if t.access is None and p0 is not None:
            t.access = _exception_access(p0.value.value)
        if t.access_address is None and p1 is not None:
            t.access_address = p1.value.value


def _exception_params(b: _Builder, t: Triage, exr: ExceptionRecord) -> None:
    code = exr.code.value & 0xFFFFFFFF if exr.code is not None else None
    for p in exr.parameters:
        if code in (0xC0000005, 0xC0000006) and p.index == 0:
            label, kind = "access kind", ValueKind.ACCESS
            decoded: str | None = _exception_access(p.value.value)
        elif code in (0xC0000005, 0xC0000006) and p.index == 1:
            label, kind = "address referenced", ValueKind.ADDRESS
            decoded = b.data_place(p.value.value)
        elif code == 0xC0000409 and p.index == 0:
            label, kind, decoded = "fast fail code", ValueKind.OTHER, None
        else:
            label, kind, decoded = f"Parameter[{p.index}]", ValueKind.OTHER, None
        t.params.append(TriageParam(p.index, p.value.value, label, kind, p.value.range, decoded))


def _code_from_fields(t: Triage, fields: Sequence[AnalyzeField]) -> None:
    """The exception code of an analysis without an exception record."""
    if t.exception_code is not None:
        return
    for key in ("EXCEPTION_CODE_STR", "EXCEPTION_CODE", "ERROR_CODE", "BUGCHECK_STR"):
        f = _field_value(fields, key)
        if f is None or "\n" in f.value:
            continue
        m = _HEX_CODE.search(f.value)
        if m is None:
            continue
        value = int(m.group(1), 16)
        if key == "BUGCHECK_STR" and not value & 0x80000000:
            continue
        start = f.value_range.start
        col = start.character + m.start(1) - (len(f.value) - len(f.value.lstrip()))
        t.exception_code = value
        t.exception_code_range = Range(
            Position(start.line, col), Position(start.line, col + len(m.group(1)))
        )
        return


# --------------------------------------------------------------------------- messages


def _hex(v: int) -> str:
    return f"0x{v:x}"


def compose(t: Triage) -> None:
    """The one-line message: ``<title> in <module>: <what> by <where> (<file:line>)``."""
    parts: list[str] = []
    if t.kind is not StopKind.EXCEPTION and t.exception_code is not None:
        name = status_name(t.exception_code)
        parts.append(f"{name} (0x{t.exception_code:08x})" if name else f"0x{t.exception_code:08x}")
    elif t.kind is StopKind.VERIFIER_STOP and t.verifier_stop is not None:
        msg = t.verifier_stop.message.strip().rstrip(".")
        if msg:
            parts.append(msg)
    what: list[str] = []
    if t.access is not None and t.access_address is not None:
        clause = f"{t.access} of {_hex(t.access_address)}"
        if t.memory:
            clause += f" ({t.memory})"
        what.append(clause)
    elif t.access is not None:
        what.append(t.access)
    if t.irql_name is not None and t.kind is StopKind.BUG_CHECK:
        what.append(f"at {t.irql_name}")
    elif t.irql is not None and t.kind is StopKind.BUG_CHECK:
        what.append(f"at IRQL {t.irql}")
    if t.fault_label is not None:
        by = f"by {t.fault_label}"
        if t.fault_source is not None:
            by += f" ({t.fault_source.short})"
        what.append(by)
    elif t.fault_address is not None:
        what.append(f"at {_hex(t.fault_address)}")
    if what:
        parts.append(" ".join(what))
    t.detail = ", ".join(parts)
    who = t.culprit
    head = t.title + (f" in {who}" if who else "")
    t.message = f"{head}: {t.detail}" if t.detail else head


def blame_message(t: Triage) -> str | None:
    """``The debugger blames fileinfo.sys (IMAGE_NAME), but TestDriver.sys is on the stack...``."""
    user = t.first_user_frame
    if not t.blame_differs or user is None or t.blamed is None:
        return None
    where = user.label + (f" ({user.source.short})" if user.source else "")
    module = user.module or "?"
    return (
        f"{t.title}: the debugger blames {t.blamed.module} ({t.blamed.how}), a Windows "
        f"component, but your module {module} is on the same stack at {where}"
    )


# --------------------------------------------------------------------------- the stops


def _records_in(
    session: Session, blocks: list[Range]
) -> tuple[ExceptionRecord | None, RegisterContext | None, RegisterContext | None, CodeSite | None]:
    exr = next((r for r in session.exception_records if _inside(r.range, blocks)), None)
    trap = next(
        (
            c
            for c in session.register_contexts
            if c.kind is ContextKind.TRAP and _inside(c.range, blocks)
        ),
        None,
    )
    ctx = next(
        (
            c
            for c in session.register_contexts
            if c.kind in (ContextKind.CONTEXT, ContextKind.EXCEPTION) and _inside(c.range, blocks)
        ),
        None,
    )
    site = next(
        (s for s in session.code_sites if s.key == "FAULTING_IP" and _inside(s.range, blocks)),
        None,
    )
    return exr, trap, ctx, site


def _stack_after(session: Session, line: int, limit: int) -> Stack | None:
    """The first ``k`` stack printed after ``line`` (before ``limit``), bug check frames first."""
    candidates = [
        s
        for s in session.stacks
        if s.kind is StackKind.K and line <= s.range.start.line < limit and s.frames
    ]
    for s in candidates:
        for fr in s.frames[:8]:
            fn = fr.symbol.function if fr.symbol is not None else None
            if fn and fn.lower().startswith("kebugcheck"):
                return s
    return candidates[0] if candidates else None


def build_triage(
    session: Session,
    cases: Sequence[BugCheckCase],
    evidence: Evidence,
    resolver: Resolver,
    settings: AnalysisSettings | None = None,
    is_workspace_source: Callable[[SourceLocation], bool] | None = None,
) -> list[Triage]:
    """One ``Triage`` per stop in ``session``, in the order the log prints them.

    ``is_workspace_source`` (the editor's source mapper) narrows "frames whose
    source resolves" to sources found in the user's workspace.
    """
    b = _Builder(session, evidence, resolver, settings or AnalysisSettings(), is_workspace_source)
    out: list[Triage] = []
    claimed: set[int] = set()  # ids of exception records, contexts and stops already used

    for case in cases:
        out.append(_bugcheck(b, case, claimed))
    stops = sorted(session.verifier_stops, key=lambda s: s.range.start.line)
    for ea in session.exception_analyses:
        out.append(_analysis(b, ea, stops, claimed))
    for stop in stops:
        if id(stop) not in claimed:
            out.append(_verifier(b, stop))
    for rec in session.exception_records:
        if id(rec) in claimed or rec.in_analysis:
            continue
        owner = _same_exception(out, rec)
        if owner is not None:
            owner.related.append((rec.range, "the exception record (.exr)"))
            if owner.exception is None:
                owner.exception = rec
            claimed.add(id(rec))
            continue
        out.append(_record(b, rec))
        claimed.add(id(rec))

    out.sort(key=lambda t: (t.range.start.line, t.range.start.character))
    lines = [t.range.start.line for t in out]
    for k, t in enumerate(out):
        limit = lines[k + 1] if k + 1 < len(lines) else session.line_count + 1
        _attach_context(b, t, claimed, limit)
        if t.stack is None:
            t.stack = _stack_after(session, t.range.start.line, limit)
        _finish(b, t)
    return out


def _bugcheck(b: _Builder, case: BugCheckCase, claimed: set[int]) -> Triage:
    primary = case.primary
    blocks = [o.block_range or o.range for o in case.occurrences]
    t = Triage(
        kind=StopKind.BUG_CHECK,
        range=primary.range,
        code=case.code,
        name=case.name or bugcheck_name(case.code),
        code_range=primary.code_range,
        case=case,
    )
    exr, trap, ctx, site = _records_in(b.session, blocks)
    for r in (exr, trap, ctx):
        if r is not None:
            claimed.add(id(r))
    t.exception, t.trap_frame, t.context, t.faulting_ip = exr, trap, ctx, site
    t.stack = next((o.stack for o in case.occurrences if o.stack is not None), None)
    x64 = _x64_of(*(a.value for a in primary.args))
    if x64 is None and t.stack is not None:
        x64 = t.stack.x64
    _bugcheck_params(b, t, case, x64)
    fields = [f for o in case.occurrences for f in o.fields]
    probably = [
        (o.probably_caused_by, o.probably_caused_by_range, _how(o.source.value))
        for o in sorted(case.occurrences, key=lambda o: o is not primary)
        if o.probably_caused_by
    ]
    symbol = next((o.symbol for o in case.occurrences if o.symbol is not None), None)
    t.blamed = b.blame(fields, probably, symbol)
    t.process = _process(fields)
    t.memory = b.memory_region(fields, t.access_address)
    return t


def _how(source: str) -> str:
    return "Driver at fault" if source == "fatal-error" else "Probably caused by"


def _process(fields: Sequence[AnalyzeField]) -> str | None:
    f = _field_value(fields, "PROCESS_NAME")
    return f.value.strip() if f is not None and "\n" not in f.value.strip() else None


def _analysis(
    b: _Builder, ea: ExceptionAnalysis, stops: list[VerifierStop], claimed: set[int]
) -> Triage:
    kind = StopKind.VERIFIER_STOP if ea.verifier else StopKind.EXCEPTION
    t = Triage(kind=kind, range=ea.name_range or ea.range, analysis=ea, stack=ea.stack)
    exr, trap, ctx, site = _records_in(b.session, [ea.block_range])
    t.exception = ea.exception or exr
    t.context = ea.context or ctx
    t.trap_frame = trap
    t.faulting_ip = ea.faulting_ip or site
    for r in (t.exception, t.context, t.trap_frame):
        if r is not None:
            claimed.add(id(r))
    if ea.verifier:
        t.code = ea.code.value if ea.code is not None else None
        t.code_range = ea.code.range if ea.code is not None else None
        t.name = ea.name
        stop = _matching_stop(ea, stops, claimed)
        if stop is not None:
            claimed.add(id(stop))
            t.verifier_stop = stop
            t.related.append((stop.block_range, "the VERIFIER STOP block"))
        for a in ea.args:
            label = (a.description or "").strip().rstrip(".").strip() or f"Arg{a.index}"
            p = TriageParam(a.index, a.value.value, label, classify(label), a.value.range)
            _decode_generic(b, p)
            t.params.append(p)
    else:
        _exception_details(b, t, t.exception)
        _code_from_fields(t, ea.fields)
        t.code = t.exception_code
        t.code_range = t.exception_code_range
        if t.exception is not None:
            _exception_params(b, t, t.exception)
    probably = (
        [(ea.probably_caused_by, ea.probably_caused_by_range, "Probably caused by")]
        if ea.probably_caused_by
        else []
    )
    t.blamed = b.blame(ea.fields, probably, ea.symbol)
    t.process = _process(ea.fields)
    return t


def _decode_generic(b: _Builder, p: TriageParam) -> None:
    if p.kind is ValueKind.SIZE:
        p.decoded = f"{p.value:,} bytes"
    elif p.kind is ValueKind.CODE:
        label, module, _ = b.place(p.value)
        p.decoded = label or module
    elif p.kind is ValueKind.STATUS:
        p.decoded = status_name(p.value)


def _matching_stop(
    ea: ExceptionAnalysis, stops: list[VerifierStop], claimed: set[int]
) -> VerifierStop | None:
    """The ``VERIFIER STOP`` block this verifier analysis explains (same code, printed before)."""
    if ea.code is None:
        return None
    best: VerifierStop | None = None
    for stop in stops:
        if id(stop) in claimed or stop.code.value != ea.code.value:
            continue
        if stop.range.start.line <= ea.range.start.line:
            best = stop
    return best


def _verifier(b: _Builder, stop: VerifierStop) -> Triage:
    name = verifier_stop_name(stop.code.value)
    t = Triage(
        kind=StopKind.VERIFIER_STOP,
        range=stop.range,
        code=stop.code.value,
        name=name,
        code_range=stop.code.range,
        verifier_stop=stop,
    )
    _stop_params(b, t, stop)
    return t


def _stop_params(b: _Builder, t: Triage, stop: VerifierStop) -> None:
    for p in stop.params:
        label = p.description.strip().rstrip(".").strip() or f"parameter {p.index}"
        tp = TriageParam(p.index, p.value.value, label, classify(label), p.value.range)
        _decode_generic(b, tp)
        t.params.append(tp)


def _record(b: _Builder, rec: ExceptionRecord) -> Triage:
    t = Triage(kind=StopKind.EXCEPTION, range=rec.range, exception=rec)
    _exception_details(b, t, rec)
    t.code = t.exception_code
    t.code_range = t.exception_code_range
    if rec.code is not None:
        t.range = rec.code.range
    _exception_params(b, t, rec)
    return t


def _same_exception(triages: list[Triage], rec: ExceptionRecord) -> Triage | None:
    """A stop already built for the exception ``rec`` describes (same code and address)."""
    if rec.code is None or rec.address is None:
        return None
    code = rec.code.value & 0xFFFFFFFF
    addr = canonical_address(rec.address.value)
    for t in triages:
        known = t.exception
        if (
            known is not None
            and known.code is not None
            and known.address is not None
            and (known.code.value & 0xFFFFFFFF, canonical_address(known.address.value))
            == (code, addr)
        ):
            return t
        if t.case is not None:
            args = t.case.args
            pointer = next(
                (
                    p.value
                    for p in t.params
                    if p.kind is ValueKind.POINTER and "exception" in p.label.lower()
                ),
                None,
            )
            if (
                rec.record_address is not None
                and pointer is not None
                and canonical_address(rec.record_address.value) == canonical_address(pointer)
            ):
                return t
            if (
                args
                and args[0] is not None
                and (args[0] & 0xFFFFFFFF) == code
                and any(a is not None and canonical_address(a) == addr for a in args[1:])
            ):
                return t
    return None


def _attach_context(b: _Builder, t: Triage, claimed: set[int], limit: int) -> None:
    """A ``.cxr`` / ``.trap`` printed on its own for this stop (pointer argument or same IP)."""
    pointers = {
        canonical_address(p.value): p.label.lower() for p in t.params if p.kind is ValueKind.POINTER
    }
    code_args = {canonical_address(p.value) for p in t.params if p.kind is ValueKind.CODE}
    for c in b.session.register_contexts:
        if id(c) in claimed or c.in_analysis or c.kind is ContextKind.REGISTERS:
            continue
        if c.range.start.line < t.range.start.line or c.range.start.line >= limit:
            continue
        match = False
        if c.frame_address is not None and canonical_address(c.frame_address.value) in pointers:
            match = True
        ip = c.ip
        if not match and ip is not None:
            here = canonical_address(ip.value.value)
            match = here == t.fault_address or here in code_args
        if not match and ip is not None and t.exception is not None and t.exception.address:
            match = canonical_address(ip.value.value) == canonical_address(
                t.exception.address.value
            )
        if not match:
            continue
        claimed.add(id(c))
        if c.kind is ContextKind.TRAP and t.trap_frame is None:
            t.trap_frame = c
        elif c.kind is not ContextKind.TRAP and t.context is None:
            t.context = c
        else:
            t.related.append((c.range, f"register context ({c.kind.value})"))


def _finish(b: _Builder, t: Triage) -> None:
    verifier = t.kind is StopKind.VERIFIER_STOP
    if not verifier and t.fault_address is None and t.fault_symbol is None:
        # a verifier stop breaks inside the verifier: that instruction tells nothing
        _fault_from_records(b, t)
    if t.kind is StopKind.BUG_CHECK:
        _exception_details(b, t, t.exception)
    if t.access_address is not None and t.memory is None:
        fields = t.analysis.fields if t.analysis is not None else []
        t.memory = b.memory_region(fields, t.access_address)
    b.frames(t)
    user = t.first_user_frame
    if verifier and user is not None:
        # the user's call into the heap (or handle, lock...) API is the line to fix
        t.fault_label = user.label
        t.fault_source = user.source
        t.fault_module = b.display_module(user.module) if user.module else None
    compose(t)


def fault_addresses(triages: Sequence[Triage]) -> Faults:
    """Every faulting instruction the triage found (for frame kinds in any stack)."""
    addresses = [t.fault_address for t in triages if t.fault_address is not None]
    symbols: list[str] = []
    for t in triages:
        if t.fault_symbol is not None:
            key = symbol_key(t.fault_symbol)
            if key:
                symbols.append(key)
    return Faults.of(addresses, symbols)
