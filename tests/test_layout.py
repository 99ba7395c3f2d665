"""The house rules a newcomer relies on: no import circles in tix/ or jobs/, cron code never
imports the user CLI, the doors (CLI, tix-jobs commands, mail-in, the demo) reach the store
only through the service layer, and every file stays small enough to read whole."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# tix/ is installed as `tix`, jobs/ as `tix.jobs` (pyproject.toml).
SOURCES = {"tix": ROOT / "tix", "tix.jobs": ROOT / "jobs"}
DOORS = ("tix.cli", "tix.demo", "tix.jobs.cli", "tix.jobs.mail_in", "tix.jobs.escalate")
# What a door must not touch: models, queries and rules live below the service layer.
BELOW_THE_SERVICE = ("peewee", "tix.models", "tix.tickets", "tix.desk", "tix.admin", "tix.outbox")
MAX_LINES = 450


def modules() -> dict[str, Path]:
    found = {}
    for prefix, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([prefix, *parts])
            if name.startswith("tix.jobs") and prefix == "tix":
                continue
            found[name] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules a file imports, anywhere in it (lazy imports in functions count)."""
    result = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # Imports for type checkers only never run, so they make no circle.
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name in known:
                result.add(name)
            elif name.split(".")[0] in ("peewee",):
                result.add("peewee")
    return result


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    edges = {}
    for name, path in mods.items():
        targets = imports_of(path, known) - {name}
        # `from tix.cli import plumbing` names the package and its submodule: only the
        # submodule is what the file needs.
        edges[name] = {t for t in targets if not any(o.startswith(t + ".") for o in targets)}
    return edges


def test_there_are_no_import_circles():
    edges = graph()
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if nxt.startswith(node + "."):
                continue  # a package importing its own modules to re-export them
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_cron_code_never_imports_the_user_cli():
    for name, targets in graph().items():
        if name.startswith("tix.jobs"):
            assert not any(t == "tix.cli" or t.startswith("tix.cli.") for t in targets), name


def test_the_doors_touch_no_model_query_or_rule():
    for name, targets in graph().items():
        if name.startswith(DOORS):
            touched = {t for t in targets if t.startswith(BELOW_THE_SERVICE)}
            assert touched == set(), name


def test_every_file_is_small_enough_to_read_whole():
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in modules().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}
