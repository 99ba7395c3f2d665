"""Progress on stderr while the bench builds stores and times commands (tqdm): on a terminal,
or with --progress; never in a log or a pipe unless asked."""

import sys

ENABLED: bool | None = None  # set by __main__ (--progress / --no-progress); None: a terminal?


def enabled() -> bool:
    return sys.stderr.isatty() if ENABLED is None else ENABLED


def bar(total: int | None = None, desc: str = "", unit: str = "run"):
    """A tqdm bar (a no-op one when progress is off); use as a context manager, .update(n)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=f" {unit}",
        file=sys.stderr,
        disable=not enabled(),
        leave=False,
        dynamic_ncols=True,
        mininterval=0.2,
    )
