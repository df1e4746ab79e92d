"""Reading LSP base-protocol frames from a byte stream, without trusting the stream.

pygls' own loop (``pygls.io_.run_async``) believes every ``Content-Length`` it
reads: it hands the number to ``read(n)`` (so one header can ask for 8 EiB and
end the process in ``OverflowError`` or ``MemoryError``), and after a header it
does not understand it waits for a blank line that may never come, so the
server stays alive but stops answering. This module replaces that loop.

``FrameDecoder`` is a push parser: bytes go in as they arrive, decoded JSON
values and ``Problem`` reports come out. It never allocates more than what has
actually been received, caps a message at ``max_message_bytes``, and after
anything malformed it resynchronises on the next ``Content-Length:`` in the
stream (even one found inside the bytes of the broken frame, which is where a
frame whose length was overstated has put its successor).

``stdin_chunks`` and ``stream_chunks`` adapt standard input and an asyncio
socket stream to the one function ``pump`` needs: "give me the next bytes".
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

log = logging.getLogger("kdlens.transport")

#: Default cap on one message body.
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024
#: Environment variable that overrides the default cap (a byte count).
MAX_MESSAGE_BYTES_ENV = "KDLENS_MAX_MESSAGE_BYTES"
#: A header block (all lines up to the blank one) longer than this is garbage.
MAX_HEADER_BYTES = 64 * 1024
#: How much of a refused body is looked at to find the request id to answer.
PEEK_BYTES = 64 * 1024
#: Read size for one chunk of input.
CHUNK_BYTES = 64 * 1024

# JSON-RPC error codes used for transport-level answers.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600

_MARKER = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
#: Bytes kept at the end of the buffer while scanning, so a marker split
#: between two chunks is still found.
_MARKER_TAIL = 32
_DIGITS = re.compile(rb"[0-9]+")
#: After a body at least this big, the buffer is trimmed before the message is handled.
_RELEASE_BYTES = 1024 * 1024


def max_message_bytes(value: str | None = None) -> int:
    """The message cap: ``value`` (the CLI option), else the environment variable, else the default.

    An explicit value that is not a positive whole number of bytes raises
    ``ValueError`` (a typo on the command line is reported, not ignored); a
    bad environment value is logged and the default is used, so a stray
    variable cannot keep an editor's server from starting.
    """
    if value is not None:
        return _parse_limit(value)
    raw = os.environ.get(MAX_MESSAGE_BYTES_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_MESSAGE_BYTES
    try:
        return _parse_limit(raw)
    except ValueError as exc:
        log.warning("%s: %s; using %d", MAX_MESSAGE_BYTES_ENV, exc, DEFAULT_MAX_MESSAGE_BYTES)
        return DEFAULT_MAX_MESSAGE_BYTES


def _parse_limit(raw: str) -> int:
    text = raw.strip().replace("_", "")
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise ValueError(f"the message size limit must be a positive number of bytes, got {raw!r}")
    return int(text)


@dataclass(frozen=True)
class Message:
    """One decoded JSON value (object, array or scalar) from a well-formed frame."""

    payload: Any


@dataclass(frozen=True)
class Problem:
    """Something in the stream that could not be delivered as a message.

    ``reply`` says whether a JSON-RPC error response should go back: with
    ``request_id`` when the id of a request could be recovered from the bytes,
    with a null id (as JSON-RPC prescribes for unreadable messages) otherwise.
    Header-level damage has no message to answer and is only logged.
    """

    text: str
    code: int = INVALID_REQUEST
    reply: bool = False
    request_id: int | str | None = None


Event = Message | Problem


@dataclass
class Envelope:
    """What the first bytes of a JSON-RPC object say about it (see ``peek_envelope``)."""

    request_id: int | str | None = None
    has_id: bool = False
    method: str | None = None
    is_response: bool = False
    #: The top-level object was read to its end (or is not an object at all).
    complete: bool = False

    @property
    def is_request(self) -> bool:
        return self.has_id and not self.is_response


_WS = b" \t\r\n"
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(rb"[^,}\]\s]+")


def _skip_ws(data: bytes, i: int) -> int:
    while i < len(data) and data[i] in _WS:
        i += 1
    return i


def _skip_value(data: bytes, i: int) -> int:
    """End of the JSON value starting at ``i``; -1 when the data stops inside it."""
    depth = 0
    n = len(data)
    while i < n:
        c = data[i]
        if c == 0x22:  # "
            m = _STRING.match(data, i)
            if m is None:
                return -1
            i = m.end()
            if depth == 0:
                return i
            continue
        if c in b"{[":
            depth += 1
        elif c in b"}]":
            depth -= 1
            if depth < 0:
                return i  # the end of the enclosing object: an empty value, let the caller judge
            if depth == 0:
                return i + 1
        elif depth == 0 and c in b",}" + _WS:
            return i
        i += 1
    return -1


def peek_envelope(data: bytes) -> Envelope:
    """Read the top-level ``id`` and ``method`` of a JSON object from its first bytes.

    Used where the whole body is not (or cannot be) parsed: a body over the
    size cap, or one cut short by a wrong ``Content-Length``. Knowing the id
    lets the server answer the request with an error instead of leaving the
    client waiting. Nested keys are skipped, strings are read with their
    escapes, so ``"id"`` inside a document's text is never mistaken for the
    message's own.
    """
    env = Envelope()
    i = _skip_ws(data, 0)
    if i >= len(data):
        return env
    if data[i] != 0x7B:  # {
        env.complete = True
        return env
    i += 1
    while True:
        i = _skip_ws(data, i)
        if i >= len(data):
            return env
        if data[i] == 0x7D:  # }
            env.complete = True
            return env
        m = _STRING.match(data, i)
        if m is None:
            if i < len(data) and data[i] != 0x22:
                env.complete = True  # not JSON: nothing more can be learnt
            return env
        try:
            key = json.loads(m.group())
        except ValueError:
            env.complete = True
            return env
        i = _skip_ws(data, m.end())
        if i >= len(data):
            return env
        if data[i] != 0x3A:  # :
            env.complete = True
            return env
        i = _skip_ws(data, i + 1)
        end = _skip_value(data, i)
        if end < 0:
            return env
        raw = data[i:end]
        if key == "id":
            env.has_id = True
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                env.request_id = value
        elif key == "method":
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            env.method = value if isinstance(value, str) else None
        elif key in ("result", "error"):
            env.is_response = True
        i = _skip_ws(data, end)
        if i >= len(data):
            return env
        if data[i] == 0x2C:  # ,
            i += 1
        elif data[i] == 0x7D:
            env.complete = True
            return env
        else:
            env.complete = True
            return env


class FrameDecoder:
    """Push parser for ``Content-Length``-framed JSON messages.

    ``feed`` takes whatever bytes arrived and yields the events they complete;
    ``close`` is called at the end of the stream. The buffer holds at most one
    message body (up to the cap) plus one read chunk: a body is gathered as it
    arrives and a refused one is scanned past, never stored.

    After a bad body the scan for the next header starts just after the start
    of the bad frame's header, not after its body: garbage without a line end
    glued to the front of a good header (``junkContent-Length: 52``) then
    costs only the garbage, and a length that overstated the body finds the
    next frame inside it. When the bad frame's own header block holds another
    ``Content-Length:`` (the glued case), that header is the one that will be
    read next, so the "bad" body was a misreading of its frame and gets no
    error reply of its own (its id would otherwise be answered twice).
    """

    _HEADER, _BODY, _PEEK, _SCAN = range(4)

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self._buf = bytearray()
        self._pos = 0  # start of unconsumed data in _buf (the header start while reading a body)
        self._state = self._HEADER
        self._length = 0
        self._header_start = 0
        self._body_start = 0
        self._declared = ""  # the length as written, for messages

    # -- public

    def feed(self, data: bytes) -> Iterator[Event]:
        if data:
            self._buf += data
        yield from self._run(eof=False)
        self._compact()

    def close(self) -> Iterator[Event]:
        """The stream ended: report what was left half-read, delivering any whole frame in it."""
        yield from self._run(eof=True)
        self._buf = bytearray()
        self._pos = 0
        self._state = self._HEADER

    @property
    def buffered(self) -> int:
        """Bytes held (for tests of the memory bound)."""
        return len(self._buf) - self._pos

    # -- machinery

    def _compact(self) -> None:
        if self._pos:
            shift = self._pos
            # A fresh copy of the rest, not ``del buf[:n]``: deleting from the
            # front keeps the old allocation, which for a large body is a lot.
            self._buf = self._buf[shift:]
            self._pos = 0
            self._header_start -= shift
            self._body_start -= shift

    def _resync(self, start: int) -> None:
        """Drop everything before ``start`` and look for the next header from there."""
        self._pos = max(self._pos, min(start, len(self._buf)))
        self._state = self._SCAN

    def _bad_body(self, problem: Problem) -> Problem:
        """Report a body that could not be used and look for the next header."""
        glued = _MARKER.search(self._buf, self._header_start + 1, self._body_start)
        self._resync(self._header_start + 1)
        if glued is None:
            return problem
        return Problem(problem.text + "; a header inside its own header is read instead")

    def _body_problem(self, text: str, code: int, reply_without_id: bool) -> Problem:
        env = peek_envelope(bytes(self._buf[self._body_start : self._body_start + PEEK_BYTES]))
        return Problem(
            text,
            code=code,
            reply=env.is_request or (reply_without_id and not env.has_id),
            request_id=env.request_id,
        )

    def _run(self, eof: bool) -> Iterator[Event]:
        while True:
            if self._state == self._SCAN:
                m = _MARKER.search(self._buf, self._pos)
                if m is None:
                    if eof:
                        self._pos = len(self._buf)
                        return
                    self._pos = max(self._pos, len(self._buf) - _MARKER_TAIL)
                    return
                self._pos = m.start()
                self._state = self._HEADER
            if self._state == self._HEADER:
                outcome = self._header(eof)
                if outcome is None:
                    return
                yield from outcome
                continue
            have = len(self._buf) - self._body_start
            if self._state == self._PEEK:
                env = peek_envelope(
                    bytes(self._buf[self._body_start : self._body_start + PEEK_BYTES])
                )
                decided = env.complete or (env.is_request and env.method) or have >= PEEK_BYTES
                if not (decided or eof):
                    return
                yield self._bad_body(self._refusal(env))
                continue
            # _BODY
            if have < self._length:
                if not eof:
                    return
                problem = self._body_problem(
                    f"the input ended {have} bytes into a message of {self._length} bytes",
                    PARSE_ERROR,
                    reply_without_id=False,
                )
                yield self._bad_body(problem)
                continue
            end = self._body_start + self._length
            with memoryview(self._buf) as view:
                # Decoding straight from the buffer avoids a second copy of a large body.
                text = str(view[self._body_start : end], "utf-8", "replace")
            try:
                payload = json.loads(text)
            except (ValueError, RecursionError) as exc:
                del text
                problem = self._body_problem(
                    f"a message body of {self._length} bytes is not valid JSON ({_short(exc)})",
                    PARSE_ERROR,
                    reply_without_id=True,
                )
                yield self._bad_body(problem)
                continue
            del text
            self._pos = end
            self._state = self._HEADER
            if end > _RELEASE_BYTES:
                self._compact()  # let a large body's buffer go before the message is handled
            yield Message(payload)

    def _header(self, eof: bool) -> list[Event] | None:
        """Parse the header block at ``_pos``; None when more bytes are needed."""
        buf = self._buf
        start = self._pos
        i = start
        lengths: list[bytes] = []
        seen_line = False
        garbage = 0
        while True:
            nl = buf.find(b"\n", i)
            if nl < 0:
                if len(buf) - start > MAX_HEADER_BYTES:
                    return self._bad_header(
                        start, f"a header longer than {MAX_HEADER_BYTES} bytes was skipped"
                    )
                if eof:
                    rest = bytes(buf[start:]).strip()
                    self._pos = len(buf)
                    if rest:
                        return [Problem("the input ended inside a message header")]
                    return None
                return None
            line = bytes(buf[i:nl]).rstrip(b"\r")
            i = nl + 1
            if not line.strip():
                if not seen_line:
                    # Blank lines between frames are harmless: step over them.
                    start = self._pos = i
                    continue
                break
            seen_line = True
            name, colon, value = line.partition(b":")
            if not colon:
                garbage += 1
                continue
            if name.strip().lower() == b"content-length":
                lengths.append(value.strip())
            if i - start > MAX_HEADER_BYTES:
                return self._bad_header(
                    start, f"a header longer than {MAX_HEADER_BYTES} bytes was skipped"
                )
        if not lengths:
            return self._bad_header(start, "a header without Content-Length was skipped")
        if len(set(lengths)) > 1:
            shown = ", ".join(_show(v) for v in lengths)
            return self._bad_header(
                start, f"a header with conflicting Content-Length values ({shown}) was skipped"
            )
        value = lengths[0]
        if not _DIGITS.fullmatch(value):
            return self._bad_header(
                start, f"a header with Content-Length {_show(value)} (not a byte count) was skipped"
            )
        events: list[Event] = []
        if garbage:
            events.append(Problem(f"ignored {garbage} header line(s) without a colon"))
        self._header_start = start
        self._body_start = i
        self._declared = value.decode("ascii")
        if len(value) > 19 or int(value) > self.max_message_bytes:
            self._state = self._PEEK
        else:
            self._length = int(value)
            self._state = self._BODY
        return events

    def _bad_header(self, start: int, text: str) -> list[Event]:
        self._resync(start + 1)
        return [Problem(text)]

    def _refusal(self, env: Envelope) -> Problem:
        text = (
            f"a message of {self._declared} bytes is over the limit of "
            f"{self.max_message_bytes} bytes and was skipped"
        )
        if env.method:
            text += f" (method {env.method})"
        return Problem(text, code=INVALID_REQUEST, reply=env.is_request, request_id=env.request_id)


def _show(value: bytes) -> str:
    text = value[:40].decode("ascii", errors="replace")
    return repr(text + ("..." if len(value) > 40 else ""))


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


async def pump(
    read: Callable[[], Awaitable[bytes]],
    deliver: Callable[[Event], None],
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> None:
    """Read chunks until the end of the stream, handing every event to ``deliver``.

    ``deliver`` runs on the event loop between reads; what it raises is logged
    and reading goes on, so no single message can stop the server.
    """
    decoder = FrameDecoder(max_message_bytes)
    while True:
        try:
            chunk = await read()
        except (ConnectionError, OSError) as exc:
            log.warning("reading the input failed: %s", exc)
            chunk = b""
        events = decoder.feed(chunk) if chunk else decoder.close()
        for event in events:
            try:
                deliver(event)
            except (BrokenPipeError, ConnectionError):
                raise
            except Exception:
                log.exception("a message could not be handled")
        if not chunk:
            return


class StdinChunks:
    """Standard input read on a daemon thread, one chunk at a time on demand.

    pygls reads stdin in a pool thread; a pool thread blocked in ``read`` keeps
    the interpreter from exiting after ``exit`` until the client closes the
    pipe. A daemon thread does not, and reading the file descriptor directly
    (not the buffered object) leaves no lock held at interpreter shutdown.
    Reads happen only when asked for, so a busy server is not flooded.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._read_raw: Callable[[], bytes]
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            read1 = getattr(stream, "read1", None) or stream.read
            self._read_raw = lambda: read1(CHUNK_BYTES)
        else:
            self._read_raw = lambda: os.read(fd, CHUNK_BYTES)
        self._wanted = threading.Semaphore(0)
        self._future: asyncio.Future[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ended = False

    async def read(self) -> bytes:
        if self._ended:
            return b""
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._loop = loop
            self._thread = threading.Thread(target=self._work, name="kdlens-stdin", daemon=True)
            self._thread.start()
        fut: asyncio.Future[bytes] = loop.create_future()
        self._future = fut
        self._wanted.release()
        data = await fut
        if not data:
            self._ended = True
        return data

    def _work(self) -> None:
        while True:
            self._wanted.acquire()
            try:
                data = self._read_raw()
            except OSError as exc:
                log.warning("reading standard input failed: %s", exc)
                data = b""
            fut, loop = self._future, self._loop
            if fut is not None and loop is not None:
                try:
                    loop.call_soon_threadsafe(_settle, fut, data)
                except RuntimeError:  # the loop is closed: nobody is listening any more
                    return
            if not data:
                return


def _settle(fut: asyncio.Future[bytes], data: bytes) -> None:
    if not fut.done():
        fut.set_result(data)


def stream_chunks(reader: asyncio.StreamReader) -> Callable[[], Awaitable[bytes]]:
    """A socket's reader as a chunk source."""

    async def read() -> bytes:
        return await reader.read(CHUNK_BYTES)

    return read
