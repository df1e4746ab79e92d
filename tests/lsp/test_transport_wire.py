"""Issue 9, items 3, 4 and 6, against a real ``kdlens serve`` process with raw bytes on stdio.

3. A request whose params do not validate is answered with InvalidParams
   (no popup, no traceback); before, it got no answer at all.
4. One header line could end the process (OverflowError, MemoryError) or
   reserve gigabytes; ten kinds of malformed header left it deaf. Now the
   message is refused or skipped and the next one is answered.
6. ``exit`` ends the process with 1 without ``shutdown`` and 0 after it;
   a request after ``shutdown`` gets InvalidRequest.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from fuzz.lspwire import WireServer, frame, notification, request
from helpers import FIXTURES

URI = "file:///logs/kd-session.log"
TEXT = (FIXTURES / "logs" / "seed-c4-62.log").read_text(encoding="utf-8")
#: Bounds for waiting on the server; reaching one is a failure, never a pass.
ANSWER_TIMEOUT = 60.0
RSS_BOUND = 600 * 1024 * 1024


def hover(msg_id: int, position: Any, *, drop_position: bool = False) -> dict[str, Any]:
    params: dict[str, Any] = {"textDocument": {"uri": URI}, "position": position}
    if drop_position:
        del params["position"]
    return request(msg_id, "textDocument/hover", params)


GOOD_HOVER_POSITION = {"line": 0, "character": 0}


def open_doc(server: WireServer) -> None:
    server.send_message(
        notification(
            "textDocument/didOpen",
            {"textDocument": {"uri": URI, "languageId": "windbg-log", "version": 1, "text": TEXT}},
        )
    )


@pytest.fixture
def server() -> Iterator[WireServer]:
    with WireServer() as s:
        s.start_session(ANSWER_TIMEOUT)
        open_doc(s)
        yield s


def assert_answered_ok(server: WireServer, msg_id: int) -> dict[str, Any]:
    reply = server.response(msg_id, ANSWER_TIMEOUT)
    assert reply is not None, f"request {msg_id} got no answer; stderr:\n{server.stderr_text()}"
    assert "error" not in reply, reply
    return reply


def assert_error(server: WireServer, msg_id: int | None, code: int) -> dict[str, Any]:
    reply = server.response(msg_id, ANSWER_TIMEOUT)
    assert reply is not None, f"request {msg_id} got no answer; stderr:\n{server.stderr_text()}"
    assert reply.get("error", {}).get("code") == code, reply
    error = reply["error"]
    assert "data" not in error or error["data"] is None, "no traceback (or anything) in data"
    assert "Traceback" not in error["message"] and len(error["message"]) <= 300
    return reply


# -- item 3


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("line -1", hover(11, {"line": -1, "character": 0})),
        ("character 2**31", hover(11, {"line": 0, "character": 2**31})),
        ("position null", hover(11, None)),
        ("position missing", hover(11, None, drop_position=True)),
        ("line as text", hover(11, {"line": "three", "character": 0})),
        ("huge line", hover(11, {"line": 10**30, "character": 0})),
        ("no params", request(11, "textDocument/definition")),
        (
            "negative range",
            request(
                11,
                "textDocument/inlayHint",
                {
                    "textDocument": {"uri": URI},
                    "range": {
                        "start": {"line": -5, "character": 0},
                        "end": {"line": 1, "character": 0},
                    },
                },
            ),
        ),
    ],
)
def test_invalid_params_get_an_invalid_params_answer(
    server: WireServer, name: str, message: dict[str, Any]
) -> None:
    server.send_message(message)
    reply = assert_error(server, 11, -32602)
    assert message["method"] in reply["error"]["message"]
    # The server goes on answering, and the user saw no popup.
    server.send_message(hover(12, GOOD_HOVER_POSITION))
    assert_answered_ok(server, 12)
    assert server.notifications("window/showMessage") == []


def test_messages_that_are_not_requests_are_refused_with_their_id(server: WireServer) -> None:
    server.send_message({"jsonrpc": "1.0", "id": 21, "method": "textDocument/hover"})
    assert_error(server, 21, -32600)
    server.send_message({"jsonrpc": "2.0", "id": 22})
    assert_error(server, 22, -32600)
    server.send_message([hover(23, GOOD_HOVER_POSITION), hover(24, GOOD_HOVER_POSITION)])
    assert_error(server, 23, -32600)
    assert_error(server, 24, -32600)
    server.send_message(request(25, "textDocument/didClose", {"textDocument": {"uri": URI}}))
    assert_error(server, 25, -32601)
    server.send_message(request(26, "kdlens/noSuchMethod"))
    assert_error(server, 26, -32601)
    server.send_message({"jsonrpc": "2.0", "id": True, "method": "textDocument/hover"})
    server.send_message(hover(27, GOOD_HOVER_POSITION))
    assert_answered_ok(server, 27)
    assert server.notifications("window/showMessage") == []


# -- item 4


@pytest.mark.parametrize("declared", ["9223372036854775807", "1099511627776", "3000000000"])
def test_a_huge_content_length_is_refused_and_the_next_message_answered(declared: str) -> None:
    with WireServer() as server:
        server.start_session(ANSWER_TIMEOUT)
        body = json.dumps(hover(5, GOOD_HOVER_POSITION)).encode()
        server.send(f"Content-Length: {declared}\r\n\r\n".encode() + body)
        reply = assert_error(server, 5, -32600)
        assert "limit" in reply["error"]["message"]
        server.send_message(request(6, "shutdown"))
        assert_answered_ok(server, 6)
        assert server.alive()
        rss = server.rss_bytes()
        if rss is not None:
            assert rss < RSS_BOUND, f"{rss:,} bytes resident after a {declared}-byte header"
        server.send_message(notification("exit"))
        assert server.wait_exit(ANSWER_TIMEOUT) == 0


#: The malformed headers of the adversarial run, each followed by a good request.
MALFORMED = {
    "non-numeric length": b"Content-Length: twelve\r\n\r\n{}",
    "negative length": b"Content-Length: -20\r\n\r\n{}",
    "missing length": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}",
    "duplicated length": b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
    "garbage lines": b"GET / HTTP/1.1\r\nthis is not a header\r\n\r\n",
    "binary junk": b"\x00\x01\x02\xff\xfe\x80 no line end",
    "body shorter than declared": b'Content-Length: 60\r\n\r\n{"jsonrpc": "2.0"}',
    "invalid JSON body": b"Content-Length: 9\r\n\r\n{not json",
    "JSON that is not an object": frame("just a string"),
    "a batch array": frame([{"jsonrpc": "2.0", "method": "initialized", "params": {}}]),
    "empty length": b"Content-Length: \r\n\r\n{}",
    "zero length": b"Content-Length: 0\r\n\r\n",
}


def test_every_malformed_header_is_skipped_and_the_next_request_answered(
    server: WireServer,
) -> None:
    for n, (name, junk) in enumerate(sorted(MALFORMED.items()), start=100):
        server.send(junk + frame(hover(n, GOOD_HOVER_POSITION)))
        reply = server.response(n, ANSWER_TIMEOUT)
        assert reply is not None, f"deaf after {name}; stderr:\n{server.stderr_text()}"
        assert "error" not in reply, (name, reply)
    assert server.alive()
    logged = [m["params"]["message"] for m in server.notifications("window/logMessage")]
    assert len(logged) >= len(MALFORMED)
    assert server.notifications("window/showMessage") == []


def test_body_cut_short_at_the_end_of_input_ends_cleanly() -> None:
    with WireServer() as server:
        server.start_session(ANSWER_TIMEOUT)
        server.send_message(request(1, "shutdown"))
        assert_answered_ok(server, 1)
        server.send(b'Content-Length: 500\r\n\r\n{"jsonrpc": "2.0", "method": "exit"')
        server.close_stdin()
        assert server.wait_exit(ANSWER_TIMEOUT) == 0
        assert "ended" in server.stderr_text()


@pytest.mark.parametrize("how", ["environment", "option"])
def test_the_message_limit_is_configurable(how: str) -> None:
    limit = 4000
    args, env = (
        ([], {"KDLENS_MAX_MESSAGE_BYTES": str(limit)})
        if how == "environment"
        else (["--max-message-bytes", str(limit)], {})
    )
    with WireServer(args, env) as server:
        server.start_session(ANSWER_TIMEOUT)
        big = hover(1, GOOD_HOVER_POSITION)
        big["params"]["padding"] = "x" * (limit + 1)
        server.send_message(big)
        assert_error(server, 1, -32600)
        small = hover(2, GOOD_HOVER_POSITION)
        small["params"]["padding"] = "x" * (limit // 2)
        server.send_message(small)
        assert_answered_ok(server, 2)


def test_a_bad_limit_is_a_usage_error() -> None:
    with WireServer(["--max-message-bytes", "0"]) as server:
        assert server.wait_exit(ANSWER_TIMEOUT) not in (0, None)
        assert "positive" in server.stderr_text()


# -- item 6


def test_exit_without_shutdown_ends_with_1() -> None:
    with WireServer() as server:
        server.start_session(ANSWER_TIMEOUT)
        server.send_message(notification("exit"))
        # stdin stays open: the exit notification alone must end the process.
        assert server.wait_exit(ANSWER_TIMEOUT) == 1


def test_exit_after_shutdown_ends_with_0_and_later_requests_are_refused() -> None:
    with WireServer() as server:
        server.start_session(ANSWER_TIMEOUT)
        open_doc(server)
        server.send_message(request(1, "shutdown"))
        assert_answered_ok(server, 1)
        server.send_message(hover(2, GOOD_HOVER_POSITION))
        assert_error(server, 2, -32600)
        server.send_message(request(3, "shutdown"))
        assert_error(server, 3, -32600)
        server.send_message(notification("exit"))
        assert server.wait_exit(ANSWER_TIMEOUT) == 0
        assert server.responses_to(2) == [server.find_response(2)]  # answered exactly once


def test_exit_as_a_request_is_refused_not_obeyed(server: WireServer) -> None:
    server.send_message(request(4, "exit"))
    assert_error(server, 4, -32600)
    assert server.alive()
    server.send_message(hover(5, GOOD_HOVER_POSITION))
    assert_answered_ok(server, 5)


@pytest.mark.skipif(sys.platform == "win32", reason="uses /proc for the memory check")
def test_input_ending_after_shutdown_is_a_clean_exit() -> None:
    with WireServer() as server:
        server.start_session(ANSWER_TIMEOUT)
        server.send_message(request(1, "shutdown"))
        assert_answered_ok(server, 1)
        server.close_stdin()
        assert server.wait_exit(ANSWER_TIMEOUT) == 0
