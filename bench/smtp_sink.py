"""A loopback SMTP server that accepts everything and counts it: `python -m bench.smtp_sink PORT
COUNT_FILE`. Runs until SIGTERM; the count file is rewritten as messages arrive."""

import signal
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += len(envelope.rcpt_tos)
        return "250 OK"


def main() -> None:
    port, count_file = int(sys.argv[1]), Path(sys.argv[2])
    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    written = -1
    while not stop.is_set():
        if handler.count != written:
            written = handler.count
            count_file.write_text(str(written))
        time.sleep(0.05)
    count_file.write_text(str(handler.count))
    controller.stop()


if __name__ == "__main__":
    main()
