"""The `tix` command line (see app.py); `tix.cli:main` is the console entry point."""

from tix.cli.app import cli, main
