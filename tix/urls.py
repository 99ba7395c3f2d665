"""Store and server URLs as people see them: never with their password."""

from urllib.parse import unquote, urlsplit, urlunsplit


def mask_url(url: str) -> str:
    """The URL with any password replaced, for every message a user or a log sees."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[1]}"))


def hide_secrets(text: str, url: str) -> str:
    password = urlsplit(url).password
    if not password:
        return text
    # Both spellings: as written in the URL, and decoded as the driver was given it.
    return text.replace(password, "***").replace(unquote(password), "***")
