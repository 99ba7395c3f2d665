"""Every error tix reports on purpose, each with its documented exit code."""


class TixError(Exception):
    """An error with a one-line message for the user and an exit code. Made with `said`, it
    names a message of tix.messages, and a door can tell it in the user's language."""

    exit_code = 1
    key: str | None = None
    params: dict = {}

    @classmethod
    def said(cls, key: str, **params) -> "TixError":
        from tix import messages

        error = cls(messages.text(key, "en", **params))
        error.key, error.params = key, params
        return error

    def in_language(self, lang: str) -> str:
        """The message in `lang` if the catalogue has it, else as raised (English)."""
        if self.key is None or lang == "en":
            return str(self)
        from tix import messages

        return messages.text(self.key, lang, **self.params)


class InvalidInput(TixError):
    """Bad input: unknown department, malformed date, empty body... (exit 2)."""

    exit_code = 2


class NotFound(TixError):
    """The thing does not exist, or is not yours: both read the same (exit 3)."""

    exit_code = 3


class NotAllowed(TixError):
    """Not allowed in this state, or not permitted for your role (exit 4)."""

    exit_code = 4


class StoreError(TixError):
    """The store is unreachable or failed (exit 1); messages never carry a password."""

    exit_code = 1


class NotLoggedIn(TixError):
    """No valid token: permission problem (exit 4)."""

    exit_code = 4


def shown(text: str, limit: int = 60) -> str:
    """What a user typed, fit for a one-line message: as typed if it is short printable text,
    else quoted with its control characters escaped, and cut."""
    text = text or ""
    if len(text) > limit:
        text = text[:limit] + "..."
    return text if text.isprintable() else repr(text)


def quoted(text: str, limit: int = 100) -> str:
    """What a user typed, quoted for a message, at most `limit` characters of it."""
    text = text or ""
    return repr(text[:limit] + "...") if len(text) > limit else repr(text)


def trim_echoes(message: str, typed: list[str], limit: int = 100) -> str:
    """`message` with anything longer than `limit` characters that the user typed (an
    argument, an option's value) cut to its first `limit`: an error echoes at most that much of
    what was typed, whoever wrote the message (tix or click)."""
    for word in typed:
        if not isinstance(word, str):
            continue
        for value in {word, word.partition("=")[2]}:
            if len(value) > limit:
                for form in (value, repr(value)[1:-1]):
                    message = message.replace(form, value[:limit] + "...")
    return message


def ticket_not_found(code: str) -> NotFound:
    # One message for "does not exist" and "not yours", so nobody learns another account's codes.
    return NotFound.said("no-ticket", code=shown(code.upper()))


def one_line(text: str) -> str:
    """The message as one printable line whatever the user typed into it (a URL, a name):
    control characters, line and paragraph separators and undecodable bytes are escaped."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
