"""One settings table for both front ends, and the VS Code manifest that mirrors it."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

import pytest

from kdlens.settings import OPTIONS, Settings, SettingsError, add_arguments

from helpers import REPO

#: Settings only the VS Code extension reads (they never reach the server).
CLIENT_ONLY = {"detectLogs", "trace.server", "server.pythonPath"}


def _manifest_keys() -> set[str]:
    manifest = json.loads((REPO / "client" / "package.json").read_text(encoding="utf-8"))
    props = manifest["contributes"]["configuration"]["properties"]
    return {k.removeprefix("kdlens.") for k in props}


def test_every_option_is_a_field_and_every_field_an_option() -> None:
    names = {f.name for f in fields(Settings)} - {"problems"}
    assert names == {o.name for o in OPTIONS}


def test_the_manifest_declares_exactly_the_server_settings() -> None:
    assert _manifest_keys() - CLIENT_ONLY == {o.key for o in OPTIONS}


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_command_line_and_json_give_the_same_settings() -> None:
    cli = Settings.from_args(
        _args(
            [
                "--symbol-path",
                "C:\\sym;D:\\more",
                "--source-map",
                "d:\\build=/src",
                "--allocator-wrapper",
                "MyDrv!Alloc*",
                "--trust-unc-host",
                "buildhost",
                "--my-module",
                "MyDrv",
            ]
        ),
        environ={},
    )
    editor = Settings.from_json(
        {
            "kdlens": {
                "symbolPath": "C:\\sym;D:\\more",
                "sourceMap": {"d:\\build": "/src"},
                "allocatorWrappers": ["MyDrv!Alloc*"],
                "trustedUncHosts": ["buildhost"],
                "myModules": ["MyDrv"],
            }
        },
        environ={},
    )
    assert cli == editor
    assert cli.symbol_path == ("C:\\sym", "D:\\more")
    assert cli.analysis().is_my_module("mydrv.sys")


def test_the_environment_symbol_path_is_merged_once_after_the_settings() -> None:
    env = {"_NT_SYMBOL_PATH": "srv*C:\\cache*https://example.invalid;E:\\extra"}
    s = Settings.from_json({"symbolPath": ["D:\\mine"]}, environ=env)
    assert s.symbol_path == ("D:\\mine", "srv*C:\\cache*https://example.invalid", "E:\\extra")
    assert Settings.from_args(_args([]), environ=env).symbol_path == s.symbol_path[1:]


def test_workspace_folder_expands_in_source_maps(tmp_path: object) -> None:
    s = Settings.from_json({"sourceMap": {"d:\\b": "${workspaceFolder}/src"}}, [REPO], environ={})
    assert s.source_map == (("d:\\b", f"{REPO}/src"),)


def test_malformed_json_values_are_dropped_with_a_problem() -> None:
    s = Settings.from_json(
        {"allocatorWrappers": 3, "sourceMap": ["x"], "myModules": ["ok", 4]}, environ={}
    )
    assert s == Settings()
    assert len(s.problems) == 3


def test_malformed_command_line_values_are_usage_errors() -> None:
    with pytest.raises(SettingsError, match="--source-map expects FROM=TO"):
        Settings.from_args(_args(["--source-map", "nothing"]), environ={})


def test_max_diagnostics_is_read_from_the_editor_and_checked() -> None:
    assert Settings().max_diagnostics == 2000
    assert Settings.from_json({"maxDiagnostics": 50}, environ={}).max_diagnostics == 50
    assert Settings.from_json({"maxDiagnostics": 50.0}, environ={}).max_diagnostics == 50
    for bad in (0, -3, "100", True, 2.5, [1]):
        s = Settings.from_json({"maxDiagnostics": bad}, environ={})
        assert s.max_diagnostics == 2000, bad
        assert s.problems == (
            "kdlens.maxDiagnostics should be a whole number of at least 1; ignored",
        )


def test_max_diagnostics_has_no_command_line_flag() -> None:
    # kdlens check reports every finding; the cap is the editor's only
    with pytest.raises(SystemExit):
        _args(["--max-diagnostics", "10"])
    assert Settings.from_args(_args([]), environ={}).max_diagnostics == 2000
