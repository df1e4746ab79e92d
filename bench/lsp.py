"""Time the language server on a large session (``make bench`` runs it after run.py).

A real ``kdlens serve`` process is driven over stdio by a pygls client:

- first diagnostics: from ``didOpen`` of a 300,000-line session to the first
  ``publishDiagnostics`` for it;
- hover and definition: latency of each request as the client sees it (an
  upper bound of the server-side time), p50 and p99 over a few hundred
  positions on addresses, sizes, tags and callers;
- edit: from a one-character ``didChange`` to the diagnostics for the new
  version (this includes the server's debounce, reported separately).

Aims: hover/definition p99 under 20 ms, first diagnostics under 1 s, edit
re-analysis under 50 ms. Benchmarks are not tests; nothing here fails a build.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

HERE = Path(__file__).resolve().parent
DEFAULT_LOG = HERE / "out" / "session-300k.log"
LINES = 300_000


def ensure_log(path: Path) -> None:
    if path.exists() and path.stat().st_mtime >= (HERE / "gen.py").stat().st_mtime:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(HERE / "gen.py"), str(path), "--lines", str(LINES)], check=True
    )


def pick_positions(text: str, limit: int) -> list[lsp.Position]:
    """Positions on tokens the features care about, spread over the whole file."""
    out: list[lsp.Position] = []
    lines = text.splitlines()
    step = max(len(lines) // (limit * 4), 1)
    for i in range(0, len(lines), step):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith("0x") and "  " in stripped:  # a Pool Allocations row
            col = len(line) - len(stripped) + 3
        elif stripped.startswith("Pool block "):
            col = len(line) - len(stripped) + 12
        elif stripped[:8].strip() and all(c in "0123456789abcdef`" for c in stripped[:8]):
            col = len(line) - len(stripped) + 2
        else:
            continue
        out.append(lsp.Position(line=i, character=col))
        if len(out) >= limit:
            break
    return out


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


async def run(path: Path, samples: int) -> list[str]:
    text = path.read_text(encoding="utf-8")
    uri = path.resolve().as_uri()
    client = LanguageClient("kdlens-bench", "1")
    published: dict[int | None, float] = {}
    got = asyncio.Event()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
        if params.uri == uri:
            published[params.version] = time.perf_counter()
            got.set()

    await client.start_io(sys.executable, "-m", "kdlens", "serve")
    await client.initialize_async(
        lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(),
            root_uri=path.parent.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=path.parent.as_uri(), name="bench")],
        )
    )
    client.initialized(lsp.InitializedParams())
    rows: list[str] = []
    try:
        t0 = time.perf_counter()
        client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(uri=uri, language_id="windbg-log", version=1, text=text)
            )
        )
        await asyncio.wait_for(got.wait(), 600)
        first = published[1] - t0
        doc = lsp.TextDocumentIdentifier(uri=uri)
        positions = pick_positions(text, samples)

        hover_ms: list[float] = []
        for pos in positions:
            t = time.perf_counter()
            await client.text_document_hover_async(lsp.HoverParams(text_document=doc, position=pos))
            hover_ms.append((time.perf_counter() - t) * 1000)
        def_ms: list[float] = []
        for pos in positions:
            t = time.perf_counter()
            await client.text_document_definition_async(lsp.DefinitionParams(text_document=doc, position=pos))
            def_ms.append((time.perf_counter() - t) * 1000)

        # a one-character edit inside the first table row's tag
        row = next(p for p in positions if text.splitlines()[p.line].lstrip().startswith("0x"))
        got.clear()
        t = time.perf_counter()
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    lsp.TextDocumentContentChangePartial(
                        range=lsp.Range(
                            start=lsp.Position(line=row.line, character=row.character + 2),
                            end=lsp.Position(line=row.line, character=row.character + 3),
                        ),
                        text="f",
                    )
                ],
            )
        )
        while 2 not in published:
            got.clear()
            await asyncio.wait_for(got.wait(), 600)
        edit = published[2] - t
        from kdlens.lsp.server import DEBOUNCE_SECONDS

        def verdict(ok: bool) -> str:
            return "met" if ok else "NOT met"

        mb = path.stat().st_size / 1e6
        n = len(text.splitlines())
        rows += [
            f"language server on {path.name}: {n:,} lines, {mb:.1f} MB",
            f"  first diagnostics after didOpen : {first * 1000:8.0f} ms   (aim < 1000 ms: {verdict(first < 1)})",
            f"  hover       p50 / p99           : {pct(hover_ms, 50):8.2f} / {pct(hover_ms, 99):.2f} ms"
            f"   (aim p99 < 20 ms: {verdict(pct(hover_ms, 99) < 20)}; {len(hover_ms)} requests)",
            f"  definition  p50 / p99           : {pct(def_ms, 50):8.2f} / {pct(def_ms, 99):.2f} ms"
            f"   (aim p99 < 20 ms: {verdict(pct(def_ms, 99) < 20)})",
            f"  edit -> new diagnostics         : {edit * 1000:8.0f} ms   "
            f"(of which debounce {DEBOUNCE_SECONDS * 1000:.0f} ms; aim < 50 ms after it: "
            f"{verdict(edit - DEBOUNCE_SECONDS < 0.05)})",
            f"  mean hover {statistics.mean(hover_ms):.2f} ms, mean definition {statistics.mean(def_ms):.2f} ms",
        ]
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", nargs="?", type=Path, default=DEFAULT_LOG)
    ap.add_argument("--samples", type=int, default=300)
    args = ap.parse_args(argv)
    if args.log == DEFAULT_LOG:
        ensure_log(args.log)
    for line in asyncio.run(run(args.log, args.samples)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
