"""Store and server URLs as people see them: never with their password, whatever characters
it holds."""

from urllib.parse import unquote


def userinfo_span(url: str) -> tuple[int, int] | None:
    """Where the `user:password` of a URL is: (start, end) of its text, or None. Found by hand
    rather than with urlsplit, which cuts a password holding an unescaped `#`, `/` or `?` (a
    fragment, a path, a query) and then shows the rest of it as if it were the host."""
    start = url.find("://")
    if start < 0:
        return None
    start += 3
    end = url.rfind("@")  # a host never holds an @, so the last one ends the user part
    return (start, end) if end > start else None


def url_user(url: str) -> str:
    """The user as written in the URL (still %-escaped), or ""."""
    where = userinfo_span(url)
    return url[where[0] : where[1]].partition(":")[0] if where else ""


def url_password(url: str) -> str | None:
    """The password exactly as written in the URL (still %-escaped), or None."""
    where = userinfo_span(url)
    if where is None:
        return None
    _user, colon, password = url[where[0] : where[1]].partition(":")
    return password if colon else None


def without_userinfo(url: str) -> str:
    """The URL without its `user:password@`, for reading the host, port and path safely."""
    where = userinfo_span(url)
    return url[: where[0]] + url[where[1] + 1 :] if where else url


def mask_url(url: str) -> str:
    """The URL with any password replaced, for every message a user or a log sees."""
    if url_password(url) is None:
        return url
    where = userinfo_span(url)
    return f"{url[: where[0]]}{url_user(url)}:***{url[where[1] :]}"


def hide_secrets(text: str, url: str) -> str:
    password = url_password(url)
    if not password:
        return text
    # Both spellings: as written in the URL, and decoded as the driver was given it.
    return text.replace(password, "***").replace(unquote(password), "***")
