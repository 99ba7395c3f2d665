"""The ticket assistant's built-in checks (tix/checks.py runs them): what a draft's text says,
and what the technician would otherwise have to ask. Each takes a checks.Draft."""

import re
from typing import TYPE_CHECKING

from tix import settings

if TYPE_CHECKING:
    from tix.checks import Draft

# Departments whose tickets are not about one service, so "which service?" is not asked there.
NO_SERVICE_DEPARTMENTS = {"billing", "sales", "administration"}
# Domains customers name without meaning one of their services.
PUBLIC_DOMAINS = {
    "gmail.com",
    "googlemail.com",
    "google.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "yahoo.es",
    "icloud.com",
    "microsoft.com",
    "office365.com",
    "apple.com",
    "example.com",
    "example.org",
    "example.net",
}
# Things that look like host names but are file names.
FILE_SUFFIXES = {
    "php",
    "html",
    "htm",
    "js",
    "css",
    "log",
    "txt",
    "json",
    "xml",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "ico",
    "webp",
    "zip",
    "gz",
    "tgz",
    "tar",
    "rar",
    "sql",
    "py",
    "sh",
    "conf",
    "cfg",
    "ini",
    "md",
    "pdf",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "csv",
    "exe",
    "env",
    "htaccess",
    "lock",
    "bak",
    "tmp",
    "yml",
    "yaml",
    "mp3",
    "mp4",
    "asp",
    "aspx",
    "jsp",
    "cgi",
    "pl",
    "rb",
    "dll",
    "so",
    "old",
    "eml",
}


class _Lazy:
    """A regular expression compiled on its first use: a draft's text needs only some of these,
    and compiling them all costs more (about 10 ms) than running every check."""

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern, self.flags = pattern, flags

    def __getattr__(self, name: str):  # search, finditer, ...: each asked for once, then kept
        method = getattr(re.compile(self.pattern, self.flags), name)
        setattr(self, name, method)
        return method


def _words(pattern: str) -> _Lazy:
    return _Lazy(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.I)


EMAIL_ADDRESS = _Lazy(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.I)
URL = _Lazy(r"\b(?:https?|ftp)://\S+", re.I)
HOSTNAME = _Lazy(
    r"(?<![\w.@-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})(?![\w-])", re.I
)
IPV4 = _Lazy(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6_CANDIDATE = _Lazy(r"(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.I)
EMAIL_TOPIC = _words(
    r"e-?mails?|mails?|correos?|correo electr[oó]nico|mailbox(?:es)?|buz[oó]n(?:es)?|"
    r"inbox|smtp|imap|pop3?|webmail|outlook|thunderbird"
)
PROBLEM = _words(
    r"not|no|can'?t|cannot|unable|fails?|failed|failing|errors?|bounces?|bounced|"
    r"rejected|spam|blocked|down|problems?|issues?|doesn'?t|don'?t|won'?t|isn'?t|"
    r"falla|fallo|rebota|rebotan|rechaza|bloquea|problemas?|ca[ií]d[oa]|llegan?"
)
BLOCKED = _words(
    r"block(?:ed|s)?|banned|ban|blacklist(?:ed)?|bloquead[oa]s?|bloqueo|baneado|"
    r"lista negra"
)
BLOCKED_IP_CONTEXT = _words(
    r"ip|ips|firewall|cortafuegos|fail2ban|csf|access|acceso|connect|conectar|"
    r"ftp|ssh"
)
ERROR_REPORT = _words(
    r"errors?|error(?:es)?|fails?|failed|failing|failure|crash(?:es|ed)?|broken|"
    r"not working|doesn'?t work|does not work|won'?t (?:load|work)|no funciona|"
    r"fallo|falla|roto|exception|excepci[oó]n|warning"
)
QUOTED = _Lazy(r"[\"“«`][^\"“”«»`\n]{4,}[\"”»`]")
ERROR_LINE = _Lazy(r"(?im)^.*\b(?:error|exception|warning|fatal|excepci[oó]n)\b[^\n]*:\s*\S")
STATUS_CODE = _Lazy(r"(?<!\d)[45]\d\d(?!\d)")
STEP_LINE = _Lazy(r"(?m)^\s*(?:\d+[.)]|[-*•])\s+\S")
STEP_WORDS = _words(r"steps?|pasos?|to reproduce|para reproducir|when i|cuando")
LOSS_OF_SERVICE = _words(
    r"down|offline|unreachable|outage|not loading|doesn'?t load|won'?t load|not responding|"
    r"hacked|lost|no (?:carga|funciona|abre|responde|funcionan|llegan?)|ca[ií]d[oa]s?|inaccesibles?|"
    r"sin servicio|hackead[oa]|perdid[oa]s?|can'?t (?:access|connect|log ?in)|cannot (?:access|connect)|"
    r"no puedo (?:acceder|entrar|conectar)|all (?:e-?mails?|mail)|[5]\d\d"
)
TOPICS = {
    "billing": _words(
        r"invoices?|billing|bills?|payments?|paid|pay|charged?|refund|prices?|"
        r"facturas?|facturaci[oó]n|pagos?|pagar|pagado|cobros?|cobrado|cargos?|"
        r"reembolso|precios?|tarjeta"
    ),
    "email": EMAIL_TOPIC,
    "web": _words(
        r"website|web|site|pages?|wordpress|php|ftp|database|mysql|ssl|certificate|"
        r"p[aá]ginas?|sitio|base de datos|certificado"
    ),
    "domains": _words(
        r"dns|nameservers?|whois|registrar|domain transfer|transferencia|"
        r"dominio caducado|expired domain"
    ),
}
TOPIC_NAMES = {
    "en": {"billing": "billing", "email": "email", "web": "the website", "domains": "domains"},
    "es": {"billing": "facturación", "email": "correo", "web": "la web", "domains": "dominios"},
}


# -- what the text says -----------------------------------------------------------------------


def named_domains(text: str) -> set[str]:
    """Host names in the text (in URLs or bare), not counting email addresses or file names."""
    without_addresses = EMAIL_ADDRESS.sub(" ", text)
    found = set()
    for match in HOSTNAME.finditer(without_addresses):
        name = match[1].lower().rstrip(".")
        if name.rsplit(".", 1)[-1] not in FILE_SUFFIXES:
            found.add(name)
    return found


def _has_ipv6(text: str) -> bool:
    """Validated, so a time like 10:30:00 is not taken for an address."""
    import ipaddress

    for match in IPV6_CANDIDATE.finditer(text):
        try:
            ipaddress.IPv6Address(match[0])
            return True
        except ValueError:
            continue
    return False


def _covers(service_name: str, domain: str) -> bool:
    return domain == service_name or domain.endswith("." + service_name)


def _service_list(services) -> str:
    names = [s.name for s in services[:5]]
    return ", ".join(names) + (", ..." if len(services) > 5 else "")


# -- built-in checks --------------------------------------------------------------------------


def which_service(draft: "Draft"):
    """Several services and none named: which one is it?"""
    if draft.department in NO_SERVICE_DEPARTMENTS or draft.service or len(draft.services) < 2:
        return None
    text = draft.text.lower()
    if URL.search(text) or named_domains(text):
        return None
    if any(_words(re.escape(s.name.lower())).search(text) for s in draft.services):
        return None
    names = _service_list(draft.services)
    return draft.say(
        en=f"Your account has several services ({names}): say which one this is about "
        "(name the domain, or use --service).",
        es=f"Su cuenta tiene varios servicios ({names}): indique a cuál se refiere "
        "(nombre el dominio, o use --service).",
    )


def unknown_domain(draft: "Draft"):
    """A domain named that is not one of the account's services: a typo, or the wrong account."""
    if not draft.services:
        return None
    ours = [s.name.lower() for s in draft.services]
    strangers = sorted(
        d
        for d in named_domains(draft.text)
        if d not in PUBLIC_DOMAINS and not any(_covers(s, d) for s in ours)
    )
    return [
        draft.say(
            en=f"{domain} is not one of your account's services ({_service_list(draft.services)}): "
            "check the name, or tell us whose it is.",
            es=f"{domain} no es uno de los servicios de su cuenta ({_service_list(draft.services)}): "
            "revise el nombre, o díganos de quién es.",
        )
        for domain in strangers[:3]
    ]


def email_address_named(draft: "Draft"):
    """An email problem should name the address that has it."""
    text = draft.text
    about_email = draft.department == "email" or (EMAIL_TOPIC.search(text) and PROBLEM.search(text))
    if not about_email or EMAIL_ADDRESS.search(text):
        return None
    return draft.say(
        en="Name the email address that has the problem (for example info@your-domain), and one "
        "address you wrote to or received from.",
        es="Indique la dirección de correo que tiene el problema (por ejemplo info@su-dominio), y "
        "una dirección a la que escribió o de la que recibió.",
    )


def blocked_ip_given(draft: "Draft"):
    """A blocked-IP complaint is solved by unblocking an IP: which one?"""
    text = draft.text
    if not (BLOCKED.search(text) and BLOCKED_IP_CONTEXT.search(text)):
        return None
    if IPV4.search(text) or _has_ipv6(text):
        return None
    return draft.say(
        en='Give the IP address that is blocked (search for "what is my IP" from the '
        "connection that fails).",
        es='Indique la dirección IP bloqueada (busque "cuál es mi IP" desde la conexión que '
        "falla).",
    )


def error_details(draft: "Draft"):
    """An error report needs the exact error text, the URL where it happens, or the steps."""
    text = draft.text
    if not ERROR_REPORT.search(text):
        return None
    has_steps = len(STEP_LINE.findall(text)) >= 2 or STEP_WORDS.search(text)
    if (
        URL.search(text)
        or QUOTED.search(text)
        or ERROR_LINE.search(text)
        or STATUS_CODE.search(text)
        or has_steps
    ):
        return None
    return draft.say(
        en="Paste the exact error message, the URL where it appears, or the steps that lead to it.",
        es="Copie el mensaje de error exacto, la URL donde aparece, o los pasos que llevan a él.",
    )


def several_topics(draft: "Draft"):
    """Billing and a technical problem in one ticket go to different people."""
    found = [topic for topic, pattern in TOPICS.items() if pattern.search(draft.text)]
    if "billing" not in found or len(found) < 2:
        return None
    names = TOPIC_NAMES["es" if draft.lang == "es" else "en"]
    listed = " + ".join(names[t] for t in found)
    return draft.say(
        en=f"This ticket seems to be about several things ({listed}). If they are separate "
        "problems, open one ticket for each: each reaches the right technician sooner.",
        es=f"Este ticket parece tratar varios asuntos ({listed}). Si son problemas distintos, "
        "abra un ticket para cada uno: cada uno llegará antes al técnico adecuado.",
    )


def emergency_priority(draft: "Draft"):
    """Emergency is for a loss of service, and one at a time per account (limit: a setting)."""
    if draft.priority != "emergency":
        return None
    from tix.models import Ticket

    limit = settings.load_checks().emergency_open_limit
    open_ones = list(
        Ticket.select(Ticket.code)
        .where(
            Ticket.account == draft.account.id,
            Ticket.priority == "emergency",
            Ticket.status != "closed",
        )
        .order_by(Ticket.created_at)
        .limit(max(limit, 3))
    )
    findings = []
    if len(open_ones) >= limit:
        listed = ", ".join(t.code for t in open_ones[:3])
        findings.append(
            draft.say(
                en=f"Your account already has an open emergency ({listed}): add to it with "
                "`tix reply` unless this is a different outage.",
                es=f"Su cuenta ya tiene una emergencia abierta ({listed}): añada la información con "
                "`tix reply` salvo que sea otra caída distinta.",
            )
        )
    if not LOSS_OF_SERVICE.search(draft.text):
        findings.append(
            draft.say(
                en="Emergency is for a loss of service (a site or email down for everyone); this "
                "does not read like one: consider priority high.",
                es="Emergencia es para una pérdida de servicio (una web o el correo caídos para "
                "todos); esto no lo parece: considere prioridad alta.",
            )
        )
    return findings


BUILTIN_CHECKS = [
    ("which-service", which_service),
    ("unknown-domain", unknown_domain),
    ("email-address", email_address_named),
    ("blocked-ip", blocked_ip_given),
    ("error-details", error_details),
    ("several-topics", several_topics),
    ("emergency", emergency_priority),
]
