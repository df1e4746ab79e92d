"""Code actions that copy a debugger command, and the command that does the copying.

The server cannot reach the user's clipboard. ``kdlens.copyCommand`` answers
with its text; a client that said ``{"clientCopiesCommands": true}`` in its
initialization options copies that answer itself (the kdlens VS Code
extension does), any other client also gets the text in a message so the
user can copy it from there.

The flag is read from ``KdlensServer.initialization_options``, which the
lifecycle feature records at ``initialize``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lsprotocol import types as lsp

from ...features.actions import ActionKind, CopyAction, DiagnosticRef, code_actions, copy_text
from ...model import Range
from ..convert import Columns
from ..server import KdlensServer, guard

COPY_COMMAND = "kdlens.copyCommand"

_KINDS = {
    ActionKind.QUICKFIX: lsp.CodeActionKind.QuickFix,
    ActionKind.SOURCE: lsp.CodeActionKind.Source,
}


def client_copies_commands(ls: KdlensServer) -> bool:
    """True when the client's initialization options say it copies ``kdlens.copyCommand`` results."""
    options: Any = ls.initialization_options
    if not isinstance(options, Mapping):
        return False
    if options.get("clientCopiesCommands") is True:
        return True
    inner = options.get("kdlens")
    return isinstance(inner, Mapping) and inner.get("clientCopiesCommands") is True


def copy_command(text: str) -> lsp.Command:
    return lsp.Command(title="Copy debugger command", command=COPY_COMMAND, arguments=[text])


#: Most actions one answer holds: a selection over a 200,000-row table would offer
#: a command per row, a menu nobody reads and megabytes on the wire.
MAX_CODE_ACTIONS = 200


def bounded(actions: list[CopyAction]) -> list[CopyAction]:
    """At most ``MAX_CODE_ACTIONS``: those fixing a diagnostic the editor sent come first."""
    if len(actions) <= MAX_CODE_ACTIONS:
        return actions
    ranked = sorted(range(len(actions)), key=lambda i: not actions[i].diagnostics)
    return [actions[i] for i in sorted(ranked[:MAX_CODE_ACTIONS])]


def _wanted(kind: lsp.CodeActionKind, only: list[str] | None) -> bool:
    if not only:
        return True
    return any(kind.value == k or kind.value.startswith(f"{k}.") or not k for k in only)


def to_code_action(action: CopyAction, sent: list[lsp.Diagnostic]) -> lsp.CodeAction:
    fixes = [sent[i] for i in action.diagnostics if i < len(sent)]
    return lsp.CodeAction(
        title=action.title,
        kind=_KINDS[action.kind],
        diagnostics=fixes or None,
        command=copy_command(action.text),
    )


def register(server: KdlensServer) -> None:
    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(
            code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.Source]
        ),
    )
    @guard(lambda: [])
    async def code_action(ls: KdlensServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        snap = await ls.snapshot(params.text_document.uri)
        if snap is None:
            return []
        cols = ls.columns(snap)
        sent = [d for d in params.context.diagnostics if d.source == "kdlens"]
        refs = [
            DiagnosticRef(
                code=str(d.code) if d.code is not None else "",
                range=_model_range(cols, d.range),
                data=d.data if isinstance(d.data, Mapping) else {},
            )
            for d in sent
        ]
        rng = cols.model_range(params.range)
        actions = code_actions(snap.analysis, rng.start.line, rng.end.line, refs)
        only = [str(getattr(k, "value", k)) for k in params.context.only or []]
        wanted = [a for a in actions if _wanted(_KINDS[a.kind], only or None)]
        return [to_code_action(a, sent) for a in bounded(wanted)]

    @server.command(COPY_COMMAND)
    async def copy(ls: KdlensServer, *args: Any) -> str | None:
        return await _copy(ls, list(args))


@guard(lambda: None)
async def _copy(ls: KdlensServer, args: list[Any]) -> str | None:
    text = copy_text(args)
    if text is None:
        ls.log_info(f"kdlens: {COPY_COMMAND} expects one string argument")
        return None
    if not client_copies_commands(ls):
        ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Info, message=text))
    return text


def _model_range(cols: Columns, r: lsp.Range) -> Range:
    return cols.model_range(r)
