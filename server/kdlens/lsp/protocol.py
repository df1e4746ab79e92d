"""The JSON-RPC layer of the kdlens server: every request answered, exit codes as the LSP says.

pygls 2.1 (``pygls.protocol.json_rpc.JsonRPCProtocol``) structures a message
inside ``json.loads(..., object_hook=structure_message)``. When a request's
params fail validation (a position with line -1, character 2**31, or
``position: null``) the exception leaves ``json.loads``, the message is
dropped and ``report_server_error`` shows the user an "Error in server:
Invalid Params" popup; the client never gets an answer. After ``shutdown``
pygls ignores requests instead of refusing them, ``exit`` calls
``sys.exit`` from inside the message loop (where ``start_io`` swallows the
``SystemExit``, so the process ends with 0 either way), and internal errors
carry a Python traceback in ``error.data``.

``KdlensProtocol`` takes the decoded JSON from ``transport.pump`` and does the
structuring itself, per message, so it knows which request to answer:

- a request whose params do not fit its type gets -32602 (InvalidParams)
  with a one-line description of the offending field;
- a message that is not a JSON-RPC object, a batch, a request with a bad id
  or a non-2.0 version gets -32600 (InvalidRequest) when it has an id;
- after ``shutdown`` every request gets -32600; ``exit`` stops reading and
  leaves ``exit_code`` at 0 (after ``shutdown``) or 1 (without);
- error responses never carry ``data`` (pygls puts tracebacks there).

What upstream pygls would need so this class could shrink to nothing:
structure messages after ``json.loads`` rather than in its ``object_hook``
(which also runs on every nested object of the params) and answer a request
whose structuring fails with InvalidParams using the id from the raw dict;
answer requests after shutdown with InvalidRequest instead of dropping them;
let ``exit`` end the loop and return the exit code from ``start_io`` /
``start_tcp`` instead of raising ``SystemExit`` inside it; keep tracebacks
out of ``ResponseError.data``; and in ``pygls.io_.run_async`` cap
``Content-Length`` and resynchronise after a bad header (see ``transport``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import cattrs
from lsprotocol import types as lsp
from pygls.io_ import StdoutWriter
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
)

from .transport import (
    DEFAULT_MAX_MESSAGE_BYTES,
    INVALID_REQUEST,
    Event,
    Problem,
    StdinChunks,
    pump,
    stream_chunks,
)

log = logging.getLogger("kdlens.protocol")

INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
#: Longest error message sent back; the rest of a description is cut.
MAX_ERROR_MESSAGE = 300


def _valid_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _short(text: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_invalid(exc: BaseException) -> str:
    """One line naming the fields that failed, e.g. ``invalid value @ $.params.position``."""
    if isinstance(exc, cattrs.BaseValidationError):
        try:
            lines = cattrs.transform_error(exc, path="$")
        except Exception:
            lines = []
        if lines:
            shown = "; ".join(lines[:3])
            if len(lines) > 3:
                shown += f"; and {len(lines) - 3} more"
            return _short(shown)
    return _short(f"{type(exc).__name__}: {exc}")


def _is_request_type(message_type: Any) -> bool:
    return attrs.has(message_type) and "id" in attrs.fields_dict(message_type)


class KdlensProtocol(LanguageServerProtocol):
    """``LanguageServerProtocol`` fed by ``transport.pump``; see the module docstring."""

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        self.max_message_bytes = DEFAULT_MAX_MESSAGE_BYTES
        #: Set by the ``exit`` notification: 0 after ``shutdown``, 1 without.
        self.exit_code: int | None = None
        self._reading: asyncio.Task[None] | None = None

    @property
    def shutdown_requested(self) -> bool:
        return bool(self._shutdown)

    # -- the read loop

    async def serve_stream(self, read: Callable[[], Awaitable[bytes]]) -> None:
        """Handle messages from ``read`` until the stream ends or ``exit`` arrives."""
        task = asyncio.ensure_future(pump(read, self.receive, self.max_message_bytes))
        self._reading = task
        try:
            await task
        except asyncio.CancelledError:
            if self.exit_code is None:
                raise
        finally:
            self._reading = None

    def receive(self, event: Event) -> None:
        if isinstance(event, Problem):
            self._transport_problem(event)
        else:
            self._dispatch(event.payload)

    # -- replies and reports

    def reply_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        self._send_response(msg_id, error=lsp.ResponseError(code=code, message=_short(message)))

    def _send_response(
        self, msg_id: Any, result: Any | None = None, error: lsp.ResponseError | None = None
    ) -> None:
        if error is not None and (error.data is not None or len(error.message) > MAX_ERROR_MESSAGE):
            # pygls' internal errors carry the traceback in ``data``: keep it in our log only.
            error = lsp.ResponseError(code=error.code, message=_short(error.message))
        super()._send_response(msg_id, result, error)

    def report(self, text: str, level: int = logging.WARNING) -> None:
        """Log on stderr and in the client's log (never a popup)."""
        log.log(level, "%s", text)
        kind = lsp.MessageType.Error if level >= logging.ERROR else lsp.MessageType.Warning
        with contextlib.suppress(Exception):
            self.notify(
                lsp.WINDOW_LOG_MESSAGE, lsp.LogMessageParams(type=kind, message=f"kdlens: {text}")
            )

    def _transport_problem(self, problem: Problem) -> None:
        self.report(problem.text)
        if problem.reply:
            self.reply_error(problem.request_id, problem.code, problem.text)

    # -- dispatch

    def _dispatch(self, payload: Any) -> None:
        if isinstance(payload, list):
            text = "batched messages are not part of the Language Server Protocol"
            ids = [
                item["id"]
                for item in payload
                if isinstance(item, dict) and "method" in item and _valid_id(item.get("id"))
            ]
            self.report(f"{text} (a batch of {len(payload)} was refused)")
            for batch_id in ids or [None]:
                self.reply_error(batch_id, INVALID_REQUEST, text)
            return
        if not isinstance(payload, dict):
            text = f"a message must be a JSON object, not {type(payload).__name__}"
            self.report(text)
            self.reply_error(None, INVALID_REQUEST, text)
            return

        method = payload.get("method")
        has_id = "id" in payload
        msg_id: Any = payload.get("id")
        if has_id and not _valid_id(msg_id):
            text = "a message id must be a number or a string"
            self.report(text)
            if method is not None or ("result" not in payload and "error" not in payload):
                self.reply_error(None, INVALID_REQUEST, text)
            return
        if payload.get("jsonrpc") != self.VERSION:
            text = 'a message must say "jsonrpc": "2.0"'
            self.report(text)
            if has_id and method is not None:
                self.reply_error(msg_id, INVALID_REQUEST, text)
            return
        if method is None:
            if has_id and ("result" in payload or "error" in payload):
                self._response(payload, msg_id)
                return
            text = "a message without a method is neither a request nor a notification"
            self.report(text)
            self.reply_error(msg_id if has_id else None, INVALID_REQUEST, text)
            return
        if not isinstance(method, str):
            text = "a message's method must be a string"
            self.report(text)
            if has_id:
                self.reply_error(msg_id, INVALID_REQUEST, text)
            return
        if has_id:
            self._request(payload, msg_id, method)
        else:
            self._notification(payload, method)

    def _request(self, payload: dict[str, Any], msg_id: int | str, method: str) -> None:
        if self._shutdown:
            self.reply_error(msg_id, INVALID_REQUEST, f"{method}: the server is shutting down")
            return
        if method == lsp.EXIT:
            self.reply_error(msg_id, INVALID_REQUEST, "exit is a notification, not a request")
            return
        message_type = self.get_message_type(method)
        if message_type is None:
            message_type = JsonRPCRequestMessage
            payload = {**payload, "params": payload.get("params")}
        elif not _is_request_type(message_type):
            self.reply_error(msg_id, METHOD_NOT_FOUND, f"{method} is a notification, not a request")
            return
        try:
            message = self._converter.structure(payload, message_type)
        except Exception as exc:
            text = f"invalid params for {method}: {describe_invalid(exc)}"
            log.info("%s", text)
            self.reply_error(msg_id, INVALID_PARAMS, text)
            return
        self.handle_message(message)

    def _notification(self, payload: dict[str, Any], method: str) -> None:
        if method == lsp.EXIT:
            self._exit()
            return
        if self._shutdown:
            log.debug("ignoring %s after shutdown", method)
            return
        message_type = self.get_message_type(method)
        if message_type is None:
            message_type = JsonRPCNotification
            payload = {**payload, "params": payload.get("params")}
        try:
            message = self._converter.structure(payload, message_type)
        except Exception as exc:
            self.report(f"ignored {method}: invalid params: {describe_invalid(exc)}")
            return
        self.handle_message(message)

    def _response(self, payload: dict[str, Any], msg_id: int | str) -> None:
        if "error" in payload:
            response_type: Any = lsp.ResponseErrorMessage
        else:
            response_type = self._result_types.pop(msg_id, None) or JsonRPCResponseMessage
        try:
            message = self._converter.structure(payload, response_type)
        except Exception as exc:
            text = (
                f"the client's answer to request {msg_id!r} is malformed: {describe_invalid(exc)}"
            )
            self.report(text)
            # Fail the waiting request rather than leaving it pending for ever.
            self._handle_response(
                msg_id, None, lsp.ResponseError(code=INVALID_PARAMS, message=text)
            )
            return
        self.handle_message(message)

    def _exit(self) -> None:
        self.exit_code = 0 if self._shutdown else 1
        if self.exit_code:
            log.warning("exit without shutdown: leaving with status 1")
        handler = self.fm.features.get(lsp.EXIT)
        if handler is not None:
            try:
                handler(None)
            except Exception:
                log.exception("the exit handler failed")
        if self._reading is not None:
            self._reading.cancel()


def run_stdio(server: Any, stdin: Any = None, stdout: Any = None) -> int | None:
    """Serve on standard input/output until end of input or ``exit``; the exit code, if any.

    Replaces pygls' ``start_io``: the same writer, our reader.
    """
    protocol: KdlensProtocol = server.protocol
    server._stop_event = threading.Event()
    protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    source = StdinChunks(stdin or sys.stdin.buffer)
    try:
        asyncio.run(protocol.serve_stream(source.read))
    except (BrokenPipeError, ConnectionError):
        log.error("the connection to the client is lost")
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return protocol.exit_code


def run_tcp(server: Any, host: str, port: int) -> int | None:
    """Listen on ``host:port`` and serve the first client until it leaves or sends ``exit``.

    Like pygls' ``start_tcp``, one connection is one session: the server stops
    when it ends. A second client connecting meanwhile is turned away.
    """

    protocol: KdlensProtocol = server.protocol
    server._stop_event = threading.Event()

    async def main() -> None:
        done = asyncio.Event()
        busy = False

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal busy
            if busy:
                writer.close()
                return
            busy = True
            protocol.set_writer(writer)
            try:
                await protocol.serve_stream(stream_chunks(reader))
            except (BrokenPipeError, ConnectionError):
                log.error("the connection to the client is lost")
            finally:
                with contextlib.suppress(Exception):
                    writer.close()
                done.set()

        listener = await asyncio.start_server(connection, host, port)
        server._server = listener
        async with listener:
            await done.wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        server._server = None  # already closed by ``async with``
        server.shutdown()
    return protocol.exit_code


def leave_now(code: int, grace: float = 0.5) -> None:
    """End the process with ``code`` if a worker thread would otherwise keep it alive.

    After ``exit`` the client waits for the process to go; an analysis still
    running on a huge log would hold it for as long as it takes. Threads get
    ``grace`` seconds to finish, then the process ends without them.
    """
    import os
    import time

    deadline = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.daemon:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(
        t.is_alive() and not t.daemon and t is not threading.main_thread()
        for t in threading.enumerate()
    ):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
