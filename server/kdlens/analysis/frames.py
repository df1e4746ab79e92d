"""Which frames of a stack hold a return address and which an exact instruction.

A frame's code location is usually a return address: the instruction after
a call, so its source line is found one byte earlier (the call itself).
Three kinds of frames are exact instead, and looking them up one byte early
would land on the wrong line whenever a line starts at that byte:

* the top frame, where the thread was running when it stopped (``CURRENT``);
* the frame right after a trap or exception handler frame (``KiPageFault``,
  ``KiGeneralProtectionFault``, ``KiBreakpointTrap``, ``KiExceptionDispatch``,
  ``KiTrap0E``, ``KiUserExceptionDispatcher``...) or a frame carrying
  ``(TrapFrame @ ...)``: the handler was entered by the processor, not called,
  so the next frame's address is the instruction that faulted (``FAULTING``);
* a frame whose code address is a known faulting address of the log (a trap
  frame's or context's instruction pointer, an exception record's address,
  Arg4 of 0xA/0xD1...), in any stack layout (``FAULTING``).

The frame after an interrupt dispatcher (``KiInterruptDispatch*``) was
interrupted, not faulting: it is exact and reported as ``CURRENT``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from ..model import Frame, Stack, StackKind
from ..numbers import canonical_address, normalize_module
from .evidence import symbol_key


class FrameKind(str, Enum):
    CURRENT = "current"  # the top frame (or an interrupted one): exact
    FAULTING = "faulting"  # the instruction that faulted: exact
    RETURN = "return"  # a return address: the call is one byte earlier

    @property
    def exact(self) -> bool:
        """True when the address is looked up as it is (not one byte earlier)."""
        return self is not FrameKind.RETURN


#: Frames entered by the processor on a fault or trap, or by the exception
#: dispatcher: the frame after one of them is the faulting instruction.
TRAP_HANDLERS = frozenset(
    name.lower()
    for name in (
        "KiPageFault",
        "KiPageFaultShadow",
        "KiGeneralProtectionFault",
        "KiGeneralProtectionFaultShadow",
        "KiBreakpointTrap",
        "KiBreakpointTrapShadow",
        "KiExceptionDispatch",
        "KiDivideErrorFault",
        "KiDivideErrorFaultShadow",
        "KiInvalidOpcodeFault",
        "KiInvalidOpcodeFaultShadow",
        "KiDebugTrapOrFault",
        "KiDoubleFaultAbort",
        "KiStackFault",
        "KiSegmentNotPresentFault",
        "KiAlignmentFault",
        "KiFloatingErrorFault",
        "KiXmmException",
        "KiOverflowTrap",
        "KiBoundFault",
        "KiNpxNotAvailableFault",
        "KiRaiseSecurityCheckFailure",
        "KiRaiseAssertion",
        "KiTrap00",
        "KiTrap01",
        "KiTrap03",
        "KiTrap04",
        "KiTrap05",
        "KiTrap06",
        "KiTrap08",
        "KiTrap0C",
        "KiTrap0D",
        "KiTrap0E",
        "KiTrap10",
        "KiTrap11",
        "KiTrap13",
        "KiUserExceptionDispatcher",
        "KiUserExceptionDispatch",
        "RtlDispatchException",
    )
)
#: Interrupt entry points: the frame after one was interrupted, not faulting.
INTERRUPT_HANDLERS = frozenset(
    name.lower()
    for name in (
        "KiInterruptDispatch",
        "KiInterruptDispatchNoLock",
        "KiInterruptDispatchNoLockNoEtw",
        "KiInterruptDispatchNoEOI",
        "KiInterruptDispatchLBControl",
        "KiChainedDispatch",
        "KiIpiInterrupt",
        "KiDpcInterrupt",
        "KiApcInterrupt",
        "KiIsrThunk",
        "KiIsrThunkShadow",
    )
)
#: The exception dispatch machinery itself: never the faulting frame, even
#: right after a handler (``RtlDispatchException`` returns into ``KiDispatchException``).
DISPATCHERS = (
    TRAP_HANDLERS
    | INTERRUPT_HANDLERS
    | frozenset(
        name.lower()
        for name in (
            "KiDispatchException",
            "KiFatalExceptionHandler",
            "KiSystemServiceHandler",
            "KiBugCheckDispatch",
            "RtlpExecuteHandlerForException",
            "RtlpExecuteHandlerForUnwind",
            "RtlRaiseStatus",
            "RtlRaiseException",
            "RaiseException",
            "KeBugCheckEx",
            "KeBugCheck2",
            "KeBugCheck",
        )
    )
)


def _function(frame: Frame) -> str | None:
    sym = frame.symbol
    if sym is None or not sym.function:
        return None
    return sym.function.lower()


def is_trap_handler(frame: Frame) -> bool:
    """A handler frame: its successor is the faulting instruction."""
    if frame.annotation and "TrapFrame" in frame.annotation:
        return True
    name = _function(frame)
    return name is not None and name in TRAP_HANDLERS


def is_interrupt_handler(frame: Frame) -> bool:
    name = _function(frame)
    return name is not None and name in INTERRUPT_HANDLERS


def is_dispatcher(frame: Frame) -> bool:
    name = _function(frame)
    return name is not None and name in DISPATCHERS


def _log_like(stack: Stack) -> bool:
    return stack.kind is StackKind.POOL_LOG or stack.kind is StackKind.TRACE


def previous_physical(frames: list[Frame], index: int) -> int:
    """The index of the nearest non-inline frame above ``index`` (-1 for none)."""
    j = index - 1
    while j >= 0 and frames[j].inline:
        j -= 1
    return j


def frame_address(stack: Stack, index: int) -> int | None:
    """The code address frame ``index`` stands for, when the stack prints it.

    Log-like stacks (``!verifier 0x80``, traces) print it on the frame; a
    ``k`` display prints it as the return address of the frame above (inline
    frames share the address of the physical frame they were inlined into),
    or as a raw ``0x...`` call site.
    """
    frames = stack.frames
    fr = frames[index]
    if fr.address is not None:
        return canonical_address(fr.address.value)
    if _log_like(stack):
        return None
    j = previous_physical(frames, index)
    if j < 0:
        return None
    ret = frames[j].return_address
    return canonical_address(ret.value) if ret is not None else None


@dataclass(slots=True, frozen=True)
class Faults:
    """What the log says faulted: instruction addresses and their printed symbols."""

    addresses: frozenset[int] = frozenset()
    symbols: frozenset[str] = frozenset()  # ``symbol_key`` spellings

    @staticmethod
    def of(addresses: Iterable[int], symbols: Iterable[str] = ()) -> Faults:
        return Faults(
            frozenset(canonical_address(a) for a in addresses),
            frozenset(s for s in symbols if s),
        )

    def __bool__(self) -> bool:
        return bool(self.addresses or self.symbols)


_NO_FAULTS = Faults()


def _is_fault(stack: Stack, index: int, faults: Faults) -> bool:
    if not faults:
        return False
    addr = frame_address(stack, index)
    if addr is not None and addr in faults.addresses:
        return True
    sym = stack.frames[index].symbol
    if sym is None or sym.offset is None or not faults.symbols:
        return False
    key = symbol_key(sym)
    return key is not None and key in faults.symbols


def frame_kinds(stack: Stack, faults: Faults = _NO_FAULTS) -> list[FrameKind]:
    """The kind of every frame of ``stack``, by the rules in the module docstring."""
    frames = stack.frames
    out: list[FrameKind] = []
    log_like = _log_like(stack)
    for i, fr in enumerate(frames):
        if _is_fault(stack, i, faults) and not is_dispatcher(fr):
            out.append(FrameKind.FAULTING)
            continue
        if log_like:
            # captured back traces: every entry is where a call returns to
            out.append(FrameKind.RETURN)
            continue
        j = previous_physical(frames, i)
        if j < 0:
            out.append(FrameKind.CURRENT)
        elif is_trap_handler(frames[j]) and not is_dispatcher(fr):
            out.append(FrameKind.FAULTING)
        elif is_interrupt_handler(frames[j]) and not is_dispatcher(fr):
            out.append(FrameKind.CURRENT)
        else:
            out.append(FrameKind.RETURN)
    return out


@dataclass(slots=True)
class FrameKindCache:
    """Frame kinds per stack for one analysis (the editor asks for them often)."""

    faults: Faults = _NO_FAULTS
    _memo: dict[int, tuple[Stack, list[FrameKind]]] = field(default_factory=dict)

    def kinds(self, stack: Stack) -> list[FrameKind]:
        hit = self._memo.get(id(stack))
        if hit is not None and hit[0] is stack and len(hit[1]) == len(stack.frames):
            return hit[1]
        kinds = frame_kinds(stack, self.faults)
        self._memo[id(stack)] = (stack, kinds)
        return kinds


def module_key(name: str | None) -> str:
    """A module name for comparisons (``MyDriver.sys`` and ``mydriver`` are one)."""
    return normalize_module(name) if name else ""
