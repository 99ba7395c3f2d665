"""The dispatch floor: the same prepared messages sent by a bare smtplib loop over one
connection, no database. `python -m bench.bare_smtp PORT SPOOL.json FROM [K N]`; prints the
seconds the send loop took (connect to quit). With K N: only every Nth message from the Kth (N
loops side by side share the spool, each over its own connection)."""

import json
import smtplib
import sys
import time
from email.utils import parseaddr


def main() -> None:
    port, spool, sender = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(spool, encoding="utf-8") as handle:
        messages = [(rcpt, raw.encode("utf-8")) for rcpt, raw in json.load(handle)]
    if len(sys.argv) > 5:
        part, parts = int(sys.argv[4]), int(sys.argv[5])
        messages = messages[part::parts]
    from_addr = parseaddr(sender)[1]
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port)
    for rcpt, data in messages:
        smtp.sendmail(from_addr, [rcpt], data)
    smtp.quit()
    print(f"{time.perf_counter() - started:.4f}")


if __name__ == "__main__":
    main()
