"""Plug-ins are found as importlib.metadata finds them (tix/plugins.py reads only the metadata
of the distributions that name a group)."""

import importlib
import importlib.metadata
from pathlib import Path

import pytest

from tix import plugins

PLUGINS = Path(__file__).parent / "data" / "plugins"
GROUPS = ["tix.checks", "tix.probes", "tix.fixes", "console_scripts"]


def importlib_finds(group: str) -> list[tuple[str, str]]:
    seen, found = set(), []
    for point in sorted(importlib.metadata.entry_points(group=group), key=lambda p: p.name):
        if point.name not in seen:
            seen.add(point.name)
            found.append((point.name, point.value))
    return found


def installed(group: str) -> list[tuple[str, str]]:
    return [(point.name, point.value) for point in plugins.installed(group)]


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_finds_what_importlib_finds(monkeypatch, group):
    for name in ("example", "broken", "diagnosis"):
        monkeypatch.syspath_prepend(str(PLUGINS / name))
    importlib.invalidate_caches()
    assert installed(group) == importlib_finds(group)
    if group != "console_scripts":
        assert installed(group), "the test plug-ins are in every tix group"


def write_distribution(folder: Path, version: str, entry_points: str | None) -> None:
    info = folder / f"tix_twice-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tix-twice\nVersion: {version}\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)


@pytest.mark.parametrize("first_has_it", [True, False])
def test_a_distribution_installed_twice_counts_once_the_first_on_the_path(
    monkeypatch, tmp_path, first_has_it
):
    new = "[tix.checks]\nshouting = tix_twice:new\n"
    write_distribution(tmp_path / "first", "2.0", new if first_has_it else None)
    write_distribution(tmp_path / "second", "1.0", "[tix.checks]\nshouting = tix_twice:old\n")
    monkeypatch.syspath_prepend(str(tmp_path / "second"))
    monkeypatch.syspath_prepend(str(tmp_path / "first"))
    importlib.invalidate_caches()
    expected = [("shouting", "tix_twice:new")] if first_has_it else []
    assert installed("tix.checks") == importlib_finds("tix.checks") == expected
