"""Downloading PDBs and images from the symbol servers the user trusts (the SymSrv protocol).

Who may be contacted is decided before anything here runs: a server is a
``RemoteStore`` only when its URL is under a prefix of
``kdlens.trustedSymbolServers`` (``symbolpath.parse_symbol_path``), and only
the user's settings and environment make up the symbol path, never a log.
This module adds the rules that hold while talking to such a server:

- **Layouts and spellings.** ``name/<KEY>/name`` first as the store spells
  it (upper-case key), then in lower case as SSQP servers do; for each, the
  file, its compressed copy (``name.pd_``: a CAB or ZIP, see ``cab``) and a
  ``file.ptr`` redirection. A server whose root has ``index2.txt`` is a
  two-tier store (``na/name/<KEY>/name``).
- **file.ptr.** ``PATH:`` names where the file is: a local path, or a share
  that is opened only when its host is in ``kdlens.trustedUncHosts``; an
  ``http(s)`` location only when trusted like a server. ``MSG:`` is the
  server's reason for not having it, shown to the user.
- **Redirects** are followed only to trusted prefixes; the authorization
  sent is always the one configured for the URL asked, never carried over.
- **Nothing the server sends is trusted.** Each download goes to a temporary
  file beside its final place, is unpacked when compressed, and must be a
  PDB with the GUID/age asked for (an image with the timestamp and size
  asked for) before it is renamed into the store. Sizes are bounded.
- **Time.** Every request has a timeout; the jobs of one analysis share a
  time budget; a job no analysis wants any more is cancelled.
- **Misses are remembered** (one hour by default, in memory and in the
  kdlens cache folder), so a log that names a module no server has does
  not ask again on every keystroke.

``Downloads`` runs the jobs on one dedicated thread and tells a listener
(the language server's progress and re-analysis glue) what happens;
``kdlens check`` waits for the jobs it asked for instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import urlsplit

from ..winpath import PathKind, classify, refusal
from ..workspace_io import open_regular_file
from .cab import ArchiveError, unpack
from .pdb import PdbError, PdbFile
from .pe import read_image
from .symbolpath import TRUST_SETTING, RemoteStore, url_trusted

#: Seconds one request may stay silent before it is abandoned.
REQUEST_TIMEOUT = 20.0
#: Seconds all the downloads one analysis asked for may take together.
DOWNLOAD_BUDGET = 300.0
#: How long a miss (or a refused or failed download) is remembered, in seconds.
MISS_TTL = 3600.0
#: The largest file downloaded (or unpacked); a PDB of a big driver is tens of MB.
MAX_DOWNLOAD_BYTES = 1 << 30
#: The largest ``file.ptr`` or ``index2.txt`` read.
_MAX_SMALL = 4096
_CHUNK = 1 << 16
_REPORT_EVERY = 0.25
_CANCELLED = "cancelled: no analysis needs it any more"


class Outcome(str, Enum):
    DOWNLOADED = "downloaded"
    MISSING = "missing"  # every server answered "not found"
    REFUSED = "refused"  # the server's bytes were not what was asked for, or a rule forbade
    FAILED = "failed"  # HTTP errors, timeouts, connection problems
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Wanted:
    """One file to fetch: its store name, key and kind."""

    name: str  # ``mydriver.pdb`` / ``mydriver.sys``
    key: str  # GUID+age (PDB) or TIMESTAMP+SIZE (image), upper-case hex
    image: bool = False

    @property
    def ident(self) -> tuple[str, str]:
        return self.name.lower(), self.key.upper()


@dataclass(frozen=True, slots=True)
class Result:
    """What became of one wanted file."""

    outcome: Outcome
    message: str
    path: Path | None = None
    server: str | None = None
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class DownloadEvent:
    """What the listener is told. ``kind``: begin, report, end, idle."""

    kind: str
    token: str = ""
    message: str = ""
    percentage: int | None = None
    #: for ``end``: the result; for ``idle``: whether any job finished since the last idle
    result: Result | None = None
    changed: bool = False


Listener = Callable[[DownloadEvent], None]


class _Stop(Exception):
    """Stop asking this server for this file (the message says why)."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class _NotThere(Exception):
    """404 or 410: try the next spelling."""


def size_text(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} KB"
    return f"{n} bytes"


def compressed_name(name: str) -> str:
    return name[:-1] + "_" if name else name


# --------------------------------------------------------------------------- HTTP


def auth_header(
    url: str, auth: Sequence[tuple[str, str]], environ: Mapping[str, str]
) -> str | None:
    """The Authorization value for ``url``: the variable configured for its prefix, if set.

    A bare token (an Azure Artifacts personal access token) is sent as Basic
    authorization with an empty user name; a value that already names its
    scheme (``Basic ...``, ``Bearer ...``) is sent as it is.
    """
    for prefix, variable in auth:
        if url_trusted(url, [prefix]):
            token = environ.get(variable, "").strip()
            if not token:
                return None
            if token.split(" ", 1)[0].lower() in ("basic", "bearer"):
                return token
            return "Basic " + base64.b64encode(f":{token}".encode()).decode("ascii")
    return None


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a trusted prefix, with that URL's own authorization."""

    def __init__(
        self, trusted: Sequence[str], auth: Sequence[tuple[str, str]], env: Mapping[str, str]
    ) -> None:
        super().__init__()
        self.trusted = list(trusted)
        self.auth = list(auth)
        self.env = env

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not url_trusted(newurl, self.trusted):
            raise _Stop(
                Outcome.REFUSED,
                f"{req.full_url} redirects to {newurl}, which is not under a trusted prefix "
                f"({TRUST_SETTING}); not followed",
            )
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.remove_header("Authorization")
            value = auth_header(newurl, self.auth, self.env)
            if value:
                new.add_unredirected_header("Authorization", value)
        return new


@dataclass(slots=True)
class Options:
    """How to talk to servers (from the settings and the environment)."""

    trusted: tuple[str, ...] = ()
    auth: tuple[tuple[str, str], ...] = ()
    timeout: float = REQUEST_TIMEOUT
    budget: float = DOWNLOAD_BUDGET
    miss_ttl: float = MISS_TTL
    max_bytes: int = MAX_DOWNLOAD_BYTES
    trusted_unc_hosts: tuple[str, ...] = ()
    #: the proxy the user configured (``kdlens.httpProxy``); empty: the environment's
    proxy: str = ""
    #: the environment (proxy variables, authorization variables); the process's by default
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)


class _Session:
    """The requests of one job: an opener, its deadline and its cancel flag."""

    def __init__(
        self,
        options: Options,
        deadline: float,
        cancel: threading.Event,
        progress: Callable[[str, int, int | None], None],
    ) -> None:
        self.o = options
        self.deadline = deadline
        self.cancel = cancel
        self.progress = progress
        env = options.environ
        proxies = {
            scheme: env.get(f"{scheme}_proxy") or env.get(f"{scheme.upper()}_PROXY") or ""
            for scheme in ("http", "https")
        }
        proxies = {k: v for k, v in proxies.items() if v}
        if options.proxy:  # the setting wins over the environment
            proxies = {"http": options.proxy, "https": options.proxy}
        no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
        self.no_proxy = [h.strip().lower().lstrip(".") for h in no_proxy.split(",") if h.strip()]
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(proxies),
            _Redirects(options.trusted, options.auth, env),
        )
        self.direct = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _Redirects(options.trusted, options.auth, env)
        )

    def _opener_for(self, url: str) -> urllib.request.OpenerDirector:
        host = (urlsplit(url).hostname or "").lower()
        if "*" in self.no_proxy or any(host == h or host.endswith("." + h) for h in self.no_proxy):
            return self.direct
        return self.opener

    def _check_time(self) -> None:
        if self.cancel.is_set():
            raise _Stop(Outcome.CANCELLED, _CANCELLED)
        if time.monotonic() >= self.deadline:
            raise _Stop(Outcome.FAILED, f"the {self.o.budget:g} s budget for downloads ran out")

    def open(self, url: str) -> Any:
        """The response to GET ``url``; ``_NotThere`` for 404/410, ``_Stop`` for other failures."""
        try:
            return self._request(url)
        except _Stop as stop:
            if stop.outcome is Outcome.FAILED:
                self._check_time()  # cancelled or out of time meanwhile: say that instead
            raise

    def _request(self, url: str) -> Any:
        self._check_time()
        if not url_trusted(url, self.o.trusted):  # every URL is judged, not only the first
            raise _Stop(Outcome.REFUSED, f"{url} is not under a trusted prefix ({TRUST_SETTING})")
        req = urllib.request.Request(url, headers={"User-Agent": "kdlens-symsrv"})
        value = auth_header(url, self.o.auth, self.o.environ)
        if value:
            req.add_unredirected_header("Authorization", value)
        timeout = max(0.1, min(self.o.timeout, self.deadline - time.monotonic()))
        try:
            return self._opener_for(url).open(req, timeout=timeout)
        except _Stop:
            raise
        except urllib.error.HTTPError as exc:
            with contextlib.suppress(Exception):
                exc.close()
            if exc.code in (404, 410):
                raise _NotThere(url) from None
            hint = ""
            if exc.code in (401, 403):
                hint = " (the server wants credentials: see kdlens.symbolServerAuth)"
            raise _Stop(Outcome.FAILED, f"{url}: HTTP {exc.code} {exc.reason}{hint}") from None
        except TimeoutError:
            raise _Stop(Outcome.FAILED, f"{url}: no answer within {self.o.timeout:g} s") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise _Stop(
                    Outcome.FAILED, f"{url}: no answer within {self.o.timeout:g} s"
                ) from None
            raise _Stop(Outcome.FAILED, f"{url}: {reason}") from None
        except (OSError, ValueError) as exc:
            raise _Stop(Outcome.FAILED, f"{url}: {exc}") from None

    def read_small(self, url: str) -> str:
        with self.open(url) as resp:
            try:
                data = resp.read(_MAX_SMALL + 1)
            except (OSError, ValueError) as exc:
                raise _Stop(Outcome.FAILED, f"{url}: {exc}") from None
        text: str = bytes(data[:_MAX_SMALL]).decode("utf-8", "replace")
        return text

    def download(self, url: str, out: BinaryIO, label: str) -> int:
        """Stream ``url`` into ``out``; the number of bytes written."""
        with self.open(url) as resp:
            total: int | None = None
            length = resp.headers.get("Content-Length")
            if length and length.strip().isdigit():
                total = int(length.strip())
                if total > self.o.max_bytes:
                    raise _Stop(
                        Outcome.REFUSED, f"{url} is {size_text(total)}, more than kdlens accepts"
                    )
            done = 0
            last = 0.0
            self.progress(label, 0, total)
            while True:
                self._check_time()
                try:
                    chunk = resp.read(_CHUNK)
                except TimeoutError:
                    self._check_time()
                    raise _Stop(
                        Outcome.FAILED, f"{url}: the transfer stalled for {self.o.timeout:g} s"
                    ) from None
                except (OSError, ValueError) as exc:
                    raise _Stop(Outcome.FAILED, f"{url}: {exc}") from None
                if not chunk:
                    break
                done += len(chunk)
                if done > self.o.max_bytes:
                    raise _Stop(Outcome.REFUSED, f"{url} is larger than kdlens accepts")
                out.write(chunk)
                now = time.monotonic()
                if now - last >= _REPORT_EVERY:
                    last = now
                    self.progress(label, done, total)
            if total is not None and done != total:
                raise _Stop(
                    Outcome.FAILED, f"{url}: the transfer ended after {done} of {total} bytes"
                )
            self.progress(label, done, total)
            return done


# --------------------------------------------------------------------------- one file from one server


def _validate(path: Path, want: Wanted) -> str | None:
    """None when the file at ``path`` is what was asked for, else why not."""
    if want.image:
        try:
            info = read_image(path)
        except PdbError as exc:
            return f"it is not a usable image ({exc.reason})"
        key = info.symbol_key
        if key.upper() != want.key.upper():
            return f"it is the image with timestamp and size {key}, not {want.key}"
        return None
    try:
        with PdbFile.open(path) as pdb:
            key = pdb.symbol_key.upper()
    except PdbError as exc:
        return f"it is not a PDB ({exc.reason})"
    if key != want.key.upper():
        return (
            f"it is the PDB with GUID {_guid(key)} age {int(key[32:] or '0', 16)}, "
            f"not GUID {_guid(want.key)} age {int(want.key[32:] or '0', 16)}"
        )
    return None


def _guid(key: str) -> str:
    k = key.upper()
    return f"{{{k[0:8]}-{k[8:12]}-{k[12:16]}-{k[16:20]}-{k[20:32]}}}"


class _Fetch:
    """Fetches one wanted file from one server into one store folder."""

    def __init__(self, session: _Session, server: RemoteStore, want: Wanted, store: Path) -> None:
        self.s = session
        self.server = server
        self.want = want
        self.store = store

    def _key(self) -> str:
        # a PDB's key is upper-case hex; an image's is ``%08X%x`` (its size in lower case)
        return self.want.key if self.want.image else self.want.key.upper()

    def _target(self) -> Path:
        return self.store / self.want.name / self._key() / self.want.name

    def run(self, two_tier: bool) -> Path:
        """The stored file; ``_NotThere`` when the server has none, ``_Stop`` otherwise."""
        name, key = self.want.name, self._key()
        spellings = [(name, key)]
        if (name.lower(), key.lower()) != (name, key):
            spellings.append((name.lower(), key.lower()))
        for n, k in spellings:
            tier = f"{n[:2].lower()}/" if two_tier else ""
            base = f"{self.server.url}/{tier}{n}/{k}/"
            for path in (n, compressed_name(n)):
                try:
                    return self._fetch_url(base + path, packed=path != n)
                except _NotThere:
                    continue
            try:
                pointer = self.s.read_small(base + "file.ptr")
            except _NotThere:
                continue
            return self._follow(pointer, base + "file.ptr")
        raise _NotThere(self.server.url)

    @staticmethod
    def _staging(target: Path) -> tuple[int, Path]:
        """A temporary file beside ``target``, renamed over it once its bytes are verified."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".kdlens-", suffix=".part", dir=target.parent)
        except OSError as exc:
            raise _Stop(
                Outcome.FAILED, f"cannot write to {target.parent}: {exc.strerror or exc}"
            ) from None
        return fd, Path(tmp_name)

    def _fetch_url(self, url: str, packed: bool) -> Path:
        target = self._target()
        fd, tmp = self._staging(target)
        unpacked: Path | None = None
        try:
            with os.fdopen(fd, "w+b") as f:
                label = f"{self.want.name}" + (" (compressed)" if packed else "")
                size = self.s.download(url, f, label)
                if packed:
                    unpacked = self._unpack(f, size, url, target)
            final = unpacked or tmp
            why = _validate(final, self.want)
            if why is not None:
                raise _Stop(
                    Outcome.REFUSED,
                    f"{url} was rejected: {why}; it was not stored",
                )
            os.replace(final, target)
            return target
        finally:
            for leftover in (tmp, unpacked):
                if leftover is not None:
                    with contextlib.suppress(OSError):
                        leftover.unlink()

    def _unpack(self, packed: BinaryIO, size: int, url: str, target: Path) -> Path:
        fd, name = tempfile.mkstemp(prefix=".kdlens-", suffix=".unpacked", dir=target.parent)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                unpack(packed, size, self.want.name, out, self.s.o.max_bytes, url)
        except ArchiveError as exc:
            with contextlib.suppress(OSError):
                path.unlink()
            raise _Stop(Outcome.REFUSED, f"{exc}; it was not stored") from None
        except OSError as exc:
            with contextlib.suppress(OSError):
                path.unlink()
            raise _Stop(Outcome.FAILED, f"unpacking {url}: {exc.strerror or exc}") from None
        return path

    def _follow(self, pointer: str, where: str) -> Path:
        """A ``file.ptr``: ``PATH:`` to copy from, ``MSG:`` to show."""
        text = pointer.strip().splitlines()[0].strip() if pointer.strip() else ""
        head, _, value = text.partition(":")
        value = value.strip()
        if head.upper() == "MSG":
            raise _Stop(
                Outcome.MISSING, f"{where}: the server says: {value or '(no reason given)'}"
            )
        if head.upper() != "PATH" or not value:
            raise _Stop(Outcome.REFUSED, f"{where} is not a file pointer kdlens understands")
        if value.lower().startswith(("http://", "https://")):
            if not url_trusted(value, self.s.o.trusted):
                raise _Stop(
                    Outcome.REFUSED,
                    f"{where} points to {value}, which is not under a trusted prefix "
                    f"({TRUST_SETTING}); not followed",
                )
            try:
                return self._fetch_url(value, packed=value.endswith("_"))
            except _NotThere:
                raise _Stop(
                    Outcome.MISSING, f"{where} points to {value}, which is not there"
                ) from None
        judged = classify(value)
        why = refusal(value, self.s.o.trusted_unc_hosts)
        if why is not None or judged.kind not in (PathKind.LOCAL, PathKind.UNC):
            reason = why or "only local and trusted network paths are opened"
            raise _Stop(Outcome.REFUSED, f"{where} points to {value}: {reason}")
        return self._copy_local(Path(judged.text), where)

    def _copy_local(self, source: Path, where: str) -> Path:
        target = self._target()
        fd, tmp = self._staging(target)
        unpacked: Path | None = None
        try:
            with os.fdopen(fd, "w+b") as out:
                try:
                    with open_regular_file(source, self.s.o.max_bytes) as src:
                        size = 0
                        while True:
                            self.s._check_time()
                            chunk = src.read(_CHUNK)
                            if not chunk:
                                break
                            size += len(chunk)
                            out.write(chunk)
                except OSError as exc:
                    raise _Stop(
                        Outcome.FAILED, f"{where} points to {source}, which cannot be read: {exc}"
                    ) from None
                if source.name.endswith("_"):
                    unpacked = self._unpack(out, size, str(source), target)
            final = unpacked or tmp
            why = _validate(final, self.want)
            if why is not None:
                raise _Stop(Outcome.REFUSED, f"{source} (from {where}) was rejected: {why}")
            os.replace(final, target)
            return target
        finally:
            for leftover in (tmp, unpacked):
                if leftover is not None:
                    with contextlib.suppress(OSError):
                        leftover.unlink()


# --------------------------------------------------------------------------- misses


class MissCache:
    """Files no server had (or that failed), remembered for ``ttl`` seconds.

    Kept in memory and, when a folder is given, in ``misses.json`` there
    (written atomically), so that ``kdlens check`` run twice does not ask
    twice either. Times on disk are wall-clock; in memory, monotonic.
    """

    def __init__(self, folder: Path | None, ttl: float) -> None:
        self.file = folder / "misses.json" if folder is not None else None
        self.ttl = ttl
        self._lock = threading.Lock()
        self._memory: dict[str, tuple[float, str, str]] = {}  # key -> (wall time, outcome, message)
        self._loaded = False

    @staticmethod
    def key(want: Wanted, servers: Iterable[RemoteStore]) -> str:
        return "|".join([want.name.lower(), want.key.upper(), *(s.url for s in servers)])

    def _load(self) -> None:
        if self._loaded or self.file is None:
            self._loaded = True
            return
        self._loaded = True
        try:
            raw = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(raw, dict):
            return
        for k, v in raw.items():
            if (
                isinstance(k, str)
                and isinstance(v, list)
                and len(v) == 3
                and isinstance(v[0], (int, float))
                and all(isinstance(x, str) for x in v[1:])
            ):
                self._memory.setdefault(k, (float(v[0]), v[1], v[2]))

    def get(self, key: str) -> Result | None:
        with self._lock:
            self._load()
            hit = self._memory.get(key)
        if hit is None:
            return None
        when, outcome, message = hit
        if time.time() - when >= self.ttl:
            return None
        try:
            kind = Outcome(outcome)
        except ValueError:
            return None
        return Result(kind, message, at=when)

    def put(self, key: str, result: Result) -> None:
        with self._lock:
            self._load()
            now = time.time()
            self._memory[key] = (now, result.outcome.value, result.message)
            self._memory = {k: v for k, v in self._memory.items() if now - v[0] < self.ttl}
            data = {k: list(v) for k, v in self._memory.items()}
        if self.file is None:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.file.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, self.file)
        except OSError:
            return

    def forget(self, key: str) -> None:
        with self._lock:
            self._memory.pop(key, None)


# --------------------------------------------------------------------------- the job queue


@dataclass(slots=True)
class _Job:
    want: Wanted
    servers: tuple[RemoteStore, ...]
    store_for: Callable[[RemoteStore], Path]
    deadline: float
    token: str
    owners: set[str] = field(default_factory=set)
    cancel: threading.Event = field(default_factory=threading.Event)
    result: Result | None = None
    done: threading.Event = field(default_factory=threading.Event)
    running: bool = False


class Downloads:
    """The download jobs of one symbol source, run one at a time on a dedicated thread.

    ``request`` is called by an analysis (any thread; never the event loop's
    own work) with the files it could not find locally; it returns at once
    with what is known: a result, or None while the job is pending.
    ``release`` drops an owner (a document that closed or changed): jobs no
    owner wants any more are cancelled. The listener hears ``begin``,
    ``report`` and ``end`` per job and ``idle`` when the queue empties.
    """

    def __init__(
        self, options: Options, misses: MissCache, listener: Listener | None = None
    ) -> None:
        self.options = options
        self.misses = misses
        self.listener = listener
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._jobs: dict[tuple[str, str], _Job] = {}
        self._queue: list[_Job] = []
        self._thread: threading.Thread | None = None
        self._finished_since_idle = False
        self._counter = 0
        self._two_tier: dict[str, bool] = {}
        #: every URL asked for, in order (for tests and the log)
        self.requests: list[str] = []

    # -- asked by analyses

    def request(
        self,
        owner: str | None,
        wants: Sequence[tuple[Wanted, tuple[RemoteStore, ...], Callable[[RemoteStore], Path]]],
    ) -> dict[tuple[str, str], Result | None]:
        """Results (or None: pending) for each wanted file; queues the ones not asked yet."""
        now = time.monotonic()
        deadline = now + self.options.budget
        out: dict[tuple[str, str], Result | None] = {}
        wanted_ids: set[tuple[str, str]] = set()
        start = False
        with self._lock:
            for want, servers, store_for in wants:
                ident = want.ident
                wanted_ids.add(ident)
                miss = self.misses.get(MissCache.key(want, servers))
                if miss is not None:
                    out[ident] = miss
                    continue
                job = self._jobs.get(ident)
                if job is not None and job.result is not None:
                    if job.result.outcome is Outcome.DOWNLOADED and (
                        job.result.path is not None and job.result.path.is_file()
                    ):
                        out[ident] = job.result
                        continue
                    if (
                        job.result.outcome is not Outcome.CANCELLED
                        and job.result.outcome is not Outcome.DOWNLOADED
                    ):
                        out[ident] = job.result
                        continue
                    job = None  # cancelled earlier, or the file went away: ask again
                if job is None:
                    self._counter += 1
                    job = _Job(
                        want,
                        servers,
                        store_for,
                        deadline,
                        f"kdlens-symbols-{os.getpid()}-{self._counter}",
                    )
                    self._jobs[ident] = job
                    self._queue.append(job)
                    start = True
                if owner is not None:
                    job.owners.add(owner)
                out[ident] = None
            cancelled: list[_Job] = []
            if owner is not None:
                cancelled = self._drop_owner(owner, keep=wanted_ids)
            if start:
                self._ensure_thread()
                self._wake.notify_all()
        self._tell_cancelled(cancelled)
        return out

    def release(self, owner: str) -> None:
        """``owner`` needs nothing any more (its document closed)."""
        with self._lock:
            cancelled = self._drop_owner(owner, keep=set())
        self._tell_cancelled(cancelled)

    def _drop_owner(self, owner: str, keep: set[tuple[str, str]]) -> list[_Job]:
        """Drop ``owner`` from its jobs but ``keep`` (lock held); the queued jobs cancelled."""
        cancelled: list[_Job] = []
        for ident, job in list(self._jobs.items()):
            if owner in job.owners and ident not in keep:
                job.owners.discard(owner)
                if not job.owners and job.result is None:
                    job.cancel.set()  # a running job stops at its next step
                    if job in self._queue:
                        self._queue.remove(job)
                        self._finish(job, Result(Outcome.CANCELLED, _CANCELLED))
                        cancelled.append(job)
        return cancelled

    def _tell_cancelled(self, jobs: list[_Job]) -> None:
        for job in jobs:
            self._emit(DownloadEvent("end", job.token, _CANCELLED, result=job.result))

    def wait(self, idents: Iterable[tuple[str, str]], deadline: float) -> None:
        """Block (not on an event loop) until those jobs are done or ``deadline`` passes."""
        for ident in idents:
            with self._lock:
                job = self._jobs.get(ident)
            if job is None:
                continue
            left = deadline - time.monotonic()
            if left <= 0 or not job.done.wait(left):
                return

    def cancel_all(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                if job.result is None:
                    job.cancel.set()
            self._queue.clear()

    # -- the thread

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="kdlens-symsrv", daemon=True)
            self._thread.start()

    def _emit(self, event: DownloadEvent) -> None:
        listener = self.listener
        if listener is None:
            return
        with contextlib.suppress(Exception):  # a listener's failure must not stop downloads
            listener(event)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    changed = self._finished_since_idle
                    self._finished_since_idle = False
                    self._thread = None
                    idle = True
                else:
                    job = self._queue.pop(0)
                    job.running = True
                    idle = False
            if idle:
                self._emit(DownloadEvent("idle", changed=changed))
                return
            self._emit(DownloadEvent("begin", job.token, f"looking for {job.want.name}"))
            try:
                result = self._do(job)
            except Exception as exc:  # a bug here must not leave the job pending forever
                result = Result(Outcome.FAILED, f"internal error while downloading: {exc!r}")
            with self._lock:
                self._finish(job, result)
            self._emit(DownloadEvent("end", job.token, result.message, result=result))

    def _finish(self, job: _Job, result: Result) -> None:
        """Record ``result`` (lock held)."""
        job.result = result
        job.running = False
        if result.outcome in (Outcome.MISSING, Outcome.REFUSED, Outcome.FAILED):
            self.misses.put(MissCache.key(job.want, job.servers), result)
        if result.outcome is not Outcome.CANCELLED:
            self._finished_since_idle = True
        job.done.set()

    def _do(self, job: _Job) -> Result:
        if job.cancel.is_set():
            return Result(Outcome.CANCELLED, _CANCELLED)

        def progress(label: str, done: int, total: int | None) -> None:
            pct = int(done * 100 / total) if total else None
            shown = size_text(total) if total else size_text(done)
            self._emit(DownloadEvent("report", job.token, f"downloading {label} {shown}", pct))

        reasons: list[str] = []
        worst = Outcome.MISSING
        for server in job.servers:
            session = _Session(self.options, job.deadline, job.cancel, progress)
            session.open = self._recording(session.open)  # type: ignore[method-assign,assignment]
            try:
                two_tier = self._is_two_tier(session, server)
                path = _Fetch(session, server, job.want, job.store_for(server)).run(two_tier)
            except _NotThere:
                reasons.append(f"{server.url}: not found")
                continue
            except _Stop as stop:
                if stop.outcome is Outcome.CANCELLED:
                    return Result(Outcome.CANCELLED, stop.message, server=server.url)
                if stop.outcome is Outcome.REFUSED or worst is Outcome.MISSING:
                    worst = stop.outcome
                reasons.append(stop.message)
                continue
            return Result(
                Outcome.DOWNLOADED,
                f"downloaded {job.want.name} from {server.url} to {path}",
                path,
                server.url,
            )
        return Result(worst, "; ".join(reasons) or "no trusted server to ask")

    def _recording(self, fn: Callable[[str], Any]) -> Callable[[str], Any]:
        def open_and_record(url: str) -> Any:
            with self._lock:
                self.requests.append(url)
            return fn(url)

        return open_and_record

    def _is_two_tier(self, session: _Session, server: RemoteStore) -> bool:
        known = self._two_tier.get(server.url)
        if known is not None:
            return known
        try:
            session.read_small(f"{server.url}/index2.txt")
            found = True
        except _NotThere:
            found = False
        self._two_tier[server.url] = found
        return found
