"""Downloads from a trusted symbol server on 127.0.0.1, in every store layout.

The server (``fixtures/symbols/symserver.py``) is a real ``http.server``;
kdlens talks to it through urllib as it would to a team's server. Each test
checks what arrives in the downstream cache, which lines the log's frames
resolve to afterwards, and which requests the server saw.
"""

from __future__ import annotations

import http.server
import re
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdlens.analysis import Analysis
from kdlens.cli.main import main
from kdlens.symbols.resolver import SymbolFiles, SymbolState
from kdlens.symbols.symsrv import DownloadEvent, Outcome

from fixtures.symbols.symserver import LAYOUTS, StoreServer, recording_server, serve_store
from fixtures.symbols.symtest import X64_LOG, analyze_log, copy_sources, key_of

KEY = key_of("x64-O2")
LEAK_LINES = ["alloc.c:13", "workitem.c:28", "alloc.c:13"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreServer]:
    root = tmp_path_factory.mktemp("symserver")
    with (
        recording_server() as witness,
        serve_store(root / "stores", root / "shared", away_to=witness.url) as srv,
    ):
        srv.witness = witness  # type: ignore[attr-defined]
        yield srv


def files(
    server: StoreServer,
    cache: Path,
    layout: str,
    *,
    tables: Path,
    trusted: tuple[str, ...] | None = None,
    wait: bool = True,
    timeout: float = 10.0,
    listener: object = None,
    trusted_unc_hosts: tuple[str, ...] = (),
) -> SymbolFiles:
    return SymbolFiles(
        [f"srv*{cache}*{server.url}/{layout}"],
        trusted_unc_hosts=trusted_unc_hosts,
        cache_dir=tables,
        trusted_servers=(server.url,) if trusted is None else trusted,
        wait_for_downloads=wait,
        request_timeout=timeout,
        listener=listener,  # type: ignore[arg-type]
    )


def leak_lines(symbols: SymbolFiles, text: str | None = None) -> tuple[list[str], Analysis]:
    _, analysis = analyze_log(text or X64_LOG.read_text(), symbols)
    lines = [leak.source.short if leak.source else "-" for leak in analysis.leaks]
    return lines, analysis


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_is_downloaded_verified_and_reused(
    server: StoreServer, tmp_path: Path, layout: str
) -> None:
    cache = tmp_path / "cache"
    before = len(server.requests)
    symbols = files(server, cache, layout, tables=tmp_path / "t")
    lines, _ = leak_lines(symbols)
    assert lines == LEAK_LINES
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.VERIFIED
    assert status.pdb == (cache / "mydriver.pdb" / KEY / "mydriver.pdb").resolve()
    assert server.requests[before:], "nothing was asked"
    assert not list(cache.rglob(".kdlens-*")), "a temporary file was left behind"
    # a second run (a new process would do the same) finds the cache: no request at all
    asked = len(server.requests)
    again = files(server, cache, layout, tables=tmp_path / "t2")
    assert leak_lines(again)[0] == LEAK_LINES
    assert len(server.requests) == asked


def test_the_layouts_are_asked_the_way_symsrv_asks(server: StoreServer, tmp_path: Path) -> None:
    for layout in ("tiered", "lower", "packed"):
        leak_lines(files(server, tmp_path / layout, layout, tables=tmp_path / "t"))
    assert server.paths("/tiered/")[:2] == [
        "/tiered/index2.txt",
        f"/tiered/my/mydriver.pdb/{KEY}/mydriver.pdb",
    ]
    assert server.paths("/lower/")[-1] == f"/lower/mydriver.pdb/{KEY.lower()}/mydriver.pdb"
    assert server.paths("/packed/")[-2:] == [
        f"/packed/mydriver.pdb/{KEY}/mydriver.pdb",
        f"/packed/mydriver.pdb/{KEY}/mydriver.pd_",
    ]


def test_an_untrusted_server_is_never_contacted_and_the_message_names_the_setting(
    server: StoreServer, tmp_path: Path
) -> None:
    before = len(server.requests)
    symbols = files(server, tmp_path / "c", "plain", tables=tmp_path / "t", trusted=())
    assert leak_lines(symbols)[0] == ["-", "-", "-"]
    assert len(server.requests) == before
    (message,) = [m for m in symbols.messages if "not contacted" in m]
    assert server.url in message and "kdlens.trustedSymbolServers" in message
    # a prefix that only looks alike is no trust either
    lookalike = (f"{server.url}/plai", f"http://127.0.0.1.evil:{server.port}/")
    symbols = files(server, tmp_path / "c", "plain", tables=tmp_path / "t", trusted=lookalike)
    leak_lines(symbols)
    assert len(server.requests) == before


def _with_sympath(text: str, url: str, cache: Path) -> str:
    """The log with its own ``.sympath`` output naming ``url`` (as a debugger prints it)."""
    echo = (
        "0: kd> .sympath\n"
        f"Symbol search path is: srv*{cache}*{url}\n"
        f"Expanded Symbol search path is: cache*{cache};SRV*{url}\n"
        f"0: kd> .sympath+ srv*{cache}*{url}/plain\n"
    )
    return echo + text


def test_a_server_named_by_the_log_itself_gets_no_request(
    server: StoreServer, tmp_path: Path
) -> None:
    """Even a trusted server: only the user's settings make up the symbol path."""
    empty = tmp_path / "empty"
    empty.mkdir()
    text = _with_sympath(X64_LOG.read_text(), f"{server.url}/plain", tmp_path / "logcache")
    before = len(server.requests)
    symbols = SymbolFiles(
        [str(empty)],
        cache_dir=tmp_path / "t",
        trusted_servers=(server.url,),
        wait_for_downloads=True,
    )
    session, analysis = analyze_log(text, symbols)
    assert [p.kind for p in session.paths] == ["symbol", "symbol"]
    assert [leak.source for leak in analysis.leaks] == [None, None, None]
    assert len(server.requests) == before
    assert not (tmp_path / "logcache").exists()


def test_a_miss_is_asked_once_and_remembered_on_disk(server: StoreServer, tmp_path: Path) -> None:
    before = len(server.requests)
    symbols = files(server, tmp_path / "c", "missing", tables=tmp_path / "t")
    lines, _analysis = leak_lines(symbols)
    assert lines == ["-", "-", "-"]
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.NOT_FOUND
    assert f"{server.url}/missing: not found" in status.message
    asked = len(server.requests) - before
    assert asked == 7  # index2.txt, then file, .pd_ and file.ptr in two spellings
    leak_lines(symbols)
    assert len(server.requests) - before == asked
    # a new source over the same kdlens cache folder (the next `kdlens check`) does not ask
    leak_lines(files(server, tmp_path / "c", "missing", tables=tmp_path / "t"))
    assert len(server.requests) - before == asked
    # another cache folder: asks again
    leak_lines(files(server, tmp_path / "c", "missing", tables=tmp_path / "t3"))
    assert len(server.requests) - before == 2 * asked


@pytest.mark.parametrize(
    ("layout", "said"),
    [
        ("garbage", r"was rejected: it is not a PDB"),
        (
            "wrong",
            r"was rejected: it is the PDB with GUID \{56579EC8-A7D0-6FF5-4C4C-44205044422E\} "
            r"age 1, not GUID \{7834772B-26A0-5685-4C4C-44205044422E\} age 1",
        ),
    ],
)
def test_bytes_that_are_not_the_pdb_asked_for_are_rejected_and_not_stored(
    server: StoreServer, tmp_path: Path, layout: str, said: str
) -> None:
    cache = tmp_path / "c"
    symbols = files(server, cache, layout, tables=tmp_path / "t")
    lines, analysis = leak_lines(symbols)
    assert lines == ["-", "-", "-"]
    (diag,) = [d for d in analysis.diagnostics if d.code == "symbol-download"]
    assert re.search(said, diag.message), diag.message
    assert "mydriver.pdb for mydriver refused" in diag.message
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_a_hanging_server_times_out_and_says_so(server: StoreServer, tmp_path: Path) -> None:
    symbols = files(server, tmp_path / "c", "hang", tables=tmp_path / "t", timeout=0.5)
    lines, analysis = leak_lines(symbols)
    assert lines == ["-", "-", "-"]
    (diag,) = [d for d in analysis.diagnostics if d.code == "symbol-download"]
    assert "no answer within 0.5 s" in diag.message
    assert server.paths("/hang/") == ["/hang/index2.txt"]  # gave up on this server


def test_redirects_are_followed_only_to_trusted_prefixes(
    server: StoreServer, tmp_path: Path
) -> None:
    witness: StoreServer = server.witness  # type: ignore[attr-defined]
    symbols = files(server, tmp_path / "c", "away", tables=tmp_path / "t")
    lines, analysis = leak_lines(symbols)
    assert lines == ["-", "-", "-"]
    (diag,) = [d for d in analysis.diagnostics if d.code == "symbol-download"]
    assert f"redirects to {witness.url}/plain/" in diag.message and "not followed" in diag.message
    assert witness.requests == []


def test_file_ptr_messages_and_untrusted_shares(server: StoreServer, tmp_path: Path) -> None:
    symbols = files(server, tmp_path / "c", "message", tables=tmp_path / "t")
    leak_lines(symbols)
    status = symbols.status("mydriver")
    assert status is not None
    assert "the server says: withheld by the release team until the audit ends" in status.message
    symbols = files(server, tmp_path / "c", "sharedptr", tables=tmp_path / "t")
    _, analysis = leak_lines(symbols)
    (diag,) = [d for d in analysis.diagnostics if d.code == "symbol-download"]
    assert "buildsrv" in diag.message and "trustedUncHosts" in diag.message


def test_authorization_comes_from_the_named_variable_for_its_prefix_only(
    server: StoreServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDLENS_TEST_SYMBOL_PAT", "s3cret")
    before = len(server.requests)
    symbols = SymbolFiles(
        [f"srv*{tmp_path / 'c'}*{server.url}/moved"],
        cache_dir=tmp_path / "t",
        trusted_servers=(server.url,),
        server_auth=((f"{server.url}/moved", "KDLENS_TEST_SYMBOL_PAT"),),
        wait_for_downloads=True,
    )
    assert leak_lines(symbols)[0] == LEAK_LINES
    seen = server.requests[before:]
    moved = [r for r in seen if r.path.startswith("/moved/")]
    plain = [r for r in seen if r.path.startswith("/plain/")]
    assert moved and plain
    # base64(":s3cret"): a personal access token with an empty user name
    assert {r.headers.get("Authorization") for r in moved} == {"Basic OnMzY3JldA=="}
    assert {r.headers.get("Authorization") for r in plain} == {None}


def _without_lmi(text: str) -> str:
    """The x64 log with ``lmvm`` (timestamp and size) instead of ``lm`` and ``!lmi``."""
    start = text.index("0: kd> lm m mydriver")
    end = text.index("0: kd> !verifier 3")
    verbose = (
        "0: kd> lmvm mydriver\n"
        "start             end                 module name\n"
        "fffff807`1b2b0000 fffff807`1b2b4000   mydriver   (no symbols)\n"
        "    Image path: \\SystemRoot\\system32\\drivers\\mydriver.sys\n"
        "    Image name: mydriver.sys\n"
        "    Timestamp:        Thu Feb 25 17:03:30 2021 (6037D862)\n"
        "    CheckSum:         00000000\n"
        "    ImageSize:        00004000\n"
        "\n"
    )
    return text[:start] + verbose + text[end:]


def test_without_a_guid_the_image_comes_first_and_names_the_pdb(
    server: StoreServer, tmp_path: Path
) -> None:
    cache = tmp_path / "c"
    before = len(server.requests)
    symbols = files(server, cache, "plain", tables=tmp_path / "t")
    lines, _ = leak_lines(symbols, _without_lmi(X64_LOG.read_text()))
    assert lines == LEAK_LINES
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.VERIFIED
    assert "/plain/mydriver.sys/6037D8624000/mydriver.sys" in server.paths()[before:]
    assert (cache / "mydriver.sys" / "6037D8624000" / "mydriver.sys").is_file()


class Events:
    """Collects download events; ``idle`` is set when the queue empties."""

    def __init__(self) -> None:
        self.seen: list[DownloadEvent] = []
        self.idle = threading.Event()

    def __call__(self, event: DownloadEvent) -> None:
        self.seen.append(event)
        if event.kind == "idle":
            self.idle.set()


def test_the_analysis_does_not_wait_and_the_listener_hears_the_download(
    server: StoreServer, tmp_path: Path
) -> None:
    events = Events()
    symbols = files(
        server, tmp_path / "c", "plain", tables=tmp_path / "t", wait=False, listener=events
    )
    lines, analysis = leak_lines(symbols)
    assert lines == ["-", "-", "-"]
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.DOWNLOADING
    assert f"downloading mydriver.pdb from {server.url}/plain" in status.message
    assert not [d for d in analysis.diagnostics if d.code.startswith("symbol-")]
    assert events.idle.wait(30)
    kinds = [e.kind for e in events.seen]
    assert kinds[0] == "begin" and kinds[-2:] == ["end", "idle"] and events.seen[-1].changed
    reports = [e.message for e in events.seen if e.kind == "report"]
    assert "downloading mydriver.pdb 92 KB" in reports
    assert events.seen[-2].result is not None
    assert events.seen[-2].result.outcome is Outcome.DOWNLOADED
    # the analysis the listener triggers finds the file
    assert leak_lines(symbols)[0] == LEAK_LINES


def test_downloads_no_document_wants_any_more_are_cancelled(
    server: StoreServer, tmp_path: Path
) -> None:
    events = Events()
    symbols = SymbolFiles(
        [f"srv*{tmp_path / 'c'}*{server.url}/hang"],
        cache_dir=tmp_path / "t",
        trusted_servers=(server.url,),
        request_timeout=1,
        listener=events,
    )
    text = X64_LOG.read_text()
    analyze_log(text, symbols.for_document("file:///a.log"))  # type: ignore[arg-type]
    status = symbols.status("mydriver")
    assert status is not None and status.state is SymbolState.DOWNLOADING
    # the document changes so that it no longer says which PDB the driver needs
    edited = text[: text.index("0: kd> !lmi")] + text[text.index("0: kd> !verifier 3") :]
    analyze_log(edited, symbols.for_document("file:///a.log"))  # type: ignore[arg-type]
    assert events.idle.wait(30)
    ends = [e.result for e in events.seen if e.kind == "end" and e.result is not None]
    assert [e.outcome for e in ends] == [Outcome.CANCELLED]
    # cancelled in the queue, or in flight at its first request (which stops at its timeout)
    assert downloads_requested(symbols) in ([], ["/hang/index2.txt"])


def downloads_requested(symbols: SymbolFiles) -> list[str]:
    assert symbols.downloads is not None
    return ["/" + url.split("/", 3)[3] for url in symbols.downloads.requests]


def test_kdlens_check_downloads_then_reuses_the_cache(
    server: StoreServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KDLENS_CACHE_DIR", str(tmp_path / "kdlens-cache"))
    monkeypatch.delenv("_NT_SYMBOL_PATH", raising=False)
    ws = tmp_path / "ws"
    copy_sources(ws)
    log = ws / "session.log"
    shutil.copy(X64_LOG, log)
    cache = tmp_path / "symcache"
    argv = [
        "check",
        str(log),
        "--fail-on",
        "never",
        "--symbol-path",
        f"srv*{cache}*{server.url}/packed",
        "--trust-symbol-server",
        f"{server.url}/packed/",
    ]
    before = len(server.requests)
    assert main(argv) == 0
    out, err = capsys.readouterr()
    leaks = [ln.rsplit(" at ", 1)[-1] for ln in out.splitlines() if "[leaked-allocation]" in ln]
    assert leaks == LEAK_LINES
    assert f"kdlens: downloaded mydriver.pdb from {server.url}/packed to " in err
    assert (cache / "mydriver.pdb" / KEY / "mydriver.pdb").is_file()
    asked = len(server.requests)
    assert asked > before
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert [
        ln.rsplit(" at ", 1)[-1] for ln in out.splitlines() if "[leaked-allocation]" in ln
    ] == LEAK_LINES
    assert "kdlens: downloaded" not in err
    assert len(server.requests) == asked
    # without the trust flag: one message naming the flag, no request
    assert main(argv[:-2]) == 0
    _, err = capsys.readouterr()
    assert "--trust-symbol-server" in err and len(server.requests) == asked


def test_the_configured_proxy_carries_the_requests(server: StoreServer, tmp_path: Path) -> None:
    """kdlens.httpProxy (VS Code's http.proxy, passed by the extension) wins over the environment."""
    seen: list[str] = []

    class Forwarder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # a forward proxy gets the absolute URL on its request line
            seen.append(self.path)
            direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            try:
                with direct.open(self.path, timeout=10) as answer:
                    body, status = answer.read(), answer.status
            except urllib.error.HTTPError as exc:
                body, status = b"", exc.code
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forwarder)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        cache = tmp_path / "cache"
        symbols = SymbolFiles(
            [f"srv*{cache}*{server.url}/plain"],
            cache_dir=tmp_path / "t",
            trusted_servers=(server.url,),
            http_proxy=f"http://127.0.0.1:{proxy.server_address[1]}",
            wait_for_downloads=True,
            request_timeout=10.0,
        )
        lines, _ = leak_lines(symbols)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert lines == LEAK_LINES
    assert seen and all(p.startswith(f"{server.url}/plain/") for p in seen)
