"""Fast checks of what the wheel and the bundles ship: desktop entry, AppStream metainfo,
icons, the PyInstaller spec's inputs, and a complete ``--help`` for every command."""

from __future__ import annotations

import argparse
import configparser
import importlib.metadata
import importlib.util
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import REPO
from photosort.cli import COMMANDS, build_parser, main

PACKAGING = REPO / "packaging"
RESOURCES = REPO / "resources"
METAINFO = PACKAGING / "linux" / "org.photosort.PhotoSort.metainfo.xml"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(RESOURCES / "photosort.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_starts_the_app_with_a_shipped_icon():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "photosort"
    assert entry["Terminal"] == "false"
    assert (RESOURCES / "icons" / f"{entry['Icon']}.svg").is_file()
    assert entry["Categories"].endswith(";")


def test_app_icon_set():
    icons = RESOURCES / "icons"
    assert (icons / "photosort.svg").is_file()
    for size in (16, 32, 48, 64, 128, 256):
        assert (icons / f"photosort-{size}.png").is_file()
    for name in ("photosort.ico", "photosort.icns", "photosort-512.png"):
        assert (PACKAGING / "icons" / name).stat().st_size > 1000


def test_metainfo_matches_the_desktop_entry_and_version():
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("launchable") == "photosort.desktop"
    assert root.findtext("provides/binary") == "photosort"
    assert root.findtext("icon") == desktop_entry()["Icon"]
    assert root.find("releases/release").get("version") == VERSION


def test_spec_inputs_exist():
    spec = (PACKAGING / "photosort.spec").read_text()
    for name in ("entry.py", "hooks", "icons"):
        assert name in spec
        assert (PACKAGING / name).exists()
    assert (PACKAGING / "hooks" / "hook-open_clip.py").is_file()


def test_open_clip_data_files_the_hook_collects():
    """The files open_clip reads at run time, which the bundle must carry as data."""
    package = Path(importlib.util.find_spec("open_clip").origin).parent
    assert (package / "bpe_simple_vocab_16e6.txt.gz").is_file()
    assert any((package / "model_configs").glob("*.json"))


def test_version(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"photosort {importlib.metadata.version('photosort')}"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_command_and_option_has_help():
    parser = build_parser()
    commands = _subparsers(parser)
    assert set(commands) == set(COMMANDS)
    top = parser.format_help()
    undocumented = []
    for name, sub in commands.items():
        assert name in top
        assert sub.description, f"{name} has no description"
        for action in sub._actions:
            if action.help is None and not isinstance(action, argparse._HelpAction):
                undocumented.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not undocumented, f"options without help: {undocumented}"
