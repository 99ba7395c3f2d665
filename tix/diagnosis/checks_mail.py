"""Mail servers: each MX answers SMTP and offers STARTTLS; the mail host answers IMAPS, POP3S
and submission; a mailbox the ticket names is accepted (RCPT TO, nothing is sent)."""

from tix.diagnosis import tlsinfo
from tix.diagnosis.checks_dns import addresses
from tix.diagnosis.engine import ProbeTimeout
from tix.diagnosis.netio import NetError, Refused, smtp_reply

EHLO_NAME = "tix-account-check.invalid"
SMTP_CHECKS = ("mail.mx.smtp", "mail.mx.starttls", *tlsinfo.TLS_CHECKS)


def _first_usable(ctx, host: str) -> tuple[str | None, str]:
    found, _ = addresses(ctx, host)
    for ip in found:
        if not ctx.guard.refuse(ip):
            return ip, ""
    if not found:
        return None, "it has no address"
    return None, f"{found[0]} is {ctx.guard.refuse(found[0])}: not contacted"


def _network_trouble(ctx, check_ids, label: str, exc: Exception) -> None:
    """A refused address is could-not-check; a server that fails to answer is a fail."""
    if isinstance(exc, ProbeTimeout) and exc.budget:
        raise exc
    first, *rest = check_ids
    if isinstance(exc, Refused):
        ctx.unknown(first, str(exc), f"no contactado: {exc}", target=label)
    else:
        ctx.fail(
            first,
            f"{label} does not answer properly: {exc}.",
            f"{label} no responde correctamente: {exc}.",
            {"error": str(exc)},
            target=label,
        )
    for check_id in rest:
        ctx.unknown(check_id, f"{label} did not answer", f"{label} no respondió", target=label)


def spawn_smtp(ctx, host: str, primary: bool) -> None:
    addresses_named = ctx.target.addresses if primary else ()
    ids = SMTP_CHECKS + (("mail.rcpt",) if addresses_named else ())
    ctx.spawn("mail.mx", lambda c: smtp(c, host, 25, addresses_named), ids, label=f"{host}:25")


def _ehlo(conn) -> list[str]:
    conn.send(f"EHLO {EHLO_NAME}\r\n".encode())
    code, lines = smtp_reply(conn)
    if code != 250:
        raise NetError(f"EHLO answered {code} {lines[0][:80]}")
    return [line.upper() for line in lines[1:]]


def smtp(ctx, host: str, port: int, mailboxes=(), submission: bool = False) -> None:
    label = f"{host}:{port}"
    first = "mail.submission" if submission else "mail.mx.smtp"
    ids = (
        (first, "mail.mx.starttls", *tlsinfo.TLS_CHECKS)
        if not submission
        else (first, *tlsinfo.TLS_CHECKS)
    )
    ip, why = _first_usable(ctx, host)
    if ip is None:
        ctx.unknown(first, f"{host}: {why}", f"{host}: {why}", target=label)
        return
    seen = {}

    def prelude(conn):
        code, lines = smtp_reply(conn)
        seen.setdefault("banner", (code, lines[0][:200]))
        if code != 220:
            raise NetError(f"the greeting is {code} {lines[0][:120]}")
        capabilities = _ehlo(conn)
        seen.setdefault("starttls", "STARTTLS" in capabilities)
        if "STARTTLS" not in capabilities:
            raise NetError("STARTTLS not offered")
        conn.send(b"STARTTLS\r\n")
        code, lines = smtp_reply(conn)
        if code != 220:
            raise NetError(f"STARTTLS answered {code} {lines[0][:80]}")

    try:
        conn, facts = tlsinfo.connect(ctx, ip, port, host, prelude)
    except (NetError, Refused, ProbeTimeout) as exc:
        if "banner" not in seen:
            _network_trouble(ctx, ids, label, exc)
            return
        code, banner = seen["banner"]
        if code != 220:
            ctx.fail(
                first,
                f"{label} refuses connections: {code} {banner}.",
                f"{label} rechaza conexiones: {code} {banner}.",
                {"banner": banner, "code": code},
                target=label,
            )
            return
        ctx.ok(
            first,
            f"{label} answers SMTP.",
            f"{label} responde por SMTP.",
            {"banner": banner, "address": ip},
            target=label,
        )
        if not submission:
            ctx.fail(
                "mail.mx.starttls",
                f"{label} does not offer encryption (STARTTLS): mail "
                f"to you travels in clear, and some senders refuse it ({exc}).",
                f"{label} no ofrece cifrado (STARTTLS): el correo viaja sin cifrar y algunos "
                f"remitentes lo rechazan ({exc}).",
                {"error": str(exc)},
                target=label,
            )
        else:
            ctx.fail(
                "tls.protocol",
                f"{label}: no TLS ({exc}).",
                f"{label}: sin TLS ({exc}).",
                {"error": str(exc)},
                target=label,
            )
        return
    with conn:
        code, banner = seen["banner"]
        ctx.ok(
            first,
            f"{label} answers SMTP.",
            f"{label} responde por SMTP.",
            {"banner": banner, "address": ip, "connect_ms": conn.connect_ms},
            target=label,
        )
        if not submission:
            if facts.get("verified"):
                ctx.ok(
                    "mail.mx.starttls",
                    f"{label} offers STARTTLS with a valid certificate.",
                    f"{label} ofrece STARTTLS con un certificado válido.",
                    {"protocol": facts.get("protocol")},
                    target=label,
                )
            else:
                ctx.warn(
                    "mail.mx.starttls",
                    f"{label} offers STARTTLS, but its certificate is "
                    f"not valid ({facts.get('verify_message')}).",
                    f"{label} ofrece "
                    f"STARTTLS, pero su certificado no es válido "
                    f"({facts.get('verify_message')}).",
                    facts,
                    target=label,
                )
        tlsinfo.report(ctx, facts, host, label)
        capabilities = _ehlo(conn)
        if submission:
            auth = any(c.startswith("AUTH") for c in capabilities)
            facts = {"capabilities": capabilities[:20]}
            if auth:
                ctx.ok(
                    "mail.submission.auth",
                    f"{label} offers login (AUTH) after STARTTLS.",
                    f"{label} ofrece inicio de sesión (AUTH) tras STARTTLS.",
                    facts,
                    target=label,
                )
            else:
                ctx.fail(
                    "mail.submission.auth",
                    f"{label} offers no login (AUTH) after "
                    "STARTTLS: mail programs cannot send through it.",
                    f"{label} no ofrece "
                    "inicio de sesión (AUTH) tras STARTTLS: los programas de correo no "
                    "pueden enviar por él.",
                    facts,
                    target=label,
                )
        for mailbox in mailboxes:
            rcpt(ctx, conn, mailbox, label)
        try:
            conn.send(b"QUIT\r\n")
        except NetError:
            pass


def rcpt(ctx, conn, mailbox: str, label: str) -> None:
    """Would this server take mail for `mailbox`? MAIL FROM:<> and RCPT TO, then RSET."""
    conn.send(b"MAIL FROM:<>\r\n")
    code, lines = smtp_reply(conn)
    if code != 250:
        ctx.unknown(
            "mail.rcpt",
            f"MAIL FROM refused: {code} {lines[0][:80]}",
            f"MAIL FROM rechazado: {code} {lines[0][:80]}",
            target=mailbox,
        )
        return
    conn.send(f"RCPT TO:<{mailbox}>\r\n".encode("utf-8", "replace"))
    code, lines = smtp_reply(conn)
    reply = f"{code} {lines[0][:160]}"
    facts = {"server": label, "reply": reply}
    if code in (250, 251):
        ctx.ok(
            "mail.rcpt",
            f"{mailbox} exists and accepts mail.",
            f"{mailbox} existe y acepta correo.",
            facts,
            target=mailbox,
        )
    elif code in (452, 552) or "quota" in reply.lower() or "full" in reply.lower():
        ctx.fail(
            "mail.rcpt",
            f"The mailbox {mailbox} is full ({reply}): new mail bounces. "
            "Delete old mail or raise its quota.",
            f"El buzón {mailbox} está lleno "
            f"({reply}): el correo nuevo rebota. Borre correo antiguo o amplíe su cuota.",
            facts,
            target=mailbox,
        )
    elif code >= 500:
        ctx.fail(
            "mail.rcpt",
            f"The mail server refuses {mailbox} ({reply}): the mailbox does "
            "not exist. Create it, or check the spelling.",
            f"El servidor de correo "
            f"rechaza {mailbox} ({reply}): el buzón no existe. Créelo o revise cómo se "
            "escribe.",
            facts,
            target=mailbox,
        )
    else:
        ctx.warn(
            "mail.rcpt",
            f"The mail server defers mail for {mailbox} ({reply}).",
            f"El servidor de correo aplaza el correo para {mailbox} ({reply}).",
            facts,
            target=mailbox,
        )
    conn.send(b"RSET\r\n")
    smtp_reply(conn)


def spawn_mailbox_services(ctx, host: str, found: list[str]) -> None:
    ctx.spawn(
        "mail.imaps",
        lambda c: greeting(c, host, 993, "mail.imaps", b"* OK"),
        ("mail.imaps", *tlsinfo.TLS_CHECKS),
        label=f"{host}:993",
    )
    ctx.spawn(
        "mail.pop3s",
        lambda c: greeting(c, host, 995, "mail.pop3s", b"+OK"),
        ("mail.pop3s", *tlsinfo.TLS_CHECKS),
        label=f"{host}:995",
    )
    ctx.spawn(
        "mail.submission",
        lambda c: smtp(c, host, 587, submission=True),
        ("mail.submission", "mail.submission.auth", *tlsinfo.TLS_CHECKS),
        label=f"{host}:587",
    )


def greeting(ctx, host: str, port: int, check_id: str, expected: bytes) -> None:
    label = f"{host}:{port}"
    service = {"mail.imaps": "IMAP", "mail.pop3s": "POP3"}[check_id]
    ip, why = _first_usable(ctx, host)
    if ip is None:
        ctx.unknown(check_id, f"{host}: {why}", f"{host}: {why}", target=label)
        return
    try:
        conn, facts = tlsinfo.connect(ctx, ip, port, host)
    except (NetError, Refused, ProbeTimeout) as exc:
        _network_trouble(ctx, (check_id, *tlsinfo.TLS_CHECKS), label, exc)
        return
    with conn:
        tlsinfo.report(ctx, facts, host, label)
        try:
            line = conn.readline().decode("utf-8", "replace").strip()
        except (NetError, ProbeTimeout) as exc:
            if isinstance(exc, ProbeTimeout) and exc.budget:
                raise
            line = f"({exc})"
        if line.encode().startswith(expected):
            ctx.ok(
                check_id,
                f"{label} answers {service} over TLS.",
                f"{label} responde {service} con TLS.",
                {"greeting": line[:200]},
                target=label,
            )
        else:
            ctx.fail(
                check_id,
                f"{label} does not greet as a {service} server: {line[:120]}.",
                f"{label} no saluda como servidor {service}: {line[:120]}.",
                {"greeting": line[:200]},
                target=label,
            )
