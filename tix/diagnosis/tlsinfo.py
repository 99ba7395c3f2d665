"""TLS on any endpoint (HTTPS, SMTP STARTTLS, IMAPS, POP3S, submission): one verifying
handshake against the system trust store (SSL_CERT_FILE honoured); only when it fails, a second
one without verification, to read the certificate and say exactly what is wrong with it."""

from tix import clock
from tix.diagnosis.netio import Conn, NetError

# OpenSSL verify codes, grouped by the check that reports them.
CHAIN_CODES = {2, 18, 19, 20, 21, 24, 25, 26, 27, 28, 30, 32}
NAME_CODES = {62, 64}
TIME_CODES = {9, 10, 13, 14}
EXPIRY_WARN_DAYS = 14


def contexts(ctx):
    """(verifying, non-verifying) SSL contexts, made once per diagnosis (loading the trust store
    is the slow part)."""

    def make():
        import ssl
        import warnings

        verify = ssl.create_default_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR
        loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        loose.check_hostname = False
        loose.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():  # deprecated, and wanted: to report an old protocol
            warnings.simplefilter("ignore", DeprecationWarning)
            loose.minimum_version = ssl.TLSVersion.TLSv1
        try:
            loose.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        return verify, loose

    return ctx.memo("tls.contexts", make)


def connect(ctx, ip: str, port: int, name: str, prelude=None):
    """A TLS connection to ip:port for `name`: (conn, facts). `prelude(conn)` runs before the
    handshake (STARTTLS). On a certificate the trust store rejects, the connection returned is
    an unverified one, and facts say why."""
    import ssl

    verify, loose = contexts(ctx)
    conn = Conn(ctx, ip, port)
    facts = {"port": port, "address": ip}
    try:
        if prelude:
            prelude(conn)
        tls = conn.starttls(verify, name)
        facts.update(verified=True)
    except ssl.SSLCertVerificationError as exc:
        conn.close()
        facts.update(
            verified=False,
            verify_code=exc.verify_code,
            verify_message=str(exc.verify_message or exc.reason or exc)[:200],
        )
        conn = Conn(ctx, ip, port)
        try:
            if prelude:
                prelude(conn)
            tls = conn.starttls(loose, name)
        except BaseException:
            conn.close()
            raise
    except BaseException:
        conn.close()
        raise
    facts.update(protocol=tls.version(), cipher=(tls.cipher() or ("",))[0])
    der = tls.getpeercert(binary_form=True)
    if der:
        facts.update(certificate(der))
    return conn, facts


def certificate(der: bytes) -> dict:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    key = cert.public_key()
    key_bits = key.key_size if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) else 0
    return {
        "subject": cert.subject.rfc4514_string()[:200],
        "issuer": cert.issuer.rfc4514_string()[:200],
        "names": [n.lower() for n in names][:50],
        "not_before": cert.not_valid_before_utc.replace(tzinfo=None).isoformat(),
        "not_after": cert.not_valid_after_utc.replace(tzinfo=None).isoformat(),
        "key": type(key).__name__.removesuffix("PublicKey").removeprefix("_"),
        "key_bits": key_bits,
        "signature": (cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else ""),
        "self_signed": cert.issuer == cert.subject,
    }


def name_matches(name: str, patterns: list[str]) -> bool:
    name = name.lower().rstrip(".")
    for pattern in patterns:
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def report(ctx, facts: dict, name: str, label: str) -> None:
    """tls.protocol, tls.chain, tls.name, tls.expiry and tls.key for one endpoint."""
    from datetime import datetime

    where = {"en": f"{label}", "es": f"{label}"}
    protocol = facts.get("protocol") or ""
    if protocol in ("TLSv1", "TLSv1.1", "SSLv3"):
        ctx.warn(
            "tls.protocol",
            f"{where['en']} offers only {protocol}, which browsers and mail programs refuse: "
            "enable TLS 1.2 or 1.3.",
            f"{where['es']} solo ofrece {protocol}, que navegadores y programas de correo "
            "rechazan: active TLS 1.2 o 1.3.",
            facts,
            target=label,
        )
    else:
        ctx.ok(
            "tls.protocol",
            f"{label} speaks {protocol}.",
            f"{label} usa {protocol}.",
            {"protocol": protocol, "cipher": facts.get("cipher")},
            target=label,
        )
    code = facts.get("verify_code")
    message = facts.get("verify_message", "")
    if facts.get("verified") or code in NAME_CODES | TIME_CODES:
        ctx.ok(
            "tls.chain",
            f"The certificate chain of {label} is complete and trusted.",
            f"La cadena del certificado de {label} está completa y es de confianza.",
            {"issuer": facts.get("issuer")},
            target=label,
        )
    elif facts.get("self_signed") or code in (18, 19):
        ctx.fail(
            "tls.chain",
            f"{label} uses a self-signed certificate: visitors get a security warning. "
            "Install a certificate from a recognised authority (for example Let's Encrypt).",
            f"{label} usa un certificado autofirmado: los visitantes ven un aviso de "
            "seguridad. Instale un certificado de una autoridad reconocida (por ejemplo "
            "Let's Encrypt).",
            facts,
            target=label,
        )
    else:
        ctx.fail(
            "tls.chain",
            f"The certificate of {label} is not trusted ({message}): the chain is incomplete "
            "(install the intermediate certificate with it) or its authority is unknown.",
            f"El certificado de {label} no es de confianza ({message}): la cadena está "
            "incompleta (instale también el certificado intermedio) o su autoridad es "
            "desconocida.",
            facts,
            target=label,
        )
    names = facts.get("names") or []
    if name_matches(name, names):
        ctx.ok(
            "tls.name",
            f"The certificate of {label} is valid for {name}.",
            f"El certificado de {label} es válido para {name}.",
            {"names": names},
            target=label,
        )
    else:
        shown = ", ".join(names[:5]) or facts.get("subject", "?")
        ctx.fail(
            "tls.name",
            f"The certificate of {label} is for {shown}, not for {name}: browsers will warn. "
            f"Issue a certificate that includes {name}.",
            f"El certificado de {label} es para {shown}, no para {name}: los navegadores "
            f"avisarán. Emita un certificado que incluya {name}.",
            {"names": names, "verify_message": message},
            target=label,
        )
    if facts.get("not_after"):
        now = clock.now()
        not_after = datetime.fromisoformat(facts["not_after"])
        not_before = datetime.fromisoformat(facts["not_before"])
        days = (not_after - now).days
        dates = {"not_before": facts["not_before"], "not_after": facts["not_after"], "days": days}
        if now < not_before:
            ctx.fail(
                "tls.expiry",
                f"The certificate of {label} is not valid yet (from "
                f"{not_before:%Y-%m-%d}): check the server's clock or reissue it.",
                f"El certificado de {label} aún no es válido (desde {not_before:%Y-%m-%d}): "
                "revise la hora del servidor o emítalo de nuevo.",
                dates,
                target=label,
            )
        elif now >= not_after:
            ctx.fail(
                "tls.expiry",
                f"The certificate of {label} expired on {not_after:%Y-%m-%d}: renew it.",
                f"El certificado de {label} caducó el {not_after:%Y-%m-%d}: renuévelo.",
                dates,
                target=label,
            )
        elif days < EXPIRY_WARN_DAYS:
            ctx.warn(
                "tls.expiry",
                f"The certificate of {label} expires in {days} days "
                f"({not_after:%Y-%m-%d}): renew it now.",
                f"El certificado de {label} caduca "
                f"en {days} días ({not_after:%Y-%m-%d}): renuévelo ya.",
                dates,
                target=label,
            )
        else:
            ctx.ok(
                "tls.expiry",
                f"The certificate of {label} is valid for {days} more days.",
                f"El certificado de {label} es válido {days} días más.",
                dates,
                target=label,
            )
        bits, key = facts.get("key_bits", 0), facts.get("key", "")
        weak_sig = facts.get("signature") in ("md5", "sha1")
        if (key == "RSA" and bits < 2048) or weak_sig:
            ctx.warn(
                "tls.key",
                f"The certificate of {label} uses a weak key or signature "
                f"({key} {bits} bits, {facts.get('signature')}): reissue it.",
                f"El certificado de {label} usa una clave o firma débil ({key} {bits} bits, "
                f"{facts.get('signature')}): emítalo de nuevo.",
                {"key": key, "bits": bits},
                target=label,
            )
        else:
            ctx.ok(
                "tls.key",
                f"The certificate key of {label} is strong ({key} {bits} bits).",
                f"La clave del certificado de {label} es robusta ({key} {bits} bits).",
                {"key": key, "bits": bits, "signature": facts.get("signature")},
                target=label,
            )


TLS_CHECKS = ("tls.protocol", "tls.chain", "tls.name", "tls.expiry", "tls.key")


def handshake_failed(ctx, label: str, exc: Exception) -> None:
    text = str(exc)
    ctx.fail(
        "tls.protocol",
        f"No TLS on {label}: {text}.",
        f"Sin TLS en {label}: {text}.",
        {"error": text},
        target=label,
    )
    for check_id in TLS_CHECKS[1:]:
        ctx.unknown(
            check_id,
            f"no TLS handshake with {label}",
            f"sin negociación TLS con {label}",
            target=label,
        )


__all__ = ["TLS_CHECKS", "NetError", "connect", "handshake_failed", "report"]
