"""The symbol path: which local folders are searched, which servers are skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.symbols.symbolpath import parse_symbol_path, split_elements, url_trusted


def test_elements_are_split_trimmed_and_unquoted() -> None:
    assert split_elements([' a ; "b c" ;; ', "d"]) == ["a", "b c", "d"]


def test_srv_with_cache_searches_the_cache_only(tmp_path: Path) -> None:
    cache = tmp_path / "sym"
    sp = parse_symbol_path([f"srv*{cache}*https://msdl.microsoft.com/download/symbols"])
    assert sp.folders == (cache,)
    assert sp.remote == ("https://msdl.microsoft.com/download/symbols",)
    assert sp.refused == ()
    assert sp.remote_message is not None
    assert sp.remote_message.startswith("remote symbol servers are not contacted")
    assert "msdl.microsoft.com" in sp.remote_message


def test_srv_without_cache_has_no_folder() -> None:
    sp = parse_symbol_path(["SRV*https://symbols.example.com/"])
    assert sp.folders == ()
    assert sp.remote == ("https://symbols.example.com/",)
    # an empty part stands for the debugger's default cache, which is not known here
    assert parse_symbol_path(["srv**https://symbols.example.com/"]).folders == ()


def test_several_downstream_stores_and_symsrv_form(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    sp = parse_symbol_path([f"symsrv*symsrv.dll*{a}*{b}*http://internal/symbols"])
    assert sp.folders == (a, b)
    assert sp.remote == ("http://internal/symbols",)


def test_cache_and_plain_folders_keep_their_order(tmp_path: Path) -> None:
    c, d, e = tmp_path / "c", tmp_path / "d", tmp_path / "e"
    sp = parse_symbol_path([f"{d};cache*{c};{e};{d}"])
    assert sp.folders == (d, c, e)  # repeated folders are searched once
    assert sp.remote_message is None


def test_relative_folders_and_workspace_variable(tmp_path: Path) -> None:
    sp = parse_symbol_path(["symbols", "${workspaceFolder}/other"], base=tmp_path)
    assert sp.folders == (tmp_path / "symbols", tmp_path / "other")


@pytest.mark.parametrize(
    "element", ["\\\\buildsrv\\symbols", "srv*\\\\buildsrv\\symbols*https://x/"]
)
def test_unc_folders_need_a_trusted_host(element: str) -> None:
    refused = parse_symbol_path([element])
    assert refused.folders == ()
    assert len(refused.refused) == 1
    assert "buildsrv" in refused.refused[0] and "trustedUncHosts" in refused.refused[0]
    trusted = parse_symbol_path([element], trusted_unc_hosts=["BuildSrv"])
    assert trusted.refused == ()
    assert len(trusted.folders) == 1


@pytest.mark.parametrize(
    "folder",
    [
        r"\\?\UNC\buildsrv\symbols",
        r"\\?\unc\BuildSrv\symbols",
        r"\\.\UNC\buildsrv\symbols",
        r"\??\UNC\buildsrv\symbols",
        "//?/UNC/buildsrv/symbols",
        "//buildsrv/symbols",
        r"\/buildsrv\symbols",
    ],
)
@pytest.mark.parametrize("form", ["{}", "srv*{}*https://x/", "cache*{}", "symsrv*symsrv.dll*{}"])
def test_every_share_spelling_needs_a_trusted_host(folder: str, form: str) -> None:
    element = form.format(folder)
    refused = parse_symbol_path([element])
    assert refused.folders == ()
    assert len(refused.refused) == 1
    assert "buildsrv" in refused.refused[0] and "trustedUncHosts" in refused.refused[0]
    trusted = parse_symbol_path([element], trusted_unc_hosts=["BUILDSRV"])
    assert trusted.refused == () and len(trusted.folders) == 1


@pytest.mark.parametrize(
    "folder", [r"\\.\PhysicalDrive0", r"\\?\GLOBALROOT\Device\Mup\buildsrv\sym", "//./pipe/sym"]
)
def test_device_folders_are_never_searched(folder: str) -> None:
    sp = parse_symbol_path([folder, f"srv*{folder}*https://x/"], trusted_unc_hosts=["buildsrv"])
    assert sp.folders == ()
    assert len(sp.refused) == 2 and all("device" in r for r in sp.refused)


def test_a_local_folder_in_the_long_path_form_is_searched_as_written_plainly() -> None:
    sp = parse_symbol_path([r"srv*\\?\C:\symbols*https://x/"])
    assert sp.refused == ()
    assert sp.folders == (Path(r"C:\symbols"),)


@pytest.mark.parametrize(
    ("url", "prefix", "trusted"),
    [
        ("http://sym.example/team/x.pdb", "http://sym.example/team", True),
        ("http://sym.example/team", "http://sym.example/team/", True),
        ("HTTP://Sym.Example:80/team/x", "http://sym.example/team/", True),
        ("https://sym.example/team/x", "http://sym.example/team/", False),
        ("http://sym.example/teammate/x", "http://sym.example/team", False),
        ("http://sym.example.evil/team/x", "http://sym.example/", False),
        ("http://sym.example:8080/team/x", "http://sym.example/", False),
        ("http://user:pw@sym.example/team/x", "http://sym.example/", False),
        ("ftp://sym.example/team/x", "ftp://sym.example/", False),
        ("http://sym.example/anything", "http://sym.example", True),
    ],
)
def test_trusted_prefixes_end_at_a_path_boundary(url: str, prefix: str, trusted: bool) -> None:
    assert url_trusted(url, [prefix]) is trusted


def test_trusted_servers_get_their_downstream_cache(tmp_path: Path) -> None:
    a, c = tmp_path / "a", tmp_path / "c"
    sp = parse_symbol_path(
        [
            f"srv*{a}*https://sym.example/x",
            f"cache*{c}",
            "srv*https://sym.example/y",
            "srv*https://elsewhere.example/z",
        ],
        trusted_servers=["https://sym.example/"],
    )
    assert [(s.url, s.caches) for s in sp.servers] == [
        ("https://sym.example/x", (a,)),
        ("https://sym.example/y", (c,)),
    ]
    assert sp.remote == ("https://elsewhere.example/z",)
