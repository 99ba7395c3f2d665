"""The customer's own words in a reply: quoted history, reply headers, signatures and mobile
footers go; text written above, below or between quoted lines stays.

    trim_reply(text, footers=None) -> str     a reply
    trim_signature(text) -> str               a new message (a forward keeps what it forwards)

How a reply is read, line by line:

- "> " lines are quoted and go; an attribution ("On ... wrote:", "El ... escribió:", "Am ...
  schrieb ...:", Gmail's "2014-03-20 8:48 GMT+01:00 Name <a@b>:", also wrapped over two or three
  lines) that introduces such lines goes with them, and reading goes on below: what the customer
  wrote under or between the quotes is kept (bottom posting, inline answers).
- An attribution followed by unquoted text, Outlook's "From: / Sent: / To:" block (in the
  customer's language), "-----Original Message-----", a signature ("-- ") or a mobile footer
  ("Sent from my iPhone") ends the reply: everything below is history.
- A forwarded message ("---------- Forwarded message ---------", "Begin forwarded message:")
  is the customer's to show: nothing below it is cut.
- If that would leave nothing although the customer wrote something unquoted, the text is kept
  with only its quoted lines dropped: a reply is never filed empty by mistake.
"""

import os
import re

_S = r"[ \t\xa0]*"
# Verbs of attribution lines in the languages customers write in (and a few neighbours).
_VERB = (
    r"(?:wrote|escribi[oó]|va escriure|escreveu|a [ée]crit|schrieb|ha scritto|schreef|"
    r"пишет|написал(?:\(а\)|а)?|写道|寫道|のメッセージ|書きました|napisał(?:\(a\)|a)?|"
    r"skrev(?: følgende| följande)?|kirjoitti|napsal(?:\(a\)|a)?)"
)
_OPENER = (
    r"(?:on|el|le|am|em|il|op|w dniu|dnia|den|dne|pe|ma|ti|ke|to|pe|la|tir|ons|fre|lør|søn|"
    r"mån|tis|man)\b"
)
_ATTRIBUTION = re.compile(rf".{{0,400}}\b{_VERB}\b.{{0,160}}?{_S}[:：]", re.I | re.S)
_ON_WROTE_NO_COLON = re.compile(r"on\b.{0,400}@.{0,200}\bwrote", re.I | re.S)
_HAS_DATE = re.compile(r"\d{1,2}[:.h]\d{2}|\d{4}|\d{1,2}[./-]\d{1,2}")
_HAS_ADDRESS = re.compile(r"@|<[^>]*>|\[mailto:")
_DATE_ADDRESS_COLON = re.compile(r".{0,400}(?:@|<[^>]*>|\)).{0,40}[:：]", re.S)

_FROM = r"(?:from|de|von|da|van|fra|från|od|от|від|发件人|寄件者|差出人|보낸 사람|lähettäjä|feladó|kimden)"
_NEXT = (
    r"(?:sent|date|enviado|enviada|fecha|data|gesendet|datum|envoy[ée](?: le)?|inviato|"
    r"verzonden(?: op)?|verstuurd|sendt|skickat|dato|wysłano|отправлено|дата|发送时间|日期|"
    r"送信日時|日付|to|para|an|à|a|aan|til|till|do|кому|收件人|宛先|subject|asunto|assunto|"
    r"betreff|objet|oggetto|onderwerp|emne|ämne|temat|тема|主题|件名|cc|message du)"
)
_OUTLOOK_FROM = re.compile(rf"^{_S}\*?{_FROM}{_S}\*?{_S}[:：]\*?{_S}\S", re.I)
_OUTLOOK_NEXT = re.compile(rf"^{_S}\*?{_NEXT}{_S}\*?{_S}[:：]", re.I)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|original-nachricht|"
    r"mensaje original|message d'origine|message original|messaggio originale|"
    r"oorspronkelijk bericht|origineel bericht|mensagem original|missatge original|"
    r"исходное сообщение|原始邮件|元のメッセージ|opprinnelig melding|alkuperäinen viesti|"
    r"oprindelig (?:besked|meddelelse)|ursprungligt meddelande|wiadomość oryginalna|"
    r"původní zpráva|reply message|odpowiedź)\s*-{2,}\s*$",
    re.I,
)
_FORWARDED = re.compile(
    r"^\s*(-{2,}\s*(forwarded message|mensaje reenviado|message transféré|"
    r"weitergeleitete nachricht|messaggio inoltrato|mensagem encaminhada|doorgestuurd bericht|"
    r"missatge reenviat|пересылаемое сообщение|转发的邮件|転送メッセージ)\s*-{2,}|"
    r"begin forwarded message:|début du message réexpédié\s*:|"
    r"anfang der weitergeleiteten nachricht:|inizio messaggio inoltrato:|"
    r"início da mensagem reencaminhada:|begin doorgestuurd bericht:)\s*$",
    re.I,
)
_UNDERSCORES = re.compile(r"^\s*_{2,}\s*$")  # Outlook's rule above its header, a list footer
_SEPARATOR = re.compile(r"^\s*[-_=*~]{3,}\s*$")
_QUOTED = re.compile(r"^[ \t]{0,3}>")

# Mobile and webmail footers: a line that is only this ("*" = a few words, no sentence) ends
# the reply; what follows is history. TIX_MAIL_FOOTERS replaces the list ("default" keeps it).
DEFAULT_FOOTERS = (
    "Sent from my *",
    "Sent from *",
    "Sent with *",
    "Sent via *",
    "Get Outlook for *",
    "Enviado desde mi *",
    "Enviado desde *",
    "Enviado do meu *",
    "Enviado do *",
    "Enviado a partir do *",
    "Envoyé de mon *",
    "Envoyé depuis mon *",
    "Envoyé à partir de *",
    "Obtenir Outlook pour *",
    "Von meinem * gesendet",
    "Gesendet von *",
    "Gesendet mit *",
    "Von * gesendet",
    "Inviato da *",
    "Inviato dal mio *",
    "Verzonden met *",
    "Verzonden vanaf mijn *",
    "Verstuurd vanaf mijn *",
    "Verzonden vanuit *",
    "Enviat des del meu *",
    "Enviat des de *",
    "Отправлено с *",
    "Отправлено из *",
    "发自我的*",
    "从我的*发送",
    "*から送信",
    "Skickat från min *",
    "Sendt fra min *",
    "Wysłane z *",
)
_WORDS = r"[^,.!?;。，！？\n<>]{0,40}"


def footer_patterns(setting: str | None = None) -> re.Pattern:
    """The footers as one pattern; `setting` (TIX_MAIL_FOOTERS) is "|"- or newline-separated,
    and "default" in it stands for DEFAULT_FOOTERS."""
    setting = os.environ.get("TIX_MAIL_FOOTERS") if setting is None else setting
    items = [p.strip() for p in re.split(r"[|\n]", setting or "default") if p.strip()]
    patterns = []
    for item in items:
        for footer in DEFAULT_FOOTERS if item.lower() == "default" else (item,):
            patterns.append(re.escape(footer).replace(r"\*", _WORDS).replace(r"\ ", r"\s+"))
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile(rf"^\s*(?:{'|'.join(patterns)})\s*(?:<[^>\s]*>)?\s*$", re.I)


_DEFAULT = footer_patterns("default")


def _span(lines: list[str], i: int, size: int) -> str:
    return " ".join(line.strip() for line in lines[i : i + size]).strip().strip("-").strip()


def _attribution(lines: list[str], i: int) -> tuple[int, bool]:
    """(lines it spans, strong) when an attribution starts at line i, else (0, False). Strong:
    it ends the reply even when no quoted line follows."""
    if not lines[i].strip() or _QUOTED.match(lines[i]):
        return 0, False
    for size in (1, 2, 3):
        if size > 1:
            # A wrapped attribution: its first line has the date, and no line but its last
            # ends a sentence (else this is the customer's line just above one).
            last = lines[i + size - 1 : i + size]
            if not last or not last[0].strip() or not re.search(r"\d", lines[i]):
                break
            if re.search(r"[.!?]\s*$", lines[i + size - 2]):
                break
        span = _span(lines, i, size)
        if len(span) > 500:
            break
        address = bool(_HAS_ADDRESS.search(span))
        dated = bool(_HAS_DATE.search(span))
        opener = re.match(_OPENER, span, re.I) is not None
        if _ATTRIBUTION.fullmatch(span):
            return size, address or (opener and dated)
        if _ON_WROTE_NO_COLON.fullmatch(span) and dated:
            return size, True
        if address and dated and _DATE_ADDRESS_COLON.fullmatch(span):
            return size, True  # Gmail's "2014-03-20 8:48 GMT+01:00 Name <a@b>:", ru, ja forms
    return 0, False


def _history_header(lines: list[str], i: int) -> bool:
    """Outlook's "From: / Sent: / To:" block (any order, the customer's language: it starts
    with whichever comes first), "-----Original Message-----", a rule of underscores."""
    line = lines[i]
    if _ORIGINAL.match(line) or _UNDERSCORES.match(line):
        return True
    if not (_OUTLOOK_FROM.match(line) or _OUTLOOK_NEXT.match(line)):
        return False
    block = lines[i : i + 5]
    return any(_OUTLOOK_FROM.match(x) for x in block) and (
        sum(1 for x in block if _OUTLOOK_NEXT.match(x) or _OUTLOOK_FROM.match(x)) >= 2
    )


def _wrapped_quote(lines: list[str], i: int) -> bool:
    """A quoted line a client wrapped without its ">": between quoted lines, after a long one,
    going on in lower case."""
    before, after = lines[i - 1 : i], lines[i + 1 : i + 2]
    return bool(
        before
        and after
        and _QUOTED.match(before[0])
        and _QUOTED.match(after[0])
        and len(before[0]) >= 60
        and lines[i][:1].islower()
    )


def _next_text(lines: list[str], i: int) -> str | None:
    for line in lines[i:]:
        if line.strip():
            return line
    return None


def _split(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _tidy(lines: list[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip("\n")


def trim_reply(text: str, footers: re.Pattern | None = None) -> str:
    """The new text of a reply (see the module docstring)."""
    if footers is None:
        footers = _DEFAULT if "TIX_MAIL_FOOTERS" not in os.environ else footer_patterns()
    lines = _split(text)
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FORWARDED.match(line):
            kept += [x for x in lines[i:] if not _QUOTED.match(x)]
            break
        if _QUOTED.match(line) or _wrapped_quote(lines, i):
            i += 1
            continue
        if line in ("-- ", "--") or footers.match(line) or _history_header(lines, i):
            break
        size, strong = _attribution(lines, i)
        if size:
            following = _next_text(lines, i + size)
            if following is None or _QUOTED.match(following):
                i += size  # it introduces quoted lines: both go, reading goes on below
                continue
            if strong:
                break
        kept.append(line)
        i += 1
    while kept and (not kept[-1].strip() or _SEPARATOR.match(kept[-1])):
        kept.pop()  # the rule above a cut header
    trimmed = _tidy(kept)
    if not trimmed.strip():
        # Never empty by mistake: what is left once quotes, attributions and footers are gone.
        unquoted = [x for x in lines if not _QUOTED.match(x)]
        rest = [
            x
            for n, x in enumerate(unquoted)
            if not footers.match(x) and x not in ("-- ", "--") and not _attribution(unquoted, n)[0]
        ]
        return _tidy(rest)
    return trimmed


def trim_signature(text: str) -> str:
    """For a new message: only the signature goes (what a customer forwards is the point)."""
    lines = _split(text)
    for i, line in enumerate(lines):
        if line in ("-- ", "--"):
            lines = lines[:i]
            break
    return "\n".join(line.rstrip() for line in lines).strip("\n")
