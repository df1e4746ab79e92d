"""The frame reader on its own: bad headers are skipped, the next good frame always gets through.

Every case feeds a damaged frame followed by a good one and checks that the
good one comes out; feeding byte by byte checks that nothing depends on how
the input happens to be split into reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from kdlens.lsp.transport import (
    DEFAULT_MAX_MESSAGE_BYTES,
    INVALID_REQUEST,
    MAX_HEADER_BYTES,
    PARSE_ERROR,
    Event,
    FrameDecoder,
    Message,
    Problem,
    max_message_bytes,
    peek_envelope,
)


def frame(obj: object) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


GOOD = {"jsonrpc": "2.0", "id": 99, "method": "textDocument/hover", "params": {}}


def decode(
    data: bytes, limit: int = DEFAULT_MAX_MESSAGE_BYTES, step: int | None = None
) -> list[Event]:
    dec = FrameDecoder(limit)
    out: list[Event] = []
    chunks: Iterable[bytes] = (
        [data] if step is None else (data[i : i + step] for i in range(0, len(data), step))
    )
    for chunk in chunks:
        out.extend(dec.feed(chunk))
    out.extend(dec.close())
    return out


def messages(events: list[Event]) -> list[Any]:
    return [e.payload for e in events if isinstance(e, Message)]


def problems(events: list[Event]) -> list[Problem]:
    return [e for e in events if isinstance(e, Problem)]


# Each of these leaves pygls alive but no longer answering; here the next frame must survive.
BAD_HEADERS = {
    "non-numeric length": b"Content-Length: abc\r\n\r\n{}",
    "negative length": b"Content-Length: -5\r\n\r\n{}",
    "missing length": b"Content-Type: application/vscode-jsonrpc\r\n\r\n{}",
    "conflicting duplicates": b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "garbage line": b"hello there\r\n\r\n{}",
    "binary junk glued to the header": b"\x00\xff\xfe junk without a line end",
    "empty length": b"Content-Length:\r\n\r\n{}",
    "length with a sign": b"Content-Length: +2\r\n\r\n{}",
    "length in hex": b"Content-Length: 0x10\r\n\r\n{}",
    "zero length": b"Content-Length: 0\r\n\r\n",
    "invalid JSON body": b"Content-Length: 5\r\n\r\n{bad}",
    "length longer than the body": b'Content-Length: 40\r\n\r\n{"jsonrpc": "2.0"}',
    "length shorter than the body": b'Content-Length: 4\r\n\r\n{"jsonrpc": "2.0", "method": "x"}',
    "header that never ends": b"X-Junk: " + b"a" * (MAX_HEADER_BYTES + 10),
}


@pytest.mark.parametrize("name", sorted(BAD_HEADERS))
@pytest.mark.parametrize("step", [None, 1, 7])
def test_a_good_frame_after_a_bad_header_is_delivered(name: str, step: int | None) -> None:
    events = decode(BAD_HEADERS[name] + frame(GOOD), step=step)
    assert messages(events)[-1] == GOOD
    assert problems(events), "the damage is reported"


def test_identical_duplicate_lengths_are_accepted() -> None:
    body = json.dumps(GOOD).encode()
    data = b"Content-Length: %d\r\ncontent-length: %d\r\n\r\n" % (len(body), len(body)) + body
    assert messages(decode(data)) == [GOOD]


def test_lenient_spelling_of_a_good_header() -> None:
    body = json.dumps(GOOD).encode()
    data = b"\r\ncontent-length:%d\nX-Other: 1\n\n" % len(body) + body
    events = decode(data)
    assert messages(events) == [GOOD]
    assert not problems(events)


@pytest.mark.parametrize(
    "declared", [b"9223372036854775807", b"1099511627776", b"3000000000", b"9" * 5000]
)
def test_huge_declared_lengths_allocate_nothing_and_answer_the_request(declared: bytes) -> None:
    dec = FrameDecoder()
    request = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "shutdown"}).encode()
    events = list(dec.feed(b"Content-Length: " + declared + b"\r\n\r\n" + request))
    events += list(dec.feed(frame(GOOD)))
    assert dec.buffered < 1024
    refused = problems(events)
    assert [(p.reply, p.request_id, p.code) for p in refused] == [(True, 7, INVALID_REQUEST)]
    assert messages(events) == [GOOD]


def test_an_honest_oversized_body_is_skipped_without_being_held() -> None:
    limit = 10_000
    big = {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"text": "x" * 200_000}}
    data = frame(big) + frame(GOOD)
    dec = FrameDecoder(limit)
    events: list[Event] = []
    most = 0
    for i in range(0, len(data), 4096):
        events.extend(dec.feed(data[i : i + 4096]))
        most = max(most, dec.buffered)
    events.extend(dec.close())
    assert messages(events) == [GOOD]
    assert most < 80_000  # a peek window and a chunk, never the 200 kB body
    (refusal,) = problems(events)
    assert not refusal.reply  # a notification: nothing to answer
    assert "didOpen" in refusal.text


def test_invalid_json_with_a_recoverable_id_is_answered_with_that_id() -> None:
    body = b'{"jsonrpc": "2.0", "id": "abc", "method": "textDocument/hover", "params": {,}}'
    events = decode(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    (p,) = problems(events)
    assert (p.reply, p.request_id, p.code) == (True, "abc", PARSE_ERROR)


def test_body_cut_short_by_the_end_of_input() -> None:
    request = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}).encode()
    events = decode(frame(GOOD) + b"Content-Length: 500\r\n\r\n" + request[:30])
    assert messages(events) == [GOOD]
    (p,) = problems(events)
    assert "ended" in p.text


def test_overstated_length_hides_the_next_frame_which_is_still_found() -> None:
    first = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "a", "params": {}}).encode()
    second = frame(GOOD)
    # The first header claims its body plus the whole next frame, plus a little more.
    data = b"Content-Length: %d\r\n\r\n" % (len(first) + len(second)) + first + second
    events = decode(data)
    assert messages(events) == [GOOD]
    (p,) = problems(events)
    assert (p.reply, p.request_id) == (True, 1)  # the first request is answered, once


def test_garbage_glued_to_a_header_does_not_cost_the_frame_or_a_double_answer() -> None:
    body = json.dumps(GOOD).encode()
    # "Content-Length: 20" is a stray partial header; the real one follows on the same line.
    data = b"Content-Length: 20\r\nX" + b"Content-Length: %d\r\n\r\n" % len(body) + body
    events = decode(data)
    assert messages(events) == [GOOD]
    assert not any(p.reply and p.request_id == GOOD["id"] for p in problems(events))


def test_batches_and_scalars_are_delivered_for_the_protocol_to_refuse() -> None:
    events = decode(frame([GOOD, GOOD]) + frame(42) + frame(GOOD))
    assert messages(events) == [[GOOD, GOOD], 42, GOOD]


def test_deeply_nested_json_is_a_parse_error_not_a_crash() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    events = decode(b"Content-Length: %d\r\n\r\n" % len(deep) + deep + frame(GOOD))
    assert messages(events)[-1] == GOOD


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    body = b'{"jsonrpc": "2.0", "method": "x", "params": {"t": "\xff\xfe"}}'
    events = decode(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    (msg,) = messages(events)
    assert msg["params"]["t"] == "\ufffd\ufffd"


def test_many_frames_in_one_read() -> None:
    msgs = [{"jsonrpc": "2.0", "method": "m", "params": {"i": i}} for i in range(500)]
    assert messages(decode(b"".join(frame(m) for m in msgs))) == msgs


class TestPeek:
    def test_id_and_method_before_a_long_params(self) -> None:
        env = peek_envelope(
            b'{"jsonrpc":"2.0","id":12,"method":"textDocument/didOpen","params":{"t'
        )
        assert (env.request_id, env.method, env.is_request, env.complete) == (
            12,
            "textDocument/didOpen",
            True,
            False,
        )

    def test_nested_and_quoted_ids_are_not_the_message_id(self) -> None:
        env = peek_envelope(b'{"method":"x","params":{"id":5,"s":"\\"id\\": 6"},"k":"}"}, "id": 1}')
        assert env.request_id is None and not env.has_id and env.complete

    def test_responses_are_not_requests(self) -> None:
        env = peek_envelope(b'{"id": "r1", "result": {"a": [1, 2]}}')
        assert env.has_id and env.is_response and not env.is_request

    def test_not_an_object(self) -> None:
        assert peek_envelope(b"Content-Length: 3").complete
        assert peek_envelope(b"[1]").complete


def test_message_limit_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KDLENS_MAX_MESSAGE_BYTES", raising=False)
    assert max_message_bytes() == 256 * 1024 * 1024
    monkeypatch.setenv("KDLENS_MAX_MESSAGE_BYTES", "1_000")
    assert max_message_bytes() == 1000
    assert max_message_bytes("77") == 77
    for bad in ("0", "-1", "lots", "1e6"):
        with pytest.raises(ValueError):
            max_message_bytes(bad)
        monkeypatch.setenv("KDLENS_MAX_MESSAGE_BYTES", bad)
        assert max_message_bytes() == DEFAULT_MAX_MESSAGE_BYTES  # logged, not fatal
