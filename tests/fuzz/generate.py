"""Deterministic generators of hostile sessions for the language-server fuzz run.

A session is a list of steps, each a small JSON value, so a failing session
can be written to ``corpus/`` and replayed byte for byte:

- ``{"send": MESSAGE}``: one framed message (any JSON, valid or not);
- ``{"raw": BASE64, "expect": [ids]}``: bytes written as they are (malformed
  frames), with the ids of requests inside them the server owes an answer;
- ``{"wait": true}``: a sync point where every request sent so far must have
  been answered (within the harness' bound);
- ``{"end": "exit" | "exit-without-shutdown" | "eof" | "eof-after-shutdown"}``: how
  the session closes (the last step).

A document text may be ``{"$doc": {...}}``, a recipe that ``materialise``
expands (a 200,000-row table would make a 14 MB corpus file otherwise).
Every byte of a malformed frame is self-contained: a header never promises
more body than the step itself carries, so a waiting server is a bug and not
a client that stopped mid-message.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from typing import Any

from fuzz.lspwire import frame

#: Methods the kdlens server registers (server/kdlens/lsp/features/*.py); it offers no semantic tokens.
POSITION_METHODS = ("textDocument/hover", "textDocument/definition", "textDocument/references")
RANGE_METHODS = ("textDocument/inlayHint", "textDocument/codeAction")
DOCUMENT_METHODS = (
    "textDocument/documentSymbol",
    "textDocument/codeLens",
    "textDocument/foldingRange",
)
#: A range that reaches this line makes inlay hints walk every line up to it
#: (known, being fixed in the features code): the harness can mark it.
HUGE_LINE = 2**31 - 1

SEED_HEADER = """kd> !analyze -v
*******************************************************************************
*                                                                             *
*                        Bugcheck Analysis                                    *
*                                                                             *
*******************************************************************************

DRIVER_VERIFIER_DETECTED_VIOLATION (c4)
Arguments:
Arg1: 00000062, a driver unloaded with pool allocations still live.
Arg2: 9707712c, name of the driver.
Arg3: 9c1faf70, verifier data.
Arg4: {count:08x}, allocations left behind.

kd> !verifier 3 Fuzzdrv.sys

Verify Flags Level 0x000209bb

  MODULE: 0x84226b28 Fuzzdrv.sys (Loaded)

    Pool Allocation Statistics: ( NonPagedPool / PagedPool )

      Current Pool Allocations: ( 0x{count:08x} / 0x00000000 )
      Current Pool Bytes:       ( 0x00001058 / 0x00000000 )

    Pool Allocations:

      Address     Length      Tag   Caller
      ----------  ----------  ----  ----------
"""

BLOCK_HEADERS = (
    "kd> !analyze -v",
    "*                        Bugcheck Analysis                                    *",
    "DRIVER_VERIFIER_DETECTED_VIOLATION (c4)",
    "Arguments:",
    "Arg1: 00000062, leak",
    "Debugging Details:",
    "STACK_TEXT:",
    "kd> !verifier 3 Fuzzdrv.sys",
    "    Pool Allocations:",
    "      Address     Length      Tag   Caller",
    "kd> !verifier 0x80 0x982a8fe0",
    "Log of recent kernel pool Allocate and Free operations:",
    "Pool block 982a8fe0, Size 00000020, Thread 9c158bc0",
    "kd> ln 0x9a3bf6ac",
    "kd> k",
    " # ChildEBP RetAddr",
    "FOLLOWUP_IP:",
    "BUGCHECK_CODE:  c4",
)


def pool_row(rng: random.Random) -> str:
    tag = "".join(rng.choice("VMdlrwfiAbcd") for _ in range(4))
    return (
        f"      0x{rng.getrandbits(32):08x}  0x{rng.getrandbits(14):08x}  {tag}  "
        f"0x{rng.getrandbits(32):08x}  Fuzzdrv!Func{rng.randrange(64)}+0x{rng.getrandbits(8):x}"
    )


def make_document(recipe: dict[str, Any]) -> str:
    """The text a ``$doc`` recipe stands for; the same recipe always gives the same text."""
    kind = recipe["kind"]
    rng = random.Random(recipe.get("seed", 0))
    size = int(recipe.get("size", 10))
    if kind == "pool_table":
        rows = [pool_row(rng) for _ in range(size)]
        return SEED_HEADER.format(count=size) + "\n".join(rows) + "\n\nkd> \n"
    if kind == "long_line":
        return SEED_HEADER.format(count=1) + "      0x982a8fe0  " + "A" * size + "\n"
    if kind == "prompts":
        return "".join(f"{rng.randrange(4)}: kd> \n" for _ in range(size))
    if kind == "nul_bytes":
        base = SEED_HEADER.format(count=3) + "\n".join(pool_row(rng) for _ in range(3))
        chars = list(base)
        for _ in range(size):
            chars.insert(rng.randrange(len(chars) + 1), "\x00")
        return "".join(chars)
    if kind == "huge_numbers":
        digits = "f" * size
        return (
            SEED_HEADER.format(count=2)
            + f"      0x{digits}  0x{digits}  VMdl  0x{digits}  Fuzzdrv!F+0x{digits}\n"
            + f"Arg1: {digits}, big\nArg4: {'9' * size}, bigger\nkd> ln 0x{digits}\n"
            + f"({digits})   Fuzzdrv!F+0x{digits}   |  ({digits})   Fuzzdrv!G\n"
        )
    if kind == "nested_headers":
        lines = []
        for depth in range(size):
            lines.append(" " * (depth % 40) + rng.choice(BLOCK_HEADERS))
        return "\n".join(lines) + "\n"
    if kind == "binary":
        data = bytes(rng.getrandbits(8) for _ in range(size))
        return data.decode("latin-1")
    if kind == "seed_mutation":
        base = SEED_HEADER.format(count=3) + "\n".join(pool_row(rng) for _ in range(3)) + "\n"
        chars = list(base)
        for _ in range(size):
            op = rng.randrange(3)
            at = rng.randrange(len(chars) + 1)
            if op == 0 and chars:
                del chars[min(at, len(chars) - 1)]
            elif op == 1:
                chars.insert(at, rng.choice("0x fF:!\n\t*()`'\"\\\u00e9\u20ac\U0001f600"))
            else:
                chars.insert(at, rng.choice(BLOCK_HEADERS) + "\n")
        return "".join(chars)
    raise ValueError(f"unknown document kind {kind!r}")


def materialise(value: Any) -> Any:
    """``value`` with every ``{"$doc": recipe}`` replaced by its text."""
    if isinstance(value, dict):
        if set(value) == {"$doc"}:
            return make_document(value["$doc"])
        return {k: materialise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialise(v) for v in value]
    return value


def raw_step(data: bytes, expect: list[Any] | None = None) -> dict[str, Any]:
    return {"raw": base64.b64encode(data).decode("ascii"), "expect": expect or []}


class SessionGenerator:
    """Random sessions from one seed; ``big`` allows the very large documents."""

    def __init__(self, seed: int, *, big: bool = False, known_slow: bool = False) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.big = big
        #: Also produce the requests known to be slow in the feature code.
        self.known_slow = known_slow
        self.next_id = 1
        self.docs: dict[str, int] = {}  # uri -> version
        self.lines: dict[str, int] = {}  # uri -> rough line count (for plausible positions)
        self.sent_ids: list[int] = []

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # -- values

    def position(self, uri: str) -> Any:
        rng = self.rng
        lines = self.lines.get(uri, 10)
        roll = rng.random()
        if roll < 0.55:
            return {"line": rng.randrange(max(lines, 1)), "character": rng.randrange(80)}
        choices: list[Any] = [
            {"line": -1, "character": 0},
            {"line": 0, "character": -5},
            {"line": 2**31, "character": 0},
            {"line": 0, "character": 2**31},
            {"line": lines + rng.randrange(1, 1000), "character": rng.randrange(10**6)},
            {"line": 0, "character": HUGE_LINE},
            None,
            {},
            {"line": "3", "character": 0},
            {"line": 1.5, "character": 2.5},
            [1, 2],
            {"line": 10**40, "character": 0},
            {"line": True, "character": False},
            {"line": 0},
        ]
        if self.known_slow:
            choices.append({"line": HUGE_LINE, "character": 0})
        return rng.choice(choices)

    def range_(self, uri: str) -> Any:
        rng = self.rng
        lines = self.lines.get(uri, 10)
        roll = rng.random()
        if roll < 0.5:
            a = rng.randrange(max(lines, 1))
            b = min(lines, a + rng.randrange(200))
            return {"start": {"line": a, "character": 0}, "end": {"line": b, "character": 0}}
        if roll < 0.6 and self.known_slow:
            return {
                "start": {"line": 0, "character": 0},
                "end": {"line": HUGE_LINE, "character": 0},
            }
        return rng.choice(
            [
                {"start": self.position(uri), "end": self.position(uri)},
                {"start": {"line": 5, "character": 0}, "end": {"line": 1, "character": 0}},
                None,
                {"start": {"line": 0, "character": 0}},
                "everything",
                {"start": {"line": -3, "character": 0}, "end": {"line": 2, "character": 0}},
                {
                    "start": {"line": lines + 10, "character": 0},
                    "end": {"line": lines + 20, "character": 0},
                },
            ]
        )

    def uri(self) -> str:
        if self.docs and self.rng.random() < 0.85:
            return self.rng.choice(sorted(self.docs))
        return self.rng.choice(
            ["file:///fuzz/never-opened.log", "untitled:Untitled-1", "file:///fuzz/x.c", "", "%%%"]
        )

    # -- steps

    def open_doc(self) -> list[dict[str, Any]]:
        rng = self.rng
        kinds: list[tuple[str, Callable[[], int]]] = [
            ("pool_table", lambda: rng.randrange(1, 400)),
            ("long_line", lambda: rng.choice([1000, 100_000, 1_000_000])),
            # 100,000 prompts make the outline take seconds (known, fixed elsewhere): big runs only.
            ("prompts", lambda: rng.choice([10, 1000, 10_000, 100_000 if self.big else 20_000])),
            ("nul_bytes", lambda: rng.randrange(1, 200)),
            ("huge_numbers", lambda: rng.choice([20, 400, 5000])),
            ("nested_headers", lambda: rng.choice([50, 2000, 20_000])),
            ("binary", lambda: rng.choice([100, 10_000, 200_000])),
            ("seed_mutation", lambda: rng.randrange(1, 60)),
        ]
        kind, size_of = rng.choice(kinds)
        size = size_of()
        if self.big and rng.random() < 0.04:
            kind, size = "pool_table", 200_000
        recipe = {"kind": kind, "seed": rng.getrandbits(32), "size": size}
        uri = f"file:///fuzz/doc{len(self.docs) + 1}-{kind}.log"
        if uri in self.docs:
            uri = uri.replace(".log", f"-{rng.getrandbits(16)}.log")
        self.docs[uri] = 1
        self.lines[uri] = max(1, self._line_estimate(kind, size))
        language = rng.choice(["windbg-log", "windbg-log", "plaintext", "log", "c"])
        return [
            {
                "send": {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {
                        "textDocument": {
                            "uri": uri,
                            "languageId": language,
                            "version": 1,
                            "text": {"$doc": recipe},
                        }
                    },
                }
            }
        ]

    @staticmethod
    def _line_estimate(kind: str, size: int) -> int:
        return {
            "pool_table": size + 30,
            "prompts": size,
            "nested_headers": size,
            "long_line": 30,
        }.get(kind, 40)

    def edit(self) -> list[dict[str, Any]]:
        rng = self.rng
        if not self.docs:
            return self.open_doc()
        uri = rng.choice(sorted(self.docs))
        self.docs[uri] += 1
        version = self.docs[uri] if rng.random() < 0.9 else rng.choice([0, -1, 2**31, 1])
        changes: list[Any] = []
        for _ in range(rng.randrange(1, 4)):
            roll = rng.random()
            text = rng.choice(
                [
                    "",
                    "x",
                    "\n",
                    pool_row(rng) + "\n",
                    rng.choice(BLOCK_HEADERS) + "\n",
                    "\x00\x01\u2028\ud7ff",
                    "kd> " * 50,
                ]
            )
            if roll < 0.6:
                changes.append({"range": self.range_(uri), "text": text})
            elif roll < 0.7:
                changes.append({"text": text * rng.randrange(1, 20)})
            elif roll < 0.8:
                changes.append({"range": self.range_(uri), "rangeLength": -4, "text": text})
            else:
                changes.append(rng.choice([None, {}, {"range": "a"}, 5, {"text": None}]))
        return [
            {
                "send": {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didChange",
                    "params": {
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": changes,
                    },
                }
            }
        ]

    def close_doc(self) -> list[dict[str, Any]]:
        if not self.docs:
            return []
        uri = self.rng.choice(sorted(self.docs))
        del self.docs[uri]
        return [
            {
                "send": {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didClose",
                    "params": {"textDocument": {"uri": uri}},
                }
            }
        ]

    def request(self) -> list[dict[str, Any]]:
        rng = self.rng
        uri = self.uri()
        msg_id = self.new_id()
        self.sent_ids.append(msg_id)
        doc = {"uri": uri}
        roll = rng.random()
        params: Any
        if roll < 0.4:
            method = rng.choice(POSITION_METHODS)
            params = {"textDocument": doc, "position": self.position(uri)}
            if method == "textDocument/references":
                params["context"] = rng.choice(
                    [{"includeDeclaration": True}, {"includeDeclaration": False}, None, {}]
                )
        elif roll < 0.7:
            method = rng.choice(RANGE_METHODS)
            params = {"textDocument": doc, "range": self.range_(uri)}
            if method == "textDocument/codeAction":
                params["context"] = rng.choice(
                    [{"diagnostics": []}, {"diagnostics": [], "only": ["source"]}, None, {"x": 1}]
                )
        elif roll < 0.9:
            method = rng.choice(DOCUMENT_METHODS)
            params = {"textDocument": doc}
        else:
            method, params = rng.choice(
                [
                    (
                        "workspace/executeCommand",
                        {"command": "kdlens.copyCommand", "arguments": ["!verifier 3"]},
                    ),
                    (
                        "workspace/executeCommand",
                        {"command": "kdlens.copyCommand", "arguments": [None, 5]},
                    ),
                    ("workspace/executeCommand", {"command": "no.such.command"}),
                    ("kdlens/unknown", {"a": 1}),
                    (
                        "textDocument/completion",
                        {"textDocument": doc, "position": self.position(uri)},
                    ),
                    ("workspace/symbol", {"query": "Fuzz"}),
                ]
            )
        if rng.random() < 0.05:
            params = rng.choice([None, [], "params", 7, {"textDocument": None}])
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None or rng.random() < 0.5:
            message["params"] = params
        return [{"send": message}]

    def cancel_storm(self) -> list[dict[str, Any]]:
        rng = self.rng
        steps: list[dict[str, Any]] = []
        for _ in range(rng.randrange(1, 60)):
            target: Any
            if self.sent_ids and rng.random() < 0.7:
                target = rng.choice(self.sent_ids[-30:])
            else:
                target = rng.choice([999_999, "nope", None, -1, [1], 1.5])
            if rng.random() < 0.4:
                steps += self.request()
            steps.append(
                {"send": {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": target}}}
            )
        return steps

    def malformed(self) -> list[dict[str, Any]]:
        """One damaged frame; ids of requests whose answer is still owed go in ``expect``."""
        rng = self.rng
        msg_id = self.new_id()
        req = {
            "jsonrpc": "2.0",
            "id": msg_id,
            "method": "textDocument/hover",
            "params": {
                "textDocument": {"uri": self.uri()},
                "position": {"line": 0, "character": 0},
            },
        }
        body = json.dumps(req).encode()
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 64)))
        shapes: list[tuple[bytes, list[Any]]] = [
            (b"Content-Length: abc\r\n\r\n" + body, []),
            (b"Content-Length: -7\r\n\r\n" + body, []),
            (b"Content-Type: x\r\n\r\n" + body, []),
            (b"Content-Length: 3\r\nContent-Length: 9\r\n\r\n" + body, []),
            (b"garbage line\r\n\r\n" + body, []),
            (junk, []),
            (junk + b"\r\n\r\n", []),
            # Declared longer than the JSON, padded so the promised bytes all arrive.
            (b"Content-Length: %d\r\n\r\n" % (len(body) + 40) + body[:-5] + b" " * 45, [msg_id]),
            # Declared shorter: the cut body still names its id, which is answered.
            (b"Content-Length: %d\r\n\r\n" % (len(body) - 9) + body, [msg_id]),
            (b"Content-Length: 9\r\n\r\n{not json", []),
            (frame(rng.choice([42, "text", None, True, [1, 2], []])), []),
            (frame([req]), [msg_id]),
            (b"Content-Length: 9223372036854775807\r\n\r\n" + body, [msg_id]),
            (b"Content-Length: 1099511627776\r\n\r\n" + body, [msg_id]),
            (b"Content-Length: 3000000000\r\n\r\n" + body, [msg_id]),
            (b"Content-Length: " + b"9" * 400 + b"\r\n\r\n" + body, [msg_id]),
            (b"Content-Length: 0\r\n\r\n", []),
            (b"Content-Length: 10\r\nX", []),  # glued to whatever comes next
            (b"\r\n\r\n\r\n", []),
            (b"Content-Length: %d\r\n\r\n" % len(body) + body, [msg_id]),  # a good one in disguise
            (frame({"jsonrpc": "2.0", "id": msg_id, "method": 5}), [msg_id]),
            (frame({"jsonrpc": "2.0", "id": msg_id}), [msg_id]),
            (frame({"jsonrpc": "1.0", "id": msg_id, "method": "shutdown"}), [msg_id]),
            (frame({"id": msg_id, "method": "textDocument/hover"}), [msg_id]),
            (b"Content-Length: 40\r\n\r\n" + b"[" * 40, []),
            (b"Content-Length: 200005\r\n\r\n" + b"[" * 100_000 + b"]" * 100_000 + b"     ", []),
        ]
        data, expect = rng.choice(shapes)
        return [raw_step(data, expect)]

    def session(self, steps: int) -> list[dict[str, Any]]:
        """A whole session: open some documents, then a random mix, then a random ending."""
        rng = self.rng
        out: list[dict[str, Any]] = []
        for _ in range(rng.randrange(1, 4)):
            out += self.open_doc()
        actions = [
            (self.request, 40),
            (self.edit, 14),
            (self.malformed, 10),
            (self.cancel_storm, 4),
            (self.open_doc, 4),
            (self.close_doc, 2),
            (lambda: [{"wait": True}], 6),
        ]
        funcs = [f for f, _ in actions]
        weights = [w for _, w in actions]
        for _ in range(steps):
            (pick,) = rng.choices(funcs, weights)
            out += pick()
        out.append({"wait": True})
        out.append(
            {
                "end": rng.choice(
                    ["exit", "exit", "exit", "exit-without-shutdown", "eof-after-shutdown"]
                )
            }
        )
        return out
