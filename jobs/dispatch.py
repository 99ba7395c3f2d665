"""Sending the outbox: over SMTP (one connection per run, reused), or, with no SMTP server
configured, as .eml files into the mail folder under the data directory (`tix demo`, a fresh
install).

Each message is sent exactly as it was rendered when queued (same bytes, same Message-ID); this
module only moves it. How a failure is classified:
  - no connection, or a 4xx / a dropped connection before the message is sent -> retried later
    with exponential backoff (`dead` after TIX_MAX_ATTEMPTS);
  - a 5xx answer at any point -> `dead` at once;
  - no answer after the final dot (timeout, dropped) -> `uncertain`: the server may have it, so
    it is not resent unless someone runs `tix-jobs outbox retry`.
"""

import logging
import os
import re
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from tix import clock, outbox, settings, tickets
from tix.errors import InvalidInput
from tix.outbox import SENT, Outcome

log = logging.getLogger("tix.jobs")

# Rows claimed at once: small enough that concurrent runs share the work.
DISPATCH_BATCH_MAX = 100


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

    def prepare(self, row, mark_started) -> Outcome | None:
        from tix.paths import private_dir

        try:
            private_dir(self.folder)  # 0700: the folder holds every customer's email
        except OSError as exc:
            return Outcome("retry", f"cannot create {self.folder}: {exc.strerror}")
        mark_started(row)
        return None

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

    def abandon(self) -> None:
        pass

    def close(self) -> None:
        pass


class SmtpTransport:
    def __init__(self, conf: settings.SmtpSettings, envelope_from: str):
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
                smtp.login(conf.user, settings.smtp_password(conf.user))
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

    def _reset(self) -> None:
        import smtplib

        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def prepare(self, row, mark_started) -> Outcome | None:
        """MAIL FROM and RCPT TO; None when the server is ready for the message.
        `mark_started` (the outbox write that must precede the message) runs while the server
        works on RCPT TO: the database write and the server's turn overlap instead of adding
        up, which is most of what a queued email costs beyond the SMTP exchange itself."""
        import smtplib

        if self.unreachable:
            return Outcome("retry", self.unreachable)
        if self.smtp is None:
            error = self._connect()
            if error:
                self.unreachable = error
                return Outcome("retry", error)
        try:
            options = (
                ["BODY=8BITMIME"]
                if (not row.raw.isascii() and self.smtp.has_extn("8bitmime"))
                else []
            )
            code, reply = self.smtp.mail(self.envelope_from, options)
            if code != 250:
                self._reset()
                return _refused("MAIL FROM", code, reply)
            self.smtp.putcmd("rcpt", f"TO:{smtplib.quoteaddr(row.recipient)}")
            mark_started(row)
            code, reply = self.smtp.getreply()
            if code not in (250, 251):
                self._reset()
                return _refused("RCPT TO", code, reply)
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
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

    def abandon(self) -> None:
        """Drop the envelope `prepare` opened (RSET): the row is no longer ours to send, and
        the next message must not meet a `503 nested MAIL command`."""
        if self.smtp is not None:
            self._reset()

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
    smtp = settings.load_smtp()
    if smtp is None:
        return FolderTransport(mail_folder())
    envelope_from = parseaddr(conf.mail_from)[1]
    if not envelope_from:
        raise InvalidInput(f"TIX_MAIL_FROM: {conf.mail_from!r} has no email address")
    return SmtpTransport(smtp, envelope_from)


@dataclass
class NotifyResult:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    uncertain: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.retrying + self.dead + self.uncertain


def notify(conf: settings.Settings, transport=None) -> NotifyResult:
    """Send every due outbox row, batch by batch, until none is left for this run.

    One write per message (outbox.start: this message's start + the previous one's `sent`),
    one for each failure, and one per batch for its claim and for its last message; the lease
    on the rest of the batch is renewed at most every quarter lease, not per message."""
    transport = transport or make_transport(conf)
    lease = settings.outbox_lease()
    batch = min(conf.batch_size, DISPATCH_BATCH_MAX)
    result = NotifyResult()
    _, result.uncertain = outbox.expire_leases(clock.now())
    if result.uncertain:
        log.warning(
            "%d message(s) left half-sent by a stopped run are now uncertain "
            "(see `tix-jobs outbox --status uncertain`)",
            result.uncertain,
        )
    run = _Run(result, lease)
    try:
        while True:
            claimed_at = clock.now()
            rows = outbox.claim(claimed_at, batch, lease)
            if not rows:
                break
            run.renewed_at = claimed_at
            for row in rows:
                run.mine = None
                outcome = transport.prepare(row, run.mark_started)
                if outcome is None:
                    if not run.mine:
                        transport.abandon()
                        continue  # another run owns the row now, or its reminder was cancelled
                    outcome = transport.deliver(row)
                    if outcome.status == "sent":
                        run.delivered = outbox.Delivered(row, clock.now())
                        continue
                status, delivered_status = outbox.record(
                    row,
                    outcome,
                    clock.now(),
                    conf.max_attempts,
                    run.delivered,
                    arm_close=tickets.reminder_delivered,
                )
                run.tally_delivered(delivered_status)
                _tally(result, row, status, outcome)
            run.tally_delivered(
                outbox.record_delivered(run.delivered, arm_close=tickets.reminder_delivered)
            )
            if transport.unreachable:
                break  # the rest stays queued, untouched, for the next run
    finally:
        try:
            if run.delivered is not None:  # stopping on an error: what was accepted is recorded
                run.tally_delivered(
                    outbox.record_delivered(run.delivered, arm_close=tickets.reminder_delivered)
                )
            outbox.release_unstarted()
        finally:
            transport.close()
    return result


class _Run:
    """What `notify` carries from one message to the next: the message the server accepted
    whose `sent` is written with the next one's start, and when the lease was last renewed."""

    def __init__(self, result: NotifyResult, lease):
        self.result = result
        self.lease = lease
        self.delivered: outbox.Delivered | None = None
        self.renewed_at = None
        self.mine: bool | None = None

    def mark_started(self, row) -> None:
        now = clock.now()
        # The rest of the batch stays leased to this run: renewed every quarter lease, not
        # with every message.
        renew = now - self.renewed_at >= self.lease / 4
        self.mine, delivered_status = outbox.start(
            row,
            now,
            self.lease if renew else None,
            self.delivered,
            arm_close=tickets.reminder_delivered,
        )
        if renew:
            self.renewed_at = now
        self.tally_delivered(delivered_status)

    def tally_delivered(self, status: str | None) -> None:
        if self.delivered is not None:
            _tally(self.result, self.delivered.row, status, SENT)
        self.delivered = None


def _tally(result: NotifyResult, row, status: str | None, outcome: Outcome) -> None:
    if status == "sent":
        result.sent += 1
        result.details.append(f"sent {row.kind} to {row.recipient} {row.message_id}")
        return
    if status == "failed":
        result.retrying += 1
    elif status == "dead":
        result.dead += 1
    elif status == "uncertain":
        result.uncertain += 1
    else:
        return  # no longer ours: the run that took it over reports it
    shown = {
        "failed": "retrying",
        "dead": "dead" if outcome.status == "dead" else "dead (too many attempts)",
    }.get(status, status)
    result.details.append(
        f"{shown} {row.kind} to {row.recipient} {row.message_id}: {outcome.error}"
    )
    log.warning(
        "outbox %d (%s to %s): %s: %s", row.id, row.kind, row.recipient, shown, outcome.error
    )


def send_pending_for_demo() -> int:
    """`tix demo`: write every queued email of the demo store into its mail folder."""
    from tix import paths, store

    db = store.connect(paths.resolve_url(None))
    try:
        return notify(settings.load(), FolderTransport(mail_folder())).sent
    finally:
        db.close()
