"""The dispatch floor: the same prepared messages sent by a bare smtplib loop over one
connection, no database. `python -m bench.bare_smtp PORT SPOOL.json FROM`; prints the seconds the
send loop took (connect to quit)."""

import json
import smtplib
import sys
import time
from email.utils import parseaddr


def main() -> None:
    port, spool, sender = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(spool, encoding="utf-8") as handle:
        messages = [(rcpt, raw.encode("utf-8")) for rcpt, raw in json.load(handle)]
    from_addr = parseaddr(sender)[1]
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port)
    for rcpt, data in messages:
        smtp.sendmail(from_addr, [rcpt], data)
    smtp.quit()
    print(f"{time.perf_counter() - started:.4f}")


if __name__ == "__main__":
    main()
