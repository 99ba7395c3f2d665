"""What `tix-jobs` shows while it works: one progress line per step on stderr (tqdm), only on a
terminal (or with --progress), never in cron's log. The steps report their counts through the
`tick` function they are given; without a display it does nothing."""

import sys
from contextlib import contextmanager


def _ignore(done: int) -> None:
    pass


class Progress:
    def __init__(self, enabled: bool | None = None):
        # Decided when the command starts: stderr is a terminal (a person watching).
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    @contextmanager
    def step(self, name: str, unit: str, total: int | None = None):
        """A line `name: N unit [elapsed, rate]` (with a bar when the total is known) for the
        duration of one step; yields `tick(done)`, the count so far."""
        if not self.enabled:
            yield _ignore
            return
        from tqdm import tqdm

        bar = tqdm(
            total=total,
            desc=name,
            unit=f" {unit}",
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.1,
            leave=True,
        )

        def tick(done: int) -> None:
            bar.update(done - bar.n)

        try:
            yield tick
        finally:
            bar.close()
