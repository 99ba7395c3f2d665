"""tix benchmarks: `python -m bench` from the repository root (see docs/performance.md).

Not part of the test suite: it builds large stores, runs tix as a user would (one process per
command) and prints medians and ratios against their targets.
"""
