"""What the user can tune about the analysis, with the defaults a driver developer expects."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from ..model import SymbolRef
from ..numbers import normalize_module

#: Frames that belong to the allocator, not to the driver that asked for memory.
#: Driver Verifier wraps every allocation a verified driver makes; the first frame
#: below these wrappers is the driver code that owns the leak.
DEFAULT_ALLOCATOR_WRAPPERS: tuple[str, ...] = (
    "VerifierExt!*",
    "nt!Verifier*",
    "nt!Ve*",
    "nt!Vf*",
    "nt!Vi*",
    "nt!Iov*",
    "nt!ExAllocatePool*",
    "nt!ExpAllocate*",
    "nt!IoAllocateMdl",
    "nt!IoAllocateWorkItem",
    # user-mode heap layers: ntdll's heap, page heap and Application Verifier
    "ntdll!Rtl*Heap*",
    "ntdll!RtlpAllocate*",
    "ntdll!RtlpCallInterceptRoutine",
    "verifier!*",
    "vfbasics!*",
    "vrfcore!*",
    "vfprint!*",
    # the C runtime (DLL or linked into the program: any module)
    "*!malloc",
    "*!_malloc_base",
    "*!_malloc_dbg",
    "*!_malloc_crt",
    "*!calloc",
    "*!calloc_base",
    "*!_calloc_base",
    "*!_calloc_dbg",
    "*!realloc",
    "*!_realloc_base",
    "*!_realloc_dbg",
    "*!_recalloc*",
    "*!_strdup*",
    "*!_wcsdup*",
    "*!_heap_alloc*",
    "*!heap_alloc_dbg*",
    "*!_nh_malloc*",
    "*!operator new*",
    "*!_aligned_malloc*",
    # Win32 allocation and handle-creating APIs
    "kernelbase!LocalAlloc",
    "kernelbase!GlobalAlloc",
    "kernelbase!HeapAlloc",
    "kernelbase!VirtualAlloc*",
    "kernelbase!CreateFile*",
    "kernelbase!CreateEvent*",
    "kernelbase!CreateMutex*",
    "kernelbase!CreateSemaphore*",
    "kernelbase!CreateFileMapping*",
    "kernelbase!CreateThread*",
    "kernelbase!CreateRemoteThread*",
    "kernelbase!OpenThread",
    "kernelbase!OpenProcess",
    "kernelbase!OpenEvent*",
    "kernelbase!DuplicateHandle",
    "kernelbase!RegOpenKey*",
    "kernelbase!RegCreateKey*",
    "kernel32!LocalAlloc",
    "kernel32!GlobalAlloc",
    "kernel32!HeapAlloc",
    "kernel32!VirtualAlloc*",
    "kernel32!CreateFile*",
    "kernel32!CreateEvent*",
    "kernel32!CreateMutex*",
    "kernel32!CreateSemaphore*",
    "kernel32!CreateFileMapping*",
    "kernel32!CreateThread*",
    "kernel32!OpenThread",
    "kernel32!OpenProcess",
    "kernel32!OpenEvent*",
    "kernel32!DuplicateHandle",
    "kernel32!RegOpenKey*",
    "kernel32!RegCreateKey*",
    "advapi32!RegOpenKey*",
    "advapi32!RegCreateKey*",
    "oleaut32!SysAllocString*",
    "oleaut32!SysReAllocString*",
    "combase!CoTaskMemAlloc",
    "ole32!CoTaskMemAlloc",
)

#: Frames between a handle-creating call and the kernel object it opens: the
#: system-call stubs and the object manager. Looked past for handle leaks only.
HANDLE_CREATION_LAYERS: tuple[str, ...] = (
    "ntdll!Nt*",
    "ntdll!Zw*",
    "ntdll!Ki*",
    "nt!Ob*",
    "nt!Nt*",
    "nt!Zw*",
    "nt!Ki*",
    "nt!Iop*",
    "nt!IoCreateFile*",
    "nt!Psp*",
    "nt!Cm*",
)


_TRANSLATED = re.compile(r"^\(\?s:(.*)\)\\Z$", re.DOTALL)


def _glob(pattern: str) -> str:
    """A glob as a bare regular expression (``fnmatch.translate`` without its wrapper)."""
    out = fnmatch.translate(pattern)
    m = _TRANSLATED.match(out)
    return m.group(1) if m else re.escape(pattern)


def _globs_re(patterns: Iterable[str]) -> re.Pattern[str]:
    """One expression matching ``module!function`` against any of the globs."""
    parts = []
    for p in patterns:
        module, _, func = p.partition("!")
        parts.append(f"(?:{_glob(normalize_module(module))}!{_glob(func or '*')})")
    return re.compile(rf"^(?:{'|'.join(parts)})$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class AnalysisSettings:
    """The part of the user's settings that changes what the analysis concludes.

    Built by ``kdlens.settings.Settings.analysis``; paths, symbol stores and
    hosts are not here because the analysis never opens a file.
    """

    #: Extra ``module!function`` glob patterns for the user's own allocation helpers.
    allocator_wrappers: tuple[str, ...] = ()
    #: The user's own modules (``kdlens.myModules``): names or globs, with or without extension.
    my_modules: tuple[str, ...] = ()
    _cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _wrapper_re(self) -> re.Pattern[str]:
        return _globs_re([*DEFAULT_ALLOCATOR_WRAPPERS, *self.allocator_wrappers])

    @cached_property
    def _handle_layer_re(self) -> re.Pattern[str]:
        return _globs_re(HANDLE_CREATION_LAYERS)

    def is_handle_layer(self, sym: SymbolRef | None) -> bool:
        """True when ``sym`` is a system-call stub or object-manager frame (handle leaks)."""
        if sym is None or not sym.module:
            return False
        key = f"{normalize_module(sym.module)}!{sym.function or ''}"
        return bool(self._handle_layer_re.match(key))

    def is_wrapper(self, sym: SymbolRef | None) -> bool:
        """True when ``sym`` is an allocator frame to look past."""
        if sym is None or not sym.module:
            return False
        key = f"{normalize_module(sym.module)}!{sym.function or ''}"
        hit = self._cache.get(key)
        if hit is None:
            hit = bool(self._wrapper_re.match(key))
            self._cache[key] = hit
        return hit

    @cached_property
    def _my_re(self) -> re.Pattern[str] | None:
        if not self.my_modules:
            return None
        parts = [_glob(normalize_module(m)) for m in self.my_modules if m.strip()]
        if not parts:
            return None
        return re.compile(rf"^(?:{'|'.join(parts)})$", re.IGNORECASE | re.DOTALL)

    def is_my_module(self, name: str | None) -> bool:
        """True when ``name`` is one of the modules the user listed as their own."""
        pattern = self._my_re
        return (
            bool(name) and pattern is not None and bool(pattern.match(normalize_module(name or "")))
        )
