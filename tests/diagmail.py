"""Mail servers for the account check's loopback world: SMTP on 25 and 587 with STARTTLS (AUTH
on 587 once encrypted, RCPT answers per mailbox), IMAPS on 993 and POP3S on 995."""

import socketserver
import ssl

from diagworld import _TCP, _serve, _stop, free_address


class MailServer:
    """SMTP on 25 and 587 (STARTTLS, AUTH on 587), IMAPS on 993, POP3S on 995."""

    def __init__(
        self,
        tls: ssl.SSLContext,
        mailboxes: dict | None = None,
        ip: str | None = None,
        banner: str = "220 mail.alpha.test ESMTP ready",
        starttls: bool = True,
    ):
        self.ip = ip or free_address((25, 587, 993, 995))
        self.mailboxes = mailboxes or {}
        self.rcpts: list[str] = []
        world = self

        def smtp(submission):
            class Handler(socketserver.StreamRequestHandler):
                timeout = 5

                def handle(self):
                    conn, rfile = self.connection, self.rfile

                    def say(text):
                        conn.sendall(text.encode() + b"\r\n")

                    try:
                        say(banner)
                        while True:
                            line = rfile.readline(4096).decode("latin-1").strip()
                            verb = line.split(" ", 1)[0].upper()
                            if not line or verb == "QUIT":
                                say("221 bye")
                                return
                            if verb == "EHLO":
                                caps = ["250-mail.alpha.test"]
                                if starttls and not isinstance(conn, ssl.SSLSocket):
                                    caps.append("250-STARTTLS")
                                if submission and isinstance(conn, ssl.SSLSocket):
                                    caps.append("250-AUTH PLAIN LOGIN")
                                caps.append("250 8BITMIME")
                                say("\r\n".join(caps))
                            elif verb == "STARTTLS" and starttls:
                                say("220 go ahead")
                                conn = tls.wrap_socket(conn, server_side=True)
                                rfile = conn.makefile("rb")
                            elif verb == "RCPT":
                                box = line.split("<", 1)[-1].rstrip(">").lower()
                                world.rcpts.append(box)
                                say(world.mailboxes.get(box, "550 5.1.1 no such user"))
                            else:
                                say("250 ok")
                    except (OSError, ssl.SSLError):
                        pass

            return Handler

        def greeter(text):
            class Handler(socketserver.BaseRequestHandler):
                def handle(self):
                    try:
                        self.request.sendall(text)
                    except (OSError, ssl.SSLError):
                        pass

            return Handler

        self.servers = [_TCP((self.ip, 25), smtp(False)), _TCP((self.ip, 587), smtp(True))]
        for port, text in ((993, b"* OK IMAP4rev1 ready\r\n"), (995, b"+OK POP3 ready\r\n")):
            server = _TCP((self.ip, port), greeter(text))
            server.socket = tls.wrap_socket(server.socket, server_side=True)
            self.servers.append(server)
        for server in self.servers:
            _serve(server)

    def stop(self):
        _stop(self.servers)
