"""What tix says to people, in English and Spanish: a small catalogue of messages by key.
Which of the two a command speaks is tix.language's. Values a user types back (statuses,
priorities, slugs, codes) stay as they are in both languages."""

LANGS = ("en", "es")

CATALOGUE: dict[str, tuple[str, str]] = {
    # confirmations
    "created": (
        "created {code}: {subject} ({department}, {priority})",
        "creado {code}: {subject} ({department}, {priority})",
    ),
    "replied": ("replied on {code}; status {status}", "respuesta en {code}; estado {status}"),
    "noted": ("noted on {code}; status {status}", "nota interna en {code}; estado {status}"),
    "closed": ("closed {code}", "cerrado {code}"),
    "reopened": ("reopened {code}", "reabierto {code}"),
    "none": ("(none)", "(ninguno)"),
    "more": (
        "showing the first {count}; there are more: `--limit N` for more, `--limit 0` for all",
        "se muestran los {count} primeros; hay más: `--limit N` para más, `--limit 0` para todos",
    ),
    "cancelled": ("cancelled: no ticket filed", "cancelado: no se ha registrado el ticket"),
    "draft-kept": (
        "your text is kept in {path}: `{command} --recover {path}` uses it",
        "su texto se ha guardado en {path}: `{command} --recover {path}` lo usa",
    ),
    # errors (the English text is the one `str(error)` gives, for logs and other doors)
    "no-ticket": ("no ticket {code}", "no existe el ticket {code}"),
    "no-account": ("no account {handle}", "no existe la cuenta {handle}"),
    "no-service": (
        "account {account} has no service {service}",
        "la cuenta {account} no tiene el servicio {service}",
    ),
    "unknown-department": (
        "unknown department {slug}: use one of {known}",
        "departamento desconocido {slug}: use uno de estos: {known}",
    ),
    "unknown-status": (
        "unknown status {status}: use one of {known}",
        "estado desconocido {status}: use uno de estos: {known}",
    ),
    "unknown-priority": (
        "unknown priority {priority}: use one of {known}",
        "prioridad desconocida {priority}: use una de estas: {known}",
    ),
    "subject-empty": ("subject is empty", "el asunto está vacío"),
    "subject-long": (
        "subject is longer than {limit} characters",
        "el asunto tiene más de {limit} caracteres",
    ),
    "subject-line": (
        "subject must be one line of text without control characters",
        "el asunto debe ser una línea de texto sin caracteres de control",
    ),
    "body-empty": ("message body is empty", "el mensaje está vacío"),
    "body-long": (
        "message body is longer than {limit} characters",
        "el mensaje tiene más de {limit} caracteres",
    ),
    "body-nul": ("message body contains a NUL character", "el mensaje contiene un carácter NUL"),
    "not-utf8": ("{what} is not valid UTF-8", "{what}: no es UTF-8 válido"),
    "reply-closed": (
        "ticket {code} is closed: reopen it before replying",
        "el ticket {code} está cerrado: reábralo antes de responder",
    ),
    "already-closed": ("ticket {code} is already closed", "el ticket {code} ya está cerrado"),
    "not-closed": (
        "ticket {code} is {status}, not closed: nothing to reopen",
        "el ticket {code} está {status}, no cerrado: no hay nada que reabrir",
    ),
    "internal-agents": (
        "only agents can write internal notes",
        "solo los agentes pueden escribir notas internas",
    ),
    "not-logged-in": (
        "not logged in: run `tix login` (or set TIX_TOKEN)",
        "no ha iniciado sesión: ejecute `tix login` (o defina TIX_TOKEN)",
    ),
    "token-not-valid": (
        "token not valid (revoked or unknown): run `tix login` with a current token",
        "token no válido (revocado o desconocido): ejecute `tix login` con un token vigente",
    ),
    "since": (
        "--since {value}: neither a duration like 2d nor a date like 2025-01-15",
        "--since {value}: no es ni una duración como 2d ni una fecha como 2025-01-15",
    ),
    "no-agent": ("no agent {email}", "no existe el agente {email}"),
}


def text(key: str, lang: str = "en", **params) -> str:
    english, spanish = CATALOGUE[key]
    return (spanish if lang == "es" else english).format(**params)
