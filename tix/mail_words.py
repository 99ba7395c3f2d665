"""What an email says about a ticket, in its recipient's language: statuses, priorities and
department names, a delay ("24 hours", "24 horas"), and the line that tells of attachments.

tix.mail renders each recipient's email with `localized(values, lang)`: the values a change
queues are the same for everyone (English words, a timedelta, a list of file names), and each
email gets them in its own language."""

from datetime import timedelta

STATUS = {
    "es": {
        "open": "abierto",
        "answered": "respondido",
        "customer-reply": "con respuesta del cliente",
        "in-progress": "en curso",
        "on-hold": "en espera",
        "closed": "cerrado",
    },
}

PRIORITY = {
    "es": {"low": "baja", "medium": "media", "high": "alta", "emergency": "emergencia"},
}

_UNITS = {
    "en": (("day", "days"), ("hour", "hours"), ("minute", "minutes"), ("second", "seconds")),
    "es": (("día", "días"), ("hora", "horas"), ("minuto", "minutos"), ("segundo", "segundos")),
}

_ATTACHED = {
    "en": "Attached in the ticket: {names} (`tix show {code}` lists them, "
    "`tix attachment get {code} ID` saves one).",
    "es": "Adjuntos en el ticket: {names} (`tix show {code}` los lista, "
    "`tix attachment get {code} ID` guarda uno).",
}


def duration(delay: timedelta, lang: str = "en") -> str:
    """A delay in words, in hours when it is whole hours (`24 hours`, `48 horas`), else in
    minutes (`90 minutes`), else in seconds."""
    seconds = int(delay.total_seconds())
    hours, minutes, secs = _UNITS.get(lang, _UNITS["en"])[1:]
    for size, (one, many) in ((3600, hours), (60, minutes), (1, secs)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {one if count == 1 else many}"
    raise AssertionError("not reached: a whole number of seconds")


def attachments_line(names: list[str], code: str, lang: str = "en") -> str:
    """The paragraph that tells of a message's attachments (empty when there are none)."""
    if not names:
        return ""
    text = _ATTACHED.get(lang, _ATTACHED["en"]).format(names=", ".join(names), code=code)
    return f"\n{text}\n"


def localized(values: dict, lang: str) -> dict:
    """`values` as the template in `lang` uses them."""
    out = dict(values)
    if "status" in values:
        out["status"] = STATUS.get(lang, {}).get(values["status"], values["status"])
    if "priority" in values:
        out["priority"] = PRIORITY.get(lang, {}).get(values["priority"], values["priority"])
    if lang == "es" and values.get("department_es"):
        out["department"] = values["department_es"]
    for key, value in values.items():
        if isinstance(value, timedelta):
            out[key] = duration(value, lang)
    if isinstance(values.get("attachments"), list):
        out["attachments"] = attachments_line(values["attachments"], values.get("code", ""), lang)
    return out
