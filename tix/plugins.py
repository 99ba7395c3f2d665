"""Plug-ins: what is installed in one of tix's entry point groups (`tix.checks` for the ticket
assistant, `tix.probes` and `tix.fixes` for the account check).

`importlib.metadata.entry_points()` reads and parses every installed distribution's metadata,
about 10 ms in a typical virtualenv, and `tix create` looks for checks every time. Only the
few distributions whose `entry_points.txt` names the group are handed to importlib.metadata
here; which distribution wins when one is installed twice is decided as importlib does (the
first on sys.path).
"""

import os
import re
import sys

_METADATA_DIRS = (".dist-info", ".egg-info")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _candidates(group: str):
    """(sys.path entry, metadata folder) of each distribution that names `group`, in sys.path
    order, each distribution once."""
    header, seen = f"[{group}]", set()
    for entry in sys.path:
        folder = entry or "."
        try:
            names = sorted(os.listdir(folder))
        except OSError:  # a zip file, a missing folder: no plug-in is looked for there
            continue
        for name in names:
            if not name.endswith(_METADATA_DIRS):
                continue
            distribution = _normalized(name.rpartition(".")[0].split("-")[0])
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:  # no entry points, or a file-style .egg-info
                continue
            if header in text:
                yield folder, name


def installed(group: str) -> list:
    """The entry points of `group`, sorted by name; a name given twice counts once."""
    from importlib.metadata import PathDistribution
    from pathlib import Path

    points = []
    for folder, name in _candidates(group):
        points += PathDistribution(Path(folder) / name).entry_points.select(group=group)
    found, names = [], set()
    for point in sorted(points, key=lambda p: p.name):
        if point.name not in names:
            names.add(point.name)
            found.append(point)
    return found
