"""Drive one generated (or recorded) session against a real server and check its promises.

The promises, for every session:

- every request with a usable id is answered, exactly once, within
  ``ANSWER_BOUND`` seconds of being sent (hangs show up as a missing answer);
- the process stays alive until the session ends it, and then exits with the
  status the LSP asks for (0 after shutdown, 1 without);
- its resident memory stays under ``RSS_BOUND``;
- its output stays well-framed, error answers carry no traceback, and no
  error popup (``window/showMessage`` of type Error) is sent.

A broken promise is a ``Finding``; ``record`` writes the session that led to
it into ``corpus/`` as a JSON list of steps that ``run_session`` replays.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzz.generate import materialise
from fuzz.lspwire import WireServer, frame, notification, request

CORPUS = Path(__file__).resolve().parent / "corpus"
#: Longest a request may wait for its answer.
ANSWER_BOUND = 20.0
#: Largest resident set the server may reach.
RSS_BOUND = 1536 * 1024 * 1024
#: Messages larger than this are stored as their ``$doc`` recipe in the corpus.
_INLINE_TEXT = 64 * 1024


@dataclass
class Finding:
    reason: str
    #: Index of the step that the failure is attributed to.
    step: int
    detail: str = ""
    stderr: str = ""

    def __str__(self) -> str:
        text = f"step {self.step}: {self.reason}"
        if self.detail:
            text += f"\n  {self.detail}"
        if self.stderr:
            text += "\n  server stderr (tail):\n    " + self.stderr[-3000:].replace("\n", "\n    ")
        return text


@dataclass
class _Pending:
    sent: float
    step: int
    summary: str


@dataclass
class SessionReport:
    finding: Finding | None
    requests: int = 0
    peak_rss: int = 0
    seconds: float = 0.0
    slow: list[str] = field(default_factory=list)


def _usable_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def expected_ids(payload: Any) -> list[Any]:
    """Ids the server owes an answer for one sent message (JSON-RPC: requests, batches too)."""
    if isinstance(payload, list):
        return [
            m["id"]
            for m in payload
            if isinstance(m, dict) and "method" in m and _usable_id(m.get("id"))
        ]
    if not isinstance(payload, dict) or not _usable_id(payload.get("id")):
        return []
    if "method" not in payload and ("result" in payload or "error" in payload):
        return []  # a response from the client: nothing to answer
    return [payload["id"]]


def _summary(payload: Any) -> str:
    text = json.dumps(payload)
    return text if len(text) <= 400 else text[:400] + "..."


def run_session(
    steps: list[dict[str, Any]],
    answer_bound: float = ANSWER_BOUND,
    rss_bound: int = RSS_BOUND,
) -> SessionReport:
    """Replay ``steps`` against a fresh ``kdlens serve``; the first broken promise, if any."""
    started = time.monotonic()
    report = SessionReport(finding=None)
    with WireServer() as server:
        pending: dict[Any, _Pending] = {}
        answered: set[Any] = set()
        shutdown_id = "fuzz-shutdown"

        def fail(reason: str, step: int, detail: str = "") -> SessionReport:
            report.finding = Finding(reason, step, detail, server.stderr_text())
            report.seconds = time.monotonic() - started
            return report

        def settle(wait: bool) -> Finding | None:
            """Move answered requests out of ``pending``; with ``wait``, give each its full bound."""
            for msg_id, p in sorted(pending.items(), key=lambda kv: kv[1].sent):
                left = p.sent + answer_bound - time.monotonic()
                reply = server.response(msg_id, max(left, 0.0) if wait else 0.0)
                if reply is None:
                    if wait or left <= 0:
                        return Finding(
                            f"request {msg_id!r} not answered within {answer_bound:.0f} s",
                            p.step,
                            p.summary,
                            server.stderr_text(),
                        )
                    continue
                if time.monotonic() - p.sent > answer_bound / 2:
                    report.slow.append(p.summary)
                del pending[msg_id]
                answered.add(msg_id)
            return None

        def check(step: int) -> Finding | None:
            if server.output_error:
                return Finding(server.output_error, step, stderr=server.stderr_text())
            if not server.alive():
                return Finding(
                    f"the server died (exit status {server.proc.returncode})",
                    step,
                    stderr=server.stderr_text(),
                )
            rss = server.rss_bytes()
            if rss is not None:
                report.peak_rss = max(report.peak_rss, rss)
                if rss > rss_bound:
                    return Finding(f"resident memory {rss:,} bytes exceeds {rss_bound:,}", step)
            for note in server.notifications("window/showMessage"):
                if note.get("params", {}).get("type") == 1:
                    return Finding("an error popup was shown", step, json.dumps(note)[:400])
            return None

        try:
            server.start_session(60.0)
        except AssertionError as exc:
            return fail(str(exc), -1)

        for index, step in enumerate(steps):
            if "note" in step:
                continue
            if "send" in step:
                payload = materialise(step["send"])
                server.send(frame(payload))
                for msg_id in expected_ids(payload):
                    pending[msg_id] = _Pending(time.monotonic(), index, _summary(step["send"]))
                    report.requests += 1
            elif "raw" in step:
                data = base64.b64decode(step["raw"])
                server.send(data)
                for msg_id in step.get("expect", []):
                    pending[msg_id] = _Pending(time.monotonic(), index, f"raw frame {data[:200]!r}")
                    report.requests += 1
            elif "wait" in step:
                finding = settle(wait=True)
                if finding:
                    report.finding = finding
                    break
            elif "end" in step:
                finding = settle(wait=True) or _end(
                    server, step["end"], index, answer_bound, shutdown_id
                )
                if finding:
                    report.finding = finding
                break
            finding = check(index) or settle(wait=False)
            if finding:
                report.finding = finding
                break

        if report.finding is None:
            report.finding = _answered_once(server, answered, len(steps))
    report.seconds = time.monotonic() - started
    return report


def _end(
    server: WireServer, how: str, index: int, bound: float, shutdown_id: str
) -> Finding | None:
    if how in ("exit", "eof-after-shutdown"):
        server.send(frame(request(shutdown_id, "shutdown")))
        if server.response(shutdown_id, bound) is None:
            return Finding("shutdown not answered", index, stderr=server.stderr_text())
    if how in ("exit", "exit-without-shutdown"):
        server.send(frame(notification("exit")))
    else:
        server.close_stdin()
    want = 1 if how == "exit-without-shutdown" else 0
    code = server.wait_exit(bound)
    if code != want:
        return Finding(
            f"ending with {how!r} left exit status {code} (expected {want})",
            index,
            stderr=server.stderr_text(),
        )
    return None


def _answered_once(server: WireServer, ids: set[Any], last: int) -> Finding | None:
    for msg_id in ids:
        replies = server.responses_to(msg_id)
        if len(replies) != 1:
            return Finding(f"request {msg_id!r} answered {len(replies)} times", last)
        error = replies[0].get("error")
        if isinstance(error, dict) and (
            error.get("data") is not None or "Traceback" in str(error.get("message"))
        ):
            return Finding(f"error answer to {msg_id!r} carries internals", last, str(error)[:400])
    return None


def _compact(step: dict[str, Any]) -> dict[str, Any]:
    """Store a step as sent, keeping big texts as their recipe."""
    text = json.dumps(materialise(step)) if "send" in step else ""
    return step if len(text) > _INLINE_TEXT else (materialise(step) if "send" in step else step)


def record(steps: list[dict[str, Any]], finding: Finding, seed: int | None) -> Path:
    """Write the session up to the failing step (plus a clean ending) into ``corpus/``."""
    upto = steps[: max(finding.step, 0) + 1]
    if not upto or "end" not in upto[-1]:
        upto = [*upto, {"wait": True}, {"end": "exit"}]
    note: dict[str, Any] = {"note": f"seed {seed}: {finding.reason}"}
    known = known_issue(steps, finding)
    if known:
        note["known"] = known
    kept = [note, *(_compact(s) for s in upto)]
    text = json.dumps(kept, indent=1)
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    CORPUS.mkdir(exist_ok=True)
    path = CORPUS / f"seed{seed}-{digest}.json"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def load(path: Path) -> list[dict[str, Any]]:
    steps = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(steps, list):
        raise ValueError(f"{path.name}: a corpus file is a JSON list of steps")
    return steps


#: Problems known to be in the feature code (being fixed elsewhere), by the label used in reports.
#: The first analysis of a 100,000-line table or prompt run takes longer than the
#: harness' answer bound, and requests wait (up to 10 s) for it.
KNOWN_HUGE_LOG = "the first analysis of a huge log outlasts the answer bound"


def known_issue(steps: list[dict[str, Any]], finding: Finding) -> str | None:
    """The known feature-code problem a finding is an instance of, if it is one.

    Only unanswered requests qualify: a crash, a leak or a bad exit status is
    never put down to a known slowness. The steps up to the failure are
    searched, since the request that blocks the server is not always the one
    reported unanswered.
    """
    if "not answered" not in finding.reason:
        return None
    upto = steps[: max(finding.step, 0) + 1]
    for step in upto:
        message = step.get("send")
        if not isinstance(message, dict):
            continue
        params = message.get("params")
        if not isinstance(params, dict):
            continue
        doc = params.get("textDocument")
        recipe = doc.get("text") if isinstance(doc, dict) else None
        if isinstance(recipe, dict) and isinstance(recipe.get("$doc"), dict):
            spec = recipe["$doc"]
            if spec.get("kind") in ("pool_table", "prompts") and spec.get("size", 0) >= 100_000:
                return KNOWN_HUGE_LOG
    return None
