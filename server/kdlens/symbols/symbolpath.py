"""The symbol path (``_NT_SYMBOL_PATH`` syntax): local folders to read, servers to ask.

A ``srv*cache*https://...`` element counts for its cache folder, which a
debugger on this machine (or an earlier download) may have filled. Its
server is contacted only when its URL starts with one of the user's trusted
prefixes (``kdlens.trustedSymbolServers``, ``--trust-symbol-server``): then it
becomes a ``RemoteStore`` whose downloads go to the element's first cache
folder (or the one a preceding ``cache*`` element named). An untrusted URL is
only remembered so that the user can be told, once, which setting would let
kdlens use it. The symbol path comes from the user's settings and the
environment only: a path a log prints is never read here. Network folders (``\\\\host\\share`` in
any spelling: ``\\\\?\\UNC\\host\\share``, ``//host/share``...) are searched
only when the user trusts that host, like source files; device paths
(``\\\\.\\PhysicalDrive0``, ``\\\\?\\GLOBALROOT\\...``) never are.

Forms understood, each element separated by ``;``:

- ``srv*[store*...]*url`` and ``symsrv*symsrv.dll*[store*...]*url``: every
  part that is not a URL is a local store (an empty part, the debugger's
  default cache, names nothing here), the first of them the downstream
  cache of the URL;
- ``cache*[folder*...]``: cache folders, searched like stores, and the
  downstream cache of the ``srv`` elements after it that name none;
- anything else: a plain folder (store layout or flat files).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..winpath import PathKind, classify, refusal

_URL_PREFIXES = ("http://", "https://", "ftp://")
#: The setting (and flag) that lets kdlens contact a server; named in messages.
TRUST_SETTING = "kdlens.trustedSymbolServers (--trust-symbol-server on the command line)"


@dataclass(frozen=True, slots=True)
class RemoteStore:
    """A symbol server the user trusts, and the local stores its downloads go to."""

    url: str
    #: the element's local stores, in order; downloads go to the first
    caches: tuple[Path, ...] = ()


def _url_parts(url: str) -> tuple[str, str, str] | None:
    """``(scheme, host[:port], path)`` of an http(s) URL without credentials, else None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises for a malformed port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = 80 if scheme == "http" else 443
    netloc = host if port in (None, default) else f"{host}:{port}"
    return scheme, netloc, parts.path or "/"


def url_trusted(url: str, prefixes: Iterable[str]) -> bool:
    """True when ``url`` lies under one of the trusted ``prefixes``.

    Scheme and host must be equal (case aside, default ports folded), and the
    URL's path must continue the prefix's path at a ``/`` boundary, so
    ``http://host/sym`` trusts ``http://host/sym/x.pdb`` but neither
    ``http://host/symbols-evil`` nor ``http://host.evil``. A URL carrying
    credentials (``user:pass@``) is never trusted.
    """
    got = _url_parts(url)
    if got is None:
        return False
    for prefix in prefixes:
        want = _url_parts(prefix)
        if want is None or want[:2] != got[:2]:
            continue
        base, path = want[2].rstrip("/"), got[2]
        if path.rstrip("/") == base or path.startswith(base + "/"):
            return True
    return False


@dataclass(frozen=True, slots=True)
class SymbolPath:
    """The folders to search, in order, and what was left out and why."""

    folders: tuple[Path, ...] = ()
    #: URLs of symbol servers that are not contacted (not trusted)
    remote: tuple[str, ...] = ()
    #: one sentence per element that was refused (untrusted network folder ...)
    refused: tuple[str, ...] = ()
    #: the elements as given, for messages
    elements: tuple[str, ...] = field(default=(), compare=False)
    #: trusted symbol servers, in path order
    servers: tuple[RemoteStore, ...] = ()

    @property
    def remote_message(self) -> str | None:
        """The one message about skipped symbol servers, or None when there are none."""
        if not self.remote:
            return None
        urls = ", ".join(self.remote)
        return (
            f"remote symbol servers are not contacted ({urls}): add the URL to "
            f"{TRUST_SETTING} to download from it; only its local cache folders are searched"
        )


def split_elements(values: Iterable[str]) -> list[str]:
    """``;``-separated elements of every value, trimmed, empty ones dropped."""
    out: list[str] = []
    for value in values:
        for part in value.split(";"):
            part = part.strip().strip('"').strip()
            if part:
                out.append(part)
    return out


def _is_url(text: str) -> bool:
    return text.lower().startswith(_URL_PREFIXES)


def parse_symbol_path(
    values: Iterable[str],
    trusted_unc_hosts: Iterable[str] = (),
    base: Path | None = None,
    trusted_servers: Iterable[str] = (),
) -> SymbolPath:
    """Read ``values`` (each may hold several ``;``-separated elements).

    Relative folders are taken relative to ``base`` (the workspace or the
    current directory). ``${workspaceFolder}`` expands to ``base``. A URL
    under one of ``trusted_servers`` becomes a ``RemoteStore``.
    """
    trusted = frozenset(h.lower() for h in trusted_unc_hosts)
    prefixes = tuple(trusted_servers)
    elements = split_elements(values)
    folders: list[Path] = []
    remote: list[str] = []
    refused: list[str] = []
    servers: list[RemoteStore] = []
    default_cache: Path | None = None

    def add_folder(text: str) -> Path | None:
        text = text.strip().strip('"').strip()
        if not text:
            return None
        if base is not None:
            text = text.replace("${workspaceFolder}", str(base))
        expanded = os.path.expanduser(text)
        # judged as written and as expanded (a home folder may be on a share)
        why = refusal(text, trusted) or refusal(expanded, trusted)
        if why is not None:
            refused.append(f"symbol folder '{text}' is not searched: {why}")
            return None
        judged = classify(expanded)
        path = Path(judged.text)  # a local \\?\C:\sym is opened as C:\sym
        if base is not None and not path.is_absolute() and judged.kind is PathKind.LOCAL:
            path = base / path
        if path not in folders:
            folders.append(path)
        return path

    def add_url(url: str, caches: list[Path]) -> None:
        if not url_trusted(url, prefixes):
            if url not in remote:
                remote.append(url)
            return
        if not caches and default_cache is not None:
            caches = [default_cache]
        store = RemoteStore(url.rstrip("/"), tuple(caches))
        if all(s.url != store.url for s in servers):
            servers.append(store)

    for element in elements:
        parts = element.split("*")
        head = parts[0].strip().lower()
        if head in ("srv", "symsrv") and len(parts) > 1:
            rest = parts[1:]
            if head == "symsrv":
                rest = rest[1:]  # the symbol server DLL
            caches: list[Path] = []
            for part in rest:
                if _is_url(part.strip()):
                    add_url(part.strip(), caches)
                else:
                    folder = add_folder(part)
                    if folder is not None:
                        caches.append(folder)
        elif head == "cache" and len(parts) > 1:
            first = True
            for part in parts[1:]:
                folder = add_folder(part)
                if folder is not None and first:
                    default_cache, first = folder, False
        elif _is_url(element):
            add_url(element, [])
        else:
            add_folder(element)
    return SymbolPath(
        tuple(folders), tuple(remote), tuple(refused), tuple(elements), tuple(servers)
    )
