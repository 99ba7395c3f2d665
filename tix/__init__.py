"""tix: a support-ticket desk for a web-hosting company, for the terminal and cron."""

__version__ = "0.1.0"
