"""How a message leaves: over SMTP (a connection kept open for every message it sends), or,
with no SMTP server configured, as .eml files into the mail folder under the data directory
(`tix demo`, a fresh install). The dispatcher (dispatch.py) runs one transport per connection.

Each message is sent exactly as it was rendered when queued (same bytes, same Message-ID); this
module only moves it. How a failure is classified:
  - no connection, or a 4xx / a dropped connection before the message is sent -> retried later
    with exponential backoff (`dead` once it is older than TIX_OUTBOX_LIFETIME);
  - a 5xx answer at any point, or a message this server cannot take at all (a non-ASCII
    address and no SMTPUTF8) -> `dead` at once;
  - no answer after the final dot (timeout, dropped) -> `uncertain`: the server may have it, so
    it is not resent unless someone runs `tix-jobs outbox retry`.

`prepare(row, start)` opens the envelope; `start(row)` asks for the row's durable start mark
and returns a function that waits for it (True: still ours to send). The transport asks for the
mark first and waits for it only once the server has answered MAIL FROM and RCPT TO, so the
database's commit and the server's turns overlap.
"""

import os
import re
from email.utils import parseaddr
from pathlib import Path

from tix import mailsettings, settings
from tix.errors import InvalidInput
from tix.outbox import SENT, Outcome

# prepare()'s answer when the row is no longer this run's: nothing was sent, nothing to record.
NOT_OURS = Outcome("not ours")


class SmtpConfigError(InvalidInput):
    """The SMTP settings are wrong (login refused, no STARTTLS, bad certificate): exit 2."""


def mail_folder() -> Path:
    from tix.paths import data_dir

    return data_dir() / "mail"


def wire_bytes(raw: str) -> bytes:
    """The message as SMTP DATA carries it: CRLF line ends, leading dots doubled, CRLF.CRLF."""
    data = raw.encode("utf-8", "surrogateescape")
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data + b".\r\n"


_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"]+@[^\s<>()\[\]\\,;:\"@]+")


def _angle(address: str) -> str:
    """`<address>` as smtplib.quoteaddr writes it, without its full address parse (a tenth
    of the dispatcher's own time per message) for the plain addresses tix sends to."""
    import smtplib

    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _refused(stage: str, code: int, reply: bytes) -> Outcome:
    text = f"{stage}: {code} {reply.decode('utf-8', 'replace')}".strip()
    return Outcome("dead" if 500 <= code <= 599 else "retry", text)


class FolderTransport:
    """Each message becomes <folder>/<id>-<message id>.eml, written atomically; a message
    written twice overwrites itself, so the folder never holds a duplicate."""

    unreachable = None

    def __init__(self, folder: Path):
        self.folder = folder

    @property
    def name(self) -> str:
        return f"mail folder {self.folder}"

    def prepare(self, row, start) -> Outcome | None:
        from tix.paths import private_dir

        try:
            private_dir(self.folder)  # 0700: the folder holds every customer's email
        except OSError as exc:
            return Outcome("retry", f"cannot create {self.folder}: {exc.strerror}")
        return None if start(row)() else NOT_OURS

    def deliver(self, row) -> Outcome:
        local = re.sub(r"[^A-Za-z0-9]", "", row.message_id.split("@", 1)[0])[:40]
        target = self.folder / f"{row.id:08d}-{local}.eml"
        temporary = self.folder / f".{target.name}.tmp"
        try:
            # 0600 whatever the umask, like the folder: readable by the store's owner only.
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(row.raw.encode("utf-8", "surrogateescape"))
            os.replace(temporary, target)
        except OSError as exc:
            return Outcome("retry", f"cannot write {target}: {exc.strerror}")
        return SENT

    def drop(self) -> None:
        pass

    def close(self) -> None:
        pass


class SmtpTransport:
    def __init__(self, conf: mailsettings.SmtpSettings, envelope_from: str):
        self.conf = conf
        self.envelope_from = envelope_from
        self.smtp = None
        # Set once connecting failed: the rest of this run does not hammer a server that is down.
        self.unreachable: str | None = None

    @property
    def name(self) -> str:
        return f"SMTP {self.conf.host}:{self.conf.port} ({self.conf.security})"

    def _connect(self) -> str | None:
        """Open, secure and log in; returns an error text for a temporary failure, raises
        SmtpConfigError for one that only a settings change fixes."""
        import smtplib
        import ssl

        conf = self.conf
        where = f"{conf.host}:{conf.port}"
        context = ssl.create_default_context(cafile=conf.cafile)
        smtp = None
        try:
            if conf.security == "tls":
                smtp = smtplib.SMTP_SSL(conf.host, conf.port, timeout=conf.timeout, context=context)
            else:
                smtp = smtplib.SMTP(conf.host, conf.port, timeout=conf.timeout)
            smtp.ehlo()
            if conf.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SmtpConfigError(
                        f"SMTP server {where} does not offer STARTTLS "
                        "(set TIX_SMTP_SECURITY=tls or none)"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if conf.user:
                smtp.login(conf.user, mailsettings.smtp_password(conf.user))
        except smtplib.SMTPAuthenticationError as exc:
            self._close(smtp)
            raise SmtpConfigError(
                f"SMTP server {where} refused the login of {conf.user!r}: {exc.smtp_code}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            self._close(smtp)
            raise SmtpConfigError(
                f"SMTP server {where} does not offer AUTH: unset TIX_SMTP_USER or use TLS"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            self._close(smtp)
            raise SmtpConfigError(
                f"SMTP server {where}: certificate not trusted "
                f"({exc.verify_message}); set TIX_SMTP_CAFILE"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._close(smtp)
            return f"cannot connect to SMTP server {where}: {exc or type(exc).__name__}"
        except BaseException:
            self._close(smtp)
            raise
        self.smtp = smtp
        return None

    @staticmethod
    def _close(smtp) -> None:
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def _drop(self) -> None:
        self._close(self.smtp)
        self.smtp = None

    def drop(self) -> None:
        """Forget the connection (its state is unknown after an error); the next message
        opens a new one."""
        self._drop()

    def _reset(self) -> None:
        import smtplib

        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def prepare(self, row, start) -> Outcome | None:
        """MAIL FROM and RCPT TO; None when the server is ready for the message. The row's
        start mark is asked for first and waited for once the server answered RCPT TO: the
        database write and the server's turns overlap instead of adding up, which is most of
        what a queued email costs beyond the SMTP exchange itself."""
        import smtplib

        if self.unreachable:
            return Outcome("retry", self.unreachable)
        if self.smtp is None:
            error = self._connect()
            if error:
                self.unreachable = error
                return Outcome("retry", error)
        options = []
        if not row.raw.isascii() and self.smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        envelope = (self.envelope_from, row.recipient)
        if not all(address.isascii() for address in envelope):
            if not self.smtp.has_extn("smtputf8"):
                return Outcome(
                    "dead",
                    f"cannot send to {row.recipient!r}: a non-ASCII address needs SMTPUTF8, "
                    f"which {self.conf.host} does not offer",
                )
            options.append("SMTPUTF8")
        # Commands in UTF-8 only for an envelope that needs it (and was declared SMTPUTF8).
        self.smtp.command_encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        wait = start(row)
        try:
            self.smtp.putcmd(
                "mail", f"FROM:{_angle(self.envelope_from)}{''.join(' ' + o for o in options)}"
            )
            code, reply = self.smtp.getreply()
            if code != 250:
                wait()
                self._reset()
                return _refused("MAIL FROM", code, reply)
            self.smtp.putcmd("rcpt", f"TO:{_angle(row.recipient)}")
            code, reply = self.smtp.getreply()
            if not wait():
                self._reset()
                return NOT_OURS
            if code not in (250, 251):
                self._reset()
                return _refused("RCPT TO", code, reply)
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            wait()
            return Outcome("retry", f"connection lost before DATA: {exc or type(exc).__name__}")
        return None

    def deliver(self, row) -> Outcome:
        """DATA, the message, and the server's answer to the final dot."""
        import smtplib

        try:
            code, reply = self.smtp.docmd("DATA")
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            return Outcome("retry", f"connection lost before DATA: {exc or type(exc).__name__}")
        if code != 354:
            self._reset()
            return _refused("DATA", code, reply)
        try:
            self.smtp.send(wire_bytes(row.raw))
        except (OSError, smtplib.SMTPException) as exc:
            # The final dot never left: the server cannot have accepted the message.
            self._drop()
            return Outcome("retry", f"connection lost while sending: {exc or type(exc).__name__}")
        try:
            code, reply = self.smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            return Outcome(
                "uncertain",
                "no answer after the message was sent "
                f"({exc or type(exc).__name__}); the server may have accepted it",
            )
        if code == 250:
            return SENT
        return _refused("end of DATA", code, reply)

    def close(self) -> None:
        import smtplib

        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._drop()


def make_transport(conf: settings.Settings):
    """SMTP when TIX_SMTP_HOST is set, else the mail folder."""
    smtp = mailsettings.load_smtp()
    if smtp is None:
        return FolderTransport(mail_folder())
    envelope_from = parseaddr(conf.mail_from)[1]
    if not envelope_from:
        raise InvalidInput(f"TIX_MAIL_FROM: {conf.mail_from!r} has no email address")
    return SmtpTransport(smtp, envelope_from)
