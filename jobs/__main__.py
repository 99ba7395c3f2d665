"""`python -m tix.jobs`: the same as `tix-jobs`."""

from tix.jobs.cli import main

main()
