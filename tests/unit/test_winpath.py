"""Every spelling of a network share or a device is recognised, trusted or not."""

from __future__ import annotations

import pytest

from kdlens.winpath import PathKind, classify, refusal, unc_host

#: One share on host "buildbox", spelled every way Windows accepts.
SHARE_SPELLINGS = [
    r"\\buildbox\share\src\a.c",
    "//buildbox/share/src/a.c",
    r"\/buildbox\share/src\a.c",
    r"\\?\UNC\buildbox\share\src\a.c",
    r"\\?\unc\buildbox\share\src\a.c",
    r"\\?\Unc\BuildBox\share\src\a.c",
    r"\\.\UNC\buildbox\share\src\a.c",
    r"\??\UNC\buildbox\share\src\a.c",
    "//?/UNC/buildbox/share/src/a.c",
    "//./unc/buildbox/share/src/a.c",
    r"/??/UNC/buildbox/share/src/a.c",
    r'  "\\?\UNC\buildbox\share\src\a.c"  ',
]


@pytest.mark.parametrize("path", SHARE_SPELLINGS)
def test_every_share_spelling_is_unc(path: str) -> None:
    wp = classify(path)
    assert wp.kind is PathKind.UNC
    assert wp.host == "buildbox"
    assert wp.share == "share"
    assert wp.rest.replace("/", "\\") == r"src\a.c"
    assert unc_host(path) == "buildbox"


@pytest.mark.parametrize("path", SHARE_SPELLINGS)
def test_every_share_spelling_is_refused_unless_trusted(path: str) -> None:
    why = refusal(path)
    assert why is not None and "buildbox" in why and "trustedUncHosts" in why
    assert refusal(path, ["other"]) is not None
    assert refusal(path, ["BuildBox"]) is None
    assert refusal(path, ["buildbox"]) is None


@pytest.mark.parametrize(
    "path",
    [
        r"\\.\PhysicalDrive0",
        r"\\.\pipe\x",
        "//./pipe/x",
        r"\\?\GLOBALROOT\Device\HarddiskVolume1\x.c",
        r"\\?\globalroot\device\mup\buildbox\share\a.c",
        r"\\?\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\x.c",
        r"\\.\C:",
        r"\\?\C:",
        r"\??\C:",
        r"\\.\COM1",
        r"\\.",
        r"\\?",
        r"\\?\\",
        r"\??\pipe\x",
    ],
)
def test_devices_are_always_refused(path: str) -> None:
    assert classify(path).kind is PathKind.DEVICE
    why = refusal(path, ["buildbox", "pipe", "."])
    assert why is not None and "device" in why
    assert unc_host(path) is None


@pytest.mark.parametrize(
    ("path", "plain"),
    [
        (r"\\?\C:\src\a.c", r"C:\src\a.c"),
        (r"\\.\d:\src\a.c", r"d:\src\a.c"),
        (r"\??\C:\src\a.c", r"C:\src\a.c"),
        ("//?/C:/src/a.c", r"C:\src\a.c"),
        (r"C:\src\a.c", r"C:\src\a.c"),
        ("/home/dev/src/a.c", "/home/dev/src/a.c"),
        ("relative/a.c", "relative/a.c"),
    ],
)
def test_local_paths_lose_their_namespace_prefix(path: str, plain: str) -> None:
    wp = classify(path)
    assert wp.kind is PathKind.LOCAL
    assert wp.text == plain
    assert wp.host is None
    assert refusal(path) is None


@pytest.mark.parametrize("path", [r"\\\share\a.c", "///", r"\\?\UNC\\share\a.c", r"\\?\UNC"])
def test_network_path_without_a_host_is_never_trusted(path: str) -> None:
    wp = classify(path)
    assert wp.kind is PathKind.UNC and wp.host == ""
    assert refusal(path, [""]) is not None


def test_trusted_host_must_match_exactly() -> None:
    # a look-alike host is a different host
    for path in (r"\\buildbox.\share", r"\\buildbox@SSL\share", r"\\buildbox.corp\share"):
        assert refusal(path, ["buildbox"]) is not None, path


@pytest.mark.parametrize(
    "path",
    [r"C:\src\CON", r"C:\src\nul.c", r"src\aux.h", r"d:\x\COM1 .c", "lpt9", r"\\?\C:\src\PRN"],
)
def test_reserved_dos_names_are_devices_where_windows_makes_them_so(path: str) -> None:
    assert classify(path, reserved_names=True).kind is PathKind.DEVICE
    assert classify(path, reserved_names=False).kind is PathKind.LOCAL
    assert classify(r"C:\src\console.c", reserved_names=True).kind is PathKind.LOCAL
